//! Private messages (protocol §2.10, issue 13): a `message` with `to` reaches its addressee only,
//! live and in `history`, on one node (memory and SQLite) and across nodes on Redis.

mod support;

use std::time::Duration;

use confab_server::{cluster::ClusterConfig, ServerConfig, StoreConfig};
use serde_json::{json, Value};
use support::{process::Frames, redis::RedisServer, start_server, TestClient};

async fn private(from: &TestClient, to: &str, text: &str) -> Value {
    from.call("message", vec![json!({"message": text, "to": to})]).await
}

/// The texts of `history` as `client` gets it.
async fn history_texts(client: &TestClient) -> Vec<String> {
    let page = client.call("history", vec![json!({})]).await;
    page.as_array().expect("a page").iter().map(|m| m["message"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_message_reaches_its_addressee_only_and_its_history_too() {
    let server = start_server(support::unlimited()).await;
    let addr = server.local_addr();
    let alice = TestClient::join(addr, "alice").await;
    let mut bob = TestClient::join(addr, "bob").await;
    let mut carol = TestClient::join(addr, "carol").await;

    // Any case of the name reaches its holder; the ack names them as registered.
    let acked = private(&alice, "BOB", "just between us").await;
    assert_eq!((acked["to"].clone(), acked["from"].clone()), (json!("bob"), json!("alice")), "{acked}");
    let id = acked["id"].as_u64().expect("a private message has an id like any other");
    let received = loop {
        let message = bob.next_event("message").await;
        if message["from"] != "Server" {
            break message;
        }
    };
    assert_eq!(
        received,
        json!({"from": "alice", "message": "just between us", "id": id, "ts": acked["ts"], "to": "bob"})
    );
    alice.call("message", vec![json!({"message": "hello room"})]).await;
    let next = loop {
        let message = carol.next_event("message").await;
        if message["from"] != "Server" {
            break message;
        }
    };
    assert_eq!(next["message"], "hello room", "carol never saw the private one");

    assert_eq!(history_texts(&alice).await, ["just between us", "hello room"]);
    assert_eq!(history_texts(&bob).await, ["just between us", "hello room"]);
    assert_eq!(history_texts(&carol).await, ["hello room"]);

    let refused = private(&alice, "nobody", "hello?").await;
    assert_eq!(refused["error"], "unknown_recipient", "{refused}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_client_gets_only_the_private_messages_sent_to_it_as_ordinary_messages() {
    let server = start_server(support::unlimited()).await;
    let addr = server.local_addr();
    let alice = TestClient::join(addr, "alice").await;
    // Seed clients: they register with the event reply and never look at `to`.
    let mut seed = Frames::connect(addr).await;
    seed.register_seed("seedling").await;
    let mut bystander = Frames::connect(addr).await;
    bystander.register_seed("bystander").await;

    private(&alice, "seedling", "for the seed").await;
    alice.call("message", vec![json!({"message": "for all"})]).await;
    let got = seed.chat_lines(2).await;
    assert_eq!(got[0]["message"], "for the seed");
    assert_eq!(got[0]["from"], "alice");
    assert_eq!(got[1]["message"], "for all");
    let seen = bystander.chat_lines(1).await;
    assert_eq!(seen[0]["message"], "for all", "the bystander never got the private one");
    assert!(bystander.quiet_for(Duration::from_millis(300)).await, "and nothing after");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_messages_in_the_sqlite_log_stay_private_beyond_the_cache_and_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut config = support::unlimited();
        config.store = StoreConfig::Sqlite { data_dir: dir.path().to_owned() };
        // A cache of 2: the pages below come from the file.
        config.history_capacity = 2;
        config
    };
    let server = start_server(config()).await;
    let alice = TestClient::join(server.local_addr(), "alice").await;
    let _bob = TestClient::join(server.local_addr(), "bob").await;
    for i in 0..3 {
        private(&alice, "bob", &format!("secret {i}")).await;
        alice.call("message", vec![json!({"message": format!("public {i}")})]).await;
    }
    server.stop().await.unwrap();

    let server = start_server(config()).await;
    let bob = TestClient::join(server.local_addr(), "bob").await;
    let carol = TestClient::join(server.local_addr(), "carol").await;
    let everything = ["secret 0", "public 0", "secret 1", "public 1", "secret 2", "public 2"];
    assert_eq!(history_texts(&bob).await, everything, "the addressee, under the same name after a restart");
    assert_eq!(history_texts(&carol).await, ["public 0", "public 1", "public 2"]);
    let back = carol.call("history", vec![json!({"before": 1000, "limit": 2})]).await;
    let texts: Vec<&str> = back.as_array().unwrap().iter().map(|m| m["message"].as_str().unwrap()).collect();
    assert_eq!(texts, ["public 1", "public 2"], "paging back skips what carol may not see");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_nodes_a_private_message_reaches_its_addressee_on_another_node_only() {
    let redis = RedisServer::start();
    let node = || {
        let mut config: ServerConfig = support::unlimited();
        config.store = StoreConfig::Redis(ClusterConfig::new(redis.url()));
        start_server(config)
    };
    let (a, b) = (node().await, node().await);
    let alice = TestClient::join(a.local_addr(), "alice").await;
    let mut carol = TestClient::join(a.local_addr(), "carol").await;
    let mut bob = TestClient::join(b.local_addr(), "bob").await;
    let mut dave = TestClient::join(b.local_addr(), "dave").await;
    // Each node knows of everyone once the last join was read there (dave's own was read by join).
    for client in [&mut carol, &mut bob] {
        while client.next_event("message").await["message"] != "dave has joined the chat" {}
    }

    let acked = private(&alice, "bob", "across").await;
    assert_eq!(acked["to"], "bob", "{acked}");
    alice.call("message", vec![json!({"message": "room"})]).await;
    let chat = |message: &Value| message["from"] != "Server";
    let first = loop {
        let message = bob.next_event("message").await;
        if chat(&message) {
            break message;
        }
    };
    assert_eq!((first["message"].clone(), first["id"].clone()), (json!("across"), acked["id"].clone()));
    for other in [&mut carol, &mut dave] {
        let next = loop {
            let message = other.next_event("message").await;
            if chat(&message) {
                break message;
            }
        };
        assert_eq!(next["message"], "room", "only the addressee got the private one");
    }
    assert_eq!(history_texts(&bob).await, ["across", "room"]);
    assert_eq!(history_texts(&dave).await, ["room"]);
    assert_eq!(private(&alice, "nobody", "?").await["error"], "unknown_recipient");
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
