//! Every way starting to host a chat can fail, worded for the person using the app.

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// Result alias of the hosting module.
pub type Result<T, E = HostError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The chat name or the host's name is empty or too long.
    #[error("{0}")]
    InvalidInput(String),
    /// Another program (or another chat) listens on that port. `free_port` is a nearby port that was
    /// free a moment ago, for the UI to offer.
    #[error("Port {port} is already in use by another program.{}", match free_port {
        Some(p) => format!(" Port {p} is free: use it instead, or pick another one."),
        None => " Pick another port, or 0 to let the system choose one.".to_owned(),
    })]
    PortInUse { port: u16, free_port: Option<u16> },
    /// Any other reason the server could not start (permission denied for a low port, ...).
    #[error("The chat could not be started: {0}")]
    StartFailed(String),
    /// This app already hosts a chat.
    #[error("You are already hosting a chat. Stop it first.")]
    AlreadyHosting,
}

impl HostError {
    /// A stable machine-readable name for the UI and tests.
    pub fn code(&self) -> &'static str {
        match self {
            HostError::InvalidInput(_) => "invalid_input",
            HostError::PortInUse { .. } => "port_in_use",
            HostError::StartFailed(_) => "start_failed",
            HostError::AlreadyHosting => "already_hosting",
        }
    }
}

/// Crosses to the webview as `{code, message}`, plus `freePort` for `port_in_use`.
impl Serialize for HostError {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("HostError", 3)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.to_string())?;
        if let HostError::PortInUse { free_port, .. } = self {
            s.serialize_field("freePort", free_port)?;
        }
        s.end()
    }
}
