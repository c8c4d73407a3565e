//! skiff: Docker's `run`, and the commands around it, in one small static binary.
//!
//! The path of `skiff run`, file by file, in the order it runs:
//!
//! 1. `main.rs`: argv → `cmd::dispatch` (`cmd/mod.rs`) → an exit code.
//! 2. `cmd/run.rs`: first, re-execute from a sealed copy of the binary
//!    (`container/sealed_exe.rs`, CVE-2019-5736); then the flags (`cli.rs`) fill a
//!    `container::Config` (`container/config.rs`), the container's one description.
//! 3. `reference.rs`, then `registry/mod.rs` when the store lacks the image (manifest,
//!    config, layers: `registry/*.rs`), into `image/store.rs`, unpacked by
//!    `image/layer.rs`; `image/mod.rs` and `image/config.rs` read the image back and
//!    give its defaults (ENTRYPOINT, CMD, Env, …).
//! 4. `lifecycle/mod.rs`: records the container (`containers/ID/config.json`).
//! 5. `lifecycle/supervisor.rs`: starts it in the foreground (or, with `-d`, from a
//!    supervisor process of its own), waits for it, records its exit.
//! 6. `container/mod.rs`: the recipe, cgroup (`cgroup/mod.rs`) → unshare → fork →
//!    mounts → pivot_root → execve (`container/namespaces.rs`, `rootfs.rs`,
//!    `mounts.rs`, `user.rs`, `capabilities.rs`, `process.rs`).
//! 7. `sys.rs`: every system call, one wrapper each, narrated by `trace.rs`.
//!
//! Errors travel up as one [`error::Error`] and are printed here, once.

#![deny(unsafe_code)]
#![warn(clippy::too_many_lines)]

mod cgroup;
mod cli;
mod cmd;
mod container;
mod digest;
mod error;
mod host_program;
mod image;
mod lifecycle;
mod mountinfo;
mod network;
mod oci;
mod progress;
mod reference;
mod registry;
mod rootless;
mod sort;
#[allow(unsafe_code)]
mod sys;
mod template;
mod terminal;
mod time;
mod trace;
mod units;
mod volume;

use std::io::Write;

use error::{Error, Result};

fn main() {
    let program = std::env::args().next().unwrap_or_default();
    let code = match args().and_then(|args| match oci::runtime_args(&program, &args) {
        Some(runtime) => Ok(oci::main(runtime)),
        None => cmd::dispatch(&args),
    }) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("skiff: {err}");
            err.exit_code()
        }
    };
    let _ = std::io::stdout().flush(); // process::exit skips destructors
    std::process::exit(code);
}

/// argv without the program name; arguments must be UTF-8 (image names and flags are).
fn args() -> Result<Vec<String>> {
    std::env::args_os()
        .skip(1)
        .map(|arg| {
            arg.into_string()
                .map_err(|arg| Error::usage(format!("argument {arg:?} is not valid UTF-8")))
        })
        .collect()
}
