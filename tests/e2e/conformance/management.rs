//! The spec's content-management checks. Starling does not delete content through the
//! registry API (blobs leave origins by backend policy and agents by eviction), and the
//! spec's answer for a registry that does not support deletion is `405` with the
//! `UNSUPPORTED` code; the agent is read-only, so every write to it gets the same.
//! After a refused delete, the content is still served.

use reqwest::{Client, Method, StatusCode};

use super::checks::{Image, Outcome, Report, error, sent, status};

pub async fn run(report: &mut Report, target: &str, http: &Client, base: &str, image: &Image) {
    let category = format!("management/{target}");
    let repo = format!("{base}/v2/{}", image.repo);
    let manifest_by_tag = format!("{repo}/manifests/{}", image.tag);
    let manifest_by_digest = format!("{repo}/manifests/{}", image.manifest_digest);
    let blob = format!("{repo}/blobs/{}", image.layer_digest);
    let refused = [
        ("DELETE manifest by tag", Method::DELETE, &manifest_by_tag),
        (
            "DELETE manifest by digest",
            Method::DELETE,
            &manifest_by_digest,
        ),
        ("DELETE blob", Method::DELETE, &blob),
    ];
    for (name, method, url) in refused {
        let outcome = unsupported(http, method, url).await;
        report.record(&category, &format!("{name} is 405 UNSUPPORTED"), outcome);
    }
    report.record(
        &category,
        "content is still served after a refused delete",
        still_served(http, &manifest_by_tag, &blob).await,
    );
    if target == "agent" {
        let writes = [
            ("PUT manifest", Method::PUT, manifest_by_tag.clone()),
            (
                "POST blob upload",
                Method::POST,
                format!("{repo}/blobs/uploads/"),
            ),
        ];
        for (name, method, url) in writes {
            let outcome = unsupported(http, method, &url).await;
            report.record(
                &category,
                &format!("{name} on the read-only agent is 405 UNSUPPORTED"),
                outcome,
            );
        }
    }
}

async fn unsupported(http: &Client, method: Method, url: &str) -> Outcome {
    let response = sent(http.request(method, url).send().await)?;
    error(response, StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED").await
}

async fn still_served(http: &Client, manifest: &str, blob: &str) -> Outcome {
    for url in [manifest, blob] {
        let response = sent(
            http.head(url)
                .header("accept", "application/vnd.oci.image.manifest.v1+json")
                .send()
                .await,
        )?;
        status(&response, &[StatusCode::OK])?;
    }
    Ok(())
}
