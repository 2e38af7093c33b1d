//! The chat client, independent of any window: connect to a chat server by URL, register, chat, and
//! survive dropped connections. The Tauri commands are thin adapters over this module, and the tests
//! in `tests/` run it against the real server.

mod address;
mod error;
mod protocol;
mod session;

pub use address::normalize_server_url;
pub use error::{ClientError, Result};
pub use protocol::{validate_text, ChatMessage, Refusal, MAX_MESSAGE_CHARS, SERVER_NAME};
pub use session::{ChatClient, ClientEvent, ConnectOptions, ConnectionState, Features, Timing};
