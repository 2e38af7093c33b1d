//! The optional room password, checked in the socket.io handshake (protocol §2.4).

use std::sync::Arc;

use confab_protocol::AuthError;
use serde_json::Value;
use socketioxide::extract::{State, TryData};

/// The server's password, as socketioxide state (`None`: open room).
#[derive(Debug, Clone)]
pub struct RoomPassword(pub Option<Arc<str>>);

/// Connect middleware: lets a socket in only with the right `auth.password`.
pub async fn check_password(
    State(RoomPassword(expected)): State<RoomPassword>,
    TryData(auth): TryData<Value>,
) -> Result<(), AuthError> {
    let Some(expected) = expected else { return Ok(()) };
    let given = auth.ok().and_then(|auth| match auth.get("password") {
        Some(Value::String(given)) => Some(given.clone()),
        _ => None,
    });
    match given {
        None => Err(AuthError::PasswordRequired),
        Some(given) if constant_time_eq::constant_time_eq(given.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(AuthError::WrongPassword),
    }
}
