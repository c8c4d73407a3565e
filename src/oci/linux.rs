//! The confining parts of an OCI bundle's `linux` object, as podman writes them, each
//! translated into what skiff's own containers already use (`spec.rs` reads the rest):
//!
//! - `seccomp`: the same JSON as Docker's profiles, less Docker's `includes` and
//!   `excludes`, plus `architectures`, `flags` and `listenerPath`. It goes to the one
//!   filter builder (`container/seccomp.rs`) as a profile's text. skiff's filter knows
//!   x86_64's table alone: `architectures` must name `SCMP_ARCH_X86_64`, and calls by
//!   the other architectures it may list (i386's `int 0x80`, x32) are refused rather
//!   than judged. No `flags`; no listener (`SCMP_ACT_NOTIFY` is refused by name).
//! - `resources.devices`: the device cgroup's list, in order, the last rule that
//!   matches deciding (runtime-spec "Allowed Device List"). A new cgroup allows every
//!   device; skiff's guard (`cgroup/devices.rs`) is an allow-list, so it takes "deny
//!   everything" followed by allows, which is what podman and containerd send, and
//!   appends Docker's default nodes as runc appends its own. A narrower deny is refused.
//! - `devices`: nodes the container gets, made by mknod(2) in its /dev, as runc makes
//!   them (`container/mounts.rs`); the cgroup list above says what may be done with
//!   them. A node elsewhere is refused by name: it would land on the root's bind,
//!   which is `nodev` (a node there never opens), where runc's root is not.
//! - `cgroupsPath`: the cgroupfs form, a path from each tree's root
//!   (`/libpod_parent/libpod-ID`), where the container's cgroup is made in place of
//!   `skiff/ID`; a relative one (`testdir/container`) is under the cgroup skiff itself
//!   is in, in each tree (on v2 under its parent, which can hand controllers down), as
//!   runc 1.1 reads it, made absolute at `create` and recorded in the state as runc
//!   records it (`cgroup::anchor`), so that `delete` from another cgroup finds it. The
//!   systemd form (`slice:prefix:name`) needs `--systemd-cgroup`, which skiff refuses.
//!   A cgroup that exists already is taken only if it holds no process (runc 1.2's
//!   rule): a failed `create` and `delete` kill what is in it.
//!
//! <https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md#seccomp>
//! <https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md#allowed-device-list>
//! <https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md#devices>
//! <https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md#cgroups-path>

use std::path::{Component, Path};

use miniserde::json::{self, Value};
use miniserde::Deserialize;

use super::spec::unsupported;
use crate::container::{self, DeviceNode};
use crate::error::{Context, Result};

#[derive(Deserialize)]
pub struct DeviceRule {
    allow: bool,
    #[serde(rename = "type")]
    kind: Option<String>,
    major: Option<i64>,
    minor: Option<i64>,
    access: Option<String>,
}

/// `linux.seccomp`, checked, as the profile text skiff's filter builder reads.
pub fn seccomp(value: &Value) -> Result<String> {
    let Value::Object(object) = value else {
        return Err(unsupported("linux.seccomp that is not an object"));
    };
    let strings = |key: &str| match object.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                _ => String::new(),
            })
            .collect(),
        _ => Vec::new(),
    };
    let arches = strings("architectures");
    if !arches.is_empty() && !arches.iter().any(|a| a == "SCMP_ARCH_X86_64") {
        return Err(unsupported(&format!(
            "linux.seccomp.architectures {arches:?} without SCMP_ARCH_X86_64"
        )));
    }
    if let Some(flag) = strings("flags").first() {
        return Err(unsupported(&format!("linux.seccomp.flags {flag}")));
    }
    let text = json::to_string(value);
    container::check_seccomp(&text).context("config.json: linux.seccomp")?;
    Ok(text)
}

/// `linux.resources.devices` as rules in v1's form, for the guard: `None` when
/// everything stays allowed.
pub fn device_rules(list: &[DeviceRule]) -> Result<Option<Vec<String>>> {
    let mut allowed: Option<Vec<String>> = None; // everything, as in a new cgroup
    for rule in list {
        let number = |n: Option<i64>| n.filter(|n| *n >= 0).map_or("*".into(), |n| n.to_string());
        let kind = rule.kind.as_deref().unwrap_or("a");
        let access = rule.access.as_deref().unwrap_or("rwm");
        let line = format!(
            "{kind} {}:{} {access}",
            number(rule.major),
            number(rule.minor)
        );
        crate::cgroup::Rule::parse(&line).context("config.json: linux.resources.devices")?;
        let everything = line == "a *:* rwm";
        match (rule.allow, &mut allowed) {
            (false, _) if everything => allowed = Some(Vec::new()),
            (true, _) if everything => allowed = None,
            (true, Some(rules)) => rules.push(line),
            (true, None) => {}
            (false, _) => {
                return Err(unsupported(&format!(
                    "linux.resources.devices: a deny rule narrower than all ({line})"
                )))
            }
        }
    }
    Ok(allowed)
}

/// `linux.devices`, checked: each in /dev (no `..`: where a node cannot be made, the
/// host's at the same path is bound), of type `c`, `u`, `b` or `p`.
pub fn devices(list: &[DeviceNode]) -> Result<Vec<DeviceNode>> {
    let outside = |path: &str| {
        let up = Path::new(path)
            .components()
            .any(|c| c == Component::ParentDir);
        up || !path.starts_with("/dev/")
    };
    let bad = list
        .iter()
        .find(|d| outside(&d.path) || !["c", "u", "b", "p"].contains(&d.kind.as_str()));
    match bad {
        Some(d) => Err(unsupported(&format!(
            "linux.devices: {:?} of type {:?}",
            d.path, d.kind
        ))),
        None => Ok(list.to_vec()),
    }
}

/// `cgroupsPath`, without `..`, as `cgroup::before_fork` takes it: absolute, or relative
/// as `./PATH`.
pub fn cgroups_path(path: &str) -> Result<String> {
    let plain = Path::new(path)
        .components()
        .skip(usize::from(path.starts_with('/')))
        .all(|c| matches!(c, Component::Normal(_)));
    if path.contains(':') {
        return Err(unsupported(&format!(
            "linux.cgroupsPath {path:?} (systemd's form, with --systemd-cgroup)"
        )));
    }
    let path = path.trim_end_matches('/');
    match (path.starts_with('/'), !path.is_empty() && plain) {
        (_, false) => Err(unsupported(&format!("linux.cgroupsPath {path:?}"))),
        (true, true) => Ok(path.into()),
        (false, true) => Ok(format!("./{path}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Result<Option<Vec<String>>> {
        let list: Vec<DeviceRule> = json::from_str(text).unwrap();
        device_rules(&list)
    }

    #[test]
    fn device_lists_become_allow_lists() {
        let podman = r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]"#;
        assert_eq!(rules(podman).unwrap().unwrap(), ["c 1:3 rw"]);
        assert_eq!(rules(r#"[{"allow":true}]"#).unwrap(), None);
        let narrow = r#"[{"allow":false,"type":"c","major":1,"minor":3,"access":"rwm"}]"#;
        assert!(rules(narrow)
            .err()
            .unwrap()
            .to_string()
            .contains("narrower than all"));
        let bad = r#"[{"allow":true,"type":"x","access":"rwm"}]"#;
        assert!(rules(bad).is_err());
    }

    #[test]
    fn cgroups_paths_are_cgroupfs_paths() {
        assert_eq!(
            cgroups_path("/libpod_parent/libpod-1").unwrap(),
            "/libpod_parent/libpod-1"
        );
        assert_eq!(cgroups_path("a/b/").unwrap(), "./a/b");
        for bad in ["", "/", "/a/../b", "./a", "system.slice:libpod:1"] {
            assert!(cgroups_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seccomp_refuses_what_the_builder_cannot_do_by_name() {
        let refusal = |text: &str| {
            seccomp(&json::from_str(text).unwrap())
                .unwrap_err()
                .to_string()
        };
        let arm = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_AARCH64"]}"#;
        assert!(refusal(arm).contains("without SCMP_ARCH_X86_64"));
        let flags = r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG"]}"#;
        assert!(refusal(flags).contains("linux.seccomp.flags SECCOMP_FILTER_FLAG_LOG"));
        let notify = r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#;
        assert_eq!(
            refusal(notify),
            "config.json: linux.seccomp: seccomp profile: unsupported action \"SCMP_ACT_NOTIFY\""
        );
    }
}
