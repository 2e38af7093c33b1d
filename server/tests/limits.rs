//! Per-address and per-connection limits (issue 10 findings 1, 4 and 7), against the real server over
//! real sockets: one hostile address is refused clearly, and nobody else notices.

mod support;

use std::time::{Duration, Instant};

use confab_server::{AddressLimits, ServerConfig};
use serde_json::json;
use support::{raw, start_server, TestClient};

fn with_limits(limits: AddressLimits) -> ServerConfig {
    ServerConfig { address_limits: limits, ..ServerConfig::default() }
}

#[tokio::test]
async fn password_guessing_is_cut_off_after_a_few_attempts_per_address() {
    let config = ServerConfig { password: Some("sesame".into()), ..with_limits(AddressLimits::default()) };
    let server = start_server(config).await;
    let mut ws = raw::open(server.local_addr()).await;
    let started = Instant::now();
    let mut answers = Vec::new();
    for _ in 0..200 {
        raw::send(&mut ws, r#"40{"password":"guess"}"#).await;
        answers.push(raw::next_text(&mut ws).await);
    }
    let checked = answers.iter().filter(|a| a.contains("wrong password")).count();
    let refused = answers.iter().filter(|a| a.contains("too many password attempts")).count();
    assert_eq!((checked, refused), (3, 197), "{:?}", &answers[..5]);
    // While the address waits, even the right password is not looked at: guessing gains nothing.
    raw::send(&mut ws, r#"40{"password":"sesame"}"#).await;
    assert!(raw::next_text(&mut ws).await.contains("too many password attempts"));
    assert!(started.elapsed() < Duration::from_secs(5));
    // The server keeps serving (another address would be unaffected; here the address waits it out).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    raw::send(&mut ws, r#"40{"password":"sesame"}"#).await;
    assert!(raw::next_text(&mut ws).await.starts_with("40{"), "the right password after the wait");
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
        answers.push(raw::register(&mut ws, &format!("storm{i}")).await);
        if i == 4 {
            let refused = raw::next_text(&mut ws).await;
            assert!(refused.starts_with(r#"42["refused",{"event":"register","error":"rate_limited""#), "{refused}");
        }
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
