//! `skiff wait CONTAINER...`: block until each container stops, then print its exit code.

use crate::cli;
use crate::error::Result;
use crate::lifecycle::{self, supervisor};

pub const HELP: &str = "Usage:  skiff wait CONTAINER [CONTAINER...]

Block until one or more containers stop, then print their exit codes

Options:
  -h, --help   Print usage";

pub fn main(argv: &[String]) -> Result<i32> {
    let rest = cli::parse(argv, "wait", HELP, &mut [])?;
    for query in cli::at_least_one(rest, "wait")? {
        let container = lifecycle::find(&query)?;
        supervisor::wait_until_recorded(&container)?;
        // Read again: the supervisor has written the exit code since.
        println!("{}", lifecycle::find(&container.config.id)?.exit_code());
    }
    Ok(0)
}
