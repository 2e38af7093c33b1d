//! The optional room password, checked in the socket.io handshake (protocol §2.4), with a limit on
//! guessing: a few free attempts per address, then a doubling wait, and a few per connection, then
//! it is closed (issue 10 finding 1). Failures are logged with the address, never with what was tried.

use std::sync::Arc;

use std::net::IpAddr;

use confab_protocol::{limits::PASSWORD_ATTEMPTS_PER_CONNECTION, AuthError};
use serde_json::Value;
use socketioxide::extract::{SocketRef, State, TryData};

use crate::peers::{connection_of, Peers};

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
    let connection = connection_of(&socket);
    if connection.is_some_and(|c| c.passwords_refused() >= PASSWORD_ATTEMPTS_PER_CONNECTION) {
        // One connection guessing at full speed (~100 000 a second) no longer costs just a packet each.
        tracing::debug!(sid = %socket.id, "closed: too many password attempts on one connection");
        socket.close_transport();
        return Err(AuthError::TooManyAttempts);
    }
    let result = verify(connection.map(|c| c.0.ip()), &expected, &peers, auth);
    if let (Err(AuthError::WrongPassword | AuthError::TooManyAttempts), Some(connection)) = (&result, connection) {
        connection.password_refused();
    }
    result
}

/// The address's backoff, then the comparison (in constant time).
fn verify(
    ip: Option<IpAddr>,
    expected: &str,
    peers: &Peers,
    auth: Result<Value, impl std::fmt::Debug>,
) -> Result<(), AuthError> {
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
