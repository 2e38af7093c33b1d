//! What the server's HTTP side gives to whom (issue 10 findings 6 and 11): pages of other sites and
//! rebound DNS names are refused, `--web-root` stays inside its folder, every page carries the
//! security headers, and only this machine learns how many people are in the chat.

mod support;

use std::net::{IpAddr, SocketAddr};

use confab_server::ServerConfig;
use support::{http_get, start_server};

const UPGRADE: &str = "/socket.io/?EIO=4&transport=polling";

fn status(response: &str) -> &str {
    response.split(' ').nth(1).unwrap_or("")
}

#[tokio::test]
async fn other_sites_and_rebound_names_are_refused() {
    let server = start_server(ServerConfig::default()).await;
    let addr = server.local_addr();
    let same = format!("http://{addr}");
    assert_eq!(status(&http_get(addr, UPGRADE, &[]).await), "200", "a program without Origin");
    assert_eq!(status(&http_get(addr, UPGRADE, &[("Origin", &same)]).await), "200", "the server's own page");
    let evil = http_get(addr, UPGRADE, &[("Origin", "https://evil.example")]).await;
    assert_eq!(status(&evil), "403", "{evil}");
    assert!(evil.contains("cross-origin"), "{evil}");
    // DNS rebinding: evil.example resolves to this server, so the browser calls it same-origin.
    let port = addr.port();
    let rebound = http_get(
        addr,
        UPGRADE,
        &[("Host", &format!("evil.example:{port}")), ("Origin", &format!("http://evil.example:{port}"))],
    )
    .await;
    assert_eq!(status(&rebound), "403", "{rebound}");
    assert_eq!(status(&http_get(addr, "/", &[("Host", &format!("evil.example:{port}"))]).await), "403");
    assert_eq!(status(&http_get(addr, "/", &[("Host", &format!("localhost:{port}"))]).await), "200");
}

#[tokio::test]
async fn an_allowed_proxy_name_and_origin_pass() {
    let config = ServerConfig {
        allowed_hosts: vec!["chat.example.org".into()],
        allowed_origins: vec!["https://app.example.net".into()],
        ..ServerConfig::default()
    };
    let server = start_server(config).await;
    let addr = server.local_addr();
    let proxied = [("Host", "chat.example.org"), ("Origin", "https://chat.example.org")];
    assert_eq!(status(&http_get(addr, UPGRADE, &proxied).await), "200");
    assert_eq!(status(&http_get(addr, UPGRADE, &[("Origin", "https://app.example.net")]).await), "200");
    assert_eq!(status(&http_get(addr, UPGRADE, &[("Origin", "https://other.example.net")]).await), "403");
}

#[tokio::test]
async fn web_root_serves_its_folder_only_with_the_security_headers() {
    let dir = std::env::temp_dir().join(format!("confab-web-root-{}", std::process::id()));
    let root = dir.join("site");
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(root.join("index.html"), "<h1>hello</h1>").unwrap();
    std::fs::write(root.join(".git/config"), "[remote] secret").unwrap();
    std::fs::write(root.join(".env"), "TOKEN=secret").unwrap();
    std::fs::write(dir.join("outside.txt"), "secret outside").unwrap();
    let _ = std::fs::remove_file(root.join("escape.txt"));
    std::os::unix::fs::symlink(dir.join("outside.txt"), root.join("escape.txt")).unwrap();

    let server = start_server(ServerConfig { web_root: Some(root.clone()), ..ServerConfig::default() }).await;
    let addr = server.local_addr();
    let page = http_get(addr, "/index.html", &[]).await;
    assert_eq!(status(&page), "200", "{page}");
    for header in [
        "content-security-policy: default-src 'self'",
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
    ] {
        assert!(page.to_lowercase().contains(header), "{header} in {page}");
    }
    for path in ["/.git/config", "/.env", "/escape.txt", "/%2egit/config", "/sub/../.env"] {
        let response = http_get(addr, path, &[]).await;
        assert_eq!(status(&response), "404", "{path}: {response}");
        assert!(!response.contains("secret"), "{path}: {response}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_embedded_page_has_the_security_headers_too() {
    let server = start_server(ServerConfig::default()).await;
    let page = http_get(server.local_addr(), "/", &[]).await.to_lowercase();
    assert!(
        page.contains("content-security-policy: default-src 'self'") && page.contains("x-frame-options: deny"),
        "{page}"
    );
}

#[tokio::test]
async fn only_this_machine_learns_how_many_are_in_the_chat() {
    let server = confab_server::start("0.0.0.0:0".parse().unwrap(), ServerConfig::default()).await.expect("starts");
    let port = server.local_addr().port();
    let local = http_get(SocketAddr::from(([127, 0, 0, 1], port)), "/health", &[]).await;
    assert!(local.ends_with(r#"{"status":"ok","users":0,"connections":0}"#), "{local}");
    let lan: IpAddr = if_addrs::get_if_addrs()
        .expect("interfaces")
        .into_iter()
        .map(|i| i.ip())
        .find(|ip| ip.is_ipv4() && !ip.is_loopback())
        .expect("this test needs a non-loopback IPv4 address on the machine");
    let remote = http_get(SocketAddr::new(lan, port), "/health", &[]).await;
    assert!(remote.ends_with(r#"{"status":"ok"}"#), "{remote}");
}
