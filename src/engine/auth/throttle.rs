//! Login throttling: after 5 failures within 5 minutes from one peer address, logins from it
//! are refused (429) for a while that doubles with each further failure, from 30 s up to 15
//! minutes. Failures of the account as a whole (an attack spread over many addresses) are
//! counted too, but that budget only slows addresses that have failed themselves in the
//! window: an address that has not failed is never refused, so an attacker (or a CI job with a
//! stale password) cannot lock the operator out. Successes do not reset the account-wide
//! count, so an attacker cannot launder guesses through a valid login.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(300);
const ALLOWED: usize = 5;
const FIRST_LOCK: Duration = Duration::from_secs(30);
const MAX_LOCK: Duration = Duration::from_secs(900);

#[derive(Default)]
struct Failures(VecDeque<Instant>);

impl Failures {
    fn prune(&mut self, now: Instant) {
        while self
            .0
            .front()
            .is_some_and(|t| now.duration_since(*t) > WINDOW)
        {
            self.0.pop_front();
        }
    }

    /// How long logins stay refused, if they are.
    fn locked_for(&mut self, now: Instant) -> Option<Duration> {
        self.prune(now);
        if self.0.len() < ALLOWED {
            return None;
        }
        let extra = (self.0.len() - ALLOWED) as u32;
        let lock = FIRST_LOCK
            .saturating_mul(2u32.saturating_pow(extra.min(16)))
            .min(MAX_LOCK);
        let last = *self.0.back()?;
        let until = last + lock;
        (until > now).then(|| until - now)
    }
}

#[derive(Default)]
pub struct Throttle {
    peers: HashMap<IpAddr, Failures>,
    account: Failures,
}

impl Throttle {
    /// `Some(wait)` when a login from `peer` must be refused now.
    pub fn check(&mut self, peer: IpAddr, now: Instant) -> Option<Duration> {
        let failures = self.peers.get_mut(&peer)?;
        failures.prune(now);
        if failures.0.is_empty() {
            return None;
        }
        let peer_lock = failures.locked_for(now);
        let account_lock = self.account.locked_for(now);
        peer_lock.max(account_lock)
    }

    pub fn fail(&mut self, peer: IpAddr, now: Instant) {
        let entry = self.peers.entry(peer).or_default();
        entry.prune(now);
        entry.0.push_back(now);
        self.account.prune(now);
        self.account.0.push_back(now);
        // Forget quiet peers so the map cannot grow without bound.
        if self.peers.len() > 10_000 {
            self.peers.retain(|_, f| {
                f.prune(now);
                !f.0.is_empty()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guesses spread over many addresses: each gets its first try, then the account-wide
    /// budget slows every address that failed; a clean address still logs in.
    #[test]
    fn the_account_budget_slows_failing_addresses_only() {
        let mut t = Throttle::default();
        let now = Instant::now();
        let attacker = |i: u8| -> IpAddr { format!("198.51.100.{i}").parse().unwrap() };
        for i in 0..10 {
            assert_eq!(t.check(attacker(i), now), None, "a first try is allowed");
            t.fail(attacker(i), now);
        }
        assert!(
            t.check(attacker(3), now).is_some(),
            "a failing address is slowed"
        );
        let operator: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(t.check(operator, now), None);
        // The operator mistypes once: now it is a failing address too, and waits.
        t.fail(operator, now);
        assert!(t.check(operator, now).is_some());
        assert_eq!(
            t.check(operator, now + WINDOW + Duration::from_secs(1)),
            None,
            "failures age out"
        );
    }

    #[test]
    fn five_failures_lock_and_the_lock_grows() {
        let mut t = Throttle::default();
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        let now = Instant::now();
        for _ in 0..4 {
            t.fail(peer, now);
            assert_eq!(t.check(peer, now), None);
        }
        t.fail(peer, now);
        assert_eq!(t.check(peer, now), Some(FIRST_LOCK));
        t.fail(peer, now);
        assert_eq!(t.check(peer, now), Some(FIRST_LOCK * 2));
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(
            t.check(other, now),
            None,
            "an address that has not failed is never refused"
        );
        assert_eq!(
            t.check(peer, now + WINDOW + Duration::from_secs(1)),
            None,
            "failures age out"
        );
    }
}
