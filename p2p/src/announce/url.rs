//! Tracker announce URLs.
//!
//! A tracker is configured as `host:port`, `http://host:port` or the full
//! `http://host:port/announce`; all three parse to the same [`TrackerUrl`]. A tracker
//! that serves TLS is written `https://host:port` (its clients then use the
//! component's `client_tls:`).
//!
//! The query appended to them is the shared codec's
//! (`starling_core::announce::AnnounceRequest::to_query`): `info_hash` and
//! `peer_id` percent-encoded byte by byte except for the RFC 3986 unreserved
//! characters, which is what every tracker accepts.

use std::fmt;
use std::str::FromStr;

use reqwest::Url;

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
}
