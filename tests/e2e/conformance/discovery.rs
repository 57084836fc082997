//! The spec's content-discovery checks: the tag list (sorted, `?n=` pages with a
//! `Link: <…>; rel="next"` header, `?last=`), and the referrers API (an image index of
//! the manifests whose `subject` is the digest, the `artifactType` filter with
//! `OCI-Filters-Applied`, an empty index for a digest nobody refers to).

use reqwest::{Client, StatusCode};
use serde_json::Value;
use starling_core::Digest;

use super::checks::{self, Image, Outcome, Report, header, header_is, sent, status};

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// `base` is the component under test; `proxy` is where pages' `Link` URLs point for
/// either (they are relative paths, so both work).
pub async fn run(
    report: &mut Report,
    target: &str,
    http: &Client,
    base: &str,
    _proxy: &str,
    image: &Image,
) {
    let category = format!("discovery/{target}");
    let discovery = Discovery { http, base, image };
    report.record(
        &category,
        "tags/list is sorted and complete",
        discovery.tags().await,
    );
    report.record(
        &category,
        "tags/list pages with ?n= and Link",
        discovery.tag_pages().await,
    );
    report.record(
        &category,
        "tags/list with ?last=",
        discovery.tags_after_last().await,
    );
    report.record(
        &category,
        "referrers lists the subject's referrer",
        discovery.referrers(None).await,
    );
    report.record(
        &category,
        "referrers ?artifactType= filters",
        discovery
            .referrers(Some(&image.referrer_artifact_type))
            .await,
    );
    report.record(
        &category,
        "referrers ?artifactType= of another type is empty",
        discovery.referrers_other_type().await,
    );
    report.record(
        &category,
        "referrers of an unreferenced digest is an empty index",
        discovery.no_referrers().await,
    );
}

struct Discovery<'a> {
    http: &'a Client,
    base: &'a str,
    image: &'a Image,
}

impl Discovery<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.image.repo)
    }

    async fn json(&self, url: String) -> Result<(reqwest::header::HeaderMap, Value), String> {
        let response = sent(self.http.get(url).send().await)?;
        status(&response, &[StatusCode::OK])?;
        let headers = response.headers().clone();
        let body = response
            .json()
            .await
            .map_err(|e| format!("body is not JSON: {e}"))?;
        Ok((headers, body))
    }

    fn tag_names(body: &Value) -> Result<Vec<String>, String> {
        body["tags"]
            .as_array()
            .ok_or_else(|| format!("no tags array in {body}"))
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
    }

    async fn tags(&self) -> Outcome {
        let (_, body) = self.json(self.url("tags/list")).await?;
        checks::equal(
            "name",
            body["name"].as_str(),
            Some(self.image.repo.as_str()),
        )?;
        checks::equal("tags", Self::tag_names(&body)?, self.image.tags.clone())
    }

    async fn tag_pages(&self) -> Outcome {
        let (headers, body) = self.json(self.url("tags/list?n=2")).await?;
        checks::equal(
            "first page",
            Self::tag_names(&body)?,
            self.image.tags[..2].to_vec(),
        )?;
        let link = headers
            .get("link")
            .ok_or("no Link header on a page with more after it")?
            .to_str()
            .map_err(|_| "Link is not text")?;
        let next = link
            .strip_prefix('<')
            .and_then(|rest| rest.split_once('>'))
            .filter(|(_, params)| params.contains(r#"rel="next""#))
            .map(|(url, _)| url.to_owned())
            .ok_or_else(|| format!("Link {link:?} is not <url>; rel=\"next\""))?;
        let next = if next.starts_with("http") {
            next
        } else {
            format!("{}{next}", self.base)
        };
        let (_, body) = self.json(next).await?;
        checks::equal(
            "second page",
            Self::tag_names(&body)?,
            self.image.tags[2..4].to_vec(),
        )
    }

    async fn tags_after_last(&self) -> Outcome {
        let last = &self.image.tags[1];
        let (_, body) = self
            .json(self.url(&format!("tags/list?last={last}")))
            .await?;
        checks::equal(
            "tags after last",
            Self::tag_names(&body)?,
            self.image.tags[2..].to_vec(),
        )
    }

    async fn referrers(&self, artifact_type: Option<&str>) -> Outcome {
        let mut url = self.url(&format!("referrers/{}", self.image.manifest_digest));
        if let Some(kind) = artifact_type {
            url = format!("{url}?artifactType={kind}");
        }
        let response = sent(self.http.get(url).send().await)?;
        status(&response, &[StatusCode::OK])?;
        header_is(&response, "content-type", OCI_INDEX)?;
        if artifact_type.is_some() {
            header_is(&response, "oci-filters-applied", "artifactType")?;
        }
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        let manifests = body["manifests"].as_array().ok_or("no manifests array")?;
        checks::equal("referrers", manifests.len(), 1)?;
        let referrer = &manifests[0];
        checks::equal(
            "referrer digest",
            referrer["digest"].as_str(),
            Some(self.image.referrer_digest.to_string().as_str()),
        )?;
        checks::equal(
            "referrer artifactType",
            referrer["artifactType"].as_str(),
            Some(self.image.referrer_artifact_type.as_str()),
        )
    }

    async fn referrers_other_type(&self) -> Outcome {
        let url = self.url(&format!(
            "referrers/{}?artifactType=application/vnd.example.other",
            self.image.manifest_digest
        ));
        let (_, body) = self.json(url).await?;
        let manifests = body["manifests"].as_array().ok_or("no manifests array")?;
        checks::equal("referrers of another type", manifests.len(), 0)
    }

    async fn no_referrers(&self) -> Outcome {
        let digest = Digest::of(b"nobody refers to this");
        let response = sent(
            self.http
                .get(self.url(&format!("referrers/{digest}")))
                .send()
                .await,
        )?;
        status(&response, &[StatusCode::OK])?;
        header(&response, "content-type")?;
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        checks::equal("schemaVersion", body["schemaVersion"].as_u64(), Some(2))?;
        let manifests = body["manifests"].as_array().ok_or("no manifests array")?;
        checks::equal("referrers", manifests.len(), 0)
    }
}
