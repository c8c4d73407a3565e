//! Containers on one user network find each other by name, without a daemon.
//!
//! Docker answers these names from a DNS server in its daemon (127.0.0.11 in each
//! container's resolv.conf). skiff has no daemon, so it keeps them where the C
//! library looks first (nsswitch.conf(5): `hosts: files dns`): each member's
//! /etc/hosts lists every running member of its network by container name,
//! `--network-alias`es and short ID (`container::etc_files` writes the lines). The
//! list changes when a member starts or goes, and the skiff that sees it happen
//! rewrites every member's file: the one that started it (`supervisor`), its
//! supervisor when it ends, or the next sweep when it died unwatched. Two rules make
//! that safe with no daemon in charge:
//!
//! - One at a time: each rewrite holds a lock (flock(2) on `hosts.lock` in the store)
//!   and lists the members afresh after its own change is recorded, so the last one to
//!   write writes what is true then, and no update is lost between two skiffs.
//! - In place: the file is bind-mounted into the container, and a bind mount holds
//!   the inode it was made with: a new file renamed over the old one (the usual atomic
//!   replace) would never be seen inside. So the new text is written over the old and
//!   the file cut to its length, as Docker's own /etc/hosts updates are written in
//!   place (libnetwork's `etchosts`). A reader at that very instant may see the old
//!   text's tail after the new one; never an empty file.
//!
//! Docker's default bridge names nobody (short of the legacy `--link`), and neither
//! does skiff's: see [`DEFAULT_BRIDGE`].
//! <https://man7.org/linux/man-pages/man5/nsswitch.conf.5.html>
//! <https://docs.docker.com/engine/network/drivers/bridge/#differences-between-user-defined-bridges-and-the-default-bridge>

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::{list, Container, Status};
use crate::container::{self, Config, Member};
use crate::error::{Context, Result};
use crate::image::store;
use crate::{sys, trace};

/// The network whose containers get no names of each other: Docker's default bridge.
pub const DEFAULT_BRIDGE: &str = "bridge";

/// Whether the containers of `network` find each other by name: those of a user
/// network do; those of the default bridge, `none` or `host` do not.
pub fn has_names(network: &str) -> bool {
    ![DEFAULT_BRIDGE, "none", "host"].contains(&network)
}

/// The others a container's /etc/hosts lists as it starts: its network's running
/// members (`None`: its network names nobody).
pub fn at_start(config: &Config) -> Result<Option<Vec<Member>>> {
    match config.network.as_deref().filter(|n| has_names(n)) {
        Some(network) => Ok(Some(
            members(&list()?, network).into_iter().map(member).collect(),
        )),
        None => Ok(None),
    }
}

/// After a container of `network` started or ended (and that is recorded): every
/// running member's /etc/hosts rewritten. Best effort: one member going at the same
/// moment must not fail the others, nor the start or the exit that called it.
pub fn update(network: &str) {
    if !has_names(network) {
        return;
    }
    if let Err(err) = rewrite_all(network) {
        trace::step(&format!("names on {network}: {err}"));
    }
}

fn rewrite_all(network: &str) -> Result<()> {
    let _lock = lock()?;
    let all = list()?;
    let on_network = members(&all, network);
    let names: Vec<Member> = on_network.iter().copied().map(member).collect();
    for container in on_network {
        let path = container.dir.join("hosts");
        let settings = container.state.network.as_ref();
        let rewritten = container::hosts(&container.config, settings, &names)
            .and_then(|text| write_in_place(&path, &text));
        if let Err(err) = rewritten {
            trace::step(&format!("names of {}: {err}", container.short_id()));
        }
    }
    Ok(())
}

/// The running containers recorded on `network`.
fn members<'a>(all: &'a [Container], network: &str) -> Vec<&'a Container> {
    all.iter()
        .filter(|c| c.status() == Status::Running)
        .filter(|c| {
            c.state
                .network
                .as_ref()
                .is_some_and(|s| s.network == network)
        })
        .collect()
}

fn member(container: &Container) -> Member {
    Member::of(&container.config, container.state.network.as_ref())
}

/// The lock every rewrite holds, held until the file is dropped.
fn lock() -> Result<File> {
    let path = store::root().join("hosts.lock");
    sys::lock_file(&path)
}

/// Replaces the text of the file at `path` without replacing the file (see the
/// module's doc); unchanged text is not written at all.
fn write_in_place(path: &Path, text: &str) -> Result<()> {
    let context = || format!("rewrite {}", path.display());
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(context)?;
    let mut old = String::new();
    file.read_to_string(&mut old).with_context(context)?;
    if old == text {
        return Ok(());
    }
    file.rewind().with_context(context)?;
    file.write_all(text.as_bytes()).with_context(context)?;
    file.set_len(text.len() as u64).with_context(context)
}
