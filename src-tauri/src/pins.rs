//! Certificates pinned on first use (issue 10, TLS): the SHA-256 fingerprint of each `https` chat
//! server whose certificate the system does not vouch for (a LAN chat's own certificate), kept per
//! server in a small JSON file in the app's config directory, readable by the user only. Never in
//! the webview's storage: the page only ever hears a fingerprint in order to show it.
//!
//! [`plan`] decides how to trust a server from what is known about it: the pin, the fingerprint a
//! found chat announced over mDNS, and a fingerprint the user explicitly accepted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::client::{ClientError, Trust};

const FILE_NAME: &str = "certificate-pins.json";

/// Normalised server URL (`https://host:port/`) → fingerprint (`AB:CD:…`, upper case).
pub type Pins = BTreeMap<String, String>;

pub fn path_in(config_dir: &Path) -> PathBuf {
    config_dir.join(FILE_NAME)
}

/// A missing or damaged file holds no pins (the next join asks again, or is refused if the server
/// presents something unexpected: never silently trusted).
pub fn load(path: &Path) -> Pins {
    std::fs::read(path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
}

pub fn get(path: &Path, server: &str) -> Option<String> {
    load(path).remove(server)
}

/// Pins `fingerprint` for `server`, replacing an earlier pin.
pub fn pin(path: &Path, server: &str, fingerprint: &str) -> std::io::Result<()> {
    let mut pins = load(path);
    pins.insert(server.to_owned(), fingerprint.to_ascii_uppercase());
    save(path, &pins)
}

pub fn forget(path: &Path, server: &str) -> std::io::Result<()> {
    let mut pins = load(path);
    if pins.remove(server).is_none() {
        return Ok(());
    }
    save(path, &pins)
}

fn save(path: &Path, pins: &Pins) -> std::io::Result<()> {
    crate::private_file::write_json(path, pins)
}

/// `AB:CD:…` (32 pairs of hex digits), in upper case; `None` for anything else.
pub fn parse_fingerprint(text: &str) -> Option<String> {
    let pairs: Vec<&str> = text.trim().split(':').collect();
    let valid = pairs.len() == 32 && pairs.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    valid.then(|| text.trim().to_ascii_uppercase())
}

/// What is known about the server being joined.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Known<'a> {
    /// The server speaks `https`.
    pub https: bool,
    /// It is the chat this app hosts: its fingerprint (this machine's own certificate).
    pub hosted: Option<&'a str>,
    /// The fingerprint pinned for it earlier.
    pub pinned: Option<&'a str>,
    /// It was picked from the chats found on the network, which announced this fingerprint.
    pub announced: Option<&'a str>,
    /// The user explicitly trusts this fingerprint (answered "Trust" after comparing it with the
    /// host's, or chose to replace a pin after the host said they made a new certificate).
    pub accepted: Option<&'a str>,
}

/// How to join: the trust to connect with, and the fingerprint to pin once the server has been
/// reached with it (`None`: leave the pins as they are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub trust: Trust,
    pub pin: Option<String>,
}

/// Decides the trust of a join. A found chat that announces another certificate than the pinned
/// one is refused like a server presenting another certificate: it may be an impostor on the LAN.
pub fn plan(known: &Known<'_>) -> Result<Plan, ClientError> {
    let keep = |trust| Ok(Plan { trust, pin: None });
    if !known.https {
        return keep(Trust::System);
    }
    if let Some(own) = known.hosted {
        // This machine's own certificate: nothing to remember.
        return keep(Trust::Pinned(own.to_owned()));
    }
    if let Some(accepted) = known.accepted {
        return Ok(Plan { trust: Trust::Pinned(accepted.to_owned()), pin: Some(accepted.to_ascii_uppercase()) });
    }
    match (known.pinned, known.announced) {
        (Some(pinned), Some(announced)) if !pinned.eq_ignore_ascii_case(announced) => {
            Err(ClientError::CertificateChanged { expected: pinned.to_owned(), presented: announced.to_owned() })
        }
        (Some(pinned), _) => keep(Trust::Pinned(pinned.to_owned())),
        (None, Some(announced)) => {
            Ok(Plan { trust: Trust::Pinned(announced.to_owned()), pin: Some(announced.to_ascii_uppercase()) })
        }
        // Public certificates (renewed every few months) are the system's business, never pinned.
        (None, None) => keep(Trust::System),
    }
}

/// Whether the outcome of a join shows the server was reached with the planned certificate, so the
/// pin may be kept: it joined, or the chat server itself answered (a password is needed, the name is
/// taken, ...). A user who trusted a certificate is not asked again because the password was wrong.
pub fn reached_the_server(outcome: Result<(), &ClientError>) -> bool {
    match outcome {
        Ok(()) => true,
        Err(e) => matches!(
            e,
            ClientError::PasswordRequired
                | ClientError::WrongPassword
                | ClientError::TooManyPasswordAttempts
                | ClientError::NameRejected(_)
                | ClientError::ConnectionRefused(_)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA";
    const B: &str = "BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB";

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("confab-pins-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn pins_are_kept_per_server_replaced_and_forgotten() {
        let dir = temp_dir("file");
        let path = path_in(&dir);
        assert_eq!(get(&path, "https://h:1/"), None, "no file: no pin");
        pin(&path, "https://h:1/", &A.to_lowercase()).unwrap();
        pin(&path, "https://h:2/", B).unwrap();
        assert_eq!(get(&path, "https://h:1/").as_deref(), Some(A), "kept in upper case");
        assert_eq!(get(&path, "https://h:2/").as_deref(), Some(B));
        pin(&path, "https://h:1/", B).unwrap();
        assert_eq!(get(&path, "https://h:1/").as_deref(), Some(B), "replaced");
        forget(&path, "https://h:1/").unwrap();
        assert_eq!(get(&path, "https://h:1/"), None);
        assert_eq!(get(&path, "https://h:2/").as_deref(), Some(B), "the other server keeps its pin");
        forget(&path, "https://nowhere:3/").unwrap();
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(load(&path), Pins::new(), "a damaged file holds no pins");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("mode");
        let path = path_in(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&path, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        pin(&path, "https://h:1/", A).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_whole_sha256_fingerprints_are_taken() {
        assert_eq!(parse_fingerprint(&A.to_lowercase()).as_deref(), Some(A));
        for bad in ["", "AA", &A[..A.len() - 3], &format!("{A}:AA"), &A.replace(':', ""), &A.replacen("AA", "ZZ", 1)] {
            assert_eq!(parse_fingerprint(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn plain_http_and_public_certificates_use_the_system_and_pin_nothing() {
        assert_eq!(plan(&Known::default()), Ok(Plan { trust: Trust::System, pin: None }));
        let typed = Known { https: true, ..Known::default() };
        assert_eq!(plan(&typed), Ok(Plan { trust: Trust::System, pin: None }));
    }

    #[test]
    fn the_hosted_chat_is_joined_with_this_machines_certificate_and_never_pinned() {
        let own = Known { https: true, hosted: Some(A), pinned: Some(B), ..Known::default() };
        assert_eq!(plan(&own), Ok(Plan { trust: Trust::Pinned(A.into()), pin: None }));
    }

    #[test]
    fn a_found_chat_is_pinned_to_its_announced_fingerprint_without_asking() {
        let found = Known { https: true, announced: Some(A), ..Known::default() };
        assert_eq!(plan(&found), Ok(Plan { trust: Trust::Pinned(A.into()), pin: Some(A.into()) }));
        let again = Known { pinned: Some(A), ..found.clone() };
        assert_eq!(plan(&again), Ok(Plan { trust: Trust::Pinned(A.into()), pin: None }));
        let lower = Known { pinned: Some(A), announced: Some(&A.to_lowercase()), ..found };
        assert_eq!(plan(&lower), Ok(Plan { trust: Trust::Pinned(A.into()), pin: None }));
    }

    #[test]
    fn a_found_chat_announcing_another_certificate_than_the_pin_is_refused() {
        let impostor = Known { https: true, pinned: Some(A), announced: Some(B), ..Known::default() };
        assert_eq!(plan(&impostor), Err(ClientError::CertificateChanged { expected: A.into(), presented: B.into() }));
    }

    #[test]
    fn a_pinned_server_is_held_to_its_pin_until_the_user_replaces_it() {
        let typed = Known { https: true, pinned: Some(A), ..Known::default() };
        assert_eq!(plan(&typed), Ok(Plan { trust: Trust::Pinned(A.into()), pin: None }));
        let replaced = Known { accepted: Some(B), ..typed.clone() };
        assert_eq!(plan(&replaced), Ok(Plan { trust: Trust::Pinned(B.into()), pin: Some(B.into()) }));
        // Accepted after the question for an unknown certificate.
        let first = Known { https: true, accepted: Some(&B.to_lowercase()), ..Known::default() };
        assert_eq!(plan(&first).unwrap().pin.as_deref(), Some(B));
    }

    #[test]
    fn a_pin_is_kept_only_once_the_chat_server_itself_answered() {
        assert!(reached_the_server(Ok(())));
        for answered in
            [ClientError::WrongPassword, ClientError::PasswordRequired, ClientError::NameRejected("x".into())]
        {
            assert!(reached_the_server(Err(&answered)), "{answered:?}");
        }
        let changed = ClientError::CertificateChanged { expected: A.into(), presented: B.into() };
        for not in [changed, ClientError::Unreachable("h:1".into()), ClientError::Tls("x".into())] {
            assert!(!reached_the_server(Err(&not)), "{not:?}");
        }
    }
}
