//! Starting, stopping and guarding a server: what the desktop app's "Host a chat" relies on.

mod support;

use std::time::{Duration, Instant};

use confab_server::{Error, ServerConfig};
use serde_json::json;
use support::{raw, start_server, TestClient};

#[tokio::test]
async fn port_zero_binds_a_free_port_and_a_taken_port_is_a_clear_error() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    match confab_server::start(addr, ServerConfig::default()).await {
        Err(Error::AddressInUse { addr: reported }) => assert_eq!(reported, addr),
        Err(other) => panic!("expected AddressInUse, got {other}"),
        Ok(_) => panic!("a second server bound a taken port"),
    }
    let message = Error::AddressInUse { addr }.to_string();
    assert!(message.contains("already in use"), "{message}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stop_announces_disconnects_everyone_and_frees_the_port_at_once() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();
    let mut alice = TestClient::join(addr, "alice").await;
    let mut bob = TestClient::join(addr, "bob").await;
    alice.next_event("message").await; // bob joined
    let mut raw_client = raw::connect(addr).await;
    assert_eq!(raw::register(&mut raw_client, "raw").await, "431[true]");

    let started = Instant::now();
    server.stop().await.unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "stop took {took:?}");

    for client in [&mut alice, &mut bob] {
        // The shutdown announcement, and no "left the chat" noise during shutdown.
        let (event, value) = client.next().await;
        let value =
            if event == "message" && value["kind"] == "join" { client.next_event("message").await } else { value };
        assert_eq!(value["kind"], "shutdown", "{value}");
        assert_eq!(value["from"], "Server");
    }
    // The raw websocket is really closed by the server (not just the listener).
    let closed = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match futures_util::StreamExt::next(&mut raw_client).await {
                None | Some(Err(_)) => return,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => return,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the websocket stayed open after stop");

    // The same port can be bound again immediately.
    let again = confab_server::start(addr, ServerConfig::default()).await.expect("rebind at once");
    again.stop().await.unwrap();
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();
    drop(server);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Ok(again) = confab_server::start(addr, ServerConfig::default()).await {
            again.stop().await.unwrap();
            break;
        }
        assert!(Instant::now() < deadline, "port still taken after drop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn password_is_checked_in_the_handshake() {
    let config = ServerConfig { password: Some("s3cret".into()), ..Default::default() };
    let server = start_server(config).await;
    let addr = server.local_addr();

    let missing = TestClient::try_connect(addr, None).await.err().expect("refused without password");
    assert!(missing.contains("password required"), "{missing}");
    let wrong = TestClient::try_connect(addr, Some(json!({"password": "nope"}))).await.err().expect("refused");
    assert!(wrong.contains("wrong password"), "{wrong}");
    let not_a_string = TestClient::try_connect(addr, Some(json!({"password": 5}))).await.err().expect("refused");
    assert!(not_a_string.contains("password required"), "{not_a_string}");

    let mut good = TestClient::try_connect(addr, Some(json!({"password": "s3cret"}))).await.expect("accepted");
    assert_eq!(good.register("insider").await, json!(true));
    good.next_event("history").await;
    assert_eq!(server.user_count(), 1);
}

#[tokio::test]
async fn health_reports_users_and_connections() {
    let server = start_server(Default::default()).await;
    let addr = server.local_addr();
    let _a = TestClient::join(addr, "a").await;
    let _lurker = TestClient::connect(addr).await;
    let body = support::http_get(addr, "/health", &[]).await;
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    let health: serde_json::Value = serde_json::from_str(body.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(health, json!({"status": "ok", "users": 1, "connections": 2}));
}

#[tokio::test]
async fn a_vanished_client_is_announced_after_the_ping_timeout() {
    let config = ServerConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let server = start_server(config).await;
    let addr = server.local_addr();
    let mut watcher = TestClient::join(addr, "watcher").await;
    // A raw client that registers, then goes silent without closing (no pong, no FIN).
    let mut ghost = raw::connect(addr).await;
    assert_eq!(raw::register(&mut ghost, "ghost").await, "431[true]");
    assert_eq!(watcher.next_event("message").await["message"], "ghost has joined the chat");
    let vanished = Instant::now();
    let left = watcher.next_event("message").await;
    assert_eq!(left["message"], "ghost left the chat");
    assert!(vanished.elapsed() < Duration::from_secs(2), "announced after {:?}", vanished.elapsed());
    drop(ghost);
    // The name is free again.
    assert_eq!(TestClient::connect(addr).await.register("ghost").await, json!(true));
}
