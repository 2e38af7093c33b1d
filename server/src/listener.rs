//! The TCP listener with a cap on open connections per IP address and in total, and on how fast one
//! address may open new ones (issue 10 findings 4 and 7): a connection over a cap or the rate is
//! closed at once, before any HTTP is read, so one host can neither use up the server's file
//! descriptors and lock everyone else out, nor make it do handshakes as fast as it can connect.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use confab_protocol::AddressLimits;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// Open connections, by address and in total.
#[derive(Debug, Default)]
struct Open {
    by_address: HashMap<IpAddr, usize>,
    total: usize,
}

/// How long a connection may stay silent, and how long its first request head may take: hyper has
/// no header timeout without a timer, so a client sending nothing (or a byte now and then) held its
/// connection forever (issue 10 finding 4).
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// The first request's head (up to its blank line) must have arrived within this.
    pub first_request: Duration,
    /// Nothing read for this long closes the connection (engine.io pings make a live client talk
    /// every ping interval).
    pub idle: Duration,
    /// Whether the stream is plain HTTP, so the first request's head can be seen (not under TLS).
    pub plain_http: bool,
}

/// Accepts connections within the caps; see the module comment.
pub struct CappedListener {
    inner: TcpListener,
    limits: AddressLimits,
    deadlines: Deadlines,
    open: Arc<Mutex<Open>>,
    /// New connections per address (`None`: no rate limit).
    rate: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

/// Addresses the connection rate limiter remembers before it forgets the ones back to a full burst.
const SWEEP_ABOVE: usize = 10_000;

impl CappedListener {
    pub fn new(inner: TcpListener, limits: AddressLimits, deadlines: Deadlines) -> Self {
        let rate = NonZeroU32::new(limits.connections_per_second).map(|rate| {
            let burst = NonZeroU32::new(limits.connection_burst).unwrap_or(NonZeroU32::MIN);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Self { inner, limits, deadlines, open: Arc::default(), rate }
    }

    /// Takes a slot for `ip`, or `None` when it connects too fast or a cap is reached.
    fn admit(&self, ip: IpAddr) -> Option<Slot> {
        if let Some(rate) = &self.rate {
            if rate.len() > SWEEP_ABOVE {
                rate.retain_recent();
            }
            rate.check_key(&ip).ok()?;
        }
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let from_ip = open.by_address.get(&ip).copied().unwrap_or(0);
        let over = |cap: usize, count: usize| cap != 0 && count >= cap;
        if over(self.limits.max_connections, open.total) || over(self.limits.max_connections_per_address, from_ip) {
            return None;
        }
        open.total += 1;
        *open.by_address.entry(ip).or_default() += 1;
        Some(Slot { ip, open: self.open.clone() })
    }
}

impl axum::serve::Listener for CappedListener {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
            let Some(slot) = self.admit(addr.ip()) else {
                // Debug only: a flood is thousands a second, and the log must not become the attack.
                tracing::debug!(peer = %addr.ip(), "connection refused: too many open or too fast");
                continue; // dropping the stream closes it
            };
            // Chat frames are small and latency-bound: without TCP_NODELAY, Nagle's algorithm meeting
            // the client's delayed ACK held some deliveries back ~40 ms (the chat benchmark's p99).
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
            return (Counted::new(stream, slot, self.deadlines), addr);
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// The peer address of a connection, as axum's `ConnectInfo` (`into_make_service_with_connect_info`),
/// and the room passwords refused on it (a websocket's or a long-polling session's, as socketioxide
/// keeps the request that opened it): after a few the connection is closed (auth.rs).
#[derive(Debug, Clone)]
pub struct PeerAddr(pub SocketAddr, Arc<AtomicU32>);

impl PeerAddr {
    pub fn new(addr: SocketAddr) -> Self {
        Self(addr, Arc::default())
    }

    /// Counts one more refused password on this connection.
    pub fn password_refused(&self) {
        self.1.fetch_add(1, Ordering::Relaxed);
    }

    /// The passwords refused on this connection so far.
    pub fn passwords_refused(&self) -> u32 {
        self.1.load(Ordering::Relaxed)
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, CappedListener>> for PeerAddr {
    fn connect_info(stream: axum::serve::IncomingStream<'_, CappedListener>) -> Self {
        PeerAddr::new(*stream.remote_addr())
    }
}

/// One admitted connection's place under the caps, given back when the connection is dropped.
#[derive(Debug)]
struct Slot {
    ip: IpAddr,
    open: Arc<Mutex<Open>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_address.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.by_address.remove(&self.ip);
            }
        }
    }
}

/// A TCP stream that holds its slot for as long as it lives, and closes when a deadline passes.
#[derive(Debug)]
pub struct Counted {
    stream: TcpStream,
    _slot: Slot,
    deadlines: Deadlines,
    /// The next moment the connection is given up: the first request's deadline, then idle ones.
    deadline: Pin<Box<Sleep>>,
    /// How much of the first request head's end (`\r\n\r\n`) the bytes read so far match;
    /// `None` once it was seen (or when it cannot be seen, under TLS).
    head_end: Option<usize>,
}

impl Counted {
    fn new(stream: TcpStream, slot: Slot, deadlines: Deadlines) -> Self {
        let first = if deadlines.plain_http { deadlines.first_request } else { deadlines.idle };
        Self {
            stream,
            _slot: slot,
            deadlines,
            deadline: Box::pin(tokio::time::sleep(first)),
            head_end: deadlines.plain_http.then_some(0),
        }
    }

    /// Bytes arrived: follow the first request head, and push the deadline out once it is complete.
    fn received(&mut self, bytes: &[u8]) {
        if let Some(matched) = self.head_end.as_mut() {
            const END: &[u8] = b"\r\n\r\n";
            for &byte in bytes {
                *matched = if byte == END[*matched] { *matched + 1 } else { usize::from(byte == END[0]) };
                if *matched == END.len() {
                    self.head_end = None;
                    break;
                }
            }
        }
        // Moved at most about once a second: a busy connection reads far more often than that.
        let next = Instant::now() + self.deadlines.idle;
        if self.head_end.is_none() && next > self.deadline.deadline() + Duration::from_secs(1) {
            self.deadline.as_mut().reset(next);
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                self.received(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "client too slow or silent")))
                }
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEADLINES: Deadlines =
        Deadlines { first_request: Duration::from_secs(10), idle: Duration::from_secs(60), plain_http: true };

    async fn listener(limits: AddressLimits) -> CappedListener {
        CappedListener::new(TcpListener::bind("127.0.0.1:0").await.unwrap(), limits, DEADLINES)
    }

    #[tokio::test]
    async fn slots_are_capped_per_address_and_in_total_and_given_back() {
        let capped =
            listener(AddressLimits { max_connections_per_address: 2, max_connections: 3, ..Default::default() }).await;
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = capped.admit(a).expect("first");
        let _second = capped.admit(a).expect("second");
        assert!(capped.admit(a).is_none(), "per-address cap");
        let _third = capped.admit(b).expect("another address");
        assert!(capped.admit(b).is_none(), "total cap");
        drop(first);
        assert!(capped.admit(b).is_some(), "a closed connection frees its slot");
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_or_slow_client_is_dropped_and_a_talking_one_is_not() {
        let deadlines =
            Deadlines { first_request: Duration::from_secs(10), idle: Duration::from_secs(60), plain_http: true };
        let capped =
            CappedListener::new(TcpListener::bind("127.0.0.1:0").await.unwrap(), AddressLimits::default(), deadlines);
        let addr = capped.inner.local_addr().unwrap();
        let mut capped = capped;
        let connect = |_: ()| tokio::net::TcpStream::connect(addr);
        let (slow, talking) = (connect(()).await.unwrap(), connect(()).await.unwrap());
        let (mut slow_side, _) = axum::serve::Listener::accept(&mut capped).await;
        let (mut talking_side, _) = axum::serve::Listener::accept(&mut capped).await;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut slow, mut talking) = (slow, talking);
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap(); // never finishes its head
        talking.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 256];
        assert!(slow_side.read(&mut buf).await.unwrap() > 0);
        assert!(talking_side.read(&mut buf).await.unwrap() > 0);
        // Ten seconds later the unfinished head is given up; the finished one has its idle minute.
        let slow_read = slow_side.read(&mut buf).await;
        assert_eq!(slow_read.unwrap_err().kind(), io::ErrorKind::TimedOut);
        talking.write_all(b"x").await.unwrap();
        assert_eq!(talking_side.read(&mut buf).await.unwrap(), 1, "still open after the head deadline");
        let idle_read = talking_side.read(&mut buf).await;
        assert_eq!(idle_read.unwrap_err().kind(), io::ErrorKind::TimedOut, "a minute of silence");
    }

    #[tokio::test]
    async fn new_connections_are_rate_limited_per_address() {
        let limits = AddressLimits { connections_per_second: 1, connection_burst: 3, ..Default::default() };
        let capped = listener(limits).await;
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let burst: Vec<Slot> = (0..3).map(|_| capped.admit(a).expect("within the burst")).collect();
        drop(burst);
        assert!(capped.admit(a).is_none(), "over the rate, though none of its connections is open");
        assert!(capped.admit(b).is_some(), "another address is not slowed down");
    }

    #[tokio::test]
    async fn zero_means_no_cap() {
        let limits = AddressLimits {
            max_connections_per_address: 0,
            max_connections: 0,
            connections_per_second: 0,
            ..Default::default()
        };
        let capped = listener(limits).await;
        let ip = "10.0.0.1".parse().unwrap();
        let slots: Vec<Slot> = (0..1000).map(|_| capped.admit(ip).expect("no cap")).collect();
        assert_eq!(slots.len(), 1000);
    }
}
