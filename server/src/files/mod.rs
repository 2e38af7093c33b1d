//! Files sent in the chat (protocol §2.11): uploads over HTTP, a `message` about each, downloads that
//! never run in a browser.
//!
//! An upload is held as *unsent* until its uploader sends it in a message ([`Files::claim`]); from
//! then on it belongs to that message's audience: the room, or the two people of a private message.
//! Who asks is told by a token the server gave each registered socket (`files` event), signed so
//! that no table of tokens is needed and any node of a cluster can check one.
//!
//! Where the bytes live ([`Blobs`]): beside the SQLite log, in a private temporary folder for an
//! in-memory chat, or in Redis for a cluster, the only thing every node shares.

mod blobs;
mod http;
mod pictures;

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use confab_protocol::{
    limits::{UNSENT_UPLOAD_TTL, UPLOADS_PER_MINUTE},
    names, text, Attachment, FilesOffer, Limits, RefusalCode,
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ring::hmac;
use serde::{Deserialize, Serialize};
use socketioxide::socket::Sid;

pub use blobs::{record_key, Blobs};
pub use http::routes;

/// Who may download a file that was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Everyone in the chat (and anyone, when it has no password).
    Room,
    /// The two folded names of a private message.
    Private { sender: String, recipient: String },
}

/// What the server knows of a stored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    pub attachment: Attachment,
    /// The folded name of who uploaded it.
    pub uploader: String,
    /// Milliseconds since the epoch, for the quota (oldest first) and the unsent-upload deadline.
    pub created: u64,
    /// `None` until it is sent in a message.
    pub audience: Option<Audience>,
    /// `scheme://host[:port]` the uploader used: where the readable line points.
    pub origin: String,
}

/// Settings of the file service.
#[derive(Debug, Clone)]
pub struct FileLimits {
    pub max_bytes: u64,
    pub quota_bytes: u64,
}

pub struct Files {
    blobs: Blobs,
    limits: FileLimits,
    key: hmac::Key,
    /// Uploads not sent yet: only this node can claim them (the uploader's socket is here).
    unsent: Mutex<HashMap<String, (FileMeta, Instant)>>,
    uploads: DefaultKeyedRateLimiter<String>,
    password: Option<Arc<str>>,
    /// At most a few uploads are read into memory at once.
    reading: tokio::sync::Semaphore,
}

/// Uploads read at the same time (each up to `max_bytes` in memory).
const CONCURRENT_UPLOADS: usize = 4;

impl Audience {
    /// Who may read a file sent by `sender` (a folded name), privately to `recipient` or to the room.
    pub fn of(sender: &str, recipient: Option<&str>) -> Self {
        match recipient {
            None => Self::Room,
            Some(to) => Self::Private { sender: sender.to_owned(), recipient: names::fold(to) },
        }
    }
}

impl Files {
    pub fn new(blobs: Blobs, limits: FileLimits, password: Option<Arc<str>>) -> Arc<Self> {
        let quota = Quota::per_minute(NonZeroU32::new(UPLOADS_PER_MINUTE).unwrap_or(NonZeroU32::MIN));
        let files = Arc::new(Self {
            blobs,
            limits,
            key: hmac::Key::generate(hmac::HMAC_SHA256, &ring::rand::SystemRandom::new())
                .unwrap_or_else(|_| hmac::Key::new(hmac::HMAC_SHA256, uuid::Uuid::new_v4().as_bytes())),
            unsent: Mutex::new(HashMap::new()),
            uploads: RateLimiter::keyed(quota),
            password,
            reading: tokio::sync::Semaphore::new(CONCURRENT_UPLOADS),
        });
        tokio::spawn(forget_unsent(Arc::downgrade(&files)));
        files
    }

    fn unsent(&self) -> MutexGuard<'_, HashMap<String, (FileMeta, Instant)>> {
        self.unsent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The `files` event for a socket that registered `name`.
    pub fn offer(&self, sid: Sid, name: &str) -> FilesOffer {
        let payload = format!("{sid}\n{}", names::fold(name));
        let tag = hmac::sign(&self.key, payload.as_bytes());
        FilesOffer {
            token: format!("{}.{}", hex(payload.as_bytes()), hex(tag.as_ref())),
            max_bytes: self.limits.max_bytes,
            upload: "/files".to_owned(),
        }
    }

    /// The socket and folded name a token was given to, if it is one of ours.
    pub fn holder(&self, token: &str) -> Option<(Sid, String)> {
        let (payload, tag) = token.split_once('.')?;
        let payload = unhex(payload)?;
        hmac::verify(&self.key, &payload, &unhex(tag)?).ok()?;
        let (sid, key) = std::str::from_utf8(&payload).ok()?.split_once('\n')?;
        Some((sid.parse().ok()?, key.to_owned()))
    }

    /// Sends an upload in a message of `sender` (a folded name) to `audience`: its attachment, or
    /// `unknown_file` when it is not this sender's unsent upload.
    pub fn claim(&self, id: &str, sender: &str, audience: Audience) -> Result<FileMeta, RefusalCode> {
        let mut unsent = self.unsent();
        match unsent.get(id) {
            Some((meta, _)) if meta.uploader == sender => {}
            _ => return Err(RefusalCode::UnknownFile),
        }
        let (mut meta, _) = unsent.remove(id).ok_or(RefusalCode::UnknownFile)?;
        meta.audience = Some(audience);
        Ok(meta)
    }

    /// A claimed upload whose message could not be stored: unsent again, so it can be sent later.
    pub fn unclaim(&self, mut meta: FileMeta) {
        meta.audience = None;
        self.unsent().insert(meta.attachment.id.clone(), (meta, Instant::now()));
    }

    /// Writes where a sent file belongs, so that downloads are checked against it: at once in this
    /// process, on disk (or in Redis) soon after.
    pub fn sent(self: &Arc<Self>, meta: FileMeta) {
        self.blobs.remember(&meta);
        let files = self.clone();
        tokio::spawn(async move {
            if let Err(error) = files.blobs.set_meta(&meta).await {
                tracing::error!(%error, id = meta.attachment.id, "a sent file's audience was not stored");
            }
        });
    }

    /// Files whose messages left the history: their bytes go (downloads answer `410`), soon after.
    pub fn expire(self: &Arc<Self>, ids: Vec<String>) {
        let files = self.clone();
        tokio::spawn(async move {
            for id in ids {
                match files.blobs.expire(&id).await {
                    Ok(()) => tracing::info!(id, "a file's message left the history: the file is removed"),
                    Err(error) => tracing::error!(%error, id, "a file whose message left the history was not removed"),
                }
            }
        });
    }

    /// The room password, for HTTP Basic downloads of room files.
    fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }
}

/// Checks a message's own text: a message with a file may have no caption.
pub fn check_caption(caption: &str, with_file: bool, limits: &Limits) -> Result<(), RefusalCode> {
    match with_file && caption.trim().is_empty() {
        true => Ok(()),
        false => text::check(caption, limits),
    }
}

/// A message's text and file: without `attachment`, the caption as it is; with one, the file claimed
/// for `sender` (a folded name) and its `recipient` (a private message's addressee, else the room),
/// and the readable line about it.
pub fn attach(
    files: Option<&Files>,
    caption: String,
    attachment: Option<&str>,
    sender: &str,
    recipient: Option<&str>,
) -> Result<(String, Option<FileMeta>), RefusalCode> {
    let Some(id) = attachment else { return Ok((caption, None)) };
    let meta = files.ok_or(RefusalCode::UnknownFile)?.claim(id, sender, Audience::of(sender, recipient))?;
    Ok((readable_line(&caption, &meta), Some(meta)))
}

/// The readable line a plain client shows for a file: the caption, then `📎 name (size) URL`.
pub fn readable_line(caption: &str, meta: &FileMeta) -> String {
    let a = &meta.attachment;
    let size = humansize::format_size(a.size, humansize::DECIMAL);
    let line = format!("📎 {} ({size}) {}{}", a.name, meta.origin, a.url);
    match caption.trim() {
        "" => line,
        caption => format!("{caption}\n{line}"),
    }
}

/// Deletes uploads nobody sent within [`UNSENT_UPLOAD_TTL`], once a minute, while the service lives.
async fn forget_unsent(files: std::sync::Weak<Files>) {
    loop {
        tokio::time::sleep(Duration::from_secs(60).min(UNSENT_UPLOAD_TTL)).await;
        let Some(files) = files.upgrade() else { return };
        let expired: Vec<String> = {
            let mut unsent = files.unsent();
            let old: Vec<String> = unsent
                .iter()
                .filter(|(_, (_, at))| at.elapsed() >= UNSENT_UPLOAD_TTL)
                .map(|(id, _)| id.clone())
                .collect();
            old.iter().for_each(|id| drop(unsent.remove(id)));
            old
        };
        for id in expired {
            tracing::debug!(id, "an upload that was never sent is deleted");
            if let Err(error) = files.blobs.remove(&id).await {
                tracing::warn!(%error, id, "an unsent upload could not be deleted");
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 4096 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_names_its_socket_and_cannot_be_forged() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::new(
            Blobs::folder(dir.path().to_owned()).await.unwrap(),
            FileLimits { max_bytes: 10, quota_bytes: 100 },
            None,
        );
        let sid = Sid::new();
        let offer = files.offer(sid, "Alice");
        assert_eq!(files.holder(&offer.token), Some((sid, names::fold("Alice"))));
        let (payload, tag) = offer.token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", hex(format!("{sid}\n{}", names::fold("bob")).as_bytes()));
        assert_eq!(files.holder(&forged), None);
        assert_eq!(files.holder(&format!("{payload}.00")), None);
        assert_eq!(files.holder("garbage"), None);
    }

    #[test]
    fn the_readable_line_has_the_caption_name_size_and_absolute_url() {
        let meta = FileMeta {
            attachment: Attachment {
                id: "ab".repeat(16),
                name: "report.pdf".into(),
                size: 1_234_567,
                mime: "application/pdf".into(),
                width: None,
                height: None,
                url: "/files/abab/report.pdf".into(),
                thumbnail: None,
            },
            uploader: "alice".into(),
            created: 0,
            audience: None,
            origin: "http://10.0.0.2:7878".into(),
        };
        assert_eq!(readable_line("", &meta), "📎 report.pdf (1.23 MB) http://10.0.0.2:7878/files/abab/report.pdf");
        assert_eq!(readable_line("the numbers", &meta).lines().next(), Some("the numbers"));
    }
}
