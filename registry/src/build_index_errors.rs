//! Which build-index failures are the registry client's mistake. A bad tag or paging
//! value is checked by the build-index too; when it refuses one with a 4xx registry
//! error, the agent and the proxy pass that answer on instead of reporting the
//! build-index as unavailable.

use starling_clients::BuildIndexError;
use starling_core::registry::ErrorCode;
use starling_runtime::ApiError;

/// The answer for a build-index failure the client caused, or `None` when the
/// build-index itself failed (a 503 for the caller to report).
pub fn client_mistake(source: &BuildIndexError) -> Option<ApiError> {
    match source {
        BuildIndexError::Status {
            status: 400..=499,
            error: Some(registry),
            ..
        } => Some(ApiError::from(registry.clone())),
        BuildIndexError::Invalid(core) => Some(ApiError::from(core)),
        BuildIndexError::InvalidPage { .. } => Some(
            ApiError::from_code(ErrorCode::PaginationNumberInvalid).with_detail(source.to_string()),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use starling_core::registry::RegistryError;

    use super::*;

    #[test]
    fn client_mistakes_pass_through_and_outages_do_not() {
        let refused = BuildIndexError::Status {
            url: "http://b/tags".into(),
            status: 400,
            error: Some(RegistryError::from_code(ErrorCode::TagInvalid)),
        };
        let api = client_mistake(&refused).unwrap();
        assert_eq!(api.status(), StatusCode::BAD_REQUEST);
        assert_eq!(api.registry_error().code, ErrorCode::TagInvalid);

        let failed = BuildIndexError::Status {
            url: "http://b/tags".into(),
            status: 500,
            error: Some(RegistryError::from_code(ErrorCode::Unknown)),
        };
        assert!(client_mistake(&failed).is_none());
        assert!(client_mistake(&BuildIndexError::NoHosts).is_none());
    }
}
