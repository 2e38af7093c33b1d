//! Group commit: what waits for the chat log's next transaction, and what happens once it is written.
//!
//! A message is sequenced (given its id and time) only when its batch is taken, so a batch the log
//! refuses leaves no gap: its chat messages are refused and its announcements numbered again.

use std::sync::Arc;

use confab_protocol::{now_ms, AnnouncementKind, ChatMessage};
use socketioxide::{
    extract::{AckSender, SocketRef},
    socket::Sid,
};

use crate::{files::FileMeta, members::Audience};

/// A message waiting for the next commit.
pub(super) enum Pending {
    Chat {
        draft: Box<Draft>,
        sender: SocketRef,
        ack: AckSender,
    },
    /// `newcomer`: a join's new member, welcomed (history, online list) right before it goes out.
    Announcement {
        kind: AnnouncementKind,
        name: Option<Arc<str>>,
        newcomer: Option<Sid>,
    },
}

/// A chat message that passed every check, before it has an id.
pub(super) struct Draft {
    pub text: Arc<str>,
    pub from: Arc<str>,
    /// The addressee of a private message (protocol §2.10).
    pub to: Option<Arc<str>>,
    pub audience: Audience,
    /// The file it sends, claimed already (protocol §2.11).
    pub file: Option<FileMeta>,
}

/// A sequenced chat message's sender, owed an answer, and the file it sends.
pub(super) struct Reply {
    pub sender: SocketRef,
    pub ack: AckSender,
    pub file: Option<FileMeta>,
}

/// A pending message with its id: written in its batch, then delivered to `audience`.
pub(super) struct Sequenced {
    pub message: Arc<ChatMessage>,
    pub audience: Audience,
    pub reply: Option<Reply>,
    pub newcomer: Option<Sid>,
}

impl Pending {
    pub fn announcement(kind: AnnouncementKind, name: Arc<str>) -> Self {
        Self::Announcement { kind, name: Some(name), newcomer: None }
    }

    /// The message with `id`, stamped now.
    pub fn sequence(self, id: u64) -> Sequenced {
        let ts = now_ms();
        match self {
            Self::Chat { draft, sender, ack } => {
                let Draft { text, from, to, audience, file } = *draft;
                let mut message = match to {
                    None => ChatMessage::chat(from, text, id, ts),
                    Some(to) => ChatMessage::private(from, to, text, id, ts),
                };
                message.attachment = file.as_ref().map(|meta| Arc::new(meta.attachment.clone()));
                Sequenced {
                    message: Arc::new(message),
                    audience,
                    reply: Some(Reply { sender, ack, file }),
                    newcomer: None,
                }
            }
            Self::Announcement { kind, name, newcomer } => Sequenced {
                message: Arc::new(ChatMessage::announcement(kind, name, id, ts)),
                audience: Audience::AllBut(None),
                reply: None,
                newcomer,
            },
        }
    }
}

impl Sequenced {
    /// The same message under another id (its batch was refused and it goes out anyway).
    pub fn renumbered(self, id: u64) -> Self {
        let message = Arc::new(ChatMessage { id: Some(id), ..(*self.message).clone() });
        Self { message, ..self }
    }
}
