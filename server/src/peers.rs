//! What the server remembers about each client address (issue 10 findings 1 and 7): how fast it
//! registers, and how many wrong passwords it tried. Bounded: stale entries are dropped.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use confab_protocol::{limits::MAX_PASSWORD_BACKOFF, AddressLimits};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use socketioxide::extract::SocketRef;

use crate::listener::PeerAddr;

/// Entries kept before stale ones are swept (an address costs well under 100 bytes).
const SWEEP_ABOVE: usize = 10_000;

pub struct Peers {
    registrations: Option<DefaultKeyedRateLimiter<IpAddr>>,
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
        Self { registrations, free_password_attempts: limits.password_attempts, failures: Mutex::default() }
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

/// The IP address a socket connected from (the server is served with `ConnectInfo`).
pub fn peer_ip(socket: &SocketRef) -> Option<IpAddr> {
    socket.req_parts().extensions.get::<ConnectInfo<PeerAddr>>().map(|info| info.0 .0.ip())
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
