//! `docker run`'s options that shape what a container may do and see: its
//! capabilities, and what is mounted into it (`-v`, `--tmpfs`, `--read-only`).
//!
//! [`Options`] keeps them as typed, plain data, so they can be saved with a container
//! and checked here, once, before anything runs: a bad one is a usage error (exit 125).
//! The typed forms ([`Bind`], [`Tmpfs`]) are derived from it where they are used.
//! <https://docs.docker.com/reference/cli/docker/container/run/>

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use miniserde::{Deserialize, Serialize};

use super::{capabilities, seccomp, tuning, userns};
use crate::cgroup;
use crate::error::{Error, Result};
use crate::image::store::random_id;
use crate::sys::{
    MS_BIND, MS_DIRSYNC, MS_MANDLOCK, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC,
};
use crate::sys::{MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_SHARED, MS_SLAVE};
use crate::sys::{MS_STRICTATIME, MS_SYNCHRONOUS, MS_UNBINDABLE};
use crate::volume;

#[derive(Serialize, Deserialize, Debug, Default, Clone, PartialEq)]
pub struct Options {
    /// `-v HOST:CONTAINER[:ro|rw]`.
    pub volumes: Vec<String>,
    /// `--tmpfs PATH[:OPTIONS]`.
    pub tmpfs: Vec<String>,
    /// `--read-only`: the root filesystem is mounted read-only.
    pub read_only: bool,
    /// `--privileged`: every capability, nothing masked in /proc, /sys writable.
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// `--ulimit NAME=SOFT[:HARD]` (see `tuning`). This and the rest: absent in older
    /// records.
    pub ulimits: Option<Vec<String>>,
    pub oom_score_adj: Option<i32>,
    /// `--sysctl KEY=VALUE`, namespaced ones only.
    pub sysctls: Option<Vec<String>>,
    /// `--shm-size`: /dev/shm's size in bytes (Docker's default: 64 MiB).
    pub shm_size: Option<i64>,
    /// `--device HOST[:CONTAINER][:PERMISSIONS]`.
    pub devices: Option<Vec<String>>,
    /// `--security-opt seccomp=`: `unconfined`, or a profile's text (read when given,
    /// as Docker keeps it); `None`: Docker's default profile.
    pub seccomp: Option<String>,
    /// An OCI bundle's device cgroup rules, in v1's form (`c 1:3 rwm`), before
    /// Docker's defaults (see `cgroup/devices.rs`).
    pub device_rules: Option<Vec<String>>,
    /// An OCI bundle's `maskedPaths` and `readonlyPaths` beyond Docker's own.
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
    /// `--userns`: `host` or `auto[:size=N]` (see `userns`); `None`: the host's.
    pub userns: Option<String>,
    /// `--uidmap`/`--gidmap CONTAINER:HOST:SIZE`: a user namespace with these maps.
    pub uidmap: Option<Vec<String>>,
    pub gidmap: Option<Vec<String>>,
    /// The inheritable and ambient sets, which only an OCI `config.json` gives (Docker
    /// leaves both empty; see capabilities.rs).
    pub cap_inheritable: Option<Vec<String>>,
    pub cap_ambient: Option<Vec<String>>,
    /// The process's umask (OCI `process.user.umask`; Docker has no flag for it).
    pub umask: Option<u32>,
    /// An OCI bundle's `mounts` beyond skiff's own, with the spec's options, which
    /// Docker's `-v` and `--tmpfs` do not all take.
    pub spec_mounts: Option<Vec<SpecMount>>,
    /// An OCI bundle's `linux.rootfsPropagation`: the root's, after pivot_root(2).
    pub root_propagation: Option<String>,
    /// The namespaces it does not make itself (an OCI `linux.namespaces`; `run` makes
    /// them all): by kind (`pid`, `ipc`, `uts`, `mnt`, `cgroup`, `user`), `host` to
    /// share skiff's own, else the path of one to join (see `namespaces`).
    pub namespaces: Option<BTreeMap<String, String>>,
    /// An OCI bundle's `linux.devices`, `Some` (even empty) in the runtime mode: nodes
    /// made with mknod(2) in a /dev that is not `nodev` where a devices guard holds, as
    /// runc's (see mounts.rs).
    pub device_nodes: Option<Vec<DeviceNode>>,
}

/// A device node, in the runtime-spec's names (`linux.devices`): type `c` (or `u`),
/// `b` or `p` (a FIFO), its numbers, permission bits and owner.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DeviceNode {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub major: u32,
    pub minor: u32,
    #[serde(rename = "fileMode")]
    pub file_mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Options {
    /// `--security-opt`: Docker's `no-new-privileges[=true|false]` (also with `:`);
    /// `seccomp=unconfined|builtin|PROFILE.json`; `apparmor=unconfined` describes
    /// skiff as it is.
    pub fn security_opt(&mut self, value: &str) -> Result<()> {
        let (key, setting) = match value.split_once(['=', ':']) {
            Some((key, setting)) => (key, Some(setting)),
            None => (value, None),
        };
        match (key, setting) {
            ("no-new-privileges", None | Some("true")) => self.no_new_privileges = true,
            ("no-new-privileges", Some("false")) => self.no_new_privileges = false,
            ("seccomp", Some("builtin")) => self.seccomp = None,
            ("seccomp", Some("unconfined")) => self.seccomp = Some("unconfined".into()),
            ("seccomp", Some(path)) => self.seccomp = Some(seccomp::read_profile(path)?),
            ("apparmor", Some("unconfined")) => {}
            _ => {
                return Err(Error::usage(format!(
                "unsupported security option {value:?}: skiff knows no-new-privileges and seccomp"
            )))
            }
        }
        Ok(())
    }

    /// `--ulimit`, `--oom-score-adj`, `--sysctl`, `--device`, `--userns`, `--uidmap`,
    /// `--gidmap` or `--shm-size`, checked
    /// as given.
    pub fn tune(&mut self, flag: &str, value: String) -> Result<()> {
        match flag {
            "--ulimit" => {
                tuning::ulimit(&value)?;
                self.ulimits.get_or_insert_default().push(value);
            }
            "--oom-score-adj" => self.oom_score_adj = Some(tuning::oom_score_adj(&value)?),
            "--sysctl" => {
                tuning::sysctl(&value, true)?; // the network is checked with --network
                self.sysctls.get_or_insert_default().push(value);
            }
            "--userns" => {
                userns::size(&value)?;
                self.userns = Some(value).filter(|mode| mode != "host");
            }
            "--uidmap" | "--gidmap" => {
                userns::parse_map(flag, &value)?;
                let maps = if flag == "--uidmap" {
                    &mut self.uidmap
                } else {
                    &mut self.gidmap
                };
                maps.get_or_insert_default().push(value);
            }
            "--device" => {
                cgroup::Device::parse(&value)?;
                self.devices.get_or_insert_default().push(value);
            }
            _ => self.shm_size = Some(cgroup::bytes(flag, &value)?).filter(|&size| size > 0),
        }
        Ok(())
    }

    /// Whether these are an OCI bundle's, in the runtime mode (whose `linux.devices`
    /// makes `device_nodes` `Some`): the bundle says what the container gets, and what
    /// Docker's daemon adds on its own (an IPv4-only network, say) is not added.
    pub fn runtime_mode(&self) -> bool {
        self.device_nodes.is_some()
    }

    /// Whether a network namespace skiff makes for the container has IPv6 turned off,
    /// as Docker's daemon leaves its containers' (`network::without_ipv6`): all but an
    /// OCI bundle's.
    pub fn ipv4_only(&self) -> bool {
        !self.runtime_mode()
    }

    /// Every option must make sense before anything is mounted or run.
    pub fn check(&self) -> Result<()> {
        if self.userns.is_some() && (self.uidmap.is_some() || self.gidmap.is_some()) {
            return Err(Error::usage(
                "--userns cannot be combined with --uidmap or --gidmap",
            ));
        }
        let own_userns = self.userns.is_some() || self.uidmap.is_some() || self.gidmap.is_some();
        if own_userns && crate::rootless::active() {
            return Err(Error::invalid(
                "--userns, --uidmap, --gidmap: not rootless: each skiff command makes its own user namespace, from which the next could not stop, remove or join a container's nested one",
            ));
        }
        capabilities::check_names(&self.cap_add)?;
        capabilities::check_names(&self.cap_drop)?;
        for volume in &self.volumes {
            Bind::parse(volume)?;
        }
        for tmpfs in &self.tmpfs {
            Tmpfs::parse(tmpfs)?;
        }
        Ok(())
    }

    /// The rules of its cgroup's devices guard (`cgroup::device_rules`): Docker's
    /// defaults, `--device`'s and an OCI bundle's own.
    pub fn device_guard(&self) -> Result<Option<Vec<cgroup::Rule>>> {
        let devices = self.devices.as_deref().unwrap_or_default();
        let own = self.device_rules.as_deref().unwrap_or_default();
        cgroup::device_rules(self.privileged, devices, own)
    }

    /// `--sysctl net.*` needs a network namespace of the container's own.
    pub fn check_sysctls(&self, own_netns: bool) -> Result<()> {
        for spec in self.sysctls.iter().flatten() {
            tuning::sysctl(spec, own_netns)?;
        }
        Ok(())
    }

    /// `HostConfig.UsernsMode`: `--userns`'s, `private` (podman's word) for maps given
    /// by `--uidmap`/`--gidmap`, "" for the host's.
    pub fn userns_mode(&self) -> String {
        let private = self.uidmap.is_some() || self.gidmap.is_some();
        let private = private.then(|| "private".to_string());
        self.userns.clone().or(private).unwrap_or_default()
    }

    /// The volumes `-v` names (anonymous ones once named): what `volume rm` refuses.
    pub fn volume_names(&self) -> impl Iterator<Item = &str> {
        let sources = self.volumes.iter().filter_map(|v| v.split(':').next());
        sources.filter(|source| volume::is_name(source))
    }

    /// Names each anonymous `-v /path` (`NAME:/path`, 64 random hex digits, as Docker
    /// names them), once, as the container is created; returns the new names.
    pub fn name_anonymous_volumes(&mut self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for spec in self.volumes.iter_mut().filter(|v| !v.contains(':')) {
            let name = random_id()?;
            *spec = format!("{name}:{spec}");
            names.push(name);
        }
        Ok(names)
    }

    /// The image's `VOLUME` paths, each an anonymous volume (`-v PATH`) unless a `-v`
    /// already mounts something there, as Docker does.
    pub fn add_image_volumes<'a>(&mut self, paths: impl Iterator<Item = &'a String>) -> Result<()> {
        for path in paths {
            // The image's word is a path inside, never `-v` syntax: `/:/host` would
            // otherwise bind the host's root into a hostile image's container.
            let bind = Bind::parse(path)
                .ok()
                .filter(|b| b.source == Source::Volume(None));
            let Some(Bind { target, .. }) = bind.filter(|_| !path.contains(':')) else {
                return Err(Error::invalid(format!(
                    "the image's volume {path:?}: not a path"
                )));
            };
            let covered = self.volumes.iter().map(|v| Bind::parse(v));
            if !covered.flatten().any(|bind| bind.target == target) {
                self.volumes.push(path.clone());
            }
        }
        Ok(())
    }

    /// Whether anything asked for needs mount(2), which some sandboxes refuse.
    pub fn needs_mounts(&self) -> bool {
        let devices = self.devices.as_ref().is_some_and(|d| !d.is_empty())
            || self.device_nodes.as_ref().is_some_and(|d| !d.is_empty());
        let spec = self.spec_mounts.as_ref().is_some_and(|m| !m.is_empty());
        !self.volumes.is_empty() || !self.tmpfs.is_empty() || self.read_only || devices || spec
    }
}

/// `-v SOURCE:/in/container[:ro|rw]`: a host path bind-mounted into the container, or
/// a volume; `-v /in/container` alone is a new anonymous volume.
#[derive(Debug, PartialEq)]
pub struct Bind {
    pub source: Source,
    pub target: PathBuf,
    pub read_only: bool,
}

/// Where a `-v` mount's files come from: Docker's rule is that an absolute path is the
/// host's, anything else a volume's name.
#[derive(Debug, PartialEq)]
pub enum Source {
    Host(PathBuf),
    /// `None`: anonymous, until the container is created and gives it a name.
    Volume(Option<String>),
}

impl Bind {
    pub fn parse(spec: &str) -> Result<Bind> {
        let invalid = |why: &str| Error::usage(format!("invalid volume {spec:?}: {why}"));
        let parts: Vec<&str> = spec.split(':').collect();
        let (source, target, mode) = match parts[..] {
            [target] => (None, target, "rw"),
            [source, target] => (Some(source), target, "rw"),
            [source, target, mode] => (Some(source), target, mode),
            _ => return Err(invalid("want [SOURCE:]CONTAINER[:ro|rw]")),
        };
        let read_only = match mode {
            "ro" => true,
            "rw" => false,
            _ => return Err(invalid(&format!("invalid mode: {mode} (ro or rw)"))),
        };
        let source = match source {
            None => Source::Volume(None),
            Some(host) if host.starts_with('/') => match Path::new(host).exists() {
                true => Source::Host(PathBuf::from(host)),
                false => return Err(invalid("the host path does not exist")),
            },
            Some(name) if volume::is_name(name) => Source::Volume(Some(name.into())),
            Some(name) => return Err(invalid(&format!(
                "{name:?} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed; a host directory must be an absolute path"
            ))),
        };
        Ok(Bind {
            source,
            target: target_path(target).map_err(|why| invalid(&why))?,
            read_only,
        })
    }
}

/// `--tmpfs /run:size=64m,exec`: a fresh tmpfs. Docker's defaults are
/// `noexec,nosuid,nodev`; later options override earlier ones; its data only what
/// tmpfs(5) takes (`size=`, `mode=`, `uid=`, …).
#[derive(Debug, PartialEq)]
pub struct Tmpfs {
    pub target: PathBuf,
    pub options: MountOptions,
}

/// `(option, flag it sets, flag it clears)`: mount(8)'s words for mount(2)'s flags,
/// as runc reads a bundle's options (libcontainer/specconv) and Docker's `--tmpfs`.
const FLAG_OPTIONS: &[(&str, libc::c_ulong, libc::c_ulong)] = &[
    ("defaults", 0, 0),
    ("ro", MS_RDONLY, 0),
    ("rw", 0, MS_RDONLY),
    ("noexec", MS_NOEXEC, 0),
    ("exec", 0, MS_NOEXEC),
    ("nosuid", MS_NOSUID, 0),
    ("suid", 0, MS_NOSUID),
    ("nodev", MS_NODEV, 0),
    ("sync", MS_SYNCHRONOUS, 0),
    ("async", 0, MS_SYNCHRONOUS),
    ("dirsync", MS_DIRSYNC, 0),
    ("mand", MS_MANDLOCK, 0),
    ("nomand", 0, MS_MANDLOCK),
    ("noatime", MS_NOATIME, 0),
    ("atime", 0, MS_NOATIME),
    ("nodiratime", MS_NODIRATIME, 0),
    ("diratime", 0, MS_NODIRATIME),
    ("relatime", MS_RELATIME, 0),
    ("norelatime", 0, MS_RELATIME),
    ("strictatime", MS_STRICTATIME, 0),
    ("nostrictatime", 0, MS_STRICTATIME),
];

/// The propagation types (mount_namespaces(7), "shared subtrees"), each a mount(2) of
/// its own once the mount exists; `r`: the mounts below it too.
const PROPAGATION: [(&str, libc::c_ulong); 8] = [
    ("shared", MS_SHARED),
    ("rshared", MS_SHARED | MS_REC),
    ("slave", MS_SLAVE),
    ("rslave", MS_SLAVE | MS_REC),
    ("private", MS_PRIVATE),
    ("rprivate", MS_PRIVATE | MS_REC),
    ("unbindable", MS_UNBINDABLE),
    ("runbindable", MS_UNBINDABLE | MS_REC),
];

/// The mount(2) flags of a propagation type's name (`rslave`).
pub fn propagation(name: &str) -> Option<libc::c_ulong> {
    PROPAGATION.iter().find(|(n, _)| *n == name).map(|p| p.1)
}

/// A mount's options, read as runc reads them: flags, propagation types applied
/// after it, podman's `tmpcopyup`, and anything else passed as the filesystem's data.
#[derive(Debug, Default, PartialEq)]
pub struct MountOptions {
    pub flags: libc::c_ulong,
    pub propagation: Vec<libc::c_ulong>,
    pub data: Vec<String>,
    pub copy_up: bool,
}

impl MountOptions {
    /// `options` over the flags `flags`; `dev` is refused (a device node made there
    /// would open the host's device: see capabilities.rs).
    pub fn parse<'a>(
        flags: libc::c_ulong,
        options: impl Iterator<Item = &'a str>,
    ) -> Result<MountOptions, String> {
        let mut parsed = MountOptions {
            flags,
            ..MountOptions::default()
        };
        for option in options.filter(|o| !o.is_empty()) {
            if let Some((_, set, clear)) = FLAG_OPTIONS.iter().find(|(name, ..)| *name == option) {
                parsed.flags = parsed.flags & !clear | set;
            } else if let Some(flags) = propagation(option) {
                parsed.propagation.push(flags);
            } else if option == "tmpcopyup" {
                parsed.copy_up = true;
            } else if option == "dev" {
                return Err("a mount is always nodev in skiff (--device binds nodes in)".into());
            } else {
                parsed.data.push(option.into());
            }
        }
        Ok(parsed)
    }
}

/// One of an OCI bundle's `mounts`, as `config.json` gives it (`type`, `source`,
/// `destination`, `options`); a bind's source is absolute.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SpecMount {
    pub kind: String,
    pub source: String,
    pub target: String,
    pub options: Vec<String>,
}

impl SpecMount {
    /// Its target inside the root, and its options; a bind's flags hold `MS_BIND`,
    /// and `MS_REC` for `rbind`.
    pub fn parse(&self) -> Result<(PathBuf, MountOptions)> {
        let invalid = |why: &str| Error::invalid(format!("mounts: {}: {why}", self.target));
        let words = self.options.iter().map(String::as_str);
        // runc's recursive attributes (`rro`, `rnosuid`, …: mount_setattr(2)), which
        // would otherwise pass as data a bind ignores.
        let recursive = |o: &&str| {
            let flag = o.strip_prefix('r');
            flag.is_some_and(|f| FLAG_OPTIONS.iter().any(|(name, ..)| *name == f))
        };
        if let Some(option) = words.clone().find(recursive) {
            return Err(invalid(&format!(
                "option {option:?} is not supported by skiff yet"
            )));
        }
        let binds = ["bind", "rbind"];
        let options = words.clone().filter(|o| !binds.contains(o));
        let mut parsed = MountOptions::parse(0, options).map_err(|why| invalid(&why))?;
        if self.is_bind() {
            parsed.flags |= MS_BIND;
        }
        if words.clone().any(|o| o == "rbind") {
            parsed.flags |= MS_REC;
        }
        Ok((
            target_path(&self.target).map_err(|why| invalid(&why))?,
            parsed,
        ))
    }

    pub fn is_bind(&self) -> bool {
        self.kind == "bind" || self.options.iter().any(|o| o == "bind" || o == "rbind")
    }
}

/// tmpfs(5)'s own options, passed through as mount data.
const DATA_OPTIONS: [&str; 8] = [
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "huge",
    "mpol",
];

impl Tmpfs {
    pub fn parse(spec: &str) -> Result<Tmpfs> {
        let invalid = |why: &str| Error::usage(format!("invalid tmpfs {spec:?}: {why}"));
        let (target, options) = spec.split_once(':').unwrap_or((spec, ""));
        let parsed = MountOptions::parse(MS_NOEXEC | MS_NOSUID | MS_NODEV, options.split(','))
            .map_err(|why| invalid(&why))?;
        // Docker's word list (moby/sys/mount's): podman's `tmpcopyup` is not in it.
        let unknown = parsed.data.iter().find(|option| {
            let key = option.split_once('=').map(|(key, _)| key);
            !key.is_some_and(|key| DATA_OPTIONS.contains(&key))
        });
        let refused = unknown.map(String::as_str);
        if let Some(option) = refused.or(parsed.copy_up.then_some("tmpcopyup")) {
            return Err(invalid(&format!("unknown option {option:?}")));
        }
        Ok(Tmpfs {
            target: target_path(target).map_err(|why| invalid(&why))?,
            options: parsed,
        })
    }
}

/// Where a mount may go inside the container: absolute, without `..`, and neither `/`
/// itself nor in /proc, /sys or /dev, which skiff mounts (Docker refuses most of them
/// too). Returned relative to the container's root.
fn target_path(target: &str) -> Result<PathBuf, String> {
    if !target.starts_with('/') {
        return Err("the container path must be absolute".into());
    }
    let mut relative = PathBuf::new();
    for part in Path::new(target).components() {
        match part {
            Component::Normal(name) => relative.push(name),
            Component::ParentDir => return Err("the container path must not contain ..".into()),
            _ => {}
        }
    }
    if !is_allowed_target(&relative) {
        return Err(format!("cannot mount over {target}"));
    }
    Ok(relative)
}

/// `relative` (to the container's root) is not `/`, nor in /proc, /sys or /dev.
pub fn is_allowed_target(relative: &Path) -> bool {
    match relative.components().next() {
        None => false,
        Some(first) => !["proc", "sys", "dev"]
            .iter()
            .any(|d| first.as_os_str() == *d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_take_host_container_and_mode() {
        let bind = Bind::parse("/tmp:/data/x:ro").unwrap();
        assert_eq!(bind.source, Source::Host(PathBuf::from("/tmp")));
        assert_eq!(bind.target, PathBuf::from("data/x"));
        assert!(bind.read_only);
        assert!(!Bind::parse("/tmp:/data").unwrap().read_only);
    }

    #[test]
    fn a_name_is_a_volume_and_a_lone_path_an_anonymous_one() {
        let named = Bind::parse("redisdata:/data:ro").unwrap();
        assert_eq!(named.source, Source::Volume(Some("redisdata".into())));
        assert!(named.read_only);
        let anonymous = Bind::parse("/data").unwrap();
        assert_eq!(anonymous.source, Source::Volume(None));
        assert_eq!(anonymous.target, PathBuf::from("data"));
    }

    #[test]
    fn the_images_volumes_are_anonymous_unless_a_flag_covers_them() {
        let mut options = Options {
            volumes: vec!["cache:/var/cache/".into()],
            ..<Options as Default>::default()
        };
        let image = ["/data".to_string(), "/var/cache".to_string()];
        options.add_image_volumes(image.iter()).unwrap();
        assert_eq!(options.volumes, ["cache:/var/cache/", "/data"]);
        for hostile in ["/:/host", "/etc:/x:rw", "somevol:/x"] {
            let keys = [hostile.to_string()];
            assert!(options.add_image_volumes(keys.iter()).is_err(), "{hostile}");
        }
        assert_eq!(options.volumes, ["cache:/var/cache/", "/data"]);
    }

    #[test]
    fn anonymous_volumes_get_names_once() {
        let mut options = Options {
            volumes: vec!["/tmp:/a".into(), "/b".into(), "web.1:/c".into()],
            ..<Options as Default>::default()
        };
        let names = options.name_anonymous_volumes().unwrap();
        assert_eq!(names.len(), 1);
        assert_eq!(options.volumes[1], format!("{}:/b", names[0]));
        assert!(options.name_anonymous_volumes().unwrap().is_empty());
        let used: Vec<&str> = options.volume_names().collect();
        assert_eq!(used, [names[0].as_str(), "web.1"]);
    }

    #[test]
    fn volumes_that_cannot_be_are_usage_errors() {
        for (spec, why) in [
            ("a/b:/data", "invalid characters for a local volume name"),
            ("x:/data", "invalid characters"),
            ("/tmp:data", "must be absolute"),
            ("/tmp:/data:z", "invalid mode: z"),
            ("/tmp:/data:ro,nosuid", "invalid mode: ro,nosuid"), // as Docker's -v
            ("/no/such/dir:/data", "does not exist"),
            ("/tmp:/", "cannot mount over /"),
            ("/tmp:/proc/x", "cannot mount over /proc/x"),
            ("/tmp:/dev", "cannot mount over /dev"),
            ("/tmp:/a/../sys", "must not contain .."),
            ("/tmp:/a:ro:x", "want [SOURCE:]CONTAINER"),
            ("data", "must be absolute"),
        ] {
            let err = Bind::parse(spec).unwrap_err();
            assert!(err.to_string().contains(why), "{spec}: {err}");
            assert_eq!(err.exit_code(), 125);
        }
    }

    #[test]
    fn tmpfs_defaults_to_noexec_nosuid_nodev_and_options_override() {
        let plain = Tmpfs::parse("/run").unwrap().options;
        assert_eq!(plain.flags, MS_NOEXEC | MS_NOSUID | MS_NODEV);
        assert!(plain.data.is_empty());
        let tuned = Tmpfs::parse("/run:exec,size=1m,ro,mode=700,rshared").unwrap();
        assert_eq!(tuned.options.flags, MS_NOSUID | MS_NODEV | MS_RDONLY);
        assert_eq!(tuned.options.data, ["size=1m", "mode=700"]);
        assert_eq!(tuned.options.propagation, [MS_SHARED | MS_REC]);
        assert!(Tmpfs::parse("/run:dev").is_err());
        assert!(Tmpfs::parse("/run:bogus=1").is_err());
        assert!(Tmpfs::parse("/run:tmpcopyup").is_err()); // podman's, not Docker's
    }

    #[test]
    fn spec_mount_options_are_runcs() {
        let options = ["nosuid", "strictatime", "mode=755", "rbind", "rslave", "ro"];
        let mount = SpecMount {
            kind: String::new(),
            source: "/etc".into(),
            target: "/mnt/etc".into(),
            options: options.iter().map(|o| o.to_string()).collect(),
        };
        let (target, parsed) = mount.parse().unwrap();
        assert_eq!(target, PathBuf::from("mnt/etc"));
        let bind = MS_BIND | MS_REC;
        assert_eq!(parsed.flags, MS_NOSUID | MS_STRICTATIME | MS_RDONLY | bind);
        assert_eq!(parsed.propagation, [MS_SLAVE | MS_REC]);
        assert_eq!(parsed.data, ["mode=755"]);
        assert!(mount.is_bind());
        assert_eq!(propagation("unbindable"), Some(MS_UNBINDABLE));
        let rro = SpecMount {
            options: vec!["rbind".into(), "rro".into()],
            ..mount
        };
        let err = rro.parse().unwrap_err().to_string();
        assert_eq!(
            err,
            "mounts: /mnt/etc: option \"rro\" is not supported by skiff yet"
        );
    }

    #[test]
    fn security_options_follow_docker() {
        let mut options: Options = Default::default();
        options.security_opt("no-new-privileges").unwrap();
        assert!(options.no_new_privileges);
        options.security_opt("no-new-privileges:false").unwrap();
        assert!(!options.no_new_privileges);
        options.security_opt("no-new-privileges=true").unwrap();
        assert!(options.no_new_privileges);
        options.security_opt("seccomp=unconfined").unwrap();
        assert_eq!(options.seccomp.as_deref(), Some("unconfined"));
        let err = options
            .security_opt("seccomp=/nonexistent.json")
            .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("opening seccomp profile (/nonexistent.json) failed: "));
    }
}
