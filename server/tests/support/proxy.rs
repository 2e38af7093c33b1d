//! A TCP proxy whose link can be cut and restored: one node cut off from Redis while the others are
//! not (a network partition), which stopping Redis itself cannot show.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    pub addr: SocketAddr,
    up: watch::Sender<bool>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, _) = watch::channel(true);
        let links = up.subscribe();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *links.borrow() {
                    tokio::spawn(pipe(client, target, links.clone()));
                } // else dropped: refused while cut
            }
        });
        Proxy { addr, up }
    }

    /// Cuts every link and refuses new ones (`false`), or lets them through again.
    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

async fn pipe(mut client: TcpStream, target: SocketAddr, mut up: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(target).await else { return };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = up.wait_for(|up| !*up) => {} // both ends dropped: cut
    }
}
