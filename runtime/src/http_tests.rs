//! Tests of [`super`]: rendering per code, extra headers and statuses, the 5xx marker,
//! and the middleware over a real router.

use std::io;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::middleware;
use axum::routing::get;
use serde_json::json;
use tower::ServiceExt;

use super::*;

async fn render(error: ApiError) -> (Response, Value) {
    let mut response = error.into_response();
    let body = std::mem::take(response.body_mut());
    let json = serde_json::from_slice(&to_bytes(body, 1 << 16).await.unwrap()).unwrap();
    (response, json)
}

#[tokio::test]
async fn every_code_renders_its_status_and_body() {
    for code in ErrorCode::ALL {
        let error = ApiError::new(code, "what happened").with_detail("why");
        assert_eq!(error.status().as_u16(), code.status(), "{code}");
        let (response, json) = render(error).await;
        assert_eq!(response.status().as_u16(), code.status(), "{code}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            json,
            json!({"errors": [{"code": code.as_str(), "message": "what happened", "detail": "why"}]})
        );
    }
    let (_, json) = render(ApiError::from_code(ErrorCode::BlobUnknown)).await;
    assert_eq!(
        json,
        json!({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry"}]})
    );
}

#[tokio::test]
async fn extra_headers_and_status_overrides_are_sent() {
    let error = ApiError::from_code(ErrorCode::RangeInvalid)
        .with_header(header::CONTENT_RANGE, HeaderValue::from_static("bytes */9"))
        .with_header(
            header::CONTENT_RANGE,
            HeaderValue::from_static("bytes */10"),
        );
    let (response, json) = render(error).await;
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let ranges: Vec<_> = response
        .headers()
        .get_all(header::CONTENT_RANGE)
        .iter()
        .collect();
    assert_eq!(
        ranges,
        ["bytes */10"],
        "the later value replaces the earlier"
    );
    assert_eq!(json["errors"][0]["code"], "RANGE_INVALID");

    let error = ApiError::from_code(ErrorCode::Unavailable).with_status(StatusCode::BAD_GATEWAY);
    assert_eq!(error.registry_error().code, ErrorCode::Unavailable);
    let (response, json) = render(error).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(json["errors"][0]["code"], "UNAVAILABLE");
    assert!(response.extensions().get::<LoggedError>().is_some());
}

#[tokio::test]
async fn only_server_errors_are_marked_for_logging() {
    let (response, _) = render(ApiError::new(ErrorCode::NameInvalid, "bad").with_detail("x")).await;
    assert!(response.extensions().get::<LoggedError>().is_none());

    let (response, _) =
        render(ApiError::new(ErrorCode::Unknown, "failed").with_detail("disk full")).await;
    assert_eq!(
        response.extensions().get::<LoggedError>(),
        Some(&LoggedError("UNKNOWN: failed: disk full".into()))
    );
    let structured = ApiError::from_code(ErrorCode::Unavailable).with_detail(json!({"host": "a"}));
    let (response, _) = render(structured).await;
    let logged = response.extensions().get::<LoggedError>().unwrap();
    assert_eq!(
        logged.0,
        r#"UNAVAILABLE: service unavailable: {"host":"a"}"#
    );
}

#[tokio::test]
async fn a_logged_detail_reaches_the_log_and_not_the_body() {
    let full = "store: cannot write /var/lib/starling/blobs/ab: disk full";
    let error = ApiError::new(ErrorCode::Unknown, "internal error")
        .with_detail("store: cannot write a blob")
        .with_logged_detail(full);
    let (response, body) = render(error).await;
    assert_eq!(body["errors"][0]["detail"], "store: cannot write a blob");
    assert!(!body.to_string().contains("/var/lib"), "{body}");
    assert_eq!(
        response.extensions().get::<LoggedError>(),
        Some(&LoggedError(format!("UNKNOWN: internal error: {full}")))
    );
    let client_side = ApiError::new(ErrorCode::NameInvalid, "bad").with_logged_detail("why");
    let (response, _) = render(client_side).await;
    assert_eq!(
        response.extensions().get::<LoggedError>(),
        Some(&LoggedError("NAME_INVALID: bad: why".into())),
        "a 4xx with a logged detail is logged too"
    );
}

#[tokio::test]
async fn core_parse_errors_keep_their_code() {
    let bad = starling_core::Digest::parse("sha256:00").unwrap_err();
    let error = ApiError::from(&bad);
    assert_eq!(error.registry_error().code, ErrorCode::DigestInvalid);
    assert_eq!(error, ApiError::from(bad));
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
}

/// Log output captured from a subscriber installed for one test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

async fn fails() -> ApiError {
    ApiError::new(ErrorCode::Unknown, "failed").with_detail("disk full")
}

async fn rejects() -> ApiError {
    ApiError::from_code(ErrorCode::NameUnknown)
}

/// `trace_requests` layered twice: the failure must still be logged once.
fn app() -> Router {
    Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route("/fails", get(fails))
        .route("/rejects", get(rejects))
        .layer(middleware::from_fn(trace_requests))
        .layer(middleware::from_fn(trace_requests))
}

async fn call(path: &str) -> (StatusCode, Vec<u8>, bool) {
    let request = axum::http::Request::get(path).body(Body::empty()).unwrap();
    let response = app().oneshot(request).await.unwrap();
    let status = response.status();
    let marked = response.extensions().get::<LoggedError>().is_some();
    let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
    (status, body.to_vec(), marked)
}

#[tokio::test]
async fn the_middleware_passes_responses_through_and_logs_a_5xx_once() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    assert_eq!(call("/ok").await, (StatusCode::OK, b"fine".to_vec(), false));
    let (status, body, _) = call("/rejects").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        ApiError::from_code(ErrorCode::NameUnknown)
            .error
            .to_json_body()
            .into_bytes()
    );
    assert_eq!(captured.text().matches("request failed").count(), 0);

    let (status, body, marked) = call("/fails").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(String::from_utf8(body).unwrap().contains("disk full"));
    assert!(!marked, "the middleware consumes the marker");
    let logs = captured.text();
    assert_eq!(logs.matches("request failed").count(), 1, "{logs}");
    assert!(logs.contains("UNKNOWN: failed: disk full"), "{logs}");
    assert!(logs.contains("status=500"), "{logs}");
    assert!(logs.contains("path=/fails"), "{logs}");
}
