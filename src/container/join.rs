//! `skiff exec`: one more process in a running container, in everything its first
//! process is in.
//!
//! A container is a set of namespaces and a cgroup, all held by its processes; joining
//! it means entering each:
//!
//! - **Namespaces**: setns(2) moves the caller into a namespace named by a descriptor.
//!   A pidfd (pidfd_open(2)) names a process and, since Linux 5.8, all its namespaces:
//!   `setns(pidfd, CLONE_NEWNS|CLONE_NEWPID|…)` enters every one in a single step, or
//!   none. Older kernels want one descriptor per namespace, the files of
//!   `/proc/PID/ns/` (namespaces(7)), all opened before the first is joined: once in the
//!   container's mount namespace, `/proc/PID` means something else.
//! - **The mount namespace and the root**: setns(2) into a mount namespace sets the
//!   caller's root and working directory to what is mounted on that namespace's `/`
//!   (the kernel's `mntns_install`), which is the container's root only if it was
//!   entered with pivot_root(2); where skiff had to chroot(2) instead, it is not. So the
//!   root comes explicitly from the container's first process: `/proc/PID/root`,
//!   opened before joining, then fchdir(2) to it and chroot(2) to `.`.
//! - **PID namespace, and the second fork**: setns(2) into a PID namespace does not move
//!   the caller (its pid cannot change); only the children it makes afterwards are born
//!   inside (pid_namespaces(7)). So the joining process forks once more, with
//!   `CLONE_PARENT` so that the command's process is skiff's child, which skiff can
//!   wait for, and exits. The command sees itself beside PID 1 in `ps`.
//! - **Cgroup**: on cgroup v2 the joining process is born in the container's cgroup
//!   (clone3(2) `CLONE_INTO_CGROUP`), as the container's first process was; on v1 it
//!   writes itself into `tasks` before setns(2). Its child stays there.
//!
//! Then the command's process becomes what the container's own first process became:
//! the same capabilities (the bounding set the container's PID 1 has, or with
//! `--privileged` every one skiff holds), no-new-privileges, the user (`-u`, else the
//! container's), its environment plus `-e`, and its working directory (`-w`, else the
//! container's; it must exist, as with `docker exec`). A failure on the way is exit
//! status 126, as Docker's `exec` gives for any command it could not start.
//!
//! With `-t`, the command's process makes its terminal as the container's first
//! process does (see `console`): from the container's own devpts, after it has entered
//! the root and started its session, sized before execve(2); the master goes back to
//! skiff over a socket (`SCM_RIGHTS`), which closes before execve(2). skiff relays it
//! (see `terminal`); skiff's own stdio (the user's terminal) never enters. The
//! container's `/dev/console` stays its first process's.
//!
//! Two runc vulnerabilities shape the order. CVE-2016-9962: a process that enters a
//! container still holds its runtime's memory and descriptors until it execs, and the
//! container's root could ptrace(2) it or open `/proc/PID/fd/*` to reach the host. So
//! the joining process is made non-dumpable (prctl(2) `PR_SET_DUMPABLE`) before it
//! enters, which its child inherits until execve(2); it closes every descriptor but
//! stdio, its two pipes, with `-t` the socket its terminal's master goes back on, and
//! the two it enters by, and those two before it forks. CVE-2019-5736: a process in the container must
//! not find the host's skiff binary through `/proc/PID/exe`; `exec` runs, like `run`,
//! from a sealed copy (see `sealed_exe`).
//! <https://man7.org/linux/man-pages/man2/setns.2.html>
//! <https://man7.org/linux/man-pages/man2/pidfd_open.2.html>
//! <https://man7.org/linux/man-pages/man7/pid_namespaces.7.html>
//! <https://nvd.nist.gov/vuln/detail/CVE-2016-9962>

use std::convert::Infallible;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::console::{self, Console};
use super::{process, take_identity, tuning, userns, Options, Process};
use crate::cgroup::{self, Cgroup};
use crate::error::{Context, Error, Kind, Result};
use crate::sys;
use crate::trace;

/// What `exec` runs, and how.
pub struct Exec {
    /// The command; its environment is the container's with `-e` on top (`HOME` comes
    /// from the user), its user and working directory the container's unless `-u`, `-w`.
    pub process: Process,
    pub privileged: bool,
    /// The command's capabilities, as the OCI runtime's `exec` is told them; `None`:
    /// the container's PID 1's bounding set (every one skiff holds if `privileged`).
    pub capabilities: Option<u64>,
    /// The container's: its no-new-privileges, `--ulimit` and `--oom-score-adj` hold
    /// for exec'd processes too, as Docker's exec takes the container's process spec.
    pub options: Options,
    /// `-i`: the command reads skiff's stdin; otherwise /dev/null.
    pub interactive: bool,
    /// `-d`: nothing of skiff's stdio reaches the command.
    pub detach: bool,
    /// `-t`: a terminal of the container's own on fds 0–2 (see `console`), `size` rows
    /// and columns; its master comes back to skiff.
    pub tty: bool,
    pub size: Option<libc::winsize>,
    /// The OCI runtime's `--preserve-fds N`: fds 3 to 3+N-1 stay open into the command.
    pub preserved: RawFd,
}

/// The command, executing in the container.
pub struct Joined {
    /// Its pid, as the host sees it.
    pub pid: libc::pid_t,
    /// With `-t`: the master of its terminal.
    pub terminal: Option<File>,
}

/// The namespaces a container may have of its own (the network's is the host's under
/// `--network host`; joining one's own is harmless). Its user namespace, if it has
/// one, is joined apart, last: the others are the host root's to enter.
const NAMESPACES: [(&str, libc::c_int); 6] = [
    ("ipc", sys::CLONE_NEWIPC),
    ("uts", sys::CLONE_NEWUTS),
    ("net", sys::CLONE_NEWNET),
    ("pid", sys::CLONE_NEWPID),
    ("cgroup", sys::CLONE_NEWCGROUP),
    ("mnt", sys::CLONE_NEWNS),
];

/// Everything joining container `id` asks of the kernel, in order. `pidfd` is its
/// PID 1 (host pid `pid`), checked by the caller to be that container's. Returns once
/// the command is executing.
pub fn join(id: &str, pid: libc::pid_t, pidfd: File, exec: &Exec) -> Result<Joined> {
    let target = Target::open(pid, pidfd, exec)?; // /proc/PID/root, CapBnd
    let cgroup = cgroup::of_running(id);
    let (exec_status, exec_status_writer) = sys::pipe()?; // pipe2(2)
    let (command_pid, command_pid_writer) = sys::pipe()?;
    let console = exec.tty.then(UnixStream::pair).transpose(); // socketpair(2)
    let console = console.context("socketpair(2) for the terminal's master")?;
    let forked = cgroup::fork_into(cgroup.as_ref(), 0)?; // clone(2); v2: clone3(2) into it
    let Some(joiner) = forked else {
        drop((exec_status, command_pid));
        let pipes = Pipes {
            exec_status: exec_status_writer,
            command_pid: command_pid_writer,
            console: console.map(|(_, theirs)| theirs),
        };
        joiner_process(target, cgroup.as_ref(), exec, pipes)
    };
    drop((target, exec_status_writer, command_pid_writer));
    let console = console.map(|(ours, theirs)| {
        drop(theirs); // so that a command that fails first is seen to close it
        ours
    });
    let joined = sys::wait_for_exit(joiner)?; // waitpid(2): it exits once it has forked
    let pid = read_pid(command_pid)?;
    if let Some(pid) = pid {
        sys::forward_signals_to(pid); // where the caller forwards signals, if it does
    }
    if let Err(err) = process::exec_outcome(exec_status) {
        if let Some(pid) = pid {
            sys::wait_for_exit(pid)?; // reap it
        }
        // Found, executable, but not started: Docker's `exec` says 126 for all of it.
        return Err(match err.kind() {
            Kind::Invalid(message) => Error::new(Kind::CannotStart(message.clone())),
            _ => err,
        });
    }
    super::sealed_exe::let_go_of_view(); // the joiner, gone, shed its copy: ours is the last
    let pid =
        pid.ok_or_else(|| Error::invalid(format!("the joining process ended ({joined:?})")))?;
    let terminal = match console {
        Some(ours) => match sys::recv_fd(&ours, &mut [0]) {
            // recvmsg(2): SCM_RIGHTS
            Ok((_, Some(master))) => Some(master),
            failed => {
                // The command runs, ours (CLONE_PARENT), with no terminal to relay.
                let _ = sys::kill(pid, libc::SIGKILL);
                let _ = sys::wait_for_exit(pid);
                failed?;
                return Err(Error::invalid("-t: the command sent no terminal"));
            }
        },
        None => None,
    };
    Ok(Joined { pid, terminal })
}

/// What the joining process talks to skiff through: the exec-status pipe, the pipe
/// for the command's pid and, with `-t`, the socket for its terminal's master. The
/// only descriptors of skiff's it keeps besides stdio.
struct Pipes {
    exec_status: File,
    command_pid: File,
    console: Option<UnixStream>,
}

/// The container's PID 1, as the joining process needs it.
struct Target {
    pid: libc::pid_t,
    pidfd: File,
    /// Its root directory, `/proc/PID/root`, opened `O_PATH`.
    root: File,
    /// Its user namespace, if not ours (`--userns=auto`): joined last (see `userns`).
    userns: Option<File>,
    /// The capabilities the command gets.
    capabilities: u64,
}

impl Target {
    fn open(pid: libc::pid_t, pidfd: File, exec: &Exec) -> Result<Target> {
        let root = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(format!("/proc/{pid}/root"))
            .with_context(|| format!("open /proc/{pid}/root"))?;
        let capabilities = match (exec.capabilities, exec.privileged) {
            (Some(set), _) => set,
            (None, true) => sys::capget_permitted()?,
            (None, false) => bounding_set(pid)?,
        };
        let target = Target {
            pid,
            pidfd,
            root,
            // Rootless, the pidfd's setns(2) joins it first, with the rest (`enter`).
            userns: match crate::rootless::active() {
                true => None,
                false => own_user_namespace(pid)?,
            },
            capabilities,
        };
        target.check_alive()?;
        Ok(target)
    }

    /// The pidfd pins the process, not its number: while the process lives, what was
    /// opened through `/proc/PID` was its own.
    fn check_alive(&self) -> Result<()> {
        match sys::poll_readable(&[self.pidfd.as_raw_fd()], 0)?[0] {
            true => Err(Error::invalid("the container's process ended")),
            false => Ok(()),
        }
    }

    /// The descriptors the joining process keeps until it has entered.
    fn descriptors(&self) -> Vec<RawFd> {
        let userns = self.userns.as_ref().map(AsRawFd::as_raw_fd);
        [self.pidfd.as_raw_fd(), self.root.as_raw_fd()]
            .into_iter()
            .chain(userns)
            .collect()
    }

    /// setns(2) into every namespace, then the container's root. Consumes the
    /// descriptors: nothing of them may reach the command.
    fn enter(self) -> Result<()> {
        trace::step("join the container's namespaces: setns(2) on a pidfd of its PID 1");
        let all = match crate::rootless::active() {
            true => sys::CLONE_NEWUSER | self.not_shared(),
            false => NAMESPACES.iter().fold(0, |flags, (_, flag)| flags | flag),
        };
        match sys::setns(&self.pidfd, all, "pidfd") {
            Err(err) if err.errno() == Some(libc::EINVAL) => self.enter_one_by_one()?,
            other => other?,
        }
        trace::step("its root is the container's PID 1's, whatever the mount namespace's is");
        sys::fchdir(&self.root)?;
        sys::chroot(Path::new("."))?;
        userns::enter(self.userns.as_ref()) // setns(2): root only inside from here
    }

    /// Rootless, the container's namespaces belong to the user namespace of the skiff
    /// that started it, which `exec` joins first (`rootless`); those it shares with the
    /// host (its network with `--network host`; its cgroup namespace without a cgroup)
    /// are not that namespace's to enter, and need no joining.
    fn not_shared(&self) -> libc::c_int {
        let inode = |pid: &str, name| {
            let path = format!("/proc/{pid}/ns/{name}");
            fs::metadata(path).map(|meta| meta.ino()).ok()
        };
        let pid = self.pid.to_string();
        let own = NAMESPACES
            .iter()
            .filter(|(name, _)| inode(&pid, name) != inode("self", name));
        own.fold(0, |flags, (_, flag)| flags | flag)
    }

    /// Before Linux 5.8, setns(2) takes no pidfd (EINVAL): one /proc/PID/ns file per
    /// namespace, all opened first. A kind the kernel lacks has no file.
    fn enter_one_by_one(&self) -> Result<()> {
        trace::step("no setns(2) on a pidfd here: /proc/PID/ns files, one by one");
        let mut files = Vec::new();
        for (name, _) in NAMESPACES {
            let path = format!("/proc/{}/ns/{name}", self.pid);
            match File::open(&path) {
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                opened => files.push((opened.with_context(|| format!("open {path}"))?, path)),
            }
        }
        self.check_alive()?;
        for (file, path) in &files {
            sys::setns(file, 0, path)?;
        }
        Ok(())
    }
}

/// `/proc/PID/ns/user`, opened, if it is not the user namespace we are in.
fn own_user_namespace(pid: libc::pid_t) -> Result<Option<File>> {
    let path = format!("/proc/{pid}/ns/user");
    let theirs = File::open(&path).with_context(|| format!("open {path}"))?;
    let ours = fs::metadata("/proc/self/ns/user").context("stat /proc/self/ns/user")?;
    let same = theirs.metadata().is_ok_and(|m| m.ino() == ours.ino());
    Ok((!same).then_some(theirs))
}

/// The container's PID 1's bounding set (`CapBnd` in /proc/PID/status): the
/// capabilities the container was given, less any it dropped since.
fn bounding_set(pid: libc::pid_t) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapBnd:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .ok_or_else(|| Error::invalid(format!("{path} has no CapBnd line")))
}

/// The command's pid, as the joining process sent it; `None` if it never forked.
fn read_pid(mut pipe: File) -> Result<Option<libc::pid_t>> {
    let mut bytes = Vec::new();
    pipe.read_to_end(&mut bytes)
        .context("read the command's pid")?;
    Ok(bytes.try_into().ok().map(libc::pid_t::from_ne_bytes))
}

/// The joining process: enters the container, forks the command's process into its
/// PID namespace, tells skiff its pid and exits.
fn joiner_process(target: Target, cgroup: Option<&Cgroup>, exec: &Exec, pipes: Pipes) -> ! {
    let Pipes {
        exec_status,
        command_pid,
        console,
    } = pipes;
    let mut keep = vec![exec_status.as_raw_fd(), command_pid.as_raw_fd()];
    keep.extend(console.as_ref().map(AsRawFd::as_raw_fd));
    let caps = target.capabilities;
    let forked = enter(target, cgroup, exec, &keep).and_then(|()| {
        trace::step("fork again: only a child of the joining process is in the PID namespace");
        sys::fork_as_sibling() // clone3(2) CLONE_PARENT
    });
    match forked {
        Ok(Some(pid)) => {
            let sent = (&command_pid).write_all(&pid.to_ne_bytes());
            sys::exit_now(i32::from(sent.is_err()))
        }
        Ok(None) => {
            drop(command_pid);
            command_process(exec, caps, exec_status, console)
        }
        Err(err) => {
            process::report_failure(exec_status, &err);
            sys::exit_now(err.exit_code())
        }
    }
}

/// Non-dumpable, stdio settled, in the cgroup, every other descriptor closed, then in
/// the namespaces and the root.
fn enter(target: Target, cgroup: Option<&Cgroup>, exec: &Exec, keep: &[RawFd]) -> Result<()> {
    trace::step("non-dumpable before entering: no process of the container may ptrace it or open its /proc files (CVE-2016-9962)");
    sys::set_non_dumpable()?; // prctl(2)
    tuning::set_oom_score_adj(&exec.options)?; // the host's /proc/self, inherited
    settle_stdio(exec)?; // dup2(2)
    if let Some(cgroup) = cgroup {
        cgroup::join(cgroup)?; // v1: tasks
    }
    trace::step("close every descriptor of skiff's but stdio, two pipes and, with -t, the socket for the terminal's master");
    let preserved: Vec<RawFd> = (3..3 + exec.preserved).collect();
    sys::close_from_3_except(&[&target.descriptors()[..], keep, &preserved].concat())?; // close_range(2)
    target.enter() // setns(2), fchdir(2), chroot(2)
}

/// /dev/null (the host's, opened before entering) for stdin unless `-i`, for stdout
/// and stderr too with `-d`, and for all three with `-t`: the container's terminal
/// replaces them, and skiff's own terminal must never enter the container (with
/// CAP_SYS_PTRACE it could open it through /proc and type into the host's shell with
/// `TIOCSTI`). Only `--trace`, asked for by whoever watches, keeps stderr until then.
fn settle_stdio(exec: &Exec) -> Result<()> {
    let nulls: &[RawFd] = match (exec.detach, exec.tty, exec.interactive) {
        (true, _, _) => &[0, 1, 2],
        (false, true, _) if trace::on() => &[0, 1],
        (false, true, _) => &[0, 1, 2],
        (false, false, true) => &[],
        (false, false, false) => &[0],
    };
    if nulls.is_empty() {
        return Ok(());
    }
    let null = File::open("/dev/null").context("open /dev/null")?;
    for &fd in nulls {
        sys::dup2(null.as_raw_fd(), fd)?;
    }
    Ok(())
}

/// The command's process, in the container's PID namespace: becomes the command, or
/// reports why not.
fn command_process(exec: &Exec, caps: u64, exec_status: File, console: Option<UnixStream>) -> ! {
    let err = match become_command(exec, caps, console) {
        Err(err) => err,
        Ok(never) => match never {},
    };
    process::report_failure(exec_status, &err);
    sys::exit_now(err.exit_code())
}

fn become_command(exec: &Exec, caps: u64, console: Option<UnixStream>) -> Result<Infallible> {
    sys::setsid()?; // setsid(2): Ctrl-C reaches it once, through skiff
    if let Some(socket) = console {
        console::attach(socket, exec.size, Console::Leave)?; // ptmx, TIOCSCTTY, SCM_RIGHTS
    }
    trace::step("enter the working directory");
    sys::chdir(Path::new(&exec.process.workdir))?; // chdir(2)
    tuning::limit(&exec.options)?; // setrlimit(2)
    let env = take_identity(&exec.process, &exec.options, caps)?; // setuid(2), capset(2), …
    process::exec(&exec.process.argv, &env, exec.preserved) // execve(2)
}
