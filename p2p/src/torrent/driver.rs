//! The per-torrent background task: announces, dialling, choke rounds, seeder expiry,
//! the idle sweep (connections without block traffic for `peer_idle_timeout` are
//! closed, see `crate::eviction`), and the orderly stop.
//!
//! Announces: `started` first, `completed` as soon as a download commits, nothing on the
//! periodic ones (at the tracker's `interval`, or the configured one if it gives none),
//! `stopped` when the torrent stops. A failed announce is retried with a backoff from one
//! second up to the interval, keeping its event, so a `started` that hit a dead tracker
//! is still sent as `started`. An answer without peers while pieces are missing is
//! retried the same way (1 s, 2 s, 4 s, ... up to the interval) instead of waiting a
//! whole interval: a swarm that is just forming (the seeder's first announce is on its
//! way, the tracker is learning the origins) should not stall a download for 30 s. The
//! tracker's `min interval` is not waited for then; Starling's tracker does not enforce
//! it. An engine without an announcer (an origin given no trackers) never announces.
//!
//! A download that receives nothing for `stall_timeout` fails over (every connection
//! dropped, backoffs cleared, an announce at once) and fails after `stall_failovers`
//! such windows in a row, ending its readers' responses with an error (see `stall.rs`).
//!
//! Stop order: mark the torrent stopped (readers and sessions see it), leave the
//! registry, cancel every connection and wait for their tasks, persist the partial
//! download (so a restart resumes every verified piece; a download whose write failed
//! was dropped by the store and is not persisted), then announce `stopped`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use starling_core::announce::Event;
use starling_runtime::Backoff;
use tokio::time::sleep_until;

use super::Torrent;
use super::stall::{StallVerdict, StallWatch};
use super::state::Status;
use crate::announce::AnnounceRequest;
use crate::connection::dial;
use crate::error::{Error, Result};
use crate::eviction::EvictionPolicy;
use starling_runtime::blocking;

/// How often dialling, choking and expiry are looked at.
const TICK: Duration = Duration::from_secs(1);
/// The `stopped` announce on the way out may take at most this long.
const STOP_ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(2);

/// When to announce next, and with which event.
struct Schedule {
    next: tokio::time::Instant,
    event: Event,
    /// Failed announces, or answers without peers while downloading, in a row.
    retries: u32,
    completed_sent: bool,
}

/// How long to wait before the next announce: the interval after a useful answer, a
/// backoff of 1 s doubling up to the interval after a failure or after an answer that
/// left a download without anyone to ask.
/// The backoff is jittered, so agents that lost the same tracker do not come back at
/// the same instant.
pub fn next_announce_in(interval: Duration, retries: u32) -> Duration {
    if retries == 0 {
        return interval;
    }
    Backoff::new(Duration::from_secs(1), interval).delay(retries)
}

/// Runs the torrent until it stops, fails, idles out or the engine shuts down.
pub async fn run(torrent: Arc<Torrent>) -> Result<()> {
    let mut schedule = Schedule {
        next: tokio::time::Instant::now(),
        event: Event::Started,
        retries: 0,
        completed_sent: torrent.status() == Status::Seeding,
    };
    let announces = torrent.ctx.announcer.is_some();
    let mut tick = tokio::time::interval(TICK);
    let mut last_choke = Instant::now();
    let p2p = &torrent.ctx.settings.p2p;
    let mut stall = StallWatch::new(
        p2p.stall_timeout,
        p2p.stall_failovers,
        torrent.lock().received,
        Instant::now(),
    );
    loop {
        tokio::select! {
            _ = torrent.token.cancelled() => break,
            _ = sleep_until(schedule.next), if announces => {
                announce(&torrent, &mut schedule).await;
            }
            _ = torrent.driver_wake.notified() => {}
            _ = tick.tick() => {
                watch_stall(&torrent, &mut stall, &mut schedule);
                close_idle_connections(&torrent);
                dial_candidates(&torrent);
                if last_choke.elapsed() >= torrent.ctx.settings.choke_interval {
                    last_choke = Instant::now();
                    choke_round(&torrent);
                }
            }
        }
        match torrent.status() {
            Status::Seeding if !schedule.completed_sent => {
                schedule.completed_sent = true;
                schedule.event = Event::Completed;
                schedule.next = tokio::time::Instant::now();
            }
            Status::Failed(_) | Status::Stopped => break,
            Status::Seeding if idle_for_too_long(&torrent) => {
                tracing::info!("seeder idle; dropping the torrent");
                break;
            }
            _ => {}
        }
    }
    stop(torrent).await
}

async fn announce(torrent: &Arc<Torrent>, schedule: &mut Schedule) {
    let ctx = &torrent.ctx;
    let Some(announcer) = &ctx.announcer else {
        return;
    };
    let request = announce_request(torrent, schedule.event);
    let started = Instant::now();
    let outcome = announcer.announce(&torrent.digest, &request).await;
    ctx.metrics.announced(started.elapsed(), outcome.is_ok());
    let interval = ctx.settings.p2p.announce_interval;
    match outcome {
        Ok(reply) => {
            let announced = reply.addrs();
            tracing::debug!(event = ?schedule.event, peers = announced.len(), "announced");
            let own = [Some(ctx.listen_addr), ctx.advertised];
            let peers: Vec<_> = announced
                .into_iter()
                .filter(|a| !own.contains(&Some(*a)))
                .collect();
            let starved = peers.is_empty() && torrent.status() == Status::Downloading;
            torrent.lock().candidates.merge(&peers);
            dial_candidates(torrent);
            schedule.event = Event::Update;
            schedule.retries = if starved { schedule.retries + 1 } else { 0 };
            let interval = reply.interval.unwrap_or(interval);
            schedule.next =
                tokio::time::Instant::now() + next_announce_in(interval, schedule.retries);
        }
        Err(error) => {
            tracing::warn!(%error, event = ?schedule.event, "announce failed; will retry");
            schedule.retries += 1;
            schedule.next =
                tokio::time::Instant::now() + next_announce_in(interval, schedule.retries);
        }
    }
}

fn announce_request(torrent: &Torrent, event: Event) -> AnnounceRequest {
    let ctx = &torrent.ctx;
    let state = torrent.lock();
    AnnounceRequest {
        info_hash: torrent.info_hash,
        peer_id: ctx.peer_id,
        port: ctx.advertised.unwrap_or(ctx.listen_addr).port(),
        ip: ctx.advertised.map(|a| a.ip()),
        uploaded: state.uploaded,
        downloaded: state.downloaded,
        left: state.left(),
        event,
        compact: true,
        numwant: Some(ctx.settings.p2p.max_peers_per_torrent),
        zone: ctx.settings.zone.clone(),
        rack: ctx.settings.rack.clone(),
    }
}

/// Dials due candidates while the torrent downloads and is under its connection
/// limit. Seeders never dial: leechers find them through the tracker, and two seeders
/// have nothing to exchange.
fn dial_candidates(torrent: &Arc<Torrent>) {
    let ctx = &torrent.ctx;
    let now = Instant::now();
    let due = {
        let mut state = torrent.lock();
        if state.status != Status::Downloading {
            return;
        }
        let busy = state.peers.len() + state.candidates.dialling();
        let budget = ctx.settings.p2p.max_peers_per_torrent.saturating_sub(busy);
        state
            .candidates
            .take_due(budget, now, |addr| ctx.blacklist.is_banned_addr(addr, now))
    };
    for addr in due {
        dial::spawn(torrent.clone(), addr);
    }
}

/// Fails a stalled download over, or fails it; see the module docs.
fn watch_stall(torrent: &Torrent, watch: &mut StallWatch, schedule: &mut Schedule) {
    let now = Instant::now();
    let mut state = torrent.lock();
    if state.status != Status::Downloading {
        watch.reset(state.received, now);
        return;
    }
    let peers = state.peers.len();
    match watch.observe(state.received, now) {
        StallVerdict::Progressing => {}
        StallVerdict::Failover(n) => {
            torrent.ctx.metrics.stalled();
            tracing::warn!(
                peers,
                failover = n,
                stalled_for = ?torrent.ctx.settings.p2p.stall_timeout,
                "download stalled: no block received; reconnecting and announcing again"
            );
            for entry in state.peers.values() {
                entry.close.cancel();
            }
            state.candidates.retry_all_now();
            schedule.next = tokio::time::Instant::now();
        }
        StallVerdict::GiveUp => {
            drop(state);
            torrent.ctx.metrics.stalled();
            torrent.ctx.metrics.stall_failed();
            let bound = humantime_secs(watch.bound());
            torrent.fail(format!(
                "no block received for {bound} ({peers} peers connected, every failover tried)"
            ));
        }
    }
}

/// The idle sweep: closes connections without block traffic (see `crate::eviction`).
fn close_idle_connections(torrent: &Torrent) {
    let policy = EvictionPolicy::from_config(&torrent.ctx.settings.p2p);
    let closed = torrent.lock().close_idle(&policy, Instant::now());
    if closed > 0 {
        tracing::debug!(closed, "closed connections without block traffic");
        torrent.ctx.metrics.peers_idled_out(closed);
    }
}

fn humantime_secs(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

fn choke_round(torrent: &Torrent) {
    torrent
        .lock()
        .choke_round(torrent.ctx.settings.upload_slots);
    torrent.notify_changed();
}

fn idle_for_too_long(torrent: &Torrent) -> bool {
    let state = torrent.lock();
    !state.has_readers() && state.last_upload.elapsed() >= torrent.ctx.settings.p2p.seeder_idle_ttl
}

async fn stop(torrent: Arc<Torrent>) -> Result<()> {
    {
        let mut state = torrent.lock();
        if state.status.is_active() {
            state.status = Status::Stopped;
        }
    }
    torrent.notify_changed();
    let remaining = torrent.ctx.torrents.remove(&torrent);
    torrent.ctx.metrics.set_torrents(remaining);
    torrent.token.cancel();
    torrent.conns.close();
    torrent.conns.wait().await;
    let writer = torrent.lock().source.writer();
    if let Some(writer) = writer.filter(|w| !w.is_broken()) {
        let persisted =
            blocking::<_, Error, _>(
                "persist the partial download",
                move || Ok(writer.persist()?),
            )
            .await;
        if let Err(error) = persisted {
            // The store dropped the download (see `starling_store::PartialBlob`); the
            // swarm still hears that this peer stopped.
            tracing::warn!(%error, "cannot persist the partial download");
        }
    }
    let Some(announcer) = &torrent.ctx.announcer else {
        tracing::info!("torrent stopped");
        return Ok(());
    };
    let request = announce_request(&torrent, Event::Stopped);
    let announced = tokio::time::timeout(
        STOP_ANNOUNCE_TIMEOUT,
        announcer.announce(&torrent.digest, &request),
    )
    .await;
    match announced {
        Ok(Ok(_)) => tracing::debug!("announced stopped"),
        Ok(Err(error)) => tracing::debug!(%error, "stopped announce failed"),
        Err(_) => tracing::debug!("stopped announce timed out"),
    }
    tracing::info!("torrent stopped");
    Ok::<(), Error>(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_a_second_up_to_the_interval() {
        let interval = Duration::from_secs(30);
        let ceilings = [30, 1, 2, 4, 8, 16, 30, 30].map(Duration::from_secs);
        for (retries, ceiling) in (0..8).zip(ceilings) {
            let wait = next_announce_in(interval, retries);
            let floor = if retries == 0 { ceiling } else { ceiling / 2 };
            assert!((floor..=ceiling).contains(&wait), "{retries}: {wait:?}");
        }
        assert!(
            next_announce_in(Duration::from_secs(3), 4) <= Duration::from_secs(3),
            "never later than the interval"
        );
        assert!(next_announce_in(interval, 1_000) <= interval, "no overflow");
    }
}
