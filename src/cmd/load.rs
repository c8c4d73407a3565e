//! `skiff load [-i FILE]`: images from a `docker save` archive (old or new format).

use std::fs::File;
use std::io::Read;

use crate::cli::{self, Opt};
use crate::error::{Context, Result};
use crate::image::{archive, store::Store};

pub const HELP: &str = "Usage:  skiff load [OPTIONS]

Load images from a tar archive (read from STDIN by default)

Options:
  -h, --help           Print usage
  -i, --input string   Read from a tar archive file, instead of STDIN
  -q, --quiet          Suppress the load output";

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut input, mut quiet) = (None, false);
    let options = &mut [
        Opt::Value(&["-i", "--input"], &mut input),
        Opt::Switch(&["-q", "--quiet"], &mut quiet),
    ];
    let rest = cli::parse(argv, "load", HELP, options)?;
    cli::no_arguments(&rest, "load")?;
    let mut reader: Box<dyn Read> = match &input {
        Some(path) => Box::new(File::open(path).with_context(|| format!("open {path}"))?),
        None => Box::new(std::io::stdin().lock()),
    };
    let store = Store::open()?;
    let loaded = archive::load(&store, &mut reader).context("load")?;
    if !quiet {
        for reference in loaded {
            println!("Loaded image: {reference}");
        }
    }
    Ok(0)
}
