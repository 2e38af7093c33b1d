//! Files follow the shared log (protocol §2.11): once Redis has trimmed the message a file came
//! with, the file goes too (its download answers `410`). Every node looks now and then; the script
//! takes each such file out of `filed` as it hands it over, so exactly one node deletes it.

use std::sync::Arc;

use redis::{aio::ConnectionManager, RedisResult};
use tokio::sync::watch;

use super::{every::Every, scripts, ClusterRoom};

/// Looks for files of trimmed messages every `renew_every`, until the server stops.
pub async fn run(room: Arc<ClusterRoom>, mut redis: ConnectionManager, stopped: watch::Receiver<bool>) {
    let Some(files) = room.files() else { return };
    let script = scripts::forgotten_files();
    let mut every = Every::new(room.config.renew_every, stopped);
    while every.tick().await {
        let gone: RedisResult<Vec<String>> =
            script.key(scripts::LOG).key(scripts::FILED).invoke_async(&mut redis).await;
        match gone {
            Ok(ids) if !ids.is_empty() => files.expire(ids),
            Ok(_) => {}
            // Redis being away is reported by the lease and the worker; this waits for the next look.
            Err(error) => tracing::debug!(%error, "cannot look for files of trimmed messages"),
        }
    }
}
