//! `confab-server`: the headless chat server for a real host.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    process::ExitCode,
    time::Duration,
};

use clap::Parser;
use confab_server::{
    cluster::ClusterConfig,
    discovery::{Advertiser, Browser, ChatAnnouncement, DiscoveryEvent},
    protocol::{limits, DEFAULT_PORT},
    AddressLimits, Limits, ServerConfig, StoreConfig, TlsFiles,
};

/// Each delivery allocates and frees its frame: with glibc's allocator the saturation run took
/// 0.82 ms of CPU per 1000 deliveries and 2000 clients registered at 582/s; with mimalloc 0.60 ms and
/// 884/s (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in mimalloc 3's `mi_option_e` (libmimalloc-sys names only some
/// options). Eagerly committed arenas cost ~10 KB per idle connection (37.4 KB instead of 28.5 KB),
/// above our 30 KB budget.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// The option must be set before the first arena exists, and Rust's runtime allocates before `main`
/// (setting it in `main` had no effect): an ELF constructor runs before both. Measured: 28.5 KB per
/// idle connection, connect+register still 7.2x Node's rate.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static CONFIGURE_ALLOCATOR: extern "C" fn() = configure_allocator;

#[cfg(target_os = "linux")]
extern "C" fn configure_allocator() {
    // SAFETY: a plain store into mimalloc's option table.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
}

/// A Confab chat server: any socket.io v4 chat client can join it.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Serve,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List the Confab chats advertised on the local network, then exit.
    Discover {
        /// How long to listen, in seconds.
        #[arg(long, default_value_t = 3)]
        seconds: u64,
    },
}

/// Serving a chat (the default when no subcommand is given).
#[derive(Debug, clap::Args)]
struct Serve {
    /// Address to listen on (0.0.0.0 or :: for every interface).
    #[arg(long, env = "CONFAB_BIND", default_value = "0.0.0.0")]
    bind: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, short, env = "CONFAB_PORT", default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Room password clients must send in the handshake `auth.password` (prefer the env variable:
    /// command lines are visible to other users of the machine).
    #[arg(long, env = "CONFAB_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// How many chat messages to keep in memory: the whole history with --ephemeral, else the cache
    /// in front of the chat log (which keeps every message).
    #[arg(long, env = "CONFAB_HISTORY", default_value_t = limits::DEFAULT_HISTORY)]
    history: usize,
    /// Folder of the chat log (chat.sqlite3), kept across restarts and crashes [default:
    /// $XDG_DATA_HOME/confab-server, ~/.local/share/confab-server].
    #[arg(long, env = "CONFAB_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Keep the chat log in memory only: it is gone when the server stops, and ids start again at 1
    /// (overrides --data-dir and CONFAB_DATA_DIR).
    #[arg(long)]
    ephemeral: bool,
    /// Share the chat through Redis or Valkey with every other node started with the same URL
    /// (redis://[user:password@]host[:port][/db]): one chat across several servers. The log then
    /// lives in Redis (--data-dir and --ephemeral do not apply).
    #[arg(long, env = "CONFAB_REDIS_URL", conflicts_with_all = ["ephemeral", "data_dir"], hide_env_values = true)]
    redis: Option<String>,
    /// With --redis: seconds after which a node that stopped renewing its lease (killed, cut off)
    /// counts as gone, and its users are announced as left.
    #[arg(long, default_value_t = 10, requires = "redis")]
    redis_lease: u64,
    /// Sustained messages per second per connection (0 disables flood control).
    #[arg(long, env = "CONFAB_RATE", default_value_t = Limits::default().messages_per_second)]
    rate: u32,
    /// Messages a connection may send in a burst before the sustained rate applies.
    #[arg(long, env = "CONFAB_BURST", default_value_t = Limits::default().message_burst)]
    burst: u32,
    /// Longest chat message, in characters.
    #[arg(long, default_value_t = Limits::default().max_message_chars)]
    max_message_chars: usize,
    /// Outgoing packets queued per connection before a client counts as too slow.
    #[arg(long, default_value_t = limits::DEFAULT_MAX_QUEUED_PACKETS)]
    max_queued_packets: usize,
    /// Outgoing KiB queued per connection before a client counts as too slow (at least 512: two
    /// history pages).
    #[arg(long, default_value_t = limits::DEFAULT_MAX_QUEUED_BYTES / 1024)]
    max_queued_kib: usize,
    /// Outgoing KiB queued for all the connections of one address together (0: no cap): past it, that
    /// address's connections that are behind count as too slow.
    #[arg(long, default_value_t = AddressLimits::default().max_queued_bytes_per_address / 1024)]
    max_queued_kib_per_address: usize,
    /// `history` KiB all the connections of one address may be sent per minute, and at once (0: no cap).
    #[arg(long, default_value_t = AddressLimits::default().history_kib_per_minute_per_address)]
    history_kib_per_address: u32,
    /// The largest file a user may send, in MB (0 turns files off).
    #[arg(long, env = "CONFAB_MAX_FILE_MB", default_value_t = limits::DEFAULT_MAX_FILE_MB)]
    max_file_mb: u64,
    /// All files together, in MB: beyond it the oldest are removed (their messages stay).
    #[arg(long, env = "CONFAB_MAX_FILES_MB", default_value_t = limits::DEFAULT_MAX_FILES_MB)]
    max_files_mb: u64,
    /// Seconds between heartbeats; a vanished client is announced after interval + timeout.
    #[arg(long, default_value_t = limits::DEFAULT_PING_INTERVAL.as_secs())]
    ping_interval: u64,
    /// Seconds to wait for a heartbeat answer.
    #[arg(long, default_value_t = limits::DEFAULT_PING_TIMEOUT.as_secs())]
    ping_timeout: u64,
    /// Folder served at `/` instead of the built-in browser join page.
    #[arg(long, env = "CONFAB_WEB_ROOT")]
    web_root: Option<PathBuf>,
    /// A host name requests may use besides IP addresses, localhost and this machine's name (a
    /// reverse proxy's public name); repeat for several. Pages from it may open sockets too.
    #[arg(long = "allow-host", env = "CONFAB_ALLOW_HOSTS", value_delimiter = ',')]
    allowed_hosts: Vec<String>,
    /// Another web origin whose pages may open sockets here (`https://app.example.org`); repeatable.
    #[arg(long = "allow-origin", env = "CONFAB_ALLOW_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// Serve HTTPS and WSS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "CONFAB_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "CONFAB_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS/WSS with this machine's own certificate (made once, kept in the data directory),
    /// for a LAN chat without a public certificate: clients check it by the fingerprint printed at start.
    #[arg(long, conflicts_with = "tls_cert")]
    tls_self_signed: bool,
    /// Advertise the chat on the local network (mDNS / DNS-SD) so Confab apps list it.
    #[arg(long)]
    advertise: bool,
    /// The chat's name: in the list of chats found on the network, and in every client's header (`welcome`).
    #[arg(long, default_value = "Confab chat")]
    chat_name: String,
    /// Open connections one IP address may have (0: no cap).
    #[arg(long, env = "CONFAB_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = AddressLimits::default().max_connections_per_address)]
    max_connections_per_address: usize,
    /// Open connections in total (0: no cap; the open-file limit is raised at start to fit).
    #[arg(long, env = "CONFAB_MAX_CONNECTIONS", default_value_t = AddressLimits::default().max_connections)]
    max_connections: usize,
    /// Sustained new connections per second from one address (0 disables the limit); faster ones are
    /// closed at accept.
    #[arg(long, default_value_t = AddressLimits::default().connections_per_second)]
    connect_rate: u32,
    /// New connections one address may open at once before the sustained rate applies.
    #[arg(long, default_value_t = AddressLimits::default().connection_burst)]
    connect_burst: u32,
    /// Sustained `register` attempts per second from one address (0 disables the limit).
    #[arg(long, default_value_t = AddressLimits::default().registrations_per_second)]
    register_rate: u32,
    /// `register` attempts one address may make at once before the sustained rate applies.
    #[arg(long, default_value_t = AddressLimits::default().registration_burst)]
    register_burst: u32,
    /// Wrong passwords one address may try before each further attempt waits (doubling, up to 60 s).
    #[arg(long, default_value_t = AddressLimits::default().password_attempts)]
    password_attempts: u32,
    /// Worker threads (1 runs everything on one thread, like Node; 0 means one per CPU core).
    #[arg(long, env = "CONFAB_THREADS", default_value_t = 1)]
    threads: usize,
}

impl Serve {
    /// `--tls-cert/--tls-key`, or this machine's own certificate with `--tls-self-signed`.
    fn tls_files(&self) -> Result<Option<TlsFiles>, String> {
        if self.tls_self_signed {
            let dir =
                dirs::data_dir().ok_or("no data directory (set XDG_DATA_HOME)")?.join("confab-server").join("tls");
            return TlsFiles::self_signed_in(&dir).map(Some).map_err(|e| e.to_string());
        }
        Ok(self.tls_cert.clone().zip(self.tls_key.clone()).map(|(cert, key)| TlsFiles { cert, key }))
    }

    /// `--ephemeral`, `--data-dir`, or the user's data directory.
    fn store(&self) -> Result<StoreConfig, String> {
        if let Some(url) = &self.redis {
            let lease = Duration::from_secs(self.redis_lease.max(1));
            return Ok(StoreConfig::Redis(ClusterConfig { lease, renew_every: lease / 3, ..ClusterConfig::new(url) }));
        }
        if self.ephemeral {
            return Ok(StoreConfig::InMemory);
        }
        let data_dir = match &self.data_dir {
            Some(dir) => dir.clone(),
            None => dirs::data_dir()
                .ok_or("no data directory for the chat log: set --data-dir (or XDG_DATA_HOME), or run --ephemeral")?
                .join("confab-server"),
        };
        Ok(StoreConfig::Sqlite { data_dir })
    }

    fn config(&self) -> Result<ServerConfig, String> {
        if self.burst == 0 {
            return Err("--burst must be at least 1".into());
        }
        if self.max_message_chars == 0 {
            return Err("--max-message-chars must be at least 1".into());
        }
        Ok(ServerConfig {
            password: self.password.clone().filter(|p| !p.is_empty()),
            history_capacity: self.history,
            store: self.store()?,
            limits: Limits {
                max_message_chars: self.max_message_chars,
                messages_per_second: self.rate,
                message_burst: self.burst,
                ..Limits::default()
            },
            ping_interval: Duration::from_secs(self.ping_interval.max(1)),
            ping_timeout: Duration::from_secs(self.ping_timeout.max(1)),
            max_queued_packets: self.max_queued_packets.max(16),
            // A newcomer's history page, users list and join line must fit an empty queue.
            max_queued_bytes: self.max_queued_kib.saturating_mul(1024).max(2 * limits::HISTORY_PAGE_BYTES),
            max_file_bytes: self.max_file_mb.saturating_mul(1_000_000),
            max_files_bytes: self.max_files_mb.saturating_mul(1_000_000),
            web_root: self.web_root.clone(),
            allowed_hosts: self.allowed_hosts.clone(),
            allowed_origins: self.allowed_origins.clone(),
            register_within: limits::REGISTER_WITHIN,
            tls: self.tls_files()?,
            address_limits: AddressLimits {
                max_connections_per_address: self.max_connections_per_address,
                max_connections: self.max_connections,
                connections_per_second: self.connect_rate,
                connection_burst: self.connect_burst.max(1),
                registrations_per_second: self.register_rate,
                registration_burst: self.register_burst.max(1),
                password_attempts: self.password_attempts,
                max_queued_bytes_per_address: self.max_queued_kib_per_address.saturating_mul(1024),
                history_kib_per_minute_per_address: self.history_kib_per_address,
            },
            chat_name: Some(self.chat_name.clone()),
        })
    }
}

fn main() -> ExitCode {
    confab_server::logging::init("info");
    // A file-size limit (`ulimit -f`) would kill the server with SIGXFSZ as the chat log grows past
    // it; ignored, the write fails instead, and the server refuses messages but keeps serving.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" before any thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = Cli::parse();
    let runtime = match build_runtime(cli.serve.threads) {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("confab-server: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match cli.command {
            Some(Command::Discover { seconds }) => discover(Duration::from_secs(seconds)).await,
            None => serve(cli.serve).await,
        }
    })
}

/// One thread by default: every room message is fanned out under the room's one lock anyway, and
/// on one thread the per-recipient queue hand-offs need no cross-thread wake-ups (measured in
/// docs/PERFORMANCE.md: less CPU per delivery in every messaging scenario, more throughput at
/// saturation). More threads help handshake-heavy loads (many clients connecting at once).
fn build_runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        0 => tokio::runtime::Builder::new_multi_thread(),
        n => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
    };
    builder.enable_all().build()
}

async fn serve(cli: Serve) -> ExitCode {
    let config = match cli.config() {
        Ok(config) => config,
        Err(problem) => {
            eprintln!("confab-server: {problem}");
            return ExitCode::from(2);
        }
    };
    let protected = config.password.is_some();
    let log = config.store.file();
    raise_open_file_limit(config.address_limits.max_connections);
    let server = match confab_server::start(SocketAddr::new(cli.bind, cli.port), config).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("confab-server: {error}");
            if matches!(error, confab_server::Error::AddressInUse { .. }) {
                eprintln!("Another program uses port {}: pick another with --port.", cli.port);
            }
            return ExitCode::FAILURE;
        }
    };

    let urls = server.join_urls();
    println!(
        "Confab server running on {}{}",
        server.local_addr(),
        if protected { " (password protected)" } else { "" }
    );
    if urls.is_empty() {
        println!(
            "No network address found: others cannot join; this machine can use http://127.0.0.1:{}",
            server.local_addr().port()
        );
    } else {
        println!("Others can join at:");
        for url in &urls {
            println!("  {url}");
        }
    }
    let _advertiser = cli.advertise.then(|| {
        let chat = ChatAnnouncement {
            chat_name: cli.chat_name.clone(),
            host_name: gethostname::gethostname().to_string_lossy().into_owned(),
            port: server.local_addr().port(),
            password_required: protected,
        };
        Advertiser::start_with(&chat, server.tls_fingerprint())
            .inspect(|_| println!("Advertised on the local network as \"{}\".", chat.chat_name))
            .inspect_err(|error| eprintln!("confab-server: {error}; others can still join by URL"))
            .ok()
    });
    if let Some(fingerprint) = server.tls_fingerprint() {
        println!("TLS certificate fingerprint (SHA-256), for people to check: {fingerprint}");
    }
    match &log {
        Some(file) => println!("Chat log: {} (kept across restarts)", file.display()),
        None if cli.redis.is_some() => println!("Chat log: in Redis, shared with every node on it"),
        None => println!("Chat log: in memory only (--ephemeral): gone when the server stops"),
    }
    println!("Press Ctrl+C to stop.");

    wait_for_stop_signal().await;
    tracing::info!("stopping: disconnecting every client");
    match server.stop().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("confab-server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Every connection is a file descriptor: at the common soft limit of 1024, about a thousand idle
/// sockets locked everyone else out and accept errors repeated every second. Raised to the hard limit.
fn raise_open_file_limit(max_connections: usize) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            // Some descriptors are not connections (listener, mDNS, logs): keep a margin.
            let usable = limit.saturating_sub(64) as usize;
            if max_connections == 0 {
                tracing::info!(open_file_limit = limit, "no --max-connections cap: the open-file limit is the cap");
            } else if max_connections > usable {
                tracing::warn!(
                    open_file_limit = limit,
                    max_connections,
                    "the open-file limit is below --max-connections"
                );
            }
        }
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit"),
    }
}

/// Prints every chat found on the local network within `listen`, one per line.
async fn discover(listen: Duration) -> ExitCode {
    let mut browser = match Browser::start() {
        Ok(browser) => browser,
        Err(error) => {
            eprintln!("confab-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut found = std::collections::BTreeMap::new();
    let _ = tokio::time::timeout(listen, async {
        while let Some(event) = browser.next().await {
            match event {
                DiscoveryEvent::Found(chat) => found.insert(chat.id.clone(), chat),
                DiscoveryEvent::Lost(id) => found.remove(&id),
            };
        }
    })
    .await;
    if found.is_empty() {
        println!("No Confab chat found. Check that you are on the same network and that UDP port 5353 (mDNS) is not blocked.");
    }
    for chat in found.values() {
        let url = chat.url().unwrap_or_else(|| "(no usable address yet)".to_owned());
        let lock = if chat.password_required { " [password]" } else { "" };
        println!("{}\t{}\thosted by {}{}", url, chat.chat_name, chat.host_name, lock);
    }
    ExitCode::SUCCESS
}

/// Resolves on SIGINT (Ctrl+C) or SIGTERM (service managers).
async fn wait_for_stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
