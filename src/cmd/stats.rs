//! `skiff stats [--no-stream] [-a] [CONTAINER...]`: what each container uses, from the
//! meters of its cgroup (see `cgroup`).
//!
//! CPU % is the CPU time the container used between two readings half a second apart,
//! over that half second: 100% is one CPU kept busy (`cpuacct.usage` on v1, `cpu.stat`'s
//! `usage_usec` on v2). MEM USAGE is what the cgroup is charged for, less the page cache
//! the kernel may drop at will (inactive file pages), as Docker counts it; the LIMIT is
//! `--memory`, or the machine's memory. PIDS counts its processes and threads.
//! <https://docs.docker.com/reference/cli/docker/container/stats/>

use std::time::{Duration, Instant};

use crate::cgroup::{Cgroup, Usage};
use crate::cli::{self, Opt};
use crate::error::Result;
use crate::lifecycle::{self, Container, Status};
use crate::sys;
use crate::template::Listing;
use crate::units::{fixed, human_size, Base};

pub const HELP: &str = "Usage:  skiff stats [OPTIONS] [CONTAINER...]

Display a live stream of container(s) resource usage statistics

Options:
  -a, --all             Show all containers (default shows just running)
      --format string   Format output using a Go template, or 'table'
  -h, --help            Print usage
      --no-stream       Disable streaming stats and only pull the first result";

/// Each field a `--format` may name, with its header in a table.
const COLUMNS: [(&str, &str); 6] = [
    ("ID", "CONTAINER ID"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("PIDs", "PIDS"),
];

/// Time between the two readings that CPU % compares.
const INTERVAL: Duration = Duration::from_millis(500);

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut all, mut no_stream, mut format) = (false, false, None);
    let options = &mut [
        Opt::Switch(&["-a", "--all"], &mut all),
        Opt::Switch(&["--no-stream"], &mut no_stream),
        Opt::Value(&["--format"], &mut format),
    ];
    let queries = cli::parse(argv, "stats", HELP, options)?;
    let table = "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.PIDs}}";
    let listing = Listing::parse(format.as_deref(), table)?;
    loop {
        let containers = chosen(&queries, all)?;
        let before = readings(&containers);
        std::thread::sleep(INTERVAL);
        let after = readings(&containers);
        if !no_stream && sys::isatty(1) {
            print!("\x1b[2J\x1b[H"); // a terminal shows one table, redrawn in place
        }
        let rows: Vec<Vec<String>> = containers
            .iter()
            .zip(before.iter().zip(&after))
            .map(|(container, (before, after))| row(container, before, after))
            .collect();
        listing.print(&COLUMNS, &rows)?;
        if no_stream {
            return Ok(0);
        }
    }
}

/// The containers named, or else the running ones (all with `-a`).
fn chosen(queries: &[String], all: bool) -> Result<Vec<Container>> {
    if !queries.is_empty() {
        return queries.iter().map(|q| lifecycle::find(q)).collect();
    }
    lifecycle::sweep();
    Ok(lifecycle::list()?
        .into_iter()
        .filter(|c| all || c.status() == Status::Running)
        .collect())
}

type Reading = (Option<Usage>, Instant);

/// Each container's meters (none for one that is not running), and when they were read.
fn readings(containers: &[Container]) -> Vec<Reading> {
    containers
        .iter()
        .map(|c| {
            let usage = (c.status() == Status::Running)
                .then(|| Cgroup::of(&c.config.id).map(|cgroup| cgroup.usage()))
                .flatten();
            (usage, Instant::now())
        })
        .collect()
}

fn row(container: &Container, before: &Reading, after: &Reading) -> Vec<String> {
    let (Some(old), (Some(new), now)) = (&before.0, after) else {
        let zero = ["0.00%", "0B / 0B", "0.00%", "0"].map(String::from);
        return [
            container.short_id().to_string(),
            container.config.name.clone(),
        ]
        .into_iter()
        .chain(zero)
        .collect();
    };
    let elapsed = now.duration_since(before.1).as_nanos().max(1) as f64;
    let cpu = new.cpu_ns.saturating_sub(old.cpu_ns) as f64 / elapsed * 100.0;
    let limit = new.memory_limit.unwrap_or_else(machine_memory);
    let memory_percent = new.memory as f64 / limit.max(1) as f64 * 100.0;
    vec![
        container.short_id().to_string(),
        container.config.name.clone(),
        format!("{}%", fixed(cpu, 2)),
        format!("{} / {}", memory(new.memory), memory(limit)),
        format!("{}%", fixed(memory_percent, 2)),
        new.pids.to_string(),
    ]
}

/// `MemTotal` from /proc/meminfo, in bytes.
pub fn machine_memory() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// Memory as `docker stats` shows it: powers of 1024, four significant digits.
pub fn memory(bytes: u64) -> String {
    human_size(bytes as f64, Base::Binary, 4)
}
