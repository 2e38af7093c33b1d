//! Starting and stopping a server: the library entry point used by `confab-server`, the desktop app's
//! "Host a chat", and the tests.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{extract::State, routing::get, serve::ListenerExt, Json, Router};
use tower_layer::Layer;
use socketioxide::{handler::ConnectHandler, SocketIo};
use tokio::{
    net::{TcpListener, TcpSocket},
    sync::oneshot,
    task::JoinHandle,
};
use tower_http::services::ServeDir;

use crate::{
    auth::{check_password, RoomPassword},
    config::ServerConfig,
    error::{Error, Result},
    handlers::{attach_handlers, on_connect},
    net,
    payload::Health,
    room::Room,
    web,
};

/// How long `stop` waits for in-flight HTTP requests after every socket was closed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection that has not joined the namespace after this long is dropped (idle-socket abuse).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server. Dropping it stops the server in the background; `stop` waits until it is done.
pub struct ServerHandle {
    local_addr: SocketAddr,
    room: Arc<Room>,
    io: SocketIo,
    /// Fires the shutdown sequence inside the server task.
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
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
    let listener = bind(addr).map_err(|source| match source.kind() {
        std::io::ErrorKind::AddrInUse => Error::AddressInUse { addr },
        _ => Error::Bind { addr, source },
    })?;
    let local_addr = listener.local_addr().map_err(|source| Error::Bind { addr, source })?;

    let room = Arc::new(Room::new(config.history_capacity, config.limits.clone()));
    let packet_limit = config.limits.max_packet_bytes;
    let (layer, io) = SocketIo::builder()
        .ping_interval(config.ping_interval)
        .ping_timeout(config.ping_timeout)
        .connect_timeout(CONNECT_TIMEOUT)
        .max_buffer_size(config.max_queued_packets)
        .max_payload(packet_limit as u64)
        .ws_max_message_size(packet_limit)
        .ws_max_frame_size(packet_limit)
        // Chat frames are small: a 1 KiB read buffer (default 4 KiB) saves ~2.3 KB per idle connection.
        .ws_read_buffer_size(1024)
        .with_state(room.clone())
        .with_state(RoomPassword(config.password.as_deref().map(Arc::from)))
        .build_layer();
    // Middlewares run last-added first: the password check, then the handlers are attached.
    let handler = on_connect.with(attach_handlers);
    if config.password.is_some() {
        io.ns("/", handler.with(check_password));
    } else {
        io.ns("/", handler);
    }

    let mut http = Router::new()
        .route("/health", get(health))
        .with_state(HealthSource { room: room.clone(), io: io.clone() });
    http = match &config.web_root {
        Some(root) => http.fallback_service(ServeDir::new(root)),
        None => http.fallback(web::serve),
    };
    // Each `Layer::layer` call makes a new engine.io engine with its own sessions, and
    // `Router::layer` calls it once per route and fallback: a browser's polling requests and its
    // websocket upgrade then met different engines ("unknown session id"). Wrap the whole router once.
    let app = Router::new().fallback_service(layer.layer(http));

    let (shutdown, shutdown_requested) = oneshot::channel::<()>();
    let (stop_room, stop_io) = (room.clone(), io.clone());
    // Chat frames are small and latency-bound: without TCP_NODELAY, Nagle's algorithm meeting the
    // client's delayed ACK held some deliveries back ~40 ms (the chat benchmark's p99).
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                // Resolves on `stop` and on drop of the handle alike.
                let _ = shutdown_requested.await;
                stop_room.close();
                // axum's graceful shutdown does not end upgraded websockets: close every socket.
                stop_io.close().await;
            })
            .await
    });
    tracing::info!(%local_addr, "chat server listening");
    Ok(ServerHandle { local_addr, room, io, shutdown: Some(shutdown), task: Some(task) })
}

impl ServerHandle {
    /// The address actually bound (with the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://…` URLs other machines can join with: every non-loopback address when bound to all
    /// interfaces, else the bound address.
    pub fn join_urls(&self) -> Vec<String> {
        net::join_urls(self.local_addr)
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
    room: Arc<Room>,
    io: SocketIo,
}

async fn health(State(source): State<HealthSource>) -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        users: source.room.user_count(),
        connections: source.io.sockets().len(),
    })
}
