//! The image under test, built once per test process by `scripts/build-image` from the
//! `starling` binary cargo built for these tests, tagged `starling-mh:<pid>` and removed
//! when the process exits (an `atexit` hook: the test harness has no teardown; a run
//! killed before that is cleaned up by the next one's [`crate::docker::sweep_stale`]).

use std::path::Path;

use tokio::sync::OnceCell;

use crate::docker::{self, PREFIX};

static IMAGE: OnceCell<String> = OnceCell::const_new();

/// The tag of the image, building it on first use.
pub async fn image() -> &'static str {
    IMAGE.get_or_init(build).await
}

async fn build() -> String {
    let tag = format!("{PREFIX}:{}", std::process::id());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-image");
    let binary = env!("CARGO_BIN_EXE_starling");
    let script = script.to_str().expect("UTF-8 path");
    let out = starling_testkit::clients::run_ok(
        "bash",
        &[script, "--binary", binary, "--tag", &tag],
        &[],
    )
    .await;
    eprintln!("multihost: {}", out.trim());
    // SAFETY: registers a plain `extern "C"` function without captured state.
    unsafe { libc::atexit(remove_image) };
    tag
}

extern "C" fn remove_image() {
    let tag = format!("{PREFIX}:{}", std::process::id());
    docker::blocking(&["rmi", "-f", &tag]);
}
