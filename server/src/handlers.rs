//! socket.io event handlers: thin adapters from the wire to [`Room`]. Every handler accepts any
//! payload (`TryData`), so hostile input gets an answer instead of a silently skipped handler.

use std::sync::Arc;

use serde_json::Value;
use socketioxide::{
    extract::{AckSender, SocketRef, State, TryData},
    socket::DisconnectReason,
};

use crate::{
    payload::{HistoryRequest, IncomingMessage, Refusal, RefusedEvent},
    room::Room,
};

/// Called for every socket that connected to `/` (and passed the password check).
pub async fn on_connect(socket: SocketRef) {
    tracing::debug!(sid = %socket.id, "connected");
    socket.on("register", on_register);
    socket.on("message", on_message);
    socket.on("typing", on_typing);
    socket.on("history", on_history);
    socket.on("users", on_users);
    socket.on_disconnect(on_disconnect);
}

async fn on_register(
    socket: SocketRef,
    TryData(name): TryData<Value>,
    ack: AckSender,
    State(room): State<Arc<Room>>,
) {
    let requested = match &name {
        Ok(Value::String(name)) => Some(name.as_str()),
        _ => None,
    };
    room.register(&socket, requested, ack);
}

async fn on_message(
    socket: SocketRef,
    TryData(payload): TryData<IncomingMessage>,
    ack: AckSender,
    State(room): State<Arc<Room>>,
) {
    match room.post(socket.id, payload.ok().map(|p| p.message)) {
        Ok(delivered) => {
            if let Err(socketioxide::SendError::Socket(socketioxide::SocketError::InternalChannelFull)) =
                ack.send(&*delivered)
            {
                room.evict(socket.id);
            }
        }
        Err(code) => {
            tracing::debug!(sid = %socket.id, ?code, "message refused");
            let _ = ack.send(&Refusal::from(code));
            let _ = socket.emit("refused", &RefusedEvent { event: "message", refusal: code.into() });
        }
    }
}

async fn on_typing(socket: SocketRef, TryData(typing): TryData<bool>, State(room): State<Arc<Room>>) {
    if let Ok(typing) = typing {
        room.typing(socket.id, typing);
    }
}

async fn on_history(
    socket: SocketRef,
    TryData(request): TryData<HistoryRequest>,
    ack: AckSender,
    State(room): State<Arc<Room>>,
) {
    // No argument, `{}` or garbage all mean "everything retained"; only a valid `after` narrows it.
    let after = request.ok().and_then(|r| r.after);
    let _ = ack.send(&room.history_after(socket.id, after));
}

async fn on_users(socket: SocketRef, ack: AckSender, State(room): State<Arc<Room>>) {
    let _ = ack.send(&room.users(socket.id));
}

async fn on_disconnect(socket: SocketRef, reason: DisconnectReason, State(room): State<Arc<Room>>) {
    tracing::debug!(sid = %socket.id, ?reason, "disconnected");
    room.leave(socket.id);
}
