//! The registry error body of the OCI distribution spec and its error codes.
//!
//! Every failed registry request answers `{"errors":[{"code","message","detail"}]}` with
//! the HTTP status of the code. The codes are the spec's, plus a few that the reference
//! implementation (`distribution/distribution`) defines and clients already understand:
//! `TAG_INVALID`, `PAGINATION_NUMBER_INVALID`, `UNKNOWN` (500) and `UNAVAILABLE` (503).
//! Statuses follow the reference implementation, except `BLOB_UPLOAD_INVALID`, which it
//! answers with 404 although the client is at fault: here it is 400.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// A registry error code; serializes to its wire form, e.g. `MANIFEST_UNKNOWN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    #[serde(rename = "TOOMANYREQUESTS")]
    TooManyRequests,
    RangeInvalid,
    TagInvalid,
    PaginationNumberInvalid,
    Unknown,
    Unavailable,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 19] = [
        Self::BlobUnknown,
        Self::BlobUploadInvalid,
        Self::BlobUploadUnknown,
        Self::DigestInvalid,
        Self::ManifestBlobUnknown,
        Self::ManifestInvalid,
        Self::ManifestUnknown,
        Self::NameInvalid,
        Self::NameUnknown,
        Self::SizeInvalid,
        Self::Unauthorized,
        Self::Denied,
        Self::Unsupported,
        Self::TooManyRequests,
        Self::RangeInvalid,
        Self::TagInvalid,
        Self::PaginationNumberInvalid,
        Self::Unknown,
        Self::Unavailable,
    ];

    /// The wire form of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BlobUnknown => "BLOB_UNKNOWN",
            Self::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Self::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Self::DigestInvalid => "DIGEST_INVALID",
            Self::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Self::ManifestInvalid => "MANIFEST_INVALID",
            Self::ManifestUnknown => "MANIFEST_UNKNOWN",
            Self::NameInvalid => "NAME_INVALID",
            Self::NameUnknown => "NAME_UNKNOWN",
            Self::SizeInvalid => "SIZE_INVALID",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Denied => "DENIED",
            Self::Unsupported => "UNSUPPORTED",
            Self::TooManyRequests => "TOOMANYREQUESTS",
            Self::RangeInvalid => "RANGE_INVALID",
            Self::TagInvalid => "TAG_INVALID",
            Self::PaginationNumberInvalid => "PAGINATION_NUMBER_INVALID",
            Self::Unknown => "UNKNOWN",
            Self::Unavailable => "UNAVAILABLE",
        }
    }

    /// The HTTP status a response with this code carries.
    pub fn status(self) -> u16 {
        match self {
            Self::BlobUploadInvalid
            | Self::DigestInvalid
            | Self::ManifestBlobUnknown
            | Self::ManifestInvalid
            | Self::NameInvalid
            | Self::SizeInvalid
            | Self::TagInvalid
            | Self::PaginationNumberInvalid => 400,
            Self::Unauthorized => 401,
            Self::Denied => 403,
            Self::BlobUnknown
            | Self::BlobUploadUnknown
            | Self::ManifestUnknown
            | Self::NameUnknown => 404,
            Self::Unsupported => 405,
            Self::RangeInvalid => 416,
            Self::TooManyRequests => 429,
            Self::Unknown => 500,
            Self::Unavailable => 503,
        }
    }

    /// The spec's short description, used as the message when there is no better one.
    pub fn default_message(self) -> &'static str {
        match self {
            Self::BlobUnknown => "blob unknown to registry",
            Self::BlobUploadInvalid => "blob upload invalid",
            Self::BlobUploadUnknown => "blob upload unknown to registry",
            Self::DigestInvalid => "provided digest did not match uploaded content",
            Self::ManifestBlobUnknown => {
                "manifest references a manifest or blob unknown to registry"
            }
            Self::ManifestInvalid => "manifest invalid",
            Self::ManifestUnknown => "manifest unknown to registry",
            Self::NameInvalid => "invalid repository name",
            Self::NameUnknown => "repository name not known to registry",
            Self::SizeInvalid => "provided length did not match content length",
            Self::Unauthorized => "authentication required",
            Self::Denied => "requested access to the resource is denied",
            Self::Unsupported => "the operation is unsupported",
            Self::TooManyRequests => "too many requests",
            Self::RangeInvalid => "invalid content range",
            Self::TagInvalid => "invalid tag",
            Self::PaginationNumberInvalid => "invalid number of results requested",
            Self::Unknown => "unknown error",
            Self::Unavailable => "service unavailable",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|code| code.as_str() == s)
            .ok_or_else(|| format!("unknown registry error code {s:?}"))
    }
}

/// One registry error, rendered as the spec's JSON body by [`RegistryError::to_json_body`].
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[error("{code}: {message}")]
pub struct RegistryError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

#[derive(Serialize, Deserialize)]
struct Body<T> {
    errors: Vec<T>,
}

impl RegistryError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            detail: None,
        }
    }

    /// An error with the code's default message.
    pub fn from_code(code: ErrorCode) -> Self {
        Self::new(code, code.default_message())
    }

    pub fn with_detail(mut self, detail: impl Into<Value>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// `{"errors":[{"code":…,"message":…,"detail":…}]}`; `detail` is left out when absent.
    pub fn to_json_body(&self) -> String {
        serde_json::to_string(&Body { errors: vec![self] })
            .expect("a registry error always serializes")
    }

    /// The first error of a registry error body, for clients; `None` when `body` is not
    /// one (another server's HTML page, an unknown code).
    pub fn from_json_body(body: &[u8]) -> Option<Self> {
        let parsed: Body<Self> = serde_json::from_slice(body).ok()?;
        parsed.errors.into_iter().next()
    }
}

/// Parse failures of registry inputs map to the code naming the bad part; the detail is
/// the parser's message. Errors that are not about client input become `UNKNOWN`.
impl From<&Error> for RegistryError {
    fn from(error: &Error) -> Self {
        let code = match error {
            Error::InvalidRepoName { .. } => ErrorCode::NameInvalid,
            Error::InvalidTag { .. } => ErrorCode::TagInvalid,
            Error::InvalidDigest { .. } | Error::DigestMismatch { .. } => ErrorCode::DigestInvalid,
            Error::LengthMismatch { .. } => ErrorCode::SizeInvalid,
            Error::InvalidUploadRef { .. } => ErrorCode::BlobUploadUnknown,
            Error::UnknownRegistryPath { .. } => ErrorCode::NameUnknown,
            _ => ErrorCode::Unknown,
        };
        Self::from_code(code).with_detail(error.to_string())
    }
}

impl From<Error> for RegistryError {
    fn from(error: Error) -> Self {
        Self::from(&error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::parse_path;

    #[test]
    fn codes_round_trip_through_their_wire_form() {
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>().unwrap(), code);
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(
                json,
                format!("\"{}\"", code.as_str()),
                "serde agrees with as_str"
            );
            assert!((400..600).contains(&code.status()));
        }
        assert!("NOPE".parse::<ErrorCode>().is_err());
    }

    #[test]
    fn statuses_follow_the_spec() {
        let cases = [
            (ErrorCode::BlobUnknown, 404),
            (ErrorCode::ManifestUnknown, 404),
            (ErrorCode::NameUnknown, 404),
            (ErrorCode::BlobUploadUnknown, 404),
            (ErrorCode::ManifestBlobUnknown, 400),
            (ErrorCode::DigestInvalid, 400),
            (ErrorCode::NameInvalid, 400),
            (ErrorCode::Unauthorized, 401),
            (ErrorCode::Denied, 403),
            (ErrorCode::RangeInvalid, 416),
            (ErrorCode::TooManyRequests, 429),
        ];
        for (code, status) in cases {
            assert_eq!(code.status(), status, "{code}");
        }
    }

    #[test]
    fn the_body_has_the_spec_shape() {
        let error = RegistryError::new(ErrorCode::ManifestUnknown, "manifest unknown")
            .with_detail(serde_json::json!({"tag": "v1"}));
        let body: Value = serde_json::from_str(&error.to_json_body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"errors": [{
                "code": "MANIFEST_UNKNOWN",
                "message": "manifest unknown",
                "detail": {"tag": "v1"}
            }]})
        );
        let plain = RegistryError::from_code(ErrorCode::TooManyRequests).to_json_body();
        assert_eq!(
            plain,
            r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"too many requests"}]}"#
        );
        assert_eq!(
            RegistryError::from_json_body(plain.as_bytes())
                .unwrap()
                .code,
            ErrorCode::TooManyRequests
        );
        assert_eq!(
            RegistryError::from_json_body(error.to_json_body().as_bytes()),
            Some(error)
        );
        assert_eq!(RegistryError::from_json_body(b"<html>"), None);
        assert_eq!(RegistryError::from_json_body(br#"{"errors":[]}"#), None);
    }

    #[test]
    fn parse_failures_map_to_the_code_of_the_bad_part() {
        let code = |path: &str| RegistryError::from(parse_path(path).unwrap_err()).code;
        assert_eq!(code("/v2/../x/tags/list"), ErrorCode::NameInvalid);
        assert_eq!(code("/v2/a/manifests/-x"), ErrorCode::TagInvalid);
        assert_eq!(code("/v2/a/blobs/sha256:00"), ErrorCode::DigestInvalid);
        assert_eq!(
            code("/v2/a/blobs/uploads/a+b"),
            ErrorCode::BlobUploadUnknown
        );
        assert_eq!(code("/v2/a"), ErrorCode::NameUnknown);
        let error = RegistryError::from(parse_path("/v2/A/tags/list").unwrap_err());
        assert_eq!(error.status(), 400);
        let detail = error.detail.unwrap();
        assert!(detail.as_str().unwrap().contains("lowercase"), "{detail}");
    }
}
