//! Every way a chat connection can fail, worded for the person using the app.
//!
//! The UI shows `Display` as is and switches on `code()` (for example to put the cursor back in the
//! field that needs fixing), so each variant is one thing the user can act on.

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// Result alias of the chat client.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// What the user typed cannot be a server address at all.
    #[error("“{0}” is not a server address. Use host:port, http://host:port or https://host.")]
    InvalidAddress(String),
    /// Nothing accepts TCP connections there (wrong port, server down, DNS failure, no network).
    #[error("Cannot reach {0}. Check the address and that the server is running.")]
    Unreachable(String),
    /// Something answered, but not the socket.io protocol (a web server, another service, TLS mismatch).
    #[error("{0} answered, but it is not a chat server.")]
    NotAChatServer(String),
    /// The name breaks the protocol's rules; said before the server is asked.
    #[error("“{name}” cannot be used as a name: {why}.")]
    NameInvalid { name: String, why: String },
    /// The server answered `false` to `register`: someone online has the name (or the server has
    /// rules of its own).
    #[error("The name “{0}” is taken on this server, or not allowed there. Pick another one.")]
    NameRejected(String),
    /// The server runs with a password and we sent none.
    #[error("This server needs a password.")]
    PasswordRequired,
    /// The server runs with a password and ours does not match.
    #[error("Wrong password for this server.")]
    WrongPassword,
    /// The server saw too many wrong passwords from this address and makes it wait.
    #[error("Too many wrong passwords from this computer: wait a minute, then try again.")]
    TooManyPasswordAttempts,
    /// The server refused the socket.io connection for another reason it stated.
    #[error("The server refused the connection: {0}")]
    ConnectionRefused(String),
    /// A step of the handshake had no answer in time (the `String` says which step).
    #[error("The server did not answer in time ({0}).")]
    Timeout(String),
    /// `rejoin` while the session is registered: there is nothing to rejoin.
    #[error("Already in the chat.")]
    AlreadyJoined,
    /// A pinned chat presented another certificate: someone may be in between, or the host made a
    /// new one. Never joined silently.
    #[error("The chat's certificate has changed (expected {expected}, got {presented}). Someone may be intercepting the connection; ask the host before trusting the new one.")]
    CertificateChanged { expected: String, presented: String },
    /// An https server whose certificate the system does not trust (a LAN chat's own certificate):
    /// the user may compare the fingerprint with the host's and trust it.
    #[error("This server's certificate is not trusted by your system. Its fingerprint is {fingerprint}: compare it with the one the host shows before you trust it.")]
    UntrustedCertificate { fingerprint: String },
    /// TLS could not be set up (said as the TLS library said it).
    #[error("A secure connection could not be set up: {0}")]
    Tls(String),
    /// The server refused to give its chat history (it cannot read its log right now).
    #[error("The server cannot give its chat history right now: {0}")]
    HistoryUnavailable(String),
    /// A command that needs a session was used without one.
    #[error("Not connected to a chat server.")]
    NotConnected,
    /// The text cannot be sent: it is empty or only spaces.
    #[error("An empty message cannot be sent.")]
    EmptyMessage,
    /// The text is longer than the server's limit; the UI shows the count before this happens.
    #[error("A message can be at most {max} characters; this one has {len}.")]
    MessageTooLong { len: usize, max: usize },
}

impl ClientError {
    /// A stable machine-readable name for the UI and tests; the wording of `Display` may change.
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::InvalidAddress(_) => "invalid_address",
            ClientError::Unreachable(_) => "unreachable",
            ClientError::NotAChatServer(_) => "not_a_chat_server",
            ClientError::NameInvalid { .. } => "name_invalid",
            ClientError::NameRejected(_) => "name_rejected",
            ClientError::AlreadyJoined => "already_joined",
            ClientError::PasswordRequired => "password_required",
            ClientError::WrongPassword => "wrong_password",
            ClientError::TooManyPasswordAttempts => "too_many_attempts",
            ClientError::ConnectionRefused(_) => "connection_refused",
            ClientError::Timeout(_) => "timeout",
            ClientError::CertificateChanged { .. } => "certificate_changed",
            ClientError::UntrustedCertificate { .. } => "untrusted_certificate",
            ClientError::Tls(_) => "tls",
            ClientError::HistoryUnavailable(_) => "history_unavailable",
            ClientError::NotConnected => "not_connected",
            ClientError::EmptyMessage => "empty_message",
            ClientError::MessageTooLong { .. } => "too_long",
        }
    }
}

/// Crosses to the webview as `{ "code": "...", "message": "..." }`.
impl Serialize for ClientError {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("ClientError", 2)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}
