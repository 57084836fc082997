//! Who may pull from the registry port: the agent serves the node's container runtime,
//! so by default only loopback clients; other addresses or networks (CIDR) through
//! `allowed_clients`.
//!
//! The check is middleware in front of every registry route and answers `403 DENIED`
//! with the registry error body. It compares the peer address of the TCP connection, so
//! IPv4-mapped IPv6 peers (`::ffff:127.0.0.1` on a dual-stack listener) count as their
//! IPv4 address.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use starling_runtime::ApiError;

use crate::error::Error;
use crate::state::AgentState;

/// The networks allowed on the registry port.
#[derive(Debug, Clone)]
pub struct AllowList {
    allowed: Vec<IpNet>,
}

impl AllowList {
    pub fn new(allowed: &[IpNet]) -> Self {
        Self {
            allowed: allowed.to_vec(),
        }
    }

    pub fn allows(&self, client: IpAddr) -> bool {
        let client = client.to_canonical();
        self.allowed.iter().any(|net| net.contains(&client))
    }
}

/// Middleware: refuses clients not in the allow-list.
pub async fn require_allowed(
    State(state): State<Arc<AgentState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if state.access.allows(peer.ip()) {
        return next.run(request).await;
    }
    state.metrics.requests_denied.increment(1);
    ApiError::from(Error::Denied { client: peer.ip() }).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_by_default_and_mapped_addresses_match() {
        let list = AllowList::new(&starling_config::agent::default_allowed_clients());
        assert!(list.allows("127.0.0.1".parse().unwrap()));
        assert!(list.allows("::1".parse().unwrap()));
        assert!(list.allows("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!list.allows("127.0.0.2".parse().unwrap()));
        assert!(!list.allows("10.0.0.7".parse().unwrap()));
    }

    #[test]
    fn networks_allow_every_address_inside() {
        let nets = ["10.244.0.0/16", "fd00::/8", "192.168.1.5/32"].map(|n| n.parse().unwrap());
        let list = AllowList::new(&nets);
        for inside in [
            "10.244.0.1",
            "10.244.255.254",
            "::ffff:10.244.3.3",
            "fd12::1",
            "192.168.1.5",
        ] {
            assert!(list.allows(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["10.245.0.1", "127.0.0.1", "fe80::1", "192.168.1.6"] {
            assert!(!list.allows(outside.parse().unwrap()), "{outside}");
        }
    }
}
