//! skiff: Docker's `run`, and the commands around it, in one small static binary.
//!
//! The path of `skiff run`, top-down:
//! `main` → `cmd::run` (flags) → `registry::pull` (manifest, config, layers) →
//! `container::start` (cgroup, namespaces, rootfs, exec) → `sys` (every system call).
//! Errors travel up as one [`error::Error`] and are printed here, once.

#![deny(unsafe_code)]
#![warn(clippy::too_many_lines)]

mod cgroup;
mod cli;
mod cmd;
mod container;
mod digest;
mod error;
mod image;
mod lifecycle;
mod mountinfo;
mod progress;
mod reference;
mod registry;
#[allow(unsafe_code)]
mod sys;
mod terminal;
mod time;
mod trace;
mod units;

use std::io::Write;

use error::{Error, Result};

fn main() {
    let code = match args().and_then(|args| cmd::dispatch(&args)) {
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
