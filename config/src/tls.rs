//! TLS of a component's HTTP listeners (`tls:`) and of its internal clients
//! (`client_tls:`). Both are off by default; the runtime crate builds them
//! (`starling_runtime::tls`).
//!
//! - `tls:` with `cert_file` and `key_file` (PEM) makes every HTTP listener of the
//!   component serve HTTPS only; with `client_ca_file` too, a client must present a
//!   certificate signed by that CA (mutual TLS). The BitTorrent peer port stays plain
//!   BEP 3, so standard clients interoperate.
//! - `client_tls:` makes the component's clients of origins and build-index speak
//!   HTTPS, trusting `ca_file` (the built-in public roots when unset) and presenting
//!   `cert_file`/`key_file` when both are set (for servers that require mutual TLS).
//!   Trackers and remote build-indexes are URLs and say `https://` themselves; their
//!   clients use the same trust and identity.
//!
//! Files are only named here: they are read when the component starts (an unreadable
//! or invalid file fails the start, naming the field) and read again when they change
//! on disk, so rotated certificates are picked up without a restart.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `tls:` — HTTPS on the component's HTTP listeners.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate chain (PEM, leaf first).
    pub cert_file: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// CA certificates (PEM) that client certificates must chain to; set, every client
    /// must present one (mutual TLS).
    pub client_ca_file: Option<PathBuf>,
}

impl TlsConfig {
    /// HTTPS is on: the listeners serve TLS only.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some()
    }

    pub fn validate(&self) -> Result<()> {
        non_empty_path("cert_file", &self.cert_file)?;
        non_empty_path("key_file", &self.key_file)?;
        non_empty_path("client_ca_file", &self.client_ca_file)?;
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => {
                return Err(Error::invalid("key_file", "cert_file needs a key_file"));
            }
            (None, Some(_)) => {
                return Err(Error::invalid("cert_file", "key_file needs a cert_file"));
            }
            _ => {}
        }
        if self.client_ca_file.is_some() && !self.enabled() {
            return Err(Error::invalid(
                "client_ca_file",
                "mutual TLS needs the server's own cert_file and key_file",
            ));
        }
        Ok(())
    }
}

/// `client_tls:` — HTTPS from the component's internal clients.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientTlsConfig {
    /// Turns HTTPS on for origin and build-index hosts (`host:port` entries); implied
    /// by any file below.
    pub enabled: bool,
    /// CA certificates (PEM) that servers must chain to; the built-in public roots when
    /// unset.
    pub ca_file: Option<PathBuf>,
    /// The client certificate chain (PEM) presented to servers that ask for one.
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key_file: Option<PathBuf>,
}

impl ClientTlsConfig {
    /// Internal clients speak HTTPS.
    pub fn enabled(&self) -> bool {
        self.enabled || self.ca_file.is_some() || self.cert_file.is_some()
    }

    pub fn validate(&self) -> Result<()> {
        non_empty_path("ca_file", &self.ca_file)?;
        non_empty_path("cert_file", &self.cert_file)?;
        non_empty_path("key_file", &self.key_file)?;
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => Err(Error::invalid("key_file", "cert_file needs a key_file")),
            (None, Some(_)) => Err(Error::invalid("cert_file", "key_file needs a cert_file")),
            _ => Ok(()),
        }
    }
}

fn non_empty_path(field: &str, path: &Option<PathBuf>) -> Result<()> {
    match path {
        Some(path) if path.as_os_str().is_empty() => {
            Err(Error::invalid(field, "must be a file path"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(yaml: &str) -> Result<TlsConfig> {
        let cfg: TlsConfig = serde_norway::from_str(yaml).unwrap();
        cfg.validate().map(|()| cfg)
    }

    fn client(yaml: &str) -> Result<ClientTlsConfig> {
        let cfg: ClientTlsConfig = serde_norway::from_str(yaml).unwrap();
        cfg.validate().map(|()| cfg)
    }

    #[test]
    fn server_tls_is_off_by_default_and_needs_a_key_pair() {
        assert!(!server("{}").unwrap().enabled());
        let on = server("{cert_file: /c.pem, key_file: /k.pem, client_ca_file: /ca.pem}").unwrap();
        assert!(on.enabled());
        let error = server("{cert_file: /c.pem}").unwrap_err().to_string();
        assert_eq!(error, "key_file: cert_file needs a key_file");
        let error = server("{key_file: /k.pem}").unwrap_err().to_string();
        assert_eq!(error, "cert_file: key_file needs a cert_file");
        let error = server("{client_ca_file: /ca.pem}").unwrap_err().to_string();
        assert!(
            error.starts_with("client_ca_file: mutual TLS needs"),
            "{error}"
        );
        let error = server("{cert_file: '', key_file: /k.pem}")
            .unwrap_err()
            .to_string();
        assert_eq!(error, "cert_file: must be a file path");
    }

    #[test]
    fn client_tls_is_on_with_any_file_or_the_flag() {
        assert!(!client("{}").unwrap().enabled());
        assert!(client("{enabled: true}").unwrap().enabled());
        assert!(client("{ca_file: /ca.pem}").unwrap().enabled());
        let mtls = client("{ca_file: /ca.pem, cert_file: /c.pem, key_file: /k.pem}").unwrap();
        assert!(mtls.enabled());
        let error = client("{cert_file: /c.pem}").unwrap_err().to_string();
        assert_eq!(error, "key_file: cert_file needs a key_file");
        assert!(serde_norway::from_str::<ClientTlsConfig>("{ca: /x}").is_err());
    }
}
