//! Stalled downloads: a download that receives no block for `peer.stall_timeout` fails
//! over, and one that stays stalled through `peer.stall_failovers` failovers fails.
//!
//! Why: peers can stop serving without a sign. An origin that dies mid-pull behind a
//! network that drops its packets, a peer that keeps the connection open and never
//! answers, a swarm whose only seeders left: the download then sits at the same byte
//! count, and the client's HTTP response stays open for ever. A failover drops every
//! connection (a half-open one never closes by itself) and announces again at once,
//! so the torrent dials what the tracker lists now (other agents, other origins). When
//! that does not help either, failing the download ends each reader's response with an
//! error, so docker and containerd retry or fall back to the next registry host; the
//! verified pieces stay in the partial download for the retry to resume.
//!
//! This module only decides; the driver acts (see `driver.rs`).

use std::time::{Duration, Instant};

/// What the driver should do about a download's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StallVerdict {
    Progressing,
    /// No block for a whole `stall_timeout`: reconnect and re-announce (the `n`-th
    /// failover in a row, from 1).
    Failover(u32),
    /// Still nothing after every failover: fail the download.
    GiveUp,
}

/// Watches one download's received-byte count.
#[derive(Debug)]
pub struct StallWatch {
    timeout: Duration,
    failovers: u32,
    last_received: u64,
    since: Instant,
    failed_over: u32,
}

impl StallWatch {
    pub fn new(timeout: Duration, failovers: u32, received: u64, now: Instant) -> Self {
        Self {
            timeout,
            failovers,
            last_received: received,
            since: now,
            failed_over: 0,
        }
    }

    /// Looks at the bytes received so far (only blocks we asked for count).
    pub fn observe(&mut self, received: u64, now: Instant) -> StallVerdict {
        if received != self.last_received {
            self.last_received = received;
            self.since = now;
            self.failed_over = 0;
            return StallVerdict::Progressing;
        }
        if now.duration_since(self.since) < self.timeout {
            return StallVerdict::Progressing;
        }
        self.since = now;
        if self.failed_over >= self.failovers {
            return StallVerdict::GiveUp;
        }
        self.failed_over += 1;
        StallVerdict::Failover(self.failed_over)
    }

    /// Starts a fresh window (the download was idle for another reason, e.g. not
    /// downloading at all).
    pub fn reset(&mut self, received: u64, now: Instant) {
        self.last_received = received;
        self.since = now;
        self.failed_over = 0;
    }

    /// How long a stalled download lasts before it fails.
    pub fn bound(&self) -> Duration {
        self.timeout * (self.failovers + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(10);

    #[test]
    fn fails_over_each_silent_window_then_gives_up() {
        let start = Instant::now();
        let mut watch = StallWatch::new(T, 2, 0, start);
        let at = |secs| start + Duration::from_secs(secs);
        assert_eq!(watch.observe(0, at(9)), StallVerdict::Progressing);
        assert_eq!(watch.observe(0, at(10)), StallVerdict::Failover(1));
        assert_eq!(watch.observe(0, at(15)), StallVerdict::Progressing);
        assert_eq!(watch.observe(0, at(20)), StallVerdict::Failover(2));
        assert_eq!(watch.observe(0, at(30)), StallVerdict::GiveUp);
        assert_eq!(watch.bound(), Duration::from_secs(30));
    }

    #[test]
    fn any_block_restarts_the_count() {
        let start = Instant::now();
        let mut watch = StallWatch::new(T, 1, 0, start);
        let at = |secs| start + Duration::from_secs(secs);
        assert_eq!(watch.observe(0, at(10)), StallVerdict::Failover(1));
        assert_eq!(watch.observe(16_384, at(12)), StallVerdict::Progressing);
        assert_eq!(watch.observe(16_384, at(21)), StallVerdict::Progressing);
        assert_eq!(watch.observe(16_384, at(22)), StallVerdict::Failover(1));
        assert_eq!(watch.observe(16_384, at(32)), StallVerdict::GiveUp);
        watch.reset(16_384, at(33));
        assert_eq!(watch.observe(16_384, at(42)), StallVerdict::Progressing);
    }

    #[test]
    fn no_failovers_means_failing_after_one_window() {
        let start = Instant::now();
        let mut watch = StallWatch::new(T, 0, 5, start);
        assert_eq!(
            watch.observe(5, start + T),
            StallVerdict::GiveUp,
            "stall_failovers: 0"
        );
    }
}
