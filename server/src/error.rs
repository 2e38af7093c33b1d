//! Errors of the server library.

use std::net::SocketAddr;

/// Why the server could not start or stop.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The address is taken by another program: the caller should pick another port.
    #[error("address {addr} is already in use")]
    AddressInUse { addr: SocketAddr },
    /// Any other failure to bind (no such interface, permission denied for a low port, ...).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// `--web-root` is not a readable folder.
    #[error("cannot serve {root}: {source}")]
    WebRoot {
        root: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `--tls-cert` / `--tls-key` cannot be used.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The chat log cannot be opened (a damaged file, no permission, a newer schema, in use).
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// `--redis`: Redis cannot be reached or used at start.
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    /// The HTTP server task ended with an I/O error or panicked.
    #[error("server task failed: {0}")]
    Task(String),
}

/// Result alias for the server library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
