//! A one-layer OCI image layout written by hand, for `skopeo copy oci:<dir>:<tag> ...`.
//!
//! The layer is a real gzipped tar of random bytes; the config's `diff_ids` hold the
//! digest of the uncompressed tar, as the image spec requires.

use std::io::Write;
use std::path::Path;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;
use starling_core::Digest;

use crate::blob::pseudo_random;

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// The blobs of the image and their digests.
pub struct OciImage {
    pub layer: Bytes,
    pub layer_digest: Digest,
    pub config_digest: Digest,
    pub config_size: u64,
    pub manifest_digest: Digest,
}

impl OciImage {
    /// Writes an image layout under `dir` with the image tagged `tag`.
    pub fn write(dir: &Path, tag: &str, layer_size: usize) -> Self {
        let tar = layer_tar(layer_size);
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(&tar).unwrap();
        let layer = Bytes::from(gz.finish().unwrap());

        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [Digest::of(&tar).to_string()]},
        });
        let config = serde_json::to_vec(&config).unwrap();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
            "layers": [descriptor("application/vnd.oci.image.layer.v1.tar+gzip", &layer)],
        });
        let manifest = serde_json::to_vec(&manifest).unwrap();
        let mut manifest_entry = descriptor(MANIFEST_TYPE, &manifest);
        manifest_entry["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        let index = json!({"schemaVersion": 2, "manifests": [manifest_entry]});

        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        for blob in [&layer[..], &config, &manifest] {
            std::fs::write(blobs.join(Digest::of(blob).hex()), blob).unwrap();
        }
        std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        Self {
            layer_digest: Digest::of(&layer),
            layer,
            config_digest: Digest::of(&config),
            config_size: config.len() as u64,
            manifest_digest: Digest::of(&manifest),
        }
    }
}

fn descriptor(media_type: &str, blob: &[u8]) -> serde_json::Value {
    json!({"mediaType": media_type, "digest": Digest::of(blob).to_string(), "size": blob.len()})
}

/// A tar holding one file of random bytes.
fn layer_tar(size: usize) -> Vec<u8> {
    let data = pseudo_random(size, 42);
    let mut header = tar::Header::new_gnu();
    header.set_size(size as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_data(&mut header, "random.bin", &data[..])
        .unwrap();
    builder.into_inner().unwrap()
}
