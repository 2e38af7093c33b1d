//! HTTPS and WSS with `--tls-cert`/`--tls-key`: a real rustls client, a real certificate (made by
//! rcgen for the test), the socket.io handshake over TLS, and a clear error for bad files.

mod support;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use confab_server::{Error, ServerConfig, TlsFiles};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
fn certificate(dir: &str) -> (TlsFiles, CertificateDer<'static>) {
    let dir = std::env::temp_dir().join(format!("confab-tls-{dir}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    std::fs::write(&files.cert, cert.pem()).unwrap();
    std::fs::write(&files.key, key.serialize_pem()).unwrap();
    (files, cert.der().clone())
}

/// The response, and the fingerprint of the certificate the server presented.
async fn https_get_seen(addr: SocketAddr, trusted: &CertificateDer<'static>, path: &str) -> (String, String) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.expect("TLS handshake");
    tls.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let presented = tls.get_ref().1.peer_certificates().expect("a certificate")[0].clone();
    let mut response = String::new();
    let _ = tls.read_to_string(&mut response).await;
    (response, confab_server::tls_fingerprint_of(&presented))
}

async fn https_get(addr: SocketAddr, trusted: &CertificateDer<'static>, path: &str) -> String {
    https_get_seen(addr, trusted, path).await.0
}

#[tokio::test]
async fn the_chat_is_served_over_tls_and_plain_http_gets_nothing() {
    let (files, cert) = certificate("ok");
    let server = support::start_server(ServerConfig { tls: Some(files), ..ServerConfig::default() }).await;
    let addr = server.local_addr();
    let health = https_get(addr, &cert, "/health").await;
    assert!(health.starts_with("HTTP/1.1 200") && health.contains(r#""status":"ok""#), "{health}");
    let open = https_get(addr, &cert, "/socket.io/?EIO=4&transport=polling").await;
    assert!(open.starts_with("HTTP/1.1 200") && open.contains(r#"0{"sid":"#), "the socket.io handshake: {open}");
    let plain = support::http_get(addr, "/health", &[]).await;
    assert!(!plain.contains("200 OK"), "plain HTTP is not answered: {plain:?}");
    // Stopping frees the port at once, TLS or not.
    server.stop().await.unwrap();
    assert!(tokio::net::TcpListener::bind(addr).await.is_ok(), "the port is free");
}

#[tokio::test]
async fn unusable_tls_files_are_named_at_start() {
    let (mut files, _) = certificate("bad");
    files.key = PathBuf::from("/nonexistent/key.pem");
    let config = ServerConfig { tls: Some(files), ..ServerConfig::default() };
    match confab_server::start("127.0.0.1:0".parse().unwrap(), config).await {
        Err(error @ Error::Tls(_)) => assert!(error.to_string().contains("/nonexistent/key.pem"), "{error}"),
        Err(other) => panic!("expected a TLS error, got {other}"),
        Ok(_) => panic!("a server started without its key"),
    }
}

#[tokio::test]
async fn a_lan_chat_is_recognised_by_the_fingerprint_of_its_own_certificate() {
    let dir = std::env::temp_dir().join(format!("confab-tls-own-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let files = TlsFiles::self_signed_in(&dir).expect("made once");
    let der = rustls::pki_types::pem::PemObject::from_pem_file(&files.cert).expect("PEM");
    let server = support::start_server(ServerConfig { tls: Some(files), ..ServerConfig::default() }).await;
    let printed = server.tls_fingerprint().expect("a TLS server has a fingerprint").to_owned();
    let (health, presented) = https_get_seen(server.local_addr(), &der, "/health").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert_eq!(presented, printed, "what a client sees is what the host shows");
    assert!(server.join_urls().iter().all(|url| url.starts_with("https://")), "{:?}", server.join_urls());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A client that opens TCP and never starts its TLS handshake is dropped after the handshake's 10 s,
/// and does not hold up anyone else meanwhile (each handshake runs on its own).
#[tokio::test]
async fn a_tls_handshake_that_never_starts_is_given_up_after_10_seconds() {
    let (files, cert) = certificate("silent");
    let server = support::start_server(ServerConfig { tls: Some(files), ..ServerConfig::default() }).await;
    let addr = server.local_addr();
    let started = std::time::Instant::now();
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let health = https_get(addr, &cert, "/health").await;
    assert!(health.starts_with("HTTP/1.1 200"), "served while a handshake waits: {health}");
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), silent.read(&mut byte)).await;
    let elapsed = started.elapsed();
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "closed by the server: {read:?}");
    assert!(elapsed >= std::time::Duration::from_secs(9), "not before its deadline: {elapsed:?}");
}
