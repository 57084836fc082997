"""Announce one torrent to a tracker with libtorrent, for the tracker's Rust tests.

Usage: /usr/bin/python3 libtorrent_announce.py TORRENT SAVE_DIR

Prints "announced <info-hash hex> <listen port>" once the tracker answered an announce,
then waits until stdin closes, removes the torrent (libtorrent sends event=stopped),
prints "stopped" and exits 0. Exits non-zero with a message on stderr on any tracker
error or after 60 seconds without an answer.

Network rule: loopback only; DHT, local peer discovery, UPnP and NAT-PMP are off and the
session is created without default plugins, so there is no ut_pex or ut_metadata.
"""

import sys
import time

import libtorrent as lt

DEADLINE_SECONDS = 60


def session():
    settings = {
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "listen_interfaces": "127.0.0.1:0",
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification,
    }
    # flags=0: no add_default_plugins, hence no ut_pex, ut_metadata or smart_ban.
    return lt.session(settings, 0)


def wait_for_reply(ses, deadline):
    while time.monotonic() < deadline:
        ses.wait_for_alert(500)
        for alert in ses.pop_alerts():
            if isinstance(alert, lt.tracker_reply_alert):
                return
            if isinstance(alert, (lt.tracker_error_alert, lt.listen_failed_alert)):
                sys.exit(f"libtorrent: {alert.message()}")
    sys.exit("libtorrent: no tracker reply before the deadline")


def main():
    torrent_path, save_path = sys.argv[1], sys.argv[2]
    ses = session()
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent_path)
    params.save_path = save_path
    handle = ses.add_torrent(params)
    wait_for_reply(ses, time.monotonic() + DEADLINE_SECONDS)
    print(f"announced {params.ti.info_hash()} {ses.listen_port()}", flush=True)

    sys.stdin.read()
    ses.remove_torrent(handle)
    del ses  # destroying the session waits for the stopped announce
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
