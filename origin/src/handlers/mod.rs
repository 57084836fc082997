//! HTTP handlers: extract (see [`extract`]), call a service, return a typed response
//! whose `IntoResponse` sets its own headers.

pub mod blobs;
pub mod extract;
pub mod metainfo;
pub mod notifications;
pub mod peer;
pub mod probes;
pub mod uploads;
