//! What a container's processes may use, and its namespaces' own kernel settings: set
//! by its PID 1 between fork(2) and execve(2), and inherited by all it starts; `exec`
//! sets the rlimits and the OOM score again for the processes it starts, as Docker's.
//!
//! - `--ulimit nofile=1024:2048`: setrlimit(2) limits, by Docker's names (ulimit(1)'s),
//!   `-1` for unlimited; without `:HARD` the hard limit is the soft one. Only
//!   CAP_SYS_RESOURCE may raise a hard limit above the one skiff inherited.
//! - An OCI config's `process.user.umask`: umask(2), the permission bits new files
//!   lose (else the one skiff inherited).
//! - `--oom-score-adj N`: /proc/self/oom_score_adj, from -1000 (never chosen) to 1000
//!   (chosen first), what the OOM killer adds to a process's badness. Lowering it also
//!   needs CAP_SYS_RESOURCE.
//! - `--sysctl KEY=VALUE`: a file under /proc/sys. Most keys are the host kernel's, so
//!   only those that belong to a namespace the container has of its own are allowed, as
//!   Docker allows: `net.*` (its network namespace, so not with `--network host`) and the
//!   System V IPC and POSIX message queue keys (its IPC namespace). A task sees the
//!   values of its own namespaces there, so they are written once it has entered them
//!   and its network is configured (a key may name `eth0`), just before pivot_root(2),
//!   through the host's /proc: its own is mounted with /proc/sys read-only.
//!
//! <https://man7.org/linux/man-pages/man2/setrlimit.2.html>
//! <https://man7.org/linux/man-pages/man2/umask.2.html>
//! <https://man7.org/linux/man-pages/man5/proc.5.html> (oom_score_adj, /proc/sys)
//! <https://docs.docker.com/reference/cli/docker/container/run/#sysctl>

use std::fs;

use super::Options;
use crate::error::{Context, Error, Result};
use crate::sys;
use crate::trace;

/// Docker's `--ulimit` names, and the resource each limits.
const RLIMITS: [(&str, libc::c_int); 16] = [
    ("as", libc::RLIMIT_AS as libc::c_int),
    ("core", libc::RLIMIT_CORE as libc::c_int),
    ("cpu", libc::RLIMIT_CPU as libc::c_int),
    ("data", libc::RLIMIT_DATA as libc::c_int),
    ("fsize", libc::RLIMIT_FSIZE as libc::c_int),
    ("locks", libc::RLIMIT_LOCKS as libc::c_int),
    ("memlock", libc::RLIMIT_MEMLOCK as libc::c_int),
    ("msgqueue", libc::RLIMIT_MSGQUEUE as libc::c_int),
    ("nice", libc::RLIMIT_NICE as libc::c_int),
    ("nofile", libc::RLIMIT_NOFILE as libc::c_int),
    ("nproc", libc::RLIMIT_NPROC as libc::c_int),
    ("rss", libc::RLIMIT_RSS as libc::c_int),
    ("rtprio", libc::RLIMIT_RTPRIO as libc::c_int),
    ("rttime", libc::RLIMIT_RTTIME as libc::c_int),
    ("sigpending", libc::RLIMIT_SIGPENDING as libc::c_int),
    ("stack", libc::RLIMIT_STACK as libc::c_int),
];

/// The sysctls of the IPC namespace that Docker allows by name; `net.` and
/// `fs.mqueue.` are allowed by prefix.
const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// `--ulimit NAME=SOFT[:HARD]` → (name, resource, soft, hard), `-1` as RLIM_INFINITY.
pub fn ulimit(spec: &str) -> Result<(&str, libc::c_int, u64, u64)> {
    let invalid = |why: String| {
        Error::usage(format!(
            "invalid argument {spec:?} for \"--ulimit\" flag: {why}"
        ))
    };
    let (name, limits) = spec
        .split_once('=')
        .ok_or_else(|| invalid(format!("invalid ulimit argument: {spec}")))?;
    let (_, resource) = RLIMITS
        .iter()
        .find(|(known, _)| *known == name)
        .ok_or_else(|| invalid(format!("invalid ulimit type: {name}")))?;
    let (soft, hard) = limits.split_once(':').unwrap_or((limits, limits));
    let value = |text: &str| match text.parse::<i64>() {
        Ok(-1) => Ok(libc::RLIM_INFINITY),
        Ok(n) if n >= 0 => Ok(n as u64),
        _ => Err(invalid(format!("invalid ulimit argument: {spec}"))),
    };
    let (soft, hard) = (value(soft)?, value(hard)?);
    if soft > hard {
        return Err(invalid(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        )));
    }
    Ok((name, *resource, soft, hard))
}

/// `--oom-score-adj`'s value, in the kernel's range.
pub fn oom_score_adj(text: &str) -> Result<i32> {
    match text.parse() {
        Ok(n) if (-1000..=1000).contains(&n) => Ok(n),
        _ => Err(Error::usage(format!(
            "invalid value {text:?}: range for oom score adj is [-1000, 1000]"
        ))),
    }
}

/// A `--sysctl KEY=VALUE` the container may set: `own_netns` says whether it has a
/// network namespace of its own. Returns the key and value.
pub fn sysctl(spec: &str, own_netns: bool) -> Result<(&str, &str)> {
    let refused = |why: &str| Error::usage(format!("sysctl {spec:?} is not allowed{why}"));
    let (key, value) = spec.split_once('=').ok_or_else(|| refused(""))?;
    if key.starts_with("net.") {
        return match own_netns {
            true => Ok((key, value)),
            false => Err(refused(" in the host's network namespace (--network host)")),
        };
    }
    match IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") {
        true => Ok((key, value)),
        false => Err(refused(": only the container's namespaced ones (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)")),
    }
}

/// `--oom-score-adj`, which the process's children inherit.
pub fn set_oom_score_adj(options: &Options) -> Result<()> {
    if let Some(adj) = options.oom_score_adj {
        trace::step(&format!(
            "--oom-score-adj: {adj} into /proc/self/oom_score_adj"
        ));
        fs::write("/proc/self/oom_score_adj", adj.to_string())
            .context("write /proc/self/oom_score_adj")?;
    }
    Ok(())
}

/// In the container's PID 1, once it is in its own namespaces and its network is
/// configured, before pivot_root(2) (its own /proc has /proc/sys read-only): its OOM
/// score and its sysctls.
pub fn set_namespaced(options: &Options, own_netns: bool) -> Result<()> {
    set_oom_score_adj(options)?;
    if own_netns && !options.userns_mode().is_empty() {
        // Root in a user namespace holds no CAP_NET_BIND_SERVICE over this network
        // namespace, which the host's owns (see `userns`): ports below 1024 open to
        // anyone here, as Docker sets for every container. A --sysctl may say otherwise.
        // Linux before 4.11 has no such file: there root inside binds none of them.
        let path = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
        match fs::write(path, "0") {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                trace::step(&format!("no {path} (Linux before 4.11)"));
            }
            other => other.with_context(|| format!("write {path}"))?,
        }
    }
    for spec in options.sysctls.iter().flatten() {
        let (key, value) = sysctl(spec, own_netns)?;
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        trace::step(&format!("--sysctl: {value} into {path}"));
        fs::write(&path, value).with_context(|| format!("write {path}"))?;
    }
    Ok(())
}

/// The rlimits, last before the command: set earlier, a low `nofile` or `nproc` would
/// bind skiff's own steps.
pub fn limit(options: &Options) -> Result<()> {
    for spec in options.ulimits.iter().flatten() {
        let (name, resource, soft, hard) = ulimit(spec)?;
        sys::setrlimit(resource, name, soft, hard)?;
    }
    if let Some(mask) = options.umask {
        sys::umask(mask);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulimits_take_docker_names_and_a_hard_limit_defaults_to_the_soft() {
        let nofile = libc::RLIMIT_NOFILE as libc::c_int;
        assert_eq!(ulimit("nofile=100").unwrap(), ("nofile", nofile, 100, 100));
        assert_eq!(ulimit("nofile=100:200").unwrap().3, 200);
        assert_eq!(ulimit("core=-1").unwrap().2, libc::RLIM_INFINITY);
        for (spec, why) in [
            ("nofile", "invalid ulimit argument: nofile"),
            ("files=1", "invalid ulimit type: files"),
            (
                "nofile=2:1",
                "must be less than or equal to hard limit: 2 > 1",
            ),
            ("nofile=x", "invalid ulimit argument"),
            ("nofile=-2", "invalid ulimit argument"),
        ] {
            let err = ulimit(spec).unwrap_err();
            assert!(err.to_string().contains(why), "{spec}: {err}");
            assert_eq!(err.exit_code(), 125);
        }
    }

    #[test]
    fn only_namespaced_sysctls_are_allowed() {
        assert_eq!(
            sysctl("net.ipv4.ip_forward=1", true).unwrap(),
            ("net.ipv4.ip_forward", "1")
        );
        assert!(sysctl("kernel.shmmax=1024", false).is_ok());
        assert!(sysctl("fs.mqueue.msg_max=5", false).is_ok());
        let host = sysctl("net.ipv4.ip_forward=1", false).unwrap_err();
        assert!(
            host.to_string().contains("host's network namespace"),
            "{host}"
        );
        for spec in [
            "kernel.hostname=x",
            "vm.swappiness=1",
            "kernel.shmmax",
            "fs.file-max=9",
        ] {
            assert!(sysctl(spec, true).is_err(), "{spec}");
        }
    }

    #[test]
    fn oom_score_adj_stays_in_the_kernels_range() {
        assert_eq!(oom_score_adj("-1000").unwrap(), -1000);
        assert!(oom_score_adj("1001").is_err());
        assert!(oom_score_adj("x").is_err());
    }
}
