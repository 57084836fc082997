//! Wall-clock time in milliseconds, and a clock that tests can drive.
//!
//! Timestamps order tag updates between replicas (last writer wins) and date read-through
//! cache entries, so they must survive restarts and be comparable across hosts: Unix
//! milliseconds, not `Instant`. Clock skew between replicas is tolerated because a put
//! never goes back in time on the replica that receives it (see [`crate::service`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The stamp type lives with the tag update it travels in.
pub use starling_clients::build_index::update::Timestamp;

/// The source of "now": the system clock, or a manual one in tests.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock starting at `start`; advance it with [`Clock::advance`].
    pub fn manual(start: Timestamp) -> Self {
        Self::Manual(Arc::new(AtomicI64::new(start.0)))
    }

    pub fn now(&self) -> Timestamp {
        match self {
            Self::System => {
                let since_epoch = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                Timestamp(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
            }
            Self::Manual(now) => Timestamp(now.load(Ordering::Relaxed)),
        }
    }

    /// Moves a manual clock forward; the system clock ignores it.
    pub fn advance(&self, by: Duration) {
        if let Self::Manual(now) = self {
            let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
            now.fetch_add(millis, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = Clock::manual(Timestamp(1_000));
        assert_eq!(clock.now(), Timestamp(1_000));
        clock.advance(Duration::from_secs(2));
        assert_eq!(clock.now(), Timestamp(3_000));
        assert_eq!(
            clock.now().since(Timestamp(500)),
            Duration::from_millis(2_500)
        );
        assert_eq!(Timestamp(1).since(Timestamp(5)), Duration::ZERO);
        assert!(Clock::System.now() > Timestamp(1_600_000_000_000));
    }

    #[test]
    fn timestamps_parse_only_non_negative_integers() {
        assert_eq!(Timestamp::parse("42"), Some(Timestamp(42)));
        assert_eq!(Timestamp::parse("-1"), None);
        assert_eq!(Timestamp::parse("1.5"), None);
        assert_eq!(
            Timestamp(10).saturating_add(Duration::from_millis(5)),
            Timestamp(15)
        );
    }
}
