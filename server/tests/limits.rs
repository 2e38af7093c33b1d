//! Per-address and per-connection limits (issue 10 findings 1, 4 and 7), against the real server over
//! real sockets: one hostile address is refused clearly, and nobody else notices.

mod support;

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use confab_server::{AddressLimits, ServerConfig};
use serde_json::json;
use support::{raw, start_server, TestClient};

fn with_limits(limits: AddressLimits) -> ServerConfig {
    ServerConfig { address_limits: limits, ..ServerConfig::default() }
}

#[tokio::test]
async fn password_guessing_is_cut_off_per_connection_and_per_address() {
    let config = ServerConfig { password: Some("sesame".into()), ..with_limits(AddressLimits::default()) };
    let server = start_server(config).await;
    let addr = server.local_addr();
    let started = Instant::now();
    // One connection has 3 attempts answered; at the 4th it is closed (it was 200 answers in 48 ms).
    let mut ws = raw::open(addr).await;
    for _ in 0..3 {
        raw::send(&mut ws, r#"40{"password":"guess"}"#).await;
        let answer = raw::next_text(&mut ws).await;
        assert!(answer.starts_with("44") && answer.contains("wrong password"), "{answer}");
    }
    raw::send(&mut ws, r#"40{"password":"guess"}"#).await;
    assert!(raw::closed_within(&mut ws, Duration::from_secs(5)).await, "closed at its 4th attempt");
    // The address used its free attempts: on a new connection even the right password is not looked
    // at while it waits, so guessing gains nothing.
    let mut ws = raw::open(addr).await;
    raw::send(&mut ws, r#"40{"password":"sesame"}"#).await;
    assert!(raw::next_text(&mut ws).await.contains("too many password attempts"));
    assert!(started.elapsed() < Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    raw::send(&mut ws, r#"40{"password":"sesame"}"#).await;
    assert!(raw::next_text(&mut ws).await.starts_with("40{"), "the right password after the wait");
}

#[tokio::test]
async fn new_connections_from_one_address_are_rate_limited_and_others_are_not() {
    let limits = AddressLimits { connections_per_second: 1, connection_burst: 3, ..Default::default() };
    let server = start_server(with_limits(limits)).await;
    let addr = server.local_addr();
    for _ in 0..3 {
        drop(raw::connect(addr).await); // closed again at once: the rate counts opened ones
    }
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    assert!(tokio_tungstenite::connect_async(&url).await.is_err(), "a 4th within the second is closed at accept");
    let mut other = raw::connect_from(Ipv4Addr::new(127, 0, 0, 2), addr).await;
    assert_eq!(raw::register(&mut other, "from elsewhere").await, "431[true]");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut again = raw::connect(addr).await;
    assert_eq!(raw::register(&mut again, "a second later").await, "431[true]");
}

#[tokio::test]
async fn connections_are_capped_per_address_and_freed_when_closed() {
    let server =
        start_server(with_limits(AddressLimits { max_connections_per_address: 4, ..Default::default() })).await;
    let addr = server.local_addr();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(raw::connect(addr).await);
    }
    // The fifth is closed before any HTTP is read.
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    assert!(tokio_tungstenite::connect_async(&url).await.is_err(), "over the per-address cap");
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = TestClient::connect(addr).await;
    assert_eq!(again.register("after a slot was freed").await, json!(true));
    again.next_event("history").await;
}

#[tokio::test]
async fn registration_storms_from_one_address_are_refused_in_words() {
    let limits = AddressLimits { registrations_per_second: 1, registration_burst: 3, ..Default::default() };
    let server = start_server(with_limits(limits)).await;
    let addr = server.local_addr();
    let mut answers = Vec::new();
    for i in 0..5 {
        let mut ws = raw::connect(addr).await;
        raw::send(&mut ws, &format!(r#"421["register","storm{i}"]"#)).await;
        let mut first = raw::next_text(&mut ws).await;
        if i >= 3 {
            // The reason comes before the `false`, so a client can tell "not now" from "name taken".
            assert!(first.starts_with(r#"42["refused",{"event":"register","error":"rate_limited""#), "{first}");
            first = raw::next_text(&mut ws).await;
        }
        answers.push(first);
    }
    assert_eq!(answers, ["431[true]", "431[true]", "431[true]", "431[false]", "431[false]"]);
}

#[tokio::test]
async fn a_socket_that_never_registers_is_closed() {
    let config = ServerConfig { register_within: Duration::from_millis(300), ..ServerConfig::default() };
    let server = start_server(config).await;
    let mut idle = raw::connect(server.local_addr()).await;
    let registered = TestClient::join(server.local_addr(), "stays").await;
    assert!(raw::closed_within(&mut idle, Duration::from_secs(3)).await, "the idle socket is closed");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(server.user_count(), 1, "a registered socket stays");
    drop(registered);
}

/// Reads raw frames until `quiet` passes without one; returns them.
async fn frames_until_quiet(ws: &mut raw::Ws, quiet: Duration) -> Vec<String> {
    let mut frames = Vec::new();
    while let Ok(frame) = tokio::time::timeout(quiet, raw::next_text(ws)).await {
        frames.push(frame);
    }
    frames
}

#[tokio::test]
async fn history_answers_are_bounded_in_bytes_and_rate() {
    let server = start_server(support::unlimited()).await;
    let addr = server.local_addr();
    let filler = TestClient::join(addr, "filler").await;
    // The worst case of finding 2: 200 messages of 2000 control characters (6 bytes each in JSON).
    let nasty = "\u{1}".repeat(2000);
    for _ in 0..200 {
        filler.send(&nasty).await;
    }
    let mut reader = raw::connect(addr).await;
    assert_eq!(raw::register(&mut reader, "reader").await, "431[true]");
    for id in 0..16 {
        raw::send(&mut reader, &format!(r#"42{}["history",{{"after":0}}]"#, 10 + id)).await;
    }
    let acks: Vec<String> = frames_until_quiet(&mut reader, Duration::from_millis(500))
        .await
        .into_iter()
        .filter(|f| f.starts_with("43"))
        .collect();
    let sizes: Vec<usize> = acks.iter().filter(|f| f.contains(r#""from":"filler""#)).map(String::len).collect();
    let refused = acks.iter().filter(|f| f.contains(r#""error":"rate_limited""#)).count();
    assert_eq!(sizes.len() + refused, 16, "every request is answered");
    assert!(sizes.iter().all(|&len| len <= 260 * 1024), "a page stays under its byte cap: {sizes:?}");
    assert!(sizes.len() <= 10 && refused >= 6, "a burst of 16: at most 10 pages, {refused} refused");
    // Before: 16 × 2.4 MB; now at most 2 MiB a minute.
    assert!(sizes.iter().sum::<usize>() <= 2 * 1024 * 1024 + 64 * 1024, "{sizes:?}");
}

#[tokio::test]
async fn the_connections_of_one_address_share_a_history_budget_and_other_addresses_keep_theirs() {
    // About three full pages (~256 KiB each) per address; each connection alone may have 2 MiB.
    let limits = AddressLimits { history_kib_per_minute_per_address: 800, ..AddressLimits::default() };
    let server = start_server(ServerConfig { address_limits: limits, ..support::unlimited() }).await;
    let addr = server.local_addr();
    let filler = TestClient::join(addr, "filler").await;
    let nasty = "\u{1}".repeat(2000);
    for _ in 0..200 {
        filler.send(&nasty).await;
    }
    let hoarding = Ipv4Addr::new(127, 0, 0, 3);
    let mut answers = Vec::new();
    for n in 0..4 {
        let mut ws = raw::connect_from(hoarding, addr).await;
        assert_eq!(raw::register(&mut ws, &format!("hoarder{n}")).await, "431[true]");
        raw::send(&mut ws, r#"4220["history",{"after":0}]"#).await;
        answers.push(ack_of(&mut ws, "4320").await);
    }
    let pages = answers.iter().filter(|a| a.contains(r#""from":"filler""#)).count();
    let refused = answers.iter().filter(|a| a.contains(r#""error":"rate_limited""#)).count();
    assert_eq!((pages, refused), (3, 1), "the fourth connection of the address is over its budget");
    // Another address is not touched by it.
    let mut other = raw::connect_from(Ipv4Addr::new(127, 0, 0, 4), addr).await;
    assert_eq!(raw::register(&mut other, "other").await, "431[true]");
    raw::send(&mut other, r#"4220["history",{"after":0}]"#).await;
    assert!(ack_of(&mut other, "4320").await.contains(r#""from":"filler""#));
}

/// The ack frame starting with `prefix` (`43<id>`), skipping everything else.
async fn ack_of(ws: &mut raw::Ws, prefix: &str) -> String {
    loop {
        let frame = raw::next_text(ws).await;
        if frame.starts_with(prefix) {
            return frame;
        }
    }
}

#[tokio::test]
async fn alternating_typing_notices_cost_the_others_almost_nothing_and_evict_nobody() {
    let server = start_server(ServerConfig { max_queued_packets: 64, ..ServerConfig::default() }).await;
    let addr = server.local_addr();
    let mut others = Vec::new();
    for i in 0..5 {
        others.push(TestClient::join(addr, &format!("other{i}")).await);
    }
    let mut hostile = raw::connect(addr).await;
    assert_eq!(raw::register(&mut hostile, "toggler").await, "431[true]");
    // Finding 3: 3300 toggles in a burst (before, they filled every queue and got everyone evicted).
    let burst: String = (0..3300).map(|i| format!("42[\"typing\",{}]", i % 2 == 0)).collect::<Vec<_>>().join("\u{1e}");
    for frame in burst.split('\u{1e}') {
        raw::send(&mut hostile, frame).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.user_count(), 6, "nobody was evicted");
    let speaker = &others[0];
    speaker.send("still here").await;
    for listener in &mut others[1..] {
        let mut typing = 0;
        loop {
            let (event, value) = listener.next().await;
            match event.as_str() {
                "typing" => typing += 1,
                "message" if value["message"] == "still here" => break,
                _ => {}
            }
        }
        assert!(typing <= 8, "typing notices relayed to one member: {typing}");
    }
}

#[tokio::test]
async fn a_binary_attachment_closes_only_that_connection() {
    let server = start_server(ServerConfig::default()).await;
    let addr = server.local_addr();
    let mut a = TestClient::join(addr, "a").await;
    let b = TestClient::join(addr, "b").await;
    let mut hostile = raw::connect(addr).await;
    assert_eq!(raw::register(&mut hostile, "binary").await, "431[true]");
    raw::send(&mut hostile, r#"451-["message",{"_placeholder":true,"num":0}]"#).await;
    let _ = futures_util::SinkExt::send(&mut hostile, tokio_tungstenite::tungstenite::Message::binary(vec![7; 60_000]))
        .await;
    assert!(raw::closed_within(&mut hostile, Duration::from_secs(3)).await, "the connection is closed");
    b.send("unharmed").await;
    loop {
        let message = a.next_event("message").await;
        if message["message"] == "unharmed" {
            break;
        }
    }
}
