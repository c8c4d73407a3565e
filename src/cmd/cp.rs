//! `skiff cp CONTAINER:SRC DEST|-` and `skiff cp SRC|- CONTAINER:DEST`: files both ways
//! as one tar stream between two processes, one of them inside the container's root
//! (see `container::files`, which says why and how).

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;

use crate::cli::{self, Opt};
use crate::container::files::{self, Owners, Root};
use crate::container::recorded_maps;
use crate::error::{Error, Kind, Result};
use crate::lifecycle::{self, Container, Status};

pub const HELP: &str = "Usage:  skiff cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-
        skiff cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH

Copy files/folders between a container and the local filesystem

Use '-' as the source to read a tar archive from stdin
and extract it to a directory destination in a container.
Use '-' as the destination to stream a tar archive of a
container source to stdout.

Options:
  -a, --archive       Archive mode (copy all uid/gid information)
  -L, --follow-link   Always follow symbol link in SRC_PATH
  -q, --quiet         Suppress progress output during copy";

struct Args {
    archive: bool,
    follow: bool,
    src: String,
    dest: String,
}

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut archive, mut follow, mut quiet) = (false, false, false);
    let options = &mut [
        Opt::Switch(&["-a", "--archive"], &mut archive),
        Opt::Switch(&["-L", "--follow-link"], &mut follow),
        Opt::Switch(&["-q", "--quiet"], &mut quiet),
    ];
    let rest = cli::parse(argv, "cp", HELP, options)?;
    let [src, dest] = <[String; 2]>::try_from(rest).map_err(|_| {
        Error::usage("\"skiff cp\" requires exactly 2 arguments.\nSee 'skiff cp --help'.")
    })?;
    let args = Args {
        archive,
        follow,
        src,
        dest,
    };
    // Docker's CLI exits 1 whatever went wrong in a copy.
    run(&args).map_err(|err| Error::new(Kind::Refused(err.to_string())))?;
    Ok(0)
}

/// `NAME:PATH` names a container's path, unless it starts like a local path does.
fn split(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with(['/', '.']) {
        return None;
    }
    arg.split_once(':')
}

fn run(args: &Args) -> Result<()> {
    match (split(&args.src), split(&args.dest)) {
        (Some(_), Some(_)) => Err(Error::usage("copying between containers is not supported")),
        (None, None) => Err(Error::usage("must specify at least one container source")),
        (Some((query, src)), None) => copy_out(args, &lifecycle::find(query)?, query, src),
        (None, Some((query, dest))) => copy_in(args, &lifecycle::find(query)?, dest),
    }
}

/// How to reach `container`'s root: through its PID 1 while it runs, else mounted
/// (not to write, with a user namespace of its own).
fn with_root<T>(
    container: &Container,
    writable: bool,
    then: impl FnOnce(Root) -> Result<T>,
) -> Result<T> {
    let pid = container.state.pid;
    if container.status() == Status::Running && pid.is_alive() {
        return then(Root::Running(pid.pid));
    }
    // Mounted apart, its files are not shifted into its range of IDs: what cp wrote
    // would be nobody's inside. Running, cp writes through its own mounts.
    if writable && !matches!(container.config.options.userns_mode().as_str(), "" | "host") {
        return Err(Error::invalid(
            "cannot copy into a container with its own user namespace while it is not running",
        ));
    }
    crate::rootless::enter_now()?; // cp stays out of it for a running container
    let rootfs = super::start::rootfs(container)?;
    then(Root::Mounted(&rootfs, writable))
}

/// Out of the container: its child archives, this process unpacks (or passes the
/// archive on to stdout). On the host, the files are the caller's, as Docker's are;
/// in an archive, the container's own IDs (`files`).
fn copy_out(args: &Args, container: &Container, query: &str, src: &str) -> Result<()> {
    let me = fs::metadata("/proc/self")?; // owned by this process's user and group
    let to_stdout = args.dest == "-";
    let maps = recorded_maps(&container.config.options, &container.dir)?;
    let owner = match (to_stdout, &maps) {
        (false, _) => Owners::All(me.uid(), me.gid()),
        (true, Some(maps)) => Owners::Inside(maps),
        (true, None) => Owners::Kept,
    };
    let follow = args.follow;
    with_root(container, false, |root| {
        let (visit, ours) = files::visit(root, true, |theirs| {
            // Only what is missing is "no such path": `FILE/` is not a directory.
            let plain = match src.trim_end_matches('/') {
                "" => "/",
                plain => plain,
            };
            let found = match follow {
                true => fs::metadata(plain),
                false => fs::symlink_metadata(plain),
            };
            if found.is_err() {
                return Err(Error::invalid(format!(
                    "No such container:path: {query}:{src}"
                )));
            }
            match to_stdout {
                true => files::archive(src, follow, owner, &mut io::stdout().lock()),
                false => files::archive(src, follow, owner, &mut { theirs }),
            }
        })?;
        let unpacked = match to_stdout {
            true => Ok(()), // the child reads or writes our stdio itself
            // Closed before the wait: a child still writing then fails, not blocks.
            false => files::unpack(&mut { ours }, &args.dest, is_dot(src)),
        };
        unpacked.and(visit.finish())
    })
}

/// Into the container: this process archives (or passes stdin on), its child unpacks.
/// Without `-a` the files become the container's root user's.
fn copy_in(args: &Args, container: &Container, dest: &str) -> Result<()> {
    let dot = is_dot(&args.src);
    with_root(container, true, |root| {
        let from_stdin = args.src == "-";
        let (visit, ours) = files::visit(root, false, |theirs| match from_stdin {
            true => files::unpack_into(&mut io::stdin().lock(), dest),
            false => files::unpack(&mut { theirs }, dest, dot),
        })?;
        let archived = match from_stdin {
            true => Ok(()), // the child reads or writes our stdio itself
            false => {
                let owner = match args.archive {
                    true => Owners::Kept,
                    false => Owners::All(0, 0),
                };
                // Closed before the wait: the end of the stream for the child.
                files::archive(&args.src, args.follow, owner, &mut { ours })
            }
        };
        visit.finish().and(archived)
    })
}

/// `DIR/.` copies what the directory holds, not the directory.
fn is_dot(src: &str) -> bool {
    src == "." || src.ends_with("/.")
}
