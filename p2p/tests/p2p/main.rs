//! Multi-engine tests on loopback: real sockets, a real in-process tracker, engines with
//! their own stores. One test binary, so the crate graph is linked once.

mod bad_peers;
mod garbage;
mod inbound;
mod interop;
mod lifecycle;
mod origin_faults;
mod origin_swarm;
mod resume;
mod seeder_loss;
mod strangers;
mod streaming;
mod support;
mod swarm;
mod tracker;
mod tracker_metainfo;
