//! HTTP handlers: thin extract-call-respond wrappers around [`crate::state::TrackerState`].

pub mod announce;
pub mod metainfo;
pub mod probes;
