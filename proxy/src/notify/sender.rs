//! One endpoint's sender: posts queued events one envelope each, in order, retrying a
//! failed post (unreachable, timeout, non-2xx) with `runtime::Backoff` up to the
//! endpoint's `attempts`, then dropping it. Counts sent and failed events.

use std::sync::Arc;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use starling_config::NotificationEndpoint;
use starling_core::registry::notification::{EVENTS_MEDIA_TYPE, Envelope, Event};
use starling_runtime::tls::with_client_tls;
use starling_runtime::{Backoff, ClientTls, ClusterToken, spawn_named};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::metrics::ProxyMetrics;

pub(super) struct Sender {
    name: String,
    url: String,
    http: reqwest::Client,
    attempts: u32,
    backoff: Backoff,
    events: mpsc::Receiver<Event>,
    metrics: Arc<ProxyMetrics>,
}

impl Sender {
    pub(super) fn new(
        endpoint: &NotificationEndpoint,
        token: Option<&ClusterToken>,
        tls: Option<&ClientTls>,
        events: mpsc::Receiver<Event>,
        metrics: Arc<ProxyMetrics>,
    ) -> Result<Self, String> {
        let mut headers = HeaderMap::new();
        for (name, value) in &endpoint.headers {
            let name = HeaderName::try_from(name.as_str()).map_err(|e| e.to_string())?;
            let mut value = HeaderValue::try_from(value.as_str()).map_err(|e| e.to_string())?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        if endpoint.cluster_token
            && let Some(token) = token
        {
            headers.insert(AUTHORIZATION, token.header_value());
        }
        let timeout = endpoint.timeout;
        let http = starling_runtime::build_http_client(|b| {
            with_client_tls(b.timeout(timeout), tls).default_headers(headers.clone())
        })
        .map_err(|e| e.to_string())?;
        Ok(Self {
            name: endpoint.name.clone(),
            url: endpoint.url.clone(),
            http,
            attempts: endpoint.attempts,
            backoff: Backoff::new(endpoint.initial_backoff, endpoint.max_backoff),
            events,
            metrics,
        })
    }

    pub(super) fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        spawn_named("notifications", self.run(shutdown))
    }

    async fn run(mut self, shutdown: CancellationToken) -> Result<(), std::convert::Infallible> {
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                event = self.events.recv() => match event {
                    Some(event) => event,
                    None => return Ok(()),
                },
            };
            self.deliver(event, &shutdown).await;
        }
    }

    /// Posts one event until it is accepted, the attempts run out or shutdown fires.
    async fn deliver(&self, event: Event, shutdown: &CancellationToken) {
        let body = Envelope {
            events: vec![event],
        };
        for attempt in 1..=self.attempts {
            match self.post(&body).await {
                Ok(()) => {
                    self.metrics.notifications_sent.increment(1);
                    debug!(endpoint = %self.name, attempt, "notification sent");
                    return;
                }
                Err(error) if attempt < self.attempts => {
                    debug!(endpoint = %self.name, attempt, %error, "notification failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(self.backoff.delay(attempt)) => {}
                    }
                }
                Err(error) => {
                    self.metrics.notifications_failed.increment(1);
                    warn!(endpoint = %self.name, attempts = self.attempts, %error, "notification dropped");
                }
            }
        }
    }

    async fn post(&self, body: &Envelope) -> Result<(), String> {
        let json = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let response = self
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, EVENTS_MEDIA_TYPE)
            .body(json)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    }
}
