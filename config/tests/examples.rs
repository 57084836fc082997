//! Every file in `examples/config/` loads through `load` and validates, the directory holds
//! exactly one file per component, and the files describe one consistent dev cluster on
//! the design's ports.

use std::collections::BTreeSet;
use std::path::PathBuf;

use starling_config::{
    AgentConfig, BuildIndexConfig, Component, OriginConfig, ProxyConfig, TrackerConfig, load,
};

const FILES: [&str; 5] = [
    "agent.yaml",
    "build-index.yaml",
    "origin.yaml",
    "proxy.yaml",
    "tracker.yaml",
];

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/config")
        .join(name)
}

fn load_example<T: Component>(name: &str) -> T {
    let path = example(name);
    assert!(path.is_file(), "missing example {}", path.display());
    load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_directory_holds_one_file_per_component() {
    let found: BTreeSet<String> = std::fs::read_dir(example(""))
        .expect("examples/config exists")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = FILES.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        found, expected,
        "every example must be loaded by a test here"
    );
}

#[test]
fn every_example_loads_on_the_dev_ports() {
    let origin: OriginConfig = load_example("origin.yaml");
    let tracker: TrackerConfig = load_example("tracker.yaml");
    let build_index: BuildIndexConfig = load_example("build-index.yaml");
    let proxy: ProxyConfig = load_example("proxy.yaml");
    let agent: AgentConfig = load_example("agent.yaml");

    let port = |addr: std::net::SocketAddr| addr.port();
    assert_eq!(
        (port(origin.listen), port(origin.peer.listen)),
        (15002, 15001)
    );
    assert_eq!(port(tracker.listen), 15003);
    assert_eq!(port(build_index.listen), 15004);
    assert_eq!(port(proxy.listen), 15000);
    assert_eq!(
        [agent.registry_listen, agent.peer.listen, agent.admin_listen].map(port),
        [16000, 16001, 16002]
    );

    let origin_ring = &origin.cluster.hosts;
    assert_eq!(&tracker.origins.hosts, origin_ring);
    assert_eq!(&build_index.origins.hosts, origin_ring);
    assert_eq!(&proxy.origins.hosts, origin_ring);
    assert_eq!(agent.trackers, [tracker.advertise.as_str()]);
    assert_eq!(agent.build_index, [build_index.advertise.as_str()]);
    assert_eq!(proxy.build_index, [build_index.advertise.as_str()]);
}

#[test]
fn load_reports_a_missing_file_by_path() {
    let err = load::<AgentConfig>(&example("no-such.yaml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot read config file"), "{err}");
    assert!(err.contains("no-such.yaml"), "{err}");
}
