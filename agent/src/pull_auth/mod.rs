//! Pull authorization for private repositories (`pull_auth:` in the agent config).
//!
//! For a repository matched by `pull_auth.repositories`, every registry request
//! (manifests, blobs, tag lists, referrers) needs credentials that the configured
//! registry accepts for that repository; every other repository is served as without
//! this module. Layout:
//! - [`credential`]: the `Authorization` header, kept only as a SHA-256 beyond the check;
//! - [`challenge`]: `WWW-Authenticate` both ways (the registry's, the agent's own);
//! - [`checker`]: the question to the registry, with its token flow;
//! - [`cache`]: the bounded TTL map behind the remembered decisions and issued tokens;
//! - [`gate`]: the check every registry request passes ([`PullAuth::authorize`]);
//! - [`token`]: the agent's token endpoint, which docker's `Bearer` flow calls.
//!
//! A decision is remembered per (credential hash, repository) for `cache_ttl`, allows
//! and denials alike; a registry that cannot answer is never remembered and never an
//! allow (503). Concurrent checks of one (credential, repository) share one request.

pub mod cache;
pub mod challenge;
pub mod checker;
pub mod credential;
pub mod gate;
pub mod metrics;
pub mod token;

use std::sync::Arc;
use std::time::{Duration, Instant};

use starling_config::PullAuthConfig;
use starling_config::pull_auth::RepoPattern;
use starling_runtime::SingleFlight;

use self::cache::TtlCache;
use self::checker::{Checker, Unreachable, Verdict};
use self::credential::{Credential, CredentialHash};
use self::token::Grant;

pub use gate::Target;
pub use metrics::PullAuthMetrics;
pub use token::token_endpoint;

/// Where the agent's token endpoint is served.
pub const TOKEN_PATH: &str = "/auth/token";

/// docker keeps a token at least this long, whatever `expires_in` says.
const DOCKER_MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// The HTTP client of the checks: the agent's client TLS (a proxy with the cluster's
/// CA), no redirects to follow with a credential.
pub fn checker_client(tls: Option<&starling_runtime::ClientTls>) -> crate::Result<reqwest::Client> {
    starling_runtime::build_http_client(|b| {
        starling_runtime::tls::with_client_tls(
            b.connect_timeout(Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none()),
            tls,
        )
    })
    .map_err(|e| crate::Error::HttpClient(e.to_string()))
}

/// The key of a remembered decision; the empty repository is the login check.
type DecisionKey = (CredentialHash, String);

pub struct PullAuth {
    repositories: Vec<RepoPattern>,
    checker: Arc<Checker>,
    decisions: Arc<TtlCache<DecisionKey, Verdict>>,
    grants: TtlCache<CredentialHash, Grant>,
    flights: SingleFlight<DecisionKey, Result<Verdict, Unreachable>>,
    metrics: PullAuthMetrics,
    /// `https` when the registry port serves TLS: the scheme of the token realm.
    https: bool,
}

impl PullAuth {
    /// The gate of `cfg`; `None` when no repository is private.
    pub fn new(
        cfg: &PullAuthConfig,
        http: reqwest::Client,
        metrics: PullAuthMetrics,
        https: bool,
    ) -> Option<Self> {
        let registry = cfg.registry.as_deref().filter(|_| cfg.is_enabled())?;
        let token_lifetime = cfg.cache_ttl.max(DOCKER_MIN_TOKEN_LIFETIME);
        Some(Self {
            repositories: cfg.repositories.clone(),
            checker: Arc::new(Checker::new(http, registry, cfg.check_timeout)),
            decisions: Arc::new(TtlCache::new(cfg.cache_ttl, cfg.cache_entries)),
            grants: TtlCache::new(token_lifetime, cfg.cache_entries),
            flights: SingleFlight::new(),
            metrics,
            https,
        })
    }

    /// Whether pulls of `repository` need credentials.
    pub fn is_private(&self, repository: &str) -> bool {
        self.repositories.iter().any(|p| p.matches(repository))
    }

    /// The registry's verdict on `credential` for `repository` (`""`: may it log in),
    /// remembered or asked for.
    async fn decide(
        &self,
        credential: &Credential,
        repository: &str,
    ) -> Result<Verdict, Unreachable> {
        let key = (credential.hash(), repository.to_owned());
        if let Some(verdict) = self.decisions.get(&key, Instant::now()) {
            self.metrics.cache_hits.increment(1);
            return Ok(verdict);
        }
        let checker = self.checker.clone();
        let decisions = self.decisions.clone();
        let metrics = self.metrics.clone();
        let credential = credential.clone();
        let outcome = self
            .flights
            .run(
                "pull-auth-check",
                key.clone(),
                || None,
                move || async move {
                    metrics.checks.increment(1);
                    let repository = Some(key.1.as_str()).filter(|r| !r.is_empty());
                    let outcome = checker.check(&credential, repository).await;
                    if let Ok(verdict) = outcome {
                        decisions.insert(key, verdict, Instant::now());
                    }
                    outcome
                },
            )
            .await
            .unwrap_or_else(|_| Err(Unreachable("the check was abandoned".into())));
        if let Err(Unreachable(why)) = &outcome {
            self.metrics.unavailable.increment(1);
            tracing::warn!(repository, reason = %why, "pull_auth: the checking registry did not answer");
        }
        outcome
    }
}
