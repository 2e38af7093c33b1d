//! The chat client against real servers started in-process: our server (`confab_server`), a
//! seed-only server and a server that never acks (both small socketioxide stand-ins), and a TCP proxy
//! that can cut or black-hole one client's connection while the server keeps running.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use confab_app::client::{
    ChatClient, ClientError, ClientEvent, ConnectOptions, ConnectionState, Features, Resume, Timing, Trust,
};
use confab_server::{Limits, ServerConfig, ServerHandle, StoreConfig};
use serde_json::{json, Value};
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::SocketIo;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{broadcast, mpsc};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

fn fast() -> Timing {
    Timing {
        connect_timeout: Duration::from_secs(2),
        ack_timeout: Duration::from_millis(800),
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        probe_interval: Duration::from_millis(300),
        features_grace: Duration::from_millis(500),
        rate_limit_retry: Duration::from_millis(300),
        name_retry_window: Duration::from_millis(600),
    }
}

async fn start_server(addr: &str, password: Option<&str>) -> ServerHandle {
    // RUST_LOG=debug shows the client's and the server's view when a test fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let config = ServerConfig {
        password: password.map(str::to_string),
        ping_interval: Duration::from_millis(500),
        ping_timeout: Duration::from_millis(500),
        ..Default::default()
    };
    confab_server::start(addr.parse().unwrap(), config).await.expect("server starts")
}

fn options(server: impl Into<String>, name: &str) -> ConnectOptions {
    ConnectOptions {
        server: server.into(),
        username: name.into(),
        password: None,
        trust: Trust::System,
        timing: fast(),
        resume: None,
    }
}

/// The events of one client, with waiting helpers that fail the test instead of hanging.
struct Events(mpsc::UnboundedReceiver<ClientEvent>, Vec<ClientEvent>);

impl Events {
    /// The first event, already seen or still to come, that matches.
    async fn until(&mut self, what: &str, mut found: impl FnMut(&ClientEvent) -> bool) -> ClientEvent {
        if let Some(event) = self.1.iter().find(|e| found(e)) {
            return event.clone();
        }
        self.next(what, found).await
    }

    /// The next event still to come that matches.
    async fn next(&mut self, what: &str, mut found: impl FnMut(&ClientEvent) -> bool) -> ClientEvent {
        let result = timeout(WAIT, async {
            while let Some(event) = self.0.recv().await {
                self.1.push(event.clone());
                if found(&event) {
                    return Some(event);
                }
            }
            None
        })
        .await;
        match result {
            Ok(Some(event)) => event,
            _ => panic!("timed out waiting for {what}; saw {:#?}", self.1),
        }
    }

    async fn message(&mut self, text: &str) -> ClientEvent {
        self.until(&format!("message {text:?}"), |e| messages(e).iter().any(|m| m.1 == text)).await
    }

    async fn state(&mut self, state: ConnectionState) {
        self.next(&format!("{state:?}"), |e| matches!(e, ClientEvent::Status { state: s, .. } if *s == state)).await;
    }

    async fn delivered(&mut self, local_id: u64) -> ClientEvent {
        self.until(
            &format!("delivery of {local_id}"),
            |e| matches!(e, ClientEvent::Delivered { local_id: l, .. } if *l == local_id),
        )
        .await
    }

    /// Every (from, text) received so far, to count copies.
    fn received(&self) -> Vec<(String, String)> {
        self.1.iter().flat_map(messages).collect()
    }

    /// Takes whatever is queued now without waiting.
    fn drain(&mut self) {
        while let Ok(event) = self.0.try_recv() {
            self.1.push(event);
        }
    }
}

fn messages(event: &ClientEvent) -> Vec<(String, String)> {
    match event {
        ClientEvent::Messages { messages } => {
            messages.iter().map(|m| (m.from.to_string(), m.message.to_string())).collect()
        }
        _ => Vec::new(),
    }
}

async fn join(server: impl Into<String>, name: &str) -> (ChatClient, Events) {
    let (client, events) = ChatClient::connect(options(server, name)).await.expect("connects");
    (client, Events(events, Vec::new()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_names_that_look_like_json_and_chats_both_ways() {
    let server = start_server("127.0.0.1:0", None).await;
    let url = format!("127.0.0.1:{}", server.local_addr().port());
    // "123" and "true" must stay strings, or the server would refuse them.
    let (a, mut a_events) = join(url.as_str(), " 123 ").await;
    assert_eq!(a.name, "123");
    assert_eq!(a.features, Features { history: true, presence: true, acks: true });
    let (b, mut b_events) = join(url.as_str(), "true").await;
    a_events.message("true has joined the chat").await;
    a_events.until("users list", |e| matches!(e, ClientEvent::Users { names } if names.len() == 1)).await;
    b_events.until("users list", |e| matches!(e, ClientEvent::Users { names } if names == &["123", "true"])).await;

    let id = a.send("<img src=x onerror=alert(1)>").unwrap();
    let ClientEvent::Delivered { message, .. } = a_events.delivered(id).await else { unreachable!() };
    assert!(message.id.is_some(), "our server's ack carries the id");
    b_events.message("<img src=x onerror=alert(1)>").await;
    b.send("hello 123").unwrap();
    a_events.message("hello 123").await;

    a.set_typing(true).unwrap();
    b_events.until("typing", |e| matches!(e, ClientEvent::Typing { name, typing: true } if name == "123")).await;

    b.disconnect().await;
    a_events.message("true left the chat").await;
    a.disconnect().await;
    a_events.state(ConnectionState::Offline).await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_history_says_there_is_nothing_older_and_a_kept_one_does_not() {
    let server = start_server("127.0.0.1:0", None).await;
    let url = format!("127.0.0.1:{}", server.local_addr().port());
    let (first, mut first_events) = join(url.as_str(), "first").await;
    first_events.until("the start of the history", |e| *e == ClientEvent::HistoryStart).await;
    let id = first.send("the first word").unwrap();
    first_events.delivered(id).await;

    let (second, mut second_events) = join(url.as_str(), "second").await;
    second_events.message("the first word").await;
    // A probe sent after the join comes back after anything the join itself told.
    let probe = second.send("probe").unwrap();
    second_events.delivered(probe).await;
    assert!(!second_events.1.contains(&ClientEvent::HistoryStart), "a chat with a message has something older");
    second.disconnect().await;
    first.disconnect().await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_have_their_own_errors() {
    let server = start_server("127.0.0.1:0", None).await;
    let url = format!("http://{}", server.local_addr());
    let (_alice, _events) = join(url.as_str(), "alice").await;
    let asked = std::time::Instant::now();
    let err = ChatClient::connect(options(url.as_str(), "ALICE")).await.err().expect("refused");
    assert!(asked.elapsed() < Duration::from_secs(1), "a refusal is quick: {:?}", asked.elapsed());
    assert_eq!(err, ClientError::NameRejected("ALICE".to_string()));
    // Names against the protocol's rules are refused before asking, with the rule in words.
    for (name, why) in [("server", "the name of the chat server"), (&"x".repeat(33), "at most 32 characters")] {
        let err = ChatClient::connect(options(url.as_str(), name)).await.err().expect("refused");
        assert!(matches!(&err, ClientError::NameInvalid { .. }) && err.to_string().contains(why), "{name}: {err}");
    }
    // Refused locally, before any round trip.
    let (bob, _) = join(url.as_str(), "bob").await;
    assert_eq!(bob.send(" \n").unwrap_err(), ClientError::EmptyMessage);
    assert_eq!(bob.send(&"é".repeat(2001)).unwrap_err(), ClientError::MessageTooLong { len: 2001, max: 2000 });
    assert!(bob.send(&"é".repeat(2000)).is_ok());

    assert!(matches!(ChatClient::connect(options("not a url", "x")).await, Err(ClientError::InvalidAddress(_))));
    // Nothing listens on a port we just freed.
    let free = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    assert!(matches!(ChatClient::connect(options(free.to_string(), "x")).await, Err(ClientError::Unreachable(_))));
    // Something that speaks HTTP but not socket.io.
    let http = plain_http_server().await;
    let err = ChatClient::connect(options(http.to_string(), "x")).await.err();
    assert!(matches!(err, Some(ClientError::NotAChatServer(_))), "{err:?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_errors_are_told_apart() {
    let server = start_server("127.0.0.1:0", Some("sesame")).await;
    let url = server.local_addr().to_string();
    let with = |password: Option<&str>| ConnectOptions {
        password: password.map(str::to_string),
        ..options(url.as_str(), "p")
    };
    assert_eq!(ChatClient::connect(with(None)).await.err(), Some(ClientError::PasswordRequired));
    assert_eq!(ChatClient::connect(with(Some("nope"))).await.err(), Some(ClientError::WrongPassword));
    let (client, _) = ChatClient::connect(with(Some("sesame"))).await.expect("right password");
    client.disconnect().await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_acks_time_out_and_nothing_is_lost() {
    let (addr, register_acks, messages_seen) = silent_server().await;
    // 1. A register without an answer is a timeout, not a hang.
    register_acks.store(false, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let err = ChatClient::connect(options(addr.to_string(), "x")).await.err().expect("times out");
    assert!(matches!(err, ClientError::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // 2. A message without an ack makes the client reconnect and send it again (the server did
    //    not keep it: no history), instead of waiting forever or dropping it.
    register_acks.store(true, Ordering::SeqCst);
    let (client, mut events) = join(addr.to_string(), "x").await;
    client.send("are you there?").unwrap();
    events.state(ConnectionState::Reconnecting).await;
    events.state(ConnectionState::Connected).await;
    let mut seen = messages_seen.resubscribe();
    timeout(WAIT, async { while seen.recv().await.unwrap() != "are you there?" {} }).await.expect("sent again");
    assert_eq!(client.pending_count(), 1, "still pending: never acknowledged");
    client.disconnect().await;
    events
        .until("failed on disconnect", |e| matches!(e, ClientEvent::Failed { code, .. } if code == "disconnected"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_server_restart_and_delivers_pending_messages_once() {
    let server = start_server("127.0.0.1:0", None).await;
    let addr = server.local_addr();
    let (a, mut a_events) = join(addr.to_string(), "ann").await;
    let (b, mut b_events) = join(addr.to_string(), "bea").await;
    a_events.message("bea has joined the chat").await;

    server.stop().await.unwrap();
    a_events.state(ConnectionState::Reconnecting).await;
    let first = a.send("typed while offline 1").unwrap();
    let second = a.send("typed while offline 2").unwrap();

    let server = start_server(&addr.to_string(), None).await;
    // Both come back under the same names, and the queue goes out in order, once.
    a_events.delivered(first).await;
    a_events.delivered(second).await;
    b_events.message("typed while offline 2").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    b_events.drain();
    let copies = |text: &str| b_events.received().iter().filter(|m| m.1 == text).count();
    assert_eq!((copies("typed while offline 1"), copies("typed while offline 2")), (1, 1));
    let order: Vec<_> = b_events.received().into_iter().filter(|m| m.1.starts_with("typed")).collect();
    assert_eq!(order[0].1, "typed while offline 1");
    assert!(order.iter().all(|m| m.0 == "ann"), "registered again as ann: {order:?}");
    a.disconnect().await;
    b.disconnect().await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_missed_messages_after_its_own_connection_drops() {
    let server = start_server("127.0.0.1:0", None).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (a, mut a_events) = join(proxy.addr.to_string(), "ann").await;
    let (b, mut b_events) = join(server.local_addr().to_string(), "bea").await;
    b.send("before the drop").unwrap();
    a_events.message("before the drop").await;

    // ann's connection goes dead while the room goes on.
    proxy.set_up(false);
    a_events.state(ConnectionState::Reconnecting).await;
    b_events.message("ann left the chat").await;
    b.send("missed 1").unwrap();
    b.send("missed 2").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.set_up(true);
    a_events.message("missed 2").await;
    a_events.state(ConnectionState::Connected).await;
    a_events.drain();
    let received = a_events.received();
    let count = |text: &str| received.iter().filter(|m| m.1 == text).count();
    assert_eq!((count("before the drop"), count("missed 1"), count("missed 2")), (1, 1, 1), "{received:?}");
    a.disconnect().await;
    b.disconnect().await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_ack_was_lost_is_not_sent_twice() {
    let server = start_server("127.0.0.1:0", None).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (a, mut a_events) = join(proxy.addr.to_string(), "ann").await;
    let (b, mut b_events) = join(server.local_addr().to_string(), "bea").await;
    a_events.message("bea has joined the chat").await;

    // The server gets the message, but its ack never comes back.
    proxy.black_hole(true);
    let id = a.send("only once").unwrap();
    b_events.message("only once").await;
    a_events.state(ConnectionState::Reconnecting).await;
    proxy.black_hole(false);
    let ClientEvent::Delivered { message, .. } = a_events.delivered(id).await else { unreachable!() };
    assert_eq!(&*message.message, "only once");
    b_events.message("ann has joined the chat").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    b_events.drain();
    assert_eq!(b_events.received().iter().filter(|m| m.1 == "only once").count(), 1);
    a_events.drain();
    assert!(!a_events.received().iter().any(|m| m.1 == "only once"), "not shown again as a received line");
    a.disconnect().await;
    b.disconnect().await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_with_a_seed_only_server() {
    let seed = SeedServer::start().await;
    let addr = seed.addr;
    let (a, mut a_events) = join(addr.to_string(), "ann").await;
    assert_eq!(a.features, Features::default());
    let (b, mut b_events) = join(addr.to_string(), "bea").await;
    a_events.message("bea has joined the chat").await;
    let id = a.send("hi seed").unwrap();
    // No ack from a seed server: written to the socket counts as delivered.
    a_events.delivered(id).await;
    b_events.message("hi seed").await;
    a.set_typing(true).unwrap();
    let leaving = std::time::Instant::now();
    b.disconnect().await;
    assert!(leaving.elapsed() < Duration::from_millis(500), "leaving took {:?}", leaving.elapsed());
    a_events.message("bea left the chat").await;
    a.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_that_finds_its_name_held_asks_for_another_and_keeps_what_was_typed() {
    // The seed's reference server never frees a name: after a drop, "ann" stays taken there.
    let seed = SeedServer::start().await;
    let proxy = Proxy::start(seed.addr).await;
    let (a, mut a_events) = join(proxy.addr.to_string(), "ann").await;
    let (b, mut b_events) = join(seed.addr.to_string(), "bea").await;
    a_events.message("bea has joined the chat").await;

    proxy.set_up(false);
    a_events.state(ConnectionState::Reconnecting).await;
    b_events.message("ann left the chat").await;
    let pending = a.send("typed while the name was taken").unwrap();
    proxy.set_up(true);
    let taken = a_events
        .next("name taken", |e| matches!(e, ClientEvent::Status { state: ConnectionState::NameTaken, .. }))
        .await;
    let ClientEvent::Status { name, detail, .. } = taken else { unreachable!() };
    assert_eq!(name.as_deref(), Some("ann"));
    assert!(detail.unwrap_or_default().contains("“ann” is taken"), "said in words");
    // No endless retry: nothing more happens until the user chooses.
    tokio::time::sleep(Duration::from_millis(800)).await;
    a_events.drain();
    assert!(!a_events
        .1
        .iter()
        .rev()
        .take_while(|e| !matches!(e, ClientEvent::Status { state: ConnectionState::NameTaken, .. }))
        .any(|e| matches!(e, ClientEvent::Status { .. })));
    // The same name is still taken; another one works, and the message typed meanwhile goes out.
    assert_eq!(a.rejoin("ann").await, Err(ClientError::NameRejected("ann".into())));
    assert!(matches!(a.rejoin("Server").await, Err(ClientError::NameInvalid { .. })));
    assert_eq!(a.rejoin("ann2").await, Ok("ann2".to_string()));
    a_events.until("new session", |e| matches!(e, ClientEvent::Session { name, .. } if name == "ann2")).await;
    a_events.delivered(pending).await;
    b_events.message("ann2 has joined the chat").await;
    let got = b_events.message("typed while the name was taken").await;
    assert_eq!(messages(&got)[0].0, "ann2");
    assert_eq!(a.rejoin("ann3").await, Err(ClientError::AlreadyJoined));
    a.disconnect().await;
    b.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_allows_exactly_what_the_server_says_it_allows() {
    let mut config = ServerConfig::default();
    config.limits.max_message_chars = 3000;
    let server = confab_server::start("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let (a, mut a_events) = join(server.local_addr().to_string(), "ann").await;
    let ClientEvent::Session { limits, .. } =
        a_events.until("session", |e| matches!(e, ClientEvent::Session { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(limits.max_message_chars, 3000);
    // Longer than the protocol's default, within this server's limit: sent and delivered.
    let id = a.send(&"é".repeat(2500)).unwrap();
    a_events.delivered(id).await;
    assert_eq!(a.send(&"é".repeat(3001)).unwrap_err(), ClientError::MessageTooLong { len: 3001, max: 3000 });
    a.disconnect().await;
    server.stop().await.unwrap();
}

/// A chat over TLS with its own certificate (what a LAN host has), and its fingerprint.
async fn tls_server(tag: &str) -> (ServerHandle, String) {
    let dir = std::env::temp_dir().join(format!("confab-client-tls-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let files = confab_server::TlsFiles::self_signed_in(&dir).expect("a certificate");
    let config = ServerConfig { tls: Some(files), ..ServerConfig::default() };
    let server = confab_server::start("127.0.0.1:0".parse().unwrap(), config).await.expect("starts");
    let fingerprint = server.tls_fingerprint().unwrap().to_owned();
    (server, fingerprint)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lan_chat_over_tls_is_joined_by_its_fingerprint_and_a_changed_one_is_refused() {
    let (server, fingerprint) = tls_server("pin").await;
    let url = format!("https://127.0.0.1:{}", server.local_addr().port());
    let pinned = |fp: &str| ConnectOptions { trust: Trust::Pinned(fp.into()), ..options(url.as_str(), "ann") };
    // Not trusted by the system: said with the fingerprint to compare, nothing joined.
    let untrusted = ChatClient::connect(options(url.as_str(), "ann")).await.err();
    assert_eq!(untrusted, Some(ClientError::UntrustedCertificate { fingerprint: fingerprint.clone() }));
    // Another certificate than the pinned one: refused loudly.
    let other = "00:".repeat(31) + "00";
    match ChatClient::connect(pinned(&other)).await.err() {
        Some(ClientError::CertificateChanged { expected, presented }) => {
            assert_eq!((expected, presented), (other.clone(), fingerprint.clone()))
        }
        got => panic!("expected a changed certificate, got {got:?}"),
    }
    // The pinned one: a normal chat, over wss.
    let (a, a_events) = ChatClient::connect(pinned(&fingerprint.to_lowercase())).await.expect("joins");
    let (b, b_events) =
        ChatClient::connect(ConnectOptions { username: "bea".into(), ..pinned(&fingerprint) }).await.unwrap();
    let (mut a_events, mut b_events) = (Events(a_events, Vec::new()), Events(b_events, Vec::new()));
    a_events.message("bea has joined the chat").await;
    b.send("over TLS").unwrap();
    a_events.message("over TLS").await;
    a.disconnect().await;
    b_events.message("ann left the chat").await;
    b.disconnect().await;
    server.stop().await.unwrap();
}

// ---- stand-in servers -------------------------------------------------------------------------

async fn serve(io_layer: socketioxide::layer::SocketIoLayer) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().layer(io_layer);
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falls_back_to_long_polling_when_websockets_are_refused() {
    let addr = seed_server_with([socketioxide::TransportType::Polling]).await;
    let (a, mut a_events) = join(addr.to_string(), "ann").await;
    let (b, mut b_events) = join(addr.to_string(), "bea").await;
    a_events.message("bea has joined the chat").await;
    b.send("over polling").unwrap();
    a_events.message("over polling").await;
    a.disconnect().await;
    b_events.message("ann left the chat").await;
    b.disconnect().await;
}

/// `tests/seed-server/server.mjs`: a Node socket.io server that behaves like the seed's reference
/// implementation (register answered by an event, joins told to the others only, no extensions,
/// names never freed). Killed when dropped.
struct SeedServer {
    addr: SocketAddr,
    _child: tokio::process::Child,
}

impl SeedServer {
    async fn start() -> SeedServer {
        use tokio::io::AsyncBufReadExt;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/seed-server/server.mjs");
        let mut child = tokio::process::Command::new("node")
            .args([script, "0"])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs the seed server (npm ci installs socket.io)");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let line = timeout(WAIT, lines.next_line()).await.expect("seed server starts in time");
        let port = line
            .ok()
            .flatten()
            .and_then(|l| l.strip_prefix("listening ")?.trim().parse::<u16>().ok())
            .expect("the seed server prints `listening <port>`");
        SeedServer { addr: SocketAddr::from(([127, 0, 0, 1], port)), _child: child }
    }
}

/// A seed-style server that accepts only the given transports: register answered by a `register`
/// event, `{from, message}` relayed, no ids, no extensions.
async fn seed_server_with<const N: usize>(transports: [socketioxide::TransportType; N]) -> SocketAddr {
    let (layer, io) = SocketIo::builder().transports(transports).build_layer();
    let names: Arc<std::sync::Mutex<HashMap<socketioxide::socket::Sid, String>>> = Default::default();
    io.ns("/", async move |socket: SocketRef| {
        let (on_register, on_message, on_leave) = (names.clone(), names.clone(), names.clone());
        socket.on("register", async move |socket: SocketRef, Data(name): Data<String>| {
            let _ = socket.emit("register", &true);
            on_register.lock().unwrap().insert(socket.id, name.clone());
            socket.join("chat");
            let _ = socket
                .to("chat")
                .emit("message", &json!({"from": "Server", "message": format!("{name} has joined the chat")}))
                .await;
        });
        socket.on("message", async move |socket: SocketRef, Data(payload): Data<Value>| {
            let from = on_message.lock().unwrap().get(&socket.id).cloned().unwrap_or_default();
            let _ = socket.to("chat").emit("message", &json!({"from": from, "message": payload["message"]})).await;
        });
        socket.on_disconnect(async move |socket: SocketRef| {
            let name = on_leave.lock().unwrap().remove(&socket.id);
            if let Some(name) = name {
                let _ = socket
                    .to("chat")
                    .emit("message", &json!({"from": "Server", "message": format!("{name} left the chat")}))
                    .await;
            }
        });
    });
    serve(layer).await
}

/// Looks like our server (sends `history`) but never acks `message`; acks `register` only while
/// the flag is set. Every message text it receives is published for the test.
async fn silent_server() -> (SocketAddr, Arc<AtomicBool>, broadcast::Receiver<String>) {
    let (layer, io) = SocketIo::new_layer();
    let acks = Arc::new(AtomicBool::new(true));
    let (seen, seen_rx) = broadcast::channel(64);
    let flag = acks.clone();
    io.ns("/", async move |socket: SocketRef| {
        let flag = flag.clone();
        let seen = seen.clone();
        socket.on("register", async move |socket: SocketRef, ack: AckSender| {
            if flag.load(Ordering::SeqCst) {
                let _ = ack.send(&true);
                let _ = socket.emit("history", &json!([]));
            }
        });
        socket.on("message", async move |Data(payload): Data<Value>| {
            let _ = seen.send(payload["message"].as_str().unwrap_or_default().to_string());
        });
    });
    (serve(layer).await, acks, seen_rx)
}

/// Answers every request with a 404, like any web server that is not a chat server.
async fn plain_http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

const BURST: usize = 5000;

fn burst_line(i: usize) -> String {
    format!("burst {i:04}")
}

/// A server for the burst tests: no message rate limit (one sender sends 5000 as fast as the acks
/// come back), a small outgoing queue, a vanished client noticed within a second.
async fn burst_server(store: StoreConfig, history_capacity: usize) -> ServerHandle {
    burst_server_with(ServerConfig { store, history_capacity, ..burst_config() }).await
}

fn burst_config() -> ServerConfig {
    ServerConfig {
        max_queued_packets: 64,
        limits: Limits { messages_per_second: 0, ..Limits::default() },
        ping_interval: Duration::from_millis(500),
        ping_timeout: Duration::from_millis(500),
        ..Default::default()
    }
}

async fn burst_server_with(config: ServerConfig) -> ServerHandle {
    confab_server::start("127.0.0.1:0".parse().unwrap(), config).await.expect("server starts")
}

/// Lines as (text, id), in the order shown.
type Lines = Vec<(String, u64)>;
/// "No longer available" markers as (how many lines came before it, its size).
type Markers = Vec<(usize, u64)>;

/// What `events` showed of `from`'s lines, and the markers among them.
fn shown_from(events: &Events, from: &str) -> (Lines, Markers) {
    let (mut lines, mut markers) = (Vec::new(), Vec::new());
    for event in &events.1 {
        match event {
            ClientEvent::Messages { messages } => lines.extend(
                messages.iter().filter(|m| &*m.from == from).map(|m| (m.message.to_string(), m.id.expect("an id"))),
            ),
            ClientEvent::Missing { up_to, .. } => markers.push((lines.len(), *up_to)),
            _ => {}
        }
    }
    (lines, markers)
}

/// `listener` reaches the server through `proxy`; `sender` sends the burst. The proxy is cut once
/// the listener has seen `cut_after` lines of it, and comes back once `restore_after` of them were
/// delivered (acknowledged by the server). Returns when the listener has shown the last line.
async fn burst_with_a_cut(
    sender: &ChatClient,
    sender_events: &mut Events,
    listener: &mut Events,
    proxy: &Proxy,
    cut_after: usize,
    restore_after: usize,
) {
    let local_ids: Vec<u64> = (1..=BURST).map(|i| sender.send(&burst_line(i)).unwrap()).collect();
    listener.message(&burst_line(cut_after)).await;
    proxy.set_up(false);
    listener.state(ConnectionState::Reconnecting).await;
    sender_events.delivered(local_ids[restore_after - 1]).await;
    proxy.set_up(true);
    // Paging through thousands of messages at the server's history rate (2 pages a second after
    // a burst of 10) takes a while.
    let last = burst_line(BURST);
    let seen_last = timeout(Duration::from_secs(120), async {
        loop {
            if shown_from(listener, "snd").0.iter().any(|(text, _)| *text == last) {
                break;
            }
            let event = listener.0.recv().await.expect("the session goes on");
            listener.1.push(event);
        }
    })
    .await;
    assert!(seen_last.is_ok(), "the last line never came; saw {} lines", shown_from(listener, "snd").0.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_drop_every_missed_message_is_fetched_page_by_page_and_shown_once_in_order() {
    let dir = std::env::temp_dir().join(format!("confab-catch-up-{}", std::process::id()));
    let server = burst_server(StoreConfig::Sqlite { data_dir: dir.clone() }, 200).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (lis, mut lis_events) = join(proxy.addr.to_string(), "lis").await;
    let (snd, mut snd_events) = join(server.local_addr().to_string(), "snd").await;
    lis_events.message("snd has joined the chat").await;

    // Cut early, back while 2000 are still to come: ~2900 come from paging, the rest live.
    burst_with_a_cut(&snd, &mut snd_events, &mut lis_events, &proxy, 100, 3000).await;
    let (lines, markers) = shown_from(&lis_events, "snd");
    let texts: Vec<String> = lines.iter().map(|(text, _)| text.clone()).collect();
    assert_eq!(texts, (1..=BURST).map(burst_line).collect::<Vec<_>>(), "every message once, in order");
    assert!(markers.is_empty(), "the log on disk holds every message: {markers:?}");

    // "Load older" pages back from any shown id to the start of the log.
    let id = |i: usize| lines[i - 1].1;
    let page = lis.load_older(id(301)).await.expect("a page");
    let got: Vec<&str> = page.messages.iter().map(|m| &*m.message).collect();
    assert_eq!(got, (101..=300).map(burst_line).collect::<Vec<_>>(), "the 200 before, oldest first");
    assert!(!page.start_reached);
    let first = lis.load_older(id(1)).await.expect("a page");
    assert!(first.messages.is_empty() && first.start_reached, "nothing before the first: {first:?}");
    lis.disconnect().await;
    snd.disconnect().await;
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_the_server_no_longer_holds_are_one_marker_in_their_place() {
    // In memory with a history of 50: of what is said while the listener is away, only the last 50 stay.
    let server = burst_server(StoreConfig::InMemory, 50).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (lis, mut lis_events) = join(proxy.addr.to_string(), "lis").await;
    let (snd, mut snd_events) = join(server.local_addr().to_string(), "snd").await;
    lis_events.message("snd has joined the chat").await;

    burst_with_a_cut(&snd, &mut snd_events, &mut lis_events, &proxy, 100, BURST).await;
    let (lines, markers) = shown_from(&lis_events, "snd");
    let texts: Vec<String> = lines.iter().map(|(text, _)| text.clone()).collect();
    // Whatever the listener had shown when the cut came, then the marker, then the last 50.
    let before = markers.first().expect("a marker").0;
    assert!(before >= 100, "{before}");
    let expected: Vec<String> = (1..=before).chain(BURST - 49..=BURST).map(burst_line).collect();
    assert_eq!(texts, expected, "each line once, in order, around the marker");
    assert_eq!(markers.len(), 1, "{markers:?}");
    // Ids count announcements too (the listener's own leave was among them): an upper bound.
    let lost = (BURST - 50 - before) as u64;
    let up_to = markers[0].1;
    assert!((lost..=lost + 3).contains(&up_to), "up to {up_to} for {lost} lost");

    // Nothing older than the last 50 is left to load.
    let page = lis.load_older(lines[before].1).await.expect("a page");
    assert!(page.messages.is_empty() && page.start_reached, "{page:?}");
    lis.disconnect().await;
    snd.disconnect().await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evicted_client_catches_up_on_every_message_it_missed() {
    let dir = std::env::temp_dir().join(format!("confab-evicted-{}", std::process::id()));
    // Pings far apart: only a full queue can drop the client that stopped reading.
    let store = StoreConfig::Sqlite { data_dir: dir.clone() };
    let server = burst_server_with(ServerConfig {
        store,
        ping_interval: Duration::from_secs(30),
        ping_timeout: Duration::from_secs(30),
        // What a queue may hold before its client counts as too slow (the writer's own buffer included).
        max_queued_bytes: 64 * 1024,
        ..burst_config()
    })
    .await;
    let proxy = Proxy::start_with(server.local_addr(), Some(16 * 1024)).await;
    let (lis, mut lis_events) = join(proxy.addr.to_string(), "lis").await;
    let (snd, mut snd_events) = join(server.local_addr().to_string(), "snd").await;
    lis_events.message("snd has joined the chat").await;

    // lis stops reading: the server's socket buffer fills (megabytes), then its queue, and the
    // server evicts it as too slow while the burst goes on. Lines of ~1 KB make the burst ~5 MB.
    proxy.pause(true);
    let pad = "x".repeat(1000);
    let text = |i: usize| format!("{} {pad}", burst_line(i));
    for i in 1..=BURST {
        snd.send(&text(i)).unwrap();
    }
    snd_events.message("lis left the chat").await;
    proxy.pause(false);
    let last = text(BURST);
    let seen_last = timeout(Duration::from_secs(120), async {
        while !shown_from(&lis_events, "snd").0.iter().any(|(shown, _)| *shown == last) {
            let event = lis_events.0.recv().await.expect("the session goes on");
            lis_events.1.push(event);
        }
    })
    .await;
    assert!(seen_last.is_ok(), "the last line never came; saw {} lines", shown_from(&lis_events, "snd").0.len());
    // Evicted, not cut: the server dropped it (its `too_slow` notice may be stuck behind the full
    // queue), and it came back on its own.
    let reconnecting = |e: &ClientEvent| matches!(e, ClientEvent::Status { state: ConnectionState::Reconnecting, .. });
    let dropped_at = lis_events.1.iter().position(reconnecting).expect("lis lost its connection");
    let before_drop = lis_events.1[..dropped_at].iter().map(|e| messages(e).len()).sum::<usize>();
    let told = lis_events.1.iter().any(|e| matches!(e, ClientEvent::Notice { code, .. } if code == "too_slow"));
    eprintln!("lis was dropped after {before_drop} lines (told too_slow: {told}); the rest came from catching up");
    let (lines, markers) = shown_from(&lis_events, "snd");
    let texts: Vec<String> = lines.into_iter().map(|(text, _)| text).collect();
    assert_eq!(texts, (1..=BURST).map(text).collect::<Vec<_>>(), "every message once, in order");
    assert!(markers.is_empty(), "{markers:?}");
    lis.disconnect().await;
    snd.disconnect().await;
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_app_fetches_everything_said_since_its_local_history_ends() {
    const WHILE_CLOSED: usize = 700;
    let server = burst_server(StoreConfig::InMemory, 2 * WHILE_CLOSED).await;
    let url = server.local_addr().to_string();
    let (snd, mut snd_events) = join(url.as_str(), "snd").await;
    let (lis, mut lis_events) = join(url.as_str(), "lis").await;
    snd.send("before the app was closed").unwrap();
    let kept = lis_events.message("before the app was closed").await;
    let newest_id = messages_of(&kept)
        .iter()
        .find(|m| &*m.message == "before the app was closed")
        .and_then(|m| m.id)
        .expect("an id");
    let run = lis_events.until("the session", |e| matches!(e, ClientEvent::Session { .. })).await;
    let ClientEvent::Session { run: Some(run), .. } = run else { panic!("a run: {run:?}") };
    lis.disconnect().await;
    let mut last = 0;
    for i in 1..=WHILE_CLOSED {
        last = snd.send(&burst_line(i)).unwrap();
    }
    snd_events.delivered(last).await;

    // Reopened with what its local history holds: every line said since, in order, once, no marker.
    let resume = Some(Resume { run, newest_id });
    let (again, events) = ChatClient::connect(ConnectOptions { resume, ..options(url.as_str(), "lis") }).await.unwrap();
    let mut again_events = Events(events, Vec::new());
    again_events.message("lis has joined the chat").await;
    let (lines, markers) = shown_from(&again_events, "snd");
    let texts: Vec<String> = lines.into_iter().map(|(text, _)| text).collect();
    assert_eq!(texts, (1..=WHILE_CLOSED).map(burst_line).collect::<Vec<_>>());
    assert!(markers.is_empty(), "{markers:?}");

    // Without it a join shows the server's newest page only: what the app did before.
    let (fresh, mut fresh_events) = join(url.as_str(), "fresh").await;
    fresh_events.message("fresh has joined the chat").await;
    let shown = shown_from(&fresh_events, "snd").0.len();
    assert!(shown < WHILE_CLOSED, "a first join gets one page ({shown} lines)");
    for client in [again, fresh, snd] {
        client.disconnect().await;
    }
    server.stop().await.unwrap();
}

fn messages_of(event: &ClientEvent) -> Vec<confab_app::client::ChatMessage> {
    match event {
        ClientEvent::Messages { messages } => messages.clone(),
        _ => Vec::new(),
    }
}

/// A TCP proxy in front of the server: `set_up(false)` cuts every connection and refuses new ones;
/// `black_hole(true)` keeps forwarding client→server but swallows server→client bytes;
/// `pause(true)` stops reading what the server sends (a client too slow to keep up) until resumed.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    hole: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    cut: broadcast::Sender<()>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        Proxy::start_with(target, None).await
    }

    /// `recv_buffer`: the receive buffer of its connections to the server (small: a paused proxy
    /// makes the server's queue fill at once instead of after megabytes of kernel buffers).
    async fn start_with(target: SocketAddr, recv_buffer: Option<u32>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            up: Arc::new(AtomicBool::new(true)),
            hole: Arc::new(AtomicBool::new(false)),
            paused: Arc::new(AtomicBool::new(false)),
            cut: broadcast::channel(4).0,
        };
        let (up, hole, paused, cut) = (proxy.up.clone(), proxy.hole.clone(), proxy.paused.clone(), proxy.cut.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !up.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees a closed connection
                }
                let (hole, paused, mut cut) = (hole.clone(), paused.clone(), cut.subscribe());
                tokio::spawn(async move {
                    let socket = TcpSocket::new_v4().expect("socket");
                    if let Some(size) = recv_buffer {
                        socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
                    }
                    let Ok(server) = socket.connect(target).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let upstream = tokio::io::copy(&mut cr, &mut sw);
                    let downstream = async {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            while paused.load(Ordering::SeqCst) {
                                tokio::time::sleep(Duration::from_millis(5)).await;
                            }
                            let n = sr.read(&mut buf).await?;
                            if n == 0 {
                                return Ok::<_, std::io::Error>(());
                            }
                            if !hole.load(Ordering::SeqCst) {
                                cw.write_all(&buf[..n]).await?;
                            }
                        }
                    };
                    tokio::select! {
                        _ = upstream => {}
                        _ = downstream => {}
                        _ = cut.recv() => {}
                    }
                });
            }
        });
        proxy
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            let _ = self.cut.send(());
        }
    }

    fn pause(&self, on: bool) {
        self.paused.store(on, Ordering::SeqCst);
    }

    fn black_hole(&self, on: bool) {
        self.hole.store(on, Ordering::SeqCst);
    }
}
