//! `skiff start [-a] CONTAINER...`: run stopped containers again, with the writable
//! layer they had. Detached, unless `-a` attaches this terminal to one.

use crate::cli::{self, Opt};
use crate::container::RootFs;
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
    // First: the processes that start containers must not be the host's binary.
    crate::container::reexec_from_sealed_copy()?; // CVE-2019-5736
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
            let rootfs = rootfs(&container)?;
            supervisor::run_detached(&mut container, &rootfs)
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
    let rootfs = rootfs(&container)?;
    let exit = supervisor::run_attached(&mut container, &rootfs)
        .with_context(|| format!("start {query}"))?;
    Ok(exit.status())
}

/// The container's root filesystem over its image, read under the store's lock (which
/// then goes).
fn rootfs(container: &Container) -> Result<RootFs> {
    let store = Store::open()?;
    let image = Image::load(&store, &Digest::parse(&container.config.image_digest)?)
        .with_context(|| format!("image of container {}", container.config.name))?;
    lifecycle::rootfs(container, &store, &image)
}
