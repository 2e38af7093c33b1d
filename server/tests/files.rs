//! Files and images (protocol §2.11, issue 13) over real HTTP and real sockets: uploads, the message
//! about each, downloads that never run, who may download, limits, a restart, and across nodes.

mod support;

use std::{net::SocketAddr, time::Duration};

use confab_server::{cluster::ClusterConfig, ServerConfig, StoreConfig};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use support::{process::Frames, redis::RedisServer, start_server, unlimited, TestClient, WAIT};

/// A registered client with its file token.
struct User {
    client: TestClient,
    token: String,
}

impl User {
    async fn join(addr: SocketAddr, name: &str) -> Self {
        let mut client = TestClient::connect(addr).await;
        assert_eq!(client.register(name).await, json!(true));
        let offer = client.next_event("files").await;
        assert_eq!(offer["upload"], "/files", "{offer}");
        let token = offer["token"].as_str().expect("a token").to_owned();
        Self { client, token }
    }

    async fn upload(&self, addr: SocketAddr, name: &str, mime: &str, bytes: Vec<u8>) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("http://{addr}/files"))
            .bearer_auth(&self.token)
            .header(header::CONTENT_TYPE, mime)
            .header(
                "x-confab-file-name",
                percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string(),
            )
            .body(bytes)
            .send()
            .await
            .expect("the upload is answered")
    }

    /// Uploads and returns the attachment the server describes.
    async fn uploaded(&self, addr: SocketAddr, name: &str, mime: &str, bytes: Vec<u8>) -> Value {
        let response = self.upload(addr, name, mime, bytes).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        serde_json::from_slice(&response.bytes().await.unwrap()).expect("the attachment as JSON")
    }

    async fn send(&self, attachment: &Value, extra: Value) -> Value {
        let mut message = json!({"message": "", "attachment": attachment["id"]});
        message.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        self.client.call("message", vec![message]).await
    }
}

async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("the download is answered")
}

/// Bytes that compress badly and differ everywhere, so a truncation or a swap shows.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let picture = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 128]));
    picture.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
    bytes
}

async fn next_chat(client: &mut TestClient) -> Value {
    loop {
        let message = client.next_event("message").await;
        if message["from"] != "Server" {
            return message;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mb_file_goes_up_and_comes_down_byte_identical_and_the_room_hears_of_it() {
    let server = start_server(ServerConfig::default()).await;
    let addr = server.local_addr();
    let alice = User::join(addr, "alice").await;
    let mut bob = User::join(addr, "bob").await;
    let mut seed = Frames::connect(addr).await;
    seed.register_seed("seedling").await;

    let bytes = noise(20 * 1024 * 1024);
    let attachment = alice.uploaded(addr, "data set.bin", "application/octet-stream", bytes.clone()).await;
    assert_eq!((attachment["name"].clone(), attachment["size"].clone()), (json!("data set.bin"), json!(bytes.len())));
    let acked =
        alice.client.call("message", vec![json!({"message": "the numbers", "attachment": attachment["id"]})]).await;
    assert_eq!(acked["attachment"]["id"], attachment["id"], "{acked}");

    let received = next_chat(&mut bob.client).await;
    assert_eq!(received["attachment"], attachment);
    let text = received["message"].as_str().unwrap();
    let url = format!("http://{addr}/files/{}/data%20set%2Ebin", attachment["id"].as_str().unwrap());
    assert_eq!(text, format!("the numbers\n📎 data set.bin (20.97 MB) {url}"));
    // A seed client sees the readable line and can follow it.
    assert_eq!(seed.chat_lines(1).await[0]["message"], text);

    let download = reqwest::get(&url).await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let disposition = download.headers()[header::CONTENT_DISPOSITION].to_str().unwrap().to_owned();
    assert_eq!(disposition, "attachment; filename*=UTF-8''data%20set%2Ebin");
    assert!(download.bytes().await.unwrap() == bytes, "byte-identical");
    let _ = &mut bob;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_the_limit_is_refused_in_words_before_its_bytes_are_read() {
    let config = ServerConfig { max_file_bytes: 1024 * 1024, ..ServerConfig::default() };
    let server = start_server(config).await;
    let addr = server.local_addr();
    let alice = User::join(addr, "alice").await;
    // Only the head: the answer must come without the body ever being sent.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /files HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: video/mp4\r\nContent-Length: {}\r\n\r\n",
        alice.token,
        2 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered at once")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""error":"too_large""#) && answer.contains("files can be at most 1.05 MB"), "{answer}");
    assert_eq!(alice.upload(addr, "small", "text/plain", vec![b'x'; 1000]).await.status(), StatusCode::CREATED);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_password_uploads_and_downloads_need_a_token_or_the_password() {
    let config = ServerConfig { password: Some("hunter2".into()), ..ServerConfig::default() };
    let server = start_server(config).await;
    let addr = server.local_addr();
    let auth = json!({"password": "hunter2"});
    let mut client = TestClient::try_connect(addr, Some(auth)).await.unwrap();
    assert_eq!(client.register("alice").await, json!(true));
    let token = client.next_event("files").await["token"].as_str().unwrap().to_owned();
    let alice = User { client, token };

    let anonymous = reqwest::Client::new().post(format!("http://{addr}/files")).body("x").send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let attachment = alice.uploaded(addr, "notes.txt", "text/plain", b"private notes".to_vec()).await;
    alice.send(&attachment, json!({})).await;
    let path = attachment["url"].as_str().unwrap();

    let stranger = get(addr, path, None).await;
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
    assert!(stranger.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic"));
    let wrong =
        reqwest::Client::new().get(format!("http://{addr}{path}")).basic_auth("x", Some("guess")).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // A seed user in a browser: any name, the room password.
    let browser = reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .basic_auth("me", Some("hunter2"))
        .send()
        .await
        .unwrap();
    assert_eq!(browser.bytes().await.unwrap().as_ref(), b"private notes");
    let member = get(addr, &format!("{path}?token={}", alice.token), None).await;
    assert_eq!(member.status(), StatusCode::OK);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_file_is_for_its_two_people_only_and_a_file_is_sent_once_by_its_uploader() {
    let server = start_server(ServerConfig::default()).await;
    let addr = server.local_addr();
    let alice = User::join(addr, "alice").await;
    let mut bob = User::join(addr, "bob").await;
    let carol = User::join(addr, "carol").await;

    let attachment = alice.uploaded(addr, "secret.pdf", "application/pdf", noise(5000)).await;
    let path = attachment["url"].as_str().unwrap().to_owned();
    // Before it is sent, only its uploader may read it.
    assert_eq!(get(addr, &path, Some(&bob.token)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(carol.send(&attachment, json!({})).await["error"], "unknown_file", "only the uploader sends it");
    let acked = alice.send(&attachment, json!({"to": "bob"})).await;
    assert_eq!(acked["to"], "bob");
    assert_eq!(next_chat(&mut bob.client).await["attachment"]["id"], attachment["id"]);
    assert_eq!(alice.send(&attachment, json!({})).await["error"], "unknown_file", "once");

    assert_eq!(get(addr, &path, Some(&bob.token)).await.status(), StatusCode::OK);
    assert_eq!(get(addr, &path, Some(&alice.token)).await.status(), StatusCode::OK);
    assert_eq!(get(addr, &path, Some(&carol.token)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get(addr, &path, None).await.status(), StatusCode::UNAUTHORIZED);
    let forged = format!("{}0", carol.token);
    assert_eq!(get(addr, &path, Some(&forged)).await.status(), StatusCode::UNAUTHORIZED);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_uploaded_can_run_and_only_real_pictures_get_a_re_encoded_thumbnail() {
    let server = start_server(ServerConfig::default()).await;
    let addr = server.local_addr();
    let alice = User::join(addr, "alice").await;

    let html =
        alice.uploaded(addr, "page.html", "text/html", b"<script>alert(document.cookie)</script>".to_vec()).await;
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec();
    let svg = alice.uploaded(addr, "logo.svg", "image/svg+xml", svg).await;
    let picture = alice.uploaded(addr, "photo.png", "image/png", png(800, 400)).await;
    for attachment in [&html, &svg, &picture] {
        alice.send(attachment, json!({})).await;
        let response = get(addr, attachment["url"].as_str().unwrap(), None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"));
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "sandbox; default-src 'none'");
    }
    assert_eq!(svg["thumbnail"], Value::Null, "an SVG is no picture to the server: {svg}");
    assert_eq!(
        get(addr, &format!("/files/{}/thumbnail", svg["id"].as_str().unwrap()), None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!((picture["width"].clone(), picture["height"].clone()), (json!(800), json!(400)));
    let thumbnail = get(addr, picture["thumbnail"].as_str().unwrap(), None).await;
    assert_eq!(thumbnail.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(thumbnail.headers()[header::CONTENT_DISPOSITION], "inline");
    let small = image::load_from_memory(&thumbnail.bytes().await.unwrap()).unwrap();
    assert_eq!((small.width(), small.height()), (320, 160));
    assert_eq!(get(addr, "/files/../../etc/passwd", None).await.status(), StatusCode::NOT_FOUND);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_stay_with_the_log_across_a_restart_and_the_quota_removes_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let config = || ServerConfig {
        store: StoreConfig::Sqlite { data_dir: dir.path().to_owned() },
        max_file_bytes: 1024 * 1024,
        max_files_bytes: 2 * 1024 * 1024 + 1000,
        ..ServerConfig::default()
    };
    let server = start_server(config()).await;
    let addr = server.local_addr();
    let alice = User::join(addr, "alice").await;
    let mut sent = Vec::new();
    for i in 0..3 {
        let attachment =
            alice.uploaded(addr, &format!("part{i}"), "application/octet-stream", noise(1024 * 1024)).await;
        alice.send(&attachment, json!({})).await;
        sent.push(attachment);
    }
    server.stop().await.unwrap();

    let server = start_server(config()).await;
    let addr = server.local_addr();
    let bob = User::join(addr, "bob").await;
    let history = bob.client.call("history", vec![json!({})]).await;
    let attachments: Vec<&Value> = history.as_array().unwrap().iter().map(|m| &m["attachment"]).collect();
    assert_eq!(attachments, sent.iter().collect::<Vec<_>>(), "the messages keep their attachments");
    let status = |i: usize| get(addr, sent[i]["url"].as_str().unwrap(), None);
    assert_eq!(status(0).await.status(), StatusCode::GONE, "the oldest made room");
    assert!(status(2).await.bytes().await.unwrap() == noise(1024 * 1024));
    server.stop().await.unwrap();
}

/// A log in memory keeps only the newest `history_capacity` messages: a file whose message left it
/// goes too (its download answers `410 gone`), the newer ones stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_whose_message_left_the_history_is_removed() {
    let server = start_server(ServerConfig { history_capacity: 2, ..unlimited() }).await;
    let addr = server.local_addr();
    let alice = User::join(addr, "alice").await;
    let mut sent = Vec::new();
    for i in 0..3 {
        let attachment = alice.uploaded(addr, &format!("part{i}"), "application/octet-stream", noise(1000)).await;
        alice.send(&attachment, json!({})).await;
        sent.push(attachment);
    }
    let status = |i: usize| get(addr, sent[i]["url"].as_str().unwrap(), None);
    let deadline = std::time::Instant::now() + WAIT;
    while status(0).await.status() != StatusCode::GONE && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status(0).await.status(), StatusCode::GONE, "the first message left the history of two");
    for i in 1..3 {
        assert!(status(i).await.bytes().await.unwrap() == noise(1000), "part{i} is still in the history");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_nodes_a_file_uploaded_on_one_is_served_by_the_others() {
    let redis = RedisServer::start();
    let node = || {
        let config =
            ServerConfig { store: StoreConfig::Redis(ClusterConfig::new(redis.url())), ..ServerConfig::default() };
        start_server(config)
    };
    let (a, b) = (node().await, node().await);
    let alice = User::join(a.local_addr(), "alice").await;
    let mut bob = User::join(b.local_addr(), "bob").await;
    let bytes = noise(3 * 1024 * 1024);
    let attachment = alice.uploaded(a.local_addr(), "film.bin", "application/octet-stream", bytes.clone()).await;
    alice.send(&attachment, json!({"to": "bob"})).await;
    let received = next_chat(&mut bob.client).await;
    assert_eq!(received["attachment"], attachment);
    // At once, from the other node: the file's audience was written before its message existed.
    let download = get(b.local_addr(), attachment["url"].as_str().unwrap(), Some(&bob.token)).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.bytes().await.unwrap() == bytes);
    assert_eq!(get(b.local_addr(), attachment["url"].as_str().unwrap(), None).await.status(), StatusCode::UNAUTHORIZED);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// Waits until `path` answers `410 gone` on `addr` (files are removed soon after, not at once).
async fn until_gone(addr: SocketAddr, path: &str) -> StatusCode {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let status = get(addr, path, None).await.status();
        if status == StatusCode::GONE || std::time::Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The shared log of a cluster is trimmed by Redis (approximately: in whole blocks of 100 entries);
/// a file whose message was trimmed goes too, for every node, and newer ones stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_nodes_a_file_whose_message_left_the_shared_log_is_removed() {
    let redis = RedisServer::start();
    let cluster = ClusterConfig {
        max_log_entries: 10,
        renew_every: Duration::from_millis(200),
        ..ClusterConfig::new(redis.url())
    };
    let node = || start_server(ServerConfig { store: StoreConfig::Redis(cluster.clone()), ..unlimited() });
    let (a, b) = (node().await, node().await);
    let alice = User::join(a.local_addr(), "alice").await;
    let old = alice.uploaded(a.local_addr(), "old.bin", "application/octet-stream", noise(1000)).await;
    alice.send(&old, json!({})).await;
    for i in 0..300 {
        alice.client.send(&format!("line {i}")).await;
    }
    let new = alice.uploaded(a.local_addr(), "new.bin", "application/octet-stream", noise(2000)).await;
    alice.send(&new, json!({})).await;
    assert_eq!(until_gone(b.local_addr(), old["url"].as_str().unwrap()).await, StatusCode::GONE);
    let kept = get(b.local_addr(), new["url"].as_str().unwrap(), None).await;
    assert_eq!(kept.status(), StatusCode::OK);
    assert!(kept.bytes().await.unwrap() == noise(2000), "the newer file is still served");
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// In a cluster too the total size of the files is capped: the oldest go first, on every node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_nodes_the_total_size_of_files_is_capped_oldest_first() {
    let redis = RedisServer::start();
    let node = || {
        start_server(ServerConfig {
            store: StoreConfig::Redis(ClusterConfig::new(redis.url())),
            max_file_bytes: 1024 * 1024,
            max_files_bytes: 2 * 1024 * 1024 + 1000,
            ..ServerConfig::default()
        })
    };
    let (a, b) = (node().await, node().await);
    let alice = User::join(a.local_addr(), "alice").await;
    let mut sent = Vec::new();
    for i in 0..3 {
        let attachment =
            alice.uploaded(a.local_addr(), &format!("part{i}"), "application/octet-stream", noise(1024 * 1024)).await;
        alice.send(&attachment, json!({})).await;
        sent.push(attachment);
    }
    assert_eq!(get(b.local_addr(), sent[0]["url"].as_str().unwrap(), None).await.status(), StatusCode::GONE);
    for (i, attachment) in sent.iter().enumerate().skip(1) {
        let kept = get(a.local_addr(), attachment["url"].as_str().unwrap(), None).await;
        assert!(kept.bytes().await.unwrap() == noise(1024 * 1024), "part{i} is within the quota");
    }
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
