//! Which TLS certificate an `https` chat server may present (issue 10, TLS). A server with a public
//! certificate is checked against the system's trust store, as browsers do. A chat on a LAN has
//! only its own self-signed certificate: it is recognised by the SHA-256 fingerprint its host shows
//! (and announces over mDNS), pinned on first use; a different certificate later is refused loudly.
//!
//! rust_socketio (native-tls) cannot pin by fingerprint, so the certificate is first fetched with a
//! rustls probe that accepts anything and only records it; once its fingerprint is the expected one,
//! exactly that certificate becomes native-tls's trust anchor for the real connection (a server that
//! swaps certificates between the two connections fails the second).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::error::{ClientError, Result};

/// What the server's certificate must be.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Trust {
    /// Trusted by the system's store (public certificates).
    #[default]
    System,
    /// Exactly the certificate with this SHA-256 fingerprint (`AB:CD:…`), whoever signed it.
    Pinned(String),
}

/// The connector for rust_socketio, after checking what the server presents. `None`: use its default
/// (the system's trust store).
pub async fn connector(
    host: &str,
    port: u16,
    trust: &Trust,
    limit: Duration,
) -> Result<Option<native_tls::TlsConnector>> {
    let Trust::Pinned(expected) = trust else { return Ok(None) };
    let presented = presented_certificate(host, port, limit).await?;
    let fingerprint = confab_server::tls_fingerprint_of(&presented);
    if !fingerprint.eq_ignore_ascii_case(expected) {
        return Err(ClientError::CertificateChanged { expected: expected.clone(), presented: fingerprint });
    }
    let anchor = native_tls::Certificate::from_der(&presented).map_err(|e| ClientError::Tls(e.to_string()))?;
    native_tls::TlsConnector::builder()
        .add_root_certificate(anchor)
        // The pin is the identity: a LAN host's address changes with the network it is on.
        .danger_accept_invalid_hostnames(true)
        .build()
        .map(Some)
        .map_err(|e| ClientError::Tls(e.to_string()))
}

/// Whether the system's trust store (what native-tls, and so rust_socketio, checks against) accepts
/// the certificate `host:port` presents for that name. Unreachable counts as "not a trust problem".
pub async fn system_trusts(host: &str, port: u16, limit: Duration) -> bool {
    let host = host.to_owned();
    let check = tokio::task::spawn_blocking(move || {
        let Ok(tcp) = std::net::TcpStream::connect((host.as_str(), port)) else { return true };
        let _ = tcp.set_read_timeout(Some(limit));
        let _ = tcp.set_write_timeout(Some(limit));
        let Ok(connector) = native_tls::TlsConnector::new() else { return true };
        !matches!(connector.connect(&host, tcp), Err(native_tls::HandshakeError::Failure(_)))
    });
    check.await.unwrap_or(true)
}

/// The fingerprint of the certificate `host:port` presents (to tell the user what to compare).
pub async fn presented_fingerprint(host: &str, port: u16, limit: Duration) -> Result<String> {
    Ok(confab_server::tls_fingerprint_of(&presented_certificate(host, port, limit).await?))
}

async fn presented_certificate(host: &str, port: u16, limit: Duration) -> Result<CertificateDer<'static>> {
    let seen = Arc::new(Recorder::default());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(seen.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).map_err(|e| ClientError::Tls(e.to_string()))?;
    let probe = async {
        let tcp = tokio::net::TcpStream::connect((host, port)).await.map_err(|e| ClientError::Tls(e.to_string()))?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| ClientError::Tls(e.to_string()))
    };
    let _ =
        tokio::time::timeout(limit, probe).await.map_err(|_| ClientError::Timeout("the TLS handshake".into()))??;
    let seen = seen.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    seen.ok_or_else(|| ClientError::Tls("the server presented no certificate".into()))
}

/// A verifier that accepts any certificate and remembers it: the pin is checked afterwards.
#[derive(Debug, Default)]
struct Recorder(Mutex<Option<CertificateDer<'static>>>);

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(end_entity.clone().into_owned());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        // The same answer as for TLS 1.2: the probe only records; the real connection verifies.
        self.verify_tls12_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
    }
}
