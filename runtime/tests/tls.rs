//! HTTPS on `starling_runtime::serve` with real sockets on loopback: a client trusting
//! the CA gets answers; plain HTTP, an unknown CA and (with mutual TLS) a missing or
//! foreign client certificate are refused; certificate files replaced on disk are
//! served without a restart, and a bad replacement keeps the old certificate.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use starling_config::{ClientTlsConfig, ConnectionsConfig, TlsConfig};
use starling_runtime::tls::{CHECK_INTERVAL, CertificateAuthority, with_client_tls};
use starling_runtime::{ClientTls, ServerTls};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A CA with a server and a client certificate, written under a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertificateAuthority,
}

impl Pki {
    fn new(name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = CertificateAuthority::generate(name).unwrap();
        ca.write_cert(&dir.path().join("ca.pem")).unwrap();
        let pki = Self { dir, ca };
        pki.issue("server", &["127.0.0.1", "localhost"]);
        pki.issue("client", &["test-client"]);
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `<name>.pem` and `<name>.key`.
    fn issue(&self, name: &str, names: &[&str]) {
        let issued = self.ca.issue(names).unwrap();
        issued
            .write(
                &self.path(&format!("{name}.pem")),
                &self.path(&format!("{name}.key")),
            )
            .unwrap();
    }

    fn server_config(&self, mutual: bool) -> TlsConfig {
        TlsConfig {
            cert_file: Some(self.path("server.pem")),
            key_file: Some(self.path("server.key")),
            client_ca_file: mutual.then(|| self.path("ca.pem")),
        }
    }

    /// A client trusting this CA, presenting the client certificate of `identity`.
    fn client(&self, identity: Option<&Pki>) -> reqwest::Client {
        let cfg = ClientTlsConfig {
            enabled: true,
            ca_file: Some(self.path("ca.pem")),
            cert_file: identity.map(|p| p.path("client.pem")),
            key_file: identity.map(|p| p.path("client.key")),
        };
        let tls = ClientTls::from_config(&cfg).unwrap().unwrap();
        starling_runtime::build_http_client(|b| {
            with_client_tls(b, Some(&tls))
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(5))
        })
        .unwrap()
    }
}

/// A server answering `GET /` with "ok" until the token is cancelled.
async fn start(tls: &TlsConfig) -> (String, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().route("/", get(|| async { "ok" }));
    let stop = CancellationToken::new();
    let server_tls = ServerTls::from_config(tls).unwrap();
    let stopped = stop.clone();
    tokio::spawn(async move {
        let limits = ConnectionsConfig::default();
        starling_runtime::serve(listener, app, &limits, server_tls, async move {
            stopped.cancelled().await
        })
        .await
        .unwrap();
    });
    (format!("127.0.0.1:{port}"), stop)
}

async fn get_ok(client: &reqwest::Client, url: &str) -> bool {
    match client.get(url).send().await {
        Ok(response) => response.status().is_success() && response.text().await.unwrap() == "ok",
        Err(_) => false,
    }
}

async fn wait_until_ok(client: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + CHECK_INTERVAL * 5;
    while !get_ok(client, url).await {
        assert!(Instant::now() < deadline, "{url} never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts `client` keeps getting answers for a while longer than the reload interval.
async fn stays_ok(client: &reqwest::Client, url: &str) {
    let until = Instant::now() + CHECK_INTERVAL + Duration::from_millis(500);
    while Instant::now() < until {
        assert!(get_ok(client, url).await, "{url} stopped answering");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn https_needs_a_trusted_server_and_no_plain_http() {
    let pki = Pki::new("Test CA");
    let (addr, stop) = start(&pki.server_config(false)).await;
    let url = format!("https://{addr}/");
    assert!(get_ok(&pki.client(None), &url).await);
    let plain = starling_runtime::default_http_client();
    assert!(!get_ok(&plain, &format!("http://{addr}/")).await);
    let stranger = Pki::new("Other CA");
    assert!(!get_ok(&stranger.client(None), &url).await);
    stop.cancel();
}

#[tokio::test]
async fn mutual_tls_needs_a_client_certificate_from_the_ca() {
    let pki = Pki::new("Test CA");
    let (addr, stop) = start(&pki.server_config(true)).await;
    let url = format!("https://{addr}/");
    assert!(
        !get_ok(&pki.client(None), &url).await,
        "no client certificate"
    );
    let stranger = Pki::new("Other CA");
    assert!(
        !get_ok(&pki.client(Some(&stranger)), &url).await,
        "a client certificate from another CA"
    );
    assert!(get_ok(&pki.client(Some(&pki)), &url).await);
    stop.cancel();
}

fn copy(from: &Path, to: &Path) {
    let temporary = to.with_extension("new");
    std::fs::copy(from, &temporary).unwrap();
    std::fs::rename(&temporary, to).unwrap();
}

#[tokio::test]
async fn replaced_certificate_files_are_served_without_a_restart() {
    let pki = Pki::new("Test CA");
    let next = Pki::new("Next CA");
    let (addr, stop) = start(&pki.server_config(false)).await;
    let url = format!("https://{addr}/");
    let (old_trust, new_trust) = (pki.client(None), next.client(None));
    assert!(get_ok(&old_trust, &url).await);
    assert!(!get_ok(&new_trust, &url).await);

    // A broken replacement is refused and the old certificate stays in use.
    std::fs::write(pki.path("server.pem.new"), "not a certificate").unwrap();
    std::fs::rename(pki.path("server.pem.new"), pki.path("server.pem")).unwrap();
    stays_ok(&old_trust, &url).await;

    copy(&next.path("server.key"), &pki.path("server.key"));
    copy(&next.path("server.pem"), &pki.path("server.pem"));
    wait_until_ok(&new_trust, &url).await;
    assert!(!get_ok(&old_trust, &url).await);
    stop.cancel();
}

#[tokio::test]
async fn a_bad_file_fails_the_start_naming_the_field() {
    let pki = Pki::new("Test CA");
    let mut cfg = pki.server_config(true);
    cfg.key_file = Some(pki.path("missing.key"));
    let error = ServerTls::from_config(&cfg).unwrap_err().to_string();
    assert!(error.starts_with("tls.key_file: cannot read"), "{error}");
    let mut cfg = pki.server_config(true);
    cfg.key_file = Some(pki.path("client.key"));
    let error = ServerTls::from_config(&cfg).unwrap_err().to_string();
    assert!(error.starts_with("tls.key_file:"), "{error}");
    assert!(error.contains("does not fit"), "{error}");
    let mut cfg = pki.server_config(true);
    cfg.client_ca_file = Some(pki.path("server.key"));
    let error = ServerTls::from_config(&cfg).unwrap_err().to_string();
    assert!(error.starts_with("tls.client_ca_file:"), "{error}");
    let client = ClientTlsConfig {
        ca_file: Some(pki.path("nope.pem")),
        ..ClientTlsConfig::default()
    };
    let error = ClientTls::from_config(&client).unwrap_err().to_string();
    assert!(
        error.starts_with("client_tls.ca_file: cannot read"),
        "{error}"
    );
}
