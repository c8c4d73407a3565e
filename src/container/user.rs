//! Who the container's process is: `-u USER[:GROUP]` (or the image's `User`), resolved
//! as runc and Docker do, in the container's own /etc/passwd and /etc/group, read after
//! its root is entered: the host's user database means nothing there.
//!
//! - A name must be in /etc/passwd; a number need not be (then group 0 and home `/`).
//! - Without `:GROUP`, the primary group is the passwd entry's, and the supplementary
//!   groups are every /etc/group entry that lists the user by name. With `:GROUP`, that
//!   group alone. Docker puts the primary group first in the supplementary list.
//! - `HOME` comes from passwd, unless the image or `-e` set it.
//!
//! The switch itself is setgroups(2), setgid(2), setuid(2), in that order: each needs
//! the privilege the next one gives up.
//! <https://man7.org/linux/man-pages/man5/passwd.5.html>
//! <https://man7.org/linux/man-pages/man5/group.5.html>

use std::fs;

use crate::error::{Error, Result};
use crate::sys;
use crate::trace;

/// runc's limit: IDs are non-negative 32-bit signed values.
const MAX_ID: u32 = i32::MAX as u32;

#[derive(Debug, PartialEq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    /// setgroups(2)'s list, primary group first.
    pub groups: Vec<u32>,
    pub home: String,
}

/// One line of /etc/passwd: `name:password:uid:gid:gecos:home:shell`.
struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

/// One line of /etc/group: `name:password:gid:member,member`.
struct GroupEntry<'a> {
    name: &'a str,
    gid: u32,
    members: Vec<&'a str>,
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines().filter_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        Some(PasswdEntry {
            name: fields.first()?,
            uid: fields.get(2)?.parse().ok()?,
            gid: fields.get(3)?.parse().ok()?,
            home: fields.get(5).copied().unwrap_or(""),
        })
    })
}

fn group_entries(text: &str) -> impl Iterator<Item = GroupEntry<'_>> {
    text.lines().filter_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        Some(GroupEntry {
            name: fields.first()?,
            gid: fields.get(2)?.parse().ok()?,
            members: fields.get(3).map_or(Vec::new(), |m| {
                m.split(',').filter(|m| !m.is_empty()).collect()
            }),
        })
    })
}

/// Reads the container's user database (now at /etc) and resolves `spec`
/// (`None`: root), with `--group-add`'s `extra` groups after its own.
pub fn resolve(spec: Option<&str>, extra: &[String]) -> Result<User> {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = fs::read_to_string("/etc/group").unwrap_or_default();
    let mut user = lookup(spec.unwrap_or(""), &passwd, &group)?;
    for name in extra {
        let gid = group_id(name, &group).ok_or_else(|| {
            Error::invalid(format!(
                "unable to find group {name}: no matching entries in group file"
            ))
        })?;
        if !user.groups.contains(&gid) {
            user.groups.push(gid);
        }
    }
    Ok(user)
}

/// A group by name or number; a number need not be in /etc/group.
fn group_id(name: &str, group: &str) -> Option<u32> {
    group_entries(group)
        .find(|g| g.name == name || Some(g.gid) == parse_id(name))
        .map(|g| g.gid)
        .or_else(|| parse_id(name))
}

fn parse_id(text: &str) -> Option<u32> {
    text.parse().ok().filter(|id| *id <= MAX_ID)
}

fn lookup(spec: &str, passwd: &str, group: &str) -> Result<User> {
    let (user_arg, group_arg) = spec.split_once(':').unwrap_or((spec, ""));
    let uid_arg = parse_id(user_arg);
    let entry = passwd_entries(passwd).find(|e| match (user_arg, uid_arg) {
        ("", _) => e.uid == 0,
        (_, Some(uid)) => e.uid == uid,
        (name, None) => e.name == name,
    });
    let (uid, mut gid, home, name) = match (entry, uid_arg) {
        (Some(e), _) => (e.uid, e.gid, e.home, Some(e.name)),
        (None, Some(uid)) => (uid, 0, "/", None),
        (None, None) if user_arg.is_empty() => (0, 0, "/", None),
        (None, None) => {
            return Err(Error::invalid(format!(
                "unable to find user {user_arg}: no matching entries in passwd file"
            )))
        }
    };
    let mut groups = Vec::new();
    if group_arg.is_empty() {
        let name = name.unwrap_or_default();
        groups = group_entries(group)
            .filter(|g| !name.is_empty() && g.members.contains(&name))
            .map(|g| g.gid)
            .collect();
    } else {
        gid = group_id(group_arg, group).ok_or_else(|| {
            Error::invalid(format!(
                "unable to find group {group_arg}: no matching entries in group file"
            ))
        })?;
    }
    groups.insert(0, gid);
    Ok(User {
        uid,
        gid,
        groups,
        home: if home.is_empty() { "/" } else { home }.to_string(),
    })
}

/// Becomes `user`, for good: as root, setgid(2) and setuid(2) change the real,
/// effective and saved IDs alike.
pub fn switch(user: &User) -> Result<()> {
    trace::step(&format!(
        "become user {} (group {}, groups {:?})",
        user.uid, user.gid, user.groups
    ));
    // A rootless skiff's user namespace of one ID denies setgroups(2) (`rootless`): the
    // process keeps the user's own supplementary groups, which it could not shed anyway.
    match sys::setgroups(&user.groups) {
        Err(err) if crate::rootless::active() && err.errno() == Some(libc::EPERM) => {}
        other => other?,
    }
    sys::setgid(user.gid)?;
    sys::setuid(user.uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
                          app:x:1000:1000:App:/home/app:/bin/sh\n\
                          nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
    const GROUP: &str = "root:x:0:\napp:x:1000:\nstaff:x:50:app,other\naudio:x:29:app\n\
                         nogroup:x:65534:\n";

    fn user(uid: u32, gid: u32, groups: &[u32], home: &str) -> User {
        User {
            uid,
            gid,
            groups: groups.to_vec(),
            home: home.into(),
        }
    }

    #[test]
    fn nothing_given_means_root_from_passwd() {
        assert_eq!(
            lookup("", PASSWD, GROUP).unwrap(),
            user(0, 0, &[0], "/root")
        );
        assert_eq!(lookup("", "", "").unwrap(), user(0, 0, &[0], "/"));
    }

    #[test]
    fn a_name_brings_its_group_home_and_memberships() {
        let want = user(1000, 1000, &[1000, 50, 29], "/home/app");
        assert_eq!(lookup("app", PASSWD, GROUP).unwrap(), want);
        assert_eq!(lookup("1000", PASSWD, GROUP).unwrap(), want);
    }

    #[test]
    fn an_unknown_number_runs_with_group_0() {
        assert_eq!(
            lookup("4242", PASSWD, GROUP).unwrap(),
            user(4242, 0, &[0], "/")
        );
    }

    #[test]
    fn an_explicit_group_replaces_the_memberships() {
        let want = user(1000, 50, &[50], "/home/app");
        assert_eq!(lookup("app:staff", PASSWD, GROUP).unwrap(), want);
        assert_eq!(lookup("app:50", PASSWD, GROUP).unwrap(), want);
        assert_eq!(lookup("7:7", "", "").unwrap(), user(7, 7, &[7], "/"));
    }

    #[test]
    fn unknown_names_are_errors() {
        let err = lookup("ghost", PASSWD, GROUP).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unable to find user ghost: no matching entries in passwd file"
        );
        let err = lookup("app:ghosts", PASSWD, GROUP).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unable to find group ghosts: no matching entries in group file"
        );
        assert!(lookup("4294967295", PASSWD, GROUP).is_err());
    }
}
