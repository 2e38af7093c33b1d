use std::time::Duration;

use confab_server::discovery::{Browser, DiscoveryEvent};

use super::*;
use crate::client::{ChatClient, ClientEvent, ConnectOptions, Timing};

const WAIT: Duration = Duration::from_secs(20);

fn options(chat: &str, port: u16, advertise: bool) -> HostOptions {
    HostOptions { chat_name: chat.into(), host_name: "hostess".into(), password: None, port, advertise }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_on_all_interfaces_and_the_host_joins_through_the_client() {
    let chat = HostedChat::start(options("Team", 0, false)).await.unwrap();
    let info = chat.info().clone();
    assert_ne!(info.port, 0);
    assert_eq!(info.local_url, format!("http://127.0.0.1:{}", info.port));
    assert!(info.join_urls.iter().all(|u| u.ends_with(&format!(":{}", info.port)) && !u.contains("127.0.0.1")));
    let (client, mut events) = ChatClient::connect(ConnectOptions {
        server: info.local_url.clone(),
        username: "hostess".into(),
        password: None,
        trust: Default::default(),
        timing: Timing::default(),
    })
    .await
    .unwrap();
    assert_eq!(chat.user_count(), 1);
    chat.stop().await;
    // The host's client hears that the chat was closed.
    let closed = tokio::time::timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if let ClientEvent::Messages { messages } = event {
                if messages.iter().any(|m| &*m.message == "The chat was closed by the host") {
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
    let error = HostedChat::start(options("Team", port, false)).await.err().unwrap();
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
    let chat = HostedChat::start(options("Team", 0, false)).await.unwrap();
    let port = chat.info().port;
    chat.stop().await;
    let again = HostedChat::start(options("Team", port, false)).await.unwrap();
    assert_eq!(again.info().port, port);
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_empty_names() {
    let mut bad = options(" ", 0, false);
    assert_eq!(HostedChat::start(bad.clone()).await.err().unwrap().code(), "invalid_input");
    bad.chat_name = "ok".into();
    bad.host_name = "".into();
    assert_eq!(HostedChat::start(bad).await.err().unwrap().code(), "invalid_input");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advertises_the_chat_on_the_network_until_stopped() {
    let _one_at_a_time = crate::nearby::MDNS_TESTS.lock().await;
    let name = format!("Hosting test {}", std::process::id());
    let mut chat_options = options(&name, 0, true);
    chat_options.password = Some("pw".into());
    let chat = HostedChat::start(chat_options).await.unwrap();
    assert_eq!(chat.info().advertise_error, None);
    let port = chat.info().port;
    let mut browser = Browser::start().unwrap();
    let found = tokio::time::timeout(WAIT, async {
        while let Some(event) = browser.next().await {
            if let DiscoveryEvent::Found(found) = event {
                if found.chat_name == name {
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
