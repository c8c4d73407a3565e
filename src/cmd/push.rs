//! `skiff push NAME[:TAG]`: an image of the store to its registry (see `registry::push`).

use crate::cli;
use crate::error::{Context, Error, Result};
use crate::image::store::Store;
use crate::reference::Reference;
use crate::registry::push;

pub const HELP: &str = "Usage:  skiff push [OPTIONS] NAME[:TAG]

Upload an image to a registry (log in first with 'skiff login')

Options:
  -h, --help   Print usage";

pub fn main(argv: &[String]) -> Result<i32> {
    let rest = cli::parse(argv, "push", HELP, &mut [])?;
    let [name] = &rest[..] else {
        return Err(Error::usage(
            "\"skiff push\" requires exactly 1 argument.\nSee 'skiff push --help'",
        ));
    };
    let reference = Reference::parse(name)?;
    let store = Store::open()?;
    push::push(&reference, &store).with_context(|| format!("push {reference}"))?;
    Ok(0)
}
