//! Starting and stopping a server: the library entry point used by `confab-server`, the desktop app's
//! "Host a chat", and the tests.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    extract::{ConnectInfo, OriginalUri, Request, State},
    http::{HeaderName, HeaderValue, Uri},
    routing::get,
    Json, Router,
};
use confab_protocol::Health;
use socketioxide::{handler::ConnectHandler, ParserConfig, SocketIo};
use tokio::{
    net::{TcpListener, TcpSocket},
    sync::oneshot,
    task::JoinHandle,
};
use tower_http::services::ServeDir;
use tower_layer::Layer;

use crate::{
    auth::{check_password, RoomPassword},
    chat::Chat,
    config::{ChatName, ServerConfig},
    error::{Error, Result},
    files::{self, FileLimits},
    handlers::{attach_handlers, on_connect, RegisterWithin},
    listener::{CappedListener, Deadlines, PeerAddr},
    members, net,
    origin::{self, OriginPolicy},
    peers::Peers,
    queues::{self, AddressQueues},
    tls::{TlsFiles, TlsListener},
    web::{self, WebRoot},
};

/// How long `stop` waits for in-flight HTTP requests after every socket was closed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// The first request's head must arrive within this (slow-header abuse).
const FIRST_REQUEST_WITHIN: Duration = Duration::from_secs(10);
/// The shortest silence that closes a connection, whatever the ping settings.
const MIN_IDLE: Duration = Duration::from_secs(30);
/// A connection that has not joined the namespace after this long is dropped (idle-socket abuse).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server. Dropping it stops the server in the background; `stop` waits until it is done.
pub struct ServerHandle {
    local_addr: SocketAddr,
    room: Arc<Chat>,
    io: SocketIo,
    /// Fires the shutdown sequence inside the server task.
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    /// Set when serving TLS (see [`ServerHandle::tls_fingerprint`]).
    tls_fingerprint: Option<String>,
}

/// Pending connections the kernel queues before `accept`. tokio's `TcpListener::bind` uses 128: a
/// burst of joining clients then overflowed it and waited for the 1 s SYN retransmit.
const LISTEN_BACKLOG: u32 = 1024;

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    // Lets a restarted server take its port back from connections still in TIME_WAIT; a port another
    // program listens on is still refused (that would need SO_REUSEPORT).
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Binds `addr` (port 0 picks a free port) and starts serving. Fails at once if the address is taken.
pub async fn start(addr: SocketAddr, config: ServerConfig) -> Result<ServerHandle> {
    // Bad TLS files are said before anything listens.
    let tls = config.tls.as_ref().map(TlsFiles::acceptor).transpose()?;
    let tls_fingerprint = config.tls.as_ref().map(TlsFiles::fingerprint).transpose()?;
    // So is a chat log that cannot be used: the server never runs without the log it was given.
    let files = (config.max_file_bytes > 0).then(|| {
        let limits = FileLimits {
            max_bytes: config.max_file_bytes,
            quota_bytes: config.max_files_bytes.max(config.max_file_bytes),
        };
        (limits, config.password.as_deref().map(Arc::from))
    });
    let room = Arc::new(
        config
            .store
            .open(
                config.limits.clone(),
                config.history_capacity,
                members::welcome_bytes(config.max_queued_bytes),
                files,
            )
            .await?,
    );
    let listener = bind(addr).map_err(|source| match source.kind() {
        std::io::ErrorKind::AddrInUse => Error::AddressInUse { addr },
        _ => Error::Bind { addr, source },
    })?;
    let local_addr = listener.local_addr().map_err(|source| Error::Bind { addr, source })?;

    let peers = Arc::new(Peers::new(&config.address_limits));
    let packet_limit = config.limits.max_packet_bytes;
    let (layer, io) = SocketIo::builder()
        .ping_interval(config.ping_interval)
        .ping_timeout(config.ping_timeout)
        .connect_timeout(CONNECT_TIMEOUT)
        .max_buffer_size(config.max_queued_packets)
        .max_buffer_bytes(config.max_queued_bytes)
        .max_payload(packet_limit as u64)
        // Binary attachments are no part of the protocol and were parsed up to 10 MB before any
        // check (finding 5): a packet with one closes that connection.
        .with_parser(ParserConfig::common().max_incoming_binaries(0).max_incoming_binary_buf_size(0))
        .ws_max_message_size(packet_limit)
        .ws_max_frame_size(packet_limit)
        // Chat frames are small: a 1 KiB read buffer (default 4 KiB) saves ~2.3 KB per idle connection.
        .ws_read_buffer_size(1024)
        .with_state(room.clone())
        .with_state(peers)
        .with_state(RegisterWithin(config.register_within))
        .with_state(ChatName(config.chat_name.as_deref().map(Arc::from)))
        .with_state(RoomPassword(config.password.as_deref().map(Arc::from)))
        .build_layer();
    // Middlewares run last-added first: the password check, then the handlers are attached.
    let handler = on_connect.with(attach_handlers);
    if config.password.is_some() {
        io.ns("/", handler.with(check_password));
    } else {
        io.ns("/", handler);
    }

    let mut http =
        Router::new().route("/health", get(health)).with_state(HealthSource { room: room.clone(), io: io.clone() });
    if let Some(files) = room.files() {
        http = http.merge(files::routes(files, room.clone(), config.tls.is_some()));
    }
    http = match &config.web_root {
        Some(root) => {
            let confined = WebRoot::new(root).map_err(|source| Error::WebRoot { root: root.clone(), source })?;
            http.fallback_service(
                axum::middleware::from_fn_with_state(confined, web::confine).layer(ServeDir::new(root)),
            )
        }
        None => http.fallback(web::serve),
    };
    // The same security headers on every page, embedded or from --web-root (finding 11).
    let http = web::with_security_headers(http);
    // Each `Layer::layer` call makes a new engine.io engine with its own sessions, and
    // `Router::layer` calls it once per route and fallback: a browser's polling requests and its
    // websocket upgrade then met different engines ("unknown session id"). Wrap the whole router once.
    // The request copy runs in front of socket.io, which keeps the upgrade request's parts.
    let origins = OriginPolicy::new(&config.allowed_hosts, &config.allowed_origins);
    let app = Router::new()
        .fallback_service(layer.layer(http))
        .layer(axum::middleware::map_request(detach_from_read_buffer))
        .layer(axum::middleware::from_fn_with_state(
            AddressQueues::new(config.address_limits.max_queued_bytes_per_address),
            queues::attach,
        ))
        .layer(axum::middleware::from_fn_with_state(origins, origin::check));

    let (shutdown, shutdown_requested) = oneshot::channel::<()>();
    let (stop_room, stop_io) = (room.clone(), io.clone());
    let stopped = async move {
        // Resolves on `stop` and on drop of the handle alike.
        let _ = shutdown_requested.await;
        stop_room.close().await;
        // axum's graceful shutdown does not end upgraded websockets: close every socket.
        stop_io.close().await;
        stop_room.finish().await;
    };
    // engine.io makes a live client talk every ping interval: three rounds of silence is a dead one.
    let idle = (config.ping_interval + config.ping_timeout) * 3;
    let deadlines =
        Deadlines { first_request: FIRST_REQUEST_WITHIN, idle: idle.max(MIN_IDLE), plain_http: tls.is_none() };
    let listener = CappedListener::new(listener, config.address_limits.clone(), deadlines);
    // Every request carries its peer's address (`peers::peer_ip`): per-address limits.
    let app = app.into_make_service_with_connect_info::<PeerAddr>();
    let task = match tls {
        Some(acceptor) => {
            let listener = TlsListener::new(listener, acceptor).map_err(|source| Error::Bind { addr, source })?;
            tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped).await })
        }
        None => tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped).await }),
    };
    tracing::info!(%local_addr, "chat server listening");
    Ok(ServerHandle { local_addr, room, io, tls_fingerprint, shutdown: Some(shutdown), task: Some(task) })
}

impl ServerHandle {
    /// The address actually bound (with the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://…` URLs other machines can join with: every non-loopback address when bound to all
    /// interfaces, else the bound address.
    pub fn join_urls(&self) -> Vec<String> {
        net::join_urls(self.local_addr, self.tls_fingerprint.is_some())
    }

    /// The SHA-256 fingerprint of the certificate when the server speaks TLS: what clients check a
    /// self-signed LAN chat by.
    pub fn tls_fingerprint(&self) -> Option<&str> {
        self.tls_fingerprint.as_deref()
    }

    /// Number of registered users.
    pub fn user_count(&self) -> usize {
        self.room.user_count()
    }

    /// Number of open socket.io connections, registered or not.
    pub fn connection_count(&self) -> usize {
        self.io.sockets().len()
    }

    /// Announces the shutdown, disconnects every client, stops listening and waits for all of it.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let Some(mut task) = self.task.take() else { return Ok(()) };
        match tokio::time::timeout(STOP_TIMEOUT, &mut task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(io))) => Err(Error::Task(io.to_string())),
            Ok(Err(join)) => Err(Error::Task(join.to_string())),
            Err(_elapsed) => {
                // Only lingering plain-HTTP requests can be left: every socket is closed already.
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// What `GET /health` reads.
#[derive(Clone)]
struct HealthSource {
    room: Arc<Chat>,
    io: SocketIo,
}

/// Anyone may ask whether the server is up; only this machine learns how many are in the chat
/// (finding 11).
async fn health(State(source): State<HealthSource>, ConnectInfo(peer): ConnectInfo<PeerAddr>) -> Json<Health> {
    let local = peer.0.ip().is_loopback();
    let degraded = source.room.degraded();
    Json(Health {
        status: degraded.as_ref().map_or("ok", |_| "degraded").to_owned(),
        reason: degraded.filter(|_| local),
        users: local.then(|| source.room.user_count()),
        connections: local.then(|| source.io.sockets().len()),
    })
}

/// Gives every request its own copy of its URI and headers before socket.io sees it.
///
/// hyper parses the request head into slices of the connection's read buffer (16 KiB), and
/// engineioxide keeps the upgrade request's parts (headers, URI and axum's `OriginalUri`) for as long
/// as the websocket lives, so each connection kept that buffer alive: 28.4 KB per idle connection,
/// 20.7 KB with the copies (docs/PERFORMANCE.md finding 5). The copies cost a few hundred bytes once per
/// HTTP request.
async fn detach_from_read_buffer(request: Request) -> Request {
    let (mut parts, body) = request.into_parts();
    parts.headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            // Both always re-parse (they were parsed once); keeping the original is the safe fallback.
            let name_copy = HeaderName::from_bytes(name.as_str().as_bytes()).unwrap_or_else(|_| name.clone());
            let value_copy = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
            (name_copy, value_copy)
        })
        .collect();
    if let Ok(uri) = parts.uri.to_string().parse::<Uri>() {
        if parts.extensions.get::<OriginalUri>().is_some() {
            parts.extensions.insert(OriginalUri(uri.clone()));
        }
        parts.uri = uri;
    }
    Request::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use axum::http::{header, HeaderMap};
    use bytes::Bytes;

    use super::*;

    /// What hyper hands us: the URI and header values are slices of one read buffer.
    fn request_sliced_from(buffer: &Bytes) -> Request {
        let text = std::str::from_utf8(buffer).unwrap();
        let slice = |part: &str| buffer.slice_ref(&buffer[text.find(part).unwrap()..][..part.len()]);
        let uri = Uri::from_maybe_shared(slice("/socket.io/?EIO=4&transport=websocket")).unwrap();
        let mut request = Request::new(axum::body::Body::empty());
        *request.uri_mut() = uri.clone();
        request.extensions_mut().insert(OriginalUri(uri));
        let headers: &mut HeaderMap = request.headers_mut();
        headers.insert(header::HOST, HeaderValue::from_maybe_shared(slice("127.0.0.1:7878")).unwrap());
        headers.append("x-custom", HeaderValue::from_maybe_shared(slice("one")).unwrap());
        headers.append("x-custom", HeaderValue::from_maybe_shared(slice("two")).unwrap());
        request
    }

    #[tokio::test]
    async fn a_request_keeps_its_contents_but_no_slice_of_the_read_buffer() {
        let buffer = Bytes::from_static(b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:7878\r\nX-Custom: one\r\nX-Custom: two\r\n\r\n");
        let inside = |bytes: &[u8]| buffer.as_ptr_range().contains(&bytes.as_ptr());
        let original = request_sliced_from(&buffer);
        assert!(inside(original.uri().path().as_bytes()), "the test builds sliced requests");

        let copied = detach_from_read_buffer(request_sliced_from(&buffer)).await;

        assert_eq!(copied.uri(), original.uri());
        assert_eq!(copied.headers(), original.headers());
        let original_uri = &copied.extensions().get::<OriginalUri>().unwrap().0;
        assert_eq!(original_uri, original.uri());
        assert!(!inside(copied.uri().path().as_bytes()));
        assert!(!inside(original_uri.path().as_bytes()));
        assert!(copied.headers().values().all(|value| !inside(value.as_bytes())));
    }
}
