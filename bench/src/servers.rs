//! The servers under test: which kinds there are, and starting the processes of one run (one server,
//! or a cluster of nodes on a private Redis), each run on fresh ones.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use clap::ValueEnum;
use confab_bench::redis::RedisServer;
use tempfile::TempDir;

/// What one run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum ServerKind {
    /// confab-server with its chat log in memory (`--ephemeral`), as the Node server keeps it.
    Confab,
    /// confab-server with its default chat log: SQLite in a fresh `--data-dir`, every message
    /// committed before it is delivered or acknowledged.
    ConfabDurable,
    /// The Node socket.io reference server (bench/node-server/server.mjs).
    Node,
    /// `--nodes` confab-server processes on one Redis (`--redis`).
    ConfabCluster,
    /// `--nodes` Node socket.io processes on one Redis (@socket.io/redis-adapter).
    NodeCluster,
}

impl ServerKind {
    /// Column heading of the table.
    pub fn label(self, nodes: usize) -> String {
        match self {
            ServerKind::Confab => "confab (memory)".into(),
            ServerKind::ConfabDurable => "confab durable (SQLite)".into(),
            ServerKind::Node => "node socket.io".into(),
            ServerKind::ConfabCluster => format!("confab {nodes} nodes + Redis"),
            ServerKind::NodeCluster => format!("node socket.io {nodes} nodes + Redis"),
        }
    }

    pub fn is_cluster(self) -> bool {
        matches!(self, ServerKind::ConfabCluster | ServerKind::NodeCluster)
    }

    pub fn is_node(self) -> bool {
        matches!(self, ServerKind::Node | ServerKind::NodeCluster)
    }
}

/// Where the programs are and how the servers are set up.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// The confab-server binary (default: next to this binary).
    #[arg(long)]
    pub confab_bin: Option<PathBuf>,
    /// The Node reference server script.
    #[arg(long, default_value = "bench/node-server/server.mjs")]
    pub node_script: PathBuf,
    /// The node executable.
    #[arg(long, default_value = "node")]
    pub node: PathBuf,
    /// The redis-server executable of the cluster scenario (a private one is started per run).
    #[arg(long, default_value = "redis-server")]
    pub redis_server: PathBuf,
    /// Server processes of a cluster.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Outgoing packets queued per connection before confab-server drops a client as too slow.
    #[arg(long, default_value_t = 65_536)]
    pub max_queued_packets: usize,
}

/// The processes of one run, stopped (servers first, then Redis) and their folders removed on drop.
pub struct Deployment {
    pub servers: Vec<ServerProc>,
    pub redis: Option<RedisServer>,
    _data_dirs: Vec<TempDir>,
}

impl Deployment {
    pub fn start(kind: ServerKind, args: &ServerArgs) -> Result<Self, String> {
        let mut deployment = Deployment { servers: Vec::new(), redis: None, _data_dirs: Vec::new() };
        let nodes = if kind.is_cluster() { args.nodes.max(1) } else { 1 };
        if kind.is_cluster() {
            deployment.redis = Some(RedisServer::start(&args.redis_server)?);
        }
        let redis_url = deployment.redis.as_ref().map(RedisServer::url);
        for _ in 0..nodes {
            let mut command = if kind.is_node() {
                let mut c = Command::new(&args.node);
                c.arg(&args.node_script).args(["--bind", "127.0.0.1", "--port", "0"]);
                c
            } else {
                let mut c = confab_command(args);
                match kind {
                    ServerKind::Confab => {
                        c.arg("--ephemeral");
                    }
                    ServerKind::ConfabDurable => {
                        // A fresh chat log per run, in $TMPDIR (make sure it is on disk).
                        let dir = tempfile::Builder::new()
                            .prefix("confab-bench-")
                            .tempdir()
                            .map_err(|e| format!("creating a data dir: {e}"))?;
                        c.arg("--data-dir").arg(dir.path());
                        deployment._data_dirs.push(dir);
                    }
                    // The chat log is the Redis stream (--redis).
                    _ => {}
                }
                c
            };
            if let Some(url) = &redis_url {
                command.args(["--redis", url]);
            }
            let label = format!("{kind:?}");
            deployment.servers.push(ServerProc::spawn(&label, command.stderr(Stdio::inherit()))?);
        }
        Ok(deployment)
    }

    /// Where the clients connect: every server, in order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.servers.iter().map(|s| s.addr).collect()
    }

    pub fn server_pids(&self) -> Vec<u32> {
        self.servers.iter().map(ServerProc::pid).collect()
    }

    pub fn stop(&mut self) {
        for server in &mut self.servers {
            server.stop();
        }
        self.redis = None;
    }
}

/// confab-server as every bench run starts it: every client comes from 127.0.0.1, so no
/// per-address caps or rates (as for Node), a queue large enough that closed-loop senders are not
/// evicted as too slow, and warnings only (the Node server logs nothing).
fn confab_command(args: &ServerArgs) -> Command {
    let bin = args
        .confab_bin
        .clone()
        .unwrap_or_else(|| std::env::current_exe().expect("current exe").with_file_name("confab-server"));
    let mut c = Command::new(bin);
    c.args(["--bind", "127.0.0.1", "--port", "0", "--rate", "0", "--register-rate", "0"])
        .args(["--max-connections-per-address", "0", "--max-connections", "0", "--connect-rate", "0"])
        .args(["--max-queued-packets", &args.max_queued_packets.to_string()])
        .env("RUST_LOG", "warn");
    c
}

/// A server process under test.
pub struct ServerProc {
    pub child: Child,
    pub addr: SocketAddr,
}

impl ServerProc {
    /// Starts `command` (a server that prints `… running on <addr>` once it listens; its stderr is
    /// already set up) and waits until it listens.
    pub fn spawn(label: &str, command: &mut Command) -> Result<Self, String> {
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

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        self.stop();
    }
}
