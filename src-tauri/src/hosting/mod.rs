//! Hosting a chat from the app: the Confab server runs in-process, in Rust tasks on the app's tokio
//! runtime (never in the webview), bound to every interface, and is advertised on the local network.
//! It speaks HTTPS/WSS with this machine's own certificate (made once, kept in the app's data
//! directory, the same for every chat hosted here); its fingerprint goes beside the join URLs and in
//! the mDNS record, so others can check they reach this computer. The host then joins its own chat
//! through the normal client path (`https://127.0.0.1:port`, pinned to that certificate).

mod error;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use confab_server::discovery::{Advertiser, ChatAnnouncement};
use confab_server::{protocol::names, ServerConfig, StoreConfig, TlsFiles};
use serde::{Deserialize, Serialize};

pub use error::{HostError, Result};

/// The documented default port (the same as `confab-server`'s).
pub use confab_protocol::DEFAULT_PORT;
/// How many ports after a taken one are tried when looking for a free one to suggest.
const PORTS_TO_TRY: u16 = 20;
const MAX_CHAT_NAME_CHARS: usize = 60;

/// What the Host form sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostOptions {
    pub chat_name: String,
    /// The host's own name in the chat (also shown to others browsing the network).
    pub host_name: String,
    /// Room password; `None` or empty for an open room.
    pub password: Option<String>,
    /// `0` lets the system pick a free port.
    pub port: u16,
    /// Announce the chat on the local network (mDNS). On by default in the app; tests may switch it off.
    #[serde(default = "yes")]
    pub advertise: bool,
}

fn yes() -> bool {
    true
}

/// What the UI shows about a running chat.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HostInfo {
    pub chat_name: String,
    pub port: u16,
    /// Every non-loopback `https://ip:port`: what other people type or click.
    pub join_urls: Vec<String>,
    /// Where the host's own client connects (`https://127.0.0.1:port`).
    pub local_url: String,
    /// The SHA-256 fingerprint of the chat's certificate (`AB:CD:…`): what others compare.
    pub fingerprint: String,
    pub password_required: bool,
    /// `None` when the chat is announced on the network, else why not (the chat works anyway).
    pub advertise_error: Option<String>,
}

/// A chat this app hosts. Stop it with [`HostedChat::stop`]; dropping it also stops the server
/// (in the background, without waiting).
pub struct HostedChat {
    server: confab_server::ServerHandle,
    advertiser: Option<Advertiser>,
    info: HostInfo,
}

impl HostedChat {
    /// Starts the server on `0.0.0.0:port` with this machine's certificate (made in
    /// `certificate_dir` the first time, then reused) and advertises it. With `logs`, the chat's log
    /// is kept in SQLite in a folder of its own there ([`log_folder`]), so hosting a chat of the same
    /// name again continues its history; without, it lives in memory. Must run inside a tokio runtime.
    pub async fn start(options: HostOptions, certificate_dir: &Path, logs: Option<&Path>) -> Result<Self> {
        let chat_name = options.chat_name.trim().to_owned();
        let host_name = options.host_name.trim().to_owned();
        if chat_name.is_empty() {
            return Err(HostError::InvalidInput("Give the chat a name.".into()));
        }
        if chat_name.chars().count() > MAX_CHAT_NAME_CHARS {
            return Err(HostError::InvalidInput(format!(
                "A chat name can be at most {MAX_CHAT_NAME_CHARS} characters."
            )));
        }
        if host_name.is_empty() {
            return Err(HostError::InvalidInput("Enter your name.".into()));
        }
        let password = options.password.filter(|p| !p.is_empty());
        let password_required = password.is_some();
        let dir = certificate_dir.to_owned();
        // Key generation and file writes: off the async workers.
        let tls = tokio::task::spawn_blocking(move || TlsFiles::self_signed_in(&dir))
            .await
            .map_err(|e| HostError::StartFailed(e.to_string()))?
            .map_err(|e| {
                HostError::StartFailed(format!("this computer's certificate could not be made or read: {e}"))
            })?;
        // Everyone who joins, the host included, sees the chat's name in the header (`welcome`).
        let store = match logs {
            Some(logs) => StoreConfig::Sqlite { data_dir: logs.join(log_folder(&chat_name)) },
            None => StoreConfig::InMemory,
        };
        let config =
            ServerConfig { password, tls: Some(tls), chat_name: Some(chat_name.clone()), store, ..Default::default() };
        let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, options.port));
        let server = confab_server::start(addr, config).await.map_err(|e| match e {
            confab_server::Error::AddressInUse { .. } => {
                HostError::PortInUse { port: options.port, free_port: free_port_after(options.port) }
            }
            other => HostError::StartFailed(other.to_string()),
        })?;
        let port = server.local_addr().port();
        let Some(fingerprint) = server.tls_fingerprint().map(str::to_owned) else {
            // Cannot happen (the config has TLS), but a chat must never run in clear text unnoticed.
            let _ = server.stop().await;
            return Err(HostError::StartFailed("the chat would not be encrypted".into()));
        };
        let (advertiser, advertise_error) = if options.advertise {
            let announcement = ChatAnnouncement { chat_name: chat_name.clone(), host_name, port, password_required };
            let announced = fingerprint.clone();
            // The mDNS daemon starts a thread and sockets: keep that off the async workers.
            match tokio::task::spawn_blocking(move || Advertiser::start_with(&announcement, Some(&announced))).await {
                Ok(Ok(advertiser)) => (Some(advertiser), None),
                Ok(Err(e)) => {
                    tracing::warn!("the chat is not announced on the network: {e}");
                    (None, Some(e.to_string()))
                }
                Err(e) => (None, Some(e.to_string())),
            }
        } else {
            (None, Some("not advertised".into()))
        };
        let info = HostInfo {
            chat_name,
            port,
            join_urls: server.join_urls(),
            local_url: format!("https://127.0.0.1:{port}"),
            fingerprint,
            password_required,
            advertise_error,
        };
        tracing::info!(port, "hosting a chat");
        Ok(Self { server, advertiser, info })
    }

    pub fn info(&self) -> &HostInfo {
        &self.info
    }

    /// Registered users right now.
    #[cfg(test)]
    pub fn user_count(&self) -> usize {
        self.server.user_count()
    }

    /// Withdraws the announcement, tells everyone the host closed the chat, disconnects them and
    /// frees the port before returning.
    pub async fn stop(self) {
        let HostedChat { server, advertiser, .. } = self;
        if let Some(advertiser) = advertiser {
            // Dropping says goodbye on the network and waits up to a second for it: not on a worker.
            let _ = tokio::task::spawn_blocking(move || drop(advertiser)).await;
        }
        if let Err(e) = server.stop().await {
            tracing::warn!("the chat server did not stop cleanly: {e}");
        }
        tracing::info!("stopped hosting");
    }
}

/// A port after `port` that nothing listens on right now (`None` if none of the next few is free).
/// The folder of a hosted chat's log: its name's letters and digits (readable in a file manager), then
/// a digest of the folded name, so names that differ only in case or width share one history and
/// any other two names never do, whatever their script or length.
pub fn log_folder(chat_name: &str) -> String {
    use sha2::Digest;
    let readable: String =
        chat_name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).take(32).collect();
    let digest = sha2::Sha256::digest(names::fold(chat_name).as_bytes());
    let hex: String = digest[..8].iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{}-{hex}", readable.trim_matches('-'))
}

fn free_port_after(port: u16) -> Option<u16> {
    (1..=PORTS_TO_TRY)
        .filter_map(|i| port.checked_add(i))
        .find(|&p| std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, p)).is_ok())
}

#[cfg(test)]
mod tests;
