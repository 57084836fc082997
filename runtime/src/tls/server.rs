//! The server side: the certificate every HTTP listener of a component presents and,
//! for mutual TLS, the CA that client certificates must chain to. Both are
//! [`Watched`], so a rotated certificate or CA bundle is used from the next handshake
//! on (within [`super::CHECK_INTERVAL`]); sessions are never resumed, so every
//! connection is checked against the current files.

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DistinguishedName, ServerConfig, SignatureScheme};
use starling_config::TlsConfig;
use tokio_rustls::TlsAcceptor;

use super::pem::{self, KeyPairFiles};
use super::watched::Watched;
use super::{TlsError, provider};

/// HTTPS for a component's listeners; clones share the certificates.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
    mutual: bool,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("mutual", &self.mutual)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// The listeners' TLS from `tls:` (its files read now); `None` when it is off.
    pub fn from_config(cfg: &TlsConfig) -> Result<Option<Self>, TlsError> {
        let (Some(cert), Some(key)) = (&cfg.cert_file, &cfg.key_file) else {
            return Ok(None);
        };
        let provider = provider();
        let files = (cert.clone(), key.clone());
        let load_provider = provider.clone();
        let certificate = Watched::new(
            "server certificate",
            vec![cert.clone(), key.clone()],
            move || {
                KeyPairFiles {
                    cert_field: "tls.cert_file",
                    cert: &files.0,
                    key_field: "tls.key_file",
                    key: &files.1,
                }
                .load(&load_provider)
            },
        )?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Setup)?;
        let builder = match &cfg.client_ca_file {
            Some(ca) => {
                let path = ca.clone();
                let verifier_provider = provider.clone();
                let verifier = Watched::new("client CA", vec![ca.clone()], move || {
                    let roots = pem::roots("tls.client_ca_file", &path)?;
                    WebPkiClientVerifier::builder_with_provider(
                        Arc::new(roots),
                        verifier_provider.clone(),
                    )
                    .build()
                    .map_err(|e| TlsError::Invalid {
                        field: "tls.client_ca_file",
                        path: path.clone(),
                        reason: e.to_string(),
                    })
                })?;
                builder.with_client_cert_verifier(Arc::new(ReloadingClientCa(verifier)))
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(Arc::new(ReloadingCert(certificate)));
        // HTTP/1.1 only, as `crate::serve` speaks.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // No session resumption: every connection is verified against the current
        // certificate and client CA, so a rotation or a CA taken out of the bundle
        // applies to the next connection, not after a cached session expires. Clients
        // keep their connections alive, so full handshakes stay rare.
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(Some(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            mutual: cfg.client_ca_file.is_some(),
        }))
    }

    /// Clients must present a certificate.
    pub fn is_mutual(&self) -> bool {
        self.mutual
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

#[derive(Debug)]
struct ReloadingCert(Watched<CertifiedKey>);

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current())
    }
}

/// The client CA's verifier, rebuilt when the bundle changes.
#[derive(Debug)]
struct ReloadingClientCa(Watched<Arc<dyn ClientCertVerifier>>);

impl ClientCertVerifier for ReloadingClientCa {
    /// No hints: they are optional, and each Starling client has one identity to send.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.0
            .current()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.current().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.current().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.current().supported_verify_schemes()
    }
}
