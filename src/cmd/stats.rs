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
use crate::cli::{self, Lexer};
use crate::error::Result;
use crate::lifecycle::{self, Container, Status};
use crate::sys;

pub const HELP: &str = "Usage:  skiff stats [OPTIONS] [CONTAINER...]

Display a live stream of container(s) resource usage statistics

Options:
  -a, --all         Show all containers (default shows just running)
  -h, --help        Print usage
      --no-stream   Disable streaming stats and only pull the first result";

/// Time between the two readings that CPU % compares.
const INTERVAL: Duration = Duration::from_millis(500);

pub fn main(argv: &[String]) -> Result<i32> {
    let mut lexer = Lexer::new(argv);
    let (mut all, mut no_stream) = (false, false);
    while let Some(flag) = lexer.next_flag() {
        match flag.name.as_str() {
            "-h" | "--help" => return cli::help(HELP),
            "-a" | "--all" => all = lexer.switch(&flag)?,
            "--no-stream" => no_stream = lexer.switch(&flag)?,
            _ => return Err(cli::unknown(&flag, "stats")),
        }
    }
    let queries = lexer.rest();
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
        cli::print_table(
            &[
                "CONTAINER ID",
                "NAME",
                "CPU %",
                "MEM USAGE / LIMIT",
                "MEM %",
                "PIDS",
            ],
            &rows,
        );
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
        format!("{cpu:.2}%"),
        format!("{} / {}", size(new.memory), size(limit)),
        format!("{memory_percent:.2}%"),
        new.pids.to_string(),
    ]
}

/// `MemTotal` from /proc/meminfo, in bytes.
fn machine_memory() -> u64 {
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

/// Docker's sizes: powers of 1024, four significant digits (`1.5MiB`, `7.776GiB`).
fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let digits = if value < 1.0 {
        1
    } else {
        value.log10().floor() as usize + 1
    };
    let text = format!("{value:.*}", 4usize.saturating_sub(digits));
    let text = match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    };
    format!("{text}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_dockers() {
        assert_eq!(size(0), "0B");
        assert_eq!(size(512), "512B");
        assert_eq!(size(32 << 20), "32MiB");
        assert_eq!(size(1536 << 10), "1.5MiB");
        assert_eq!(size(8_349_000_000), "7.776GiB");
        assert_eq!(size((1 << 20) - 1), "1024KiB");
    }
}
