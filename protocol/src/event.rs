//! Event names on the wire (docs/PROTOCOL.md §1, §2). The seed's three are `register`, `message`
//! and `disconnect` (socket.io's own); the rest are extensions a plain client ignores.

/// Client → server: the raw name; answered with a boolean (ack, or a `register` event when no ack
/// was asked for). Server → client: that boolean.
pub const REGISTER: &str = "register";
/// Both ways: a chat line `{from, message}`.
pub const MESSAGE: &str = "message";
/// Server → client after register: recent messages. Client → server (with ack): ask for more.
pub const HISTORY: &str = "history";
/// Server → client after register: who is online. Client → server (with ack): ask again.
pub const USERS: &str = "users";
/// Both ways: typing notices.
pub const TYPING: &str = "typing";
/// Server → client: a refused request, whether or not it asked for an ack.
pub const REFUSED: &str = "refused";
/// Server → client: something the user should read, sent before a disconnect (`too_slow`).
pub const NOTICE: &str = "notice";
/// Server → client right after the namespace connect: the protocol version and the server's limits.
pub const WELCOME: &str = "welcome";
/// Server → client after register: the token and limits for file uploads (§2.11).
pub const FILES: &str = "files";
