//! User and group ID maps: how a user namespace's IDs correspond to the host's.
//!
//! A process in a new user namespace (user_namespaces(7)) has no IDs until someone
//! writes its maps: `/proc/PID/uid_map` and `/proc/PID/gid_map`, one line
//! `INSIDE OUTSIDE COUNT` per range (IDs `INSIDE..INSIDE+COUNT` in the namespace are
//! `OUTSIDE..` in the parent's), each file written once, by one write(2). An ID left
//! unmapped shows as the overflow ID 65534 (`nobody`) and cannot be set.
//!
//! Who may write: a process with CAP_SETUID (CAP_SETGID for gid_map) in the parent
//! namespace may map any IDs of the parent's (root: any host range). Anybody else may
//! map only their own uid and gid, one line each, and for gid_map only after writing
//! `deny` to `/proc/PID/setgroups`: otherwise setgroups(2) inside could drop a group
//! that denies them access on the host (CVE-2014-8989). (More would take the setuid
//! helpers `newuidmap`/`newgidmap`, which write any range the administrator granted in
//! `/etc/subuid`; rootless skiff runs them when the user has such a range, see
//! `rootless::ids`.)
//! `/etc/subuid` and `/etc/subgid` (subuid(5): lines `USER:FIRST:COUNT`, the user by
//! name or by uid) also say which host range `--userns=auto` hands out.
//!
//! <https://man7.org/linux/man-pages/man7/user_namespaces.7.html>
//! <https://man7.org/linux/man-pages/man5/subuid.5.html>
//! <https://man7.org/linux/man-pages/man1/newuidmap.1.html>

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Context, Error, Result};
use crate::trace;

/// One line of a uid_map or gid_map: `count` IDs from `inside` in the namespace are
/// the parent namespace's IDs from `outside`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// A user namespace's two maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maps {
    pub uids: Vec<IdMap>,
    pub gids: Vec<IdMap>,
}

impl Maps {
    /// The namespace's IDs for the parent's `uid` and `gid`: mapped back where a range
    /// holds them, else as they are (a stopped container's layers, mounted apart
    /// without idmapping, hold its own IDs already).
    pub fn inside(&self, uid: u32, gid: u32) -> (u32, u32) {
        let back = |maps: &[IdMap], id: u32| {
            let map = maps
                .iter()
                .find(|m| id >= m.outside && id - m.outside < m.count);
            map.map_or(id, |m| m.inside + (id - m.outside))
        };
        (back(&self.uids, uid), back(&self.gids, gid))
    }
}

/// Which of the two maps: user IDs or group IDs, with the files of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ids {
    User,
    Group,
}

impl Ids {
    /// The map's file under `/proc/PID/`.
    fn map_file(self) -> &'static str {
        match self {
            Ids::User => "uid_map",
            Ids::Group => "gid_map",
        }
    }

    /// The ranges the administrator granted each user (subuid(5)).
    pub fn subordinate_file(self) -> &'static Path {
        Path::new(match self {
            Ids::User => "/etc/subuid",
            Ids::Group => "/etc/subgid",
        })
    }
}

/// The ranges `/etc/subuid` or `/etc/subgid` grants `user` (named, or by `uid`), as
/// `(first host ID, count)`, in the file's order. A missing file grants nothing.
pub fn subordinate_ranges(ids: Ids, user: &str, uid: u32) -> Result<Vec<(u32, u32)>> {
    let path = ids.subordinate_file();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_subordinate(&text, user, uid).context(path.display().to_string()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(Error::from(err).context(format!("read {}", path.display()))),
    }
}

/// The host's name for `uid` (/etc/passwd), else the number, as runc shows it.
pub fn user_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.get(2) == Some(&uid.to_string().as_str()))
        .map_or_else(|| uid.to_string(), |fields| fields[0].to_string())
}

/// The lines of a subuid(5) file for `user` or `uid`; malformed lines and empty ranges
/// are skipped, as shadow-utils' own reader does. A range past the last ID is refused:
/// it would wrap around to the host's uid 0.
fn parse_subordinate(text: &str, user: &str, uid: u32) -> Result<Vec<(u32, u32)>> {
    let uid = uid.to_string();
    let fields = text.lines().filter_map(|line| {
        let mut fields = line.trim().splitn(3, ':');
        let (owner, first, count) = (fields.next()?, fields.next()?, fields.next()?);
        let owned = owner == user || owner == uid;
        owned.then(|| Some((line.trim(), first.parse().ok()?, count.parse().ok()?)))?
    });
    let ranges = fields.filter(|&(_, _, count): &(_, u32, u32)| count > 0);
    ranges
        .map(|(line, first, count)| match first.checked_add(count) {
            Some(_) => Ok((first, count)),
            None => Err(Error::invalid(format!("{line:?} runs past the last ID"))),
        })
        .collect()
}

/// The text of a map file: one `INSIDE OUTSIDE COUNT` line per range.
pub fn format(maps: &[IdMap]) -> String {
    maps.iter().fold(String::new(), |mut text, map| {
        let _ = writeln!(text, "{} {} {}", map.inside, map.outside, map.count);
        text
    })
}

/// Writes process `pid`'s uid_map or gid_map ourselves: any ranges with CAP_SETUID or
/// CAP_SETGID in its parent namespace, else only our own ID (after [`deny_setgroups`]
/// for the gid map).
pub fn write(pid: libc::pid_t, ids: Ids, maps: &[IdMap]) -> Result<()> {
    let path = format!("/proc/{pid}/{}", ids.map_file());
    let text = format(maps);
    trace::call(format_args!("write({path}, {text:?})"));
    std::fs::write(&path, text).with_context(|| format!("write {path}"))
}

/// Writes `deny` to `/proc/PID/setgroups`: the price of an unprivileged gid_map.
pub fn deny_setgroups(pid: libc::pid_t) -> Result<()> {
    let path = format!("/proc/{pid}/setgroups");
    trace::call(format_args!("write({path}, \"deny\")"));
    std::fs::write(&path, "deny").with_context(|| format!("write {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subordinate_ranges_match_the_user_by_name_or_uid() {
        let text = "alice:100000:65536\nbob:165536:65536\n1000:231072:1000\n\
                    alice:300000:10\nbroken line\nalice:x:1\nalice:5:0\n";
        assert_eq!(
            parse_subordinate(text, "alice", 1000).unwrap(),
            [(100000, 65536), (231072, 1000), (300000, 10)]
        );
        assert_eq!(parse_subordinate(text, "carol", 1001).unwrap(), []);
        let wraps = parse_subordinate("skiff:4294967000:65536\n", "skiff", 1).unwrap_err();
        assert_eq!(
            wraps.to_string(),
            "\"skiff:4294967000:65536\" runs past the last ID"
        );
    }

    #[test]
    fn host_ids_map_back_into_the_namespace() {
        let range = |outside| IdMap {
            inside: 0,
            outside,
            count: 65536,
        };
        let maps = Maps {
            uids: vec![range(100000)],
            gids: vec![range(200000)],
        };
        assert_eq!(maps.inside(100033, 200033), (33, 33));
        assert_eq!(
            maps.inside(0, 165536),
            (0, 165536),
            "outside the ranges: as they are"
        );
    }

    #[test]
    fn maps_format_one_line_per_range() {
        let maps = [
            IdMap {
                inside: 0,
                outside: 1000,
                count: 1,
            },
            IdMap {
                inside: 1,
                outside: 100000,
                count: 65536,
            },
        ];
        assert_eq!(format(&maps), "0 1000 1\n1 100000 65536\n");
    }
}
