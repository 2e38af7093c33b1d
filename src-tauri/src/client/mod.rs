//! The chat client, independent of any window: connect to a chat server by URL, register, chat, and
//! survive dropped connections. The Tauri commands are thin adapters over this module, and the tests
//! in `tests/` run it against real servers. One job per module:
//! - `session`: the handle the app holds (`ChatClient`);
//! - `supervisor`: the connection state machine;
//! - `outbox`: what was sent and not yet taken by the server;
//! - `catch_up`: de-duplication, settling and where to fetch from after a reconnect (docs/PROTOCOL.md §4);
//! - `history`: pages of the server's history (catching up, "load older"), waiting out its rate limit;
//! - `certificate`: which TLS certificate an https server may present (system trust or a pin);
//! - `socket`: the rust_socketio glue; `address`: what the user typed → a URL; `events`: the types.

mod address;
mod catch_up;
mod certificate;
mod error;
mod events;
mod history;
mod outbox;
mod session;
mod socket;
mod supervisor;

pub use address::normalize_server_url;
pub use certificate::{connector as tls_connector, presented_fingerprint};
pub use confab_protocol::ChatMessage;
pub use error::{ClientError, Result};
pub use events::{ClientEvent, ConnectOptions, ConnectionState, Features, Resume, Timing, Trust};
pub use history::OlderPage;
pub use outbox::MessageExtras;
pub use session::ChatClient;
