//! Streams client events to the webview through a `tauri::ipc::Channel`.
//!
//! A busy room can deliver hundreds of messages per second. One IPC call per message would keep the
//! webview's main thread busy with JSON and DOM work, so events are sent in batches: an isolated event
//! goes out at once, and whatever arrives during the following frame interval goes out together.
//! Each batch is also handed to the local history (its own thread writes it).

use std::time::Duration;

use tauri::ipc::Channel;
use tokio::sync::mpsc;

use crate::client::ClientEvent;
use crate::local_log::Recorder;

/// About one display frame: the UI renders at most one batch per frame anyway.
const BATCH_INTERVAL: Duration = Duration::from_millis(30);
/// Caps one IPC payload so a flood of history cannot make a multi-megabyte message.
const MAX_BATCH: usize = 500;

/// `recorder`: where the local history keeps what the session reports (none: it could not be opened).
pub fn forward_events(
    mut events: mpsc::UnboundedReceiver<ClientEvent>,
    channel: Channel<Vec<ClientEvent>>,
    mut recorder: Option<Recorder>,
) {
    tauri::async_runtime::spawn(async move {
        while let Some(first) = events.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match events.try_recv() {
                    Ok(event) => batch.push(event),
                    Err(_) => break,
                }
            }
            if let Some(recorder) = recorder.as_mut() {
                recorder.observe(&batch);
            }
            if channel.send(merge_messages(batch)).is_err() {
                // The page was reloaded or closed: nobody listens to this session any more.
                break;
            }
            tokio::time::sleep(BATCH_INTERVAL).await;
        }
    });
}

/// Joins consecutive `Messages` events so the UI appends them in one DOM update.
fn merge_messages(batch: Vec<ClientEvent>) -> Vec<ClientEvent> {
    let mut merged: Vec<ClientEvent> = Vec::with_capacity(batch.len());
    for event in batch {
        match (merged.last_mut(), event) {
            (Some(ClientEvent::Messages { messages }), ClientEvent::Messages { messages: more }) => {
                messages.extend(more)
            }
            (_, event) => merged.push(event),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ChatMessage;

    fn line(text: &str) -> ChatMessage {
        ChatMessage {
            id: None,
            ts: 0,
            from: "a".into(),
            message: text.into(),
            kind: None,
            name: None,
            to: None,
            attachment: None,
        }
    }

    #[test]
    fn consecutive_message_events_are_merged_in_order() {
        let batch = vec![
            ClientEvent::Messages { messages: vec![line("1")] },
            ClientEvent::Messages { messages: vec![line("2")] },
            ClientEvent::Typing { name: "b".into(), typing: true },
            ClientEvent::Messages { messages: vec![line("3")] },
        ];
        let merged = merge_messages(batch);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0], ClientEvent::Messages { messages: vec![line("1"), line("2")] });
    }
}
