use std::time::Duration;

use confab_server::discovery::{Browser, DiscoveryEvent};

use super::*;
use crate::client::{ChatClient, ClientError, ClientEvent, ConnectOptions, Timing, Trust};

const WAIT: Duration = Duration::from_secs(20);

/// One certificate directory per test process, as the app has one per machine. Made once before
/// any chat starts: tests run in parallel, and two first uses at once would each write a key.
fn certificates() -> std::path::PathBuf {
    static MADE: std::sync::Once = std::sync::Once::new();
    let dir = std::env::temp_dir().join(format!("confab-hosting-tls-{}", std::process::id()));
    MADE.call_once(|| {
        let _ = std::fs::remove_dir_all(&dir);
        confab_server::TlsFiles::self_signed_in(&dir).expect("this machine's certificate");
    });
    dir
}

async fn start(options: HostOptions) -> Result<HostedChat> {
    HostedChat::start(options, &certificates(), None).await
}

fn client(server: &str, username: &str, trust: Trust) -> ConnectOptions {
    ConnectOptions {
        server: server.into(),
        username: username.into(),
        password: None,
        trust,
        timing: Timing::default(),
        resume: None,
    }
}

fn options(chat: &str, port: u16, advertise: bool) -> HostOptions {
    HostOptions { chat_name: chat.into(), host_name: "hostess".into(), password: None, port, advertise }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_on_all_interfaces_and_the_host_joins_through_the_client() {
    let chat = start(options("Team", 0, false)).await.unwrap();
    let info = chat.info().clone();
    assert_ne!(info.port, 0);
    assert_eq!(info.local_url, format!("https://127.0.0.1:{}", info.port));
    assert!(info
        .join_urls
        .iter()
        .all(|u| u.starts_with("https://") && u.ends_with(&format!(":{}", info.port)) && !u.contains("127.0.0.1")));
    let (client, mut events) =
        ChatClient::connect(client(&info.local_url, "hostess", Trust::Pinned(info.fingerprint.clone()))).await.unwrap();
    assert_eq!(chat.user_count(), 1);
    chat.stop().await;
    // The host's client hears that the chat was closed.
    let closed = tokio::time::timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if let ClientEvent::Messages { messages } = event {
                if messages.iter().any(|m| &*m.message == "The chat was closed: its server stopped") {
                    return true;
                }
            }
        }
        false
    })
    .await;
    assert_eq!(closed, Ok(true));
    client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_is_a_clear_error_with_a_free_port_to_offer() {
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let error = start(options("Team", port, false)).await.err().unwrap();
    let HostError::PortInUse { port: p, free_port } = &error else { panic!("{error:?}") };
    assert_eq!(*p, port);
    let free = free_port.expect("a free port nearby");
    assert!(free > port);
    assert!(error.to_string().contains(&format!("Port {port} is already in use")));
    let json = serde_json::to_value(&error).unwrap();
    assert_eq!(json["code"], "port_in_use");
    assert_eq!(json["freePort"], free);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_frees_the_port_at_once() {
    let chat = start(options("Team", 0, false)).await.unwrap();
    let port = chat.info().port;
    chat.stop().await;
    let again = start(options("Team", port, false)).await.unwrap();
    assert_eq!(again.info().port, port);
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_empty_names() {
    let mut bad = options(" ", 0, false);
    assert_eq!(start(bad.clone()).await.err().unwrap().code(), "invalid_input");
    bad.chat_name = "ok".into();
    bad.host_name = "".into();
    assert_eq!(start(bad).await.err().unwrap().code(), "invalid_input");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advertises_the_chat_on_the_network_until_stopped() {
    let _one_at_a_time = crate::nearby::MDNS_TESTS.lock().await;
    let name = format!("Hosting test {}", std::process::id());
    let mut chat_options = options(&name, 0, true);
    chat_options.password = Some("pw".into());
    let chat = start(chat_options).await.unwrap();
    assert_eq!(chat.info().advertise_error, None);
    let port = chat.info().port;
    let mut browser = Browser::start().unwrap();
    let found = tokio::time::timeout(WAIT, async {
        while let Some(event) = browser.next().await {
            if let DiscoveryEvent::Found(found) = event {
                // The first answer may carry only an IPv6 link-local address (no URL yet).
                if found.chat_name == name && found.url().is_some() {
                    return Some(found);
                }
            }
        }
        None
    })
    .await
    .expect("the chat is found in time")
    .expect("browser running");
    assert_eq!(found.port, port);
    assert_eq!(found.host_name, "hostess");
    assert!(found.password_required);
    // Others learn the certificate to expect from the announcement, and join with https.
    assert_eq!(found.fingerprint.as_deref(), Some(chat.info().fingerprint.as_str()));
    assert!(found.url().is_some_and(|url| url.starts_with("https://")), "{:?}", found.url());
    let id = found.id.clone();
    chat.stop().await;
    let lost = tokio::time::timeout(WAIT, async {
        while let Some(event) = browser.next().await {
            if event == DiscoveryEvent::Lost(id.clone()) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(lost, Ok(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_is_encrypted_with_one_certificate_per_machine_that_others_join_pinned() {
    let first = start(options("Team", 0, false)).await.unwrap();
    let fingerprint = first.info().fingerprint.clone();
    assert_eq!(confab_server::TlsFiles::self_signed_in(&certificates()).unwrap().fingerprint().unwrap(), fingerprint);
    first.stop().await;
    // Made once, reused: the next chat hosted here has the same identity.
    let chat = start(options("Team", 0, false)).await.unwrap();
    let info = chat.info().clone();
    assert_eq!(info.fingerprint, fingerprint);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = certificates().join("key.pem");
        assert_eq!(std::fs::metadata(key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let (host, _host_events) =
        ChatClient::connect(client(&info.local_url, "hostess", Trust::Pinned(fingerprint.clone()))).await.unwrap();
    // Someone else, through a join URL: the system does not vouch for this certificate and says
    // which one it is; pinned to the fingerprint the host shows, they join.
    let url = info.join_urls.first().cloned().unwrap_or_else(|| info.local_url.clone());
    let untrusted = ChatClient::connect(client(&url, "guest", Trust::System)).await.err();
    assert_eq!(untrusted, Some(ClientError::UntrustedCertificate { fingerprint: fingerprint.clone() }));
    let (guest, _guest_events) =
        ChatClient::connect(client(&url, "guest", Trust::Pinned(fingerprint.clone()))).await.unwrap();
    assert_eq!(chat.user_count(), 2);
    guest.disconnect().await;
    host.disconnect().await;
    chat.stop().await;
}

/// Waits for a batch of messages holding `text`; returns that message's id.
async fn id_of(events: &mut tokio::sync::mpsc::UnboundedReceiver<ClientEvent>, text: &str) -> Option<u64> {
    tokio::time::timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            match event {
                ClientEvent::Messages { messages } => {
                    if let Some(found) = messages.iter().find(|m| &*m.message == text) {
                        return found.id;
                    }
                }
                // Our own message comes back as its ack.
                ClientEvent::Delivered { message, .. } if &*message.message == text => return message.id,
                _ => {}
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosting_a_chat_of_the_same_name_again_continues_its_history() {
    let logs = tempfile::tempdir().unwrap();
    let certificates = certificates();
    let host = |name: &str| HostedChat::start(options(name, 0, false), &certificates, Some(logs.path()));
    let chat = host("Design team").await.unwrap();
    let info = chat.info().clone();
    let trust = Trust::Pinned(info.fingerprint.clone());
    let (client, mut events) = ChatClient::connect(self::client(&info.local_url, "hostess", trust)).await.unwrap();
    client.send("before the break").unwrap();
    let id = id_of(&mut events, "before the break").await.expect("the message is shown with its id");
    client.disconnect().await;
    chat.stop().await;

    // Another name is another chat; the same name in other case is the same chat.
    let other = host("Other team").await.unwrap();
    assert_ne!(log_folder("Other team"), log_folder("Design team"));
    other.stop().await;
    let again = host("DESIGN TEAM").await.unwrap();
    let info = again.info().clone();
    let trust = Trust::Pinned(info.fingerprint.clone());
    let (client, mut events) = ChatClient::connect(self::client(&info.local_url, "guest", trust)).await.unwrap();
    assert_eq!(id_of(&mut events, "before the break").await, Some(id), "the history goes on, ids included");
    client.disconnect().await;
    again.stop().await;
    assert!(logs.path().join(log_folder("Design team")).join("chat.sqlite3").is_file());
}

#[test]
fn log_folders_are_readable_bounded_and_distinct() {
    assert!(log_folder("Design team").starts_with("design-team-"));
    assert_eq!(log_folder("Design team"), log_folder("design TEAM"));
    let long = log_folder(&"日本語".repeat(30));
    assert!(long.len() < 60 && long != log_folder("日本"), "{long}");
    assert!(!log_folder("../..").contains('/') && !log_folder("../..").starts_with('.'));
}
