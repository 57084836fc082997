//! Outgoing connections to addresses from announce replies.
//!
//! We send our handshake first (BEP 3 lets the dialler do so) and expect the peer to
//! answer for the same info hash. The address's entry in the dial list is updated when
//! the connection is admitted and when it ends, so that a failing peer backs off.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpStream;
use tracing::Instrument;

use super::handshake::{check_peer, read_remote, send_ours};
use super::{PeerLink, session};
use crate::error::PeerError;
use crate::peer_class::PeerClass;
use crate::torrent::Torrent;

/// Starts a connection task to `addr` for `torrent`.
pub fn spawn(torrent: Arc<Torrent>, addr: SocketAddr) {
    let conn = torrent.ctx.next_conn_id();
    let span = tracing::debug_span!(
        "peer",
        %conn,
        %addr,
        dir = "out",
        peer = tracing::field::Empty
    );
    let tracked = torrent.conns.track_future(run(torrent.clone(), addr, conn));
    torrent.ctx.spawn("peer-out", tracked.instrument(span));
}

async fn run(
    torrent: Arc<Torrent>,
    addr: SocketAddr,
    conn: super::ConnId,
) -> Result<(), std::convert::Infallible> {
    let outcome = dial(&torrent, addr, conn).await;
    let failed = match &outcome {
        Ok(()) => false,
        Err(error) => {
            session::log_end(error);
            true
        }
    };
    torrent
        .lock()
        .candidates
        .ended(addr, failed, Instant::now());
    Ok(())
}

async fn dial(
    torrent: &Arc<Torrent>,
    addr: SocketAddr,
    conn: super::ConnId,
) -> Result<(), PeerError> {
    // A dial to an unresponsive address must not hold up the torrent's stop; once the
    // session runs, it watches the torrent's token itself.
    let (stream, link) = tokio::select! {
        _ = torrent.token.cancelled() => return Ok(()),
        connected = connect(torrent, addr, conn) => connected?,
    };
    session::run(torrent.clone(), stream, link, || {
        torrent.lock().candidates.connected(addr);
    })
    .await
}

/// Connects and exchanges handshakes.
async fn connect(
    torrent: &Arc<Torrent>,
    addr: SocketAddr,
    conn: super::ConnId,
) -> Result<(TcpStream, PeerLink), PeerError> {
    let timeout = torrent.ctx.settings.handshake_timeout;
    let mut stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| PeerError::HandshakeTimeout(timeout))?
        .map_err(|source| PeerError::Connect { addr, source })?;
    send_ours(&mut stream, torrent).await?;
    let remote = read_remote(&mut stream, timeout).await?;
    if remote.info_hash != torrent.info_hash {
        return Err(PeerError::Refused("the peer answered for another torrent"));
    }
    check_peer(&torrent.ctx, &remote)?;
    let link = PeerLink {
        conn,
        peer_id: remote.peer_id,
        addr,
        outgoing: true,
        class: PeerClass::of(&remote.peer_id),
    };
    Ok((stream, link))
}
