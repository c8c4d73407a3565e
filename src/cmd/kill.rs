//! `skiff kill [-s SIG] CONTAINER...`: one signal to each container's PID 1
//! (`SIGKILL` unless told otherwise), as `docker kill` does.

use crate::cli::{self, Lexer};
use crate::error::{Context, Result};
use crate::lifecycle::{self, signals, supervisor};

pub const HELP: &str = "Usage:  skiff kill [OPTIONS] CONTAINER [CONTAINER...]

Kill one or more running containers

Options:
  -h, --help            Print usage
  -s, --signal string   Signal to send to the container (default \"KILL\")";

pub fn main(argv: &[String]) -> Result<i32> {
    let mut lexer = Lexer::new(argv);
    let mut signal = libc::SIGKILL;
    while let Some(flag) = lexer.next_flag() {
        match flag.name.as_str() {
            "-h" | "--help" => return cli::help(HELP),
            "-s" | "--signal" => signal = signals::parse(&lexer.value(&flag)?)?,
            _ => return Err(cli::unknown(&flag, "kill")),
        }
    }
    for query in cli::at_least_one(lexer.rest(), "kill")? {
        let container = lifecycle::find(&query)?;
        supervisor::signal(&container, signal).with_context(|| format!("kill {query}"))?;
        println!("{query}");
    }
    Ok(0)
}
