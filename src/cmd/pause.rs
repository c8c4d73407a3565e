//! `skiff pause|unpause CONTAINER...`: freezes and thaws every process of a container
//! through its cgroup (see `cgroup::freezer`); `ps` shows it `Up … (Paused)`.

use crate::cgroup;
use crate::cli;
use crate::error::{Context, Error, Result};
use crate::lifecycle::{self, Status};

pub const HELP: &str = "Usage:  skiff pause CONTAINER [CONTAINER...]

Pause all processes within one or more containers";

pub const UNPAUSE: &str = "Usage:  skiff unpause CONTAINER [CONTAINER...]

Unpause all processes within one or more containers";

pub fn main(argv: &[String]) -> Result<i32> {
    each(argv, "pause", HELP, true)
}

pub fn unpause_main(argv: &[String]) -> Result<i32> {
    each(argv, "unpause", UNPAUSE, false)
}

fn each(argv: &[String], command: &str, help: &str, freeze: bool) -> Result<i32> {
    let rest = cli::parse(argv, command, help, &mut [])?;
    for query in cli::at_least_one(rest, command)? {
        let container = lifecycle::find(&query)?;
        let id = &container.config.id;
        let refused = match (container.status(), container.is_paused()) {
            (Status::Running, true) if freeze => Some("is already paused"),
            (Status::Running, false) if !freeze => Some("is not paused"),
            (Status::Running, _) => None,
            _ => Some("is not running"),
        };
        if let Some(why) = refused {
            return Err(Error::invalid(format!("Container {id} {why}")));
        }
        cgroup::freeze(id, freeze).with_context(|| format!("{command} {query}"))?;
        println!("{query}");
    }
    Ok(0)
}
