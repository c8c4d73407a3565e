//! An OCI bundle's `config.json`, translated into skiff's own [`Config`]: the runtime
//! CLI starts its containers with the very code `skiff run` uses (`container::start`),
//! so every field is either mapped onto what that code already does, or refused in
//! one line that names it (`config.json: linux.seccomp is not supported by skiff
//! yet`). Nothing is ignored silently.
//!
//! The mapping, field by field (runtime-spec `config.md`, `config-linux.md`):
//! - `process`: `args`, `env`, `cwd`, `user` (uid, gid, additionalGids) as `-u
//!   UID:GID --group-add`; `capabilities` as `--cap-drop ALL --cap-add` of the
//!   bounding set (skiff gives one set: effective and permitted must equal it);
//!   `rlimits` as `--ulimit`; `noNewPrivileges`; `oomScoreAdj`. `terminal: true`
//!   needs the console socket, not here yet.
//! - `root`: its `path` (relative to the bundle) is the lower layer of an overlay
//!   whose upper lies in the state directory, as for an image: the bundle's directory
//!   is never written. `readonly` as `--read-only`.
//! - `mounts`: /proc, /sys, /dev and its pts, shm and mqueue are skiff's own (Docker's
//!   defaults, masks included); bind mounts as `-v`, tmpfs as `--tmpfs`.
//! - `linux.namespaces`: pid, mount, ipc and uts are always new (and cgroup: skiff
//!   always gives one); network: absent is the host's, present a new one with only
//!   `lo`, with a `path` that namespace joined (podman makes its own).
//! - `linux.resources` memory, cpu, pids as `--memory`, `--cpu-shares`, `--cpus`,
//!   `--pids-limit`; `sysctl` as `--sysctl`; `maskedPaths` and `readonlyPaths` only as
//!   far as skiff's own masks already cover them.
//!
//! <https://github.com/opencontainers/runtime-spec/blob/main/config.md>
//! <https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md>

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miniserde::json::{self, Number, Object, Value};

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
    ("process.user", &["uid", "gid", "additionalGids"]),
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
    let Ok(Value::Object(spec)) = json::from_str(text) else {
        return Err(garbage());
    };
    check_keys(&spec, "")?;
    check_version(&string(spec.get("ociVersion"), "ociVersion")?)?;
    let process = need(object(&spec, "process")?, "process")?;
    let root = need(object(&spec, "root")?, "root")?;
    let linux = need(object(&spec, "linux")?, "linux")?;
    let mut options = options(process)?;
    options.read_only = boolean(root.get("readonly"))?;
    for mount in array(&spec, "mounts")? {
        add_mount(as_object(mount, "mounts[]")?, &mut options)?;
    }
    let (network, netns) = namespaces(array(linux, "namespaces")?)?;
    hidden(linux)?;
    options.sysctls = strings_of(linux, "sysctl", |(k, v)| {
        Ok(format!("{k}={}", string(Some(v), k)?))
    })?;
    let hostname = match spec.get("hostname") {
        Some(name) => string(Some(name), "hostname")?,
        None => std::fs::read_to_string("/proc/sys/kernel/hostname")?
            .trim()
            .into(),
    };
    let config = Config {
        id: id.into(),
        name: id.into(),
        process: process_of(process)?,
        hostname,
        stop_signal: "SIGTERM".into(),
        options,
        limits: Some(limits(object(linux, "resources")?)?),
        network: Some(network.into()),
        ..Default::default()
    };
    let annotations = strings_of(&spec, "annotations", |(k, v)| {
        Ok((k.clone(), string(Some(v), k)?))
    })?;
    Ok(Bundle {
        config,
        root: bundle.join(string(root.get("path"), "root.path")?),
        netns,
        annotations: annotations.into_iter().flatten().collect(),
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
fn process_of(process: &Object) -> Result<Process> {
    let user = need(object(process, "user")?, "process.user")?;
    let id = |key| number(user.get(key)).and_then(|n| need(n, "process.user"));
    let gids = array(user, "additionalGids")?.iter().map(|gid| {
        number(Some(gid))?
            .map(|n| n.to_string())
            .ok_or_else(|| wrong("process.user.additionalGids"))
    });
    Ok(Process {
        argv: texts(process, "args")?,
        env: texts(process, "env")?,
        workdir: string(process.get("cwd"), "process.cwd")?,
        user: Some(format!("{}:{}", id("uid")?, id("gid")?)),
        groups: Some(gids.collect::<Result<_>>()?),
    })
}

fn wrong(path: &str) -> Error {
    Error::invalid(format!(
        "config.json: {path} is missing or of the wrong type"
    ))
}

fn need<T>(value: Option<T>, path: &str) -> Result<T> {
    value.ok_or_else(|| wrong(path))
}

fn as_object<'a>(value: &'a Value, path: &str) -> Result<&'a Object> {
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(wrong(path)),
    }
}

fn object<'a>(parent: &'a Object, key: &str) -> Result<Option<&'a Object>> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => as_object(value, key).map(Some),
    }
}

fn array<'a>(parent: &'a Object, key: &str) -> Result<&'a [Value]> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(wrong(key)),
    }
}

fn string(value: Option<&Value>, path: &str) -> Result<String> {
    match value {
        Some(Value::String(text)) => Ok(text.clone()),
        _ => Err(wrong(path)),
    }
}

fn texts(parent: &Object, key: &str) -> Result<Vec<String>> {
    array(parent, key)?
        .iter()
        .map(|v| string(Some(v), key))
        .collect()
}

/// An object's entries as `f` makes them; `None` when it is absent.
fn strings_of<T>(
    parent: &Object,
    key: &str,
    f: impl Fn((&String, &Value)) -> Result<T>,
) -> Result<Option<Vec<T>>> {
    object(parent, key)?
        .map(|map| map.iter().map(f).collect())
        .transpose()
}

fn boolean(value: Option<&Value>) -> Result<bool> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(on)) => Ok(*on),
        Some(_) => Err(wrong("a boolean")),
    }
}

/// A whole number; `None` when absent.
fn number(value: Option<&Value>) -> Result<Option<i64>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(Number::I64(n))) => Ok(Some(*n)),
        Some(Value::Number(Number::U64(n))) => {
            i64::try_from(*n).map(Some).map_err(|_| wrong("a number"))
        }
        Some(_) => Err(wrong("a number")),
    }
}

/// Refuses any key not in [`KNOWN`], naming it by its path (`linux.seccomp`).
fn check_keys(object: &Object, path: &str) -> Result<()> {
    let known = KNOWN
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, keys)| *keys);
    for (key, inner) in object {
        let full = match path {
            "" => key.clone(),
            _ => format!("{path}.{key}"),
        };
        if known.is_some_and(|keys| !keys.contains(&key.as_str())) {
            return Err(unsupported(&full));
        }
        let items = match inner {
            Value::Array(items) => items.as_slice(),
            other => std::slice::from_ref(other),
        };
        let full = match inner {
            Value::Array(_) => format!("{full}[]"),
            _ => full,
        };
        for item in items {
            if let Value::Object(inner) = item {
                check_keys(inner, &full)?;
            }
        }
    }
    Ok(())
}

/// `process`'s capabilities, limits and flags, as `skiff run`'s options.
fn options(process: &Object) -> Result<Options> {
    if boolean(process.get("terminal"))? {
        return Err(unsupported("process.terminal (a console socket)"));
    }
    let mut options = Options {
        no_new_privileges: boolean(process.get("noNewPrivileges"))?,
        oom_score_adj: number(process.get("oomScoreAdj"))?
            .map(|n| i32::try_from(n).map_err(|_| wrong("process.oomScoreAdj")))
            .transpose()?,
        cap_drop: vec!["ALL".into()],
        ..Default::default()
    };
    if let Some(caps) = object(process, "capabilities")? {
        let bounding = texts(caps, "bounding")?;
        for name in ["effective", "permitted"] {
            if caps.contains_key(name) && texts(caps, name)? != bounding {
                return Err(unsupported(&format!(
                    "process.capabilities.{name} unlike bounding"
                )));
            }
        }
        for name in ["inheritable", "ambient"] {
            if !texts(caps, name)?.is_empty() {
                return Err(unsupported(&format!("process.capabilities.{name}")));
            }
        }
        options.cap_add = bounding;
    }
    let rlimits = array(process, "rlimits")?.iter().map(|rlimit| {
        let rlimit = as_object(rlimit, "process.rlimits[]")?;
        let kind = string(rlimit.get("type"), "process.rlimits[].type")?;
        let name = kind.trim_start_matches("RLIMIT_").to_ascii_lowercase();
        let bound = |key| number(rlimit.get(key)).and_then(|n| need(n, "process.rlimits[]"));
        Ok(format!("{name}={}:{}", bound("soft")?, bound("hard")?))
    });
    options.ulimits = Some(rlimits.collect::<Result<_>>()?);
    Ok(options)
}

/// One of `mounts`: skiff's own, a bind mount (`-v`) or a tmpfs (`--tmpfs`).
fn add_mount(mount: &Object, options: &mut Options) -> Result<()> {
    let kind = match mount.get("type") {
        None => String::new(),
        kind => string(kind, "mounts[].type")?,
    };
    let flags = texts(mount, "options")?;
    let dest = string(mount.get("destination"), "mounts[].destination")?;
    let bind = kind == "bind" || flags.iter().any(|f| f == "bind" || f == "rbind");
    if !bind && OWN_MOUNTS.contains(&(dest.as_str(), kind.as_str())) {
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
        let source = string(mount.get("source"), "mounts[].source")?;
        options.volumes.push(format!("{source}:{dest}:{mode}"));
    } else if kind == "tmpfs" {
        options.tmpfs.push(format!("{dest}:{}", flags.join(",")));
    } else {
        return Err(unsupported(&format!("mounts: {dest} of type {kind:?}")));
    }
    Ok(())
}

/// The namespaces skiff always makes must be asked for; the network's decides
/// `--network`: `host` when absent, `none` when new, or joined by its path.
fn namespaces(list: &[Value]) -> Result<(&'static str, Option<PathBuf>)> {
    let mut network = ("host", None);
    let mut kinds = Vec::new();
    for namespace in list {
        let namespace = as_object(namespace, "linux.namespaces[]")?;
        let kind = string(namespace.get("type"), "linux.namespaces[].type")?;
        let path = match namespace.get("path") {
            None => None,
            path => Some(string(path, "linux.namespaces[].path")?),
        };
        match (kind.as_str(), path) {
            ("network", path) => network = ("none", path.map(PathBuf::from)),
            ("pid" | "mount" | "ipc" | "uts" | "cgroup", None) => {}
            (kind, path) => {
                let how = path.map_or("new".into(), |path| format!("joined at {path}"));
                return Err(unsupported(&format!("linux.namespaces: {kind} ({how})")));
            }
        }
        kinds.push(kind);
    }
    for needed in ["pid", "mount", "ipc", "uts"] {
        if !kinds.iter().any(|kind| kind == needed) {
            return Err(unsupported(&format!(
                "linux.namespaces without {needed} (skiff always makes one)"
            )));
        }
    }
    Ok(network)
}

/// `maskedPaths` and `readonlyPaths`, where skiff's own masks cover them.
fn hidden(linux: &Object) -> Result<()> {
    for (name, masked) in [("maskedPaths", true), ("readonlyPaths", false)] {
        if let Some(path) = texts(linux, name)?
            .iter()
            .find(|p| !container::hides(p, masked))
        {
            return Err(unsupported(&format!("linux.{name}: {path}")));
        }
    }
    Ok(())
}

fn limits(resources: Option<&Object>) -> Result<Limits> {
    let Some(resources) = resources else {
        return Ok(Default::default());
    };
    let get = |section, key| -> Result<Option<i64>> {
        number(object(resources, section)?.and_then(|section| section.get(key)))
    };
    let nano_cpus = match get("cpu", "quota")?.filter(|quota| *quota > 0) {
        Some(quota) => {
            Some(quota * 1_000_000_000 / get("cpu", "period")?.unwrap_or(100_000).max(1))
        }
        None => None,
    };
    Ok(Limits {
        memory: get("memory", "limit")?,
        cpu_shares: get("cpu", "shares")?,
        nano_cpus,
        pids_limit: get("pids", "limit")?,
        ..Default::default()
    })
}
