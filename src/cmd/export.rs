//! `skiff export [-o FILE] CONTAINER`: the container's filesystem as one tar stream,
//! its layers and its own changes merged, without its volumes (as Docker's).

use std::fs::File;
use std::io;

use crate::cli::{self, Opt};
use crate::container::files::{self, Owners, Root};
use crate::container::recorded_maps;
use crate::error::{Context, Error, Result};
use crate::lifecycle;

pub const HELP: &str = "Usage:  skiff export [OPTIONS] CONTAINER

Export a container's filesystem as a tar archive

Options:
  -o, --output string   Write to a file, instead of STDOUT";

pub fn main(argv: &[String]) -> Result<i32> {
    let mut output = None;
    let rest = cli::parse(
        argv,
        "export",
        HELP,
        &mut [Opt::Value(&["-o", "--output"], &mut output)],
    )?;
    let [query] = &rest[..] else {
        return Err(Error::usage(
            "\"skiff export\" requires exactly 1 argument.\nSee 'skiff export --help'.",
        ));
    };
    if output.is_none() && crate::sys::isatty(1) {
        return Err(Error::usage(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect",
        ));
    }
    // The container first: a mistyped name leaves `-o`'s file alone, as with Docker.
    let container = lifecycle::find(query)?;
    let rootfs = super::start::rootfs(&container)?;
    let file = match &output {
        Some(path) => Some(File::create(path).with_context(|| format!("create {path}"))?),
        None => None,
    };
    // With a user namespace of its own: its IDs, not the host's (`files`).
    let maps = recorded_maps(&container.config.options, &container.dir)?;
    let owners = maps.as_ref().map_or(Owners::Kept, Owners::Inside);
    let (visit, _) = files::visit(Root::Mounted(&rootfs, false), true, |_| match file {
        Some(mut file) => files::archive("/", false, owners, &mut file),
        None => files::archive("/", false, owners, &mut io::stdout().lock()),
    })?;
    visit.finish().with_context(|| format!("export {query}"))?;
    Ok(0)
}
