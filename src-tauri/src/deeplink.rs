//! `confab://` links: `confab://join?server=<address>` asks the app to open the connect screen with
//! that server filled in (the page asks before joining: a link never joins by itself). The hosting
//! bar offers such a link for its join URL. Anything else with the scheme is refused.

use tauri::{AppHandle, Manager};
use tauri_plugin_deep_link::DeepLinkExt;

use crate::client::normalize_server_url;
use crate::desktop::{show_window, Desktop, DesktopEvent};

pub const SCHEME: &str = "confab";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("This link is not a Confab join link (confab://join?server=…).")]
    NotAJoinLink,
    #[error("The server in this link (“{0}”) is not a chat server address.")]
    BadServer(String),
}

/// The server a `confab://join?server=…` link asks to join, normalised like a typed address
/// (`host:port`, `http://…`, `https://…`).
pub fn parse_join(link: &str) -> Result<String, LinkError> {
    let url = url::Url::parse(link.trim()).map_err(|_| LinkError::NotAJoinLink)?;
    // Exactly `confab://join?server=X`: no user, port, path, fragment or other parameters, so a link
    // cannot smuggle in anything the page would act on.
    let bare =
        url.username().is_empty() && url.password().is_none() && url.port().is_none() && url.fragment().is_none();
    if url.scheme() != SCHEME || url.host_str() != Some("join") || !matches!(url.path(), "" | "/") || !bare {
        return Err(LinkError::NotAJoinLink);
    }
    let mut pairs = url.query_pairs();
    let (Some((key, server)), None) = (pairs.next(), pairs.next()) else { return Err(LinkError::NotAJoinLink) };
    if key != "server" || server.is_empty() {
        return Err(LinkError::NotAJoinLink);
    }
    normalize_server_url(&server).map_err(|_| LinkError::BadServer(server.into_owned()))
}

/// The `confab://` link that joins `server` (a join URL).
pub fn join_link(server: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(server.as_bytes()).collect();
    format!("{SCHEME}://join?server={encoded}")
}

/// Hands `confab://` links to the page: the one this instance was started with, and those of later
/// starts (the single-instance plugin passes a second start's arguments on to the deep-link plugin).
pub fn listen(app: &AppHandle) {
    let links = app.deep_link();
    for url in links.get_current().ok().flatten().unwrap_or_default() {
        open(app, url.as_str());
    }
    let handle = app.clone();
    links.on_open_url(move |event| {
        for url in event.urls() {
            open(&handle, url.as_str());
        }
    });
}

fn open(app: &AppHandle, link: &str) {
    let event = match parse_join(link) {
        Ok(server) => DesktopEvent::Join { server },
        Err(e) => DesktopEvent::BadLink { message: e.to_string() },
    };
    app.state::<Desktop>().tell_page(event);
    show_window(app);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_links_with_http_https_or_host_port_give_the_normalised_server() {
        assert_eq!(
            parse_join("confab://join?server=https%3A%2F%2F192.168.1.20%3A7878").unwrap(),
            "https://192.168.1.20:7878/"
        );
        assert_eq!(parse_join("confab://join?server=http://chat.example.org").unwrap(), "http://chat.example.org/");
        assert_eq!(parse_join("confab://join?server=10.0.0.5:9000").unwrap(), "http://10.0.0.5:9000/");
        assert_eq!(
            parse_join("confab://join/?server=10.0.0.5").unwrap(),
            "http://10.0.0.5:7878/",
            "port 7878 by default"
        );
        assert_eq!(parse_join(" confab://join?server=%5B%3A%3A1%5D%3A7878 ").unwrap(), "http://[::1]:7878/");
    }

    #[test]
    fn anything_else_is_refused() {
        for link in [
            "",
            "confab:",
            "confab://join",
            "confab://join?",
            "confab://join?server=",
            "confab://join?host=10.0.0.5",
            "confab://join?server=10.0.0.5&name=eve",
            "confab://join?name=eve&server=10.0.0.5",
            "confab://leave?server=10.0.0.5",
            "confab://join/now?server=10.0.0.5",
            "confab://join:80?server=10.0.0.5",
            "confab://eve@join?server=10.0.0.5",
            "confab://join?server=10.0.0.5#x",
            "https://join?server=10.0.0.5",
            "CONFAB-X://join?server=10.0.0.5",
        ] {
            assert_eq!(parse_join(link), Err(LinkError::NotAJoinLink), "{link:?}");
        }
        for (link, server) in [
            ("confab://join?server=ftp%3A%2F%2Fexample.org", "ftp://example.org"),
            ("confab://join?server=javascript:alert(1)", "javascript:alert(1)"),
            ("confab://join?server=a%20b", "a b"),
            ("confab://join?server=file%3A%2F%2F%2Fetc%2Fpasswd", "file:///etc/passwd"),
        ] {
            assert_eq!(parse_join(link), Err(LinkError::BadServer(server.into())), "{link:?}");
        }
    }

    #[test]
    fn the_link_made_for_a_join_url_opens_that_url() {
        for server in ["https://192.168.1.20:7878/", "https://[fe80::1]:7878/", "http://chat.example.org/?a=b&c"] {
            let link = join_link(server);
            assert!(
                link.starts_with("confab://join?server=http") && !link[21..].contains(['/', ':', '&', '?']),
                "{link}"
            );
            assert_eq!(parse_join(&link).unwrap(), normalize_server_url(server).unwrap(), "{link}");
        }
    }
}
