//! Measures one origin with a large blob: runs `starling origin` as a separate process,
//! streams a generated blob (1 GiB by default) up and down through it with the typed
//! client, and prints throughput and the origin's peak resident memory (VmHWM from
//! /proc/<pid>/status), so bounded memory is shown on the real binary.
//!
//! ```text
//! cargo build --release --bin starling
//! cargo run --release -p starling-origin --example big_blob -- [--bin PATH] [--mib N]
//! ```
//!
//! The blob is generated on the fly (twice: once to learn its digest, once to upload
//! it), so this program's own memory stays small too.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures::StreamExt;
use starling_backend::ByteStream;
use starling_clients::OriginClient;
use starling_core::{Digest, DigestHasher, RepoName};
use starling_testkit::random_port;

const CHUNK: usize = 1 << 20;
const SEED: u64 = 0x5eed;

struct Args {
    bin: PathBuf,
    mib: u64,
}

fn args() -> Result<Args> {
    let mut parsed = Args {
        bin: PathBuf::from("target/release/starling"),
        mib: 1024,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--bin" => parsed.bin = value.into(),
            "--mib" => parsed.mib = value.parse()?,
            other => bail!("unknown flag {other}; use --bin PATH or --mib N"),
        }
    }
    Ok(parsed)
}

/// The same pseudo-random bytes for the same seed, `CHUNK` at a time.
fn generated(size: u64, seed: u64) -> impl Iterator<Item = Bytes> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut left = size;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let len = left.min(CHUNK as u64) as usize;
        left -= len as u64;
        let mut chunk = Vec::with_capacity(len + 8);
        while chunk.len() < len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.extend_from_slice(&state.to_le_bytes());
        }
        chunk.truncate(len);
        Some(Bytes::from(chunk))
    })
}

fn body(size: u64) -> ByteStream {
    futures::stream::iter(generated(size, SEED).map(Ok)).boxed()
}

/// `VmHWM` (peak) or `VmRSS` (current) of `pid`, in MiB.
fn memory_mib(pid: u32, field: &str) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .with_context(|| format!("no {field} in /proc/{pid}/status"))?;
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .context("no value")?
        .parse()?;
    Ok(kib / 1024.0)
}

/// Starts the origin on a random port, retrying another port if it exits at once.
async fn start_origin(bin: &Path, dir: &Path) -> Result<(Child, String)> {
    for _ in 0..5 {
        let port = random_port();
        let host = format!("127.0.0.1:{port}");
        let config = dir.join("origin.yaml");
        std::fs::write(
            &config,
            format!(
                "listen: {host}\npeer: {{listen: 127.0.0.1:{}}}\nstore: {{root: {}}}\n\
                 cluster: {{hosts: ['{host}'], replicas: 1}}\nadvertise: {host}\n",
                port + 1,
                dir.join("store").display()
            ),
        )?;
        let mut child = Command::new(bin)
            .args(["origin", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        let http = starling_runtime::default_http_client();
        let url = format!("http://{host}/health");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                eprintln!("origin exited ({status}) on port {port}; trying another");
                break;
            }
            if http
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok((child, host));
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("origin did not become healthy");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    bail!("could not start the origin on any port")
}

fn rate(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / took.as_secs_f64()
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    let size = args.mib * 1024 * 1024;
    let dir = tempfile::tempdir()?;
    let digest = tokio::task::spawn_blocking(move || {
        let mut hasher = DigestHasher::new();
        generated(size, SEED).for_each(|chunk| hasher.update(&chunk));
        hasher.finish()
    })
    .await?;
    let (mut child, host) = start_origin(&args.bin, dir.path()).await?;
    let pid = child.id();
    let outcome = measure(&host, pid, size, digest).await;
    // SIGTERM, so the origin runs its graceful shutdown.
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    let status = tokio::task::spawn_blocking(move || child.wait()).await??;
    eprintln!("origin exited: {status}");
    outcome
}

async fn measure(host: &str, pid: u32, size: u64, digest: Digest) -> Result<()> {
    let client = OriginClient::new(host);
    let ns = RepoName::parse("bench/big")?;
    let idle = memory_mib(pid, "VmRSS")?;

    let started = Instant::now();
    client.upload(&ns, &digest, size, body(size)).await?;
    let upload = started.elapsed();
    let after_upload = memory_mib(pid, "VmHWM")?;

    let started = Instant::now();
    let download = client.download(&ns, &digest).await?;
    let (mut hasher, mut received, mut stream) = (DigestHasher::new(), 0u64, download.body);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        received += chunk.len() as u64;
        hasher.update(&chunk);
    }
    let download_took = started.elapsed();
    if (hasher.finish(), received) != (digest, size) {
        bail!("the downloaded blob does not verify");
    }
    let after_download = memory_mib(pid, "VmHWM")?;

    let started = Instant::now();
    let metainfo = client.metainfo(&ns, &digest).await?;
    let metainfo_took = started.elapsed();
    let peak = memory_mib(pid, "VmHWM")?;

    println!("blob: {} MiB ({digest})", size >> 20);
    println!("origin RSS before upload:   {idle:8.1} MiB");
    println!(
        "upload:   {:6.2} s  {:8.1} MiB/s  peak RSS {after_upload:6.1} MiB",
        upload.as_secs_f64(),
        rate(size, upload)
    );
    println!(
        "download: {:6.2} s  {:8.1} MiB/s  peak RSS {after_download:6.1} MiB",
        download_took.as_secs_f64(),
        rate(size, download_took)
    );
    println!(
        "metainfo: {:6.2} s  {:8.1} MiB/s  peak RSS {peak:6.1} MiB ({} pieces)",
        metainfo_took.as_secs_f64(),
        rate(size, metainfo_took),
        metainfo.piece_count()
    );
    Ok(())
}
