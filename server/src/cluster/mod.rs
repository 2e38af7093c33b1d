//! One chat across several confab-server nodes, with Redis (or Valkey) as the shared engine
//! (`--redis URL`).
//!
//! Why not socketioxide-redis: it relays broadcasts between nodes over pub/sub, which gives no global
//! order (two nodes' messages can arrive in either order), loses what a node misses while its
//! subscription is down, and shares neither history nor names. Here the chat log itself is a Redis
//! Stream: every message gets its id from one Lua script in Redis ([`scripts`]), and every node reads
//! the stream in id order ([`reader`]) and hands each entry to its own sockets. A node that was cut
//! off resumes reading after the last id it delivered, so it cannot skip or repeat anything; the
//! stream is also the shared history. Names are unique across nodes because they are taken in the
//! same scripts, atomically, and bound to the registering node's lease ([`lease`]): a node that dies
//! stops renewing it, and the others announce its users as left.
//!
//! An ack means the message is in Redis: the sender's node queues each accepted message for the
//! [`worker`], which sends whatever arrived together in one pipeline and acks each message with the
//! id Redis gave it. When Redis cannot be reached, new messages and registrations are refused as
//! `unavailable` (nothing is acked that was not stored), `/health` says `degraded` and why, and
//! everything recovers by itself once Redis answers again.

mod every;
mod expiry;
mod lease;
mod reader;
mod scripts;
mod typing;
mod worker;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use confab_protocol::{
    event, limits::HISTORY_PAGE_MESSAGES, names, now_ms, AnnouncementKind, ChatMessage, HistoryRequest, Limits,
    RefusalCode,
};
use indexmap::IndexMap;
use redis::aio::ConnectionManager;
use socketioxide::{
    extract::{AckSender, SocketRef},
    socket::Sid,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::{
    chat::Post,
    files::{self, Blobs, FileLimits, FileMeta, Files},
    handlers::{refuse, RegisterReply},
    history::{History, Page},
    members::{self, did_not_fit, encode_event, Audience, Member, Members},
    peers::AddressHistory,
};
use reader::Entry;
use worker::Command;

/// How nodes find each other's chat: the Redis URL, and how quickly a dead node is noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS).
    pub url: String,
    /// A node that has not renewed its lease for this long counts as dead: its users are announced
    /// as left and their names freed.
    pub lease: Duration,
    /// How often a node renews its lease and looks for dead nodes.
    pub renew_every: Duration,
    /// Entries the shared log keeps (Redis memory is the limit); older ones are trimmed.
    pub max_log_entries: usize,
}

impl ClusterConfig {
    /// Defaults: a dead node's users are announced within 13 s (lease 10 s, checked every 3 s).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            lease: Duration::from_secs(10),
            renew_every: Duration::from_secs(3),
            max_log_entries: 1_000_000,
        }
    }
}

/// Why a cluster node cannot start.
#[derive(Debug, thiserror::Error)]
#[error("cannot use Redis at {url}: {source}")]
pub struct ClusterError {
    url: String,
    #[source]
    source: redis::RedisError,
}

/// This node's view of the chat.
pub struct ClusterRoom {
    node: String,
    run: String,
    limits: Limits,
    /// The most history a newcomer is sent with its welcome ([`members::welcome_bytes`]).
    welcome_bytes: usize,
    config: ClusterConfig,
    state: Mutex<NodeState>,
    commands: mpsc::Sender<Command>,
    redis: ConnectionManager,
    /// `Some(reason)` while Redis cannot be used.
    degraded: Mutex<Option<String>>,
    stop: watch::Sender<bool>,
    /// Uploads, kept in Redis so every node serves them (protocol §2.11); `None` when files are off.
    files: Option<Arc<Files>>,
}

struct NodeState {
    /// This node's registered sockets: the recipients of what it reads from the log.
    members: Members,
    /// Registrations sent to Redis whose join this node has not read yet.
    pending: HashMap<Sid, Pending>,
    /// Everyone registered on any node, folded name → name, as of the last entry read.
    users: IndexMap<String, Arc<str>>,
    /// The newest chat messages read, for newcomers and most `history` requests.
    cache: History,
    /// The id of the last entry read and delivered.
    last_id: u64,
    closed: bool,
}

struct Pending {
    socket: SocketRef,
    reply: RegisterReply,
}

impl ClusterRoom {
    /// Connects to Redis and starts reading the log. Fails when Redis cannot be reached at all.
    pub async fn start(
        config: ClusterConfig,
        limits: Limits,
        cache: usize,
        welcome_bytes: usize,
        files: Option<(FileLimits, Option<Arc<str>>)>,
    ) -> Result<Arc<Self>, ClusterError> {
        let url = config.url.clone();
        let fail = |source| ClusterError { url: url.clone(), source };
        let client = redis::Client::open(config.url.as_str()).map_err(fail)?;
        let manager = |response: Duration| {
            redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(response))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_secs(2))
        };
        let mut redis =
            client.get_connection_manager_with_config(manager(Duration::from_secs(3))).await.map_err(fail)?;
        let reads = client
            .get_connection_manager_with_config(manager(reader::BLOCK + Duration::from_secs(3)))
            .await
            .map_err(fail)?;
        let (run, last_id, names): (String, u64, Vec<String>) = scripts::snapshot()
            .key(scripts::SEQ)
            .key(scripts::NAMES)
            .key(scripts::RUN)
            .arg(crate::store::new_run())
            .invoke_async(&mut redis)
            .await
            .map_err(fail)?;
        let newest = reader::newest(&mut redis, cache, last_id).await.map_err(fail)?;
        let node = uuid::Uuid::new_v4().simple().to_string();
        tracing::info!(%node, last_id, users = names.len(), "joined the chat on Redis");

        let (commands, queue) = mpsc::channel(worker::QUEUE);
        let (stop, stopped) = watch::channel(false);
        let room = Arc::new(Self {
            node,
            run,
            limits,
            welcome_bytes,
            state: Mutex::new(NodeState {
                members: Members::default(),
                pending: HashMap::new(),
                users: names.into_iter().map(|name| (names::fold(&name), Arc::from(name))).collect(),
                cache: History::restore(cache, newest, 0),
                last_id,
                closed: false,
            }),
            commands,
            redis: redis.clone(),
            degraded: Mutex::new(None),
            stop,
            config,
            files: files.map(|(limits, password)| Files::new(Blobs::redis(redis.clone()), limits, password)),
        });
        lease::renew(&room, &mut redis).await.map_err(fail)?;
        tokio::spawn(worker::run(room.clone(), redis.clone(), queue));
        tokio::spawn(reader::run(room.clone(), reads, stopped.clone()));
        tokio::spawn(typing::run(room.clone(), client, stopped.clone()));
        tokio::spawn(expiry::run(room.clone(), redis.clone(), stopped.clone()));
        tokio::spawn(lease::run(room.clone(), redis, stopped));
        Ok(room)
    }

    fn state(&self) -> MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn run(&self) -> &str {
        &self.run
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Why the chat cannot store messages right now, if it cannot.
    pub fn degraded(&self) -> Option<String> {
        self.degraded.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Records whether the last call to Redis worked; a change is logged once.
    fn redis_result<T>(&self, what: &str, result: &redis::RedisResult<T>) {
        let mut degraded = self.degraded.lock().unwrap_or_else(PoisonError::into_inner);
        match (result, degraded.is_some()) {
            (Err(error), false) => {
                tracing::error!(%error, what, "Redis cannot be used: new messages are refused until it answers");
                *degraded = Some(format!("Redis: {error}"));
            }
            (Ok(_), true) => {
                tracing::info!(what, "Redis answers again");
                *degraded = None;
            }
            _ => {}
        }
    }

    /// Handles `register` (protocol §1.1): the name is taken in Redis; the answer goes out when this
    /// node reads its join announcement from the log, followed by history and users (so the
    /// newcomer sees every later message exactly once).
    pub fn register(&self, socket: &SocketRef, requested: Option<&str>, reply: RegisterReply) {
        let Some(name) = requested.and_then(|raw| names::validate(raw, self.limits.max_name_chars).ok()) else {
            let _ = reply.send(socket, false);
            return;
        };
        let key = names::fold(name);
        let mut state = self.state();
        let sid = socket.id;
        if state.closed
            || state.members.contains(sid)
            || state.pending.contains_key(&sid)
            || state.users.contains_key(&key)
        {
            let _ = reply.send(socket, false);
            return;
        }
        state.pending.insert(sid, Pending { socket: socket.clone(), reply });
        drop(state);
        self.submit(Command::Register { sid, key, name: name.into() });
    }

    /// A registration Redis did not carry out: `refusal` says why when the name was not the reason.
    fn registration_failed(&self, sid: Sid, refusal: Option<RefusalCode>) {
        let Some(Pending { socket, reply }) = self.state().pending.remove(&sid) else { return };
        if let Some(code) = refusal {
            let why = confab_protocol::Refusal::new(code, &self.limits);
            let refused = confab_protocol::RefusedEvent { event: event::REGISTER.to_owned(), refusal: why };
            let _ = socket.emit(event::REFUSED, &refused);
        }
        let _ = reply.send(&socket, false);
    }

    /// Handles `message` (protocol §1.2): checked here, stored and sequenced in Redis, acked with its id.
    /// A private one (`to`, §2.10) goes to its addressee on whichever node they are.
    pub fn post(&self, socket: &SocketRef, post: Post, ack: AckSender) {
        let Post { text, to, attachment } = post;
        let checked = (|| {
            let state = self.state();
            let member = state.members.get(socket.id).ok_or(RefusalCode::NotRegistered)?;
            let text = text.ok_or(RefusalCode::InvalidPayload)?;
            files::check_caption(&text, attachment.is_some(), &self.limits)?;
            member.may_post()?;
            // Checked here against everyone this node knows of, and again in Redis, atomically.
            let to = match to {
                None => None,
                Some(to) => {
                    let key = names::fold(&to);
                    Some((state.users.get(&key).ok_or(RefusalCode::UnknownRecipient)?.clone(), key))
                }
            };
            let recipient = to.as_ref().map(|(name, _)| &**name);
            let sender = names::fold(&member.name);
            let (text, file) = files::attach(self.files.as_deref(), text, attachment.as_deref(), &sender, recipient)?;
            Ok((member.name.clone(), text, to, file))
        })();
        match checked {
            Ok((from, text, to, file)) => {
                let file = file.map(Box::new);
                self.submit(Command::Post { socket: socket.clone(), from, text: text.into(), to, file, ack })
            }
            Err(code) => refuse(socket, &self.limits, ack, event::MESSAGE, code),
        }
    }

    /// Hands `command` to the worker; a full queue (Redis far behind) refuses it at once.
    fn submit(&self, command: Command) {
        if let Err(mpsc::error::TrySendError::Full(command) | mpsc::error::TrySendError::Closed(command)) =
            self.commands.try_send(command)
        {
            self.failed(command, RefusalCode::Unavailable);
        }
    }

    /// Answers a command that Redis did not carry out.
    fn failed(&self, command: Command, code: RefusalCode) {
        match command {
            Command::Register { sid, .. } => self.registration_failed(sid, Some(code)),
            Command::Post { socket, ack, file, .. } => {
                self.unclaim(file);
                refuse(&socket, &self.limits, ack, event::MESSAGE, code)
            }
            Command::Leave { sid } => {
                tracing::error!(%sid, "a leave could not be queued: the lease will free the name")
            }
            Command::Typing(_) => {}
            Command::Flush(done) => {
                let _ = done.send(());
            }
        }
    }

    /// A file whose message was not stored can be sent again.
    fn unclaim(&self, file: Option<Box<FileMeta>>) {
        if let (Some(files), Some(meta)) = (&self.files, file) {
            files.unclaim(*meta);
        }
    }

    /// The ack of a stored message. A sender that cannot take it is too slow (protocol §2.6).
    fn posted(&self, socket: &SocketRef, ack: AckSender, message: &ChatMessage) {
        if did_not_fit(ack.send(message)) {
            self.evict(socket.id);
        }
    }

    /// Handles `typing` (protocol §2.3): relayed to this node's members, and published for the
    /// other nodes' (best effort both).
    pub fn typing(&self, sender: Sid, typing: bool) {
        let mut state = self.state();
        let Some(notice) = state.members.get_mut(sender).and_then(|m| m.typing_notice(typing)) else { return };
        let Some(packet) = encode_event(event::TYPING, &notice) else { return };
        state.members.send_best_effort(&packet, Some(sender));
        drop(state);
        if let Ok(payload) = serde_json::to_string(&typing::Relayed { node: self.node.clone(), notice }) {
            let _dropped_when_full = self.commands.try_send(Command::Typing(payload));
        }
    }

    /// Handles a `history` request (protocol §2.2): from this node's cache when it holds the whole
    /// page, else from the log in Redis.
    pub fn history(
        self: &Arc<Self>,
        socket: &SocketRef,
        request: HistoryRequest,
        ack: AckSender,
        address: AddressHistory,
    ) {
        let (page, cached) = {
            let state = self.state();
            let Some(member) = state.members.get(socket.id) else {
                return refuse(socket, &self.limits, ack, event::HISTORY, RefusalCode::NotRegistered);
            };
            if let Err(code) = member.may_request().and_then(|()| member.has_history_budget(&address)) {
                return refuse(socket, &self.limits, ack, event::HISTORY, code);
            }
            let page = Page::requested(&request, &names::fold(&member.name));
            let cached = state.cache.covers(&page).then(|| state.cache.page(&page));
            (page, cached)
        };
        let (room, socket) = (self.clone(), socket.clone());
        let mut redis = self.redis.clone();
        tokio::spawn(async move {
            let found = match cached {
                Some(page) => Ok(page),
                None => reader::page(&mut redis, &page).await,
            };
            room.redis_result("history", &found);
            let answer = found.map_err(|_| RefusalCode::Unavailable).and_then(|messages| {
                let state = room.state();
                let member = state.members.get(socket.id).ok_or(RefusalCode::NotRegistered)?;
                member.may_receive(&messages, &address)?;
                Ok(messages)
            });
            match answer {
                Ok(messages) => {
                    if did_not_fit(ack.send(&messages)) {
                        room.evict(socket.id);
                    }
                }
                Err(code) => refuse(&socket, &room.limits, ack, event::HISTORY, code),
            }
        });
    }

    /// Handles a `users` request (protocol §2.3): everyone on every node.
    pub fn users(&self, requester: Sid) -> Result<Vec<Arc<str>>, RefusalCode> {
        let state = self.state();
        let Some(member) = state.members.get(requester) else { return Ok(Vec::new()) };
        member.may_request()?;
        Ok(state.users.values().cloned().collect())
    }

    /// A socket went away: its name is freed in Redis and every node announces it.
    pub fn leave(&self, sid: Sid) {
        let mut state = self.state();
        // A registration still on its way is undone when its join is read (see `deliver`).
        state.pending.remove(&sid);
        if state.members.remove(sid).is_some() && !state.closed {
            drop(state);
            self.submit(Command::Leave { sid });
        }
    }

    /// A member could not take what it was sent: too slow for the room (protocol §2.6).
    pub fn evict(&self, sid: Sid) {
        let Some(member) = self.state().members.remove(sid) else { return };
        member.disconnect_too_slow();
        self.submit(Command::Leave { sid });
    }

    /// The server is stopping: this node's members are told, and left the chat for everyone else.
    pub fn close(&self) {
        let mut state = self.state();
        if state.closed {
            return;
        }
        state.closed = true;
        // Only this node stops: a line of its own, without an id (it is in nobody else's log).
        let shutdown =
            ChatMessage { id: None, ..ChatMessage::announcement(AnnouncementKind::Shutdown, None, 0, now_ms()) };
        if let Some(packet) = encode_event(event::MESSAGE, &shutdown) {
            let _full = state.members.send(&packet, Audience::AllBut(None));
        }
        let leaving = state.members.clear();
        drop(state);
        for member in leaving {
            self.submit(Command::Leave { sid: member.socket.id });
        }
    }

    /// After [`ClusterRoom::close`]: waits (a little) until the leaves are in Redis, then gives up
    /// the lease and stops reading.
    pub async fn finish(&self) {
        let (done, flushed) = oneshot::channel();
        if self.commands.try_send(Command::Flush(done)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(3), flushed).await;
        }
        let mut redis = self.redis.clone();
        let _ = tokio::time::timeout(Duration::from_secs(2), lease::release(self, &mut redis)).await;
        let _ = self.stop.send(true);
    }

    /// Whether `sid` holds the name that folds to `key` on this node.
    pub fn holds(&self, sid: Sid, key: &str) -> bool {
        self.state().members.get(sid).is_some_and(|m| names::fold(&m.name) == key)
    }

    /// Whether someone of the name that folds to `key` is in the chat, on any node.
    pub fn knows(&self, key: &str) -> bool {
        self.state().users.contains_key(key)
    }

    /// The file service, for the HTTP endpoints.
    pub fn files(&self) -> Option<Arc<Files>> {
        self.files.clone()
    }

    pub fn is_member(&self, sid: Sid) -> bool {
        self.state().members.contains(sid)
    }

    /// Everyone registered on any node.
    pub fn user_count(&self) -> usize {
        self.state().users.len()
    }

    /// Hands one entry of the log, read in id order, to this node's sockets.
    fn deliver(&self, entry: Entry) {
        let mut state = self.state();
        if entry.id <= state.last_id {
            return;
        }
        if entry.id > state.last_id + 1 {
            // Only trimming (`max_log_entries`) removes entries: this node read too slowly.
            tracing::error!(
                missing = entry.id - state.last_id - 1,
                "log entries were trimmed before this node read them"
            );
        }
        state.last_id = entry.id;
        let own = (entry.node == self.node).then_some(entry.sid);
        let message = Arc::new(entry.message);
        match message.kind {
            None => {
                state.cache.push(message.clone());
                // A private message goes to its addressee if they are here; never back to its sender.
                let audience = match &message.to {
                    None => Audience::AllBut(own),
                    Some(to) => match state.members.sid_of(&names::fold(to)) {
                        Some(sid) if Some(sid) != own => Audience::Only(sid),
                        _ => Audience::Nobody,
                    },
                };
                self.broadcast(&mut state, &message, audience);
            }
            Some(AnnouncementKind::Join) => {
                if let Some(name) = message.name.clone() {
                    state.users.insert(names::fold(&name), name.clone());
                    if let Some(sid) = own {
                        self.admit(&mut state, sid, name);
                    }
                }
                self.broadcast(&mut state, &message, Audience::AllBut(None));
            }
            Some(AnnouncementKind::Leave) => {
                if let Some(name) = &message.name {
                    state.users.shift_remove(&names::fold(name));
                }
                // Our own member announced as left by another node: this node had lost its lease.
                if let Some(member) = own.and_then(|sid| state.members.remove(sid)) {
                    tracing::warn!(name = %member.name, "registration lost with this node's lease: disconnecting");
                    let _ = member.socket.clone().disconnect();
                }
                self.broadcast(&mut state, &message, Audience::AllBut(None));
            }
            Some(AnnouncementKind::Shutdown) => self.broadcast(&mut state, &message, Audience::AllBut(None)),
        }
    }

    /// A registration of this node went through: the answer, history and users, then membership.
    fn admit(&self, state: &mut NodeState, sid: Sid, name: Arc<str>) {
        let Some(Pending { socket, reply }) = state.pending.remove(&sid) else {
            // The socket left while its registration was on its way: undo it.
            let _ = self.commands.try_send(Command::Leave { sid });
            return;
        };
        if reply.send(&socket, true).is_err() {
            let _ = self.commands.try_send(Command::Leave { sid });
            return;
        }
        let key = names::fold(&name);
        let newest = state.cache.page(&Page::newest(HISTORY_PAGE_MESSAGES, self.welcome_bytes).seen_by(&key));
        let users: Vec<&Arc<str>> = state.users.values().collect();
        if !members::welcome(&socket, &newest, &users, self.files.as_ref().map(|files| files.offer(sid, &name))) {
            tracing::warn!(%sid, %name, "too slow for its own welcome, disconnecting");
            let _ = self.commands.try_send(Command::Leave { sid });
            return socket.close_transport();
        }
        state.members.insert(key, Member::new(name.clone(), socket.clone(), &self.limits));
        tracing::info!(%sid, %name, "registered");
    }

    /// Queues `message` for `audience` among this node's members; a member whose queue is full is
    /// evicted, and its leave goes through Redis like any other.
    fn broadcast(&self, state: &mut NodeState, message: &ChatMessage, audience: Audience) {
        let Some(packet) = encode_event(event::MESSAGE, message) else { return };
        for sid in state.members.send(&packet, audience) {
            if let Some(member) = state.members.remove(sid) {
                member.disconnect_too_slow();
                let _ = self.commands.try_send(Command::Leave { sid });
            }
        }
    }
}
