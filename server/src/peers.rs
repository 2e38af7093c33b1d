//! What the server remembers about each client address (issue 10 findings 1, 2 and 7): how fast it
//! registers, how many wrong passwords it tried, how much `history` it was sent. Bounded: stale
//! entries are dropped.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use confab_protocol::{limits::MAX_PASSWORD_BACKOFF, AddressLimits, RefusalCode};
use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};
use socketioxide::extract::SocketRef;

use crate::listener::PeerAddr;

/// Entries kept before stale ones are swept (an address costs well under 100 bytes).
const SWEEP_ABOVE: usize = 10_000;

pub struct Peers {
    registrations: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// `history` KiB per address.
    history: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Until when an address that went over its `history` budget is refused before any page is
    /// read for it: reading pages only to refuse them cost the room as much as serving them.
    history_refused_until: Mutex<HashMap<IpAddr, Instant>>,
    free_password_attempts: u32,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

/// Wrong passwords from one address.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    /// No attempt is checked before this (the backoff).
    next_allowed: Instant,
}

impl Peers {
    pub fn new(limits: &AddressLimits) -> Self {
        let registrations = NonZeroU32::new(limits.registrations_per_second).map(|rate| {
            let burst = NonZeroU32::new(limits.registration_burst).unwrap_or(NonZeroU32::MIN);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        let history = NonZeroU32::new(limits.history_kib_per_minute_per_address)
            .map(|kib| RateLimiter::keyed(Quota::per_minute(kib).allow_burst(kib)));
        Self {
            registrations,
            history,
            history_refused_until: Mutex::default(),
            free_password_attempts: limits.password_attempts,
            failures: Mutex::default(),
        }
    }

    /// One more `register` from `ip`: false when it is over its rate.
    pub fn may_register(&self, ip: IpAddr) -> bool {
        let Some(limiter) = &self.registrations else { return true };
        if limiter.len() > SWEEP_ABOVE {
            limiter.retain_recent();
        }
        limiter.check_key(&ip).is_ok()
    }

    /// `Err(wait)` while `ip` must wait before its next password is even looked at.
    pub fn password_allowed(&self, ip: IpAddr) -> Result<(), Duration> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        match failures.get(&ip) {
            Some(f) if f.next_allowed > Instant::now() => Err(f.next_allowed - Instant::now()),
            _ => Ok(()),
        }
    }

    /// A wrong password from `ip`: after the free attempts, each one doubles the wait (1 s, 2 s, ...).
    pub fn password_failed(&self, ip: IpAddr) -> u32 {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if failures.len() > SWEEP_ABOVE {
            failures.retain(|_, f| now.saturating_duration_since(f.next_allowed) < MAX_PASSWORD_BACKOFF);
        }
        let entry = failures.entry(ip).or_insert(Failures { count: 0, next_allowed: now });
        entry.count += 1;
        if let Some(over) = entry.count.checked_sub(self.free_password_attempts) {
            let wait = Duration::from_secs(1u64 << over.min(16)).min(MAX_PASSWORD_BACKOFF);
            entry.next_allowed = now + wait;
        }
        entry.count
    }

    /// The right password: the address starts afresh.
    pub fn password_accepted(&self, ip: IpAddr) {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner).remove(&ip);
    }
}

/// The `history` budget of one connection's address, shared by all its connections.
#[derive(Clone)]
pub struct AddressHistory {
    peers: Arc<Peers>,
    ip: Option<IpAddr>,
}

impl AddressHistory {
    pub fn of(socket: &SocketRef, peers: &Arc<Peers>) -> Self {
        Self { peers: peers.clone(), ip: peer_ip(socket) }
    }

    /// Whether a page may be read for the address: not while it waits for its budget to refill.
    pub fn ready(&self) -> Result<(), RefusalCode> {
        let (Some(_), Some(ip)) = (&self.peers.history, self.ip) else { return Ok(()) };
        let refused = self.peers.history_refused_until.lock().unwrap_or_else(PoisonError::into_inner);
        match refused.get(&ip) {
            Some(until) if *until > Instant::now() => Err(RefusalCode::RateLimited),
            _ => Ok(()),
        }
    }

    /// Charges `kib` to the address: refused once it used up its budget, and then until the budget
    /// holds that much again.
    pub fn charge(&self, kib: usize) -> Result<(), RefusalCode> {
        let (Some(limiter), Some(ip), Some(cost)) = (&self.peers.history, self.ip, NonZeroU32::new(kib as u32)) else {
            return Ok(());
        };
        if limiter.len() > SWEEP_ABOVE {
            limiter.retain_recent();
        }
        let wait = match limiter.check_key_n(&ip, cost) {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(not_until)) => not_until.wait_time_from(limiter.clock().now()),
            Err(_) => Duration::from_secs(60), // more than the whole budget: a minute, as documented
        };
        let mut refused = self.peers.history_refused_until.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if refused.len() > SWEEP_ABOVE {
            refused.retain(|_, until| *until > now);
        }
        refused.insert(ip, now + wait);
        Err(RefusalCode::RateLimited)
    }
}

/// The IP address a socket connected from (the server is served with `ConnectInfo`).
pub fn peer_ip(socket: &SocketRef) -> Option<IpAddr> {
    connection_of(socket).map(|connection| connection.0.ip())
}

/// The connection a socket came on (the request that opened it): its address and what it tried.
pub fn connection_of(socket: &SocketRef) -> Option<&PeerAddr> {
    socket.req_parts().extensions.get::<ConnectInfo<PeerAddr>>().map(|info| &info.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9));

    #[test]
    fn registrations_are_rate_limited_per_address() {
        let peers =
            Peers::new(&AddressLimits { registrations_per_second: 1, registration_burst: 3, ..Default::default() });
        assert_eq!((0..5).filter(|_| peers.may_register(IP)).count(), 3);
        assert!(peers.may_register("10.0.0.10".parse().unwrap()), "another address has its own budget");
        let unlimited = Peers::new(&AddressLimits { registrations_per_second: 0, ..Default::default() });
        assert!((0..1000).all(|_| unlimited.may_register(IP)));
    }

    #[test]
    fn an_address_over_its_history_budget_waits_until_it_holds_the_refused_page_again() {
        // 60 KiB a minute: one KiB a second.
        let peers =
            Arc::new(Peers::new(&AddressLimits { history_kib_per_minute_per_address: 60, ..Default::default() }));
        let address = AddressHistory { peers: peers.clone(), ip: Some(IP) };
        assert_eq!(address.charge(50), Ok(()));
        assert_eq!(address.ready(), Ok(()), "10 KiB are left");
        assert_eq!(address.charge(20), Err(RefusalCode::RateLimited));
        assert_eq!(address.ready(), Err(RefusalCode::RateLimited), "refused before reading for ~10 s");
        let until = peers.history_refused_until.lock().unwrap()[&IP];
        let wait = until - Instant::now();
        assert!(wait > Duration::from_secs(8) && wait <= Duration::from_secs(10), "{wait:?}");
        let other = AddressHistory { peers, ip: Some("10.0.0.10".parse().unwrap()) };
        assert_eq!((other.ready(), other.charge(60)), (Ok(()), Ok(())), "another address has its own budget");
    }

    #[test]
    fn wrong_passwords_past_the_free_ones_make_the_address_wait_longer_each_time() {
        let peers = Peers::new(&AddressLimits { password_attempts: 2, ..Default::default() });
        for _ in 0..2 {
            assert!(peers.password_allowed(IP).is_ok());
            peers.password_failed(IP);
        }
        assert!(peers.password_allowed(IP).is_err(), "the third attempt waits");
        peers.password_failed(IP);
        let wait = peers.password_allowed(IP).unwrap_err();
        assert!(wait > Duration::from_millis(1500) && wait <= Duration::from_secs(2), "doubled: {wait:?}");
        peers.password_accepted(IP);
        assert!(peers.password_allowed(IP).is_ok());
    }
}
