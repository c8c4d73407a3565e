//! `skiff start [-a] CONTAINER...`: run stopped containers again, with the writable
//! layer they had. Detached, unless `-a` attaches this terminal to one.

use crate::cli::{self, Opt};
use crate::digest::Digest;
use crate::error::{Context, Error, Result};
use crate::image::{store::Store, Image};
use crate::lifecycle::{self, supervisor, Container, Status};

pub const HELP: &str = "Usage:  skiff start [OPTIONS] CONTAINER [CONTAINER...]

Start one or more stopped containers

Options:
  -a, --attach   Attach STDOUT/STDERR and forward signals
  -h, --help     Print usage";

pub fn main(argv: &[String]) -> Result<i32> {
    let mut attach = false;
    let options = &mut [Opt::Switch(&["-a", "--attach"], &mut attach)];
    let rest = cli::parse(argv, "start", HELP, options)?;
    let queries = cli::at_least_one(rest, "start")?;
    crate::container::reexec_sealed()?; // CVE-2019-5736: no path to the host's binary
    if attach {
        let [query] = &queries[..] else {
            return Err(Error::usage(
                "you cannot start and attach multiple containers at once",
            ));
        };
        return start_attached(query);
    }
    for query in queries {
        let mut container = lifecycle::find(&query)?;
        if container.status() != Status::Running {
            let spec = spec(&container)?;
            supervisor::run_detached(&mut container, &spec)
                .with_context(|| format!("start {query}"))?;
        }
        println!("{query}");
    }
    Ok(0)
}

fn start_attached(query: &str) -> Result<i32> {
    let mut container = lifecycle::find(query)?;
    if container.status() == Status::Running {
        return Err(Error::invalid(format!(
            "container {query} is already running"
        )));
    }
    let spec = spec(&container)?;
    let exit = supervisor::run_attached(&mut container, &spec)
        .with_context(|| format!("start {query}"))?;
    Ok(exit.status())
}

/// The container's spec over its image, read under the store's lock (which then goes).
fn spec(container: &Container) -> Result<crate::container::Spec> {
    let store = Store::open()?;
    let image = Image::load(&store, &Digest::parse(&container.config.image_digest)?)
        .with_context(|| format!("image of container {}", container.config.name))?;
    lifecycle::spec(container, &store, &image)
}
