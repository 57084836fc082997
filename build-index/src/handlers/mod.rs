//! HTTP handlers: thin extract-call-respond wrappers around
//! [`crate::service::TagService`] and [`crate::referrers::ReferrerService`]; errors become registry error bodies through
//! `starling_runtime::ApiError` (the mapping is in [`crate::api_error`]).

pub mod changes;
pub mod probes;
pub mod referrers;
pub mod repositories;
pub mod tags;
