//! One chat across several confab-server nodes on one real redis-server (`--redis`, issue 11): one
//! global order, names unique across nodes, shared history, node loss and Redis loss.

mod support;

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use confab_server::{cluster::ClusterConfig, ServerConfig, ServerHandle, StoreConfig};
use serde_json::{json, Value};
use support::{http_get, process::ServerProcess, proxy::Proxy, redis::RedisServer, start_server, TestClient, WAIT};

fn node_config(redis: &RedisServer) -> ServerConfig {
    let mut config = support::unlimited();
    config.store = StoreConfig::Redis(ClusterConfig::new(redis.url()));
    config
}

async fn nodes(redis: &RedisServer, count: usize) -> Vec<ServerHandle> {
    let mut nodes = Vec::new();
    for _ in 0..count {
        nodes.push(start_server(node_config(redis)).await);
    }
    nodes
}

/// The next chat line (announcements skipped).
async fn next_chat(client: &mut TestClient) -> Value {
    loop {
        let message = client.next_event("message").await;
        if message["from"] != "Server" {
            return message;
        }
    }
}

/// The next announcement whose text is `text`, skipping everything else.
async fn announcement(client: &mut TestClient, text: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    while let Some(message) =
        client.next_event_within("message", deadline.saturating_duration_since(Instant::now())).await
    {
        if message["from"] == "Server" && message["message"] == text {
            return message;
        }
    }
    panic!("no announcement {text:?} within {within:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_deliver_every_message_once_in_one_global_order() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, 3).await;
    let mut clients = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        for j in 0..2 {
            clients.push(TestClient::join(node.local_addr(), &format!("n{i}c{j}")).await);
        }
    }
    const EACH: usize = 25;
    for round in 0..EACH {
        for (sender, client) in clients.iter().enumerate() {
            client.send(&format!("{sender}:{round}")).await;
        }
    }
    let others = (clients.len() - 1) * EACH;
    // id → (from, text) as the first receiver saw it: every receiver must agree on it.
    let mut by_id: HashMap<u64, (String, String)> = HashMap::new();
    for (receiver, client) in clients.iter_mut().enumerate() {
        let mut last_id = 0;
        let mut last_round: HashMap<String, i64> = HashMap::new();
        for _ in 0..others {
            let message = next_chat(client).await;
            let id = message["id"].as_u64().expect("an id");
            assert!(id > last_id, "receiver {receiver}: id {id} after {last_id}");
            last_id = id;
            let (from, text) = (message["from"].as_str().unwrap().to_owned(), message["message"].as_str().unwrap());
            let (sender, round) = text.split_once(':').unwrap();
            assert_ne!(sender.parse::<usize>().unwrap(), receiver, "nobody gets their own message back");
            let round: i64 = round.parse().unwrap();
            let previous = last_round.insert(from.clone(), round).unwrap_or(-1);
            assert_eq!(round, previous + 1, "receiver {receiver}: {from}'s messages in the order sent");
            let seen = by_id.entry(id).or_insert_with(|| (from.clone(), text.to_owned()));
            assert_eq!(seen, &(from, text.to_owned()), "id {id} names one message on every node");
        }
        client.expect_silence(Duration::from_millis(300)).await;
    }
    assert_eq!(by_id.len(), clients.len() * EACH, "every message reached someone under one id");
    for node in nodes {
        node.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_registrations_on_different_nodes_give_exactly_one_true() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, 3).await;
    for round in 0..10 {
        let mut clients = Vec::new();
        for node in &nodes {
            clients.push(TestClient::connect(node.local_addr()).await);
        }
        // Case and width variants fold to one name: they race for the same slot.
        let names = [format!("racer{round}"), format!("RACER{round}"), format!("Racer{round}")];
        let (a, b, c) = tokio::join!(
            clients[0].register(&names[0]),
            clients[1].register(&names[1]),
            clients[2].register(&names[2])
        );
        let winners = [&a, &b, &c].iter().filter(|answer| ***answer == json!(true)).count();
        assert_eq!(winners, 1, "round {round}: {a} {b} {c}");
    }
    for node in nodes {
        node.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_on_any_node_gets_the_history_and_users_of_all() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, 3).await;
    let alice = TestClient::join(nodes[0].local_addr(), "alice").await;
    let mut bob = TestClient::join(nodes[1].local_addr(), "bob").await;
    for i in 0..3 {
        assert!(alice.call("message", vec![json!({"message": format!("a{i}")})]).await["id"].is_u64());
        assert!(bob.call("message", vec![json!({"message": format!("b{i}")})]).await["id"].is_u64());
    }
    let mut carol = TestClient::connect(nodes[2].local_addr()).await;
    assert_eq!(carol.register("carol").await, json!(true));
    let history = carol.next_event("history").await;
    let texts: Vec<&str> = history.as_array().unwrap().iter().map(|m| m["message"].as_str().unwrap()).collect();
    assert_eq!(texts, ["a0", "b0", "a1", "b1", "a2", "b2"]);
    let mut users: Vec<String> =
        serde_json::from_value(carol.next_event("users").await).expect("users is a list of names");
    users.sort();
    assert_eq!(users, ["alice", "bob", "carol"]);
    // Everyone hears of carol, wherever they are connected; `users` asked on any node agrees.
    announcement(&mut bob, "carol has joined the chat", WAIT).await;
    let asked = bob.call("users", vec![]).await;
    assert_eq!(asked.as_array().map(Vec::len), Some(3), "{asked}");
    // A page further back than any cache is read from Redis.
    let older = carol.call("history", vec![json!({"before": history[2]["id"], "limit": 2})]).await;
    let texts: Vec<&str> = older.as_array().unwrap().iter().map(|m| m["message"].as_str().unwrap()).collect();
    assert_eq!(texts, ["a0", "b0"]);
    for node in nodes {
        node.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_node_s_users_leave_at_once_and_a_killed_node_s_within_15_seconds() {
    let redis = RedisServer::start();
    let survivor = start_server(node_config(&redis)).await;
    let mut watcher = TestClient::join(survivor.local_addr(), "watcher").await;

    let stopping = start_server(node_config(&redis)).await;
    let _polite = TestClient::join(stopping.local_addr(), "polite").await;
    announcement(&mut watcher, "polite has joined the chat", WAIT).await;
    stopping.stop().await.unwrap();
    announcement(&mut watcher, "polite left the chat", WAIT).await;

    // A real process, killed: no shutdown code runs, only its lease (default 10 s) expires.
    let killed = ServerProcess::start(&["--redis", &redis.url()]);
    let _doomed = TestClient::join(killed.addr, "doomed").await;
    announcement(&mut watcher, "doomed has joined the chat", WAIT).await;
    let started = Instant::now();
    killed.kill();
    announcement(&mut watcher, "doomed left the chat", Duration::from_secs(15)).await;
    eprintln!("a killed node's user was announced as left after {:?}", started.elapsed());
    let again = TestClient::connect(survivor.local_addr()).await;
    assert_eq!(again.register("doomed").await, json!(true), "the name is free again");
    survivor.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_new_messages_are_refused_and_everything_recovers_when_it_is_back() {
    let mut redis = RedisServer::start();
    let nodes = nodes(&redis, 2).await;
    let alice = TestClient::join(nodes[0].local_addr(), "alice").await;
    let mut bob = TestClient::join(nodes[1].local_addr(), "bob").await;
    let before = alice.call("message", vec![json!({"message": "before"})]).await;
    assert_eq!(next_chat(&mut bob).await["id"], before["id"]);

    redis.kill();
    let refused = alice.call("message", vec![json!({"message": "while down"})]).await;
    assert_eq!(refused["error"], "unavailable", "{refused}");
    let health = http_get(nodes[0].local_addr(), "/health", &[]).await;
    assert!(health.contains(r#""status":"degraded""#) && health.contains("Redis"), "{health}");

    redis.resume();
    let deadline = Instant::now() + Duration::from_secs(20);
    let after = loop {
        let answer = alice.call("message", vec![json!({"message": "after"})]).await;
        if answer["id"].is_u64() {
            break answer;
        }
        assert!(Instant::now() < deadline, "still refused after Redis came back: {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let delivered = next_chat(&mut bob).await;
    assert_eq!((delivered["message"].clone(), delivered["id"].clone()), (json!("after"), after["id"].clone()));
    assert!(after["id"].as_u64() > before["id"].as_u64());
    assert!(http_get(nodes[0].local_addr(), "/health", &[]).await.contains(r#""status":"ok""#));
    // What was acked before Redis was killed is still in the log (append-only file).
    let history = bob.call("history", vec![json!({})]).await;
    let texts: Vec<&str> = history.as_array().unwrap().iter().map(|m| m["message"].as_str().unwrap()).collect();
    assert_eq!(texts, ["before", "after"]);
    for node in nodes {
        node.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_on_one_node_is_seen_on_the_others() {
    let redis = RedisServer::start();
    let nodes = nodes(&redis, 2).await;
    let alice = TestClient::join(nodes[0].local_addr(), "alice").await;
    let mut bob = TestClient::join(nodes[1].local_addr(), "bob").await;
    // Best effort: a node subscribes in the background after it starts, so a notice sent before
    // that is missed; the repeat of `true` (at most once a second) then gets through.
    let deadline = Instant::now() + WAIT;
    let seen = loop {
        alice.client.emit("typing", json!(true)).await.unwrap();
        if let Some(notice) = bob.next_event_within("typing", Duration::from_millis(1100)).await {
            break notice;
        }
        assert!(Instant::now() < deadline, "no typing notice crossed the nodes");
    };
    assert_eq!(seen, json!({"name": "alice", "typing": true}));
    alice.client.emit("typing", json!(false)).await.unwrap();
    let stopped = bob.next_event_within("typing", WAIT).await;
    assert_eq!(stopped, Some(json!({"name": "alice", "typing": false})));
    for node in nodes {
        node.stop().await.unwrap();
    }
}

/// A node on `url` with a short lease.
fn short_lease_config(url: String) -> ServerConfig {
    let mut config = support::unlimited();
    config.store = StoreConfig::Redis(ClusterConfig {
        lease: Duration::from_secs(2),
        renew_every: Duration::from_millis(300),
        ..ClusterConfig::new(url)
    });
    config
}

/// Two nodes on one Redis: `cut` reaches it through `link`, a proxy that can cut it off; `other`
/// directly. Both with a short lease.
struct CutOff {
    _redis: RedisServer,
    link: Proxy,
    cut: ServerHandle,
    other: ServerHandle,
}

impl CutOff {
    async fn start() -> Self {
        let redis = RedisServer::start();
        let link = Proxy::start(([127, 0, 0, 1], redis.port).into()).await;
        let cut = start_server(short_lease_config(format!("redis://{}", link.addr))).await;
        let other = start_server(short_lease_config(redis.url())).await;
        Self { _redis: redis, link, cut, other }
    }

    async fn stop(self) {
        self.cut.stop().await.unwrap();
        self.other.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_redis_for_a_moment_then_delivers_what_it_missed_in_order_once() {
    let nodes = CutOff::start().await;
    let mut lis = TestClient::join(nodes.cut.local_addr(), "lis").await;
    let snd = TestClient::join(nodes.other.local_addr(), "snd").await;
    announcement(&mut lis, "snd has joined the chat", WAIT).await;

    nodes.link.set_up(false);
    let mut acked = Vec::new();
    for i in 0..30 {
        acked.push(snd.call("message", vec![json!({"message": format!("while cut off {i}")})]).await["id"].clone());
    }
    // Nothing reaches lis while its node is cut off; shorter than the lease, so lis stays registered.
    lis.expect_silence(Duration::from_millis(600)).await;
    nodes.link.set_up(true);
    let mut got = Vec::new();
    for _ in 0..30 {
        got.push(next_chat(&mut lis).await["id"].clone());
    }
    assert_eq!(got, acked, "every message once, in the global order");
    lis.expect_silence(Duration::from_millis(500)).await;
    let after = snd.call("message", vec![json!({"message": "after"})]).await;
    assert_eq!(next_chat(&mut lis).await["id"], after["id"]);
    nodes.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_longer_than_its_lease_has_its_users_announced_as_left_and_their_names_freed() {
    let nodes = CutOff::start().await;
    let _stranded = TestClient::join(nodes.cut.local_addr(), "stranded").await;
    let mut watcher = TestClient::join(nodes.other.local_addr(), "watcher").await;

    let started = Instant::now();
    nodes.link.set_up(false);
    // Alive but unreachable: its lease (2 s here, 10 s by default) runs out and another node reaps it.
    announcement(&mut watcher, "stranded left the chat", Duration::from_secs(10)).await;
    eprintln!("a cut-off node's user was announced as left after {:?}", started.elapsed());
    let again = TestClient::connect(nodes.other.local_addr()).await;
    assert_eq!(again.register("stranded").await, json!(true), "the name is free again");
    announcement(&mut watcher, "stranded has joined the chat", WAIT).await;
    // Back on Redis, the cut-off node learns it lost the name and does not announce it again.
    nodes.link.set_up(true);
    watcher.expect_silence(Duration::from_secs(2)).await;
    let users = watcher.call("users", vec![]).await;
    let mut names: Vec<&str> = users.as_array().unwrap().iter().filter_map(Value::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["stranded", "watcher"], "one stranded: the one registered on the reachable node");
    nodes.stop().await;
}
