//! Login challenges: 32 random bytes as 64 hex characters, single use, valid five minutes, at
//! most 1000 outstanding (the oldest are dropped first).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(300);
pub const MAX_OUTSTANDING: usize = 1000;

#[derive(Default)]
pub struct Nonces {
    issued: HashMap<String, Instant>,
    order: VecDeque<String>,
}

impl Nonces {
    pub fn issue(&mut self, nonce: String, now: Instant) {
        while self.order.len() >= MAX_OUTSTANDING {
            if let Some(oldest) = self.order.pop_front() {
                self.issued.remove(&oldest);
            }
        }
        self.order.push_back(nonce.clone());
        self.issued.insert(nonce, now);
    }

    /// Consumes `nonce`: true when it was issued, unused and not expired. Any attempt uses it.
    pub fn consume(&mut self, nonce: &str, now: Instant) -> bool {
        let Some(issued) = self.issued.remove(nonce) else {
            return false;
        };
        self.order.retain(|n| n != nonce);
        now.duration_since(issued) <= TTL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_use_expiring_and_bounded() {
        let mut n = Nonces::default();
        let t0 = Instant::now();
        n.issue("a".into(), t0);
        assert!(n.consume("a", t0));
        assert!(!n.consume("a", t0), "a nonce is single use");
        n.issue("b".into(), t0);
        assert!(
            !n.consume("b", t0 + TTL + Duration::from_secs(1)),
            "expired"
        );
        assert!(!n.consume("never", t0));
        for i in 0..MAX_OUTSTANDING + 5 {
            n.issue(format!("n{i}"), t0);
        }
        assert!(!n.consume("n0", t0), "the oldest were dropped");
        assert!(n.consume(&format!("n{}", MAX_OUTSTANDING + 4), t0));
        assert!(n.issued.len() < MAX_OUTSTANDING);
    }
}
