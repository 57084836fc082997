//! The spec's pull checks: the base endpoint, manifests by tag and by digest (GET and
//! HEAD: bytes, `Content-Type`, `Docker-Content-Digest`, `Content-Length`), blobs (GET,
//! HEAD, a `Range`), and the errors for what does not exist or is malformed.

use reqwest::{Client, StatusCode};
use starling_core::Digest;
use starling_core::registry::media_type::OCI_MANIFEST;

use super::checks::{self, Image, Outcome, Report, error, header, header_is, sent, status};

const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json";

pub async fn run(report: &mut Report, target: &str, http: &Client, base: &str, image: &Image) {
    let category = format!("pull/{target}");
    let pull = Pull { http, base, image };
    report.record(&category, "GET /v2/ is 200", pull.base_endpoint().await);
    for reference in [image.tag.clone(), image.manifest_digest.to_string()] {
        let outcome = pull.manifest_get(&reference).await;
        report.record(&category, &format!("GET manifest {reference}"), outcome);
        let outcome = pull.manifest_head(&reference).await;
        report.record(&category, &format!("HEAD manifest {reference}"), outcome);
    }
    report.record(&category, "GET blob", pull.blob_get().await);
    report.record(&category, "HEAD blob", pull.blob_head().await);
    report.record(
        &category,
        "GET blob with Range is 206",
        pull.blob_range().await,
    );
    report.record(
        &category,
        "unknown tag is MANIFEST_UNKNOWN",
        pull.unknown_manifest("no-such-tag").await,
    );
    let unknown = Digest::of(b"no such manifest").to_string();
    report.record(
        &category,
        "unknown manifest digest is MANIFEST_UNKNOWN",
        pull.unknown_manifest(&unknown).await,
    );
    report.record(
        &category,
        "unknown blob is BLOB_UNKNOWN",
        pull.unknown_blob().await,
    );
    report.record(
        &category,
        "HEAD unknown blob is 404",
        pull.unknown_blob_head().await,
    );
    report.record(
        &category,
        "invalid name is NAME_INVALID",
        pull.invalid_name().await,
    );
}

struct Pull<'a> {
    http: &'a Client,
    base: &'a str,
    image: &'a Image,
}

impl Pull<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.image.repo)
    }

    async fn base_endpoint(&self) -> Outcome {
        let response = sent(self.http.get(format!("{}/v2/", self.base)).send().await)?;
        status(&response, &[StatusCode::OK])?;
        header_is(&response, "docker-distribution-api-version", "registry/2.0")
    }

    async fn manifest_get(&self, reference: &str) -> Outcome {
        let url = self.url(&format!("manifests/{reference}"));
        let response = sent(self.http.get(url).header("accept", ACCEPT).send().await)?;
        status(&response, &[StatusCode::OK])?;
        header_is(&response, "content-type", OCI_MANIFEST)?;
        header_is(
            &response,
            "docker-content-digest",
            &self.image.manifest_digest.to_string(),
        )?;
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        checks::equal(
            "manifest bytes",
            body.as_ref(),
            self.image.manifest.as_slice(),
        )
    }

    async fn manifest_head(&self, reference: &str) -> Outcome {
        let url = self.url(&format!("manifests/{reference}"));
        let response = sent(self.http.head(url).header("accept", ACCEPT).send().await)?;
        status(&response, &[StatusCode::OK])?;
        header_is(
            &response,
            "docker-content-digest",
            &self.image.manifest_digest.to_string(),
        )?;
        header_is(
            &response,
            "content-length",
            &self.image.manifest.len().to_string(),
        )
    }

    async fn blob_get(&self) -> Outcome {
        let url = self.url(&format!("blobs/{}", self.image.layer_digest));
        let response = sent(self.http.get(url).send().await)?;
        status(&response, &[StatusCode::OK])?;
        header_is(
            &response,
            "docker-content-digest",
            &self.image.layer_digest.to_string(),
        )?;
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        checks::equal("blob digest", Digest::of(&body), self.image.layer_digest)
    }

    async fn blob_head(&self) -> Outcome {
        let url = self.url(&format!("blobs/{}", self.image.layer_digest));
        let response = sent(self.http.head(url).send().await)?;
        status(&response, &[StatusCode::OK])?;
        header_is(
            &response,
            "content-length",
            &self.image.layer.len().to_string(),
        )
    }

    async fn blob_range(&self) -> Outcome {
        let url = self.url(&format!("blobs/{}", self.image.layer_digest));
        let response = sent(
            self.http
                .get(url)
                .header("range", "bytes=100-199")
                .send()
                .await,
        )?;
        status(&response, &[StatusCode::PARTIAL_CONTENT])?;
        let total = self.image.layer.len();
        header_is(
            &response,
            "content-range",
            &format!("bytes 100-199/{total}"),
        )?;
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        checks::equal("range bytes", body.as_ref(), &self.image.layer[100..200])
    }

    async fn unknown_manifest(&self, reference: &str) -> Outcome {
        let url = self.url(&format!("manifests/{reference}"));
        let response = sent(self.http.get(url).header("accept", ACCEPT).send().await)?;
        error(response, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await
    }

    async fn unknown_blob(&self) -> Outcome {
        let digest = Digest::of(b"no such blob");
        let response = sent(
            self.http
                .get(self.url(&format!("blobs/{digest}")))
                .send()
                .await,
        )?;
        error(response, StatusCode::NOT_FOUND, "BLOB_UNKNOWN").await
    }

    async fn unknown_blob_head(&self) -> Outcome {
        let digest = Digest::of(b"no such blob");
        let response = sent(
            self.http
                .head(self.url(&format!("blobs/{digest}")))
                .send()
                .await,
        )?;
        status(&response, &[StatusCode::NOT_FOUND])?;
        // HEAD has no body; the header says which API answered.
        header(&response, "docker-distribution-api-version").map(|_| ())
    }

    async fn invalid_name(&self) -> Outcome {
        let url = format!("{}/v2/Not_Valid/manifests/v1", self.base);
        let response = sent(self.http.get(url).send().await)?;
        error(response, StatusCode::BAD_REQUEST, "NAME_INVALID").await
    }
}
