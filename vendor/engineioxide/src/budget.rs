//! Confab patch (see `vendor/README.md` in the Confab repository): the bytes waiting in one socket's
//! outgoing channel, held against a budget.
//!
//! The channel is bounded in packets only (`max_buffer_size`), so a client that stops reading could
//! make the server hold `max_buffer_size` times the largest packet. Bytes are added when a packet is
//! queued and taken off when a transport takes it from the channel (the websocket writer, the
//! long-polling payload encoder). Only message and binary payloads count: the control packets
//! (ping, noop, close) carry no data, and the heartbeat queues its pings without going through here.

use std::sync::atomic::{AtomicUsize, Ordering};

use engineioxide_core::Packet;

/// The bytes queued for one socket and the most it may hold.
#[derive(Debug)]
pub(crate) struct ByteBudget {
    queued: AtomicUsize,
    max: usize,
}

impl ByteBudget {
    pub(crate) fn new(max: usize) -> Self {
        Self { queued: AtomicUsize::new(0), max }
    }

    /// Whether another packet may be queued: not once the queue holds the budget or more. The size of
    /// the next packet is not known yet when socketioxide reserves its place (it encodes after), so
    /// the queue can go over by one packet per concurrent sender.
    pub(crate) fn has_room(&self) -> bool {
        self.queued() < self.max
    }

    /// Whether a best-effort packet may be queued: only while the queue holds less than half the
    /// budget, so such packets are refused long before they could make a real one not fit.
    pub(crate) fn has_room_for_best_effort(&self) -> bool {
        self.queued() < self.max / 2
    }

    /// `packets` were put in the channel.
    pub(crate) fn add(&self, packets: &[Packet]) {
        self.queued.fetch_add(size(packets), Ordering::Relaxed);
    }

    /// `packets` were taken off the channel by a transport.
    pub(crate) fn take(&self, packets: &[Packet]) {
        self.queued.fetch_sub(size(packets), Ordering::Relaxed);
    }

    /// The bytes waiting in the channel now.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
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
        let budget = super::ByteBudget::new(1000);
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
