//! `skiff diff CONTAINER`: what the container changed in its filesystem, from its own
//! overlayfs upper dir over its image's layers (see `image::changes`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::cli;
use crate::error::{Error, Result};
use crate::image::changes::{self, Kind};
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
    for (letter, path) in lines(&upper, &lower)? {
        println!("{letter} {}", path.display());
    }
    Ok(0)
}

/// Docker's lines: `A` added, `C` changed, `D` deleted, in the walk's order. A
/// directory that only holds changes is itself listed as changed before the first
/// thing added to it or deleted from it, as Docker does (moby's `pkg/archive/changes.go`).
fn lines(upper: &Path, lower: &[PathBuf]) -> Result<Vec<(char, PathBuf)>> {
    let mut lines = Vec::new();
    let mut changed_dirs = HashSet::new();
    changes::walk(upper, lower, &mut |change| {
        let letter = match change.kind {
            Kind::Holds => return Ok(()),
            Kind::Added => 'A',
            Kind::Deleted => 'D',
            Kind::Changed | Kind::Opaque => 'C',
        };
        let path = Path::new("/").join(change.path);
        if change.meta.is_dir() {
            changed_dirs.insert(path.clone());
        }
        let parent = path.parent().filter(|dir| *dir != Path::new("/"));
        if let Some(dir) = parent.filter(|_| letter != 'C') {
            if changed_dirs.insert(dir.to_path_buf()) {
                lines.push(('C', dir.to_path_buf()));
            }
        }
        lines.push((letter, path));
        Ok(())
    })?;
    Ok(lines)
}
