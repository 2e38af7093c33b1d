//! The chat under attack: one attacker (one client, or one address) does one hostile thing as hard as
//! it can while [`run`] measures an honest room, with the same clients, phases and exact accounting
//! as every other scenario.
//!
//! [`run_under_attack`] prepares the attacker (a registered connection, for the attacks that need
//! one), runs the honest scenario, lets the attacker go at [`Mark::SendStart`] and stops it at
//! [`Mark::Drained`], so the attack covers exactly the window the honest deliveries and the server's
//! `/proc` figures are measured over. [`Mark::Finished`] (the caller may stop the server there) is
//! passed on only once the attacker has finished, so nothing it reads after the window is cut off.
//!
//! The attacker connects from [`AttackPlan::source`] (by default the system's choice: 127.0.0.1 on
//! loopback) and the honest clients from their own [`Dial`] address (127.0.0.2 in `confab-bench
//! attack`), so the server's per-address limits apply to the attacker and not to the honest room.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::{
    sync::{oneshot, watch},
    task::JoinSet,
};
use tokio_tungstenite::tungstenite::Message;

use crate::{connect_client_with, join_namespace, open_engine, run, Dial, Mark, RunParams, RunResult, Ws};

/// One way of attacking the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Attack {
    /// No attacker: the honest room alone, for reference.
    None,
    /// Wrong room passwords, as fast as the answers come back (16 in flight), on one websocket (the
    /// server runs with a password).
    Password,
    /// A registered client stops reading and sends `history` requests as fast as the server allows
    /// (its documented limit: 10 at once, then 2/s), once the history has filled (1 s in).
    History,
    /// A registered client stops reading and sends `history` requests as fast as it can write them.
    HistoryFlood,
    /// A registered client sends `typing` true/false alternately as fast as it can write them.
    Typing,
    /// Opens as many websockets (namespace joined, never registered) as it can and holds them idle.
    Flood,
    /// Connect, register a new name, disconnect, repeat (several loops at once).
    Storm,
    /// Binary attachments, 1 MiB text packets and 1 MiB binary frames, each on a new connection.
    Binary,
    /// Malformed engine.io / socket.io frames, as fast as possible, reconnecting when closed.
    Garbage,
    /// `concurrency` registered connections from one address stop reading (small TCP receive
    /// buffers, so the server's queues hold what they do not read) and each asks `history` at the
    /// allowed rate: what the per-address budget of the outgoing queues is for.
    Hoard,
}

impl Attack {
    pub const ALL: [Attack; 10] = [
        Attack::None,
        Attack::Password,
        Attack::History,
        Attack::HistoryFlood,
        Attack::Typing,
        Attack::Flood,
        Attack::Storm,
        Attack::Binary,
        Attack::Garbage,
        Attack::Hoard,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attack::None => "none",
            Attack::Password => "password",
            Attack::History => "history",
            Attack::HistoryFlood => "history-flood",
            Attack::Typing => "typing",
            Attack::Flood => "flood",
            Attack::Storm => "storm",
            Attack::Binary => "binary",
            Attack::Garbage => "garbage",
            Attack::Hoard => "hoard",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Attack::None => "no attacker, for reference",
            Attack::Password => "password guessing on one websocket",
            Attack::History => "`history` requests at the allowed rate, not reading",
            Attack::HistoryFlood => "`history` requests as fast as possible, not reading",
            Attack::Typing => "`typing` true/false toggling",
            Attack::Flood => "connection flood from one address, held idle",
            Attack::Storm => "register/leave storm",
            Attack::Binary => "binary attachments and oversized packets",
            Attack::Garbage => "garbage frames",
            Attack::Hoard => "many connections of one address, not reading, asking `history`",
        }
    }

    /// How many registered members of the room the attacker is before the window starts.
    fn members_first(self, concurrency: usize) -> usize {
        match self {
            Attack::History | Attack::HistoryFlood | Attack::Typing => 1,
            Attack::Hoard => concurrency.max(1),
            _ => 0,
        }
    }
}

/// Who attacks, how.
#[derive(Debug, Clone)]
pub struct AttackPlan {
    pub attack: Attack,
    /// The attacker's local address (`None`: the system's choice, 127.0.0.1 on loopback).
    pub source: Option<IpAddr>,
    /// Connections in flight at once for the attacks that use many (flood, storm, binary, garbage,
    /// hoard).
    pub concurrency: usize,
}

impl AttackPlan {
    pub fn new(attack: Attack) -> Self {
        Self { attack, source: None, concurrency: 32 }
    }
}

/// What the attacker did and what the server let it achieve, counted on the attacker's side.
#[derive(Debug, Clone, Default)]
pub struct AttackReport {
    /// From the start of the attack to its stop.
    pub window: Duration,
    /// TCP connections the attacker tried.
    pub attempts: u64,
    /// Of those, the ones that got as far as the engine.io open packet.
    pub opened: u64,
    /// The others: closed (or failed) before the websocket was open, e.g. by the per-address cap.
    pub refused: u64,
    /// Open connections the server closed during the attack.
    pub closed_by_server: u64,
    /// Most attacker connections open at once, and how many were still open at the stop.
    pub max_held: u64,
    pub held_at_end: u64,
    /// Attack frames written (guesses, requests, notices, registers, bad packets).
    pub sent: u64,
    pub bytes_sent: u64,
    /// Passwords the server compared (answered `wrong password`).
    pub checked: u64,
    /// Password attempts refused without comparing (`too many password attempts`).
    pub unchecked: u64,
    /// What the server granted: passwords accepted, history pages, registrations accepted, bad
    /// packets answered instead of closing the connection.
    pub accepted: u64,
    /// Refusals received (`rate_limited` and the like).
    pub refusals: u64,
    /// Bytes of granted answers received (history pages).
    pub bytes_received: u64,
    /// Empty answers (a `history` page without messages: the answer to a socket no longer in the room).
    pub empty_answers: u64,
    /// `too_slow` notices received (the attacker was evicted from the room).
    pub evicted: u64,
}

impl AttackReport {
    /// What the attacker achieved, in a few words; `honest` is the honest room's result of the same
    /// run (relayed typing notices are counted there).
    pub fn achieved(&self, attack: Attack, honest: &RunResult) -> String {
        let secs = self.window.as_secs_f64().max(1e-9);
        let rate = |n: u64| n as f64 / secs;
        let closed = |n: u64| if n > 0 { format!(", closed by the server {n}×") } else { String::new() };
        match attack {
            Attack::None => "–".into(),
            Attack::Password => format!(
                "{} guesses ({:.0}/s) on {} websocket(s): {} compared, {} refused unchecked, {} accepted{}",
                self.sent,
                rate(self.sent),
                self.opened,
                self.checked,
                self.unchecked,
                self.accepted,
                closed(self.closed_by_server)
            ),
            Attack::Hoard => format!("on {} connections, {}", self.opened, self.achieved(Attack::History, honest)),
            Attack::History | Attack::HistoryFlood => format!(
                "{} requests ({:.0}/s): read after the window {} pages ({:.0} KB), {} refusals, {} empty answers{}{}",
                self.sent,
                rate(self.sent),
                self.accepted,
                self.bytes_received as f64 / 1000.0,
                self.refusals,
                self.empty_answers,
                if self.evicted > 0 { ", evicted as too slow" } else { "" },
                closed(self.closed_by_server)
            ),
            Attack::Typing => {
                let others = honest.connected.max(1) as f64;
                format!(
                    "{} notices ({:.0}/s): {:.1} relayed to each honest client ({:.2}/s){}",
                    self.sent,
                    rate(self.sent),
                    honest.typing_notices as f64 / others,
                    honest.typing_notices as f64 / others / secs,
                    closed(self.closed_by_server)
                )
            }
            Attack::Flood => format!(
                "{} attempts ({:.0}/s): {} websockets opened (at most {} open at once, {} at the stop), \
                 {} refused at accept{}",
                self.attempts,
                rate(self.attempts),
                self.opened,
                self.max_held,
                self.held_at_end,
                self.refused,
                closed(self.closed_by_server)
            ),
            Attack::Storm => format!(
                "{} connections ({:.0}/s), {} registers: {} accepted ({:.1}/s), {} refused{}",
                self.opened,
                rate(self.opened),
                self.sent,
                self.accepted,
                rate(self.accepted),
                self.refusals,
                if self.refused > 0 { format!(", {} connections refused", self.refused) } else { String::new() }
            ),
            Attack::Binary => format!(
                "{} bad packets ({:.0} MB) on {} connections: {} closed by the server, {} answered otherwise",
                self.sent,
                self.bytes_sent as f64 / 1e6,
                self.opened,
                self.closed_by_server,
                self.accepted
            ),
            Attack::Garbage => format!(
                "{} frames ({:.0}/s) on {} connections: {} closed by the server",
                self.sent,
                rate(self.sent),
                self.opened,
                self.closed_by_server
            ),
        }
    }
}

/// The attacker's counters, shared by its tasks.
#[derive(Default)]
struct Counters {
    attempts: AtomicU64,
    opened: AtomicU64,
    refused: AtomicU64,
    closed_by_server: AtomicU64,
    held: AtomicU64,
    max_held: AtomicU64,
    held_at_end: AtomicU64,
    sent: AtomicU64,
    bytes_sent: AtomicU64,
    checked: AtomicU64,
    unchecked: AtomicU64,
    accepted: AtomicU64,
    refusals: AtomicU64,
    bytes_received: AtomicU64,
    empty_answers: AtomicU64,
    evicted: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    fn report(&self, window: Duration) -> AttackReport {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        AttackReport {
            window,
            attempts: get(&self.attempts),
            opened: get(&self.opened),
            refused: get(&self.refused),
            closed_by_server: get(&self.closed_by_server),
            max_held: get(&self.max_held),
            held_at_end: get(&self.held_at_end),
            sent: get(&self.sent),
            bytes_sent: get(&self.bytes_sent),
            checked: get(&self.checked),
            unchecked: get(&self.unchecked),
            accepted: get(&self.accepted),
            refusals: get(&self.refusals),
            bytes_received: get(&self.bytes_received),
            empty_answers: get(&self.empty_answers),
            evicted: get(&self.evicted),
        }
    }

    fn hold(&self) {
        let now = self.held.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_held.fetch_max(now, Ordering::Relaxed);
    }

    fn release(&self) {
        self.held.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the attacker is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctl {
    Wait,
    Go,
    Stop,
}

#[derive(Clone)]
struct Control(watch::Receiver<Ctl>);

impl Control {
    fn stopped(&self) -> bool {
        *self.0.borrow() == Ctl::Stop
    }

    /// Waits for the go; false when the attack is stopped (or abandoned) first.
    async fn go(&mut self) -> bool {
        self.0.wait_for(|c| *c != Ctl::Wait).await.is_ok_and(|c| *c == Ctl::Go)
    }

    /// Resolves once the attack is no longer waiting for its go.
    async fn released(&mut self) {
        let _ = self.0.wait_for(|c| *c != Ctl::Wait).await.map(|_| ());
    }

    /// Resolves once the attack is stopped.
    async fn stop(&mut self) {
        let _ = self.0.wait_for(|c| *c == Ctl::Stop).await.map(|_| ());
    }
}

/// Runs the honest scenario `params` against `addr` while the attacker of `plan` attacks it during
/// the measured window (see the module comment). Fails when the attacker cannot get ready (its
/// connection or registration failed).
pub async fn run_under_attack(
    addr: SocketAddr,
    params: RunParams,
    plan: &AttackPlan,
    mark: &(dyn Fn(Mark) + Sync),
) -> Result<(RunResult, AttackReport), String> {
    let counters = Arc::new(Counters::default());
    let (ctl_tx, ctl_rx) = watch::channel(Ctl::Wait);
    let (ready_tx, ready_rx) = oneshot::channel();
    let attacker = tokio::spawn(attacker(addr, plan.clone(), counters.clone(), Control(ctl_rx), ready_tx));
    match ready_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(why)) => return Err(format!("the {} attacker could not get ready: {why}", plan.attack.name())),
        Err(_) => return Err(format!("the {} attacker ended before it was ready", plan.attack.name())),
    }
    let window: Mutex<(Option<Instant>, Option<Instant>)> = Mutex::new((None, None));
    let wrapped = |m: Mark| match m {
        Mark::SendStart => {
            mark(m);
            window.lock().unwrap().0 = Some(Instant::now());
            let _ = ctl_tx.send(Ctl::Go);
        }
        Mark::Drained => {
            mark(m);
            window.lock().unwrap().1 = Some(Instant::now());
            let _ = ctl_tx.send(Ctl::Stop);
        }
        // Held back until the attacker is done (the caller may stop the server there).
        Mark::Finished => {}
        other => mark(other),
    };
    let result = run(addr, params, &wrapped).await;
    let _ = ctl_tx.send(Ctl::Stop);
    let abort = attacker.abort_handle();
    if tokio::time::timeout(Duration::from_secs(15), attacker).await.is_err() {
        abort.abort();
    }
    mark(Mark::Finished);
    let (from, to) = *window.lock().unwrap();
    let window = match (from, to) {
        (Some(from), Some(to)) => to - from,
        _ => Duration::ZERO,
    };
    Ok((result, counters.report(window)))
}

/// The TCP receive buffer of a hoarding connection (the kernel doubles it, and keeps a floor).
const HOARDER_RECEIVE_BUFFER: u32 = 4096;

/// How long an attacker waits for one connection to open (or one answer to come).
const ATTACK_TIMEOUT: Duration = Duration::from_secs(10);

async fn attacker(
    addr: SocketAddr,
    plan: AttackPlan,
    c: Arc<Counters>,
    mut ctl: Control,
    ready: oneshot::Sender<Result<(), String>>,
) {
    // The registered attacks join the room before the honest clients do, and keep reading (answering
    // pings, taking the join announcements) until the go.
    let mut members = Vec::new();
    let receive_buffer = (plan.attack == Attack::Hoard).then_some(HOARDER_RECEIVE_BUFFER);
    let dial = Dial { source: plan.source, password: None, receive_buffer };
    for n in 0..plan.attack.members_first(plan.concurrency) {
        add(&c.attempts, 1);
        match connect_client_with(addr, &dial, &format!("attacker{n}"), true).await {
            Ok((ws, _)) => {
                add(&c.opened, 1);
                members.push(ws);
            }
            Err(why) => {
                let _ = ready.send(Err(why));
                return;
            }
        }
    }
    if plan.attack == Attack::Hoard {
        let count = members.len();
        for (n, ws) in members.iter_mut().enumerate() {
            if let Err(why) = fill_private_history(ws, &format!("attacker{}", (n + 1) % count)).await {
                let _ = ready.send(Err(why));
                return;
            }
        }
    }
    let _ = ready.send(Ok(()));
    if !members.is_empty() {
        let reading = futures_util::future::select_all(members.iter_mut().map(|ws| Box::pin(read_until_closed(ws))));
        tokio::select! {
            _ = reading => {
                add(&c.closed_by_server, 1);
                return;
            }
            _ = ctl.released() => {}
        }
    }
    if !ctl.go().await {
        return;
    }
    let mut members = members.into_iter();
    let mut member = || members.next().expect("registered");
    match plan.attack {
        Attack::None => {}
        Attack::Password => password(addr, &plan, &c, ctl).await,
        Attack::History => history(member(), &c, ctl, true).await,
        Attack::HistoryFlood => history(member(), &c, ctl, false).await,
        Attack::Typing => typing(member(), &c, ctl).await,
        Attack::Hoard => {
            let mut hoarders = JoinSet::new();
            for ws in members {
                let (c, ctl) = (c.clone(), ctl.clone());
                hoarders.spawn(async move { history(ws, &c, ctl, true).await });
            }
            while hoarders.join_next().await.is_some() {}
        }
        Attack::Flood | Attack::Storm | Attack::Binary | Attack::Garbage => {
            let mut loops = JoinSet::new();
            for worker in 0..plan.concurrency.max(1) {
                let (plan, c, ctl) = (plan.clone(), c.clone(), ctl.clone());
                loops.spawn(async move {
                    match plan.attack {
                        Attack::Flood => flood(addr, &plan, &c, ctl).await,
                        Attack::Storm => storm(addr, &plan, &c, ctl, worker).await,
                        Attack::Binary => binary(addr, &plan, &c, ctl, worker).await,
                        _ => garbage(addr, &plan, &c, ctl).await,
                    }
                });
            }
            while loops.join_next().await.is_some() {}
        }
    }
}

/// Private messages of the largest kind a hoarder sends before the window (its rate limit's burst):
/// with the ones it receives, its `history` pages are full (256 KiB) without burdening the honest room.
const HOARD_MESSAGES: usize = 20;

/// Sends [`HOARD_MESSAGES`] private messages of 2000 control characters (6 bytes each in JSON) to `to`.
async fn fill_private_history(ws: &mut Ws, to: &str) -> Result<(), String> {
    let text = "\u{1}".repeat(2000);
    for _ in 0..HOARD_MESSAGES {
        let frame = serde_json::json!(["message", {"from": "x", "to": to, "message": text}]);
        ws.send(Message::text(format!("42{frame}"))).await.map_err(|e| format!("hoarder send: {e}"))?;
    }
    Ok(())
}

/// Reads (answering pings, ignoring everything else) until the connection ends.
async fn read_until_closed(ws: &mut Ws) {
    while let Some(Ok(frame)) = ws.next().await {
        if matches!(&frame, Message::Text(t) if t.as_str() == "2") && ws.send(Message::text("3")).await.is_err() {
            return;
        }
        if matches!(frame, Message::Close(_)) {
            return;
        }
    }
}

/// One attacker connection up to the engine.io open packet; counted as opened or refused.
async fn dial(addr: SocketAddr, plan: &AttackPlan, c: &Counters) -> Option<Ws> {
    add(&c.attempts, 1);
    let dial = Dial { source: plan.source, ..Dial::default() };
    match tokio::time::timeout(ATTACK_TIMEOUT, open_engine(addr, &dial)).await {
        Ok(Ok(ws)) => {
            add(&c.opened, 1);
            Some(ws)
        }
        _ => {
            add(&c.refused, 1);
            None
        }
    }
}

/// [`dial`] and join namespace `/`; a failed join counts as closed by the server.
async fn dial_and_join(addr: SocketAddr, plan: &AttackPlan, c: &Counters) -> Option<Ws> {
    let mut ws = dial(addr, plan, c).await?;
    match tokio::time::timeout(ATTACK_TIMEOUT, join_namespace(&mut ws, None)).await {
        Ok(Ok(())) => Some(ws),
        _ => {
            add(&c.closed_by_server, 1);
            None
        }
    }
}

/// A frame the attacker just read, in the terms the attacks count.
enum Read {
    Text(String),
    Closed,
    Nothing,
}

/// The frames already waiting, without blocking; pings are answered.
async fn ready_frames(ws: &mut Ws, mut each: impl FnMut(&str)) -> bool {
    loop {
        match ws.next().now_or_never() {
            None => return true,
            Some(Some(Ok(Message::Text(t)))) => {
                if t.as_str() == "2" {
                    if ws.send(Message::text("3")).await.is_err() {
                        return false;
                    }
                } else {
                    each(t.as_str());
                }
            }
            Some(Some(Ok(Message::Close(_)))) | Some(None) | Some(Some(Err(_))) => return false,
            Some(Some(Ok(_))) => {}
        }
    }
}

/// Writes `frames` and flushes them, counting each; false when the connection failed. A batch the
/// connection cannot take within 200 ms (the server is not reading) is left to finish later
/// (tungstenite keeps the unsent bytes), so the caller gets to look at the stop flag.
async fn send_batch(ws: &mut Ws, frames: impl Iterator<Item = String>, c: &Counters) -> bool {
    let batch = async {
        for frame in frames {
            add(&c.sent, 1);
            add(&c.bytes_sent, frame.len() as u64);
            ws.feed(Message::text(frame)).await?;
        }
        ws.flush().await
    };
    !matches!(tokio::time::timeout(Duration::from_millis(200), batch).await, Ok(Err(_)))
}

async fn next_frame(ws: &mut Ws, wait: Duration) -> Read {
    match tokio::time::timeout(wait, ws.next()).await {
        Err(_) => Read::Nothing,
        Ok(Some(Ok(Message::Text(t)))) => Read::Text(t.as_str().to_owned()),
        Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => Read::Closed,
        Ok(Some(Ok(_))) => Read::Nothing,
    }
}

/// Guesses the room password on one websocket: `40{"password":…}` again after every refusal (the
/// engine.io connection stays open after a failed namespace connect), 16 in flight.
async fn password(addr: SocketAddr, plan: &AttackPlan, c: &Counters, mut ctl: Control) {
    const IN_FLIGHT: usize = 16;
    let mut guess: u64 = 0;
    'connection: while !ctl.stopped() {
        let Some(mut ws) = dial(addr, plan, c).await else { continue };
        let mut outstanding = 0;
        loop {
            while outstanding < IN_FLIGHT {
                let frame = crate::connect_packet(Some(&format!("guess-{guess}")));
                add(&c.bytes_sent, frame.len() as u64);
                if ws.send(Message::text(frame)).await.is_err() {
                    add(&c.closed_by_server, 1);
                    continue 'connection;
                }
                guess += 1;
                add(&c.sent, 1);
                outstanding += 1;
            }
            let frame = tokio::select! {
                frame = ws.next() => frame,
                _ = ctl.stop() => return,
            };
            match frame {
                Some(Ok(Message::Text(t))) => {
                    let t = t.as_str();
                    if t == "2" {
                        let _ = ws.send(Message::text("3")).await;
                    } else if t.starts_with("44") {
                        outstanding -= 1;
                        if t.contains("wrong password") {
                            add(&c.checked, 1);
                        } else if t.contains("too many") {
                            add(&c.unchecked, 1);
                        } else {
                            add(&c.refusals, 1);
                        }
                    } else if t.starts_with("40") {
                        // A guess was right: impossible here (the guesses are never the password).
                        outstanding -= 1;
                        add(&c.accepted, 1);
                    }
                }
                Some(Ok(_)) => {}
                _ => {
                    add(&c.closed_by_server, 1);
                    continue 'connection;
                }
            }
        }
    }
}

/// Sends `history` requests without reading anything until the stop: `paced`, at the rate the
/// server allows (every answer a page), else as fast as the connection takes them; then reads what
/// the server had sent (pages, refusals), until the connection is quiet or closed.
async fn history(mut ws: Ws, c: &Counters, mut ctl: Control, paced: bool) {
    use confab_protocol::limits::{HISTORY_REQUESTS_PER_SECOND, HISTORY_REQUEST_BURST};
    let mut ack: u64 = 100;
    let mut closed = false;
    if paced {
        // The burst is worth most once the history holds messages (the honest chat starts with the
        // window), then one request each time the server's bucket has a token again.
        let start = tokio::time::Instant::now() + Duration::from_secs(1);
        // (A few ms late each time, so the token is always there.)
        let period = Duration::from_secs(1) / HISTORY_REQUESTS_PER_SECOND + Duration::from_millis(5);
        for k in 0u32.. {
            let at = start + period * k.saturating_sub(HISTORY_REQUEST_BURST - 1);
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = ctl.stop() => break,
            }
            ack += 1;
            if !send_batch(&mut ws, std::iter::once(format!("42{ack}[\"history\",{{}}]")), c).await {
                closed = true;
                break;
            }
        }
    }
    while !paced && !ctl.stopped() && !closed {
        let frames = (0..64).map(|_| {
            ack += 1;
            format!("42{ack}[\"history\",{{}}]")
        });
        closed = !send_batch(&mut ws, frames, c).await;
    }
    // What the server queued for us while we did not read.
    loop {
        match next_frame(&mut ws, Duration::from_secs(1)).await {
            Read::Text(t) => {
                if let Some(rest) = t.strip_prefix("43") {
                    let rest = rest.trim_start_matches(|ch: char| ch.is_ascii_digit());
                    if rest.starts_with("[[]]") {
                        add(&c.empty_answers, 1);
                    } else if rest.starts_with("[[") {
                        add(&c.accepted, 1);
                        add(&c.bytes_received, t.len() as u64);
                    } else if rest.contains("\"error\"") {
                        add(&c.refusals, 1);
                    }
                } else if t.starts_with("42[\"notice\"") && t.contains("too_slow") {
                    add(&c.evicted, 1);
                }
            }
            Read::Closed => {
                closed = true;
                break;
            }
            Read::Nothing => break,
        }
    }
    if closed {
        add(&c.closed_by_server, 1);
    }
}

/// `typing` true, false, true, … as fast as the connection takes them, reading what comes meanwhile.
async fn typing(mut ws: Ws, c: &Counters, ctl: Control) {
    let mut on = true;
    while !ctl.stopped() {
        let frames = (0..32).map(|_| {
            on = !on;
            if on { "42[\"typing\",false]" } else { "42[\"typing\",true]" }.to_owned()
        });
        if !send_batch(&mut ws, frames, c).await || !ready_frames(&mut ws, |_| {}).await {
            add(&c.closed_by_server, 1);
            return;
        }
    }
}

/// Opens websockets (namespace joined, never registered) one after the other and holds each one,
/// answering pings, until the stop.
async fn flood(addr: SocketAddr, plan: &AttackPlan, c: &Arc<Counters>, mut ctl: Control) {
    let mut held = JoinSet::new();
    while !ctl.stopped() {
        let attempt = tokio::select! {
            ws = dial_and_join(addr, plan, c) => ws,
            _ = ctl.stop() => break,
        };
        let Some(mut ws) = attempt else { continue };
        c.hold();
        let (c, mut ctl) = (c.clone(), ctl.clone());
        held.spawn(async move {
            tokio::select! {
                _ = read_until_closed(&mut ws) => {
                    if !ctl.stopped() {
                        add(&c.closed_by_server, 1);
                    }
                }
                _ = ctl.stop() => add(&c.held_at_end, 1),
            }
            c.release();
        });
    }
    while held.join_next().await.is_some() {}
}

/// Connect, register a fresh name, disconnect, again.
async fn storm(addr: SocketAddr, plan: &AttackPlan, c: &Counters, ctl: Control, worker: usize) {
    let mut round: u64 = 0;
    while !ctl.stopped() {
        let Some(mut ws) = dial_and_join(addr, plan, c).await else { continue };
        round += 1;
        let frame = format!("421[\"register\",\"storm-{worker}-{round}\"]");
        add(&c.sent, 1);
        add(&c.bytes_sent, frame.len() as u64);
        if ws.send(Message::text(frame)).await.is_err() {
            add(&c.closed_by_server, 1);
            continue;
        }
        let deadline = Instant::now() + ATTACK_TIMEOUT;
        loop {
            match next_frame(&mut ws, deadline.saturating_duration_since(Instant::now())).await {
                Read::Text(t) if t == "2" => {
                    let _ = ws.send(Message::text("3")).await;
                }
                Read::Text(t) if t.starts_with("431[") => {
                    if t.starts_with("431[true") {
                        add(&c.accepted, 1);
                    } else {
                        add(&c.refusals, 1);
                    }
                    break;
                }
                Read::Text(_) => {}
                Read::Closed => {
                    add(&c.closed_by_server, 1);
                    break;
                }
                Read::Nothing => break,
            }
        }
        // A clean websocket close: the server closes the TCP connection first (no TIME_WAIT here).
        let _ = ws.close(None).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), async { while ws.next().await.is_some() {} }).await;
    }
}

/// A packet the protocol refuses by closing the connection: a binary attachment, a text packet far
/// above the 64 KiB limit, a binary websocket frame (the last two 1 MiB).
fn bad_packet(kind: u64) -> Vec<Message> {
    const BIG: usize = 1 << 20;
    match kind % 3 {
        0 => vec![
            Message::text("451-[\"message\",{\"_placeholder\":true,\"num\":0}]"),
            Message::binary(vec![0xAB; 1024]),
        ],
        1 => vec![Message::text(format!("42[\"message\",{{\"message\":\"{}\"}}]", "x".repeat(BIG)))],
        _ => vec![Message::binary(vec![0x04; BIG])],
    }
}

/// One bad packet per connection (cycling through [`bad_packet`]), then waits for the server to
/// close it.
async fn binary(addr: SocketAddr, plan: &AttackPlan, c: &Counters, ctl: Control, worker: usize) {
    let mut kind = worker as u64;
    while !ctl.stopped() {
        let Some(mut ws) = dial_and_join(addr, plan, c).await else { continue };
        add(&c.sent, 1);
        for frame in bad_packet(kind) {
            add(&c.bytes_sent, frame.len() as u64);
            if ws.send(frame).await.is_err() {
                break;
            }
        }
        kind += 1;
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match next_frame(&mut ws, deadline.saturating_duration_since(Instant::now())).await {
                Read::Text(t) if t == "2" => {
                    let _ = ws.send(Message::text("3")).await;
                }
                Read::Text(_) => {}
                Read::Closed => {
                    add(&c.closed_by_server, 1);
                    break;
                }
                Read::Nothing => {
                    // Still open 2 s later: the packet was taken instead of refused.
                    add(&c.accepted, 1);
                    break;
                }
            }
        }
    }
}

/// Malformed frames: not engine.io, not socket.io, broken JSON, wrong shapes, lone surrogates,
/// acks nobody asked for, unknown namespaces (`tests/hostile.rs` sends the same).
const GARBAGE: &[&str] = &[
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
    "40/nope,",
    "41",
];

/// Cycles through [`GARBAGE`] as fast as the connection takes it; reconnects when the server
/// closes the connection.
async fn garbage(addr: SocketAddr, plan: &AttackPlan, c: &Counters, ctl: Control) {
    let mut next = 0;
    while !ctl.stopped() {
        let Some(mut ws) = dial_and_join(addr, plan, c).await else { continue };
        let mut open = true;
        while open && !ctl.stopped() {
            let frames = (0..GARBAGE.len()).map(|_| {
                next += 1;
                GARBAGE[(next - 1) % GARBAGE.len()].to_owned()
            });
            open = send_batch(&mut ws, frames, c).await && ready_frames(&mut ws, |_| {}).await;
        }
        if !open {
            add(&c.closed_by_server, 1);
        }
    }
}
