//! The task that owns the connection: connect → register → (detect server features) → live ⇄
//! reconnecting → closed, with a detour through "name taken" when a reconnect finds our name held.
//! Outgoing messages wait in the outbox until the server acknowledges them, so nothing typed while
//! offline or during a drop is lost, and a message whose ack was lost in the drop is matched against
//! the server's history instead of being sent twice (rules: docs/PROTOCOL.md §4).

use std::sync::Arc;
use std::time::Duration;

use confab_protocol::{event, now_ms, ChatMessage, FilesOffer, Limits, Notice, Refusal, TypingNotice, Welcome};
use rust_socketio::asynchronous::Client as SocketClient;
use rust_socketio::TransportType;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{sleep, sleep_until, timeout, timeout_at, Instant};

use super::address::{display_host_port, host_port};
use super::catch_up::{catch_up, catch_up_start, missing, Seen};
use super::certificate::{self, Trust};
use super::error::{ClientError, Result};
use super::events::{ClientEvent, ConnectionState, Features, Timing};
use super::history::{self, OlderPage};
use super::outbox::{Outbox, Outgoing};
use super::socket::{self, Incoming, PendingAck};

/// The status detail while the missed messages are fetched page by page (docs/PROTOCOL.md §4.5).
const CATCHING_UP: &str = "Fetching the messages you missed…";

/// Requests from the handle to the supervisor.
pub enum Command {
    /// The outbox has something new.
    Wake,
    Typing(bool),
    /// Register again under this name (after `NameTaken`); answered once the attempt is over.
    Rejoin(String, oneshot::Sender<Result<String>>),
    /// "Load older": the page of history before this id, answered once the server gave it.
    Older(u64, oneshot::Sender<Result<OlderPage>>),
}

/// A socket that completed connect + register.
pub struct Live {
    socket: SocketClient,
    incoming: mpsc::UnboundedReceiver<Incoming>,
}

/// Why a live session ended.
enum Ended {
    Lost(String),
    Shutdown,
}

/// The message awaiting its ack (one at a time: keeps order, and rust_socketio's random ack ids in
/// 0..999 could collide if many were outstanding).
struct InFlight {
    local_id: u64,
    ack: PendingAck,
}

pub struct Supervisor {
    /// Normalised URL, reused for every reconnect.
    pub server: String,
    /// Registered again under this exact name after each reconnect (until the user picks another).
    pub name: String,
    /// Kept in memory only, for the handshakes of reconnects; never written anywhere.
    pub password: Option<String>,
    /// Which certificate an https server may present.
    pub trust: Trust,
    pub timing: Timing,
    /// To the owner (UI bridge or test); unbounded so a burst never blocks the socket reader.
    pub events: mpsc::UnboundedSender<ClientEvent>,
    pub commands: mpsc::UnboundedReceiver<Command>,
    pub outbox: Arc<Outbox>,
    pub shutdown: watch::Receiver<bool>,
    /// What the server allows, as it said in `welcome` (defaults until then); the handle reads it.
    pub limits: watch::Sender<Limits>,
    /// This registration's files token (§2.11): cleared at each new connection, set by `files`.
    pub files: watch::Sender<Option<FilesOffer>>,
    /// What the current server offers (re-detected at each registration: it may have changed).
    pub features: Features,
    /// The server's `welcome.run` at the last registration, to tell a restarted server apart.
    pub run: Option<String>,
    /// The chat's name, as the server's last `welcome` said it (none: the UI shows the address).
    pub chat_name: Option<String>,
    /// Messages already shown (ours included).
    pub seen: Seen,
    /// Our current typing state, re-sent as the liveness probe (the server drops repeats).
    pub typing: bool,
}

impl Supervisor {
    fn emit(&self, event: ClientEvent) {
        // The receiver gone means the owner is gone; the shutdown path handles that.
        let _ = self.events.send(event);
    }

    fn status(&self, state: ConnectionState, attempt: u32, retry_in: Option<Duration>, detail: Option<String>) {
        let name = (state == ConnectionState::NameTaken).then(|| self.name.clone());
        let retry_in_ms = retry_in.map(|d| d.as_millis() as u64);
        self.emit(ClientEvent::Status { state, attempt, retry_in_ms, detail, name });
    }

    /// TCP probe, socket.io connect, register, feature detection.
    pub async fn establish(&mut self) -> Result<Live> {
        let t = self.timing.clone();
        let (host, port) = host_port(&self.server).ok_or_else(|| ClientError::InvalidAddress(self.server.clone()))?;
        let where_ = display_host_port(&self.server);
        // A plain TCP connect tells "nobody there" apart from "something there that is not a chat
        // server", which rust_socketio's errors do not.
        match timeout(t.connect_timeout, tokio::net::TcpStream::connect((host.as_str(), port))).await {
            Ok(Ok(_)) => {}
            _ => return Err(ClientError::Unreachable(where_)),
        }

        let https = self.server.starts_with("https:");
        let tls = if https { certificate::connector(&host, port, &self.trust, t.connect_timeout).await? } else { None };

        // Websocket from the start: one connection instead of polling + upgrade (rust_socketio's
        // upgrade handshake failed against socketioxide in our tests). Long-polling stays as the
        // fallback for networks that block websockets.
        let mut opened = None;
        for (transport, label) in [(TransportType::Websocket, "websocket"), (TransportType::Polling, "polling")] {
            let (tx, incoming) = mpsc::unbounded_channel();
            let mut builder = socket::builder(&self.server, self.password.as_deref(), transport, &tx);
            if let Some(tls) = &tls {
                builder = builder.tls_config(tls.clone());
            }
            match timeout(t.connect_timeout, builder.connect()).await {
                Ok(Ok(socket)) => {
                    opened = Some((socket, incoming));
                    break;
                }
                Ok(Err(e)) => tracing::info!("socket.io open ({label}) failed on {}: {e}", self.server),
                // The port accepted TCP, but no socket.io handshake came back (rust_socketio keeps
                // waiting on a plain web server's 404 instead of failing).
                Err(_) => tracing::info!("socket.io open ({label}) timed out on {}", self.server),
            }
        }
        let Some((socket, mut incoming)) = opened else {
            // rust_socketio says only "EngineIO Error": ask the system's trust store ourselves.
            if https && self.trust == Trust::System && !certificate::system_trusts(&host, port, t.connect_timeout).await
            {
                let fingerprint = certificate::presented_fingerprint(&host, port, t.connect_timeout).await?;
                return Err(ClientError::UntrustedCertificate { fingerprint });
            }
            return Err(ClientError::NotAChatServer(where_));
        };
        // From here on, every failure must close the socket or it would linger on the server.
        match self.handshake(&socket, &mut incoming, &where_).await {
            Ok(()) => {
                self.status(ConnectionState::Connected, 0, None, None);
                Ok(Live { socket, incoming })
            }
            Err(e) => {
                socket::close_quietly(socket).await;
                Err(e)
            }
        }
    }

    async fn handshake(
        &mut self,
        socket: &SocketClient,
        incoming: &mut mpsc::UnboundedReceiver<Incoming>,
        where_: &str,
    ) -> Result<()> {
        let t = self.timing.clone();
        // This connection's run is unknown until its `welcome`; the seen messages keep theirs.
        self.run = None;
        // The token was the old connection's: the server gives a new one after this register.
        self.files.send_replace(None);
        // 1. The server's socket.io CONNECT (or CONNECT_ERROR: the password check).
        let deadline = Instant::now() + t.connect_timeout;
        loop {
            match timeout_at(deadline, incoming.recv()).await {
                Err(_) => return Err(ClientError::Timeout("joining the server".into())),
                Ok(None) | Ok(Some(Incoming::Closed)) => return Err(closed_by_server()),
                Ok(Some(Incoming::Connected)) => break,
                Ok(Some(Incoming::Error(e))) => return Err(socket::connect_error(&e, where_)),
                Ok(Some(Incoming::Welcome(args))) => self.on_welcome(args),
                Ok(Some(_)) => {}
            }
        }
        // 2. register, with the name as a JSON string whatever it looks like ("123", "true"). The
        //    answer is the ack or a `register` event, whichever comes first (§1.1).
        let registering = || ClientError::Timeout("registering the name; is this a chat server?".into());
        let mut ack =
            socket::emit_with_ack(socket, event::REGISTER, vec![Value::String(self.name.clone())], t.connect_timeout)
                .await
                .map_err(|_| registering())?;
        // The ack callback runs before the callbacks of the events that follow it, so an ack that is
        // there is taken first; anything else that arrives meanwhile is kept for step 3.
        let mut early = Vec::new();
        let answer = loop {
            tokio::select! {
                biased;
                args = ack.wait() => break args.ok_or_else(registering)?,
                next = incoming.recv() => match next {
                    None | Some(Incoming::Closed) => return Err(closed_by_server()),
                    Some(Incoming::Error(e)) => return Err(ClientError::ConnectionRefused(e)),
                    Some(Incoming::Register(args)) => break args,
                    Some(Incoming::Welcome(args)) => self.on_welcome(args),
                    Some(other) => early.push(other),
                },
            }
        };
        if answer.first() != Some(&Value::Bool(true)) {
            return Err(ClientError::NameRejected(self.name.clone()));
        }
        // 3. Extensions come right after the answer, before our own join announcement; a seed server
        //    sends neither (not even the announcement). Whatever arrives is handled normally.
        self.features = Features::default();
        let deadline = Instant::now() + t.features_grace;
        let mut history = None;
        let mut own_join = None;
        let mut early = early.into_iter();
        loop {
            let next = match early.next() {
                Some(event) => Ok(Some(event)),
                None => timeout_at(deadline, incoming.recv()).await,
            };
            match next {
                Err(_) | Ok(None) => break,
                Ok(Some(Incoming::Closed)) => return Err(closed_by_server()),
                Ok(Some(Incoming::Error(e))) => return Err(ClientError::ConnectionRefused(e)),
                Ok(Some(Incoming::History(args))) => {
                    self.features.history = true;
                    self.features.acks = true;
                    history = Some(args.first().map(ChatMessage::list_from_value).unwrap_or_default());
                }
                Ok(Some(Incoming::Message(args))) => {
                    // Our own join line ends the extensions; it is shown after the history.
                    own_join = Some(args);
                    break;
                }
                Ok(Some(other)) => self.on_incoming(other),
            }
        }
        // The session (and its run) first, so the UI files what follows under it.
        self.emit_session();
        if let Some(history) = history {
            let same_run = self.seen.run().zip(self.run.as_deref()).map(|(before, now)| before == now);
            self.catch_up(socket, history, same_run).await?;
        }
        if let Some(args) = own_join {
            self.on_message(args);
        }
        Ok(())
    }

    /// Shows what was missed since the last message shown, in order, before the page the server
    /// pushed (`pushed`, its newest messages): page by page from where the view stopped, with a
    /// marker where the server no longer has them. Live messages wait in `incoming` meanwhile.
    async fn catch_up(
        &mut self,
        socket: &SocketClient,
        pushed: Vec<ChatMessage>,
        mut same_run: Option<bool>,
    ) -> Result<()> {
        let start = catch_up_start(self.seen.newest_id(), same_run, &pushed);
        if same_run == Some(false) {
            // Forgotten once: every page after this one is of the same (new) run.
            self.seen.clear();
            same_run = Some(true);
        }
        // From here on what is shown is of this run, even if this attempt fails half-way.
        if let Some(run) = self.run.clone() {
            self.seen.set_run(run);
        }
        if let Some(start) = start {
            // Still not live (the outbox waits), but not lost either: say what takes the time.
            self.status(ConnectionState::Reconnecting, 0, None, Some(CATCHING_UP.to_owned()));
            let stop = pushed.first().and_then(|m| m.id).unwrap_or(u64::MAX);
            let mut after = start;
            loop {
                let page = history::page(socket, &history::after(after), &self.timing).await?;
                let first = page.first().and_then(|m| m.id).unwrap_or(stop);
                if after == start && first > after + 1 {
                    let older = history::page(socket, &history::before(first, 1), &self.timing).await?;
                    if let Some(gap) = missing(after, first, older.last().and_then(|m| m.id)) {
                        self.emit(ClientEvent::Missing { after: gap.after, before: gap.before, up_to: gap.up_to });
                    }
                }
                let last = page.last().and_then(|m| m.id);
                self.settle_history(page.into_iter().filter(|m| m.id.is_some_and(|id| id < stop)).collect(), same_run);
                match last {
                    Some(last) if last > after && last + 1 < stop => after = last,
                    _ => break,
                }
            }
        }
        let nothing_older = pushed.is_empty();
        self.settle_history(pushed, same_run);
        if nothing_older {
            self.emit(ClientEvent::HistoryStart);
        }
        Ok(())
    }

    fn on_welcome(&mut self, args: Vec<Value>) {
        let Some(welcome) = args.into_iter().next().and_then(|v| serde_json::from_value::<Welcome>(v).ok()) else {
            return;
        };
        self.run = Some(welcome.run).filter(|run| !run.is_empty());
        let renamed = welcome.chat_name != self.chat_name;
        self.chat_name = welcome.chat_name;
        self.limits.send_replace(welcome.limits);
        // The welcome can come after the register answer (its event and the ack are separate
        // callbacks): a chat name learnt then is told at once, not at the next reconnect.
        if renamed {
            self.emit_session();
        }
    }

    fn emit_session(&self) {
        self.emit(ClientEvent::Session {
            name: self.name.clone(),
            server: self.server.clone(),
            features: self.features,
            limits: self.limits.borrow().clone(),
            chat_name: self.chat_name.clone(),
            run: self.run.clone(),
        });
    }

    /// Reconnect loop around live sessions, until shutdown.
    pub async fn run(mut self, first: Live) {
        let mut live = first;
        loop {
            let socket = live.socket.clone();
            let ended = self.serve(live).await;
            socket::close_quietly(socket).await;
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
        for item in self.outbox.drain() {
            self.emit(ClientEvent::Failed {
                local_id: item.local_id,
                code: "disconnected".into(),
                reason: "Not sent: you left the server before it could be delivered.".into(),
            });
        }
        self.status(ConnectionState::Offline, 0, None, None);
    }

    /// Tries again with exponential backoff until it works or the owner gives up. A name the server
    /// keeps refusing is retried for `name_retry_window`, then the user is asked for another.
    async fn reconnect(&mut self, mut detail: String) -> Option<Live> {
        let mut delay = self.timing.backoff_min;
        let mut shutdown = self.shutdown.clone();
        let mut name_refused_since: Option<Instant> = None;
        for attempt in 1u32.. {
            self.status(ConnectionState::Reconnecting, attempt, None, Some(detail.clone()));
            tokio::select! {
                _ = stopped(&mut shutdown) => return None,
                result = self.establish() => match result {
                    Ok(live) => return Some(live),
                    Err(ClientError::NameRejected(name)) => {
                        let since = *name_refused_since.get_or_insert_with(Instant::now);
                        detail = format!("the server still holds the name “{name}”");
                        if since.elapsed() >= self.timing.name_retry_window {
                            match self.wait_for_new_name(ClientError::NameRejected(name).to_string()).await {
                                Some(live) => return Some(live),
                                None => return None,
                            }
                        }
                    }
                    Err(e) => detail = e.to_string(),
                },
            }
            // Jitter spreads the reconnects of many clients after a server restart.
            let jitter = Duration::from_millis(now_ms() % (delay.as_millis() as u64 / 4 + 1));
            let wait = delay + jitter;
            self.status(ConnectionState::Reconnecting, attempt, Some(wait), Some(detail.clone()));
            tokio::select! {
                _ = stopped(&mut shutdown) => return None,
                _ = sleep(wait) => {}
            }
            delay = (delay * 2).min(self.timing.backoff_max);
        }
        None
    }

    /// `NameTaken`: no more automatic attempts; each `rejoin` tries once with the name it brings.
    async fn wait_for_new_name(&mut self, mut detail: String) -> Option<Live> {
        let mut shutdown = self.shutdown.clone();
        loop {
            self.status(ConnectionState::NameTaken, 0, None, Some(detail.clone()));
            let command = tokio::select! {
                _ = stopped(&mut shutdown) => return None,
                command = self.commands.recv() => command?,
            };
            let (name, reply) = match command {
                Command::Rejoin(name, reply) => (name, reply),
                Command::Typing(typing) => {
                    self.typing = typing;
                    continue;
                }
                Command::Older(_, reply) => {
                    let _ = reply.send(Err(ClientError::NotConnected));
                    continue;
                }
                Command::Wake => continue,
            };
            self.name = name;
            match self.establish().await {
                Ok(live) => {
                    let _ = reply.send(Ok(self.name.clone()));
                    return Some(live);
                }
                Err(e) => {
                    detail = e.to_string();
                    let _ = reply.send(Err(e));
                }
            }
        }
    }

    /// One live connection: send the outbox, relay incoming traffic, notice when it dies.
    async fn serve(&mut self, mut live: Live) -> Ended {
        let mut shutdown = self.shutdown.clone();
        let mut probe =
            tokio::time::interval_at(Instant::now() + self.timing.probe_interval, self.timing.probe_interval);
        let mut in_flight: Option<InFlight> = None;
        let mut retry_at: Option<Instant> = None;
        loop {
            if in_flight.is_none() && retry_at.is_none() {
                if let Some(head) = self.outbox.front() {
                    let payload = outgoing_payload(&self.name, &head);
                    let ack = match socket::emit_with_ack(
                        &live.socket,
                        event::MESSAGE,
                        vec![payload],
                        self.timing.ack_timeout,
                    )
                    .await
                    {
                        Ok(ack) => ack,
                        Err(e) => return Ended::Lost(format!("sending failed: {e}")),
                    };
                    self.outbox.mark_sent(head.local_id);
                    if self.features.acks {
                        in_flight = Some(InFlight { local_id: head.local_id, ack });
                    } else {
                        // A seed server never acks: written to a live socket is all we can know.
                        self.outbox.remove(head.local_id);
                        let message = ChatMessage {
                            from: self.name.as_str().into(),
                            message: head.text.into(),
                            id: None,
                            ts: now_ms(),
                            kind: None,
                            name: None,
                            to: head.extras.to.map(Into::into),
                            attachment: None,
                        };
                        self.emit(ClientEvent::Delivered { local_id: head.local_id, message });
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
                args = async { in_flight.as_mut().expect("in flight").ack.wait().await }, if in_flight.is_some() => {
                    let local_id = in_flight.take().expect("in flight").local_id;
                    match args {
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
                    Some(Command::Rejoin(_, reply)) => {
                        let _ = reply.send(Err(ClientError::AlreadyJoined));
                    }
                    Some(Command::Older(oldest, reply)) => {
                        // Its own task: paging back waits out rate limits without holding up the chat.
                        let (socket, timing) = (live.socket.clone(), self.timing.clone());
                        tokio::spawn(async move {
                            let _ = reply.send(history::older(&socket, oldest, &timing).await);
                        });
                    }
                    Some(Command::Typing(typing)) => {
                        self.typing = typing;
                        if self.features.presence {
                            if let Err(e) = live.socket.emit(event::TYPING, Value::Bool(typing)).await {
                                return Ended::Lost(format!("sending failed: {e}"));
                            }
                        }
                    }
                },
                _ = probe.tick() => {
                    // Re-sends our typing state: servers drop repeated notices (and seed servers
                    // ignore the event), but a closed socket makes the emit fail.
                    if let Err(e) = live.socket.emit(event::TYPING, Value::Bool(self.typing)).await {
                        return Ended::Lost(format!("connection check failed: {e}"));
                    }
                }
            }
        }
    }

    /// Handles the ack of our message; returns a delay when it must be retried later.
    fn on_message_ack(&mut self, local_id: u64, args: Vec<Value>) -> Option<Duration> {
        let first = args.into_iter().next().unwrap_or(Value::Null);
        if let Some(refusal) = Refusal::from_value(&first) {
            if refusal.error.is_transient() {
                // Not the user's fault and not final: keep it first in line.
                self.outbox.mark_unsent(local_id);
                return Some(self.timing.rate_limit_retry);
            }
            self.outbox.remove(local_id);
            let reason = refusal.text().to_owned();
            self.emit(ClientEvent::Failed { local_id, code: refusal.error.to_string(), reason });
            return None;
        }
        self.outbox.remove(local_id);
        let message = ChatMessage::from_value(&first).unwrap_or_else(|| ChatMessage {
            from: self.name.as_str().into(),
            message: "".into(),
            id: None,
            ts: now_ms(),
            kind: None,
            name: None,
            to: None,
            attachment: None,
        });
        self.seen.insert(&message);
        self.emit(ClientEvent::Delivered { local_id, message });
        None
    }

    fn on_incoming(&mut self, incoming: Incoming) {
        match incoming {
            Incoming::Message(args) => self.on_message(args),
            // A history outside the handshake is not asked for by this client; treat it the same way.
            Incoming::History(args) => {
                let messages = args.first().map(ChatMessage::list_from_value).unwrap_or_default();
                self.settle_history(messages, self.run.is_some().then_some(true));
            }
            Incoming::Users(args) => {
                self.features.presence = true;
                self.features.acks = true;
                let names = args
                    .first()
                    .and_then(Value::as_array)
                    .map(|names| names.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                self.emit(ClientEvent::Users { names });
            }
            Incoming::Typing(args) => {
                if let Some(notice) =
                    args.into_iter().next().and_then(|v| serde_json::from_value::<TypingNotice>(v).ok())
                {
                    self.emit(ClientEvent::Typing { name: notice.name.to_string(), typing: notice.typing });
                }
            }
            Incoming::Notice(args) => {
                if let Some(notice) = args.into_iter().next().and_then(|v| serde_json::from_value::<Notice>(v).ok()) {
                    self.emit(ClientEvent::Notice { code: notice.code.to_string(), message: notice.message });
                }
            }
            Incoming::Welcome(args) => self.on_welcome(args),
            Incoming::Files(args) => {
                let offer = args.into_iter().next().and_then(|v| serde_json::from_value::<FilesOffer>(v).ok());
                let max_bytes = offer.as_ref().map(|offer| offer.max_bytes);
                self.files.send_replace(offer);
                self.emit(ClientEvent::Files { max_bytes });
            }
            // Lifecycle signals and late register answers are handled by the caller; here they are stale.
            Incoming::Connected | Incoming::Error(_) | Incoming::Closed | Incoming::Register(_) => {}
        }
    }

    fn on_message(&mut self, args: Vec<Value>) {
        let Some(message) = args.first().and_then(ChatMessage::from_value) else {
            // Never the payload itself: it may be chat text.
            tracing::debug!("ignoring a malformed message event ({} arguments)", args.len());
            return;
        };
        // Live events are never copies: the server sends each room message once per connection,
        // and nothing sent while we were away arrives live on the new one.
        self.seen.insert(&message);
        self.emit(ClientEvent::Messages { messages: vec![message] });
    }

    /// Missed messages after a (re)registration, sorted by the shared catch-up rules: new lines are
    /// shown, our own messages among them settle the outbox entries whose ack was lost.
    fn settle_history(&mut self, history: Vec<ChatMessage>, same_run: Option<bool>) {
        let result = catch_up(&mut self.seen, &self.name, same_run, &self.outbox.snapshot(), &history);
        for (local_id, index) in result.delivered {
            if self.outbox.remove(local_id) {
                self.emit(ClientEvent::Delivered { local_id, message: history[index].clone() });
            }
        }
        let fresh: Vec<ChatMessage> = result.shown.into_iter().map(|i| history[i].clone()).collect();
        if !fresh.is_empty() {
            self.emit(ClientEvent::Messages { messages: fresh });
        }
    }
}

/// The `message` an outbox entry is sent as: private with `to` (§2.10), a file with `attachment` (§2.11).
fn outgoing_payload(name: &str, entry: &Outgoing) -> Value {
    let mut payload = json!({ "from": name, "message": entry.text });
    if let Some(to) = &entry.extras.to {
        payload["to"] = json!(to);
    }
    if let Some(attachment) = &entry.extras.attachment {
        payload["attachment"] = json!(attachment);
    }
    payload
}

fn closed_by_server() -> ClientError {
    ClientError::ConnectionRefused("the server closed the connection".into())
}

/// Resolves when the owner asked to stop (or is gone). The watch guard is dropped inside, because
/// it is not `Send` and the supervisor runs on a multi-threaded runtime.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
