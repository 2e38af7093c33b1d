//! Bad input gets a clear answer and changes nothing else.

mod support;

use std::time::Duration;

use proptest::prelude::*;
use serde_json::{json, Value};
use support::{raw, start_server, TestClient};

/// Two fresh users can still chat: the server is serving everyone else.
async fn assert_still_serving(addr: std::net::SocketAddr, tag: &str) {
    let mut x = TestClient::join(addr, &format!("x-{tag}")).await;
    let y = TestClient::join(addr, &format!("y-{tag}")).await;
    x.next_event("message").await; // y joined
    y.send("still here").await;
    assert_eq!(x.next_event("message").await["message"], "still here");
    y.disconnect().await;
    x.disconnect().await;
}

#[tokio::test]
async fn register_refuses_every_non_name() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();
    let taken = TestClient::join(addr, "Taken").await;
    let mut probe = TestClient::connect(addr).await;
    let refused: Vec<(&str, Vec<Value>)> = vec![
        ("number", vec![json!(123)]),
        ("bool", vec![json!(true)]),
        ("object", vec![json!({"name": "x"})]),
        ("null", vec![Value::Null]),
        ("array", vec![json!(["x"])]),
        ("no argument", vec![]),
        ("empty", vec![json!("")]),
        ("blank", vec![json!("   ")]),
        ("33 chars", vec![json!("a".repeat(33))]),
        ("control char", vec![json!("a\u{0007}b")]),
        ("newline", vec![json!("a\nb")]),
        ("Server", vec![json!("Server")]),
        ("sErVeR", vec![json!("  sErVeR ")]),
        ("taken in other case", vec![json!("tAKEN")]),
        // Look-alikes (finding 10): none may pass for the server or for someone online.
        ("Server + zero-width space", vec![json!("Server\u{200B}")]),
        ("Cyrillic Ѕerver", vec![json!("\u{0405}erver")]),
        ("full-width Server", vec![json!("ＳＥＲＶＥＲ")]),
        ("Taken + zero-width space", vec![json!("Taken\u{200B}")]),
        ("Taken with a Cyrillic а", vec![json!("T\u{0430}ken")]),
        ("bidi override", vec![json!("\u{202E}nekaT")]),
        ("zero-width joiner", vec![json!("a\u{200D}b")]),
    ];
    for (case, args) in refused {
        assert_eq!(probe.call("register", args).await, json!(false), "{case}");
    }
    // The numeric-looking *string* is a fine name (rust_socketio must not turn it into a number).
    assert_eq!(probe.register("123").await, json!(true));
    // A second register keeps the first name.
    assert_eq!(probe.register("other").await, json!(false));
    probe.next_event("history").await;
    assert_eq!(probe.next_event("users").await, json!(["Taken", "123"]));
    assert_eq!(probe.call("users", vec![]).await, json!(["Taken", "123"]));
    // Refused names stay free.
    assert_eq!(TestClient::connect(addr).await.register("other").await, json!(true));
    // Extra arguments: the first one counts.
    assert_eq!(TestClient::connect(addr).await.call("register", vec![json!("first"), json!(5)]).await, json!(true));
    // Names are trimmed; 32 characters (not bytes) fit.
    assert_eq!(TestClient::connect(addr).await.register(" padded ").await, json!(true));
    assert_eq!(TestClient::connect(addr).await.register("padded").await, json!(false));
    assert_eq!(TestClient::connect(addr).await.register(&"🦀".repeat(32)).await, json!(true));
    drop(taken);
    assert_still_serving(addr, "register").await;
}

#[tokio::test]
async fn malformed_messages_are_refused_and_delivered_to_nobody() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();
    let mut listener = TestClient::join(addr, "listener").await;
    let mut sender = TestClient::join(addr, "sender").await;
    listener.next_event("message").await; // sender joined

    let cases: Vec<(&str, Vec<Value>, &str)> = vec![
        ("string", vec![json!("hi")], "invalid_payload"),
        ("number", vec![json!(1)], "invalid_payload"),
        ("null", vec![Value::Null], "invalid_payload"),
        ("array", vec![json!([{"message": "x"}])], "invalid_payload"),
        ("no message", vec![json!({"from": "sender"})], "invalid_payload"),
        ("message not string", vec![json!({"message": 42})], "invalid_payload"),
        ("no argument", vec![], "invalid_payload"),
        ("empty", vec![json!({"message": ""})], "empty"),
        ("blank", vec![json!({"message": " \n\t "})], "empty"),
        ("2001 chars", vec![json!({"message": "é".repeat(2001)})], "too_long"),
    ];
    for (case, args, code) in cases {
        let ack = sender.call("message", args).await;
        assert_eq!(ack["error"], code, "{case}: {ack}");
        assert!(ack["reason"].as_str().is_some_and(|r| !r.is_empty()), "{case}: a human reason");
        let refused = sender.next_event("refused").await;
        assert_eq!((refused["event"].as_str(), refused["error"].as_str()), (Some("message"), Some(code)), "{case}");
    }
    // Exactly 2000 characters is fine, and nothing refused was delivered before it.
    let longest = "é".repeat(2000);
    sender.call("message", vec![json!({"message": longest})]).await;
    let got = listener.next_event("message").await;
    assert_eq!(got["message"].as_str().map(|m| m.chars().count()), Some(2000));

    // A message from an unregistered socket.
    let mut stranger = TestClient::connect(addr).await;
    let ack = stranger.call("message", vec![json!({"from": "listener", "message": "spoof"})]).await;
    assert_eq!(ack["error"], "not_registered");
    assert_eq!(stranger.next_event("refused").await["error"], "not_registered");
    listener.expect_silence(Duration::from_millis(200)).await;

    // The sender is still connected and can chat.
    sender.send("after all that").await;
    assert_eq!(listener.next_event("message").await["message"], "after all that");
    assert_still_serving(addr, "message").await;
}

#[tokio::test]
async fn flood_control_refuses_the_excess_and_spares_the_others() {
    let mut config = confab_server::ServerConfig::default();
    config.limits.messages_per_second = 1;
    config.limits.message_burst = 3;
    let server = start_server(config).await;
    let addr = server.local_addr();
    let mut listener = TestClient::join(addr, "calm").await;
    let flooder = TestClient::join(addr, "flooder").await;
    listener.next_event("message").await; // flooder joined

    let mut codes = Vec::new();
    for i in 0..6 {
        let ack = flooder.call("message", vec![json!({"message": format!("f{i}")})]).await;
        codes.push(ack["error"].as_str().unwrap_or("delivered").to_owned());
    }
    assert_eq!(codes, ["delivered", "delivered", "delivered", "rate_limited", "rate_limited", "rate_limited"]);
    for i in 0..3 {
        assert_eq!(listener.next_event("message").await["message"], format!("f{i}"));
    }
    listener.expect_silence(Duration::from_millis(200)).await;
    // The calm user is not limited by the flooder.
    let ack = listener.call("message", vec![json!({"message": "I can talk"})]).await;
    assert_eq!(ack["message"], "I can talk");
}

#[tokio::test]
async fn garbage_frames_on_raw_websockets_disturb_nobody() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();
    let mut a = TestClient::join(addr, "a").await;
    let b = TestClient::join(addr, "b").await;
    a.next_event("message").await; // b joined

    let garbage: &[&str] = &[
        "",
        "hello",
        "4",
        "42",
        "42[",
        "42[]",
        "42{\"not\":\"an array\"}",
        "42[\"message\"",
        "42[1,2,3]",
        "42[\"message\",{\"message\":\"\\ud800\"}]",
        "421[\"register\"]",
        "43[true]",
        "9999",
        "41",
        "40/nope,",
        "451-[\"message\",{\"_placeholder\":true,\"num\":0}]",
    ];
    for frame in garbage {
        let mut ws = raw::connect(addr).await;
        raw::send(&mut ws, frame).await;
        // Also some binary junk and a frame above the 64 KiB packet limit.
        let _ = futures_util::SinkExt::send(&mut ws, tokio_tungstenite::tungstenite::Message::binary(vec![0xff, 0, 1]))
            .await;
        let _ = futures_util::SinkExt::send(&mut ws, tokio_tungstenite::tungstenite::Message::text("4".repeat(70_000)))
            .await;
    }
    // Nothing of that reached the room, and the room still works.
    b.send("unharmed").await;
    assert_eq!(a.next_event("message").await["message"], "unharmed");
    assert_still_serving(addr, "garbage").await;
}

#[tokio::test]
async fn a_raw_client_speaking_the_seed_protocol_byte_for_byte() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();
    let mut ws = raw::connect(addr).await;
    // The exact seed exchange on the wire (notes: `420["register","alice"]` → `430[true]`).
    raw::send(&mut ws, "420[\"register\",\"alice\"]").await;
    assert_eq!(raw::next_text(&mut ws).await, "430[true]");
    assert_eq!(raw::next_text(&mut ws).await, "42[\"history\",[]]");
    assert_eq!(raw::next_text(&mut ws).await, "42[\"users\",[\"alice\"]]");
    // The file token (§2.11), an extension event a seed client ignores.
    assert!(raw::next_text(&mut ws).await.starts_with("42[\"files\",{\"token\":\""));
    let joined = raw::next_text(&mut ws).await;
    assert!(
        joined.starts_with("42[\"message\",{\"from\":\"Server\",\"message\":\"alice has joined the chat\",\"id\":"),
        "{joined}"
    );
    raw::send(&mut ws, "421[\"register\",\"alice2\"]").await;
    assert_eq!(raw::next_text(&mut ws).await, "431[false]");
}

#[tokio::test]
async fn a_seed_client_that_asks_no_ack_gets_a_register_event() {
    let server = start_server(Default::default()).await;
    let mut ws = raw::connect(server.local_addr()).await;
    // The seed's own client: `register` without an ack id, then it waits for a `register` event.
    raw::send(&mut ws, "42[\"register\",\"bob\"]").await;
    assert_eq!(raw::next_text(&mut ws).await, "42[\"register\",true]");
    assert_eq!(raw::next_text(&mut ws).await, "42[\"history\",[]]");
    assert_eq!(raw::next_text(&mut ws).await, "42[\"users\",[\"bob\"]]");
    assert!(raw::next_text(&mut ws).await.starts_with("42[\"files\",{\"token\":\""));
    let joined = raw::next_text(&mut ws).await;
    assert!(
        joined.starts_with("42[\"message\",{\"from\":\"Server\",\"message\":\"bob has joined the chat\""),
        "{joined}"
    );
    // Refusals are answered the same way, and only once: no ack frame was asked for, none comes.
    raw::send(&mut ws, "42[\"register\",\"bob2\"]").await;
    assert_eq!(raw::next_text(&mut ws).await, "42[\"register\",false]");
    let mut other = raw::connect(server.local_addr()).await;
    raw::send(&mut other, "42[\"register\",\"BOB\"]").await;
    assert_eq!(raw::next_text(&mut other).await, "42[\"register\",false]");
    raw::send(&mut other, "42[\"register\",5]").await;
    assert_eq!(raw::next_text(&mut other).await, "42[\"register\",false]");
    // A client that asks for the ack gets the ack alone.
    assert_eq!(raw::register(&mut other, "carol").await, "431[true]");
    assert_eq!(raw::next_text(&mut other).await, "42[\"history\",[]]");
}

#[tokio::test]
async fn welcome_tells_the_limits_the_server_runs_with() {
    let mut config = confab_server::ServerConfig::default();
    config.limits.max_message_chars = 321;
    config.limits.messages_per_second = 0;
    let server = start_server(config).await;
    let (_ws, payload) = raw::connect_with_welcome(server.local_addr()).await;
    assert_eq!(payload["protocol"], 1);
    assert_eq!(payload["limits"]["maxMessageChars"], 321);
    assert_eq!(payload["limits"]["messagesPerSecond"], 0);
    assert_eq!(payload["limits"]["maxNameChars"], 32);
    assert!(payload["run"].as_str().is_some_and(|run| run.len() == 32), "a run id: {payload}");
}

/// Random socket.io frames, from a grammar close enough to the real one to reach every handler:
/// engine.io and socket.io packet types, attachment counts, namespaces, ack ids, the protocol's event
/// names (and others) with arbitrary JSON arguments.
fn random_frame() -> impl Strategy<Value = String> {
    let json = prop_oneof![
        Just("null".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        "\\PC{0,24}".prop_map(|s| Value::String(s).to_string()),
        Just(r#"{"message":"x"}"#.to_owned()),
        Just(r#"{"from":5,"message":""}"#.to_owned()),
        Just(r#"{"after":-1,"limit":99999999999}"#.to_owned()),
        Just(r#"{"_placeholder":true,"num":0}"#.to_owned()),
        Just("[[[[[[[[[[]]]]]]]]]]".to_owned()),
        ".{0,16}",
    ];
    let event = prop_oneof![
        Just("register"),
        Just("message"),
        Just("history"),
        Just("users"),
        Just("typing"),
        Just("welcome"),
        Just(""),
        Just("__proto__"),
    ];
    let args = prop::collection::vec(json, 0..4);
    (
        0u8..10,
        0u8..10,
        prop::option::of(0u32..3),
        prop::option::of("/[a-z]{0,4},"),
        prop::option::of(0u64..99999),
        event,
        args,
    )
        .prop_map(|(eio, sio, attachments, namespace, ack, event, args)| {
            let attachments = attachments.map(|n| format!("{n}-")).unwrap_or_default();
            let ack = ack.map(|n| n.to_string()).unwrap_or_default();
            let mut payload = vec![Value::String(event.to_owned()).to_string()];
            payload.extend(args);
            format!("{eio}{sio}{attachments}{}{ack}[{}]", namespace.unwrap_or_default(), payload.join(","))
        })
}

#[tokio::test]
async fn thousands_of_random_frames_change_nothing_for_the_others() {
    use proptest::strategy::ValueTree;
    let server = start_server(support::unlimited()).await;
    let addr = server.local_addr();
    let mut watcher = TestClient::join(addr, "watcher").await;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut sent = 0;
    for connection in 0..40 {
        let mut ws = raw::connect(addr).await;
        if connection % 2 == 0 {
            assert_eq!(raw::register(&mut ws, &format!("fuzz{connection}")).await, "431[true]");
        }
        for _ in 0..100 {
            let frame = random_frame().new_tree(&mut runner).expect("a frame").current();
            if futures_util::SinkExt::send(&mut ws, tokio_tungstenite::tungstenite::Message::text(frame)).await.is_err()
            {
                break; // the server closed this connection: a fine answer to garbage
            }
            sent += 1;
        }
    }
    println!("{sent} random frames reached the server");
    assert!(sent >= 1000, "frames that reached the server: {sent}");
    assert_still_serving(addr, "fuzz").await;
    // The watcher saw only well-formed room traffic: every message it got has a string text.
    while let Ok(Some((event, value))) =
        tokio::time::timeout(Duration::from_millis(200), async { Some(watcher.next().await) }).await
    {
        if event == "message" {
            assert!(value["message"].is_string() && value["from"].is_string(), "{value}");
        }
    }
}
