//! `skiff rmi [-f] IMAGE...`: untag images, then delete every blob no remaining image
//! or container needs (content is shared between images, so only unreferenced blobs
//! may go). An image a container uses is refused unless `-f`.

use crate::cli::{self, Opt};
use crate::error::{Error, Result};
use crate::image::{self, store::Store};
use crate::lifecycle;
use crate::reference::Reference;

pub const HELP: &str = "Usage:  skiff rmi [OPTIONS] IMAGE [IMAGE...]

Remove one or more images

Options:
  -f, --force   Force removal of the image
  -h, --help    Print usage";

pub fn main(argv: &[String]) -> Result<i32> {
    let mut force = false;
    let options = &mut [Opt::Switch(&["-f", "--force"], &mut force)];
    let rest = cli::parse(argv, "rmi", HELP, options)?;
    let images = cli::at_least_one(rest, "rmi")?;
    let store = Store::open()?;
    for image in &images {
        let reference = Reference::parse(image)?.to_string();
        if !force {
            refuse_if_in_use(&store, &reference)?;
        }
        match store.untag(&reference)? {
            Some(_) => println!("Untagged: {reference}"),
            None => return Err(Error::invalid(format!("no such image: {image}"))),
        }
    }
    let removed = image::collect_garbage(&store)?;
    println!("Deleted: {removed} blobs and layers");
    Ok(0)
}

/// Docker's rule: an image a container was made from stays until `-f` (and even then
/// its content stays for the container; only the name goes).
fn refuse_if_in_use(store: &Store, reference: &str) -> Result<()> {
    let Some(manifest) = store.resolve(reference)? else {
        return Ok(());
    };
    match lifecycle::images_in_use()?.into_iter().find(|(_, m)| *m == manifest) {
        Some((container, _)) => Err(Error::invalid(format!(
            "conflict: unable to remove repository reference \"{reference}\" (must force) - container {} is using its referenced image",
            &container[..12]
        ))),
        None => Ok(()),
    }
}
