//! `skiff tag SOURCE TARGET`: one more name in the store's index (`repositories.json`)
//! for an image it holds; the content is shared, nothing is copied.

use crate::cli;
use crate::error::{Error, Result};
use crate::image::store::Store;
use crate::reference::Reference;

pub const HELP: &str = "Usage:  skiff tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]

Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE";

pub fn main(argv: &[String]) -> Result<i32> {
    let rest = cli::parse(argv, "tag", HELP, &mut [])?;
    let [source, target] = &rest[..] else {
        return Err(Error::usage(
            "\"skiff tag\" requires exactly 2 arguments.\nSee 'skiff tag --help'",
        ));
    };
    let target = Reference::parse(target)?;
    if target.digest.is_some() {
        return Err(Error::usage(format!(
            "refusing to create a tag with a digest reference: {target}"
        )));
    }
    let store = Store::open()?;
    let source_ref = Reference::parse(source)?.to_string();
    let Some(manifest) = store.resolve(&source_ref)? else {
        return Err(Error::invalid(format!("No such image: {source}")));
    };
    store.tag(&target.to_string(), &manifest)?;
    Ok(0)
}
