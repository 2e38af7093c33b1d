//! The rust_socketio glue: a socket whose every callback forwards to one channel, and acks bridged
//! into futures with real timeouts (rust_socketio's ack timeout only discards late acks).

use std::sync::Mutex;
use std::time::Duration;

use confab_protocol::{event, AuthError};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client as SocketClient, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{timeout, timeout_at, Instant};

use super::error::ClientError;

/// Callback traffic from rust_socketio, forwarded as is to the supervisor task (callbacks must not
/// await: they run on the task that reads the socket).
#[derive(Debug)]
pub enum Incoming {
    Connected,
    Error(String),
    Closed,
    /// The answer to `register` as an event (servers like the seed's reference implementation).
    Register(Vec<Value>),
    Welcome(Vec<Value>),
    Message(Vec<Value>),
    History(Vec<Value>),
    Users(Vec<Value>),
    Typing(Vec<Value>),
    Notice(Vec<Value>),
    /// The files token after register (§2.11).
    Files(Vec<Value>),
}

type Callback = Box<dyn FnMut(Payload, SocketClient) -> BoxFuture<'static, ()> + Send + Sync>;

/// A builder for `url` over `transport` whose callbacks all forward to `tx`; our own lifecycle
/// replaces rust_socketio's reconnection.
pub fn builder(
    url: &str,
    password: Option<&str>,
    transport: TransportType,
    tx: &mpsc::UnboundedSender<Incoming>,
) -> ClientBuilder {
    let mut builder = ClientBuilder::new(url).reconnect(false).transport_type(transport);
    if let Some(password) = password {
        builder = builder.auth(json!({ "password": password }));
    }
    builder
        .on(Event::Connect, forward(tx, |_| Incoming::Connected))
        .on(Event::Error, forward(tx, |args| Incoming::Error(first_text(&args))))
        .on(Event::Close, forward(tx, |_| Incoming::Closed))
        .on(event::REGISTER, forward(tx, Incoming::Register))
        .on(event::WELCOME, forward(tx, Incoming::Welcome))
        .on(event::MESSAGE, forward(tx, Incoming::Message))
        .on(event::HISTORY, forward(tx, Incoming::History))
        .on(event::USERS, forward(tx, Incoming::Users))
        .on(event::TYPING, forward(tx, Incoming::Typing))
        .on(event::NOTICE, forward(tx, Incoming::Notice))
        .on(event::FILES, forward(tx, Incoming::Files))
}

fn forward(tx: &mpsc::UnboundedSender<Incoming>, wrap: fn(Vec<Value>) -> Incoming) -> Callback {
    let tx = tx.clone();
    Box::new(move |payload, _| {
        let _ = tx.send(wrap(event_args(payload)));
        async {}.boxed()
    })
}

/// Event callbacks get the event's arguments as `Text(args)`.
fn event_args(payload: Payload) -> Vec<Value> {
    match payload {
        Payload::Text(values) => values,
        #[allow(deprecated)]
        Payload::String(text) => vec![Value::String(text)],
        Payload::Binary(_) => Vec::new(),
    }
}

/// Ack callbacks get the argument list one array level deeper: `Text([Array(args)])`.
fn ack_args(payload: Payload) -> Vec<Value> {
    let mut values = event_args(payload);
    if values.len() == 1 && values[0].is_array() {
        if let Value::Array(inner) = values.remove(0) {
            return inner;
        }
    }
    values
}

/// An ack that has not come back yet.
pub struct PendingAck {
    rx: oneshot::Receiver<Vec<Value>>,
    deadline: Instant,
}

impl PendingAck {
    /// The ack's arguments, or `None` when it did not come in time.
    pub async fn wait(&mut self) -> Option<Vec<Value>> {
        timeout_at(self.deadline, &mut self.rx).await.ok()?.ok()
    }
}

/// Emits `event` with `args` asking for an ack; the ack is awaited through the returned handle.
pub async fn emit_with_ack(
    socket: &SocketClient,
    event: &str,
    args: Vec<Value>,
    limit: Duration,
) -> Result<PendingAck, rust_socketio::Error> {
    let (tx, rx) = oneshot::channel();
    let tx = Mutex::new(Some(tx));
    let callback = move |payload, _| {
        if let Some(tx) = tx.lock().ok().and_then(|mut slot| slot.take()) {
            let _ = tx.send(ack_args(payload));
        }
        async {}.boxed()
    };
    socket.emit_with_ack(event, Payload::Text(args), limit, callback).await?;
    Ok(PendingAck { rx, deadline: Instant::now() + limit })
}

fn first_text(args: &[Value]) -> String {
    match args.first() {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Maps rust_socketio's "Received an ConnectError frame: {"message":"..."}" to what the user must fix.
pub fn connect_error(error: &str, where_: &str) -> ClientError {
    let reason = error
        .find('{')
        .and_then(|start| serde_json::from_str::<Value>(&error[start..]).ok())
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string));
    match reason.as_deref().map(|message| (message, AuthError::from_message(message))) {
        Some((_, Some(AuthError::PasswordRequired))) => ClientError::PasswordRequired,
        Some((_, Some(AuthError::WrongPassword))) => ClientError::WrongPassword,
        Some((_, Some(AuthError::TooManyAttempts))) => ClientError::TooManyPasswordAttempts,
        Some((other, None)) => ClientError::ConnectionRefused(other.to_string()),
        None if error.contains("ConnectError") => ClientError::ConnectionRefused(error.to_string()),
        None => ClientError::NotAChatServer(where_.to_string()),
    }
}

/// Closes a socket without waiting on a dead peer.
pub async fn close_quietly(socket: SocketClient) {
    let _ = timeout(Duration::from_secs(1), socket.disconnect()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_arguments_lose_the_extra_array_level() {
        assert_eq!(ack_args(Payload::Text(vec![json!([true])])), vec![json!(true)]);
        assert_eq!(ack_args(Payload::Text(vec![json!([[1, 2]])])), vec![json!([1, 2])]);
        assert_eq!(event_args(Payload::Text(vec![json!([1, 2])])), vec![json!([1, 2])]);
    }

    #[test]
    fn connect_errors_name_the_problem() {
        let frame = |m: &str| format!("Received an ConnectError frame: {{\"message\":\"{m}\"}}");
        let wrong = frame(&AuthError::WrongPassword.to_string());
        assert_eq!(connect_error(&wrong, "h:1"), ClientError::WrongPassword);
        let missing = frame(&AuthError::PasswordRequired.to_string());
        assert_eq!(connect_error(&missing, "h:1"), ClientError::PasswordRequired);
        let waiting = frame(&AuthError::TooManyAttempts.to_string());
        assert_eq!(connect_error(&waiting, "h:1"), ClientError::TooManyPasswordAttempts);
        assert!(matches!(connect_error(&frame("banned"), "h:1"), ClientError::ConnectionRefused(_)));
    }
}
