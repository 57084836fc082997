//! Where a peer sits in the network: the optional `zone` and `rack` an agent announces.
//!
//! The names ([`Zone`], [`Rack`]) are part of the announce codec in `starling_core`,
//! which validates them while decoding the query. A peer is only "near"
//! another in a dimension the *requester* declared: a requester without a zone sees every
//! peer as [`Proximity::Other`], so undeclared locality never changes the hand-out.

pub use starling_core::announce::{Rack, Zone};

/// A peer's announced position; both parts optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locality {
    pub zone: Option<Zone>,
    pub rack: Option<Rack>,
}

/// How close a peer is to the requester, nearest first (the derived order is the
/// hand-out preference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proximity {
    SameRack,
    SameZone,
    Other,
}

impl Proximity {
    pub const ALL: [Proximity; 3] = [Proximity::SameRack, Proximity::SameZone, Proximity::Other];
}

impl Locality {
    /// How close `peer` is to `self` (the requester). Racks only match within the same
    /// zone (rack names are often reused across zones); both zones absent counts as
    /// the same zone for that purpose.
    pub fn proximity_to(&self, peer: &Locality) -> Proximity {
        let same_zone = self.zone == peer.zone;
        if self.rack.is_some() && same_zone && self.rack == peer.rack {
            Proximity::SameRack
        } else if self.zone.is_some() && same_zone {
            Proximity::SameZone
        } else {
            Proximity::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(zone: Option<&str>, rack: Option<&str>) -> Locality {
        Locality {
            zone: zone.map(|z| Zone::parse(z.as_bytes()).unwrap()),
            rack: rack.map(|r| Rack::parse(r.as_bytes()).unwrap()),
        }
    }

    #[test]
    fn proximity_only_counts_what_the_requester_declared() {
        let me = at(Some("z1"), Some("r1"));
        assert_eq!(
            me.proximity_to(&at(Some("z1"), Some("r1"))),
            Proximity::SameRack
        );
        assert_eq!(
            me.proximity_to(&at(Some("z1"), Some("r2"))),
            Proximity::SameZone
        );
        assert_eq!(me.proximity_to(&at(Some("z1"), None)), Proximity::SameZone);
        assert_eq!(
            me.proximity_to(&at(Some("z2"), Some("r1"))),
            Proximity::Other
        );
        assert_eq!(me.proximity_to(&at(None, Some("r1"))), Proximity::Other);
        assert_eq!(me.proximity_to(&at(None, None)), Proximity::Other);

        let nowhere = Locality::default();
        assert_eq!(nowhere.proximity_to(&at(None, None)), Proximity::Other);
        assert_eq!(
            nowhere.proximity_to(&at(Some("z1"), None)),
            Proximity::Other
        );

        let rack_only = at(None, Some("r1"));
        assert_eq!(
            rack_only.proximity_to(&at(None, Some("r1"))),
            Proximity::SameRack
        );
        assert_eq!(
            rack_only.proximity_to(&at(Some("z1"), Some("r1"))),
            Proximity::Other
        );
    }
}
