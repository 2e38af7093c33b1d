//! Asking the server for pages of its chat history (docs/PROTOCOL.md §2.2), patiently: a page the
//! server refuses as `rate_limited` is asked for again after a pause, never skipped.

use confab_protocol::limits::HISTORY_PAGE_MESSAGES;
use confab_protocol::{event, ChatMessage, HistoryRequest, Refusal};
use rust_socketio::asynchronous::Client as SocketClient;
use serde::Serialize;
use tokio::time::sleep;

use super::error::{ClientError, Result};
use super::events::Timing;
use super::socket;

/// A page of messages older than those shown ("load older"), oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OlderPage {
    pub messages: Vec<ChatMessage>,
    /// The server has nothing older (an empty page: its history begins here).
    pub start_reached: bool,
}

/// Forward from `after`: the oldest chat messages with a greater id.
pub fn after(after: u64) -> HistoryRequest {
    HistoryRequest { after: Some(after), before: None, limit: Some(HISTORY_PAGE_MESSAGES) }
}

/// Back from `before`: the newest `limit` chat messages with a smaller id.
pub fn before(before: u64, limit: usize) -> HistoryRequest {
    HistoryRequest { after: None, before: Some(before), limit: Some(limit) }
}

/// One page, oldest first. Fails when the connection does not answer in time or the server cannot
/// read its history; waits out `rate_limited` as often as the server says it.
pub async fn page(socket: &SocketClient, request: &HistoryRequest, timing: &Timing) -> Result<Vec<ChatMessage>> {
    let args = vec![serde_json::to_value(request).expect("a history request is JSON")];
    loop {
        let mut ack = socket::emit_with_ack(socket, event::HISTORY, args.clone(), timing.ack_timeout)
            .await
            .map_err(|_| ClientError::NotConnected)?;
        let answer = ack.wait().await.ok_or_else(|| ClientError::Timeout("fetching the chat history".into()))?;
        let first = answer.into_iter().next().unwrap_or_default();
        match Refusal::from_value(&first) {
            Some(refusal) if refusal.error.is_transient() => sleep(timing.rate_limit_retry).await,
            Some(refusal) => return Err(ClientError::HistoryUnavailable(refusal.text().to_owned())),
            None => return Ok(ChatMessage::list_from_value(&first)),
        }
    }
}

/// The page of "load older" before `oldest` (the oldest id shown).
pub async fn older(socket: &SocketClient, oldest: u64, timing: &Timing) -> Result<OlderPage> {
    let messages = page(socket, &before(oldest, HISTORY_PAGE_MESSAGES), timing).await?;
    Ok(OlderPage { start_reached: messages.is_empty(), messages })
}
