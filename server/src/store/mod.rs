//! The chat log: every message the room sequenced, chat lines and announcements alike (issue:
//! "nothing acknowledged is ever lost").
//!
//! One interface, [`Store`], with one implementation per place the log can live: [`memory`] (the
//! newest messages in memory, gone when the process ends: `--ephemeral`, the library's default)
//! and [`sqlite`] (a file, kept across restarts and crashes). The room stores a message before
//! anyone sees it ([`Store::append`] returns once it is durable), and serves `history` from the store.

mod memory;
mod sqlite;

use std::{path::PathBuf, sync::Arc};

use confab_protocol::{ChatMessage, Limits};

use crate::{
    chat::Chat,
    cluster::{ClusterConfig, ClusterRoom},
    files::{Blobs, FileLimits, Files},
    room::Room,
};

pub use crate::history::Page;

/// The file the SQLite log is kept in, inside the data directory.
pub const LOG_FILE: &str = "chat.sqlite3";

/// Where a server keeps its chat log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoreConfig {
    /// In memory only: the last `history_capacity` chat messages, lost when the server stops, and
    /// a new run of ids (`welcome.run`) at every start.
    #[default]
    InMemory,
    /// In `data_dir/chat.sqlite3` (created when missing): every message, kept across restarts and
    /// crashes of the process; ids go on where they stopped and `welcome.run` stays the same.
    Sqlite { data_dir: PathBuf },
    /// In Redis (or Valkey), shared by every node started with the same URL: one chat across
    /// several servers (`--redis`, [`crate::cluster`]).
    Redis(ClusterConfig),
}

impl StoreConfig {
    /// The file the log is kept in, if any.
    pub fn file(&self) -> Option<PathBuf> {
        match self {
            Self::InMemory | Self::Redis(_) => None,
            Self::Sqlite { data_dir } => Some(data_dir.join(LOG_FILE)),
        }
    }

    /// Opens the chat on this log, keeping `cache` chat messages in memory, with files beside it
    /// when `files` says so (protocol §2.11); a newcomer's history is at most `welcome_bytes`.
    pub(crate) async fn open(
        &self,
        limits: Limits,
        cache: usize,
        welcome_bytes: usize,
        files: Option<(FileLimits, Option<Arc<str>>)>,
    ) -> crate::Result<Chat> {
        let (store, folder): (Box<dyn Store>, _) = match self {
            Self::InMemory => (Box::new(memory::MemoryStore::new(cache)), None),
            Self::Sqlite { data_dir } => {
                (Box::new(sqlite::SqliteStore::open(data_dir, cache)?), Some(data_dir.join("files")))
            }
            Self::Redis(cluster) => {
                return Ok(Chat::Cluster(
                    ClusterRoom::start(cluster.clone(), limits, cache, welcome_bytes, files).await?,
                ));
            }
        };
        let files = match files {
            None => None,
            Some((file_limits, password)) => {
                let blobs = match &folder {
                    Some(dir) => Blobs::folder(dir.clone()).await,
                    None => Blobs::temporary().await,
                };
                let path = folder.unwrap_or_else(std::env::temp_dir);
                let blobs = blobs.map_err(|e| StoreError::Open { path, reason: e.to_string() })?;
                Some(Files::new(blobs, file_limits, password))
            }
        };
        Ok(Chat::Single(Arc::new(Room::new(store, limits, welcome_bytes, files))))
    }
}

/// A chat log. The room calls it under its lock, so every call is short.
pub(crate) trait Store: Send {
    /// Names this log's id sequence (`welcome.run`): ids compare only within one run.
    fn run(&self) -> &str;

    /// The id of the newest stored message, announcements included (0 when there is none).
    fn last_id(&self) -> u64;

    /// Stores `messages` (increasing ids above [`Store::last_id`]) all together or not at all.
    /// Once it returns `Ok` they survive a crash of the process.
    fn append(&mut self, messages: &[Arc<ChatMessage>]) -> Result<(), StoreError>;

    /// The chat messages (never announcements) of `page`, oldest first.
    fn page(&self, page: &Page) -> Result<Vec<Arc<ChatMessage>>, StoreError>;

    /// The files of messages that left this log since the last call (a log that keeps only the
    /// newest messages): their bytes go too (issue 13: files follow the history).
    fn forgotten_files(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// Whether a write waits for the disk: then a task of its own writes, on the blocking pool.
    fn touches_disk(&self) -> bool {
        false
    }

    /// Lets go of the log's files (the server is stopping); later calls fail.
    fn close(&mut self);
}

/// Why the chat log cannot be opened, or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// At start: the server does not run with a log it cannot use.
    #[error("cannot open the chat log {}: {reason}", path.display())]
    Open { path: PathBuf, reason: String },
    /// While running: messages are refused (`unavailable`) until it works again.
    #[error("the chat log {} failed: {source}", path.display())]
    Failed {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The server stopped.
    #[error("the chat log {} is closed", path.display())]
    Closed { path: PathBuf },
}

/// A new name for an id sequence: 32 hex digits.
pub(crate) fn new_run() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
