//! What an operator (or the desktop app) can tune. Defaults are the documented protocol values
//! (`confab_protocol::limits`).

use std::{path::PathBuf, sync::Arc, time::Duration};

use confab_protocol::limits;
pub use confab_protocol::{AddressLimits, Limits};

pub use crate::{store::StoreConfig, tls::TlsFiles};

/// Everything the server needs to know besides the address it listens on.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// When set, clients must present it in the socket.io handshake `auth.password`.
    pub password: Option<String>,
    /// How many chat messages are kept in memory: the whole history of an in-memory log (0 keeps
    /// none), the cache in front of a log on disk.
    pub history_capacity: usize,
    /// Where the chat log lives: in memory (the default: gone when the server stops) or on disk.
    pub store: StoreConfig,
    /// Per-connection flood control and payload limits, also told to every client in `welcome`.
    pub limits: Limits,
    /// engine.io heartbeat: a vanished client is detected after at most `ping_interval + ping_timeout`.
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    /// Outgoing packets queued per connection before the client counts as too slow (protocol §2.6).
    pub max_queued_packets: usize,
    /// Outgoing bytes queued per connection before the client counts as too slow (protocol §2.6);
    /// best-effort packets (typing notices) are dropped from half of it on.
    pub max_queued_bytes: usize,
    /// A folder served at `/` instead of the built-in browser join page.
    pub web_root: Option<PathBuf>,
    /// Host names besides IP addresses, `localhost` and this machine's name that requests may use
    /// (a reverse proxy's public name); their origins may open sockets too.
    pub allowed_hosts: Vec<String>,
    /// Other web origins (`https://app.example.org`) whose pages may open sockets here.
    pub allowed_origins: Vec<String>,
    /// A connection that has not registered a name after this long is closed.
    pub register_within: Duration,
    /// Serve HTTPS/WSS with this certificate and key instead of plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Caps per client address and in total (connections, registrations, password attempts).
    pub address_limits: AddressLimits,
    /// The chat's name, told to every client in `welcome` (protocol §2.9); none: clients show the address.
    pub chat_name: Option<String>,
    /// The largest file a user may upload, in bytes (protocol §2.11); 0 turns files off.
    pub max_file_bytes: u64,
    /// All files together, in bytes: the oldest are removed beyond it.
    pub max_files_bytes: u64,
}

/// [`ServerConfig::chat_name`] as socketioxide state, for `welcome`.
#[derive(Debug, Clone)]
pub struct ChatName(pub Option<Arc<str>>);

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            password: None,
            history_capacity: limits::DEFAULT_HISTORY,
            store: StoreConfig::InMemory,
            limits: Limits::default(),
            ping_interval: limits::DEFAULT_PING_INTERVAL,
            ping_timeout: limits::DEFAULT_PING_TIMEOUT,
            max_queued_packets: limits::DEFAULT_MAX_QUEUED_PACKETS,
            max_queued_bytes: limits::DEFAULT_MAX_QUEUED_BYTES,
            web_root: None,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            register_within: limits::REGISTER_WITHIN,
            tls: None,
            address_limits: AddressLimits::default(),
            chat_name: None,
            max_file_bytes: limits::DEFAULT_MAX_FILE_MB * 1_000_000,
            max_files_bytes: limits::DEFAULT_MAX_FILES_MB * 1_000_000,
        }
    }
}
