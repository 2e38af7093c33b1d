//! `confab-bench attack`: the honest chat while one attacker attacks it (docs/PERFORMANCE.md, "The
//! chat under attack").
//!
//! Every run starts a fresh confab-server with its default settings (its chat log in a fresh
//! folder, a room password for the password attack), connects the honest room from `--honest-source` (127.0.0.2: another address
//! to the server's per-address caps and rates), and during the measured window lets one attacker
//! ([`confab_bench::attack`]) attack from 127.0.0.1. The server's CPU and memory come from `/proc`,
//! as in `compare`; its log (stderr) is read through a pipe, and the lines it wrote during the
//! window are counted (a flood of refusals is also a flood of log lines).

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::IpAddr,
    path::PathBuf,
    process::{ChildStderr, Command, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use confab_bench::{
    attack::{run_under_attack, Attack, AttackPlan, AttackReport},
    proc,
    stats::median,
    Dial, Mark, RunParams, RunResult, SendMode,
};

use crate::{fmt, ms, ServerProc, Snapshot};

/// The room password of the password attack's server (the attacker never tries it).
const PASSWORD: &str = "correct horse battery staple";

#[derive(Debug, Clone, clap::Args)]
pub struct AttackArgs {
    /// Attacks to run, in this order (default: all, `none` first as the reference).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Attack>,
    /// Seconds of honest chat, and of attack, per run.
    #[arg(long, default_value_t = 8.0)]
    duration: f64,
    /// Runs per attack (medians are reported, losses summed over all runs).
    #[arg(long, default_value_t = 1)]
    repeats: usize,
    /// 2 s per attack: checks that everything works.
    #[arg(long)]
    quick: bool,
    /// The confab-server binary (default: next to this binary).
    #[arg(long = "server-bin", alias = "confab-bin")]
    server_bin: Option<PathBuf>,
    /// Extra flags for every confab-server, after the bench's own (`--server-arg=--threads=0`).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// Local address of the honest clients (Linux routes all of 127.0.0.0/8 to loopback).
    #[arg(long, default_value = "127.0.0.2")]
    honest_source: IpAddr,
    /// Local address of the attacker (default: the system's choice, 127.0.0.1).
    #[arg(long)]
    attacker_source: Option<IpAddr>,
    /// Honest clients; all of them receive every message.
    #[arg(long, default_value_t = 100)]
    honest_clients: usize,
    /// Honest clients that send.
    #[arg(long, default_value_t = 10)]
    honest_senders: usize,
    /// Messages per second per honest sender (the server's default limit is 10/s, bursts of 20).
    #[arg(long, default_value_t = 10.0)]
    honest_rate: f64,
    /// Connections in flight at once in the flood, storm, binary and garbage attacks.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// The honest p99 latency that passes, in ms.
    #[arg(long, default_value_t = 50.0)]
    p99_bound_ms: f64,
    /// The server memory an attack may add (peak RSS above the RSS at its start), in MB.
    #[arg(long, default_value_t = 50.0)]
    memory_bound_mb: f64,
    /// Also keep the servers' logs (stderr) in this folder, one file per run (by default they are
    /// only counted: a password attack makes the server log hundreds of MB).
    #[arg(long)]
    log_dir: Option<PathBuf>,
    /// Also write the table (and every run's line) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// One run of one attack.
#[derive(Debug, Clone, Default)]
struct AttackRun {
    honest: RunResult,
    attacker: AttackReport,
    /// During the window (start of the attack to the last honest delivery), % of one core.
    server_cpu_pct: f64,
    generator_cpu_pct: f64,
    /// VmRSS when the attack starts, VmHWM and VmRSS when it stops, in MB (MiB of /proc).
    rss_start_mb: f64,
    peak_mb: f64,
    rss_end_mb: f64,
    /// Lines and bytes the server logged during the window.
    log_lines: u64,
    log_bytes: u64,
    /// The server process had exited by the end of the window.
    server_died: bool,
}

impl AttackRun {
    fn added_mb(&self) -> f64 {
        (self.peak_mb - self.rss_start_mb).max(0.0)
    }

    fn losses(&self) -> u64 {
        let h = &self.honest;
        h.lost + h.duplicated + h.out_of_order + h.wrong_from
    }
}

impl AttackArgs {
    fn honest_params(&self) -> RunParams {
        let mut params = RunParams::messaging(
            self.honest_clients,
            self.honest_senders,
            SendMode::Rate { per_second: self.honest_rate },
            Duration::from_secs_f64(self.duration),
        );
        params.dial = Dial { source: Some(self.honest_source), ..Dial::default() };
        params
    }

    fn server_command(&self, attack: Attack, data_dir: &std::path::Path) -> Command {
        let bin = self
            .server_bin
            .clone()
            .unwrap_or_else(|| std::env::current_exe().expect("current exe").with_file_name("confab-server"));
        let mut command = Command::new(bin);
        // The defaults: no CONFAB_* setting and no RUST_LOG from this environment gets through.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CONFAB_") {
                command.env_remove(&key);
            }
        }
        command.env_remove("RUST_LOG");
        command.args(["--bind", "127.0.0.1", "--port", "0"]);
        // The default chat log (SQLite, every message committed before it is delivered), but a fresh
        // one per run, not the user's.
        command.arg("--data-dir").arg(data_dir);
        if attack == Attack::Password {
            // In the environment, as an operator should (command lines are visible to everyone).
            command.env("CONFAB_PASSWORD", PASSWORD);
        }
        command.args(&self.server_args).stderr(Stdio::piped());
        command
    }
}

/// What the server wrote to its stderr so far: read from the pipe as it comes (and copied to a file
/// with `--log-dir`), so the logs of an attack cost no disk.
#[derive(Clone, Default)]
struct LogCount {
    lines: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

impl LogCount {
    fn follow(mut stderr: ChildStderr, mut copy: Option<std::fs::File>) -> Self {
        let count = Self::default();
        let (lines, bytes) = (count.lines.clone(), count.bytes.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n @ 1..) = stderr.read(&mut buf) {
                lines.fetch_add(memchr::memchr_iter(b'\n', &buf[..n]).count() as u64, Ordering::Relaxed);
                bytes.fetch_add(n as u64, Ordering::Relaxed);
                if let Some(file) = copy.as_mut() {
                    let _ = file.write_all(&buf[..n]);
                }
            }
        });
        count
    }

    fn now(&self) -> (u64, u64) {
        (self.lines.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed))
    }
}

/// A chat log folder of one run, removed when the run is over.
struct DataDir(PathBuf);

impl DataDir {
    fn new(attack: Attack, repeat: usize) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!(
            "confab-bench-attack-{}-{}-{}.data",
            attack.name(),
            repeat + 1,
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn measure(
    attack: Attack,
    repeat: usize,
    args: &AttackArgs,
    rt: &tokio::runtime::Runtime,
) -> Result<AttackRun, String> {
    let copy = match &args.log_dir {
        Some(dir) => {
            let path = dir.join(format!("confab-bench-attack-{}-{}.log", attack.name(), repeat + 1));
            Some(std::fs::File::create(&path).map_err(|e| format!("creating {}: {e}", path.display()))?)
        }
        None => None,
    };
    let data_dir = DataDir::new(attack, repeat)?;
    let mut server = ServerProc::spawn("confab", &mut args.server_command(attack, &data_dir.0))?;
    let log = LogCount::follow(server.child.stderr.take().expect("piped stderr"), copy);
    let server = Mutex::new(server);
    let (pid, addr) = {
        let s = server.lock().unwrap();
        (s.pid(), s.addr)
    };
    std::thread::sleep(Duration::from_millis(300));
    // At each mark: /proc, and the server's log so far (lines, bytes).
    type Sample = (Snapshot, (u64, u64));
    let snapshots: Mutex<BTreeMap<u8, Sample>> = Mutex::new(BTreeMap::new());
    let died = Mutex::new(false);
    let mark = |m: Mark| {
        if m == Mark::Finished {
            server.lock().unwrap().stop();
            return;
        }
        if m == Mark::Drained {
            *died.lock().unwrap() = server.lock().unwrap().child.try_wait().is_ok_and(|status| status.is_some());
        }
        snapshots.lock().unwrap().insert(m as u8, (Snapshot::take(pid), log.now()));
    };
    let mut plan = AttackPlan::new(attack);
    plan.source = args.attacker_source;
    plan.concurrency = args.concurrency;
    let mut params = args.honest_params();
    if attack == Attack::Password {
        params.dial.password = Some(PASSWORD.to_owned());
    }
    let (honest, attacker) = rt.block_on(run_under_attack(addr, params, &plan, &mark))?;
    let snaps = snapshots.into_inner().unwrap();
    let server_died = died.into_inner().unwrap();
    let get = |m: Mark| snaps.get(&(m as u8)).copied().ok_or_else(|| format!("no {m:?} sample"));
    let ((from, log_from), (to, log_to)) = (get(Mark::SendStart)?, get(Mark::Drained)?);
    let wall = (to.at - from.at).as_secs_f64().max(1e-9);
    let mb = |kib: u64| kib as f64 / 1024.0;
    Ok(AttackRun {
        honest,
        attacker,
        server_cpu_pct: 100.0 * (to.server.cpu_seconds - from.server.cpu_seconds) / wall,
        generator_cpu_pct: 100.0 * (to.generator.cpu_seconds - from.generator.cpu_seconds) / wall,
        rss_start_mb: mb(from.server.rss_kib),
        peak_mb: mb(to.server.hwm_kib),
        rss_end_mb: mb(to.server.rss_kib),
        log_lines: log_to.0.saturating_sub(log_from.0),
        log_bytes: log_to.1.saturating_sub(log_from.1),
        server_died,
    })
}

fn one_line(attack: Attack, r: &AttackRun) -> String {
    let h = &r.honest;
    format!(
        "{}: honest {}/{} connected, sent {} delivered {}/{} = {:.0}/s, lost {} dup {} ooo {} wrong-from {} \
         dropped {} bad-acks {}; latency p50 {:.1} p99 {:.1} max {:.1} ms; server CPU {:.0}%, generator {:.0}%; \
         server RSS {:.1} MB at the start, peak {:.1} (+{:.1}), {:.1} at the end; {} log lines ({:.1} MB){}; \
         attacker: {}",
        attack.name(),
        h.connected,
        h.clients,
        h.sent,
        h.deliveries,
        h.expected,
        h.deliveries_per_second(),
        h.lost,
        h.duplicated,
        h.out_of_order,
        h.wrong_from,
        h.dropped_clients,
        h.acks_bad,
        ms(h.latency.p50),
        ms(h.latency.p99),
        ms(h.latency.max),
        r.server_cpu_pct,
        r.generator_cpu_pct,
        r.rss_start_mb,
        r.peak_mb,
        r.added_mb(),
        r.rss_end_mb,
        r.log_lines,
        r.log_bytes as f64 / 1e6,
        if r.server_died { "; THE SERVER DIED" } else { "" },
        r.attacker.achieved(attack, h)
    )
}

/// The verdict of one attack over all its runs.
fn verdict(args: &AttackArgs, runs: &[AttackRun]) -> String {
    let mut failed = Vec::new();
    if runs.iter().any(|r| r.server_died) {
        failed.push("the server died".to_owned());
    }
    if runs.iter().any(|r| r.honest.connected < r.honest.clients) {
        failed.push("honest clients could not connect".to_owned());
    }
    let p99 = runs.iter().map(|r| ms(r.honest.latency.p99)).fold(0.0, f64::max);
    if p99 >= args.p99_bound_ms {
        failed.push(format!("p99 {} ms", fmt(p99)));
    }
    if runs.iter().any(|r| r.losses() > 0 || r.honest.deliveries == 0) {
        failed.push("deliveries not exact".to_owned());
    }
    if runs.iter().any(|r| r.honest.dropped_clients > 0) {
        failed.push("honest clients dropped".to_owned());
    }
    let added = runs.iter().map(AttackRun::added_mb).fold(0.0, f64::max);
    if added > args.memory_bound_mb {
        failed.push(format!("+{} MB", fmt(added)));
    }
    if failed.is_empty() {
        "✅".to_owned()
    } else {
        format!("❌ {}", failed.join(", "))
    }
}

fn table(args: &AttackArgs, results: &[(Attack, Vec<AttackRun>)]) -> String {
    let mut s = format!(
        "| attack | honest deliveries/s | latency p50 / p99 / max ms | lost / dup / reordered (honest clients \
         dropped) | server RSS at start → peak MB (added) | server CPU % | server log lines (MB) | what the attacker \
         achieved{} | p99 < {} ms, exact, nobody dropped, ≤ +{} MB |\n|---|---:|---:|---:|---:|---:|---:|---|---|\n",
        if args.repeats > 1 { " (run 1)" } else { "" },
        args.p99_bound_ms,
        args.memory_bound_mb,
    );
    for (attack, runs) in results {
        let med = |f: &dyn Fn(&AttackRun) -> f64| median(runs.iter().map(f));
        let sum = |f: &dyn Fn(&AttackRun) -> u64| runs.iter().map(f).sum::<u64>();
        let achieved = runs.first().map(|r| r.attacker.achieved(*attack, &r.honest)).unwrap_or_default();
        s += &format!(
            "| **{}**: {} | {} | {} / {} / {} | {} / {} / {} ({}) | {} → {} (+{}) | {} | {:.0} ({}) | {} | {} |\n",
            attack.name(),
            attack.describe(),
            fmt(med(&|r| r.honest.deliveries_per_second())),
            fmt(med(&|r| ms(r.honest.latency.p50))),
            fmt(med(&|r| ms(r.honest.latency.p99))),
            fmt(med(&|r| ms(r.honest.latency.max))),
            sum(&|r| r.honest.lost),
            sum(&|r| r.honest.duplicated),
            sum(&|r| r.honest.out_of_order),
            sum(&|r| r.honest.dropped_clients as u64),
            fmt(med(&|r| r.rss_start_mb)),
            fmt(med(&|r| r.peak_mb)),
            fmt(med(&AttackRun::added_mb)),
            fmt(med(&|r| r.server_cpu_pct)),
            med(&|r| r.log_lines as f64),
            fmt(med(&|r| r.log_bytes as f64 / 1e6)),
            achieved,
            verdict(args, runs),
        );
    }
    s
}

pub fn attack(mut args: AttackArgs) -> Result<(), String> {
    if args.quick {
        args.repeats = 1;
        args.duration = args.duration.min(2.0);
    }
    proc::raise_nofile_limit();
    let attacks: Vec<Attack> = if args.only.is_empty() { Attack::ALL.to_vec() } else { args.only.clone() };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let began = Instant::now();
    let mut results: Vec<(Attack, Vec<AttackRun>)> = attacks.iter().map(|a| (*a, Vec::new())).collect();
    let mut log = Vec::new();
    for repeat in 0..args.repeats {
        for (attack, runs) in results.iter_mut() {
            let run = measure(*attack, repeat, &args, &rt)?;
            let line = format!(
                "[{:>4.0}s] run {}/{}: {}",
                began.elapsed().as_secs_f64(),
                repeat + 1,
                args.repeats,
                one_line(*attack, &run)
            );
            eprintln!("{line}");
            log.push(line);
            runs.push(run);
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    let header = format!(
        "{} honest clients from {} ({} senders × {} msg/s, everyone receives), {} s of chat per run, each under one \
         attacker from {} ({} connections in flight where it uses many); confab-server with its default settings \
         (a fresh chat log per run; a room password for `password`); {} run(s) per attack, medians; total bench time {:.0} s.\n\n",
        args.honest_clients,
        args.honest_source,
        args.honest_senders,
        args.honest_rate,
        args.duration,
        args.attacker_source.map(|ip| ip.to_string()).unwrap_or_else(|| "127.0.0.1".into()),
        args.concurrency,
        args.repeats,
        began.elapsed().as_secs_f64()
    );
    let text = header + &table(&args, &results);
    println!("\n{text}");
    if let Some(path) = &args.out {
        let full = format!("{text}\nEvery run, in order:\n\n```text\n{}\n```\n", log.join("\n"));
        std::fs::File::create(path).and_then(|mut f| f.write_all(full.as_bytes())).map_err(|e| e.to_string())?;
    }
    Ok(())
}
