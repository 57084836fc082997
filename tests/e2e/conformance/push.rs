//! The spec's push checks against the proxy: monolithic (POST then PUT, and one POST
//! with `?digest=`), chunked (PATCH with `Content-Range`, status, final PUT), a chunk out
//! of order (416), a wrong digest (400, nothing visible), cross-repository mount,
//! cancel, manifests by tag and by digest, a manifest naming a missing blob, and a
//! manifest with a `subject` (`OCI-Subject`). Leaves behind the [`Image`] the other
//! categories read.

use reqwest::{Client, StatusCode};
use serde_json::json;
use starling_core::Digest;
use starling_core::registry::media_type::{OCI_CONFIG, OCI_MANIFEST};

use super::checks::{self, Image, Outcome, Report, error, header, header_is, sent, status};

const CATEGORY: &str = "push/proxy";
const REPO: &str = "conformance/image";
const ARTIFACT_TYPE: &str = "application/vnd.example.sbom.v1";

pub async fn run(report: &mut Report, http: &Client, base: &str) -> Image {
    let push = Push { http, base };
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    let layer: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let config_digest = Digest::of(&config);
    let layer_digest = Digest::of(&layer);

    report.record(
        CATEGORY,
        "POST then PUT (monolithic)",
        push.post_then_put(&config).await,
    );
    report.record(
        CATEGORY,
        "chunked upload with status",
        push.chunked(&layer).await,
    );
    let single = b"a blob in one POST".to_vec();
    report.record(
        CATEGORY,
        "single POST with ?digest=",
        push.single_post(&single).await,
    );
    report.record(
        CATEGORY,
        "chunk out of order is 416",
        push.out_of_order().await,
    );
    report.record(
        CATEGORY,
        "wrong digest is DIGEST_INVALID",
        push.wrong_digest().await,
    );
    report.record(CATEGORY, "cancelled upload is gone", push.cancel().await);
    report.record(
        CATEGORY,
        "cross-repository mount",
        push.mount(&layer_digest).await,
    );

    let manifest = image_manifest(&config, config_digest, &layer, layer_digest);
    let manifest_digest = Digest::of(&manifest);
    let tags = vec![
        "a-first".to_owned(),
        "b-second".to_owned(),
        "c-third".to_owned(),
        "v1".to_owned(),
    ];
    for tag in &tags {
        let outcome = push.manifest(tag, &manifest, manifest_digest).await;
        report.record(CATEGORY, &format!("manifest PUT by tag {tag}"), outcome);
    }
    let by_digest = push
        .manifest(&manifest_digest.to_string(), &manifest, manifest_digest)
        .await;
    report.record(CATEGORY, "manifest PUT by digest", by_digest);
    report.record(
        CATEGORY,
        "manifest naming a missing blob is MANIFEST_BLOB_UNKNOWN",
        push.missing_blob(config_digest, config.len()).await,
    );

    let referrer = referrer_manifest(config_digest, config.len(), manifest_digest, manifest.len());
    let referrer_digest = Digest::of(&referrer);
    report.record(
        CATEGORY,
        "manifest with subject answers OCI-Subject",
        push.referrer(&referrer, referrer_digest, manifest_digest)
            .await,
    );

    Image {
        repo: REPO.to_owned(),
        tag: "v1".to_owned(),
        manifest,
        manifest_digest,
        layer,
        layer_digest,
        tags,
        referrer_digest,
        referrer_artifact_type: ARTIFACT_TYPE.to_owned(),
    }
}

struct Push<'a> {
    http: &'a Client,
    base: &'a str,
}

impl Push<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/v2/{REPO}/{path}", self.base)
    }

    /// An absolute URL from a `Location` header (the spec allows relative ones).
    fn location(&self, location: &str) -> String {
        if location.starts_with("http") {
            location.to_owned()
        } else {
            format!("{}{location}", self.base)
        }
    }

    /// `POST …/blobs/uploads/` → 202 with `Location` and `Docker-Upload-UUID`.
    async fn start(&self) -> Result<String, String> {
        let response = sent(self.http.post(self.url("blobs/uploads/")).send().await)?;
        status(&response, &[StatusCode::ACCEPTED])?;
        header(&response, "docker-upload-uuid")?;
        Ok(self.location(header(&response, "location")?))
    }

    /// `PUT <location>?digest=` → 201 with `Location` and `Docker-Content-Digest`.
    async fn finish(&self, location: &str, digest: Digest, body: Vec<u8>) -> Outcome {
        let separator = if location.contains('?') { '&' } else { '?' };
        let response = sent(
            self.http
                .put(format!("{location}{separator}digest={digest}"))
                .header("content-type", "application/octet-stream")
                .body(body)
                .send()
                .await,
        )?;
        status(&response, &[StatusCode::CREATED])?;
        header(&response, "location")?;
        header_is(&response, "docker-content-digest", &digest.to_string())
    }

    async fn exists(&self, digest: Digest) -> Result<bool, String> {
        let url = self.url(&format!("blobs/{digest}"));
        let response = sent(self.http.head(url).send().await)?;
        match response.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            other => Err(format!("HEAD blob: status {other}")),
        }
    }

    async fn post_then_put(&self, blob: &[u8]) -> Outcome {
        let location = self.start().await?;
        self.finish(&location, Digest::of(blob), blob.to_vec())
            .await?;
        checks::equal(
            "blob exists after push",
            self.exists(Digest::of(blob)).await?,
            true,
        )
    }

    async fn chunked(&self, blob: &[u8]) -> Outcome {
        let mut location = self.start().await?;
        let chunks: Vec<&[u8]> = blob.chunks(100_000).collect();
        let mut offset = 0;
        for chunk in &chunks {
            let end = offset + chunk.len() - 1;
            let response = sent(
                self.http
                    .patch(&location)
                    .header("content-type", "application/octet-stream")
                    .header("content-range", format!("{offset}-{end}"))
                    .header("content-length", chunk.len())
                    .body(chunk.to_vec())
                    .send()
                    .await,
            )?;
            status(&response, &[StatusCode::ACCEPTED])?;
            header_is(&response, "range", &format!("0-{end}"))?;
            location = self.location(header(&response, "location")?);
            offset = end + 1;
            let progress = sent(self.http.get(&location).send().await)?;
            status(&progress, &[StatusCode::NO_CONTENT])?;
            header_is(&progress, "range", &format!("0-{end}"))?;
        }
        self.finish(&location, Digest::of(blob), Vec::new()).await?;
        checks::equal(
            "blob exists after push",
            self.exists(Digest::of(blob)).await?,
            true,
        )
    }

    async fn single_post(&self, blob: &[u8]) -> Outcome {
        let digest = Digest::of(blob);
        let url = self.url(&format!("blobs/uploads/?digest={digest}"));
        let response = sent(
            self.http
                .post(url)
                .header("content-type", "application/octet-stream")
                .body(blob.to_vec())
                .send()
                .await,
        )?;
        status(&response, &[StatusCode::CREATED])?;
        header(&response, "location")?;
        checks::equal("blob exists after push", self.exists(digest).await?, true)
    }

    async fn out_of_order(&self) -> Outcome {
        let location = self.start().await?;
        let response = sent(
            self.http
                .patch(&location)
                .header("content-type", "application/octet-stream")
                .header("content-range", "10-19")
                .header("content-length", 10)
                .body(vec![0u8; 10])
                .send()
                .await,
        )?;
        status(&response, &[StatusCode::RANGE_NOT_SATISFIABLE])
    }

    async fn wrong_digest(&self) -> Outcome {
        let location = self.start().await?;
        let claimed = Digest::of(b"what the client claims");
        let separator = if location.contains('?') { '&' } else { '?' };
        let response = sent(
            self.http
                .put(format!("{location}{separator}digest={claimed}"))
                .header("content-type", "application/octet-stream")
                .body(b"something else entirely".to_vec())
                .send()
                .await,
        )?;
        error(response, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await?;
        let visible = self.exists(claimed).await?
            || self.exists(Digest::of(b"something else entirely")).await?;
        checks::equal("a failed upload left a blob visible", visible, false)
    }

    async fn cancel(&self) -> Outcome {
        let location = self.start().await?;
        let response = sent(self.http.delete(&location).send().await)?;
        status(&response, &[StatusCode::NO_CONTENT])?;
        let after = sent(self.http.get(&location).send().await)?;
        error(after, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await
    }

    async fn mount(&self, digest: &Digest) -> Outcome {
        let url = format!(
            "{}/v2/conformance/mounted/blobs/uploads/?mount={digest}&from={REPO}",
            self.base
        );
        let response = sent(self.http.post(url).send().await)?;
        status(&response, &[StatusCode::CREATED])?;
        header_is(&response, "docker-content-digest", &digest.to_string())?;
        let head = format!("{}/v2/conformance/mounted/blobs/{digest}", self.base);
        let response = sent(self.http.head(head).send().await)?;
        status(&response, &[StatusCode::OK])
    }

    async fn manifest(&self, reference: &str, bytes: &[u8], digest: Digest) -> Outcome {
        let response = sent(
            self.http
                .put(self.url(&format!("manifests/{reference}")))
                .header("content-type", OCI_MANIFEST)
                .body(bytes.to_vec())
                .send()
                .await,
        )?;
        status(&response, &[StatusCode::CREATED])?;
        header(&response, "location")?;
        header_is(&response, "docker-content-digest", &digest.to_string())
    }

    async fn missing_blob(&self, config: Digest, config_len: usize) -> Outcome {
        let missing = Digest::of(b"a layer nobody pushed");
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config.to_string(), "size": config_len},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": missing.to_string(), "size": 21}],
        }))
        .unwrap();
        let response = sent(
            self.http
                .put(self.url("manifests/broken"))
                .header("content-type", OCI_MANIFEST)
                .body(manifest)
                .send()
                .await,
        )?;
        error(response, StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN").await
    }

    async fn referrer(&self, bytes: &[u8], digest: Digest, subject: Digest) -> Outcome {
        let response = sent(
            self.http
                .put(self.url(&format!("manifests/{digest}")))
                .header("content-type", OCI_MANIFEST)
                .body(bytes.to_vec())
                .send()
                .await,
        )?;
        status(&response, &[StatusCode::CREATED])?;
        header_is(&response, "oci-subject", &subject.to_string())
    }
}

fn image_manifest(
    config: &[u8],
    config_digest: Digest,
    layer: &[u8],
    layer_digest: Digest,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest.to_string(), "size": layer.len()}],
    }))
    .unwrap()
}

/// An artifact (an SBOM, say) attached to the image: its config is the image's config
/// blob, which exists, so only the `subject` makes it special.
fn referrer_manifest(
    config: Digest,
    config_len: usize,
    subject: Digest,
    subject_len: usize,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": {"mediaType": OCI_CONFIG, "digest": config.to_string(), "size": config_len},
        "layers": [],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject.to_string(), "size": subject_len},
    }))
    .unwrap()
}
