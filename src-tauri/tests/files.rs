//! The app's file transfers (src/files.rs) against a real confab-server over real sockets: the token
//! from the `files` event, a 20 MB upload and download byte for byte, a file over the limit refused
//! before anything is sent, a private file that a third user cannot download, and a pinned LAN chat
//! over TLS (docs/PROTOCOL.md §2.10, §2.11).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use confab_app::client::{ChatClient, ClientEvent, ConnectOptions, MessageExtras, Timing, Trust};
use confab_app::files::{FileError, FileServer};
use confab_protocol::ChatMessage;
use confab_server::{ServerConfig, ServerHandle};
use tokio::sync::mpsc;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(20);
const MB: usize = 1024 * 1024;

async fn start(config: ServerConfig) -> (ServerHandle, String) {
    let tls = config.tls.is_some();
    let server = confab_server::start("127.0.0.1:0".parse().unwrap(), config).await.expect("server starts");
    let url = format!("{}://127.0.0.1:{}", if tls { "https" } else { "http" }, server.local_addr().port());
    (server, url)
}

/// A user of the chat with the file endpoints of its registration.
struct User {
    client: ChatClient,
    events: mpsc::UnboundedReceiver<ClientEvent>,
    files: FileServer,
}

impl User {
    async fn join(url: &str, name: &str, trust: Trust) -> User {
        let options = ConnectOptions {
            server: url.into(),
            username: name.into(),
            password: None,
            trust,
            timing: Timing::default(),
            resume: None,
        };
        let (client, mut events) = ChatClient::connect(options).await.expect("joins");
        // The token comes after register (§2.11): the event says the limit, the handle keeps the token.
        let max = timeout(WAIT, async {
            loop {
                if let Some(ClientEvent::Files { max_bytes }) = events.recv().await {
                    return max_bytes;
                }
            }
        })
        .await
        .expect("a files event");
        let (offer, trust) = client.files().expect("a files token");
        assert_eq!(Some(offer.max_bytes), max);
        let files = FileServer::new(&client.server, offer, &trust).await.expect("file endpoints");
        User { client, events, files }
    }

    /// The next chat message that carries a file.
    async fn next_attachment(&mut self) -> ChatMessage {
        timeout(WAIT, async {
            loop {
                match self.events.recv().await.expect("events") {
                    ClientEvent::Messages { messages } => {
                        if let Some(m) = messages.into_iter().find(|m| m.attachment.is_some()) {
                            return m;
                        }
                    }
                    ClientEvent::Delivered { message, .. } if message.attachment.is_some() => return message,
                    _ => {}
                }
            }
        })
        .await
        .expect("a message with a file")
    }
}

/// Bytes that differ everywhere, so a shifted or repeated piece would not compare equal.
fn pattern(len: usize) -> Bytes {
    let mut state = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mb_file_goes_up_with_progress_and_comes_down_byte_identical() {
    let (server, url) = start(ServerConfig::default()).await;
    let mut ann = User::join(&url, "ann", Trust::System).await;
    let mut bob = User::join(&url, "bob", Trust::System).await;
    let body = pattern(20 * MB);
    let (reported, calls) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (seen, count) = (reported.clone(), calls.clone());
    let stored = ann
        .files
        .upload("big data.bin", "application/octet-stream", body.clone(), move |sent, total| {
            assert_eq!(total, 20 * MB as u64);
            assert!(sent >= seen.swap(sent, Ordering::SeqCst), "progress only moves forward");
            count.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .expect("uploaded");
    assert_eq!((stored.name.as_str(), stored.size), ("big data.bin", 20 * MB as u64));
    assert_eq!(reported.load(Ordering::SeqCst), 20 * MB as u64, "progress reached the end");
    assert!(calls.load(Ordering::SeqCst) >= 20, "progress came in steps");

    let local = ann.client.send_with("", MessageExtras { to: None, attachment: Some(stored.id.clone()) }).unwrap();
    let delivered = ann.next_attachment().await;
    let attachment = delivered.attachment.clone().expect("the ack carries the file");
    assert_eq!(attachment.id, stored.id);
    assert!(local > 0);
    let received = bob.next_attachment().await;
    assert_eq!(received.attachment.as_deref(), Some(&*attachment));

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("saved.bin");
    let written = bob.files.download_to(&attachment.url, &dest).await.expect("downloaded");
    assert_eq!(written, 20 * MB as u64);
    assert!(std::fs::read(&dest).unwrap() == body, "the same 20 MB, byte for byte");
    assert!(!dir.path().join("saved.bin.part").exists(), "nothing left beside it");
    ann.client.disconnect().await;
    bob.client.disconnect().await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_the_limit_is_refused_in_words_before_anything_is_sent() {
    let (server, url) = start(ServerConfig { max_file_bytes: MB as u64, ..ServerConfig::default() }).await;
    let ann = User::join(&url, "ann", Trust::System).await;
    assert_eq!(ann.files.max_bytes(), MB as u64);
    // With the server gone, any attempt to send would fail on the network: this one never tries.
    ann.client.disconnect().await;
    server.stop().await.unwrap();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let refused = ann
        .files
        .upload("movie.mkv", "video/x-matroska", pattern(MB + 1), move |n, _| {
            counter.store(n, Ordering::SeqCst);
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        FileError::TooLarge { name: "movie.mkv".into(), size: "1 MB".into(), max: "1 MB".into() },
        "said in words"
    );
    assert_eq!(refused.to_string(), "“movie.mkv” is 1 MB: files can be at most 1 MB in this chat.");
    assert_eq!(sent.load(Ordering::SeqCst), 0, "not a byte handed to the connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_file_reaches_its_addressee_and_nobody_else_can_download_it() {
    let (server, url) = start(ServerConfig::default()).await;
    let mut ann = User::join(&url, "ann", Trust::System).await;
    let mut bob = User::join(&url, "bob", Trust::System).await;
    let carol = User::join(&url, "carol", Trust::System).await;
    let body = pattern(300 * 1024);
    let stored = ann.files.upload("secret.pdf", "application/pdf", body.clone(), |_, _| {}).await.unwrap();
    let extras = MessageExtras { to: Some("bob".into()), attachment: Some(stored.id.clone()) };
    ann.client.send_with("for you only", extras).unwrap();
    let acked = ann.next_attachment().await;
    assert_eq!(acked.to.as_deref(), Some("bob"));
    let received = bob.next_attachment().await;
    assert_eq!(received.to.as_deref(), Some("bob"));
    let attachment = received.attachment.expect("the file");
    assert!(received.message.starts_with("for you only\n"), "the caption, then the line for plain clients");

    let dir = tempfile::tempdir().unwrap();
    bob.files.download_to(&attachment.url, &dir.path().join("bob.pdf")).await.expect("the addressee may");
    assert!(std::fs::read(dir.path().join("bob.pdf")).unwrap() == body);
    ann.files.download_to(&attachment.url, &dir.path().join("ann.pdf")).await.expect("the sender may");
    let refused = carol.files.download_to(&attachment.url, &dir.path().join("carol.pdf")).await.unwrap_err();
    assert!(matches!(refused, FileError::Refused { status: 401, .. }), "{refused:?}");
    assert!(!dir.path().join("carol.pdf").exists() && !dir.path().join("carol.pdf.part").exists());
    let thumbnail = carol.files.image_data_url(&format!("/files/{}/thumbnail", attachment.id), "image/png").await;
    assert!(thumbnail.is_err(), "nor anything else of it");
    for user in [ann, bob, carol] {
        user.client.disconnect().await;
    }
    server.stop().await.unwrap();
}

/// A tiny PNG (2 × 2), made here so the test needs no file.
fn png() -> Bytes {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.png");
    image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 128])).save(&path).unwrap();
    std::fs::read(path).unwrap().into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lan_chat_over_tls_takes_files_through_its_pin_and_images_come_as_data_urls() {
    let dir = tempfile::tempdir().unwrap();
    let tls = confab_server::TlsFiles::self_signed_in(dir.path()).expect("a certificate");
    let (server, url) = start(ServerConfig { tls: Some(tls), ..ServerConfig::default() }).await;
    let pin = Trust::Pinned(server.tls_fingerprint().unwrap().to_owned());
    let mut ann = User::join(&url, "ann", pin.clone()).await;
    let stored = ann.files.upload("dot.png", "image/png", png(), |_, _| {}).await.expect("uploaded over TLS");
    assert_eq!((stored.width, stored.height), (Some(40), Some(30)));
    ann.client.send_with("", MessageExtras { to: None, attachment: Some(stored.id) }).unwrap();
    let attachment = ann.next_attachment().await.attachment.expect("the file");
    let thumbnail = attachment.thumbnail.as_deref().expect("an image has a thumbnail");
    let url = ann.files.image_data_url(thumbnail, "image/png").await.expect("the thumbnail");
    assert!(url.starts_with("data:image/png;base64,iVBORw0KGgo"), "a PNG as a data: URL");
    // The same endpoints with another pin: refused before a byte is sent.
    let (offer, _) = ann.client.files().unwrap();
    let wrong = FileServer::new(&ann.client.server, offer, &Trust::Pinned("00:".repeat(31) + "00")).await;
    assert!(wrong.is_err(), "a certificate other than the pinned one is refused");
    ann.client.disconnect().await;
    server.stop().await.unwrap();
}
