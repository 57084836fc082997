//! The Starling agent, one per node: the Docker Registry v2 read API for docker and
//! containerd on localhost, P2P download through the swarm, cache and seeding.
//!
//! Not built yet (issues #4 and #5): `starling agent` checks its configuration and exits
//! non-zero. The crate exists so the workspace layout is in place.
