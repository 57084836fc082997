//! HTTP handlers, one file per resource: each takes the validated path parameters and
//! the [`crate::request::RegistryRequest`], calls a service and returns a typed response
//! whose `IntoResponse` sets its own headers (`Location`, `Range`,
//! `Docker-Content-Digest`, `Docker-Upload-UUID`).
//!
//! Routing is not here: [`crate::dispatch`] maps (method, endpoint) to these functions.

pub mod base;
pub mod blobs;
pub mod manifests;
pub mod probes;
pub mod uploads;
