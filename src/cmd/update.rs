//! `skiff update [OPTIONS] CONTAINER...`: new resource limits or restart policy for
//! containers that exist. They are recorded in the container's `config.json`, which
//! every later start applies (and `inspect` shows as its HostConfig); a running
//! container's cgroup gets them at once, written by the code that sets them at its
//! start (see `cgroup`). Its supervisor reads the record again when the container ends,
//! so a restart keeps them too. A limit can be raised or lowered, not removed.
//! <https://docs.docker.com/reference/cli/docker/container/update/>

use crate::cgroup;
use crate::cli::{self, Lexer};
use crate::error::{Context, Error, Result};
use crate::image::store::Store;
use crate::lifecycle::{self, restart::Policy, Status};
use crate::sys;

pub const HELP: &str = "Usage:  skiff update [OPTIONS] CONTAINER [CONTAINER...]

Update configuration of one or more containers

Options:
      --cpu-shares int              CPU shares (relative weight)
      --cpus decimal                Number of CPUs
      --cpuset-cpus string          CPUs in which to allow execution (0-3, 0,1)
  -h, --help                        Print usage
  -m, --memory bytes                Memory limit
      --memory-reservation bytes    Memory soft limit
      --memory-swap bytes           Swap limit equal to memory plus swap: -1 to enable unlimited swap
      --pids-limit int              Tune container pids limit (set -1 for unlimited)
      --restart string              Restart policy to apply when a container exits";

pub fn main(argv: &[String]) -> Result<i32> {
    let mut lexer = Lexer::new(argv);
    let mut changes = Vec::new();
    while let Some(flag) = lexer.next_flag() {
        match flag.name.as_str() {
            "-h" | "--help" => return cli::help(HELP),
            name if name == "--restart" || cgroup::FLAGS.contains(&name) => {
                changes.push((flag.name.clone(), lexer.value(&flag)?));
            }
            _ => return Err(cli::unknown(&flag, "update")),
        }
    }
    let queries = cli::at_least_one(lexer.rest(), "update")?;
    if changes.is_empty() {
        return Err(Error::usage(
            "you must provide one or more flags when using this command",
        ));
    }
    let _lock = Store::open()?;
    for query in queries {
        update(&query, &changes).with_context(|| format!("update {query}"))?;
        println!("{query}");
    }
    Ok(0)
}

/// Applies `changes` (flag, value) to one container: recorded first, then, if it
/// runs, written into its cgroup.
fn update(query: &str, changes: &[(String, String)]) -> Result<()> {
    let mut container = lifecycle::find(query)?;
    let config = &mut container.config;
    for (flag, value) in changes {
        match flag.as_str() {
            "--restart" if config.auto_remove && Policy::parse(value)? != Policy::No => {
                return Err(Error::invalid(
                    "Restart policy cannot be updated because AutoRemove is enabled for the container",
                ))
            }
            "--restart" => {
                Policy::parse(value)?; // refused as `run --restart` refuses it
                config.restart = Some(value.clone());
            }
            limit => config.limits.get_or_insert_default().set(limit, value)?,
        }
    }
    if let Some(limits) = &container.config.limits {
        limits.validate(sys::cpu_count)?;
        if container.status() == Status::Running {
            cgroup::update(&container.config.id, limits)?;
        }
    }
    container.save_config()
}
