//! Domain types and wire formats shared by every Starling component.
//!
//! Everything here is pure data and parsing: content digests, repository names and
//! tags, BitTorrent identifiers, BEP 3 metainfo and the BEP 3 peer wire codec. No
//! servers, no configuration, no background tasks. Values are parsed and validated at
//! the edge into these newtypes, so code past the edge never handles a raw string id.

pub mod announce;
pub mod bitfield;
pub mod digest;
pub mod error;
pub mod info_hash;
pub mod metainfo;
pub mod peer_class;
pub mod peer_id;
pub mod peer_wire;
pub mod piece;
pub mod range;
pub mod reference;
pub mod registry;
pub mod registry_name;
pub mod ring;

pub use bitfield::Bitfield;
pub use digest::{Digest, DigestHasher};
pub use error::{Error, Result};
pub use info_hash::InfoHash;
pub use peer_class::PeerClass;
pub use peer_id::PeerId;
pub use piece::{PieceIndex, PieceLengthPolicy, PieceLengthStep};
pub use range::ByteRange;
pub use reference::{RepoName, Tag};
pub use ring::{Ring, blob_key};

/// A body streamed in `Bytes` chunks, so a multi-gigabyte blob never sits in memory:
/// what backends read and write and what the origin client downloads.
pub type ByteStream = futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;
