//! Which address other peers are told to dial for an announcing peer.
//!
//! The default is the connection's source address with the announced port. An `ip`
//! parameter replaces it only when the announce comes from a network the operator
//! trusts (`trusted_networks`: agents behind SNAT, an L4 proxy or a sidecar, where the
//! source address is not the agent's), because anyone else could point a swarm at a
//! third party. Even from a trusted network, a loopback `ip` is taken only from a
//! loopback peer (from elsewhere it would send every agent to its own localhost), and
//! addresses no peer can be at are never taken: unspecified, multicast, broadcast,
//! link-local (169.254.169.254 is the cloud metadata service). An `ip` that is not
//! acceptable or not an IP literal is ignored, not an error: clients fill it in from
//! their own guesses.

use std::net::IpAddr;

use ipnet::IpNet;

/// The networks whose announces may name their own address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    trusted: Vec<IpNet>,
}

impl AddressPolicy {
    pub fn new(trusted: Vec<IpNet>) -> Self {
        Self { trusted }
    }

    /// The IP to hand out for a peer that connected from `remote` and claimed `claimed`.
    pub fn peer_ip(&self, claimed: Option<IpAddr>, remote: IpAddr) -> IpAddr {
        let remote = remote.to_canonical();
        match claimed.map(|ip| ip.to_canonical()) {
            Some(ip) if self.trusts(remote) && dialable(ip, remote) => ip,
            _ => remote,
        }
    }

    fn trusts(&self, remote: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&remote))
    }
}

/// Whether a peer at `remote` may be reached at `ip`.
fn dialable(ip: IpAddr, remote: IpAddr) -> bool {
    if ip.is_loopback() {
        return remote.is_loopback();
    }
    if ip.is_unspecified() || ip.is_multicast() {
        return false;
    }
    match ip {
        IpAddr::V4(v4) => !v4.is_broadcast() && !v4.is_link_local(),
        IpAddr::V6(v6) => !v6.is_unicast_link_local(),
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
                p.peer_ip(Some(ip(claimed)), ip(remote)),
                ip(want),
                "{claimed} from {remote}"
            );
        }
        assert_eq!(p.peer_ip(None, ip("10.0.0.7")), ip("10.0.0.7"));
    }

    #[test]
    fn loopback_claims_only_from_loopback_peers() {
        let p = policy(&["0.0.0.0/0", "::/0"]);
        assert_eq!(
            p.peer_ip(Some(ip("127.0.0.1")), ip("10.0.0.7")),
            ip("10.0.0.7")
        );
        assert_eq!(p.peer_ip(Some(ip("::1")), ip("10.0.0.7")), ip("10.0.0.7"));
        assert_eq!(
            p.peer_ip(Some(ip("127.0.0.2")), ip("127.0.0.1")),
            ip("127.0.0.2")
        );
    }

    #[test]
    fn addresses_no_peer_can_be_at_are_never_taken() {
        let p = policy(&["0.0.0.0/0", "::/0"]);
        for claimed in [
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "169.254.169.254",
            "fe80::1",
            "ff02::1",
            "::",
        ] {
            assert_eq!(
                p.peer_ip(Some(ip(claimed)), ip("10.0.0.7")),
                ip("10.0.0.7"),
                "{claimed}"
            );
        }
    }

    #[test]
    fn nothing_is_trusted_by_default() {
        let p = AddressPolicy::default();
        assert_eq!(
            p.peer_ip(Some(ip("10.9.9.9")), ip("127.0.0.1")),
            ip("127.0.0.1")
        );
    }
}
