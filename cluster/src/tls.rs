//! HTTPS for a local cluster (`ClusterSpec::tls`, `starling dev --tls`): a CA made at
//! each start and one certificate per component under `<data dir>/tls/`, wired the
//! way a deployment wires them:
//! - origins, tracker and build-index serve mutual TLS: only holders of a certificate
//!   from the cluster's CA reach them;
//! - proxy and agents serve TLS without client certificates, since docker and
//!   containerd push and pull there;
//! - every component's clients trust the CA and present their own certificate;
//!   agents announce to `https://` trackers.
//!
//! `client.pem`/`client.key` is an identity for tools and tests (`ca.pem` to trust).

use std::path::{Path, PathBuf};

use starling_config::{ClientTlsConfig, TlsConfig};
use starling_runtime::tls::CertificateAuthority;

/// Where a cluster's TLS files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsLayout {
    dir: PathBuf,
}

/// The identity that tools and tests use.
pub const CLIENT: &str = "client";

impl TlsLayout {
    /// The files under `<data_dir>/tls`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("tls"),
        }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    pub fn cert(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pem"))
    }

    pub fn key(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    /// `tls:` of component `name`; clients need the CA's certificate when `mutual`.
    pub fn server(&self, name: &str, mutual: bool) -> TlsConfig {
        TlsConfig {
            cert_file: Some(self.cert(name)),
            key_file: Some(self.key(name)),
            client_ca_file: mutual.then(|| self.ca()),
        }
    }

    /// `client_tls:` of component `name`: trust the CA, present `name`'s certificate.
    pub fn client(&self, name: &str) -> ClientTlsConfig {
        ClientTlsConfig {
            enabled: true,
            ca_file: Some(self.ca()),
            cert_file: Some(self.cert(name)),
            key_file: Some(self.key(name)),
        }
    }

    /// A new CA and a certificate for each of `names` and for [`CLIENT`], valid for
    /// `127.0.0.1` and `localhost` (every listener of a local cluster is on loopback).
    pub fn generate(&self, names: &[String]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let ca = CertificateAuthority::generate("Starling dev cluster CA")
            .map_err(std::io::Error::other)?;
        ca.write_cert(&self.ca())?;
        for name in names.iter().map(String::as_str).chain([CLIENT]) {
            let issued = ca
                .issue(&["127.0.0.1", "localhost", name])
                .map_err(std::io::Error::other)?;
            issued.write(&self.cert(name), &self.key(name))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files_load_as_server_and_client_tls() {
        let dir = tempfile::tempdir().unwrap();
        let layout = TlsLayout::new(dir.path());
        layout.generate(&["origin-0".to_owned()]).unwrap();
        let server = starling_runtime::ServerTls::from_config(&layout.server("origin-0", true))
            .unwrap()
            .unwrap();
        assert!(server.is_mutual());
        let client = starling_runtime::ClientTls::from_config(&layout.client(CLIENT)).unwrap();
        assert!(client.is_some());
        assert_eq!(layout.ca(), dir.path().join("tls/ca.pem"));
    }
}
