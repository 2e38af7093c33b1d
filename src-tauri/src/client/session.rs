//! One chat session that outlives dropped connections.
//!
//! rust_socketio gives us a socket; this module owns everything around it, because the library's own
//! reconnection has gaps (it never re-registers, loses emits made while down, and a manual disconnect
//! does not reliably stop it). A supervisor task holds the connection state machine:
//! connect → register → (detect server features) → live ⇄ reconnecting → closed.
//! Outgoing messages wait in an outbox until the server acknowledges them, so nothing typed while
//! offline or during a drop is lost, and a message whose ack was lost in the drop is matched against
//! the server's history instead of being sent twice.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client as SocketClient, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{sleep, sleep_until, timeout, timeout_at, Instant};

use super::address::{display_host_port, host_port, normalize_server_url};
use super::error::{ClientError, Result};
use super::protocol::{now_ms, parse_messages, parse_names, validate_text, ChatMessage, Refusal};

/// What the user filled in on the connect screen.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The server address as typed; normalised by `connect`.
    pub server: String,
    /// The name to register; trimmed like the server does, so comparisons with `from` work.
    pub username: String,
    /// Sent as the handshake `auth` only when present: seed servers ignore auth, ours checks it.
    pub password: Option<String>,
    pub timing: Timing,
}

/// Every delay of the lifecycle in one place, so tests can shrink them and nothing waits forever.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Limit for each handshake step (TCP, socket.io open, socket.io connect, register ack).
    pub connect_timeout: Duration,
    /// How long a sent message may wait for its ack before the connection is considered dead
    /// (rust_socketio's own ack timeout only discards late acks, it reports nothing).
    pub ack_timeout: Duration,
    /// First reconnect delay; doubled after each failed attempt up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// How often an idle connection is probed: a server that stops gracefully closes the socket
    /// without any event in rust_socketio, and only a failing emit reveals it.
    pub probe_interval: Duration,
    /// After a successful register, how long to wait for the extension events (`history`, `users`)
    /// before deciding the server speaks only the seed protocol.
    pub features_grace: Duration,
    /// A refused-for-rate message is retried after this delay.
    pub rate_limit_retry: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            connect_timeout: Duration::from_secs(8),
            ack_timeout: Duration::from_secs(10),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(15),
            probe_interval: Duration::from_secs(3),
            features_grace: Duration::from_millis(1500),
            rate_limit_retry: Duration::from_millis(1100),
        }
    }
}

/// What the server offers beyond the seed protocol; the UI hides what is missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    /// It sent `history` after register: missed messages can be recovered, messages carry ids.
    pub history: bool,
    /// It sent `users`: the online list and typing notices work.
    pub presence: bool,
    /// It acknowledges `message` emits (our server does; a seed server does not, so a message
    /// counts as delivered once written to the socket).
    pub acks: bool,
}

/// Connection state as the status bar shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ConnectionState {
    Connected,
    Reconnecting,
    Offline,
}

/// Everything the session tells its owner (the UI bridge, or a test), in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ClientEvent {
    /// The connection state changed; `detail` says why (the error of the last attempt).
    Status {
        state: ConnectionState,
        attempt: u32,
        retry_in_ms: Option<u64>,
        detail: Option<String>,
    },
    /// (Re)registered: the name the server holds for us and what it offers.
    Session {
        name: String,
        server: String,
        features: Features,
    },
    /// New chat lines, oldest first, without duplicates (history catch-up included).
    Messages {
        messages: Vec<ChatMessage>,
    },
    /// The full online list (servers with presence only).
    Users {
        names: Vec<String>,
    },
    Typing {
        name: String,
        typing: bool,
    },
    /// The server took our message `local_id`; `message` carries its id and time.
    Delivered {
        local_id: u64,
        message: ChatMessage,
    },
    /// The server refused our message for good (or we disconnected before it could be sent): the
    /// UI keeps the text visible with `reason`, so nothing is silently lost.
    Failed {
        local_id: u64,
        code: String,
        reason: String,
    },
    /// A server `notice` (for example `too_slow` before it disconnects us).
    Notice {
        code: String,
        message: String,
    },
}

/// A message the user sent that the server has not acknowledged yet.
#[derive(Debug, Clone)]
struct Outgoing {
    local_id: u64,
    text: String,
    /// It was written to a socket that then died before the ack came: the server may have it.
    /// After reconnecting, the history decides whether it must be sent again.
    maybe_delivered: bool,
}

/// Callback traffic from rust_socketio, forwarded as is to the supervisor task (callbacks must not
/// await: they run on the task that reads the socket).
#[derive(Debug)]
enum Incoming {
    Connected,
    Error(String),
    Closed,
    Message(Vec<Value>),
    History(Vec<Value>),
    Users(Vec<Value>),
    Typing(Vec<Value>),
    Notice(Vec<Value>),
}

/// Requests from the owner to the supervisor.
enum Command {
    /// The outbox has something new.
    Wake,
    Typing(bool),
}

/// A socket that completed connect + register.
struct Live {
    socket: SocketClient,
    incoming: mpsc::UnboundedReceiver<Incoming>,
}

/// Why a live session ended.
enum Ended {
    Lost(String),
    Shutdown,
}

/// Handle to a running session. Dropping it ends the session too.
pub struct ChatClient {
    /// The normalised server URL (also the key of the recent servers list).
    pub server: String,
    /// The name the server registered.
    pub name: String,
    /// Extension support detected at the first registration.
    pub features: Features,
    /// Wakes the supervisor (new outbox entry) and carries typing notices.
    commands: mpsc::UnboundedSender<Command>,
    /// Shared with the supervisor so `send` can queue while a reconnect is in progress.
    outbox: Arc<Mutex<VecDeque<Outgoing>>>,
    /// Level-triggered stop signal: also interrupts a reconnect attempt or its backoff sleep.
    shutdown: watch::Sender<bool>,
    /// Ids the UI uses to match `Delivered`/`Failed` to the line it shows as pending.
    next_local_id: AtomicU64,
    /// The supervisor, awaited by `disconnect` so the socket is really closed when it returns.
    task: tokio::task::JoinHandle<()>,
}

impl ChatClient {
    /// Connects and registers. Errors of this first attempt are returned (the user is on the connect
    /// screen and must fix something); later drops are handled inside by reconnecting.
    pub async fn connect(
        options: ConnectOptions,
    ) -> Result<(ChatClient, mpsc::UnboundedReceiver<ClientEvent>)> {
        let server = normalize_server_url(&options.server)?;
        let name = options.username.trim().to_string();
        if name.is_empty() {
            return Err(ClientError::NameRejected(name));
        }
        let (events, events_rx) = mpsc::unbounded_channel();
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let outbox = Arc::new(Mutex::new(VecDeque::new()));
        let mut supervisor = Supervisor {
            server: server.clone(),
            name: name.clone(),
            password: options.password,
            timing: options.timing,
            events,
            commands: commands_rx,
            outbox: outbox.clone(),
            shutdown: shutdown_rx,
            features: Features::default(),
            seen: Seen::default(),
            typing: false,
        };
        let live = supervisor.establish().await?;
        let features = supervisor.features;
        let task = tokio::spawn(supervisor.run(live));
        Ok((
            ChatClient {
                server,
                name,
                features,
                commands,
                outbox,
                shutdown,
                next_local_id: AtomicU64::new(1),
                task,
            },
            events_rx,
        ))
    }

    /// Queues a message and returns its local id at once; `Delivered` or `Failed` follows.
    /// Queued messages survive reconnects and are sent in order.
    pub fn send(&self, text: &str) -> Result<u64> {
        validate_text(text)?;
        let local_id = self.next_local_id.fetch_add(1, Ordering::Relaxed);
        self.outbox
            .lock()
            .expect("outbox lock")
            .push_back(Outgoing {
                local_id,
                text: text.to_string(),
                maybe_delivered: false,
            });
        self.commands
            .send(Command::Wake)
            .map_err(|_| ClientError::NotConnected)?;
        Ok(local_id)
    }

    /// Tells the others we started or stopped typing (ignored by servers without presence).
    pub fn set_typing(&self, typing: bool) -> Result<()> {
        self.commands
            .send(Command::Typing(typing))
            .map_err(|_| ClientError::NotConnected)
    }

    /// Messages still waiting for the server.
    pub fn pending_count(&self) -> usize {
        self.outbox.lock().expect("outbox lock").len()
    }

    /// Leaves the chat: closes the socket and stops reconnecting. Unsent messages are reported as
    /// `Failed` with code `disconnected` before the final `Offline` status.
    pub async fn disconnect(self) {
        let _ = self.shutdown.send(true);
        let _ = timeout(Duration::from_secs(3), self.task).await;
    }
}

/// The task that owns the connection.
struct Supervisor {
    /// Normalised URL, reused for every reconnect.
    server: String,
    /// Registered again under this exact name after each reconnect.
    name: String,
    /// Kept in memory only, for the handshakes of reconnects; never written anywhere.
    password: Option<String>,
    timing: Timing,
    /// To the owner (UI bridge or test); unbounded so a burst never blocks the socket reader.
    events: mpsc::UnboundedSender<ClientEvent>,
    commands: mpsc::UnboundedReceiver<Command>,
    outbox: Arc<Mutex<VecDeque<Outgoing>>>,
    shutdown: watch::Receiver<bool>,
    /// What the current server offers (re-detected at each registration: it may have changed).
    features: Features,
    /// Messages already shown (ours included), so the history sent after a re-registration adds
    /// only what was missed.
    seen: Seen,
    /// Our current typing state, re-sent as the liveness probe (the server drops repeats).
    typing: bool,
}

impl Supervisor {
    fn emit(&self, event: ClientEvent) {
        // The receiver gone means the owner is gone; the shutdown path handles that.
        let _ = self.events.send(event);
    }

    fn status(
        &self,
        state: ConnectionState,
        attempt: u32,
        retry_in: Option<Duration>,
        detail: Option<String>,
    ) {
        self.emit(ClientEvent::Status {
            state,
            attempt,
            retry_in_ms: retry_in.map(|d| d.as_millis() as u64),
            detail,
        });
    }

    /// TCP probe, socket.io connect, register, feature detection.
    async fn establish(&mut self) -> Result<Live> {
        let t = self.timing.clone();
        let (host, port) = host_port(&self.server)
            .ok_or_else(|| ClientError::InvalidAddress(self.server.clone()))?;
        let where_ = display_host_port(&self.server);
        // A plain TCP connect tells "nobody there" apart from "something there that is not a chat
        // server", which rust_socketio's errors do not.
        match timeout(
            t.connect_timeout,
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        {
            Ok(Ok(_)) => {}
            _ => return Err(ClientError::Unreachable(where_)),
        }

        // Websocket from the start: one connection instead of polling + upgrade (rust_socketio's
        // upgrade handshake has failed against our server, see the report). Long-polling stays as
        // the fallback for networks that block websockets.
        let mut opened = None;
        for (transport, label) in [
            (TransportType::Websocket, "websocket"),
            (TransportType::Polling, "polling"),
        ] {
            let (tx, incoming) = mpsc::unbounded_channel();
            let builder = self.socket_builder(&tx).transport_type(transport);
            match timeout(t.connect_timeout, builder.connect()).await {
                Ok(Ok(socket)) => {
                    opened = Some((socket, incoming));
                    break;
                }
                Ok(Err(e)) => {
                    tracing::info!("socket.io open ({label}) failed on {}: {e}", self.server)
                }
                // The port accepted TCP, but no socket.io handshake came back (rust_socketio keeps
                // waiting on a plain web server's 404 instead of failing).
                Err(_) => tracing::info!("socket.io open ({label}) timed out on {}", self.server),
            }
        }
        let Some((socket, mut incoming)) = opened else {
            return Err(ClientError::NotAChatServer(where_));
        };
        // From here on, every failure must close the socket or it would linger on the server.
        match self.handshake(&socket, &mut incoming, &where_).await {
            Ok(()) => {
                self.status(ConnectionState::Connected, 0, None, None);
                Ok(Live { socket, incoming })
            }
            Err(e) => {
                close_quietly(socket).await;
                Err(e)
            }
        }
    }

    /// A rust_socketio builder whose callbacks all forward to `tx`; our own lifecycle replaces its
    /// reconnection.
    fn socket_builder(&self, tx: &mpsc::UnboundedSender<Incoming>) -> ClientBuilder {
        let mut builder = ClientBuilder::new(self.server.clone()).reconnect(false);
        if let Some(password) = &self.password {
            builder = builder.auth(json!({ "password": password }));
        }
        builder
            .on(Event::Connect, forward(tx, |_| Incoming::Connected))
            .on(
                Event::Error,
                forward(tx, |args| Incoming::Error(first_text(&args))),
            )
            .on(Event::Close, forward(tx, |_| Incoming::Closed))
            .on("message", forward(tx, Incoming::Message))
            .on("history", forward(tx, Incoming::History))
            .on("users", forward(tx, Incoming::Users))
            .on("typing", forward(tx, Incoming::Typing))
            .on("notice", forward(tx, Incoming::Notice))
    }

    async fn handshake(
        &mut self,
        socket: &SocketClient,
        incoming: &mut mpsc::UnboundedReceiver<Incoming>,
        where_: &str,
    ) -> Result<()> {
        let t = self.timing.clone();
        // 1. The server's socket.io CONNECT (or CONNECT_ERROR: the password check).
        let deadline = Instant::now() + t.connect_timeout;
        loop {
            match timeout_at(deadline, incoming.recv()).await {
                Err(_) => return Err(ClientError::Timeout("joining the server".into())),
                Ok(None) | Ok(Some(Incoming::Closed)) => {
                    return Err(ClientError::ConnectionRefused(
                        "the server closed the connection".into(),
                    ))
                }
                Ok(Some(Incoming::Connected)) => break,
                Ok(Some(Incoming::Error(e))) => return Err(connect_error(&e, where_)),
                Ok(Some(_)) => {}
            }
        }
        // 2. register, with the name as a JSON string whatever it looks like ("123", "true").
        let ack = ask(
            socket,
            "register",
            vec![Value::String(self.name.clone())],
            t.connect_timeout,
        )
        .await
        .map_err(|_| ClientError::Timeout("registering the name; is this a chat server?".into()))?;
        if ack.first() != Some(&Value::Bool(true)) {
            return Err(ClientError::NameRejected(self.name.clone()));
        }
        // 3. Extensions come right after the ack, before our own join announcement; a seed server
        //    sends only the announcement. Whatever arrives is handled normally.
        let previous = self.features;
        self.features = Features::default();
        let deadline = Instant::now() + t.features_grace;
        loop {
            match timeout_at(deadline, incoming.recv()).await {
                Err(_) | Ok(None) => break,
                Ok(Some(Incoming::Message(args))) => {
                    self.on_message(args);
                    break;
                }
                Ok(Some(Incoming::Error(e))) => return Err(ClientError::ConnectionRefused(e)),
                Ok(Some(Incoming::Closed)) => {
                    return Err(ClientError::ConnectionRefused(
                        "the server closed the connection".into(),
                    ))
                }
                Ok(Some(other)) => self.on_incoming(other),
            }
        }
        if previous != self.features && previous != Features::default() {
            tracing::info!(
                "server features changed from {previous:?} to {:?}",
                self.features
            );
        }
        self.emit(ClientEvent::Session {
            name: self.name.clone(),
            server: self.server.clone(),
            features: self.features,
        });
        Ok(())
    }

    /// Reconnect loop around live sessions, until shutdown.
    async fn run(mut self, first: Live) {
        let mut live = first;
        loop {
            let socket = live.socket.clone();
            let ended = self.serve(live).await;
            close_quietly(socket).await;
            let reason = match ended {
                Ended::Shutdown => break,
                Ended::Lost(reason) => reason,
            };
            tracing::info!("connection to {} lost: {reason}", self.server);
            match self.reconnect(reason).await {
                Some(next) => live = next,
                None => break,
            }
        }
        // Nothing typed disappears without a word: report what could not be sent.
        let unsent: Vec<Outgoing> = self.outbox.lock().expect("outbox lock").drain(..).collect();
        for item in unsent {
            self.emit(ClientEvent::Failed {
                local_id: item.local_id,
                code: "disconnected".into(),
                reason: "Not sent: you left the server before it could be delivered.".into(),
            });
        }
        self.status(ConnectionState::Offline, 0, None, None);
    }

    /// Tries again with exponential backoff until it works or the owner gives up.
    async fn reconnect(&mut self, mut detail: String) -> Option<Live> {
        // Outbox entries written to the dead socket may or may not have reached the server.
        let mut delay = self.timing.backoff_min;
        let mut shutdown = self.shutdown.clone();
        for attempt in 1u32.. {
            self.status(
                ConnectionState::Reconnecting,
                attempt,
                None,
                Some(detail.clone()),
            );
            tokio::select! {
                _ = stopped(&mut shutdown) => return None,
                result = self.establish() => match result {
                    Ok(live) => return Some(live),
                    Err(e) => detail = e.to_string(),
                },
            }
            // Jitter spreads the reconnects of many clients after a server restart.
            let jitter =
                Duration::from_millis((now_ms() as u64) % (delay.as_millis() as u64 / 4 + 1));
            let wait = delay + jitter;
            self.status(
                ConnectionState::Reconnecting,
                attempt,
                Some(wait),
                Some(detail.clone()),
            );
            tokio::select! {
                _ = stopped(&mut shutdown) => return None,
                _ = sleep(wait) => {}
            }
            delay = (delay * 2).min(self.timing.backoff_max);
        }
        None
    }

    /// One live connection: send the outbox, relay incoming traffic, notice when it dies.
    async fn serve(&mut self, mut live: Live) -> Ended {
        let mut shutdown = self.shutdown.clone();
        let mut probe = tokio::time::interval_at(
            Instant::now() + self.timing.probe_interval,
            self.timing.probe_interval,
        );
        // The message awaiting its ack (one at a time: keeps order, and rust_socketio's random ack ids
        // in 0..999 could collide if many were outstanding).
        let mut in_flight: Option<(u64, oneshot::Receiver<Vec<Value>>, Instant)> = None;
        let mut retry_at: Option<Instant> = None;
        loop {
            if in_flight.is_none() && retry_at.is_none() {
                if let Some(head) = self.next_to_send() {
                    let (tx, rx) = oneshot::channel();
                    let payload = json!({ "from": self.name, "message": head.text });
                    let sent = live
                        .socket
                        .emit_with_ack(
                            "message",
                            payload,
                            self.timing.ack_timeout,
                            ack_callback(tx),
                        )
                        .await;
                    if let Err(e) = sent {
                        return Ended::Lost(format!("sending failed: {e}"));
                    }
                    self.mark_maybe_delivered(head.local_id);
                    if self.features.acks {
                        in_flight =
                            Some((head.local_id, rx, Instant::now() + self.timing.ack_timeout));
                    } else {
                        // A seed server never acks: written to a live socket is all we can know.
                        self.remove_outgoing(head.local_id);
                        let message = ChatMessage {
                            id: None,
                            ts: now_ms(),
                            from: self.name.clone(),
                            message: head.text,
                            kind: None,
                            name: None,
                        };
                        self.emit(ClientEvent::Delivered {
                            local_id: head.local_id,
                            message,
                        });
                    }
                    continue;
                }
            }
            tokio::select! {
                _ = stopped(&mut shutdown) => return Ended::Shutdown,
                event = live.incoming.recv() => match event {
                    None => return Ended::Lost("connection closed".into()),
                    Some(Incoming::Error(e)) => return Ended::Lost(e),
                    Some(Incoming::Closed) => return Ended::Lost("the server closed the connection".into()),
                    Some(other) => self.on_incoming(other),
                },
                ack = wait_ack(&mut in_flight), if in_flight.is_some() => {
                    let (local_id, _, _) = in_flight.take().expect("in flight");
                    match ack {
                        None => return Ended::Lost("a message got no answer in time".into()),
                        Some(args) => {
                            if let Some(delay) = self.on_message_ack(local_id, args) {
                                retry_at = Some(Instant::now() + delay);
                            }
                        }
                    }
                },
                _ = async { sleep_until(retry_at.expect("retry")).await }, if retry_at.is_some() => retry_at = None,
                command = self.commands.recv() => match command {
                    None => return Ended::Shutdown,
                    Some(Command::Wake) => {}
                    Some(Command::Typing(typing)) => {
                        self.typing = typing;
                        if self.features.presence {
                            if let Err(e) = live.socket.emit("typing", Value::Bool(typing)).await {
                                return Ended::Lost(format!("sending failed: {e}"));
                            }
                        }
                    }
                },
                _ = probe.tick() => {
                    // Re-sends our typing state: servers drop repeated notices (and seed servers
                    // ignore the event), but a closed socket makes the emit fail.
                    if let Err(e) = live.socket.emit("typing", Value::Bool(self.typing)).await {
                        return Ended::Lost(format!("connection check failed: {e}"));
                    }
                }
            }
        }
    }

    fn next_to_send(&self) -> Option<Outgoing> {
        self.outbox.lock().expect("outbox lock").front().cloned()
    }

    fn mark_maybe_delivered(&self, local_id: u64) {
        if let Some(item) = self
            .outbox
            .lock()
            .expect("outbox lock")
            .iter_mut()
            .find(|o| o.local_id == local_id)
        {
            item.maybe_delivered = true;
        }
    }

    fn remove_outgoing(&self, local_id: u64) {
        self.outbox
            .lock()
            .expect("outbox lock")
            .retain(|o| o.local_id != local_id);
    }

    /// Handles the ack of our message; returns a delay when it must be retried later.
    fn on_message_ack(&mut self, local_id: u64, args: Vec<Value>) -> Option<Duration> {
        let first = args.into_iter().next().unwrap_or(Value::Null);
        if first.get("error").is_some() {
            let refusal: Refusal = serde_json::from_value(first).unwrap_or(Refusal {
                error: "refused".into(),
                reason: String::new(),
            });
            if refusal.error == "rate_limited" {
                // Not the user's fault and not final: keep it first in line.
                if let Some(item) = self.outbox.lock().expect("outbox lock").front_mut() {
                    item.maybe_delivered = false;
                }
                return Some(self.timing.rate_limit_retry);
            }
            self.remove_outgoing(local_id);
            let reason = if refusal.reason.is_empty() {
                refusal.error.clone()
            } else {
                refusal.reason
            };
            self.emit(ClientEvent::Failed {
                local_id,
                code: refusal.error,
                reason,
            });
            return None;
        }
        self.remove_outgoing(local_id);
        let message = ChatMessage::from_value(&first).unwrap_or_else(|| ChatMessage {
            id: None,
            ts: now_ms(),
            from: self.name.clone(),
            message: String::new(),
            kind: None,
            name: None,
        });
        self.seen.insert(&message);
        self.emit(ClientEvent::Delivered { local_id, message });
        None
    }

    fn on_incoming(&mut self, incoming: Incoming) {
        match incoming {
            Incoming::Message(args) => self.on_message(args),
            Incoming::History(args) => {
                self.features.history = true;
                self.features.acks = true;
                let messages = args.first().map(parse_messages).unwrap_or_default();
                self.on_history(messages);
            }
            Incoming::Users(args) => {
                self.features.presence = true;
                self.features.acks = true;
                let names = args.first().map(parse_names).unwrap_or_default();
                self.emit(ClientEvent::Users { names });
            }
            Incoming::Typing(args) => {
                let first = args.first();
                let name = first.and_then(|v| v.get("name")).and_then(Value::as_str);
                let typing = first.and_then(|v| v.get("typing")).and_then(Value::as_bool);
                if let (Some(name), Some(typing)) = (name, typing) {
                    self.emit(ClientEvent::Typing {
                        name: name.to_string(),
                        typing,
                    });
                }
            }
            Incoming::Notice(args) => {
                let first = args.first();
                let field = |key: &str| {
                    first
                        .and_then(|v| v.get(key))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                self.emit(ClientEvent::Notice {
                    code: field("code"),
                    message: field("message"),
                });
            }
            // Lifecycle signals are handled by the caller; here they can only be stale.
            Incoming::Connected | Incoming::Error(_) | Incoming::Closed => {}
        }
    }

    fn on_message(&mut self, args: Vec<Value>) {
        let Some(message) = args.first().and_then(ChatMessage::from_value) else {
            tracing::debug!("ignoring a malformed message event: {args:?}");
            return;
        };
        // Live events are never copies: the server sends each room message once per connection,
        // and nothing sent while we were away arrives live on the new one.
        self.seen.insert(&message);
        self.emit(ClientEvent::Messages {
            messages: vec![message],
        });
    }

    /// Missed messages after a (re)registration. Our own messages among them settle the outbox
    /// entries whose ack was lost with the connection, so they are not sent twice.
    fn on_history(&mut self, messages: Vec<ChatMessage>) {
        let mut fresh = Vec::new();
        for message in messages {
            if self.seen.contains(&message) {
                continue;
            }
            if message.from == self.name && self.settle_from_history(&message) {
                continue;
            }
            self.seen.insert(&message);
            fresh.push(message);
        }
        if !fresh.is_empty() {
            self.emit(ClientEvent::Messages { messages: fresh });
        }
    }

    fn settle_from_history(&mut self, message: &ChatMessage) -> bool {
        let settled = {
            let mut outbox = self.outbox.lock().expect("outbox lock");
            let position = outbox
                .iter()
                .position(|o| o.maybe_delivered && o.text == message.message);
            position.and_then(|p| outbox.remove(p))
        };
        let Some(item) = settled else { return false };
        self.seen.insert(message);
        self.emit(ClientEvent::Delivered {
            local_id: item.local_id,
            message: message.clone(),
        });
        true
    }
}

/// Fingerprints of recently shown messages by id. Ids alone are not enough: a restarted server
/// numbers from 1 again, so an id counts as seen only with the same sender and text.
#[derive(Default)]
struct Seen {
    by_id: HashMap<i64, u64>,
    order: VecDeque<i64>,
}

impl Seen {
    /// More than any history the server sends after a re-registration (200 by default).
    const CAPACITY: usize = 4096;

    fn fingerprint(message: &ChatMessage) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&message.from, &message.message).hash(&mut hasher);
        hasher.finish()
    }

    fn contains(&self, message: &ChatMessage) -> bool {
        message
            .id
            .is_some_and(|id| self.by_id.get(&id) == Some(&Self::fingerprint(message)))
    }

    fn insert(&mut self, message: &ChatMessage) {
        let Some(id) = message.id else { return };
        if self.by_id.insert(id, Self::fingerprint(message)).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > Self::CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.by_id.remove(&old);
            }
        }
    }
}

/// A rust_socketio callback that forwards its arguments to the supervisor without awaiting.
fn forward(
    tx: &mpsc::UnboundedSender<Incoming>,
    wrap: fn(Vec<Value>) -> Incoming,
) -> impl FnMut(Payload, SocketClient) -> futures_util::future::BoxFuture<'static, ()>
       + Send
       + Sync
       + 'static {
    let tx = tx.clone();
    move |payload, _| {
        let _ = tx.send(wrap(event_args(payload)));
        async {}.boxed()
    }
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

fn ack_callback(
    tx: oneshot::Sender<Vec<Value>>,
) -> impl FnMut(Payload, SocketClient) -> futures_util::future::BoxFuture<'static, ()>
       + Send
       + Sync
       + 'static {
    let tx = Mutex::new(Some(tx));
    move |payload, _| {
        if let Some(tx) = tx.lock().expect("ack lock").take() {
            let _ = tx.send(ack_args(payload));
        }
        async {}.boxed()
    }
}

/// Emits with an ack and waits for it, with a real timeout.
async fn ask(
    socket: &SocketClient,
    event: &str,
    args: Vec<Value>,
    limit: Duration,
) -> std::result::Result<Vec<Value>, ()> {
    let (tx, rx) = oneshot::channel();
    socket
        .emit_with_ack(event, Payload::Text(args), limit, ack_callback(tx))
        .await
        .map_err(|_| ())?;
    match timeout(limit, rx).await {
        Ok(Ok(args)) => Ok(args),
        _ => Err(()),
    }
}

async fn wait_ack(
    in_flight: &mut Option<(u64, oneshot::Receiver<Vec<Value>>, Instant)>,
) -> Option<Vec<Value>> {
    let (_, rx, deadline) = in_flight.as_mut()?;
    timeout_at(*deadline, rx).await.ok()?.ok()
}

fn first_text(args: &[Value]) -> String {
    match args.first() {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Maps rust_socketio's "Received an ConnectError frame: {"message":"..."}" to what the user must fix.
fn connect_error(error: &str, where_: &str) -> ClientError {
    let reason = error
        .find('{')
        .and_then(|start| serde_json::from_str::<Value>(&error[start..]).ok())
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string));
    match reason.as_deref() {
        Some("password required") => ClientError::PasswordRequired,
        Some("wrong password") => ClientError::WrongPassword,
        Some(other) => ClientError::ConnectionRefused(other.to_string()),
        None if error.contains("ConnectError") => ClientError::ConnectionRefused(error.to_string()),
        None => ClientError::NotAChatServer(where_.to_string()),
    }
}

/// Resolves when the owner asked to stop (or is gone). The watch guard is dropped inside, because
/// it is not `Send` and the supervisor runs on a multi-threaded runtime.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Closes a socket without waiting on a dead peer.
async fn close_quietly(socket: SocketClient) {
    let _ = timeout(Duration::from_secs(1), socket.disconnect()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_arguments_lose_the_extra_array_level() {
        assert_eq!(
            ack_args(Payload::Text(vec![json!([true])])),
            vec![json!(true)]
        );
        assert_eq!(
            ack_args(Payload::Text(vec![json!([[1, 2]])])),
            vec![json!([1, 2])]
        );
        assert_eq!(
            event_args(Payload::Text(vec![json!([1, 2])])),
            vec![json!([1, 2])]
        );
    }

    #[test]
    fn connect_errors_name_the_problem() {
        let frame = |m: &str| format!("Received an ConnectError frame: {{\"message\":\"{m}\"}}");
        assert_eq!(
            connect_error(&frame("wrong password"), "h:1"),
            ClientError::WrongPassword
        );
        assert_eq!(
            connect_error(&frame("password required"), "h:1"),
            ClientError::PasswordRequired
        );
        assert!(matches!(
            connect_error(&frame("banned"), "h:1"),
            ClientError::ConnectionRefused(_)
        ));
    }
}
