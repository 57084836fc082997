//! Multi-host end-to-end tests: every component of a cluster in its own container of the
//! Starling image (`scripts/build-image`), on a user-defined `--internal` Docker network
//! of the test's own, running the configs the Helm chart (`charts/starling`) renders
//! (listening on `0.0.0.0`, peers named by the chart's DNS names, origins advertising
//! theirs, agents advertising their address through `${HOST_IP}`), so chart and binary
//! cannot drift apart.
//! Nothing is published: the host reaches each container at its IP on the bridge, as
//! the agents' `allowed_clients` (the suite's networks, a CIDR) expects.
//!
//! Every test starts its own cluster (two origins, a tracker, build-index, proxy and
//! three agents), pushes an image through the proxy with skopeo, pulls through every
//! agent, and some inject a fault mid-pull (origins, tracker and agents killed, an agent
//! cut off the network). Pulls are made slow enough to be interrupted by capping the
//! peers' rates. Tests run one at a time (`Suite::start` holds a lock): the machine has
//! two cores and each cluster has eight processes.
//!
//! Without a reachable Docker engine the tests skip with a message, except when `CI` is
//! set, where they fail.

mod attacks;
mod cluster;
mod configs;
mod docker;
mod faults;
mod image;
mod pull;
mod suite;
mod swarm;
