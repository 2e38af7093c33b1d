//! The chat a server serves: a room of its own ([`Room`], its log in memory or SQLite), or one node's
//! part of a chat shared through Redis ([`ClusterRoom`]). The handlers speak to this, never to either.

use std::sync::Arc;

use confab_protocol::{HistoryRequest, Limits, RefusalCode};
use socketioxide::{
    extract::{AckSender, SocketRef},
    socket::Sid,
};

use crate::{cluster::ClusterRoom, files::Files, handlers::RegisterReply, peers::AddressHistory, room::Room};

pub enum Chat {
    Single(Arc<Room>),
    Cluster(Arc<ClusterRoom>),
}

/// A `message` as a client sent it: the text, and the extensions `to` (§2.10) and `attachment` (§2.11).
#[derive(Debug, Default)]
pub struct Post {
    pub text: Option<String>,
    pub to: Option<String>,
    pub attachment: Option<String>,
}

impl Chat {
    /// The run of the id sequence (protocol §2.1).
    pub fn run(&self) -> &str {
        match self {
            Self::Single(room) => room.run(),
            Self::Cluster(room) => room.run(),
        }
    }

    /// The limits this chat enforces (and tells every client in `welcome`).
    pub fn limits(&self) -> &Limits {
        match self {
            Self::Single(room) => room.limits(),
            Self::Cluster(room) => room.limits(),
        }
    }

    pub fn register(&self, socket: &SocketRef, requested: Option<&str>, reply: RegisterReply) {
        match self {
            Self::Single(room) => room.register(socket, requested, reply),
            Self::Cluster(room) => room.register(socket, requested, reply),
        }
    }

    /// Handles `message` (to everyone, or privately `to` one user): the sender gets the stored
    /// message (with its id) or the refusal in its ack.
    pub fn post(&self, socket: &SocketRef, post: Post, ack: AckSender) {
        match self {
            Self::Single(room) => room.post(socket, post, ack),
            Self::Cluster(room) => room.post(socket, post, ack),
        }
    }

    pub fn typing(&self, sender: Sid, typing: bool) {
        match self {
            Self::Single(room) => room.typing(sender, typing),
            Self::Cluster(room) => room.typing(sender, typing),
        }
    }

    /// Handles a `history` request: one bounded page in the ack.
    pub fn history(&self, socket: &SocketRef, request: HistoryRequest, ack: AckSender, address: AddressHistory) {
        match self {
            Self::Single(room) => room.history(socket, request, ack, address),
            Self::Cluster(room) => room.history(socket, request, ack, address),
        }
    }

    pub fn users(&self, requester: Sid) -> Result<Vec<Arc<str>>, RefusalCode> {
        match self {
            Self::Single(room) => room.users(requester),
            Self::Cluster(room) => room.users(requester),
        }
    }

    /// `sid` could not take an answer it asked for: too slow for the room (protocol §2.6).
    pub fn evict(&self, sid: Sid) {
        match self {
            Self::Single(room) => room.evict(sid),
            Self::Cluster(room) => room.evict(sid),
        }
    }

    pub fn leave(&self, sid: Sid) {
        match self {
            Self::Single(room) => room.leave(sid),
            Self::Cluster(room) => room.leave(sid),
        }
    }

    /// Whether `sid` is registered on this server under the name that folds to `key` (file uploads).
    pub fn holds(&self, sid: Sid, key: &str) -> bool {
        match self {
            Self::Single(room) => room.holds(sid, key),
            Self::Cluster(room) => room.holds(sid, key),
        }
    }

    /// Whether the user of a file token is still in the chat: on this node, or (cluster) on any.
    pub fn knows(&self, sid: Sid, key: &str) -> bool {
        match self {
            Self::Single(room) => room.holds(sid, key),
            Self::Cluster(room) => room.knows(key),
        }
    }

    pub fn is_member(&self, sid: Sid) -> bool {
        match self {
            Self::Single(room) => room.is_member(sid),
            Self::Cluster(room) => room.is_member(sid),
        }
    }

    /// Registered users: on every node of a cluster.
    pub fn user_count(&self) -> usize {
        match self {
            Self::Single(room) => room.user_count(),
            Self::Cluster(room) => room.user_count(),
        }
    }

    /// The file service (protocol §2.11), when files are on.
    pub fn files(&self) -> Option<Arc<Files>> {
        match self {
            Self::Single(room) => room.files(),
            Self::Cluster(room) => room.files(),
        }
    }

    /// Why new messages are refused right now, if they are (a cluster without Redis).
    pub fn degraded(&self) -> Option<String> {
        match self {
            Self::Single(_) => None,
            Self::Cluster(room) => room.degraded(),
        }
    }

    /// The server is stopping: announce it and refuse everything from now on.
    pub async fn close(&self) {
        match self {
            Self::Single(room) => room.close().await,
            Self::Cluster(room) => room.close(),
        }
    }

    /// After [`Chat::close`]: what must still reach the shared engine.
    pub async fn finish(&self) {
        if let Self::Cluster(room) = self {
            room.finish().await;
        }
    }
}
