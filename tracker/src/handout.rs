//! Peer hand-out: which peers an announcing peer is told about, and in what order.
//!
//! Pure: takes the live peers of one swarm and a random source, returns references.
//! Rules (docs/tracker-api.md, "Hand-out"):
//! - at most `limit` peers, never the requester itself (by peer id or address);
//! - classes in order: complete peers (seeders) first, then origins, then leechers; a
//!   class is never interleaved with another. Origins come after other seeders so that
//!   a blob leaves the origin about once and agents serve each other, yet before
//!   leechers so that a swarm of leechers always has a full copy to draw from. Origins
//!   are whoever the caller marks as such: the owners of the blob on the origin ring
//!   (added without announcing) and peers whose peer id carries the origin class;
//! - within a class, same rack first, then same zone, then the rest, shuffled within
//!   each group so load spreads over equally good peers;
//! - at least a quarter of the hand-out (rounded up) goes to other-zone peers when there
//!   are that many, so a zone that starts late is never starved by local peers that
//!   only know each other. The reserved slots are taken from the lowest-ranked local
//!   peers; the output stays in rank order.

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

/// Orders and trims `peers` (already filtered to live ones) for `requester`.
pub fn hand_out<'a, R: Rng + ?Sized>(
    requester: Requester<'_>,
    peers: impl IntoIterator<Item = Handed<'a>>,
    limit: usize,
    rng: &mut R,
) -> Vec<Handed<'a>> {
    // groups[class][proximity], both in preference order.
    let mut groups: [[Vec<Handed<'a>>; 3]; PeerClass::ALL.len()] = Default::default();
    for (id, entry) in peers {
        if id != requester.peer_id && entry.addr != requester.addr {
            let proximity = requester.locality.proximity_to(&entry.locality);
            groups[entry.class() as usize][proximity as usize].push((id, entry));
        }
    }
    let available: usize = groups.iter().flatten().map(Vec::len).sum();
    let limit = limit.min(available);
    let others: usize = groups
        .iter()
        .map(|class| class[Proximity::Other as usize].len())
        .sum();
    let reserved_for_others = limit.div_ceil(4).min(others);
    let local_cap = limit - reserved_for_others;

    let mut out = Vec::with_capacity(limit);
    let mut locals = 0;
    for group_row in &mut groups {
        for (proximity, group) in Proximity::ALL.into_iter().zip(group_row.iter_mut()) {
            // A group never contributes more than `limit`, so only that many are drawn.
            let (drawn, _) = group.partial_shuffle(rng, limit);
            for &peer in drawn.iter() {
                if out.len() == limit {
                    return out;
                }
                if proximity != Proximity::Other {
                    if locals == local_cap {
                        break;
                    }
                    locals += 1;
                }
                out.push(peer);
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "handout_tests.rs"]
mod tests;
