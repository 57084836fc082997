//! The blob body response of the agent: the same headers as the proxy's (one
//! `starling_registry::blob_headers` for both: `Content-Length`, `Content-Type`,
//! `Docker-Content-Digest`, `Accept-Ranges`, `Content-Range` on a 206), with the bytes
//! counted as they leave. Manifests and blob sizes use the shared response types as
//! they are.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use starling_registry::{blob_headers, headers};

use crate::blobs::BlobRead;
use crate::metrics::AgentMetrics;

/// A blob body; counts the bytes sent and the time to the first of them.
pub struct BlobBody {
    pub read: BlobRead,
    pub started: Instant,
    pub metrics: Arc<AgentMetrics>,
}

impl IntoResponse for BlobBody {
    fn into_response(self) -> Response {
        let BlobRead {
            digest,
            size,
            range,
            body,
        } = self.read;
        let length = range.map_or(size, |r| r.byte_count());
        let metrics = self.metrics;
        metrics.blobs_served.increment(1);
        let started = self.started;
        let mut first = true;
        let counted = body.inspect(move |chunk| {
            if let Ok(chunk) = chunk {
                if first {
                    first = false;
                    metrics
                        .blob_first_byte
                        .record(started.elapsed().as_secs_f64());
                }
                metrics.blob_bytes_served.increment(chunk.len() as u64);
            }
        });
        let mut response = Response::new(Body::from_stream(counted));
        blob_headers(response.headers_mut(), &digest, length);
        if let Some(range) = range {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let value = headers::value(&range.content_range(size));
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        response
    }
}
