//! `skiff diff CONTAINER`: what the container changed in its filesystem, from its own
//! overlayfs upper dir over its image's layers (see `container::files::changes`).

use crate::cli;
use crate::container::files;
use crate::error::{Error, Result};
use crate::lifecycle;

pub const HELP: &str = "Usage:  skiff diff CONTAINER

Inspect changes to files or directories on a container's filesystem";

pub fn main(argv: &[String]) -> Result<i32> {
    let rest = cli::parse(argv, "diff", HELP, &mut [])?;
    let [query] = &rest[..] else {
        return Err(Error::usage(
            "\"skiff diff\" requires exactly 1 argument.\nSee 'skiff diff --help'.",
        ));
    };
    let container = lifecycle::find(query)?;
    let rootfs = super::start::rootfs(&container)?;
    let Some(layers) = &rootfs.layers else {
        return Err(Error::invalid(format!(
            "{query} has no layers of its own here (a private copy): no changes to tell"
        )));
    };
    let lower: Vec<_> = layers
        .names
        .iter()
        .rev()
        .map(|n| layers.dir.join(n))
        .collect();
    let upper = container.dir.join("upper");
    if !upper.exists() {
        return Ok(0); // never started: nothing changed yet
    }
    for (kind, path) in files::changes(&upper, &lower)? {
        println!("{kind} {}", path.display());
    }
    Ok(0)
}
