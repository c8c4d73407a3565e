//! The only `unsafe` code in skiff: one small wrapper per libc call.
//!
//! Each wrapper converts its arguments to C types, makes exactly one call, reads `errno`
//! at once (anything else could overwrite it) and turns -1 into an [`Error`] that names
//! the call and its argument: `pivot_root(/var/lib/skiff/…): Invalid argument`.
//! Each also narrates itself for `--trace`. Everything above this module is safe Rust.
//!
//! <https://man7.org/linux/man-pages/man2/syscalls.2.html>

use std::ffi::{CStr, CString, OsStr};
use std::fmt::Display;
use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::error::{Error, Kind, Result};
use crate::trace;

pub use libc::{
    CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, MNT_DETACH, MS_BIND,
    MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, MS_STRICTATIME,
};

/// A C string from a path or argument; interior NUL bytes are refused, not truncated.
pub fn c_string(s: impl AsRef<OsStr>) -> Result<CString> {
    let bytes = s.as_ref().as_bytes();
    CString::new(bytes).map_err(|_| {
        Error::invalid(format!(
            "{:?} contains a NUL byte",
            String::from_utf8_lossy(bytes)
        ))
    })
}

fn check(rc: impl Into<i64>, call: &'static str, arg: impl Display) -> Result<i64> {
    let rc = rc.into();
    if rc != -1 {
        return Ok(rc);
    }
    let errno = io::Error::last_os_error(); // before anything can overwrite it
    Err(Error::new(Kind::Sys {
        call,
        arg: arg.to_string(),
        errno,
    }))
}

/// `A|B|C` for the bits of `flags` that have names in `table`.
fn flag_names(flags: u64, table: &[(u64, &str)]) -> String {
    let names: Vec<&str> = table
        .iter()
        .filter(|(bit, _)| flags & bit == *bit)
        .map(|(_, name)| *name)
        .collect();
    if names.is_empty() {
        "0".into()
    } else {
        names.join("|")
    }
}

const CLONE_FLAGS: &[(u64, &str)] = &[
    (CLONE_NEWPID as u64, "CLONE_NEWPID"),
    (CLONE_NEWNS as u64, "CLONE_NEWNS"),
    (CLONE_NEWUTS as u64, "CLONE_NEWUTS"),
    (CLONE_NEWIPC as u64, "CLONE_NEWIPC"),
    (CLONE_NEWCGROUP as u64, "CLONE_NEWCGROUP"),
];

const MOUNT_FLAGS: &[(u64, &str)] = &[
    (MS_BIND, "MS_BIND"),
    (MS_REC, "MS_REC"),
    (MS_PRIVATE, "MS_PRIVATE"),
    (MS_NOSUID, "MS_NOSUID"),
    (MS_NODEV, "MS_NODEV"),
    (MS_NOEXEC, "MS_NOEXEC"),
    (MS_STRICTATIME, "MS_STRICTATIME"),
    (MS_RDONLY, "MS_RDONLY"),
    (MS_REMOUNT, "MS_REMOUNT"),
];

/// unshare(2): move this process into new namespaces of the given kinds.
/// <https://man7.org/linux/man-pages/man2/unshare.2.html>
pub fn unshare(flags: libc::c_int) -> Result<()> {
    let names = flag_names(flags as u64, CLONE_FLAGS);
    trace::call(format_args!("unshare({names})"));
    // SAFETY: unshare takes no pointers.
    let rc = unsafe { libc::unshare(flags) };
    check(rc, "unshare", names).map(drop)
}

/// fork(2): `None` in the child, the child's pid in the parent.
/// Safe to call because skiff is single-threaded.
/// <https://man7.org/linux/man-pages/man2/fork.2.html>
pub fn fork() -> Result<Option<libc::pid_t>> {
    trace::call(format_args!("fork()"));
    // SAFETY: skiff has one thread, so the child inherits no lock held by another thread.
    let pid = unsafe { libc::fork() };
    check(pid, "fork", "").map(|_| (pid > 0).then_some(pid))
}

/// setsid(2): a new session, so the terminal's Ctrl-C reaches the container only once,
/// through skiff's forwarding, as with Docker.
pub fn setsid() -> Result<()> {
    // SAFETY: setsid takes no arguments.
    let rc = unsafe { libc::setsid() };
    check(rc, "setsid", "").map(drop)
}

/// mount(2): attach a filesystem, or change the properties of a mount.
/// <https://man7.org/linux/man-pages/man2/mount.2.html>
pub fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> Result<()> {
    let names = flag_names(flags, MOUNT_FLAGS);
    trace::call(format_args!(
        "mount({}, {}, {}, {names}, {})",
        source.map_or("NULL".into(), |s| s.to_string_lossy()),
        target.display(),
        fstype.unwrap_or("NULL"),
        data.unwrap_or("NULL")
    ));
    let c_source = source.map(c_string).transpose()?;
    let c_target = c_string(target)?;
    let c_fstype = fstype.map(c_string).transpose()?;
    let c_data = data.map(c_string).transpose()?;
    let opt = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is NULL or a NUL-terminated string that outlives the call.
    let rc = unsafe {
        libc::mount(
            opt(&c_source),
            c_target.as_ptr(),
            opt(&c_fstype),
            flags,
            opt(&c_data).cast(),
        )
    };
    check(rc, "mount", target.display()).map(drop)
}

/// umount2(2) with flags; skiff uses `MNT_DETACH` to cut the old root loose.
/// <https://man7.org/linux/man-pages/man2/umount2.2.html>
pub fn umount2(target: &Path, flags: libc::c_int) -> Result<()> {
    trace::call(format_args!("umount2({}, MNT_DETACH)", target.display()));
    let c_target = c_string(target)?;
    // SAFETY: c_target is NUL-terminated and outlives the call.
    let rc = unsafe { libc::umount2(c_target.as_ptr(), flags) };
    check(rc, "umount2", target.display()).map(drop)
}

/// pivot_root(2): make `new_root` the root mount and move the old root to `put_old`.
/// libc has no wrapper, so we go through syscall(2).
/// <https://man7.org/linux/man-pages/man2/pivot_root.2.html>
pub fn pivot_root(new_root: &Path, put_old: &Path) -> Result<()> {
    trace::call(format_args!(
        "pivot_root({}, {})",
        new_root.display(),
        put_old.display()
    ));
    let (new, old) = (c_string(new_root)?, c_string(put_old)?);
    // SAFETY: both pointers are NUL-terminated and outlive the call.
    let rc = unsafe { libc::syscall(libc::SYS_pivot_root, new.as_ptr(), old.as_ptr()) };
    check(rc, "pivot_root", new_root.display()).map(drop)
}

/// chroot(2): change what `/` means for this process (not a mount: the weaker fallback).
/// <https://man7.org/linux/man-pages/man2/chroot.2.html>
pub fn chroot(path: &Path) -> Result<()> {
    trace::call(format_args!("chroot({})", path.display()));
    let c_path = c_string(path)?;
    // SAFETY: c_path is NUL-terminated and outlives the call.
    let rc = unsafe { libc::chroot(c_path.as_ptr()) };
    check(rc, "chroot", path.display()).map(drop)
}

/// chdir(2).
pub fn chdir(path: &Path) -> Result<()> {
    trace::call(format_args!("chdir({})", path.display()));
    let c_path = c_string(path)?;
    // SAFETY: c_path is NUL-terminated and outlives the call.
    let rc = unsafe { libc::chdir(c_path.as_ptr()) };
    check(rc, "chdir", path.display()).map(drop)
}

/// sethostname(2): names the UTS namespace this process is in.
/// <https://man7.org/linux/man-pages/man2/sethostname.2.html>
pub fn sethostname(name: &str) -> Result<()> {
    trace::call(format_args!("sethostname({name})"));
    // SAFETY: the pointer and length describe `name`, which outlives the call.
    let rc = unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) };
    check(rc, "sethostname", name).map(drop)
}

/// mknod(2): create a device node, FIFO or socket file.
/// <https://man7.org/linux/man-pages/man2/mknod.2.html>
pub fn mknod(path: &Path, mode: u32, major: u32, minor: u32) -> Result<()> {
    let c_path = c_string(path)?;
    let dev = libc::makedev(major, minor);
    // SAFETY: c_path is NUL-terminated and outlives the call.
    let rc = unsafe { libc::mknod(c_path.as_ptr(), mode, dev) };
    check(rc, "mknod", path.display()).map(drop)
}

/// execve(2): replace this process with `path`. Only returns on failure.
/// <https://man7.org/linux/man-pages/man2/execve.2.html>
pub fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> Error {
    trace::call(format_args!("execve({}, {argv:?})", path.to_string_lossy()));
    let argv_ptrs = null_terminated(argv);
    let envp_ptrs = null_terminated(envp);
    // SAFETY: path is NUL-terminated; both arrays are NULL-terminated and point into
    // CStrings that outlive the call (and on success nothing of ours survives anyway).
    unsafe { libc::execve(path.as_ptr(), argv_ptrs.as_ptr(), envp_ptrs.as_ptr()) };
    let errno = io::Error::last_os_error();
    Error::new(Kind::Sys {
        call: "execve",
        arg: path.to_string_lossy().into_owned(),
        errno,
    })
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(ptr::null()))
        .collect()
}

/// How a process ended, as wait4(2) tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The shell's convention, which Docker follows: the code, or 128 + the signal.
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(code) => code,
            Exit::Signal(signal) => 128 + signal,
        }
    }
}

/// waitpid(2) until `pid` has ended (not merely stopped).
/// <https://man7.org/linux/man-pages/man2/waitpid.2.html>
pub fn wait_for_exit(pid: libc::pid_t) -> Result<Exit> {
    loop {
        let mut status = 0;
        // SAFETY: status is a valid place for the kernel to write to.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        match check(rc, "waitpid", pid) {
            Err(e) if e.errno() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(_) if libc::WIFEXITED(status) => return Ok(Exit::Code(libc::WEXITSTATUS(status))),
            Ok(_) if libc::WIFSIGNALED(status) => return Ok(Exit::Signal(libc::WTERMSIG(status))),
            Ok(_) => continue,
        }
    }
}

/// waitpid(2) for any child: the next one to end, and how. PID 1 must reap every
/// orphan the kernel hands it, not only its own command.
pub fn wait_any() -> Result<(libc::pid_t, Exit)> {
    loop {
        let mut status = 0;
        // SAFETY: status is a valid place for the kernel to write to.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        match check(pid, "waitpid", -1) {
            Err(e) if e.errno() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(_) if libc::WIFEXITED(status) => {
                return Ok((pid, Exit::Code(libc::WEXITSTATUS(status))))
            }
            Ok(_) if libc::WIFSIGNALED(status) => {
                return Ok((pid, Exit::Signal(libc::WTERMSIG(status))))
            }
            Ok(_) => continue,
        }
    }
}

/// kill(2): send `signal` to process `pid`.
/// <https://man7.org/linux/man-pages/man2/kill.2.html>
pub fn kill(pid: libc::pid_t, signal: libc::c_int) -> Result<()> {
    trace::call(format_args!("kill({pid}, {signal})"));
    // SAFETY: kill takes no pointers.
    let rc = unsafe { libc::kill(pid, signal) };
    check(rc, "kill", pid).map(drop)
}

/// pidfd_open(2): a descriptor that becomes readable when process `pid` ends. Unlike
/// waitpid(2) it works for any process, not only our children, and unlike a pid it
/// cannot come to mean another process once this one is gone. libc has no wrapper.
/// <https://man7.org/linux/man-pages/man2/pidfd_open.2.html>
pub fn pidfd_open(pid: libc::pid_t) -> Result<File> {
    // SAFETY: pidfd_open takes no pointers.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    check(fd, "pidfd_open", pid)?;
    // SAFETY: the call succeeded, so fd is a new descriptor that nobody else owns.
    Ok(unsafe { File::from_raw_fd(fd as RawFd) })
}

/// poll(2): waits until one of `fds` is readable or hung up, or `timeout_ms` passes
/// (-1: forever). Returns which of them are ready.
/// <https://man7.org/linux/man-pages/man2/poll.2.html>
pub fn poll_readable(fds: &[RawFd], timeout_ms: libc::c_int) -> Result<Vec<bool>> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    loop {
        // SAFETY: polled is a valid array of pollfd of the length given.
        let rc = unsafe {
            libc::poll(
                polled.as_mut_ptr(),
                polled.len() as libc::nfds_t,
                timeout_ms,
            )
        };
        match check(rc, "poll", fds.len()) {
            Err(e) if e.errno() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(_) => return Ok(polled.iter().map(|p| p.revents != 0).collect()),
        }
    }
}

/// dup2(2): make descriptor `target` a copy of `fd` (how a process's stdout is pointed
/// at a pipe or a file before execve(2)).
/// <https://man7.org/linux/man-pages/man2/dup2.2.html>
pub fn dup2(fd: RawFd, target: RawFd) -> Result<()> {
    // SAFETY: dup2 takes no pointers; a bad descriptor fails with EBADF.
    let rc = unsafe { libc::dup2(fd, target) };
    check(rc, "dup2", format_args!("{fd}, {target}")).map(drop)
}

/// The child that forwarded signals go to; 0 means "none yet".
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(signal: libc::c_int) {
    let pid = FORWARD_TO.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe and takes no pointers.
        unsafe { libc::kill(pid, signal) };
    }
}

/// sigaction(2): from now on, each of `signals` sent to skiff is passed on to the
/// process given to [`forward_signals_to`], as `docker run`'s signal proxy does.
/// <https://man7.org/linux/man-pages/man2/sigaction.2.html>
pub fn forward_signals(signals: &[libc::c_int]) -> Result<()> {
    for &signal in signals {
        // SAFETY: an all-zero sigaction is a valid "no flags, empty mask" value.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = forward_signal as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: action is fully initialised; the old action is not wanted.
        let rc = unsafe { libc::sigaction(signal, &action, ptr::null_mut()) };
        check(rc, "sigaction", signal)?;
    }
    Ok(())
}

pub fn forward_signals_to(pid: libc::pid_t) {
    FORWARD_TO.store(pid, Ordering::Relaxed);
}

/// pipe2(2) with `O_CLOEXEC`: `(read end, write end)`. The write end vanishes in a
/// successful execve(2), which is how the parent learns that exec worked.
/// <https://man7.org/linux/man-pages/man2/pipe.2.html>
pub fn pipe() -> Result<(File, File)> {
    let mut fds: [RawFd; 2] = [-1, -1];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    check(rc, "pipe2", "O_CLOEXEC")?;
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// _exit(2): leave at once, without running the parent's destructors or flushing its
/// buffers (a forked child shares them).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and takes no pointers.
    unsafe { libc::_exit(code) }
}

/// isatty(3): is this descriptor a terminal?
pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty takes no pointers; a bad fd simply yields 0.
    unsafe { libc::isatty(fd) == 1 }
}

/// getrandom(2): fill `buf` from the kernel's CSPRNG.
/// <https://man7.org/linux/man-pages/man2/getrandom.2.html>
pub fn getrandom(buf: &mut [u8]) -> Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: the pointer and length describe `rest`, which is writable.
        let rc = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        filled += check(rc as i64, "getrandom", rest.len())? as usize;
    }
    Ok(())
}

/// flock(2) `LOCK_EX`: wait until no other process holds the lock on this file.
/// The lock goes with the descriptor, so it is released however skiff ends.
/// <https://man7.org/linux/man-pages/man2/flock.2.html>
pub fn flock_exclusive(file: &File, path: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock takes no pointers; the descriptor is open for the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        match check(rc, "flock", path.display()) {
            Err(e) if e.errno() == Some(libc::EINTR) => continue,
            other => return other.map(drop),
        }
    }
}

/// lsetxattr(2): set an extended attribute on `path` itself, never on what a symlink at
/// `path` points to. Layers carry them for file capabilities (`security.capability`).
/// <https://man7.org/linux/man-pages/man2/setxattr.2.html>
pub fn lsetxattr(path: &Path, name: &OsStr, value: &[u8]) -> Result<()> {
    let (c_path, c_name) = (c_string(path)?, c_string(name)?);
    // SAFETY: both strings are NUL-terminated, the pointer and length describe `value`,
    // and all three outlive the call.
    let rc = unsafe {
        libc::lsetxattr(
            c_path.as_ptr(),
            c_name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    let arg = format!("{}, {}", path.display(), name.to_string_lossy());
    check(rc, "lsetxattr", arg).map(drop)
}

/// close_range(2) with `CLOSE_RANGE_CLOEXEC`: every descriptor from 3 up is closed by
/// the coming execve(2), whatever skiff (or whoever started skiff) left open. A leaked
/// descriptor is a way out of the container (CVE-2024-21626). Kernels before 5.11 lack
/// the call; there each descriptor up to the soft `RLIMIT_NOFILE` is marked instead.
/// <https://man7.org/linux/man-pages/man2/close_range.2.html>
pub fn close_on_exec_from_3() -> Result<()> {
    trace::call(format_args!("close_range(3, ~0, CLOSE_RANGE_CLOEXEC)"));
    // SAFETY: close_range takes no pointers; it only changes descriptor flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if check(rc, "close_range", "3, ~0").is_ok() {
        return Ok(());
    }
    for fd in 3..open_file_limit()? {
        // SAFETY: fcntl on a closed descriptor just fails with EBADF, which is fine here.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// close_range(2): close descriptors `first` to `last`, whatever they are. A process
/// that will not execve(2), like a supervisor or an init, must shed what it inherited
/// itself. Before Linux 5.9, each descriptor up to the soft `RLIMIT_NOFILE` is closed.
pub fn close_range(first: RawFd, last: RawFd) -> Result<()> {
    if first > last {
        return Ok(());
    }
    trace::call(format_args!("close_range({first}, {last}, 0)"));
    // SAFETY: close_range takes no pointers; nothing in skiff holds these descriptors
    // beyond this point (the callers say so).
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first as u32, last as u32, 0) };
    if check(rc, "close_range", format_args!("{first}, {last}")).is_ok() {
        return Ok(());
    }
    for fd in first..=last.min(open_file_limit()?) {
        // SAFETY: closing a descriptor nobody uses; EBADF for closed ones is fine.
        unsafe { libc::close(fd) };
    }
    Ok(())
}

/// The soft `RLIMIT_NOFILE`: no descriptor is numbered this high.
fn open_file_limit() -> Result<RawFd> {
    // SAFETY: an all-zero rlimit is a valid value for getrlimit to overwrite.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: limit is a valid, writable rlimit.
    check(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        "getrlimit",
        "NOFILE",
    )?;
    Ok(RawFd::try_from(limit.rlim_cur).unwrap_or(RawFd::MAX))
}

/// prctl(2) `PR_CAPBSET_DROP`: remove one capability from the bounding set, for good:
/// no later execve(2), setuid binary or file capability can bring it back.
/// <https://man7.org/linux/man-pages/man2/PR_CAPBSET_DROP.2const.html>
pub fn drop_bounding_capability(capability: u32) -> Result<()> {
    // SAFETY: prctl with PR_CAPBSET_DROP takes plain integers.
    let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, capability as libc::c_ulong, 0, 0, 0) };
    check(rc, "prctl", format_args!("PR_CAPBSET_DROP, {capability}")).map(drop)
}

/// capset(2), version 3: set this thread's effective, permitted and inheritable
/// capability sets all to `mask` (bit N is capability N). libc has no wrapper.
/// <https://man7.org/linux/man-pages/man2/capset.2.html>
pub fn capset(mask: u64) -> Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    trace::call(format_args!(
        "capset(effective = permitted = inheritable = {mask:#018x})"
    ));
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let half = |bits: u64| Data {
        effective: bits as u32,
        permitted: bits as u32,
        inheritable: bits as u32,
    };
    let data = [half(mask), half(mask >> 32)];
    // SAFETY: header and data are valid, correctly laid out (repr(C)) and outlive the call.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
    check(rc, "capset", format_args!("{mask:#x}")).map(drop)
}
