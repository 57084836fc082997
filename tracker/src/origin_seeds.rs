//! Which origins seed which swarm, so that announces list origins without the origins
//! announcing.
//!
//! Origins do not announce (announcing every blob an origin holds every interval would
//! cost in proportion to what is stored, not to what is pulled). Instead the tracker
//! remembers, for each torrent whose metainfo it served, the info hash -> (namespace,
//! digest) and which of the digest's owners on the origin ring confirmed the torrent by
//! serving its metainfo (an origin starts seeding a blob when it serves its metainfo,
//! and an origin that never generated it would not recognise the info hash). The owner
//! the metainfo came from is confirmed at once; the other owners are asked for the
//! metainfo in the background (again, for about a minute, while a replica has not
//! received its copy yet). An announce for a remembered info hash then gets the
//! confirmed owners that health checks consider up and whose identity is known.
//!
//! Identities (peer id and peer address, from each origin's `GET /peer`, the address
//! resolved here) are cached per origin and refreshed by a background loop, so the
//! announce path never waits on the network.
//!
//! Memory: swarms are remembered for `max(metainfo_cache_ttl, 1 h)` after the metainfo
//! was last served, at most [`MAX_SWARMS`] of them (the oldest go first).
//!
//! Lock order: the swarm cache, a swarm's host list and the identity map are each
//! locked alone, never one inside another, and never across an await.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::future::join_all;
use starling_clients::{OriginClient, OriginCluster};
use starling_core::{Digest, InfoHash, RepoName};
use starling_runtime::spawn_named;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::cache::{CacheLimits, TtlCache};
use crate::metrics::MetainfoMetrics;
use crate::store::OriginSeed;

/// Most swarms remembered.
pub const MAX_SWARMS: usize = 100_000;
/// Swarms are remembered at least this long after their metainfo was last served.
pub const MIN_SWARM_MEMORY: Duration = Duration::from_secs(3600);
/// How often every origin's identity is fetched again.
pub const IDENTITY_REFRESH: Duration = Duration::from_secs(30);
/// Bound on one `GET /peer` and the name lookup of its address.
pub const IDENTITY_TIMEOUT: Duration = Duration::from_secs(3);
/// Bound on asking another owner for a torrent, generation on the origin included.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(600);
/// Rounds of asking the other owners (about a minute with the pauses between them).
pub const CONFIRM_ROUNDS: u32 = 6;

/// One swarm whose metainfo this tracker served.
#[derive(Debug)]
struct SeededSwarm {
    namespace: RepoName,
    digest: Digest,
    /// Owners that served this torrent, in confirmation order.
    hosts: Mutex<Vec<String>>,
}

impl SeededSwarm {
    fn hosts(&self) -> MutexGuard<'_, Vec<String>> {
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn confirm(&self, host: &str) {
        let mut hosts = self.hosts();
        if !hosts.iter().any(|h| h == host) {
            hosts.push(host.to_owned());
        }
    }
}

/// The origins seeding each swarm this tracker knows of.
pub struct OriginSeeds {
    cluster: OriginCluster,
    swarms: TtlCache<InfoHash, Arc<SeededSwarm>>,
    identities: Mutex<HashMap<String, OriginSeed>>,
    background: CancellationToken,
    metrics: MetainfoMetrics,
}

impl OriginSeeds {
    /// Remembers swarms for `max(metainfo_ttl, MIN_SWARM_MEMORY)`.
    pub fn new(cluster: OriginCluster, metainfo_ttl: Duration, metrics: MetainfoMetrics) -> Self {
        let limits = CacheLimits {
            ttl: metainfo_ttl.max(MIN_SWARM_MEMORY),
            max_entries: MAX_SWARMS,
            max_weight: MAX_SWARMS,
        };
        Self {
            cluster,
            swarms: TtlCache::new(limits, |_| 1),
            identities: Mutex::default(),
            background: CancellationToken::new(),
            metrics,
        }
    }

    /// The origins to hand out to an announce for `info_hash`: confirmed owners that are
    /// up and whose identity is known. Empty for a torrent whose metainfo this tracker
    /// did not serve.
    pub fn seeds_for(&self, info_hash: &InfoHash, now: Instant) -> Vec<OriginSeed> {
        let Some(swarm) = self.swarms.get(info_hash, now) else {
            return Vec::new();
        };
        let hosts: Vec<String> = swarm
            .hosts()
            .iter()
            .filter(|h| self.cluster.is_up(h))
            .cloned()
            .collect();
        let identities = self.identities();
        hosts
            .iter()
            .filter_map(|h| identities.get(h).copied())
            .collect()
    }

    /// The tracker serves the torrent of `digest` (info hash `info_hash`), just fetched
    /// from origin `from` or from its cache (`None`): remember the swarm, confirm `from`
    /// (its identity is fetched now if unknown, so the first announce finds it), and on
    /// first sight ask the other owners in the background.
    pub async fn served(
        self: &Arc<Self>,
        namespace: &RepoName,
        digest: Digest,
        info_hash: InfoHash,
        from: Option<&str>,
    ) {
        let now = Instant::now();
        let known = self.swarms.get(&info_hash, now);
        let first_sight = known.is_none();
        let swarm = known.unwrap_or_else(|| {
            Arc::new(SeededSwarm {
                namespace: namespace.clone(),
                digest,
                hosts: Mutex::default(),
            })
        });
        // Re-inserting restarts the swarm's time to live.
        self.swarms.insert(info_hash, swarm.clone(), now);
        if let Some(host) = from
            && self.ensure_identity(host).await
        {
            swarm.confirm(host);
        }
        if first_sight {
            let seeds = self.clone();
            let background = self.background.clone();
            spawn_named("confirm-origin-seeds", async move {
                tokio::select! {
                    () = background.cancelled() => {}
                    () = seeds.confirm_owners(&swarm, info_hash) => {}
                }
                Ok::<(), std::convert::Infallible>(())
            });
        }
    }

    /// Asks every owner not confirmed yet for the torrent; those that serve the same
    /// info hash seed it now. Owners that cannot serve it yet (a copy still on its way
    /// to them, an owner down) are asked again after 1 s, 2 s, 4 s, ... for
    /// [`CONFIRM_ROUNDS`] rounds.
    async fn confirm_owners(&self, swarm: &SeededSwarm, info_hash: InfoHash) {
        let mut pause = Duration::from_secs(1);
        for round in 1..=CONFIRM_ROUNDS {
            let pending: Vec<OriginClient> = self
                .cluster
                .owners(&swarm.digest)
                .iter()
                .filter(|h| !swarm.hosts().contains(h))
                .filter_map(|h| self.cluster.client(h).cloned())
                .collect();
            if pending.is_empty() {
                return;
            }
            join_all(
                pending
                    .iter()
                    .filter(|client| self.cluster.is_up(client.host()))
                    .map(|client| self.confirm_owner(client, swarm, info_hash)),
            )
            .await;
            if round < CONFIRM_ROUNDS {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
    }

    async fn confirm_owner(&self, client: &OriginClient, swarm: &SeededSwarm, info_hash: InfoHash) {
        let host = client.host();
        let asked = client.metainfo(&swarm.namespace, &swarm.digest);
        match tokio::time::timeout(CONFIRM_TIMEOUT, asked).await {
            Ok(Ok(metainfo)) if metainfo.info_hash() == info_hash => {
                if self.ensure_identity(host).await {
                    swarm.confirm(host);
                    debug!(%host, digest = %swarm.digest, "origin confirmed as a seeder");
                }
            }
            Ok(Ok(metainfo)) => warn!(
                %host, digest = %swarm.digest, %info_hash, other = %metainfo.info_hash(),
                "owner describes the blob with another torrent (piece lengths differ?); not handed out"
            ),
            Ok(Err(error)) => debug!(%host, %error, "owner cannot serve the torrent yet"),
            Err(_) => debug!(%host, "owner too slow to serve the torrent"),
        }
    }

    /// Whether the identity of `host` is known, fetching it if not.
    async fn ensure_identity(&self, host: &str) -> bool {
        if self.identities().contains_key(host) {
            return true;
        }
        self.fetch_identity(host).await
    }

    /// Fetches and stores the identity of `host`; false if that failed.
    async fn fetch_identity(&self, host: &str) -> bool {
        let Some(client) = self.cluster.client(host) else {
            return false;
        };
        match tokio::time::timeout(IDENTITY_TIMEOUT, identity_of(client)).await {
            Ok(Ok(seed)) => {
                let previous = self.identities().insert(host.to_owned(), seed);
                if previous != Some(seed) {
                    info!(%host, peer_id = %seed.peer_id, peer_addr = %seed.addr, "origin identity learnt");
                }
                true
            }
            Ok(Err(error)) => {
                self.metrics.identity_failed();
                debug!(%host, %error, "origin identity unavailable");
                false
            }
            Err(_) => {
                self.metrics.identity_failed();
                debug!(%host, "origin identity request timed out");
                false
            }
        }
    }

    /// Refreshes every origin's identity each [`IDENTITY_REFRESH`] until `shutdown`
    /// (an origin that restarted has a new peer id, maybe a new port).
    pub fn start_refresh(self: &Arc<Self>, shutdown: CancellationToken) -> JoinHandle<()> {
        let seeds = self.clone();
        spawn_named("origin-identities", async move {
            let mut ticks = tokio::time::interval(IDENTITY_REFRESH);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok::<(), std::convert::Infallible>(()),
                    _ = ticks.tick() => {}
                }
                let hosts = seeds.cluster.ring().hosts().to_vec();
                join_all(hosts.iter().map(|h| seeds.fetch_identity(h))).await;
            }
        })
    }

    /// Stops the background confirmations still running (at shutdown).
    pub fn close(&self) {
        self.background.cancel();
    }

    fn identities(&self) -> MutexGuard<'_, HashMap<String, OriginSeed>> {
        self.identities
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// `GET /peer` of one origin, its address resolved (the first address the name has).
async fn identity_of(client: &OriginClient) -> Result<OriginSeed, String> {
    let peer = client.peer().await.map_err(|e| e.to_string())?;
    let addr: SocketAddr = tokio::net::lookup_host(peer.peer_addr.as_str())
        .await
        .map_err(|e| format!("resolving {}: {e}", peer.peer_addr))?
        .next()
        .ok_or_else(|| format!("{} has no address", peer.peer_addr))?;
    Ok(OriginSeed {
        peer_id: peer.peer_id,
        addr,
    })
}

#[cfg(test)]
mod tests {
    use starling_config::ClusterConfig;
    use starling_core::PeerId;

    use super::*;
    use crate::metrics::TrackerMetrics;

    fn seeds(hosts: &[&str]) -> OriginSeeds {
        let cluster = OriginCluster::new(&ClusterConfig::with_hosts(
            hosts.iter().map(|h| (*h).to_owned()),
        ));
        let metrics = TrackerMetrics::new().metainfo().clone();
        OriginSeeds::new(cluster, Duration::from_secs(60), metrics)
    }

    #[test]
    fn only_confirmed_owners_with_a_known_identity_are_handed_out() {
        let seeds = seeds(&["127.0.0.1:1", "127.0.0.1:2"]);
        let now = Instant::now();
        let info_hash = InfoHash::from_bytes([7; 20]);
        assert!(seeds.seeds_for(&info_hash, now).is_empty(), "never served");

        let swarm = Arc::new(SeededSwarm {
            namespace: RepoName::parse("team/app").unwrap(),
            digest: Digest::of(b"x"),
            hosts: Mutex::default(),
        });
        seeds.swarms.insert(info_hash, swarm.clone(), now);
        swarm.confirm("127.0.0.1:1");
        swarm.confirm("127.0.0.1:2");
        swarm.confirm("127.0.0.1:1");
        assert_eq!(swarm.hosts().len(), 2, "confirmed once each");
        assert!(
            seeds.seeds_for(&info_hash, now).is_empty(),
            "no identity yet"
        );

        let known = OriginSeed {
            peer_id: PeerId::from_bytes(*b"-SL0100-Oaaaaaaaaaaa"),
            addr: "127.0.0.1:15001".parse().unwrap(),
        };
        seeds.identities().insert("127.0.0.1:2".to_owned(), known);
        assert_eq!(seeds.seeds_for(&info_hash, now), [known]);
        let later = now + Duration::from_secs(3601);
        assert!(
            seeds.seeds_for(&info_hash, later).is_empty(),
            "forgotten after at least an hour"
        );
    }
}
