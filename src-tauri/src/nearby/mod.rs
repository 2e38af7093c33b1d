//! Chats found on the local network (mDNS / DNS-SD, through `confab_server::discovery`), as a stream
//! of small updates for the connect screen. Discovery is a convenience: when it cannot run, the
//! stream says so once (with what to check) and manual entry keeps working.

use confab_server::discovery::{Browser, DiscoveryEvent, FoundChat};
use serde::Serialize;

/// One change of the list of chats found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum NearbyEvent {
    /// A chat appeared or changed (same `id`: replace the entry). `fingerprint`: the SHA-256
    /// fingerprint of its certificate as announced (then `url` is `https://…`), joined pinned to it.
    Found {
        id: String,
        chat_name: String,
        host_name: String,
        password_required: bool,
        url: String,
        fingerprint: Option<String>,
    },
    /// The chat with this `id` is gone.
    Lost { id: String },
    /// Discovery cannot run on this machine right now.
    Unavailable { message: String },
}

impl NearbyEvent {
    /// `None` while the chat has no usable address yet (only IPv6 link-local): wait for an update.
    fn found(chat: FoundChat) -> Option<Self> {
        let url = chat.url()?;
        Some(NearbyEvent::Found {
            id: chat.id,
            chat_name: chat.chat_name,
            host_name: chat.host_name,
            password_required: chat.password_required,
            url,
            fingerprint: chat.fingerprint,
        })
    }
}

/// Browses until `send` returns false (nobody listens any more) or the task is aborted.
pub async fn watch(mut send: impl FnMut(NearbyEvent) -> bool) {
    let mut browser = match Browser::start() {
        Ok(browser) => browser,
        Err(e) => {
            tracing::warn!("{e}");
            send(NearbyEvent::Unavailable {
                message: format!("Looking for chats on the network is not possible here ({e})."),
            });
            return;
        }
    };
    while let Some(event) = browser.next().await {
        let update = match event {
            DiscoveryEvent::Found(chat) => NearbyEvent::found(chat),
            DiscoveryEvent::Lost(id) => Some(NearbyEvent::Lost { id }),
        };
        if let Some(update) = update {
            if !send(update) {
                return;
            }
        }
    }
}

/// mDNS tests in this process run one at a time: several daemons starting and saying goodbye at
/// once in one test process made a browser miss an advertisement now and then.
#[cfg(test)]
pub(crate) static MDNS_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use confab_server::discovery::{Advertiser, ChatAnnouncement};

    use super::*;

    #[test]
    fn a_chat_without_a_usable_address_is_not_shown_yet() {
        let mut chat = FoundChat {
            id: "a@h.local.".into(),
            instance: "a".into(),
            responder: "h.local.".into(),
            chat_name: "A".into(),
            host_name: "h".into(),
            password_required: true,
            protocol_version: "1".into(),
            port: 9,
            addresses: vec!["fe80::1".parse().unwrap()],
            fingerprint: None,
        };
        assert_eq!(NearbyEvent::found(chat.clone()), None);
        chat.addresses.push("10.1.2.3".parse().unwrap());
        let json = serde_json::to_value(NearbyEvent::found(chat).unwrap()).unwrap();
        assert_eq!(json["type"], "found");
        assert_eq!(json["chatName"], "A");
        assert_eq!(json["passwordRequired"], true);
        assert_eq!(json["url"], "http://10.1.2.3:9");
        assert_eq!(json["fingerprint"], serde_json::Value::Null);
    }

    #[test]
    fn a_chat_announcing_a_fingerprint_is_joined_over_https_with_it() {
        let fingerprint = "AB:".repeat(31) + "AB";
        let chat = FoundChat {
            id: "a@h.local.".into(),
            instance: "a".into(),
            responder: "h.local.".into(),
            chat_name: "A".into(),
            host_name: "h".into(),
            password_required: false,
            protocol_version: "1".into(),
            port: 9,
            addresses: vec!["10.1.2.3".parse().unwrap()],
            fingerprint: Some(fingerprint.clone()),
        };
        let json = serde_json::to_value(NearbyEvent::found(chat).unwrap()).unwrap();
        assert_eq!(json["url"], "https://10.1.2.3:9");
        assert_eq!(json["fingerprint"], fingerprint);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn streams_an_advertised_chat() {
        let _one_at_a_time = MDNS_TESTS.lock().await;
        let name = format!("Nearby test {}", std::process::id());
        let advertiser = Advertiser::start(&ChatAnnouncement {
            chat_name: name.clone(),
            host_name: "h".into(),
            port: 4321,
            password_required: false,
        })
        .unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(watch(move |e| tx.send(e).is_ok()));
        let found = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(event) = rx.recv().await {
                if let NearbyEvent::Found { chat_name, url, .. } = &event {
                    if *chat_name == name {
                        return url.clone();
                    }
                }
            }
            String::new()
        })
        .await
        .expect("found in time");
        assert!(found.ends_with(":4321"), "{found}");
        task.abort();
        tokio::task::spawn_blocking(move || drop(advertiser)).await.unwrap();
    }
}
