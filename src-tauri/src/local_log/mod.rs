//! The app's local history (issue 12): every conversation it has seen, kept in
//! `<app data dir>/history.sqlite3`, shown at once when a chat is joined again (also offline) and
//! searched with FTS5. One job per module:
//! - `store`: the SQLite schema and queries (synchronous);
//! - `query`: the user's search words as a safe FTS5 query, highlights as plain offsets;
//! - here: a writer thread, so storing never waits on the UI path, and the `Recorder` the event
//!   bridge feeds with what the session reports.

mod query;
mod store;

use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use confab_protocol::ChatMessage;
use tokio::sync::oneshot;

use crate::client::{ClientEvent, Resume};
use store::Store;
pub use store::{Conversation, SearchHit, StoredPage};

/// The file in the app's data directory.
pub const FILE: &str = "history.sqlite3";

enum Write {
    Record { to: Conversation, run: Option<String>, messages: Vec<ChatMessage> },
    Forget { server: String, done: oneshot::Sender<()> },
}

/// The store, written on a thread of its own and read (history pages, search) on another connection.
pub struct LocalLog {
    writes: Mutex<mpsc::Sender<Write>>,
    reader: Mutex<Store>,
}

impl LocalLog {
    /// Opens the store at `path` (created private) and starts its writer thread.
    pub fn open(path: &Path) -> Result<Arc<LocalLog>, String> {
        let mut writer = Store::open(path)?;
        let reader = Store::open(path)?;
        let (writes, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("local-history".into())
            .spawn(move || {
                for write in queue {
                    apply(&mut writer, write);
                }
            })
            .map_err(|e| format!("cannot start the local history's writer: {e}"))?;
        Ok(Arc::new(LocalLog { writes: Mutex::new(writes), reader: Mutex::new(reader) }))
    }

    fn queue(&self, write: Write) {
        // The writer thread only ends with the process.
        let _ = self.writes.lock().unwrap_or_else(PoisonError::into_inner).send(write);
    }

    /// Newest `limit` messages of a conversation before `before` (a stored `seq`), oldest first.
    pub fn page(&self, of: &Conversation, before: Option<i64>, limit: usize) -> rusqlite::Result<StoredPage> {
        self.reader.lock().unwrap_or_else(PoisonError::into_inner).page(of, before, limit)
    }

    /// Where a join goes on from: the newest id stored of the conversation, and its run.
    pub fn last_seen(&self, of: &Conversation) -> rusqlite::Result<Option<(String, u64)>> {
        self.reader.lock().unwrap_or_else(PoisonError::into_inner).last_seen(of)
    }

    pub fn search(&self, of: &Conversation, input: &str, limit: usize) -> rusqlite::Result<Vec<SearchHit>> {
        self.reader.lock().unwrap_or_else(PoisonError::into_inner).search(of, input, limit)
    }

    /// Deletes what is stored for `server`, after every write queued before; resolves when done.
    pub async fn forget(&self, server: &str) {
        let (done, finished) = oneshot::channel();
        self.queue(Write::Forget { server: server.to_owned(), done });
        let _ = finished.await;
    }
}

fn apply(store: &mut Store, write: Write) {
    match write {
        Write::Record { to, run, messages } => {
            if let Err(e) = store.record(&to, run.as_deref(), &messages) {
                tracing::warn!("could not store {} messages in the local history: {e}", messages.len());
            }
        }
        Write::Forget { server, done } => {
            if let Err(e) = store.forget(&server) {
                tracing::warn!("could not delete the local history of a server: {e}");
            }
            let _ = done.send(());
        }
    }
}

/// The app's local history as Tauri state: `None` when its file cannot be opened (the app then
/// works as before, without it; the reason is logged).
pub struct LocalHistory(pub Option<Arc<LocalLog>>);

impl LocalHistory {
    /// `<data dir>/history.sqlite3`.
    pub fn open_in(data_dir: Option<&Path>) -> LocalHistory {
        let Some(dir) = data_dir else {
            tracing::warn!("no data directory: conversations are not kept on this computer");
            return LocalHistory(None);
        };
        match LocalLog::open(&dir.join(FILE)) {
            Ok(log) => LocalHistory(Some(log)),
            Err(e) => {
                tracing::warn!("the local history cannot be used: {e}");
                LocalHistory(None)
            }
        }
    }

    /// Where the conversation of `username` on `server` stopped on this computer (none: nothing kept).
    pub fn resume(&self, server: &str, username: &str) -> Option<Resume> {
        let of = Conversation { server: server.to_owned(), username: username.trim().to_owned() };
        match self.0.as_ref()?.last_seen(&of) {
            Ok(found) => found.map(|(run, newest_id)| Resume { run, newest_id }),
            Err(e) => {
                tracing::warn!("the local history cannot be read: {e}");
                None
            }
        }
    }

    pub fn recorder(&self, server: &str, username: &str) -> Option<Recorder> {
        Some(Recorder::new(self.0.clone()?, server, username))
    }
}

/// Follows one session's events: `Session` says whose conversation and which run the messages after
/// it belong to; `Messages` and `Delivered` (our own, with the server's id) are stored, one write per
/// batch.
pub struct Recorder {
    log: Arc<LocalLog>,
    to: Conversation,
    run: Option<String>,
}

impl Recorder {
    /// For the session joined as `username` on `server` (normalised), until its `Session` says more.
    pub fn new(log: Arc<LocalLog>, server: &str, username: &str) -> Recorder {
        Recorder { log, to: Conversation { server: server.to_owned(), username: username.to_owned() }, run: None }
    }

    pub fn observe(&mut self, events: &[ClientEvent]) {
        let mut batch = Vec::new();
        for event in events {
            match event {
                ClientEvent::Session { name, server, run, .. } => {
                    self.flush(&mut batch);
                    self.to = Conversation { server: server.clone(), username: name.clone() };
                    self.run = run.clone();
                }
                ClientEvent::Messages { messages } => batch.extend(messages.iter().cloned()),
                ClientEvent::Delivered { message, .. } => batch.push(message.clone()),
                _ => {}
            }
        }
        self.flush(&mut batch);
    }

    fn flush(&self, batch: &mut Vec<ChatMessage>) {
        if batch.is_empty() {
            return;
        }
        let messages = std::mem::take(batch);
        self.log.queue(Write::Record { to: self.to.clone(), run: self.run.clone(), messages });
    }
}

#[cfg(test)]
mod tests;
