//! An OCI bundle's `config.json`, translated into skiff's own [`Config`]: the runtime
//! CLI starts its containers with the very code `skiff run` uses (`container::start`),
//! so every field is either mapped onto what that code already does, or refused in
//! one line that names it (`config.json: linux.seccomp is not supported by skiff
//! yet`). Nothing is ignored silently.
//!
//! The mapping, field by field (runtime-spec `config.md`, `config-linux.md`):
//! - `process`: `args`, `env`, `cwd`, `user` (uid, gid, additionalGids) as `-u
//!   UID:GID --group-add`; `capabilities` as `--cap-drop ALL --cap-add` of the
//!   bounding set (skiff gives one set: effective and permitted must equal it), and
//!   the inheritable and ambient sets as asked, for any user (as runc; `run` gives a
//!   user other than root none); `rlimits` as `--ulimit`; `noNewPrivileges`;
//!   `oomScoreAdj`; `user.umask`; `terminal` and `consoleSize` as `-t` (its master goes
//!   to the console socket, see `mod.rs`). `exec --process FILE` reads the same object
//!   with the same code ([`process_file`]).
//! - `root`: its `path` (relative to the bundle) is bound as the root and written in
//!   place, as runc does (podman hands over its own overlay mount). `readonly` as
//!   `--read-only`.
//! - `mounts`: /proc, /sys, /dev and its pts, shm and mqueue are skiff's own (Docker's
//!   defaults, masks included); any other, bind or filesystem, with its options as
//!   runc reads them (flags, propagation types, podman's `tmpcopyup`, the rest as
//!   the filesystem's data: `container/options.rs`), always `nodev`. Unlike runc's,
//!   every mount was made private first, so propagation types act inside the
//!   container alone: `shared`/`rshared` on a bind make a peer group of the
//!   container's own, never propagating to or from the host (no Kubernetes
//!   "Bidirectional"), and `slave`/`rslave` receive nothing.
//! - `linux.rootfsPropagation`: the root's propagation type, set after pivot_root(2)
//!   as runc sets it, on a root that is private (by default it stays so; runc's
//!   default is `rslave`). So `slave`/`rslave` receive nothing from the host, where
//!   runc's root receives the host's mounts under the bundle; `shared` makes a peer
//!   group of the container's own.
//! - `linux.namespaces`: each kind new, joined by its `path` (podman makes the network
//!   namespace itself; a Kubernetes pod's containers join its pause container's IPC,
//!   UTS and PID namespaces), or, absent, the runtime's own, as `Options::namespaces`
//!   (see `container/namespaces.rs`); the network's as `--network`: absent the host's,
//!   new with only `lo`, or joined. Without a mount namespace of its own (the
//!   runtime's, or one joined) the container mounts nothing (`check_shared`); without
//!   a UTS one it takes no hostname, and a joined one keeps its own unless given one.
//!   `user` with `uidMappings` and `gidMappings` as `--uidmap`/`--gidmap` (a new user
//!   namespace, entered last, the root filesystem used as it is), or joined by path.
//! - `hooks`: every kind (see `hooks.rs` for where each runs).
//! - `linux.resources` memory, cpu and pids as `resources.rs` says; `sysctl` as
//!   `--sysctl`; `maskedPaths` and `readonlyPaths` (beyond
//!   Docker's, which skiff's own masks cover) resolved inside the root; `seccomp`,
//!   `resources.devices`, `devices` and `cgroupsPath` as `linux.rs` says.
//! - A bind on `/dev/shm` (podman's shared tmpfs) is skiff's own, of its size.
//!
//! <https://github.com/opencontainers/runtime-spec/blob/main/config.md>
//! <https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md>

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miniserde::json::{self, Value};
use miniserde::Deserialize;

use super::hooks::Hooks;
use super::linux;
use super::resources::{self, Resources};
use crate::container::{self, propagation, Config, Options, Process, SpecMount};
use crate::error::{Context, Error, Result};

/// Each object skiff reads, by its path in the document, and the keys it knows there
/// (`[]`: each element of an array). Any other key is refused by name.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "ociVersion",
            "process",
            "root",
            "mounts",
            "hostname",
            "linux",
            "annotations",
            "hooks",
        ],
    ),
    (
        "hooks",
        &[
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop",
        ],
    ),
    ("hooks.prestart[]", HOOK),
    ("hooks.createRuntime[]", HOOK),
    ("hooks.createContainer[]", HOOK),
    ("hooks.startContainer[]", HOOK),
    ("hooks.poststart[]", HOOK),
    ("hooks.poststop[]", HOOK),
    (
        "process",
        &[
            "terminal",
            "user",
            "args",
            "env",
            "cwd",
            "capabilities",
            "rlimits",
            "noNewPrivileges",
            "oomScoreAdj",
            "consoleSize",
        ],
    ),
    ("process.user", &["uid", "gid", "additionalGids", "umask"]),
    ("process.consoleSize", &["height", "width"]),
    (
        "process.capabilities",
        &[
            "bounding",
            "effective",
            "permitted",
            "inheritable",
            "ambient",
        ],
    ),
    ("process.rlimits[]", &["type", "soft", "hard"]),
    ("root", &["path", "readonly"]),
    ("mounts[]", &["destination", "type", "source", "options"]),
    (
        "linux",
        &[
            "namespaces",
            "resources",
            "maskedPaths",
            "readonlyPaths",
            "sysctl",
            "seccomp",
            "cgroupsPath",
            "devices",
            "rootfsPropagation",
            "uidMappings",
            "gidMappings",
        ],
    ),
    ("linux.namespaces[]", &["type", "path"]),
    ("linux.uidMappings[]", ID_MAPPING),
    ("linux.gidMappings[]", ID_MAPPING),
    (
        "linux.resources.devices[]",
        &["allow", "type", "major", "minor", "access"],
    ),
    (
        "linux.devices[]",
        &["path", "type", "major", "minor", "fileMode", "uid", "gid"],
    ),
    (
        "linux.seccomp",
        &[
            "defaultAction",
            "defaultErrnoRet",
            "architectures",
            "flags",
            "syscalls",
        ],
    ),
    (
        "linux.seccomp.syscalls[]",
        &["names", "action", "errnoRet", "args"],
    ),
    (
        "linux.seccomp.syscalls[].args[]",
        &["index", "value", "valueTwo", "op"],
    ),
];

const HOOK: &[&str] = &["path", "args", "env", "timeout"];
const ID_MAPPING: &[&str] = &["containerID", "hostID", "size"];

/// The top-level properties the runtime-spec defines (config.md and the platforms'); any
/// other is someone's extension. Below the top, every key skiff does not read is refused.
const SPEC_TOP_LEVEL: [&str; 13] = [
    "ociVersion",
    "process",
    "root",
    "hostname",
    "domainname",
    "mounts",
    "hooks",
    "annotations",
    "linux",
    "solaris",
    "windows",
    "vm",
    "zos",
];

#[derive(Deserialize)]
struct Spec {
    #[serde(rename = "ociVersion")]
    oci_version: String,
    process: Option<ProcessSpec>,
    root: Option<Root>,
    mounts: Option<Vec<Mount>>,
    hostname: Option<String>,
    linux: Option<Linux>,
    annotations: Option<BTreeMap<String, String>>,
    hooks: Option<Hooks>,
}

#[derive(Deserialize)]
struct ProcessSpec {
    terminal: Option<bool>,
    user: User,
    args: Vec<String>,
    env: Option<Vec<String>>,
    cwd: String,
    capabilities: Option<Capabilities>,
    rlimits: Option<Vec<Rlimit>>,
    #[serde(rename = "noNewPrivileges")]
    no_new_privileges: Option<bool>,
    #[serde(rename = "oomScoreAdj")]
    oom_score_adj: Option<i32>,
    #[serde(rename = "consoleSize")]
    console_size: Option<ConsoleSize>,
}

#[derive(Deserialize)]
struct ConsoleSize {
    height: u16,
    width: u16,
}

#[derive(Deserialize)]
struct User {
    uid: u32,
    gid: u32,
    umask: Option<u32>,
    #[serde(rename = "additionalGids")]
    additional_gids: Option<Vec<u32>>,
}

#[derive(Deserialize)]
struct Capabilities {
    bounding: Option<Vec<String>>,
    effective: Option<Vec<String>>,
    permitted: Option<Vec<String>>,
    inheritable: Option<Vec<String>>,
    ambient: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Rlimit {
    #[serde(rename = "type")]
    kind: String,
    soft: u64,
    hard: u64,
}

#[derive(Deserialize)]
struct Root {
    path: String,
    readonly: Option<bool>,
}

#[derive(Deserialize)]
struct Mount {
    destination: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    source: Option<String>,
    options: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Linux {
    namespaces: Option<Vec<Namespace>>,
    resources: Option<Resources>,
    #[serde(rename = "maskedPaths")]
    masked_paths: Option<Vec<String>>,
    #[serde(rename = "readonlyPaths")]
    readonly_paths: Option<Vec<String>>,
    sysctl: Option<BTreeMap<String, String>>,
    seccomp: Option<Value>,
    #[serde(rename = "cgroupsPath")]
    cgroups_path: Option<String>,
    devices: Option<Vec<container::DeviceNode>>,
    #[serde(rename = "rootfsPropagation")]
    rootfs_propagation: Option<String>,
    #[serde(rename = "uidMappings")]
    uid_mappings: Option<Vec<IdMapping>>,
    #[serde(rename = "gidMappings")]
    gid_mappings: Option<Vec<IdMapping>>,
}

/// One line of a user namespace's map, as `--uidmap CONTAINER:HOST:SIZE` takes it.
#[derive(Deserialize)]
struct IdMapping {
    #[serde(rename = "containerID")]
    container_id: u32,
    #[serde(rename = "hostID")]
    host_id: u32,
    size: u32,
}

#[derive(Deserialize)]
struct Namespace {
    #[serde(rename = "type")]
    kind: String,
    path: Option<String>,
}

/// A bundle, as skiff will start it.
pub struct Bundle {
    pub config: Config,
    /// The root filesystem's directory, absolute.
    pub root: PathBuf,
    /// A network namespace to join (`linux.namespaces` with a `path`).
    pub netns: Option<PathBuf>,
    pub annotations: BTreeMap<String, String>,
    /// `process.terminal`: its first process on a pseudo-terminal, whose master goes
    /// to the console socket.
    pub terminal: Option<Terminal>,
    pub hooks: Hooks,
}

/// The mounts skiff makes in every container itself, by destination and type.
const OWN_MOUNTS: [(&str, &str); 8] = [
    ("/proc", "proc"),
    ("/sys", "sysfs"),
    ("/sys/fs/cgroup", "cgroup"),
    ("/sys/fs/cgroup", "cgroup2"),
    ("/dev", "tmpfs"),
    ("/dev/pts", "devpts"),
    ("/dev/shm", "tmpfs"),
    ("/dev/mqueue", "mqueue"),
];

pub fn unsupported(what: &str) -> Error {
    Error::invalid(format!("config.json: {what} is not supported by skiff yet"))
}

/// `text`, the `config.json` of the bundle at `bundle`, as container `id`.
pub fn parse(text: &str, bundle: &Path, id: &str) -> Result<Bundle> {
    let garbage = || Error::invalid("config.json: not a runtime-spec configuration");
    let value: Value = json::from_str(text).map_err(|_| garbage())?;
    check_keys(&value, "")?;
    let spec: Spec = json::from_str(text).map_err(|_| garbage())?;
    check_version(&spec.oci_version)?;
    let process = spec
        .process
        .ok_or_else(|| unsupported("a bundle without process"))?;
    let root = spec
        .root
        .ok_or_else(|| unsupported("a bundle without root"))?;
    let Runnable {
        process,
        mut options,
        terminal,
    } = runnable(process)?;
    options.read_only = root.readonly.unwrap_or(false);
    for mount in spec.mounts.iter().flatten() {
        add_mount(mount, bundle, &mut options)?;
    }
    let linux = spec
        .linux
        .ok_or_else(|| unsupported("a bundle without linux"))?;
    let (network, netns) = namespaces(&linux, &mut options)?;
    hidden(&linux, &mut options);
    confine(&linux, &mut options)?;
    let cgroups_path = |path| linux::cgroups_path(path).map(|path| crate::cgroup::anchor(&path));
    let cgroup = linux.cgroups_path.as_deref().map(cgroups_path);
    options.root_propagation = root_propagation(&linux)?;
    options.sysctls = linux
        .sysctl
        .map(|map| map.iter().map(|(k, v)| format!("{k}={v}")).collect());
    let hostname = hostname(spec.hostname, &options)?;
    check_shared(&options, terminal.is_some())?;
    let config = Config {
        id: id.into(),
        name: id.into(),
        process,
        hostname,
        stop_signal: "SIGTERM".into(),
        options,
        limits: Some(resources::limits(linux.resources.as_ref())?),
        network: Some(network.into()),
        cgroup: cgroup.transpose()?,
        ..Default::default()
    };
    Ok(Bundle {
        config,
        root: bundle.join(root.path),
        netns,
        annotations: spec.annotations.unwrap_or_default(),
        terminal,
        hooks: spec.hooks.unwrap_or_default(),
    })
}

/// A runtime-spec `process` as skiff runs it: config.json's, or the file `exec
/// --process` names (the same object, read by the same code).
pub struct Runnable {
    pub process: Process,
    /// Its capabilities, rlimits, noNewPrivileges and oomScoreAdj, as `skiff run`'s.
    pub options: Options,
    /// `terminal: true`: a pseudo-terminal of its own, of `consoleSize` if given.
    pub terminal: Option<Terminal>,
}

/// `process.terminal: true`, and the size it starts at (`consoleSize`).
pub struct Terminal {
    pub size: Option<libc::winsize>,
}

/// `exec --process FILE`'s `text`: a `process` object alone.
pub fn process_file(text: &str) -> Result<Runnable> {
    let garbage = || Error::invalid("not a runtime-spec process");
    let value: Value = json::from_str(text).map_err(|_| garbage())?;
    check_keys(&value, "process")?;
    runnable(json::from_str(text).map_err(|_| garbage())?)
}

fn runnable(process: ProcessSpec) -> Result<Runnable> {
    let options = options(&process)?;
    let terminal = process.terminal.unwrap_or(false).then(|| Terminal {
        size: process.console_size.as_ref().map(|size| libc::winsize {
            ws_row: size.height,
            ws_col: size.width,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }),
    });
    Ok(Runnable {
        process: process_of(process),
        options,
        terminal,
    })
}

/// 1.0.x to 1.2.x, and 1.3.0, which runtime-tools' validation suite writes.
fn check_version(version: &str) -> Result<()> {
    let known = ["1.0.", "1.1.", "1.2."]
        .iter()
        .any(|v| version.starts_with(v));
    match known || version == "1.3.0" {
        true => Ok(()),
        false => Err(unsupported(&format!("ociVersion {version:?}"))),
    }
}

/// The process as `Config` holds it: the user by numbers, as `-u UID:GID --group-add`.
fn process_of(process: ProcessSpec) -> Process {
    let gids = process.user.additional_gids.unwrap_or_default();
    Process {
        argv: process.args,
        env: process.env.unwrap_or_default(),
        workdir: process.cwd,
        user: Some(format!("{}:{}", process.user.uid, process.user.gid)),
        groups: Some(gids.iter().map(u32::to_string).collect()),
    }
}

/// Refuses any key not in [`KNOWN`], naming it by its path (`linux.seccomp`).
fn check_keys(value: &Value, path: &str) -> Result<()> {
    match value {
        Value::Object(object) => {
            let known = KNOWN
                .iter()
                .chain(&resources::KNOWN)
                .find(|(p, _)| *p == path)
                .map(|(_, keys)| *keys);
            for (key, inner) in object {
                let full = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if known.is_some_and(|keys| !keys.contains(&key.as_str())) {
                    // config.md "Extensibility": a property the spec does not define
                    // MUST be ignored; one it defines and skiff cannot honour is refused.
                    if path.is_empty() && !SPEC_TOP_LEVEL.contains(&key.as_str()) {
                        continue;
                    }
                    return Err(unsupported(&full));
                }
                check_keys(inner, &full)?;
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| check_keys(item, &format!("{path}[]"))),
        _ => Ok(()),
    }
}

/// `process`'s capabilities, limits and flags, as `skiff run`'s options.
fn options(process: &ProcessSpec) -> Result<Options> {
    let mut options = Options {
        no_new_privileges: process.no_new_privileges.unwrap_or(false),
        oom_score_adj: process.oom_score_adj,
        umask: process.user.umask,
        cap_drop: vec!["ALL".into()],
        // Without `linux.seccomp` (read in `confine`) a runtime loads no filter: Docker's
        // default is the engine's choice, not the runtime's.
        seccomp: Some("unconfined".into()),
        ..Default::default()
    };
    if let Some(caps) = &process.capabilities {
        let bounding = caps.bounding.clone().unwrap_or_default();
        for (name, set) in [
            ("effective", &caps.effective),
            ("permitted", &caps.permitted),
        ] {
            // A user other than root gets them empty, as the kernel empties them on
            // leaving UID 0 (see `container/capabilities.rs`).
            let emptied = process.user.uid != 0 && set.as_ref().is_some_and(Vec::is_empty);
            if set.as_ref().is_some_and(|set| *set != bounding) && !emptied {
                return Err(unsupported(&format!(
                    "process.capabilities.{name} unlike bounding"
                )));
            }
        }
        // Some, even empty: the sets are the config's, for any user (capabilities.rs).
        options.cap_inheritable = Some(caps.inheritable.clone().unwrap_or_default());
        options.cap_ambient = caps.ambient.clone();
        options.cap_add = bounding;
    }
    options.ulimits = process.rlimits.as_ref().map(|rlimits| {
        let name = |kind: &str| kind.trim_start_matches("RLIMIT_").to_ascii_lowercase();
        let spec = |r: &Rlimit| format!("{}={}:{}", name(&r.kind), r.soft, r.hard);
        rlimits.iter().map(spec).collect()
    });
    Ok(options)
}

/// One of `mounts`: skiff's own, or one made as runc makes it (`container/mounts.rs`).
fn add_mount(mount: &Mount, bundle: &Path, options: &mut Options) -> Result<()> {
    let mut spec = SpecMount {
        kind: mount.kind.clone().unwrap_or_default(),
        source: mount.source.clone().unwrap_or_default(),
        target: mount.destination.clone(),
        options: mount.options.clone().unwrap_or_default(),
    };
    let (bind, dest) = (spec.is_bind(), &spec.target);
    if !bind && OWN_MOUNTS.contains(&(dest.as_str(), spec.kind.as_str())) {
        return Ok(());
    }
    if bind && dest == "/dev/shm" {
        // podman's shared tmpfs, for its pods: skiff's own /dev/shm (nosuid, noexec,
        // nodev as asked), of its size, is the container's alone.
        const SHM_FLAGS: [&str; 5] = ["bind", "rprivate", "nosuid", "noexec", "nodev"];
        if let Some(flag) = spec
            .options
            .iter()
            .find(|f| !SHM_FLAGS.contains(&f.as_str()))
        {
            return Err(unsupported(&format!("mounts: option {flag:?} of {dest}")));
        }
        options.shm_size = Some(tmpfs_size(Path::new(&spec.source))?);
        return Ok(());
    }
    if bind {
        // A relative source is the bundle's, as runc reads it (never a volume's name).
        spec.source = bundle.join(&spec.source).display().to_string();
    }
    spec.parse().context("config.json")?; // refused here, rather than in the container
    options.spec_mounts.get_or_insert_default().push(spec);
    Ok(())
}

/// `linux.namespaces`: the network's decides `--network` (`host` when absent, `none`
/// when new, or joined by its path); the others are new, joined by path, or, absent,
/// skiff's own (`Options::namespaces`), as in runc. A user namespace needs maps or a
/// path, and maps a user namespace, as runc's validator says.
fn namespaces(linux: &Linux, options: &mut Options) -> Result<(&'static str, Option<PathBuf>)> {
    let list = linux.namespaces.as_deref().unwrap_or_default();
    let mut network = ("host", None);
    let mut shared = BTreeMap::new();
    for kind in ["pid", "mount", "ipc", "uts", "cgroup"] {
        shared.insert(proc_name(kind).to_string(), "host".to_string());
    }
    for namespace in list {
        match (namespace.kind.as_str(), &namespace.path) {
            ("network", path) => network = ("none", path.as_ref().map(PathBuf::from)),
            (kind @ ("pid" | "mount" | "ipc" | "uts" | "cgroup" | "user"), path) => {
                match path {
                    Some(path) => shared.insert(proc_name(kind).into(), path.clone()),
                    None => shared.remove(proc_name(kind)),
                };
            }
            (kind, _) => return Err(unsupported(&format!("linux.namespaces: {kind}"))),
        }
    }
    let user = list.iter().find(|n| n.kind == "user");
    let maps = linux.uid_mappings.is_some() || linux.gid_mappings.is_some();
    match (user, maps) {
        (None, true) => {
            return Err(Error::invalid(
                "config.json: linux.uidMappings or gidMappings without a user namespace",
            ))
        }
        (Some(Namespace { path: None, .. }), false) => {
            return Err(Error::invalid(
                "config.json: a new user namespace without linux.uidMappings and gidMappings",
            ))
        }
        _ => {}
    }
    let map = |maps: &Option<Vec<IdMapping>>| {
        let each = |m: &IdMapping| format!("{}:{}:{}", m.container_id, m.host_id, m.size);
        maps.as_ref().map(|maps| maps.iter().map(each).collect())
    };
    options.uidmap = map(&linux.uid_mappings);
    options.gidmap = map(&linux.gid_mappings);
    options.namespaces = Some(shared).filter(|shared| !shared.is_empty());
    Ok(network)
}

/// `hostname`, set in a UTS namespace of the container's own (the runtime's is not the
/// container's to set). Without one, runc sets none: a new UTS namespace keeps the
/// runtime's hostname it was copied from (the same name, given here for /etc/hostname),
/// and a joined one keeps its own (`""`: `namespaces::enter` leaves it alone).
fn hostname(hostname: Option<String>, options: &Options) -> Result<String> {
    let uts = options
        .namespaces
        .iter()
        .flatten()
        .find(|(k, _)| *k == "uts");
    match (hostname, uts.map(|(_, mode)| mode.as_str())) {
        (Some(_), Some("host")) => Err(Error::invalid(
            "config.json: hostname without a UTS namespace of the container's own",
        )),
        (Some(name), _) => Ok(name),
        (None, Some(path)) if path != "host" => Ok(String::new()),
        (None, _) => Ok(std::fs::read_to_string("/proc/sys/kernel/hostname")?
            .trim()
            .into()),
    }
}

/// What a mount namespace not made for the container cannot take, refused by name:
/// without one of its own, the runtime's or one joined by path, the container mounts
/// nothing (see `container::rootfs::chroot_in_place`: every mount would land in a
/// namespace that is not the container's, and stay there), so skiff's own mounts
/// (/proc, /sys, /dev) are not made and whatever else needs a mount is refused, as
/// runc refuses masked paths there; a terminal too, bound on /dev/console. Without an
/// IPC namespace of its own, its sysctls would be the host's.
fn check_shared(options: &Options, terminal: bool) -> Result<()> {
    let shared = options.namespaces.iter().flatten();
    let host = |kind: &str| shared.clone().any(|(k, mode)| k == kind && mode == "host");
    let own_mnt = !shared.clone().any(|(k, _)| k == "mnt");
    let masks = options.masked_paths.is_some() || options.readonly_paths.is_some();
    if !own_mnt && (options.needs_mounts() || masks || options.shm_size.is_some() || terminal) {
        return Err(Error::invalid(
            "config.json: without a mount namespace of the container's own, nothing is mounted: mounts beyond /proc, /sys and /dev, maskedPaths, readonlyPaths, root.readonly, devices and a terminal are refused",
        ));
    }
    let mut sysctls = options.sysctls.iter().flatten();
    match sysctls.find(|sysctl| host("ipc") && !sysctl.starts_with("net.")) {
        Some(sysctl) => Err(Error::invalid(format!(
            "config.json: linux.sysctl {sysctl} without an IPC namespace of the container's own"
        ))),
        None => Ok(()),
    }
}

/// A kind of namespace as /proc/PID/ns names it.
fn proc_name(kind: &str) -> &str {
    match kind {
        "mount" => "mnt",
        other => other,
    }
}

/// `maskedPaths` and `readonlyPaths` beyond skiff's own masks, which cover Docker's.
fn hidden(linux: &Linux, options: &mut Options) {
    let beyond = |paths: &Option<Vec<String>>, masked: bool| {
        let paths = paths
            .iter()
            .flatten()
            .filter(|p| !container::hides(p, masked));
        Some(paths.cloned().collect::<Vec<_>>()).filter(|paths| !paths.is_empty())
    };
    options.masked_paths = beyond(&linux.masked_paths, true);
    options.readonly_paths = beyond(&linux.readonly_paths, false);
}

/// `rootfsPropagation`, if given: one of the propagation types' names.
fn root_propagation(linux: &Linux) -> Result<Option<String>> {
    match linux.rootfs_propagation.as_deref() {
        None | Some("") => Ok(None),
        Some(name) if propagation(name).is_some() => Ok(Some(name.into())),
        Some(name) => Err(unsupported(&format!("linux.rootfsPropagation {name:?}"))),
    }
}

/// `seccomp`, the device cgroup's list and the device nodes (see `linux.rs`).
fn confine(linux: &Linux, options: &mut Options) -> Result<()> {
    if let Some(profile) = &linux.seccomp {
        options.seccomp = Some(linux::seccomp(profile)?);
    }
    let rules = linux.resources.as_ref().and_then(|r| r.devices.as_deref());
    if let Some(rules) = rules {
        let allowed = linux::device_rules(rules)?;
        options.device_rules = Some(allowed.unwrap_or_else(|| vec!["a *:* rwm".into()]));
    }
    options.device_nodes = Some(linux::devices(
        linux.devices.as_deref().unwrap_or_default(),
    )?);
    Ok(())
}

/// The size of the tmpfs mounted at `source` (podman's /dev/shm), from its `size=`
/// in /proc/self/mountinfo (proc_pid_mountinfo(5)).
fn tmpfs_size(source: &Path) -> Result<i64> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    let size = mountinfo.lines().rev().find_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        let at = mount.split(' ').nth(4).map(crate::mountinfo::unescape)?;
        let mut fields = fs.split(' ');
        (at == source && fields.next() == Some("tmpfs")).then_some(())?;
        let option = fields
            .nth(1)?
            .split(',')
            .find_map(|o| o.strip_prefix("size="))?;
        crate::cgroup::bytes("size", option).ok()
    });
    size.ok_or_else(|| {
        unsupported(&format!(
            "mounts: /dev/shm from {}, not a tmpfs with a size",
            source.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal bundle's config.json, with `process` and `linux` extras spliced in.
    fn config(process: &str, linux: &str) -> String {
        format!(
            r#"{{"ociVersion":"1.0.2","hostname":"h","root":{{"path":"rootfs"}},"process":{{"user":{{"uid":0,"gid":0}},"args":["true"],"cwd":"/"{process}}},"linux":{{"namespaces":[{{"type":"pid"}},{{"type":"mount"}},{{"type":"ipc"}},{{"type":"uts"}}{linux}]}}}}"#
        )
    }

    fn refusal(text: &str) -> String {
        match parse(text, Path::new("/b"), "c") {
            Ok(_) => panic!("accepted: {text}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn an_unknown_field_is_refused_by_its_path() {
        let listener =
            r#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/s"},"#;
        let seccomp = config("", "").replace(r#""linux":{"#, listener);
        assert_eq!(
            refusal(&seccomp),
            "config.json: linux.seccomp.listenerPath is not supported by skiff yet"
        );
        let umask = config("", "").replace(r#""gid":0"#, r#""gid":0,"euid":18"#);
        assert!(refusal(&umask).contains("process.user.euid"));
        let hook = r#""hooks":{"createContainer":[{"path":"/x","user":"u"}]},"#;
        let create_container = config("", "").replacen('{', &format!("{{{hook}"), 1);
        assert!(refusal(&create_container).contains("hooks.createContainer[].user is not"));
        let solaris = config("", "").replace(r#""hostname""#, r#""solaris":{},"hostname""#);
        assert!(refusal(&solaris).contains("config.json: solaris is not"));
        let extension = config("", "").replace(r#""hostname""#, r#""x-extension":1,"hostname""#);
        assert!(parse(&extension, Path::new("/b"), "c").is_ok());
        let username = config("", "").replace(r#""gid":0"#, r#""gid":0,"username":"x""#);
        assert!(refusal(&username).contains("process.user.username"));
        let user_ns = config("", r#",{"type":"user"}"#);
        assert!(refusal(&user_ns).contains("a new user namespace without linux.uidMappings"));
        let maps = r#"],"uidMappings":[{"containerID":0,"hostID":1000,"size":10}"#;
        assert!(refusal(&config("", maps)).contains("without a user namespace"));
        let no_uts = config("", "").replace(r#",{"type":"uts"}"#, "");
        assert!(refusal(&no_uts).contains("hostname without a UTS namespace"));
        let shm = r#""linux":{"sysctl":{"kernel.shmmax":"1"},"#;
        let no_ipc = config("", "")
            .replace(r#",{"type":"ipc"}"#, "")
            .replace(r#""linux":{"#, shm);
        assert!(refusal(&no_ipc).contains("kernel.shmmax=1 without an IPC namespace"));
        let no_mount = config("", "").replace(r#",{"type":"mount"}"#, "");
        let bind = r#""root":{"path":"rootfs","readonly":true}"#;
        let no_mount = no_mount.replace(r#""root":{"path":"rootfs"}"#, bind);
        assert!(refusal(&no_mount).contains("without a mount namespace of the container's own"));
        let joined_mount = no_mount.replace(
            r#"{"type":"pid"}"#,
            r#"{"type":"pid"},{"type":"mount","path":"/proc/1/ns/mnt"}"#,
        );
        assert!(refusal(&joined_mount).contains("without a mount namespace of the container's"));
        let version = config("", "").replace("1.0.2", "2.0.0");
        assert!(refusal(&version).contains("ociVersion \"2.0.0\""));
        assert!(refusal("[]").contains("not a runtime-spec configuration"));
    }

    /// runc sets a hostname only when given: a UTS namespace joined keeps its own.
    #[test]
    fn a_joined_uts_namespace_keeps_its_hostname_unless_given_one() {
        let uts = r#"{"type":"uts","path":"/proc/1/ns/uts"}"#;
        let named = config("", "").replace(r#"{"type":"uts"}"#, uts);
        let hostname = |text: &str| parse(text, Path::new("/b"), "c").unwrap().config.hostname;
        assert_eq!(hostname(&named), "h");
        assert_eq!(hostname(&named.replace(r#""hostname":"h","#, "")), "");
    }

    #[test]
    fn fields_become_skiffs_own_options() {
        let caps = r#","capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"]},"rlimits":[{"type":"RLIMIT_NOFILE","soft":10,"hard":20}]"#;
        let netns = r#",{"type":"network","path":"/run/netns/x"}"#;
        let bundle = parse(&config(caps, netns), Path::new("/b"), "c").unwrap();
        let options = &bundle.config.options;
        assert_eq!(options.cap_drop, ["ALL"]);
        assert_eq!(options.cap_add, ["CAP_KILL"]);
        assert_eq!(
            options.ulimits.as_deref(),
            Some(&["nofile=10:20".to_string()][..])
        );
        assert_eq!(bundle.config.network.as_deref(), Some("none"));
        assert_eq!(bundle.netns, Some(PathBuf::from("/run/netns/x")));
        assert_eq!(bundle.root, Path::new("/b/rootfs"));
        let tty = r#","terminal":true,"consoleSize":{"height":30,"width":100}"#;
        let bundle = parse(&config(tty, ""), Path::new("/b"), "c").unwrap();
        let size = bundle.terminal.and_then(|terminal| terminal.size).unwrap();
        assert_eq!((size.ws_row, size.ws_col), (30, 100));
        let differs = caps.replace(r#""effective":["CAP_KILL"]"#, r#""effective":[]"#);
        assert!(refusal(&config(&differs, "")).contains("effective"));
    }
}
