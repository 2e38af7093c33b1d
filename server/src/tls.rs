//! HTTPS and WSS (issue 10: nothing travels in clear text): `--tls-cert` and `--tls-key` (PEM) make
//! the server speak TLS on its port, with rustls. Handshakes run in tasks of their own with a
//! deadline, so a client that opens TCP and never finishes its handshake holds up nobody else.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use tokio::sync::mpsc;
use tokio_rustls::{server::TlsStream, TlsAcceptor};

use crate::listener::{CappedListener, Counted, PeerAddr};

/// A TLS handshake must be done within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished handshakes waiting for the HTTP server to take them.
const READY_QUEUE: usize = 256;

/// The certificate chain and key files, PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why the TLS files cannot be used (said at start, naming the file).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate {path}: {reason}")]
    Certificate { path: PathBuf, reason: String },
    #[error("cannot read the TLS key {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("the TLS certificate and key do not go together: {0}")]
    Mismatch(String),
}

impl TlsFiles {
    /// Loads both files into a rustls server configuration (HTTP/1.1 only: socket.io needs no more).
    pub fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        let reason = |e: &dyn std::fmt::Display| e.to_string();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .and_then(|certs| certs.collect::<Result<_, _>>())
            .map_err(|e| TlsError::Certificate { path: self.cert.clone(), reason: reason(&e) })?;
        if certs.is_empty() {
            return Err(TlsError::Certificate { path: self.cert.clone(), reason: "no certificate in the file".into() });
        }
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| TlsError::Key { path: self.key.clone(), reason: reason(&e) })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Mismatch(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Mismatch(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// Accepts TCP through the caps of [`CappedListener`], then TLS.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<Counted>, SocketAddr)>,
    local_addr: SocketAddr,
}

impl TlsListener {
    pub fn new(mut tcp: CappedListener, acceptor: TlsAcceptor) -> io::Result<Self> {
        let local_addr = axum::serve::Listener::local_addr(&tcp)?;
        let (ready_tx, ready) = mpsc::channel(READY_QUEUE);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    accepted = axum::serve::Listener::accept(&mut tcp) => accepted,
                    // The server stopped: let go of the port at once.
                    () = ready_tx.closed() => return,
                };
                let (acceptor, handed_to) = (acceptor.clone(), ready_tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => drop(handed_to.send((tls, peer)).await),
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { ready, local_addr })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<Counted>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The accept task only ends once this listener is gone, so this cannot be reached.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>> for PeerAddr {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        PeerAddr::new(*stream.remote_addr())
    }
}

/// The SHA-256 fingerprint of a DER certificate, as browsers show it (`AB:CD:…`, 32 pairs).
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

impl TlsFiles {
    /// The fingerprint of the certificate these files hold (the first of the chain).
    pub fn fingerprint(&self) -> Result<String, TlsError> {
        let cert = CertificateDer::from_pem_file(&self.cert)
            .map_err(|e| TlsError::Certificate { path: self.cert.clone(), reason: e.to_string() })?;
        Ok(fingerprint(&cert))
    }

    /// This machine's own certificate in `dir` (`cert.pem`, `key.pem`), made on first use and kept:
    /// for a LAN chat no public certificate exists, so its identity is this certificate, and clients
    /// recognise it by its fingerprint (shown beside the join URLs, carried in the mDNS record).
    pub fn self_signed_in(dir: &std::path::Path) -> Result<TlsFiles, TlsError> {
        let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
        if files.cert.exists() && files.key.exists() {
            return Ok(files);
        }
        let failed = |reason: String| TlsError::Certificate { path: files.cert.clone(), reason };
        std::fs::create_dir_all(dir).map_err(|e| failed(e.to_string()))?;
        let machine = gethostname::gethostname().to_string_lossy().into_owned();
        let mut names = vec!["localhost".to_owned(), format!("{machine}.local"), machine];
        names.extend(if_addrs::get_if_addrs().unwrap_or_default().into_iter().map(|i| i.ip().to_string()));
        names.dedup();
        let key = rcgen::KeyPair::generate().map_err(|e| failed(e.to_string()))?;
        let mut params = rcgen::CertificateParams::new(names).map_err(|e| failed(e.to_string()))?;
        params.distinguished_name.push(rcgen::DnType::CommonName, "Confab chat");
        let cert = params.self_signed(&key).map_err(|e| failed(e.to_string()))?;
        write_private(&files.key, key.serialize_pem().as_bytes()).map_err(|e| failed(e.to_string()))?;
        std::fs::write(&files.cert, cert.pem()).map_err(|e| failed(e.to_string()))?;
        Ok(files)
    }
}

/// Writes a file only its owner can read (a private key).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("confab-self-signed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = TlsFiles::self_signed_in(&dir).unwrap();
        let print = first.fingerprint().unwrap();
        assert_eq!(print.len(), 32 * 3 - 1, "{print}");
        let again = TlsFiles::self_signed_in(&dir).unwrap();
        assert_eq!(again.fingerprint().unwrap(), print, "the same identity next time");
        assert!(first.acceptor().is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&first.key).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
