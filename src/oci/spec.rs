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
//!   user other than root none);
//!   `rlimits` as `--ulimit`; `noNewPrivileges`; `oomScoreAdj`; `user.umask`. `terminal: true`
//!   needs the console socket, not here yet.
//! - `root`: its `path` (relative to the bundle) is bound as the root and written in
//!   place, as runc does (podman hands over its own overlay mount). `readonly` as
//!   `--read-only`.
//! - `mounts`: /proc, /sys, /dev and its pts, shm and mqueue are skiff's own (Docker's
//!   defaults, masks included); bind mounts as `-v`, tmpfs as `--tmpfs`.
//! - `linux.namespaces`: pid, mount, ipc and uts are always new (and cgroup: skiff
//!   always gives one); network: absent is the host's, present a new one with only
//!   `lo`, with a `path` that namespace joined (podman makes its own).
//! - `linux.resources` memory, cpu, pids as `--memory`, `--cpu-shares`, `--cpus`,
//!   `--pids-limit`; `sysctl` as `--sysctl`; `maskedPaths` and `readonlyPaths` (beyond
//!   Docker's, which skiff's own masks cover) resolved inside the root.
//!
//! <https://github.com/opencontainers/runtime-spec/blob/main/config.md>
//! <https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md>

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miniserde::json::{self, Value};
use miniserde::Deserialize;

use crate::cgroup::Limits;
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
        ],
    ),
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
        ],
    ),
    ("process.user", &["uid", "gid", "umask", "additionalGids"]),
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
        ],
    ),
    ("linux.namespaces[]", &["type", "path"]),
    ("linux.resources", &["memory", "cpu", "pids"]),
    ("linux.resources.memory", &["limit"]),
    ("linux.resources.cpu", &["shares", "quota", "period"]),
    ("linux.resources.pids", &["limit"]),
];

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
}

#[derive(Deserialize)]
struct Namespace {
    #[serde(rename = "type")]
    kind: String,
    path: Option<String>,
}

#[derive(Deserialize)]
struct Resources {
    memory: Option<Memory>,
    cpu: Option<Cpu>,
    pids: Option<Pids>,
}

#[derive(Deserialize)]
struct Memory {
    limit: Option<i64>,
}

#[derive(Deserialize)]
struct Cpu {
    shares: Option<i64>,
    quota: Option<i64>,
    period: Option<i64>,
}

#[derive(Deserialize)]
struct Pids {
    limit: i64,
}

/// A bundle, as skiff will start it.
pub struct Bundle {
    pub config: Config,
    /// The root filesystem's directory, absolute.
    pub root: PathBuf,
    /// A network namespace to join (`linux.namespaces` with a `path`).
    pub netns: Option<PathBuf>,
    pub annotations: BTreeMap<String, String>,
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

fn unsupported(what: &str) -> Error {
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
    let mut options = options(&process)?;
    options.read_only = root.readonly.unwrap_or(false);
    for mount in spec.mounts.iter().flatten() {
        add_mount(mount, bundle, &mut options)?;
    }
    let linux = spec
        .linux
        .ok_or_else(|| unsupported("a bundle without linux"))?;
    let (network, netns) = namespaces(linux.namespaces.as_deref().unwrap_or_default())?;
    hidden(&linux, &mut options);
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
        process: process_of(process),
        hostname,
        stop_signal: "SIGTERM".into(),
        options,
        limits: Some(limits(linux.resources)),
        network: Some(network.into()),
        ..Default::default()
    };
    Ok(Bundle {
        config,
        root: bundle.join(root.path),
        netns,
        annotations: spec.annotations.unwrap_or_default(),
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
    if process.terminal == Some(true) {
        return Err(unsupported("process.terminal (a console socket)"));
    }
    let mut options = Options {
        no_new_privileges: process.no_new_privileges.unwrap_or(false),
        oom_score_adj: process.oom_score_adj,
        umask: process.user.umask,
        cap_drop: vec!["ALL".into()],
        // The spec's filter is `linux.seccomp`, refused above while skiff cannot read
        // it; without it a runtime loads none (Docker's default is the engine's choice).
        seccomp: Some("unconfined".into()),
        ..Default::default()
    };
    if let Some(caps) = &process.capabilities {
        let bounding = caps.bounding.clone().unwrap_or_default();
        for (name, set) in [
            ("effective", &caps.effective),
            ("permitted", &caps.permitted),
        ] {
            if set.as_ref().is_some_and(|set| *set != bounding) {
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
    if bind {
        const BIND_FLAGS: [&str; 6] = ["bind", "rbind", "ro", "rw", "private", "rprivate"];
        if let Some(flag) = flags.iter().find(|f| !BIND_FLAGS.contains(&f.as_str())) {
            return Err(unsupported(&format!("mounts: option {flag:?} of {dest}")));
        }
        let mode = if flags.iter().any(|f| f == "ro") {
            "ro"
        } else {
            "rw"
        };
        // A relative source is the bundle's, as runc reads it (never a volume's name).
        let source = bundle.join(mount.source.as_deref().unwrap_or(""));
        options
            .volumes
            .push(format!("{}:{dest}:{mode}", source.display()));
    } else if kind == "tmpfs" {
        options.tmpfs.push(format!("{dest}:{}", flags.join(",")));
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

fn limits(resources: Option<Resources>) -> Limits {
    let Some(resources) = resources else {
        return Default::default();
    };
    let cpu = resources.cpu.as_ref();
    let nano_cpus = cpu.and_then(|cpu| {
        let quota = cpu.quota.filter(|q| *q > 0)?;
        Some(quota.saturating_mul(1_000_000_000) / cpu.period.unwrap_or(100_000).max(1))
    });
    Limits {
        memory: resources.memory.and_then(|m| m.limit),
        cpu_shares: cpu.and_then(|cpu| cpu.shares),
        nano_cpus,
        pids_limit: resources.pids.map(|p| p.limit),
        ..Default::default()
    }
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
        let seccomp = config("", "").replace(r#""linux":{"#, r#""linux":{"seccomp":{},"#);
        assert_eq!(
            refusal(&seccomp),
            "config.json: linux.seccomp is not supported by skiff yet"
        );
        let solaris = config("", "").replace(r#""hostname""#, r#""solaris":{},"hostname""#);
        assert!(refusal(&solaris).contains("config.json: solaris is not"));
        let extension = config("", "").replace(r#""hostname""#, r#""x-extension":1,"hostname""#);
        assert!(parse(&extension, Path::new("/b"), "c").is_ok());
        let username = config("", "").replace(r#""gid":0"#, r#""gid":0,"username":"x""#);
        assert!(refusal(&username).contains("process.user.username"));
        assert!(refusal(&config(r#","terminal":true"#, "")).contains("process.terminal"));
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
        let differs = caps.replace(r#""effective":["CAP_KILL"]"#, r#""effective":[]"#);
        assert!(refusal(&config(&differs, "")).contains("effective"));
    }
}
