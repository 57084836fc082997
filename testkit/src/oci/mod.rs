//! OCI image layouts written by hand, for `skopeo copy oci:<dir>:<tag> ...` and backend
//! tests: [`OciImage`], one image of one random layer; [`Layout`], a layout of small
//! images and multi-platform indexes.

mod image;
mod layout;

pub use image::OciImage;
pub use layout::{Image, Layout, has_blob, tagged_digest};
