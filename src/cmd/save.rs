//! `skiff save -o FILE IMAGE...`: images to one `docker save` archive, so an air-gapped
//! machine can `skiff load` them.

use std::fs;

use crate::cli::{self, Opt};
use crate::error::{Context, Error, Result};
use crate::image::{archive, store::Store};
use crate::reference::Reference;

pub const HELP: &str = "Usage:  skiff save [OPTIONS] IMAGE [IMAGE...]

Save one or more images to a tar archive (streamed to STDOUT by default)

Options:
  -h, --help            Print usage
  -o, --output string   Write to a file, instead of STDOUT";

pub fn main(argv: &[String]) -> Result<i32> {
    let mut output = None;
    let options = &mut [Opt::Value(&["-o", "--output"], &mut output)];
    let rest = cli::parse(argv, "save", HELP, options)?;
    let names = rest;
    if names.is_empty() {
        return Err(Error::usage(
            "\"skiff save\" requires at least 1 argument.\nSee 'skiff save --help'.",
        ));
    }
    let store = Store::open()?;
    let mut images = Vec::new();
    for name in &names {
        let reference = Reference::parse(name)?;
        let manifest = store
            .resolve(&reference.to_string())?
            .ok_or_else(|| Error::invalid(format!("no such image: {name}")))?;
        images.push((reference, manifest));
    }
    match output {
        Some(path) => {
            // Written aside and renamed, so a failed save leaves no half archive.
            let temp = format!("{path}.skiff-partial");
            let mut file = fs::File::create(&temp).with_context(|| format!("create {temp}"))?;
            let saved = archive::save(&store, &images, &mut file).and_then(|()| {
                fs::rename(&temp, &path).with_context(|| format!("rename to {path}"))
            });
            if saved.is_err() {
                let _ = fs::remove_file(&temp); // the save's own error is the one to report
            }
            saved?;
        }
        None if crate::sys::isatty(1) => {
            return Err(Error::usage(
                "refusing to write an archive to a terminal: use -o or a pipe",
            ));
        }
        None => archive::save(&store, &images, &mut std::io::stdout().lock())?,
    }
    Ok(0)
}
