//! Which address other peers are told to dial for an announcing peer.
//!
//! The default is the connection's source address with the announced port. An `ip`
//! parameter replaces it only when the announce comes from a network the operator
//! trusts (`trusted_networks`: agents behind SNAT, an L4 proxy or a sidecar, where the
//! source address is not the agent's), because anyone else could point a swarm at a
//! third party. Even from a trusted network, a loopback `ip` is taken only from a
//! loopback peer (from elsewhere it would send every agent to its own localhost).
//!
//! An `ip` no peer can be at is refused, from anyone, with a failure reason:
//! unspecified, multicast, broadcast and link-local addresses (169.254.169.254 is the
//! cloud metadata service). It is a misconfigured client that should hear about it, or
//! an attempt to aim a swarm at something that is not a peer. Any other `ip` that is
//! not acceptable, or not an IP literal (BEP 3 allows a DNS name), is ignored, not an
//! error: clients fill it in from their own guesses.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::{Error, Result};

/// The networks whose announces may name their own address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    trusted: Vec<IpNet>,
}

impl AddressPolicy {
    pub fn new(trusted: Vec<IpNet>) -> Self {
        Self { trusted }
    }

    /// The IP to hand out for a peer that connected from `remote` and claimed `claimed`;
    /// an error when the claim names an address no peer can be at.
    pub fn peer_ip(&self, claimed: Option<IpAddr>, remote: IpAddr) -> Result<IpAddr> {
        let remote = remote.to_canonical();
        let Some(claimed) = claimed.map(|ip| ip.to_canonical()) else {
            return Ok(remote);
        };
        if let Some(reason) = never_a_peer(claimed) {
            return Err(Error::InvalidParam { name: "ip", reason });
        }
        let believed = self.trusts(remote) && (!claimed.is_loopback() || remote.is_loopback());
        Ok(if believed { claimed } else { remote })
    }

    /// Whether announces from `remote` come from one of the trusted networks.
    pub fn trusts(&self, remote: IpAddr) -> bool {
        let remote = remote.to_canonical();
        self.trusted.iter().any(|net| net.contains(&remote))
    }
}

/// Why no peer can be at `ip`, if that is so.
fn never_a_peer(ip: IpAddr) -> Option<&'static str> {
    let link_local = match ip {
        IpAddr::V4(v4) if v4.is_broadcast() => return Some("must not be broadcast"),
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_unicast_link_local(),
    };
    if ip.is_unspecified() {
        Some("must not be unspecified (0.0.0.0, ::)")
    } else if ip.is_multicast() {
        Some("must not be multicast")
    } else if link_local {
        Some("must not be link-local (169.254.0.0/16, fe80::/10)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn policy(nets: &[&str]) -> AddressPolicy {
        AddressPolicy::new(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    #[test]
    fn claims_are_taken_only_from_trusted_networks() {
        let p = policy(&["10.0.0.0/8", "::1/128", "127.0.0.0/8"]);
        let cases = [
            // (claimed, remote, handed out)
            ("10.9.9.9", "10.0.0.7", "10.9.9.9"),
            ("10.9.9.9", "192.168.1.5", "192.168.1.5"),
            ("2001:db8::1", "127.0.0.1", "2001:db8::1"),
            ("10.1.1.1", "::1", "10.1.1.1"),
            ("10.1.1.1", "::ffff:10.0.0.7", "10.1.1.1"),
            ("::ffff:10.1.1.1", "10.0.0.7", "10.1.1.1"),
        ];
        for (claimed, remote, want) in cases {
            assert_eq!(
                p.peer_ip(Some(ip(claimed)), ip(remote)).unwrap(),
                ip(want),
                "{claimed} from {remote}"
            );
        }
        assert_eq!(p.peer_ip(None, ip("10.0.0.7")).unwrap(), ip("10.0.0.7"));
        assert!(p.trusts(ip("::ffff:10.0.0.7")) && !p.trusts(ip("192.168.1.5")));
    }

    #[test]
    fn loopback_claims_only_from_loopback_peers() {
        let p = policy(&["0.0.0.0/0", "::/0"]);
        assert_eq!(
            p.peer_ip(Some(ip("127.0.0.1")), ip("10.0.0.7")).unwrap(),
            ip("10.0.0.7")
        );
        assert_eq!(
            p.peer_ip(Some(ip("::1")), ip("10.0.0.7")).unwrap(),
            ip("10.0.0.7")
        );
        assert_eq!(
            p.peer_ip(Some(ip("127.0.0.2")), ip("127.0.0.1")).unwrap(),
            ip("127.0.0.2")
        );
    }

    #[test]
    fn addresses_no_peer_can_be_at_are_refused_from_anyone() {
        let cases = [
            ("0.0.0.0", "must not be unspecified (0.0.0.0, ::)"),
            ("::", "must not be unspecified (0.0.0.0, ::)"),
            ("224.0.0.1", "must not be multicast"),
            ("239.255.255.250", "must not be multicast"),
            ("ff02::1", "must not be multicast"),
            ("255.255.255.255", "must not be broadcast"),
            (
                "169.254.169.254",
                "must not be link-local (169.254.0.0/16, fe80::/10)",
            ),
            (
                "169.254.0.1",
                "must not be link-local (169.254.0.0/16, fe80::/10)",
            ),
            (
                "::ffff:169.254.169.254",
                "must not be link-local (169.254.0.0/16, fe80::/10)",
            ),
            (
                "fe80::1",
                "must not be link-local (169.254.0.0/16, fe80::/10)",
            ),
            (
                "febf::1",
                "must not be link-local (169.254.0.0/16, fe80::/10)",
            ),
        ];
        let trusting = policy(&["0.0.0.0/0", "::/0"]);
        for (claimed, reason) in cases {
            for p in [&trusting, &AddressPolicy::default()] {
                let err = p.peer_ip(Some(ip(claimed)), ip("10.0.0.7")).unwrap_err();
                assert_eq!(
                    err.to_string(),
                    format!("invalid ip: {reason}"),
                    "{claimed}"
                );
            }
        }
        for near_miss in [
            "169.253.255.255",
            "169.255.0.1",
            "fec0::1",
            "223.255.255.255",
        ] {
            assert_eq!(
                trusting
                    .peer_ip(Some(ip(near_miss)), ip("10.0.0.7"))
                    .unwrap(),
                ip(near_miss),
                "a peer can be at {near_miss}"
            );
        }
    }

    #[test]
    fn nothing_is_trusted_by_default() {
        let p = AddressPolicy::default();
        assert_eq!(
            p.peer_ip(Some(ip("10.9.9.9")), ip("127.0.0.1")).unwrap(),
            ip("127.0.0.1")
        );
    }
}
