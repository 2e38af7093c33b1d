//! The payloads of the chat events (docs/PROTOCOL.md §1, §2), one type each. Servers encode them
//! strictly; clients decode `message` leniently ([`ChatMessage::from_value`]), because a plain seed
//! server sends only `{from, message}`, and may send anything as `from`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{now_ms, refusal::wire_code, Limits, PROTOCOL_VERSION, SERVER_NAME};

/// A `message` event: the seed's `{from, message}`, plus the extensions `id`, `ts` and, on
/// Server announcements, `kind` and `name`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChatMessage {
    pub from: Arc<str>,
    /// The text exactly as sent. Clients show it as text, never as HTML.
    pub message: Arc<str>,
    /// Room-wide sequence number, strictly increasing (§2.1); `None` from a seed server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Milliseconds since the Unix epoch when the server accepted it (receive time for a seed server).
    pub ts: u64,
    /// Set on Server announcements only: what happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AnnouncementKind>,
    /// Set on join/leave announcements: who joined or left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Arc<str>>,
    /// Set on private messages (§2.10): the one registered user it was sent to. Nobody else gets
    /// it, live or in `history`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Arc<str>>,
    /// Set on messages about a file (§2.11): what it is and where to get it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Arc<Attachment>>,
}

/// A file sent in the chat (§2.11), as the `attachment` of its message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Attachment {
    /// 32 hex digits, chosen by the server.
    pub id: String,
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// The MIME type the uploader gave.
    #[serde(rename = "type")]
    pub mime: String,
    /// Pixels, for images the server could read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Download path on the chat's server: `/files/<id>/<name>`.
    pub url: String,
    /// A small PNG of an image: `/files/<id>/thumbnail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
}

/// The `files` event (§2.11): how this user uploads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FilesOffer {
    /// `Authorization: Bearer <token>` on uploads and downloads.
    pub token: String,
    pub max_bytes: u64,
    /// The upload endpoint's path.
    pub upload: String,
}

/// What a Server announcement is about, so clients track presence without parsing English.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AnnouncementKind {
    Join,
    Leave,
    Shutdown,
}

impl AnnouncementKind {
    pub const ALL: [AnnouncementKind; 3] = [Self::Join, Self::Leave, Self::Shutdown];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Join => "join",
            Self::Leave => "leave",
            Self::Shutdown => "shutdown",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

impl ChatMessage {
    /// A user's chat line as the server sequenced it.
    pub fn chat(from: Arc<str>, message: Arc<str>, id: u64, ts: u64) -> Self {
        Self { from, message, id: Some(id), ts, kind: None, name: None, to: None, attachment: None }
    }

    /// A private message to `to` (§2.10) as the server sequenced it.
    pub fn private(from: Arc<str>, to: Arc<str>, message: Arc<str>, id: u64, ts: u64) -> Self {
        Self { to: Some(to), ..Self::chat(from, message, id, ts) }
    }

    /// Whether `viewer` (a folded name, [`crate::names::fold`]) may see this message: everyone sees
    /// the room's messages; a private one only its sender and its addressee.
    pub fn visible_to(&self, viewer: &str) -> bool {
        match &self.to {
            None => true,
            Some(to) => crate::names::fold(to) == viewer || crate::names::fold(&self.from) == viewer,
        }
    }

    /// A Server announcement with the seed's exact wording.
    pub fn announcement(kind: AnnouncementKind, name: Option<Arc<str>>, id: u64, ts: u64) -> Self {
        let text = match (kind, &name) {
            (AnnouncementKind::Join, Some(name)) => format!("{name} has joined the chat"),
            (AnnouncementKind::Leave, Some(name)) => format!("{name} left the chat"),
            _ => "The chat was closed: its server stopped".to_owned(),
        };
        Self {
            from: SERVER_NAME.into(),
            message: text.into(),
            id: Some(id),
            ts,
            kind: Some(kind),
            name,
            to: None,
            attachment: None,
        }
    }

    /// True for the server's own lines (join, leave, shutdown; from a seed server too).
    pub fn is_announcement(&self) -> bool {
        self.kind.is_some() || &*self.from == SERVER_NAME
    }

    /// Reads a `message` from any server. Anything without a string `message` is not a chat line;
    /// a `from` that is not a string is shown as its JSON rather than dropped; a missing `ts` is the
    /// time of receipt; unknown `kind`s are ignored.
    pub fn from_value(value: &Value) -> Option<ChatMessage> {
        let object = value.as_object()?;
        let message = object.get("message")?.as_str()?;
        let from: Arc<str> = match object.get("from") {
            Some(Value::String(from)) => from.as_str().into(),
            Some(Value::Null) | None => "?".into(),
            Some(other) => other.to_string().into(),
        };
        let text = |key: &str| object.get(key).and_then(Value::as_str);
        Some(ChatMessage {
            from,
            message: message.into(),
            id: object.get("id").and_then(Value::as_u64),
            ts: object.get("ts").and_then(Value::as_u64).unwrap_or_else(now_ms),
            kind: text("kind").and_then(AnnouncementKind::parse),
            name: text("name").map(Into::into),
            to: text("to").map(Into::into),
            attachment: object.get("attachment").and_then(|a| serde_json::from_value(a.clone()).ok()).map(Arc::new),
        })
    }

    /// Reads a list of messages (`history`); entries that are not messages are skipped.
    pub fn list_from_value(value: &Value) -> Vec<ChatMessage> {
        value.as_array().map(|items| items.iter().filter_map(Self::from_value).collect()).unwrap_or_default()
    }
}

/// The optional argument of a `history` request (§2.2). Without `before` the page is cut from the
/// oldest matching message (paging forward with `after`); with it, from the newest (paging back).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRequest {
    /// Only messages with a greater id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// Only messages with a smaller id, the newest of them first in line (returned oldest first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// At most this many (capped at `limits::HISTORY_PAGE_MESSAGES`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl ChatMessage {
    /// The length of this message's JSON, without serializing it (an upper bound of a few bytes):
    /// what a page of history costs to send.
    pub fn json_len(&self) -> usize {
        // {"from":"","message":"","id":,"ts":,"kind":"","name":""} (55), two u64s (40), a kind (8).
        const FIXED: usize = 112;
        let name = self.name.as_deref().map_or(0, json_text_len);
        let to = self.to.as_deref().map_or(0, |to| 8 + json_text_len(to));
        let attachment = self.attachment.as_deref().map_or(0, |a| {
            // {"id":"","name":"","size":,"type":"","width":,"height":,"url":"","thumbnail":""} and numbers.
            150 + a.id.len()
                + json_text_len(&a.name)
                + json_text_len(&a.mime)
                + json_text_len(&a.url)
                + a.thumbnail.as_deref().map_or(0, json_text_len)
        });
        FIXED + json_text_len(&self.from) + json_text_len(&self.message) + name + to + attachment
    }
}

/// Bytes of `text` as a JSON string body, escapes included (serde_json's escaping).
fn json_text_len(text: &str) -> usize {
    text.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

/// A `typing` notice as relayed to the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingNotice {
    pub name: Arc<str>,
    pub typing: bool,
}

wire_code! {
    /// What a `notice` is about.
    NoticeCode {
        /// The client could not keep up and is being disconnected (§2.6).
        TooSlow = "too_slow",
    }
}

/// The `notice` event: something the user should read, usually before a disconnect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub code: NoticeCode,
    #[serde(default)]
    pub message: String,
}

impl Notice {
    pub fn too_slow() -> Self {
        Self {
            code: NoticeCode::TooSlow,
            message: "Your connection could not keep up with the chat. Reconnect to catch up.".to_owned(),
        }
    }
}

/// The `welcome` event, sent right after the namespace connect: what this server speaks and allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Welcome {
    pub protocol: u32,
    /// Names one run of the room's id sequence: ids are comparable only within one run (a client
    /// that sees a new run after a reconnect must not drop messages as "already seen" by id).
    /// Empty when unknown.
    pub run: String,
    pub limits: Limits,
    /// The chat's name, for a client's header and window title (`--chat-name`, or the name a host gave
    /// it in the app). Absent when the server does not say: clients show its address then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_name: Option<String>,
}

impl Default for Welcome {
    fn default() -> Self {
        Self { protocol: PROTOCOL_VERSION, run: String::new(), limits: Limits::default(), chat_name: None }
    }
}

/// `GET /health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    /// `ok`, or `degraded` while the server cannot store new messages (a cluster node without Redis).
    pub status: String,
    /// Why it is degraded, in words (told to this machine only, like the counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Registered users and open connections: told only to requests from this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<usize>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_chat_message_has_the_seed_fields_plus_id_and_ts_only() {
        let m = ChatMessage::chat("bob".into(), "hi".into(), 7, 42);
        assert_eq!(serde_json::to_value(&m).unwrap(), json!({"from": "bob", "message": "hi", "id": 7, "ts": 42}));
    }

    #[test]
    fn announcements_carry_the_seed_text_kind_and_name() {
        let m = ChatMessage::announcement(AnnouncementKind::Join, Some("ann".into()), 1, 2);
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"from": "Server", "message": "ann has joined the chat", "id": 1, "ts": 2, "kind": "join", "name": "ann"})
        );
        let m = ChatMessage::announcement(AnnouncementKind::Leave, Some("ann".into()), 3, 4);
        assert_eq!(&*m.message, "ann left the chat");
        assert!(m.is_announcement());
    }

    #[test]
    fn lenient_decoding_reads_what_a_seed_server_sends() {
        let before = now_ms();
        let seed = ChatMessage::from_value(&json!({"from": 12, "message": "<b>hi</b>"})).unwrap();
        assert_eq!((seed.id, &*seed.from, &*seed.message), (None, "12", "<b>hi</b>"));
        assert!(seed.ts >= before, "a missing ts is the time of receipt");
        let joined = ChatMessage::from_value(&json!({"from": "Server", "message": "a has joined the chat"})).unwrap();
        assert!(joined.is_announcement());
        let odd =
            ChatMessage::from_value(&json!({"from": "Server", "message": "x", "kind": "party", "id": -1})).unwrap();
        assert_eq!((odd.kind, odd.id), (None, None));
        assert!(ChatMessage::from_value(&json!({"from": "x"})).is_none());
        assert!(ChatMessage::from_value(&json!("text")).is_none());
        assert_eq!(ChatMessage::list_from_value(&json!([{"message": "a"}, 3, {"from": "b"}])).len(), 1);
    }

    #[test]
    fn strict_and_lenient_decoding_agree_on_what_the_server_sends() {
        let sent = ChatMessage::announcement(AnnouncementKind::Leave, Some("zoë".into()), 9, 10);
        let wire = serde_json::to_value(&sent).unwrap();
        assert_eq!(ChatMessage::from_value(&wire), Some(sent.clone()));
        assert_eq!(serde_json::from_value::<ChatMessage>(wire).unwrap(), sent);
    }

    #[test]
    fn json_len_bounds_the_serialized_length() {
        for text in ["hi", "quote \" and \\ back", "\u{1}\u{2}\n\t", "é🦀", &"\u{7}".repeat(2000)] {
            let m = ChatMessage::announcement(AnnouncementKind::Join, Some(text.into()), u64::MAX, u64::MAX);
            let exact = serde_json::to_string(&m).unwrap().len();
            assert!(m.json_len() >= exact && m.json_len() <= exact + 112, "{text:?}: {} vs {exact}", m.json_len());
        }
    }

    #[test]
    fn welcome_fills_missing_fields_with_defaults() {
        let welcome: Welcome = serde_json::from_value(json!({"limits": {"maxMessageChars": 300}})).unwrap();
        assert_eq!(welcome.limits.max_message_chars, 300);
        assert_eq!(welcome.limits.max_name_chars, Limits::default().max_name_chars);
        assert_eq!(welcome.protocol, PROTOCOL_VERSION);
        assert_eq!(welcome.chat_name, None);
    }

    #[test]
    fn welcome_says_the_chat_name_in_camel_case_only_when_known() {
        let named = Welcome { chat_name: Some("Design team".into()), ..Welcome::default() };
        let wire = serde_json::to_value(&named).unwrap();
        assert_eq!(wire["chatName"], "Design team");
        assert_eq!(serde_json::from_value::<Welcome>(wire).unwrap(), named);
        assert!(serde_json::to_value(Welcome::default()).unwrap().get("chatName").is_none());
    }
}
