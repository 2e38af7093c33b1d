//! The TCP listener with a cap on open connections per IP address and in total (issue 10 finding
//! 4): a connection over a cap is closed at once, before any HTTP is read, so one host cannot use up
//! the server's file descriptors and lock everyone else out.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use confab_protocol::AddressLimits;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Open connections, by address and in total.
#[derive(Debug, Default)]
struct Open {
    by_address: HashMap<IpAddr, usize>,
    total: usize,
}

/// Accepts connections within the caps; see the module comment.
pub struct CappedListener {
    inner: TcpListener,
    limits: AddressLimits,
    open: Arc<Mutex<Open>>,
}

impl CappedListener {
    pub fn new(inner: TcpListener, limits: AddressLimits) -> Self {
        Self { inner, limits, open: Arc::default() }
    }

    /// Takes a slot for `ip`, or `None` when a cap is reached.
    fn admit(&self, ip: IpAddr) -> Option<Slot> {
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
                tracing::warn!(peer = %addr.ip(), "connection refused: too many open connections");
                continue; // dropping the stream closes it
            };
            // Chat frames are small and latency-bound: without TCP_NODELAY, Nagle's algorithm meeting
            // the client's delayed ACK held some deliveries back ~40 ms (the chat benchmark's p99).
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
            return (Counted { stream, _slot: slot }, addr);
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// The peer address of a connection, as axum's `ConnectInfo` (`into_make_service_with_connect_info`).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, CappedListener>> for PeerAddr {
    fn connect_info(stream: axum::serve::IncomingStream<'_, CappedListener>) -> Self {
        PeerAddr(*stream.remote_addr())
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

/// A TCP stream that holds its slot for as long as it lives.
#[derive(Debug)]
pub struct Counted {
    stream: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
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

    async fn listener(limits: AddressLimits) -> CappedListener {
        CappedListener::new(TcpListener::bind("127.0.0.1:0").await.unwrap(), limits)
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

    #[tokio::test]
    async fn zero_means_no_cap() {
        let capped =
            listener(AddressLimits { max_connections_per_address: 0, max_connections: 0, ..Default::default() }).await;
        let ip = "10.0.0.1".parse().unwrap();
        let slots: Vec<Slot> = (0..1000).map(|_| capped.admit(ip).expect("no cap")).collect();
        assert_eq!(slots.len(), 1000);
    }
}
