//! The cluster's bearer token: what lets a component write to an origin or a
//! build-index.
//!
//! Origins and build-index take writes (blob uploads, prefetches, tag puts, replica and
//! cross-cluster forwards) from the proxy and from each other, never from agents or
//! builders. With a token configured, [`require_token_for_writes`] answers every
//! request but GET, HEAD and OPTIONS with 401 `UNAUTHORIZED` unless it carries
//! `Authorization: Bearer <token>`; reads stay open because agents and trackers read
//! blobs, metainfo and tags. Writers put the header on every request of their internal
//! clients ([`authorized_client`]), so no call site can forget it.
//!
//! The comparison is constant-time (`subtle`), and the token never appears in `Debug`
//! output or logs.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use starling_core::registry::ErrorCode;
use subtle::ConstantTimeEq;

use crate::http::ApiError;

/// The challenge of a 401 from an internal API.
const CHALLENGE: &str = r#"Bearer realm="starling-cluster""#;

/// The shared secret of one cluster's origins, build-index and proxy.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterToken(Arc<str>);

impl ClusterToken {
    /// A token from its text; `None` when empty or not a valid header value.
    pub fn new(text: &str) -> Option<Self> {
        let valid = !text.is_empty() && HeaderValue::from_str(&format!("Bearer {text}")).is_ok();
        valid.then(|| Self(text.into()))
    }

    /// A fresh random token (256 bits, hex), for a cluster that has none yet.
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `Bearer <token>`, marked sensitive so HTTP logging never prints it.
    pub fn header_value(&self) -> HeaderValue {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .expect("checked by ClusterToken::new");
        value.set_sensitive(true);
        value
    }

    /// The request carries this token in its `Authorization` header.
    pub fn authorizes(&self, headers: &HeaderMap) -> bool {
        let Some(presented) = headers
            .get(AUTHORIZATION)
            .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
        else {
            return false;
        };
        presented.ct_eq(self.0.as_bytes()).into()
    }
}

impl fmt::Debug for ClusterToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterToken(<redacted>)")
    }
}

/// Reads do not change anything and agents need them; everything else is a write.
fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware (`axum::middleware::from_fn_with_state`): writes need the token.
pub async fn require_token_for_writes(
    State(token): State<ClusterToken>,
    request: Request,
    next: Next,
) -> Response {
    if is_read(request.method()) || token.authorizes(request.headers()) {
        return next.run(request).await;
    }
    let reason = if request.headers().contains_key(AUTHORIZATION) {
        "the bearer token is not this cluster's"
    } else {
        "writes need the cluster's bearer token (Authorization: Bearer …)"
    };
    ApiError::new(ErrorCode::Unauthorized, "authentication required")
        .with_detail(reason)
        .with_header(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE))
        .into_response()
}

/// Default headers for an internal client: the token, if the cluster has one.
pub fn token_headers(token: Option<&ClusterToken>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(token) = token {
        headers.insert(AUTHORIZATION, token.header_value());
    }
    headers
}

/// `http`'s settings plus the token on every request (see the module header).
pub fn authorized_client(
    token: Option<&ClusterToken>,
    configure: impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
) -> reqwest::Client {
    let headers = token_headers(token);
    crate::build_http_client(|builder| configure(builder).default_headers(headers.clone()))
        .expect("a client with the built-in roots always builds")
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    fn app(token: ClusterToken) -> Router {
        Router::new()
            .route("/x", get(|| async { "read" }).put(|| async { "written" }))
            .layer(axum::middleware::from_fn_with_state(
                token,
                require_token_for_writes,
            ))
    }

    async fn status(token: &ClusterToken, method: &str, auth: Option<&str>) -> StatusCode {
        let mut request = Request::builder().method(method).uri("/x");
        if let Some(auth) = auth {
            request = request.header(AUTHORIZATION, auth);
        }
        let response = app(token.clone())
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        response.status()
    }

    #[tokio::test]
    async fn writes_need_the_token_and_reads_do_not() {
        let token = ClusterToken::new("s3cret").unwrap();
        assert_eq!(status(&token, "GET", None).await, StatusCode::OK);
        assert_eq!(status(&token, "HEAD", None).await, StatusCode::OK);
        assert_eq!(status(&token, "PUT", None).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            status(&token, "PUT", Some("Bearer wrong")).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(&token, "PUT", Some("Basic czNjcmV0")).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(&token, "PUT", Some("Bearer s3cret")).await,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn a_refused_write_gets_the_spec_body_and_a_challenge() {
        let token = ClusterToken::new("s3cret").unwrap();
        let request = Request::builder()
            .method("PUT")
            .uri("/x")
            .body(Body::empty())
            .unwrap();
        let response = app(token).oneshot(request).await.unwrap();
        assert_eq!(response.headers()[WWW_AUTHENTICATE], CHALLENGE);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("UNAUTHORIZED"), "{body}");
        assert!(!body.contains("s3cret"), "{body}");
    }

    #[test]
    fn tokens_are_validated_generated_and_never_printed() {
        assert!(ClusterToken::new("").is_none());
        assert!(ClusterToken::new("bad\nvalue").is_none());
        let generated = ClusterToken::generate();
        assert_eq!(generated.as_str().len(), 64);
        assert_ne!(generated, ClusterToken::generate());
        assert!(!format!("{generated:?}").contains(generated.as_str()));
        assert!(generated.header_value().is_sensitive());
        let headers = token_headers(Some(&generated));
        assert!(generated.authorizes(&headers));
        assert!(!ClusterToken::generate().authorizes(&headers));
    }
}
