//! Push notifications: after a manifest is stored and tagged, an event in the CNCF
//! distribution registry's format (`starling_core::registry::notification`) goes to
//! every configured endpoint (`notifications:` in the proxy config), so origins can warm
//! the image's blobs and webhook consumers learn of the push.
//!
//! A push never waits for a notification: [`Notifier::pushed`] only puts the event on
//! each endpoint's bounded queue (a full queue drops it, counted as failed), and one
//! background sender per endpoint ([`sender`]) posts events in order with jittered
//! retries. On shutdown the senders stop; events still queued are dropped, as a crashed
//! proxy would drop them: notifications are a hint to warm caches, never the record of
//! a push (the build-index is).

mod sender;

use std::sync::{Arc, Mutex, PoisonError};

use starling_config::ProxyConfig;
use starling_core::registry::notification::{Event, EventRequest, EventSource, PUSH, Target};
use starling_core::{Digest, RepoName};
use starling_runtime::{ClientTls, ClusterToken};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::error::{Error, Result};
use crate::metrics::ProxyMetrics;
use sender::Sender;

/// A manifest that was just pushed, as the notification describes it.
#[derive(Debug, Clone)]
pub struct PushedManifest {
    pub name: RepoName,
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    /// The tag pushed, `None` for a push by digest.
    pub tag: Option<String>,
}

/// Queues push events for the endpoints. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    queues: Vec<(String, mpsc::Sender<Event>)>,
    /// The senders, until [`Notifier::start`] takes them.
    senders: Mutex<Vec<Sender>>,
    source: EventSource,
    base_url: String,
    metrics: Arc<ProxyMetrics>,
}

impl Notifier {
    /// One queue and sender per endpoint in `cfg.notifications`; starts nothing.
    pub fn new(
        cfg: &ProxyConfig,
        token: Option<&ClusterToken>,
        tls: Option<&ClientTls>,
        metrics: Arc<ProxyMetrics>,
    ) -> Result<Self> {
        let mut queues = Vec::new();
        let mut senders = Vec::new();
        for endpoint in &cfg.notifications.endpoints {
            let (tx, rx) = mpsc::channel(endpoint.queue);
            let sender = Sender::new(endpoint, token, tls, rx, metrics.clone())
                .map_err(|e| Error::Notifications(format!("endpoint {:?}: {e}", endpoint.name)))?;
            queues.push((endpoint.name.clone(), tx));
            senders.push(sender);
        }
        let scheme = if cfg.tls.cert_file.is_some() {
            "https"
        } else {
            "http"
        };
        Ok(Self {
            inner: Arc::new(Inner {
                queues,
                senders: Mutex::new(senders),
                source: EventSource {
                    addr: cfg.listen.to_string(),
                    instance_id: format!("{:032x}", rand::random::<u128>()),
                },
                base_url: format!("{scheme}://{}", cfg.listen),
                metrics,
            }),
        })
    }

    /// Starts one sender task per endpoint; they stop when `shutdown` fires. A second
    /// call starts nothing.
    pub fn start(&self, shutdown: &CancellationToken) -> Vec<JoinHandle<()>> {
        let senders = std::mem::take(
            &mut *self
                .inner
                .senders
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        senders
            .into_iter()
            .map(|sender| sender.spawn(shutdown.child_token()))
            .collect()
    }

    /// Queues the event of `pushed` for every endpoint; never waits.
    pub fn pushed(&self, pushed: &PushedManifest) {
        if self.inner.queues.is_empty() {
            return;
        }
        let event = self.event(pushed);
        for (name, queue) in &self.inner.queues {
            if queue.try_send(event.clone()).is_err() {
                self.inner.metrics.notifications_failed.increment(1);
                warn!(endpoint = %name, name = %pushed.name, digest = %pushed.digest, "notification queue full; event dropped");
            }
        }
    }

    fn event(&self, pushed: &PushedManifest) -> Event {
        Event {
            id: format!("{:032x}", rand::random::<u128>()),
            timestamp: humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string(),
            action: PUSH.to_owned(),
            target: Target {
                media_type: pushed.media_type.clone(),
                digest: pushed.digest.to_string(),
                size: pushed.size,
                repository: pushed.name.to_string(),
                url: format!(
                    "{}/v2/{}/manifests/{}",
                    self.inner.base_url, pushed.name, pushed.digest
                ),
                tag: pushed.tag.clone(),
            },
            request: EventRequest {
                method: "PUT".to_owned(),
                ..EventRequest::default()
            },
            actor: Default::default(),
            source: self.inner.source.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use starling_config::NotificationEndpoint;
    use starling_core::registry::notification::Envelope;

    fn notifier(queue: usize) -> (Notifier, Arc<ProxyMetrics>) {
        let mut cfg = ProxyConfig::default();
        cfg.notifications.endpoints.push(NotificationEndpoint {
            name: "a".into(),
            url: "http://127.0.0.1:9/notifications".into(),
            queue,
            ..NotificationEndpoint::default()
        });
        let metrics = Arc::new(ProxyMetrics::new());
        (
            Notifier::new(&cfg, None, None, metrics.clone()).unwrap(),
            metrics,
        )
    }

    fn pushed() -> PushedManifest {
        PushedManifest {
            name: RepoName::parse("team/app").unwrap(),
            digest: Digest::of(b"manifest"),
            media_type: starling_core::registry::media_type::OCI_MANIFEST.into(),
            size: 8,
            tag: Some("v1".into()),
        }
    }

    #[test]
    fn the_event_is_a_manifest_push_receivers_understand() {
        let (notifier, _) = notifier(1);
        let envelope = Envelope {
            events: vec![notifier.event(&pushed())],
        };
        let wire = serde_json::to_vec(&envelope).unwrap();
        let back: Envelope = serde_json::from_slice(&wire).unwrap();
        let found = back.pushed_manifests();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].digest, Digest::of(b"manifest"));
        assert_eq!(found[0].tag.as_ref().unwrap().as_str(), "v1");
        let url = &back.events[0].target.url;
        assert!(
            url.ends_with(&format!(
                "/v2/team/app/manifests/{}",
                Digest::of(b"manifest")
            )),
            "{url}"
        );
    }

    #[test]
    fn a_full_queue_drops_and_counts_without_waiting() {
        // The sender is never started, so the queue of one fills at once.
        let (notifier, metrics) = notifier(1);
        notifier.pushed(&pushed());
        notifier.pushed(&pushed());
        let text = metrics.render();
        assert!(
            text.contains("starling_proxy_notifications_failed_total 1"),
            "{text}"
        );
    }
}
