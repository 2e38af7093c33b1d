//! A node's lease on its users' names: renewed every `renew_every`, it expires `lease` after the node
//! dies or is cut off from Redis. Each renewal also reaps the nodes whose lease expired (in one
//! script, so exactly one node announces each of their users as left).

use std::sync::Arc;

use confab_protocol::now_ms;
use redis::{aio::ConnectionManager, AsyncCommands, RedisResult};
use tokio::sync::watch;

use super::{every::Every, scripts, ClusterRoom};

/// Renews the lease and reaps dead nodes until the server stops.
pub async fn run(room: Arc<ClusterRoom>, mut redis: ConnectionManager, stopped: watch::Receiver<bool>) {
    let mut every = Every::new(room.config.renew_every, stopped);
    while every.tick().await {
        let renewed = renew(&room, &mut redis).await;
        room.redis_result("renewing the lease", &renewed);
    }
}

/// One renewal; answers how many users of dead nodes were announced as left.
pub async fn renew(room: &ClusterRoom, redis: &mut ConnectionManager) -> RedisResult<u64> {
    let reaped: u64 = scripts::renew_and_reap()
        .key(scripts::lease_key(&room.node))
        .key(scripts::NODES)
        .key(scripts::SEQ)
        .key(scripts::LOG)
        .key(scripts::NAMES)
        .arg(&room.node)
        .arg(room.config.lease.as_millis() as u64)
        .arg(now_ms())
        .arg(room.config.max_log_entries)
        .arg(scripts::PREFIX)
        .invoke_async(redis)
        .await?;
    if reaped > 0 {
        tracing::warn!(reaped, "users of a node that stopped renewing its lease were announced as left");
    }
    Ok(reaped)
}

/// The node stops: its lease goes at once. Its members left already (`ClusterRoom::close`); any leave
/// Redis did not take is made by the next node's reaping, which also forgets this node.
pub async fn release(room: &ClusterRoom, redis: &mut ConnectionManager) -> RedisResult<()> {
    redis.del(scripts::lease_key(&room.node)).await
}
