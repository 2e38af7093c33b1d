//! Which web pages may talk to this server (issue 10 finding 6). A page on another site in a LAN
//! user's browser could open a websocket to a hosted chat (browsers allow cross-origin websockets),
//! and a site whose DNS name is re-pointed at a LAN address (DNS rebinding) is even same-origin. So:
//! - `Host` must name this server: an IP address, `localhost`, this machine's name (`name`,
//!   `name.local`), or a name the operator allowed (a reverse proxy's public name);
//! - `Origin`, when a browser sends one, must be this same host, or an allowed origin.
//!
//! Programs other than browsers (the app, python-socketio, curl) send no `Origin`: they pass.

use std::net::IpAddr;
use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// The allowed names and origins, built once at start.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    /// Host names (lower case, without port) accepted besides IP literals and `localhost`.
    hosts: Arc<Vec<String>>,
    /// Full origins (`https://chat.example.org`) accepted besides this server's own.
    origins: Arc<Vec<String>>,
}

impl OriginPolicy {
    /// `extra_hosts`: names a reverse proxy forwards (their origins are allowed too, http and https).
    pub fn new(extra_hosts: &[String], extra_origins: &[String]) -> Self {
        let machine = gethostname::gethostname().to_string_lossy().to_lowercase();
        let mut hosts = vec![format!("{machine}.local"), machine];
        hosts.extend(extra_hosts.iter().map(|h| h.trim().to_lowercase()));
        let origins = extra_origins.iter().map(|o| o.trim().trim_end_matches('/').to_lowercase()).collect();
        Self { hosts: Arc::new(hosts), origins: Arc::new(origins) }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = host_without_port(host).to_lowercase();
        let name = name.trim_start_matches('[').trim_end_matches(']');
        name.parse::<IpAddr>().is_ok() || name == "localhost" || self.hosts.iter().any(|h| h == name)
    }

    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim_end_matches('/').to_lowercase();
        if self.origins.contains(&origin) {
            return true;
        }
        // Same host and port as the request: the page this server served.
        let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
        host.is_some_and(|host| authority == host.to_lowercase())
            || self.hosts.iter().any(|h| authority == h || authority.starts_with(&format!("{h}:")))
    }

    /// Why a request is refused, or `None` when it may pass.
    pub fn refusal(&self, host: Option<&str>, origin: Option<&str>) -> Option<&'static str> {
        if host.is_some_and(|host| !self.host_allowed(host)) {
            return Some("unknown host name: start the server with --allow-host for it");
        }
        match origin {
            Some(origin) if origin != "null" && !self.origin_allowed(origin, host) => {
                Some("cross-origin request refused: start the server with --allow-origin for this site")
            }
            Some("null") => Some("cross-origin request refused"),
            _ => None,
        }
    }
}

/// `example.org:7878` → `example.org`; `[::1]:7878` → `[::1]`.
fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.contains(':') => name,
        _ => host,
    }
}

/// Middleware: refuses requests the policy does not allow with 403 and the reason.
pub async fn check(State(policy): State<OriginPolicy>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let Some(reason) = policy.refusal(host, origin) {
        tracing::info!(?host, ?origin, "request refused: {reason}");
        return (StatusCode::FORBIDDEN, reason).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> OriginPolicy {
        OriginPolicy::new(&["chat.example.org".into()], &["https://app.example.net".into()])
    }

    #[test]
    fn addresses_localhost_and_allowed_names_pass() {
        let p = policy();
        for host in [
            "127.0.0.1:7878",
            "192.168.1.20:7878",
            "[::1]:7878",
            "localhost:7878",
            "CHAT.example.org",
            "chat.example.org:443",
        ] {
            assert_eq!(p.refusal(Some(host), None), None, "{host}");
        }
        assert_eq!(p.refusal(None, None), None, "HTTP/1.0 without Host");
    }

    #[test]
    fn a_rebound_name_is_refused() {
        assert!(policy().refusal(Some("evil.example:7878"), Some("http://evil.example:7878")).is_some());
    }

    #[test]
    fn only_the_same_host_or_an_allowed_origin_may_send_an_origin() {
        let p = policy();
        assert_eq!(p.refusal(Some("192.168.1.20:7878"), Some("http://192.168.1.20:7878")), None);
        assert_eq!(p.refusal(Some("chat.example.org"), Some("https://chat.example.org")), None);
        assert_eq!(p.refusal(Some("127.0.0.1:7878"), Some("https://app.example.net/")), None);
        assert!(p.refusal(Some("192.168.1.20:7878"), Some("https://evil.example")).is_some());
        assert!(p.refusal(Some("192.168.1.20:7878"), Some("http://192.168.1.20:9999")).is_some(), "another port");
        assert!(p.refusal(Some("127.0.0.1:7878"), Some("null")).is_some(), "sandboxed or file pages");
    }
}
