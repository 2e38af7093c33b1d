//! The seed protocol and its extensions, spoken by a real client (rust_socketio) to a real server.

mod support;

use std::time::Duration;

use confab_server::protocol::now_ms;
use serde_json::json;
use support::{start_server, unlimited, TestClient};

#[tokio::test]
async fn seed_flow_register_chat_leave() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();

    let mut alice = TestClient::connect(addr).await;
    assert_eq!(alice.register("alice").await, json!(true));
    assert_eq!(alice.next_event("history").await, json!([]));
    assert_eq!(alice.next_event("users").await, json!(["alice"]));
    let joined = alice.next_event("message").await;
    assert_eq!(joined["from"], "Server");
    assert_eq!(joined["message"], "alice has joined the chat");

    let mut bob = TestClient::join(addr, "bob").await;
    assert_eq!(alice.next_event("message").await["message"], "bob has joined the chat");

    // `from` is forged: the server corrects it to the registered name.
    bob.client.emit("message", json!({"from": "alice", "message": "hello"})).await.unwrap();
    let got = alice.next_event("message").await;
    assert_eq!(got["from"], "bob");
    assert_eq!(got["message"], "hello");
    // The sender gets no copy.
    bob.expect_silence(Duration::from_millis(200)).await;

    bob.disconnect().await;
    let left = alice.next_event("message").await;
    assert_eq!((left["from"].as_str(), left["message"].as_str()), (Some("Server"), Some("bob left the chat")));

    // The name is free again at once.
    let again = TestClient::connect(addr).await;
    assert_eq!(again.register("bob").await, json!(true));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn ack_carries_the_delivered_message_with_id_and_ts() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();
    let mut alice = TestClient::join(addr, "alice").await;
    let bob = TestClient::join(addr, "bob").await;
    alice.next_event("message").await; // bob joined

    let before = now_ms();
    let ack = bob.call("message", vec![json!({"message": "with ack"})]).await;
    let delivered = alice.next_event("message").await;
    assert_eq!(ack, delivered, "the ack is exactly what the others received");
    assert_eq!(ack["from"], "bob");
    assert!(ack["id"].as_u64().unwrap() > 0);
    let ts = ack["ts"].as_u64().unwrap();
    assert!(ts >= before && ts <= now_ms(), "ts {ts} is server time in ms");
}

#[tokio::test]
async fn ids_increase_across_announcements_and_messages() {
    let server = start_server(unlimited()).await;
    let addr = server.local_addr();
    let mut watcher = TestClient::join(addr, "watcher").await;
    let talker = TestClient::join(addr, "talker").await;
    for i in 0..20 {
        talker.send(&format!("m{i}")).await;
    }
    let mut last = 0;
    for expected in std::iter::once("talker has joined the chat".to_owned()).chain((0..20).map(|i| format!("m{i}"))) {
        let m = watcher.next_event("message").await;
        assert_eq!(m["message"], expected.as_str());
        let id = m["id"].as_u64().unwrap();
        assert!(id > last, "id {id} after {last}");
        last = id;
    }
}

#[tokio::test]
async fn history_is_sent_after_register_and_on_request() {
    let mut config = unlimited();
    config.history_capacity = 3;
    let server = start_server(config).await;
    let addr = server.local_addr();
    let mut writer = TestClient::join(addr, "writer").await;
    let mut ids = Vec::new();
    for i in 1..=5 {
        let ack = writer.call("message", vec![json!({"message": format!("h{i}")})]).await;
        ids.push(ack["id"].as_u64().unwrap());
    }

    let late = TestClient::connect(addr).await;
    let mut late = late;
    assert_eq!(late.register("late").await, json!(true));
    let history = late.next_event("history").await;
    let texts: Vec<&str> = history.as_array().unwrap().iter().map(|m| m["message"].as_str().unwrap()).collect();
    assert_eq!(texts, ["h3", "h4", "h5"], "only the last 3 are kept, oldest first");
    assert!(history.as_array().unwrap().iter().all(|m| m["from"] == "writer"));

    let after = late.call("history", vec![json!({"after": ids[3]})]).await;
    assert_eq!(after.as_array().unwrap().len(), 1);
    assert_eq!(after[0]["message"], "h5");
    let everything = late.call("history", vec![]).await;
    assert_eq!(everything.as_array().unwrap().len(), 3);

    // Only registered sockets get history; the others are told why, never an empty page that
    // would read as "nothing after 0".
    let stranger = TestClient::connect(addr).await;
    assert_eq!(stranger.call("history", vec![json!({"after": 0})]).await["error"], "not_registered");
    writer.next_event("message").await; // late joined
}

#[tokio::test]
async fn presence_users_list_and_typing() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();
    let mut ann = TestClient::join(addr, "ann").await;
    let mut ben = TestClient::connect(addr).await;
    assert_eq!(ben.register("ben").await, json!(true));
    ben.next_event("history").await;
    assert_eq!(ben.next_event("users").await, json!(["ann", "ben"]));
    let joined = ann.next_event("message").await;
    assert_eq!((joined["kind"].as_str(), joined["name"].as_str()), (Some("join"), Some("ben")));
    assert_eq!(ann.call("users", vec![]).await, json!(["ann", "ben"]));

    ben.client.emit("typing", json!(true)).await.unwrap();
    assert_eq!(ann.next_event("typing").await, json!({"name": "ben", "typing": true}));
    // A repeat within a second is dropped; a change is relayed.
    ben.client.emit("typing", json!(true)).await.unwrap();
    ben.client.emit("typing", json!(false)).await.unwrap();
    assert_eq!(ann.next_event("typing").await, json!({"name": "ben", "typing": false}));
    ben.next_event("message").await; // own join
    ben.expect_silence(Duration::from_millis(200)).await; // no typing echo to the typist

    // Unregistered sockets see nobody.
    let stranger = TestClient::connect(addr).await;
    assert_eq!(stranger.call("users", vec![]).await, json!([]));
}

#[tokio::test]
async fn unregistered_sockets_receive_no_room_traffic() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();
    let mut lurker = TestClient::connect(addr).await;
    let mut a = TestClient::join(addr, "a").await;
    let b = TestClient::join(addr, "b").await;
    b.send("secret").await;
    assert_eq!(a.next_event("message").await["message"], "b has joined the chat");
    assert_eq!(a.next_event("message").await["message"], "secret");
    // The welcome (limits) is the only thing an unregistered socket gets.
    assert_eq!(lurker.next_event("welcome").await["limits"]["maxMessageChars"], 2000);
    lurker.expect_silence(Duration::from_millis(300)).await;
}
