//! Every payload that crosses the wire, as serde types (protocol §1 and §2).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::names::SERVER_NAME;

/// A `message` event as the server sends it: seed fields plus the `id`/`ts` extension.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChatMessage {
    pub from: Arc<str>,
    pub message: Arc<str>,
    /// Room-wide sequence number, strictly increasing (protocol §2.1).
    pub id: u64,
    /// Milliseconds since the Unix epoch when the server accepted the message.
    pub ts: u64,
    /// Set on Server announcements only: what happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AnnouncementKind>,
    /// Set on join/leave announcements: who joined or left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Arc<str>>,
}

/// What a Server announcement is about, so clients can track presence without parsing text.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AnnouncementKind {
    Join,
    Leave,
    Shutdown,
}

impl ChatMessage {
    pub fn chat(from: Arc<str>, message: Arc<str>, id: u64, ts: u64) -> Self {
        Self { from, message, id, ts, kind: None, name: None }
    }

    pub fn announcement(kind: AnnouncementKind, name: Option<Arc<str>>, id: u64, ts: u64) -> Self {
        let text = match (kind, &name) {
            (AnnouncementKind::Join, Some(name)) => format!("{name} has joined the chat"),
            (AnnouncementKind::Leave, Some(name)) => format!("{name} left the chat"),
            _ => "The chat was closed by the host".to_owned(),
        };
        Self { from: SERVER_NAME.into(), message: text.into(), id, ts, kind: Some(kind), name }
    }

    pub fn is_announcement(&self) -> bool {
        self.kind.is_some()
    }
}

/// A `message` event as a client sends it. `from` and any other field are ignored: the server
/// always uses the registered name (protocol §1.2).
#[derive(Debug, Deserialize)]
pub struct IncomingMessage {
    pub message: String,
}

/// The optional argument of a `history` request.
#[derive(Debug, Default, Deserialize)]
pub struct HistoryRequest {
    #[serde(default)]
    pub after: Option<u64>,
}

/// A `typing` notice relayed to the others.
#[derive(Debug, Serialize)]
pub struct TypingNotice<'a> {
    pub name: &'a str,
    pub typing: bool,
}

/// Why the server refused a `message` (protocol §2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    NotRegistered,
    InvalidPayload,
    Empty,
    TooLong,
    RateLimited,
}

impl RefusalCode {
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotRegistered => "register a name before sending messages",
            Self::InvalidPayload => "expected an object with a string field \"message\"",
            Self::Empty => "the message is empty",
            Self::TooLong => "the message is longer than 2000 characters",
            Self::RateLimited => "too many messages: slow down",
        }
    }
}

/// The ack of a refused message: `{"error": code, "reason": text}`.
#[derive(Debug, Serialize)]
pub struct Refusal {
    pub error: RefusalCode,
    pub reason: &'static str,
}

impl From<RefusalCode> for Refusal {
    fn from(code: RefusalCode) -> Self {
        Self { error: code, reason: code.reason() }
    }
}

/// The `refused` event: the refusal plus the event it answers.
#[derive(Debug, Serialize)]
pub struct RefusedEvent<'a> {
    pub event: &'a str,
    #[serde(flatten)]
    pub refusal: Refusal,
}

/// The `notice` event sent to one client before the server disconnects it.
#[derive(Debug, Serialize)]
pub struct Notice {
    pub code: &'static str,
    pub message: &'static str,
}

/// `GET /health`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub users: usize,
    pub connections: usize,
}

/// Milliseconds since the Unix epoch, for `ts`.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chat_message_serializes_seed_fields_plus_id_and_ts_only() {
        let m = ChatMessage::chat("bob".into(), "hi".into(), 7, 42);
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"from": "bob", "message": "hi", "id": 7, "ts": 42})
        );
    }

    #[test]
    fn announcements_carry_seed_text_kind_and_name() {
        let m = ChatMessage::announcement(AnnouncementKind::Join, Some("ann".into()), 1, 2);
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"from": "Server", "message": "ann has joined the chat", "id": 1, "ts": 2,
                   "kind": "join", "name": "ann"})
        );
        let m = ChatMessage::announcement(AnnouncementKind::Leave, Some("ann".into()), 3, 4);
        assert_eq!(m.message.as_ref(), "ann left the chat");
    }

    #[test]
    fn incoming_message_ignores_from_and_requires_a_string_message() {
        let ok: IncomingMessage =
            serde_json::from_value(json!({"from": 12, "message": "x", "extra": true})).unwrap();
        assert_eq!(ok.message, "x");
        assert!(serde_json::from_value::<IncomingMessage>(json!({"message": 5})).is_err());
        assert!(serde_json::from_value::<IncomingMessage>(json!({"from": "a"})).is_err());
        assert!(serde_json::from_value::<IncomingMessage>(json!("text")).is_err());
    }

    #[test]
    fn refused_event_flattens_the_refusal() {
        let e = RefusedEvent { event: "message", refusal: RefusalCode::TooLong.into() };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"event": "message", "error": "too_long",
                   "reason": "the message is longer than 2000 characters"})
        );
    }
}
