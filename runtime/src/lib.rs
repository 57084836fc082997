//! Runtime plumbing shared by every Starling component, so each crate starts tasks,
//! records metrics and stops the same way:
//! - [`spawn_named`]: the one way to start a background task (named span, failures and
//!   panics logged once);
//! - [`MetricsRegistry`]: a Prometheus recorder owned by one component instance, so
//!   several components can run in one process (tests, `starling dev`);
//! - [`shutdown_on_signal`]: a cancellation token cancelled by Ctrl-C or SIGTERM;
//! - [`Drain`]: what a server does after that token fires (readiness first, a delay,
//!   then in-flight requests get a bound);
//! - [`SingleFlight`]: concurrent callers for one key share one piece of work;
//! - [`Backoff`]: exponential retry waits with jitter;
//! - [`blocking`]: blocking work on the blocking pool, a panic becoming an error;
//! - [`build_http_client`]: reqwest clients that build without a system CA bundle;
//! - [`http`]: the HTTP error response ([`ApiError`], the registry spec's error body)
//!   and the request middleware ([`trace_requests`]) that logs each 5xx once;
//! - [`auth`]: the cluster's bearer token on internal writes ([`ClusterToken`],
//!   [`require_token_for_writes`], [`authorized_client`]);
//! - [`serve`]: the HTTP server loop with bounded connections (a cap, header-read,
//!   idle and request-body timeouts) and graceful shutdown;
//! - [`tls`]: HTTPS for listeners and internal clients, mutual TLS, certificates
//!   reloaded when their files change ([`ServerTls`], [`ClientTls`]);
//! - [`raise_fd_limit`]: the soft open-file limit raised to the hard one at start;
//! - [`BUILD_INFO`]: the `starling_build_info` gauge every registry carries.

pub mod auth;
mod backoff;
mod blocking;
mod drain;
mod fd_limit;
pub mod http;
mod http_client;
mod metrics_registry;
mod serve;
mod shutdown;
mod single_flight;
mod spawn;
pub mod tls;

pub use auth::{ClusterToken, authorized_client, require_token_for_writes};
pub use backoff::Backoff;
pub use blocking::{TaskFailed, blocking};
pub use drain::Drain;
pub use fd_limit::{FdLimit, raise_fd_limit};
pub use http::{ApiError, LoggedError, trace_requests};
pub use http_client::{build_http_client, default_http_client};
pub use metrics_registry::{BUILD_INFO, MetricsRegistry};
pub use serve::serve;
pub use shutdown::shutdown_on_signal;
pub use single_flight::{Abandoned, Flight, SingleFlight};
pub use spawn::spawn_named;
pub use tls::{ClientTls, ServerTls, TlsError};
