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
//! Every sequenced message goes to the chat log ([`Store`]) before anyone sees it: a chat message is
//! stored, then delivered and acknowledged (an ack means it survives a crash), and one the log cannot
//! take is refused `unavailable`, without using up an id. Group commit: whatever arrives while the log
//! writes one transaction goes into the next one, written by the same caller (the leader), so the
//! room's lock is never held during a write and a busy room pays one write per batch, not per
//! message ([`batch`]). Announcements are stored too (ids go on after a restart from the last stored
//! one), but they cannot be refused: one the log cannot take is still delivered, and written ahead of
//! the next batch once the log works again.

mod batch;
mod commit;
mod pages;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use confab_protocol::{
    event, limits::HISTORY_PAGE_MESSAGES, names, AnnouncementKind, ChatMessage, Limits, RefusalCode,
};
use socketioxide::{
    extract::{AckSender, SocketRef},
    socket::Sid,
};

use self::batch::{Draft, Pending};
use crate::{
    chat::Post,
    files::{self, Files},
    handlers::{refuse, RegisterReply},
    members::{self, encode_event, Audience, Member, Members},
    store::{Page, Store},
};

/// The single room of a Confab server.
pub struct Room {
    state: Mutex<RoomState>,
    /// The chat log, locked on its own: a commit holds it, never the room.
    store: Mutex<Box<dyn Store>>,
    /// Signalled when a leader has written and delivered everything pending.
    idle: tokio::sync::Notify,
    /// The log waits for the disk: a leader task writes it (else each caller, at once).
    on_disk: bool,
    limits: Limits,
    /// The most history a newcomer is sent with its welcome ([`members::welcome_bytes`]).
    welcome_bytes: usize,
    /// The run of the id sequence (protocol §2.1), the store's: ids start again at 1 in a new one.
    run: String,
    /// Uploads and their messages (protocol §2.11); `None` when files are off.
    files: Option<Arc<Files>>,
}

/// Everything the room mutex protects.
struct RoomState {
    /// Registered sockets in order of joining: the recipients of room traffic.
    members: Members,
    /// Messages for the next commit, in order of arrival.
    pending: Vec<Pending>,
    /// A leader is writing a batch: it also takes whatever is pending when it is done.
    committing: bool,
    /// Announcements delivered while the log failed, written ahead of the next batch.
    unstored: Vec<Arc<ChatMessage>>,
    /// The id of the last sequenced message; ids start at 1.
    last_id: u64,
    /// The id of the last message handed to members. History stops there: what comes after it is
    /// on its way to every member, a newcomer included.
    delivered_id: u64,
    /// Set once the server is stopping: no registrations, no leave announcements.
    closed: bool,
}

impl Room {
    /// A room on `store`, taking files when `files` is set (protocol §2.11): ids go on after the
    /// last one stored.
    pub fn new(store: Box<dyn Store>, limits: Limits, welcome_bytes: usize, files: Option<Arc<Files>>) -> Self {
        let run = store.run().to_owned();
        let last_id = store.last_id();
        let on_disk = store.touches_disk();
        Self {
            state: Mutex::new(RoomState {
                members: Members::default(),
                pending: Vec::new(),
                committing: false,
                unstored: Vec::new(),
                last_id,
                delivered_id: last_id,
                closed: false,
            }),
            store: Mutex::new(store),
            idle: tokio::sync::Notify::new(),
            on_disk,
            limits,
            welcome_bytes,
            run,
            files,
        }
    }

    pub fn files(&self) -> Option<Arc<Files>> {
        self.files.clone()
    }

    /// Whether `sid` holds the name that folds to `key`.
    pub fn holds(&self, sid: Sid, key: &str) -> bool {
        self.state().members.get(sid).is_some_and(|m| names::fold(&m.name) == key)
    }

    pub fn run(&self) -> &str {
        &self.run
    }

    fn state(&self) -> MutexGuard<'_, RoomState> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that matters
        // more than refusing every later client would, so keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn store(&self) -> MutexGuard<'_, Box<dyn Store>> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The limits this room enforces (and tells every client in `welcome`).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Handles `register` (protocol §1.1). `requested` is `None` when the argument was not a string.
    pub fn register(self: &Arc<Self>, socket: &SocketRef, requested: Option<&str>, reply: RegisterReply) {
        let mut state = self.state();
        let accepted = requested.and_then(|raw| {
            let name = names::validate(raw, self.limits.max_name_chars)
                .inspect_err(|why| tracing::debug!(sid = %socket.id, ?why, "name refused"))
                .ok()?;
            let key = names::fold(name);
            let free = !state.closed && !state.members.contains(socket.id) && !state.members.holds(&key);
            free.then(|| (Arc::<str>::from(name), key))
        });
        let Some((name, key)) = accepted else {
            let _ = reply.send(socket, false);
            return;
        };

        // Order on the newcomer's connection: the answer, then (once every message before its join
        // is delivered) history, users, and its own join announcement. Until then it gets no room
        // traffic: what is sequenced before its join is in its history, the rest comes after.
        if reply.send(socket, true).is_err() {
            return;
        }
        state.members.insert(key, Member::new(name.clone(), socket.clone(), &self.limits).waiting());
        tracing::info!(sid = %socket.id, %name, "registered");
        let join = Pending::Announcement { kind: AnnouncementKind::Join, name: Some(name), newcomer: Some(socket.id) };
        state.pending.push(join);
        drop(self.flush(state));
    }

    /// Right before `sid`'s join announcement `join_id` goes out: its history (the newest messages
    /// before its join), the online list and its file token; room traffic from then on.
    fn welcome(&self, state: &mut RoomState, sid: Sid, join_id: u64) {
        let Some(member) = state.members.get(sid) else { return }; // gone already: its leave follows
        let (socket, name) = (member.socket.clone(), member.name.clone());
        let newest = Page::newest(HISTORY_PAGE_MESSAGES, self.welcome_bytes).below(join_id);
        let newest = self.store().page(&newest.seen_by(&names::fold(&name))).unwrap_or_else(|error| {
            tracing::error!(%error, "cannot read the newest messages for a newcomer");
            Vec::new()
        });
        if let Some(member) = state.members.get_mut(sid) {
            member.receiving = true; // and so in its own online list
        }
        let users: Vec<&Arc<str>> = state.members.online().collect();
        let fitted =
            members::welcome(&socket, &newest, &users, self.files.as_ref().map(|files| files.offer(sid, &name)));
        if !fitted {
            state.evict(sid);
        }
    }

    /// `sid` could not take an answer it asked for: too slow for the room (protocol §2.6).
    pub fn evict(self: &Arc<Self>, sid: Sid) {
        let mut state = self.state();
        state.evict(sid);
        drop(self.flush(state));
    }

    /// Handles `message` (protocol §1.2): once it is stored, delivers it to every other member (or,
    /// sent `to` someone, to that one member only: §2.10) and acks it to the sender with its id.
    pub fn post(self: &Arc<Self>, socket: &SocketRef, post: Post, ack: AckSender) {
        let mut state = self.state();
        match self.draft(&state, socket.id, post) {
            Ok(draft) => {
                state.pending.push(Pending::Chat { draft: Box::new(draft), sender: socket.clone(), ack });
                drop(self.flush(state));
            }
            Err(code) => {
                drop(state);
                refuse(socket, &self.limits, ack, event::MESSAGE, code);
            }
        }
    }

    /// Checks a post of `sender` and claims its file.
    fn draft(&self, state: &RoomState, sender: Sid, post: Post) -> Result<Draft, RefusalCode> {
        let member = state.members.get(sender).ok_or(RefusalCode::NotRegistered)?;
        let text = post.text.ok_or(RefusalCode::InvalidPayload)?;
        files::check_caption(&text, post.attachment.is_some(), &self.limits)?;
        member.may_post()?;
        let from = member.name.clone();
        let addressee = match post.to.as_deref() {
            None => None,
            Some(to) => {
                let sid = state.members.sid_of(&names::fold(to)).ok_or(RefusalCode::UnknownRecipient)?;
                state.members.get(sid).map(|m| (sid, m.name.clone()))
            }
        };
        let recipient = addressee.as_ref().map(|(_, to)| &**to);
        let (text, file) =
            files::attach(self.files.as_deref(), text, post.attachment.as_deref(), &names::fold(&from), recipient)?;
        let (to, audience) = match addressee {
            None => (None, Audience::AllBut(Some(sender))),
            Some((sid, to)) => (Some(to), if sid == sender { Audience::Nobody } else { Audience::Only(sid) }),
        };
        Ok(Draft { text: text.into(), from, to, audience, file })
    }

    /// Handles `typing` (protocol §2.3): relays changes, and repeats of `true` at most once a second.
    pub fn typing(&self, sender: Sid, typing: bool) {
        let mut state = self.state();
        let Some(notice) = state.members.get_mut(sender).and_then(|m| m.typing_notice(typing)) else { return };
        let Some(packet) = encode_event(event::TYPING, &notice) else { return };
        // Best effort: a full queue simply misses a typing notice (nobody is evicted for it).
        state.members.send_best_effort(&packet, Some(sender));
    }

    /// Handles a `users` request (protocol §2.3). Unregistered sockets get nothing.
    pub fn users(&self, requester: Sid) -> Result<Vec<Arc<str>>, RefusalCode> {
        let state = self.state();
        let Some(member) = state.members.get(requester) else { return Ok(Vec::new()) };
        member.may_request()?;
        Ok(state.members.online().cloned().collect())
    }

    /// A socket went away: free its name and tell the others (protocol §1.3).
    pub fn leave(self: &Arc<Self>, sid: Sid) {
        let mut state = self.state();
        if state.closed {
            return;
        }
        if let Some(member) = state.members.remove(sid) {
            tracing::info!(%sid, name = %member.name, "left");
            state.pending.push(Pending::announcement(AnnouncementKind::Leave, member.name));
            drop(self.flush(state));
        }
    }

    /// The server is stopping: announce it to everyone, write what is pending, and refuse everything
    /// from now on.
    pub async fn close(self: &Arc<Self>) {
        {
            let mut state = self.state();
            if state.closed {
                return;
            }
            state.closed = true;
            state.pending.push(Pending::Announcement { kind: AnnouncementKind::Shutdown, name: None, newcomer: None });
            drop(self.flush(state));
        }
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.is_idle() {
                break;
            }
            idle.await;
        }
        let mut state = self.state();
        state.members.clear();
        if !state.unstored.is_empty() {
            tracing::error!(count = state.unstored.len(), "announcements never reached the chat log");
        }
        self.store().close();
    }

    /// Nothing pending, nobody writing.
    fn is_idle(&self) -> bool {
        let state = self.state();
        !state.committing && state.pending.is_empty()
    }

    /// Whether `sid` holds a name.
    pub fn is_member(&self, sid: Sid) -> bool {
        self.state().members.contains(sid)
    }

    /// Number of registered users.
    pub fn user_count(&self) -> usize {
        self.state().members.len()
    }
}

impl RoomState {
    /// Removes a member too slow for the room (protocol §2.6); its leave announcement is pending.
    fn evict(&mut self, sid: Sid) {
        if let Some(member) = self.members.remove(sid) {
            let name = member.name.clone();
            member.disconnect_too_slow();
            self.pending.push(Pending::announcement(AnnouncementKind::Leave, name));
        }
    }

    /// Hands `message` (stored already) to `audience`. A member whose queue is full is evicted, and
    /// its leave announcement goes into the next batch, so nobody ever misses a message silently.
    fn broadcast(&mut self, message: &ChatMessage, audience: Audience) {
        let Some(packet) = encode_event(event::MESSAGE, message) else {
            tracing::error!(id = ?message.id, "cannot serialize a chat message");
            return;
        };
        for sid in self.members.send(&packet, audience) {
            self.evict(sid);
        }
    }
}
