//! `skiff pull [-q] IMAGE`: fetch an image into the store without running it.

use crate::cli::{self, Opt};
use crate::error::{Context, Error, Result};
use crate::image::store::Store;
use crate::progress::Progress;
use crate::reference::Reference;
use crate::registry::{
    self,
    manifest::{self, Platform},
};

pub const HELP: &str = "Usage:  skiff pull [OPTIONS] NAME[:TAG|@DIGEST]

Download an image from a registry

Options:
  -h, --help              Print usage
      --platform string   Pull this platform (os/arch[/variant]) instead of the host's
  -q, --quiet             Suppress verbose output";

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut platform, mut quiet) = (None, false);
    let options = &mut [
        Opt::Value(&["--platform"], &mut platform),
        Opt::Switch(&["-q", "--quiet"], &mut quiet),
    ];
    let rest = cli::parse(argv, "pull", HELP, options)?;
    let platform = platform
        .as_deref()
        .map_or_else(|| Ok(manifest::host_platform()), Platform::parse)?;
    let [image] = &rest[..] else {
        return Err(Error::usage(
            "\"skiff pull\" requires exactly 1 argument.\nSee 'skiff pull --help'.",
        ));
    };
    let reference = Reference::parse(image)?;
    let store = Store::open()?;
    let mut progress = if quiet {
        Progress::silent()
    } else {
        Progress::to_terminal()
    };
    let pulled = registry::pull(&reference, &platform, &store, &mut progress)
        .with_context(|| format!("pull {reference}"))?;
    if !quiet {
        println!("{}", pulled.summary(&reference));
    }
    println!("{reference}");
    Ok(0)
}
