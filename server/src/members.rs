//! The registered sockets of one server process and what each may still ask for: the recipients of
//! room traffic, whether the room lives in this process alone ([`crate::room`]) or is shared with
//! other nodes ([`crate::cluster`]).

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::Arc,
    time::{Duration, Instant},
};

use confab_protocol::{
    event,
    limits::{
        HISTORY_KIB_PER_MINUTE, HISTORY_PAGE_BYTES, HISTORY_REQUESTS_PER_SECOND, HISTORY_REQUEST_BURST, TYPING_BURST,
        TYPING_PER_SECOND,
    },
    names, ChatMessage, Limits, Notice, RefusalCode, TypingNotice,
};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use indexmap::IndexMap;
use serde::Serialize;
use socketioxide::{extract::SocketRef, socket::Sid, SendError, SocketError};
use socketioxide_core::{packet::Packet, parser::Parse, Value};
use socketioxide_parser_common::CommonParser;

use crate::peers::AddressHistory;

/// Whether a packet that must arrive did not fit its socket's queue: the client is too slow for the
/// room (protocol §2.6) and is evicted, never left without it. A closed socket is not: its disconnect
/// handler announces it.
pub fn did_not_fit(sent: Result<(), SendError>) -> bool {
    matches!(sent, Err(SendError::Socket(SocketError::InternalChannelFull)))
}

/// The most history a newcomer is sent with its welcome: a full page, or half its queue's byte budget
/// when that is smaller, so its users list and file token always fit behind it (a smaller budget
/// would evict every newcomer for its own welcome; it pages on with `history`).
pub fn welcome_bytes(max_queued_bytes: usize) -> usize {
    HISTORY_PAGE_BYTES.min(max_queued_bytes / 2)
}

/// What a newcomer gets right before its own join goes out (protocol §1.1): the newest history, who
/// is online and (files on) its file token. False when one of them did not fit: too slow already.
pub fn welcome(
    socket: &SocketRef,
    history: &impl Serialize,
    users: &impl Serialize,
    files: Option<impl Serialize>,
) -> bool {
    let mut fitted = !did_not_fit(socket.emit(event::HISTORY, history));
    fitted &= !did_not_fit(socket.emit(event::USERS, users));
    if let Some(files) = files {
        fitted &= !did_not_fit(socket.emit(event::FILES, &files));
    }
    fitted
}

/// A relayed `typing: true` is repeated at most this often per user (protocol §2.3).
const TYPING_RELAY_INTERVAL: Duration = Duration::from_secs(1);
/// How long an evicted slow client gets to drain its queue before it is left to the ping timeout.
const EVICTION_GRACE: Duration = Duration::from_secs(30);

/// One registered user.
pub struct Member {
    pub name: Arc<str>,
    pub socket: SocketRef,
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
    /// Whether room traffic reaches it: not between a registration and its join announcement, while
    /// what was sequenced before it is still being written (its history holds that).
    pub receiving: bool,
}

/// What was last relayed about this user's typing, to drop repeats.
#[derive(Default)]
struct TypingState {
    active: bool,
    relayed_at: Option<Instant>,
}

impl Member {
    pub fn new(name: Arc<str>, socket: SocketRef, limits: &Limits) -> Self {
        let limiter = NonZeroU32::new(limits.messages_per_second).map(|rate| {
            let burst = NonZeroU32::new(limits.message_burst).unwrap_or(NonZeroU32::MIN);
            RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            name,
            socket,
            limiter,
            requests: direct_limiter(HISTORY_REQUESTS_PER_SECOND, HISTORY_REQUEST_BURST),
            history_bytes: RateLimiter::direct(Quota::per_minute(
                NonZeroU32::new(HISTORY_KIB_PER_MINUTE).unwrap_or(NonZeroU32::MIN),
            )),
            typing_notices: direct_limiter(TYPING_PER_SECOND, TYPING_BURST),
            typing: TypingState::default(),
            receiving: true,
        }
    }

    /// The same member, receiving no room traffic until it is welcomed.
    pub fn waiting(self) -> Self {
        Self { receiving: false, ..self }
    }

    /// Whether one more chat message fits the flood control.
    pub fn may_post(&self) -> Result<(), RefusalCode> {
        match self.limiter.as_ref().is_some_and(|l| l.check().is_err()) {
            true => Err(RefusalCode::RateLimited),
            false => Ok(()),
        }
    }

    /// Whether one more `history` or `users` request fits its rate.
    pub fn may_request(&self) -> Result<(), RefusalCode> {
        self.requests.check().map_err(|_| RefusalCode::RateLimited)
    }

    /// Whether any of the per-minute `history` byte budget of the connection is left (1 KiB of it
    /// spent) and its address is not waiting for its own: else it is refused before its page is read.
    pub fn has_history_budget(&self, address: &AddressHistory) -> Result<(), RefusalCode> {
        self.history_bytes.check().map_err(|_| RefusalCode::RateLimited)?;
        address.ready()
    }

    /// Charges a `history` answer to the per-minute byte budgets of the connection and its address.
    pub fn may_receive(&self, page: &[Arc<ChatMessage>], address: &AddressHistory) -> Result<(), RefusalCode> {
        let kib = page.iter().map(|m| m.json_len()).sum::<usize>().div_ceil(1024);
        match NonZeroU32::new(kib as u32) {
            Some(cost) if !matches!(self.history_bytes.check_n(cost), Ok(Ok(()))) => Err(RefusalCode::RateLimited),
            _ => address.charge(kib),
        }
    }

    /// The notice to relay for a `typing` event, if it is a change (or a due repeat of `true`)
    /// within the rate.
    pub fn typing_notice(&mut self, typing: bool) -> Option<TypingNotice> {
        let now = Instant::now();
        let repeat_due = self.typing.relayed_at.is_none_or(|at| now - at >= TYPING_RELAY_INTERVAL);
        if typing == self.typing.active && !(typing && repeat_due) || self.typing_notices.check().is_err() {
            return None;
        }
        self.typing = TypingState { active: typing, relayed_at: Some(now) };
        Some(TypingNotice { name: self.name.clone(), typing })
    }

    /// Tells an evicted member why and disconnects it, as soon as its queue has room for that.
    pub fn disconnect_too_slow(self) {
        tracing::warn!(sid = %self.socket.id, name = %self.name, "too slow, disconnecting");
        let socket = self.socket;
        // What it still holds must not get its address's other connections evicted too.
        socket.leave_shared_budget();
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
            // Still connected after the grace (a client that answers pings but never reads): its
            // queue would stay held for as long as it lives.
            if socket.connected() {
                socket.close_transport();
            }
        });
    }
}

/// The registered sockets, in order of joining, and their folded names (case-insensitive uniqueness).
#[derive(Default)]
pub struct Members {
    by_sid: IndexMap<Sid, Member>,
    names: HashMap<String, Sid>,
}

impl Members {
    pub fn contains(&self, sid: Sid) -> bool {
        self.by_sid.contains_key(&sid)
    }

    /// Whether a member holds a name that folds to `key` ([`names::fold`]).
    pub fn holds(&self, key: &str) -> bool {
        self.names.contains_key(key)
    }

    pub fn get(&self, sid: Sid) -> Option<&Member> {
        self.by_sid.get(&sid)
    }

    pub fn get_mut(&mut self, sid: Sid) -> Option<&mut Member> {
        self.by_sid.get_mut(&sid)
    }

    pub fn insert(&mut self, key: String, member: Member) {
        let sid = member.socket.id;
        self.names.insert(key, sid);
        self.by_sid.insert(sid, member);
    }

    pub fn remove(&mut self, sid: Sid) -> Option<Member> {
        let member = self.by_sid.shift_remove(&sid)?;
        self.names.remove(&names::fold(&member.name));
        Some(member)
    }

    pub fn clear(&mut self) -> Vec<Member> {
        self.names.clear();
        self.by_sid.drain(..).map(|(_, member)| member).collect()
    }

    pub fn len(&self) -> usize {
        self.by_sid.len()
    }

    /// The names whose join was announced (newcomers still waiting for theirs are not online yet).
    pub fn online(&self) -> impl Iterator<Item = &Arc<str>> {
        self.by_sid.values().filter(|m| m.receiving).map(|m| &m.name)
    }

    /// The member holding the name that folds to `key`.
    pub fn sid_of(&self, key: &str) -> Option<Sid> {
        self.names.get(key).copied()
    }

    /// Queues `packet` for `audience`; returns the members whose queue was full.
    pub fn send(&self, packet: &Value, audience: Audience) -> Vec<Sid> {
        let full =
            |(sid, member): (&Sid, &Member)| match member.receiving.then(|| member.socket.send_raw(packet.clone())) {
                Some(Err(SocketError::InternalChannelFull)) => Some(*sid),
                // A closed socket is about to run its disconnect handler, which announces it.
                _ => None,
            };
        match audience {
            Audience::AllBut(except) => {
                self.by_sid.iter().filter(|(sid, _)| Some(**sid) != except).filter_map(full).collect()
            }
            Audience::Only(sid) => self.by_sid.get_key_value(&sid).and_then(full).into_iter().collect(),
            Audience::Nobody => Vec::new(),
        }
    }

    /// Queues a packet that may be missed (a typing notice) for every member except `except`: a
    /// member whose queue is half full does not get it, and is never evicted for it.
    pub fn send_best_effort(&self, packet: &Value, except: Option<Sid>) {
        for (_, member) in self.by_sid.iter().filter(|(sid, m)| Some(**sid) != except && m.receiving) {
            let _missed = member.socket.send_raw_best_effort(packet.clone());
        }
    }
}

/// Who gets a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every member but one (the sender, who gets the message in its ack).
    AllBut(Option<Sid>),
    /// One member: the addressee of a private message.
    Only(Sid),
    Nobody,
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
pub fn encode_event(event: &str, data: &impl Serialize) -> Option<Value> {
    let args = CommonParser.encode_value(data, Some(event)).ok()?;
    Some(CommonParser.encode(Packet::event("/", args)))
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
