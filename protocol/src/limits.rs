//! The numbers a server enforces, with the documented defaults. A server tells each client its own
//! values in `welcome`, so a client never refuses what the server allows, nor sends what it refuses.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The port a Confab server listens on unless told otherwise, and the port a client assumes when an
/// address has none.
pub const DEFAULT_PORT: u16 = 7878;
/// Chat messages a server keeps for late joiners and reconnects.
pub const DEFAULT_HISTORY: usize = 200;
/// Outgoing packets queued per connection before a client counts as too slow (§2.6).
pub const DEFAULT_MAX_QUEUED_PACKETS: usize = 2048;
/// engine.io heartbeat: a vanished client is announced after at most interval + timeout.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(4);

/// Per-connection limits, as configured on the server and as sent in `welcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Limits {
    /// Longest chat message, in Unicode scalar values.
    pub max_message_chars: usize,
    /// Longest username, in Unicode scalar values (after trimming).
    pub max_name_chars: usize,
    /// Sustained messages per second per connection; 0: no rate limit.
    pub messages_per_second: u32,
    /// Messages a connection may send at once before the sustained rate applies (at least 1).
    pub message_burst: u32,
    /// Largest socket.io packet accepted, in bytes; a bigger one closes that connection.
    pub max_packet_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_chars: 2000,
            max_name_chars: 32,
            messages_per_second: 10,
            message_burst: 20,
            max_packet_bytes: 64 * 1024,
        }
    }
}
