//! What every conformance check shares: the report it adds to, the content it works on,
//! and assertions on status, headers and the spec's error bodies that return a message
//! instead of panicking, so one failed check does not hide the others.

use std::collections::BTreeMap;

use reqwest::{Response, StatusCode};
use serde_json::Value;
use starling_core::Digest;

/// The outcome of one check: `Err` says what differed from the spec.
pub type Outcome = Result<(), String>;

/// Every check's outcome, by category and by the component it ran against.
#[derive(Default)]
pub struct Report {
    results: Vec<(String, String, Outcome)>,
}

impl Report {
    /// Records `name` under `category` (e.g. `pull/agent`).
    pub fn record(&mut self, category: &str, name: &str, outcome: Outcome) {
        self.results
            .push((category.to_owned(), name.to_owned(), outcome));
    }

    /// `category: passed/total` per line, then the overall count.
    pub fn summary(&self) -> String {
        let mut by_category: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (category, _, outcome) in &self.results {
            let entry = by_category.entry(category).or_default();
            entry.0 += usize::from(outcome.is_ok());
            entry.1 += 1;
        }
        let mut lines: Vec<String> = by_category
            .iter()
            .map(|(category, (passed, total))| format!("{category}: {passed}/{total}"))
            .collect();
        let passed = self.results.iter().filter(|(_, _, o)| o.is_ok()).count();
        lines.push(format!(
            "OCI conformance checks: {passed}/{} passed",
            self.results.len()
        ));
        lines.join("\n")
    }

    pub fn failures(&self) -> Vec<String> {
        self.results
            .iter()
            .filter_map(|(category, name, outcome)| {
                outcome
                    .as_ref()
                    .err()
                    .map(|why| format!("{category} / {name}: {why}"))
            })
            .collect()
    }
}

/// The image the push checks leave behind for the pull, discovery and management ones.
#[derive(Clone, Debug)]
pub struct Image {
    pub repo: String,
    pub tag: String,
    pub manifest: Vec<u8>,
    pub manifest_digest: Digest,
    pub layer: Vec<u8>,
    pub layer_digest: Digest,
    /// Every tag pushed to `repo`, sorted.
    pub tags: Vec<String>,
    /// A manifest whose `subject` is the image's manifest, and its artifact type.
    pub referrer_digest: Digest,
    pub referrer_artifact_type: String,
}

pub fn status(response: &Response, expected: &[StatusCode]) -> Outcome {
    if expected.contains(&response.status()) {
        Ok(())
    } else {
        Err(format!(
            "status {} (expected {})",
            response.status(),
            expected
                .iter()
                .map(|s| s.as_u16().to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        ))
    }
}

pub fn header<'r>(response: &'r Response, name: &str) -> Result<&'r str, String> {
    response
        .headers()
        .get(name)
        .ok_or_else(|| format!("no {name} header"))?
        .to_str()
        .map_err(|_| format!("{name} is not text"))
}

pub fn header_is(response: &Response, name: &str, expected: &str) -> Outcome {
    let actual = header(response, name)?;
    if actual == expected {
        Ok(())
    } else {
        Err(format!("{name}: {actual:?}, expected {expected:?}"))
    }
}

/// The status, then the spec's error body `{"errors":[{"code":…}]}` naming `code`.
pub async fn error(response: Response, expected: StatusCode, code: &str) -> Outcome {
    status(&response, &[expected])?;
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("error body is not JSON: {e}"))?;
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .ok_or_else(|| format!("no errors array in {body}"))?
        .iter()
        .filter_map(|e| e["code"].as_str())
        .collect();
    if codes.contains(&code) {
        Ok(())
    } else {
        Err(format!("error codes {codes:?}, expected {code}"))
    }
}

pub fn equal<T: PartialEq + std::fmt::Debug>(what: &str, actual: T, expected: T) -> Outcome {
    if actual == expected {
        Ok(())
    } else {
        Err(format!("{what}: {actual:?}, expected {expected:?}"))
    }
}

/// A request failed before any answer (connection refused, reset).
pub fn sent(result: reqwest::Result<Response>) -> Result<Response, String> {
    result.map_err(|e| format!("request failed: {e}"))
}
