//! The agent's mapping from its [`Error`] to the shared registry error response,
//! [`ApiError`] (`{"errors":[{code,message,detail}]}`): client mistakes keep the spec's
//! code, an unknown manifest or blob is a 404 with `MANIFEST_UNKNOWN` / `BLOB_UNKNOWN`,
//! and a failure of the build-index, the tracker or the swarm is a 503 `UNAVAILABLE`
//! (logged once by the request middleware); so is a blob the node has no disk space
//! for, with a message that says so.
//!
//! Build-index, swarm and cache failures carry the URLs of build-index hosts, trackers
//! and peers, or the cache's file paths, in their text: the client gets a summary of
//! what failed ([`public_detail`]), the log the full text.

use axum::http::header;
use starling_core::registry::ErrorCode;
use starling_runtime::ApiError;

use crate::error::Error;

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::Invalid(core) => ApiError::from(core),
            Error::Listing(proxy) => ApiError::from(proxy),
            other => own_error(other),
        }
    }
}

/// The agent's own errors: the code by variant, the error's text as the detail.
fn own_error(error: Error) -> ApiError {
    use ErrorCode as C;
    let (code, message) = match &error {
        Error::MirrorNamespace { .. } | Error::Invalid(_) => {
            (C::NameInvalid, "invalid repository name")
        }
        Error::Denied { .. } => (C::Denied, "requested access to the resource is denied"),
        Error::ManifestUnknown { .. } => (C::ManifestUnknown, "manifest unknown"),
        Error::BlobUnknown { .. } => (C::BlobUnknown, "blob unknown to registry"),
        Error::RangeNotSatisfiable { .. } => (C::RangeInvalid, "invalid content range"),
        Error::Unsupported { .. } => (C::Unsupported, "the operation is unsupported"),
        Error::OutOfSpace { .. } => (C::Unavailable, "the agent is out of disk space"),
        Error::BuildIndex { .. }
        | Error::Listing(_)
        | Error::Swarm { .. }
        | Error::SwarmStream { .. }
        | Error::Store(_)
        | Error::HttpClient(_)
        | Error::Serve(_)
        | Error::Tls(_) => (
            C::Unavailable,
            "the swarm or the build-index is unavailable",
        ),
    };
    let api = ApiError::new(code, message);
    let api = match public_detail(&error) {
        Some(summary) => api
            .with_detail(summary)
            .with_logged_detail(error.to_string()),
        None => api.with_detail(error.to_string()),
    };
    match error {
        Error::RangeNotSatisfiable { size } => api.with_header(
            header::CONTENT_RANGE,
            header::HeaderValue::from_str(&format!("bytes */{size}"))
                .expect("a number is a header value"),
        ),
        _ => api,
    }
}

/// What a client is told of a failure whose text names internal paths or URLs; `None`
/// for errors the request caused, whose text holds only what the client sent.
fn public_detail(error: &Error) -> Option<String> {
    let summary = match error {
        Error::BuildIndex { action, .. } => format!("build-index: {action}"),
        Error::Swarm { action, .. } => format!("swarm: {action}"),
        Error::SwarmStream { digest, .. } => format!("reading {digest} from the swarm"),
        Error::Store(_) => "the blob cache failed".to_owned(),
        Error::OutOfSpace { digest, .. } => {
            format!("no disk space left on the node to store {digest}")
        }
        Error::HttpClient(_) => "building the HTTP client failed".to_owned(),
        Error::Serve(_) | Error::Tls(_) => "serving HTTP failed".to_owned(),
        _ => return None,
    };
    Some(summary)
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use axum::response::IntoResponse;
    use starling_runtime::LoggedError;

    use super::*;

    #[tokio::test]
    async fn build_index_urls_stay_out_of_the_body_but_are_logged() {
        let url = "http://build-index-1.internal:8001/tags/team%2Fapp/v1";
        let error = Error::BuildIndex {
            action: "resolve a tag",
            source: starling_clients::BuildIndexError::Status {
                url: url.into(),
                status: 500,
                error: None,
            },
        };
        let full = error.to_string();
        let response = ApiError::from(error).into_response();
        assert!(response.status().is_server_error());
        let logged = response.extensions().get::<LoggedError>().cloned();
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        for secret in [url, "http://", ".internal"] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
        assert!(
            body.contains("resolve a tag"),
            "the body names the problem: {body}"
        );
        let logged = logged.expect("the full error is logged").0;
        assert!(logged.contains(&full), "{full} in {logged}");
    }

    #[tokio::test]
    async fn out_of_space_says_so_without_paths() {
        let path = "/var/lib/starling/agent/tmp/abc.part";
        let digest = starling_core::Digest::of(b"layer");
        let source = starling_p2p::Error::Store(starling_store::Error::Io {
            action: "reserve disk space for partial download",
            path: path.into(),
            source: std::io::Error::from_raw_os_error(28),
        });
        let response = ApiError::from(Error::OutOfSpace { digest, source }).into_response();
        assert_eq!(response.status(), 503);
        let logged = response.extensions().get::<LoggedError>().cloned();
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let error = &body["errors"][0];
        assert_eq!(error["code"], "UNAVAILABLE");
        assert_eq!(error["message"], "the agent is out of disk space");
        let text = body.to_string();
        assert!(text.contains(&digest.to_string()), "{text}");
        assert!(
            !text.contains("/var/lib") && !text.contains(".part"),
            "{text}"
        );
        assert!(logged.expect("logged").0.contains(path));
    }

    #[tokio::test]
    async fn client_mistakes_keep_their_text() {
        let error = Error::Unsupported {
            method: "PUT".into(),
            what: "manifests",
        };
        let full = error.to_string();
        let response = ApiError::from(error).into_response();
        assert!(response.extensions().get::<LoggedError>().is_none());
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        assert!(String::from_utf8(body.to_vec()).unwrap().contains(&full));
    }
}
