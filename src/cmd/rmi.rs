//! `skiff rmi [-f] IMAGE...`: untag images, then delete every blob no remaining image
//! or container needs (content is shared between images, so only unreferenced blobs
//! may go). An image a container uses is refused unless `-f`.

use crate::cli::{self, Opt};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image;
use crate::image::store::{Removed, Store};
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
    lifecycle::sweep();
    let in_use = lifecycle::images_in_use()?;
    for image in &images {
        let reference = Reference::parse(image)?.to_string();
        if !force {
            refuse_if_in_use(&store, &reference, &in_use.images)?;
        }
        match store.untag(&reference)? {
            Some(_) => println!("Untagged: {reference}"),
            None => return Err(Error::invalid(format!("no such image: {image}"))),
        }
    }
    if let Some(removed) = collect(&store, in_use)? {
        println!("Deleted: {} blobs and layers", removed.digests.len());
    }
    Ok(0)
}

/// Deletes what no tagged image and no container needs; nothing, with a warning, while
/// a damaged record hides which image its container needs, or a damaged image index
/// which images its names needed.
pub fn collect(store: &Store, in_use: lifecycle::ImagesInUse) -> Result<Option<Removed>> {
    if let Some(dead) = &in_use.unknown {
        let dead = lifecycle::short(dead);
        eprintln!(
            "skiff: warning: deleted no blobs: the damaged record of container {dead} does not say which image it needs (skiff rm removes it)"
        );
        return Ok(None);
    }
    if let Some(lost) = store.lost_index() {
        eprintln!(
            "skiff: warning: deleted no blobs: {} was damaged with no copy, so which blobs its images need is unknown (remove it to let skiff delete them)",
            lost.display()
        );
        return Ok(None);
    }
    let manifests: Vec<Digest> = in_use.images.into_iter().map(|(_, m)| m).collect();
    image::collect_garbage(store, &manifests).map(Some)
}

/// Docker's rule: an image a container was made from stays until `-f` (and even then
/// its content stays for the container; only the name goes).
fn refuse_if_in_use(store: &Store, reference: &str, in_use: &[(String, Digest)]) -> Result<()> {
    let Some(manifest) = store.resolve(reference)? else {
        return Ok(());
    };
    match in_use.iter().find(|(_, m)| *m == manifest) {
        Some((container, _)) => Err(Error::invalid(format!(
            "conflict: unable to remove repository reference \"{reference}\" (must force) - container {} is using its referenced image",
            lifecycle::short(container)
        ))),
        None => Ok(()),
    }
}
