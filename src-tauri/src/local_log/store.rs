//! The local history in one SQLite file: every message the app has seen, per conversation (server
//! URL, normalised, and the name joined with) and per run of the server's ids, with an FTS5 index
//! over the text. Synchronous: `LocalLog` (mod.rs) keeps it off the UI path.

use std::fs::{DirBuilder, OpenOptions};
use std::path::Path;
use std::time::Duration;

use confab_protocol::ChatMessage;
use rusqlite::{params, Connection, OptionalExtension, Row};
use rusqlite_migration::{Migrations, M};
use serde::Serialize;
use serde_json::{Map, Value};

use super::query::{fts_query, unmark, MARK_CLOSE, MARK_OPEN};

/// One migration per version (`PRAGMA user_version` counts them). Never edit one that shipped.
const SCHEMA: &[M<'static>] = &[M::up(
    "CREATE TABLE conversations (
         key INTEGER PRIMARY KEY NOT NULL,
         server TEXT NOT NULL,
         username TEXT NOT NULL,
         UNIQUE (server, username)
     ) STRICT;
     -- A run of the server's ids ('' from a server that names none); keys grow in the order runs are
     -- first seen, so ordering by run puts a restarted server's new conversation after the old one.
     CREATE TABLE runs (
         key INTEGER PRIMARY KEY NOT NULL,
         conversation INTEGER NOT NULL REFERENCES conversations (key),
         run TEXT NOT NULL,
         UNIQUE (conversation, run)
     ) STRICT;
     -- ord: the server's id, or the time for messages without one (seed servers).
     CREATE TABLE messages (
         seq INTEGER PRIMARY KEY NOT NULL,
         run INTEGER NOT NULL REFERENCES runs (key),
         id INTEGER,
         ord INTEGER NOT NULL,
         ts INTEGER NOT NULL,
         sender TEXT NOT NULL,
         text TEXT NOT NULL,
         kind TEXT,
         extra TEXT
     ) STRICT;
     CREATE UNIQUE INDEX messages_by_id ON messages (run, id) WHERE id IS NOT NULL;
     CREATE UNIQUE INDEX messages_without_id ON messages (run, sender, text, ts) WHERE id IS NULL;
     CREATE INDEX messages_in_order ON messages (run, ord, seq);
     CREATE VIRTUAL TABLE messages_text USING fts5 (
         text, content = 'messages', content_rowid = 'seq', tokenize = 'unicode61 remove_diacritics 2'
     );
     CREATE TRIGGER messages_indexed AFTER INSERT ON messages BEGIN
         INSERT INTO messages_text (rowid, text) VALUES (new.seq, new.text);
     END;
     CREATE TRIGGER messages_unindexed AFTER DELETE ON messages BEGIN
         INSERT INTO messages_text (messages_text, rowid, text) VALUES ('delete', old.seq, old.text);
     END;",
)];
const MIGRATIONS: Migrations<'static> = Migrations::from_slice(SCHEMA);

/// Columns of a message, in the order `stored` reads them.
const COLUMNS: &str = "m.seq, r.run, m.id, m.ts, m.sender, m.text, m.kind, m.extra";
/// Newest first, before the message `?2` (its seq; none: from the newest).
const PAGE: &str = "SELECT m.seq, r.run, m.id, m.ts, m.sender, m.text, m.kind, m.extra
     FROM messages m JOIN runs r ON r.key = m.run
     WHERE r.conversation = ?1
       AND (?2 IS NULL OR (m.run, m.ord, m.seq) < (SELECT run, ord, seq FROM messages WHERE seq = ?2))
     ORDER BY m.run DESC, m.ord DESC, m.seq DESC LIMIT ?3";

/// A message as stored: `seq` is its place in the local store (where "load older" goes on from),
/// `run` the server's run it belongs to (lines of another run are never merged by id).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredMessage {
    pub seq: i64,
    pub run: Option<String>,
    #[serde(flatten)]
    pub message: ChatMessage,
}

/// A page of the local history, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredPage {
    pub messages: Vec<StoredMessage>,
    /// Nothing older is stored.
    pub start_reached: bool,
}

/// A message that matches a search: its snippet as plain text, the matches as `[start, end)` in
/// UTF-16 units of the snippet.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    pub seq: i64,
    pub run: Option<String>,
    pub id: Option<u64>,
    pub ts: u64,
    pub from: String,
    pub snippet: String,
    pub ranges: Vec<[usize; 2]>,
}

/// Whose conversation: the normalised server URL and the name joined with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Conversation {
    pub server: String,
    pub username: String,
}

pub struct Store {
    connection: Connection,
}

impl Store {
    /// Opens (or creates) the store at `path`: the folder private (0700), the file too (0600).
    pub fn open(path: &Path) -> Result<Store, String> {
        if let Some(folder) = path.parent() {
            let mut builder = DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
        }
        let mut file = OpenOptions::new();
        file.read(true).write(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        file.open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let connection = Connection::open(path).map_err(|e| e.to_string())?;
        // WAL: the writer thread and the readers (history, search) do not wait for each other.
        connection.busy_timeout(Duration::from_secs(5)).map_err(|e| e.to_string())?;
        connection.pragma_update(None, "journal_mode", "WAL").map_err(|e| e.to_string())?;
        connection.pragma_update(None, "synchronous", "NORMAL").map_err(|e| e.to_string())?;
        Store::migrated(connection)
    }

    #[cfg(test)]
    pub fn in_memory() -> Store {
        Store::migrated(Connection::open_in_memory().unwrap()).unwrap()
    }

    fn migrated(mut connection: Connection) -> Result<Store, String> {
        MIGRATIONS.to_latest(&mut connection).map_err(|e| format!("cannot prepare the local history: {e}"))?;
        Ok(Store { connection })
    }

    /// Stores what was seen in `run` (None: the server names no run); a message already there (same
    /// run and id, or without an id the same sender, text and time) is left as it is. Returns how
    /// many were new.
    pub fn record(
        &mut self,
        to: &Conversation,
        run: Option<&str>,
        messages: &[ChatMessage],
    ) -> rusqlite::Result<usize> {
        let transaction = self.connection.transaction()?;
        transaction.execute(
            "INSERT OR IGNORE INTO conversations (server, username) VALUES (?1, ?2)",
            params![to.server, to.username],
        )?;
        transaction.execute(
            "INSERT OR IGNORE INTO runs (conversation, run)
             SELECT key, ?3 FROM conversations WHERE server = ?1 AND username = ?2",
            params![to.server, to.username, run.unwrap_or("")],
        )?;
        let run_key: i64 = transaction.query_row(
            "SELECT r.key FROM runs r JOIN conversations c ON c.key = r.conversation
             WHERE c.server = ?1 AND c.username = ?2 AND r.run = ?3",
            params![to.server, to.username, run.unwrap_or("")],
            |row| row.get(0),
        )?;
        let mut added = 0;
        {
            let mut insert = transaction.prepare_cached(
                "INSERT OR IGNORE INTO messages (run, id, ord, ts, sender, text, kind, extra)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for message in messages {
                let (kind, extra) = kind_and_extra(message);
                // SQLite integers are i64; ids and times are far below its maximum.
                let (id, ts) = (message.id.map(|id| id as i64), message.ts as i64);
                added += insert.execute(params![
                    run_key,
                    id,
                    id.unwrap_or(ts),
                    ts,
                    &*message.from,
                    &*message.message,
                    kind,
                    extra
                ])?;
            }
        }
        transaction.commit()?;
        Ok(added)
    }

    /// Up to `limit` messages of the conversation before `before` (a `seq`; none: the newest),
    /// oldest first, across runs in the order they were seen.
    pub fn page(&self, of: &Conversation, before: Option<i64>, limit: usize) -> rusqlite::Result<StoredPage> {
        let Some(key) = self.conversation_key(of)? else {
            return Ok(StoredPage { messages: Vec::new(), start_reached: true });
        };
        let mut statement = self.connection.prepare_cached(PAGE)?;
        // One more than asked: whether anything older is left, without a second query.
        let mut messages = statement
            .query_map(params![key, before, limit as i64 + 1], stored)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let start_reached = messages.len() <= limit;
        messages.truncate(limit);
        messages.reverse();
        Ok(StoredPage { messages, start_reached })
    }

    /// The newest server id stored of the conversation, with its run: the latest run seen that has
    /// ids, and of a server that names its runs (ids of an unnamed run cannot be compared).
    pub fn last_seen(&self, of: &Conversation) -> rusqlite::Result<Option<(String, u64)>> {
        self.connection
            .prepare_cached(
                "SELECT r.run, MAX(m.id) FROM runs r JOIN messages m ON m.run = r.key
                 WHERE r.conversation = (SELECT key FROM conversations WHERE server = ?1 AND username = ?2)
                   AND r.run != '' AND m.id IS NOT NULL
                 GROUP BY r.key ORDER BY r.key DESC LIMIT 1",
            )?
            .query_row(params![of.server, of.username], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))
            .optional()
    }

    /// Chat messages of the conversation matching every word of `input` (the last as a prefix),
    /// newest first, at most `limit`. Announcements are left out: their names would match everywhere.
    pub fn search(&self, of: &Conversation, input: &str, limit: usize) -> rusqlite::Result<Vec<SearchHit>> {
        let (Some(query), Some(key)) = (fts_query(input), self.conversation_key(of)?) else {
            return Ok(Vec::new());
        };
        // The newest matches are picked first: snippets (the costly part) are made for those only.
        // CROSS JOIN keeps the full-text match as the outer loop: SQLite would otherwise run the
        // match once per message of the conversation (measured: 1.5 s instead of ms for 5000).
        let sql = format!(
            "SELECT {COLUMNS}, snippet(messages_text, 0, ?3, ?4, '…', 16)
             FROM messages_text CROSS JOIN messages m ON m.seq = messages_text.rowid CROSS JOIN runs r ON r.key = m.run
             WHERE messages_text MATCH ?2 AND m.seq IN (
                 SELECT m.seq FROM messages_text CROSS JOIN messages m ON m.seq = messages_text.rowid
                 CROSS JOIN runs r ON r.key = m.run
                 WHERE messages_text MATCH ?2 AND r.conversation = ?1 AND m.kind IS NULL
                 ORDER BY m.run DESC, m.ord DESC, m.seq DESC LIMIT ?5)
             ORDER BY m.run DESC, m.ord DESC, m.seq DESC"
        );
        let mut statement = self.connection.prepare_cached(&sql)?;
        let rows = statement.query_map(
            params![key, query, MARK_OPEN.to_string(), MARK_CLOSE.to_string(), limit as i64],
            |row| {
                let found = stored(row)?;
                let marked: String = row.get(8)?;
                let has_marks = found.message.message.contains([MARK_OPEN, MARK_CLOSE]);
                let (snippet, ranges) = unmark(&marked, has_marks);
                Ok(SearchHit {
                    seq: found.seq,
                    run: found.run,
                    id: found.message.id,
                    ts: found.message.ts,
                    from: found.message.from.to_string(),
                    snippet,
                    ranges,
                })
            },
        )?;
        rows.collect()
    }

    /// Deletes everything stored for `server` (every name joined with). Returns how many messages.
    pub fn forget(&mut self, server: &str) -> rusqlite::Result<usize> {
        let transaction = self.connection.transaction()?;
        let removed = transaction.execute(
            "DELETE FROM messages WHERE run IN
             (SELECT r.key FROM runs r JOIN conversations c ON c.key = r.conversation WHERE c.server = ?1)",
            [server],
        )?;
        transaction.execute(
            "DELETE FROM runs WHERE conversation IN (SELECT key FROM conversations WHERE server = ?1)",
            [server],
        )?;
        transaction.execute("DELETE FROM conversations WHERE server = ?1", [server])?;
        transaction.commit()?;
        Ok(removed)
    }

    fn conversation_key(&self, of: &Conversation) -> rusqlite::Result<Option<i64>> {
        self.connection
            .prepare_cached("SELECT key FROM conversations WHERE server = ?1 AND username = ?2")?
            .query_row(params![of.server, of.username], |row| row.get(0))
            .optional()
    }
}

/// The announcement kind as its protocol name, and every other field beyond the columns (who
/// joined, a private message's addressee, ...) as JSON, so nothing the protocol adds is lost.
fn kind_and_extra(message: &ChatMessage) -> (Option<String>, Option<String>) {
    let Ok(Value::Object(mut fields)) = serde_json::to_value(message) else { return (None, None) };
    let kind = fields.remove("kind").and_then(|kind| kind.as_str().map(str::to_owned));
    for column in ["from", "message", "id", "ts"] {
        fields.remove(column);
    }
    let extra = (!fields.is_empty()).then(|| Value::Object(fields).to_string());
    (kind, extra)
}

/// A row of `COLUMNS` back into a message.
fn stored(row: &Row) -> rusqlite::Result<StoredMessage> {
    let extra: Option<String> = row.get(7)?;
    let mut fields: Map<String, Value> = extra.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default();
    fields.insert("from".into(), Value::String(row.get(4)?));
    fields.insert("message".into(), Value::String(row.get(5)?));
    fields.insert("ts".into(), Value::from(row.get::<_, i64>(3)?));
    if let Some(id) = row.get::<_, Option<i64>>(2)? {
        fields.insert("id".into(), Value::from(id));
    }
    if let Some(kind) = row.get::<_, Option<String>>(6)? {
        fields.insert("kind".into(), Value::String(kind));
    }
    let message = serde_json::from_value(Value::Object(fields))
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, Box::new(e)))?;
    let run: String = row.get(1)?;
    Ok(StoredMessage { seq: row.get(0)?, run: Some(run).filter(|run| !run.is_empty()), message })
}
