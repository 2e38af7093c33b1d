//! The chat log in an SQLite file (`--data-dir`): every message, kept across restarts and crashes.
//!
//! Durability: write-ahead logging with `synchronous=NORMAL`. A transaction is committed when its
//! frames are written to the `-wal` file (a `write`, no `fsync`): it is in the kernel then, so it
//! survives the server being killed (SIGKILL, a panic, the OOM killer), which is what an ack
//! promises. It does not survive a power loss or a kernel crash until the next checkpoint syncs
//! the files; `synchronous=FULL` would, at one `fsync` per transaction (a batch: group commit).
//!
//! One server at a time: the file is opened in exclusive locking mode, so a second server on the
//! same data directory (or anyone else writing to it) is refused at start. With that mode the WAL
//! index lives in this process's memory, not in a `-shm` file.

use std::{
    fs::{DirBuilder, OpenOptions},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use confab_protocol::{names, ChatMessage};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, Row};
use rusqlite_migration::{MigrationDefinitionError, Migrations, M};

use super::{Page, Store, StoreError, LOG_FILE};
use crate::history::History;

/// The schema, one migration per version (`PRAGMA user_version` counts them). Never edit one that
/// shipped: add the next.
const SCHEMA: &[M<'static>] = &[
    M::up(
        "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;
     -- Every sequenced message: chat lines (kind NULL) and Server announcements (kind and name).
     CREATE TABLE log (
         id INTEGER PRIMARY KEY NOT NULL,
         ts INTEGER NOT NULL,
         sender TEXT NOT NULL,
         text TEXT NOT NULL,
         kind TEXT,
         name TEXT
     ) STRICT;",
    ),
    // Private messages (protocol §2.10): the addressee, and both folded names, which decide who
    // may read it in `history`. NULL on everything else.
    M::up(
        "ALTER TABLE log ADD COLUMN recipient TEXT;
         ALTER TABLE log ADD COLUMN sender_key TEXT;
         ALTER TABLE log ADD COLUMN recipient_key TEXT;",
    ),
    // Files (protocol §2.11): the message's attachment as its JSON.
    M::up("ALTER TABLE log ADD COLUMN attachment TEXT;"),
];
const MIGRATIONS: Migrations<'static> = Migrations::from_slice(SCHEMA);

/// How long opening waits for another process to let go of the file (a server that is stopping).
const OPEN_BUSY_TIMEOUT: Duration = Duration::from_secs(2);

const INSERT: &str = "INSERT INTO log (id, ts, sender, text, kind, name, recipient, sender_key, recipient_key, \
                      attachment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
/// Chat messages in `?1 < id < ?2`, at most `?3`, that the viewer `?4` (a folded name; NULL: the
/// server itself, who reads everything) may see.
const OLDEST_FIRST: &str =
    "SELECT id, sender, text, ts, recipient, attachment FROM log WHERE kind IS NULL AND id > ?1 AND id < ?2 \
     AND (?4 IS NULL OR recipient_key IS NULL OR recipient_key = ?4 OR sender_key = ?4) ORDER BY id ASC LIMIT ?3";
const NEWEST_FIRST: &str =
    "SELECT id, sender, text, ts, recipient, attachment FROM log WHERE kind IS NULL AND id > ?1 AND id < ?2 \
     AND (?4 IS NULL OR recipient_key IS NULL OR recipient_key = ?4 OR sender_key = ?4) ORDER BY id DESC LIMIT ?3";

/// The log in `<data dir>/chat.sqlite3`, with its newest chat messages cached in memory.
pub struct SqliteStore {
    path: PathBuf,
    /// `None` once closed.
    connection: Option<Connection>,
    run: String,
    last_id: u64,
    cache: History,
}

impl SqliteStore {
    /// Opens (or creates) the log in `data_dir`, or says in words why it cannot be used.
    pub fn open(data_dir: &Path, cache: usize) -> Result<Self, StoreError> {
        let path = data_dir.join(LOG_FILE);
        let refuse = |reason: String| StoreError::Open { path: path.clone(), reason };
        let mut folder = DirBuilder::new();
        folder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
        folder.create(data_dir).map_err(|e| refuse(format!("cannot create its folder: {e}")))?;
        // std says why a file cannot be opened (permission denied, a folder in the way) where
        // SQLite only says "unable to open database file"; it also makes a new log private.
        let mut file = OpenOptions::new();
        file.read(true).write(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        file.open(&path).map_err(|e| refuse(e.to_string()))?;

        let mut connection =
            Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(|e| refuse(explain(&e)))?;
        configure(&connection).map_err(refuse)?;
        MIGRATIONS.to_latest(&mut connection).map_err(|e| refuse(explain_migration(&connection, e)))?;
        let (run, last_id, cache) = load(&mut connection, cache).map_err(|e| refuse(explain(&e)))?;
        tracing::info!(path = %path.display(), last_id, "chat log opened");
        Ok(Self { path, connection: Some(connection), run, last_id, cache })
    }

    fn connection(&self) -> Result<&Connection, StoreError> {
        self.connection.as_ref().ok_or_else(|| StoreError::Closed { path: self.path.clone() })
    }

    fn failed(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Failed { path: self.path.clone(), source }
    }
}

/// Exclusive locking first: set before the first WAL access, it keeps the WAL index in memory.
fn configure(connection: &Connection) -> Result<(), String> {
    let explained = |e: rusqlite::Error| explain(&e);
    connection.busy_timeout(OPEN_BUSY_TIMEOUT).map_err(explained)?;
    connection.pragma_update(None, "locking_mode", "EXCLUSIVE").map_err(explained)?;
    let mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).map_err(explained)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("it cannot use write-ahead logging (journal mode {mode})"));
    }
    connection.pragma_update(None, "synchronous", "NORMAL").map_err(explained)
}

/// The run (made on first open), the last id and the newest `capacity` chat messages. Writing the
/// run (or trying to) also takes the file's write lock for as long as the server runs.
fn load(connection: &mut Connection, capacity: usize) -> rusqlite::Result<(String, u64, History)> {
    let transaction = connection.transaction()?;
    transaction.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('run', ?1)", [super::new_run()])?;
    let run: String = transaction.query_row("SELECT value FROM meta WHERE key = 'run'", [], |row| row.get(0))?;
    let last_id: i64 = transaction.query_row("SELECT COALESCE(MAX(id), 0) FROM log", [], |row| row.get(0))?;
    let last_id = unsigned(last_id);
    let mut newest = {
        let mut select = transaction.prepare(NEWEST_FIRST)?;
        let rows = select.query_map(params![0, i64::MAX, capacity as i64, None::<&str>], chat_message)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    transaction.commit()?;
    newest.reverse();
    // Fewer than asked for: that is every chat message there is. Else older ones may exist.
    let complete_from = match newest.first() {
        _ if capacity == 0 => last_id + 1,
        Some(oldest) if newest.len() == capacity => oldest.id.unwrap_or_default(),
        _ => 0,
    };
    Ok((run, last_id, History::restore(capacity, newest, complete_from)))
}

fn chat_message(row: &Row<'_>) -> rusqlite::Result<Arc<ChatMessage>> {
    let (id, from, text, ts): (i64, String, String, i64) = (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
    let (id, ts) = (unsigned(id), unsigned(ts));
    let mut message = match row.get::<_, Option<String>>(4)? {
        None => ChatMessage::chat(from.into(), text.into(), id, ts),
        Some(to) => ChatMessage::private(from.into(), to.into(), text.into(), id, ts),
    };
    let attachment = row.get::<_, Option<String>>(5)?;
    message.attachment = attachment.and_then(|json| serde_json::from_str(&json).ok()).map(Arc::new);
    Ok(Arc::new(message))
}

/// An id or time as SQLite's signed integer (neither comes near `i64::MAX`; a bound may be `u64::MAX`).
fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// What [`signed`] stored (this program never stores a negative one).
fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// Why SQLite refused the file, in words.
fn explain(error: &rusqlite::Error) -> String {
    let why = match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => {
            "it is not an SQLite database (a damaged or foreign file): move it away to start a new log"
        }
        Some(ErrorCode::DatabaseCorrupt) => "it is damaged: move it away to start a new log",
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            "it is in use by another process (another confab-server with the same --data-dir?)"
        }
        Some(ErrorCode::ReadOnly) => {
            "it cannot be written to (the server must be able to write it and create files beside it)"
        }
        Some(ErrorCode::PermissionDenied | ErrorCode::CannotOpen) => "permission denied",
        Some(ErrorCode::DiskFull) => "the disk is full",
        _ => return error.to_string(),
    };
    format!("{why} ({error})")
}

fn explain_migration(connection: &Connection, error: rusqlite_migration::Error) -> String {
    match error {
        rusqlite_migration::Error::MigrationDefinition(MigrationDefinitionError::DatabaseTooFarAhead) => {
            let version: i64 =
                connection.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap_or_default();
            format!(
                "it was written by a newer confab-server (schema version {version}; this one knows up to {}): \
                 run that version, or start a new log with another --data-dir",
                SCHEMA.len()
            )
        }
        rusqlite_migration::Error::RusqliteError { err, .. } => explain(&err),
        other => other.to_string(),
    }
}

impl Store for SqliteStore {
    fn run(&self) -> &str {
        &self.run
    }

    fn last_id(&self) -> u64 {
        self.last_id
    }

    fn touches_disk(&self) -> bool {
        true
    }

    fn append(&mut self, messages: &[Arc<ChatMessage>]) -> Result<(), StoreError> {
        let path = &self.path;
        let connection = self.connection.as_mut().ok_or_else(|| StoreError::Closed { path: path.clone() })?;
        let written = (|| {
            let transaction = connection.transaction()?;
            {
                let mut insert = transaction.prepare_cached(INSERT)?;
                for m in messages {
                    let kind = m.kind.map(|kind| kind.as_str());
                    let id = signed(m.id.unwrap_or_default());
                    let to = m.to.as_deref();
                    let keys = to.map(|to| (names::fold(&m.from), names::fold(to)));
                    let (sender_key, recipient_key) = keys.as_ref().map(|(s, r)| (s.as_str(), r.as_str())).unzip();
                    let attachment = m.attachment.as_deref().and_then(|a| serde_json::to_string(a).ok());
                    insert.execute(params![
                        id,
                        signed(m.ts),
                        &*m.from,
                        &*m.message,
                        kind,
                        m.name.as_deref(),
                        to,
                        sender_key,
                        recipient_key,
                        attachment
                    ])?;
                }
            }
            transaction.commit()
        })();
        written.map_err(|source| StoreError::Failed { path: path.clone(), source })?;
        for message in messages {
            self.last_id = message.id.unwrap_or(self.last_id);
            if message.kind.is_none() {
                self.cache.push(message.clone());
            }
        }
        Ok(())
    }

    fn page(&self, page: &Page) -> Result<Vec<Arc<ChatMessage>>, StoreError> {
        if self.cache.covers(page) {
            return Ok(self.cache.page(page));
        }
        let sql = if page.from_newest { NEWEST_FIRST } else { OLDEST_FIRST };
        let limit = i64::try_from(page.max_messages).unwrap_or(i64::MAX);
        self.connection()?
            .prepare_cached(sql)
            .and_then(|mut select| {
                let viewer = page.viewer.as_deref();
                let rows =
                    select.query_map(params![signed(page.after), signed(page.before), limit, viewer], chat_message)?;
                // Rows are read only while the page has room: a page of large messages is full after
                // a few dozen of its 200 (reading them all cost a room under a history burst ~1 s).
                let mut failure = None;
                let taken = page.take(rows.map_while(|row| row.map_err(|e| failure = Some(e)).ok()));
                failure.map_or(Ok(taken), Err)
            })
            .map_err(|e| self.failed(e))
    }

    fn close(&mut self) {
        let Some(connection) = self.connection.take() else { return };
        // Closing checkpoints the WAL into the database file and removes it.
        if let Err((_, error)) = connection.close() {
            tracing::error!(path = %self.path.display(), %error, "closing the chat log");
        }
    }
}

#[cfg(test)]
mod tests {
    use confab_protocol::AnnouncementKind;

    use super::*;

    fn chat(id: u64) -> Arc<ChatMessage> {
        Arc::new(ChatMessage::chat("ann".into(), format!("m{id}").into(), id, 1_700_000_000_000 + id))
    }

    fn join(id: u64) -> Arc<ChatMessage> {
        Arc::new(ChatMessage::announcement(AnnouncementKind::Join, Some("ann".into()), id, 0))
    }

    fn ids(messages: &[Arc<ChatMessage>]) -> Vec<u64> {
        messages.iter().filter_map(|m| m.id).collect()
    }

    fn open_error(dir: &Path) -> String {
        match SqliteStore::open(dir, 10) {
            Err(error @ StoreError::Open { .. }) => error.to_string(),
            Err(other) => panic!("expected an open error, got {other}"),
            Ok(_) => panic!("expected {} to be refused", dir.display()),
        }
    }

    #[test]
    fn ids_the_run_and_every_message_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path(), 3).unwrap();
        assert_eq!(store.last_id(), 0);
        let run = store.run().to_owned();
        assert_eq!(run.len(), 32);
        store.append(&[join(1), chat(2), chat(3)]).unwrap();
        store.append(&[chat(4), join(5), chat(6), chat(7)]).unwrap();
        store.close();

        let store = SqliteStore::open(dir.path(), 3).unwrap();
        assert_eq!(store.run(), run, "the run names the stored sequence");
        assert_eq!(store.last_id(), 7, "announcements count");
        let everything = Page {
            after: 0,
            before: u64::MAX,
            from_newest: false,
            max_messages: 100,
            max_bytes: 1 << 20,
            viewer: None,
        };
        assert_eq!(ids(&store.page(&everything).unwrap()), vec![2, 3, 4, 6, 7], "chat messages only");
        let back = store.page(&below(6, 2)).unwrap();
        assert_eq!(ids(&back), vec![3, 4], "newest-first cut below 6, oldest first");
        assert_eq!(&*back[0].message, "m3");
        assert_eq!(back[0].ts, 1_700_000_000_003);
        assert_eq!(ids(&store.page(&Page::newest(2, 1 << 20)).unwrap()), vec![6, 7]);

        let other = tempfile::tempdir().unwrap();
        assert_ne!(SqliteStore::open(other.path(), 3).unwrap().run(), run, "a new log is a new run");
    }

    /// The newest `max_messages` below `before`.
    fn below(before: u64, max_messages: usize) -> Page {
        Page { after: 0, before, from_newest: true, max_messages, max_bytes: 1 << 20, viewer: None }
    }

    #[test]
    fn pages_beyond_the_cache_come_from_the_file_and_match_the_cache_where_both_have_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path(), 5).unwrap();
        for id in 1..=50 {
            store.append(&[chat(id)]).unwrap();
        }
        let mut seen = Vec::new();
        let mut before = u64::MAX;
        loop {
            let page = store.page(&below(before, 7)).unwrap();
            let Some(first) = page.first() else { break };
            before = first.id.unwrap();
            seen.splice(0..0, ids(&page));
        }
        assert_eq!(seen, (1..=50).collect::<Vec<_>>(), "paging back reaches the first message");
        let forward =
            Page { after: 40, before: u64::MAX, from_newest: false, max_messages: 3, max_bytes: 1 << 20, viewer: None };
        assert_eq!(ids(&store.page(&forward).unwrap()), vec![41, 42, 43]);
        let between = Page { after: 10, ..below(14, 100) };
        assert_eq!(ids(&store.page(&between).unwrap()), vec![11, 12, 13]);
    }

    #[test]
    fn a_second_server_on_the_same_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = SqliteStore::open(dir.path(), 3).unwrap();
        let error = open_error(dir.path());
        assert!(error.contains("in use by another process"), "{error}");
        assert!(error.contains(&dir.path().join(LOG_FILE).display().to_string()), "names the file: {error}");
    }

    #[test]
    fn a_damaged_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(LOG_FILE);
        std::fs::write(&file, b"these are not the pages you are looking for".repeat(200)).unwrap();
        let error = open_error(dir.path());
        assert!(error.starts_with(&format!("cannot open the chat log {}: ", file.display())), "{error}");
        assert!(error.contains("not an SQLite database"), "{error}");
        assert_eq!(std::fs::read(&file).unwrap().len(), 43 * 200, "left as it was");
    }

    #[test]
    fn the_migrations_are_valid_and_a_log_of_the_first_schema_opens_with_its_messages() {
        MIGRATIONS.validate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        {
            let mut old = Connection::open(dir.path().join(LOG_FILE)).unwrap();
            Migrations::from_slice(&SCHEMA[..1]).to_latest(&mut old).unwrap();
            old.execute("INSERT INTO meta (key, value) VALUES ('run', 'r1')", []).unwrap();
            old.execute("INSERT INTO log (id, ts, sender, text) VALUES (1, 5, 'ann', 'from version 1')", []).unwrap();
        }
        let store = SqliteStore::open(dir.path(), 3).unwrap();
        let page = store.page(&Page::newest(10, 1 << 20).seen_by("bob")).unwrap();
        assert_eq!(page.iter().map(|m| &*m.message).collect::<Vec<_>>(), ["from version 1"]);
        assert_eq!((store.run(), store.last_id()), ("r1", 1));
    }

    #[test]
    fn a_log_of_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        SqliteStore::open(dir.path(), 3).unwrap().close();
        let connection = Connection::open(dir.path().join(LOG_FILE)).unwrap();
        connection.pragma_update(None, "user_version", 7).unwrap();
        drop(connection);
        let error = open_error(dir.path());
        let expected = format!("newer confab-server (schema version 7; this one knows up to {})", SCHEMA.len());
        assert!(error.contains(&expected), "{error}");
    }

    #[test]
    fn a_folder_in_the_way_is_said_as_such() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(LOG_FILE)).unwrap();
        let error = open_error(dir.path());
        assert!(error.to_lowercase().contains("is a directory"), "{error}");
    }

    #[test]
    fn a_closed_log_refuses_further_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path(), 3).unwrap();
        store.close();
        assert!(matches!(store.append(&[chat(1)]), Err(StoreError::Closed { .. })));
    }
}
