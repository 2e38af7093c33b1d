//! Test harness: a real server on 127.0.0.1:0 and real clients (rust_socketio, raw websockets).
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod polling;
pub mod process;
pub mod proxy;
pub mod raw;
pub mod redis;

use std::{net::SocketAddr, time::Duration};

use confab_server::{ServerConfig, ServerHandle};
use futures_util::FutureExt;
use rust_socketio::{
    asynchronous::{Client, ClientBuilder},
    Event, Payload, TransportType,
};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

/// Every wait in these tests is bounded: a missing event fails the test instead of hanging it.
/// Generous, because CI shares two cores with a Tauri build; a healthy run waits milliseconds.
pub const WAIT: Duration = Duration::from_secs(10);
/// rust_socketio's async `connect` runs partly blocking, so concurrent connects of one test queue up
/// (~60 ms each here): fifty of them need seconds on a loaded machine. Not what the tests measure.
pub const CONNECT_WAIT: Duration = Duration::from_secs(30);

pub async fn start_server(config: ServerConfig) -> ServerHandle {
    confab_server::start("127.0.0.1:0".parse().unwrap(), config).await.expect("server starts")
}

/// A config without flood control, for tests that send many messages quickly.
pub fn unlimited() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.limits.messages_per_second = 0;
    config
}

/// A connected rust_socketio client that records every event it receives, in order.
pub struct TestClient {
    pub client: Client,
    events: mpsc::UnboundedReceiver<(String, Value)>,
    /// Error events (connect errors included), as text.
    errors: mpsc::UnboundedReceiver<String>,
}

impl TestClient {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::try_connect(addr, None).await.expect("client connects")
    }

    /// Connects and waits for the namespace connection to be confirmed: rust_socketio's `connect`
    /// returns before that, and an event emitted earlier may be ignored by the server. A connect
    /// error (for example a refused password) is returned as its text.
    pub async fn try_connect(addr: SocketAddr, auth: Option<Value>) -> Result<Self, String> {
        let (event_tx, events) = mpsc::unbounded_channel();
        let (error_tx, mut errors) = mpsc::unbounded_channel();
        let (connected_tx, connected) = oneshot::channel();
        let connected_tx = std::sync::Mutex::new(Some(connected_tx));
        let mut builder = ClientBuilder::new(format!("http://{addr}"))
            .namespace("/")
            // Straight to websocket: rust_socketio's polling-then-upgrade path failed now and then with
            // fifty clients connecting at once on a loaded machine ("EngineIO Error"). Long-polling
            // is covered by the JS and Python suites, which speak it reliably.
            .transport_type(TransportType::Websocket)
            .reconnect(false)
            .on_any(move |event: Event, payload: Payload, _| {
                let first = match payload {
                    Payload::Text(mut values) if !values.is_empty() => values.remove(0),
                    _ => Value::Null,
                };
                let _ = event_tx.send((event.as_str().to_owned(), first));
                async {}.boxed()
            })
            .on("open", move |_, _| {
                if let Some(tx) = connected_tx.lock().unwrap().take() {
                    let _ = tx.send(());
                }
                async {}.boxed()
            })
            .on("error", move |payload: Payload, _| {
                let _ = error_tx.send(format!("{payload:?}"));
                async {}.boxed()
            });
        if let Some(auth) = auth {
            builder = builder.auth(auth);
        }
        let client = builder.connect().await.map_err(|e| e.to_string())?;
        tokio::select! {
            ok = connected => ok.map_err(|_| "client dropped".to_owned())?,
            Some(error) = errors.recv() => return Err(error),
            _ = tokio::time::sleep(CONNECT_WAIT) => return Err("no namespace connection in time".to_owned()),
        }
        Ok(Self { client, events, errors })
    }

    /// Emits `event` with `args` as the argument list and waits for the ack's first value.
    pub async fn call(&self, event: &str, args: Vec<Value>) -> Value {
        let (tx, rx) = oneshot::channel();
        let tx = std::sync::Mutex::new(Some(tx));
        self.client
            .emit_with_ack(event, Payload::Text(args), WAIT, move |payload: Payload, _| {
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send(payload);
                }
                async {}.boxed()
            })
            .await
            .expect("emit");
        let payload = tokio::time::timeout(WAIT, rx).await.expect("ack in time").expect("ack");
        // rust_socketio hands acks over one array level deeper: Text([Array[first, ...]]).
        match payload {
            Payload::Text(values) => match values.into_iter().next() {
                Some(Value::Array(mut inner)) if !inner.is_empty() => inner.remove(0),
                Some(other) => other,
                None => Value::Null,
            },
            other => panic!("unexpected ack payload {other:?}"),
        }
    }

    /// Registers `name` (sent as a JSON string, whatever it looks like) and returns the ack.
    pub async fn register(&self, name: &str) -> Value {
        self.call("register", vec![Value::String(name.to_owned())]).await
    }

    /// Registers and consumes what a successful registration sends: history, users, own join.
    pub async fn join(addr: SocketAddr, name: &str) -> Self {
        let mut client = Self::connect(addr).await;
        assert_eq!(client.register(name).await, json!(true), "register {name}");
        client.next_event("history").await;
        client.next_event("users").await;
        let joined = client.next_event("message").await;
        assert_eq!(joined["message"], format!("{name} has joined the chat"));
        client
    }

    pub async fn send(&self, text: &str) {
        self.client.emit("message", json!({"from": "me", "message": text})).await.expect("send");
    }

    /// The next event of any name.
    pub async fn next(&mut self) -> (String, Value) {
        tokio::time::timeout(WAIT, self.events.recv()).await.expect("an event in time").expect("client alive")
    }

    /// The next event named `name`, skipping (and returning nothing of) others such as `typing`.
    pub async fn next_event(&mut self, name: &str) -> Value {
        loop {
            let (event, value) = self.next().await;
            if event == name {
                return value;
            }
        }
    }

    /// The next event named `name` within `within` (longer than [`WAIT`] allowed), if any.
    pub async fn next_event_within(&mut self, name: &str, within: Duration) -> Option<Value> {
        tokio::time::timeout(within, async {
            while let Some((event, value)) = self.events.recv().await {
                if event == name {
                    return Some(value);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
    }

    /// Asserts that no event arrives within `quiet`.
    pub async fn expect_silence(&mut self, quiet: Duration) {
        if let Ok(Some(event)) = tokio::time::timeout(quiet, self.events.recv()).await {
            panic!("expected no event, got {event:?}");
        }
    }

    pub async fn next_error(&mut self) -> String {
        tokio::time::timeout(WAIT, self.errors.recv()).await.expect("an error in time").expect("client alive")
    }

    pub async fn disconnect(self) {
        self.client.disconnect().await.expect("disconnect");
    }
}

/// A minimal HTTP/1.1 GET with `Host: <addr>` and any `extra` headers; the whole response as text.
pub async fn http_get(addr: SocketAddr, path: &str, extra: &[(&str, &str)]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connects");
    let has_host = extra.iter().any(|(name, _)| name.eq_ignore_ascii_case("host"));
    let mut head = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
    if !has_host {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("request sent");
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response)).await.expect("response in time").expect("read");
    response
}
