//! The chat room: who is registered, the message sequence, history, and fan-out.
//!
//! One mutex guards the whole room. Everything that must be atomic for the protocol's guarantees happens
//! under it: a name is checked and taken in one step (racing clients: exactly one wins), an id is
//! assigned and the message handed to every member's queue in one step (everyone sees ids in order),
//! and a newcomer gets its history snapshot and joins the recipients in one step (no gap, no duplicate).
//! Handing a message to a queue never waits (socketioxide's `emit` and `send_raw` are non-blocking
//! channel sends), and a room message is encoded once for all members, so the lock is held only for
//! a little memory work per member.
//!
//! Every sequenced message goes to the chat log ([`Store`]) under the same lock, before anyone sees
//! it: a chat message is stored, then delivered and acknowledged (an ack means it survives a crash),
//! and one the log cannot take is refused `unavailable`, without using up an id. Announcements are
//! stored too (ids go on after a restart from the last stored one), but they cannot be refused: one
//! the log cannot take is still delivered, and written ahead of the next message once the log works
//! again.

use std::{
    collections::{HashMap, VecDeque},
    num::NonZeroU32,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use confab_protocol::{
    event,
    limits::{
        HISTORY_KIB_PER_MINUTE, HISTORY_PAGE_BYTES, HISTORY_PAGE_MESSAGES, HISTORY_REQUESTS_PER_SECOND,
        HISTORY_REQUEST_BURST, TYPING_BURST, TYPING_PER_SECOND,
    },
    names, now_ms, text, AnnouncementKind, ChatMessage, HistoryRequest, Limits, Notice, RefusalCode, TypingNotice,
};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use indexmap::IndexMap;
use serde::Serialize;
use socketioxide::{extract::SocketRef, socket::Sid, SocketError};
use socketioxide_core::{packet::Packet, parser::Parse, Value};
use socketioxide_parser_common::CommonParser;

use crate::{
    handlers::RegisterReply,
    store::{Page, Store, StoreError},
};

/// A relayed `typing: true` is repeated at most this often per user (protocol §2.3).
const TYPING_RELAY_INTERVAL: Duration = Duration::from_secs(1);
/// How long an evicted slow client gets to drain its queue before it is left to the ping timeout.
const EVICTION_GRACE: Duration = Duration::from_secs(30);

/// The single room of a Confab server.
pub struct Room {
    state: Mutex<RoomState>,
    limits: Limits,
    /// The run of the id sequence (protocol §2.1), the store's: ids start again at 1 in a new one.
    run: String,
}

/// Everything the room mutex protects.
struct RoomState {
    /// Registered sockets in order of joining: the recipients of room traffic.
    members: IndexMap<Sid, Member>,
    /// Folded name → owner, for case-insensitive uniqueness.
    names: HashMap<String, Sid>,
    /// The chat log: history is served from it.
    store: Box<dyn Store>,
    /// Announcements delivered while the log failed, written ahead of the next message that is.
    unstored: Vec<Arc<ChatMessage>>,
    /// The id of the last sequenced message; ids start at 1.
    last_id: u64,
    /// Set once the server is stopping: no registrations, no leave announcements.
    closed: bool,
}

/// One registered user.
struct Member {
    name: Arc<str>,
    socket: SocketRef,
    /// Flood control; `None` when the server runs without a rate limit.
    limiter: Option<DefaultDirectRateLimiter>,
    /// `history` and `users` requests: each answer can be large (finding 2).
    requests: DefaultDirectRateLimiter,
    /// KiB of history answers: what the server may queue for a client that asks and never reads.
    history_bytes: DefaultDirectRateLimiter,
    /// Relayed `typing` notices, `true` and `false` alike: each one costs every member a packet
    /// (finding 3: alternating notices filled everyone's queue).
    typing_notices: DefaultDirectRateLimiter,
    typing: TypingState,
}

/// What was last relayed about this user's typing, to drop repeats.
#[derive(Default)]
struct TypingState {
    active: bool,
    relayed_at: Option<Instant>,
}

impl Room {
    /// A room on `store`: ids go on after the last one stored there.
    pub fn new(store: Box<dyn Store>, limits: Limits) -> Self {
        let run = store.run().to_owned();
        let last_id = store.last_id();
        Self {
            state: Mutex::new(RoomState {
                members: IndexMap::new(),
                names: HashMap::new(),
                store,
                unstored: Vec::new(),
                last_id,
                closed: false,
            }),
            limits,
            run,
        }
    }

    pub fn run(&self) -> &str {
        &self.run
    }

    fn state(&self) -> MutexGuard<'_, RoomState> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that matters
        // more than refusing every later client would, so keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The limits this room enforces (and tells every client in `welcome`).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Handles `register` (protocol §1.1). `requested` is `None` when the argument was not a string.
    pub fn register(&self, socket: &SocketRef, requested: Option<&str>, reply: RegisterReply) {
        let mut state = self.state();
        let accepted = requested.and_then(|raw| {
            let name = names::validate(raw, self.limits.max_name_chars)
                .inspect_err(|why| tracing::debug!(sid = %socket.id, ?why, "name refused"))
                .ok()?;
            let key = names::fold(name);
            let free = !state.closed && !state.members.contains_key(&socket.id) && !state.names.contains_key(&key);
            free.then(|| (Arc::<str>::from(name), key))
        });
        let Some((name, key)) = accepted else {
            let _ = reply.send(socket, false);
            return;
        };

        // Order on the newcomer's connection: the answer, history, users, then its own join announcement.
        if reply.send(socket, true).is_err() {
            return;
        }
        let newest =
            state.store.page(&Page::newest(HISTORY_PAGE_MESSAGES, HISTORY_PAGE_BYTES)).unwrap_or_else(|error| {
                tracing::error!(%error, "cannot read the newest messages for a newcomer");
                Vec::new()
            });
        let _ = socket.emit(event::HISTORY, &newest);
        state.names.insert(key, socket.id);
        state.members.insert(
            socket.id,
            Member {
                name: name.clone(),
                socket: socket.clone(),
                limiter: self.limiter(),
                requests: direct_limiter(HISTORY_REQUESTS_PER_SECOND, HISTORY_REQUEST_BURST),
                history_bytes: RateLimiter::direct(Quota::per_minute(
                    NonZeroU32::new(HISTORY_KIB_PER_MINUTE).unwrap_or(NonZeroU32::MIN),
                )),
                typing_notices: direct_limiter(TYPING_PER_SECOND, TYPING_BURST),
                typing: TypingState::default(),
            },
        );
        let users: Vec<&Arc<str>> = state.members.values().map(|m| &m.name).collect();
        let _ = socket.emit(event::USERS, &users);
        tracing::info!(sid = %socket.id, %name, "registered");
        state.announce(AnnouncementKind::Join, Some(name));
    }

    fn limiter(&self) -> Option<DefaultDirectRateLimiter> {
        let rate = NonZeroU32::new(self.limits.messages_per_second)?;
        let burst = NonZeroU32::new(self.limits.message_burst).unwrap_or(NonZeroU32::MIN);
        Some(RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)))
    }

    /// Handles `message` (protocol §1.2): stores it, delivers it to every other member and returns
    /// what was delivered, for the sender's ack.
    pub fn post(&self, sender: Sid, text: Option<String>) -> Result<Arc<ChatMessage>, RefusalCode> {
        let mut state = self.state();
        let member = state.members.get(&sender).ok_or(RefusalCode::NotRegistered)?;
        let text = text.ok_or(RefusalCode::InvalidPayload)?;
        text::check(&text, &self.limits)?;
        if member.limiter.as_ref().is_some_and(|l| l.check().is_err()) {
            return Err(RefusalCode::RateLimited);
        }
        let from = member.name.clone();
        // The id is taken only once the message is stored: a refused one leaves no gap.
        let id = state.last_id + 1;
        let message = Arc::new(ChatMessage::chat(from, text.into(), id, now_ms()));
        if let Err(error) = state.persist(&message) {
            tracing::error!(%error, "message refused: the chat log cannot take it");
            return Err(RefusalCode::Unavailable);
        }
        state.last_id = id;
        Ok(state.broadcast(message, Some(sender)))
    }

    /// Handles `typing` (protocol §2.3): relays changes, and repeats of `true` at most once a second.
    pub fn typing(&self, sender: Sid, typing: bool) {
        let mut state = self.state();
        let Some(member) = state.members.get_mut(&sender) else { return };
        let now = Instant::now();
        let repeat_due = member.typing.relayed_at.is_none_or(|at| now - at >= TYPING_RELAY_INTERVAL);
        if typing == member.typing.active && !(typing && repeat_due) || member.typing_notices.check().is_err() {
            return;
        }
        member.typing = TypingState { active: typing, relayed_at: Some(now) };
        let notice = TypingNotice { name: member.name.clone(), typing };
        let Some(packet) = encode_event(event::TYPING, &notice) else { return };
        // Best effort: a full queue simply misses a typing notice (nobody is evicted for it).
        let _missed = state.send_to_members(&packet, Some(sender));
    }

    /// Handles a `history` request (protocol §2.2): one bounded page. Unregistered sockets get nothing.
    pub fn history_page(&self, requester: Sid, request: HistoryRequest) -> Result<Vec<Arc<ChatMessage>>, RefusalCode> {
        let state = self.state();
        let Some(member) = state.members.get(&requester) else { return Ok(Vec::new()) };
        member.requests.check().map_err(|_| RefusalCode::RateLimited)?;
        let page = Page {
            after: request.after.unwrap_or(0),
            before: request.before.unwrap_or(u64::MAX),
            from_newest: request.before.is_some(),
            max_messages: request.limit.unwrap_or(HISTORY_PAGE_MESSAGES).clamp(1, HISTORY_PAGE_MESSAGES),
            max_bytes: HISTORY_PAGE_BYTES,
        };
        let page = state.store.page(&page).map_err(|error| {
            tracing::error!(%error, "history refused: the chat log cannot be read");
            RefusalCode::Unavailable
        })?;
        let kib = page.iter().map(|m| m.json_len()).sum::<usize>().div_ceil(1024);
        match NonZeroU32::new(kib as u32) {
            Some(cost) if !matches!(member.history_bytes.check_n(cost), Ok(Ok(()))) => Err(RefusalCode::RateLimited),
            _ => Ok(page),
        }
    }

    /// Handles a `users` request (protocol §2.3). Unregistered sockets get nothing.
    pub fn users(&self, requester: Sid) -> Result<Vec<Arc<str>>, RefusalCode> {
        let state = self.state();
        let Some(member) = state.members.get(&requester) else { return Ok(Vec::new()) };
        member.requests.check().map_err(|_| RefusalCode::RateLimited)?;
        Ok(state.members.values().map(|m| m.name.clone()).collect())
    }

    /// A socket went away: free its name and tell the others (protocol §1.3).
    pub fn leave(&self, sid: Sid) {
        let mut state = self.state();
        if state.closed {
            return;
        }
        if let Some(member) = state.remove(sid) {
            tracing::info!(%sid, name = %member.name, "left");
            state.announce(AnnouncementKind::Leave, Some(member.name));
        }
    }

    /// A member could not take its own ack: it is too slow for the room (protocol §2.6).
    pub fn evict(&self, sid: Sid) {
        let mut state = self.state();
        if let Some(member) = state.remove(sid) {
            let name = member.name.clone();
            state.evicted(member);
            state.announce(AnnouncementKind::Leave, Some(name));
        }
    }

    /// The server is stopping: announce it to everyone and refuse everything from now on.
    pub fn close(&self) {
        let mut state = self.state();
        if state.closed {
            return;
        }
        state.announce(AnnouncementKind::Shutdown, None);
        state.closed = true;
        state.members.clear();
        state.names.clear();
        if !state.unstored.is_empty() {
            tracing::error!(count = state.unstored.len(), "announcements never reached the chat log");
        }
        state.store.close();
    }

    /// Whether `sid` holds a name.
    pub fn is_member(&self, sid: Sid) -> bool {
        self.state().members.contains_key(&sid)
    }

    /// Number of registered users.
    pub fn user_count(&self) -> usize {
        self.state().members.len()
    }
}

/// A token bucket of `per_second`, `burst` at once (both at least 1).
fn direct_limiter(per_second: u32, burst: u32) -> DefaultDirectRateLimiter {
    let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_second(rate).allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN)))
}

/// The whole socket.io packet of an event (`2["message",{…}]`, `42…` on the wire), encoded once for all its recipients:
/// every member's queue gets a reference to the same bytes, so a delivery costs a queue push instead
/// of a serialization (docs/PERFORMANCE.md finding 10). The server runs socketioxide's default parser
/// (the JSON one) on the default namespace, so this is exactly what `socket.emit(event, data)` sends.
fn encode_event(event: &str, data: &impl Serialize) -> Option<Value> {
    let args = CommonParser.encode_value(data, Some(event)).ok()?;
    Some(CommonParser.encode(Packet::event("/", args)))
}

impl RoomState {
    fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    fn announce(&mut self, kind: AnnouncementKind, name: Option<Arc<str>>) {
        let announcement = self.announcement(kind, name);
        self.broadcast(announcement, None);
    }

    /// The next announcement, stored (or kept to be stored later: it goes out either way).
    fn announcement(&mut self, kind: AnnouncementKind, name: Option<Arc<str>>) -> Arc<ChatMessage> {
        let id = self.next_id();
        let announcement = Arc::new(ChatMessage::announcement(kind, name, id, now_ms()));
        if let Err(error) = self.persist(&announcement) {
            tracing::error!(%error, id, "an announcement goes out before it is stored");
            self.unstored.push(announcement.clone());
        }
        announcement
    }

    /// Stores `message` in the chat log, after the announcements that are waiting for it.
    fn persist(&mut self, message: &Arc<ChatMessage>) -> Result<(), StoreError> {
        self.unstored.push(message.clone());
        let stored = self.store.append(&self.unstored);
        if stored.is_ok() && self.unstored.len() > 1 {
            tracing::info!(count = self.unstored.len() - 1, "the chat log works again: waiting announcements stored");
        }
        match stored {
            Ok(()) => self.unstored.clear(),
            Err(_) => drop(self.unstored.pop()),
        }
        stored
    }

    fn remove(&mut self, sid: Sid) -> Option<Member> {
        let member = self.members.shift_remove(&sid)?;
        self.names.remove(&names::fold(&member.name));
        Some(member)
    }

    /// Queues `packet` for every member except `except`; returns the members whose queue was full.
    fn send_to_members(&self, packet: &Value, except: Option<Sid>) -> Vec<Sid> {
        self.members
            .iter()
            .filter(|(sid, _)| Some(**sid) != except)
            .filter_map(|(sid, member)| match member.socket.send_raw(packet.clone()) {
                Err(SocketError::InternalChannelFull) => Some(*sid),
                // A closed socket is about to run its disconnect handler, which announces it.
                _ => None,
            })
            .collect()
    }

    /// Hands `message` (stored already) to every member except `except`. A member whose queue is full
    /// is evicted, and its leave announcement is sequenced right after, so nobody ever misses a
    /// message silently.
    fn broadcast(&mut self, message: Arc<ChatMessage>, except: Option<Sid>) -> Arc<ChatMessage> {
        let mut queue = VecDeque::from([(message.clone(), except)]);
        while let Some((message, except)) = queue.pop_front() {
            let Some(packet) = encode_event(event::MESSAGE, &*message) else {
                tracing::error!(id = ?message.id, "cannot serialize a chat message");
                continue;
            };
            for sid in self.send_to_members(&packet, except) {
                let Some(member) = self.remove(sid) else { continue };
                let name = member.name.clone();
                self.evicted(member);
                let leave = self.announcement(AnnouncementKind::Leave, Some(name));
                queue.push_back((leave, None));
            }
        }
        message
    }

    /// Tells an evicted member why and disconnects it, as soon as its queue has room for that.
    fn evicted(&self, member: Member) {
        tracing::warn!(sid = %member.socket.id, name = %member.name, "too slow, disconnecting");
        let socket = member.socket;
        tokio::spawn(async move {
            let notice = Notice::too_slow();
            let deadline = Instant::now() + EVICTION_GRACE;
            let mut told = false;
            while socket.connected() && Instant::now() < deadline {
                told = told || socket.emit(event::NOTICE, &notice).is_ok();
                if told && socket.clone().disconnect().is_ok() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_encoded_as_the_socketio_packet_that_emit_would_send() {
        let message = ChatMessage::chat("ann".into(), "hi \"there\" <b>".into(), 7, 1_700_000_000_000);
        let Some(Value::Str(packet, None)) = encode_event("message", &message) else {
            panic!("expected a text packet without attachments");
        };
        // Socket.io EVENT (2) on the default namespace; engine.io adds its MESSAGE type (4) on the wire.
        assert_eq!(
            packet.as_str(),
            r#"2["message",{"from":"ann","message":"hi \"there\" <b>","id":7,"ts":1700000000000}]"#
        );
    }
}
