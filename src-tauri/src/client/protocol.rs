//! The chat protocol as data (docs/PROTOCOL.md): what the server sends, parsed leniently, because the
//! app must also work with plain seed servers that send only `{from, message}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol's limit on a message, in Unicode scalar values (PROTOCOL.md §1.2).
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// The sender name the server uses for its announcements.
pub const SERVER_NAME: &str = "Server";

/// One line of the chat as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    /// Server-assigned, increasing id; `None` on seed servers. Used to skip duplicates after a
    /// reconnect and to ask for missed history.
    pub id: Option<i64>,
    /// Milliseconds since the epoch: the server's time when it sends one, else when we received it.
    pub ts: i64,
    /// Registered name of the sender, or `Server` for announcements.
    pub from: String,
    /// The text exactly as sent. The UI must render it as text, never as HTML.
    pub message: String,
    /// For announcements of our server: "join", "leave" or "shutdown"; keeps the online list current
    /// without parsing English sentences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The user a join/leave announcement is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ChatMessage {
    /// Parses one `message` object. Anything without a string `message` is not a chat line.
    pub fn from_value(value: &Value) -> Option<ChatMessage> {
        let object = value.as_object()?;
        let message = object.get("message")?.as_str()?.to_string();
        // Seed servers may send any JSON as `from`; show it rather than drop the line.
        let from = match object.get("from") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => "?".to_string(),
            Some(other) => other.to_string(),
        };
        Some(ChatMessage {
            id: object.get("id").and_then(Value::as_i64),
            ts: object
                .get("ts")
                .and_then(Value::as_i64)
                .unwrap_or_else(now_ms),
            from,
            message,
            kind: object
                .get("kind")
                .and_then(Value::as_str)
                .map(str::to_string),
            name: object
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }

    /// True for the server's join/leave/shutdown lines.
    pub fn is_announcement(&self) -> bool {
        self.from == SERVER_NAME
    }
}

/// A refusal in a `message` ack or a `refused` event (PROTOCOL.md §2.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Machine code: not_registered, invalid_payload, empty, too_long, rate_limited.
    pub error: String,
    /// The server's human text, shown to the user.
    #[serde(default)]
    pub reason: String,
}

/// Parses a list of message objects (`history` event or ack); non-objects are skipped.
pub fn parse_messages(value: &Value) -> Vec<ChatMessage> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(ChatMessage::from_value).collect())
        .unwrap_or_default()
}

/// Parses the `users` list; non-strings are skipped.
pub fn parse_names(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks a text against the protocol before it is queued, so the user hears about it at once
/// instead of after a round trip (or, on a seed server, never).
pub fn validate_text(text: &str) -> super::Result<()> {
    if text.trim().is_empty() {
        return Err(super::ClientError::EmptyMessage);
    }
    let len = text.chars().count();
    if len > MAX_MESSAGE_CHARS {
        return Err(super::ClientError::MessageTooLong {
            len,
            max: MAX_MESSAGE_CHARS,
        });
    }
    Ok(())
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_extended_and_seed_messages() {
        let m = ChatMessage::from_value(
            &json!({"from":"Server","message":"a has joined the chat","id":3,"ts":5,"kind":"join","name":"a"}),
        )
        .unwrap();
        assert_eq!(
            (m.id, m.ts, m.kind.as_deref(), m.name.as_deref()),
            (Some(3), 5, Some("join"), Some("a"))
        );
        assert!(m.is_announcement());
        let seed = ChatMessage::from_value(&json!({"from": 12, "message": "<b>hi</b>"})).unwrap();
        assert_eq!(
            (seed.id, seed.from.as_str(), seed.message.as_str()),
            (None, "12", "<b>hi</b>")
        );
        assert!(ChatMessage::from_value(&json!({"from": "x"})).is_none());
        assert!(ChatMessage::from_value(&json!("text")).is_none());
    }

    #[test]
    fn validates_length_in_characters_not_bytes() {
        assert!(validate_text(&"é".repeat(2000)).is_ok());
        assert!(matches!(
            validate_text(&"é".repeat(2001)),
            Err(super::super::ClientError::MessageTooLong { len: 2001, .. })
        ));
        assert!(matches!(
            validate_text(" \n "),
            Err(super::super::ClientError::EmptyMessage)
        ));
    }
}
