//! The client side: whom internal clients trust (`client_tls.ca_file`, else the
//! built-in public roots) and the certificate they present to servers that require
//! mutual TLS. The CA bundle and the identity are [`Watched`], so rotated files are
//! used from the next connection on.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use starling_config::ClientTlsConfig;

use super::pem::{self, KeyPairFiles};
use super::watched::Watched;
use super::{TlsError, provider};

/// TLS settings of internal HTTP clients; clones share the watched files.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

impl ClientTls {
    /// The clients' TLS from `client_tls:` (its files read now); `None` when it is off.
    pub fn from_config(cfg: &ClientTlsConfig) -> Result<Option<Self>, TlsError> {
        if !cfg.enabled() {
            return Ok(None);
        }
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Setup)?;
        let builder = match &cfg.ca_file {
            Some(ca) => {
                let path = ca.clone();
                let verifier_provider = provider.clone();
                let verifier = Watched::new("server CA", vec![ca.clone()], move || {
                    let roots = pem::roots("client_tls.ca_file", &path)?;
                    WebPkiServerVerifier::builder_with_provider(
                        Arc::new(roots),
                        verifier_provider.clone(),
                    )
                    .build()
                    .map_err(|e| TlsError::Invalid {
                        field: "client_tls.ca_file",
                        path: path.clone(),
                        reason: e.to_string(),
                    })
                })?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ReloadingServerCa(verifier)))
            }
            None => builder.with_root_certificates(built_in_roots()),
        };
        let mut config = match (&cfg.cert_file, &cfg.key_file) {
            (Some(cert), Some(key)) => {
                let files = (cert.clone(), key.clone());
                let load_provider = provider.clone();
                let identity = Watched::new(
                    "client certificate",
                    vec![cert.clone(), key.clone()],
                    move || {
                        KeyPairFiles {
                            cert_field: "client_tls.cert_file",
                            cert: &files.0,
                            key_field: "client_tls.key_file",
                            key: &files.1,
                        }
                        .load(&load_provider)
                    },
                )?;
                builder.with_client_cert_resolver(Arc::new(ReloadingIdentity(identity)))
            }
            _ => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(Self {
            config: Arc::new(config),
        }))
    }

    /// `builder` using these settings for every `https://` request.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        builder.tls_backend_preconfigured(ClientConfig::clone(&self.config))
    }
}

/// `builder` with `tls` applied when there is one.
pub fn with_client_tls(
    builder: reqwest::ClientBuilder,
    tls: Option<&ClientTls>,
) -> reqwest::ClientBuilder {
    match tls {
        Some(tls) => tls.apply(builder),
        None => builder,
    }
}

fn built_in_roots() -> RootCertStore {
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    store
}

#[derive(Debug)]
struct ReloadingIdentity(Watched<CertifiedKey>);

impl ResolvesClientCert for ReloadingIdentity {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The CA bundle's verifier, rebuilt when the bundle changes.
#[derive(Debug)]
struct ReloadingServerCa(Watched<Arc<WebPkiServerVerifier>>);

impl ServerCertVerifier for ReloadingServerCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.0.current().verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
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
