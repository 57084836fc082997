//! The Docker Registry HTTP API v2 / OCI distribution spec as pure data: the path parser,
//! the error body with its codes, the manifest media types, the referrers index, and the
//! notification envelope registries send on push.
//!
//! The agent (pull API) and the proxy (push and pull API) both serve registry paths whose
//! repository names contain `/`; they route every `/v2/...` request through the one
//! [`parse_path`] function instead of a route per nesting depth. Nothing here depends on an
//! HTTP server crate: statuses are plain `u16`, and the `IntoResponse` wrapper around
//! [`RegistryError`] lives in the crates that serve HTTP.

pub mod error;
pub mod manifest;
pub mod media_type;
pub mod notification;
pub mod path;
pub mod referrers;

pub use error::{ErrorCode, RegistryError};
pub use manifest::{Manifest, ManifestError, Referenced};
pub use media_type::ManifestKind;
pub use path::{Endpoint, Reference, UploadRef, parse_path};
pub use referrers::{Referrer, ReferrersIndex};
