//! Who may pull from the registry port: the agent serves the node's container runtime,
//! so by default only loopback clients; other addresses through `allowed_clients`.
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
use starling_runtime::ApiError;

use crate::error::Error;
use crate::state::AgentState;

/// The addresses allowed on the registry port.
#[derive(Debug, Clone)]
pub struct AllowList {
    allowed: Vec<IpAddr>,
}

impl AllowList {
    pub fn new(allowed: &[IpAddr]) -> Self {
        Self {
            allowed: allowed.iter().map(|ip| ip.to_canonical()).collect(),
        }
    }

    pub fn allows(&self, client: IpAddr) -> bool {
        self.allowed.contains(&client.to_canonical())
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
        let list = AllowList::new(&["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()]);
        assert!(list.allows("127.0.0.1".parse().unwrap()));
        assert!(list.allows("::1".parse().unwrap()));
        assert!(list.allows("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!list.allows("127.0.0.2".parse().unwrap()));
        assert!(!list.allows("10.0.0.7".parse().unwrap()));
    }
}
