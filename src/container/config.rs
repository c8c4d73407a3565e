//! One container, described once: what `skiff run`'s flags and the image's defaults
//! make of it.
//!
//! `cmd/run.rs` fills a [`Config`] from the flags, completes it from the image's
//! config (ENTRYPOINT, CMD, Env, User, WorkingDir, StopSignal), `lifecycle` records it
//! as the container's `config.json`, and [`super::start`] reads it, at the first start
//! and every later one. It plays the part of the OCI runtime spec's `config.json`: all
//! a runtime needs to know, written before anything runs. A new feature adds its field
//! here, and its flag in `cmd/run.rs`; nothing copies fields from one struct to another.
//!
//! What changes from one start to the next (where the image's layers are unpacked, or
//! whether they are) is not part of it: see [`super::RootFs`]. Records written by older
//! skiffs must still load, so a new field is an `Option` (miniserde refuses a missing
//! one) and no field is renamed.
//! <https://github.com/opencontainers/runtime-spec/blob/main/config.md>

use miniserde::{Deserialize, Serialize};

use super::Options;
use crate::cgroup::Limits;

/// The container, as `docker inspect` shows its `Config` and `HostConfig`.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Config {
    /// 64 hex digits; its cgroup is `skiff/ID`, its record `containers/ID/`.
    pub id: String,
    pub name: String,
    /// The image as the user named it, and the manifest it resolved to.
    pub image: String,
    pub image_digest: String,
    pub created: String,
    /// The process: ENTRYPOINT + CMD as Docker combines them, its environment, and its
    /// working directory (its user and capabilities are in `options`).
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub workdir: String,
    pub hostname: String,
    /// `--rm`: the container's directory goes when it exits.
    pub auto_remove: bool,
    /// `--init`: a tiny init of skiff's own is PID 1 and the command its child.
    pub init: bool,
    pub stop_signal: String,
    pub stop_timeout: u32,
    /// `-u`, `-v`, `--tmpfs`, `--read-only`, capabilities, …
    pub options: Options,
    /// `--memory`, `--cpus`, …: applied at every start. Absent in older records.
    pub limits: Option<Limits>,
}
