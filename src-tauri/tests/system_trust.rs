//! Joining an `https` chat server whose certificate the system trusts, as a public server's is: no
//! pin, no question. The "system" here is OpenSSL's trust store (what native-tls checks), pointed at
//! a certificate authority made for the test with `SSL_CERT_FILE`; its own test binary, because that
//! variable is read once per process.

use std::time::Duration;

use confab_app::client::{ChatClient, ClientEvent, ConnectOptions, Timing, Trust};
use confab_server::{ServerConfig, TlsFiles};

/// A certificate authority (its PEM) and a certificate for `localhost` it signed, as server files.
fn authority_and_server_files(dir: &std::path::Path) -> (std::path::PathBuf, TlsFiles) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Confab test authority");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().signed_by(&key, &issuer).unwrap();
    let authority = dir.join("authority.pem");
    std::fs::write(&authority, ca.pem()).unwrap();
    let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    std::fs::write(&files.cert, leaf.pem()).unwrap();
    std::fs::write(&files.key, key.serialize_pem()).unwrap();
    (authority, files)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_server_the_system_trusts_is_joined_without_a_pin() {
    let dir = tempfile::tempdir().unwrap();
    let (authority, files) = authority_and_server_files(dir.path());
    // Before anything in this process starts OpenSSL, which reads the variable once.
    std::env::set_var("SSL_CERT_FILE", &authority);
    let config = ServerConfig { tls: Some(files), ..ServerConfig::default() };
    let server = confab_server::start("127.0.0.1:0".parse().unwrap(), config).await.expect("server starts");
    let url = format!("https://localhost:{}", server.local_addr().port());
    let options = |name: &str| ConnectOptions {
        server: url.clone(),
        username: name.into(),
        password: None,
        trust: Trust::System,
        timing: Timing::default(),
        resume: None,
    };
    let (ann, _) = ChatClient::connect(options("ann")).await.expect("joined over https on the system's trust");
    let (bea, mut bea_events) = ChatClient::connect(options("bea")).await.expect("a second user too");
    ann.send("over TLS").unwrap();
    let said = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = bea_events.recv().await {
            if let ClientEvent::Messages { messages } = event {
                if messages.iter().any(|m| &*m.message == "over TLS") {
                    return true;
                }
            }
        }
        false
    })
    .await;
    assert_eq!(said, Ok(true), "bea read ann's line");
    ann.disconnect().await;
    bea.disconnect().await;
    server.stop().await.unwrap();
}
