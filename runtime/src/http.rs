//! HTTP plumbing shared by the components' servers: the error response and the request
//! middleware.
//!
//! Handlers return `Result<_, ApiError>`. An [`ApiError`] renders the registry spec's
//! `{"errors":[{code,message,detail}]}` body (`starling_core::registry::RegistryError`)
//! as `application/json`, with the status of its code unless the component's documented
//! API says otherwise ([`ApiError::with_status`]). Each component maps its own error enum
//! into an `ApiError` with `From`; that mapping is the only error code a component owns.
//!
//! Invariant: a 5xx is logged once, by [`trace_requests`], from the [`LoggedError`]
//! extension the response carries; nothing logs it where the response is built, and the
//! middleware takes the extension out, so a response passing two layers is logged once.
//!
//! A client is told what failed, not where: a component whose error text holds file
//! paths or internal URLs sends a summary as the detail and hands the full text to
//! [`ApiError::with_logged_detail`], which only the log sees (for any status).

use std::time::Instant;

use axum::extract::Request;
use axum::http::header::{self, HeaderName};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use starling_core::registry::{ErrorCode, RegistryError};
use tracing::Instrument;

/// One error response: a registry error plus the headers it needs (e.g.
/// `Content-Range: bytes */<size>` on a 416).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    error: RegistryError,
    status: Option<StatusCode>,
    /// A `Vec`, not a `HeaderMap`, to keep `Result<_, ApiError>` small (clippy's
    /// `result_large_err`); it holds one or two headers at most.
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The full error for the log, when the body's detail is a summary of it.
    logged_detail: Option<String>,
}

/// The message of a 5xx response, for [`trace_requests`] to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedError(pub String);

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::from(RegistryError::new(code, message))
    }

    /// An error with the code's default message.
    pub fn from_code(code: ErrorCode) -> Self {
        Self::from(RegistryError::from_code(code))
    }

    pub fn with_detail(mut self, detail: impl Into<Value>) -> Self {
        self.error.detail = Some(detail.into());
        self
    }

    /// Adds a response header; a later value for the same name replaces the earlier one.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Answers `status` instead of the code's status, for an API that documents another
    /// one (the origin answers a failing storage backend with 502 `UNAVAILABLE`, where
    /// the code's own status is 503).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// Logs `detail` (the full error, with the paths and URLs the body leaves out)
    /// instead of the body's detail, and logs the response whatever its status.
    pub fn with_logged_detail(mut self, detail: impl Into<String>) -> Self {
        self.logged_detail = Some(detail.into());
        self
    }

    pub fn registry_error(&self) -> &RegistryError {
        &self.error
    }

    /// The status of the response.
    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or_else(|| {
            // Every core code has a status in 400..600 (core tests it), so the fallback
            // is never taken; it only keeps a server path free of panics.
            StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        })
    }

    /// `CODE: message: detail`, as the middleware logs it.
    fn log_line(&self) -> String {
        if let Some(detail) = &self.logged_detail {
            return format!("{}: {detail}", self.error);
        }
        match &self.error.detail {
            // A string detail is logged bare, not as a quoted JSON string.
            Some(Value::String(detail)) => format!("{}: {detail}", self.error),
            Some(detail) => format!("{}: {detail}", self.error),
            None => self.error.to_string(),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        Self {
            error,
            status: None,
            headers: Vec::new(),
            logged_detail: None,
        }
    }
}

/// Bad client input from a core parser: the code names the bad part (see
/// `starling_core::registry`).
impl From<&starling_core::Error> for ApiError {
    fn from(error: &starling_core::Error) -> Self {
        Self::from(RegistryError::from(error))
    }
}

impl From<starling_core::Error> for ApiError {
    fn from(error: starling_core::Error) -> Self {
        Self::from(&error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let logged = (status.is_server_error() || self.logged_detail.is_some())
            .then(|| LoggedError(self.log_line()));
        let mut response = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.error.to_json_body(),
        )
            .into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        if let Some(logged) = logged {
            response.extensions_mut().insert(logged);
        }
        response
    }
}

/// Request middleware (`axum::middleware::from_fn(trace_requests)`): runs each request
/// in a `request` span with its method and path, and logs a response carrying a
/// [`LoggedError`] once at error level, with its status and the time taken.
pub async fn trace_requests(request: Request, next: Next) -> Response {
    let span =
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path());
    async move {
        let started = Instant::now();
        let mut response = next.run(request).await;
        if let Some(LoggedError(message)) = response.extensions_mut().remove::<LoggedError>() {
            tracing::error!(
                status = response.status().as_u16(),
                took = ?started.elapsed(),
                error = %message,
                "request failed"
            );
        }
        response
    }
    .instrument(span)
    .await
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
