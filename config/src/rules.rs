//! Validation rules shared by several sections: host lists, URLs, non-empty values.
//!
//! Each rule takes the field path it checks so its error names that field; callers pass
//! paths relative to their own section and the enclosing level prefixes the rest.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};

/// A `host:port` string: numeric port, non-empty host, IPv6 hosts in brackets.
pub fn host_port(field: &str, value: &str) -> Result<()> {
    let fail = |reason: &str| Err(Error::invalid(field, format!("{value:?}: {reason}")));
    let Some((host, port)) = value.rsplit_once(':') else {
        return fail("expected host:port");
    };
    if host.is_empty() {
        return fail("host is empty");
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return fail("an IPv6 host must be written in brackets, e.g. [::1]:15002");
    }
    if port.parse::<u16>().is_err() {
        return fail("port must be a number from 0 to 65535");
    }
    Ok(())
}

/// A list of distinct `host:port` strings; `required` rejects an empty list.
pub fn host_list(field: &str, hosts: &[String], required: bool) -> Result<()> {
    if required && hosts.is_empty() {
        return Err(Error::invalid(field, "at least one host:port is required"));
    }
    let mut seen = HashSet::new();
    for (i, host) in hosts.iter().enumerate() {
        let item = format!("{field}[{i}]");
        host_port(&item, host)?;
        if !seen.insert(host) {
            return Err(Error::invalid(item, format!("{host:?} is listed twice")));
        }
    }
    Ok(())
}

/// An absolute `http://` or `https://` URL with a host.
pub fn http_url(field: &str, value: &str) -> Result<()> {
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        Some(_) => Err(Error::invalid(field, format!("{value:?} has no host"))),
        None => Err(Error::invalid(
            field,
            format!("{value:?} must start with http:// or https://"),
        )),
    }
}

pub fn non_empty(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    Ok(())
}

/// A required path: serde fills an empty one when the key is missing.
pub fn required_path(field: &str, path: &Path) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(Error::invalid(field, "required"));
    }
    Ok(())
}

pub fn positive_duration(field: &str, value: Duration) -> Result<()> {
    if value.is_zero() {
        return Err(Error::invalid(field, "must be greater than 0s"));
    }
    Ok(())
}

pub fn at_least_one(field: &str, value: u64) -> Result<()> {
    if value == 0 {
        return Err(Error::invalid(field, "must be at least 1"));
    }
    Ok(())
}

/// Listening addresses of one process must not collide: same port on the same IP, or on
/// any IP when one side is a wildcard (`0.0.0.0`, `::`). Port 0 picks a free port, so it
/// may repeat.
pub fn distinct_listens(listens: &[(&str, SocketAddr)]) -> Result<()> {
    let collide = |a: &SocketAddr, b: &SocketAddr| {
        a.port() == b.port()
            && a.port() != 0
            && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
    };
    for (i, (field, addr)) in listens.iter().enumerate() {
        let earlier = listens[..i].iter().find(|(_, other)| collide(other, addr));
        if let Some((other_field, _)) = earlier {
            return Err(Error::invalid(
                *field,
                format!("{addr} is already used by {other_field}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(result: Result<()>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn host_port_accepts_names_ipv4_and_bracketed_ipv6() {
        for ok in ["origin-0.starling:15002", "127.0.0.1:15003", "[::1]:16000"] {
            host_port("hosts", ok).unwrap();
        }
        assert_eq!(
            reason(host_port("hosts[0]", "127.0.0.1")),
            "hosts[0]: \"127.0.0.1\": expected host:port"
        );
        assert!(reason(host_port("h", ":80")).contains("host is empty"));
        assert!(reason(host_port("h", "::1:80")).contains("brackets"));
        assert!(reason(host_port("h", "a:http")).contains("port must be a number"));
        assert!(reason(host_port("h", "a:70000")).contains("port must be a number"));
    }

    #[test]
    fn host_list_names_the_bad_item() {
        let hosts = vec!["a:1".to_string(), "b".to_string()];
        assert!(reason(host_list("trackers", &hosts, true)).starts_with("trackers[1]: "));
        let twice = vec!["a:1".to_string(), "a:1".to_string()];
        assert!(reason(host_list("trackers", &twice, true)).contains("listed twice"));
        assert_eq!(
            reason(host_list("trackers", &[], true)),
            "trackers: at least one host:port is required"
        );
        host_list("trackers", &[], false).unwrap();
    }

    #[test]
    fn http_url_requires_scheme_and_host() {
        http_url("url", "https://index-b.example.com").unwrap();
        http_url("url", "http://127.0.0.1:15004/").unwrap();
        assert!(reason(http_url("url", "ftp://x")).contains("must start with http://"));
        assert!(reason(http_url("url", "https://")).contains("has no host"));
    }

    #[test]
    fn listens_must_differ_except_port_zero() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        let a = addr("127.0.0.1:16000");
        let zero = addr("127.0.0.1:0");
        distinct_listens(&[("x", zero), ("y", zero), ("z", a)]).unwrap();
        distinct_listens(&[("x", a), ("y", addr("127.0.0.2:16000"))]).unwrap();
        assert_eq!(
            reason(distinct_listens(&[("x", addr("0.0.0.0:16000")), ("y", a)])),
            "y: 127.0.0.1:16000 is already used by x"
        );
        assert_eq!(
            reason(distinct_listens(&[("x", a), ("y", a)])),
            "y: 127.0.0.1:16000 is already used by x"
        );
    }
}
