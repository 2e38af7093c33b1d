//! The byte budget of each outgoing queue (issue 10, finding 2; protocol §2.6): a client that stops
//! reading is evicted once the bytes queued for it reach `max_queued_bytes` (its own acks count too),
//! long before the packet cap, and the server's memory stays bounded; typing notices are dropped
//! first and never evict anyone; a client that reads gets any amount of traffic, over websocket and
//! long-polling alike.

mod support;

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use confab_server::ServerConfig;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use support::{polling::Polling, process::Frames, raw, start_server, unlimited, TestClient};
use tokio::net::TcpSocket;
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream};

/// The largest chat message in bytes on the wire: 2000 control characters, 6 bytes each in JSON.
fn heavy_text(n: usize) -> String {
    format!("{n} {}", "\u{1}".repeat(1990))
}

/// The number a [`heavy_text`] starts with.
fn number_of(message: &Value) -> usize {
    message["message"].as_str().and_then(|m| m.split(' ').next()?.parse().ok()).unwrap_or(usize::MAX)
}

/// The tests of this file run one at a time: the first measures the memory of the whole process.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// This test process's resident memory in bytes (the server runs in it).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let kib: usize = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    kib * 1024
}

/// A registered client that never reads again, with a small receive buffer so its kernel buffers
/// hold little, and that answers the heartbeat blindly (a pong every 2 s without reading the pings),
/// so only the queue's budget can end it. It writes `frames` first. Returns the task that keeps it
/// alive.
async fn stalled_client(
    addr: SocketAddr,
    name: &str,
    frames: impl Iterator<Item = String> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    stalled_client_from(Ipv4Addr::LOCALHOST, addr, name, frames).await
}

/// A registered websocket client from the local address `from`, its receive buffer small.
async fn registered_from(from: Ipv4Addr, addr: SocketAddr, name: &str) -> raw::Ws {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(16 * 1024).expect("SO_RCVBUF");
    socket.bind(SocketAddr::from((from, 0))).expect("a local address");
    let stream = socket.connect(addr).await.expect("connects");
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)).await.expect("websocket");
    assert!(raw::next_text(&mut ws).await.starts_with("0{"));
    raw::send(&mut ws, "40").await;
    assert!(raw::next_text(&mut ws).await.starts_with("40{"));
    assert_eq!(raw::register(&mut ws, name).await, "431[true]");
    ws
}

/// [`stalled_client`] from the local address `from`.
async fn stalled_client_from(
    from: Ipv4Addr,
    addr: SocketAddr,
    name: &str,
    frames: impl Iterator<Item = String> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let ws = registered_from(from, addr, name).await;
    let (mut sink, unread) = ws.split();
    tokio::spawn(async move {
        let _unread = unread;
        for frame in frames {
            // Evicted midway, it finds the connection closed.
            if sink.send(Message::text(frame)).await.is_err() {
                return;
            }
        }
        while sink.send(Message::text("3")).await.is_ok() {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_evicted_by_its_byte_budget_long_before_the_packet_cap() {
    let _alone = ONE_AT_A_TIME.lock().await;
    // Default queue limits (4 MiB, 2048 packets); no flood control, so one sender can fill it.
    let config = unlimited();
    let (budget, packet_cap) = (config.max_queued_bytes, config.max_queued_packets);
    let server = start_server(config).await;
    let addr = server.local_addr();
    let mut readers = vec![TestClient::join(addr, "reader1").await, TestClient::join(addr, "reader2").await];
    let sender = TestClient::join(addr, "sender").await;
    // `2["message",{"from":"sender","message":…,"id":…,"ts":…}]`
    let wire_len = serde_json::to_string(&heavy_text(packet_cap)).expect("json").len() + 70;
    // The history cache fills first (200 messages), so what grows afterwards is the stalled queue.
    for n in 0..200 {
        sender.send(&heavy_text(n)).await;
    }
    for reader in &mut readers {
        while number_of(&reader.next_event("message").await) != 199 {}
    }
    let keep_alive = stalled_client(addr, "stalled", std::iter::empty()).await;
    for reader in &mut readers {
        assert_eq!(reader.next_event("message").await["name"], "stalled");
    }
    let rss_before = rss();

    let mut evicted_at = None;
    let mut rss_peak = rss_before;
    let mut sent = 0;
    // Chunks of 20, every reader drained after each: only the stalled client falls behind. Once it
    // is evicted, 200 more show that the others go on receiving everything.
    while sent < packet_cap && evicted_at.is_none_or(|at| sent < at + 200) {
        for _ in 0..20 {
            sender.send(&heavy_text(sent)).await;
            sent += 1;
        }
        for reader in &mut readers {
            let mut expected = sent - 20;
            while expected < sent {
                let message = reader.next_event("message").await;
                if message["kind"] == "leave" {
                    assert_eq!(message["name"], "stalled", "{message}");
                    evicted_at.get_or_insert(sent);
                    continue;
                }
                assert_eq!(number_of(&message), expected, "a reader lost or reordered nothing");
                expected += 1;
            }
        }
        rss_peak = rss_peak.max(rss());
    }
    let evicted_at = evicted_at.expect("the stalled client was evicted before the packet cap");
    let grown = rss_peak.saturating_sub(rss_before);
    eprintln!(
        "stalled client evicted after {evicted_at} messages of ~{wire_len} bytes (~{} KiB sent to it; budget {} KiB, \
         packet cap {packet_cap} = ~{} KiB); test process RSS {} KiB -> peak {} KiB (+{} KiB)",
        evicted_at * wire_len / 1024,
        budget / 1024,
        packet_cap * wire_len / 1024,
        rss_before / 1024,
        rss_peak / 1024,
        grown / 1024,
    );
    assert!(evicted_at * wire_len >= budget, "not evicted before its budget was used: {evicted_at} messages");
    assert!(evicted_at < packet_cap / 2, "evicted by its bytes, long before the packet cap: {evicted_at}");
    // The packet cap alone would have let its queue hold ~25 MB of these.
    assert!(grown < budget + 8 * 1024 * 1024, "memory grew by {} KiB", grown / 1024);
    assert_eq!(server.user_count(), 3, "only the stalled client left");
    keep_alive.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_that_stops_reading_is_evicted_when_its_own_acks_pass_the_budget() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let config = unlimited();
    let (budget, packet_cap) = (config.max_queued_bytes, config.max_queued_packets);
    let server = start_server(config).await;
    let addr = server.local_addr();
    let mut reader = TestClient::join(addr, "reader").await;
    // Each ack carries the delivered message back (~12 KB): only its own acks fill its queue.
    let frames = (0..packet_cap).map(|n| format!("42{}{}", n + 2, json!(["message", {"message": heavy_text(n)}])));
    let keep_alive = stalled_client(addr, "stalled", frames).await;
    assert_eq!(reader.next_event("message").await["name"], "stalled");
    let mut delivered = 0;
    loop {
        let message = reader.next_event("message").await;
        if message["kind"] == "leave" {
            assert_eq!(message["name"], "stalled", "{message}");
            break;
        }
        assert_eq!(number_of(&message), delivered, "in order, none lost");
        delivered += 1;
    }
    let wire_len = serde_json::to_string(&heavy_text(packet_cap)).expect("json").len() + 70;
    eprintln!("a sender that does not read was evicted after {delivered} of its own messages");
    assert!(delivered * wire_len >= budget && delivered < packet_cap / 2, "evicted after {delivered}");
    // Evicted means not a member: what it still sends reaches nobody.
    reader.expect_silence(Duration::from_millis(300)).await;
    assert_eq!(server.user_count(), 1);
    keep_alive.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_notices_never_evict_anyone_even_when_they_fill_a_tiny_budget() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let budget = 2048;
    let server = start_server(ServerConfig { max_queued_bytes: budget, ..ServerConfig::default() }).await;
    let addr = server.local_addr();
    // A member on long-polling: while it does not poll, everything waits in its queue.
    let mut slow = Polling::join(addr, "slow").await;
    let mut typers = Vec::new();
    for i in 0..20 {
        let name = format!("typer{i}");
        let mut typer = raw::connect(addr).await;
        assert_eq!(raw::register(&mut typer, &name).await, "431[true]");
        typers.push(typer);
        // The join lines are real messages (20 of them would not fit this budget): read as they come.
        while slow.event("message").await["name"] != name.as_str() {}
    }

    // Every typer toggles 8 times: up to 4 notices each are relayed (TYPING_BURST), ~45 bytes apiece,
    // 80 of them: about twice the budget of the member that does not read.
    for typer in &mut typers {
        for i in 0..8 {
            raw::send(typer, &format!("42[\"typing\",{}]", i % 2 == 0)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.user_count(), 21, "nobody was evicted for typing notices");

    // Still not polling: a real message must find room in the queue the notices left.
    raw::send(&mut typers[0], r#"42["message",{"message":"after the storm"}]"#).await;
    let mut typing_bytes = 0;
    loop {
        let packet = slow.next().await;
        assert!(!packet.contains("too_slow"), "evicted: {packet}");
        if packet.starts_with("42[\"typing\"") {
            typing_bytes += packet.len() - 1;
        } else if packet.contains("after the storm") {
            break;
        }
    }
    eprintln!("typing notices queued for the member that did not poll: {typing_bytes} bytes (budget {budget})");
    assert!(typing_bytes > 0, "some typing notices reached the slow member");
    // Best effort is dropped first: from half the budget on (one may go over: a size is not known
    // before its packet is encoded), so the rest stays free for what must arrive.
    assert!(typing_bytes <= budget / 2 + 64, "{typing_bytes} bytes of typing notices queued");
    assert_eq!(server.user_count(), 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_gets_many_budgets_worth_over_websocket_and_long_polling() {
    let _alone = ONE_AT_A_TIME.lock().await;
    // 64 KiB: five of these messages. Each reader takes each message before the next is sent, so a
    // budget that did not get its bytes back as the transports send them would evict both soon.
    let config = ServerConfig { max_queued_bytes: 64 * 1024, ..unlimited() };
    let server = start_server(config).await;
    let addr = server.local_addr();
    let (mut websocket, _, _) = Frames::join(addr, "websocket").await;
    let mut polling = Polling::join(addr, "polling").await;
    assert_eq!(websocket.event("message").await["name"], "polling");
    let sender = TestClient::join(addr, "sender").await;
    assert_eq!(websocket.event("message").await["name"], "sender");
    assert_eq!(polling.event("message").await["name"], "sender");

    // 200 × ~12 KB ≈ 2.4 MB: about 37 budgets' worth each.
    for n in 0..200 {
        sender.send(&heavy_text(n)).await;
        assert_eq!(number_of(&websocket.event("message").await), n, "websocket reader");
        assert_eq!(number_of(&polling.event("message").await), n, "long-polling reader");
    }
    assert_eq!(server.user_count(), 3, "nobody was evicted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connections_of_one_address_that_stop_reading_are_evicted_by_their_shared_budget() {
    let _alone = ONE_AT_A_TIME.lock().await;
    // Each queue alone could hold 16 MiB; the four of one address together 1 MiB.
    let mut config = unlimited();
    config.max_queued_bytes = 16 * 1024 * 1024;
    config.address_limits.max_queued_bytes_per_address = 1024 * 1024;
    let own_budget = config.max_queued_bytes;
    let server = start_server(config).await;
    let addr = server.local_addr();
    let mut reader = TestClient::join(addr, "reader").await;
    let sender = TestClient::join(addr, "sender").await;
    let attacker = Ipv4Addr::new(127, 0, 0, 2);
    // A neighbour behind the same address that reads everything: it keeps up, so it stays.
    let neighbour = registered_from(attacker, addr, "neighbour").await;
    let (mut neighbour_tx, mut neighbour_rx) = neighbour.split();
    let neighbour_got = tokio::spawn(async move {
        let mut last = None;
        while let Some(Ok(frame)) = neighbour_rx.next().await {
            let Message::Text(text) = frame else { continue };
            if text.as_str() == "2" {
                let _ = neighbour_tx.send(Message::text("3")).await;
            } else if let Some(event) = text.strip_prefix("42") {
                let event: Value = serde_json::from_str(event).expect("json");
                if event[0] == "message" && event[1]["from"] == "sender" {
                    last = Some(number_of(&event[1]));
                }
            }
        }
        last
    });
    let mut keep_alive = Vec::new();
    for i in 0..4 {
        keep_alive.push(stalled_client_from(attacker, addr, &format!("stalled{i}"), std::iter::empty()).await);
    }
    while reader.next_event("message").await["name"] != "stalled3" {}

    let wire_len = serde_json::to_string(&heavy_text(0)).expect("json").len() + 70;
    let mut left = Vec::new();
    let mut sent = 0;
    // Chunks of 20, the reader drained after each, until all four were evicted and 100 more went out.
    while sent < own_budget / wire_len && left.len() < 4 {
        for _ in 0..20 {
            sender.send(&heavy_text(sent)).await;
            sent += 1;
        }
        let mut expected = sent - 20;
        while expected < sent {
            let message = reader.next_event("message").await;
            if message["kind"] == "leave" {
                left.push((message["name"].as_str().expect("a name").to_owned(), sent));
                continue;
            }
            assert_eq!(number_of(&message), expected, "the reader lost or reordered nothing");
            expected += 1;
        }
    }
    for _ in 0..100 {
        sender.send(&heavy_text(sent)).await;
        sent += 1;
    }
    while number_of(&reader.next_event("message").await) != sent - 1 {}
    eprintln!("left (name, messages sent by then, ~{wire_len} bytes each): {left:?}");
    left.sort();
    let names: Vec<&str> = left.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["stalled0", "stalled1", "stalled2", "stalled3"], "only the four that stopped reading");
    let last_eviction = left.iter().map(|(_, at)| *at).max().expect("evictions");
    // Alone, each would have been evicted only after its own 16 MiB (plus ~3.5 MB of socket buffers).
    assert!(last_eviction * wire_len < own_budget / 2, "evicted after {last_eviction} messages");
    assert_eq!(server.user_count(), 3, "the reader, the sender and the neighbour");
    // The neighbour got every message: it is still a member and saw the last one.
    server.stop().await.expect("stops");
    assert_eq!(neighbour_got.await.expect("the neighbour's task"), Some(sent - 1));
    for task in keep_alive {
        task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_answer_that_does_not_fit_evicts_the_client_that_asked_instead_of_vanishing() {
    let _alone = ONE_AT_A_TIME.lock().await;
    // Room for two full history pages (~256 KiB each) and a bit: the third goes over, the fourth
    // finds the queue full.
    let config = ServerConfig { max_queued_bytes: 600 * 1024, ..unlimited() };
    let server = start_server(config).await;
    let addr = server.local_addr();
    // The sender hears only the announcements: nobody else speaks.
    let mut sender = TestClient::join(addr, "sender").await;
    let mut reader = TestClient::join(addr, "reader").await;
    for n in 0..200 {
        sender.send(&heavy_text(n)).await;
    }
    // All of them delivered before the hoarder comes: from then on the room is silent.
    while number_of(&reader.next_event("message").await) != 199 {}
    assert_eq!(sender.next_event("message").await["name"], "reader");
    // On long-polling, and it does not poll while its answers come: they wait in its queue.
    let mut hoarder = Polling::join(addr, "hoarder").await;
    assert_eq!(sender.next_event("message").await["name"], "hoarder");
    let requests: Vec<String> = (1..=5).map(|ack| format!("42{ack}[\"history\",{{}}]")).collect();
    hoarder.post(&requests.join("\u{1e}")).await;

    let left = sender.next_event("message").await;
    assert_eq!((left["kind"].as_str(), left["name"].as_str()), (Some("leave"), Some("hoarder")));
    assert_eq!(server.user_count(), 2, "too slow for what it asked: evicted, not left waiting for an answer");
    // Told why behind the answers that fitted, not dropped by the heartbeat later without a word.
    let notice = hoarder.event("notice").await;
    assert_eq!(notice["code"], "too_slow", "{notice}");
}
