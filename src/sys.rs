//! The only `unsafe` code in skiff: one small wrapper per libc call.
//!
//! Each wrapper converts its arguments to C types, makes exactly one call, reads `errno`
//! at once (anything else could overwrite it) and turns -1 into an [`Error`] that names
//! the call and its argument: `pivot_root(/var/lib/skiff/…): Invalid argument`.
//! Each also narrates itself for `--trace`. Everything above this module is safe Rust.
//!
//! Three submodules hold the rest of the binary's `unsafe`, what sits under std rather
//! than over libc: `unwind` (the unwinder's entry points, for a binary without unwind
//! tables), `memcpy` (short copies, for the inflater's back-references) and `alloc`
//! (the global allocator that keeps the inflater's table-sized blocks for reuse).
//!
//! <https://man7.org/linux/man-pages/man2/syscalls.2.html>

use std::ffi::{CStr, CString, OsStr};
use std::fmt::Display;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use crate::error::{Error, Kind, Result};
use crate::trace;

#[cfg(all(no_unwind_tables, panic = "abort"))]
mod unwind;

#[cfg(all(wrap_memcpy, target_arch = "x86_64"))]
mod memcpy;

mod alloc;

#[global_allocator]
static ALLOCATOR: alloc::KeepingAllocator = alloc::KeepingAllocator;

pub use libc::{
    CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER,
    CLONE_NEWUTS, MNT_DETACH, MS_BIND, MS_DIRSYNC, MS_MANDLOCK, MS_MOVE, MS_NOATIME, MS_NODEV,
    MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT,
    MS_SHARED, MS_SLAVE, MS_STRICTATIME, MS_SYNCHRONOUS, MS_UNBINDABLE,
};

/// A C string from a path or argument; interior NUL bytes are refused, not truncated.
pub fn c_string(s: impl AsRef<OsStr>) -> Result<CString> {
    c_bytes(s.as_ref().as_bytes())
}

// The generic shells above and below stay one line each; the work is compiled once.
fn c_bytes(bytes: &[u8]) -> Result<CString> {
    CString::new(bytes).map_err(|_| {
        Error::invalid(format!(
            "{:?} contains a NUL byte",
            String::from_utf8_lossy(bytes)
        ))
    })
}

fn check(rc: impl Into<i64>, call: &'static str, arg: impl Display) -> Result<i64> {
    check_rc(rc.into(), call, &arg)
}

fn check_rc(rc: i64, call: &'static str, arg: &dyn Display) -> Result<i64> {
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
    (CLONE_NEWNET as u64, "CLONE_NEWNET"),
    (CLONE_NEWUSER as u64, "CLONE_NEWUSER"),
    (CLONE_INTO_CGROUP, "CLONE_INTO_CGROUP"),
];

const MOUNT_FLAGS: &[(u64, &str)] = &[
    (MS_REMOUNT, "MS_REMOUNT"),
    (MS_MOVE, "MS_MOVE"),
    (MS_BIND, "MS_BIND"),
    (MS_RDONLY, "MS_RDONLY"),
    (MS_REC, "MS_REC"),
    (MS_PRIVATE, "MS_PRIVATE"),
    (MS_SHARED, "MS_SHARED"),
    (MS_SLAVE, "MS_SLAVE"),
    (MS_UNBINDABLE, "MS_UNBINDABLE"),
    (MS_DIRSYNC, "MS_DIRSYNC"),
    (MS_MANDLOCK, "MS_MANDLOCK"),
    (MS_NOSUID, "MS_NOSUID"),
    (MS_NODEV, "MS_NODEV"),
    (MS_NOEXEC, "MS_NOEXEC"),
    (MS_STRICTATIME, "MS_STRICTATIME"),
    (MS_NOATIME, "MS_NOATIME"),
    (MS_NODIRATIME, "MS_NODIRATIME"),
    (MS_RELATIME, "MS_RELATIME"),
    (MS_SYNCHRONOUS, "MS_SYNCHRONOUS"),
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

/// The kernel's `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2); libc has
/// no wrapper for clone3(2) and no such struct for musl.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// clone3(2) with `CLONE_INTO_CGROUP`: fork(2), but the child starts life in the cgroup
/// whose directory `cgroup` is (cgroup v2, Linux 5.7), so it never has to move, and in
/// new namespaces of the kinds `namespaces` (`CLONE_NEW*`; of a new PID namespace it is
/// PID 1, while the caller's own children stay in the caller's).
///
/// musl's fork(2) also refreshes the thread ID musl caches; a raw clone3 cannot, so in
/// the child raise(3), and with it abort(3), would signal the parent. Its panics
/// therefore end it with `_exit`, never with abort(3).
/// <https://man7.org/linux/man-pages/man2/clone3.2.html>
pub fn fork_into_cgroup(namespaces: libc::c_int, cgroup: &File) -> Result<Option<libc::pid_t>> {
    let flags = namespaces as u64 | CLONE_INTO_CGROUP;
    let names = flag_names(flags, CLONE_FLAGS);
    trace::call(format_args!(
        "clone3({names}, cgroup={})",
        cgroup.as_raw_fd()
    ));
    clone3(
        &CloneArgs {
            flags,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: cgroup.as_raw_fd() as u64,
            ..CloneArgs::default()
        },
        &names,
    )
}

/// clone3(2) as fork(2): the child, whose panics end it with `_exit` (see above), gets
/// `None`; the parent the child's pid.
fn clone3(args: &CloneArgs, flags: &str) -> Result<Option<libc::pid_t>> {
    // SAFETY: args is a valid clone_args of the size given, with no stack: the child
    // runs on a copy of this one, as after fork(2); skiff has one thread.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    check(rc, "clone3", flags).map(cloned)
}

/// clone(2), which clone3(2) extends (Linux 5.3), as fork(2) with new `namespaces`
/// (none: a plain fork): where no cgroup asks for clone3, or it is refused. Its child's
/// panics end it as [`fork_into_cgroup`]'s do.
/// <https://man7.org/linux/man-pages/man2/clone.2.html>
pub fn clone_fork(namespaces: libc::c_int) -> Result<Option<libc::pid_t>> {
    let names = flag_names(namespaces as u64, CLONE_FLAGS);
    trace::call(format_args!("clone({names})"));
    let flags = libc::c_long::from(namespaces | libc::SIGCHLD);
    // SAFETY: no stack and no pointers: the child runs on a copy of this one, as
    // after fork(2); skiff has one thread.
    let rc = unsafe { libc::syscall(libc::SYS_clone, flags, 0, 0, 0, 0) };
    check(rc, "clone", names).map(cloned)
}

/// After a raw clone: `None` in the child, whose panics now end it with `_exit`; the
/// child's pid in the parent.
fn cloned(pid: i64) -> Option<libc::pid_t> {
    if pid == 0 {
        std::panic::set_hook(Box::new(|panic| {
            eprintln!("skiff: {panic}");
            exit_now(125)
        }));
    }
    (pid > 0).then_some(pid as libc::pid_t)
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
    let names = flag_names(flags as u64, &[(MNT_DETACH as u64, "MNT_DETACH")]);
    trace::call(format_args!("umount2({}, {names})", target.display()));
    let c_target = c_string(target)?;
    // SAFETY: c_target is NUL-terminated and outlives the call.
    let rc = unsafe { libc::umount2(c_target.as_ptr(), flags) };
    check(rc, "umount2", target.display()).map(drop)
}

/// statvfs(3): the flags of the mount `path` is on. Its `ST_*` bits have the values of
/// the `MS_*` flags that set them, so a remount can keep what a mount already has.
/// <https://man7.org/linux/man-pages/man3/statvfs.3.html>
pub fn mount_flags(path: &Path) -> Result<libc::c_ulong> {
    let c_path = c_string(path)?;
    // SAFETY: an all-zero statvfs is a valid value for the kernel to overwrite.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is NUL-terminated and stat is writable; both outlive the call.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
    check(rc, "statvfs", path.display())?;
    Ok(stat.f_flag)
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

/// openat(2) with `O_CREAT|O_EXCL|O_NOFOLLOW`: a new file for writing, never one that
/// was there, nor what a symlink there points to. (musl's open(3) follows an
/// `O_CLOEXEC` open with an fcntl(2) for kernels older than 2.6.23; its openat(3) does
/// not: one system call per file of a layer.)
/// <https://man7.org/linux/man-pages/man2/openat.2.html>
pub fn create_new(path: &Path, mode: u32) -> Result<File> {
    let c_path = c_string(path)?;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: c_path is NUL-terminated and outlives the call.
    let rc = unsafe { libc::openat(libc::AT_FDCWD, c_path.as_ptr(), flags, mode) };
    owned_fd(rc.into(), "openat", path.display()).map(File::from)
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

/// pidfd_open(2) of a process that may have ended: `None` if it has. ESRCH: gone and
/// reaped. EINVAL: being reaped at this very moment (its PID no longer a thread-group
/// leader's), or the number already another process's thread: pidfd_open(2) names
/// only a thread-group leader, which every process skiff records is.
pub fn pidfd_open_unless_ended(pid: libc::pid_t) -> Result<Option<File>> {
    match pidfd_open(pid) {
        Err(err) if matches!(err.errno(), Some(libc::ESRCH | libc::EINVAL)) => Ok(None),
        other => other.map(Some),
    }
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
/// Signals not yet sent on (bit N-1: signal N): one that comes before the child is
/// known waits here, as the command may already run, and be waited for, by then.
static FORWARD_PENDING: AtomicU64 = AtomicU64::new(0);

extern "C" fn forward_signal(signal: libc::c_int) {
    FORWARD_PENDING.fetch_or(1 << (signal - 1), Ordering::Relaxed);
    send_pending_signals();
}

/// Sends every pending signal to the child, once it is known. Async-signal-safe: the
/// handler calls it too (skiff has one thread, so a handler runs between two of the
/// main code's steps, never inside one).
fn send_pending_signals() {
    let pid = FORWARD_TO.load(Ordering::Relaxed);
    if pid > 0 {
        let pending = FORWARD_PENDING.swap(0, Ordering::Relaxed);
        for signal in (1..=64).filter(|signal| pending & (1 << (signal - 1)) != 0) {
            // SAFETY: kill(2) is async-signal-safe and takes no pointers.
            unsafe { libc::kill(pid, signal) };
        }
    }
}

/// sigaction(2): from now on, each of `signals` sent to skiff is passed on to the
/// process given to [`forward_signals_to`], as `docker run`'s signal proxy does.
/// <https://man7.org/linux/man-pages/man2/sigaction.2.html>
pub fn forward_signals(signals: &[libc::c_int]) -> Result<()> {
    for &signal in signals {
        set_action(
            signal,
            forward_signal as *const () as usize,
            libc::SA_RESTART,
        )?;
    }
    Ok(())
}

/// The kernel's `struct sigaction` on x86_64, for rt_sigaction(2) without libc.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// rt_sigaction(2) `SIG_DFL` for every signal, then sigprocmask(2) with an empty mask.
/// execve(2) drops handlers by itself, but keeps ignored signals and the blocked mask:
/// Rust's runtime ignores SIGPIPE in skiff, a shell ignores SIGINT for a job started
/// with `&` and `nohup` ignores SIGHUP, and none of that may reach the container. The
/// raw system call, since libc refuses to touch the signals it keeps for itself (32
/// to 34), and those may arrive ignored too.
/// <https://man7.org/linux/man-pages/man7/signal.7.html> ("Signal mask and pending
/// signals", "Execution of signal handlers")
pub fn reset_signals() -> Result<()> {
    trace::call(format_args!(
        "rt_sigaction(1..64, SIG_DFL), sigprocmask(SIG_SETMASK, {{}})"
    ));
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for signal in (1..=64).filter(|&s| s != libc::SIGKILL && s != libc::SIGSTOP) {
        // SAFETY: `default` is a valid kernel sigaction of the size given (8-byte mask);
        // the old action is not wanted.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                &default as *const KernelSigaction,
                ptr::null_mut::<KernelSigaction>(),
                8,
            )
        };
        check(rc, "rt_sigaction", signal)?;
    }
    set_signal_mask(libc::SIG_SETMASK, &[])
}

/// sigaction(2) with an empty mask: `handler` (a function, `SIG_DFL` or `SIG_IGN`).
fn set_action(signal: libc::c_int, handler: libc::sighandler_t, flags: libc::c_int) -> Result<()> {
    // SAFETY: an all-zero sigaction is a valid "no flags, empty mask" value.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler;
    action.sa_flags = flags;
    // SAFETY: action is fully initialised; the old action is not wanted.
    let rc = unsafe { libc::sigaction(signal, &action, ptr::null_mut()) };
    check(rc, "sigaction", signal).map(drop)
}

pub fn forward_signals_to(pid: libc::pid_t) {
    FORWARD_TO.store(pid, Ordering::Relaxed);
    send_pending_signals(); // those that came before
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

/// sched_getaffinity(2): how many CPUs skiff may run on, as Go's `runtime.NumCPU`
/// counts them for Docker's `--cpus` check and `info`; 1 if the kernel will not say.
/// <https://man7.org/linux/man-pages/man2/sched_getaffinity.2.html>
pub fn cpu_count() -> usize {
    // SAFETY: an all-zero cpu_set_t is a valid (empty) set for the kernel to fill.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    trace::call(format_args!("sched_getaffinity(0)"));
    // SAFETY: the pointer and size describe `set`, which is writable.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    match rc {
        // SAFETY: the kernel filled `set`; CPU_COUNT only reads it.
        0 => unsafe { libc::CPU_COUNT(&set) }.max(1) as usize,
        _ => 1,
    }
}

/// geteuid(2): the uid the kernel checks this process's permissions against.
/// <https://man7.org/linux/man-pages/man2/geteuid.2.html>
pub fn geteuid() -> u32 {
    // SAFETY: geteuid takes nothing and cannot fail.
    unsafe { libc::geteuid() }
}

/// getegid(2): the gid the kernel checks this process's permissions against.
/// <https://man7.org/linux/man-pages/man2/getegid.2.html>
pub fn getegid() -> u32 {
    // SAFETY: getegid takes nothing and cannot fail.
    unsafe { libc::getegid() }
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
    flock(file, path, libc::LOCK_EX)
}

/// flock(2) `LOCK_EX|LOCK_NB`: take the lock if nobody holds it; false if somebody does.
pub fn flock_exclusive_now(file: &File, path: &Path) -> Result<bool> {
    match flock(file, path, libc::LOCK_EX | libc::LOCK_NB) {
        Err(e) if e.errno() == Some(libc::EWOULDBLOCK) => Ok(false),
        other => other.map(|()| true),
    }
}

fn flock(file: &File, path: &Path, operation: libc::c_int) -> Result<()> {
    loop {
        // SAFETY: flock takes no pointers; the descriptor is open for the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), operation) };
        match check(rc, "flock", path.display()) {
            Err(e) if e.errno() == Some(libc::EINTR) => continue,
            other => return other.map(drop),
        }
    }
}

/// A lock file, created if missing, held with [`flock_exclusive`] until the file is
/// dropped. Opened without `O_TRUNC`: truncating it would change nothing but its
/// times, a journalled inode update on every start.
pub fn lock_file(path: &Path) -> Result<File> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path);
    let file = file.map_err(|errno| {
        let arg = path.display().to_string();
        Error::new(Kind::Sys {
            call: "open",
            arg,
            errno,
        })
    })?;
    flock_exclusive(&file, path)?;
    Ok(file)
}

/// syncfs(2): write everything cached for the filesystem that `file` is on to its disk.
/// <https://man7.org/linux/man-pages/man2/syncfs.2.html>
pub fn syncfs(file: &File, path: &Path) -> Result<()> {
    // SAFETY: syncfs takes no pointers; the descriptor is open for the call.
    let rc = unsafe { libc::syncfs(file.as_raw_fd()) };
    check(rc, "syncfs", path.display()).map(drop)
}

/// ioctl(2) `FS_IOC_GETFLAGS`: the inode flags of `dir` (`lsattr`'s letters), on the
/// filesystems that keep them (ext2/3/4, btrfs, xfs, …; others answer ENOTTY).
/// <https://man7.org/linux/man-pages/man2/ioctl_iflags.2.html>
pub fn inode_flags(dir: &File, path: &Path) -> Result<libc::c_int> {
    let mut flags: libc::c_int = 0;
    // SAFETY: the kernel writes one int (despite the request's name) to `flags`, which
    // outlives the call; the descriptor is open for it.
    let rc = unsafe { libc::ioctl(dir.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
    check(
        rc,
        "ioctl",
        format_args!("{}, FS_IOC_GETFLAGS", path.display()),
    )?;
    Ok(flags)
}

/// ioctl(2) `FS_IOC_SETFLAGS`: sets the inode flags of `dir` (`chattr`).
/// <https://man7.org/linux/man-pages/man2/ioctl_iflags.2.html>
pub fn set_inode_flags(dir: &File, path: &Path, flags: libc::c_int) -> Result<()> {
    trace::call(format_args!(
        "ioctl({}, FS_IOC_SETFLAGS, {flags:#x})",
        path.display()
    ));
    // SAFETY: the kernel reads one int from `flags`, which outlives the call.
    let rc = unsafe { libc::ioctl(dir.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) };
    check(
        rc,
        "ioctl",
        format_args!("{}, FS_IOC_SETFLAGS", path.display()),
    )
    .map(drop)
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

/// lgetxattr(2): whether `path` itself (never what a symlink there points to) has the
/// extended attribute `name` with the value `value`; its other values are not told.
/// <https://man7.org/linux/man-pages/man2/getxattr.2.html>
pub fn lgetxattr_is(path: &Path, name: &OsStr, value: &[u8]) -> Result<bool> {
    let (c_path, c_name) = (c_string(path)?, c_string(name)?);
    let mut buf = [0u8; 64];
    // SAFETY: both strings are NUL-terminated, the pointer and length describe `buf`,
    // and all three outlive the call.
    let n = unsafe {
        libc::lgetxattr(
            c_path.as_ptr(),
            c_name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let errno = io::Error::last_os_error(); // before anything can overwrite it
    match usize::try_from(n) {
        Ok(n) => Ok(buf.get(..n) == Some(value)),
        // None, or longer than any value asked about.
        Err(_) if matches!(errno.raw_os_error(), Some(libc::ENODATA | libc::ERANGE)) => Ok(false),
        Err(_) => Err(Error::new(Kind::Sys {
            call: "lgetxattr",
            arg: format!("{}, {}", path.display(), name.to_string_lossy()),
            errno,
        })),
    }
}

/// close_range(2) with `CLOSE_RANGE_CLOEXEC`: every descriptor from `first` (3, past
/// the ones the OCI runtime's caller asks to keep) up is closed by the coming
/// execve(2), whatever skiff (or whoever started skiff) left open. A leaked descriptor
/// is a way out of the container (CVE-2024-21626). Kernels before 5.11 lack the call;
/// there each descriptor up to the soft `RLIMIT_NOFILE` is marked instead.
/// <https://man7.org/linux/man-pages/man2/close_range.2.html>
pub fn close_on_exec_from(first: RawFd) -> Result<()> {
    trace::call(format_args!(
        "close_range({first}, ~0, CLOSE_RANGE_CLOEXEC)"
    ));
    // SAFETY: close_range takes no pointers; it only changes descriptor flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if check(rc, "close_range", format_args!("{first}, ~0")).is_ok() {
        return Ok(());
    }
    for fd in first..open_file_limit()? {
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
pub fn open_file_limit() -> Result<RawFd> {
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

/// prctl(2) `PR_SET_KEEPCAPS`: keep the permitted set when this process leaves UID 0
/// by setuid(2) (the effective set is emptied still); execve(2) clears the flag.
/// <https://man7.org/linux/man-pages/man2/PR_SET_KEEPCAPS.2const.html>
pub fn keep_capabilities() -> Result<()> {
    trace::call(format_args!("prctl(PR_SET_KEEPCAPS, 1)"));
    // SAFETY: prctl with PR_SET_KEEPCAPS takes plain integers.
    let rc = unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    check(rc, "prctl", "PR_SET_KEEPCAPS, 1").map(drop)
}

/// prctl(2) `PR_SET_PDEATHSIG`: the kernel sends this process `signal` when its parent
/// ends (0: nothing). It outlives execve(2), so it is cleared before; a change of user
/// (setuid(2)) clears it too.
/// <https://man7.org/linux/man-pages/man2/PR_SET_PDEATHSIG.2const.html>
pub fn set_parent_death_signal(signal: libc::c_int) -> Result<()> {
    trace::call(format_args!("prctl(PR_SET_PDEATHSIG, {signal})"));
    // SAFETY: prctl with PR_SET_PDEATHSIG takes plain integers.
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) };
    check(rc, "prctl", format_args!("PR_SET_PDEATHSIG, {signal}")).map(drop)
}

/// umask(2): the permission bits that files and directories this process creates
/// lose. It cannot fail; returns the mask it replaces.
/// <https://man7.org/linux/man-pages/man2/umask.2.html>
pub fn umask(mask: u32) -> u32 {
    trace::call(format_args!("umask({mask:#o})"));
    // SAFETY: umask takes a plain integer and touches no memory.
    unsafe { libc::umask(mask as libc::mode_t) }
}

/// prctl(2) `PR_CAP_AMBIENT_RAISE`: add one capability to the ambient set, which
/// execve(2) of a program without file capabilities keeps. It must be both permitted
/// and inheritable already.
/// <https://man7.org/linux/man-pages/man2/PR_CAP_AMBIENT.2const.html>
pub fn raise_ambient_capability(capability: u32) -> Result<()> {
    trace::call(format_args!("prctl(PR_CAP_AMBIENT_RAISE, {capability})"));
    let (op, raise) = (
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
    );
    // SAFETY: prctl with PR_CAP_AMBIENT takes plain integers.
    let rc = unsafe { libc::prctl(op, raise, capability as libc::c_ulong, 0, 0) };
    check(
        rc,
        "prctl",
        format_args!("PR_CAP_AMBIENT_RAISE, {capability}"),
    )
    .map(drop)
}

/// The header both capget(2) and capset(2) take: version 3 (64-bit sets), this thread.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// One 32-bit half of each set; version 3 takes two, low half first.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_VERSION_3: u32 = 0x2008_0522;

/// The capability the kernel asks for to change links, addresses and routes.
pub const CAP_NET_ADMIN: u32 = 12;
/// The capability to load and unload kernel modules.
const CAP_SYS_MODULE: u32 = 16;

/// capget(2): this thread's permitted set (bit N is capability N): all it can ever
/// hold again. libc has no wrapper.
/// <https://man7.org/linux/man-pages/man2/capget.2.html>
pub fn capget_permitted() -> Result<u64> {
    let data = capget_halves()?;
    Ok(u64::from(data[1].permitted) << 32 | u64::from(data[0].permitted))
}

fn capget_halves() -> Result<[CapData; 2]> {
    let header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header is valid and data has room for the two halves version 3 writes.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &header, data.as_mut_ptr()) };
    check(rc, "capget", "").map(|_| data)
}

/// capset(2), version 3: set this thread's effective and permitted sets to `permitted`
/// and its inheritable set to `inheritable` (bit N is capability N). The kernel then
/// also empties the ambient set of anything no longer both permitted and inheritable.
/// libc has no wrapper.
/// <https://man7.org/linux/man-pages/man2/capset.2.html>
pub fn capset(permitted: u64, inheritable: u64) -> Result<()> {
    trace::call(format_args!(
        "capset(effective = permitted = {permitted:#018x}, inheritable = {inheritable:#018x})"
    ));
    let half = |shift: u32| CapData {
        effective: (permitted >> shift) as u32,
        permitted: (permitted >> shift) as u32,
        inheritable: (inheritable >> shift) as u32,
    };
    let what = format_args!("{permitted:#x}, {inheritable:#x}");
    capset_halves(&[half(0), half(32)], what)
}

fn capset_halves(data: &[CapData; 2], what: impl Display) -> Result<()> {
    let header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    // SAFETY: header and data are valid, correctly laid out (repr(C)) and outlive the call.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
    check(rc, "capset", what).map(drop)
}

/// Runs `f` with `capabilities` (bits below 32: capability N is bit N) out of this
/// thread's effective set, and puts them back after: whatever `f` asks the kernel, it
/// asks without them. Lowering the effective set needs no privilege, and restoring it
/// needs only what the permitted set still holds. Where capset(2) is refused all the
/// same (a seccomp filter), `f` runs with them: only putting them back must not fail.
fn without_effective<T>(capabilities: u32, f: impl FnOnce() -> T) -> Result<T> {
    let held = capget_halves()?;
    let mut lowered = held;
    lowered[0].effective &= !capabilities;
    let what = format_args!("effective without {capabilities:#x}");
    if lowered[0].effective == held[0].effective || capset_halves(&lowered, what).is_err() {
        return Ok(f());
    }
    let result = f();
    capset_halves(&held, "effective as it was")?;
    Ok(result)
}

/// prctl(2) `PR_SET_NO_NEW_PRIVS`: from now on no execve(2) grants privileges: setuid
/// and setgid bits and file capabilities are ignored, for this process and every
/// descendant, irrevocably.
/// <https://man7.org/linux/man-pages/man2/PR_SET_NO_NEW_PRIVS.2const.html>
pub fn set_no_new_privs() -> Result<()> {
    trace::call(format_args!("prctl(PR_SET_NO_NEW_PRIVS, 1)"));
    // SAFETY: prctl with PR_SET_NO_NEW_PRIVS takes plain integers.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    check(rc, "prctl", "PR_SET_NO_NEW_PRIVS").map(drop)
}

/// seccomp(2) `SECCOMP_SET_MODE_FILTER`: from now on every system call of this
/// process and its descendants first runs `program`, a classic BPF program, which
/// decides whether the call proceeds. Irrevocable; needs no-new-privileges or
/// `CAP_SYS_ADMIN`. <https://man7.org/linux/man-pages/man2/seccomp.2.html>
pub fn seccomp_set_filter(program: &[libc::sock_filter]) -> Result<()> {
    trace::call(format_args!(
        "seccomp(SECCOMP_SET_MODE_FILTER, {} instructions)",
        program.len()
    ));
    let fprog = libc::sock_fprog {
        len: u16::try_from(program.len()).unwrap_or(u16::MAX),
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` points at `program`, whose length it gives; the kernel copies it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &raw const fprog,
        )
    };
    check(rc, "seccomp", "SECCOMP_SET_MODE_FILTER").map(drop)
}

/// setgroups(2): the supplementary group list, replacing whatever skiff inherited.
/// This and the two below go to the kernel directly: musl's wrappers make every thread
/// of the process change its IDs (POSIX asks it), blocking all signals around that, four
/// rt_sigprocmask(2) calls each; skiff has one thread, which the kernel's call covers.
/// <https://man7.org/linux/man-pages/man2/setgroups.2.html>
pub fn setgroups(groups: &[u32]) -> Result<()> {
    trace::call(format_args!("setgroups({groups:?})"));
    // SAFETY: the pointer and length describe `groups` (gid_t is u32), which outlives the call.
    let rc = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    check(rc, "setgroups", format_args!("{groups:?}")).map(drop)
}

/// setrlimit(2), as prlimit64 on this process (the one form with the same types on
/// every libc): `resource`'s soft and hard limits. Without CAP_SYS_RESOURCE a hard
/// limit can only be lowered.
/// <https://man7.org/linux/man-pages/man2/setrlimit.2.html>
pub fn setrlimit(resource: libc::c_int, name: &str, soft: u64, hard: u64) -> Result<()> {
    trace::call(format_args!("prlimit64(0, {name}, {soft}:{hard})"));
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    let old: *mut libc::rlimit = ptr::null_mut();
    // SAFETY: `limit` outlives the call; a null pointer asks for no old limits back.
    let rc = unsafe { libc::syscall(libc::SYS_prlimit64, 0, resource, &limit, old) };
    check(rc, "prlimit64", name).map(drop)
}

/// setgid(2): as root, sets the real, effective and saved group IDs alike.
/// <https://man7.org/linux/man-pages/man2/setgid.2.html>
pub fn setgid(gid: u32) -> Result<()> {
    trace::call(format_args!("setgid({gid})"));
    // SAFETY: setgid takes no pointers.
    let rc = unsafe { libc::syscall(libc::SYS_setgid, gid) };
    check(rc, "setgid", gid).map(drop)
}

/// setuid(2): as root, sets the real, effective and saved user IDs alike. Leaving UID 0
/// this way also empties the permitted, effective and ambient capability sets.
/// <https://man7.org/linux/man-pages/man2/setuid.2.html>
pub fn setuid(uid: u32) -> Result<()> {
    trace::call(format_args!("setuid({uid})"));
    // SAFETY: setuid takes no pointers.
    let rc = unsafe { libc::syscall(libc::SYS_setuid, uid) };
    check(rc, "setuid", uid).map(drop)
}

/// The new mount API's flags (linux/mount.h), which libc does not have for musl.
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
pub const MOUNT_ATTR_RDONLY: libc::c_uint = 1;
pub const MOUNT_ATTR_NOSUID: libc::c_uint = 2;
pub const MOUNT_ATTR_NODEV: libc::c_uint = 4;
pub const MOUNT_ATTR_NOEXEC: libc::c_uint = 8;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;

/// mount_setattr(2)'s argument (linux/mount.h `struct mount_attr`).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn owned_fd(rc: i64, call: &'static str, arg: impl Display) -> Result<OwnedFd> {
    let fd = check(rc, call, arg)?;
    // SAFETY: the call succeeded, so fd is a new descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// fsopen(2): a filesystem context, to be configured and then made into a mount that
/// is attached nowhere (fsmount). libc has no wrapper.
/// <https://man7.org/linux/man-pages/man2/fsopen.2.html>
pub fn fsopen(fstype: &str) -> Result<OwnedFd> {
    trace::call(format_args!("fsopen({fstype})"));
    let c_fstype = c_string(fstype)?;
    // SAFETY: c_fstype is NUL-terminated and outlives the call.
    let rc = unsafe { libc::syscall(libc::SYS_fsopen, c_fstype.as_ptr(), FSOPEN_CLOEXEC) };
    owned_fd(rc, "fsopen", fstype)
}

/// fsconfig(2) `FSCONFIG_SET_STRING`: one option of a filesystem context.
/// <https://man7.org/linux/man-pages/man2/fsconfig.2.html>
pub fn fsconfig_set(context: &OwnedFd, key: &str, value: &str) -> Result<()> {
    let what = format!("{key}={value}");
    fsconfig(context, FSCONFIG_SET_STRING, Some(key), Some(value), &what)
}

/// fsconfig(2) `FSCONFIG_SET_FLAG`: an option that takes no value.
pub fn fsconfig_flag(context: &OwnedFd, key: &str) -> Result<()> {
    fsconfig(context, FSCONFIG_SET_FLAG, Some(key), None, key)
}

/// fsconfig(2) `FSCONFIG_CMD_CREATE`: make the filesystem the context describes.
pub fn fsconfig_create(context: &OwnedFd) -> Result<()> {
    fsconfig(
        context,
        FSCONFIG_CMD_CREATE,
        None,
        None,
        "FSCONFIG_CMD_CREATE",
    )
}

/// fsconfig(2) itself: `command`, with its key and value where it takes them (`what`
/// names the call in the trace and in errors).
fn fsconfig(
    context: &OwnedFd,
    command: libc::c_uint,
    key: Option<&str>,
    value: Option<&str>,
    what: &str,
) -> Result<()> {
    trace::call(format_args!("fsconfig({what})"));
    let (c_key, c_value) = (
        key.map(c_string).transpose()?,
        value.map(c_string).transpose()?,
    );
    let pointer = |text: &Option<CString>| text.as_ref().map_or(ptr::null(), |t| t.as_ptr());
    // SAFETY: the descriptor is open and each string is NUL-terminated (or null, where
    // the command takes none) and outlives the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            context.as_raw_fd(),
            command,
            pointer(&c_key),
            pointer(&c_value),
            0,
        )
    };
    check(rc, "fsconfig", what).map(drop)
}

/// fsmount(2): a mount of the created filesystem, attached to no path: reachable only
/// through the descriptor it returns, and gone with the last reference to it.
/// <https://man7.org/linux/man-pages/man2/fsmount.2.html>
pub fn fsmount(context: &OwnedFd, attributes: libc::c_uint) -> Result<OwnedFd> {
    trace::call(format_args!("fsmount(MOUNT_ATTR {attributes:#x})"));
    // SAFETY: the descriptor is open; fsmount takes no pointers.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            context.as_raw_fd(),
            FSMOUNT_CLOEXEC,
            attributes,
        )
    };
    owned_fd(rc, "fsmount", attributes)
}

/// open_tree(2) with `OPEN_TREE_CLONE`: a copy of the mount at `path` (that directory
/// as its root), with every mount below it when `recursive` (`AT_RECURSIVE`), attached
/// nowhere, to be changed with mount_setattr(2) before move_mount(2) puts it somewhere.
/// libc has no wrapper.
/// <https://man7.org/linux/man-pages/man2/open_tree.2.html>
pub fn open_tree_clone(path: &Path, recursive: bool) -> Result<OwnedFd> {
    let recursive = if recursive { libc::AT_RECURSIVE } else { 0 };
    trace::call(format_args!(
        "open_tree({}, OPEN_TREE_CLONE{})",
        path.display(),
        if recursive != 0 { "|AT_RECURSIVE" } else { "" }
    ));
    let c_path = c_string(path)?;
    let flags = OPEN_TREE_CLONE | (libc::O_CLOEXEC | recursive) as libc::c_uint;
    // SAFETY: c_path is NUL-terminated and outlives the call.
    let rc = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c_path.as_ptr(), flags) };
    owned_fd(rc, "open_tree", path.display())
}

/// mount_setattr(2) on the detached mount `mount` and every mount below it: adds the
/// `MOUNT_ATTR_*` flags `set`; with `userns`, `MOUNT_ATTR_IDMAP` too: files then show
/// the owners that `userns`'s maps give their IDs (on-disk uid 0 as the namespace's
/// root's host uid), and files made through it are stored back through the same maps.
/// <https://man7.org/linux/man-pages/man2/mount_setattr.2.html>
pub fn mount_setattr(
    mount: &OwnedFd,
    set: libc::c_uint,
    userns: Option<&File>,
    what: &Path,
) -> Result<()> {
    let idmap = if userns.is_some() {
        MOUNT_ATTR_IDMAP
    } else {
        0
    };
    let attributes = format!(
        "{}, MOUNT_ATTR {:#x}",
        what.display(),
        u64::from(set) | idmap
    );
    trace::call(format_args!("mount_setattr({attributes}, AT_RECURSIVE)"));
    let attr = MountAttr {
        attr_set: u64::from(set) | idmap,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.map_or(0, |ns| ns.as_raw_fd() as u64),
    };
    let empty = c"";
    // SAFETY: the descriptors are open, the path is NUL-terminated, and attr is a
    // mount_attr of the size passed, all outliving the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            mount.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check(rc, "mount_setattr", attributes).map(drop)
}

/// move_mount(2): attach the detached mount `mount` on `target`.
/// <https://man7.org/linux/man-pages/man2/move_mount.2.html>
pub fn move_mount(mount: &OwnedFd, target: &Path) -> Result<()> {
    trace::call(format_args!("move_mount({})", target.display()));
    let (empty, c_target) = (c"", c_string(target)?);
    // SAFETY: the descriptor is open and both paths are NUL-terminated and outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mount.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            c_target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    check(rc, "move_mount", target.display()).map(drop)
}

/// openat(2) with `O_PATH|O_NOFOLLOW`: a handle on `name` in `dir`, good for
/// execveat(2) but not for reading or writing.
/// <https://man7.org/linux/man-pages/man2/openat.2.html>
pub fn open_path_at(dir: &OwnedFd, name: &OsStr) -> Result<OwnedFd> {
    let c_name = c_string(name)?;
    let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: the descriptor is open and c_name is NUL-terminated and outlives the call.
    let rc = unsafe { libc::openat(dir.as_raw_fd(), c_name.as_ptr(), flags) };
    owned_fd(rc.into(), "openat", name.to_string_lossy())
}

/// openat(2) with `O_WRONLY`: `name` in `dir`, for writing (blocks, for a FIFO,
/// until it has a reader).
/// <https://man7.org/linux/man-pages/man2/openat.2.html>
pub fn open_write_at(dir: &impl AsRawFd, name: &str) -> Result<File> {
    trace::call(format_args!(
        "openat({}, {name}, O_WRONLY)",
        dir.as_raw_fd()
    ));
    let c_name = c_string(name)?;
    // SAFETY: the descriptor is open and c_name is NUL-terminated and outlives the call.
    let rc = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c_name.as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC,
        )
    };
    owned_fd(rc.into(), "openat", name).map(File::from)
}

/// memfd_create(2): an anonymous file in memory that allows seals (`F_ADD_SEALS`).
/// <https://man7.org/linux/man-pages/man2/memfd_create.2.html>
pub fn memfd_create(name: &str) -> Result<File> {
    trace::call(format_args!(
        "memfd_create({name}, MFD_CLOEXEC|MFD_ALLOW_SEALING)"
    ));
    let c_name = c_string(name)?;
    // SAFETY: c_name is NUL-terminated and outlives the call.
    let rc =
        unsafe { libc::memfd_create(c_name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    Ok(File::from(owned_fd(rc.into(), "memfd_create", name)?))
}

/// The seals that make a memfd immutable for good: no write, no resize, no unsealing.
pub const SEALED: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// fcntl(2) `F_ADD_SEALS` with [`SEALED`].
/// <https://man7.org/linux/man-pages/man2/F_ADD_SEALS.2const.html>
pub fn seal(file: &File) -> Result<()> {
    trace::call(format_args!(
        "fcntl(F_ADD_SEALS, F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE)"
    ));
    // SAFETY: the descriptor is open; F_ADD_SEALS takes an integer.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, SEALED) };
    check(rc, "fcntl", "F_ADD_SEALS").map(drop)
}

/// fcntl(2) `F_SETFD`: whether descriptor `fd` closes at execve(2) (`FD_CLOEXEC`).
/// <https://man7.org/linux/man-pages/man2/fcntl.2.html>
pub fn set_cloexec(fd: RawFd, close_on_exec: bool) -> Result<()> {
    let flag = if close_on_exec { libc::FD_CLOEXEC } else { 0 };
    trace::call(format_args!("fcntl({fd}, F_SETFD, {flag})"));
    // SAFETY: F_SETFD takes an integer; a descriptor that is not open fails (EBADF).
    let rc = unsafe { libc::fcntl(fd, libc::F_SETFD, flag) };
    check(rc, "fcntl(F_SETFD)", fd).map(drop)
}

/// fcntl(2) `F_GET_SEALS`: a memfd's seals; an error (EINVAL) for any other file.
pub fn seals(file: &File) -> Result<libc::c_int> {
    // SAFETY: the descriptor is open; F_GET_SEALS takes no argument.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GET_SEALS) };
    check(rc, "fcntl", "F_GET_SEALS").map(|seals| seals as libc::c_int)
}

/// execveat(2) with `AT_EMPTY_PATH`: execute the file `fd` refers to, whatever path
/// (if any) leads to it. Only returns on failure. libc has no wrapper for musl.
/// <https://man7.org/linux/man-pages/man2/execveat.2.html>
pub fn execveat(fd: &impl AsRawFd, argv: &[CString], envp: &[CString]) -> Error {
    trace::call(format_args!(
        "execveat({}, \"\", {argv:?}, AT_EMPTY_PATH)",
        fd.as_raw_fd()
    ));
    let argv_ptrs = null_terminated(argv);
    let envp_ptrs = null_terminated(envp);
    // SAFETY: "" is NUL-terminated; both arrays are NULL-terminated and point into
    // CStrings that outlive the call; the descriptor is open.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv_ptrs.as_ptr(),
            envp_ptrs.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    let errno = io::Error::last_os_error();
    Error::new(Kind::Sys {
        call: "execveat",
        arg: fd.as_raw_fd().to_string(),
        errno,
    })
}

// Joining a running container

/// prctl(2) `PR_SET_DUMPABLE` 0: from now on only a holder of `CAP_SYS_PTRACE` may
/// ptrace(2) this process or open its /proc/PID files (fd/, exe, mem, environ), and
/// its children inherit that until they execve(2) (CVE-2016-9962).
/// <https://man7.org/linux/man-pages/man2/PR_SET_DUMPABLE.2const.html>
pub fn set_non_dumpable() -> Result<()> {
    trace::call(format_args!("prctl(PR_SET_DUMPABLE, 0)"));
    // SAFETY: prctl with PR_SET_DUMPABLE takes plain integers.
    let rc = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    check(rc, "prctl", "PR_SET_DUMPABLE, 0").map(drop)
}

/// setns(2): move this process into the namespaces `fd` names: those of `flags`, all
/// at once, when `fd` is a pidfd (Linux 5.8); the one it is, for a /proc/PID/ns file
/// (`flags` 0: any kind). A PID namespace joined this way holds only later children.
/// <https://man7.org/linux/man-pages/man2/setns.2.html>
pub fn setns(fd: &impl AsRawFd, flags: libc::c_int, what: &str) -> Result<()> {
    let names = flag_names(flags as u64, CLONE_FLAGS);
    trace::call(format_args!("setns({what}, {names})"));
    // SAFETY: setns takes no pointers; the descriptor is open for the call.
    let rc = unsafe { libc::setns(fd.as_raw_fd(), flags) };
    check(rc, "setns", format_args!("{what}, {names}")).map(drop)
}

/// fchdir(2): make the directory `dir` refers to the working directory, wherever it is.
/// <https://man7.org/linux/man-pages/man2/fchdir.2.html>
pub fn fchdir(dir: &impl AsRawFd) -> Result<()> {
    trace::call(format_args!("fchdir({})", dir.as_raw_fd()));
    // SAFETY: fchdir takes no pointers; the descriptor is open for the call.
    let rc = unsafe { libc::fchdir(dir.as_raw_fd()) };
    check(rc, "fchdir", dir.as_raw_fd()).map(drop)
}

/// clone3(2) with `CLONE_PARENT`: fork(2), but the child is a child of this process's
/// parent, which can wait for it once this process has gone.
/// <https://man7.org/linux/man-pages/man2/clone3.2.html>
pub fn fork_as_sibling() -> Result<Option<libc::pid_t>> {
    trace::call(format_args!("clone3(CLONE_PARENT)"));
    clone3(
        &CloneArgs {
            flags: libc::CLONE_PARENT as u64,
            ..CloneArgs::default()
        },
        "CLONE_PARENT",
    )
}

/// close_range(2) around `keep`: closes every descriptor from 3 up but those.
pub fn close_from_3_except(keep: &[RawFd]) -> Result<()> {
    let mut keep = keep.to_vec();
    crate::sort::sort_by(&mut keep, RawFd::cmp);
    let mut first = 3;
    for fd in keep {
        close_range(first, fd - 1)?;
        first = first.max(fd + 1);
    }
    close_range(first, RawFd::MAX)
}

// Netlink

/// socket(2) `AF_NETLINK`, `SOCK_RAW`: a channel to a kernel subsystem (`protocol`:
/// `NETLINK_ROUTE` for links, addresses and routes). The socket belongs to the network
/// namespace its creator was in, for its whole life, wherever it is used from later.
/// <https://man7.org/linux/man-pages/man7/netlink.7.html>
pub fn netlink_socket(protocol: libc::c_int) -> Result<OwnedFd> {
    trace::call(format_args!("socket(AF_NETLINK, SOCK_RAW, {protocol})"));
    // SAFETY: socket takes no pointers.
    let rc = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            protocol,
        )
    };
    owned_fd(rc.into(), "socket", format_args!("AF_NETLINK, {protocol}"))
}

/// send(2) one whole datagram: an unconnected netlink socket sends to the kernel.
/// <https://man7.org/linux/man-pages/man2/send.2.html>
pub fn send(socket: &OwnedFd, message: &[u8], what: &str) -> Result<()> {
    trace::call(format_args!("send(netlink, {what})"));
    // SAFETY: the pointer and length describe `message`, which outlives the call.
    let rc = unsafe {
        libc::send(
            socket.as_raw_fd(),
            message.as_ptr().cast(),
            message.len(),
            0,
        )
    };
    check(rc as i64, "send", what).map(drop)
}

/// recv(2) one datagram into `buf`; returns its length.
/// <https://man7.org/linux/man-pages/man2/recv.2.html>
pub fn recv(socket: &OwnedFd, buf: &mut [u8], what: &str) -> Result<usize> {
    loop {
        // SAFETY: the pointer and length describe `buf`, which is writable.
        let rc = unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        match check(rc as i64, "recv", what) {
            Err(e) if e.errno() == Some(libc::EINTR) => continue,
            other => return other.map(|n| n as usize),
        }
    }
}

/// ioctl(2) `SIOCGIFINDEX` on `socket`: the index of the network interface `name` in
/// the socket's network namespace, ENODEV if there is none. The kernel looks it up
/// under RCU, where an `RTM_GETLINK` waits for the rtnl lock, which the kernel's
/// teardown of dead network namespaces holds for milliseconds at a time. First, though,
/// for a name it does not find, the kernel asks modprobe(8) for a driver so named
/// (`dev_load`: the old way to load a network driver by its interface's name) if the
/// caller holds CAP_NET_ADMIN or CAP_SYS_MODULE: skiff asks without them.
/// <https://man7.org/linux/man-pages/man7/netdevice.7.html>
pub fn interface_index(socket: &OwnedFd, name: &str) -> Result<u32> {
    trace::call(format_args!("ioctl(SIOCGIFINDEX, {name})"));
    // SAFETY: an all-zero ifreq is a valid value: an empty name, a zero index.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    // The last byte stays the name's NUL; the kernel reads a name only up to a colon
    // (an alias: `eth0:1`).
    let room = request.ifr_name.len() - 1;
    if name.len() > room || name.contains(['\0', ':']) {
        return Err(Error::invalid(format!(
            "{name:?}: not a network interface's name"
        )));
    }
    for (to, from) in request.ifr_name.iter_mut().zip(name.bytes()) {
        *to = from as libc::c_char;
    }
    let no_modules = 1 << CAP_NET_ADMIN | 1 << CAP_SYS_MODULE;
    // SAFETY: SIOCGIFINDEX reads the name from `request` and writes the index into it;
    // it outlives the call. musl's ioctl(2) takes the request as an int.
    let asked =
        || unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFINDEX as _, &mut request) };
    let rc = without_effective(no_modules, asked)?;
    check(rc, "ioctl", format_args!("SIOCGIFINDEX, {name}"))?;
    // SAFETY: the kernel has filled in the union's index.
    let index = unsafe { request.ifr_ifru.ifru_ifindex };
    Ok(index as u32)
}

// Terminals: the signal mask and signalfd(2) for a single-threaded relay, termios(3),
// window sizes, the pseudo-terminal multiplexor, and descriptors passed over a socket.

/// sigprocmask(2): `how` is `SIG_BLOCK`, `SIG_UNBLOCK` or `SIG_SETMASK`.
/// <https://man7.org/linux/man-pages/man2/sigprocmask.2.html>
pub fn set_signal_mask(how: libc::c_int, signals: &[libc::c_int]) -> Result<()> {
    let set = signal_set(signals);
    // SAFETY: set is a valid sigset_t; the old mask is not wanted.
    let rc = unsafe { libc::sigprocmask(how, &set, ptr::null_mut()) };
    check(rc, "sigprocmask", format_args!("{how}, {signals:?}")).map(drop)
}

fn signal_set(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: an all-zero sigset_t is a valid value for sigemptyset to overwrite.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is a valid, writable sigset_t; sigaddset only fails for a bad number.
    unsafe {
        libc::sigemptyset(&mut set);
        for &signal in signals {
            libc::sigaddset(&mut set, signal);
        }
    }
    set
}
/// signalfd(2): `signals` (which the caller has blocked) become readable records on a
/// descriptor, so one poll(2) loop waits for them beside its other files, with no
/// handler running in between.
/// <https://man7.org/linux/man-pages/man2/signalfd.2.html>
pub fn signalfd(signals: &[libc::c_int]) -> Result<File> {
    trace::call(format_args!("signalfd({signals:?})"));
    let set = signal_set(signals);
    // SAFETY: set is a valid sigset_t that outlives the call.
    let rc = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) };
    Ok(File::from(owned_fd(
        rc.into(),
        "signalfd",
        format_args!("{signals:?}"),
    )?))
}

/// The number of the next signal a [`signalfd`] holds (it must be readable).
pub fn read_signal(signals: &File) -> Result<libc::c_int> {
    // SAFETY: an all-zero signalfd_siginfo is a valid value for read to overwrite.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: the pointer and length describe `info`, which is writable.
    let rc = unsafe { libc::read(signals.as_raw_fd(), ptr::addr_of_mut!(info).cast(), size) };
    check(rc as i64, "read", "signalfd")?;
    Ok(info.ssi_signo as libc::c_int)
}

/// tcgetattr(3): the terminal's settings (termios(3)).
/// <https://man7.org/linux/man-pages/man3/termios.3.html>
pub fn terminal_settings(fd: RawFd) -> Result<libc::termios> {
    // SAFETY: an all-zero termios is a valid value for tcgetattr to overwrite.
    let mut settings: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: settings is a valid, writable termios.
    let rc = unsafe { libc::tcgetattr(fd, &mut settings) };
    check(rc, "tcgetattr", fd)?;
    Ok(settings)
}

/// tcsetattr(3) `TCSANOW`: the terminal takes `settings` at once.
pub fn set_terminal_settings(fd: RawFd, settings: &libc::termios) -> Result<()> {
    trace::call(format_args!("tcsetattr({fd}, TCSANOW)"));
    // SAFETY: settings is a valid termios that outlives the call.
    let rc = unsafe { libc::tcsetattr(fd, libc::TCSANOW, settings) };
    check(rc, "tcsetattr", fd).map(drop)
}

/// cfmakeraw(3): `settings` with no echo, no line editing, no signals from keys and
/// no output processing: every byte goes through as typed.
pub fn raw_settings(mut settings: libc::termios) -> libc::termios {
    // SAFETY: settings is a valid termios; cfmakeraw only changes its flags.
    unsafe { libc::cfmakeraw(&mut settings) };
    settings
}

/// ioctl(2) `TIOCGWINSZ`: the terminal's size in rows and columns.
/// <https://man7.org/linux/man-pages/man2/TIOCGWINSZ.2const.html>
pub fn window_size(fd: RawFd) -> Result<libc::winsize> {
    // SAFETY: an all-zero winsize is a valid value for the kernel to overwrite.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize, for which `size` has room.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) };
    check(rc, "ioctl", format_args!("{fd}, TIOCGWINSZ"))?;
    Ok(size)
}

/// ioctl(2) `TIOCSWINSZ`: sets the size; the terminal's foreground process group gets
/// SIGWINCH if it changed.
pub fn set_window_size(fd: RawFd, size: &libc::winsize) -> Result<()> {
    trace::call(format_args!(
        "ioctl({fd}, TIOCSWINSZ, {}x{})",
        size.ws_row, size.ws_col
    ));
    // SAFETY: TIOCSWINSZ reads one winsize, which `size` is.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, size) };
    check(rc, "ioctl", format_args!("{fd}, TIOCSWINSZ")).map(drop)
}

/// The filesystem type (`f_type`, a magic number from statfs(2)) that `file` is on.
/// <https://man7.org/linux/man-pages/man2/fstatfs.2.html>
pub fn filesystem_type(file: &File) -> Result<i64> {
    // SAFETY: an all-zero statfs is a valid value for the kernel to overwrite.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: stat is writable and the descriptor is open.
    let rc = unsafe { libc::fstatfs(file.as_raw_fd(), &mut stat) };
    check(rc, "fstatfs", file.as_raw_fd())?;
    Ok(stat.f_type as i64)
}

/// ioctl(2) `TIOCSPTLCK` 0, then `TIOCGPTN`: unlocks a new pseudo-terminal's slave (what
/// unlockpt(3) does) and returns its number N (`/dev/pts/N`).
/// <https://man7.org/linux/man-pages/man3/unlockpt.3.html>
pub fn unlock_pty(master: &File) -> Result<u32> {
    let fd = master.as_raw_fd();
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int, which `unlock` is.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCSPTLCK, &unlock) };
    check(rc, "ioctl", format_args!("{fd}, TIOCSPTLCK"))?;
    let mut number: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int, for which `number` has room.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGPTN, &mut number) };
    check(rc, "ioctl", format_args!("{fd}, TIOCGPTN"))?;
    trace::call(format_args!("unlockpt({fd}): /dev/pts/{number}"));
    Ok(number)
}

/// ioctl(2) `TIOCGPTPEER` (Linux 4.13): opens the slave of `master` through the master
/// itself, so no path (which the container could swap) is involved.
/// <https://man7.org/linux/man-pages/man2/TIOCGPTPEER.2const.html>
pub fn open_pty_slave(master: &File) -> Result<File> {
    let fd = master.as_raw_fd();
    trace::call(format_args!("ioctl({fd}, TIOCGPTPEER, O_RDWR|O_NOCTTY)"));
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes its flags as a plain integer.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGPTPEER, flags) };
    Ok(File::from(owned_fd(
        rc.into(),
        "ioctl",
        format_args!("{fd}, TIOCGPTPEER"),
    )?))
}

/// ioctl(2) `TIOCSCTTY`: the terminal on `fd` becomes the controlling terminal of this
/// process's session (it must lead a session that has none): its keys' signals, its
/// hangup and its job control now reach the session.
/// <https://man7.org/linux/man-pages/man2/TIOCSCTTY.2const.html>
pub fn set_controlling_terminal(fd: RawFd) -> Result<()> {
    trace::call(format_args!("ioctl({fd}, TIOCSCTTY)"));
    // SAFETY: TIOCSCTTY takes a plain integer (0: do not steal it from another session).
    let rc = unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) };
    check(rc, "ioctl", format_args!("{fd}, TIOCSCTTY")).map(drop)
}

/// Room for one control message carrying one descriptor, aligned as cmsghdr wants.
#[repr(C, align(8))]
struct OneFd([u8; 32]);

/// sendmsg(2) with an `SCM_RIGHTS` message: the process at the other end of the Unix
/// socket receives a new descriptor for the same open file, with `data` (at least one
/// byte: a message must carry some).
/// <https://man7.org/linux/man-pages/man7/unix.7.html>
pub fn send_fd(socket: &impl AsRawFd, fd: &impl AsRawFd, data: &[u8]) -> Result<()> {
    let (socket, fd) = (socket.as_raw_fd(), fd.as_raw_fd());
    trace::call(format_args!("sendmsg({socket}, SCM_RIGHTS [{fd}])"));
    let mut iov = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    let mut control = OneFd([0; 32]);
    // SAFETY: an all-zero msghdr is valid; every pointer set below outlives the call
    // (sendmsg only reads `data`), and CMSG_* stay within `control`, which has room for
    // one cmsghdr and one int.
    let rc = unsafe {
        let mut message: libc::msghdr = std::mem::zeroed();
        message.msg_iov = &mut iov;
        message.msg_iovlen = 1;
        message.msg_control = control.0.as_mut_ptr().cast();
        message.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as _;
        let header = libc::CMSG_FIRSTHDR(&message);
        (*header).cmsg_level = libc::SOL_SOCKET;
        (*header).cmsg_type = libc::SCM_RIGHTS;
        (*header).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        ptr::write_unaligned(libc::CMSG_DATA(header).cast::<RawFd>(), fd);
        libc::sendmsg(socket, &message, libc::MSG_NOSIGNAL)
    };
    check(rc as i64, "sendmsg", socket).map(drop)
}

/// recvmsg(2): the bytes (into `data`) and the descriptor [`send_fd`] sent, the
/// descriptor close-on-exec; `None` for it if none came (0 bytes: the other end closed).
pub fn recv_fd(socket: &impl AsRawFd, data: &mut [u8]) -> Result<(usize, Option<File>)> {
    let socket = socket.as_raw_fd();
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    let mut control = OneFd([0; 32]);
    // SAFETY: an all-zero msghdr is valid; every pointer in it outlives the call.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.0.as_mut_ptr().cast();
    message.msg_controllen = control.0.len() as _;
    // SAFETY: message describes writable buffers that outlive the call.
    let rc = unsafe { libc::recvmsg(socket, &mut message, libc::MSG_CMSG_CLOEXEC) };
    let received = check(rc as i64, "recvmsg", socket)? as usize;
    // SAFETY: the kernel filled in message and control; CMSG_FIRSTHDR returns null or
    // a header inside `control`, whose data holds an int when the type is SCM_RIGHTS.
    let fd = unsafe {
        let header = libc::CMSG_FIRSTHDR(&message);
        if header.is_null() || (*header).cmsg_type != libc::SCM_RIGHTS {
            return Ok((received, None));
        }
        ptr::read_unaligned(libc::CMSG_DATA(header).cast::<RawFd>())
    };
    trace::call(format_args!("recvmsg({socket}): SCM_RIGHTS [{fd}]"));
    // SAFETY: the kernel just installed fd in this process for us alone.
    Ok((received, Some(unsafe { File::from_raw_fd(fd) })))
}

/// poll(2) for any events: each entry's `revents` says what happened to it.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> Result<()> {
    loop {
        // SAFETY: fds is a valid array of pollfd of the length given.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        match check(rc, "poll", fds.len()) {
            Err(e) if e.errno() == Some(libc::EINTR) => continue,
            other => return other.map(drop),
        }
    }
}

/// fcntl(2) `F_SETFL` `O_NONBLOCK`: reads and writes that would wait fail with EAGAIN.
pub fn set_nonblocking(file: &File) -> Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: F_GETFL and F_SETFL take plain integers; the descriptor is open.
    let rc = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags == -1 {
            flags
        } else {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK)
        }
    };
    check(rc, "fcntl", format_args!("{fd}, O_NONBLOCK")).map(drop)
}

/// `union bpf_attr` for `BPF_PROG_LOAD`, as far as skiff fills it; the kernel takes
/// what it is not given as zero.
#[repr(C, align(8))]
struct BpfProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
}

/// `union bpf_attr` for `BPF_PROG_ATTACH`.
#[repr(C, align(8))]
struct BpfProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Other programs may sit on the cgroups above (systemd's): all must allow.
const BPF_F_ALLOW_MULTI: u32 = 2;

/// bpf(2) with `attr`; libc has no wrapper.
fn bpf<T>(command: libc::c_int, attr: &T, name: &'static str) -> Result<i64> {
    // SAFETY: attr is a bpf_attr of the size given, whose pointers outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            command,
            attr as *const T,
            std::mem::size_of::<T>(),
        )
    };
    check(rc, "bpf", name)
}

/// bpf(2) `BPF_PROG_LOAD` of a `BPF_PROG_TYPE_CGROUP_DEVICE` program: the kernel's
/// verifier checks it (no loop, no read out of bounds, an exit everywhere) first.
/// <https://man7.org/linux/man-pages/man2/bpf.2.html>
pub fn bpf_prog_load_device(insns: &[u64]) -> Result<OwnedFd> {
    trace::call(format_args!(
        "bpf(BPF_PROG_LOAD, CGROUP_DEVICE, {} instructions)",
        insns.len()
    ));
    let attr = BpfProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: c"MIT".as_ptr() as u64,
        log_level: 0,
        log_size: 0,
        log_buf: 0,
    };
    owned_fd(bpf(BPF_PROG_LOAD, &attr, "BPF_PROG_LOAD")?, "bpf", "")
}

/// bpf(2) `BPF_PROG_ATTACH`: `program` guards the devices of cgroup `dir`'s processes.
pub fn bpf_prog_attach_device(dir: &File, program: &OwnedFd) -> Result<()> {
    trace::call(format_args!(
        "bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)"
    ));
    let attr = BpfProgAttach {
        target_fd: dir.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    bpf(BPF_PROG_ATTACH, &attr, "BPF_PROG_ATTACH").map(drop)
}
