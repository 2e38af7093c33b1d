//! `confab-bench`: measures confab-server against the Node socket.io reference server
//! (`bench/node-server/server.mjs`), same protocol, same load generator, alternating runs.
//!
//! `confab-bench compare` starts a fresh server process for every run, drives one scenario with the
//! load generator of this crate, samples the server's CPU time and memory from `/proc/<pid>`, and
//! prints medians and ratios as a Markdown table. `confab-bench run --addr …` drives one scenario
//! against a server that is already running (for profiling it with perf). `confab-bench attack`
//! measures an honest room of confab-server while one attacker attacks it (`under_attack.rs`).

mod under_attack;

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use clap::{Parser, Subcommand, ValueEnum};
use confab_bench::{
    proc::{self, ProcSample},
    run,
    stats::median,
    Mark, RunParams, RunResult, SendMode,
};

#[derive(Debug, Parser)]
#[command(version, about = "Load generator and benchmark: confab-server against Node socket.io")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run every scenario on both servers, alternating, and print the comparison table.
    Compare(CompareArgs),
    /// Measure an honest chat on confab-server while one attacker attacks it, for every attack.
    Attack(under_attack::AttackArgs),
    /// Drive one scenario against a server that is already listening (no /proc measurements).
    Run {
        /// Address of the server, e.g. 127.0.0.1:7878.
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long, value_enum)]
        scenario: Scenario,
        #[command(flatten)]
        sizes: Sizes,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum Scenario {
    /// 100 clients, 10 senders at 20 msg/s each.
    Chat,
    /// 1000 clients, 5 senders at 10 msg/s each.
    Fanout,
    /// 50 clients, all sending as fast as the server allows (closed loop, window of unacked messages).
    Saturation,
    /// 2000 clients connect and register as fast as possible.
    Connect,
    /// 10 000 idle connections: server memory per connection.
    Idle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum ServerKind {
    Confab,
    Node,
}

#[derive(Debug, Clone, clap::Args)]
struct Sizes {
    /// Seconds of sending in each messaging scenario.
    #[arg(long, default_value_t = 8.0)]
    duration: f64,
    /// Unacked messages each saturation sender keeps in flight.
    #[arg(long, default_value_t = 8)]
    window: usize,
    /// Clients of the connect scenario.
    #[arg(long, default_value_t = 2000)]
    connect_clients: usize,
    /// Connections of the idle-memory scenario.
    #[arg(long, default_value_t = 10_000)]
    idle_clients: usize,
    /// Register every idle connection too (each register is announced to all: N²/2 deliveries).
    #[arg(long)]
    idle_register: bool,
    /// Handshakes in flight at once (TCP + websocket + socket.io connect + register).
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
}

#[derive(Debug, Clone, clap::Args)]
struct CompareArgs {
    /// How many times each scenario runs on each server (medians are reported).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// One short repeat (2 s of sending, 2000 idle connections): checks that everything works.
    #[arg(long)]
    quick: bool,
    /// Scenarios to run (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Scenario>,
    /// Servers to run (default: both).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "confab,node")]
    servers: Vec<ServerKind>,
    /// The confab-server binary (default: next to this binary).
    #[arg(long)]
    confab_bin: Option<PathBuf>,
    /// The Node reference server script.
    #[arg(long, default_value = "bench/node-server/server.mjs")]
    node_script: PathBuf,
    /// The node executable.
    #[arg(long, default_value = "node")]
    node: PathBuf,
    /// Outgoing packets queued per connection before confab-server drops a client as too slow.
    #[arg(long, default_value_t = 65_536)]
    max_queued_packets: usize,
    /// Also write the table to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    sizes: Sizes,
}

impl Scenario {
    const ALL: [Scenario; 5] =
        [Scenario::Chat, Scenario::Fanout, Scenario::Saturation, Scenario::Connect, Scenario::Idle];

    fn params(self, sizes: &Sizes) -> RunParams {
        let duration = Duration::from_secs_f64(sizes.duration);
        let mut params = match self {
            Scenario::Chat => RunParams::messaging(100, 10, SendMode::Rate { per_second: 20.0 }, duration),
            Scenario::Fanout => RunParams::messaging(1000, 5, SendMode::Rate { per_second: 10.0 }, duration),
            Scenario::Saturation => RunParams::messaging(50, 50, SendMode::Saturate { window: sizes.window }, duration),
            Scenario::Connect => RunParams::connect_only(sizes.connect_clients, true),
            Scenario::Idle => RunParams::connect_only(sizes.idle_clients, sizes.idle_register),
        };
        params.connect_concurrency = sizes.connect_concurrency;
        params
    }

    fn messaging(self) -> bool {
        matches!(self, Scenario::Chat | Scenario::Fanout | Scenario::Saturation)
    }

    fn describe(self, sizes: &Sizes) -> String {
        match self {
            Scenario::Chat => "100 clients × 10 senders × 20 msg/s".into(),
            Scenario::Fanout => "1000 clients × 5 senders × 10 msg/s".into(),
            Scenario::Saturation => format!("50 clients all sending, closed loop, window {}", sizes.window),
            Scenario::Connect => {
                format!("{} clients connect+register at once", sizes.connect_clients)
            }
            Scenario::Idle => format!(
                "{} idle connections{}",
                sizes.idle_clients,
                if sizes.idle_register { " (registered)" } else { " (socket.io connected, not registered)" }
            ),
        }
    }
}

/// A server process under test.
struct ServerProc {
    child: Child,
    addr: SocketAddr,
}

impl ServerProc {
    fn start(kind: ServerKind, args: &CompareArgs) -> Result<Self, String> {
        let mut command = match kind {
            ServerKind::Confab => {
                let bin = args
                    .confab_bin
                    .clone()
                    .unwrap_or_else(|| std::env::current_exe().expect("current exe").with_file_name("confab-server"));
                let mut c = Command::new(bin);
                // Every bench client comes from 127.0.0.1: no per-address caps, as for Node. The chat
                // log in memory, as Node's (a durable-vs-memory scenario is still to be written).
                c.args(["--ephemeral", "--bind", "127.0.0.1", "--port", "0", "--rate", "0", "--register-rate", "0"])
                    .args(["--max-connections-per-address", "0", "--max-connections", "0"])
                    .args(["--max-queued-packets", &args.max_queued_packets.to_string()])
                    .env("RUST_LOG", "warn");
                c
            }
            ServerKind::Node => {
                let mut c = Command::new(&args.node);
                c.arg(&args.node_script).args(["--bind", "127.0.0.1", "--port", "0"]);
                c
            }
        };
        Self::spawn(&format!("{kind:?}"), command.stderr(Stdio::inherit()))
    }

    /// Starts `command` (a server that prints `… running on <addr>` once it listens; its stderr is
    /// already set up) and waits until it listens.
    fn spawn(label: &str, command: &mut Command) -> Result<Self, String> {
        let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).spawn().map_err(|e| {
            format!(
                "starting {label} server ({:?}): {e}; build it with `cargo build --release -p confab-server` \
                 (or use bash bench/run.sh), and for Node run `npm ci`",
                command.get_program()
            )
        })?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                return Err(format!("{label} server exited before listening"));
            };
            if let Some((_, rest)) = line.split_once("running on ") {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                break addr.parse::<SocketAddr>().map_err(|e| format!("bad address {addr:?}: {e}"))?;
            }
        };
        // Keep draining its stdout so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Self { child, addr })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `/proc` samples of the server and of the load generator at one [`Mark`].
#[derive(Debug, Clone, Copy)]
struct Snapshot {
    server: ProcSample,
    generator: ProcSample,
    /// Whole machine: (busy, total) jiffies.
    machine: (u64, u64),
    at: Instant,
}

impl Snapshot {
    /// The server `pid` and this process, now.
    fn take(pid: u32) -> Self {
        Snapshot {
            server: proc::sample(pid).unwrap_or_default(),
            generator: proc::sample(std::process::id()).unwrap_or_default(),
            machine: proc::machine_cpu().unwrap_or_default(),
            at: Instant::now(),
        }
    }
}

/// Everything measured in one run of one scenario on one server.
#[derive(Debug, Clone, Default)]
struct Measured {
    client: RunResult,
    /// Server CPU milliseconds per 1000 deliveries (messaging window only).
    cpu_ms_per_1k: f64,
    /// Server and generator CPU use during the measured window, in % of one core.
    server_cpu_pct: f64,
    generator_cpu_pct: f64,
    /// The whole machine during the same window, in % of all its cores (others' work included).
    machine_busy_pct: f64,
    /// Server CPU ms per registered client, connect phase including the join announcements.
    cpu_ms_per_register: f64,
    peak_rss_mb: f64,
    /// (RSS idle with N connections − RSS before) / N, in KB (1000 bytes).
    kb_per_conn: f64,
}

fn measure(
    kind: ServerKind,
    scenario: Scenario,
    args: &CompareArgs,
    rt: &tokio::runtime::Runtime,
) -> Result<Measured, String> {
    let server = Mutex::new(ServerProc::start(kind, args)?);
    let (pid, addr) = {
        let s = server.lock().unwrap();
        (s.pid(), s.addr)
    };
    std::thread::sleep(Duration::from_millis(300));
    let snapshots: Mutex<BTreeMap<u8, Snapshot>> = Mutex::new(BTreeMap::new());
    let mark = |m: Mark| {
        if m == Mark::Finished {
            server.lock().unwrap().stop();
            return;
        }
        snapshots.lock().unwrap().insert(m as u8, Snapshot::take(pid));
    };
    let result = rt.block_on(run(addr, scenario.params(&args.sizes), &mark));
    let snaps = snapshots.into_inner().unwrap();
    let get = |m: Mark| snaps.get(&(m as u8)).copied().ok_or_else(|| format!("no {m:?} sample"));
    let mut measured = Measured { client: result, ..Default::default() };

    let (start, settled) = (get(Mark::ConnectStart)?, get(Mark::Settled)?);
    let connected = measured.client.connected.max(1) as f64;
    measured.kb_per_conn = (settled.server.rss_kib as f64 - start.server.rss_kib as f64) * 1.024 / connected;
    measured.cpu_ms_per_register = (settled.server.cpu_seconds - start.server.cpu_seconds) * 1000.0 / connected;
    measured.peak_rss_mb = settled.server.hwm_kib as f64 / 1024.0;
    let (from, to) = if scenario.messaging() {
        (get(Mark::SendStart)?, get(Mark::Drained)?)
    } else {
        (start, get(Mark::Connected)?)
    };
    let wall = (to.at - from.at).as_secs_f64().max(1e-9);
    let server_cpu = to.server.cpu_seconds - from.server.cpu_seconds;
    measured.server_cpu_pct = 100.0 * server_cpu / wall;
    let (busy, total) = (to.machine.0 - from.machine.0, to.machine.1 - from.machine.1);
    measured.machine_busy_pct = 100.0 * busy as f64 / total.max(1) as f64;
    measured.generator_cpu_pct = 100.0 * (to.generator.cpu_seconds - from.generator.cpu_seconds) / wall;
    if scenario.messaging() {
        measured.cpu_ms_per_1k = server_cpu * 1000.0 / (measured.client.deliveries.max(1) as f64 / 1000.0);
        measured.peak_rss_mb = to.server.hwm_kib as f64 / 1024.0;
    }
    Ok(measured)
}

fn one_line(kind: ServerKind, scenario: Scenario, m: &Measured) -> String {
    let c = &m.client;
    let mut s = format!(
        "{kind:?} {scenario:?}: {}/{} connected ({} failed, {} register retries) in {:.2}s = {:.0}/s \
         (per client p50 {:.0} p99 {:.0} max {:.0} ms)",
        c.connected,
        c.clients,
        c.connect_failures,
        c.register_retries,
        c.connect_elapsed.as_secs_f64(),
        c.connect_rate(),
        ms(c.handshake.p50),
        ms(c.handshake.p99),
        ms(c.handshake.max)
    );
    if scenario.messaging() {
        s += &format!(
            "; sent {} delivered {}/{} = {:.0}/s, lost {} dup {} ooo {} wrong-from {} dropped {} bad-acks {}; \
             latency p50 {:.1} p90 {:.1} p99 {:.1} max {:.1} ms; server CPU {:.1} ms/1k ({:.0}%), generator {:.0}%",
            c.sent,
            c.deliveries,
            c.expected,
            c.deliveries_per_second(),
            c.lost,
            c.duplicated,
            c.out_of_order,
            c.wrong_from,
            c.dropped_clients,
            c.acks_bad,
            ms(c.latency.p50),
            ms(c.latency.p90),
            ms(c.latency.p99),
            ms(c.latency.max),
            m.cpu_ms_per_1k,
            m.server_cpu_pct,
            m.generator_cpu_pct
        );
    } else {
        s += &format!("; server CPU {:.0}%, generator {:.0}%", m.server_cpu_pct, m.generator_cpu_pct);
    }
    s + &format!(
        "; machine {:.0}% busy; peak RSS {:.1} MB, {:.1} KB/conn",
        m.machine_busy_pct, m.peak_rss_mb, m.kb_per_conn
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One row of the comparison: a metric, both medians, and how much better confab is.
struct Row {
    scenario: String,
    metric: &'static str,
    confab: String,
    node: String,
    ratio: String,
    target: String,
}

fn fmt(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Builds the table rows for one scenario from every repeat of both servers.
fn rows(scenario: Scenario, sizes: &Sizes, runs: &BTreeMap<ServerKind, Vec<Measured>>) -> Vec<Row> {
    let empty = Vec::new();
    let c = runs.get(&ServerKind::Confab).unwrap_or(&empty);
    let n = runs.get(&ServerKind::Node).unwrap_or(&empty);
    let med = |v: &[Measured], f: &dyn Fn(&Measured) -> f64| median(v.iter().map(f));
    let sum = |v: &[Measured], f: &dyn Fn(&Measured) -> u64| v.iter().map(f).sum::<u64>();
    let title = format!("{scenario:?} ({})", scenario.describe(sizes)).to_lowercase();
    let out = std::cell::RefCell::new(Vec::new());
    // lower is better: ratio = node / confab; higher is better: ratio = confab / node
    let push = |metric: &'static str,
                f: &dyn Fn(&Measured) -> f64,
                lower_better: bool,
                target: &dyn Fn(f64, f64, f64) -> String| {
        let (cv, nv) = (med(c, f), med(n, f));
        let ratio = if lower_better { nv / cv } else { cv / nv };
        let r = if metric.contains("CPU %") {
            String::new()
        } else if ratio.is_finite() {
            format!("{ratio:.1}×")
        } else {
            "–".into()
        };
        out.borrow_mut().push(Row {
            scenario: title.clone(),
            metric,
            confab: fmt(cv),
            node: fmt(nv),
            ratio: r,
            target: target(cv, nv, ratio),
        });
    };
    let none = |_: f64, _: f64, _: f64| String::new();
    let check = |ok: bool, what: &str| format!("{} {what}", if ok { "✅" } else { "❌" });
    // Who used the machine during the run: the same rows for every loaded scenario.
    let resource_rows = || {
        push("server CPU % (of one core)", &|m| m.server_cpu_pct, true, &none);
        push("load generator CPU %", &|m| m.generator_cpu_pct, true, &none);
        push("whole machine CPU % (all cores, others too)", &|m| m.machine_busy_pct, true, &none);
        push("server peak RSS MB", &|m| m.peak_rss_mb, true, &none);
    };
    let clients = scenario.params(sizes).clients as f64;
    match scenario {
        Scenario::Chat | Scenario::Fanout | Scenario::Saturation => {
            push("registered (min of runs)", &|m| m.client.connected as f64, false, &|cv, _, _| {
                if scenario == Scenario::Fanout {
                    check(cv >= clients, "all registered")
                } else {
                    String::new()
                }
            });
            push("deliveries/s", &|m| m.client.deliveries_per_second(), false, &|_, _, r| {
                if scenario == Scenario::Saturation {
                    check(r >= 10.0, "≥ 10×")
                } else {
                    String::new()
                }
            });
            push("latency p50 ms", &|m| ms(m.client.latency.p50), true, &none);
            push("latency p90 ms", &|m| ms(m.client.latency.p90), true, &none);
            push("latency p99 ms", &|m| ms(m.client.latency.p99), true, &|cv, _, _| {
                if scenario == Scenario::Fanout {
                    check(cv <= 100.0, "≤ 100 ms")
                } else {
                    String::new()
                }
            });
            push("latency max ms", &|m| ms(m.client.latency.max), true, &none);
            push("server CPU ms / 1000 deliveries", &|m| m.cpu_ms_per_1k, true, &|_, _, r| check(r >= 5.0, "≥ 5×"));
            resource_rows();
            let (cl, nl) = (
                sum(c, &|m| m.client.lost + m.client.duplicated + m.client.out_of_order + m.client.wrong_from),
                sum(n, &|m| m.client.lost + m.client.duplicated + m.client.out_of_order + m.client.wrong_from),
            );
            let detail = |v: &[Measured]| {
                format!(
                    "{}/{}/{} (dropped clients {})",
                    sum(v, &|m| m.client.lost),
                    sum(v, &|m| m.client.duplicated),
                    sum(v, &|m| m.client.out_of_order),
                    sum(v, &|m| m.client.dropped_clients as u64)
                )
            };
            out.borrow_mut().push(Row {
                scenario: title.clone(),
                metric: "lost/dup/reordered, all runs",
                confab: detail(c),
                node: detail(n),
                ratio: String::new(),
                target: check(cl == 0 && sum(c, &|m| m.client.deliveries) > 0, "exact")
                    + if nl == 0 { "" } else { " (node not exact)" },
            });
        }
        Scenario::Connect => {
            let fails = |v: &[Measured]| {
                format!(
                    "{} / {}",
                    sum(v, &|m| m.client.connect_failures as u64),
                    sum(v, &|m| m.client.register_retries)
                )
            };
            out.borrow_mut().push(Row {
                scenario: title.clone(),
                metric: "failures / lost registers, all runs",
                confab: fails(c),
                node: fails(n),
                ratio: String::new(),
                target: check(
                    sum(c, &|m| m.client.connect_failures as u64 + m.client.register_retries) == 0,
                    "0 failures",
                ),
            });
            push("connect+register /s", &|m| m.client.connect_rate(), false, &|_, _, r| check(r >= 5.0, "≥ 5×"));
            push("per-client connect+register p50 ms", &|m| ms(m.client.handshake.p50), true, &none);
            push("per-client connect+register p99 ms", &|m| ms(m.client.handshake.p99), true, &none);
            push("server CPU ms / registration", &|m| m.cpu_ms_per_register, true, &none);
            resource_rows();
            push("server KB per registered connection", &|m| m.kb_per_conn, true, &none);
        }
        Scenario::Idle => {
            push("connected (min of runs)", &|m| m.client.connected as f64, false, &|cv, _, _| {
                check(cv >= clients, "all connected")
            });
            push("connect /s", &|m| m.client.connect_rate(), false, &none);
            push("per-client connect p99 ms", &|m| ms(m.client.handshake.p99), true, &none);
            push("server KB per idle connection", &|m| m.kb_per_conn, true, &|cv, _, _| check(cv <= 30.0, "≤ 30 KB"));
            push("server peak RSS MB", &|m| m.peak_rss_mb, true, &none);
        }
    }
    out.into_inner()
}

fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| scenario | metric | confab | node socket.io | confab better by | target |\n|---|---|---:|---:|---:|---|\n",
    );
    let mut last = String::new();
    for r in rows {
        let scenario = if r.scenario == last { String::new() } else { format!("**{}**", r.scenario) };
        last = r.scenario.clone();
        s += &format!("| {scenario} | {} | {} | {} | {} | {} |\n", r.metric, r.confab, r.node, r.ratio, r.target);
    }
    s
}

fn compare(mut args: CompareArgs) -> Result<(), String> {
    if args.quick {
        args.repeats = 1;
        args.sizes.duration = args.sizes.duration.min(2.0);
        args.sizes.idle_clients = args.sizes.idle_clients.min(2000);
    }
    let limit = proc::raise_nofile_limit();
    let needed = (args.sizes.idle_clients.max(args.sizes.connect_clients) + 256) as u64;
    if limit < needed {
        eprintln!("warning: open-file limit {limit} < {needed}: raise it (ulimit -n) or use --idle-clients");
    }
    let scenarios: Vec<Scenario> = if args.only.is_empty() { Scenario::ALL.to_vec() } else { args.only.clone() };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let began = Instant::now();
    let mut results: BTreeMap<Scenario, BTreeMap<ServerKind, Vec<Measured>>> = BTreeMap::new();
    let mut log = Vec::new();
    for repeat in 0..args.repeats {
        for &scenario in &scenarios {
            // Alternate which server goes first, so drift in the machine's load hits both alike.
            let mut order = args.servers.clone();
            if (repeat + scenario as usize) % 2 == 1 {
                order.reverse();
            }
            for kind in order {
                let measured = measure(kind, scenario, &args, &rt)?;
                let line = format!(
                    "[{:>4.0}s] run {}/{}: {}",
                    began.elapsed().as_secs_f64(),
                    repeat + 1,
                    args.repeats,
                    one_line(kind, scenario, &measured)
                );
                eprintln!("{line}");
                log.push(line);
                results.entry(scenario).or_default().entry(kind).or_default().push(measured);
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    let all: Vec<Row> = results.iter().flat_map(|(s, runs)| rows(*s, &args.sizes, runs)).collect();
    let header = format!(
        "Medians of {} run(s) per server and scenario, {} s of sending per messaging scenario, saturation window {}, \
         {} handshakes in flight; total bench time {:.0} s.\n\n",
        args.repeats,
        args.sizes.duration,
        args.sizes.window,
        args.sizes.connect_concurrency,
        began.elapsed().as_secs_f64()
    );
    let text = header + &table(&all);
    println!("\n{text}");
    if let Some(path) = &args.out {
        let full = format!("{text}\nEvery run, in order:\n\n```text\n{}\n```\n", log.join("\n"));
        std::fs::File::create(path).and_then(|mut f| f.write_all(full.as_bytes())).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Cmd::Compare(args)) => compare(args),
        Some(Cmd::Attack(args)) => under_attack::attack(args),
        None => match Cli::parse_from(["confab-bench", "compare"]).command {
            Some(Cmd::Compare(args)) => compare(args),
            _ => unreachable!("compare parses"),
        },
        Some(Cmd::Run { addr, scenario, sizes }) => {
            proc::raise_nofile_limit();
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
            let result = rt.block_on(run(addr, scenario.params(&sizes), &|_| {}));
            println!("{result:#?}");
            Ok(())
        }
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("confab-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
