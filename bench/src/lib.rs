//! The Confab load generator: many cheap chat clients that speak the engine.io v4 / socket.io v5
//! websocket frames directly (no client library), and exact delivery accounting.
//!
//! Every chat message a sender emits carries `bench s=<sender> n=<seq> t=<micros>` as its text, so each
//! receiver knows, for every sender, exactly which sequence numbers it got (lost, duplicated and
//! out-of-order deliveries are counted, not estimated) and the latency from send to receipt.
//!
//! [`run`] drives one scenario against a server that is already listening; the binary (`confab-bench`) starts the servers, measures them from `/proc` and
//! prints the comparison.

pub mod attack;
pub mod order;
pub mod proc;
pub mod redis;
pub mod stats;

use std::{
    net::{IpAddr, SocketAddr},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, LazyLock, OnceLock,
    },
    time::{Duration, Instant},
};

use confab_protocol::event;
use crossbeam_utils::CachePadded;
use futures_util::{SinkExt, StreamExt};
use memchr::memmem;
use tokio::{
    net::{TcpSocket, TcpStream},
    sync::{watch, Semaphore},
    task::JoinSet,
};
use tokio_tungstenite::{
    tungstenite::{protocol::WebSocketConfig, Message},
    WebSocketStream,
};

pub use stats::{Latencies, Summary};

/// One load-generator websocket.
pub type Ws = WebSocketStream<TcpStream>;

/// How long one client may take to connect, join the namespace and register.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// After the senders stop, how long to wait without any progress for the last deliveries.
const DRAIN_IDLE: Duration = Duration::from_secs(3);

/// The instant every timestamp in a message text is relative to (one per load-generator process).
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_micros() -> u64 {
    epoch().elapsed().as_micros() as u64
}

/// How senders send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SendMode {
    /// Open loop: each sender emits `per_second` messages per second, whatever the server does.
    Rate { per_second: f64 },
    /// Closed loop, "as fast as the server allows": each sender keeps at most `window` messages
    /// without an ack, and sends the next one as soon as an ack comes back.
    Saturate { window: usize },
}

/// One scenario: `clients` connect (and register, if asked), then, if there are senders and a
/// duration, the senders send while everyone counts what it receives.
#[derive(Debug, Clone)]
pub struct RunParams {
    pub clients: usize,
    /// Register a name after joining the namespace (the idle-memory scenario may skip it).
    pub register: bool,
    pub senders: usize,
    pub mode: SendMode,
    pub duration: Duration,
    /// Handshakes (TCP + websocket + socket.io connect + register) in flight at once.
    pub connect_concurrency: usize,
    /// How the clients connect: from which local address, with which password.
    pub dial: Dial,
    /// Keep every receiver's deliveries in order of arrival, to compare the order across receivers
    /// ([`RunResult::global_order`]); costs 8 bytes per delivery, so only for the cluster scenario.
    pub track_order: bool,
}

impl RunParams {
    pub fn messaging(clients: usize, senders: usize, mode: SendMode, duration: Duration) -> Self {
        Self {
            clients,
            register: true,
            senders,
            mode,
            duration,
            connect_concurrency: 256,
            dial: Dial::default(),
            track_order: false,
        }
    }
    pub fn connect_only(clients: usize, register: bool) -> Self {
        Self {
            clients,
            register,
            senders: 0,
            mode: SendMode::Rate { per_second: 1.0 },
            duration: Duration::ZERO,
            connect_concurrency: 256,
            dial: Dial::default(),
            track_order: false,
        }
    }
}

/// How a client reaches the server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dial {
    /// Local address to connect from (`None`: the system's choice, 127.0.0.1 towards 127.0.0.1).
    /// Linux routes all of 127.0.0.0/8 to the loopback interface, so clients bound to 127.0.0.2 are
    /// another address to the server's per-address limits.
    pub source: Option<IpAddr>,
    /// The room password, sent in the socket.io handshake `auth` (`40{"password":…}`).
    pub password: Option<String>,
    /// The TCP receive buffer, in bytes (`None`: the system's). A small one makes a client that stops
    /// reading hold its data in the server's queue instead of in the kernels' socket buffers.
    pub receive_buffer: Option<u32>,
}

/// The moments of a run the binary snapshots the server process at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Before the first connection attempt.
    ConnectStart,
    /// Every client registered (or failed).
    Connected,
    /// No frame arrived for a while after connecting (join announcements drained): idle state.
    Settled,
    /// Right before the first message is sent.
    SendStart,
    /// Every expected delivery arrived (or the drain gave up), before any client disconnects.
    Drained,
    /// The clients were told to stop: the server may go (nothing is measured after this).
    Finished,
}

/// Everything one run observed on the client side.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    pub clients: usize,
    pub connected: usize,
    pub connect_failures: usize,
    /// `register` events the server never answered (the client asked again after
    /// [`REGISTER_RETRY`]); the connect time includes the wait.
    pub register_retries: u64,
    /// A few failure reasons, for the log.
    pub failure_samples: Vec<String>,
    /// From the first connection attempt to the last successful register ack.
    pub connect_elapsed: Duration,
    /// Chat messages written by the senders.
    pub sent: u64,
    /// Sender acks received: the delivered message with its id (`ok`) or anything else (`bad`).
    pub acks_ok: u64,
    pub acks_bad: u64,
    /// Bench chat messages received, duplicates included.
    pub deliveries: u64,
    /// Deliveries that should have happened: each sent message once to every other registered client.
    pub expected: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub out_of_order: u64,
    /// Deliveries whose `from` was not the sender's registered name.
    pub wrong_from: u64,
    /// Clients that the server disconnected (or told `too_slow`) before the end of the run.
    pub dropped_clients: usize,
    /// `typing` notices received, all clients together.
    pub typing_notices: u64,
    /// From the first send to the last delivery (drain included).
    pub elapsed: Duration,
    pub latency: Summary,
    /// Per client: connect (+ register) time, from its first attempt to the answer.
    pub handshake: Summary,
    /// With [`RunParams::track_order`]: how the receivers' orders agree across senders.
    pub global_order: Option<order::OrderCheck>,
}

impl RunResult {
    pub fn connect_rate(&self) -> f64 {
        self.connected as f64 / self.connect_elapsed.as_secs_f64().max(1e-9)
    }
    pub fn deliveries_per_second(&self) -> f64 {
        self.deliveries as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// True when every expected delivery arrived exactly once, in order, from the right name.
    pub fn exact(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.out_of_order == 0 && self.wrong_from == 0
    }
}

/// What the coordinator tells the clients.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Connecting,
    Send { until: Instant },
    Stop,
}

/// Counters shared by every client task.
struct Shared {
    connected: AtomicUsize,
    failed: AtomicUsize,
    sent: AtomicU64,
    senders_done: AtomicUsize,
    /// What each client received so far, one cache line per client (index = client index).
    progress: Box<[CachePadded<Progress>]>,
}

/// One client's receive counters. Only that client writes them (plain stores, no read-modify-write),
/// and only the coordinator reads them: counters shared by every client cost the generator a
/// cache-line transfer between its two threads on every frame at saturation.
#[derive(Default)]
struct Progress {
    /// Frames other than heartbeats: the join storm is over when this stops moving.
    frames: AtomicU64,
    /// Bench messages received, duplicates included.
    deliveries: AtomicU64,
    /// When the last one arrived (µs since the epoch), for the deliveries-per-second figure.
    last_delivery_micros: AtomicU64,
}

impl Shared {
    fn new(clients: usize) -> Self {
        Self {
            connected: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            sent: AtomicU64::new(0),
            senders_done: AtomicUsize::new(0),
            progress: (0..clients).map(|_| CachePadded::new(Progress::default())).collect(),
        }
    }

    fn sum(&self, field: impl Fn(&Progress) -> &AtomicU64) -> u64 {
        self.progress.iter().map(|p| field(p).load(Ordering::Relaxed)).sum()
    }

    fn frames(&self) -> u64 {
        self.sum(|p| &p.frames)
    }

    fn deliveries(&self) -> u64 {
        self.sum(|p| &p.deliveries)
    }

    fn last_delivery_micros(&self) -> u64 {
        self.progress.iter().map(|p| p.last_delivery_micros.load(Ordering::Relaxed)).max().unwrap_or(0)
    }
}

/// Per-receiver accounting of one sender's sequence numbers.
#[derive(Default, Clone)]
struct SeqTrack {
    seen: Vec<u64>,
    received: u64,
    duplicated: u64,
    out_of_order: u64,
    /// Highest sequence number seen so far plus one.
    next: u64,
}

impl SeqTrack {
    fn record(&mut self, seq: u64) {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        if self.seen[word] & (1 << bit) != 0 {
            self.duplicated += 1;
            return;
        }
        self.seen[word] |= 1 << bit;
        self.received += 1;
        if seq < self.next {
            self.out_of_order += 1;
        } else {
            self.next = seq + 1;
        }
    }
}

/// What one client task hands back.
#[derive(Default)]
struct ClientReport {
    index: usize,
    connected: bool,
    register_retries: u32,
    failure: Option<String>,
    dropped: bool,
    sent: u64,
    acks_ok: u64,
    acks_bad: u64,
    tracks: Vec<SeqTrack>,
    wrong_from: u64,
    typing_notices: u64,
    latencies: Vec<u32>,
    /// With `track_order`: every delivery's [`order::key`], in order of arrival.
    arrivals: Vec<u64>,
    connected_at: Option<Instant>,
    /// From this client's first connection attempt to its register ack (or namespace connect).
    handshake_micros: u32,
}

fn ws_config() -> WebSocketConfig {
    // tungstenite's default 128 KiB read buffer per connection would dominate the generator's memory
    // with 10 000 sockets; chat frames are small.
    WebSocketConfig::default().read_buffer_size(8 * 1024)
}

/// Opens a TCP connection to `addr` (from `source` when given) and the engine.io websocket on it,
/// and reads the engine.io open packet (`0{"sid":…}`); the socket.io namespace is not joined yet.
pub async fn open_engine(addr: SocketAddr, dial: &Dial) -> Result<Ws, String> {
    let socket =
        if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(|e| format!("socket: {e}"))?;
    if let Some(ip) = dial.source {
        socket.bind(SocketAddr::new(ip, 0)).map_err(|e| format!("bind {ip}: {e}"))?;
    }
    if let Some(bytes) = dial.receive_buffer {
        socket.set_recv_buffer_size(bytes).map_err(|e| format!("receive buffer: {e}"))?;
    }
    let stream = socket.connect(addr).await.map_err(|e| format!("tcp: {e}"))?;
    let _ = stream.set_nodelay(true);
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
        .await
        .map_err(|e| format!("websocket: {e}"))?;
    // engine.io open packet: 0{"sid":...,"pingInterval":...}
    match next_text(&mut ws).await? {
        t if t.starts_with('0') => Ok(ws),
        other => Err(format!("expected engine.io open, got {other:?}")),
    }
}

/// The socket.io connect packet for namespace `/`, with the password as handshake `auth` if any.
pub fn connect_packet(password: Option<&str>) -> String {
    match password {
        None => "40".to_owned(),
        Some(password) => format!("40{}", serde_json::json!({ "password": password })),
    }
}

/// Opens the websocket and joins the socket.io namespace `/`.
async fn open(addr: SocketAddr, dial: &Dial) -> Result<Ws, String> {
    let mut ws = open_engine(addr, dial).await?;
    join_namespace(&mut ws, dial.password.as_deref()).await?;
    Ok(ws)
}

/// Joins namespace `/` on an open engine.io websocket (`40` → `40{"sid":…}`), answering pings.
pub async fn join_namespace(ws: &mut Ws, password: Option<&str>) -> Result<(), String> {
    ws.send(Message::text(connect_packet(password))).await.map_err(|e| format!("send 40: {e}"))?;
    loop {
        let t = next_text(ws).await?;
        if t.starts_with("40") {
            return Ok(());
        }
        if t == "2" {
            ws.send(Message::text("3")).await.map_err(|e| e.to_string())?;
            continue;
        }
        return Err(format!("expected socket.io connect, got {t:?}"));
    }
}

pub(crate) async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(_))) | None => return Err("closed".into()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
        }
    }
}

/// How long a client waits for its `register` ack before it sends `register` again. A register that
/// needs a second try was lost by the server (counted as `register_retries`; confab-server can drop an
/// event that arrives before its async connect handler has installed the event handlers).
pub const REGISTER_RETRY: Duration = Duration::from_secs(3);

/// Sends `register` (ack ids 0, 1, ...) and waits for a `true` answer, answering pings meanwhile;
/// returns how many times it had to ask again.
async fn register(ws: &mut Ws, name: &str) -> Result<u32, String> {
    let payload = serde_json::json!([event::REGISTER, name]);
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    let mut tries: u32 = 0;
    loop {
        ws.send(Message::text(format!("42{tries}{payload}"))).await.map_err(|e| e.to_string())?;
        let retry_at = (Instant::now() + REGISTER_RETRY).min(deadline);
        loop {
            let t = match tokio::time::timeout_at(retry_at.into(), next_text(ws)).await {
                Ok(t) => t?,
                Err(_) if Instant::now() >= deadline => return Err("register timeout".into()),
                Err(_) => break,
            };
            if t == "2" {
                ws.send(Message::text("3")).await.map_err(|e| e.to_string())?;
            } else if let Some(rest) = t.strip_prefix("43") {
                let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                if rest.starts_with("[true") {
                    return Ok(tries);
                }
                // `false` to a retry means an earlier try is still on its way: keep waiting.
                if tries == 0 {
                    return Err(format!("register refused: {rest}"));
                }
            }
        }
        tries += 1;
    }
}

/// Connects one client, joins `/` and (if asked) registers `name`; returns the register retries.
pub async fn connect_client(addr: SocketAddr, name: &str, do_register: bool) -> Result<(Ws, u32), String> {
    connect_client_with(addr, &Dial::default(), name, do_register).await
}

/// [`connect_client`] from `dial`'s address and with its password.
pub async fn connect_client_with(
    addr: SocketAddr,
    dial: &Dial,
    name: &str,
    do_register: bool,
) -> Result<(Ws, u32), String> {
    let mut ws = tokio::time::timeout(HANDSHAKE_TIMEOUT, open(addr, dial))
        .await
        .map_err(|_| "connect timeout".to_string())??;
    let retries = if do_register { register(&mut ws, name).await? } else { 0 };
    Ok((ws, retries))
}

/// Where in its period a fixed-rate sender starts, in [0, 1): spread like random phases (a
/// SplitMix64 hash of the client index), the same in every run so both servers get the same load.
fn phase_fraction(index: usize) -> f64 {
    let mut z = (index as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The frame of one bench message (ack id, sender index, sequence number, send time).
fn message_frame(ack_id: u64, sender: usize, seq: u64) -> Message {
    Message::text(format!(
        "42{ack_id}[\"message\",{{\"from\":\"x\",\"message\":\"bench s={sender} n={seq} t={}\"}}]",
        now_micros()
    ))
}

/// The start of a socket.io event frame (`42["<event>",`) on the default namespace.
fn event_frame_prefix(event: &str) -> String {
    format!("42[\"{event}\",")
}

static MESSAGE_FRAME: LazyLock<String> = LazyLock::new(|| event_frame_prefix(event::MESSAGE));
static NOTICE_FRAME: LazyLock<String> = LazyLock::new(|| event_frame_prefix(event::NOTICE));
static TYPING_FRAME: LazyLock<String> = LazyLock::new(|| event_frame_prefix(event::TYPING));

/// Pulls sender, sequence number, send time and "from is right" out of a relayed `message` event,
/// without a full JSON parse (the generator must stay cheap: at saturation it reads millions of
/// frames per second, and building a substring searcher per frame was a quarter of its CPU).
fn parse_delivery(frame: &str) -> Option<(usize, u64, u64, bool)> {
    static BENCH_TEXT: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new("\"message\":\"bench s="));
    static FROM: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("\"from\":\""));
    let body = frame.strip_prefix(MESSAGE_FRAME.as_str())?;
    let at = BENCH_TEXT.find(body.as_bytes())?;
    let rest = &body[at + BENCH_TEXT.needle().len()..];
    let (s, rest) = rest.split_once(" n=")?;
    let (n, rest) = rest.split_once(" t=")?;
    let t = &rest[..rest.find('"')?];
    let sender: usize = s.parse().ok()?;
    let from = FROM.find(body.as_bytes()).map(|i| &body[i + FROM.needle().len()..]).and_then(|f| f.split('"').next());
    let from_ok = from.and_then(|f| f.strip_prefix('c')).and_then(|i| i.parse::<usize>().ok()) == Some(sender);
    Some((sender, n.parse().ok()?, t.parse().ok()?, from_ok))
}

#[allow(unused_assignments)]
/// One client: connects (and registers), waits for the start, sends (if it is a sender), and records
/// every delivery until told to stop.
async fn client(
    index: usize,
    addr: SocketAddr,
    params: Arc<RunParams>,
    shared: Arc<Shared>,
    connect_gate: Arc<Semaphore>,
    mut phase: watch::Receiver<Phase>,
) -> ClientReport {
    let mut report = ClientReport { index, tracks: vec![SeqTrack::default(); params.senders], ..Default::default() };
    let permit = connect_gate.acquire().await;
    let attempt = Instant::now();
    let ws = connect_client_with(addr, &params.dial, &format!("c{index}"), params.register).await;
    drop(permit);
    let mut ws = match ws {
        Ok((ws, retries)) => {
            report.register_retries = retries;
            ws
        }
        Err(why) => {
            report.failure = Some(why);
            shared.failed.fetch_add(1, Ordering::SeqCst);
            return report;
        }
    };
    report.connected = true;
    report.connected_at = Some(Instant::now());
    report.handshake_micros = attempt.elapsed().as_micros().min(u32::MAX as u128) as u32;
    shared.connected.fetch_add(1, Ordering::SeqCst);

    let is_sender = index < params.senders;
    let saturate = matches!(params.mode, SendMode::Saturate { .. });
    let window = match params.mode {
        SendMode::Saturate { window } => window.max(1),
        SendMode::Rate { .. } => usize::MAX,
    };
    let period = match params.mode {
        SendMode::Rate { per_second } => Duration::from_secs_f64(1.0 / per_second.max(0.001)),
        SendMode::Saturate { .. } => Duration::from_secs(3600),
    };
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sending = false;
    let mut until = Instant::now();
    let mut next_ack: u64 = 1;
    let mut outstanding: usize = 0;
    let progress = &shared.progress[index];
    let (mut frames, mut deliveries) = (0u64, 0u64);

    // Sends the next bench message; false when the connection is gone.
    macro_rules! send_next {
        () => {{
            let frame = message_frame(next_ack, index, report.sent);
            if ws.send(frame).await.is_ok() {
                next_ack += 1;
                outstanding += 1;
                report.sent += 1;
                shared.sent.fetch_add(1, Ordering::SeqCst);
                true
            } else {
                false
            }
        }};
    }
    macro_rules! stop_sending {
        () => {
            if sending {
                sending = false;
                shared.senders_done.fetch_add(1, Ordering::SeqCst);
            }
        };
    }

    // Applies the phase the coordinator set last; true when the client must stop.
    macro_rules! apply_phase {
        () => {{
            let current = *phase.borrow_and_update();
            match current {
                Phase::Stop => true,
                Phase::Send { until: u } if is_sender && !sending => {
                    sending = true;
                    until = u;
                    if saturate {
                        while outstanding < window {
                            if !send_next!() {
                                report.dropped = true;
                                stop_sending!();
                                break;
                            }
                        }
                    } else {
                        // Real users are not synchronized: each sender starts at its own point of
                        // the period. Senders that tick together let a server that reads all ready
                        // input before writing (confab on one thread) put several messages in one
                        // `send()`, which flattered its CPU per delivery (~4.8 deliveries per
                        // `send()` in the chat scenario).
                        ticker.reset_at(tokio::time::Instant::now() + period.mul_f64(phase_fraction(index)));
                    }
                    false
                }
                _ => false,
            }
        }};
    }

    loop {
        tokio::select! {
            biased;
            _ = ticker.tick(), if sending && !saturate => {
                if Instant::now() >= until {
                    stop_sending!();
                } else if !send_next!() {
                    report.dropped = true;
                    stop_sending!();
                    break;
                }
            }
            frame = ws.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        // The server is killed once the run is over: only an earlier close counts.
                        report.dropped = *phase.borrow() != Phase::Stop;
                        stop_sending!();
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                let t = text.as_str();
                if t != "2" {
                    // Heartbeats never stop: only real traffic counts when waiting for quiet.
                    frames += 1;
                    progress.frames.store(frames, Ordering::Relaxed);
                }
                if t == "2" {
                    if ws.send(Message::text("3")).await.is_err() { report.dropped = true; stop_sending!(); break; }
                } else if t.starts_with(MESSAGE_FRAME.as_str()) {
                    if let Some((sender, seq, sent_at, from_ok)) = parse_delivery(t) {
                        let now = now_micros();
                        if let Some(track) = report.tracks.get_mut(sender) { track.record(seq); }
                        if params.track_order { report.arrivals.push(order::key(sender, seq)); }
                        if !from_ok { report.wrong_from += 1; }
                        report.latencies.push(now.saturating_sub(sent_at).min(u32::MAX as u64) as u32);
                        deliveries += 1;
                        progress.deliveries.store(deliveries, Ordering::Relaxed);
                        progress.last_delivery_micros.store(now, Ordering::Relaxed);
                    }
                } else if t.starts_with("43") {
                    // The ack of a message: 43<id>[{...the delivered message, with its id...}]
                    if t.contains("\"id\":") && !t.contains("\"error\":") { report.acks_ok += 1 } else { report.acks_bad += 1 }
                    outstanding = outstanding.saturating_sub(1);
                    if sending && saturate {
                        if Instant::now() >= until {
                            if outstanding == 0 { stop_sending!(); }
                        } else {
                            while outstanding < window {
                                if !send_next!() { report.dropped = true; stop_sending!(); break; }
                            }
                        }
                    }
                } else if t.starts_with(NOTICE_FRAME.as_str()) || t.starts_with("41") {
                    report.dropped = true;
                } else if t.starts_with(TYPING_FRAME.as_str()) {
                    report.typing_notices += 1;
                }
                // While frames keep coming this branch stays ready and the one below is not polled,
                // so a phase change is looked for here too: a plain load, where polling a fresh
                // `changed()` future for every frame cost the generator ~15 % of its CPU.
                match phase.has_changed() {
                    Ok(false) => {}
                    Ok(true) => if apply_phase!() { break },
                    Err(_) => break,
                }
            }
            changed = phase.changed() => {
                if changed.is_err() || apply_phase!() { break; }
            }
        }
    }
    report
}

/// Waits until `counter` has not moved for `quiet` (at most `limit`).
async fn wait_quiet(counter: impl Fn() -> u64, quiet: Duration, limit: Duration) {
    let deadline = Instant::now() + limit;
    let mut last = counter();
    let mut since = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = counter();
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            return;
        }
    }
}

/// Runs one scenario against the server listening at `addr`; `mark` is called at each [`Mark`].
pub async fn run(addr: SocketAddr, params: RunParams, mark: &(dyn Fn(Mark) + Sync)) -> RunResult {
    run_on(&[addr], params, mark).await
}

/// [`run`] against several servers of one chat (a cluster): client `i` connects to `addrs[i % n]`,
/// so the clients, and the senders (the first clients), are spread evenly over the servers.
pub async fn run_on(addrs: &[SocketAddr], params: RunParams, mark: &(dyn Fn(Mark) + Sync)) -> RunResult {
    assert!(!addrs.is_empty(), "no server to run against");
    let params = Arc::new(params);
    let shared = Arc::new(Shared::new(params.clients));
    let gate = Arc::new(Semaphore::new(params.connect_concurrency.max(1)));
    let (phase_tx, phase_rx) = watch::channel(Phase::Connecting);
    epoch();

    mark(Mark::ConnectStart);
    let connect_start = Instant::now();
    let mut tasks = JoinSet::new();
    for index in 0..params.clients {
        let addr = addrs[index % addrs.len()];
        tasks.spawn(client(index, addr, params.clone(), shared.clone(), gate.clone(), phase_rx.clone()));
    }
    // Everyone connected (or failed) before anything is sent, so every receiver should see every message.
    while shared.connected.load(Ordering::SeqCst) + shared.failed.load(Ordering::SeqCst) < params.clients {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    mark(Mark::Connected);
    let connected = shared.connected.load(Ordering::SeqCst);
    // Join announcements (N²/2 of them) drain before anything is measured.
    wait_quiet(|| shared.frames(), Duration::from_millis(500), Duration::from_secs(120)).await;
    mark(Mark::Settled);

    let mut start_micros = now_micros();
    if params.senders > 0 && !params.duration.is_zero() {
        mark(Mark::SendStart);
        start_micros = now_micros();
        let start = Instant::now();
        let _ = phase_tx.send(Phase::Send { until: start + params.duration });
        tokio::time::sleep(params.duration).await;
        // Senders stop on their own at `until` (closed-loop senders once their last ack is in).
        let active_senders = (0..params.senders.min(params.clients)).count().min(connected);
        let deadline = Instant::now() + Duration::from_secs(15);
        while shared.senders_done.load(Ordering::SeqCst) < active_senders && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Drain: until every expected delivery arrived, or nothing arrived for a while.
        let mut last = shared.deliveries();
        let mut last_progress = Instant::now();
        loop {
            let expected = shared.sent.load(Ordering::SeqCst) * connected.saturating_sub(1) as u64;
            let got = shared.deliveries();
            if got >= expected {
                break;
            }
            if got != last {
                last = got;
                last_progress = Instant::now();
            } else if last_progress.elapsed() > DRAIN_IDLE {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        mark(Mark::Drained);
    }
    let last_delivery = shared.last_delivery_micros();
    let _ = phase_tx.send(Phase::Stop);
    mark(Mark::Finished);

    let mut reports = Vec::with_capacity(params.clients);
    while let Some(report) = tasks.join_next().await {
        if let Ok(report) = report {
            reports.push(report);
        }
    }
    reports.sort_by_key(|r| r.index);
    summarize(&params, connect_start, start_micros, last_delivery, reports)
}

fn summarize(
    params: &RunParams,
    connect_start: Instant,
    start_micros: u64,
    last_delivery: u64,
    reports: Vec<ClientReport>,
) -> RunResult {
    let mut result = RunResult { clients: params.clients, ..Default::default() };
    result.connected = reports.iter().filter(|r| r.connected).count();
    result.connect_failures = params.clients - result.connected;
    result.failure_samples = reports.iter().filter_map(|r| r.failure.clone()).take(5).collect();
    result.connect_elapsed =
        reports.iter().filter_map(|r| r.connected_at).max().map(|t| t - connect_start).unwrap_or_default();
    result.elapsed = Duration::from_micros(last_delivery.saturating_sub(start_micros));

    // Exact accounting: each message of sender j should reach every other connected client once.
    let sent_by: Vec<Option<u64>> =
        (0..params.senders).map(|j| reports.get(j).filter(|r| r.connected && r.index == j).map(|r| r.sent)).collect();
    let mut handshakes = Latencies::default();
    handshakes.extend(&reports.iter().filter(|r| r.connected).map(|r| r.handshake_micros).collect::<Vec<_>>());
    result.handshake = handshakes.summary();
    let mut latencies = Latencies::default();
    for r in &reports {
        result.sent += r.sent;
        result.register_retries += r.register_retries as u64;
        result.acks_ok += r.acks_ok;
        result.acks_bad += r.acks_bad;
        result.wrong_from += r.wrong_from;
        result.dropped_clients += r.dropped as usize;
        result.typing_notices += r.typing_notices;
        latencies.extend(&r.latencies);
        if !r.connected {
            continue;
        }
        for (j, track) in r.tracks.iter().enumerate() {
            result.duplicated += track.duplicated;
            result.out_of_order += track.out_of_order;
            result.deliveries += track.received + track.duplicated;
            if j == r.index {
                continue;
            }
            if let Some(sent) = sent_by[j] {
                result.expected += sent;
                result.lost += sent.saturating_sub(track.received);
            }
        }
    }
    result.latency = latencies.summary();
    if params.track_order {
        let arrivals: Vec<&[u64]> = reports.iter().filter(|r| r.connected).map(|r| r.arrivals.as_slice()).collect();
        result.global_order = Some(order::check(&arrivals));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_relayed_message() {
        let f = r#"42["message",{"from":"c3","message":"bench s=3 n=17 t=123456","id":9,"ts":1}]"#;
        assert_eq!(parse_delivery(f), Some((3, 17, 123456, true)));
        let forged = r#"42["message",{"from":"c4","message":"bench s=3 n=17 t=1","id":9,"ts":1}]"#;
        assert_eq!(parse_delivery(forged), Some((3, 17, 1, false)));
        let join = r#"42["message",{"from":"Server","message":"c1 has joined the chat","id":2}]"#;
        assert_eq!(parse_delivery(join), None);
    }

    #[test]
    fn fixed_rate_senders_start_at_spread_out_phases() {
        let phases: Vec<f64> = (0..10).map(phase_fraction).collect();
        assert!(phases.iter().all(|p| (0.0..1.0).contains(p)), "{phases:?}");
        let (min, max) = phases.iter().fold((1.0f64, 0.0f64), |(lo, hi), &p| (lo.min(p), hi.max(p)));
        assert!(max - min > 0.5, "phases cover the period: {phases:?}");
        // Never two senders in step (that let a server batch their messages, finding 11).
        for (i, a) in phases.iter().enumerate() {
            for b in &phases[i + 1..] {
                assert!((a - b).abs() > 1e-3, "{phases:?}");
            }
        }
        assert_eq!(phase_fraction(3), phase_fraction(3), "the same load for both servers");
    }

    #[test]
    fn sequence_tracking_is_exact() {
        let mut t = SeqTrack::default();
        for seq in [0, 1, 3, 2, 3, 200] {
            t.record(seq);
        }
        assert_eq!((t.received, t.duplicated, t.out_of_order, t.next), (5, 1, 1, 201));
    }
}
