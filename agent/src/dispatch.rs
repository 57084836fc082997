//! The one catch-all route of the agent's registry API: parse the path into an
//! [`Endpoint`] with `starling_core::registry::parse_path`, map containerd's `?ns=` onto
//! the repository ([`crate::namespace`]), then dispatch on (method, endpoint). Only the
//! read side exists here; pushes go to the proxy. Every answer, errors included, carries
//! `Docker-Distribution-API-Version: registry/2.0`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use starling_core::registry::{Endpoint, parse_path};
use starling_core::{Digest, RepoName};
use starling_registry::headers::{self, API_VERSION, API_VERSION_VALUE};
use starling_registry::{BlobStat, ManifestBody, RegistryQuery, paged, ping};
use starling_runtime::ApiError;

use crate::error::Error;
use crate::manifests;
use crate::pull_auth::Target;
use crate::responses::BlobBody;
use crate::state::AgentState;

/// The fallback handler of the registry router.
pub async fn registry(State(state): State<Arc<AgentState>>, request: Request) -> Response {
    let mut response = match route(&state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    response
        .headers_mut()
        .insert(API_VERSION, headers::value(API_VERSION_VALUE));
    response
}

async fn route(state: &Arc<AgentState>, request: Request) -> Result<Response, ApiError> {
    let started = Instant::now();
    let endpoint = parse_path(request.uri().path())?;
    let query = RegistryQuery::from_uri(request.uri());
    let endpoint = map_namespace(state, endpoint, query.get("ns"))?;
    if let Some(gate) = &state.pull_auth {
        gate.authorize(request.headers(), pull_auth_target(&endpoint))
            .await?;
    }
    let range = request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let method = request.method().clone();
    use Endpoint as E;
    let response = match (&method, endpoint) {
        (&Method::GET | &Method::HEAD, E::Base) => ping().await.into_response(),
        (&Method::GET | &Method::HEAD, E::Catalog) => {
            let listed = state
                .listing
                .catalog(query.get("n"), query.get("last"))
                .await
                .map_err(Error::from)?;
            paged(listed)
        }
        (&Method::GET | &Method::HEAD, E::Tags { name }) => {
            let listed = state
                .listing
                .tags(&name, query.get("n"), query.get("last"))
                .await
                .map_err(Error::from)?;
            paged(listed)
        }
        (&Method::GET | &Method::HEAD, E::Referrers { name, digest }) => state
            .listing
            .referrers(&name, &digest, query.artifact_type())
            .await
            .map_err(Error::from)?
            .into_response(),
        (&Method::GET | &Method::HEAD, E::Manifest { name, reference }) => {
            let manifest = manifests::fetch(&state.tags, &state.blobs, &name, &reference).await?;
            state.metrics.manifests_served.increment(1);
            ManifestBody {
                manifest,
                head: method == Method::HEAD,
            }
            .into_response()
        }
        (&Method::HEAD, E::Blob { name, digest }) => blob_head(state, &name, digest).await?,
        (&Method::GET, E::Blob { name, digest }) => {
            let read = state.blobs.read(&name, &digest, range.as_deref()).await?;
            BlobBody {
                read,
                started,
                metrics: state.metrics.clone(),
            }
            .into_response()
        }
        (_, endpoint) => return Err(unsupported(&method, &endpoint).into()),
    };
    Ok(response)
}

async fn blob_head(
    state: &AgentState,
    name: &RepoName,
    digest: Digest,
) -> Result<Response, ApiError> {
    let size = state.blobs.stat(name, &digest).await?;
    Ok(BlobStat { digest, size }.into_response())
}

/// Applies containerd's `?ns=` to the repository of a named endpoint.
fn map_namespace(
    state: &AgentState,
    endpoint: Endpoint,
    ns: Option<&str>,
) -> Result<Endpoint, Error> {
    use Endpoint as E;
    let resolve = |name: RepoName| state.namespaces.resolve(name, ns);
    Ok(match endpoint {
        E::Tags { name } => E::Tags {
            name: resolve(name)?,
        },
        E::Manifest { name, reference } => E::Manifest {
            name: resolve(name)?,
            reference,
        },
        E::Blob { name, digest } => E::Blob {
            name: resolve(name)?,
            digest,
        },
        E::Referrers { name, digest } => E::Referrers {
            name: resolve(name)?,
            digest,
        },
        other => other,
    })
}

/// What the pull-authorization gate checks for `endpoint` (`crate::pull_auth`).
fn pull_auth_target(endpoint: &Endpoint) -> Target<'_> {
    match (endpoint, endpoint.name()) {
        (_, Some(name)) => Target::Repository(name.as_str()),
        (Endpoint::Catalog, None) => Target::Catalog,
        (_, None) => Target::Base,
    }
}

/// Pushes, deletes and anything else that is not a pull: `405 UNSUPPORTED`.
fn unsupported(method: &Method, endpoint: &Endpoint) -> Error {
    let what = endpoint.what();
    Error::Unsupported {
        method: method.to_string(),
        what,
    }
}
