//! Table tests for announce parsing.

use std::net::{IpAddr, Ipv4Addr};

use crate::address::AddressPolicy;
use crate::locality::{Rack, Zone};

use super::*;

const HASH: [u8; 20] = *b"\x00\x01\x02 +%&=\xff\xfe\x80abcdefghi";
const PEER: [u8; 20] = *b"-LT2080-\x00\xff\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0";

fn remote() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7))
}

/// Percent-encodes every byte, as libtorrent does for anything not unreserved.
fn enc(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

fn base() -> String {
    format!(
        "info_hash={}&peer_id={}&port=6881&uploaded=0&downloaded=0&left=100",
        enc(&HASH),
        enc(&PEER)
    )
}

fn parse(query: &str) -> Result<PeerAnnounce> {
    PeerAnnounce::parse(query, remote(), &loopback_trusted())
}

fn loopback_trusted() -> AddressPolicy {
    AddressPolicy::new(starling_config::default_trusted_networks())
}

#[test]
fn parses_a_full_announce() {
    let query = format!(
        "{}&event=started&compact=1&numwant=25&zone=z-1&rack=r.2&key=abc&supportcrypto=1",
        base()
    );
    let req = parse(&query).unwrap();
    assert_eq!(req.info_hash, InfoHash::from_bytes(HASH));
    assert_eq!(req.peer_id, PeerId::from_bytes(PEER));
    assert_eq!(req.addr, SocketAddr::new(remote(), 6881));
    assert_eq!(req.left, 100);
    assert_eq!(req.event, Event::Started);
    assert_eq!(req.numwant, Some(25));
    assert!(req.compact);
    assert_eq!(req.locality.zone.as_ref().map(Zone::as_str), Some("z-1"));
    assert_eq!(req.locality.rack.as_ref().map(Rack::as_str), Some("r.2"));
    assert!(!req.is_complete());
}

#[test]
fn defaults_when_optional_params_are_absent() {
    let query = format!(
        "info_hash={}&peer_id={}&port=1&left=0",
        enc(&HASH),
        enc(&PEER)
    );
    let req = parse(&query).unwrap();
    assert_eq!(req.event, Event::Update);
    assert_eq!(req.numwant, None);
    assert!(!req.compact);
    assert_eq!(req.locality, Locality::default());
    assert!(req.is_complete(), "left=0 means the peer seeds");
}

#[test]
fn every_byte_value_survives_in_info_hash_and_peer_id() {
    let all: Vec<u8> = (0..=u8::MAX).collect();
    for chunk in all.chunks(20) {
        let mut id = [0u8; 20];
        id[..chunk.len()].copy_from_slice(chunk);
        let query = format!(
            "info_hash={}&peer_id={}&port=1&left=0",
            enc(&id),
            enc(&id).to_lowercase()
        );
        let req = parse(&query).unwrap();
        assert_eq!(req.info_hash.as_bytes(), &id);
        assert_eq!(req.peer_id.as_bytes(), &id);
    }
}

#[test]
fn unreserved_bytes_may_arrive_unencoded() {
    let query = "info_hash=abcdefghij%00%01%02%03%04%05%06%07%08%09&peer_id=-SL0100-abcdefghijkl&port=1&left=0";
    let req = parse(query).unwrap();
    assert_eq!(&req.info_hash.as_bytes()[..10], b"abcdefghij");
    assert!(req.peer_id.is_starling());
}

#[test]
fn rejects_missing_and_invalid_fields_with_a_reason() {
    let hash = enc(&HASH);
    let peer = enc(&PEER);
    let ok_ids = format!("info_hash={hash}&peer_id={peer}");
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "missing info_hash"),
        ("%%%&&==garbage".into(), "missing info_hash"),
        (
            format!("info_hash={}", enc(&HASH[..19])),
            "info_hash must be 20 bytes",
        ),
        (
            format!("info_hash={}00", hash),
            "info_hash must be 20 bytes",
        ),
        (
            "info_hash=%4".into(),
            "invalid percent-encoding in info_hash",
        ),
        (format!("info_hash={hash}"), "missing peer_id"),
        (
            format!("info_hash={hash}&peer_id=short"),
            "peer_id must be 20 bytes",
        ),
        (format!("{ok_ids}&left=0"), "missing port"),
        (
            format!("{ok_ids}&port=0&left=0"),
            "invalid port: must be 1-65535",
        ),
        (
            format!("{ok_ids}&port=65536&left=0"),
            "invalid port: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=-1&left=0"),
            "invalid port: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=http&left=0"),
            "invalid port: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=%FF&left=0"),
            "invalid port: not a decimal number in range",
        ),
        (format!("{ok_ids}&port=1"), "missing left"),
        (
            format!("{ok_ids}&port=1&left=-5"),
            "invalid left: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=1&left=0&uploaded=x"),
            "invalid uploaded: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=1&left=0&downloaded=1e3"),
            "invalid downloaded: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=1&left=0&event=begun"),
            "invalid event: must be started, completed, stopped, paused or empty",
        ),
        (
            format!("{ok_ids}&port=1&left=0&numwant=99999999999999999999999"),
            "invalid numwant: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=1&left=0&compact=yes"),
            "invalid compact: must be 0 or 1",
        ),
        (
            format!("{ok_ids}&port=1&left=0&zone=%FF%FE"),
            "invalid zone: must be 1-63 characters of A-Z a-z 0-9 . _ -",
        ),
        (
            format!("{ok_ids}&port=1&left=0&rack="),
            "invalid rack: must be 1-63 characters of A-Z a-z 0-9 . _ -",
        ),
        (
            format!("{ok_ids}&port=1&left=0&zone=%Z1"),
            "invalid percent-encoding in zone",
        ),
        (
            format!("{ok_ids}&port=1&left=0&ip=169.254.169.254"),
            "invalid ip: must not be link-local (169.254.0.0/16, fe80::/10)",
        ),
        (
            format!("{ok_ids}&port=1&left=0&ip=fe80%3A%3A1"),
            "invalid ip: must not be link-local (169.254.0.0/16, fe80::/10)",
        ),
        (
            format!("{ok_ids}&port=1&left=0&ip=224.0.0.251"),
            "invalid ip: must not be multicast",
        ),
        (
            format!("{ok_ids}&port=1&left=0&ip=255.255.255.255"),
            "invalid ip: must not be broadcast",
        ),
        (
            format!("{ok_ids}&port=1&left=0&ip=0.0.0.0"),
            "invalid ip: must not be unspecified (0.0.0.0, ::)",
        ),
    ];
    for (query, reason) in cases {
        let err = parse(&query).expect_err(&query);
        assert_eq!(err.to_string(), reason, "query {query:?}");
    }
}

#[test]
fn events_parse_by_name() {
    let cases = [
        ("&event=started", Event::Started),
        ("&event=completed", Event::Completed),
        ("&event=stopped", Event::Stopped),
        ("&event=paused", Event::Paused),
        ("&event=empty", Event::Update),
        ("&event=", Event::Update),
        ("", Event::Update),
    ];
    for (suffix, event) in cases {
        assert_eq!(
            parse(&format!("{}{suffix}", base())).unwrap().event,
            event,
            "{suffix}"
        );
    }
    let completed = parse(&format!("{}&event=completed", base())).unwrap();
    assert!(
        completed.is_complete(),
        "event=completed seeds even with left > 0"
    );
}

#[test]
fn ip_param_is_honoured_only_from_trusted_networks() {
    let loopback_v4 = IpAddr::from([127, 0, 0, 1]);
    let mapped = IpAddr::from("::ffff:10.0.0.7".parse::<std::net::Ipv6Addr>().unwrap());
    let cases: [(IpAddr, &str, &str); 8] = [
        (remote(), "127.0.0.1", "10.0.0.7"),
        (remote(), "%3A%3A1", "10.0.0.7"),
        (remote(), "10.9.9.9", "10.0.0.7"),
        (loopback_v4, "10.9.9.9", "10.9.9.9"),
        (loopback_v4, "2001:db8::1", "2001:db8::1"),
        (loopback_v4, "tracker.example", "127.0.0.1"),
        (
            IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
            "10.1.1.1",
            "10.1.1.1",
        ),
        (mapped, "not-an-ip", "10.0.0.7"),
    ];
    for (from, ip, expected) in cases {
        let query = format!("{}&ip={ip}", base());
        let req = PeerAnnounce::parse(&query, from, &loopback_trusted()).unwrap();
        assert_eq!(
            req.addr.ip(),
            expected.parse::<IpAddr>().unwrap(),
            "from {from} ip={ip}"
        );
        assert_eq!(req.addr.port(), 6881);
    }
    let pods = AddressPolicy::new(vec!["10.0.0.0/8".parse().unwrap()]);
    let req = PeerAnnounce::parse(&format!("{}&ip=10.9.9.9", base()), remote(), &pods).unwrap();
    assert_eq!(req.addr.ip(), "10.9.9.9".parse::<IpAddr>().unwrap());
    assert!(req.from_trusted_network);
}

#[test]
fn the_request_says_whether_it_came_from_a_trusted_network() {
    assert!(!parse(&base()).unwrap().from_trusted_network);
    let from_loopback =
        PeerAnnounce::parse(&base(), IpAddr::from([127, 0, 0, 9]), &loopback_trusted());
    assert!(from_loopback.unwrap().from_trusted_network);
}

#[test]
fn first_occurrence_of_a_parameter_wins() {
    let req = parse(&format!("{}&numwant=3&numwant=oops&port=9", base())).unwrap();
    assert_eq!(req.numwant, Some(3));
    assert_eq!(req.addr.port(), 6881);
}
