//! The IDs of rootless skiff's user namespace: the user's own alone, or with the
//! subordinate range the administrator granted them.
//!
//! An unprivileged process may map one ID into its user namespace, its own
//! (`container::id_map`). An administrator may grant a user more: ranges of host IDs
//! in `/etc/subuid` and `/etc/subgid` (subuid(5); useradd(8) adds 65536 for each new
//! user), which the setuid helpers newuidmap(1) and newgidmap(1) (Debian's `uidmap`)
//! write into a namespace's maps for that user once they have checked the grant. With
//! a grant and both helpers, skiff maps as rootless podman does: `0 UID 1`, the user
//! is root inside, then `1 SUBUID COUNT`, IDs 1.. are the range (each line of the
//! user's in turn). An image's files then keep their owners (uid 33 inside is
//! SUBUID+32 on the host) and chown(2) inside works for every mapped ID. Without
//! either, the user's own ID is mapped alone and every file is theirs.
//!
//! The helpers must run outside the namespace: their setuid bit means nothing where
//! its owner, the host's root, is unmapped, and a map of several lines takes
//! CAP_SETUID over the namespace's parent. So before unshare(2), skiff forks a helper
//! that waits on a pipe; skiff unshares and writes one byte; the helper runs both
//! programs on skiff's pid and exits, its failure sent back on a second pipe. Nobody
//! sleeps: skiff reads that pipe to its end, then reaps the helper.
//!
//! The store's files are owned through the map, so the map must stay the same under
//! them: the store records it (`idmap`; a store from before, without the record, was
//! made with the user's own ID). A store made under another map is refused in one line
//! that says what to do: remove it to start again (as root when its files belong to a
//! subordinate range, which the user cannot delete), or restore the grant it was made
//! with. Unpacking the layers again would not save the containers' own files.
//! <https://man7.org/linux/man-pages/man1/newuidmap.1.html>
//! <https://man7.org/linux/man-pages/man5/subuid.5.html>
//! <https://github.com/containers/podman/blob/main/docs/tutorials/rootless_tutorial.md>

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use crate::container::id_map::{self, IdMap, Ids, Maps};
use crate::container::{exec_outcome, find_program, report_failure};
use crate::error::{Context, Error, Result};
use crate::{host_program, sys, trace};

/// The store's record of the map its files are owned through.
const RECORD: &str = "idmap";

/// The user's own uid and gid alone.
fn own(uid: u32, gid: u32) -> Maps {
    let own = |outside| IdMap {
        inside: 0,
        outside,
        count: 1,
    };
    Maps {
        uids: vec![own(uid)],
        gids: vec![own(gid)],
    }
}

/// The user's own IDs, then their subordinate ranges if they have both and the
/// helpers are installed.
fn wanted(uid: u32, gid: u32) -> Result<Maps> {
    let mut maps = own(uid, gid);
    let name = id_map::user_name(uid);
    let ranges = |ids| id_map::subordinate_ranges(ids, &name, uid);
    let (subuids, subgids) = (ranges(Ids::User)?, ranges(Ids::Group)?);
    let path = [format!(
        "PATH={}",
        std::env::var("PATH").unwrap_or_default()
    )];
    let installed = |program| find_program(program, &path).is_ok();
    let granted = !subuids.is_empty() && !subgids.is_empty();
    if !granted || !installed("newuidmap") || !installed("newgidmap") {
        return Ok(maps);
    }
    append_ranges(&mut maps.uids, &subuids);
    append_ranges(&mut maps.gids, &subgids);
    Ok(maps)
}

/// What the store records: one line per map, its ranges `INSIDE OUTSIDE COUNT`.
fn record(maps: &Maps) -> String {
    format!(
        "uid_map {}\ngid_map {}\n",
        line(&maps.uids),
        line(&maps.gids)
    )
}

/// A map's ranges on one line, comma-separated.
fn line(maps: &[IdMap]) -> String {
    let ranges: Vec<String> = maps
        .iter()
        .map(|m| format!("{} {} {}", m.inside, m.outside, m.count))
        .collect();
    ranges.join(", ")
}

/// Maps `ranges` after what `maps` holds: IDs 1.. inside, as far as they fit.
fn append_ranges(maps: &mut Vec<IdMap>, ranges: &[(u32, u32)]) {
    let mut inside = 1u32;
    for &(outside, count) in ranges {
        let Some(next) = inside.checked_add(count) else {
            return; // the namespace has no more IDs to give
        };
        maps.push(IdMap {
            inside,
            outside,
            count,
        });
        inside = next;
    }
}

/// unshare(2)s `flags` (a new user namespace among them) and maps it: with the
/// helpers when the user has a range, else itself. Refused, before anything changes,
/// when the store was made under another map.
pub fn unshare_mapped(uid: u32, gid: u32, flags: libc::c_int) -> Result<()> {
    let maps = wanted(uid, gid)?;
    let store = crate::image::store::root();
    let recorded = check_store(&store, &maps, uid, gid)?;
    let pid = std::process::id() as libc::pid_t;
    if maps.uids.len() == 1 {
        unshare(flags)?;
        id_map::write(pid, Ids::User, &maps.uids)?;
        id_map::deny_setgroups(pid)?;
        id_map::write(pid, Ids::Group, &maps.gids)?;
    } else {
        trace::step("its subordinate IDs too: newuidmap and newgidmap, run from outside");
        through_helpers(pid, &maps, flags)?;
    }
    if !recorded {
        let path = store.join(RECORD);
        let made = fs::create_dir_all(&store).and_then(|()| fs::write(&path, record(&maps)));
        made.with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}

fn unshare(flags: libc::c_int) -> Result<()> {
    sys::unshare(flags).context("not root, and no user namespace of this user's own")
}

/// Whether `store` records `maps` already (else it is new, and will); an error if it
/// was made under others.
fn check_store(store: &Path, maps: &Maps, uid: u32, gid: u32) -> Result<bool> {
    let path = store.join(RECORD);
    let recorded = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let empty = fs::read_dir(store).map_or(true, |mut dir| dir.next().is_none());
            if empty {
                return Ok(false);
            }
            record(&own(uid, gid)) // made before the record was
        }
        Err(err) => return Err(Error::from(err).context(format!("read {}", path.display()))),
    };
    if recorded == record(maps) {
        return Ok(true);
    }
    let then = recorded.lines().next().unwrap_or_default();
    let as_root = match then.contains(',') {
        true => " (as root: its files belong to subordinate IDs)",
        false => "",
    };
    Err(Error::invalid(format!(
        "{} holds files owned through {then:?}, this user's map is now \"uid_map {}\" \
         (/etc/subuid, newuidmap): remove it{as_root} to start again, or restore what it was made with",
        store.display(),
        line(&maps.uids)
    )))
}

/// Unshares, and has a helper forked before it (so outside the namespace) write the
/// maps with newuidmap(1) and newgidmap(1): see the module's doc.
fn through_helpers(pid: libc::pid_t, maps: &Maps, flags: libc::c_int) -> Result<()> {
    let (go, go_writer) = sys::pipe()?;
    let (outcome, report) = sys::pipe()?;
    let Some(helper) = sys::fork()? else {
        drop((go_writer, outcome));
        // End of file instead of a byte: skiff could not unshare, and says so itself.
        if (&go).read(&mut [0]).is_ok_and(|n| n == 1) {
            let mapped = newidmap("newuidmap", pid, &maps.uids)
                .and_then(|()| newidmap("newgidmap", pid, &maps.gids));
            if let Err(err) = mapped {
                report_failure(report, &err);
                sys::exit_now(1);
            }
        }
        sys::exit_now(0)
    };
    drop((go, report));
    let unshared = unshare(flags);
    if unshared.is_ok() {
        let _ = (&go_writer).write_all(b"u"); // the helper reads it, or has died: EPIPE
    }
    drop(go_writer);
    let mapped = exec_outcome(outcome); // until the helper has exited: its pipe's end
    let reaped = sys::wait_for_exit(helper);
    unshared?;
    mapped?;
    reaped.map(drop)
}

/// `PROGRAM PID INSIDE OUTSIDE COUNT…`: newuidmap(1) or newgidmap(1) on `pid`.
fn newidmap(program: &str, pid: libc::pid_t, maps: &[IdMap]) -> Result<()> {
    let numbers = maps.iter().flat_map(|m| [m.inside, m.outside, m.count]);
    let args: Vec<String> = std::iter::once(pid as u32)
        .chain(numbers)
        .map(|n| n.to_string())
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (exit, _, err) = host_program::run(program, &args, b"")?;
    match exit.status() {
        0 => Ok(()),
        _ => Err(Error::invalid(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&err).trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_the_users_own_id_as_podman_maps_them() {
        let mut maps = own(1000, 1000);
        append_ranges(&mut maps.uids, &[(100000, 65536), (300000, 10)]);
        assert_eq!(
            record(&maps),
            "uid_map 0 1000 1, 1 100000 65536, 65537 300000 10\ngid_map 0 1000 1\n"
        );
        let mut full = Vec::new();
        append_ranges(&mut full, &[(1, u32::MAX - 1), (5, 5)]);
        assert_eq!(full.len(), 1, "no range past the namespace's last ID");
    }
}
