//! Who gets an upload slot: pure, with the randomness passed in.
//!
//! Classic BitTorrent choking, per torrent: every choke round the interested peers that
//! gave us the most in the last round (or, once we seed, that took the most) keep the
//! regular slots, and one more slot goes to a random other interested peer, rotated each
//! round, so that newcomers with nothing to offer yet get a first piece (the optimistic
//! unchoke). Between rounds the torrent also fills a free slot as soon as a peer becomes
//! interested, so nobody waits a whole round for the first unchoke.
//!
//! Agents and origins both use bounded slots (see `EngineSettings::origin` for why an
//! origin does too); with [`UploadSlots::Unlimited`] every interested peer is unchoked.

use std::hash::Hash;

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};

/// How many peers a torrent uploads to at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadSlots {
    Limited(usize),
    Unlimited,
}

impl UploadSlots {
    /// Whether `unchoked` peers already fill every slot.
    pub fn is_full(self, unchoked: usize) -> bool {
        match self {
            Self::Limited(slots) => unchoked >= slots,
            Self::Unlimited => false,
        }
    }
}

/// One connected peer as the choker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<Id> {
    pub id: Id,
    pub interested: bool,
    /// Bytes exchanged in the last round: received from the peer while we download,
    /// sent to it once we seed.
    pub rate: u64,
}

/// The outcome of a choke round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<Id> {
    pub unchoked: Vec<Id>,
    pub optimistic: Option<Id>,
}

/// Chooses the unchoked set for the next round. `previous_optimistic` is skipped for the
/// optimistic slot when another peer can take it, so the slot rotates.
pub fn choose<Id, R>(
    candidates: &[Candidate<Id>],
    slots: UploadSlots,
    previous_optimistic: Option<Id>,
    rng: &mut R,
) -> Decision<Id>
where
    Id: Copy + Eq + Hash,
    R: Rng + ?Sized,
{
    let mut interested: Vec<Candidate<Id>> = candidates
        .iter()
        .copied()
        .filter(|c| c.interested)
        .collect();
    let slots = match slots {
        UploadSlots::Unlimited => {
            return Decision {
                unchoked: interested.iter().map(|c| c.id).collect(),
                optimistic: None,
            };
        }
        UploadSlots::Limited(slots) => slots.max(1),
    };
    // Shuffle before the stable sort so that equal rates (all zero at the start) are
    // ordered at random rather than by connection age.
    interested.shuffle(rng);
    interested.sort_by_key(|c| std::cmp::Reverse(c.rate));
    let regular = if slots > 1 { slots - 1 } else { slots };
    let mut unchoked: Vec<Id> = interested.iter().take(regular).map(|c| c.id).collect();
    let rest: Vec<Id> = interested.iter().skip(regular).map(|c| c.id).collect();
    let optimistic = if slots > 1 {
        let fresh: Vec<Id> = rest
            .iter()
            .copied()
            .filter(|&id| Some(id) != previous_optimistic)
            .collect();
        let pool = if fresh.is_empty() { &rest } else { &fresh };
        pool.choose(rng).copied()
    } else {
        None
    };
    unchoked.extend(optimistic);
    Decision {
        unchoked,
        optimistic,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::*;

    fn candidates(rates: &[(u32, bool, u64)]) -> Vec<Candidate<u32>> {
        rates
            .iter()
            .map(|&(id, interested, rate)| Candidate {
                id,
                interested,
                rate,
            })
            .collect()
    }

    #[test]
    fn unlimited_slots_unchoke_every_interested_peer() {
        let peers = candidates(&[(1, true, 0), (2, false, 9), (3, true, 5)]);
        let mut rng = SmallRng::seed_from_u64(0);
        let decision = choose(&peers, UploadSlots::Unlimited, None, &mut rng);
        assert_eq!(decision.unchoked, vec![1, 3]);
        assert_eq!(decision.optimistic, None);
    }

    #[test]
    fn fastest_peers_keep_regular_slots_plus_one_optimistic() {
        let peers = candidates(&[
            (1, true, 10),
            (2, true, 50),
            (3, false, 99),
            (4, true, 30),
            (5, true, 0),
            (6, true, 1),
        ]);
        let mut rng = SmallRng::seed_from_u64(5);
        let decision = choose(&peers, UploadSlots::Limited(3), None, &mut rng);
        assert_eq!(&decision.unchoked[..2], &[2, 4], "the two fastest");
        let optimistic = decision.optimistic.unwrap();
        assert!([1, 5, 6].contains(&optimistic));
        assert_eq!(decision.unchoked.len(), 3);
    }

    #[test]
    fn the_optimistic_slot_rotates_through_everyone() {
        let peers = candidates(&[(1, true, 100), (2, true, 0), (3, true, 0), (4, true, 0)]);
        let mut rng = SmallRng::seed_from_u64(11);
        let mut previous = None;
        let mut seen = HashSet::new();
        for _ in 0..30 {
            let decision = choose(&peers, UploadSlots::Limited(2), previous, &mut rng);
            assert_eq!(decision.unchoked[0], 1);
            assert_ne!(decision.optimistic, previous, "rotates when it can");
            seen.extend(decision.optimistic);
            previous = decision.optimistic;
        }
        assert_eq!(seen, HashSet::from([2, 3, 4]));
    }

    #[test]
    fn fewer_peers_than_slots_unchokes_all_and_is_full_counts() {
        let peers = candidates(&[(1, true, 0), (2, true, 0)]);
        let mut rng = SmallRng::seed_from_u64(2);
        let mut got = choose(&peers, UploadSlots::Limited(8), None, &mut rng).unchoked;
        got.sort();
        assert_eq!(got, vec![1, 2]);
        assert!(UploadSlots::Limited(2).is_full(2));
        assert!(!UploadSlots::Limited(2).is_full(1));
        assert!(!UploadSlots::Unlimited.is_full(usize::MAX));
    }
}
