//! Containers that outlive a command: the records `ps`, `logs`, `stop`, `start` and
//! `rm` work from.
//!
//! Docker keeps these in its daemon. skiff has no daemon, so every container is a
//! directory under the store that any skiff can read:
//!
//! ```text
//! containers/<id>/config.json   what to run, written once by `create` or `run`
//!                 state.json    created | running | exited, pids, exit code, times
//!                 log.json      its output (Docker's json-file format)
//!                 attach.sock   a detached `-t` one's terminal, for `skiff attach`
//!                 upper/ work/  its overlayfs writable layer; rootfs/ the mount point
//! containers/.names/<name>      a symlink to the ID that holds the name (see `names`)
//! ```
//!
//! State is written to a temp file and renamed over the old one (rename(2) is atomic),
//! so a reader sees the old state or the new one, never half of each. A state that
//! says "running" is believed only while its process lives, checked by pid *and*
//! start time (proc(5), `/proc/PID/stat` field 22) since pids are reused: if the
//! skiff that watched a container was killed, `ps` still tells the truth.
//! <https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html>

pub mod logs;
pub mod names;
pub mod signals;
pub mod supervisor;

use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use miniserde::{json, Deserialize, Serialize};

use crate::cgroup::{self, Limits};
use crate::container::{Options, RootFs, Spec};
use crate::digest::Digest;
use crate::error::{Context, Error, Result};
use crate::image::store::{self, Store};
use crate::image::Image;
use crate::time;

/// What to run, fixed when the container is created (`docker inspect`'s `Config`).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Config {
    pub id: String,
    pub name: String,
    /// The image as the user named it, and the manifest it resolved to.
    pub image: String,
    pub image_digest: String,
    pub created: String,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub workdir: String,
    pub hostname: String,
    /// `--rm`: the container's directory goes when it exits.
    pub auto_remove: bool,
    /// `--init`: a tiny init of skiff's own is PID 1 and the command its child.
    pub init: bool,
    pub stop_signal: String,
    pub stop_timeout: u32,
    /// `-u`, `-v`, `--tmpfs`, `--read-only`, capabilities, …
    pub options: Options,
    /// `--memory`, `--cpus`, …: applied at every start. Absent in older records.
    pub limits: Option<Limits>,
    /// `-i`: the container's stdin is the attached skiff's (else at end of file).
    /// Absent in older records.
    pub open_stdin: Option<bool>,
    /// `-t`: the container's stdio is a pseudo-terminal. Absent in older records.
    pub tty: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    #[serde(rename = "created")]
    Created,
    #[serde(rename = "running")]
    Running,
    #[serde(rename = "exited")]
    Exited,
}

impl Status {
    /// Docker's word for it, as `inspect` shows it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
        }
    }
}

/// What happened to it so far (`docker inspect`'s `State`).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct State {
    pub status: Status,
    /// The container's PID 1, as the host sees it, and when it started.
    pub pid: Process,
    /// The skiff that waits for it and records its exit.
    pub supervisor: Process,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub started_at: String,
    pub finished_at: String,
}

/// A process, named so that a reused pid cannot be mistaken for it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Process {
    pub pid: i32,
    /// Clock ticks after boot at which it started.
    pub start_time: u64,
}

/// The exit code of a container whose supervisor died before recording one.
pub const EXIT_UNKNOWN: i32 = 255;

pub struct Container {
    pub dir: PathBuf,
    pub config: Config,
    pub state: State,
}

pub fn containers_dir() -> PathBuf {
    store::root().join("containers")
}

impl Process {
    /// This process, by pid and start time.
    pub fn current() -> Process {
        Process::of(std::process::id() as i32).unwrap_or_default()
    }

    /// `pid` as it is now; `None` if no such process, or only its zombie is left.
    pub fn of(pid: i32) -> Option<Process> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
        let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
        if matches!(fields.next(), Some("Z" | "X")) {
            return None; // ended; its parent has not reaped it yet
        }
        let start_time = fields.nth(18)?.parse().ok()?;
        Some(Process { pid, start_time })
    }

    pub fn is_alive(self) -> bool {
        self.pid > 0 && Process::of(self.pid) == Some(self)
    }
}

impl Container {
    /// Records a new container under the store's lock, so that two concurrent `run`s
    /// cannot both take one name.
    pub fn create(_lock: &Store, mut config: Config) -> Result<Container> {
        let dir = containers_dir();
        fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let names = names::index(list)?;
        if config.name.is_empty() {
            config.name = names::unused(&names)?;
        }
        names::reserve(&names, &config.name, &config.id)?;
        // Built under a dot-name, then renamed: a crash never leaves half a container.
        let building = dir.join(format!(".new-{}", config.id));
        fs::create_dir(&building).with_context(|| format!("create {}", building.display()))?;
        write_json(&building.join("config.json"), &json::to_string(&config))?;
        write_json(
            &building.join("state.json"),
            &json::to_string(&<State as Default>::default()),
        )?;
        let final_dir = dir.join(&config.id);
        fs::rename(&building, &final_dir)
            .with_context(|| format!("rename {} into place", building.display()))?;
        Ok(Container {
            dir: final_dir,
            config,
            state: <State as Default>::default(),
        })
    }

    fn load(dir: PathBuf) -> Result<Container> {
        let config = read_json(&dir.join("config.json"))?;
        let state = read_json(&dir.join("state.json"))?;
        Ok(Container { dir, config, state })
    }

    /// `None` when it was removed meanwhile (an `--rm` container that just ended).
    fn load_unless_gone(dir: PathBuf) -> Result<Option<Container>> {
        match Container::load(dir.clone()) {
            Err(_) if !dir.exists() => Ok(None),
            other => other.map(Some),
        }
    }

    /// Writes `state` atomically.
    pub fn save_state(&self) -> Result<()> {
        write_json(&self.dir.join("state.json"), &json::to_string(&self.state))
    }

    pub fn short_id(&self) -> &str {
        &self.config.id[..12]
    }

    /// The status as it really is: "running" only while the container's process lives.
    pub fn status(&self) -> Status {
        match self.state.status {
            Status::Running if !self.state.pid.is_alive() => Status::Exited,
            status => status,
        }
    }

    /// The recorded exit code, or [`EXIT_UNKNOWN`] for a container that died unwatched.
    pub fn exit_code(&self) -> i32 {
        match (self.state.status, self.status()) {
            (Status::Running, Status::Exited) => EXIT_UNKNOWN,
            _ => self.state.exit_code,
        }
    }

    /// Recorded as running, but it and the skiff that watched it are gone: nobody
    /// recorded its end or removed its cgroup.
    pub fn died_unwatched(&self) -> bool {
        self.state.status == Status::Running
            && self.status() == Status::Exited
            && !self.is_supervised()
    }

    /// True while a skiff still watches the container (and will record its end).
    pub fn is_supervised(&self) -> bool {
        self.state.supervisor.is_alive()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("log.json")
    }

    /// Where a detached `-t` container's supervisor listens for `skiff attach`.
    pub fn attach_path(&self) -> PathBuf {
        self.dir.join("attach.sock")
    }

    /// [`Container::attach_path`] by a path short enough for a Unix socket's address
    /// (108 bytes, unix(7)) wherever the store is: through a descriptor of the
    /// container's directory, which must stay open while the path is used.
    pub fn attach_socket(&self) -> Result<(fs::File, PathBuf)> {
        let dir =
            fs::File::open(&self.dir).with_context(|| format!("open {}", self.dir.display()))?;
        let path = PathBuf::from(format!("/proc/self/fd/{}/attach.sock", dir.as_raw_fd()));
        Ok((dir, path))
    }

    /// Deletes the container's cgroup and directory: state, log and writable layer. The
    /// directory is first renamed to a dot-name, so that nobody ever reads a
    /// half-deleted container.
    pub fn remove(&self) -> Result<()> {
        cgroup::release(&self.config.id)?;
        let doomed = containers_dir().join(format!(".gone-{}", self.config.id));
        match fs::rename(&self.dir, &doomed) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => other.with_context(|| format!("remove {}", self.dir.display()))?,
        }
        // Only now that the record is gone: a crash before this leaves a stale link,
        // which frees the name all the same, never a container without its name.
        names::release(&names::index_dir(), &self.config.name, &self.config.id);
        fs::remove_dir_all(&doomed).with_context(|| format!("remove {}", doomed.display()))
    }
}

/// Every recorded container, newest first, as `ps -a` lists them. `--rm` containers
/// whose skiff was killed before it could remove them are swept on the way, and so
/// are the cgroups of containers that died unwatched.
pub fn list() -> Result<Vec<Container>> {
    let dir = containers_dir();
    let entries = match fs::read_dir(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        other => other.with_context(|| format!("read {}", dir.display()))?,
    };
    let mut containers = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue; // being created, or debris of a crash
        }
        let Some(container) = Container::load_unless_gone(entry.path())? else {
            continue;
        };
        if container.config.auto_remove
            && !container.is_supervised()
            && container.status() == Status::Exited
        {
            container.remove()?;
            continue;
        }
        if container.died_unwatched() {
            cgroup::sweep(&container.config.id);
        }
        containers.push(container);
    }
    containers.sort_by(|a, b| b.config.created.cmp(&a.config.created));
    Ok(containers)
}

/// The manifests of the images that containers were created from: kept by `rmi` and
/// garbage collection even once untagged, since a container can be started again.
pub fn images_in_use() -> Result<Vec<(String, Digest)>> {
    list()?
        .into_iter()
        .map(|c| Ok((c.config.id.clone(), Digest::parse(&c.config.image_digest)?)))
        .collect()
}

/// The container a user means: by full ID, name, or unique ID prefix, as Docker accepts.
pub fn find(query: &str) -> Result<Container> {
    let all = list()?;
    let by_id_or_name = all
        .iter()
        .position(|c| c.config.id == query || c.config.name == query);
    let index = match by_id_or_name {
        Some(index) => index,
        None => {
            let matching: Vec<usize> = (0..all.len())
                .filter(|&i| !query.is_empty() && all[i].config.id.starts_with(query))
                .collect();
            match matching[..] {
                [index] => index,
                [] => return Err(Error::invalid(format!("No such container: {query}"))),
                _ => {
                    return Err(Error::invalid(format!(
                        "multiple containers match {query:?}: give more of the ID"
                    )))
                }
            }
        }
    };
    Ok(all.into_iter().nth(index).expect("index is in range"))
}

/// Docker's new-container defaults, for `create` and `run`.
pub fn new_config(id: String, image: String, image_digest: String) -> Config {
    Config {
        hostname: id[..12].to_string(),
        id,
        image,
        image_digest,
        created: time::now_precise(),
        stop_signal: "SIGTERM".into(),
        stop_timeout: 10,
        ..<Config as Default>::default()
    }
}

fn write_json(path: &Path, text: &str) -> Result<()> {
    let temp = path.with_extension("json.tmp");
    fs::write(&temp, text).with_context(|| format!("write {}", temp.display()))?;
    fs::rename(&temp, path).with_context(|| format!("rename {}", temp.display()))
}

fn read_json<T: Deserialize>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    json::from_str(&text).map_err(|_| Error::invalid(format!("{} is not valid", path.display())))
}

/// What the kernel needs to start `container`: its config, over its image's layers.
pub fn spec(container: &Container, store: &Store, image: &Image) -> Result<Spec> {
    let config = &container.config;
    Ok(Spec {
        rootfs: RootFs {
            scratch: container.dir.clone(),
            layers: image.layer_dirs(store)?,
            blobs: image.stored_layers(store)?,
        },
        id: config.id.clone(),
        argv: config.argv.clone(),
        env: config.env.clone(),
        workdir: config.workdir.clone(),
        hostname: config.hostname.clone(),
        init: config.init,
        options: config.options.clone(),
        limits: config.limits.clone().unwrap_or_default(),
    })
}
