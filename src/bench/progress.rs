//! Progress bars on stderr, one per pull, drawn only when stderr is a terminal: piped
//! or redirected output (scripts, tests) stays clean and only the report line remains.
//! Component logs go to stderr too; run with `RUST_LOG=warn` for undisturbed bars.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bars of one benchmark run.
pub struct Progress {
    bars: MultiProgress,
    style: ProgressStyle,
}

impl Progress {
    pub fn new() -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let style = ProgressStyle::with_template(
            "{prefix:>10} [{bar:40}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> ");
        Self {
            bars: MultiProgress::with_draw_target(target),
            style,
        }
    }

    /// A bar for a pull of `total` bytes, labelled `label`.
    pub fn bar(&self, label: &str, total: u64) -> ProgressBar {
        let bar = self
            .bars
            .add(ProgressBar::new(total).with_style(self.style.clone()));
        bar.set_prefix(label.to_owned());
        bar
    }

    /// A line above the bars (or on stderr when they are hidden).
    pub fn note(&self, line: &str) {
        if self.bars.is_hidden() {
            eprintln!("{line}");
        } else {
            let _ = self.bars.println(line);
        }
    }
}

/// Marks a bar finished with the pull's time.
pub fn finish(bar: &ProgressBar, took: Duration) {
    bar.finish_with_message(format!("{:.2}s", took.as_secs_f64()));
}

/// Marks a bar failed.
pub fn abandon(bar: &ProgressBar, error: &anyhow::Error) {
    bar.abandon_with_message(format!("failed: {error:#}"));
}
