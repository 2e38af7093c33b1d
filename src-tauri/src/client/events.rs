//! What the owner of a session (the UI bridge, or a test) hands in and gets back.

use std::time::Duration;

use confab_protocol::{ChatMessage, Limits};

pub use super::certificate::Trust;
use serde::Serialize;

/// What the user filled in on the connect screen.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The server address as typed; normalised by `connect`.
    pub server: String,
    /// The name to register; trimmed like the server does, so comparisons with `from` work.
    pub username: String,
    /// Sent as the handshake `auth` only when present: seed servers ignore auth, ours checks it.
    pub password: Option<String>,
    /// Which certificate an `https` server may present (ignored for `http`).
    pub trust: Trust,
    pub timing: Timing,
    /// What this computer already holds of the conversation (its local history), so the first
    /// join fetches everything said since, page by page, instead of the server's newest page only.
    pub resume: Option<Resume>,
}

/// The last message this computer kept of a conversation: its server's run and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    pub run: String,
    pub newest_id: u64,
}

/// Every delay of the lifecycle in one place, so tests can shrink them and nothing waits forever.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Limit for each handshake step (TCP, socket.io open, socket.io connect, register answer).
    pub connect_timeout: Duration,
    /// How long a sent message may wait for its ack before the connection is considered dead
    /// (rust_socketio's own ack timeout only discards late acks, it reports nothing).
    pub ack_timeout: Duration,
    /// First reconnect delay; doubled after each failed attempt up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// How often an idle connection is probed: a server that stops gracefully closes the socket
    /// without any event in rust_socketio, and only a failing emit reveals it.
    pub probe_interval: Duration,
    /// After a successful register, how long to wait for the extension events (`history`, `users`)
    /// before deciding the server speaks only the seed protocol.
    pub features_grace: Duration,
    /// A refused-for-rate message is retried after this delay.
    pub rate_limit_retry: Duration,
    /// After a reconnect, how long a refused name is tried again before the user is asked for
    /// another: our server frees a name once it notices the old connection is gone (ping timeout).
    pub name_retry_window: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            connect_timeout: Duration::from_secs(8),
            ack_timeout: Duration::from_secs(10),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(15),
            probe_interval: Duration::from_secs(3),
            features_grace: Duration::from_millis(1500),
            rate_limit_retry: Duration::from_millis(1100),
            name_retry_window: Duration::from_secs(15),
        }
    }
}

/// What the server offers beyond the seed protocol; the UI hides what is missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    /// It sent `history` after register: missed messages can be recovered, messages carry ids.
    pub history: bool,
    /// It sent `users`: the online list and typing notices work.
    pub presence: bool,
    /// It acknowledges `message` emits (our server does; a seed server does not, so a message
    /// counts as delivered once written to the socket).
    pub acks: bool,
}

/// Connection state as the status bar shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ConnectionState {
    Connected,
    Reconnecting,
    /// Reconnected, but the server keeps refusing our name: waiting for `rejoin` with a name.
    NameTaken,
    Offline,
}

/// Everything the session tells its owner, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ClientEvent {
    /// The connection state changed; `detail` says why (the error of the last attempt).
    Status {
        state: ConnectionState,
        attempt: u32,
        retry_in_ms: Option<u64>,
        detail: Option<String>,
        /// The refused name, with `NameTaken`.
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// (Re)registered: the name the server holds for us, what it offers and allows.
    Session {
        name: String,
        server: String,
        features: Features,
        limits: Limits,
        /// The chat's name from the server's `welcome`, when it says one.
        chat_name: Option<String>,
        /// The server's run of ids (`welcome.run`): ids of another run say nothing about these.
        run: Option<String>,
    },
    /// New chat lines, oldest first, without duplicates (history catch-up included).
    Messages {
        messages: Vec<ChatMessage>,
    },
    /// The server no longer holds the messages between ids `after` and `before` (its history begins
    /// later): one marker in their place, before the messages from `before` on. Ids are shared with
    /// announcements, so at most `up_to` of them were chat messages.
    Missing {
        after: u64,
        before: u64,
        up_to: u64,
    },
    /// The server's history holds no chat message from before this registration (its pushed page was
    /// empty): there is nothing older to load.
    HistoryStart,
    /// The full online list (servers with presence only).
    Users {
        names: Vec<String>,
    },
    Typing {
        name: String,
        typing: bool,
    },
    /// The server took our message `local_id`; `message` carries its id and time.
    Delivered {
        local_id: u64,
        message: ChatMessage,
    },
    /// The server refused our message for good (or we disconnected before it could be sent): the
    /// UI keeps the text visible with `reason`, so nothing is silently lost.
    Failed {
        local_id: u64,
        code: String,
        reason: String,
    },
    /// The server takes files up to `max_bytes` from this registration on (§2.11); `None`: none.
    /// The token stays in Rust (`ChatClient::files`): uploads and downloads go through it.
    Files {
        max_bytes: Option<u64>,
    },
    /// A server `notice` (for example `too_slow` before it disconnects us).
    Notice {
        code: String,
        message: String,
    },
}
