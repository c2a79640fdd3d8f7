//! Failed logins, throttled per account and per client address: a few quick tries,
//! then an exponentially growing wait, answered before any password is checked (so
//! a flood costs no hashing). A success clears the account and the address; failures
//! older than `FORGET_AFTER` are forgotten. Memory is bounded: past `MAX_KEYS`
//! entries, expired ones are dropped, then the oldest.
//!
//! Per process: instances behind one load balancer each keep their own counts, so
//! an attacker gets at most N× the tries over N instances.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures of one account allowed without a wait.
pub const FREE_ACCOUNT_FAILURES: u32 = 5;
/// Failures from one address allowed without a wait (across accounts: an office
/// behind one NAT address shares it).
pub const FREE_ADDRESS_FAILURES: u32 = 20;
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// How long a throttled try is held before its 429 (at most its wait): 32 connections
/// flooding then get ≈ 128 answers/s instead of tens of thousands.
pub const TARPIT: Duration = Duration::from_millis(250);
/// Failures this old no longer count.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next try is allowed: after `free` failures, 1 s, 2 s, 4 s, … up to `MAX_WAIT`.
    fn allowed_at(&self, free: u32) -> Instant {
        if self.count < free {
            return self.last;
        }
        let doublings = (self.count - free).min(20);
        let wait = Duration::from_secs(1u64 << doublings).min(MAX_WAIT);
        self.last + wait
    }
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<Key, Failures>>,
}

fn account_key(username: &str) -> Key {
    Key::Account(username.trim().to_lowercase())
}

impl LoginThrottle {
    /// `Err(wait)` when the account or the address must wait before another try.
    pub fn check(&self, username: &str, addr: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let Ok(map) = self.failures.lock() else { return Ok(()) };
        let mut wait = Duration::ZERO;
        let mut consider = |key: &Key, free: u32| {
            if let Some(f) = map.get(key) {
                if now.duration_since(f.last) < FORGET_AFTER {
                    wait = wait.max(f.allowed_at(free).saturating_duration_since(now));
                }
            }
        };
        consider(&account_key(username), FREE_ACCOUNT_FAILURES);
        if let Some(a) = addr {
            consider(&Key::Address(a), FREE_ADDRESS_FAILURES);
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait)
        }
    }

    pub fn failed(&self, username: &str, addr: Option<IpAddr>, now: Instant) {
        let Ok(mut map) = self.failures.lock() else { return };
        if map.len() >= MAX_KEYS {
            map.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
            while map.len() >= MAX_KEYS {
                let Some(oldest) = map.iter().min_by_key(|(_, f)| f.last).map(|(k, _)| k.clone()) else { break };
                map.remove(&oldest);
            }
        }
        let keys = std::iter::once(account_key(username)).chain(addr.map(Key::Address));
        for key in keys {
            let f = map.entry(key).or_insert(Failures { count: 0, last: now });
            if now.duration_since(f.last) >= FORGET_AFTER {
                f.count = 0;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
        }
    }

    pub fn succeeded(&self, username: &str, addr: Option<IpAddr>) {
        let Ok(mut map) = self.failures.lock() else { return };
        map.remove(&account_key(username));
        if let Some(a) = addr {
            map.remove(&Key::Address(a));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_quick_failures_then_a_doubling_wait_and_a_success_clears_it() {
        let t = LoginThrottle::default();
        let ip: IpAddr = [127, 0, 0, 1].into();
        let t0 = Instant::now();
        for i in 0..FREE_ACCOUNT_FAILURES {
            assert!(t.check("Admin", Some(ip), t0).is_ok(), "try {i} is free");
            t.failed("admin", Some(ip), t0);
        }
        assert_eq!(t.check("admin ", None, t0), Err(Duration::from_secs(1)), "names are compared trimmed, any case");
        assert!(t.check("admin", None, t0 + Duration::from_secs(1)).is_ok());
        t.failed("admin", None, t0 + Duration::from_secs(1));
        assert_eq!(t.check("admin", None, t0 + Duration::from_secs(1)), Err(Duration::from_secs(2)));
        assert!(t.check("someone else", None, t0).is_ok(), "other accounts are not affected");
        t.succeeded("admin", Some(ip));
        assert!(t.check("admin", Some(ip), t0 + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn an_address_trying_many_accounts_is_throttled_too() {
        let t = LoginThrottle::default();
        let ip: IpAddr = [10, 1, 2, 3].into();
        let t0 = Instant::now();
        for i in 0..FREE_ADDRESS_FAILURES {
            t.failed(&format!("user{i}"), Some(ip), t0);
        }
        assert!(t.check("fresh", Some(ip), t0).is_err());
        assert!(t.check("fresh", Some([10, 1, 2, 4].into()), t0).is_ok());
    }

    #[test]
    fn the_wait_is_capped_and_old_failures_are_forgotten() {
        let t = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..200 {
            t.failed("x", None, t0);
        }
        assert_eq!(t.check("x", None, t0), Err(MAX_WAIT));
        assert!(t.check("x", None, t0 + FORGET_AFTER).is_ok());
    }
}
