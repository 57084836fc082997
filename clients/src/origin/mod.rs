//! Clients of the origin cluster: [`ring`] (owners of a digest), [`client`] (one origin),
//! [`cluster`] (the ring with failover and [`health`] checks), and the wire contract the
//! origin server shares with them: [`paths`] and [`peer_identity`] (`GET /peer`).

pub mod client;
pub mod cluster;
pub mod health;
pub mod paths;
pub mod peer_identity;
pub mod ring;
