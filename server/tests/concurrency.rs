//! Many clients at once: races, bursts, and a client that cannot keep up.

mod support;

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use support::{raw, start_server, unlimited, TestClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_register_at_once() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();
    let clients = join_all((0..50).map(|_| TestClient::connect(addr))).await;
    let acks =
        join_all(clients.iter().enumerate().map(|(i, c)| async move { c.register(&format!("user{i}")).await })).await;
    assert!(acks.iter().all(|a| *a == json!(true)), "{acks:?}");
    assert_eq!(server.user_count(), 50);
    // Everyone sees the joins that happened after its own, in id order, ending with the full room.
    for mut client in clients {
        let users = client.next_event("users").await;
        let mut joins = Vec::new();
        let mut last_id = 0;
        for _ in 0..(51 - users.as_array().unwrap().len()) {
            let m = client.next_event("message").await;
            assert!(m["id"].as_u64().unwrap() > last_id);
            last_id = m["id"].as_u64().unwrap();
            joins.push(m["name"].as_str().unwrap().to_owned());
        }
        assert_eq!(users.as_array().unwrap().len() + joins.len() - 1, 50);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_clients_racing_for_one_name_exactly_one_wins() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();
    for round in 0..5 {
        let clients = join_all((0..10).map(|_| TestClient::connect(addr))).await;
        let name = format!("Contested{round}");
        let acks = join_all(clients.iter().enumerate().map(|(i, c)| {
            // Same name in different letter cases: still one name.
            let variant = if i % 2 == 0 { name.to_uppercase() } else { name.clone() };
            async move { c.register(&variant).await }
        }))
        .await;
        assert_eq!(acks.iter().filter(|a| **a == json!(true)).count(), 1, "round {round}: {acks:?}");
        assert_eq!(acks.iter().filter(|a| **a == json!(false)).count(), 9);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_message_burst_arrives_complete_and_in_order() {
    let server = start_server(unlimited()).await;
    let addr = server.local_addr();
    let mut receivers = Vec::new();
    for i in 0..3 {
        receivers.push(TestClient::join(addr, &format!("r{i}")).await);
    }
    let sender = TestClient::join(addr, "burst").await;
    for r in receivers.iter_mut() {
        while r.next_event("message").await["name"] != "burst" {}
    }
    for i in 0..500 {
        sender.send(&format!("burst {i}")).await;
    }
    for mut r in receivers {
        let mut last_id = 0;
        for i in 0..500 {
            let m = r.next_event("message").await;
            assert_eq!(m["message"], format!("burst {i}"));
            let id = m["id"].as_u64().unwrap();
            assert!(id > last_id);
            last_id = id;
        }
        r.expect_silence(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_evicted_and_nobody_else_loses_anything() {
    let mut config = unlimited();
    config.max_queued_packets = 128;
    let server = start_server(config).await;
    let addr = server.local_addr();
    let mut reader = TestClient::join(addr, "reader").await;
    // A raw client registers, then never reads again: its TCP window fills, then its queue.
    let mut stalled = raw::connect(addr).await;
    assert_eq!(raw::register(&mut stalled, "stalled").await, "431[true]");
    assert_eq!(reader.next_event("message").await["name"], "stalled");
    let sender = TestClient::join(addr, "sender").await;
    assert_eq!(reader.next_event("message").await["name"], "sender");

    let text = "x".repeat(1900);
    let total = 3000;
    let mut evicted_at = None;
    let mut expected = 0;
    let mut last_id = 0;
    // Send in chunks and drain the reader as we go, so only the stalled client falls behind.
    for chunk in 0..(total / 50) {
        for i in 0..50 {
            sender.send(&format!("{} {text}", chunk * 50 + i)).await;
        }
        while expected < (chunk + 1) * 50 {
            let (event, m) = reader.next().await;
            assert_eq!(event, "message", "{m}");
            let id = m["id"].as_u64().unwrap();
            assert!(id > last_id, "ids in order");
            last_id = id;
            if m["message"] == "stalled left the chat" {
                evicted_at.get_or_insert(expected);
                continue;
            }
            let n: usize = m["message"].as_str().unwrap().split(' ').next().unwrap().parse().unwrap();
            assert_eq!(n, expected, "the reader lost or reordered nothing");
            expected += 1;
        }
    }
    assert!(evicted_at.is_some(), "the stalled client was never evicted");
    assert_eq!(server.user_count(), 2);
    // The evicted name is free for its owner's reconnect.
    assert_eq!(TestClient::connect(addr).await.register("stalled").await, json!(true));
    drop(stalled);
}
