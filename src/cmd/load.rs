//! `skiff load [-i FILE]`: images from a `docker save` archive (old or new format).

use std::fs::File;
use std::io::Read;

use crate::cli::{self, Lexer};
use crate::error::{Context, Error, Result};
use crate::image::{archive, store::Store};

pub const HELP: &str = "Usage:  skiff load [OPTIONS]

Load images from a tar archive (read from STDIN by default)

Options:
  -h, --help           Print usage
  -i, --input string   Read from a tar archive file, instead of STDIN
  -q, --quiet          Suppress the load output";

pub fn main(argv: &[String]) -> Result<i32> {
    let mut lexer = Lexer::new(argv);
    let (mut input, mut quiet) = (None, false);
    while let Some(flag) = lexer.next_flag() {
        match flag.name.as_str() {
            "-h" | "--help" => return cli::help(HELP),
            "-i" | "--input" => input = Some(lexer.value(&flag)?),
            "-q" | "--quiet" => quiet = lexer.switch(&flag)?,
            _ => return Err(cli::unknown(&flag, "load")),
        }
    }
    if !lexer.rest().is_empty() {
        return Err(Error::usage("\"skiff load\" accepts no arguments."));
    }
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
