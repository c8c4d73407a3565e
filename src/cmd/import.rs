//! `skiff import FILE|- REFERENCE`: a root filesystem tarball becomes an image.

use std::fs::File;
use std::io::Read;

use crate::cli;
use crate::error::{Context, Error, Result};
use crate::image::{archive, store::Store, Image};
use crate::reference::Reference;

pub const HELP: &str = "Usage:  skiff import [OPTIONS] FILE|- REFERENCE

Import the contents of a tarball (plain or gzipped) to create a filesystem image

Options:
  -h, --help   Print usage";

pub fn main(argv: &[String]) -> Result<i32> {
    let rest = cli::parse(argv, "import", HELP, &mut [])?;
    let [file, name] = &rest[..] else {
        return Err(Error::usage(
            "\"skiff import\" requires a FILE (or -) and a REFERENCE: skiff keeps only tagged images",
        ));
    };
    let reference = Reference::parse(name)?;
    let mut reader: Box<dyn Read> = match file.as_str() {
        "-" => Box::new(std::io::stdin().lock()),
        path => Box::new(File::open(path).with_context(|| format!("open {path}"))?),
    };
    let store = Store::open()?;
    let manifest = archive::import(&store, &mut reader, &reference)
        .with_context(|| format!("import {file}"))?;
    println!("{}", Image::load(&store, &manifest)?.config_digest);
    Ok(0)
}
