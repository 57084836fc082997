//! HTTP handlers: thin extract-call-respond wrappers around
//! [`crate::service::TagService`]; errors become registry error bodies through
//! [`crate::api_error::ApiError`].

pub mod probes;
pub mod repositories;
pub mod tags;
