//! Tracker announce URLs and the BEP 3 announce query.
//!
//! A tracker is configured as `host:port`, `http://host:port` or the full
//! `http://host:port/announce`; all three parse to the same [`TrackerUrl`]. A tracker
//! that serves TLS is written `https://host:port` (its clients then use the
//! component's `client_tls:`).
//!
//! `info_hash` and `peer_id` are raw bytes, percent-encoded byte by byte except for the
//! RFC 3986 unreserved characters, which is what every tracker accepts.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use reqwest::Url;
use starling_core::{InfoHash, PeerId};

use crate::error::{Error, Result};

/// The `announce` endpoint of one tracker.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TrackerUrl {
    url: Url,
    /// `host:port`: the tracker's name on the tracker ring.
    authority: String,
}

impl TrackerUrl {
    pub fn parse(value: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidTrackerUrl {
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let with_scheme = if value.contains("://") {
            value.to_owned()
        } else {
            format!("http://{value}")
        };
        let mut url = Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("only http:// and https:// trackers are supported"));
        }
        let host = url.host_str().ok_or_else(|| invalid("no host"))?.to_owned();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| invalid("no port"))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("must not carry a query or fragment"));
        }
        match url.path() {
            "" | "/" => url.set_path("/announce"),
            "/announce" => {}
            _ => return Err(invalid("the path must be empty or /announce")),
        }
        Ok(Self {
            url,
            authority: format!("{host}:{port}"),
        })
    }

    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        self.url.scheme()
    }

    /// The full announce URL for `query`.
    pub fn with_query(&self, query: &str) -> String {
        format!("{}?{query}", self.url)
    }
}

impl FromStr for TrackerUrl {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self> {
        Self::parse(value)
    }
}

impl fmt::Display for TrackerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.url)
    }
}

impl fmt::Debug for TrackerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrackerUrl({})", self.url)
    }
}

/// The announce `event` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnounceEvent {
    Started,
    Completed,
    Stopped,
    /// The periodic re-announce: no `event` parameter.
    Update,
}

impl AnnounceEvent {
    fn as_param(self) -> Option<&'static str> {
        match self {
            Self::Started => Some("started"),
            Self::Completed => Some("completed"),
            Self::Stopped => Some("stopped"),
            Self::Update => None,
        }
    }
}

/// One announce, as the engine knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    /// The port other peers dial: the advertised one, else the listener's.
    pub port: u16,
    /// The advertised IP (`peer.advertise`), sent as `ip`; trackers honour it only
    /// from networks they trust. `None`: the tracker uses the source address.
    pub ip: Option<IpAddr>,
    pub uploaded: u64,
    pub downloaded: u64,
    /// Bytes still missing; 0 for a seeder.
    pub left: u64,
    pub event: AnnounceEvent,
    pub numwant: usize,
    /// Starling's locality parameters (the tracker prefers same-rack, then same-zone
    /// peers); standard trackers ignore unknown parameters.
    pub zone: Option<String>,
    pub rack: Option<String>,
}

impl AnnounceRequest {
    /// The query string, with compact peers (BEP 23) requested.
    pub fn query(&self) -> String {
        let mut query = format!(
            "info_hash={}&peer_id={}&port={}&uploaded={}&downloaded={}&left={}&compact=1&numwant={}",
            percent_encode(self.info_hash.as_bytes()),
            percent_encode(self.peer_id.as_bytes()),
            self.port,
            self.uploaded,
            self.downloaded,
            self.left,
            self.numwant,
        );
        if let Some(ip) = self.ip {
            query.push_str("&ip=");
            query.push_str(&percent_encode(ip.to_string().as_bytes()));
        }
        if let Some(event) = self.event.as_param() {
            query.push_str("&event=");
            query.push_str(event);
        }
        for (key, value) in [("zone", &self.zone), ("rack", &self.rack)] {
            if let Some(value) = value {
                query.push_str(&format!("&{key}={}", percent_encode(value.as_bytes())));
            }
        }
        query
    }
}

/// Percent-encodes every byte except RFC 3986 unreserved characters.
pub fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_three_spellings_of_one_tracker() {
        let want = "http://127.0.0.1:15003/announce";
        for value in [
            "127.0.0.1:15003",
            "http://127.0.0.1:15003",
            "http://127.0.0.1:15003/",
            want,
        ] {
            let url = TrackerUrl::parse(value).unwrap();
            assert_eq!(url.to_string(), want, "{value}");
            assert_eq!(url.authority(), "127.0.0.1:15003");
        }
        assert_eq!(
            TrackerUrl::parse("tracker.local").unwrap().authority(),
            "tracker.local:80"
        );
        let tls = TrackerUrl::parse("https://127.0.0.1:15003").unwrap();
        assert_eq!(tls.to_string(), "https://127.0.0.1:15003/announce");
        assert_eq!(
            (tls.scheme(), tls.authority()),
            ("https", "127.0.0.1:15003")
        );
    }

    #[test]
    fn rejects_what_it_cannot_announce_to() {
        for (value, reason) in [
            ("http://t:1/other", "path"),
            ("http://t:1/announce?x=1", "query"),
            ("http://:1", ""),
            ("ftp://t:1", "only http"),
        ] {
            let err = TrackerUrl::parse(value).unwrap_err().to_string();
            assert!(err.contains(reason), "{value}: {err}");
        }
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
            event: AnnounceEvent::Started,
            numwant: 30,
            zone: None,
            rack: None,
        };
        assert_eq!(
            request.query(),
            "info_hash=%00%FFab-._~%20%25%26%3D%2B%2F%3F%23%7Fxyz\
             &peer_id=-SL0100-A12345678901&port=16001&uploaded=1&downloaded=2&left=3\
             &compact=1&numwant=30&event=started"
        );
        let update = AnnounceRequest {
            event: AnnounceEvent::Update,
            ..request
        };
        assert!(!update.query().contains("event"));
        let placed = AnnounceRequest {
            zone: Some("us-east-1a".into()),
            rack: Some("r 12".into()),
            ..update
        };
        assert!(
            placed
                .query()
                .ends_with("&numwant=30&zone=us-east-1a&rack=r%2012")
        );
        let behind_nat = AnnounceRequest {
            ip: Some("2001:db8::7".parse().unwrap()),
            ..placed
        };
        assert!(
            behind_nat
                .query()
                .contains("&numwant=30&ip=2001%3Adb8%3A%3A7&zone=")
        );
    }
}
