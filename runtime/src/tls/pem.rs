//! Reading PEM certificates, keys and CA bundles from files; errors name the config
//! field the file came from.

use std::path::Path;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::TlsError;

fn read(field: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        field,
        path: path.to_owned(),
        source,
    })
}

fn invalid(field: &'static str, path: &Path, reason: impl ToString) -> TlsError {
    TlsError::Invalid {
        field,
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Every `CERTIFICATE` block of the file, in order; at least one.
pub fn certificates(
    field: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let text = read(field, path)?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(field, path, format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(field, path, "holds no PEM CERTIFICATE block"));
    }
    Ok(certs)
}

/// The file's first private key (PKCS#8, PKCS#1 or SEC1).
fn private_key(field: &'static str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let text = read(field, path)?;
    PrivateKeyDer::from_pem_slice(&text)
        .map_err(|e| invalid(field, path, format!("no PEM private key: {e}")))
}

/// A certificate chain and its key, checked to belong together.
pub struct KeyPairFiles<'a> {
    pub cert_field: &'static str,
    pub cert: &'a Path,
    pub key_field: &'static str,
    pub key: &'a Path,
}

impl KeyPairFiles<'_> {
    pub fn load(&self, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
        let certs = certificates(self.cert_field, self.cert)?;
        let key = private_key(self.key_field, self.key)?;
        CertifiedKey::from_der(certs, key, provider).map_err(|e| {
            invalid(
                self.key_field,
                self.key,
                format!("does not fit {}: {e}", self.cert.display()),
            )
        })
    }
}

/// The CA certificates of a trust bundle; every block must parse.
pub fn roots(field: &'static str, path: &Path) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in certificates(field, path)? {
        store
            .add(cert)
            .map_err(|e| invalid(field, path, format!("not a usable CA certificate: {e}")))?;
    }
    Ok(store)
}
