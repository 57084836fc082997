//! Handshake exchange and admission, shared by incoming and outgoing connections.
//!
//! Checks, in order: the remote handshake arrives in time and speaks BEP 3 (the core
//! codec rejects anything else after 20 bytes); its info hash names an active torrent
//! (incoming) or the one we dialled for (outgoing); its peer id is not ours (a
//! self-connection) and not banned; then the torrent admits it if it is under its
//! connection limit and not a duplicate (see `TorrentState::register`). A torrent at its
//! limit first evicts a peer that does not use its slot, if one may go (see
//! [`crate::eviction`]), so idle strangers cannot keep newcomers out.
//!
//! Starling's handshake carries no extension bits (the core codec zeroes them), so a
//! standard client never expects DHT, PEX, the fast extension or BEP 10 from us.

use std::sync::Arc;
use std::time::{Duration, Instant};

use starling_core::peer_wire::{Handshake, read_handshake, write_handshake};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::PeerLink;
use crate::context::Context;
use crate::error::PeerError;
use crate::eviction::EvictionPolicy;
use crate::torrent::Torrent;
use crate::torrent::state::Refusal;

/// Reads the remote handshake, giving up after `timeout`.
pub async fn read_remote(
    stream: &mut TcpStream,
    timeout: Duration,
) -> Result<Handshake, PeerError> {
    tokio::time::timeout(timeout, read_handshake(stream))
        .await
        .map_err(|_| PeerError::HandshakeTimeout(timeout))?
        .map_err(PeerError::from)
}

/// Sends our handshake for `torrent`.
pub async fn send_ours(stream: &mut TcpStream, torrent: &Torrent) -> Result<(), PeerError> {
    let ours = Handshake::new(torrent.info_hash, torrent.ctx.peer_id);
    Ok(write_handshake(stream, &ours).await?)
}

/// Refuses our own peer id and banned ones before any session state is built.
pub fn check_peer(ctx: &Context, remote: &Handshake) -> Result<(), PeerError> {
    if remote.peer_id == ctx.peer_id {
        return Err(PeerError::Refused("that is our own peer id"));
    }
    if ctx.blacklist.is_banned_id(&remote.peer_id, Instant::now()) {
        return Err(PeerError::Refused("the peer is banned"));
    }
    Ok(())
}

/// Registers an established connection with its torrent; returns the connection's
/// token (cancelled to close it). A duplicate it supersedes is closed.
pub fn admit(torrent: &Arc<Torrent>, link: PeerLink) -> Result<CancellationToken, PeerError> {
    let ctx = &torrent.ctx;
    let token = torrent.token.child_token();
    let max_peers = ctx.settings.p2p.max_peers_per_torrent;
    let policy = EvictionPolicy::from_config(&ctx.settings.p2p);
    let (replaced, evicted) = {
        let mut state = torrent.lock();
        match state.register(link, ctx.peer_id, max_peers, token.clone()) {
            Err(Refusal::TooManyPeers) => {
                let evicted = state.make_room(max_peers, &policy, Instant::now());
                let registered = state.register(link, ctx.peer_id, max_peers, token.clone());
                (registered, evicted)
            }
            registered => (registered, None),
        }
    };
    if let Some(victim) = evicted {
        tracing::debug!("torrent full: evicted a peer that did not use its slot");
        ctx.metrics.peer_evicted();
        victim.cancel();
    }
    let replaced = replaced.map_err(|refusal| PeerError::Refused(refusal.reason()))?;
    if let Some(old) = replaced {
        tracing::debug!("replacing a duplicate connection to the same peer");
        old.cancel();
    }
    ctx.metrics.connection_opened();
    Ok(token)
}

/// Forgets a closing connection: frees its upload slot (for someone else) and its
/// requested blocks and pieces (for other connections), then wakes everyone.
pub fn release(torrent: &Torrent, link: &PeerLink) {
    let slots = torrent.ctx.settings.upload_slots;
    {
        let mut state = torrent.lock();
        if let Some(entry) = state.unregister(link.conn)
            && entry.unchoked
        {
            state.fill_free_slots(slots);
        }
    }
    torrent.ctx.metrics.connection_closed();
    torrent.notify_changed();
}
