//! [`OriginResolver`]: the origin's [`InboundResolver`]. A peer that handshakes for an
//! info hash the engine does not seed right now is served if the origin ever generated
//! that torrent: the index names the blob, the kept metainfo file describes it, and the
//! blob is in the store (or is read through from the namespace's backend when the
//! namespace is known).

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use starling_core::InfoHash;
use starling_core::metainfo::MetaInfo;
use starling_p2p::InboundResolver;
use tracing::{debug, warn};

use super::index::SwarmIndex;
use crate::blobs::BlobService;
use crate::metainfo::{metainfo_path, read_kept};

/// Finds blobs by info hash for the engine's accept loop.
pub struct OriginResolver {
    pub index: Arc<SwarmIndex>,
    pub metainfo_dir: PathBuf,
    pub blobs: Arc<BlobService>,
}

#[async_trait]
impl InboundResolver for OriginResolver {
    async fn resolve(&self, info_hash: &InfoHash) -> Option<MetaInfo> {
        let entry = self.index.get(info_hash)?;
        let digest = entry.digest;
        let path = metainfo_path(&self.metainfo_dir, &digest);
        let bytes = match read_kept(path).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                warn!(%digest, "indexed metainfo file is gone");
                return None;
            }
            Err(error) => {
                warn!(%digest, %error, "cannot read a kept metainfo file");
                return None;
            }
        };
        let metainfo = MetaInfo::from_bytes(&bytes)
            .inspect_err(|error| warn!(%digest, %error, "kept metainfo file is invalid"))
            .ok()?;
        let local = self.blobs.store().stat(&digest).ok().flatten().is_some();
        if !local {
            let Some(namespace) = entry.namespace else {
                debug!(%digest, "blob evicted and its namespace unknown; peer not served");
                return None;
            };
            if let Err(error) = self.blobs.ensure_local(&namespace, &digest).await {
                warn!(%digest, %error, "cannot read the blob through for a peer");
                return None;
            }
        }
        Some(metainfo)
    }
}
