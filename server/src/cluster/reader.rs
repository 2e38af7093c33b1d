//! Reading the shared log: every node reads the whole Stream in id order and delivers each entry to
//! its own sockets, so all nodes deliver the same sequence. A node cut off from Redis resumes after
//! the last id it delivered: nothing is skipped or repeated, whatever it missed meanwhile.

use std::{sync::Arc, time::Duration};

use confab_protocol::{AnnouncementKind, ChatMessage};
use redis::{
    aio::ConnectionManager,
    streams::{StreamId, StreamRangeReply, StreamReadOptions, StreamReadReply},
    AsyncCommands, RedisResult,
};
use socketioxide::socket::Sid;
use tokio::sync::watch;

use super::{scripts, ClusterRoom};
use crate::history::Page;

/// How long one read waits for new entries (the stop signal is checked in between).
pub const BLOCK: Duration = Duration::from_secs(2);
/// Entries per read: a node that fell behind catches up in large steps.
const READ_COUNT: usize = 1024;

/// One entry of the log: the message and where it came from.
pub struct Entry {
    pub id: u64,
    pub message: ChatMessage,
    pub node: String,
    pub sid: Sid,
}

impl Entry {
    /// `None` for an entry this version does not understand (it is skipped, with its id).
    fn parse(entry: &StreamId) -> Option<Self> {
        let id = entry.id.split_once('-').map_or(entry.id.as_str(), |(id, _)| id).parse().ok()?;
        let field = |name: &str| entry.get::<String>(name);
        let ts = field("ts")?.parse().ok()?;
        let message = match field("kind").as_deref() {
            None => match field("to") {
                None => ChatMessage::chat(field("from")?.into(), field("text")?.into(), id, ts),
                Some(to) => ChatMessage::private(field("from")?.into(), to.into(), field("text")?.into(), id, ts),
            },
            Some(kind) => {
                let kind = AnnouncementKind::ALL.into_iter().find(|k| k.as_str() == kind)?;
                ChatMessage::announcement(kind, field("name").map(Into::into), id, ts)
            }
        };
        let mut message = message;
        message.attachment = field("attachment").and_then(|json| serde_json::from_str(&json).ok()).map(Arc::new);
        Some(Self { id, message, node: field("node")?, sid: field("sid")?.parse().ok()? })
    }
}

/// Reads the log after `room`'s last delivered id until the server stops.
pub async fn run(room: Arc<ClusterRoom>, mut redis: ConnectionManager, mut stopped: watch::Receiver<bool>) {
    let options = StreamReadOptions::default().block(BLOCK.as_millis() as usize).count(READ_COUNT);
    let mut backoff = Duration::from_millis(100);
    while !*stopped.borrow() {
        let after = [format!("{}-0", room.state().last_id)];
        let read: RedisResult<Option<StreamReadReply>> = tokio::select! {
            read = redis.xread_options(&[scripts::LOG], &after, &options) => read,
            _ = stopped.changed() => return,
        };
        room.redis_result("reading the log", &read);
        match read {
            Ok(reply) => {
                backoff = Duration::from_millis(100);
                for entry in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
                    match Entry::parse(&entry) {
                        Some(entry) => room.deliver(entry),
                        None => tracing::warn!(id = entry.id, "skipped a log entry this version cannot read"),
                    }
                }
            }
            Err(_) => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// Up to `count` of the newest chat messages with ids up to `last_id`, oldest first.
pub async fn newest(redis: &mut ConnectionManager, count: usize, last_id: u64) -> RedisResult<Vec<Arc<ChatMessage>>> {
    let page = Page {
        after: 0,
        before: last_id + 1,
        from_newest: true,
        max_messages: count,
        max_bytes: usize::MAX,
        viewer: None,
    };
    page_of(redis, &page).await
}

/// The chat messages (never announcements) of `page`, oldest first, from the log in Redis.
pub async fn page(redis: &mut ConnectionManager, page: &Page) -> RedisResult<Vec<Arc<ChatMessage>>> {
    page_of(redis, page).await
}

async fn page_of(redis: &mut ConnectionManager, page: &Page) -> RedisResult<Vec<Arc<ChatMessage>>> {
    // Announcements are in the same log, so a range read may hold fewer chat lines than asked for:
    // read on (in steps) until the page is full or the range is exhausted.
    let step = page.max_messages.clamp(16, 1024);
    let (mut low, mut high) = (page.after.saturating_add(1), page.before.saturating_sub(1));
    let mut found = Vec::new();
    while low <= high && found.len() < page.max_messages {
        let (start, end) = (format!("{low}-0"), format!("{high}-0"));
        let reply: StreamRangeReply = match page.from_newest {
            true => redis.xrevrange_count(scripts::LOG, &end, &start, step).await?,
            false => redis.xrange_count(scripts::LOG, &start, &end, step).await?,
        };
        let Some(last) = reply.ids.last().and_then(Entry::parse).map(|e| e.id) else { break };
        let exhausted = reply.ids.len() < step;
        found.extend(reply.ids.iter().filter_map(Entry::parse).filter(|e| e.message.kind.is_none()).map(|e| e.message));
        if exhausted {
            break;
        }
        match page.from_newest {
            true => high = last.saturating_sub(1),
            false => low = last.saturating_add(1),
        }
    }
    Ok(page.take(found.into_iter().map(Arc::new)))
}
