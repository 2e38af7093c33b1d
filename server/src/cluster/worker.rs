//! Group commit into Redis: whatever this node's clients sent while the previous batch was on its
//! way goes to Redis in one pipeline, in arrival order (so one client's messages keep their order),
//! and each command is answered with what Redis said.

use std::sync::Arc;

use confab_protocol::{now_ms, ChatMessage, RefusalCode};
use redis::{aio::ConnectionManager, Pipeline};
use socketioxide::{
    extract::{AckSender, SocketRef},
    socket::Sid,
};
use tokio::sync::{mpsc, oneshot};

use super::{scripts, ClusterRoom};
use crate::files::{self, FileMeta};

/// Commands waiting for Redis; a full queue refuses new ones as `unavailable`.
pub const QUEUE: usize = 16_384;
/// The most commands in one pipeline.
const BATCH: usize = 512;

pub enum Command {
    Register {
        sid: Sid,
        key: String,
        name: Arc<str>,
    },
    Post {
        socket: SocketRef,
        from: Arc<str>,
        text: Arc<str>,
        /// A private message's addressee: the registered name and its folded key.
        to: Option<(Arc<str>, String)>,
        /// The file it is about, claimed already (protocol §2.11).
        file: Option<Box<FileMeta>>,
        ack: AckSender,
    },
    Leave {
        sid: Sid,
    },
    /// A typing notice for the other nodes (best effort: dropped when Redis cannot take it).
    Typing(String),
    /// Answered once everything queued before it was handled.
    Flush(oneshot::Sender<()>),
}

struct Scripts {
    register: redis::Script,
    post: redis::Script,
    leave: redis::Script,
}

pub async fn run(room: Arc<ClusterRoom>, mut redis: ConnectionManager, mut queue: mpsc::Receiver<Command>) {
    let scripts = Scripts { register: scripts::register(), post: scripts::post(), leave: scripts::leave() };
    let members = scripts::members_key(&room.node);
    let lease = scripts::lease_key(&room.node);
    // Leaves that Redis could not take: retried with the next batch (a name must not stay taken).
    let mut retry: Vec<Sid> = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let wait = if retry.is_empty() { std::time::Duration::MAX } else { std::time::Duration::from_secs(1) };
        if let Ok(0) = tokio::time::timeout(wait, queue.recv_many(&mut batch, BATCH)).await {
            return; // every sender is gone
        }
        batch.splice(0..0, retry.drain(..).map(|sid| Command::Leave { sid }));
        let ts = now_ms();
        let max_log = room.config.max_log_entries;
        let mut pipe = Pipeline::with_capacity(batch.len() + 3);
        pipe.load_script(&scripts.register).ignore();
        pipe.load_script(&scripts.post).ignore();
        pipe.load_script(&scripts.leave).ignore();
        for command in &batch {
            match command {
                Command::Register { sid, key, name } => pipe.invoke_script(
                    scripts
                        .register
                        .key(scripts::SEQ)
                        .key(scripts::LOG)
                        .key(scripts::NAMES)
                        .key(&members)
                        .key(&lease)
                        .arg(sid.to_string())
                        .arg(key)
                        .arg(&**name)
                        .arg(ts)
                        .arg(max_log)
                        .arg(&room.node),
                ),
                Command::Post { socket, from, text, to, file, .. } => {
                    // Where the file belongs is written before the message exists: no node ever
                    // refuses the download of a file whose message it has delivered.
                    if let Some(meta) = file {
                        pipe.set(
                            files::record_key(&meta.attachment.id),
                            serde_json::to_string(meta).unwrap_or_default(),
                        )
                        .ignore();
                    }
                    let attachment =
                        file.as_ref().and_then(|meta| serde_json::to_string(&meta.attachment).ok()).unwrap_or_default();
                    pipe.invoke_script(
                        scripts
                            .post
                            .key(scripts::SEQ)
                            .key(scripts::LOG)
                            .key(&members)
                            .key(scripts::NAMES)
                            .key(scripts::FILED)
                            .arg(socket.id.to_string())
                            .arg(&**from)
                            .arg(&**text)
                            .arg(ts)
                            .arg(max_log)
                            .arg(&room.node)
                            .arg(to.as_ref().map_or("", |(_, key)| key.as_str()))
                            .arg(to.as_ref().map_or("", |(name, _)| &**name))
                            .arg(attachment)
                            .arg(file.as_ref().map_or("", |meta| meta.attachment.id.as_str())),
                    )
                }
                Command::Leave { sid } => pipe.invoke_script(
                    scripts
                        .leave
                        .key(scripts::SEQ)
                        .key(scripts::LOG)
                        .key(scripts::NAMES)
                        .key(&members)
                        .arg(sid.to_string())
                        .arg(ts)
                        .arg(max_log)
                        .arg(&room.node),
                ),
                Command::Typing(payload) => pipe.publish(super::typing::CHANNEL, payload),
                Command::Flush(_) => continue,
            };
        }
        let answers: redis::RedisResult<Vec<i64>> = pipe.query_async(&mut redis).await;
        room.redis_result("storing messages", &answers);
        let mut answers = match answers {
            Ok(answers) => answers.into_iter(),
            Err(_) => {
                for command in batch.drain(..) {
                    match command {
                        Command::Leave { sid } => retry.push(sid),
                        Command::Typing(_) => {}
                        other => room.failed(other, RefusalCode::Unavailable),
                    }
                }
                continue;
            }
        };
        let mut finished = false;
        for command in batch.drain(..) {
            match command {
                Command::Flush(done) => {
                    finished = true;
                    let _ = done.send(());
                }
                Command::Register { sid, .. } => {
                    match answers.next() {
                        Some(id) if id > 0 => {} // answered when the join is read from the log
                        Some(scripts::TAKEN) => room.registration_failed(sid, None),
                        Some(scripts::NO_LEASE) => {
                            tracing::warn!("this node's lease expired (Redis was unreachable): a registration waits for its renewal");
                            room.registration_failed(sid, Some(RefusalCode::Unavailable));
                        }
                        _ => room.registration_failed(sid, Some(RefusalCode::Unavailable)),
                    }
                }
                Command::Post { socket, from, text, to, file, ack } => {
                    let refused = match answers.next() {
                        Some(id) if id > 0 => {
                            let mut message = match to {
                                None => ChatMessage::chat(from, text, id as u64, ts),
                                Some((to, _)) => ChatMessage::private(from, to, text, id as u64, ts),
                            };
                            message.attachment = file.map(|meta| Arc::new(meta.attachment));
                            room.posted(&socket, ack, &message);
                            continue;
                        }
                        Some(scripts::NOT_MEMBER) => RefusalCode::NotRegistered,
                        Some(scripts::NO_RECIPIENT) => RefusalCode::UnknownRecipient,
                        _ => RefusalCode::Unavailable,
                    };
                    room.unclaim(file);
                    super::refuse(&socket, &room.limits, ack, confab_protocol::event::MESSAGE, refused);
                }
                Command::Leave { .. } | Command::Typing(_) => drop(answers.next()),
            }
        }
        if finished {
            return; // the server is stopping (`ClusterRoom::finish`)
        }
    }
}
