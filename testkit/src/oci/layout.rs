//! OCI image layouts written by hand for `skopeo copy oci:<dir>:<tag> …`: images of one
//! gzipped layer holding one file, and indexes of several platforms.
//!
//! A layer is a real tar.gz; the config's `diff_ids` hold the sha256 of the uncompressed
//! tar, as the image spec requires, so skopeo and docker accept the images.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use starling_core::Digest;
use starling_core::registry::media_type::{OCI_CONFIG, OCI_INDEX, OCI_MANIFEST};

const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// One image of a layout: its manifest and the blobs it references.
#[derive(Clone)]
pub struct Image {
    pub manifest: Bytes,
    pub manifest_digest: Digest,
    pub config_digest: Digest,
    pub layer_digest: Digest,
    pub platform: (String, String),
}

/// An OCI image layout directory being written.
pub struct Layout {
    dir: PathBuf,
    refs: Vec<Value>,
}

impl Layout {
    pub fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        Self {
            dir: dir.to_owned(),
            refs: Vec::new(),
        }
    }

    /// An image for `os/arch` whose one layer holds `path` with `contents`.
    pub fn image(&self, os: &str, arch: &str, path: &str, contents: &[u8]) -> Image {
        let tar = tar_of(path, contents);
        let layer = gzip(&tar);
        let config = json!({
            "architecture": arch,
            "os": os,
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [Digest::of(&tar).to_string()]},
        });
        let config = serde_json::to_vec(&config).unwrap();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, &config),
            "layers": [descriptor(LAYER_TYPE, &layer)],
        });
        let manifest = serde_json::to_vec(&manifest).unwrap();
        for blob in [&layer[..], &config, &manifest] {
            self.put_blob(blob);
        }
        Image {
            manifest_digest: Digest::of(&manifest),
            manifest: manifest.into(),
            config_digest: Digest::of(&config),
            layer_digest: Digest::of(&layer),
            platform: (os.to_owned(), arch.to_owned()),
        }
    }

    /// Tags one image.
    pub fn tag_image(&mut self, tag: &str, image: &Image) {
        let mut entry = descriptor(OCI_MANIFEST, &image.manifest);
        entry["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        self.refs.push(entry);
    }

    /// Writes an index of `images` (one per platform) and tags it; returns its bytes.
    pub fn tag_index(&mut self, tag: &str, images: &[Image]) -> Bytes {
        let manifests: Vec<Value> = images
            .iter()
            .map(|image| {
                let mut entry = descriptor(OCI_MANIFEST, &image.manifest);
                let (os, arch) = &image.platform;
                entry["platform"] = json!({"os": os, "architecture": arch});
                entry
            })
            .collect();
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
        let index = serde_json::to_vec(&index).unwrap();
        self.put_blob(&index);
        let mut entry = descriptor(OCI_INDEX, &index);
        entry["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        self.refs.push(entry);
        index.into()
    }

    /// Writes `index.json` with every tag so far.
    pub fn finish(&self) {
        let index = json!({"schemaVersion": 2, "manifests": self.refs});
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }

    fn put_blob(&self, blob: &[u8]) {
        let path = self.dir.join("blobs/sha256").join(Digest::of(blob).hex());
        std::fs::write(path, blob).unwrap();
    }
}

/// The manifest digest a layout's `index.json` gives `tag`.
pub fn tagged_digest(dir: &Path, tag: &str) -> Digest {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no {tag} in {index}"));
    Digest::parse(entry["digest"].as_str().unwrap()).unwrap()
}

/// Whether the layout holds blob `digest`.
pub fn has_blob(dir: &Path, digest: &Digest) -> bool {
    dir.join("blobs/sha256").join(digest.hex()).is_file()
}

fn descriptor(media_type: &str, blob: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": Digest::of(blob).to_string(), "size": blob.len()})
}

fn tar_of(path: &str, contents: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_size(contents.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_data(&mut header, path, contents).unwrap();
    builder.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}
