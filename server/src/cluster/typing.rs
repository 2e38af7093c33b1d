//! Typing notices between nodes: best effort over Redis pub/sub. A missed notice is harmless (the next
//! one, or the once-a-second repeat of `true`, corrects it), so they stay out of the log.

use std::{sync::Arc, time::Duration};

use confab_protocol::{event, TypingNotice};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::ClusterRoom;
use crate::members::encode_event;

pub const CHANNEL: &str = "{confab}:typing";

/// What one node publishes: the notice, and which node relayed it to its own members already.
#[derive(Serialize, Deserialize)]
pub struct Relayed {
    pub node: String,
    #[serde(flatten)]
    pub notice: TypingNotice,
}

/// Relays other nodes' notices to this node's members until the server stops, subscribing again
/// whenever the subscription is lost.
pub async fn run(room: Arc<ClusterRoom>, client: redis::Client, mut stopped: watch::Receiver<bool>) {
    while !*stopped.borrow() {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(CHANNEL).await?;
            redis::RedisResult::Ok(pubsub)
        };
        let mut pubsub = match subscribed.await {
            Ok(pubsub) => pubsub,
            Err(error) => {
                tracing::debug!(%error, "typing notices from other nodes: not subscribed, trying again");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stopped.changed() => return,
                }
            }
        };
        let mut messages = pubsub.on_message();
        loop {
            let message = tokio::select! {
                message = messages.next() => message,
                _ = stopped.changed() => return,
            };
            let Some(message) = message else { break };
            let Ok(relayed) = serde_json::from_slice::<Relayed>(message.get_payload_bytes()) else { continue };
            if relayed.node != room.node {
                if let Some(packet) = encode_event(event::TYPING, &relayed.notice) {
                    room.state().members.send_best_effort(&packet, None);
                }
            }
        }
    }
}
