//! Whether a recent server still answers: a TCP connection to its address within a short time.
//! The connect screen marks the ones that do not (a stopped chat, a laptop that left the network),
//! so they can be told apart and forgotten, without deleting anything by itself.

use std::time::Duration;

use tokio::net::TcpStream;

/// Long enough for a LAN or a nearby server, short enough to mark a dead entry at once.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// True when something accepts connections at `server`'s host and port (a URL as the recent list
/// keeps it). A name that does not resolve, a refused or a silent port: false.
pub async fn answers(server: &str) -> bool {
    let Ok(url) = url::Url::parse(server) else { return false };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else { return false };
    // IPv6 literals come bracketed from `url`; TcpStream wants them bare.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    matches!(tokio::time::timeout(PROBE_TIMEOUT, TcpStream::connect((host, port))).await, Ok(Ok(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_listening_server_answers_and_a_closed_port_or_a_bad_url_does_not() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(answers(&format!("http://127.0.0.1:{port}/")).await);
        drop(listener);
        assert!(!answers(&format!("http://127.0.0.1:{port}/")).await);
        assert!(!answers("not a url").await);
        assert!(!answers("http://name.invalid:7878/").await);
    }
}
