//! Active health checks of ring members.
//!
//! Every `interval`, each host's `GET /health` is probed with `timeout`. `fails`
//! consecutive failures mark an up host down; `passes` consecutive successes mark a
//! down host up again. Hosts start up, so a fresh client does not refuse to talk to
//! anyone before the first round. The table is lock-per-host; nothing else is locked
//! while a host's lock is held.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::future::join_all;
use starling_config::HealthCheckConfig;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::client::ClientResult;
use super::client::OriginClient;

#[derive(Debug, Default)]
struct HostHealth {
    down: bool,
    fails: u32,
    passes: u32,
}

/// Up/down state of every host of a ring.
#[derive(Debug)]
pub struct HealthTable {
    hosts: HashMap<String, Mutex<HostHealth>>,
    policy: HealthCheckConfig,
}

impl HealthTable {
    pub fn new(hosts: &[String], policy: HealthCheckConfig) -> Self {
        Self {
            hosts: hosts
                .iter()
                .map(|h| (h.clone(), Mutex::default()))
                .collect(),
            policy,
        }
    }

    /// Whether `host` is considered up (unknown hosts are).
    pub fn is_up(&self, host: &str) -> bool {
        self.hosts
            .get(host)
            .is_none_or(|h| !h.lock().expect("health lock poisoned").down)
    }

    /// Records one probe result; returns the new state when it changed.
    pub fn record(&self, host: &str, healthy: bool) -> Option<bool> {
        let mut state = self.hosts.get(host)?.lock().expect("health lock poisoned");
        if healthy {
            state.fails = 0;
            state.passes = state.passes.saturating_add(1);
            if state.down && state.passes >= self.policy.passes {
                state.down = false;
                return Some(true);
            }
        } else {
            state.passes = 0;
            state.fails = state.fails.saturating_add(1);
            if !state.down && state.fails >= self.policy.fails {
                state.down = true;
                return Some(false);
            }
        }
        None
    }

    pub fn policy(&self) -> &HealthCheckConfig {
        &self.policy
    }
}

/// Probes every client's host each interval until `shutdown` fires.
pub async fn run_health_checks(
    table: std::sync::Arc<HealthTable>,
    clients: Vec<OriginClient>,
    shutdown: CancellationToken,
) -> ClientResult<()> {
    let policy = table.policy().clone();
    let mut ticks = tokio::time::interval(policy.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = ticks.tick() => {}
        }
        let probes = clients.iter().map(|c| async {
            let result = c.health(policy.timeout).await;
            (c.host(), result)
        });
        for (host, result) in join_all(probes).await {
            match table.record(host, result.is_ok()) {
                Some(true) => info!(host, "origin is back up"),
                Some(false) => warn!(host, error = %result.unwrap_err(), "origin marked down"),
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn fails_mark_down_and_passes_bring_back() {
        let policy = HealthCheckConfig {
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            fails: 3,
            passes: 2,
        };
        let table = HealthTable::new(&["a:1".to_owned()], policy);
        assert!(table.is_up("a:1"));
        assert_eq!(table.record("a:1", false), None);
        assert_eq!(table.record("a:1", false), None);
        assert_eq!(
            table.record("a:1", true),
            None,
            "a pass resets the failures"
        );
        assert_eq!(table.record("a:1", false), None);
        assert_eq!(table.record("a:1", false), None);
        assert_eq!(table.record("a:1", false), Some(false));
        assert!(!table.is_up("a:1"));
        assert_eq!(table.record("a:1", false), None, "already down");
        assert_eq!(table.record("a:1", true), None);
        assert_eq!(table.record("a:1", true), Some(true));
        assert!(table.is_up("a:1"));
        assert!(table.is_up("unknown:1"));
        assert_eq!(table.record("unknown:1", false), None);
    }
}
