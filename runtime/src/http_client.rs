//! Building HTTP clients that work on hosts without a system CA bundle.
//!
//! reqwest with rustls verifies servers against the platform's trust store and refuses
//! to build a client when that store is empty, which it is in a `FROM scratch` image
//! and on minimal hosts — even for a client that only ever speaks plain http. Every
//! component builds its clients here: with the system's roots when it has any, else
//! with the Mozilla roots built into the binary (`webpki-root-certs`), so plain http
//! always works and https works with public CAs either way.

use reqwest::{Certificate, Client, ClientBuilder};

/// Builds `configure(Client::builder())`; if that fails (no usable system roots), the
/// same configuration with the built-in roots only.
pub fn build_http_client(
    configure: impl Fn(ClientBuilder) -> ClientBuilder,
) -> reqwest::Result<Client> {
    match configure(Client::builder()).build() {
        Ok(client) => Ok(client),
        Err(error) => {
            tracing::debug!(%error, "HTTP client with system roots failed; using built-in roots");
            configure(Client::builder())
                .tls_certs_only(built_in_roots())
                .build()
        }
    }
}

/// A client with reqwest's defaults, built as [`build_http_client`] does.
pub fn default_http_client() -> Client {
    build_http_client(|builder| builder).expect("a client with the built-in roots always builds")
}

/// The Mozilla root certificates compiled into the binary.
fn built_in_roots() -> Vec<Certificate> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| Certificate::from_der(der.as_ref()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_roots_are_there_and_parse() {
        assert!(built_in_roots().len() > 100);
    }

    #[test]
    fn a_configured_client_builds() {
        let client = build_http_client(|b| b.connect_timeout(std::time::Duration::from_secs(1)));
        assert!(client.is_ok());
    }
}
