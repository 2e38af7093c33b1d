//! The real `confab-server` binary as a child process, and a socket.io client of raw frames that
//! reads events and acks one at a time.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{mpsc, Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::Value;

use super::{
    raw::{self, Ws},
    WAIT,
};

/// The binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_confab-server");

/// A command for the binary on 127.0.0.1 with a free port, untouched by the machine's CONFAB_*.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(["--bind", "127.0.0.1", "--port", "0"]).args(args).env("RUST_LOG", "warn");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CONFAB_") {
            command.env_remove(key);
        }
    }
    command
}

/// A running server process; killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Starts it and waits for `Confab server running on <addr>`.
    pub fn start(args: &[&str]) -> Self {
        Self::start_command(command(args))
    }

    pub fn start_command(mut command: Command) -> Self {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the server starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (found, addr) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let printed = Arc::new(Mutex::new(String::new()));
        let collected = printed.clone();
        // Both pipes are read to the end, so the server never blocks on a full one.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("Confab server running on ") {
                    let _ = found.send(addr.split(' ').next().unwrap_or_default().to_owned());
                }
                collected.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let errors = child.stderr.take().expect("stderr");
        let collected = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(errors).lines().map_while(Result::ok) {
                collected.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let Ok(addr) = addr.recv_timeout(WAIT) else {
            let _ = child.kill();
            panic!("the server did not start: {}", stderr.lock().unwrap());
        };
        Self { child, addr: addr.parse().expect("an address"), stderr, stdout: printed }
    }

    /// What it logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// What it printed on stdout so far (its start lines; logs go to stderr).
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// SIGKILL: no shutdown code runs, as in a crash.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// SIGTERM, then waits for the graceful stop.
    pub fn terminate(mut self) -> ExitStatus {
        // SAFETY: a signal to our own child, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(self.pid(), libc::SIGTERM) }, 0);
        wait_with_deadline(&mut self.child).expect("the server stops after SIGTERM")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for the child within [`WAIT`]; `None` (and the child killed) when it is still running.
pub fn wait_with_deadline(child: &mut Child) -> Option<ExitStatus> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Runs a server that must refuse to start: its exit status and what it printed on stderr.
pub fn refused_start(mut command: Command) -> (ExitStatus, String) {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawns");
    let status = wait_with_deadline(&mut child).expect("the server exits at once instead of serving");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr).expect("stderr read");
    (status, stderr)
}

/// A socket.io client made of raw frames, with numbered acks and the events in arrival order.
pub struct Frames {
    pub ws: Ws,
    pub welcome: Value,
    next_ack: u64,
    events: std::collections::VecDeque<(String, Value)>,
}

impl Frames {
    pub async fn connect(addr: SocketAddr) -> Self {
        let (ws, welcome) = raw::connect_with_welcome(addr).await;
        Self { ws, welcome, next_ack: 1, events: Default::default() }
    }

    /// Connects and registers `name`: the client, the history it was sent and its own join line.
    pub async fn join(addr: SocketAddr, name: &str) -> (Self, Vec<Value>, Value) {
        let mut client = Self::connect(addr).await;
        assert_eq!(client.call("register", Value::String(name.to_owned())).await, Value::Bool(true));
        let history = client.event("history").await;
        client.event("users").await;
        let joined = client.event("message").await;
        assert_eq!((&joined["kind"], &joined["name"]), (&"join".into(), &name.into()), "{joined}");
        (client, history.as_array().cloned().unwrap_or_default(), joined)
    }

    /// Sends `event` with `arg` and an ack id, without waiting: the ack id.
    pub async fn emit(&mut self, event: &str, arg: Value) -> u64 {
        let id = self.next_ack;
        self.next_ack += 1;
        raw::send(&mut self.ws, &format!("42{id}{}", Value::Array(vec![event.into(), arg]))).await;
        id
    }

    /// Sends `event` and returns the first argument of its ack.
    pub async fn call(&mut self, event: &str, arg: Value) -> Value {
        let id = self.emit(event, arg).await;
        loop {
            if let Some((ack, value)) = self.read().await {
                if ack == id {
                    return value;
                }
                panic!("ack {ack} while waiting for {id}");
            }
        }
    }

    /// The next frame: `Some((ack id, first argument))` for an ack, `None` after queuing an event.
    pub async fn read(&mut self) -> Option<(u64, Value)> {
        let frame = raw::next_text(&mut self.ws).await;
        if let Some(ack) = frame.strip_prefix("43") {
            let digits = ack.chars().take_while(char::is_ascii_digit).count();
            let args: Value = serde_json::from_str(&ack[digits..]).expect("ack arguments");
            return Some((ack[..digits].parse().expect("ack id"), args[0].clone()));
        }
        let event: Value =
            frame.strip_prefix("42").and_then(|json| serde_json::from_str(json).ok()).unwrap_or_default();
        let name = event[0].as_str().unwrap_or_else(|| panic!("unexpected frame {frame}")).to_owned();
        self.events.push_back((name, event[1].clone()));
        None
    }

    /// Registers as the seed's own client does: no ack asked, the answer comes as a `register` event.
    pub async fn register_seed(&mut self, name: &str) {
        raw::send(&mut self.ws, &format!("42{}", serde_json::json!(["register", name]))).await;
        assert_eq!(self.event("register").await, Value::Bool(true), "register {name}");
    }

    /// The next `count` chat lines (announcements skipped).
    pub async fn chat_lines(&mut self, count: usize) -> Vec<Value> {
        let mut lines = Vec::new();
        while lines.len() < count {
            let message = self.event("message").await;
            if message["from"] != "Server" {
                lines.push(message);
            }
        }
        lines
    }

    /// Whether no chat line arrives within `quiet`.
    pub async fn quiet_for(&mut self, quiet: Duration) -> bool {
        tokio::time::timeout(quiet, self.chat_lines(1)).await.is_err()
    }

    /// The next event named `name` (others before it are dropped).
    pub async fn event(&mut self, name: &str) -> Value {
        loop {
            while let Some((event, value)) = self.events.pop_front() {
                if event == name {
                    return value;
                }
            }
            if let Some((ack, _)) = self.read().await {
                panic!("unexpected ack {ack} while waiting for {name}");
            }
        }
    }
}
