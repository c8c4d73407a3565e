//! `skiff top CONTAINER [ps OPTIONS]`: the processes of a running container, which are
//! the processes of its cgroup (`cgroup.procs`, cgroups(7)), described from the host's
//! /proc (proc(5): `stat`, `status`, `cmdline`) in `ps -ef`'s columns. With ps options,
//! as Docker does, the host's `ps` runs with them and its lines are kept for the
//! container's PIDs only.
//! <https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html>

use std::fs;

use crate::cgroup;
use crate::error::{Context, Error, Kind, Result};
use crate::host_program;
use crate::lifecycle::{self, Status};
use crate::template::tabwrite_min;
use crate::time::{format_rfc3339, now};

pub const HELP: &str = "Usage:  skiff top CONTAINER [ps OPTIONS]

Display the running processes of a container";

/// Clock ticks per second in /proc (USER_HZ, fixed at 100 for user space on Linux).
const HZ: u64 = 100;

pub fn main(argv: &[String]) -> Result<i32> {
    if matches!(argv.first().map(String::as_str), Some("-h" | "--help")) {
        return Err(Error::new(Kind::Help(HELP.into())));
    }
    let Some((query, ps_options)) = argv.split_first() else {
        return Err(Error::usage(
            "\"skiff top\" requires at least 1 argument.\nSee 'skiff top --help'.",
        ));
    };
    let container = lifecycle::find(query)?;
    if container.status() != Status::Running {
        let id = &container.config.id;
        return Err(Error::new(Kind::Refused(format!(
            "Container {id} is not running"
        ))));
    }
    let mut pids = cgroup::procs(&container.config.id);
    if pids.is_empty() {
        pids.push(container.state.pid.pid); // no cgroup here: its PID 1 at least
    }
    let table = match ps_options.is_empty() {
        true => ps_ef(&pids)?,
        false => host_ps(ps_options, &pids)?,
    };
    print!("{}", tabwrite_min(&table, 20));
    Ok(0)
}

/// `ps -ef`'s columns, read from /proc; a process gone meanwhile is left out.
pub fn ps_ef(pids: &[i32]) -> Result<String> {
    let stat = fs::read_to_string("/proc/stat").context("read /proc/stat")?;
    let boot = stat
        .lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .ok_or_else(|| Error::invalid("/proc/stat has no btime"))?;
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let mut table = String::from("UID\tPID\tPPID\tC\tSTIME\tTTY\tTIME\tCMD\n");
    for pid in pids {
        if let Some(row) = row(*pid, boot, &passwd) {
            table.push_str(&row);
        }
    }
    Ok(table)
}

/// One process's line; `None` if it is gone.
fn row(pid: i32, boot: u64, passwd: &str) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields follow the last `)`.
    let (head, tail) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1;
    let fields: Vec<u64> = tail
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // proc_pid_stat(5) numbers fields from 1; `tail` starts at field 3 (state).
    let field = |n: usize| fields.get(n - 3).copied().unwrap_or(0);
    let (ppid, tty, cpu, start) = (field(4), field(7), field(14) + field(15), field(22));
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1)?.parse::<u32>().ok())?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    let cmd = match args.is_empty() {
        true => format!("[{comm}]"),
        false => args.join(" "),
    };
    let started = boot + start / HZ;
    let elapsed = (now() as u64).saturating_sub(started).max(1);
    let percent = (cpu / HZ * 100 / elapsed).min(99);
    let user = user_name(passwd, uid).unwrap_or_else(|| uid.to_string());
    let (stime, time) = (start_time(started as i64), cpu_time(cpu / HZ));
    let tty = terminal(tty);
    Some(format!(
        "{user}\t{pid}\t{ppid}\t{percent}\t{stime}\t{tty}\t{time}\t{cmd}\n"
    ))
}

/// The host's name for `uid`, as ps shows it (Docker's `top` runs the host's ps).
fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)?.parse() == Ok(uid)).then(|| name.to_string())
    })
}

/// ps's STIME: `HH:MM` today, `MonDD` this year, else the year (UTC).
fn start_time(started: i64) -> String {
    let (then, today) = (format_rfc3339(started), format_rfc3339(now()));
    if then[..10] == today[..10] {
        return then[11..16].to_string();
    }
    if then[..4] != today[..4] {
        return then[..4].to_string();
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month: usize = then[5..7].parse().unwrap_or(1);
    format!("{}{}", MONTHS[(month + 11) % 12], &then[8..10])
}

/// ps's TIME: `[DD-]HH:MM:SS` of CPU.
fn cpu_time(seconds: u64) -> String {
    let (days, hh, mm, ss) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match days {
        0 => format!("{hh:02}:{mm:02}:{ss:02}"),
        _ => format!("{days}-{hh:02}:{mm:02}:{ss:02}"),
    }
}

/// The controlling terminal from `tty_nr` (major in bits 8–15, minor in 0–7 and 20–31).
fn terminal(tty_nr: u64) -> String {
    let (major, minor) = (
        (tty_nr >> 8) & 0xfff,
        (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00),
    );
    match major {
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 if minor < 64 => format!("tty{minor}"),
        4 => format!("ttyS{}", minor - 64),
        _ => "?".to_string(),
    }
}

/// The host's `ps OPTIONS`, keeping the header and the lines whose PID column is one of
/// `pids`; the last column keeps its spaces (a command line).
fn host_ps(options: &[String], pids: &[i32]) -> Result<String> {
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let (exit, out, err) = host_program::run("ps", &options, b"").context("run ps")?;
    if exit.status() != 0 {
        let err = String::from_utf8_lossy(&err);
        return Err(Error::invalid(format!("ps: {}", err.trim())));
    }
    let text = String::from_utf8_lossy(&out);
    let mut lines = text.lines();
    let titles: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let column = titles
        .iter()
        .position(|t| *t == "PID")
        .ok_or_else(|| Error::invalid("Couldn't find PID field in ps output"))?;
    let mut table = titles.join("\t") + "\n";
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let pid = fields.get(column).and_then(|p| p.parse().ok());
        if !pid.is_some_and(|pid| pids.contains(&pid)) {
            continue;
        }
        let (head, rest) = fields.split_at((titles.len() - 1).min(fields.len()));
        table.push_str(&[head.join("\t"), rest.join(" ")].join("\t"));
        table.push('\n');
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_and_terminal_read_as_ps_prints_them() {
        assert_eq!(cpu_time(3725), "01:02:05");
        assert_eq!(cpu_time(2 * 86_400 + 1), "2-00:00:01");
        assert_eq!(terminal(0), "?");
        assert_eq!(terminal((136 << 8) | 3), "pts/3");
        assert_eq!(terminal((4 << 8) | 1), "tty1");
    }
}
