//! End-to-end tests of the proxy on real sockets, with real clients: skopeo, the docker
//! CLI and reqwest, against an origin, a build-index and the proxy on loopback.

mod auth;
mod bad_inputs;
mod docker;
mod manifest_checks;
mod skopeo;
mod support;
