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
//!   defaults, masks included); bind mounts as `-v` (with `nosuid`, `noexec`,
//!   `nodev`), tmpfs as `--tmpfs` (with podman's `tmpcopyup`).
//! - `linux.namespaces`: pid, mount, ipc and uts are always new (and cgroup: skiff
//!   always gives one); network: absent is the host's, present a new one with only
//!   `lo`, with a `path` that namespace joined (podman makes its own).
//! - `hooks`: prestart, createRuntime, startContainer, poststart, poststop (see
//!   `hooks.rs` for where each runs); createContainer is refused.
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
use crate::container::{self, Config, Options, Process};
use crate::error::{Error, Result};

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
    // createContainer has no place in skiff (see `hooks`): refused by name.
    (
        "hooks",
        &[
            "prestart",
            "createRuntime",
            "startContainer",
            "poststart",
            "poststop",
        ],
    ),
    ("hooks.prestart[]", HOOK),
    ("hooks.createRuntime[]", HOOK),
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
        ],
    ),
    ("linux.namespaces[]", &["type", "path"]),
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
    let (network, netns) = namespaces(linux.namespaces.as_deref().unwrap_or_default())?;
    hidden(&linux, &mut options);
    confine(&linux, &mut options)?;
    let cgroup = linux.cgroups_path.as_deref().map(linux::cgroups_path);
    options.sysctls = linux
        .sysctl
        .map(|map| map.iter().map(|(k, v)| format!("{k}={v}")).collect());
    let hostname = match spec.hostname {
        Some(name) => name,
        None => std::fs::read_to_string("/proc/sys/kernel/hostname")?
            .trim()
            .into(),
    };
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

/// One of `mounts`: skiff's own, a bind mount (`-v`) or a tmpfs (`--tmpfs`).
fn add_mount(mount: &Mount, bundle: &Path, options: &mut Options) -> Result<()> {
    let kind = mount.kind.as_deref().unwrap_or("");
    let flags = mount.options.as_deref().unwrap_or_default();
    let dest = &mount.destination;
    let bind = kind == "bind" || flags.iter().any(|f| f == "bind" || f == "rbind");
    if !bind && OWN_MOUNTS.contains(&(dest.as_str(), kind)) {
        return Ok(());
    }
    if bind && dest == "/dev/shm" {
        // podman's shared tmpfs, for its pods: skiff's own /dev/shm (nosuid, noexec,
        // nodev as asked), of its size, is the container's alone.
        const SHM_FLAGS: [&str; 5] = ["bind", "rprivate", "nosuid", "noexec", "nodev"];
        if let Some(flag) = flags.iter().find(|f| !SHM_FLAGS.contains(&f.as_str())) {
            return Err(unsupported(&format!("mounts: option {flag:?} of {dest}")));
        }
        let source = Path::new(mount.source.as_deref().unwrap_or(""));
        options.shm_size = Some(tmpfs_size(source)?);
        return Ok(());
    }
    if bind {
        const BIND_FLAGS: [&str; 9] = [
            "bind", "rbind", "ro", "rw", "private", "rprivate", "nosuid", "noexec", "nodev",
        ];
        if let Some(flag) = flags.iter().find(|f| !BIND_FLAGS.contains(&f.as_str())) {
            return Err(unsupported(&format!("mounts: option {flag:?} of {dest}")));
        }
        let mut mode = String::from(if flags.iter().any(|f| f == "ro") {
            "ro"
        } else {
            "rw"
        });
        for flag in flags.iter().filter(|f| f.starts_with("no")) {
            mode = format!("{mode},{flag}");
        }
        // A relative source is the bundle's, as runc reads it (never a volume's name).
        let source = bundle.join(mount.source.as_deref().unwrap_or(""));
        options
            .volumes
            .push(format!("{}:{dest}:{mode}", source.display()));
    } else if kind == "tmpfs" {
        // Every mount in the container is private already (see `container/rootfs.rs`).
        let own = flags.iter().filter(|f| *f != "rprivate" && *f != "private");
        options.tmpfs.push(format!(
            "{dest}:{}",
            own.cloned().collect::<Vec<_>>().join(",")
        ));
    } else {
        return Err(unsupported(&format!("mounts: {dest} of type {kind:?}")));
    }
    Ok(())
}

/// The namespaces skiff always makes must be asked for; the network's decides
/// `--network`: `host` when absent, `none` when new, or joined by its path.
fn namespaces(list: &[Namespace]) -> Result<(&'static str, Option<PathBuf>)> {
    let mut network = ("host", None);
    for namespace in list {
        match (namespace.kind.as_str(), &namespace.path) {
            ("network", Some(path)) => network = ("none", Some(PathBuf::from(path))),
            ("network", None) => network = ("none", None),
            ("pid" | "mount" | "ipc" | "uts" | "cgroup", None) => {}
            (kind, _) => {
                return Err(unsupported(&format!(
                    "linux.namespaces: {kind} {namespace_path}",
                    namespace_path = namespace.path.as_deref().unwrap_or("(new)")
                )))
            }
        }
    }
    for needed in ["pid", "mount", "ipc", "uts"] {
        if !list.iter().any(|n| n.kind == needed) {
            return Err(unsupported(&format!(
                "linux.namespaces without {needed} (skiff always makes one)"
            )));
        }
    }
    Ok(network)
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
        let hook = r#""hooks":{"createContainer":[{"path":"/x"}]},"#;
        let create_container = config("", "").replacen('{', &format!("{{{hook}"), 1);
        assert!(refusal(&create_container).contains("hooks.createContainer is not"));
        let solaris = config("", "").replace(r#""hostname""#, r#""solaris":{},"hostname""#);
        assert!(refusal(&solaris).contains("config.json: solaris is not"));
        let extension = config("", "").replace(r#""hostname""#, r#""x-extension":1,"hostname""#);
        assert!(parse(&extension, Path::new("/b"), "c").is_ok());
        let username = config("", "").replace(r#""gid":0"#, r#""gid":0,"username":"x""#);
        assert!(refusal(&username).contains("process.user.username"));
        let user_ns = config("", r#",{"type":"user"}"#);
        assert!(refusal(&user_ns).contains("linux.namespaces: user"));
        let version = config("", "").replace("1.0.2", "2.0.0");
        assert!(refusal(&version).contains("ociVersion \"2.0.0\""));
        assert!(refusal("[]").contains("not a runtime-spec configuration"));
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
