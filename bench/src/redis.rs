//! A private `redis-server` for one cluster run: a child process on a free loopback port, nothing
//! saved to disk, killed when dropped (never the system's Redis service).

use std::{
    io::{Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// How long `redis-server` may take to answer its first PING.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts `program` (usually `redis-server`) and waits until it answers PING.
    pub fn start(program: &Path) -> Result<Self, String> {
        let port = free_port()?;
        let child = Command::new(program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                format!(
                    "starting {}: {e}; the cluster scenario needs a real Redis: install Debian's package \
                     (apt-get install -y redis-server; scripts/setup.sh does) or give its path (confab-bench --redis-server PATH)",
                    program.display()
                )
            })?;
        let mut redis = Self { child, port };
        redis.wait_ready()?;
        Ok(redis)
    }

    /// `redis://127.0.0.1:<port>`, for `--redis`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("redis-server exited at start ({status}): is port {} free?", self.port));
            }
            if ping(addr).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("redis-server did not answer PING on {addr} within {READY_TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on right now (the kernel's choice).
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("finding a free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// One inline PING, answered `+PONG` once Redis accepts commands.
fn ping(addr: SocketAddr) -> std::io::Result<()> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    stream.write_all(b"PING\r\n")?;
    let mut answer = [0u8; 7];
    stream.read_exact(&mut answer)?;
    if &answer == b"+PONG\r\n" {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("answer {:?}", String::from_utf8_lossy(&answer))))
    }
}
