//! The Starling proxy: the Docker Registry v2 push API for CI and builders; blobs go to
//! the origin ring, tags to build-index.
//!
//! Not built yet (issue #5): `starling proxy` checks its configuration and exits non-zero.
//! The crate exists so the workspace layout is in place.
