//! `skiff rm [-f] [-v] CONTAINER...`: delete containers: state, log and writable layer,
//! and with `-v` their anonymous volumes (never named ones, as Docker). A running one is
//! refused unless `-f`, which kills it first, as `docker rm -f` does.

use crate::cli::{self, Opt};
use crate::error::{Context, Error, Result};
use crate::lifecycle::{self, peers, Status};

pub const HELP: &str = "Usage:  skiff rm [OPTIONS] CONTAINER [CONTAINER...]

Remove one or more containers

Options:
  -f, --force     Force the removal of a running container (uses SIGKILL)
  -h, --help      Print usage
  -v, --volumes   Remove anonymous volumes associated with the container";

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut force, mut volumes) = (false, false);
    let options = &mut [
        Opt::Switch(&["-f", "--force"], &mut force),
        Opt::Switch(&["-v", "--volumes"], &mut volumes),
    ];
    let rest = cli::parse(argv, "rm", HELP, options)?;
    lifecycle::sweep();
    for query in cli::at_least_one(rest, "rm")? {
        remove(&query, force, volumes).with_context(|| format!("remove container {query}"))?;
        println!("{query}");
    }
    Ok(0)
}

fn remove(query: &str, force: bool, volumes: bool) -> Result<()> {
    let container = lifecycle::find_any(query)?; // a dead one too, as Docker removes those
    if matches!(container.status(), Status::Running | Status::Restarting) {
        if !force {
            return Err(Error::invalid("it is running: stop it first, or use rm -f"));
        }
        super::stop::stop(&container, Some(libc::SIGKILL), Some(0))?;
    }
    match volumes {
        true => container.remove_with_volumes()?,
        false => container.remove()?,
    }
    if let Some(settings) = &container.state.network {
        // Its supervisor does this, unless it was killed: then nobody else would.
        peers::update(&settings.network);
    }
    Ok(())
}
