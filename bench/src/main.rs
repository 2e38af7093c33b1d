//! `confab-bench`: measures confab-server against the Node socket.io reference server
//! (`bench/node-server/server.mjs`), same protocol, same load generator, alternating runs.
//!
//! `confab-bench compare` starts fresh server processes for every run (confab with its chat log in
//! memory and in SQLite, and Node), drives one scenario with the load generator of this crate,
//! samples the servers' CPU time and memory from `/proc/<pid>`, and prints medians and ratios as a
//! Markdown table. `confab-bench cluster` does the same with 3 nodes of each on a private Redis.
//! `confab-bench run --addr …` drives one scenario against a server that is already running (for
//! profiling it with perf). `confab-bench attack` measures an honest room of confab-server while
//! one attacker attacks it (`under_attack.rs`).

mod report;
mod servers;
mod under_attack;

use std::{
    collections::BTreeMap,
    io::Write,
    net::SocketAddr,
    path::PathBuf,
    sync::Mutex,
    time::{Duration, Instant},
};

use clap::{Parser, Subcommand, ValueEnum};
use confab_bench::{
    proc::{self, ProcSample},
    run, run_on, Mark, RunParams, RunResult, SendMode,
};
use report::Columns;
use servers::{Deployment, ServerArgs, ServerKind};
// Also what `under_attack` formats its table and starts its servers with.
use {report::fmt, servers::ServerProc};

#[derive(Debug, Parser)]
#[command(version, about = "Load generator and benchmark: confab-server against Node socket.io")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run every scenario on every server (confab in memory, confab durable, Node), alternating,
    /// and print the comparison table.
    Compare(CompareArgs),
    /// The same with clusters: `--nodes` confab-server nodes on one Redis against as many Node
    /// socket.io processes on @socket.io/redis-adapter (default scenarios: saturation, fanout).
    Cluster(CompareArgs),
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
    /// Scenarios to run (default: all; for `cluster`: saturation, fanout).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Scenario>,
    /// Servers to run (default: confab, confab-durable, node; for `cluster`: confab-cluster, node-cluster).
    #[arg(long, value_enum, value_delimiter = ',')]
    servers: Vec<ServerKind>,
    #[command(flatten)]
    server: ServerArgs,
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

/// `/proc` samples of the servers, Redis and the load generator at one [`Mark`].
#[derive(Debug, Clone, Copy)]
struct Snapshot {
    /// Every server process of the run, summed.
    server: ProcSample,
    redis: ProcSample,
    generator: ProcSample,
    /// Whole machine: (busy, total) jiffies.
    machine: (u64, u64),
    at: Instant,
}

impl Snapshot {
    /// The server `pid` and this process, now.
    fn take(pid: u32) -> Self {
        Self::take_all(&[pid], None)
    }

    /// The servers, Redis (if any) and this process, now.
    fn take_all(servers: &[u32], redis: Option<u32>) -> Self {
        Snapshot {
            server: proc::sample_all(servers),
            redis: proc::sample_all(redis.as_slice()),
            generator: proc::sample(std::process::id()).unwrap_or_default(),
            machine: proc::machine_cpu().unwrap_or_default(),
            at: Instant::now(),
        }
    }
}

/// Everything measured in one run of one scenario on one server (or cluster).
#[derive(Debug, Clone, Default)]
struct Measured {
    client: RunResult,
    /// CPU milliseconds of every server process and Redis per 1000 deliveries (messaging window only).
    cpu_ms_per_1k: f64,
    /// Server (all nodes), Redis and generator CPU use during the measured window, in % of one core.
    server_cpu_pct: f64,
    redis_cpu_pct: f64,
    generator_cpu_pct: f64,
    /// The whole machine during the same window, in % of all its cores (others' work included).
    machine_busy_pct: f64,
    /// What the rest of the machine used meanwhile (other programs, the kernel's own threads), in %
    /// of one core: how much the run was disturbed.
    others_cpu_pct: f64,
    /// Server CPU ms per registered client, connect phase including the join announcements.
    cpu_ms_per_register: f64,
    /// Peak RSS of the servers (summed over nodes) and of Redis.
    peak_rss_mb: f64,
    redis_peak_rss_mb: f64,
    /// (RSS idle with N connections − RSS before) / N, in KB (1000 bytes).
    kb_per_conn: f64,
}

fn measure(
    kind: ServerKind,
    scenario: Scenario,
    args: &CompareArgs,
    rt: &tokio::runtime::Runtime,
) -> Result<Measured, String> {
    let deployment = Mutex::new(Deployment::start(kind, &args.server)?);
    let (pids, redis_pid, addrs) = {
        let d = deployment.lock().unwrap();
        (d.server_pids(), d.redis.as_ref().map(|r| r.pid()), d.addrs())
    };
    std::thread::sleep(Duration::from_millis(300));
    let snapshots: Mutex<BTreeMap<u8, Snapshot>> = Mutex::new(BTreeMap::new());
    let mark = |m: Mark| {
        if m == Mark::Finished {
            deployment.lock().unwrap().stop();
            return;
        }
        snapshots.lock().unwrap().insert(m as u8, Snapshot::take_all(&pids, redis_pid));
    };
    let mut params = scenario.params(&args.sizes);
    params.track_order = kind.is_cluster();
    let result = rt.block_on(run_on(&addrs, params, &mark));
    let snaps = snapshots.into_inner().unwrap();
    let get = |m: Mark| snaps.get(&(m as u8)).copied().ok_or_else(|| format!("no {m:?} sample"));
    let mut measured = Measured { client: result, ..Default::default() };

    let (start, settled) = (get(Mark::ConnectStart)?, get(Mark::Settled)?);
    let connected = measured.client.connected.max(1) as f64;
    measured.kb_per_conn = (settled.server.rss_kib as f64 - start.server.rss_kib as f64) * 1.024 / connected;
    measured.cpu_ms_per_register = (settled.server.cpu_seconds - start.server.cpu_seconds) * 1000.0 / connected;
    let (from, to) = if scenario.messaging() {
        (get(Mark::SendStart)?, get(Mark::Drained)?)
    } else {
        (start, get(Mark::Connected)?)
    };
    let peaks = if scenario.messaging() { to } else { settled };
    measured.peak_rss_mb = peaks.server.hwm_kib as f64 / 1024.0;
    measured.redis_peak_rss_mb = peaks.redis.hwm_kib as f64 / 1024.0;
    let wall = (to.at - from.at).as_secs_f64().max(1e-9);
    let server_cpu = to.server.cpu_seconds - from.server.cpu_seconds;
    let redis_cpu = to.redis.cpu_seconds - from.redis.cpu_seconds;
    measured.server_cpu_pct = 100.0 * server_cpu / wall;
    measured.redis_cpu_pct = 100.0 * redis_cpu / wall;
    let (busy, total) = (to.machine.0 - from.machine.0, to.machine.1 - from.machine.1);
    measured.machine_busy_pct = 100.0 * busy as f64 / total.max(1) as f64;
    measured.generator_cpu_pct = 100.0 * (to.generator.cpu_seconds - from.generator.cpu_seconds) / wall;
    let measured_pct = measured.server_cpu_pct + measured.redis_cpu_pct + measured.generator_cpu_pct;
    measured.others_cpu_pct = (measured.machine_busy_pct * proc::cpus() as f64 - measured_pct).max(0.0);
    if scenario.messaging() {
        measured.cpu_ms_per_1k =
            (server_cpu + redis_cpu) * 1000.0 / (measured.client.deliveries.max(1) as f64 / 1000.0);
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
    if let Some(order) = &c.global_order {
        s += &format!(
            "; out of one order {} of {} compared ({} receivers differ)",
            order.out_of_order, order.compared, order.receivers_differing
        );
    }
    if kind.is_cluster() {
        s += &format!("; Redis CPU {:.0}%, peak RSS {:.1} MB", m.redis_cpu_pct, m.redis_peak_rss_mb);
    }
    s + &format!(
        "; machine {:.0}% busy (other programs {:.0}% of a core); peak RSS {:.1} MB, {:.1} KB/conn",
        m.machine_busy_pct, m.others_cpu_pct, m.peak_rss_mb, m.kb_per_conn
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn compare(mut args: CompareArgs) -> Result<(), String> {
    if args.servers.is_empty() {
        args.servers = vec![ServerKind::Confab, ServerKind::ConfabDurable, ServerKind::Node];
    }
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
            // Rotate which server goes first, so drift in the machine's load hits all alike.
            let mut order = args.servers.clone();
            let shift = (repeat + scenario as usize) % order.len().max(1);
            order.rotate_left(shift);
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
    let columns = Columns::new(&args.servers, args.server.nodes);
    let all: Vec<_> = results.iter().flat_map(|(s, runs)| columns.rows(*s, &args.sizes, runs)).collect();
    let cluster = if args.servers.iter().any(|k| k.is_cluster()) {
        format!("{} nodes per cluster, clients spread evenly over them; ", args.server.nodes)
    } else {
        String::new()
    };
    let header = format!(
        "Medians of {} run(s) per server and scenario, {cluster}{} s of sending per messaging scenario, saturation \
         window {}, {} handshakes in flight; total bench time {:.0} s.\n\n",
        args.repeats,
        args.sizes.duration,
        args.sizes.window,
        args.sizes.connect_concurrency,
        began.elapsed().as_secs_f64()
    );
    let text = header + &columns.table(&all);
    println!("\n{text}");
    if let Some(path) = &args.out {
        let full = format!("{text}\nEvery run, in order:\n\n```text\n{}\n```\n", log.join("\n"));
        std::fs::File::create(path).and_then(|mut f| f.write_all(full.as_bytes())).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `compare` of the clusters: by default saturation and fan-out over `--nodes` nodes of each.
fn cluster(mut args: CompareArgs) -> Result<(), String> {
    if args.servers.is_empty() {
        args.servers = vec![ServerKind::ConfabCluster, ServerKind::NodeCluster];
    }
    if args.only.is_empty() {
        args.only = vec![Scenario::Saturation, Scenario::Fanout];
    }
    compare(args)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Cmd::Compare(args)) => compare(args),
        Some(Cmd::Cluster(args)) => cluster(args),
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
