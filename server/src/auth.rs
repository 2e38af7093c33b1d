//! The optional room password, checked in the socket.io handshake (protocol §2.4), with a limit on
//! guessing: a few free attempts per address, then a doubling wait (issue 10 finding 1). Failures
//! are logged with the address, never with what was tried.

use std::sync::Arc;

use confab_protocol::AuthError;
use serde_json::Value;
use socketioxide::extract::{SocketRef, State, TryData};

use crate::peers::{peer_ip, Peers};

/// The server's password, as socketioxide state (`None`: open room).
#[derive(Debug, Clone)]
pub struct RoomPassword(pub Option<Arc<str>>);

/// Connect middleware: lets a socket in only with the right `auth.password`.
pub async fn check_password(
    socket: SocketRef,
    State(RoomPassword(expected)): State<RoomPassword>,
    State(peers): State<Arc<Peers>>,
    TryData(auth): TryData<Value>,
) -> Result<(), AuthError> {
    let Some(expected) = expected else { return Ok(()) };
    let ip = peer_ip(&socket);
    if let Some(Err(wait)) = ip.map(|ip| peers.password_allowed(ip)) {
        // Debug only: a guesser makes ~100 000 of these a second (the wrong ones before are at warn).
        tracing::debug!(peer = ?ip, wait_ms = wait.as_millis() as u64, "password attempt refused: too many wrong ones");
        return Err(AuthError::TooManyAttempts);
    }
    let given = auth.ok().and_then(|auth| match auth.get("password") {
        Some(Value::String(given)) => Some(given.clone()),
        _ => None,
    });
    let result = match given {
        None => Err(AuthError::PasswordRequired),
        Some(given) if constant_time_eq::constant_time_eq(given.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(AuthError::WrongPassword),
    };
    match (result, ip) {
        (Ok(()), Some(ip)) => peers.password_accepted(ip),
        (Err(AuthError::WrongPassword), Some(ip)) => {
            let count = peers.password_failed(ip);
            tracing::warn!(peer = %ip, failures = count, "wrong room password");
        }
        _ => {}
    }
    result
}
