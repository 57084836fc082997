//! Peer hand-out: which peers an announcing peer is told about, and in what order.
//!
//! Pure: takes the live peers of one swarm, the origins the tracker knows seed the blob
//! and a random source, returns references. Rules (docs/tracker-api.md, "Hand-out"):
//! - at most `limit` peers, never the requester itself (by peer id or address);
//! - the blob's ring origins (the owners on the origin ring, which the tracker found
//!   itself) are always in: they take their slots first, up to the whole hand-out, and
//!   no announced peer pushes them out. Completeness and the origin marker in a peer id
//!   are claims the tracker cannot check, so without this 50 strangers announcing
//!   `left=0` would fill every slot and hand a pulling agent nobody who has the blob;
//! - the output lists classes in order: complete peers (seeders) first, then origins,
//!   then leechers; a class is never interleaved with another. Origins come after other
//!   seeders so that agents try each other first and a blob leaves the origin about
//!   once, yet before leechers. The origin class holds the ring origins and announced
//!   peers whose peer id carries the origin marker; ring origins come first in it;
//! - within a class, same rack first, then same zone, then the rest, shuffled within
//!   each group so load spreads over equally good peers;
//! - at least a quarter of the hand-out (rounded up) goes to other-zone peers when there
//!   are that many, so a zone that starts late is never starved by local peers that
//!   only know each other. Ring origins of other zones (origins announce no place, so
//!   for a requester with a zone they are other-zone peers) count towards it; the rest
//!   of the share is taken from the lowest-ranked local announced peers. The output
//!   stays in rank order.

use std::net::SocketAddr;

use rand::Rng;
use rand::seq::SliceRandom;
use starling_core::PeerId;

use crate::locality::{Locality, Proximity};
use crate::store::PeerEntry;

/// Hand-out classes in order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerClass {
    /// Agents (or other clients) holding the whole blob.
    Complete,
    /// Origins seeding the blob.
    Origin,
    Leecher,
}

impl PeerClass {
    pub const ALL: [PeerClass; 3] = [PeerClass::Complete, PeerClass::Origin, PeerClass::Leecher];
}

/// Who is asking: excluded from the result and the reference point for locality.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    pub peer_id: &'a PeerId,
    /// Also excluded: an entry at the requester's own address is a stale entry of the
    /// same process under an earlier peer id (a restart), and dialing it is dialing itself.
    pub addr: SocketAddr,
    pub locality: &'a Locality,
}

type Handed<'a> = (&'a PeerId, &'a PeerEntry);

/// Peers by proximity to the requester, nearest first.
type ByProximity<'a> = [Vec<Handed<'a>>; Proximity::ALL.len()];

/// Orders and trims `announced` (the swarm's live peers) and `ring_origins` (the
/// blob's owners on the origin ring, not in `announced`) for `requester`.
pub fn hand_out<'a, R: Rng + ?Sized>(
    requester: Requester<'_>,
    ring_origins: impl IntoIterator<Item = Handed<'a>>,
    announced: impl IntoIterator<Item = Handed<'a>>,
    limit: usize,
    rng: &mut R,
) -> Vec<Handed<'a>> {
    let mut ring: ByProximity<'a> = Default::default();
    for peer in ring_origins {
        requester.sort_into(&mut ring, peer);
    }
    // groups[class][proximity], both in preference order.
    let mut groups: [ByProximity<'a>; PeerClass::ALL.len()] = Default::default();
    for peer in announced {
        requester.sort_into(&mut groups[peer.1.class() as usize], peer);
    }
    let ring_count: usize = ring.iter().map(Vec::len).sum();
    let announced_count: usize = groups.iter().flatten().map(Vec::len).sum();
    let limit = limit.min(ring_count + announced_count);

    // Ring origins first, nearest first, up to the whole hand-out. From here on every
    // group holds only its peers that are handed out, in their order.
    let mut taken = 0;
    for group in &mut ring {
        group.shuffle(rng);
        group.truncate(limit - taken);
        taken += group.len();
    }

    // Then announced peers in rank order, keeping the other-zone share.
    let open = limit - taken;
    let other = Proximity::Other as usize;
    let announced_others: usize = groups.iter().map(|class| class[other].len()).sum();
    let others_wanted = limit
        .div_ceil(4)
        .saturating_sub(ring[other].len())
        .min(announced_others)
        .min(open);
    let local_cap = open - others_wanted;
    let (mut filled, mut locals) = (0, 0);
    for class in &mut groups {
        for (proximity, group) in Proximity::ALL.into_iter().zip(class) {
            let room = if proximity == Proximity::Other {
                open - filled
            } else {
                (open - filled).min(local_cap - locals)
            };
            // A group never contributes more than `room`, so only that many are drawn.
            *group = group.partial_shuffle(rng, room).0.to_vec();
            filled += group.len();
            if proximity != Proximity::Other {
                locals += group.len();
            }
        }
    }

    let mut out = Vec::with_capacity(limit);
    for (class, class_groups) in PeerClass::ALL.into_iter().zip(&groups) {
        for (proximity, group) in class_groups.iter().enumerate() {
            if class == PeerClass::Origin {
                out.extend_from_slice(&ring[proximity]);
            }
            out.extend_from_slice(group);
        }
    }
    out
}

impl Requester<'_> {
    /// Files `peer` under its proximity, unless it is the requester.
    fn sort_into<'p>(&self, groups: &mut ByProximity<'p>, peer: Handed<'p>) {
        let (id, entry) = peer;
        if id != self.peer_id && entry.addr != self.addr {
            let proximity = self.locality.proximity_to(&entry.locality);
            groups[proximity as usize].push(peer);
        }
    }
}

#[cfg(test)]
#[path = "handout_tests.rs"]
mod tests;
