//! The peer listener: accepts connections and runs each in its own task.
//!
//! An incoming peer must send its handshake first, within the handshake timeout, for an
//! active torrent; only then do we answer with ours. An info hash with no active torrent
//! goes to the engine's [`crate::InboundResolver`], if it has one (origins): if that
//! knows the blob, seeding starts and the handshake goes on. Anything else (garbage, a
//! half handshake, an unknown info hash) is closed without a reply. Handshakes in
//! progress are capped, so a flood of idle sockets cannot pile up tasks.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use starling_core::InfoHash;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::handshake::{check_peer, read_remote, send_ours};
use super::{PeerLink, session};
use crate::context::Context;
use crate::error::PeerError;
use crate::peer_class::PeerClass;
use crate::torrent::Torrent;

/// Handshakes that may be in progress at once.
const MAX_PENDING_HANDSHAKES: usize = 256;

/// Accepts peers until shutdown.
pub async fn accept_loop(ctx: Arc<Context>, listener: TcpListener) -> Result<(), Infallible> {
    let pending = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    loop {
        let accepted = tokio::select! {
            _ = ctx.shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, addr)) => {
                let Ok(permit) = pending.clone().try_acquire_owned() else {
                    tracing::warn!(%addr, "too many handshakes in progress; connection dropped");
                    continue;
                };
                let conn = ctx.next_conn_id();
                let span = tracing::debug_span!(
                    "peer",
                    local = %ctx.peer_id,
                    %conn,
                    %addr,
                    dir = "in",
                    peer = tracing::field::Empty
                );
                let task = handle(ctx.clone(), stream, addr, conn, permit);
                ctx.spawn("peer-in", task.instrument(span));
            }
            Err(error) => {
                // Out of descriptors and similar: pause instead of spinning on the error.
                tracing::warn!(%error, "accepting a peer failed");
                tokio::select! {
                    _ = ctx.shutdown.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        }
    }
}

/// Starts seeding the blob of `info_hash` if the engine's resolver knows it.
async fn resolve_inbound(
    ctx: &Arc<Context>,
    info_hash: &InfoHash,
) -> Result<Arc<Torrent>, PeerError> {
    const UNKNOWN: PeerError = PeerError::Refused("no active torrent for that info hash");
    let resolver = ctx.inbound.as_ref().ok_or(UNKNOWN)?;
    let timeout = ctx.settings.handshake_timeout;
    let metainfo = tokio::time::timeout(timeout, resolver.resolve(info_hash))
        .await
        .map_err(|_| PeerError::HandshakeTimeout(timeout))?
        .ok_or(UNKNOWN)?;
    if metainfo.info_hash() != *info_hash {
        tracing::warn!(%info_hash, got = %metainfo.info_hash(), "the inbound resolver answered with another torrent");
        return Err(UNKNOWN);
    }
    let torrent = Torrent::seed(ctx, metainfo).await.map_err(|error| {
        tracing::warn!(%info_hash, %error, "cannot seed a blob the inbound resolver knows");
        UNKNOWN
    })?;
    // A torrent already running for the digest under another info hash (other piece
    // length) is not the one the peer asked for.
    if torrent.info_hash != *info_hash {
        return Err(UNKNOWN);
    }
    ctx.metrics.inbound_resolved();
    tracing::debug!(%info_hash, digest = %torrent.digest, "seeding on demand for an incoming peer");
    Ok(torrent)
}

async fn handle(
    ctx: Arc<Context>,
    stream: TcpStream,
    addr: SocketAddr,
    conn: super::ConnId,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<(), Infallible> {
    if let Err(error) = serve(ctx, stream, addr, conn, permit).await {
        session::log_end(&error);
    }
    Ok(())
}

async fn serve(
    ctx: Arc<Context>,
    mut stream: TcpStream,
    addr: SocketAddr,
    conn: super::ConnId,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<(), PeerError> {
    let remote = tokio::select! {
        _ = ctx.shutdown.cancelled() => return Ok(()),
        remote = read_remote(&mut stream, ctx.settings.handshake_timeout) => remote?,
    };
    check_peer(&ctx, &remote)?;
    let torrent = match ctx.torrents.by_info_hash(&remote.info_hash) {
        Some(torrent) => torrent,
        None => resolve_inbound(&ctx, &remote.info_hash).await?,
    };
    send_ours(&mut stream, &torrent).await?;
    drop(permit);
    let link = PeerLink {
        conn,
        peer_id: remote.peer_id,
        addr,
        outgoing: false,
        class: PeerClass::of(&remote.peer_id),
    };
    let tracked = torrent
        .conns
        .track_future(session::run(torrent.clone(), stream, link, || {}));
    tracked.await
}
