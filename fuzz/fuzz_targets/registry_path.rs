//! Registry v2 request paths, parsed by the agent and the proxy from any client. Parsing
//! must never panic, and an accepted endpoint written back as a path parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starling_core::registry::{Endpoint, Reference, parse_path};

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(endpoint) = parse_path(path) else {
        return;
    };
    let written = path_of(&endpoint);
    assert_eq!(
        parse_path(&written).unwrap(),
        endpoint,
        "{path:?} -> {written:?}"
    );
    if let Endpoint::Manifest { reference, .. } = &endpoint {
        assert_eq!(
            &Reference::parse(&reference.to_string()).unwrap(),
            reference
        );
    }
});

fn path_of(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Base => "/v2/".to_owned(),
        Endpoint::Catalog => "/v2/_catalog".to_owned(),
        Endpoint::Tags { name } => format!("/v2/{name}/tags/list"),
        Endpoint::Manifest { name, reference } => format!("/v2/{name}/manifests/{reference}"),
        Endpoint::Blob { name, digest } => format!("/v2/{name}/blobs/{digest}"),
        Endpoint::Referrers { name, digest } => format!("/v2/{name}/referrers/{digest}"),
        Endpoint::StartUpload { name } => format!("/v2/{name}/blobs/uploads/"),
        Endpoint::Upload { name, id } => format!("/v2/{name}/blobs/uploads/{id}"),
    }
}
