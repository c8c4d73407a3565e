//! `skiff start [-a] CONTAINER...`: run stopped containers again, with the writable
//! layer they had. Detached, unless `-a` attaches this terminal to one.
//!
//! `skiff start --restartable` is for boot: Docker's daemon, as it comes up, starts
//! the containers whose `--restart` policy asks for it; skiff has no daemon, so the
//! init system runs this once instead (see `lifecycle::restart::at_boot`). A flag of
//! `start` rather than a command of its own, since that is all it does: start.

use crate::cli::{self, Opt};
use crate::container::RootFs;
use crate::digest::Digest;
use crate::error::{Context, Error, Result};
use crate::image::{store::Store, Image};
use crate::lifecycle::{self, restart, supervisor, Container, Status};

pub const HELP: &str = "Usage:  skiff start [OPTIONS] CONTAINER [CONTAINER...]

Start one or more stopped containers

Options:
  -a, --attach        Attach STDOUT/STDERR and forward signals
  -h, --help          Print usage
      --restartable   Start every container whose restart policy asks for it (at boot)";

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut attach, mut restartable) = (false, false);
    let options = &mut [
        Opt::Switch(&["-a", "--attach"], &mut attach),
        Opt::Switch(&["--restartable"], &mut restartable),
    ];
    let rest = cli::parse(argv, "start", HELP, options)?;
    let queries = match restartable {
        true => cli::no_arguments(&rest, "start --restartable").and_then(|()| restartables())?,
        false => cli::at_least_one(rest, "start")?,
    };
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
        // One that waits to restart has a supervisor already.
        if !matches!(container.status(), Status::Running | Status::Restarting) {
            let rootfs = rootfs(&container)?;
            supervisor::run_detached(&mut container, &rootfs)
                .with_context(|| format!("start {query}"))?;
        }
        println!("{query}");
    }
    Ok(0)
}

/// The containers to start at boot, by ID; what their last skiff left undone is
/// swept first (addresses, cgroups), as after a reboot.
fn restartables() -> Result<Vec<String>> {
    lifecycle::sweep();
    let all = lifecycle::list()?.into_iter();
    let stopped = all.filter(|c| c.damage.is_none() && c.status() == Status::Exited);
    Ok(stopped
        .filter(restart::at_boot)
        .map(|c| c.config.id)
        .collect())
}

fn start_attached(query: &str) -> Result<i32> {
    let mut container = lifecycle::find(query)?;
    if matches!(container.status(), Status::Running | Status::Restarting) {
        return Err(Error::invalid(format!(
            "container {query} is already running"
        )));
    }
    let rootfs = rootfs(&container)?;
    let exit = supervisor::run_attached(&mut container, &rootfs)
        .with_context(|| format!("start {query}"))?;
    Ok(exit.status())
}

/// The container's root filesystem over its image (or its `--rootfs`), read under the
/// store's lock (which then goes).
pub fn rootfs(container: &Container) -> Result<RootFs> {
    let store = Store::open()?;
    if container.config.rootfs.is_some() {
        return lifecycle::rootfs(container, &store, None);
    }
    let image = Image::load(&store, &Digest::parse(&container.config.image_digest)?)
        .with_context(|| format!("image of container {}", container.config.name))?;
    lifecycle::rootfs(container, &store, Some(&image))
}
