//! Test blobs: deterministic, incompressible bytes and their digest.

use bytes::Bytes;
use futures::StreamExt;
use futures::stream;
use starling_backend::ByteStream;
use starling_core::{Digest, RepoName};

/// A blob and its sha256.
#[derive(Clone, Debug)]
pub struct BlobFixture {
    pub data: Bytes,
    pub digest: Digest,
}

impl BlobFixture {
    /// `len` pseudo-random bytes, different on every call.
    pub fn random(len: usize) -> Self {
        Self::seeded(len, rand_seed())
    }

    /// `len` pseudo-random bytes, the same for the same seed.
    pub fn seeded(len: usize, seed: u64) -> Self {
        let data = pseudo_random(len, seed);
        Self {
            digest: Digest::of(&data),
            data,
        }
    }

    pub fn len(&self) -> u64 {
        self.data.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The blob as a stream of `chunk`-byte pieces, as a network body would arrive.
    pub fn stream(&self, chunk: usize) -> ByteStream {
        let data = self.data.clone();
        let chunks: Vec<std::io::Result<Bytes>> = (0..data.len())
            .step_by(chunk.max(1))
            .map(|i| Ok(data.slice(i..data.len().min(i + chunk))))
            .collect();
        stream::iter(chunks).boxed()
    }

    /// The namespace most tests use.
    pub fn namespace() -> RepoName {
        RepoName::parse("team/app").expect("a valid name")
    }
}

/// Deterministic incompressible bytes (xorshift), different for each seed.
pub fn pseudo_random(len: usize, seed: u64) -> Bytes {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let take = (len - data.len()).min(8);
        data.extend_from_slice(&state.to_le_bytes()[..take]);
    }
    data.into()
}

fn rand_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}
