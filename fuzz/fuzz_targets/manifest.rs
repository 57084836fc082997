//! Pushed manifests: the proxy parses the body a client PUTs with its `Content-Type`.
//! The input's first line is the Content-Type (empty: none), the rest the body. Parsing
//! must never panic; an accepted manifest's media type is a manifest type of its kind,
//! and the body, served back, gets a manifest Content-Type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starling_core::registry::{ManifestKind, manifest};

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&data[..0], data),
    };
    let content_type = std::str::from_utf8(header).ok().filter(|h| !h.is_empty());
    let served = manifest::served_type(body);
    let Ok(parsed) = manifest::parse(body, content_type) else {
        return;
    };
    assert_eq!(ManifestKind::of(&parsed.media_type), Some(parsed.kind));
    if let Some(served) = served {
        assert!(ManifestKind::of(&served).is_some(), "{served:?}");
    }
    if parsed.kind == ManifestKind::Image {
        assert!(
            !parsed.references.is_empty(),
            "an image references its config"
        );
    }
});
