//! Running a container: a process in new namespaces, rooted in an image.
//!
//! [`start`] is the whole recipe, one line per kernel mechanism, in this order:
//! (`--userns`: a mapped user namespace) → (v2: cgroup) → the container's address
//! (`network`) → clone(2) its PID 1 in a new PID namespace (v2: clone3(2) into its
//! cgroup) → in the child, a byte to say it runs, then unshare(2) a network namespace
//! (or setns(2) into one it shares) and send it back with a netlink socket inside on a
//! socketpair(2), unshare(2) the rest (an OCI bundle may join some by path or share the
//! runtime's: `namespaces`), while the parent, on the other core, stacks the layers
//! with overlayfs (a mount attached nowhere, sent to the child: `rootfs::send_overlay`)
//! and (v1) makes the cgroup → mounts, the first that overlayfs moved into place, while
//! the parent configures the network namespace from outside → a byte says the cgroup is
//! made: the child joins it, and makes a cgroup namespace of its own → a second byte
//! says the network is ready → pivot_root(2) → (setns(2) into the user namespace) →
//! user, capabilities → execve(2) → the supervisor's record. Two processes, two halves
//! that need little of each other until the command runs: the `network` and `cgroup`
//! modules say why that is safe (`cgroup::before_fork`: which cgroup is made when, and
//! why).
//! Each mechanism is explained in its own module: `userns` (user_namespaces(7), with
//! `id_map`), `cgroup` (cgroups(7): limits, and the cgroup namespace), `namespaces`
//! (clone(2), unshare(2)), `rootfs` (fsmount(2), move_mount(2), mount(2),
//! pivot_root(2)), `mounts` (/proc, /sys, /dev, volumes), `user` (setuid(2)),
//! `capabilities` (prctl(2), capset(2)), `tuning` (setrlimit(2), oom_score_adj,
//! sysctls), `init` (`--init`), `console` (`-t`: a pseudo-terminal of its own) and
//! `process` (execve(2) and the exec-status pipe). What to run comes from the
//! container's one description, [`Config`] (`config.rs`); where its root filesystem
//! comes from at this start, from [`RootFs`].
//!
//! Where the kernel refuses a step, its fallback sits behind one function that says
//! when it applies, so the recipe stays straight: `cgroup::fork_into` (clone3(2) into
//! a v2 cgroup, else clone(2)), `rootfs::stack_layers` (overlayfs, else
//! `copy_layers_instead`), `rootfs::pivot_root_or_fallback` (else switch_root's move,
//! or chroot(2)), `rootfs::chroot_without_mounts` (mount(2) refused altogether).
//!
//! Before any of this, `sealed_exe` has re-executed skiff from a copy nobody can
//! write to (CVE-2019-5736; overlayfs view, else a sealed memfd: `sealed_binary`).
//! There is no daemon: a skiff process waits for each container (see
//! `lifecycle::supervisor`). [`join`] (`skiff exec`) puts one more process, described
//! by the same [`Process`], into a running container.
//! <https://man7.org/linux/man-pages/man7/namespaces.7.html>

mod capabilities;
mod config;
mod console;
mod etc_files;
pub mod files;
pub mod id_map;
mod init;
mod join;
mod mount_points;
mod mounts;
mod namespaces;
mod options;
mod process;
mod rootfs;
mod sealed_exe;
mod seccomp;
mod tuning;
mod user;
mod userns;

use std::convert::Infallible;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::RawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

pub use capabilities::bit as capability;
pub use config::{short, Config, Process};
pub use etc_files::{hosts, Dns, Member, FLAGS as DNS_FLAGS};
pub use join::{join, Exec, Joined};
pub use mounts::hides;
pub use options::{propagation, DeviceNode, Options, SpecMount};
pub use process::{exec_outcome, execute, find_program, read_kv_files, report_failure, EnvFlags};
pub use sealed_exe::reexec_from_sealed_copy;
pub use seccomp::check_profile as check_seccomp;
pub use userns::{recorded_maps, release as release_ids};

use crate::cgroup::{self, Cgroup, Placed, Planned};
use crate::error::{Context, Error, Result};
use crate::image::layer::StoredLayer;
use crate::image::LayerDirs;
use crate::network::{self, Settings};
use crate::sys;
use crate::trace;
use console::Console;
use rootfs::Entered;

/// Where a container's root filesystem comes from, at this start: the only part of
/// starting a container that is not in its [`Config`], since the store may have
/// unpacked the image's layers since the last start (or not at all).
#[derive(Default)]
pub struct RootFs {
    /// The container's own directory: `rootfs/` (where overlayfs is refused, the
    /// private copy of the layers), `upper/`, `work/`,
    /// `l/` (short links to the layers, for images of many), and the /etc files.
    pub scratch: PathBuf,
    /// The image's unpacked layers, stacked with overlayfs when the kernel allows.
    pub layers: Option<LayerDirs>,
    /// The same layers as blobs, unpacked into `rootfs/` where it does not.
    pub blobs: Vec<StoredLayer>,
    /// On a user network, its other running members: its /etc/hosts names them (and
    /// it) before its command runs (`lifecycle::peers` adds it to theirs once it runs).
    /// `None` on a network without names.
    pub members: Option<Vec<Member>>,
    /// The OCI runtime's root (`root.path`, the one directory in `layers`): bound as
    /// the root and written in place, as runc and crun do (podman hands over a root it
    /// has mounted itself), instead of under an upper layer of skiff's own.
    pub in_place: bool,
    /// The writable layer goes with the container (`--rm`): overlayfs need not sync it
    /// when the container's mounts are taken down (`rootfs`).
    pub volatile: bool,
}

/// Where the container's fds 0–2 come from, as whoever starts it decides, and what
/// its starter does while it waits before pivot_root(2).
#[derive(Default)]
pub struct Stdio<'a> {
    /// Descriptors to put on fds 0, 1 and 2 (`None`: skiff's own, inherited).
    pub fds: [Option<RawFd>; 3],
    /// `-t`: a pseudo-terminal of the container's own on all three instead (`console`),
    /// `size` rows and columns (skiff's own terminal's, when it has one).
    pub tty: bool,
    pub size: Option<libc::winsize>,
    /// An `O_PATH` descriptor of a FIFO (the OCI runtime's `exec.fifo`): the process,
    /// ready, waits before execve(2) until someone opens it for reading (`start`).
    pub gate: Option<RawFd>,
    /// Run by the parent, given its PID 1, once the container's namespaces and mounts
    /// exist and it waits before pivot_root(2) (the OCI runtime's hooks: see
    /// `rootfs::pause`); a failure ends the start.
    pub before_pivot: Option<&'a dyn Fn(libc::pid_t) -> Result<()>>,
    /// The OCI runtime's `--preserve-fds N`: fds 3 to 3+N-1, the caller's (conmon's
    /// sockets for socket activation), stay open into the command.
    pub preserved: RawFd,
    /// Run by the parent, given its PID 1 and its network, once its command runs: the
    /// supervisor's record of the start. Not earlier: until pivot_root(2) PID 1's root
    /// is the host's, and `exec` and `cp` enter a running container through
    /// /proc/PID/root. A failure kills the command and ends the start.
    pub record: Option<&'a Record<'a>>,
}

/// See [`Stdio::record`].
pub type Record<'a> = dyn Fn(libc::pid_t, Option<&Settings>) -> Result<()> + 'a;

impl Stdio<'_> {
    /// Runs [`Stdio::record`], where the starter gave one.
    fn record_start(&self, pid: libc::pid_t, settings: Option<&Settings>) -> Result<()> {
        self.record.map_or(Ok(()), |record| record(pid, settings))
    }
}

/// A container whose command is executing.
#[must_use]
pub struct Started {
    /// Its PID 1, as the host sees it.
    pub pid: libc::pid_t,
    /// With `-t`: the master of its terminal.
    pub terminal: Option<File>,
}

/// Signals `docker run` passes on to the container.
pub const FORWARDED: [libc::c_int; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// Everything starting a container asks of the kernel, in order. Returns once its
/// command is executing; whoever waits for it removes its cgroup afterwards
/// (`cgroup::release`; an `--rm` one's, its deleter: `lifecycle::reclaim`) and gives
/// its address back (`network::release`).
pub fn start(
    config: &Config,
    rootfs: &RootFs,
    stdio: &Stdio,
    joined: Option<File>,
) -> Result<Started> {
    let limits = config.limits.clone().unwrap_or_default();
    let options = &config.options;
    let userns = userns::create(options, &rootfs.scratch)?; // unshare(2) in a child, uid_map
    let guard = options.device_guard()?;
    let own_nodes = options.runtime_mode(); // a bundle's `linux.devices`, made in its /dev
    let cgroup = cgroup::before_fork(config.cgroup(), &limits, guard.as_deref(), own_nodes)?; // v2: mkdir(2) in cgroupfs, limits, devices guard
    let (exec_status, exec_status_writer) = sys::pipe()?; // pipe2(2)
    let (ready, ready_writer) = pair("the parent's half")?; // it runs; its netns; its overlayfs, cgroup, network
    let console = stdio.tty.then(|| pair("-t's master")).transpose()?;
    let pause = stdio.before_pivot.map(|_| pair("the hooks")).transpose()?; // before pivot_root
    let shared = namespaces::Shared::open(options)?; // open(2) the namespaces it joins
    let ports = config.ports.as_deref().unwrap_or_default();
    let (mode, ipv4_only) = (config.network.as_deref(), options.ipv4_only());
    let mut network = network::attach(&config.id, mode, joined, ports, ipv4_only) // a lease on the bridge; rootless: fork(2), unshare(2), slirp4netns
        .inspect_err(|_| undo_start(config, None))?;
    let stacks = rootfs::stacks_beside(rootfs, userns.as_ref(), &shared); // the overlayfs, made by the parent
    let forked = etc_files::write(rootfs, config, network.settings.as_ref()) // hostname, hosts, resolv.conf
        .and_then(|()| namespaces::fork_pid_1(cgroup.made(), &shared)) // clone(2) CLONE_NEWPID; v2: clone3(2)
        .inspect_err(|_| undo_start(config, network.pending.take()))?;
    let Some(pid) = forked else {
        drop((exec_status, ready_writer));
        let child = Child {
            cgroup: &cgroup,
            guarded: guard.is_some() && cgroup.made().is_some_and(Cgroup::guards_devices),
            netns: network.netns.as_ref(),
            makes_netns: network.pending.take().is_some(), // the parent's (its lock) dropped
            stacks,
            ready: &ready,
            userns: userns.as_ref(),
            shared: &shared,
            stdio,
            console: console.map(|(_, theirs)| theirs),
            pause: pause.map(|(_, theirs)| theirs),
        };
        container_init(config, rootfs, child, exec_status_writer) // PID 1; never returns
    };
    drop((exec_status_writer, ready));
    sys::forward_signals_to(pid);
    // While it makes its mounts; a failure kills it: it ends before execve(2), as a child that failed.
    // Until it runs first: the scheduler tends to put a child on its parent's CPU, where
    // PID 1 runs only once skiff waits. Woken, skiff often finds itself on the other
    // CPU, where the layers are stacked and the cgroup made while PID 1 makes its
    // network namespace (its unshare(2) is its longest step), then the network beside
    // PID 1's mounts.
    trace::step("while it makes its mounts: its layers, cgroup and network, from outside");
    let paused = wait_until_it_runs(&ready_writer) // read(2)
        .and_then(|()| rootfs::send_overlay(rootfs, stacks, &ready_writer)) // fsopen(2), fsconfig(2), fsmount(2), sendmsg(2)
        .and_then(|()| cgroup::beside_mounts(&cgroup, &limits, guard.as_deref())) // v1: mkdir(2), limits, devices guard
        .map(|placed| tell(&ready_writer, "its cgroup is made: tell it", placed as u8)) // write(2)
        .and_then(|()| network.configure(&ready_writer, &config.id, ports)) // recvmsg(2); rtnetlink: lo, veth, address, route; nf_tables
        .map(|()| tell(&ready_writer, "its network is ready: tell it", b'n')) // write(2)
        .and_then(|()| rootfs::before_pivot(pid, pause, stdio.before_pivot))
        .inspect_err(|_| drop(sys::kill(pid, libc::SIGKILL)));
    let terminal = console.map(receive_terminal); // recvmsg(2): SCM_RIGHTS
    let started = paused
        .and_then(|()| process::exec_outcome(exec_status))
        .and_then(|()| stdio.record_start(pid, network.settings.as_ref())); // once it runs
    if let Err(err) = started {
        let _ = sys::kill(pid, libc::SIGKILL); // a record that failed: its command runs
        sys::wait_for_exit(pid)?; // waitpid(2): reap it
        undo_start(config, network.pending.take());
        return Err(err);
    }
    sealed_exe::let_go_of_view(); // its command runs: the supervisor may wait now
    let terminal = terminal.transpose()?;
    Ok(Started { pid, terminal })
}

/// socketpair(2), for `what` passes between skiff and the container's PID 1.
fn pair(what: &str) -> Result<(UnixStream, UnixStream)> {
    UnixStream::pair().with_context(|| format!("socketpair(2) for {what}"))
}

/// With `-t`, the master of the container's terminal, sent back on our end of `pair`.
fn receive_terminal((ours, theirs): (UnixStream, UnixStream)) -> Result<File> {
    drop(theirs); // so that a child that fails first is seen to close it
    match sys::recv_fd(&ours, &mut [0])? {
        (_, Some(master)) => Ok(master),
        (_, None) => Err(Error::invalid("-t: the container sent no terminal")),
    }
}

/// A start that failed takes back what it made: the cgroup, and the address on a
/// network (or else they wait for the next skiff's sweep). A network set-up still
/// `pending` holds the network lock, which giving the address back takes: it goes first.
fn undo_start(config: &Config, pending: Option<network::Pending>) {
    drop(pending);
    let _ = cgroup::remove(config.cgroup());
    let _ = network::release(&config.id, None); // a failure: whatever it took is looked for
}

/// One byte on the socket between skiff and its PID 1, `what` it says. PID 1's first
/// step says it runs ([`wait_until_it_runs`]). Then the parent's: the overlayfs it
/// stacked (`rootfs::send_overlay`, where it does), where PID 1 is to run (its cgroup
/// made, or none: a `cgroup::Placed`), and that its network is ready, which PID 1
/// reads before pivot_root(2).
fn tell(mut ready: &UnixStream, what: &str, byte: u8) {
    trace::step(what);
    // A side that failed first has closed its end: PID 1's exec status says why.
    let _ = ready.write_all(&[byte]);
}

/// In the parent, first after the fork: waits for the byte its PID 1 sends as its first
/// step. A forked child tends to start on its parent's CPU, and runs only once the
/// parent waits; woken, skiff tends to find itself on the other CPU, where its half
/// runs beside PID 1's first steps (its network namespace, the longest). An end of file
/// is no error here: PID 1 failed first, and its exec status says why.
fn wait_until_it_runs(mut child: &UnixStream) -> Result<()> {
    trace::step("wait until it runs, so that its half and skiff's run side by side");
    let read = child.read(&mut [0]);
    read.map(drop)
        .context("read(2) the byte the container's PID 1 sends as it runs")
}

/// In PID 1, once its mounts are made: waits for the next byte of [`tell`]. The parent
/// kills it if its half fails, so an end of file means the parent is gone.
fn wait_for(mut ready: &UnixStream, what: &str) -> Result<u8> {
    trace::step(&format!("wait for its {what}, made from outside meanwhile"));
    let mut byte = [0];
    match ready.read_exact(&mut byte) {
        Ok(()) => Ok(byte[0]),
        Err(_) => Err(Error::invalid(format!(
            "skiff ended before the container's {what} was ready"
        ))),
    }
}

/// What the parent made for the child to enter (its cgroup, a network namespace it
/// joins, the other namespaces it joins), and how its fds 0–2 are to be set up: as
/// `stdio` says, and with `-t` the socket its terminal's master goes back on.
struct Child<'a> {
    cgroup: &'a Planned,
    /// Whether a devices guard holds in its cgroup at the fork (where made before it):
    /// without one, a device node the container makes must open nothing, so its /dev is
    /// `nodev` and, where nothing can be mounted, it gets no `CAP_MKNOD` (see
    /// `mounts::populate`, `capabilities`). After its mounts, the parent's byte says.
    guarded: bool,
    /// Where it says it runs, and the parent sends the overlayfs it stacked and says its
    /// half is done ([`tell`]).
    ready: &'a UnixStream,
    /// A network namespace known before the fork: joined, or made rootless.
    netns: Option<&'a File>,
    /// Whether it makes a network namespace of its own, sent on `ready` (`network::enter`).
    makes_netns: bool,
    /// Whether the parent stacks its layers, and sends the overlayfs on `ready`
    /// (`rootfs::send_overlay`).
    stacks: bool,
    userns: Option<&'a userns::Userns>,
    shared: &'a namespaces::Shared,
    stdio: &'a Stdio<'a>,
    console: Option<UnixStream>,
    pause: Option<UnixStream>,
}

/// The child, PID 1 of the new PID namespace: becomes the container, or reports why not.
fn container_init(config: &Config, rootfs: &RootFs, child: Child, exec_status: File) -> ! {
    let err = match become_container(config, rootfs, child, exec_status) {
        Err((err, exec_status)) => {
            process::report_failure(exec_status, &err);
            err
        }
    };
    sys::exit_now(err.exit_code())
}

/// A failure in the child, with the exec-status pipe to report it on.
type Failed = (Error, File);

fn become_container(
    config: &Config,
    rootfs: &RootFs,
    mut child: Child,
    exec_status: File,
) -> std::result::Result<Infallible, Failed> {
    sealed_exe::let_go_of_view(); // not the last copy: at once

    // Until it takes its identity (`take_identity`), a start ends with its supervisor:
    // nothing else would end a PID 1 held half-way (a FIFO at its /etc/passwd, say),
    // and the next sweep would find a start abandoned while its PID 1 goes on.
    let dies_with_parent = match child.stdio.record {
        Some(_) => sys::set_parent_death_signal(libc::SIGKILL), // a supervisor's start
        None => Ok(()),
    };
    let prepared = dies_with_parent.and_then(|()| process::take_stdio(&child.stdio.fds));
    let prepared = prepared.and_then(|()| {
        let gate = child.stdio.gate.map(process::Gate::open).transpose()?; // /proc/self/fd
        let terminal = child
            .console
            .take()
            .map(|socket| (socket, child.stdio.size));
        Ok((prepare(config, rootfs, &child, terminal)?, gate))
    });
    let (env, gate) = match prepared {
        Ok(prepared) => prepared,
        Err(err) => return Err((err, exec_status)),
    };
    let exec_status = match config.init {
        true => init::split_off_command(exec_status)?,
        false => exec_status,
    };
    let (argv, preserved) = (&config.process.argv, child.stdio.preserved);
    let exec_status = match gate {
        Some(gate) => gate.hold(argv, &env, exec_status)?, // open(2) blocks
        None => exec_status,
    };
    process::exec(argv, &env, preserved).map_err(|err| (err, exec_status)) // execve(2)
}

/// Everything between fork(2) and execve(2); returns the command's environment.
/// `terminal`: with `-t`, the socket for its master and its size.
fn prepare(
    config: &Config,
    rootfs: &RootFs,
    child: &Child,
    terminal: Option<(UnixStream, Option<libc::winsize>)>,
) -> Result<Vec<String>> {
    let options = &config.options;
    sys::setsid()?; // setsid(2): Ctrl-C reaches it once, through skiff
    tell(child.ready, "it runs: tell skiff", b'r'); // write(2): skiff waits for it
    let own = child.makes_netns.then_some(child.ready);
    network::enter(child.netns, own, options.ipv4_only())?; // setns(2), or unshare(2), IPv6 off, sendmsg(2)
    let mut own_cgroup = cgroup::enter(child.cgroup.made())?; // v2, an OCI bundle's: tasks, unshare(CLONE_NEWCGROUP)
    namespaces::enter(child.shared, &config.hostname)?; // unshare(2), setns(2), sethostname(2)
    let joins = config.network.as_deref().and_then(network::joined);
    let own_netns = child.makes_netns || (child.netns.is_some() && joins.is_none());
    // Last before pivot_root(2), so that the mounts run while the parent configures the
    // network and the cgroup: nothing before this point may need them.
    let mut placed = Placed::Outside;
    let before_pivot = || {
        placed = Placed::from_byte(wait_for(child.ready, "cgroup")?); // read(2)
        let beside = cgroup::enter(child.cgroup.made_beside(placed))?; // v1: tasks, unshare(CLONE_NEWCGROUP)
        own_cgroup = own_cgroup.or(beside);
        wait_for(child.ready, "network")?; // read(2)
        rootfs::pause(child.pause.as_ref())?; // the OCI runtime's hooks run meanwhile
        tuning::set_namespaced(options, own_netns) // oom_score_adj, sysctls (net.*: eth0 exists)
    };
    let premade = rootfs::receive_overlay(child.stacks, child.ready)?; // recvmsg(2): SCM_RIGHTS
    let entered = match child.shared.owns(sys::CLONE_NEWNS) {
        true => rootfs::enter(
            rootfs,
            options,
            (child.userns, child.guarded),
            premade,
            before_pivot,
        )?, // move_mount(2) or mount(2), pivot_root(2)
        false => rootfs::chroot_in_place(rootfs, before_pivot)?, // chroot(2): the host's mounts are not its
    };
    if entered == Entered::WithMounts {
        cgroup::mount_inside(own_cgroup)?; // mount(2) cgroupfs read-only
    }
    namespaces::leave_own_cgroup_namespace(child.shared)?; // setns(2), an OCI bundle's
    if let Some((socket, size)) = terminal {
        console::attach(socket, size, Console::Bind)?; // ptmx, TIOCSCTTY, SCM_RIGHTS
    }
    let inert = entered == Entered::WithMounts || placed == Placed::Guarded;
    let caps = capabilities::for_container(options, inert)?; // capget(2)
    process::enter_workdir(&config.process.workdir)?; // chdir(2)
    tuning::limit(options)?; // setrlimit(2)
    userns::enter(child.userns.map(|u| &u.file))?; // setns(2)
    take_identity(&config.process, options, caps)
}

/// Who the process is, for good: its user, the capabilities `caps`, no-new-privileges
/// if asked, and the seccomp filter. Returns its environment, with the user's `HOME`.
/// The last steps of both the container's first process and `exec`'s.
fn take_identity(process: &Process, options: &Options, caps: u64) -> Result<Vec<String>> {
    let groups = process.groups.as_deref().unwrap_or_default();
    let user = user::resolve(process.user.as_deref(), groups)?; // the container's /etc/passwd, /etc/group
    sys::set_parent_death_signal(0)?; // its command outlives skiff (set at the fork: `become_container`)
    let filter = seccomp::for_container(options, caps)?;
    capabilities::limit_bounding_set(caps)?; // prctl(2)
    let (now, last) = match options.no_new_privileges {
        true => (None, filter),
        false => (filter, None), // while CAP_SYS_ADMIN, which loading it needs, is held
    };
    if options.no_new_privileges {
        sys::set_no_new_privs()?; // prctl(2): no setuid binary raises anyone again
    }
    seccomp::load(now.as_deref())?; // seccomp(2)
    capabilities::keep_across_setuid(options)?; // prctl(2), for an OCI config's sets
    user::switch(&user)?; // setgroups(2), setgid(2), setuid(2)
    capabilities::settle(caps, user.uid, options)?; // capset(2), prctl(2)
    seccomp::load(last.as_deref())?; // seccomp(2): as late as it can be
    Ok(process::with_home(&process.env, &user.home))
}
