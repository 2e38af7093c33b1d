//! A long-polling engine.io client of raw HTTP/1.1 requests: what a browser falls back to, and the
//! one transport where a single request carries many packets at once.

use std::{collections::VecDeque, net::SocketAddr};

use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::WAIT;

/// A long-polling engine.io client: one HTTP/1.1 request per connection, packets in arrival order.
pub struct Polling {
    addr: SocketAddr,
    sid: String,
    packets: VecDeque<String>,
}

impl Polling {
    /// Opens a session, joins namespace `/` and reads the `welcome`.
    pub async fn connect(addr: SocketAddr) -> Self {
        let open = http(addr, "GET", "", "").await;
        let handshake: Value = serde_json::from_str(open.strip_prefix('0').expect("open packet")).expect("json");
        let sid = handshake["sid"].as_str().expect("sid").to_owned();
        let mut client = Self { addr, sid, packets: VecDeque::new() };
        client.post("40").await;
        assert!(client.next().await.starts_with("40{"), "namespace connect");
        assert!(client.next().await.starts_with("42[\"welcome\""), "welcome");
        client
    }

    pub async fn post(&self, body: &str) {
        assert_eq!(http(self.addr, "POST", &format!("&sid={}", self.sid), body).await, "ok");
    }

    /// The next packet, polling when none is waiting; pings are answered on the way.
    pub async fn next(&mut self) -> String {
        loop {
            while let Some(packet) = self.packets.pop_front() {
                match packet.as_str() {
                    "2" => self.post("3").await,
                    "6" => {}
                    // Waiting on would only meet pings: a disconnected client fails here.
                    "1" | "41" => panic!("disconnected by the server"),
                    _ => return packet,
                }
            }
            let payload = http(self.addr, "GET", &format!("&sid={}", self.sid), "").await;
            self.packets.extend(payload.split('\u{1e}').map(str::to_owned));
        }
    }

    /// The next event named `name`, with its first argument (other packets are dropped).
    pub async fn event(&mut self, name: &str) -> Value {
        loop {
            let packet = self.next().await;
            let Some(event) = packet.strip_prefix("42").and_then(|json| serde_json::from_str::<Value>(json).ok())
            else {
                continue;
            };
            if event[0] == name {
                return event[1].clone();
            }
        }
    }

    /// Registers `name` (ack id 1) and reads what a newcomer is sent, up to its own join line.
    pub async fn join(addr: SocketAddr, name: &str) -> Self {
        let mut client = Self::connect(addr).await;
        client.post(&format!("421{}", json!(["register", name]))).await;
        assert_eq!(client.next().await, "431[true]");
        loop {
            let message = client.event("message").await;
            if message["name"] == name && message["kind"] == "join" {
                return client;
            }
        }
    }
}

/// One engine.io long-polling request (`query` is appended to the handshake's); the response body.
async fn http(addr: SocketAddr, method: &str, query: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let request = format!(
        "{method} /socket.io/?EIO=4&transport=polling{query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("request sent");
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response)).await.expect("answered in time").expect("read");
    let response = String::from_utf8(response).expect("text");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}
