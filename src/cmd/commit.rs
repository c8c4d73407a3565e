//! `skiff commit CONTAINER REPOSITORY[:TAG]`: a container's changes as a new image
//! (see `image::commit`), frozen meanwhile so that what is read is one moment's.

use crate::cgroup;
use crate::cli::{self, Opt};
use crate::digest::Digest;
use crate::error::{Context, Error, Result};
use crate::image::commit::{self, Step};
use crate::image::store::Store;
use crate::lifecycle::{self, Status};
use crate::reference::Reference;

pub const HELP: &str = "Usage:  skiff commit [OPTIONS] CONTAINER REPOSITORY[:TAG]

Create a new image from a container's changes

Options:
  -a, --author string    Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")
  -h, --help             Print usage
  -m, --message string   Commit message
  -p, --pause            Pause container during commit (default true)";

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut author, mut message, mut pause) = (None, None, true);
    let options = &mut [
        Opt::Value(&["-a", "--author"], &mut author),
        Opt::Value(&["-m", "--message"], &mut message),
        Opt::Switch(&["-p", "--pause"], &mut pause),
    ];
    let rest = cli::parse(argv, "commit", HELP, options)?;
    let [query, name] = &rest[..] else {
        return Err(Error::usage(
            "\"skiff commit\" requires a CONTAINER and a REPOSITORY[:TAG]: skiff keeps only tagged images",
        ));
    };
    let reference = Reference::parse(name)?;
    if reference.digest.is_some() {
        return Err(Error::usage(format!(
            "cannot commit to a digest reference: {name}"
        )));
    }
    let store = Store::open()?;
    let container = lifecycle::find(query)?;
    let upper = container.dir.join("upper");
    if !upper.is_dir() {
        return Err(Error::invalid(format!(
            "container {query} has no writable layer of its own to commit (its root is a copy)"
        )));
    }
    if let Some(dir) = &container.config.rootfs {
        return Err(Error::invalid(format!(
            "container {query} runs the directory {dir}, not an image: nothing to commit onto"
        )));
    }
    let parent = Digest::parse(&container.config.image_digest)?;
    let step = Step {
        created_by: container.config.process.argv.join(" "),
        comment: message.as_deref(),
        author: author.as_deref(),
    };
    let id = &container.config.id;
    let freeze = pause && container.status() == Status::Running && !container.is_paused();
    if freeze {
        cgroup::freeze(id, true)?;
    }
    let maps = crate::container::recorded_maps(&container.config.options, &container.dir)?;
    let layer = (upper.as_path(), maps.as_ref());
    let made = commit::commit(&store, layer, &parent, &step, &reference.to_string());
    let thawed = if freeze {
        cgroup::freeze(id, false)
    } else {
        Ok(())
    };
    let image = made.with_context(|| format!("commit {query}"))?;
    thawed?;
    println!("{image}");
    Ok(0)
}
