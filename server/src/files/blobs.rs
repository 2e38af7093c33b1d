//! Where uploaded files are kept: a folder (beside the SQLite log, or a private temporary one for an
//! in-memory chat) or Redis (a cluster: every node serves every file). Each file is its bytes, a
//! thumbnail for images, and its [`FileMeta`]; the total is capped, oldest first.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Mutex, PoisonError},
};

use axum::body::Bytes;
use redis::{aio::ConnectionManager, AsyncCommands};

use super::FileMeta;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("file storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("file storage in Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("file storage: a damaged record ({0})")]
    Json(#[from] serde_json::Error),
}

pub enum Blobs {
    Folder {
        dir: PathBuf,
        /// Every file's record, and the bytes of those still stored.
        index: Mutex<Index>,
        /// Held for an in-memory chat: the folder goes when the server stops.
        _temporary: Option<tempfile::TempDir>,
    },
    Redis(ConnectionManager),
}

#[derive(Default)]
pub struct Index {
    /// Every file's record, removed ones too (their downloads answer `410`).
    records: HashMap<String, FileMeta>,
    /// The files whose bytes are stored: id → (created, size).
    stored: HashMap<String, (u64, u64)>,
}

impl Index {
    fn stored_bytes(&self) -> u64 {
        self.stored.values().map(|(_, size)| size).sum()
    }
}

const FILES: &str = "{confab}:files";
const FILES_BYTES: &str = "{confab}:files:bytes";

fn redis_key(id: &str, part: &str) -> String {
    format!("{{confab}}:file:{id}:{part}")
}

/// The Redis key of a file's record.
pub fn record_key(id: &str) -> String {
    redis_key(id, "meta")
}

/// Ids are 32 hex digits (made by the server); anything else names no file and no path.
pub fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Blobs {
    /// Files in `dir` (created 0700), with the records found there.
    pub async fn folder(dir: PathBuf) -> Result<Self, BlobError> {
        Self::open_folder(dir, None).await
    }

    /// Files in a new private temporary folder, removed when the server stops.
    pub async fn temporary() -> Result<Self, BlobError> {
        let temporary = tempfile::Builder::new().prefix("confab-files-").tempdir()?;
        Self::open_folder(temporary.path().to_owned(), Some(temporary)).await
    }

    pub fn redis(manager: ConnectionManager) -> Self {
        Self::Redis(manager)
    }

    async fn open_folder(dir: PathBuf, temporary: Option<tempfile::TempDir>) -> Result<Self, BlobError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir)?;
        let mut index = Index::default();
        let mut entries = tokio::fs::read_dir(&dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                let meta: FileMeta = serde_json::from_slice(&tokio::fs::read(&path).await?)?;
                if tokio::fs::try_exists(dir.join(&meta.attachment.id)).await? {
                    index.stored.insert(meta.attachment.id.clone(), (meta.created, meta.attachment.size));
                }
                index.records.insert(meta.attachment.id.clone(), meta);
            }
        }
        Ok(Self::Folder { dir, index: Mutex::new(index), _temporary: temporary })
    }

    /// Stores a new file, first removing the oldest ones while the total would exceed `quota`.
    pub async fn put(
        &self,
        meta: &FileMeta,
        bytes: Bytes,
        thumbnail: Option<Vec<u8>>,
        quota: u64,
    ) -> Result<(), BlobError> {
        let id = &meta.attachment.id;
        match self {
            Self::Folder { dir, index, .. } => {
                let evicted = {
                    let mut index = index.lock().unwrap_or_else(PoisonError::into_inner);
                    let mut oldest: Vec<(u64, String)> =
                        index.stored.iter().map(|(id, (created, _))| (*created, id.clone())).collect();
                    oldest.sort();
                    let mut evicted = Vec::new();
                    for (_, old) in oldest {
                        if index.stored_bytes() + meta.attachment.size <= quota {
                            break;
                        }
                        index.stored.remove(&old);
                        evicted.push(old);
                    }
                    index.stored.insert(id.clone(), (meta.created, meta.attachment.size));
                    index.records.insert(id.clone(), meta.clone());
                    evicted
                };
                for old in evicted {
                    tracing::info!(id = old, "file storage full: the oldest file is removed");
                    remove_bytes(dir, &old).await?;
                }
                tokio::fs::write(dir.join(id), &bytes).await?;
                if let Some(thumbnail) = thumbnail {
                    tokio::fs::write(dir.join(format!("{id}.thumb")), thumbnail).await?;
                }
                write_record(dir, meta).await
            }
            Self::Redis(manager) => {
                let mut redis = manager.clone();
                let mut pipe = redis::pipe();
                pipe.set(redis_key(id, "bytes"), bytes.as_ref()).ignore();
                if let Some(thumbnail) = thumbnail {
                    pipe.set(redis_key(id, "thumb"), thumbnail).ignore();
                }
                pipe.set(redis_key(id, "meta"), serde_json::to_string(meta)?).ignore();
                pipe.zadd(FILES, id, meta.created).ignore();
                pipe.incr(FILES_BYTES, meta.attachment.size);
                let (total,): (u64,) = pipe.query_async(&mut redis).await?;
                let mut total = total;
                // Concurrent uploads on several nodes may each evict: a little more room is freed.
                while total > quota {
                    let oldest: Vec<(String, u64)> = redis.zpopmin(FILES, 1).await?;
                    let Some((old, _)) = oldest.into_iter().next() else { break };
                    tracing::info!(id = old, "file storage full: the oldest file is removed");
                    total = drop_redis_bytes(&mut redis, &old).await?;
                }
                Ok(())
            }
        }
    }

    pub async fn meta(&self, id: &str) -> Result<Option<FileMeta>, BlobError> {
        match self {
            Self::Folder { index, .. } => {
                Ok(index.lock().unwrap_or_else(PoisonError::into_inner).records.get(id).cloned())
            }
            Self::Redis(manager) => {
                let json: Option<String> = manager.clone().get(redis_key(id, "meta")).await?;
                Ok(json.map(|json| serde_json::from_str(&json)).transpose()?)
            }
        }
    }

    /// Takes `meta` as the file's record in this process at once (a folder's index); Redis records
    /// change with [`Blobs::set_meta`] only.
    pub fn remember(&self, meta: &FileMeta) {
        if let Self::Folder { index, .. } = self {
            index
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .records
                .insert(meta.attachment.id.clone(), meta.clone());
        }
    }

    pub async fn set_meta(&self, meta: &FileMeta) -> Result<(), BlobError> {
        match self {
            Self::Folder { dir, index, .. } => {
                index
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .records
                    .insert(meta.attachment.id.clone(), meta.clone());
                write_record(dir, meta).await
            }
            Self::Redis(manager) => {
                let () =
                    manager.clone().set(redis_key(&meta.attachment.id, "meta"), serde_json::to_string(meta)?).await?;
                Ok(())
            }
        }
    }

    /// The file's bytes (`thumbnail`: its thumbnail's); `None` once removed.
    pub async fn bytes(&self, id: &str, thumbnail: bool) -> Result<Option<Bytes>, BlobError> {
        match self {
            Self::Folder { dir, .. } => {
                let path = if thumbnail { dir.join(format!("{id}.thumb")) } else { dir.join(id) };
                match tokio::fs::read(path).await {
                    Ok(bytes) => Ok(Some(bytes.into())),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(error) => Err(error.into()),
                }
            }
            Self::Redis(manager) => {
                let key = redis_key(id, if thumbnail { "thumb" } else { "bytes" });
                let bytes: Option<Vec<u8>> = manager.clone().get(key).await?;
                Ok(bytes.map(Bytes::from))
            }
        }
    }

    /// Deletes a file's bytes (its message left the history); its record stays, so downloads answer `410`.
    pub async fn expire(&self, id: &str) -> Result<(), BlobError> {
        match self {
            Self::Folder { dir, index, .. } => {
                index.lock().unwrap_or_else(PoisonError::into_inner).stored.remove(id);
                remove_bytes(dir, id).await
            }
            Self::Redis(manager) => {
                let mut redis = manager.clone();
                let removed: u64 = redis.zrem(FILES, id).await?;
                if removed > 0 {
                    drop_redis_bytes(&mut redis, id).await?;
                }
                Ok(())
            }
        }
    }

    /// Forgets a file entirely (an upload never sent).
    pub async fn remove(&self, id: &str) -> Result<(), BlobError> {
        match self {
            Self::Folder { dir, index, .. } => {
                {
                    let mut index = index.lock().unwrap_or_else(PoisonError::into_inner);
                    index.records.remove(id);
                    index.stored.remove(id);
                }
                for path in [dir.join(id), dir.join(format!("{id}.thumb")), dir.join(format!("{id}.json"))] {
                    remove_file_if_present(path).await?;
                }
                Ok(())
            }
            Self::Redis(manager) => {
                let mut redis = manager.clone();
                let size = match redis.get::<_, Option<String>>(redis_key(id, "meta")).await? {
                    Some(json) => serde_json::from_str::<FileMeta>(&json)?.attachment.size,
                    None => 0,
                };
                let mut pipe = redis::pipe();
                pipe.del(&[redis_key(id, "bytes"), redis_key(id, "thumb"), redis_key(id, "meta")]).ignore();
                pipe.zrem(FILES, id).ignore();
                pipe.decr(FILES_BYTES, size).ignore();
                let () = pipe.query_async(&mut redis).await?;
                Ok(())
            }
        }
    }
}

/// Deletes a stored file's bytes and thumbnail from the folder; its record stays.
async fn remove_bytes(dir: &std::path::Path, id: &str) -> Result<(), BlobError> {
    remove_file_if_present(dir.join(id)).await?;
    remove_file_if_present(dir.join(format!("{id}.thumb"))).await
}

/// Deletes a file's bytes and thumbnail from Redis (its record stays) and takes its size off the
/// total; returns the new total.
async fn drop_redis_bytes(redis: &mut ConnectionManager, id: &str) -> Result<u64, BlobError> {
    let size = match redis.get::<_, Option<String>>(redis_key(id, "meta")).await? {
        Some(json) => serde_json::from_str::<FileMeta>(&json)?.attachment.size,
        None => 0,
    };
    let () = redis.del(&[redis_key(id, "bytes"), redis_key(id, "thumb")]).await?;
    Ok(redis.decr(FILES_BYTES, size).await?)
}

/// The record goes in under a temporary name, then takes its place: never half-written.
async fn write_record(dir: &std::path::Path, meta: &FileMeta) -> Result<(), BlobError> {
    let id = &meta.attachment.id;
    let temporary = dir.join(format!("{id}.json.tmp"));
    tokio::fs::write(&temporary, serde_json::to_vec(meta)?).await?;
    tokio::fs::rename(&temporary, dir.join(format!("{id}.json"))).await?;
    Ok(())
}

async fn remove_file_if_present(path: PathBuf) -> Result<(), BlobError> {
    match tokio::fs::remove_file(path).await {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error.into()),
        _ => Ok(()),
    }
}
