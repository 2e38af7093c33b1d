//! Turning what the user typed ("localhost:3000", "chat.example.org", "https://…") into the base URL
//! rust_socketio expects.

use confab_protocol::DEFAULT_PORT;

use super::error::{ClientError, Result};

/// The normalised server URL: scheme, host and port, path `/` (socket.io adds `/socket.io/`).
/// Also used as the key of the "recent servers" list, so two spellings of one server are one entry.
pub fn normalize_server_url(input: &str) -> Result<String> {
    let trimmed = input.trim();
    let invalid = || ClientError::InvalidAddress(trimmed.to_string());
    if trimmed.is_empty() || trimmed.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    // Without a scheme, `url` would read "localhost:3000" as scheme "localhost"; a chat server
    // without TLS on a LAN is the common case, so plain http is the default.
    let with_scheme = if trimmed.contains("://") { trimmed.to_string() } else { format!("http://{trimmed}") };
    let mut url = url::Url::parse(&with_scheme).map_err(|_| invalid())?;
    // ws:// and wss:// are what some people call a socket server; socket.io starts over HTTP(S).
    let scheme = match url.scheme() {
        "http" | "ws" => "http",
        "https" | "wss" => "https",
        _ => return Err(invalid()),
    };
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid());
    }
    url.set_scheme(scheme).map_err(|_| invalid())?;
    // A bare host means a Confab server on its default port; a URL with a scheme means what it says
    // (https://chat.example.org is port 443, typically behind a reverse proxy).
    if !trimmed.contains("://") && url.port().is_none() {
        url.set_port(Some(DEFAULT_PORT)).map_err(|_| invalid())?;
    }
    // `user:password@host` must not end up in the recent servers list or the logs; Confab has no use
    // for HTTP credentials (the room password goes in the handshake).
    url.set_username("").map_err(|_| invalid())?;
    url.set_password(None).map_err(|_| invalid())?;
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.to_string())
}

/// Host (without IPv6 brackets, as `TcpStream::connect` wants it) and port of a normalised URL,
/// for the reachability probe.
pub(crate) fn host_port(url: &str) -> Option<(String, u16)> {
    let url = url::Url::parse(url).ok()?;
    let host = match url.host()? {
        url::Host::Ipv6(address) => address.to_string(),
        other => other.to_string(),
    };
    Some((host, url.port_or_known_default()?))
}

/// `host:port` as people write it (IPv6 in brackets), for messages to the user.
pub(crate) fn display_host_port(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .unwrap_or_else(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_spellings() {
        assert_eq!(normalize_server_url("localhost:3000").unwrap(), "http://localhost:3000/");
        assert_eq!(normalize_server_url(" http://10.0.0.2:8080 ").unwrap(), "http://10.0.0.2:8080/");
        assert_eq!(normalize_server_url("https://chat.example.org").unwrap(), "https://chat.example.org/");
        assert_eq!(normalize_server_url("ws://h:1/socket.io/?x=1").unwrap(), "http://h:1/");
        assert_eq!(normalize_server_url("[::1]:3000").unwrap(), "http://[::1]:3000/");
    }

    #[test]
    fn credentials_in_a_typed_url_are_dropped() {
        assert_eq!(normalize_server_url("http://alice:hunter2@chat.lan:7000").unwrap(), "http://chat.lan:7000/");
        assert_eq!(normalize_server_url("bob@chat.lan:7000").unwrap(), "http://chat.lan:7000/");
    }

    #[test]
    fn a_bare_host_means_the_default_chat_port() {
        assert_eq!(normalize_server_url("127.0.0.1").unwrap(), format!("http://127.0.0.1:{DEFAULT_PORT}/"));
        assert_eq!(normalize_server_url("chat.lan").unwrap(), format!("http://chat.lan:{DEFAULT_PORT}/"));
        assert_eq!(normalize_server_url("[::1]").unwrap(), format!("http://[::1]:{DEFAULT_PORT}/"));
        assert_eq!(normalize_server_url("http://chat.lan").unwrap(), "http://chat.lan/");
    }

    #[test]
    fn refuses_what_cannot_be_a_server() {
        for bad in ["", "   ", "ftp://x", "http://", "a b:3000", "localhost:notaport"] {
            assert!(
                matches!(normalize_server_url(bad), Err(ClientError::InvalidAddress(_))),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn host_port_uses_default_ports() {
        assert_eq!(host_port("https://x.org/"), Some(("x.org".into(), 443)));
        assert_eq!(host_port("http://x.org:81/"), Some(("x.org".into(), 81)));
        assert_eq!(host_port("http://[::1]:81/"), Some(("::1".into(), 81)));
        assert_eq!(display_host_port("http://[::1]:81/"), "[::1]:81");
    }
}
