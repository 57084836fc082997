//! The origin's mapping from its [`Error`] to the shared HTTP error response,
//! [`starling_runtime::ApiError`] (the registry spec's `{"errors":[{code,message,detail}]}`
//! body).
//!
//! Handlers return `Result<_, ApiError>`; every [`Error`] converts with `From`, choosing
//! the registry code by the variant, with the error's text as the detail. A failing
//! storage backend answers 502 `UNAVAILABLE` (the code's own status is 503) because the
//! origin is a gateway to the backend there. Server-side failures (5xx) are logged once by
//! the request middleware, `starling_runtime::trace_requests`.
//!
//! Store, backend and peer failures carry file paths and backend or peer URLs in their
//! text: the client gets a summary of what failed ([`public_detail`]), the log the full
//! text.

use axum::http::{HeaderValue, StatusCode, header};
use starling_core::registry::ErrorCode;
use starling_runtime::ApiError;

use crate::error::Error;

/// `NAME_INVALID` (400): the namespace segment is not a repository name.
pub fn bad_name(detail: String) -> ApiError {
    ApiError::new(ErrorCode::NameInvalid, "invalid namespace").with_detail(detail)
}

/// `DIGEST_INVALID` (400): the digest segment is malformed.
pub fn bad_digest(detail: String) -> ApiError {
    ApiError::new(ErrorCode::DigestInvalid, "invalid digest").with_detail(detail)
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let root = error.root();
        let (code, message) = code_of(root);
        let api = ApiError::new(code, message);
        let api = match public_detail(root) {
            Some(summary) => api
                .with_detail(summary)
                .with_logged_detail(error.to_string()),
            None => api.with_detail(error.to_string()),
        };
        match root {
            Error::RangeNotSatisfiable { size } => api.with_header(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}"))
                    .expect("digits are a valid header value"),
            ),
            Error::Backend { .. } | Error::BackendCorrupt { .. } | Error::Peer { .. } => {
                api.with_status(StatusCode::BAD_GATEWAY)
            }
            _ => api,
        }
    }
}

/// What a client is told of a failure whose text names internal paths or URLs; `None`
/// for errors the request caused, whose text holds only what the client sent.
fn public_detail(error: &Error) -> Option<String> {
    let summary = match error {
        Error::Store { action, .. } => format!("store: cannot {action}"),
        Error::Backend {
            namespace, action, ..
        } => format!("backend of {namespace}: cannot {action}"),
        Error::BackendConfig(_) => "cannot build the backends".to_owned(),
        Error::Queue { action, .. } => format!("task queue: cannot {action}"),
        Error::Io { action, .. } => format!("cannot {action}"),
        Error::Peer { .. } => "another origin failed".to_owned(),
        Error::Config(_) => "invalid configuration".to_owned(),
        Error::Task { action, .. } => format!("a blocking task to {action} failed"),
        Error::Serve(_) | Error::Tls(_) | Error::PeerListener { .. } => "serving failed".to_owned(),
        Error::Engine(_) => "the p2p engine failed".to_owned(),
        _ => return None,
    };
    Some(summary)
}

/// The registry code and message of `error` (already unwrapped by [`Error::root`]).
fn code_of(error: &Error) -> (ErrorCode, &'static str) {
    use ErrorCode as C;
    match error {
        Error::BlobUnknown { .. } => (C::BlobUnknown, "blob unknown"),
        Error::DigestMismatch { .. } => (C::DigestInvalid, "content does not match digest"),
        Error::RangeNotSatisfiable { .. } => (C::RangeInvalid, "range not satisfiable"),
        Error::BadHeader { .. } => (C::BlobUploadInvalid, "invalid header"),
        Error::BodyLength { .. } => (C::SizeInvalid, "body length mismatch"),
        Error::BodyRead { .. } => (C::BlobUploadInvalid, "request body incomplete"),
        Error::Backend { .. } | Error::BackendCorrupt { .. } | Error::Peer { .. } => {
            (C::Unavailable, "storage backend failed")
        }
        Error::NotSeeding => (C::Unavailable, "p2p engine not running"),
        _ => (C::Unknown, "internal error"),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use starling_core::Digest;
    use starling_runtime::LoggedError;

    use super::*;

    async fn render(error: Error) -> (StatusCode, serde_json::Value, Response) {
        let mut response = ApiError::from(error).into_response();
        let status = response.status();
        let body = std::mem::take(response.body_mut());
        let json = serde_json::from_slice(&to_bytes(body, 1 << 16).await.unwrap()).unwrap();
        (status, json, response)
    }

    #[tokio::test]
    async fn client_errors_carry_their_registry_code() {
        let (expected, actual) = (Digest::of(b"a"), Digest::of(b"b"));
        let (status, json, response) = render(Error::DigestMismatch { expected, actual }).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["errors"][0]["code"], "DIGEST_INVALID");
        assert!(
            json["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains(&actual.to_string())
        );
        assert!(response.extensions().get::<LoggedError>().is_none());

        let (status, json, response) = render(Error::RangeNotSatisfiable { size: 10 }).await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(json["errors"][0]["code"], "RANGE_INVALID");
        assert_eq!(response.headers()[header::CONTENT_RANGE], "bytes */10");
    }

    #[tokio::test]
    async fn store_paths_and_backend_urls_stay_out_of_the_body_but_are_logged() {
        let path = "/var/lib/starling/origin/blobs/sha256/ab/abcd";
        let url = "http://s3.internal:9000/bucket/blobs/abcd";
        let store = Error::Io {
            action: "write",
            path: path.into(),
            source: std::io::Error::other("disk full"),
        };
        let peer = Error::Peer {
            host: "origin-2.internal:9001".into(),
            source: starling_clients::ClientError::NotFound { url: url.into() },
        };
        let shared = Error::Shared(std::sync::Arc::new(Error::Io {
            action: "read",
            path: path.into(),
            source: std::io::Error::other("gone"),
        }));
        for error in [store, peer, shared] {
            let full = error.to_string();
            let (status, json, response) = render(error).await;
            assert!(status.is_server_error(), "{status}");
            let body = json.to_string();
            for secret in [path, url, "/var/lib", "http://", ".internal"] {
                assert!(!body.contains(secret), "{secret} in {body}");
            }
            let logged = response.extensions().get::<LoggedError>().unwrap();
            assert!(logged.0.contains(&full), "{full} in {}", logged.0);
        }
    }

    #[tokio::test]
    async fn server_errors_are_marked_for_logging() {
        let (status, json, response) = render(Error::Config("broken".into())).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(json["errors"][0]["code"], "UNKNOWN");
        let logged = response.extensions().get::<LoggedError>().unwrap();
        assert!(logged.0.contains("broken"));
    }
}
