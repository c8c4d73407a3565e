//! Control groups: the kernel meters and limits groups of processes.
//!
//! A cgroup is a directory in a cgroup filesystem. Writing a pid to its `cgroup.procs`
//! moves that process, and every child it makes from then on, into it; the files beside
//! it are the limits (`memory.max`, `pids.max`, …) and the meters (`memory.current`,
//! `cpu.stat`, …) of *controllers*, the kernel parts that enforce them (cgroups(7)).
//! Two versions of the interface exist, and a binary dropped on any Linux meets both:
//!
//! - **v1** (legacy): one tree *per controller*, each mounted on its own
//!   (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup/cpu`, …; `cpu,cpuacct` may share one).
//!   A process sits in one cgroup of every tree, so skiff makes `skiff/ID` in each.
//! - **v2** (unified): one tree for all controllers, at `/sys/fs/cgroup`. A cgroup hands
//!   controllers down to its children by naming them in `cgroup.subtree_control`, and
//!   the *no internal processes* rule says a non-root cgroup that does so may hold no
//!   process itself. So containers are leaves under a `skiff` cgroup that holds none.
//! - **hybrid** (systemd's old default, and this project's CI): v1 for the controllers,
//!   plus a nearly empty v2 tree at `/sys/fs/cgroup/unified`. skiff uses the v1 trees.
//!
//! Which one the machine has is read from `/proc/self/mountinfo`: mounts of type
//! `cgroup` (v1, with the controllers in their options) or `cgroup2`.
//!
//! The recipe, for a container `ID` (at the root of each mounted tree, where Docker's
//! cgroupfs driver puts `/docker/ID`, so that any skiff finds it from the ID alone):
//!
//! 1. skiff makes `skiff/ID` and writes the limits and the devices guard into it. On
//!    v1 the parent does so *after* forking the container's first process, while that
//!    process makes its mounts on the other core ([`beside_mounts`]), as runc's parent
//!    applies the cgroup while its init waits on a sync pipe; the process waits, before
//!    pivot_root(2), for one byte that says the cgroup is made (`container::start`).
//!    On v2 it is made before the fork, so that the process is born inside it
//!    (clone3(2) `CLONE_INTO_CGROUP`, [`fork_into`]). [`before_fork`] says why each.
//! 2. The container's first process moves itself in, writing `0` ("me") to each
//!    `cgroup.procs` (v1: `tasks`, see `Cgroup::join`) *before* it execs, so nothing
//!    it runs ever escapes the limits. Then unshare(2) `CLONE_NEWCGROUP` makes that
//!    cgroup the root of all it can see (cgroup_namespaces(7)), and a read-only
//!    cgroupfs at `/sys/fs/cgroup` shows it its own subtree and limits ([`enter`],
//!    [`mount_inside`]).
//! 3. When it has ended, the supervisor reads whether the OOM killer struck in it
//!    (`oom_kill` in v1's `memory.oom_control`, v2's `memory.events`), and removes
//!    its directories ([`release`]; [`remove`] alone for a container being removed,
//!    whose state nobody reads; an `--rm` one's goes with its files, in the detached
//!    process that deletes them: `lifecycle::reclaim`); the empty `skiff/` parents
//!    stay, as Docker's `docker/` does. A skiff killed before then leaves a cgroup
//!    behind; the next skiff that lists containers sweeps it ([`sweep`]).
//!
//! Where no cgroupfs can be written (inside a container that mounts it read-only), a
//! container without limits runs without a cgroup; a limit is refused, not ignored.
//!
//! <https://man7.org/linux/man-pages/man7/cgroups.7.html>
//! <https://man7.org/linux/man-pages/man7/cgroup_namespaces.7.html>
//! <https://docs.kernel.org/admin-guide/cgroup-v2.html>
//! <https://docs.kernel.org/admin-guide/cgroup-v1/cgroups.html>

mod devices;
mod freezer;
mod limits;
mod mounts;

use std::cell::Cell;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

pub use devices::{rules as device_rules, Device, Rule};
pub use freezer::{freeze, is_frozen};
pub use limits::{bytes, Limits, FLAGS};
pub use mounts::mount_inside;

use crate::error::{Context, Error, Result};
use crate::mountinfo;
use crate::rootless;
use crate::sys;
use crate::trace;

/// The cgroup that holds every container's, in each tree.
const PARENT: &str = "skiff";

/// The controllers skiff hands down on v2: what its limits and `stats` use.
const V2_CONTROLLERS: [&str; 4] = ["cpu", "cpuset", "memory", "pids"];

/// How long [`Cgroup::remove`] waits for a cgroup's last processes to be torn down.
const RMDIR_TRIES: u32 = 100;
const RMDIR_PAUSE: Duration = Duration::from_millis(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// A mounted cgroup tree.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hierarchy {
    /// Where it is mounted: `/sys/fs/cgroup/memory` (v1), `/sys/fs/cgroup` (v2).
    mount: PathBuf,
    /// v1: its controllers, as mount(2) takes them (`cpu`, `name=systemd`); v2: none.
    controllers: Vec<String>,
}

/// The machine's cgroup trees.
#[derive(Debug, PartialEq, Eq)]
struct Layout {
    version: Version,
    hierarchies: Vec<Hierarchy>,
}

/// v1 mount options that are not controllers.
const NOT_CONTROLLERS: [&str; 7] = [
    "rw",
    "ro",
    "noprefix",
    "clone_children",
    "xattr",
    "cpuset_v2_mode",
    "favordynmods",
];

impl Layout {
    /// The trees in a `/proc/self/mountinfo`: v1 if any v1 tree has a controller, else
    /// v2 if mounted, else none.
    fn parse(mountinfo: &str) -> Option<Layout> {
        let (mut v1, mut v2) = (Vec::<Hierarchy>::new(), None);
        for line in mountinfo.lines() {
            // "36 25 0:32 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory"
            let Some((mount, rest)) = line.split_once(" - ") else {
                continue;
            };
            let Some(mount) = mount.split(' ').nth(4).map(mountinfo::unescape) else {
                continue;
            };
            let fields: Vec<&str> = rest.split(' ').collect();
            match fields[..] {
                ["cgroup", _, options] => {
                    let controllers: Vec<String> = options
                        .split(',')
                        .filter(|o| {
                            !NOT_CONTROLLERS.contains(o) && !o.starts_with("release_agent=")
                        })
                        .map(String::from)
                        .collect();
                    // A tree mounted twice (a bind mount) is still one tree.
                    if !v1.iter().any(|h| h.controllers == controllers) {
                        v1.push(Hierarchy { mount, controllers });
                    }
                }
                ["cgroup2", ..] if v2.is_none() => {
                    v2 = Some(Hierarchy {
                        mount,
                        controllers: Vec::new(),
                    })
                }
                _ => {}
            }
        }
        let has_controllers = |h: &Hierarchy| h.controllers.iter().any(|c| !c.starts_with("name="));
        if v1.iter().any(has_controllers) {
            return Some(Layout {
                version: Version::V1,
                hierarchies: v1,
            });
        }
        v2.map(|tree| Layout {
            version: Version::V2,
            hierarchies: vec![tree],
        })
    }
}

/// This machine's layout, read once per process. A rootless skiff's is only the v2
/// subtree delegated to its user, as if it were the whole tree (`rootless`).
fn layout() -> Option<&'static Layout> {
    static LAYOUT: OnceLock<Option<Layout>> = OnceLock::new();
    LAYOUT
        .get_or_init(|| {
            let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
            let layout = Layout::parse(&mountinfo)?;
            if !rootless::active() {
                return Some(layout);
            }
            let tree = layout
                .hierarchies
                .first()
                .filter(|_| layout.version == Version::V2)?;
            let mount = rootless::cgroup_parent(&tree.mount)?;
            let controllers = Vec::new();
            let hierarchies = vec![Hierarchy { mount, controllers }];
            Some(Layout {
                hierarchies,
                ..layout
            })
        })
        .as_ref()
}

/// The machine's cgroup version, as `info` shows it: `1`, `2`, or none mounted.
pub fn version() -> Option<&'static str> {
    layout().map(|layout| match layout.version {
        Version::V1 => "1",
        Version::V2 => "2",
    })
}

/// One container's cgroup: `skiff/ID` in every tree.
#[derive(Debug)]
pub struct Cgroup {
    version: Version,
    /// Each tree, with the container's directory in it.
    dirs: Vec<(&'static Hierarchy, PathBuf)>,
    /// In the container's first process: it was born inside ([`fork_into`]).
    born_inside: Cell<bool>,
}

impl Cgroup {
    /// The cgroup container `id` has, or would have; `None` where no cgroupfs is mounted.
    /// An `id` that is an absolute path names the cgroup at that path in each tree (an
    /// OCI bundle's `cgroupsPath`), or, `:`-separated, at one path per tree ([`anchor`]);
    /// else it is `skiff/ID`.
    pub fn of(id: &str) -> Option<Cgroup> {
        let layout = layout()?;
        let dirs = layout
            .hierarchies
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let dir = match id.split(':').nth(i).unwrap_or(id).strip_prefix('/') {
                    Some(path) => h.mount.join(path),
                    None => h.mount.join(PARENT).join(id),
                };
                (h, dir)
            })
            .collect();
        Some(Cgroup {
            version: layout.version,
            dirs,
            born_inside: Cell::new(false),
        })
    }

    /// The directory where `controller`'s files are; `None` if no tree carries it.
    fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(h, _)| {
                self.version == Version::V2 || h.controllers.iter().any(|c| c == controller)
            })
            .map(|(_, dir)| dir.as_path())
    }

    /// Whether the devices guard [`create`] puts on it holds: on v2 always (a BPF
    /// program), on v1 where a tree carries the `devices` controller.
    pub fn guards_devices(&self) -> bool {
        self.dir("devices").is_some()
    }

    /// mkdir(2) in each tree, then the limits and the devices guard. On v1 a new cpuset
    /// cgroup has no CPUs and no memory nodes (nobody could join it), so it starts with
    /// its parent's.
    fn make(&self, limits: &Limits, guard: Option<&[Rule]>) -> Result<()> {
        trace::step(
            "a cgroup of its own in each tree, with its limits, before anything runs in it",
        );
        for (hierarchy, dir) in &self.dirs {
            // Someone may remove the empty parent between our two mkdirs: again.
            let mut tries = 1;
            loop {
                match make_tree(self.version, hierarchy, dir) {
                    Err(err) if err.errno() == Some(libc::ENOENT) && tries < 3 => tries += 1,
                    other => break other?,
                }
            }
        }
        self.apply(limits)?;
        guard.map_or(Ok(()), |rules| devices::guard(self, rules))
    }

    /// Writes the limits into the cgroup's files, at its creation or on `update`. v1
    /// keeps the memory limit at or under memsw's, whichever way both move: a write
    /// refused for the order (EINVAL) is made again once the others are in.
    fn apply(&self, limits: &Limits) -> Result<()> {
        let settings = match self.version {
            Version::V1 => limits.v1(),
            Version::V2 => limits.v2(),
        };
        let mut refused = Vec::new();
        for (controller, file, value) in settings {
            let path = self.controller_dir(controller)?.join(file);
            // Docker's default swap limit needs swap accounting; skip it where there is none.
            let swap = matches!(file, "memory.memsw.limit_in_bytes" | "memory.swap.max");
            if limits.memory_swap.is_none() && swap && !path.exists() {
                continue;
            }
            match write(&path, &value) {
                Err(err) if err.errno() == Some(libc::EINVAL) => refused.push((path, value)),
                other => other?,
            }
        }
        for (path, value) in refused {
            write(&path, &value)?;
        }
        Ok(())
    }

    /// The directory of a controller that a limit needs, or why there is none.
    fn controller_dir(&self, controller: &str) -> Result<&Path> {
        let missing = || {
            Error::invalid(format!(
                "the kernel offers no {controller} cgroup controller here"
            ))
        };
        let dir = self.dir(controller).ok_or_else(missing)?;
        if let (Version::V2, [(_, own)]) = (self.version, &self.dirs[..]) {
            let parent = own.parent().unwrap_or(own);
            let enabled = read(&parent.join("cgroup.subtree_control")).unwrap_or_default();
            if !enabled.split_whitespace().any(|c| c == controller) {
                return Err(missing());
            }
        }
        Ok(dir)
    }

    /// In the container's first process: moves it (`0` is "the writer") into the cgroup.
    ///
    /// On v1 it writes to `tasks`, which moves only the writing thread: a child of
    /// fork(2) has just the one, so that is the whole process. `cgroup.procs` would move
    /// the same process but first takes a kernel-wide lock whose writers wait for an
    /// RCU grace period, 5 to 15 ms here, more than the rest of `skiff run` together;
    /// so does `tasks` when it is given any pid but `0` (the kernel's
    /// `cgroup_procs_write_start`: another thread might exit or exec meanwhile), which
    /// is why the process moves itself, not its parent it, as runc's `Apply(pid)` does.
    /// v2 moves single threads only inside threaded subtrees, so there the process is
    /// born inside instead ([`fork_into`]), or else it is `cgroup.procs`, grace period
    /// and all.
    fn join(&self) -> Result<()> {
        if self.born_inside.get() {
            return Ok(());
        }
        let file = match self.version {
            Version::V1 => "tasks",
            Version::V2 => "cgroup.procs",
        };
        for (_, dir) in &self.dirs {
            write(&dir.join(file), "0")?;
        }
        Ok(())
    }

    /// rmdir(2) in each tree. A cgroup whose last processes are still being torn down
    /// is busy (EBUSY) for a moment after its PID 1 was reaped: try again, a while.
    /// The shared `skiff/` parent stays for the next container, as Docker's cgroupfs
    /// driver keeps `docker/`: making and removing it in every tree cost each
    /// `run --rm` more than its own cgroup did.
    pub fn remove(&self) -> Result<()> {
        for (_, dir) in &self.dirs {
            remove_dir(dir)?;
        }
        Ok(())
    }

    /// Whether the OOM killer has killed a process in this cgroup.
    fn oom_killed(&self) -> bool {
        let file = match self.version {
            Version::V1 => "memory.oom_control",
            Version::V2 => "memory.events",
        };
        self.dir("memory")
            .and_then(|dir| field(&dir.join(file), "oom_kill"))
            .is_some_and(|kills| kills > 0)
    }

    /// What `stats` shows, as the kernel counts it now.
    pub fn usage(&self) -> Usage {
        let at = |controller: &str, file: &str| {
            self.dir(controller)
                .map_or_else(PathBuf::new, |d| d.join(file))
        };
        let number = |controller: &str, file: &str| {
            read(&at(controller, file)).and_then(|t| t.trim().parse::<u64>().ok())
        };
        let (cpu_ns, total, cache, limit) = match self.version {
            Version::V1 => (
                number("cpuacct", "cpuacct.usage"),
                number("memory", "memory.usage_in_bytes"),
                field(&at("memory", "memory.stat"), "total_inactive_file"),
                number("memory", "memory.limit_in_bytes"),
            ),
            Version::V2 => (
                field(&at("cpu", "cpu.stat"), "usage_usec").map(|us| us * 1000),
                number("memory", "memory.current"),
                field(&at("memory", "memory.stat"), "inactive_file"),
                number("memory", "memory.max"), // "max" does not parse: no limit
            ),
        };
        let total = total.unwrap_or(0);
        Usage {
            cpu_ns: cpu_ns.unwrap_or(0),
            // Docker's "usage": without the page cache the kernel can drop at will.
            memory: total.saturating_sub(cache.unwrap_or(0)),
            // v1 says "no limit" with a number near 2^63.
            memory_limit: limit.filter(|&l| l < 1 << 62),
            pids: number("pids", "pids.current").unwrap_or(0),
        }
    }
}

/// A container's resource use, from its cgroup's meters.
pub struct Usage {
    /// CPU time used since it started, in nanoseconds.
    pub cpu_ns: u64,
    pub memory: u64,
    pub memory_limit: Option<u64>,
    pub pids: u64,
}

/// A relative OCI `cgroupsPath` (`./PATH`) made absolute, once, at `create`: PATH under
/// the cgroup skiff is in, in each tree ([`own`]), as runc 1.1 reads it and records
/// the result in its state, so that `delete` or `kill --all` from another cgroup finds
/// the same one. One path where every tree agrees, else one per tree, in the trees'
/// order, `:`-separated (a `cgroupsPath` has no `:`: that is systemd's form).
pub fn anchor(id: &str) -> String {
    let (Some(path), Some(layout)) = (id.strip_prefix("./"), layout()) else {
        return id.into();
    };
    let mut each: Vec<String> = layout
        .hierarchies
        .iter()
        .map(|h| format!("/{}", own(layout.version, h).join(path).display()))
        .collect();
    if each.windows(2).all(|pair| pair[0] == pair[1]) {
        each.truncate(1);
    }
    each.join(":")
}

/// The cgroup this process is in, in `hierarchy`, from the tree's root, as
/// /proc/self/cgroup says (cgroups(7)); on v2 its parent, as runc takes it: skiff's
/// own cgroup holds a process, skiff, so by the no-internal-processes rule it could
/// hand no controller down to a child.
fn own(version: Version, hierarchy: &Hierarchy) -> PathBuf {
    let text = read(Path::new("/proc/self/cgroup")).unwrap_or_default();
    let path = text.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':').skip(1);
        let (controllers, path) = (fields.next()?, fields.next()?);
        let ours = match version {
            Version::V2 => controllers.is_empty(),
            Version::V1 => hierarchy
                .controllers
                .iter()
                .any(|c| controllers.split(',').any(|named| named == c)),
        };
        ours.then(|| Path::new(path.trim_start_matches('/')).to_path_buf())
    });
    let path = path.unwrap_or_default();
    match version {
        Version::V2 if !rootless::active() => path.parent().map(Path::to_path_buf).unwrap_or(path),
        // A rootless skiff's tree is its delegated subtree already.
        Version::V2 => PathBuf::new(),
        Version::V1 => path,
    }
}

/// A container's cgroup from the fork of its PID 1 until its PID 1 joins it: named,
/// and made if [`before_fork`] made it.
pub struct Planned {
    cgroup: Option<Cgroup>,
    made: bool,
}

/// Where a container's PID 1 is to run once [`beside_mounts`] is done, as the byte
/// that lets it join says (`container::start`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placed {
    /// No cgroup could be made, and no limit asked for one: it runs without.
    Outside = b'-' as isize,
    /// In its cgroup, which guards no devices (`--privileged`, rootless, none in v1).
    Inside = b'c' as isize,
    /// In its cgroup, behind the devices guard.
    Guarded = b'g' as isize,
}

impl Placed {
    /// The byte's meaning; anything unknown is the safe side: no guard, no cgroup.
    pub fn from_byte(byte: u8) -> Placed {
        match byte {
            b'g' => Placed::Guarded,
            b'c' => Placed::Inside,
            _ => Placed::Outside,
        }
    }
}

/// Container `id`'s cgroup (limits, devices guard: `None` with `--privileged`), as
/// far as it is made before its PID 1 is forked:
///
/// - v1: not at all. [`beside_mounts`] makes it in the parent while PID 1 makes its
///   mounts (PID 1 runs nothing else and opens no device node until it has joined:
///   directories, /proc files and, filling a volume, the image's regular files, on
///   `nodev` mounts), then PID 1 joins it itself: a parent that moved it would wait for
///   an RCU grace period (`Cgroup::join`; measured here, 10 ms against the 0.5 ms of
///   a process that writes `0` to `tasks`). Where it cannot be made, that is found
///   after the fork, and PID 1 is told to run without one (or killed, if it has
///   limits).
/// - v2: whole, so that PID 1 is born inside (clone3(2), [`fork_into`]): moving it in
///   after the fork, by itself or its parent, goes through `cgroup.procs`, which waits
///   for that grace period (measured on this kernel's v2 tree: 7 ms by the process
///   itself, 11 ms by its parent), much more than making it before the fork costs.
/// - `mounts_need_guard` (an OCI bundle's own device nodes, on a /dev that drops
///   `nodev` only where a guard holds: `container::mounts`): whole, since the mounts
///   must know the guard holds before PID 1 makes them.
///
/// Where nothing can be made (no cgroupfs, or a read-only one) and no limit was asked
/// for, the container runs without one; a limit is refused, not ignored.
pub fn before_fork(
    id: &str,
    limits: &Limits,
    guard: Option<&[Rule]>,
    mounts_need_guard: bool,
) -> Result<Planned> {
    let cgroup = Cgroup::of(id);
    if cgroup.as_ref().is_some_and(|c| c.version == Version::V1) && !mounts_need_guard {
        return Ok(Planned {
            cgroup,
            made: false,
        });
    }
    let made = match cgroup {
        Some(cgroup) => make_or_go_without(&cgroup, limits, guard)?.then_some(cgroup),
        None => go_without(limits, Error::invalid(no_cgroups())).map(|()| None)?,
    };
    Ok(Planned {
        cgroup: made,
        made: true,
    })
}

impl Planned {
    /// The cgroup made before the fork: its PID 1 is born inside it on v2, and else
    /// joins it first thing, as the guard on an OCI bundle's /dev must hold at once.
    pub fn made(&self) -> Option<&Cgroup> {
        self.cgroup.as_ref().filter(|_| self.made)
    }

    /// In PID 1, once told where to run: the cgroup made beside its mounts, if any.
    pub fn made_beside(&self, placed: Placed) -> Option<&Cgroup> {
        self.cgroup
            .as_ref()
            .filter(|_| !self.made && placed != Placed::Outside)
    }
}

/// In the parent, while its PID 1 makes its mounts: what [`before_fork`] left of its
/// cgroup. Returns where PID 1 is to be: it joins itself ([`enter`]).
pub fn beside_mounts(planned: &Planned, limits: &Limits, guard: Option<&[Rule]>) -> Result<Placed> {
    let cgroup = match &planned.cgroup {
        Some(cgroup) if planned.made || make_or_go_without(cgroup, limits, guard)? => cgroup,
        _ => return Ok(Placed::Outside),
    };
    match guard.is_some() && cgroup.guards_devices() {
        true => Ok(Placed::Guarded),
        false => Ok(Placed::Inside),
    }
}

/// Makes `cgroup`, or takes back what was made of it: `false` if the container is to
/// run without one ([`go_without`]).
fn make_or_go_without(cgroup: &Cgroup, limits: &Limits, guard: Option<&[Rule]>) -> Result<bool> {
    let Err(err) = cgroup.make(limits, guard) else {
        return Ok(true);
    };
    let _ = cgroup.remove(); // what was made of it; the error says why
    go_without(limits, err).map(|()| false)
}

/// A container whose cgroup cannot be made for `err`: it runs unmetered if it asked for
/// no limit; else the start fails.
fn go_without(limits: &Limits, err: Error) -> Result<()> {
    if !limits.is_empty() {
        return Err(err.context(format!("{} cannot be enforced here", limits.flags())));
    }
    trace::step(&format!(
        "no cgroup here ({err}): the container runs unmetered"
    ));
    Ok(())
}

/// A rootless skiff with limits and no delegated subtree for them: refused before
/// anything is pulled or recorded.
pub fn check_rootless(limits: &Limits) -> Result<()> {
    match rootless::active() && !limits.is_empty() && layout().is_none() {
        true => Err(Error::invalid(format!(
            "{} cannot be enforced here: {}",
            limits.flags(),
            no_cgroups()
        ))),
        false => Ok(()),
    }
}

/// Why [`Cgroup::of`] found no place for a container's cgroup.
fn no_cgroups() -> String {
    match rootless::uid() {
        Some(uid) => format!("skiff runs rootless, and no cgroup v2 subtree is delegated to uid {uid} (as systemd's user@{uid}.service is)"),
        None => "no cgroup filesystem is mounted (see /proc/self/mountinfo)".into(),
    }
}

/// fork(2) for a container's process, into new `namespaces` (`CLONE_NEWPID` for its
/// first: `container::namespaces`). On v2 it is born inside its cgroup (clone3(2) with
/// `CLONE_INTO_CGROUP`), since moving a live process there waits for an RCU grace
/// period ([`Cgroup::join`]). Elsewhere, or where clone3 is refused (Linux before 5.7,
/// a seccomp filter), clone(2), and the child joins.
pub fn fork_into(cgroup: Option<&Cgroup>, namespaces: libc::c_int) -> Result<Option<libc::pid_t>> {
    let Some(cgroup) = cgroup.filter(|c| c.version == Version::V2) else {
        return sys::clone_fork(namespaces);
    };
    let dir = &cgroup.dirs[0].1;
    let dir = fs::File::open(dir).with_context(|| format!("open {}", dir.display()))?;
    match sys::fork_into_cgroup(namespaces, &dir) {
        Ok(None) => {
            cgroup.born_inside.set(true);
            Ok(None)
        }
        Ok(pid) => Ok(pid),
        Err(err) => {
            trace::step(&format!("{err}: clone(2), and the child joins"));
            sys::clone_fork(namespaces)
        }
    }
}

/// In the container's first process, once its cgroup is made (before its mounts, or
/// after them, before pivot_root(2): [`before_fork`]): into its cgroup, then into a
/// new cgroup namespace rooted there. Returns the cgroup if it has that namespace.
pub fn enter(cgroup: Option<&Cgroup>) -> Result<Option<&Cgroup>> {
    let Some(cgroup) = cgroup else {
        return Ok(None);
    };
    trace::step("join its cgroup, then a cgroup namespace: that cgroup is the root of all it sees");
    cgroup.join()?;
    match sys::unshare(sys::CLONE_NEWCGROUP) {
        Ok(()) => Ok(Some(cgroup)),
        Err(err) if matches!(err.errno(), Some(libc::EINVAL | libc::EPERM)) => {
            trace::step(
                "no cgroup namespace here (a kernel before 4.6?): /sys/fs/cgroup stays unmounted",
            );
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// The cgroup a running container `id` is in, for a process that joins it (`exec`);
/// `None` if it runs without one.
pub fn of_running(id: &str) -> Option<Cgroup> {
    Cgroup::of(id).filter(|cgroup| cgroup.dirs.iter().all(|(_, dir)| dir.is_dir()))
}

/// `update` of a running container `id`: its cgroup's files, to `limits`.
pub fn update(id: &str, limits: &Limits) -> Result<()> {
    of_running(id)
        .ok_or_else(|| Error::invalid("it runs without a cgroup (none could be made here)"))?
        .apply(limits)
}

/// In a process that joins a running container: into its cgroup, unless it was born
/// there ([`fork_into`]). The container's cgroup namespace is joined with the rest.
pub fn join(cgroup: &Cgroup) -> Result<()> {
    trace::step("join the container's cgroup");
    cgroup.join()
}

/// After container `id` has ended: whether the OOM killer struck in it, for `inspect`;
/// its cgroup is removed.
pub fn release(id: &str) -> Result<bool> {
    let oom_killed = Cgroup::of(id).is_some_and(|cgroup| cgroup.oom_killed());
    remove(id)?;
    Ok(oom_killed)
}

/// Removes container `id`'s cgroup, once it has ended, without asking about the OOM
/// killer: for a container that is being removed, whose state nobody will read (an
/// `--rm` run's exit status, 137, already says SIGKILL).
pub fn remove(id: &str) -> Result<()> {
    Cgroup::of(id).map_or(Ok(()), |cgroup| cgroup.remove())
}

/// Removes the cgroup of a container whose skiff was killed, after it ended or in the
/// middle of its start, or of one removed already: first SIGKILL to what is still in it
/// (a PID 1 held half-way through its start; the rest of its PID namespace dies with
/// it), since rmdir(2) refuses a cgroup with processes. `ps` must not fail for it: its
/// callers but the deleter's ignore the error, and the next skiff tries again.
pub fn sweep(id: &str) -> Result<()> {
    let Some(cgroup) = Cgroup::of(id) else {
        return Ok(());
    };
    for (_, dir) in &cgroup.dirs {
        for pid in procs_in(dir) {
            let _ = sys::kill(pid, libc::SIGKILL);
        }
    }
    cgroup.remove() // rmdir(2) waits out their exits (EBUSY meanwhile)
}

/// The processes in container `id`'s cgroup (`docker top`): every tree holds them all.
pub fn procs(id: &str) -> Vec<libc::pid_t> {
    let cgroup = Cgroup::of(id);
    let first = cgroup.as_ref().and_then(|cgroup| cgroup.dirs.first());
    first.map_or_else(Vec::new, |(_, dir)| procs_in(dir))
}

fn procs_in(dir: &Path) -> Vec<libc::pid_t> {
    let procs = read(&dir.join("cgroup.procs")).unwrap_or_default();
    procs.lines().filter_map(|pid| pid.parse().ok()).collect()
}

/// Whether container `id`'s cgroup (an OCI bundle's `cgroupsPath`) holds processes
/// in any tree: someone else's, which skiff must neither adopt nor sweep.
pub fn occupied(id: &str) -> bool {
    Cgroup::of(id)
        .is_some_and(|cgroup| cgroup.dirs.iter().any(|(_, dir)| !procs_in(dir).is_empty()))
}

/// Whether container `id` has a cgroup directory in any tree.
pub fn exists(id: &str) -> bool {
    Cgroup::of(id).is_some_and(|cgroup| cgroup.dirs.iter().any(|(_, dir)| dir.is_dir()))
}

/// On v2, hands skiff's controllers down from `dir` to its children.
fn delegate(dir: &Path) -> Result<()> {
    let available = read(&dir.join("cgroup.controllers")).unwrap_or_default();
    let enabled = read(&dir.join("cgroup.subtree_control")).unwrap_or_default();
    let missing: Vec<String> = V2_CONTROLLERS
        .iter()
        .filter(|c| available.split_whitespace().any(|a| a == **c))
        .filter(|c| !enabled.split_whitespace().any(|e| e == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let written = write(&dir.join("cgroup.subtree_control"), &missing.join(" "));
    match written {
        Err(err) if err.errno() == Some(libc::EBUSY) => Err(err.context(format!(
            "{} holds processes, so by cgroup v2's no-internal-processes rule it cannot hand controllers down (move them into a child cgroup first)",
            dir.display()
        ))),
        other => other,
    }
}

/// `dir` (`skiff/ID`, or an OCI bundle's `cgroupsPath`) and each level above it that is
/// missing, each allowed what it needs from the one above. On v1 the levels above are
/// there already but for the first container (`skiff/` stays between containers), so
/// `dir` is tried alone, one mkdir(2), and the tree walked from its root only when that
/// says ENOENT; v2 walks every time, each level handing its controllers down.
fn make_tree(version: Version, hierarchy: &Hierarchy, dir: &Path) -> Result<()> {
    if version == Version::V1 {
        match make_dir(dir) {
            Err(err) if err.errno() == Some(libc::ENOENT) => {}
            made => return made.and_then(|()| fill_cpuset(hierarchy, dir)),
        }
    }
    let mut above = hierarchy.mount.clone();
    let levels = dir
        .strip_prefix(&hierarchy.mount)
        .unwrap_or(dir)
        .components();
    for part in levels {
        let level = above.join(part);
        if version == Version::V2 {
            delegate(&above)?;
        }
        make_dir(&level)?;
        fill_cpuset(hierarchy, &level)?;
        above = level;
    }
    Ok(())
}

/// A new v1 cpuset cgroup has no CPUs and no memory nodes, so nobody could join it,
/// unless its parent has `cgroup.clone_children` set: then it is born with the parent's.
/// A level without them is given its parent's; one with its own keeps them (an
/// administrator may have narrowed `skiff/` on purpose). Once a container's cgroup had
/// to be given them, skiff sets that flag on its `skiff/`, so that the next ones are born
/// with them: two reads per container where there were two reads and two writes.
fn fill_cpuset(hierarchy: &Hierarchy, dir: &Path) -> Result<()> {
    if !hierarchy.controllers.iter().any(|c| c == "cpuset") {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(dir);
    let mut copied = false;
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if read(&dir.join(file)).is_some_and(|own| !own.trim().is_empty()) {
            continue;
        }
        let theirs = read(&parent.join(file)).unwrap_or_default();
        write(&dir.join(file), theirs.trim())?;
        copied = true;
    }
    if copied && parent == hierarchy.mount.join(PARENT) {
        write(&parent.join("cgroup.clone_children"), "1")?;
    }
    Ok(())
}

fn make_dir(dir: &Path) -> Result<()> {
    trace::call(format_args!("mkdir({})", dir.display()));
    match fs::create_dir(dir) {
        Err(err) if err.kind() == ErrorKind::AlreadyExists => Ok(()),
        other => other.with_context(|| format!("create {}", dir.display())),
    }
}

fn remove_dir(dir: &Path) -> Result<()> {
    for _ in 1..RMDIR_TRIES {
        match fs::remove_dir(dir) {
            Err(err) if err.raw_os_error() == Some(libc::EBUSY) => std::thread::sleep(RMDIR_PAUSE),
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(()),
            // A read-only cgroupfs says EROFS before it looks: nothing to remove there.
            Err(err) if err.raw_os_error() == Some(libc::EROFS) && !dir.exists() => return Ok(()),
            other => return other.with_context(|| format!("remove cgroup {}", dir.display())),
        }
    }
    fs::remove_dir(dir).with_context(|| format!("remove cgroup {}", dir.display()))
}

/// Writes one cgroup file: each write(2) is one request to the kernel.
fn write(path: &Path, value: &str) -> Result<()> {
    write_to(&mut open_to_write(path)?, path, value)
}

/// A cgroup file to write requests to, one write(2) each: a file such as
/// `devices.allow` takes one entry per write, and each open(2) of a cgroupfs file
/// costs more than a write.
fn open_to_write(path: &Path) -> Result<fs::File> {
    let file = fs::OpenOptions::new().write(true).open(path);
    file.with_context(|| format!("open {}", path.display()))
}

fn write_to(file: &mut fs::File, path: &Path, value: &str) -> Result<()> {
    trace::call(format_args!("write({}, {value:?})", path.display()));
    let written = file.write_all(value.as_bytes());
    written.with_context(|| format!("write {value:?} to {}", path.display()))
}

fn read(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// The number after `key` in a flat-keyed file (`memory.stat`, `cpu.stat`, …).
fn field(path: &Path, key: &str) -> Option<u64> {
    read(path)?.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd,release_agent=/x
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 23 0:32 / /mnt/my\\040memory rw - cgroup cgroup rw,memory";

    #[test]
    fn hybrid_means_the_v1_trees_each_once() {
        let layout = Layout::parse(HYBRID).unwrap();
        assert_eq!(layout.version, Version::V1);
        let trees: Vec<(String, String)> = layout
            .hierarchies
            .iter()
            .map(|h| (h.mount.display().to_string(), h.controllers.join(",")))
            .collect();
        let want = [
            ("/sys/fs/cgroup/cpu", "cpu"),
            ("/sys/fs/cgroup/cpu,cpuacct", "cpu,cpuacct"),
            ("/sys/fs/cgroup/memory", "memory"),
            ("/sys/fs/cgroup/systemd", "name=systemd"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(m, c)| (m.to_string(), c.to_string()))
            .collect();
        assert_eq!(trees, want);
    }

    #[test]
    fn unified_alone_is_v2() {
        let layout = Layout::parse(
            "25 20 0:22 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate",
        )
        .unwrap();
        assert_eq!(layout.version, Version::V2);
        assert_eq!(layout.hierarchies[0].mount, PathBuf::from("/sys/fs/cgroup"));
    }

    #[test]
    fn a_named_v1_tree_alone_does_not_make_v1() {
        let only_named = "1 0 0:1 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd";
        assert_eq!(Layout::parse(only_named), None);
        assert_eq!(Layout::parse("1 0 0:1 / / rw - ext4 /dev/vda rw"), None);
    }
}
