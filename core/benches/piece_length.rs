//! Measures what the piece length costs and buys, as markdown tables for
//! `docs/piece-length.md`: metainfo generation throughput per piece length, and the
//! piece count and `.torrent` size per blob size and piece length.
//!
//! Run with `cargo bench -p starling-core --bench piece_length`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha1::{Digest as _, Sha1};
use starling_core::metainfo::{Info, MetaInfo, MetaInfoGenerator, READ_BUFFER_LEN};
use starling_core::{Digest, PieceLengthPolicy};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

const BUFFER_LEN: usize = 256 * MIB as usize;
const RUNS: usize = 5;
const PIECE_LENGTHS: [u64; 9] = [
    64 * KIB,
    128 * KIB,
    256 * KIB,
    512 * KIB,
    MIB,
    2 * MIB,
    4 * MIB,
    8 * MIB,
    16 * MIB,
];
const BLOB_SIZES: [u64; 5] = [16 * MIB, 256 * MIB, GIB, 4 * GIB, 16 * GIB];
const ANNOUNCE: &str = "http://127.0.0.1:15003/announce";

fn main() {
    let mut data = vec![0u8; BUFFER_LEN];
    StdRng::seed_from_u64(1).fill_bytes(&mut data);
    throughput_table(&data);
    size_tables();
    default_policy_table();
}

fn mb_per_s(elapsed: Duration) -> f64 {
    BUFFER_LEN as f64 / 1e6 / elapsed.as_secs_f64()
}

fn time(work: impl FnOnce()) -> Duration {
    let start = Instant::now();
    work();
    start.elapsed()
}

/// One candidate measured by the throughput table.
enum Hashing {
    Generator(u64),
    Sha256Only,
    Sha1Only,
}

impl Hashing {
    fn label(&self) -> String {
        match self {
            Self::Generator(piece_length) => human(*piece_length),
            Self::Sha256Only => "(sha256 alone)".into(),
            Self::Sha1Only => "(sha1 alone)".into(),
        }
    }

    fn run(&self, data: &[u8]) {
        match *self {
            Self::Generator(piece_length) => {
                let mut generator = MetaInfoGenerator::new(data.len() as u64, piece_length)
                    .expect("a valid piece length");
                data.chunks(READ_BUFFER_LEN)
                    .for_each(|chunk| generator.update(chunk));
                black_box(generator.finish().expect("the length is right"));
            }
            Self::Sha256Only => {
                black_box(Digest::of(data));
            }
            Self::Sha1Only => {
                black_box(Sha1::digest(data));
            }
        }
    }
}

/// Rounds go over every candidate in turn and each keeps its best time, so a burst of
/// load from elsewhere on the machine hits one round of all candidates, not one
/// candidate's every run.
fn throughput_table(data: &[u8]) {
    let candidates: Vec<Hashing> = PIECE_LENGTHS
        .into_iter()
        .map(Hashing::Generator)
        .chain([Hashing::Sha256Only, Hashing::Sha1Only])
        .collect();
    let mut best = vec![Duration::MAX; candidates.len()];
    for _ in 0..RUNS {
        for (candidate, best) in candidates.iter().zip(&mut best) {
            *best = (*best).min(time(|| candidate.run(data)));
        }
    }
    println!(
        "\nGeneration over a {} MiB in-memory buffer, fed in {} KiB chunks (best of {RUNS}):\n",
        BUFFER_LEN as u64 / MIB,
        READ_BUFFER_LEN as u64 / KIB
    );
    println!("| piece length | MB/s |");
    println!("|---|---|");
    for (candidate, best) in candidates.iter().zip(best) {
        println!("| {} | {:.0} |", candidate.label(), mb_per_s(best));
    }
}

fn torrent_size(blob_size: u64, piece_length: u64) -> usize {
    let count = blob_size.div_ceil(piece_length) as usize;
    let name = Digest::of(b"").hex();
    let info = Info::new(name, blob_size, piece_length, vec![[0u8; 20]; count]).unwrap();
    MetaInfo::new(info, Some(ANNOUNCE.into())).to_bytes().len()
}

fn size_tables() {
    let header = || {
        let sizes: Vec<String> = BLOB_SIZES.iter().map(|&s| human(s)).collect();
        println!("| piece length | {} |", sizes.join(" | "));
        println!("|---|{}", "---|".repeat(BLOB_SIZES.len()));
    };
    println!("\nPiece count per blob size:\n");
    header();
    for piece_length in PIECE_LENGTHS {
        let counts: Vec<String> = BLOB_SIZES
            .iter()
            .map(|&size| size.div_ceil(piece_length).to_string())
            .collect();
        println!("| {} | {} |", human(piece_length), counts.join(" | "));
    }
    println!("\n.torrent size per blob size (announce {ANNOUNCE:?}):\n");
    header();
    for piece_length in PIECE_LENGTHS {
        let sizes: Vec<String> = BLOB_SIZES
            .iter()
            .map(|&size| human(torrent_size(size, piece_length) as u64))
            .collect();
        println!("| {} | {} |", human(piece_length), sizes.join(" | "));
    }
}

fn default_policy_table() {
    let policy = PieceLengthPolicy::default();
    println!("\nThe default policy:\n");
    println!("| blob size | piece length | pieces | .torrent | bitfield |");
    println!("|---|---|---|---|---|");
    for size in BLOB_SIZES {
        let piece_length = policy.piece_length(size);
        let count = size.div_ceil(piece_length);
        println!(
            "| {} | {} | {count} | {} | {} B |",
            human(size),
            human(piece_length),
            human(torrent_size(size, piece_length) as u64),
            count.div_ceil(8)
        );
    }
}

/// `256KiB`, `4MiB`, `1.2KiB`: binary units, one decimal where it matters.
fn human(bytes: u64) -> String {
    let (value, unit) = match bytes {
        b if b >= GIB => (b as f64 / GIB as f64, "GiB"),
        b if b >= MIB => (b as f64 / MIB as f64, "MiB"),
        b if b >= KIB => (b as f64 / KIB as f64, "KiB"),
        b => (b as f64, "B"),
    };
    if value.fract() == 0.0 {
        format!("{value:.0}{unit}")
    } else {
        format!("{value:.1}{unit}")
    }
}
