//! One-pass metainfo generation from a stream of blob bytes.
//!
//! Every byte is read once and fed to two hashers: the current piece's SHA-1 and the
//! whole blob's sha256. Memory is the read buffers plus 20 bytes per finished piece; the
//! blob is never buffered. In [`generate`] the hashing runs on tokio's blocking pool,
//! overlapped with reading the next buffer, so hashing a multi-GiB blob neither stalls
//! the async workers nor alternates between waiting on I/O and on the CPU.

use std::io;

use sha1::{Digest as _, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;

use super::MetaInfo;
use super::info::{Info, PIECE_HASH_LEN, check_piece_length, expected_piece_count};
use crate::digest::{Digest, DigestHasher};
use crate::error::{Error, Result};
use crate::piece::PieceLengthPolicy;

/// Bytes read (and hashed) per step of [`generate`]: large enough that the per-step
/// hand-off to the blocking pool costs nothing measurable.
pub const READ_BUFFER_LEN: usize = 1 << 20;

/// Hashes a blob of known length as it streams past, piece by piece.
pub struct MetaInfoGenerator {
    length: u64,
    piece_length: u64,
    total: u64,
    piece: Sha1,
    piece_filled: u64,
    pieces: Vec<[u8; PIECE_HASH_LEN]>,
    blob: DigestHasher,
}

impl MetaInfoGenerator {
    /// Fails if `piece_length` is invalid or `length` needs more pieces than a `u32`.
    pub fn new(length: u64, piece_length: u64) -> Result<Self> {
        check_piece_length(piece_length)?;
        let count = expected_piece_count(length, piece_length)?;
        Ok(Self {
            length,
            piece_length,
            total: 0,
            piece: Sha1::new(),
            piece_filled: 0,
            // Capped so that a lying `length` cannot make us reserve gigabytes up front.
            pieces: Vec::with_capacity(count.min(1 << 16) as usize),
            blob: DigestHasher::new(),
        })
    }

    /// Feeds the next bytes of the blob; chunks may be of any size.
    pub fn update(&mut self, data: &[u8]) {
        self.blob.update(data);
        self.total += data.len() as u64;
        let mut rest = data;
        while !rest.is_empty() {
            // A piece length is at most 64 MiB, so the room left fits a usize.
            let room = (self.piece_length - self.piece_filled) as usize;
            let (head, tail) = rest.split_at(room.min(rest.len()));
            self.piece.update(head);
            self.piece_filled += head.len() as u64;
            if self.piece_filled == self.piece_length {
                self.finish_piece();
            }
            rest = tail;
        }
    }

    /// The info dict (named by the blob's hex sha256) and the blob's digest.
    pub fn finish(mut self) -> Result<(Info, Digest)> {
        if self.total != self.length {
            return Err(Error::LengthMismatch {
                expected: self.length,
                actual: self.total,
            });
        }
        if self.piece_filled > 0 {
            self.finish_piece();
        }
        let digest = self.blob.finish();
        let info = Info::new(digest.hex(), self.length, self.piece_length, self.pieces)?;
        Ok((info, digest))
    }

    fn finish_piece(&mut self) {
        self.pieces.push(self.piece.finalize_reset().into());
        self.piece_filled = 0;
    }
}

/// Reads a blob of `length` bytes to its end and builds its torrent (no announce URL;
/// see [`MetaInfo::with_announce`]) with the piece length `policy` picks.
pub async fn generate(
    reader: impl AsyncRead + Unpin,
    length: u64,
    policy: &PieceLengthPolicy,
) -> Result<(MetaInfo, Digest)> {
    let generator = MetaInfoGenerator::new(length, policy.piece_length(length))?;
    let (info, digest) = hash_stream(reader, generator).await?.finish()?;
    Ok((MetaInfo::new(info, None), digest))
}

/// [`generate`], failing with [`Error::DigestMismatch`] unless the blob is `expected`.
pub async fn generate_verified(
    reader: impl AsyncRead + Unpin,
    length: u64,
    policy: &PieceLengthPolicy,
    expected: &Digest,
) -> Result<MetaInfo> {
    let (metainfo, actual) = generate(reader, length, policy).await?;
    if actual != *expected {
        return Err(Error::DigestMismatch {
            expected: *expected,
            actual,
        });
    }
    Ok(metainfo)
}

/// Feeds the whole stream to `generator`, hashing one buffer while the next is read.
async fn hash_stream(
    mut reader: impl AsyncRead + Unpin,
    mut generator: MetaInfoGenerator,
) -> Result<MetaInfoGenerator> {
    let mut buf = vec![0u8; READ_BUFFER_LEN];
    let mut spare = vec![0u8; READ_BUFFER_LEN];
    let mut filled = fill(&mut reader, &mut buf).await?;
    while filled > 0 {
        let task = tokio::task::spawn_blocking(move || {
            generator.update(&buf[..filled]);
            (generator, buf)
        });
        let next = fill(&mut reader, &mut spare).await;
        // Joined before `next` is checked, so a read error never leaves a task behind.
        (generator, buf) = join(task).await?;
        filled = next?;
        std::mem::swap(&mut buf, &mut spare);
    }
    Ok(generator)
}

/// Reads until `buf` is full or the stream ends, so every hashing step is a full buffer
/// even when the reader hands out small chunks.
async fn fill(reader: &mut (impl AsyncRead + Unpin), buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = reader.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

async fn join<T>(task: JoinHandle<T>) -> Result<T> {
    task.await.map_err(|err| {
        if err.is_panic() {
            std::panic::resume_unwind(err.into_panic());
        }
        Error::Io(io::Error::other(
            "metainfo hashing was cancelled: the runtime is shutting down",
        ))
    })
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use tokio::io::AsyncWriteExt;

    use super::*;

    const PIECE: u64 = 16 * 1024;

    fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
        let mut data = vec![0u8; len];
        StdRng::seed_from_u64(seed).fill_bytes(&mut data);
        data
    }

    /// The obvious whole-buffer computation the streaming generator must agree with.
    fn naive(data: &[u8], piece_length: u64) -> (Info, Digest) {
        let pieces = data
            .chunks(piece_length as usize)
            .map(|piece| Sha1::digest(piece).into())
            .collect();
        let digest = Digest::of(data);
        let info = Info::new(digest.hex(), data.len() as u64, piece_length, pieces).unwrap();
        (info, digest)
    }

    fn lengths() -> [u64; 7] {
        [
            0,
            1,
            PIECE - 1,
            PIECE,
            PIECE + 1,
            5 * PIECE + 777,
            8 * PIECE,
        ]
    }

    #[test]
    fn matches_the_naive_computation_for_any_chunking() {
        let chunkings: [&[usize]; 4] = [
            &[1],
            &[7, 4093, 1],
            &[PIECE as usize],
            &[3 * PIECE as usize + 1],
        ];
        for (seed, length) in lengths().into_iter().enumerate() {
            let data = random_bytes(length as usize, seed as u64);
            let want = naive(&data, PIECE);
            for sizes in chunkings {
                let mut generator = MetaInfoGenerator::new(length, PIECE).unwrap();
                let mut rest = &data[..];
                for &size in sizes.iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let (chunk, tail) = rest.split_at(size.min(rest.len()));
                    generator.update(chunk);
                    rest = tail;
                }
                assert_eq!(
                    generator.finish().unwrap(),
                    want,
                    "length {length}, chunks {sizes:?}"
                );
            }
        }
    }

    #[test]
    fn odd_piece_lengths_split_correctly() {
        let data = random_bytes(10_000, 99);
        for piece_length in [1, 3, 999, 10_000, 10_001] {
            let mut generator = MetaInfoGenerator::new(10_000, piece_length).unwrap();
            data.chunks(1234).for_each(|chunk| generator.update(chunk));
            assert_eq!(generator.finish().unwrap(), naive(&data, piece_length));
        }
    }

    #[test]
    fn rejects_a_stream_of_the_wrong_length() {
        for (declared, actual) in [(100, 99), (100, 101), (0, 1)] {
            let mut generator = MetaInfoGenerator::new(declared, PIECE).unwrap();
            generator.update(&vec![0u8; actual as usize]);
            let err = generator.finish().unwrap_err();
            assert!(
                matches!(err, Error::LengthMismatch { expected, actual: got }
                    if expected == declared && got == actual),
                "{err:?}"
            );
        }
    }

    #[test]
    fn rejects_invalid_geometry_up_front() {
        assert!(MetaInfoGenerator::new(10, 0).is_err());
        assert!(MetaInfoGenerator::new(10, PieceLengthPolicy::MAX_PIECE_LENGTH * 2).is_err());
        assert!(MetaInfoGenerator::new(u64::MAX, PIECE).is_err());
    }

    /// A reader that hands out at most `chunk` bytes per read, like a network stream.
    fn trickle(data: Vec<u8>, chunk: usize) -> tokio::io::DuplexStream {
        let (mut writer, reader) = tokio::io::duplex(chunk);
        tokio::spawn(async move { writer.write_all(&data).await });
        reader
    }

    #[tokio::test]
    async fn generate_streams_with_the_policy_piece_length() {
        let policy = PieceLengthPolicy::default();
        let length = 2 * READ_BUFFER_LEN as u64 + 300_001;
        let data = random_bytes(length as usize, 7);
        let (metainfo, digest) = generate(trickle(data.clone(), 4093), length, &policy)
            .await
            .unwrap();
        let (want_info, want_digest) = naive(&data, policy.piece_length(length));
        assert_eq!(digest, want_digest);
        assert_eq!(metainfo, MetaInfo::new(want_info, None));
        assert_eq!(metainfo.digest().unwrap(), digest);
    }

    #[tokio::test]
    async fn generate_reports_length_and_digest_mismatches() {
        let policy = PieceLengthPolicy::default();
        let data = random_bytes(100_000, 8);
        let short = generate(&data[..99_999], 100_000, &policy)
            .await
            .unwrap_err();
        assert!(
            matches!(short, Error::LengthMismatch { actual: 99_999, .. }),
            "{short:?}"
        );

        let right = Digest::of(&data);
        let metainfo = generate_verified(&data[..], 100_000, &policy, &right)
            .await
            .unwrap();
        assert_eq!(metainfo.digest().unwrap(), right);

        let wrong = Digest::of(b"something else");
        let err = generate_verified(&data[..], 100_000, &policy, &wrong)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::DigestMismatch { expected, actual }
                if expected == wrong && actual == right),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn generate_passes_read_errors_through() {
        let broken = (&[0u8; 10][..]).chain(FailingReader);
        let err = generate(broken, 20, &PieceLengthPolicy::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Io(_)), "{err:?}");
    }

    struct FailingReader;

    impl AsyncRead for FailingReader {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Err(io::Error::other("disk on fire")))
        }
    }
}
