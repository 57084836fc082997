//! Addresses the trackers handed out, and which of them to dial next.
//!
//! An address is idle, being dialled, or connected (an outgoing connection to it is
//! registered). A dial that fails, or a connection that ends badly, backs the address
//! off exponentially (1 s, 2 s, ... up to a minute), so a dead peer listed by the tracker
//! until its TTL is not hammered. Announces refresh the list: idle addresses the tracker
//! no longer lists are forgotten.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use starling_runtime::Backoff;

/// How long a failed address waits before the next dial: from 1 s, doubling per
/// consecutive failure, up to 64 s, jittered.
const DIAL_BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(64));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Dialling,
    Connected,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    phase: Phase,
    failures: u32,
    retry_at: Option<Instant>,
}

/// The torrent's dial list.
#[derive(Debug, Default)]
pub struct Candidates {
    entries: HashMap<SocketAddr, Entry>,
}

impl Candidates {
    /// Merges the addresses of an announce reply.
    pub fn merge(&mut self, addrs: &[SocketAddr]) {
        self.entries
            .retain(|addr, e| e.phase != Phase::Idle || addrs.contains(addr));
        for &addr in addrs {
            self.entries.entry(addr).or_insert(Entry {
                phase: Phase::Idle,
                failures: 0,
                retry_at: None,
            });
        }
    }

    /// Dials in flight (not yet registered as connections).
    pub fn dialling(&self) -> usize {
        self.entries
            .values()
            .filter(|e| e.phase == Phase::Dialling)
            .count()
    }

    /// Picks up to `budget` idle addresses that are due and not excluded, and marks them
    /// as being dialled.
    pub fn take_due(
        &mut self,
        budget: usize,
        now: Instant,
        excluded: impl Fn(&SocketAddr) -> bool,
    ) -> Vec<SocketAddr> {
        let mut due: Vec<SocketAddr> = self
            .entries
            .iter()
            .filter(|(addr, e)| {
                e.phase == Phase::Idle && e.retry_at.is_none_or(|t| t <= now) && !excluded(addr)
            })
            .map(|(&addr, _)| addr)
            .collect();
        due.sort();
        due.truncate(budget);
        for addr in &due {
            self.entries.get_mut(addr).expect("listed above").phase = Phase::Dialling;
        }
        due
    }

    /// The dial to `addr` produced a registered connection.
    pub fn connected(&mut self, addr: SocketAddr) {
        if let Some(e) = self.entries.get_mut(&addr) {
            e.phase = Phase::Connected;
            e.failures = 0;
            e.retry_at = None;
        }
    }

    /// Makes every idle address due now (a stalled download tries everyone again).
    pub fn retry_all_now(&mut self) {
        for e in self.entries.values_mut() {
            e.retry_at = None;
        }
    }

    /// The dial failed or the connection ended; `failed` backs the address off.
    pub fn ended(&mut self, addr: SocketAddr, failed: bool, now: Instant) {
        let Some(e) = self.entries.get_mut(&addr) else {
            return;
        };
        e.phase = Phase::Idle;
        if failed {
            e.failures += 1;
            e.retry_at = Some(now + DIAL_BACKOFF.delay(e.failures));
        } else {
            e.retry_at = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn dials_each_address_once_until_it_ends() {
        let mut list = Candidates::default();
        let now = Instant::now();
        list.merge(&[addr(3), addr(1), addr(2)]);
        assert_eq!(list.take_due(2, now, |_| false), [addr(1), addr(2)]);
        assert_eq!(list.dialling(), 2);
        assert_eq!(list.take_due(5, now, |a| *a == addr(3)), []);
        assert_eq!(list.take_due(5, now, |_| false), [addr(3)]);
        list.connected(addr(1));
        assert_eq!(list.dialling(), 2);
        list.ended(addr(1), false, now);
        assert_eq!(list.take_due(5, now, |_| false), [addr(1)]);
    }

    #[test]
    fn failures_back_off_exponentially() {
        let mut list = Candidates::default();
        let now = Instant::now();
        list.merge(&[addr(1)]);
        let mut at = now;
        for wait in [1u64, 2, 4, 8] {
            assert_eq!(list.take_due(1, at, |_| false), [addr(1)]);
            list.ended(addr(1), true, at);
            // Jittered over the upper half of the doubling wait.
            let wait = Duration::from_secs(wait);
            let early = at + wait / 2 - Duration::from_millis(1);
            assert!(list.take_due(1, early, |_| false).is_empty());
            at += wait;
        }
        list.take_due(1, at, |_| false);
        list.connected(addr(1));
        list.ended(addr(1), true, at);
        assert_eq!(
            list.take_due(1, at + Duration::from_secs(1), |_| false),
            [addr(1)],
            "a connection resets the backoff"
        );
    }

    #[test]
    fn announces_forget_idle_addresses_but_keep_busy_ones() {
        let mut list = Candidates::default();
        let now = Instant::now();
        list.merge(&[addr(1), addr(2)]);
        list.take_due(1, now, |_| false);
        list.merge(&[addr(3)]);
        assert_eq!(list.dialling(), 1, "addr 1 is still being dialled");
        assert_eq!(list.take_due(5, now, |_| false), [addr(3)]);
        list.ended(addr(1), false, now);
        list.merge(&[]);
        assert!(list.entries.keys().all(|a| *a == addr(3)));
    }
}
