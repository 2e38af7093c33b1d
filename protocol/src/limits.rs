//! The numbers a server enforces, with the documented defaults. A server tells each client its own
//! values in `welcome`, so a client never refuses what the server allows, nor sends what it refuses.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The port a Confab server listens on unless told otherwise, and the port a client assumes when an
/// address has none.
pub const DEFAULT_PORT: u16 = 7878;
/// Chat messages a server keeps for late joiners and reconnects.
pub const DEFAULT_HISTORY: usize = 200;
/// The largest file a user may upload (§2.11), in MB (10^6 bytes); `--max-file-mb`.
pub const DEFAULT_MAX_FILE_MB: u64 = 25;
/// All files of a chat together (§2.11), in MB; the oldest go first beyond it; `--max-files-mb`.
pub const DEFAULT_MAX_FILES_MB: u64 = 1024;
/// Uploads per user per minute (§2.11).
pub const UPLOADS_PER_MINUTE: u32 = 10;
/// An upload not sent in a message within this long is deleted (§2.11).
pub const UNSENT_UPLOAD_TTL: Duration = Duration::from_secs(10 * 60);
/// Thumbnails are at most this wide and high (§2.11).
pub const THUMBNAIL_PIXELS: u32 = 320;
/// Outgoing packets queued per connection before a client counts as too slow (§2.6).
pub const DEFAULT_MAX_QUEUED_PACKETS: usize = 2048;
/// Outgoing bytes queued per connection before a client counts as too slow (§2.6): room for a
/// history page (`HISTORY_PAGE_BYTES`) and a long burst of room traffic, and the most a client that
/// stops reading makes the server hold for it (plus one packet). Typing notices stop at half of it.
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 4 * 1024 * 1024;
/// Past its address's `max_queued_bytes_per_address`, a connection with this much or more queued
/// counts as too slow; one with less keeps up and is never evicted for its neighbours' sake.
pub const QUEUE_BEHIND_BYTES: usize = 64 * 1024;
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

/// What one address (and everyone together) may open and ask for, per server. Not sent to clients:
/// they only meet these as a refused connection or registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AddressLimits {
    /// Open TCP connections from one IP address; 0: no cap. Generous: a whole office behind one NAT.
    pub max_connections_per_address: usize,
    /// Open TCP connections in total; 0: no cap. Below the open-file limit the server raises at start.
    pub max_connections: usize,
    /// Sustained new TCP connections per second from one address; 0: no rate limit. Above it a
    /// connection is closed at accept, before any HTTP or handshake is read (a connect/close storm
    /// made ~3600 full handshakes a second from one address).
    pub connections_per_second: u32,
    /// New connections one address may open at once before the sustained rate applies (an office
    /// behind one NAT reconnecting together; a long-polling client may use a few connections each).
    pub connection_burst: u32,
    /// Sustained `register` attempts per second from one address; 0: no rate limit.
    pub registrations_per_second: u32,
    /// `register` attempts one address may make at once before the sustained rate applies.
    pub registration_burst: u32,
    /// Wrong passwords one address may try before each further attempt waits (doubling, up to
    /// `MAX_PASSWORD_BACKOFF`).
    pub password_attempts: u32,
    /// Outgoing bytes queued for all the connections of one address together; 0: no cap. Once they
    /// hold it, a connection of that address with `QUEUE_BEHIND_BYTES` or more queued counts as too
    /// slow (one that keeps up never does): 256 connections each within its own budget could hold a gigabyte.
    pub max_queued_bytes_per_address: usize,
    /// `history` KiB all the connections of one address may be sent per minute (and at once); 0: no
    /// cap. Each connection also has its own `HISTORY_KIB_PER_MINUTE`: without this, 32 connections
    /// of one address asking at once had the server make 64 MiB of pages in one go, and the room
    /// waited ~300 ms for it (PERFORMANCE.md, the hoard attack).
    pub history_kib_per_minute_per_address: u32,
}

impl Default for AddressLimits {
    fn default() -> Self {
        Self {
            max_connections_per_address: 256,
            max_connections: 16_384,
            connections_per_second: 100,
            connection_burst: 1000,
            registrations_per_second: 50,
            registration_burst: 500,
            password_attempts: 3,
            max_queued_bytes_per_address: 32 * 1024 * 1024,
            history_kib_per_minute_per_address: 8 * 1024,
        }
    }
}

/// The most one `history` answer holds (issue 10 finding 2: it was up to 2.4 MB): at most this many
/// messages and about this many bytes of JSON; a client pages on with `after`.
pub const HISTORY_PAGE_MESSAGES: usize = 200;
pub const HISTORY_PAGE_BYTES: usize = 256 * 1024;
/// History bytes one connection may ask for per minute (and at once): a client that asks and never
/// reads cannot make the server queue more than this for it (a reconnect pages back ~256 KiB).
pub const HISTORY_KIB_PER_MINUTE: u32 = 2048;
/// `history` requests per second per connection, and how many at once.
pub const HISTORY_REQUESTS_PER_SECOND: u32 = 2;
pub const HISTORY_REQUEST_BURST: u32 = 10;
/// `typing` notices relayed per second per user (both `true` and `false`), and how many at once.
pub const TYPING_PER_SECOND: u32 = 2;
pub const TYPING_BURST: u32 = 4;

/// Password attempts refused on one connection before the server closes it: a guesser must then
/// pay a new connection (and the address's connection rate) for the next few.
pub const PASSWORD_ATTEMPTS_PER_CONNECTION: u32 = 3;
/// The longest an address waits between password attempts once it used up its free ones.
pub const MAX_PASSWORD_BACKOFF: Duration = Duration::from_secs(60);
/// A connection that has not registered a name after this long is closed.
pub const REGISTER_WITHIN: Duration = Duration::from_secs(60);
