//! Which storage backend serves a namespace.
//!
//! The origin asks through [`BackendLookup`] rather than holding
//! `starling_backend::Backends` directly, so tests (and future wrappers adding fault
//! injection) can hand in any backend; [`crate::run`] uses the configured `Backends`.

use std::sync::Arc;

use starling_backend::{Backend, Backends};
use starling_core::RepoName;

/// Finds the backend of a namespace; `None` means the namespace lives only in the store.
pub trait BackendLookup: Send + Sync + 'static {
    fn backend_for(&self, namespace: &RepoName) -> Option<Arc<dyn Backend>>;
}

impl BackendLookup for Backends {
    fn backend_for(&self, namespace: &RepoName) -> Option<Arc<dyn Backend>> {
        // `NoBackend` is the only error `for_namespace` returns.
        self.for_namespace(namespace).ok()
    }
}

impl<F> BackendLookup for F
where
    F: Fn(&RepoName) -> Option<Arc<dyn Backend>> + Send + Sync + 'static,
{
    fn backend_for(&self, namespace: &RepoName) -> Option<Arc<dyn Backend>> {
        self(namespace)
    }
}

#[cfg(test)]
mod tests {
    use starling_config::NamespaceBackend;

    use super::*;

    #[test]
    fn configured_backends_and_closures_both_answer() {
        let dir = tempfile::tempdir().unwrap();
        let list = [NamespaceBackend::filesystem("team/.*", dir.path()).unwrap()];
        let backends = Backends::new(&list).unwrap();
        let team = RepoName::parse("team/app").unwrap();
        let other = RepoName::parse("other").unwrap();
        assert!(backends.backend_for(&team).is_some());
        assert!(backends.backend_for(&other).is_none());

        let fixed = backends.backend_for(&team).unwrap();
        let closure = move |_: &RepoName| Some(fixed.clone());
        assert!(closure.backend_for(&other).is_some());
    }
}
