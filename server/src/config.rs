//! What an operator (or the desktop app) can tune. Defaults are the documented protocol values.

use std::{num::NonZeroU32, path::PathBuf, time::Duration};

/// Everything the server needs to know besides the address it listens on.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// When set, clients must present it in the socket.io handshake `auth.password`.
    pub password: Option<String>,
    /// How many chat messages are kept for `history` (0 keeps none).
    pub history_capacity: usize,
    /// Per-connection flood control and payload limits.
    pub limits: Limits,
    /// engine.io heartbeat: a vanished client is detected after at most `ping_interval + ping_timeout`.
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    /// Outgoing packets queued per connection before the client counts as too slow (protocol §2.6).
    pub max_queued_packets: usize,
    /// A folder served at `/` instead of the built-in browser join page.
    pub web_root: Option<PathBuf>,
}

/// Limits that protect the room from one noisy or hostile connection.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest chat message, in Unicode scalar values.
    pub max_message_chars: usize,
    /// Longest username, in Unicode scalar values (after trimming).
    pub max_name_chars: usize,
    /// Sustained messages per second per connection; `None` disables the rate limit.
    pub messages_per_second: Option<NonZeroU32>,
    /// How many messages a connection may send at once before the sustained rate applies.
    pub message_burst: NonZeroU32,
    /// Largest socket.io packet accepted, in bytes; a bigger one closes that connection.
    pub max_packet_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_chars: 2000,
            max_name_chars: 32,
            messages_per_second: NonZeroU32::new(10),
            message_burst: NonZeroU32::new(20).expect("non-zero"),
            max_packet_bytes: 64 * 1024,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            password: None,
            history_capacity: 200,
            limits: Limits::default(),
            ping_interval: Duration::from_secs(5),
            ping_timeout: Duration::from_secs(4),
            max_queued_packets: 2048,
            web_root: None,
        }
    }
}
