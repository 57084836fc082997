//! TLS with rustls (the aws-lc-rs provider reqwest already links) for every HTTP
//! listener and internal client, configured by `tls:` and `client_tls:`
//! (`starling_config::tls`):
//! - [`ServerTls`]: what [`crate::serve`] wraps each accepted connection in: the
//!   server's certificate and, for mutual TLS, the CA that client certificates must
//!   chain to;
//! - [`ClientTls`]: the trust and the identity of internal clients, applied to a
//!   reqwest builder;
//! - [`CertificateAuthority`]: a CA made on the spot and the certificates it issues,
//!   for `starling dev --tls` and tests;
//! - both read their PEM files at start (a bad file fails the start, naming the
//!   field) and again when the files change ([`watched`]), keeping the old
//!   certificates if new ones cannot be used.

mod client;
mod generate;
mod pem;
mod server;
mod watched;

use std::path::PathBuf;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use thiserror::Error;

pub use client::{ClientTls, with_client_tls};
pub use generate::{CertificateAuthority, IssuedCertificate};
pub use server::ServerTls;
pub use watched::CHECK_INTERVAL;

/// Errors building TLS from configured files; each names the config field.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("{field}: cannot read {}: {source}", path.display())]
    Read {
        field: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{field}: {}: {reason}", path.display())]
    Invalid {
        field: &'static str,
        path: PathBuf,
        reason: String,
    },

    #[error("cannot set up TLS: {0}")]
    Setup(#[source] rustls::Error),

    #[error("cannot generate a certificate: {0}")]
    Generate(#[source] rcgen::Error),
}

/// The one crypto provider of every TLS config here, named explicitly so no
/// process-wide default has to be installed.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}
