//! Keeps the load generator from rotting: a few clients for about a second against an in-process
//! confab-server, with exact delivery accounting.

use std::time::Duration;

use confab_bench::{run, RunParams, SendMode};
use confab_server::{Limits, ServerConfig};

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
