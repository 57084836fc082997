//! Announce query tests: decoding tables, encoding, round trips and the exact queries
//! real clients send.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;

const HASH: [u8; 20] = *b"\x00\x01\x02 +%&=\xff\xfe\x80abcdefghi";
const PEER: [u8; 20] = *b"-LT2080-\x00\xff\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0";

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

fn decode(query: &str) -> Result<AnnounceRequest, QueryError> {
    AnnounceRequest::from_query(query)
}

fn full_request() -> AnnounceRequest {
    AnnounceRequest {
        info_hash: InfoHash::from_bytes(HASH),
        peer_id: PeerId::from_bytes(PEER),
        port: 16001,
        uploaded: u64::MAX,
        downloaded: 7,
        left: 3,
        event: Event::Paused,
        compact: true,
        numwant: Some(usize::MAX),
        ip: Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7))),
        zone: Zone::parse(b"us-east-1a"),
        rack: Rack::parse(b"r_1.b"),
    }
}

#[test]
fn decodes_a_full_announce() {
    let query = format!(
        "{}&event=started&compact=1&numwant=25&ip=10.9.9.9&zone=z-1&rack=r.2&key=abc&supportcrypto=1",
        base()
    );
    let req = decode(&query).unwrap();
    assert_eq!(req.info_hash, InfoHash::from_bytes(HASH));
    assert_eq!(req.peer_id, PeerId::from_bytes(PEER));
    assert_eq!(req.port, 6881);
    assert_eq!((req.uploaded, req.downloaded, req.left), (0, 0, 100));
    assert_eq!(req.event, Event::Started);
    assert_eq!(req.numwant, Some(25));
    assert!(req.compact);
    assert_eq!(req.ip, Some(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9))));
    assert_eq!(req.zone.as_ref().map(Zone::as_str), Some("z-1"));
    assert_eq!(req.rack.as_ref().map(Rack::as_str), Some("r.2"));
}

#[test]
fn defaults_when_optional_params_are_absent() {
    let query = format!(
        "info_hash={}&peer_id={}&port=1&left=0",
        enc(&HASH),
        enc(&PEER)
    );
    let req = decode(&query).unwrap();
    assert_eq!((req.uploaded, req.downloaded), (0, 0));
    assert_eq!(req.event, Event::Update);
    assert_eq!(req.numwant, None);
    assert!(!req.compact);
    assert_eq!((req.ip, req.zone, req.rack), (None, None, None));
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
        let req = decode(&query).unwrap();
        assert_eq!(req.info_hash.as_bytes(), &id);
        assert_eq!(req.peer_id.as_bytes(), &id);
        let again = decode(&req.to_query()).unwrap();
        assert_eq!(again, req);
    }
}

#[test]
fn unreserved_bytes_may_arrive_unencoded() {
    let query = "info_hash=abcdefghij%00%01%02%03%04%05%06%07%08%09&peer_id=-SL0100-abcdefghijkl&port=1&left=0";
    let req = decode(query).unwrap();
    assert_eq!(&req.info_hash.as_bytes()[..10], b"abcdefghij");
    assert!(req.peer_id.is_starling());
}

#[test]
fn rejects_missing_and_invalid_fields_naming_the_parameter() {
    let hash = enc(&HASH);
    let peer = enc(&PEER);
    let ok_ids = format!("info_hash={hash}&peer_id={peer}");
    let cases: Vec<(String, &str, &str)> = vec![
        (String::new(), "info_hash", "missing info_hash"),
        ("%%%&&==garbage".into(), "info_hash", "missing info_hash"),
        (
            format!("info_hash={}", enc(&HASH[..19])),
            "info_hash",
            "info_hash must be 20 bytes",
        ),
        (
            format!("info_hash={hash}00"),
            "info_hash",
            "info_hash must be 20 bytes",
        ),
        (
            "info_hash=%4".into(),
            "info_hash",
            "invalid percent-encoding in info_hash",
        ),
        (format!("info_hash={hash}"), "peer_id", "missing peer_id"),
        (
            format!("info_hash={hash}&peer_id=short"),
            "peer_id",
            "peer_id must be 20 bytes",
        ),
        (format!("{ok_ids}&left=0"), "port", "missing port"),
        (
            format!("{ok_ids}&port=0&left=0"),
            "port",
            "invalid port: must be 1-65535",
        ),
        (
            format!("{ok_ids}&port=65536&left=0"),
            "port",
            "invalid port: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=-1&left=0"),
            "port",
            "invalid port: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=http&left=0"),
            "port",
            "invalid port: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=%FF&left=0"),
            "port",
            "invalid port: not a decimal number in range",
        ),
        (format!("{ok_ids}&port=1"), "left", "missing left"),
        (
            format!("{ok_ids}&port=1&left=-5"),
            "left",
            "invalid left: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=1&left=0&uploaded=x"),
            "uploaded",
            "invalid uploaded: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=1&left=0&downloaded=1e3"),
            "downloaded",
            "invalid downloaded: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=1&left=0&event=begun"),
            "event",
            "invalid event: must be started, completed, stopped, paused or empty",
        ),
        (
            format!("{ok_ids}&port=1&left=0&numwant=99999999999999999999999"),
            "numwant",
            "invalid numwant: not a decimal number in range",
        ),
        (
            format!("{ok_ids}&port=1&left=0&compact=yes"),
            "compact",
            "invalid compact: must be 0 or 1",
        ),
        (
            format!("{ok_ids}&port=1&left=0&zone=%FF%FE"),
            "zone",
            "invalid zone: must be 1-63 characters of A-Z a-z 0-9 . _ -",
        ),
        (
            format!("{ok_ids}&port=1&left=0&rack="),
            "rack",
            "invalid rack: must be 1-63 characters of A-Z a-z 0-9 . _ -",
        ),
        (
            format!("{ok_ids}&port=1&left=0&zone=%Z1"),
            "zone",
            "invalid percent-encoding in zone",
        ),
    ];
    for (query, param, message) in cases {
        let err = decode(&query).expect_err(&query);
        assert_eq!(err.to_string(), message, "query {query:?}");
        assert_eq!(err.param(), param, "query {query:?}");
    }
}

#[test]
fn events_decode_by_name() {
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
        let query = format!("{}{suffix}", base());
        assert_eq!(decode(&query).unwrap().event, event, "{suffix}");
    }
}

#[test]
fn ip_is_kept_only_when_it_is_an_ip_literal() {
    let cases: [(&str, Option<IpAddr>); 6] = [
        ("10.9.9.9", Some(IpAddr::from([10, 9, 9, 9]))),
        ("%3A%3A1", Some(IpAddr::from(Ipv6Addr::LOCALHOST))),
        ("2001:db8::1", Some("2001:db8::1".parse().unwrap())),
        ("tracker.example", None),
        ("not-an-ip", None),
        ("%ZZ", None),
    ];
    for (ip, expected) in cases {
        let req = decode(&format!("{}&ip={ip}", base())).unwrap();
        assert_eq!(req.ip, expected, "ip={ip}");
    }
}

#[test]
fn first_occurrence_of_a_parameter_wins() {
    let req = decode(&format!("{}&numwant=3&numwant=oops&port=9", base())).unwrap();
    assert_eq!(req.numwant, Some(3));
    assert_eq!(req.port, 6881);
}

#[test]
fn query_encodes_raw_ids_and_the_event() {
    let request = AnnounceRequest {
        info_hash: InfoHash::from_bytes(*b"\x00\xffab-._~ %&=+/?#\x7fxyz"),
        peer_id: PeerId::from_bytes(*b"-SL0100-A12345678901"),
        port: 16001,
        ip: None,
        uploaded: 1,
        downloaded: 2,
        left: 3,
        event: Event::Started,
        compact: true,
        numwant: Some(30),
        zone: None,
        rack: None,
    };
    assert_eq!(
        request.to_query(),
        "info_hash=%00%FFab-._~%20%25%26%3D%2B%2F%3F%23%7Fxyz\
         &peer_id=-SL0100-A12345678901&port=16001&uploaded=1&downloaded=2&left=3\
         &compact=1&numwant=30&event=started"
    );
    let update = AnnounceRequest {
        event: Event::Update,
        ..request
    };
    assert!(!update.to_query().contains("event"));
    let placed = AnnounceRequest {
        zone: Zone::parse(b"us-east-1a"),
        rack: Rack::parse(b"r12"),
        ..update
    };
    assert!(
        placed
            .to_query()
            .ends_with("&numwant=30&zone=us-east-1a&rack=r12")
    );
    let behind_nat = AnnounceRequest {
        ip: Some("2001:db8::7".parse().unwrap()),
        ..placed
    };
    assert!(
        behind_nat
            .to_query()
            .contains("&numwant=30&ip=2001%3Adb8%3A%3A7&zone=")
    );
    let plain = AnnounceRequest {
        compact: false,
        numwant: None,
        ip: None,
        zone: None,
        rack: None,
        ..behind_nat
    };
    assert!(plain.to_query().ends_with("&downloaded=2&left=3"));
}

#[test]
fn encode_then_decode_is_the_identity() {
    let full = full_request();
    let minimal = AnnounceRequest {
        port: 1,
        uploaded: 0,
        downloaded: 0,
        left: 0,
        event: Event::Update,
        compact: false,
        numwant: None,
        ip: None,
        zone: None,
        rack: None,
        ..full.clone()
    };
    let mut requests = vec![full.clone(), minimal];
    for event in Event::ALL {
        requests.push(AnnounceRequest {
            event,
            ..full.clone()
        });
    }
    for ip in ["0.0.0.0", "255.255.255.255", "::ffff:10.0.0.7", "::"] {
        requests.push(AnnounceRequest {
            ip: Some(ip.parse().unwrap()),
            ..full.clone()
        });
    }
    for request in requests {
        let query = request.to_query();
        assert_eq!(decode(&query).as_ref(), Ok(&request), "{query}");
    }
}

/// Queries captured from real clients announcing one 300 000-byte torrent to a
/// loopback tracker, byte for byte.
mod real_clients {
    use super::*;

    const INFO_HASH: &str = "3fa42e4e920cb115632d813a5f916698e73644cd";

    fn info_hash() -> InfoHash {
        InfoHash::from_bytes(hex::decode(INFO_HASH).unwrap().try_into().unwrap())
    }

    /// libtorrent 2.0.8 (Python bindings), seeding: lower-case escapes, `)` and `~`
    /// left raw in the peer id, `key`, `corrupt`, `redundant`, `no_peer_id` extras.
    #[test]
    fn libtorrent_started_and_stopped() {
        let started = "info_hash=%3f%a4.N%92%0c%b1%15c-%81%3a_%91f%98%e76D%cd&peer_id=-LT2080-s)OK38RI~_48&port=36679&uploaded=0&downloaded=0&left=0&corrupt=0&key=E51BC89D&event=started&numwant=200&compact=1&no_peer_id=1&supportcrypto=1&redundant=0";
        let req = decode(started).unwrap();
        assert_eq!(req.info_hash, info_hash());
        assert_eq!(req.peer_id.as_bytes(), b"-LT2080-s)OK38RI~_48");
        assert_eq!((req.port, req.left, req.event), (36679, 0, Event::Started));
        assert_eq!((req.numwant, req.compact), (Some(200), true));
        assert_eq!(decode(&req.to_query()), Ok(req));

        let stopped = started
            .replace("event=started", "event=stopped")
            .replace("numwant=200", "numwant=0");
        let req = decode(&stopped).unwrap();
        assert_eq!((req.event, req.numwant), (Event::Stopped, Some(0)));
    }

    /// Transmission 3.00, leeching: lower-case escapes, `numwant` before `compact`.
    #[test]
    fn transmission_started() {
        let query = "info_hash=%3f%a4.N%92%0c%b1%15c-%81%3a_%91f%98%e76D%cd&peer_id=-TR3000-jsliaiyy3m27&port=38920&uploaded=0&downloaded=0&left=300000&numwant=80&key=7ea0beb3&compact=1&supportcrypto=1&event=started";
        let req = decode(query).unwrap();
        assert_eq!(req.info_hash, info_hash());
        assert_eq!(req.peer_id.as_bytes(), b"-TR3000-jsliaiyy3m27");
        assert_eq!((req.port, req.left), (38920, 300_000));
        assert_eq!((req.event, req.numwant), (Event::Started, Some(80)));
        assert_eq!(decode(&req.to_query()), Ok(req));
    }

    /// aria2 1.36: upper-case escapes, a binary peer id tail and `key`, `port` late,
    /// and no `event` on re-announces.
    #[test]
    fn aria2_started_and_update() {
        let started = "info_hash=%3F%A4.N%92%0C%B1%15c-%81%3A_%91f%98%E76D%CD&peer_id=A2-1-36-0-%80%F1%CC%C3%BA%8E%F9%90Ag&uploaded=0&downloaded=0&left=300000&compact=1&key=%CC%C3%BA%8E%F9%90Ag&numwant=50&no_peer_id=1&port=38918&event=started&supportcrypto=1";
        let req = decode(started).unwrap();
        assert_eq!(req.info_hash, info_hash());
        assert_eq!(
            req.peer_id.as_bytes(),
            b"A2-1-36-0-\x80\xf1\xcc\xc3\xba\x8e\xf9\x90Ag"
        );
        assert_eq!((req.port, req.event), (38918, Event::Started));
        let update = decode(&started.replace("&event=started", "")).unwrap();
        assert_eq!(update.event, Event::Update);
        assert_eq!(decode(&update.to_query()), Ok(update));
    }
}
