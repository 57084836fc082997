//! Per-host bandwidth caps: one token bucket for ingress and one for egress, shared by
//! every connection of the engine.
//!
//! The bucket works by reservation: a caller takes its bytes at once, letting the balance
//! go negative, and then waits until the refill would have covered the debt. So waiting
//! callers are served in the order they asked, a large block is never starved by small
//! ones, and the long-run rate never exceeds the configured one. The balance is capped at
//! the burst size, so an idle link cannot save up more than one burst.
//!
//! The bucket itself ([`TokenBucket`]) is pure arithmetic over instants handed in by the
//! caller, so it is tested with a fake clock; [`RateLimiter`] adds the lock and the sleep.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use starling_core::peer_wire::MAX_BLOCK_LEN;

/// Token bucket arithmetic; time is passed in by the caller.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    balance: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket refilling at `rate` bytes per second, holding at most `burst` bytes.
    pub fn new(rate: u64, burst: u64, now: Instant) -> Self {
        let burst = burst.max(1) as f64;
        Self {
            rate: rate.max(1) as f64,
            burst,
            balance: burst,
            last: now,
        }
    }

    /// Takes `bytes` at `now` and returns how long the caller must wait before using
    /// them (zero if the balance covered them).
    pub fn reserve(&mut self, bytes: u64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.balance = (self.balance + elapsed * self.rate).min(self.burst);
        self.balance -= bytes as f64;
        if self.balance >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.balance / self.rate)
        }
    }
}

/// A shared bandwidth cap for one direction of the whole host.
#[derive(Debug)]
pub struct RateLimiter {
    bucket: Mutex<TokenBucket>,
}

impl RateLimiter {
    /// A cap of `rate` bytes per second with a burst of a tenth of a second's worth, but
    /// never less than two maximal blocks, so one block always fits.
    pub fn new(rate: u64) -> Self {
        let burst = (rate / 10).max(2 * u64::from(MAX_BLOCK_LEN));
        Self {
            bucket: Mutex::new(TokenBucket::new(rate, burst, Instant::now())),
        }
    }

    /// Waits until `bytes` may pass.
    pub async fn acquire(&self, bytes: u64) {
        let wait = self
            .bucket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reserve(bytes, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Waits on `limiter` if there is one; no limiter means unlimited.
pub async fn throttle(limiter: Option<&RateLimiter>, bytes: u64) {
    if let Some(limiter) = limiter {
        limiter.acquire(bytes).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_full_bucket_lets_a_burst_through_then_paces() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(1000, 500, t0);
        assert_eq!(bucket.reserve(500, t0), Duration::ZERO);
        // The next 100 bytes need 100 ms of refill.
        assert_eq!(bucket.reserve(100, t0), 100 * MS);
        // A later caller queues behind the earlier debt.
        assert_eq!(bucket.reserve(100, t0), 200 * MS);
        // After 200 ms the debt is paid and the balance is zero.
        assert_eq!(bucket.reserve(0, t0 + 200 * MS), Duration::ZERO);
        assert_eq!(bucket.reserve(10, t0 + 200 * MS), 10 * MS);
    }

    #[test]
    fn idle_time_saves_up_at_most_one_burst() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(1000, 300, t0);
        assert_eq!(bucket.reserve(300, t0), Duration::ZERO);
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(bucket.reserve(300, later), Duration::ZERO);
        assert_eq!(bucket.reserve(1, later), MS);
    }

    #[test]
    fn long_run_rate_matches_the_cap() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10_000, 1_000, t0);
        let mut clock = t0;
        let mut sent = 0u64;
        // Every caller waits out its reservation before the next one asks.
        while clock < t0 + Duration::from_secs(10) {
            clock += bucket.reserve(700, clock);
            sent += 700;
        }
        let rate = sent as f64 / (clock - t0).as_secs_f64();
        assert!((9_900.0..=10_200.0).contains(&rate), "rate {rate}");
    }

    #[test]
    fn a_clock_going_backwards_refills_nothing() {
        let t0 = Instant::now() + Duration::from_secs(1);
        let mut bucket = TokenBucket::new(1000, 100, t0);
        assert_eq!(bucket.reserve(100, t0), Duration::ZERO);
        assert_eq!(bucket.reserve(100, t0 - Duration::from_secs(1)), 100 * MS);
    }

    #[tokio::test(start_paused = true)]
    async fn the_limiter_sleeps_out_the_debt() {
        let limiter = RateLimiter::new(u64::from(MAX_BLOCK_LEN) * 10);
        let start = tokio::time::Instant::now();
        // Burst is two blocks; the third waits a tenth of a second.
        for _ in 0..3 {
            limiter.acquire(u64::from(MAX_BLOCK_LEN)).await;
        }
        let waited = start.elapsed();
        assert!(waited >= 90 * MS && waited <= 150 * MS, "{waited:?}");
        throttle(None, u64::MAX).await;
    }
}
