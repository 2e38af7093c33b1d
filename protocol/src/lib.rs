//! The Confab chat protocol as code: every rule of `docs/PROTOCOL.md` that more than one program
//! needs is written here once. The server encodes with these types, the desktop app's client and the
//! load generator decode with them, and `ui/js/protocol.js` is generated from them ([`js`]).
//!
//! One file per concept: [`event`] names, [`limits`] and defaults, [`message`] payloads, [`names`]
//! (who may register), [`text`] (what may be sent), [`refusal`] and [`auth`] codes.

pub mod auth;
pub mod event;
pub mod js;
pub mod limits;
pub mod message;
pub mod names;
pub mod refusal;
pub mod text;

pub use auth::AuthError;
pub use limits::{AddressLimits, Limits, DEFAULT_PORT};
pub use message::{
    AnnouncementKind, Attachment, ChatMessage, FilesOffer, Health, HistoryRequest, Notice, NoticeCode, TypingNotice,
    Welcome,
};
pub use names::{NameRefusal, SERVER_NAME};
pub use refusal::{Refusal, RefusalCode, RefusedEvent};

/// This document's version, sent in `welcome` and in the mDNS TXT record `proto`.
pub const PROTOCOL_VERSION: u32 = 1;

/// The DNS-SD service type a chat is advertised under on the local network (§3).
pub const MDNS_SERVICE_TYPE: &str = "_confab._tcp.local.";

/// Milliseconds since the Unix epoch: the clock of `ts` (server) and of lines a seed server sent
/// without one (client).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
