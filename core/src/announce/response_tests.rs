//! Announce response tests: exact bytes, decoding both peer forms, errors, round trips.

use super::*;

fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn reply(peers: Peers, peers6: Vec<SocketAddrV6>) -> AnnounceResponse {
    AnnounceResponse::Reply(AnnounceReply {
        interval: Some(Duration::from_secs(30)),
        min_interval: Some(Duration::from_secs(15)),
        complete: Some(2),
        incomplete: Some(1),
        warning: None,
        peers,
        peers6,
    })
}

fn decode_reply(body: &[u8]) -> AnnounceReply {
    match AnnounceResponse::decode(body).unwrap() {
        AnnounceResponse::Reply(reply) => reply,
        failure => panic!("not a reply: {failure:?}"),
    }
}

#[test]
fn compact_entries_are_address_then_big_endian_port() {
    let (peers, peers6) = AnnounceReply::compact_peers(addrs(&[
        "10.1.2.3:6881",
        "[2001:db8::1]:443",
        "255.0.0.1:1",
    ]));
    let body = reply(peers, peers6).encode().unwrap();
    let mut v4 = b"5:peers12:".to_vec();
    v4.extend_from_slice(&[10, 1, 2, 3, 0x1a, 0xe1, 255, 0, 0, 1, 0, 1]);
    let mut v6 = b"6:peers618:".to_vec();
    v6.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    v6.extend_from_slice(&[0; 11]);
    v6.extend_from_slice(&[1, 0x01, 0xbb]);
    let expected = [
        &b"d8:completei2e10:incompletei1e8:intervali30e12:min intervali15e"[..],
        &v4,
        &v6,
        b"e",
    ]
    .concat();
    assert_eq!(body, expected, "{}", String::from_utf8_lossy(&body));
}

#[test]
fn dict_peers_encode_ip_peer_id_and_port() {
    let entry = PeerEntry {
        addr: "10.0.0.1:80".parse().unwrap(),
        peer_id: Some(PeerId::from_bytes([b'a'; 20])),
    };
    let anonymous = PeerEntry {
        addr: "[::1]:7".parse().unwrap(),
        peer_id: None,
    };
    let body = reply(Peers::Dicts(vec![entry, anonymous]), Vec::new())
        .encode()
        .unwrap();
    let expected = format!(
        "d8:completei2e10:incompletei1e8:intervali30e12:min intervali15e5:peersl\
         d2:ip8:10.0.0.17:peer id20:{}4:porti80ee\
         d2:ip3:::14:porti7eeee",
        "a".repeat(20)
    );
    assert_eq!(String::from_utf8(body).unwrap(), expected);
}

#[test]
fn failure_and_warning_bytes() {
    let failure = AnnounceResponse::Failure {
        reason: "missing port".into(),
    };
    assert_eq!(
        failure.encode().unwrap(),
        b"d14:failure reason12:missing porte"
    );
    let warned = AnnounceResponse::Reply(AnnounceReply {
        warning: Some("slow down".into()),
        ..AnnounceReply::default()
    });
    assert_eq!(
        warned.encode().unwrap(),
        b"d5:peers0:15:warning message9:slow downe"
    );
}

#[test]
fn decodes_compact_v4_and_v6_peers() {
    let mut body =
        b"d8:completei2e10:incompletei1e8:intervali30e12:min intervali15e5:peers12:".to_vec();
    body.extend_from_slice(&[127, 0, 0, 1, 0x1f, 0x90, 10, 0, 0, 2, 0, 80]);
    body.extend_from_slice(b"6:peers618:");
    body.extend_from_slice(&[0; 15]);
    body.extend_from_slice(&[1, 0, 81]);
    body.push(b'e');
    let reply = decode_reply(&body);
    assert_eq!(reply.interval, Some(Duration::from_secs(30)));
    assert_eq!(reply.min_interval, Some(Duration::from_secs(15)));
    assert_eq!((reply.complete, reply.incomplete), (Some(2), Some(1)));
    assert_eq!(
        reply.addrs(),
        addrs(&["127.0.0.1:8080", "10.0.0.2:80", "[::1]:81"])
    );
    assert!(matches!(reply.peers, Peers::Compact(_)));
}

#[test]
fn decodes_dict_peers_and_skips_unusable_ones() {
    let body = b"d8:intervali5e5:peersld2:ip9:127.0.0.17:peer id20:-SL0100-A123456789014:porti7000eed2:ip4:nope4:porti1eed2:ip3:::14:porti99999eei7ed2:ip3:::14:porti1eeee";
    let reply = decode_reply(body);
    assert_eq!(reply.addrs(), addrs(&["127.0.0.1:7000", "[::1]:1"]));
    let Peers::Dicts(entries) = &reply.peers else {
        panic!("dict form expected: {reply:?}");
    };
    assert_eq!(
        entries[0].peer_id.map(|id| *id.as_bytes()),
        Some(*b"-SL0100-A12345678901")
    );
    assert_eq!(entries[1].peer_id, None, "no peer id given");
}

#[test]
fn a_failure_reason_makes_the_response_a_failure() {
    assert_eq!(
        AnnounceResponse::decode(b"d14:failure reason9:not todaye"),
        Ok(AnnounceResponse::Failure {
            reason: "not today".into()
        })
    );
    let lossy = AnnounceResponse::decode(b"d14:failure reason2:\xffxe").unwrap();
    assert_eq!(
        lossy,
        AnnounceResponse::Failure {
            reason: "\u{fffd}x".into()
        }
    );
}

#[test]
fn garbage_is_an_error_naming_what_is_wrong() {
    for (body, want) in [
        (&b"<html>"[..], "not bencode"),
        (b"", "empty"),
        (b"li1ee", "not a dictionary"),
        (
            b"d5:peers5:abcdee",
            "compact peers of 5 bytes, not a multiple of 6",
        ),
        (
            b"d6:peers63:abce",
            "compact peers6 of 3 bytes, not a multiple of 18",
        ),
        (
            b"d8:intervali-3ee",
            "interval -3 is not a non-negative integer",
        ),
        (b"d8:complete1:1e", "complete is not an integer"),
        (b"d5:peersi3ee", "neither"),
        (b"d6:peers6i3ee", "peers6 is not a byte string"),
        (
            b"d14:failure reasoni1ee",
            "failure reason is not a byte string",
        ),
        (b"d5:peersld2:ip3:::14:port1:xeee", "port is not an integer"),
        (b"d8:intervali1e8:completei1ee", "not bencode"),
        (b"d5:peersllllleeeeee", "not bencode"),
    ] {
        let err = AnnounceResponse::decode(body).unwrap_err().to_string();
        assert!(
            err.contains(want),
            "{:?}: {err}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn unknown_keys_are_skipped_and_absent_peers_are_none() {
    // The keys opentracker adds (`downloaded`) and BEP 3's `tracker id`.
    let body = b"d8:completei1e10:downloadedi0e10:incompletei0e8:intervali1800e12:min intervali900e10:tracker id3:abce";
    let reply = decode_reply(body);
    assert_eq!(reply.interval, Some(Duration::from_secs(1800)));
    assert_eq!(reply.peers, Peers::Compact(Vec::new()));
    assert!(reply.addrs().is_empty());
}

#[test]
fn encode_then_decode_is_the_identity() {
    let (compact, peers6) = AnnounceReply::compact_peers(addrs(&[
        "127.0.0.1:1",
        "[::ffff:10.0.0.7]:2",
        "[::1]:65535",
    ]));
    let dicts = Peers::Dicts(vec![
        PeerEntry {
            addr: "10.0.0.1:6881".parse().unwrap(),
            peer_id: Some(PeerId::from_bytes([0xff; 20])),
        },
        PeerEntry {
            addr: "[2001:db8::2]:1".parse().unwrap(),
            peer_id: None,
        },
    ]);
    let full = AnnounceReply {
        interval: Some(Duration::from_secs(u64::MAX)),
        min_interval: Some(Duration::ZERO),
        complete: Some(u64::MAX),
        incomplete: Some(0),
        warning: Some("ünïcode".into()),
        peers: compact,
        peers6,
    };
    let responses = [
        AnnounceResponse::Reply(full.clone()),
        AnnounceResponse::Reply(AnnounceReply {
            peers: dicts,
            ..full
        }),
        AnnounceResponse::Reply(AnnounceReply::default()),
        AnnounceResponse::Reply(AnnounceReply {
            peers: Peers::Dicts(Vec::new()),
            ..AnnounceReply::default()
        }),
        AnnounceResponse::Failure {
            reason: String::new(),
        },
        AnnounceResponse::Failure {
            reason: "info_hash must be 20 bytes".into(),
        },
    ];
    for response in responses {
        let body = response.encode().unwrap();
        assert_eq!(
            AnnounceResponse::decode(&body).as_ref(),
            Ok(&response),
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
}
