//! Clients of the build-index: [`client`] (one host, and a list of hosts tried in
//! order), with the wire contract the server shares with them: [`api`] (paths, headers,
//! bodies), [`paging`] (`?n=&last=` and `Link`), and
//! their [`error`]; [`update`] is the tag update a replica receives.

pub mod api;
pub mod client;
pub mod error;
pub mod paging;
pub mod update;
