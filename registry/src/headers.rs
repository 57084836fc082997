//! Registry header names and the one way to turn a validated value into a header.

use axum::http::{HeaderName, HeaderValue};

/// The digest of the blob or manifest in the response.
pub const DOCKER_CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
/// The id of an upload in progress.
pub const DOCKER_UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
/// On a manifest push with a `subject`: the subject's digest, telling the client that
/// the registry records referrers, so it need not update the fallback tag.
pub const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");
/// On a referrers answer: the filters applied (`artifactType`).
pub const OCI_FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");
/// Sent on every `/v2/` answer; clients use it to recognise a Registry v2 API.
pub const API_VERSION: HeaderName = HeaderName::from_static("docker-distribution-api-version");
pub const API_VERSION_VALUE: &str = "registry/2.0";
/// The basic-auth challenge that makes `docker login` and skopeo send credentials.
pub const BASIC_CHALLENGE: &str = "Basic realm=\"starling\"";

/// A header value from text built out of validated parts (digests, names, ids,
/// numbers), which are ASCII without control characters.
pub fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("validated registry values are visible ASCII")
}
