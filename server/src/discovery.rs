//! Finding chats on the local network with mDNS / DNS-SD: a hosted chat advertises itself, the
//! connect screen browses. Used by `confab-server --advertise` and by the desktop app.
//!
//! Service type `_confab._tcp.local.`; TXT properties: `name` (chat name), `host` (who hosts it),
//! `password` (`yes`/`no`), `proto` (`confab_protocol::PROTOCOL_VERSION`).

use std::{collections::HashMap, net::IpAddr};

use mdns_sd::{ServiceDaemon, ServiceEvent, ServiceInfo};

pub use confab_protocol::MDNS_SERVICE_TYPE as SERVICE_TYPE;

/// Why discovery could not start. Discovery is a convenience: callers report this and carry on.
#[derive(Debug, thiserror::Error)]
#[error("local network discovery unavailable: {0}")]
pub struct DiscoveryError(#[from] mdns_sd::Error);

/// What a hosted chat tells the network about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAnnouncement {
    /// Shown in the list of chats found ("Design team").
    pub chat_name: String,
    /// Who hosts it (a person's or machine's name).
    pub host_name: String,
    pub port: u16,
    pub password_required: bool,
}

/// A running advertisement; dropping it withdraws the chat from the network.
pub struct Advertiser {
    daemon: ServiceDaemon,
    fullname: String,
}

impl Advertiser {
    /// Advertises `chat` on every interface (addresses follow interface changes).
    pub fn start(chat: &ChatAnnouncement) -> Result<Self, DiscoveryError> {
        Self::start_with(chat, None)
    }

    /// [`Advertiser::start`] for a chat served over TLS: the TXT property `fp` carries its
    /// certificate's SHA-256 fingerprint, so clients join with `https` and can check it.
    pub fn start_with(chat: &ChatAnnouncement, fingerprint: Option<&str>) -> Result<Self, DiscoveryError> {
        let machine = gethostname::gethostname().to_string_lossy().into_owned();
        let machine = sanitize_label(&machine);
        // Instance names must be unique on the network: the machine and port make them so.
        let instance = format!("{} on {machine}:{}", chat.chat_name, chat.port);
        let protocol = confab_protocol::PROTOCOL_VERSION.to_string();
        let properties = [
            ("name", chat.chat_name.as_str()),
            ("host", chat.host_name.as_str()),
            ("password", if chat.password_required { "yes" } else { "no" }),
            ("proto", protocol.as_str()),
        ];
        let mut properties = properties.to_vec();
        properties.extend(fingerprint.map(|fp| ("fp", fp)));
        let info =
            ServiceInfo::new(SERVICE_TYPE, &instance, &format!("{machine}.local."), "", chat.port, &properties[..])?
                .enable_addr_auto();
        let fullname = info.get_fullname().to_owned();
        let daemon = ServiceDaemon::new()?;
        daemon.register(info)?;
        tracing::info!(%fullname, "advertising the chat on the local network");
        Ok(Self { daemon, fullname })
    }
}

impl Drop for Advertiser {
    fn drop(&mut self) {
        // Say goodbye so browsers drop the entry at once instead of after the record's TTL.
        if let Ok(done) = self.daemon.unregister(&self.fullname) {
            let _ = done.recv_timeout(std::time::Duration::from_secs(1));
        }
        let _ = self.daemon.shutdown();
    }
}

/// A chat found on the network.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FoundChat {
    /// The DNS-SD instance name and the host that answered for it: the stable key of this entry.
    /// Two responders claiming one instance name are two entries, never one with both addresses.
    pub id: String,
    /// The DNS-SD instance name (`<chat> on <machine>:<port>._confab._tcp.local.`).
    pub instance: String,
    /// The host name the responder gave (its SRV target, `machine.local.`).
    pub responder: String,
    pub chat_name: String,
    pub host_name: String,
    pub password_required: bool,
    pub protocol_version: String,
    pub port: u16,
    /// Every address it was seen with; [`FoundChat::url`] picks the best.
    pub addresses: Vec<IpAddr>,
    /// The SHA-256 fingerprint of its TLS certificate, when it speaks TLS (TXT `fp`).
    pub fingerprint: Option<String>,
}

impl FoundChat {
    /// The URL to join with, preferring a routable IPv4 address. `None` while only an IPv6
    /// link-local address is known (unusable in a URL without a zone): wait for the next update.
    pub fn url(&self) -> Option<String> {
        let best = self.addresses.iter().filter(|ip| !ip.is_loopback()).min_by_key(|ip| address_rank(ip))?;
        let scheme = if self.fingerprint.is_some() { "https" } else { "http" };
        (address_rank(best) < 3).then(|| format!("{scheme}://{}", std::net::SocketAddr::new(*best, self.port)))
    }
}

/// Lower is better: routable IPv4, link-local IPv4, IPv6, link-local IPv6 (unusable).
fn address_rank(ip: &IpAddr) -> u8 {
    match ip {
        IpAddr::V4(v4) if !v4.is_link_local() => 0,
        IpAddr::V4(_) => 1,
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) != 0xfe80 => 2,
        IpAddr::V6(_) => 3,
    }
}

/// What the browser reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryEvent {
    /// A chat appeared or its details changed (same `id` again: replace the entry).
    Found(FoundChat),
    /// The chat with this `id` is gone.
    Lost(String),
}

/// Watches the network for Confab chats.
pub struct Browser {
    daemon: ServiceDaemon,
    events: mdns_sd::Receiver<ServiceEvent>,
    seen: Sightings,
    /// Entries of an instance that said goodbye, still to report.
    lost: Vec<String>,
}

/// The chats seen so far. Addresses accumulate over several resolutions (IPv6 first, IPv4 later is
/// common), but only those of one responder: any host on the LAN can answer for an instance name,
/// and merging its addresses into a listed chat would let it redirect that chat, and the password
/// typed for it, to itself (issue 10 finding 9).
#[derive(Debug, Default)]
struct Sightings(HashMap<String, FoundChat>);

impl Sightings {
    /// A resolution: the entry to report when it is new or changed.
    fn resolved(&mut self, mut chat: FoundChat) -> Option<FoundChat> {
        if let Some(previous) = self.0.get(&chat.id) {
            chat.addresses.extend(previous.addresses.iter().copied());
        }
        chat.addresses.sort_by_key(|ip| (address_rank(ip), *ip));
        chat.addresses.dedup();
        if self.0.get(&chat.id) == Some(&chat) {
            return None;
        }
        self.0.insert(chat.id.clone(), chat.clone());
        Some(chat)
    }

    /// An instance said goodbye: the ids of every entry it had.
    fn removed(&mut self, instance: &str) -> Vec<String> {
        let gone: Vec<String> = self.0.values().filter(|c| c.instance == instance).map(|c| c.id.clone()).collect();
        for id in &gone {
            self.0.remove(id);
        }
        gone
    }
}

impl Browser {
    pub fn start() -> Result<Self, DiscoveryError> {
        let daemon = ServiceDaemon::new()?;
        let events = daemon.browse(SERVICE_TYPE)?;
        Ok(Self { daemon, events, seen: Sightings::default(), lost: Vec::new() })
    }

    /// The next change; `None` once the daemon stopped.
    pub async fn next(&mut self) -> Option<DiscoveryEvent> {
        loop {
            if let Some(id) = self.lost.pop() {
                return Some(DiscoveryEvent::Lost(id));
            }
            match self.events.recv_async().await.ok()? {
                ServiceEvent::ServiceResolved(service) => {
                    let txt = |key: &str| service.get_property_val_str(key).unwrap_or_default().to_owned();
                    let instance = service.get_fullname().to_owned();
                    let responder = service.host.clone();
                    let chat = FoundChat {
                        id: format!("{instance}@{responder}"),
                        chat_name: txt("name"),
                        host_name: txt("host"),
                        password_required: txt("password") == "yes",
                        protocol_version: txt("proto"),
                        port: service.get_port(),
                        addresses: service.get_addresses().iter().map(|ip| ip.to_ip_addr()).collect(),
                        fingerprint: Some(txt("fp")).filter(|fp| !fp.is_empty()),
                        instance,
                        responder,
                    };
                    if let Some(changed) = self.seen.resolved(chat) {
                        return Some(DiscoveryEvent::Found(changed));
                    }
                }
                ServiceEvent::ServiceRemoved(_, instance) => self.lost = self.seen.removed(&instance),
                _ => {}
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.daemon.stop_browse(SERVICE_TYPE);
        let _ = self.daemon.shutdown();
    }
}

/// A DNS label from a machine name: letters, digits and dashes only.
fn sanitize_label(name: &str) -> String {
    let label: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let label = label.trim_matches('-');
    if label.is_empty() {
        "confab".to_owned()
    } else {
        label.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(addresses: &[&str]) -> FoundChat {
        seen_from("chat._confab._tcp.local.", "host.local.", addresses)
    }

    fn seen_from(instance: &str, responder: &str, addresses: &[&str]) -> FoundChat {
        FoundChat {
            id: format!("{instance}@{responder}"),
            instance: instance.into(),
            responder: responder.into(),
            chat_name: "x".into(),
            host_name: "h".into(),
            password_required: false,
            protocol_version: confab_protocol::PROTOCOL_VERSION.to_string(),
            port: 7878,
            addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
            fingerprint: None,
        }
    }

    #[test]
    fn url_prefers_routable_ipv4_and_never_uses_ipv6_link_local() {
        assert_eq!(found(&["fe80::1", "10.0.0.2"]).url().as_deref(), Some("http://10.0.0.2:7878"));
        assert_eq!(found(&["169.254.1.1", "10.0.0.2"]).url().as_deref(), Some("http://10.0.0.2:7878"));
        assert_eq!(found(&["2001:db8::5"]).url().as_deref(), Some("http://[2001:db8::5]:7878"));
        assert_eq!(found(&["fe80::1"]).url(), None);
        assert_eq!(found(&[]).url(), None);
        let tls = FoundChat { fingerprint: Some("AB:CD".into()), ..found(&["10.0.0.2"]) };
        assert_eq!(tls.url().as_deref(), Some("https://10.0.0.2:7878"), "a chat with a certificate is joined over TLS");
    }

    #[test]
    fn addresses_of_one_responder_accumulate_but_another_responder_is_another_entry() {
        let mut seen = Sightings::default();
        let instance = "Design team on alice-laptop:7878._confab._tcp.local.";
        assert!(seen.resolved(seen_from(instance, "alice-laptop.local.", &["fe80::1"])).is_some());
        let merged = seen.resolved(seen_from(instance, "alice-laptop.local.", &["10.0.0.2"])).unwrap();
        assert_eq!(merged.url().as_deref(), Some("http://10.0.0.2:7878"), "IPv4 joined the IPv6 sighting");
        // Someone else answers for the same instance with its own address.
        let spoof = seen.resolved(seen_from(instance, "mallory.local.", &["10.0.0.66"])).unwrap();
        assert_eq!(spoof.url().as_deref(), Some("http://10.0.0.66:7878"));
        assert_ne!(spoof.id, merged.id, "a separate entry, shown with its own address");
        let alice = seen.0.get(&merged.id).unwrap();
        assert!(!alice.addresses.contains(&"10.0.0.66".parse().unwrap()), "never merged into the listed chat");
        assert!(seen.resolved(seen_from(instance, "alice-laptop.local.", &["10.0.0.2"])).is_none(), "unchanged");
        let mut gone = seen.removed(instance);
        gone.sort();
        let mut expected = vec![merged.id, spoof.id];
        expected.sort();
        assert_eq!(gone, expected);
    }

    #[test]
    fn labels_are_dns_safe() {
        assert_eq!(sanitize_label("my laptop.lan"), "my-laptop-lan");
        assert_eq!(sanitize_label("..."), "confab");
    }
}
