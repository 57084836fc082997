//! The origins' peer egress: the p2p engine's `starling_p2p_uploaded_bytes_total`
//! counters (one per remote peer class) summed from every origin's `GET /metrics`.

use std::net::SocketAddr;

use anyhow::{Context, ensure};

const UPLOADED: &str = "starling_p2p_uploaded_bytes_total";

/// Piece bytes the origins at `origins` have sent to peers of every class so far.
pub async fn origins_sent_bytes(
    http: &reqwest::Client,
    origins: &[SocketAddr],
) -> anyhow::Result<u64> {
    let mut total = 0;
    for &origin in origins {
        total += origin_sent_bytes(http, origin).await?;
    }
    Ok(total)
}

/// Piece bytes the origin at `origin` has sent to peers of every class so far.
async fn origin_sent_bytes(http: &reqwest::Client, origin: SocketAddr) -> anyhow::Result<u64> {
    let url = format!("http://{origin}/metrics");
    let response = http
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    ensure!(
        response.status().is_success(),
        "GET {url} answered {}",
        response.status()
    );
    let text = response
        .text()
        .await
        .with_context(|| format!("reading {url}"))?;
    sum_counter(&text, UPLOADED).with_context(|| format!("{url} has no {UPLOADED} counter"))
}

/// The sum of every sample of counter `name` (all label sets) in Prometheus text;
/// `None` when there is no sample.
fn sum_counter(text: &str, name: &str) -> Option<u64> {
    let mut total = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        // Skip longer names sharing the prefix; accept `name{…} v` and `name v`.
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        let value: f64 = rest.rsplit(' ').next()?.parse().ok()?;
        *total.get_or_insert(0) += value as u64;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_class_and_ignores_other_metrics() {
        let text = "\
# TYPE starling_p2p_uploaded_bytes_total counter
starling_p2p_uploaded_bytes_total{class=\"origin\"} 0
starling_p2p_uploaded_bytes_total{class=\"agent\"} 268435456
starling_p2p_uploaded_bytes_total{class=\"other\"} 16384
starling_p2p_uploaded_bytes_total_extra 99
starling_p2p_downloaded_bytes_total{class=\"agent\"} 7
";
        assert_eq!(sum_counter(text, UPLOADED), Some(268_451_840));
        assert_eq!(
            sum_counter("starling_p2p_uploaded_bytes_total 5\n", UPLOADED),
            Some(5)
        );
        assert_eq!(sum_counter("other_total 1\n", UPLOADED), None);
    }
}
