//! What every test starts with: the engine check (skip, or fail under `CI`), the lock
//! that runs the tests one at a time, the removal of objects dead runs left, skopeo,
//! and the image. Also the Prometheus reading the tests assert on.

use starling_testkit::require_program;
use tokio::sync::{Mutex, MutexGuard};

use crate::docker::{engine_unavailable, sweep_stale};

static SERIAL: Mutex<()> = Mutex::const_new(());
static SWEPT: std::sync::Once = std::sync::Once::new();

/// Held for the whole test.
pub struct Suite {
    _serial: MutexGuard<'static, ()>,
    /// The image under test.
    pub image: &'static str,
}

impl Suite {
    /// `None` (the test returns early) when there is no engine and `CI` is unset.
    pub async fn start() -> Option<Self> {
        if let Some(why) = engine_unavailable().await {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set, so the multi-host tests must run, but {why}"
            );
            eprintln!("skipping the multi-host test: {why}");
            return None;
        }
        let serial = SERIAL.lock().await;
        tokio::task::spawn_blocking(|| SWEPT.call_once(sweep_stale))
            .await
            .unwrap();
        require_program("skopeo", "apt-get install -y skopeo");
        let image = crate::image::image().await;
        Some(Self {
            _serial: serial,
            image,
        })
    }
}

/// The sum of `name`'s samples labelled `class="<class>"` (any class if `None`).
pub fn counter(metrics: &str, name: &str, class: Option<&str>) -> f64 {
    metrics
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| class.is_none_or(|c| line.contains(&format!("class=\"{c}\""))))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
