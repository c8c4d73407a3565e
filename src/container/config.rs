//! One container, described once: what `skiff run`'s flags and the image's defaults
//! make of it.
//!
//! `cmd/run.rs` fills a [`Config`] from the flags, completes it from the image's
//! config (ENTRYPOINT, CMD, Env, User, WorkingDir, StopSignal), `lifecycle` records it
//! as the container's `config.json`, and [`super::start`] reads it, at the first start
//! and every later one. It plays the part of the OCI runtime spec's `config.json`: all
//! a runtime needs to know, written before anything runs. A new feature adds its field
//! here, and its flag in `cmd/run.rs`; nothing copies fields from one struct to another.
//!
//! As in the OCI spec, the process to run is a part of its own, [`Process`]: the
//! container's first process is one, and a process started later inside a running
//! container (`docker exec`) is described the same way.
//!
//! What changes from one start to the next (where the image's layers are unpacked, or
//! whether they are) is not part of it: see [`super::RootFs`]. Records written by older
//! skiffs must still load, so a new field is an `Option` (miniserde refuses a missing
//! one), and a field that moves is moved back into place when read ([`Config::parse`]).
//! <https://github.com/opencontainers/runtime-spec/blob/main/config.md>

use std::collections::BTreeMap;

use miniserde::json::{self, Object, Value};
use miniserde::{Deserialize, Serialize};

use super::{Dns, Options};
use crate::cgroup::Limits;
use crate::lifecycle::logs::LogConfig;
use crate::network::Port;

/// The container, as `docker inspect` shows its `Config` and `HostConfig`.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Config {
    /// 64 hex digits; its cgroup is `skiff/ID`, its record `containers/ID/`.
    pub id: String,
    pub name: String,
    /// The image as the user named it, and the manifest it resolved to; with
    /// `--rootfs`, the directory (as podman shows it) and no manifest.
    pub image: String,
    pub image_digest: String,
    /// `--rootfs DIR`, absolute: the lower layer in place of an image's. Absent in
    /// older records and for containers of an image.
    pub rootfs: Option<String>,
    pub created: String,
    /// The container's first process, its command.
    pub process: Process,
    pub hostname: String,
    /// `--rm`: the container's directory goes when it exits.
    pub auto_remove: bool,
    /// `--init`: a tiny init of skiff's own is PID 1 and the command its child.
    pub init: bool,
    pub stop_signal: String,
    pub stop_timeout: u32,
    /// `-v`, `--tmpfs`, `--read-only`, capabilities, …
    pub options: Options,
    /// `--memory`, `--cpus`, …: applied at every start. Absent in older records.
    pub limits: Option<Limits>,
    /// `--network`: `bridge`, `none` or `host`; absent, `network::DEFAULT` (the
    /// bridge, or the host's network where skiff lacks CAP_NET_ADMIN).
    pub network: Option<String>,
    /// `--add-host`, `--dns`, `--dns-search`, `--dns-option`, `--network-alias`.
    /// Absent in older records.
    pub dns: Option<Dns>,
    /// `-i`: the container's stdin is the attached skiff's (else at end of file).
    /// Absent in older records.
    pub open_stdin: Option<bool>,
    /// `-t`: the container's stdio is a pseudo-terminal. Absent in older records.
    pub tty: Option<bool>,
    /// `-p`, and with `-P` the image's ExposedPorts: host ports 0 are picked at each
    /// start. Absent in older records.
    pub ports: Option<Vec<Port>>,
    /// `-P`: `ports` holds the image's ExposedPorts too. Absent in older records.
    pub publish_all: Option<bool>,
    /// The names given to its anonymous volumes (`-v /path`),
    /// which `rm -v` and `--rm` remove with it. Absent in older records.
    pub anonymous_volumes: Option<Vec<String>>,
    /// `--label`, `--label-file`, over the image's own labels. Absent in older records.
    pub labels: Option<BTreeMap<String, String>>,
    /// `--restart`, as given (see `lifecycle::restart`). Absent: `no`.
    pub restart: Option<String>,
    /// `--log-driver`, `--log-opt`. Absent: json-file with skiff's default cap.
    pub log: Option<LogConfig>,
    /// The attached `run` that made it and starts it: its supervisor until its first
    /// start is recorded, so that state.json is written once (see `lifecycle::Container`).
    pub starter: Option<crate::lifecycle::Process>,
    /// An OCI bundle's `cgroupsPath`, absolute in each cgroup tree; absent: `skiff/ID`.
    pub cgroup: Option<String>,
}

/// A process to run in the container (the OCI spec's `process`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Process {
    /// What execve(2) runs: for the first process, ENTRYPOINT + CMD as Docker combines
    /// them.
    pub argv: Vec<String>,
    /// `KEY=VALUE`, complete: the image's, the user's, and Docker's own (`HOSTNAME`).
    pub env: Vec<String>,
    /// Absolute, inside the container.
    pub workdir: String,
    /// `-u USER[:GROUP]`, names or numbers, resolved inside the container (its
    /// /etc/passwd and /etc/group); root when absent.
    pub user: Option<String>,
    /// `--group-add`: more supplementary groups, names resolved in its /etc/group.
    /// Absent in older records.
    pub groups: Option<Vec<String>>,
}

/// The first 12 characters of an ID, as Docker shows it (all of a dead record's name
/// if shorter).
pub fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

impl Config {
    /// Its cgroup, as `cgroup::before_fork` names it: `cgroupsPath`, or the ID.
    pub fn cgroup(&self) -> &str {
        self.cgroup.as_deref().unwrap_or(&self.id)
    }

    /// A record's `config.json`. Before [`Process`], skiff kept its fields at the top
    /// level and the user in `options`: such a record is read with them moved in.
    pub fn parse(text: &str) -> Option<Config> {
        if let Ok(config) = json::from_str(text) {
            return Some(config);
        }
        let Ok(Value::Object(mut record)) = json::from_str(text) else {
            return None;
        };
        let mut process = Object::new();
        for key in ["argv", "env", "workdir"] {
            process.insert(key.into(), record.remove(key)?);
        }
        if let Some(Value::Object(options)) = record.get_mut("options") {
            process.insert("user".into(), options.remove("user")?);
        }
        record.insert("process".into(), Value::Object(process));
        json::from_str(&json::to_string(&Value::Object(record))).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As `skiff run -u 1000 -w /srv busybox true` recorded it before [`Process`].
    const OLD_RECORD: &str = r#"{"id":"4f2b0c8e6a1d3f5b7c9e0a2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f1a3c5e7b9d1f","name":"tender_pike","image":"busybox","image_digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","created":"2026-12-01T10:00:00.000000000Z","argv":["true"],"env":["PATH=/bin","HOSTNAME=4f2b0c8e6a1d"],"workdir":"/srv","hostname":"4f2b0c8e6a1d","auto_remove":false,"init":false,"stop_signal":"SIGTERM","stop_timeout":10,"options":{"user":"1000","volumes":[],"tmpfs":[],"read_only":false,"privileged":false,"cap_add":[],"cap_drop":[],"no_new_privileges":false},"limits":null}"#;

    #[test]
    fn records_from_before_process_still_load() {
        let config = Config::parse(OLD_RECORD).unwrap();
        assert_eq!(
            config.process,
            Process {
                argv: vec!["true".into()],
                env: vec!["PATH=/bin".into(), "HOSTNAME=4f2b0c8e6a1d".into()],
                workdir: "/srv".into(),
                user: Some("1000".into()),
                groups: None,
            }
        );
        assert_eq!(config.name, "tender_pike");
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let config = Config::parse(OLD_RECORD).unwrap();
        let again = Config::parse(&json::to_string(&config)).unwrap();
        assert_eq!(again.process, config.process);
        assert_eq!(again.hostname, config.hostname);
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(Config::parse("{}").is_none());
        assert!(Config::parse("[]").is_none());
    }
}
