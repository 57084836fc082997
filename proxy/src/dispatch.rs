//! The one catch-all route of the registry API: authorize, parse the path into an
//! [`Endpoint`] with `starling_core::registry::parse_path`, then dispatch on (method,
//! endpoint). Every answer, errors included, carries
//! `Docker-Distribution-API-Version: registry/2.0`.
//!
//! Authorization comes before path parsing, so an unauthenticated client learns nothing
//! about which names or uploads exist.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, request::Parts};
use axum::response::{IntoResponse, Response};
use starling_core::registry::{Endpoint, parse_path};
use starling_core::registry_name::canonical;
use starling_registry::headers::{self, API_VERSION, API_VERSION_VALUE};
use starling_registry::{RegistryQuery, ping};
use starling_runtime::ApiError;

use crate::error::Error;
use crate::handlers::{base, blobs, manifests, uploads};
use crate::request::RegistryRequest;
use crate::state::ProxyState;

/// The fallback handler of the router: every path that is not a probe.
pub async fn registry(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let mut response = match route(&state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    response
        .headers_mut()
        .insert(API_VERSION, headers::value(API_VERSION_VALUE));
    response
}

async fn route(state: &ProxyState, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let endpoint = authorize(state, &parts).await?;
    let method = parts.method.clone();
    let client = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    let request = RegistryRequest {
        client,
        query: RegistryQuery::from_uri(&parts.uri),
        headers: parts.headers,
        body,
    };
    dispatch(state, method, endpoint, request).await
}

/// Parses the path and checks credentials where the policy needs them (see
/// [`crate::auth`]); a credential failure wins over a bad path.
async fn authorize(state: &ProxyState, parts: &Parts) -> Result<Endpoint, ApiError> {
    let endpoint = parse_path(parts.uri.path());
    let write = matches!(
        parts.method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let ping = matches!(endpoint, Ok(Endpoint::Base));
    let listing = matches!(
        endpoint,
        Ok(Endpoint::Catalog | Endpoint::Tags { .. } | Endpoint::Referrers { .. })
    );
    if let Some(auth) = &state.auth
        && (write || ping || listing)
    {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION);
        if let Err(error) = auth.check(header.map(|v| v.as_bytes())).await {
            state.metrics.auth_failures.increment(1);
            return Err(error.into());
        }
    }
    Ok(canonical_names(endpoint?))
}

/// Pushes land under the name pulls look up: `docker.io/alpine` is stored as
/// `docker.io/library/alpine` (see `starling_core::registry_name`).
fn canonical_names(endpoint: Endpoint) -> Endpoint {
    use Endpoint as E;
    match endpoint {
        E::Tags { name } => E::Tags {
            name: canonical(name),
        },
        E::Manifest { name, reference } => E::Manifest {
            name: canonical(name),
            reference,
        },
        E::Blob { name, digest } => E::Blob {
            name: canonical(name),
            digest,
        },
        E::StartUpload { name } => E::StartUpload {
            name: canonical(name),
        },
        E::Upload { name, id } => E::Upload {
            name: canonical(name),
            id,
        },
        E::Referrers { name, digest } => E::Referrers {
            name: canonical(name),
            digest,
        },
        other => other,
    }
}

async fn dispatch(
    state: &ProxyState,
    method: Method,
    endpoint: Endpoint,
    request: RegistryRequest,
) -> Result<Response, ApiError> {
    use Endpoint as E;
    let response = match (&method, endpoint) {
        (&Method::GET | &Method::HEAD, E::Base) => ping().await.into_response(),
        (&Method::GET | &Method::HEAD, E::Catalog) => base::catalog(state, &request.query).await?,
        (&Method::GET | &Method::HEAD, E::Tags { name }) => {
            base::tags(state, name, &request.query).await?
        }
        (&Method::GET | &Method::HEAD, E::Referrers { name, digest }) => {
            base::referrers(state, name, digest, &request.query).await?
        }
        (&Method::GET, E::Manifest { name, reference }) => {
            manifests::get(state, name, reference, false)
                .await?
                .into_response()
        }
        (&Method::HEAD, E::Manifest { name, reference }) => {
            manifests::get(state, name, reference, true)
                .await?
                .into_response()
        }
        (&Method::PUT, E::Manifest { name, reference }) => {
            manifests::put(state, name, reference, request)
                .await?
                .into_response()
        }
        (&Method::GET, E::Blob { name, digest }) => blobs::get(state, name, digest, request)
            .await?
            .into_response(),
        (&Method::HEAD, E::Blob { name, digest }) => {
            blobs::head(state, name, digest).await?.into_response()
        }
        (&Method::POST, E::StartUpload { name }) => uploads::start(state, name, request).await?,
        (&Method::GET, E::Upload { name, id }) => {
            uploads::status(state, name, id).await?.into_response()
        }
        (&Method::PATCH, E::Upload { name, id }) => uploads::patch(state, name, id, request)
            .await?
            .into_response(),
        (&Method::PUT, E::Upload { name, id }) => uploads::commit(state, name, id, request)
            .await?
            .into_response(),
        (&Method::DELETE, E::Upload { name, id }) => {
            uploads::cancel(state, name, id).await?.into_response()
        }
        (_, endpoint) => return Err(unsupported(&method, &endpoint).into()),
    };
    Ok(response)
}

/// Deletes and anything else the proxy does not serve: `405 UNSUPPORTED`.
fn unsupported(method: &Method, endpoint: &Endpoint) -> Error {
    let what = endpoint.what();
    Error::Unsupported {
        method: method.to_string(),
        what,
    }
}
