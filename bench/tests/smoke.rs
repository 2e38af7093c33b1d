//! Keeps the load generator from rotting: a few clients for about a second against an in-process
//! confab-server, with exact delivery accounting.

use std::time::Duration;

use confab_bench::{redis::RedisServer, run, run_on, RunParams, SendMode};
use confab_server::{cluster::ClusterConfig, Limits, ServerConfig, StoreConfig};

fn config() -> ServerConfig {
    ServerConfig { limits: Limits { messages_per_second: 0, ..Limits::default() }, ..ServerConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_few_clients_at_a_fixed_rate_get_everything_exactly_once_in_order() {
    let server = confab_server::start("127.0.0.1:0".parse().unwrap(), config()).await.unwrap();
    let params = RunParams::messaging(5, 2, SendMode::Rate { per_second: 20.0 }, Duration::from_millis(800));
    let result = run(server.local_addr(), params, &|_| {}).await;
    assert_eq!((result.connected, result.connect_failures), (5, 0), "{result:?}");
    assert!(result.sent >= 2 && result.deliveries > 0, "{result:?}");
    assert_eq!(result.deliveries, result.expected, "{result:?}");
    assert_eq!(result.deliveries, result.sent * 4, "{result:?}");
    assert!(result.exact(), "{result:?}");
    assert_eq!(result.acks_ok, result.sent, "{result:?}");
    assert_eq!(result.dropped_clients, 0, "{result:?}");
    assert!(result.latency.count as u64 == result.deliveries && result.latency.p50 <= result.latency.max);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_saturation_is_exact_too() {
    let server = confab_server::start("127.0.0.1:0".parse().unwrap(), config()).await.unwrap();
    let params = RunParams::messaging(4, 4, SendMode::Saturate { window: 4 }, Duration::from_millis(500));
    let result = run(server.local_addr(), params, &|_| {}).await;
    assert_eq!(result.connected, 4, "{result:?}");
    assert!(result.sent > 4, "{result:?}");
    assert_eq!(result.deliveries, result.sent * 3, "{result:?}");
    assert!(result.exact(), "{result:?}");
    assert_eq!(result.acks_ok, result.sent, "{result:?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_on_a_durable_chat_log_is_exact_too() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig { store: StoreConfig::Sqlite { data_dir: dir.path().to_owned() }, ..config() };
    let server = confab_server::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let params = RunParams::messaging(4, 4, SendMode::Saturate { window: 4 }, Duration::from_millis(500));
    let result = run(server.local_addr(), params, &|_| {}).await;
    assert!(result.sent > 4, "{result:?}");
    assert_eq!(result.deliveries, result.sent * 3, "{result:?}");
    assert!(result.exact() && result.acks_ok == result.sent, "{result:?}");
    server.stop().await.unwrap();
    assert!(dir.path().join("chat.sqlite3").exists(), "the log was on disk");
}

/// The cross-sender order check of the cluster scenario: one server has one order, so every
/// receiver agrees with the reference on every delivery they share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_of_one_server_see_one_order() {
    let server = confab_server::start("127.0.0.1:0".parse().unwrap(), config()).await.unwrap();
    let mut params = RunParams::messaging(6, 3, SendMode::Saturate { window: 4 }, Duration::from_millis(500));
    params.track_order = true;
    let result = run(server.local_addr(), params, &|_| {}).await;
    assert!(result.exact(), "{result:?}");
    let order = result.global_order.expect("tracked");
    // Each of the 5 others shares with the reference everything but its own and the reference's messages.
    assert!(order.compared > result.sent, "{order:?} {result:?}");
    assert_eq!((order.out_of_order, order.receivers_differing), (0, 0), "{order:?}");
    server.stop().await.unwrap();
}

/// The cluster scenario's plumbing: three in-process nodes on one real redis-server (the test fails
/// without one, it does not skip: install Debian's redis-server), clients and closed-loop senders on
/// every node. Nothing lost or duplicated, and one order for everyone, as confab promises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_one_redis_deliver_everything_in_one_order() {
    let redis = RedisServer::start(std::path::Path::new("redis-server")).unwrap_or_else(|e| panic!("{e}"));
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let config = ServerConfig { store: StoreConfig::Redis(ClusterConfig::new(redis.url())), ..config() };
        nodes.push(confab_server::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap());
    }
    let addrs: Vec<_> = nodes.iter().map(|n| n.local_addr()).collect();
    let mut params = RunParams::messaging(6, 6, SendMode::Saturate { window: 4 }, Duration::from_millis(500));
    params.track_order = true;
    let result = run_on(&addrs, params, &|_| {}).await;
    assert_eq!((result.connected, result.dropped_clients), (6, 0), "{result:?}");
    assert!(result.sent > 6, "{result:?}");
    assert_eq!(result.deliveries, result.sent * 5, "{result:?}");
    assert!(result.exact() && result.acks_ok == result.sent, "{result:?}");
    let order = result.global_order.expect("tracked");
    assert!(order.compared > result.sent, "{order:?} {result:?}");
    assert_eq!((order.out_of_order, order.receivers_differing), (0, 0), "{order:?}");
    for node in nodes {
        node.stop().await.unwrap();
    }
}

/// The attack family's plumbing against an in-process server with its default limits: an attacker
/// toggling `typing` as fast as it can (from 127.0.0.1) while a small honest room (from 127.0.0.2)
/// chats; the room loses nothing and sees only the relayed notices the server's limit allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_toggling_costs_the_honest_room_nothing() {
    use confab_bench::attack::{run_under_attack, Attack, AttackPlan};
    let server = confab_server::start("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).await.unwrap();
    let mut params = RunParams::messaging(6, 2, SendMode::Rate { per_second: 10.0 }, Duration::from_secs(1));
    params.dial.source = Some("127.0.0.2".parse().unwrap());
    let (honest, attacker) =
        run_under_attack(server.local_addr(), params, &AttackPlan::new(Attack::Typing), &|_| {}).await.unwrap();
    assert_eq!((honest.connected, honest.connect_failures), (6, 0), "{honest:?}");
    assert!(honest.sent >= 10, "{honest:?}");
    assert_eq!(honest.deliveries, honest.sent * 5, "{honest:?}");
    assert!(honest.exact() && honest.lost == 0, "{honest:?}");
    assert_eq!(honest.dropped_clients, 0, "{honest:?}");
    assert_eq!(honest.acks_ok, honest.sent, "{honest:?}");
    // Bursts of 4, then 2 per second per user (protocol §2.3), to each of the 6 honest clients.
    let allowed = 6 * (4 + 2 * (attacker.window.as_secs_f64().ceil() as u64 + 1));
    assert!(honest.typing_notices > 0 && honest.typing_notices <= allowed, "{} > {allowed}", honest.typing_notices);
    assert!(attacker.sent > 100 * allowed, "the attacker toggled as fast as it could: {attacker:?}");
    assert_eq!(attacker.closed_by_server, 0, "{attacker:?}");
    server.stop().await.unwrap();
}
