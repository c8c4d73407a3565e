//! `skiff attach [--detach-keys KEYS] CONTAINER`: this terminal, to a detached `-t`
//! container's terminal, until the container ends or the detach keys are typed.
//!
//! The container's supervisor holds its terminal's master and listens on
//! `attach.sock` in its directory; `attach` passes it this process's stdin and stdout
//! (`SCM_RIGHTS`, unix(7)), and the supervisor relays to them (see `terminal`).

use std::os::unix::net::UnixStream;

use crate::cli;
use crate::error::{Context, Error, Kind, Result};
use crate::lifecycle::{self, supervisor, Status};
use crate::{sys, terminal};

pub const HELP: &str = "Usage:  skiff attach [OPTIONS] CONTAINER

Attach local standard input and output to a running container started with -t

Options:
      --detach-keys string   Override the key sequence for detaching a container (default \"ctrl-p,ctrl-q\")
  -h, --help                 Print usage";

pub fn main(argv: &[String]) -> Result<i32> {
    let mut keys = None;
    let options = &mut [cli::Opt::Value(&["--detach-keys"], &mut keys)];
    let rest = cli::parse(argv, "attach", HELP, options)?;
    let keys = terminal::parse_detach_keys(keys.as_deref().unwrap_or("ctrl-p,ctrl-q"))?;
    let [query] = &cli::at_least_one(rest, "attach")?[..] else {
        return Err(Error::usage(
            "\"skiff attach\" requires exactly 1 argument.",
        ));
    };
    let container = lifecycle::find(query)?;
    if container.status() != Status::Running {
        return Err(Error::invalid(
            "You cannot attach to a stopped container, start it first",
        ));
    }
    if container.config.tty != Some(true) {
        return Err(Error::invalid(format!(
            "container {query} has no terminal: skiff attaches only to containers run with -t (see `skiff logs -f`)"
        )));
    }
    if container.config.open_stdin == Some(true) && !sys::isatty(0) {
        return Err(Error::new(Kind::NotATerminal));
    }
    let (_dir, path) = container.attach_socket()?;
    let socket = UnixStream::connect(path)
        .with_context(|| format!("connect to {}", container.attach_path().display()))?;
    if !terminal::attach(socket, &keys)? {
        return Ok(0); // detached: the container runs on
    }
    supervisor::wait_until_recorded(&container)?;
    // Read again: the supervisor has written the exit code since.
    Ok(lifecycle::find(&container.config.id)?.exit_code())
}
