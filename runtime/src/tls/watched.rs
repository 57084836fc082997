//! A value built from files and built again when they change on disk, so rotated
//! certificates (a renewed Kubernetes Secret, a cert-manager renewal) are used without
//! a restart.
//!
//! [`Watched::current`] is called on every TLS handshake. It stats the files at most
//! once per [`CHECK_INTERVAL`] (a few microseconds), and rebuilds only when a file's
//! identity changed: its inode (Secrets are updated by swapping a symlink), size or
//! modification time. A rebuild that fails — a half-written file, a key that does not
//! match its certificate — keeps the previous value and logs an error once per change
//! seen, so a bad rotation never takes a listener down.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::TlsError;

/// How often the files are looked at, at most.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// One file's identity: when it changes, the file is read again.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(metadata: &Metadata) -> Self {
        Self {
            inode: metadata.ino(),
            len: metadata.len(),
            modified: metadata.modified().ok(),
        }
    }
}

type Build<T> = Box<dyn Fn() -> Result<T, TlsError> + Send + Sync>;

struct State<T> {
    current: Arc<T>,
    /// What the files looked like when `current` was built, or when a rebuild last
    /// failed (so a bad file is reported once, not on every handshake).
    stamps: Vec<Option<Stamp>>,
    checked: Instant,
}

/// A value of type `T` built by `build` from `files`.
pub struct Watched<T> {
    what: &'static str,
    files: Vec<PathBuf>,
    build: Build<T>,
    state: Mutex<State<T>>,
}

impl<T> Watched<T> {
    /// Builds the first value now; its error fails the caller (the component's start).
    pub fn new(
        what: &'static str,
        files: Vec<PathBuf>,
        build: impl Fn() -> Result<T, TlsError> + Send + Sync + 'static,
    ) -> Result<Self, TlsError> {
        let stamps = stamps(&files);
        let current = Arc::new(build()?);
        Ok(Self {
            what,
            files,
            build: Box::new(build),
            state: Mutex::new(State {
                current,
                stamps,
                checked: Instant::now(),
            }),
        })
    }

    /// The value, rebuilt first if the files changed since it was built.
    pub fn current(&self) -> Arc<T> {
        let mut state = self.state.lock().expect("watched files lock poisoned");
        if state.checked.elapsed() < CHECK_INTERVAL {
            return state.current.clone();
        }
        state.checked = Instant::now();
        let seen = stamps(&self.files);
        if seen == state.stamps {
            return state.current.clone();
        }
        state.stamps = seen;
        match (self.build)() {
            Ok(value) => {
                tracing::info!(what = self.what, files = ?self.files, "TLS files changed: reloaded");
                state.current = Arc::new(value);
            }
            Err(error) => {
                tracing::error!(what = self.what, %error, "TLS files changed but cannot be used: keeping the previous ones");
            }
        }
        state.current.clone()
    }
}

impl<T> std::fmt::Debug for Watched<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watched")
            .field("what", &self.what)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

fn stamps(files: &[PathBuf]) -> Vec<Option<Stamp>> {
    files
        .iter()
        .map(|path| std::fs::metadata(path).ok().map(|m| Stamp::of(&m)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: PathBuf) -> impl Fn() -> Result<String, TlsError> {
        move || {
            let text = std::fs::read_to_string(&path).map_err(|source| TlsError::Read {
                field: "test",
                path: path.clone(),
                source,
            })?;
            if text.starts_with("bad") {
                return Err(TlsError::Invalid {
                    field: "test",
                    path: path.clone(),
                    reason: "bad".into(),
                });
            }
            Ok(text)
        }
    }

    fn after_interval<T>(watched: &Watched<T>) {
        watched.state.lock().unwrap().checked -= CHECK_INTERVAL;
    }

    #[test]
    fn a_changed_file_is_reloaded_and_a_bad_one_keeps_the_old_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("value");
        std::fs::write(&path, "one").unwrap();
        let watched = Watched::new("test", vec![path.clone()], read(path.clone())).unwrap();
        assert_eq!(*watched.current(), "one");

        // Replaced the way a Secret update does it: a new file renamed over the old.
        let next = dir.path().join("next");
        std::fs::write(&next, "two!").unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert_eq!(
            *watched.current(),
            "one",
            "not looked at within the interval"
        );
        after_interval(&watched);
        assert_eq!(*watched.current(), "two!");

        std::fs::write(&next, "bad file").unwrap();
        std::fs::rename(&next, &path).unwrap();
        after_interval(&watched);
        assert_eq!(*watched.current(), "two!");

        std::fs::remove_file(&path).unwrap();
        after_interval(&watched);
        assert_eq!(
            *watched.current(),
            "two!",
            "a missing file keeps the old value too"
        );
    }

    #[test]
    fn a_bad_first_file_fails_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("value");
        std::fs::write(&path, "bad").unwrap();
        assert!(Watched::new("test", vec![path.clone()], read(path)).is_err());
    }
}
