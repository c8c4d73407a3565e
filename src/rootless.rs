//! Rootless: skiff run by an ordinary user, root only inside a user namespace.
//!
//! Making namespaces, mounting overlayfs, chown(2)ing a layer's files to root: each
//! needs a capability the user lacks on the host. A user namespace gives them back,
//! but only over what that namespace owns (user_namespaces(7)): its creator's uid is
//! its root, and the mount, PID, UTS, IPC and network namespaces made from inside it
//! are its own. So at start, when its effective uid is not 0, skiff unshare(2)s
//! `CLONE_NEWUSER | CLONE_NEWNS` and maps it (`ids`): the user's uid and gid become
//! 0, and when /etc/subuid and /etc/subgid grant the user a range and newuidmap(1) is
//! installed, IDs 1.. are that range, as rootless podman maps them; else the user's
//! own ID is all (after `deny` in `setgroups`, as an unprivileged process may map no
//! more). The store records which map its files were unpacked under, and refuses
//! another (`ids`). From there skiff runs as "root", as rootless podman does, and
//! whatever it makes belongs to the user, or to their range, on the host.
//!
//! Every command enters it except four: `exec` joins the running container's own
//! user namespace instead (its other namespaces belong to that one, made by the skiff
//! that started it: `container::join`), and so does `cp` with a running container
//! (`container::files`; a stopped one it mounts in a namespace it makes then);
//! `completion` and `login` touch nothing of the kernel's. A process in the namespace keeps the note [`UID_VAR`] in its environment,
//! so the skiffs it starts (the sealed copy, a detached supervisor) know they are
//! rootless although their uid is 0.
//!
//! What stays out of reach, and what happens instead:
//! - Files owned by IDs the namespace lacks: with the user's own ID alone, an image's
//!   files owned by others are the user's (root's inside) once unpacked, as podman's
//!   `ignore_chown_errors`; with a range, only those past its end.
//! - overlayfs: mounted in the namespace (Linux 5.11+) with `userxattr`, which keeps
//!   its opaque-directory marks as `user.overlay.*` attributes the user may write;
//!   where refused, the container gets a private copy of the image (`rootfs`).
//! - cgroups: only a delegated cgroup v2 subtree is the user's to write
//!   ([`cgroup_parent`]); without one, a run with limits is refused and a run without
//!   them has no cgroup.
//! - `--userns=auto`, `--uidmap`, `--gidmap`: refused. Each skiff command makes a
//!   namespace of its own, a sibling of the one that started a container, and a
//!   sibling holds no capability over a container's nested namespace (nor is its uid
//!   the container's): the next skiff could not stop, remove or join it.
//! - Networks: a bridge needs `CAP_NET_ADMIN` on the host, so user networks are
//!   refused; `none` works; the default (`bridge`) and `-p` go through slirp4netns
//!   where it is installed (`network::slirp`), and are otherwise the host's network
//!   and refused, as skiff without `CAP_NET_ADMIN` already does.
//!
//! Each user has their own store (`$XDG_DATA_HOME/skiff`) and runtime directory
//! (`$XDG_RUNTIME_DIR/skiff`, or `/tmp/skiff-UID`), both mode 0700 ([`data_dir`],
//! [`runtime_dir`]): one user cannot see or touch another's images or containers.
//! <https://man7.org/linux/man-pages/man7/user_namespaces.7.html>
//! <https://specifications.freedesktop.org/basedir-spec/latest/>
//! <https://github.com/containers/podman/blob/main/docs/tutorials/rootless_tutorial.md>

use std::fs::{self, DirBuilder};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Context, Error, Result};
use crate::{sys, trace};

mod ids;

/// The user's host uid, noted in the environment of every skiff in the namespace.
const UID_VAR: &str = "SKIFF_ROOTLESS_UID";

/// Commands that stay in the host's user namespace (see the module's doc).
const STAY: [&str; 4] = ["exec", "cp", "completion", "login"];

/// The host uid of the user skiff runs for, unless that is root: its own effective
/// uid, or inside the namespace [`enter`] made, the one noted there.
pub fn uid() -> Option<u32> {
    static UID: OnceLock<Option<u32>> = OnceLock::new();
    *UID.get_or_init(|| {
        let noted = std::env::var(UID_VAR).ok().and_then(|uid| uid.parse().ok());
        noted.or(Some(sys::geteuid()).filter(|&uid| uid != 0))
    })
}

/// Whether skiff runs for an ordinary user.
pub fn active() -> bool {
    uid().is_some()
}

/// Before `command` runs: an ordinary user's skiff moves into a user namespace of its
/// own, where it is root, once its directories are made (see the module's doc).
pub fn enter(command: &str) -> Result<()> {
    match STAY.contains(&command) {
        true => Ok(()),
        false => enter_now(),
    }
}

/// The same, whatever the command: `cp` enters only for a container that is not
/// running, to mount it.
pub fn enter_now() -> Result<()> {
    let uid = sys::geteuid();
    if uid == 0 {
        return Ok(());
    }
    // Made before the namespace, while their owner still reads as the user.
    if std::env::var_os("SKIFF_ROOT").is_none() {
        private_dir(&data_dir())?;
    }
    private_dir(&runtime_dir())?;
    let gid = sys::getegid(); // once in the namespace, unmapped: it reads as 65534
    trace::step("not root: a user namespace of our own, where this user is root");
    ids::unshare_mapped(uid, gid, sys::CLONE_NEWUSER | sys::CLONE_NEWNS)?;
    std::env::set_var(UID_VAR, uid.to_string()); // one thread: nobody reads it meanwhile
    Ok(())
}

/// Where images and containers live, unless `$SKIFF_ROOT` says: `/var/lib/skiff` for
/// root, `$XDG_DATA_HOME/skiff` (`~/.local/share/skiff`) for anyone else.
pub fn data_dir() -> PathBuf {
    if !active() {
        return PathBuf::from("/var/lib/skiff");
    }
    let var = |name| std::env::var_os(name).filter(|v| Path::new(v).is_absolute());
    match (var("XDG_DATA_HOME"), var("HOME")) {
        (Some(data), _) => Path::new(&data).join("skiff"),
        // No home: creating `/.local` fails, and says where skiff looked.
        (None, home) => Path::new(&home.unwrap_or_default()).join(".local/share/skiff"),
    }
}

/// State that lasts until the machine stops (locks, network records): `/run/skiff`
/// for root; `$XDG_RUNTIME_DIR/skiff` or, without it, `/tmp/skiff-UID` for anyone else.
pub fn runtime_dir() -> PathBuf {
    match uid() {
        None => PathBuf::from("/run/skiff"),
        Some(uid) => std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|dir| Path::new(dir).is_absolute())
            .map_or_else(
                || PathBuf::from(format!("/tmp/skiff-{uid}")),
                |dir| Path::new(&dir).join("skiff"),
            ),
    }
}

/// Makes `dir` (mode 0700), or checks that the one there is the user's alone: in
/// `/tmp` anybody could have made it first.
fn private_dir(dir: &Path) -> Result<()> {
    let what = || format!("create {}", dir.display());
    let made = DirBuilder::new().recursive(true).mode(0o700).create(dir);
    made.with_context(what)?;
    let meta = fs::symlink_metadata(dir).with_context(what)?;
    if !meta.is_dir() || meta.uid() != sys::geteuid() || meta.mode() & 0o077 != 0 {
        return Err(Error::invalid(format!(
            "{} must be a directory of this user's alone (mode 0700)",
            dir.display()
        )));
    }
    Ok(())
}

/// The cgroup v2 subtree systemd delegates to the user (`user@UID.service`, under the
/// tree mounted at `mount`), if it is there and the user may write it: rootless
/// skiff's cgroups go under it, as if it were the tree's root.
/// <https://systemd.io/CGROUP_DELEGATION/>
pub fn cgroup_parent(mount: &Path) -> Option<PathBuf> {
    let uid = uid()?;
    let slice = format!("user.slice/user-{uid}.slice/user@{uid}.service");
    let dir = mount.join(slice);
    let control = fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.subtree_control"));
    control.is_ok().then_some(dir)
}
