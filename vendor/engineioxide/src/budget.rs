//! Confab patch (see `vendor/README.md` in the Confab repository): the bytes waiting in one socket's
//! outgoing channel, held against a budget.
//!
//! The channel is bounded in packets only (`max_buffer_size`), so a client that stops reading could
//! make the server hold `max_buffer_size` times the largest packet. Bytes are added when a packet is
//! queued and taken off when a transport takes it from the channel (the websocket writer, the
//! long-polling payload encoder). Only message and binary payloads count: the control packets
//! (ping, noop, close) carry no data, and the heartbeat queues its pings without going through here.
//!
//! Sockets may also share a [`SharedByteBudget`] (the server gives one to every socket of a client
//! address through the request's extensions): 256 sockets each within its own budget could still
//! hold a gigabyte together.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use engineioxide_core::Packet;

/// The bytes queued for a group of sockets together and the most they may hold. Put an
/// `Arc<SharedByteBudget>` in the extensions of the request that opens a session to make the
/// session's socket count against it.
///
/// Once the group holds its budget, a socket is refused when its queue holds its fair share (the
/// budget divided among the open sockets) and at least `behind` bytes: those that keep up go on, so
/// the group holds at most about the larger of the budget and `behind` per socket.
#[derive(Debug)]
pub struct SharedByteBudget {
    queued: AtomicUsize,
    sockets: AtomicUsize,
    max: usize,
    behind: usize,
}

impl SharedByteBudget {
    /// A budget of `max` bytes for all the sockets that share it; see the type's comment.
    pub fn new(max: usize, behind: usize) -> Self {
        Self { queued: AtomicUsize::new(0), sockets: AtomicUsize::new(0), max, behind }
    }

    /// The bytes waiting in the channels of all the sockets that share it.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Whether a socket with `queued` bytes must be refused for the sake of the others.
    fn refuses(&self, queued: usize) -> bool {
        let fair_share = self.max / self.sockets.load(Ordering::Relaxed).max(1);
        queued >= self.behind.max(fair_share) && self.queued() >= self.max
    }
}

/// The bytes queued for one socket and the most it may hold.
#[derive(Debug)]
pub(crate) struct ByteBudget {
    queued: AtomicUsize,
    max: usize,
    shared: Option<Arc<SharedByteBudget>>,
    /// The part of `shared` that is this socket's: every change to it changes `shared` by as much,
    /// so leaving the group at any moment gives back exactly what this socket put in.
    in_shared: AtomicUsize,
    /// Whether the socket left the shared budget (closed or evicted).
    left: AtomicBool,
}

impl ByteBudget {
    pub(crate) fn new(max: usize, shared: Option<Arc<SharedByteBudget>>) -> Self {
        if let Some(shared) = &shared {
            shared.sockets.fetch_add(1, Ordering::Relaxed);
        }
        Self { queued: AtomicUsize::new(0), max, shared, in_shared: AtomicUsize::new(0), left: AtomicBool::new(false) }
    }

    /// The shared budget while the socket is in it.
    fn shared(&self) -> Option<&SharedByteBudget> {
        self.shared.as_deref().filter(|_| !self.left.load(Ordering::Relaxed))
    }

    /// Whether another packet may be queued: not once the queue holds the budget or more, nor once
    /// the shared budget refuses it. The size of the next packet is not known yet when socketioxide
    /// reserves its place (it encodes after), so the queue can go over by one packet per concurrent
    /// sender.
    pub(crate) fn has_room(&self) -> bool {
        let queued = self.queued();
        queued < self.max && !self.shared().is_some_and(|shared| shared.refuses(queued))
    }

    /// Whether a best-effort packet may be queued: only while the queue, and the shared budget,
    /// hold less than half theirs, so such packets are refused long before they could make a real
    /// one not fit.
    pub(crate) fn has_room_for_best_effort(&self) -> bool {
        self.queued() < self.max / 2 && self.shared().is_none_or(|shared| shared.queued() < shared.max / 2)
    }

    /// `packets` were put in the channel.
    pub(crate) fn add(&self, packets: &[Packet]) {
        let bytes = size(packets);
        self.queued.fetch_add(bytes, Ordering::Relaxed);
        if let Some(shared) = self.shared() {
            self.in_shared.fetch_add(bytes, Ordering::Relaxed);
            shared.queued.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// `packets` were taken off the channel by a transport.
    pub(crate) fn take(&self, packets: &[Packet]) {
        let bytes = size(packets);
        self.queued.fetch_sub(bytes, Ordering::Relaxed);
        if let Some(shared) = &self.shared {
            // After leaving, what is taken was given back already (or never counted).
            let before = self
                .in_shared
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |part| Some(part.saturating_sub(bytes)))
                .unwrap_or_default();
            shared.queued.fetch_sub(bytes.min(before), Ordering::Relaxed);
        }
    }

    /// The socket leaves the shared budget with what its channel holds (it is closed, or evicted and
    /// waiting to be told so): a transport task stuck on a client that does not read may keep it
    /// alive, but not its weight on the others. Its own budget still holds.
    pub(crate) fn leave_shared(&self) {
        let Some(shared) = &self.shared else { return };
        if !self.left.swap(true, Ordering::Relaxed) {
            shared.sockets.fetch_sub(1, Ordering::Relaxed);
        }
        shared.queued.fetch_sub(self.in_shared.swap(0, Ordering::Relaxed), Ordering::Relaxed);
    }

    /// The bytes waiting in the channel now.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }
}

impl Drop for ByteBudget {
    /// A dropped socket leaves the shared budget with what its channel still held.
    fn drop(&mut self) {
        self.leave_shared();
    }
}

/// What `packets` hold in payload bytes: their messages and binaries.
fn size(packets: &[Packet]) -> usize {
    packets
        .iter()
        .map(|packet| match packet {
            Packet::Message(msg) => msg.len(),
            Packet::Binary(bin) | Packet::BinaryV3(bin) => bin.len(),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    //! The counter over real transports: the websocket writer and long-polling requests each give
    //! back every byte they take, so a drained queue is at 0 and takes packets again.
    use std::{sync::Arc, time::Duration};

    use bytes::Bytes;
    use engineioxide_core::{ProtocolVersion, Str, TransportType};
    use futures_util::StreamExt;
    use http::Request;
    use http_body_util::{BodyExt, Full};
    use tokio_tungstenite::{
        WebSocketStream,
        tungstenite::{Message, protocol::Role},
    };

    use crate::{
        DisconnectReason, Socket,
        config::EngineIoConfig,
        engine::EngineIo,
        handler::EngineIoHandler,
        transport::{polling, ws},
    };

    const WAIT: Duration = Duration::from_secs(5);

    #[derive(Debug)]
    struct StubHandler;
    impl EngineIoHandler for StubHandler {
        type Data = ();
        fn on_connect(self: Arc<Self>, _: Arc<Socket<()>>) {}
        fn on_disconnect(&self, _: Arc<Socket<()>>, _: DisconnectReason) {}
        fn on_message(self: &Arc<Self>, _: Str, _: Arc<Socket<()>>) {}
        fn on_binary(self: &Arc<Self>, _: Bytes, _: Arc<Socket<()>>) {}
    }

    /// A session of `transport` on an engine whose queues hold at most `max_bytes`, and whose
    /// polling answers hold at most `max_payload` bytes.
    fn session(
        transport: TransportType,
        max_bytes: usize,
        max_payload: u64,
    ) -> (Arc<EngineIo<StubHandler>>, Arc<Socket<()>>) {
        let config = EngineIoConfig::builder()
            .max_buffer_size(1024)
            .max_buffer_bytes(max_bytes)
            .max_payload(max_payload)
            .build();
        let engine = Arc::new(EngineIo::new(Arc::new(StubHandler), config));
        let parts = Request::<()>::default().into_parts().0;
        let socket = engine.create_session(ProtocolVersion::V4, transport, parts, false);
        (engine, socket)
    }

    /// Queues messages of `len` bytes until the budget refuses one; returns how many were taken.
    fn fill(socket: &Socket<()>, len: usize) -> usize {
        let mut queued = 0;
        while socket.emit("x".repeat(len)).is_ok() {
            queued += 1;
        }
        queued
    }

    #[test]
    fn best_effort_packets_stop_at_half_the_budget_and_others_at_the_budget() {
        let budget = super::ByteBudget::new(1000, None);
        let packet = [engineioxide_core::Packet::Message(Str::from("x".repeat(300)))];
        budget.add(&packet);
        assert!(budget.has_room_for_best_effort() && budget.has_room());
        budget.add(&packet);
        assert!(!budget.has_room_for_best_effort() && budget.has_room());
        budget.add(&packet);
        budget.add(&packet);
        assert!(!budget.has_room(), "1200 of 1000 bytes");
        budget.take(&packet);
        budget.take(&packet);
        assert_eq!(budget.queued(), 600);
        assert!(budget.has_room() && !budget.has_room_for_best_effort());
    }

    #[test]
    fn a_used_up_shared_budget_refuses_the_queues_that_are_behind_and_comes_back_when_they_go() {
        let shared = Arc::new(super::SharedByteBudget::new(1000, 200));
        let (slow, fast) =
            (super::ByteBudget::new(800, Some(shared.clone())), super::ByteBudget::new(800, Some(shared.clone())));
        let packet = [engineioxide_core::Packet::Message(Str::from("x".repeat(300)))];
        slow.add(&packet);
        assert!(fast.has_room_for_best_effort(), "300 of 1000 shared bytes");
        slow.add(&packet);
        assert!(!fast.has_room_for_best_effort(), "600 of 1000 shared: best effort refused for all");
        slow.add(&packet);
        slow.add(&packet);
        assert_eq!(shared.queued(), 1200);
        assert!(!slow.has_room(), "over its own budget");
        assert!(fast.has_room(), "a queue that keeps up is never refused for the others");
        fast.add(&packet);
        assert!(fast.has_room(), "300: below its fair share of 500");
        fast.add(&packet);
        assert!(!fast.has_room(), "600: over its fair share, and the shared budget is used up");
        fast.take(&packet);
        slow.leave_shared();
        assert_eq!(shared.queued(), 300, "a socket that leaves gives its bytes back");
        assert!(fast.has_room(), "alone now: its fair share is the whole budget");
        slow.take(&packet);
        assert_eq!(shared.queued(), 300, "and what it gave back is not given back again");
        assert_eq!(slow.queued(), 900, "its own budget still counts");
        slow.add(&packet);
        assert_eq!(shared.queued(), 300, "nor does it count for the others any more");
        fast.take(&packet);
        let other = super::ByteBudget::new(800, Some(shared.clone()));
        other.add(&packet);
        drop(other);
        assert_eq!(shared.queued(), 0, "a dropped socket gives its bytes back");
        fast.add(&packet);
        assert!(fast.has_room());
    }

    #[tokio::test]
    async fn a_session_counts_against_the_shared_budget_its_request_carries() {
        let config = EngineIoConfig::builder().max_buffer_bytes(10_000).build();
        let engine = Arc::new(EngineIo::new(Arc::new(StubHandler), config));
        let shared = Arc::new(super::SharedByteBudget::new(2500, 0));
        let mut parts = Request::<()>::default().into_parts().0;
        parts.extensions.insert(shared.clone());
        let socket = engine.create_session(ProtocolVersion::V4, TransportType::Polling, parts, false);
        assert_eq!(fill(&socket, 1000), 3, "refused at 3000 of the shared 2500 bytes, not at its own 10 000");
        assert_eq!(shared.queued(), 3000);
    }

    #[tokio::test]
    async fn reserve_refuses_best_effort_packets_at_half_the_queue_in_packets_too() {
        let config = EngineIoConfig::builder().max_buffer_size(8).build();
        let engine = Arc::new(EngineIo::new(Arc::new(StubHandler), config));
        let parts = Request::<()>::default().into_parts().0;
        let socket = engine.create_session(ProtocolVersion::V4, TransportType::Polling, parts, false);
        for _ in 0..4 {
            socket.reserve_best_effort().expect("room below half").emit(Str::from("t"));
        }
        assert!(socket.reserve_best_effort().is_err(), "4 of 8 packets: best effort refused");
        for _ in 0..4 {
            socket.reserve().expect("room for packets that must arrive").emit(Str::from("m"));
        }
        assert!(socket.reserve().is_err(), "8 of 8 packets");
    }

    #[tokio::test]
    async fn the_websocket_writer_gives_back_every_byte_it_takes() {
        let (_engine, socket) = session(TransportType::Websocket, 10_000, 100_000);
        // The writer waits for the queue's lock, as while a polling request holds it.
        let held = socket.internal_rx.lock().await;
        let taken = fill(&socket, 1000);
        assert_eq!(taken, 10, "refused once 10 000 bytes are queued");
        assert_eq!(socket.budget.queued(), 10_000);
        assert!(socket.reserve().is_err() && socket.emit("more").is_err());

        // A small pipe: the writer can take only part of the queue until the client reads.
        let (server, client) = tokio::io::duplex(1024);
        let server = WebSocketStream::from_raw_socket(server, Role::Server, None).await;
        let mut client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let (tx, _rx) = server.split();
        tokio::spawn(ws::forward_to_socket::<StubHandler, _>(socket.clone(), tx));
        drop(held);
        for _ in 0..taken {
            let frame = tokio::time::timeout(WAIT, client.next()).await.expect("a frame").unwrap().unwrap();
            assert_eq!(frame, Message::text(format!("4{}", "x".repeat(1000))));
        }
        assert_eq!(socket.budget.queued(), 0, "all of it was taken off the queue");
        assert_eq!(fill(&socket, 1000), 10, "a drained queue takes its whole budget again");
    }

    #[tokio::test]
    async fn long_polling_gives_back_every_byte_it_takes() {
        // Answers of at most 2500 bytes: each poll leaves a packet peeked for the next one.
        let (engine, socket) = session(TransportType::Polling, 10_000, 2500);
        let taken = fill(&socket, 1000);
        assert_eq!(taken, 10);
        assert_eq!(socket.budget.queued(), 10_000);

        let mut received = 0;
        while received < taken {
            let answer = polling::polling_req::<Full<Bytes>, _>(engine.clone(), ProtocolVersion::V4, socket.id);
            let answer = tokio::time::timeout(WAIT, answer).await.expect("an answer").expect("polling works");
            let body = answer.into_body().collect().await.expect("a body").to_bytes();
            received += body.split(|&b| b == 0x1e).filter(|packet| packet.starts_with(b"4")).count();
        }
        assert_eq!(received, taken);
        assert_eq!(socket.budget.queued(), 0, "all of it was taken off the queue");
        assert_eq!(fill(&socket, 1000), 10, "a drained queue takes its whole budget again");
    }
}
