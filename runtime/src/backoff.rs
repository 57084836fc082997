//! The one retry backoff: exponential with a cap, and jittered, so that after an outage
//! every agent, origin queue and build-index queue does not retry in lockstep.
//!
//! The `n`-th consecutive failure waits a random time in `[ceiling/2, ceiling]`, where
//! `ceiling = initial · 2^(n-1)`, capped at `max` ("equal jitter": never less than half
//! the exponential wait, so a dead peer is not hammered, and spread over the other
//! half).

use std::time::Duration;

/// Exponential backoff from `initial`, doubling per failure, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The longest wait after the `failures`-th consecutive failure (counting from 1):
    /// `initial · 2^(failures-1)`, capped at `max`; `0` failures wait nothing.
    pub fn ceiling(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let doublings = (failures - 1).min(31);
        self.initial.saturating_mul(1u32 << doublings).min(self.max)
    }

    /// The wait after the `failures`-th consecutive failure, jittered.
    pub fn delay(&self, failures: u32) -> Duration {
        self.delay_at(failures, rand::random::<f64>())
    }

    /// [`Backoff::delay`] for a given draw `unit` in `[0, 1)`.
    pub fn delay_at(&self, failures: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(failures);
        let half = ceiling / 2;
        half + (ceiling - half).mul_f64(unit.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKOFF: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));

    #[test]
    fn the_ceiling_doubles_up_to_the_cap() {
        let ceilings: Vec<u128> = (0..=6).map(|n| BACKOFF.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [0, 100, 200, 400, 800, 1000, 1000]);
        assert_eq!(
            BACKOFF.ceiling(u32::MAX),
            Duration::from_secs(1),
            "no overflow"
        );
    }

    #[test]
    fn delays_spread_over_the_upper_half_of_the_ceiling() {
        assert_eq!(BACKOFF.delay_at(3, 0.0), Duration::from_millis(200));
        assert_eq!(BACKOFF.delay_at(3, 0.5), Duration::from_millis(300));
        assert_eq!(BACKOFF.delay_at(3, 1.0), Duration::from_millis(400));
        let draws: Vec<Duration> = (0..200).map(|_| BACKOFF.delay(3)).collect();
        assert!(draws.iter().all(|d| (200..=400).contains(&d.as_millis())));
        let distinct: std::collections::HashSet<_> = draws.iter().collect();
        assert!(distinct.len() > 10, "the draws differ: {distinct:?}");
    }
}
