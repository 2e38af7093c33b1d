//! socket.io event handlers: thin adapters from the wire to [`Room`].
//!
//! socketioxide runs an `async fn` handler in a task of its own (`tokio::spawn` per event), so two
//! events of one client can be handled in either order on a multi-threaded runtime: a burst would
//! reach the room reordered. Our handlers do only short, non-blocking work, so they run synchronously
//! on the socket's read task instead ([`InOrder`]): one client's events are handled in the order it
//! sent them. Every handler accepts any payload (`TryData`), so hostile input gets an answer instead
//! of a silently skipped handler.

use std::{
    convert::Infallible,
    marker::PhantomData,
    sync::Arc,
    time::{Duration, Instant},
};

use confab_protocol::{event, HistoryRequest, Limits, Refusal, RefusalCode, RefusedEvent, Welcome, PROTOCOL_VERSION};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::Value;
use socketioxide::{
    adapter::LocalAdapter,
    extract::{AckSender, SocketRef, State, TryData},
    handler::{FromMessageParts, MessageHandler, Value as RawValue},
    socket::{DisconnectReason, Socket},
    ParserError, SendError, SocketIo,
};

use crate::{
    chat::{Chat, Post},
    config::ChatName,
    members::did_not_fit,
    peers::{peer_ip, AddressHistory, Peers},
};

/// What every handler gets: the socket, the room, and the ack (a no-op when none was asked for).
struct Call {
    socket: SocketRef,
    room: Arc<Chat>,
    peers: Arc<Peers>,
    ack: AckSender,
    ack_requested: bool,
}

/// How a `register` is answered (protocol §1.1): with the ack when the client asked for one, else
/// with a `register` event carrying the boolean, as the seed's own server does. Never both: a
/// client that asks for the ack and also listens for the event must not see two answers.
pub enum RegisterReply {
    Ack(AckSender),
    Event,
}

impl RegisterReply {
    pub fn send(self, socket: &SocketRef, accepted: bool) -> Result<(), SendError> {
        match self {
            Self::Ack(ack) => ack.send(&accepted),
            Self::Event => socket.emit(event::REGISTER, &accepted),
        }
    }
}

/// A `message` as a client sends it. `from` and any other field are ignored: the server always uses
/// the registered name (protocol §1.2).
#[derive(Debug, Deserialize)]
struct IncomingMessage {
    message: String,
    /// A private message's addressee (protocol §2.10).
    #[serde(default)]
    to: Option<String>,
    /// An uploaded file's id (protocol §2.11).
    #[serde(default)]
    attachment: Option<String>,
}

/// A handler run synchronously, in arrival order, with the event's first argument parsed as `T`.
struct InOrder<T> {
    handle: fn(Call, Result<T, ParserError>),
    payload: PhantomData<fn() -> T>,
}

fn in_order<T>(handle: fn(Call, Result<T, ParserError>)) -> InOrder<T> {
    InOrder { handle, payload: PhantomData }
}

/// Type marker for socketioxide's handler registry.
struct InOrderMarker;

impl<T: DeserializeOwned + 'static> MessageHandler<LocalAdapter, InOrderMarker> for InOrder<T> {
    fn call(&self, socket: Arc<Socket<LocalAdapter>>, mut data: RawValue, ack_id: Option<i64>) {
        let Ok(State(room)) = State::<Arc<Chat>>::from_message_parts(&socket, &mut data, &ack_id) else {
            tracing::error!("room state missing: the server was built without it");
            return;
        };
        let Ok(State(peers)) = State::<Arc<Peers>>::from_message_parts(&socket, &mut data, &ack_id) else {
            tracing::error!("peer state missing: the server was built without it");
            return;
        };
        let Ok(ack) = AckSender::from_message_parts(&socket, &mut data, &ack_id);
        let Ok(TryData(payload)) = TryData::<T>::from_message_parts(&socket, &mut data, &ack_id);
        let Ok(socket) = SocketRef::from_message_parts(&socket, &mut data, &ack_id);
        wait_until_connected(&socket);
        (self.handle)(Call { socket, room, peers, ack, ack_requested: ack_id.is_some() }, payload);
    }
}

/// The longest we wait for socketioxide to finish a namespace connection (see below).
const CONNECT_SETTLE: Duration = Duration::from_millis(20);

/// socketioxide sends the namespace confirmation, then marks the socket connected, on another task.
/// A fast client's first event can arrive in between, and every `emit` to a socket not yet marked
/// connected fails (acks do not check): a `register` would be acked, then its history, users list
/// and join announcement lost. The connect task is mid-way through two plain statements on
/// another thread at that point, so a short yield loop bridges the gap; a socket that is really
/// closing just costs the bound once. On a current-thread runtime (confab-server's default) the gap
/// cannot be observed, since nothing else runs between those two statements, and spinning would stall
/// every other client: no wait there.
fn wait_until_connected(socket: &SocketRef) {
    if socket.connected() || !on_multi_thread_runtime() {
        return;
    }
    let started = Instant::now();
    while !socket.connected() && started.elapsed() < CONNECT_SETTLE {
        std::thread::yield_now();
    }
}

fn on_multi_thread_runtime() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|runtime| runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// Connect middleware that attaches the event handlers.
///
/// socketioxide confirms the namespace connection (`40{sid}`) and only then spawns the connect
/// handler, so a client that emits `register` as soon as it is connected could be faster than the
/// handler registration and lose its event. Middlewares run before the confirmation is sent.
pub async fn attach_handlers(socket: SocketRef) -> Result<(), Infallible> {
    socket.on(event::REGISTER, in_order(on_register));
    socket.on(event::MESSAGE, in_order(on_message));
    socket.on(event::TYPING, in_order(on_typing));
    socket.on(event::HISTORY, in_order(on_history));
    socket.on(event::USERS, in_order(on_users));
    socket.on_disconnect(on_disconnect);
    Ok(())
}

/// Called for every socket that joined `/` (after the password check and [`attach_handlers`]): tells
/// it what this server speaks and allows (`welcome`, an extension a seed client ignores).
pub async fn on_connect(
    socket: SocketRef,
    io: SocketIo,
    State(room): State<Arc<Chat>>,
    State(RegisterWithin(within)): State<RegisterWithin>,
    State(ChatName(chat_name)): State<ChatName>,
) {
    tracing::debug!(sid = %socket.id, "connected");
    let welcome = Welcome {
        protocol: PROTOCOL_VERSION,
        run: room.run().to_owned(),
        limits: room.limits().clone(),
        chat_name: chat_name.as_deref().map(str::to_owned),
    };
    let _ = socket.emit(event::WELCOME, &welcome);
    // A socket that never registers only holds a descriptor: closed after a while (finding 4). Only
    // its id waits: holding the socket kept every closed connection's ~14.5 KB for the whole wait
    // (a connect/close storm from one address grew the server by 1 GB in 8 s: PERFORMANCE.md
    // finding 12).
    let sid = socket.id;
    drop(socket);
    tokio::time::sleep(within).await;
    if let Some(socket) = io.get_socket(sid).filter(|socket| socket.connected() && !room.is_member(sid)) {
        tracing::debug!(%sid, "closed: no name registered in time");
        socket.close_transport();
    }
}

/// How long a socket may stay connected without a name, as socketioxide state.
#[derive(Debug, Clone, Copy)]
pub struct RegisterWithin(pub Duration);

fn on_register(call: Call, name: Result<Value, ParserError>) {
    let requested = match &name {
        Ok(Value::String(name)) => Some(name.as_str()),
        _ => None,
    };
    let reply = if call.ack_requested { RegisterReply::Ack(call.ack) } else { RegisterReply::Event };
    if peer_ip(&call.socket).is_some_and(|ip| !call.peers.may_register(ip)) {
        // Register storms cost the room O(N) each (join and leave lines): refused per address. The
        // reason goes first, so a client reads the `false` after it as "not now", not "name taken".
        let refusal = Refusal::new(RefusalCode::RateLimited, call.room.limits());
        let _ = call.socket.emit(event::REFUSED, &RefusedEvent { event: event::REGISTER.to_owned(), refusal });
        let _ = reply.send(&call.socket, false);
        return;
    }
    call.room.register(&call.socket, requested, reply);
}

fn on_message(call: Call, payload: Result<IncomingMessage, ParserError>) {
    let post = payload
        .map_or_else(|_| Post::default(), |p| Post { text: Some(p.message), to: p.to, attachment: p.attachment });
    call.room.post(&call.socket, post, call.ack);
}

fn on_typing(call: Call, typing: Result<bool, ParserError>) {
    if let Ok(typing) = typing {
        call.room.typing(call.socket.id, typing);
    }
}

fn on_history(call: Call, request: Result<HistoryRequest, ParserError>) {
    // No argument, `{}` or garbage all mean "from the oldest retained"; only valid fields narrow it.
    let address = AddressHistory::of(&call.socket, &call.peers);
    call.room.history(&call.socket, request.unwrap_or_default(), call.ack, address);
}

fn on_users(call: Call, _: Result<Value, ParserError>) {
    match call.room.users(call.socket.id) {
        Ok(names) => {
            if did_not_fit(call.ack.send(&names)) {
                call.room.evict(call.socket.id);
            }
        }
        Err(code) => refuse(&call.socket, call.room.limits(), call.ack, event::USERS, code),
    }
}

/// Tells the client its request was not carried out: in the ack when it asked for one, and in a
/// `refused` event in every case (protocol §2.5).
pub(crate) fn refuse(socket: &SocketRef, limits: &Limits, ack: AckSender, event: &str, code: RefusalCode) {
    tracing::debug!(sid = %socket.id, %code, event, "refused");
    let refusal = Refusal::new(code, limits);
    let _ = ack.send(&refusal);
    let _ = socket.emit(event::REFUSED, &RefusedEvent { event: event.to_owned(), refusal });
}

async fn on_disconnect(socket: SocketRef, reason: DisconnectReason, State(room): State<Arc<Chat>>) {
    tracing::debug!(sid = %socket.id, ?reason, "disconnected");
    room.leave(socket.id);
}
