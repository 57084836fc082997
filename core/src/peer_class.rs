//! Peer classes (origin or agent), carried in the peer id so that traffic can be counted
//! by class without any extension to the protocol.
//!
//! A Starling peer id is `-SL0100-` followed by 12 random lowercase alphanumerics. The
//! engine overwrites the first random byte with `O` (origin) or `A` (agent); generated ids
//! never contain upper case, so the marker cannot occur by chance. Ids of other clients
//! have no class.

use std::fmt;

use crate::PeerId;

/// Offset of the class marker: the first byte after the client prefix.
const MARKER_AT: usize = 8;

/// What kind of Starling node a peer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerClass {
    Origin,
    Agent,
}

impl PeerClass {
    fn marker(self) -> u8 {
        match self {
            Self::Origin => b'O',
            Self::Agent => b'A',
        }
    }

    /// A fresh peer id for a node of this class.
    pub fn new_peer_id(self) -> PeerId {
        let mut bytes = *PeerId::generate().as_bytes();
        bytes[MARKER_AT] = self.marker();
        PeerId::from_bytes(bytes)
    }

    /// The class a peer id announces, if it is a Starling id with a marker.
    pub fn of(peer_id: &PeerId) -> Option<Self> {
        if !peer_id.is_starling() {
            return None;
        }
        match peer_id.as_bytes()[MARKER_AT] {
            b'O' => Some(Self::Origin),
            b'A' => Some(Self::Agent),
            _ => None,
        }
    }

    /// The metrics label of a peer of class `class`.
    pub fn label(class: Option<Self>) -> &'static str {
        match class {
            Some(Self::Origin) => "origin",
            Some(Self::Agent) => "agent",
            None => "other",
        }
    }
}

impl fmt::Display for PeerClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::label(Some(*self)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_round_trips_through_the_peer_id() {
        for class in [PeerClass::Origin, PeerClass::Agent] {
            let id = class.new_peer_id();
            assert!(id.is_starling());
            assert_eq!(PeerClass::of(&id), Some(class));
        }
        assert_eq!(PeerClass::of(&PeerId::generate()), None);
        assert_eq!(
            PeerClass::of(&PeerId::from_bytes(*b"-lt0D80-OOOOOOOOOOOO")),
            None
        );
        assert_eq!(PeerClass::label(None), "other");
        assert_eq!(PeerClass::Origin.to_string(), "origin");
    }
}
