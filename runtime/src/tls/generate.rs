//! A certificate authority made on the spot, and the certificates it issues: what
//! `starling dev --tls` writes under its data directory, and what tests use. Keys are
//! ECDSA P-256; each issued certificate is good for serving and for client
//! authentication, so one pair per component covers its listeners and its clients.
//! Production clusters bring their own CA (cert-manager, a corporate PKI).

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use super::TlsError;

/// A CA key and its self-signed certificate.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
}

/// A certificate and its private key, PEM.
pub struct IssuedCertificate {
    pub cert_pem: String,
    pub key_pem: String,
}

impl CertificateAuthority {
    /// A new CA whose certificate is named `name`.
    pub fn generate(name: &str) -> Result<Self, TlsError> {
        let key = KeyPair::generate().map_err(TlsError::Generate)?;
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(TlsError::Generate)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).map_err(TlsError::Generate)?;
        Ok(Self {
            issuer: Issuer::new(params, key),
            cert_pem: cert.pem(),
        })
    }

    /// The CA certificate, PEM: what `ca_file` and `client_ca_file` point at.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Writes the CA certificate to `path`, as [`IssuedCertificate::write`] does.
    pub fn write_cert(&self, path: &Path) -> std::io::Result<()> {
        write_atomically(path, self.cert_pem.as_bytes(), 0o644)
    }

    /// A certificate for `names` (DNS names or IP addresses, the first also its common
    /// name), valid for servers and clients.
    pub fn issue(&self, names: &[&str]) -> Result<IssuedCertificate, TlsError> {
        let key = KeyPair::generate().map_err(TlsError::Generate)?;
        let sans: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(sans).map_err(TlsError::Generate)?;
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(TlsError::Generate)?;
        Ok(IssuedCertificate {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

impl IssuedCertificate {
    /// Writes the certificate to `cert` and the key to `key` (mode 0600), each through a
    /// temporary file renamed into place, so a watcher never reads half a file.
    pub fn write(&self, cert: &Path, key: &Path) -> std::io::Result<()> {
        write_atomically(cert, self.cert_pem.as_bytes(), 0o644)?;
        write_atomically(key, self.key_pem.as_bytes(), 0o600)
    }
}

/// `bytes` to `path` by way of a temporary file beside it.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    let temporary = path.with_file_name(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}
