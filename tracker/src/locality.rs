//! Where a peer sits in the network: the optional `zone` and `rack` an agent announces.
//!
//! Names are 1-63 characters of `A-Z a-z 0-9 . _ -` (the Kubernetes label value
//! alphabet, since agents take them from node topology labels). A peer is only "near"
//! another in a dimension the *requester* declared: a requester without a zone sees every
//! peer as [`Proximity::Other`], so undeclared locality never changes the hand-out.

use std::fmt;

const MAX_NAME_LEN: usize = 63;

/// Why a zone or rack name was rejected.
pub const NAME_RULE: &str = "must be 1-63 characters of A-Z a-z 0-9 . _ -";

macro_rules! location_name {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(Box<str>);

        impl $name {
            /// Validates decoded query bytes; `None` when they break [`NAME_RULE`].
            pub fn parse(bytes: &[u8]) -> Option<Self> {
                let valid = (1..=MAX_NAME_LEN).contains(&bytes.len())
                    && bytes
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b));
                // Every accepted byte is ASCII, so the conversion cannot fail.
                let text = std::str::from_utf8(bytes).ok().filter(|_| valid)?;
                Some(Self(text.into()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }
    };
}

location_name!(
    /// An availability zone (failure domain spanning racks).
    Zone
);
location_name!(
    /// A rack inside a zone.
    Rack
);

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
    fn names_follow_the_label_alphabet() {
        assert_eq!(Zone::parse(b"us-east-1a").unwrap().as_str(), "us-east-1a");
        assert!(Rack::parse(b"r_1.b").is_some());
        assert!(Zone::parse(&[b'a'; 63]).is_some());
        for bad in [
            &b""[..],
            &[b'a'; 64],
            b"a b",
            b"a/b",
            b"\xff",
            "zoné".as_bytes(),
        ] {
            assert!(Zone::parse(bad).is_none(), "{bad:?}");
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
