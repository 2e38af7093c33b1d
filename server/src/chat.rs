//! The chat a server serves: a room of its own ([`Room`], its log in memory or SQLite), or one node's
//! part of a chat shared through Redis ([`ClusterRoom`]). The handlers speak to this, never to either.

use std::sync::Arc;

use confab_protocol::{event, HistoryRequest, Limits, RefusalCode};
use socketioxide::{
    extract::{AckSender, SocketRef},
    socket::Sid,
    SendError, SocketError,
};

use crate::{
    cluster::ClusterRoom,
    handlers::{refuse, RegisterReply},
    room::Room,
};

pub enum Chat {
    Single(Box<Room>),
    Cluster(Arc<ClusterRoom>),
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
    pub fn post(&self, socket: &SocketRef, text: Option<String>, to: Option<String>, ack: AckSender) {
        let room = match self {
            Self::Cluster(room) => return room.post(socket, text, to, ack),
            Self::Single(room) => room,
        };
        match room.post(socket.id, text, to.as_deref()) {
            Ok(delivered) => {
                if let Err(SendError::Socket(SocketError::InternalChannelFull)) = ack.send(&*delivered) {
                    room.evict(socket.id);
                }
            }
            Err(code) => refuse(socket, room.limits(), ack, event::MESSAGE, code),
        }
    }

    pub fn typing(&self, sender: Sid, typing: bool) {
        match self {
            Self::Single(room) => room.typing(sender, typing),
            Self::Cluster(room) => room.typing(sender, typing),
        }
    }

    /// Handles a `history` request: one bounded page in the ack.
    pub fn history(&self, socket: &SocketRef, request: HistoryRequest, ack: AckSender) {
        let room = match self {
            Self::Cluster(room) => return room.history(socket, request, ack),
            Self::Single(room) => room,
        };
        match room.history_page(socket.id, request) {
            Ok(page) => drop(ack.send(&page)),
            Err(code) => refuse(socket, room.limits(), ack, event::HISTORY, code),
        }
    }

    pub fn users(&self, requester: Sid) -> Result<Vec<Arc<str>>, RefusalCode> {
        match self {
            Self::Single(room) => room.users(requester),
            Self::Cluster(room) => room.users(requester),
        }
    }

    pub fn leave(&self, sid: Sid) {
        match self {
            Self::Single(room) => room.leave(sid),
            Self::Cluster(room) => room.leave(sid),
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

    /// Why new messages are refused right now, if they are (a cluster without Redis).
    pub fn degraded(&self) -> Option<String> {
        match self {
            Self::Single(_) => None,
            Self::Cluster(room) => room.degraded(),
        }
    }

    /// The server is stopping: announce it and refuse everything from now on.
    pub fn close(&self) {
        match self {
            Self::Single(room) => room.close(),
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
