//! Agents and trackers must agree on which tracker owns a swarm: the tracker writes the
//! owner into the torrent's announce URL (and is the one agents ask for the torrent),
//! and agents announce to their ring's first candidate. Two rings that placed
//! differently would split swarms across trackers, and the tracker that learnt which
//! origins seed a blob would not be the one handing out its peers.

use std::time::Instant;

use starling_core::Digest;
use starling_p2p::announce::{HealthPolicy, TrackerRing as AgentRing, TrackerUrl};
use starling_tracker::ring::TrackerRing;

#[test]
fn agents_pick_the_tracker_named_in_the_announce_url() {
    let hosts: Vec<String> = (0..5).map(|i| format!("tracker-{i}:15003")).collect();
    let tracker_ring = TrackerRing::new(&hosts, &hosts[0]);
    let urls = hosts
        .iter()
        .map(|h| TrackerUrl::parse(h).expect("a host:port tracker address"))
        .collect();
    let agent_ring = AgentRing::new(urls, HealthPolicy::default());
    let now = Instant::now();
    for i in 0..2_000u32 {
        let digest = Digest::of(&i.to_be_bytes());
        let agent_order: Vec<String> = agent_ring
            .candidates(&digest, now)
            .into_iter()
            .map(|t| agent_ring.tracker(t).authority().to_owned())
            .collect();
        assert_eq!(agent_order, tracker_ring.owners(&digest), "{digest}");
        assert_eq!(
            tracker_ring.announce_url(&digest),
            format!("http://{}/announce", agent_order[0]),
            "{digest}"
        );
    }
}
