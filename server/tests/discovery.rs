//! mDNS / DNS-SD on one host: an advertised chat is found with its details, and withdrawn on drop.
//! (Across two hosts: tests/netns/discovery.sh.)

use std::time::Duration;

use confab_server::discovery::{Advertiser, Browser, ChatAnnouncement, DiscoveryEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_advertised_chat_is_found_then_lost() {
    let port = 20000 + (std::process::id() % 20000) as u16;
    let chat = ChatAnnouncement {
        chat_name: format!("Discovery test {port}"),
        host_name: "tester".into(),
        port,
        password_required: true,
    };
    let mut browser = Browser::start().expect("browser");
    // A chat served over TLS carries its certificate's fingerprint.
    let advertiser = Advertiser::start_with(&chat, Some("AB:CD:EF")).expect("advertiser");

    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(DiscoveryEvent::Found(found)) = browser.next().await {
                if found.chat_name == chat.chat_name && found.url().is_some() {
                    return found;
                }
            }
        }
    })
    .await
    .expect("the chat is found within 10 s");
    assert_eq!(found.host_name, "tester");
    assert!(found.password_required);
    assert_eq!(found.protocol_version, confab_server::protocol::PROTOCOL_VERSION.to_string());
    assert_eq!(found.port, port);
    assert_eq!(found.fingerprint.as_deref(), Some("AB:CD:EF"));
    let url = found.url().unwrap();
    assert!(url.starts_with("https://") && url.ends_with(&format!(":{port}")), "{url}");

    drop(advertiser);
    let lost = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(DiscoveryEvent::Lost(id)) = browser.next().await {
                if id == found.id {
                    return;
                }
            }
        }
    })
    .await;
    assert!(lost.is_ok(), "the withdrawn chat is reported lost");
}
