//! Starting a torrent that seeds a blob already committed in the store: what
//! [`crate::Engine::seed`] does, and what an incoming handshake for a blob the node holds
//! but does not seed yet does (see [`crate::InboundResolver`]).

use std::sync::Arc;

use starling_core::Bitfield;
use starling_core::metainfo::MetaInfo;

use super::Torrent;
use super::source::Source;
use crate::context::Context;
use crate::error::{Error, Result};

impl Torrent {
    /// The torrent of the blob `metainfo` names: the active one if there is one
    /// (seeding or downloading), else a new one seeding from the store.
    pub async fn seed(ctx: &Arc<Context>, metainfo: MetaInfo) -> Result<Arc<Torrent>> {
        let digest = metainfo.digest()?;
        let creator = ctx.clone();
        let meta = Arc::new(metainfo);
        let torrent = ctx
            .torrents
            .get_or_create(digest, || async move {
                let reader = creator
                    .store
                    .open(&digest)
                    .await?
                    .ok_or(Error::NotInStore { digest })?;
                if reader.size() != meta.info().length() {
                    return Err(Error::DownloadFailed {
                        digest,
                        reason: format!(
                            "the stored blob has {} bytes, the metainfo says {}",
                            reader.size(),
                            meta.info().length()
                        ),
                    });
                }
                let have = Bitfield::full(meta.piece_count());
                Ok(Torrent::start(
                    creator,
                    meta,
                    digest,
                    have,
                    Source::committed(reader),
                ))
            })
            .await?;
        ctx.metrics.set_torrents(ctx.torrents.len());
        Ok(torrent)
    }
}
