//! Which addresses other machines can use to reach this server.

use std::net::{IpAddr, SocketAddr};

/// The URLs to share for a server bound to `bound`: for a wildcard bind, one per non-loopback
/// interface address (IPv4 first, IPv6 link-local skipped: it needs a zone to be usable in a URL).
/// `https` when the server speaks TLS.
pub fn join_urls(bound: SocketAddr, tls: bool) -> Vec<String> {
    let port = bound.port();
    let url = |ip: IpAddr| format!("{}://{}", if tls { "https" } else { "http" }, SocketAddr::new(ip, port));
    if !bound.ip().is_unspecified() {
        return vec![url(bound.ip())];
    }
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|iface| iface.ip())
        .filter(|ip| !ip.is_loopback() && !is_ipv6_link_local(ip))
        .filter(|ip| bound.is_ipv6() || ip.is_ipv4())
        .collect();
    ips.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    ips.dedup();
    ips.into_iter().map(url).collect()
}

fn is_ipv6_link_local(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_specific_address_is_its_own_url() {
        assert_eq!(join_urls("192.0.2.7:4000".parse().unwrap(), false), vec!["http://192.0.2.7:4000"]);
        // SocketAddr's Display brackets IPv6 addresses, as URLs need.
        assert_eq!(join_urls("[2001:db8::1]:80".parse().unwrap(), false), vec!["http://[2001:db8::1]:80"]);
        assert_eq!(join_urls("192.0.2.7:4000".parse().unwrap(), true), vec!["https://192.0.2.7:4000"]);
    }

    #[test]
    fn a_wildcard_bind_never_offers_loopback() {
        for url in join_urls("0.0.0.0:4000".parse().unwrap(), false) {
            assert!(!url.contains("127.0.0.1"), "{url}");
            assert!(url.ends_with(":4000"), "{url}");
        }
    }
}
