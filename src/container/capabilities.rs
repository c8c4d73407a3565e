//! Capabilities: root's powers, split into about forty pieces. A container's root keeps
//! only Docker's default fourteen (chown, kill, setuid, binding low ports, mknod, …) and
//! loses the rest: `CAP_SYS_ADMIN` (mount, namespaces), `CAP_SYS_MODULE`,
//! `CAP_SYS_RAWIO`, `CAP_SYS_PTRACE`, … They go from the *bounding set* too, so no
//! execve(2) of a setuid or file-capability binary in the image can win them back.
//!
//! The sets end as Docker (since 23.0) leaves them: for root, effective = permitted =
//! bounding = the container's set; for any other user only the bounding set, since the
//! kernel empties the others when a process leaves UID 0, as execve(2) of a non-root
//! program would. An OCI `config.json`'s sets hold for any user, as runc gives them. The inheritable set is empty (CVE-2022-24769: with it, a
//! file-capability binary could pass capabilities on to a non-root user), and with it
//! the ambient set, which may only hold what is both permitted and inheritable, unless
//! an OCI `config.json` asks for them (`process.capabilities`; runc does as asked).
//!
//! `--cap-add`/`--cap-drop` follow Docker's `TweakCapabilities`: names with or without
//! `CAP_`, any case; `ALL`; `--privileged` means every capability skiff itself holds.
//!
//! `CAP_MKNOD` is in Docker's set because its devices cgroup stops a container from
//! *opening* the nodes it makes; skiff's does too (see `cgroup/devices.rs`), and where
//! no such guard holds (no cgroup could be made, or no `devices` controller) every
//! mount a container can write to is `nodev`, /dev included, so a node made there
//! opens nothing. Where skiff mounts nothing (a plain chroot(2) into a copy, an OCI
//! bundle without a mount namespace) only the guard can stop it: without one, the
//! container gets no `CAP_MKNOD`, whatever was asked.
//! <https://man7.org/linux/man-pages/man7/capabilities.7.html>
//! <https://github.com/moby/moby/blob/master/oci/caps/defaults.go>

use super::Options;
use crate::error::{Error, Result};
use crate::sys;
use crate::trace;

/// Capability names by number, as capabilities(7) lists them without `CAP_`.
const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Docker's default set, `00000000a80425fb` in /proc/self/status: CHOWN, DAC_OVERRIDE,
/// FOWNER, FSETID, KILL, SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW,
/// SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP.
pub const DOCKER_DEFAULT: u64 = 0xa804_25fb;

const MKNOD: u64 = 1 << 27;

/// One name as `--cap-add`/`--cap-drop` take it.
#[derive(Debug, PartialEq)]
enum Name {
    All,
    Bit(u64),
}

fn parse_name(name: &str) -> Result<Name> {
    let upper = name.to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(Name::All);
    }
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    NAMES
        .iter()
        .position(|known| *known == bare)
        .map(|bit| Name::Bit(1 << bit))
        .ok_or_else(|| Error::usage(format!("unknown capability: \"CAP_{bare}\"")))
}

/// Names as typed: `net_admin`, `CAP_NET_ADMIN`, `ALL`; a usage error for any other.
pub fn check_names(names: &[String]) -> Result<()> {
    names.iter().try_for_each(|name| parse_name(name).map(drop))
}

/// One capability's bit, by name (a seccomp profile's `caps`).
pub fn bit(name: &str) -> Result<u64> {
    match parse_name(name)? {
        Name::Bit(bit) => Ok(bit),
        Name::All => Err(Error::usage(format!("unknown capability: {name:?}"))),
    }
}

/// `(ALL named, the named bits)`.
fn parse_list(names: &[String]) -> Result<(bool, u64)> {
    let mut all = false;
    let mut bits = 0;
    for name in names {
        match parse_name(name)? {
            Name::All => all = true,
            Name::Bit(bit) => bits |= bit,
        }
    }
    Ok((all, bits))
}

/// The container's set, by Docker's rules, from what skiff `held` (its own permitted
/// set). `inert`: whether a node it makes opens only what a guard allows, if anything
/// (see above).
fn wanted(options: &Options, held: u64, inert: bool) -> Result<u64> {
    if options.privileged {
        return Ok(held);
    }
    let (add_all, add) = parse_list(&options.cap_add)?;
    let (drop_all, drop) = parse_list(&options.cap_drop)?;
    let missing = add & !held;
    if missing != 0 {
        return Err(Error::invalid(format!(
            "--cap-add {}: skiff does not hold it itself",
            names_of(missing).join(",")
        )));
    }
    let set = match (add_all, drop_all) {
        (true, _) => held & !drop,
        (false, true) => add,
        (false, false) => (DOCKER_DEFAULT & held & !drop) | add,
    };
    Ok(match inert {
        true => set,
        false => set & !MKNOD,
    })
}

fn names_of(mask: u64) -> Vec<String> {
    (0..NAMES.len())
        .filter(|bit| mask & 1 << bit != 0)
        .map(|bit| format!("CAP_{}", NAMES[bit]))
        .collect()
}

/// The set this container gets; reads skiff's own before anything is dropped.
pub fn for_container(options: &Options, inert: bool) -> Result<u64> {
    wanted(options, sys::capget_permitted()?, inert)
}

/// Empties the bounding set of everything not in `set`, for good.
pub fn limit_bounding_set(set: u64) -> Result<()> {
    trace::step(&format!(
        "keep only these capabilities, bounding set included: {}",
        names_of(set).join(" ")
    ));
    for capability in (0..64).filter(|c| set & 1 << c == 0) {
        match sys::drop_bounding_capability(capability) {
            // Past the kernel's last capability (cap_last_cap): nothing more to drop.
            Err(err) if err.errno() == Some(libc::EINVAL) => break,
            // Without CAP_SETPCAP (a stricter sandbox around skiff) it already bounds us.
            Err(err) if err.errno() == Some(libc::EPERM) => {
                trace::step(&format!(
                    "the bounding set is not ours to change here ({err})"
                ));
                break;
            }
            other => other?,
        }
    }
    Ok(())
}

/// Whether the sets are an OCI config's, which hold for any user, as runc gives them
/// (Docker's hold for root only).
fn from_oci_config(options: &Options) -> bool {
    options.cap_inheritable.is_some()
}

/// Before the switch to the container's user: an OCI config's sets must survive
/// setuid(2), which empties the permitted set of a process leaving UID 0 unless it
/// asked to keep it (PR_SET_KEEPCAPS; execve(2) clears that flag again).
pub fn keep_across_setuid(options: &Options) -> Result<()> {
    match from_oci_config(options) {
        true => sys::keep_capabilities(),
        false => Ok(()),
    }
}

/// After the switch to the container's user: root holds `set`, anyone else nothing
/// (leaving UID 0 already emptied it), unless the sets are an OCI config's, which hold
/// for any user; only those inherit anything.
pub fn settle(set: u64, uid: u32, options: &Options) -> Result<()> {
    if uid != 0 && !from_oci_config(options) {
        return sys::capset(0, 0);
    }
    let bits = |names: &Option<Vec<String>>| parse_list(names.as_deref().unwrap_or_default());
    let (_, inheritable) = bits(&options.cap_inheritable)?;
    let (_, ambient) = bits(&options.cap_ambient)?;
    sys::capset(set, inheritable)?;
    // The kernel raises an ambient capability only if it is permitted and inheritable
    // too (capabilities(7)); runc skips the others, and so does skiff (`runc spec`'s
    // config asks for three ambient ones without the inheritable set).
    let raisable = ambient & inheritable & set;
    if raisable != ambient {
        trace::step("ambient capabilities that are not also permitted and inheritable: skipped");
    }
    (0..64)
        .filter(|c| raisable & 1 << c != 0)
        .try_for_each(sys::raise_ambient_capability)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_HELD: u64 = (1 << 41) - 1;

    fn options(add: &[&str], drop: &[&str]) -> Options {
        Options {
            cap_add: add.iter().map(|s| s.to_string()).collect(),
            cap_drop: drop.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn names_take_any_case_with_or_without_the_prefix() {
        assert_eq!(parse_name("net_admin").unwrap(), Name::Bit(1 << 12));
        assert_eq!(parse_name("CAP_NET_ADMIN").unwrap(), Name::Bit(1 << 12));
        assert_eq!(parse_name("all").unwrap(), Name::All);
        let err = parse_name("cap_bogus").unwrap_err();
        assert_eq!(err.to_string(), "unknown capability: \"CAP_BOGUS\"");
    }

    #[test]
    fn default_add_and_drop_follow_docker() {
        let default = wanted(&options(&[], &[]), ALL_HELD, true).unwrap();
        assert_eq!(default, 0xa80425fb);
        let tweaked = wanted(&options(&["sys_admin"], &["chown"]), ALL_HELD, true).unwrap();
        assert_eq!(tweaked, 0xa80425fb & !1 | 1 << 21);
        let only = wanted(&options(&["kill"], &["ALL"]), ALL_HELD, true).unwrap();
        assert_eq!(only, 1 << 5);
        let all_but = wanted(&options(&["ALL"], &["MKNOD"]), ALL_HELD, true).unwrap();
        assert_eq!(all_but, ALL_HELD & !MKNOD);
    }

    #[test]
    fn privileged_is_everything_skiff_holds() {
        let privileged = Options {
            privileged: true,
            ..options(&[], &["ALL"])
        };
        assert_eq!(
            wanted(&privileged, 0x1fffeffffff, true).unwrap(),
            0x1fffeffffff
        );
    }

    #[test]
    fn where_a_node_made_could_open_anything_mknod_is_lost() {
        let set = wanted(&options(&[], &[]), ALL_HELD, false).unwrap();
        assert_eq!(set, 0xa00425fb);
        let added = wanted(&options(&["MKNOD"], &["ALL"]), ALL_HELD, false).unwrap();
        assert_eq!(added, 0);
    }

    #[test]
    fn adding_what_skiff_lacks_is_an_error() {
        let err = wanted(
            &options(&["SYS_RESOURCE"], &[]),
            ALL_HELD & !(1 << 24),
            true,
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            "--cap-add CAP_SYS_RESOURCE: skiff does not hold it itself"
        );
    }
}
