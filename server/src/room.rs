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
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use confab_protocol::{
    event,
    limits::{HISTORY_PAGE_BYTES, HISTORY_PAGE_MESSAGES},
    names, now_ms, AnnouncementKind, ChatMessage, HistoryRequest, Limits, RefusalCode,
};
use socketioxide::{extract::SocketRef, socket::Sid};

use crate::{
    chat::Post,
    files::{self, Files},
    handlers::RegisterReply,
    members::{encode_event, Audience, Member, Members},
    store::{Page, Store, StoreError},
};

/// The single room of a Confab server.
pub struct Room {
    state: Mutex<RoomState>,
    limits: Limits,
    /// The run of the id sequence (protocol §2.1), the store's: ids start again at 1 in a new one.
    run: String,
    /// Uploads and their messages (protocol §2.11); `None` when files are off.
    files: Option<Arc<Files>>,
}

/// Everything the room mutex protects.
struct RoomState {
    /// Registered sockets in order of joining: the recipients of room traffic.
    members: Members,
    /// The chat log: history is served from it.
    store: Box<dyn Store>,
    /// Announcements delivered while the log failed, written ahead of the next message that is.
    unstored: Vec<Arc<ChatMessage>>,
    /// The id of the last sequenced message; ids start at 1.
    last_id: u64,
    /// Set once the server is stopping: no registrations, no leave announcements.
    closed: bool,
}

impl Room {
    /// A room on `store`: ids go on after the last one stored there.
    pub fn new(store: Box<dyn Store>, limits: Limits) -> Self {
        let run = store.run().to_owned();
        let last_id = store.last_id();
        Self {
            state: Mutex::new(RoomState {
                members: Members::default(),
                store,
                unstored: Vec::new(),
                last_id,
                closed: false,
            }),
            limits,
            run,
            files: None,
        }
    }

    /// The same room, taking files (protocol §2.11).
    pub fn with_files(self, files: Option<Arc<Files>>) -> Self {
        Self { files, ..self }
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
            let free = !state.closed && !state.members.contains(socket.id) && !state.members.holds(&key);
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
        let newest = state.store.page(&Page::newest(HISTORY_PAGE_MESSAGES, HISTORY_PAGE_BYTES).seen_by(&key));
        let newest = newest.unwrap_or_else(|error| {
            tracing::error!(%error, "cannot read the newest messages for a newcomer");
            Vec::new()
        });
        let _ = socket.emit(event::HISTORY, &newest);
        state.members.insert(key, Member::new(name.clone(), socket.clone(), &self.limits));
        let users: Vec<&Arc<str>> = state.members.names().collect();
        let _ = socket.emit(event::USERS, &users);
        if let Some(files) = &self.files {
            let _ = socket.emit(event::FILES, &files.offer(socket.id, &name));
        }
        tracing::info!(sid = %socket.id, %name, "registered");
        state.announce(AnnouncementKind::Join, Some(name));
    }

    /// Handles `message` (protocol §1.2): stores it, delivers it to every other member (or, sent
    /// `to` someone, to that one member only: §2.10) and returns what was delivered, for the
    /// sender's ack.
    pub fn post(&self, sender: Sid, post: Post) -> Result<Arc<ChatMessage>, RefusalCode> {
        let mut state = self.state();
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
        // The id is taken only once the message is stored: a refused one leaves no gap.
        let id = state.last_id + 1;
        let (mut message, audience) = match addressee {
            None => (ChatMessage::chat(from, text.into(), id, now_ms()), Audience::AllBut(Some(sender))),
            Some((sid, to)) => {
                let audience = if sid == sender { Audience::Nobody } else { Audience::Only(sid) };
                (ChatMessage::private(from, to, text.into(), id, now_ms()), audience)
            }
        };
        message.attachment = file.as_ref().map(|meta| Arc::new(meta.attachment.clone()));
        let message = Arc::new(message);
        if let Err(error) = state.persist(&message) {
            tracing::error!(%error, "message refused: the chat log cannot take it");
            if let (Some(files), Some(meta)) = (&self.files, file) {
                files.unclaim(meta);
            }
            return Err(RefusalCode::Unavailable);
        }
        state.last_id = id;
        if let (Some(files), Some(meta)) = (&self.files, file) {
            files.sent(meta);
        }
        Ok(state.broadcast(message, audience))
    }

    /// Handles `typing` (protocol §2.3): relays changes, and repeats of `true` at most once a second.
    pub fn typing(&self, sender: Sid, typing: bool) {
        let mut state = self.state();
        let Some(notice) = state.members.get_mut(sender).and_then(|m| m.typing_notice(typing)) else { return };
        let Some(packet) = encode_event(event::TYPING, &notice) else { return };
        // Best effort: a full queue simply misses a typing notice (nobody is evicted for it).
        state.members.send_best_effort(&packet, Some(sender));
    }

    /// Handles a `history` request (protocol §2.2): one bounded page. Unregistered sockets get nothing.
    pub fn history_page(&self, requester: Sid, request: HistoryRequest) -> Result<Vec<Arc<ChatMessage>>, RefusalCode> {
        let state = self.state();
        let Some(member) = state.members.get(requester) else { return Ok(Vec::new()) };
        member.may_request()?;
        let page = Page::requested(&request, &names::fold(&member.name));
        let page = state.store.page(&page).map_err(|error| {
            tracing::error!(%error, "history refused: the chat log cannot be read");
            RefusalCode::Unavailable
        })?;
        member.may_receive(&page)?;
        Ok(page)
    }

    /// Handles a `users` request (protocol §2.3). Unregistered sockets get nothing.
    pub fn users(&self, requester: Sid) -> Result<Vec<Arc<str>>, RefusalCode> {
        let state = self.state();
        let Some(member) = state.members.get(requester) else { return Ok(Vec::new()) };
        member.may_request()?;
        Ok(state.members.names().cloned().collect())
    }

    /// A socket went away: free its name and tell the others (protocol §1.3).
    pub fn leave(&self, sid: Sid) {
        let mut state = self.state();
        if state.closed {
            return;
        }
        if let Some(member) = state.members.remove(sid) {
            tracing::info!(%sid, name = %member.name, "left");
            state.announce(AnnouncementKind::Leave, Some(member.name));
        }
    }

    /// A member could not take its own ack: it is too slow for the room (protocol §2.6).
    pub fn evict(&self, sid: Sid) {
        let mut state = self.state();
        if let Some(member) = state.members.remove(sid) {
            let name = member.name.clone();
            member.disconnect_too_slow();
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
        if !state.unstored.is_empty() {
            tracing::error!(count = state.unstored.len(), "announcements never reached the chat log");
        }
        state.store.close();
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
    fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    fn announce(&mut self, kind: AnnouncementKind, name: Option<Arc<str>>) {
        let announcement = self.announcement(kind, name);
        self.broadcast(announcement, Audience::AllBut(None));
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

    /// Hands `message` (stored already) to `audience`. A member whose queue is full is evicted, and
    /// its leave announcement is sequenced right after, so nobody ever misses a message silently.
    fn broadcast(&mut self, message: Arc<ChatMessage>, audience: Audience) -> Arc<ChatMessage> {
        let mut queue = VecDeque::from([(message.clone(), audience)]);
        while let Some((message, audience)) = queue.pop_front() {
            let Some(packet) = encode_event(event::MESSAGE, &*message) else {
                tracing::error!(id = ?message.id, "cannot serialize a chat message");
                continue;
            };
            for sid in self.members.send(&packet, audience) {
                let Some(member) = self.members.remove(sid) else { continue };
                let name = member.name.clone();
                member.disconnect_too_slow();
                let leave = self.announcement(AnnouncementKind::Leave, Some(name));
                queue.push_back((leave, Audience::AllBut(None)));
            }
        }
        message
    }
}
