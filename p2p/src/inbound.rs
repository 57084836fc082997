//! Serving blobs a node holds but does not seed yet: the hook an origin plugs in so that
//! it never has to keep a torrent running for every blob on its disk.
//!
//! When a peer handshakes for an info hash with no active torrent, the accept loop asks
//! the engine's [`InboundResolver`] (if it has one) for the metainfo of that info hash.
//! If the resolver knows it, the engine starts seeding the blob from the store and
//! finishes the handshake; otherwise the connection is closed without a reply, as for
//! any unknown info hash. Agents pass no resolver: they serve only what they downloaded.
//!
//! Trust: the resolver is part of the node (it reads metainfo the node generated), and
//! the engine still checks that the metainfo's info hash is the one asked for and that
//! the store holds a blob of the metainfo's length.

use async_trait::async_trait;
use starling_core::InfoHash;
use starling_core::metainfo::MetaInfo;

/// Finds the metainfo of a blob this node can seed, by info hash.
#[async_trait]
pub trait InboundResolver: Send + Sync {
    /// The metainfo whose info hash is `info_hash`, once its blob is committed in the
    /// engine's store (an origin may read it through from its backend first); `None`
    /// when this node cannot serve it. Called while the remote peer waits for our
    /// handshake, so it should answer within the engine's handshake timeout.
    async fn resolve(&self, info_hash: &InfoHash) -> Option<MetaInfo>;
}
