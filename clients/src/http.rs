//! The HTTP client of internal APIs together with the scheme its `host:port` entries
//! are reached with: `https` when the component has `client_tls:` (so the same
//! `cluster.hosts` and `build_index` lists serve a plain and an all-HTTPS cluster),
//! `http` otherwise.

use starling_runtime::ClientTls;
use starling_runtime::tls::with_client_tls;

/// A reqwest client and whether its hosts speak HTTPS. Cheap to clone.
#[derive(Clone, Debug)]
pub struct InternalHttp {
    client: reqwest::Client,
    https: bool,
}

impl InternalHttp {
    /// `client`, whose hosts speak HTTPS when `https` (it was built with the TLS).
    pub fn new(client: reqwest::Client, https: bool) -> Self {
        Self { client, https }
    }

    /// A client built from `configure` with the cluster's token and `tls`; HTTPS when
    /// `tls` is set.
    pub fn build(
        token: Option<&starling_runtime::ClusterToken>,
        tls: Option<&ClientTls>,
        configure: impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Self {
        let client = starling_runtime::authorized_client(token, |builder| {
            with_client_tls(configure(builder), tls)
        });
        Self::new(client, tls.is_some())
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `http://host` or `https://host`.
    pub fn base_url(&self, host: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{host}")
    }
}

/// A bare reqwest client speaks plain HTTP.
impl From<reqwest::Client> for InternalHttp {
    fn from(client: reqwest::Client) -> Self {
        Self::new(client, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_follows_tls() {
        let plain = InternalHttp::from(starling_runtime::default_http_client());
        assert_eq!(plain.base_url("o:1"), "http://o:1");
        let tls = InternalHttp::new(plain.client().clone(), true);
        assert_eq!(tls.base_url("o:1"), "https://o:1");
    }
}
