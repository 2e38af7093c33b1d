//! A socket.io client made of raw websocket frames, for what a well-behaved library will not do:
//! send garbage, or stop reading.

use std::net::{Ipv4Addr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

use super::WAIT;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens an engine.io v4 websocket, joins namespace `/` (`40` → `40{"sid":…}`) and reads the
/// server's `welcome`.
pub async fn connect(addr: SocketAddr) -> Ws {
    connect_with_welcome(addr).await.0
}

/// An engine.io v4 websocket that has not joined any namespace yet.
pub async fn open(addr: SocketAddr) -> Ws {
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
    let open = next_text(&mut ws).await;
    assert!(open.starts_with("0{"), "engine.io open packet, got {open}");
    ws
}

/// [`connect`] from the local address `from` (Linux routes all of 127.0.0.0/8 to loopback): another
/// client address to the server's per-address limits.
pub async fn connect_from(from: Ipv4Addr, addr: SocketAddr) -> Ws {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::from((from, 0))).expect("a local address");
    let stream = socket.connect(addr).await.expect("connects");
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)).await.expect("websocket");
    assert!(next_text(&mut ws).await.starts_with("0{"), "engine.io open packet");
    send(&mut ws, "40").await;
    assert!(next_text(&mut ws).await.starts_with("40{"), "namespace connect");
    assert!(next_text(&mut ws).await.starts_with("42[\"welcome\""), "welcome");
    ws
}

/// [`connect`], also returning the `welcome` payload.
pub async fn connect_with_welcome(addr: SocketAddr) -> (Ws, serde_json::Value) {
    let mut ws = open(addr).await;
    send(&mut ws, "40").await;
    let connected = next_text(&mut ws).await;
    assert!(connected.starts_with("40{"), "namespace connect, got {connected}");
    let welcome = next_text(&mut ws).await;
    let event: serde_json::Value =
        welcome.strip_prefix("42").and_then(|json| serde_json::from_str(json).ok()).unwrap_or_default();
    assert_eq!(event[0], "welcome", "welcome, got {welcome}");
    (ws, event[1].clone())
}

pub async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text.to_owned())).await.expect("send frame");
}

/// The next text frame, answering engine.io pings on the way.
pub async fn next_text(ws: &mut Ws) -> String {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next()).await.expect("a frame in time");
        match frame {
            Some(Ok(Message::Text(text))) if text.as_str() == "2" => send(ws, "3").await,
            Some(Ok(Message::Text(text))) => return text.to_string(),
            Some(Ok(_)) => continue,
            other => panic!("websocket ended: {other:?}"),
        }
    }
}

/// Registers `name` with ack id 1 and returns the raw ack frame.
pub async fn register(ws: &mut Ws, name: &str) -> String {
    send(ws, &format!("421[\"register\",{}]", serde_json::Value::String(name.to_owned()))).await;
    loop {
        let frame = next_text(ws).await;
        if frame.starts_with("431") {
            return frame;
        }
    }
}

/// Whether the server closed this websocket (or the TCP connection) within `within`.
pub async fn closed_within(ws: &mut Ws, within: std::time::Duration) -> bool {
    tokio::time::timeout(within, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                    let _ = ws.send(Message::text("3")).await;
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .is_ok()
}
