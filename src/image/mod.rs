//! Images on disk: the config that says how to run one, and the layers that make its
//! root filesystem.
//! <https://github.com/opencontainers/image-spec/blob/main/spec.md>

pub mod config;
pub mod layer;
