//! `skiff rmi [-f] IMAGE...`: untag images, then delete every blob no remaining image
//! needs (content is shared between images, so only unreferenced blobs may go).

use crate::cli::{self, Lexer};
use crate::error::{Error, Result};
use crate::image::{self, store::Store};
use crate::reference::Reference;

pub const HELP: &str = "Usage:  skiff rmi [OPTIONS] IMAGE [IMAGE...]

Remove one or more images

Options:
  -f, --force   Force removal of the image
  -h, --help    Print usage";

pub fn main(argv: &[String]) -> Result<i32> {
    let mut lexer = Lexer::new(argv);
    while let Some(flag) = lexer.next_flag() {
        match flag.name.as_str() {
            "-h" | "--help" => return cli::help(HELP),
            // No container outlives its run yet, so nothing can hold an image.
            "-f" | "--force" => drop(lexer.switch(&flag)?),
            _ => return Err(cli::unknown(&flag, "rmi")),
        }
    }
    let images = lexer.rest();
    if images.is_empty() {
        return Err(Error::usage(
            "\"skiff rmi\" requires at least 1 argument.\nSee 'skiff rmi --help'.",
        ));
    }
    let store = Store::open()?;
    for image in &images {
        let reference = Reference::parse(image)?.to_string();
        match store.untag(&reference)? {
            Some(_) => println!("Untagged: {reference}"),
            None => return Err(Error::invalid(format!("no such image: {image}"))),
        }
    }
    let removed = image::collect_garbage(&store)?;
    println!("Deleted: {removed} blobs and layers");
    Ok(0)
}
