"""A libtorrent peer for the p2p crate's interop tests.

Usage:
  /usr/bin/python3 libtorrent_peer.py download TORRENT SAVE_DIR
      Downloads the torrent into SAVE_DIR; prints "finished <info-hash hex>" once every
      piece is verified, then removes the torrent and exits 0.
  /usr/bin/python3 libtorrent_peer.py seed TORRENT SAVE_DIR
      Seeds the file already in SAVE_DIR; prints "announced <info-hash hex> <port>" once
      the tracker answered an announce with the file checked, then waits until stdin
      closes, removes the torrent (event=stopped), prints "stopped" and exits 0.

Exits non-zero with a message on stderr on a tracker or listen error, a failed file
check, or after 90 seconds without reaching its goal.

Network rule: loopback only. The session listens on 127.0.0.1 only; DHT, local peer
discovery, UPnP and NAT-PMP are off, and the session is created without default
plugins, so there is no peer exchange (ut_pex) or ut_metadata. Encryption is left at
libtorrent's defaults (try encrypted, fall back to plain), as a stock client would run.
"""

import sys
import time

import libtorrent as lt

DEADLINE_SECONDS = 90


def session():
    settings = {
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "listen_interfaces": "127.0.0.1:0",
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification
        | lt.alert.category_t.storage_notification,
    }
    # flags=0: no add_default_plugins, hence no ut_pex, ut_metadata or smart_ban.
    return lt.session(settings, 0)


def fail_on(alert):
    errors = (
        lt.tracker_error_alert,
        lt.listen_failed_alert,
        lt.file_error_alert,
        lt.torrent_error_alert,
    )
    if isinstance(alert, errors):
        sys.exit(f"libtorrent: {alert.message()}")


def wait_for(ses, goal, what):
    """Pops alerts until goal(alert, ses) is true; exits on errors or the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        ses.wait_for_alert(500)
        for alert in ses.pop_alerts():
            fail_on(alert)
            if goal(alert):
                return
    sys.exit(f"libtorrent: no {what} before the deadline")


def add(ses, torrent_path, save_path):
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent_path)
    params.save_path = save_path
    return params.ti, ses.add_torrent(params)


def download(torrent_path, save_path):
    ses = session()
    info, handle = add(ses, torrent_path, save_path)
    wait_for(
        ses,
        lambda alert: isinstance(alert, lt.torrent_finished_alert)
        or handle.status().is_seeding,
        "finished download",
    )
    print(f"finished {info.info_hash()}", flush=True)
    ses.remove_torrent(handle)
    del ses


def seed(torrent_path, save_path):
    ses = session()
    info, handle = add(ses, torrent_path, save_path)
    wait_for(
        ses,
        lambda alert: isinstance(alert, lt.tracker_reply_alert)
        and handle.status().is_seeding,
        "tracker reply as a seeder",
    )
    print(f"announced {info.info_hash()} {ses.listen_port()}", flush=True)

    sys.stdin.read()
    ses.remove_torrent(handle)
    del ses  # destroying the session waits for the stopped announce
    print("stopped", flush=True)


def main():
    mode, torrent_path, save_path = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "download":
        download(torrent_path, save_path)
    elif mode == "seed":
        seed(torrent_path, save_path)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
