//! Containers that outlive a command: the records `ps`, `logs`, `stop`, `start` and
//! `rm` work from.
//!
//! Docker keeps these in its daemon. skiff has no daemon, so every container is a
//! directory under the store that any skiff can read:
//!
//! ```text
//! containers/<id>/config.json   what to run (a `container::Config`), written once; `update` rewrites it
//!                 state.json    running | exited, pids, exit code, times: from its
//!                               first start (none yet: created)
//!                 ID-json.log   its output (Docker's json-file format; .1, .2: older)
//!                 stopped       the user stopped it: no restarts (see `restart`)
//!                 attach.sock   a detached `-t` one's terminal, for `skiff attach`
//!                 upper/ work/  its overlayfs writable layer (mounted on the store's
//!                               `mnt/`; `rootfs/`: a copy where overlayfs is refused)
//! containers/.names/<name>      a symlink to the ID that holds the name (see `names`)
//! containers/.gone-<id>/        a removed one, its files being deleted (see `reclaim`)
//! containers/.spare/            an empty directory, made by the last one's deleter,
//!                               that the next `create` takes (see `reclaim`)
//! ```
//!
//! State is written to a temp file and renamed over the old one (rename(2) is atomic),
//! so a reader sees the old state or the new one, never half of each. A state that
//! says "running" is believed only while its process lives, checked by pid *and*
//! start time (proc(5), `/proc/PID/stat` field 22) since pids are reused: if the
//! skiff that watched a container was killed, `ps` still tells the truth.
//!
//! Records are files anyone with root can edit, and disks fail: each is checked as it
//! is read (see [`Container::load`]). One that fails is a dead container, Docker's
//! "Dead": listed, inspected and removed, never started, and hiding no other.
//! <https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html>

pub mod logs;
pub mod names;
pub mod peers;
pub mod reclaim;
pub mod restart;
pub mod signals;
pub mod supervisor;

use std::cell::Cell;
use std::fs;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use miniserde::{json, Deserialize, Serialize};

use crate::cgroup;
pub use crate::container::short;
use crate::container::{Config, RootFs};
use crate::digest::Digest;
use crate::error::{Context, Error, Result};
use crate::image::store::{self, Store};
use crate::image::{Image, LayerDirs};
use crate::network;
use crate::{trace, volume};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    #[serde(rename = "created")]
    Created,
    #[serde(rename = "running")]
    Running,
    #[serde(rename = "exited")]
    Exited,
    /// A record skiff cannot read or trust: it can only be inspected and removed.
    #[serde(rename = "dead")]
    Dead,
    /// Ended, and its supervisor waits out the back-off before it starts it again.
    #[serde(rename = "restarting")]
    Restarting,
}

impl Status {
    /// Docker's word for it, as `inspect` shows it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
            Status::Dead => "dead",
            Status::Restarting => "restarting",
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
    /// Its address while it runs (Docker, too, gives it back when it stops).
    pub network: Option<network::Settings>,
    /// How often its restart policy restarted it since a user started it.
    pub restart_count: Option<u32>,
    /// Why its supervisor could not start it again (Docker's `State.Error`).
    pub error: Option<String>,
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
    /// Why the record cannot be used, if it cannot: then the container is
    /// [`Status::Dead`], and `config` holds only what could be read (see [`Container::load`]).
    pub damage: Option<String>,
}

pub fn containers_dir() -> PathBuf {
    store::root().join("containers")
}

impl Process {
    /// This process, by pid and start time. Read from /proc once: an attached run asks
    /// when it records itself as the starter and again as the supervisor; a child forked
    /// since then has a pid of its own, so it reads its own.
    pub fn current() -> Process {
        thread_local! {
            static CURRENT: Cell<Option<Process>> = const { Cell::new(None) };
        }
        let pid = std::process::id() as i32;
        CURRENT.with(|known| match known.get() {
            Some(current) if current.pid == pid => current,
            _ => {
                let current = Process::of(pid);
                known.set(current);
                current.unwrap_or_default()
            }
        })
    }

    /// `pid` as it is now; `None` if no such process, or only its zombie is left.
    pub fn of(pid: i32) -> Option<Process> {
        // Room for the whole line at once: from an empty string, std grows its buffer
        // from 32 bytes, one read(2) each (procfs gives no size to go by).
        let mut stat = String::with_capacity(1024);
        let mut file = fs::File::open(format!("/proc/{pid}/stat")).ok()?;
        file.read_to_string(&mut stat).ok()?;
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
    /// cannot both take one name, and makes the volumes it names that do not exist yet.
    pub fn create(lock: &Store, mut config: Config) -> Result<Container> {
        let dir = containers_dir();
        store::ensure_dir(&dir)?;
        store::spread_subdirectories(&dir);
        reclaim::sweep(&dir); // a killed deleter's leftovers: a `run --rm` loop may run nothing else
        let names = names::index(list)?;
        if config.name.is_empty() {
            config.name = names::unused(&names)?; // held by nobody
        } else if let Some(holder) = names::owner(&names, &config.name) {
            // Docker's daemon would have removed an `--rm` holder whose skiff was killed.
            sweep_one(&Container::load(dir.join(holder)));
        }
        config.anonymous_volumes = Some(config.options.name_anonymous_volumes()?);
        for name in config.options.volume_names() {
            volume::create(lock, name)?;
        }
        names::reserve(&names, &config.name, &config.id)?;
        // Built under a dot-name, then renamed: a crash never leaves half a container,
        // so config.json needs no rename(2) of its own. state.json comes with the
        // first start (see `load`): written once, not written and then replaced.
        let building = dir.join(format!(".new-{}", config.id));
        reclaim::new_directory(&building)?; // the spare a deleter made, or mkdir(2)
        let path = building.join("config.json");
        fs::write(&path, json::to_string(&config))
            .with_context(|| format!("write {}", path.display()))?;
        let final_dir = dir.join(&config.id);
        fs::rename(&building, &final_dir)
            .with_context(|| format!("rename {} into place", building.display()))?;
        Ok(Container {
            dir: final_dir,
            state: State::unstarted(&config),
            config,
            damage: None,
        })
    }

    /// Reads a record and checks what a hand edit or a damaged disk could have put in
    /// it that would crash skiff or lead it outside the store. A record that fails is
    /// still a container, a dead one, named by its directory: one bad record must not
    /// hide the others, and `rm` must be able to remove it.
    fn load(dir: PathBuf) -> Container {
        let id = dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let config = match read_config(&dir.join("config.json")) {
            Ok(config) => config,
            Err(err) => return Container::dead(dir, id, <Config as Default>::default(), &err),
        };
        let path = dir.join("state.json");
        let state = config.check(&id).and_then(|()| match path.exists() {
            true => read_json::<State>(&path),
            false => Ok(State::unstarted(&config)), // created, never started
        });
        match state.and_then(|state| state.check().map(|()| state)) {
            Ok(state) => Container {
                dir,
                config,
                state,
                damage: None,
            },
            Err(err) => Container::dead(dir, id, config, &err),
        }
    }

    /// A damaged record as `ps` lists it: its directory's name as ID, and of the rest
    /// only what passes the checks. The image stays known where it can, so that garbage
    /// collection keeps it for a record mended by hand.
    fn dead(dir: PathBuf, id: String, read: Config, damage: &Error) -> Container {
        let config = Config {
            id,
            name: Some(read.name)
                .filter(|n| names::validate(n).is_ok())
                .unwrap_or_default(),
            image_digest: Some(read.image_digest)
                .filter(|d| Digest::parse(d).is_ok())
                .unwrap_or_default(),
            image: read.image,
            rootfs: read.rootfs,
            created: read.created,
            ..<Config as Default>::default()
        };
        Container {
            dir,
            config,
            state: <State as Default>::default(),
            damage: Some(damage.to_string()),
        }
    }

    /// `None` when it was removed meanwhile (an `--rm` container that just ended).
    fn load_unless_gone(dir: PathBuf) -> Option<Container> {
        let container = Container::load(dir);
        (container.damage.is_none() || container.dir.exists()).then_some(container)
    }

    /// Writes `state` atomically.
    pub fn save_state(&self) -> Result<()> {
        write_state(&self.dir, &self.state)
    }

    /// Writes `config` atomically: `update` changes the limits and restart policy.
    pub fn save_config(&self) -> Result<()> {
        write_json(
            &self.dir.join("config.json"),
            &json::to_string(&self.config),
        )
    }

    pub fn short_id(&self) -> &str {
        short(&self.config.id)
    }

    /// The status as it really is: "running" only while the container's process lives (or its
    /// supervisor, alive, has yet to record its end).
    pub fn status(&self) -> Status {
        if self.damage.is_some() {
            return Status::Dead;
        }
        match self.state.status {
            // Until its supervisor records the end (maybe as a restart), it runs, as in Docker.
            Status::Running if !self.state.pid.is_alive() && !self.is_supervised() => {
                Status::Exited
            }
            Status::Restarting if !self.is_supervised() => Status::Exited,
            status => status,
        }
    }

    /// Running, but frozen by `skiff pause` (Docker's `Up … (Paused)`).
    pub fn is_paused(&self) -> bool {
        self.status() == Status::Running && cgroup::is_frozen(&self.config.id)
    }

    /// The recorded exit code, or [`EXIT_UNKNOWN`] for a container that died unwatched.
    pub fn exit_code(&self) -> i32 {
        match (self.state.status, self.status()) {
            (Status::Running, Status::Exited) => EXIT_UNKNOWN,
            _ => self.state.exit_code,
        }
    }

    /// Why its record cannot be used, or else why its supervisor could not start it again.
    pub fn error(&self) -> Option<&str> {
        self.damage.as_deref().or(self.state.error.as_deref())
    }

    /// True while a skiff still watches the container (and will record its end).
    pub fn is_supervised(&self) -> bool {
        self.state.supervisor.is_alive()
    }

    /// Where its output goes, named as Docker names it (rotated: `.1`, `.2`, …).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(format!("{}-json.log", self.config.id))
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
    /// half-deleted container; its files, and an `--rm` container's cgroup, are then
    /// deleted off the caller's path ([`reclaim`]), but for `--userns=auto`: in place.
    pub fn remove(&self) -> Result<()> {
        // --userns=auto: its range goes to the next container only once no file of
        // this one is left, so its files are deleted here and now.
        let leased = self
            .config
            .options
            .userns
            .as_deref()
            .is_some_and(|m| m != "host");
        let deferred = self.config.auto_remove && !leased; // its cgroup, to its deleter
        if is_id(&self.config.id) && !deferred {
            cgroup::remove(&self.config.id)?; // a dead record's may be left, if it is an ID
        }
        let doomed = reclaim::gone_path(&self.dir, &self.config.id);
        let deleter_lock = reclaim::lock(&self.dir);
        match fs::rename(&self.dir, &doomed) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => other.with_context(|| format!("remove {}", self.dir.display()))?,
        }
        // Only now that the record is gone: a crash before this leaves a stale link,
        // which frees the name all the same, never a container without its name.
        names::release(&names::index_dir(), &self.config.name, &self.config.id);
        reclaim::delete(&doomed, deleter_lock, !leased)?;
        // The container is removed already; a range left leased is freed by the next
        // lease taken. Only such a container holds one: the others' removal takes no
        // lock for it.
        if let Err(err) = leased.then(crate::container::release_ids).transpose() {
            trace::step(&format!(
                "its host IDs stay leased until the next lease: {err}"
            ));
        }
        Ok(())
    }
}

impl Container {
    /// [`Container::remove`], and its anonymous volumes with it (`rm -v`, `--rm`), but
    /// not one that another container names, as Docker keeps those.
    pub fn remove_with_volumes(&self) -> Result<()> {
        self.remove()?;
        let anonymous = self.config.anonymous_volumes.as_deref().unwrap_or_default();
        if anonymous.is_empty() {
            return Ok(()); // no lock to wait for
        }
        let store = Store::open()?;
        let in_use = volumes_in_use()?;
        for name in anonymous {
            let used = in_use.iter().any(|(_, used)| used == name);
            if !used && volume::existing(name).is_ok() {
                volume::remove(&store, name, &[])?;
            }
        }
        Ok(())
    }
}

impl Config {
    /// What would crash skiff or lead it outside the store if a hand edit broke it: the
    /// ID names the directory and the cgroup, the name a link in `.names`, the image
    /// digest a file in `blobs/`.
    fn check(&self, directory: &str) -> Result<()> {
        if !is_id(&self.id) || self.id != directory {
            return Err(Error::invalid(format!(
                "its ID {:?} is not its directory's 64 hex digits",
                self.id
            )));
        }
        names::validate(&self.name)?;
        match &self.rootfs {
            Some(_) => Ok(()),
            None => Digest::parse(&self.image_digest).map(drop),
        }
    }
}

impl State {
    /// A container's state until its first start is recorded. An attached `run` records
    /// itself as the starter in config.json, which it writes anyway, so it need not write
    /// state.json before it makes anything (see `sweep`) and again once the container runs.
    fn unstarted(config: &Config) -> State {
        State {
            supervisor: config.starter.unwrap_or_default(),
            ..<State as Default>::default()
        }
    }

    /// kill(2) takes a negative pid to mean a process group, -1 every process; and
    /// "dead" is skiff's verdict on a record, never something a record says of itself.
    fn check(&self) -> Result<()> {
        if self.status == Status::Dead {
            return Err(Error::invalid("it says \"dead\""));
        }
        match [self.pid.pid, self.supervisor.pid]
            .into_iter()
            .find(|p| *p < 0)
        {
            Some(pid) => Err(Error::invalid(format!("{pid} is not a process ID"))),
            None => Ok(()),
        }
    }
}

/// A container ID: 64 hex digits, as a digest has.
fn is_id(text: &str) -> bool {
    Digest::parse(&format!("sha256:{text}")).is_ok()
}

/// Every recorded container, newest first, as `ps -a` lists them; damaged records as
/// dead ones. Reading changes nothing: see [`sweep`] for that.
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
        containers.extend(Container::load_unless_gone(entry.path()));
    }
    crate::sort::sort_by(&mut containers, |a, b| {
        b.config.created.cmp(&a.config.created)
    });
    Ok(containers)
}

/// Finishes what a killed skiff left undone, as Docker's daemon would have: removes the
/// `--rm` containers that ended unwatched, and the cgroups and addresses of containers
/// that died unwatched or whose start was cut short (what a start had made so far: its
/// PID 1, held half-way, is killed). The commands that list or remove containers call
/// it first (`ps`, `stats`, `rm`, `rmi`); `create` and `run` sweep only the holder of
/// the name they want, as reading every record would make each run slower the more
/// containers there are.
/// Best effort, as nothing depends on it: the next skiff tries again.
pub fn sweep() {
    list().unwrap_or_default().iter().for_each(sweep_one);
    reclaim::sweep(&containers_dir());
}

fn sweep_one(listed: &Container) {
    if !abandoned(listed) {
        return;
    }
    // Read again before acting: a skiff starting it now records itself before it
    // makes anything, and what it makes is not the sweep's to take.
    let container = &Container::load(listed.dir.clone());
    if !abandoned(container) {
        return;
    }
    // Its cgroup outlives it only if its skiff was killed.
    let id = &container.config.id;
    let left = cgroup::exists(id);
    if left {
        let _ = cgroup::sweep(id);
    }
    if left || container.state.network.is_some() {
        if let Err(err) = network::release(id, container.state.network.as_ref()) {
            trace::step(&format!("sweep {}'s address: {err}", container.short_id()));
        }
    }
    if let Some(settings) = &container.state.network {
        peers::update(&settings.network); // its name leaves the others' /etc/hosts
    }
    if container.config.auto_remove {
        if let Err(err) = container.remove() {
            trace::step(&format!("sweep {}: {err}", container.short_id()));
        }
    }
}

/// Begun by a skiff, ended or never started, and no skiff of it alive.
fn abandoned(container: &Container) -> bool {
    let started = container.state.supervisor.pid != 0;
    let ended = matches!(container.status(), Status::Exited | Status::Created);
    started && ended && !container.is_supervised()
}

/// What containers need of the image store; `rmi` and garbage collection keep it.
#[derive(Default)]
pub struct ImagesInUse {
    /// (container ID, manifest) for every container whose record names its image: kept
    /// even once untagged, since a container can be started again.
    pub images: Vec<(String, Digest)>,
    /// A damaged record that does not say which image it was made from, if any: every
    /// image may be the one it needs once mended, so none may be collected.
    pub unknown: Option<String>,
}

pub fn images_in_use() -> Result<ImagesInUse> {
    let mut in_use = ImagesInUse::default();
    for container in list()? {
        match Digest::parse(&container.config.image_digest) {
            Ok(manifest) => in_use.images.push((container.config.id, manifest)),
            Err(_) if container.config.rootfs.is_some() => {} // a directory, no image
            Err(_) => in_use.unknown = Some(container.config.id),
        }
    }
    Ok(in_use)
}

/// (container ID, volume name) for each volume a recorded container names.
pub fn volumes_in_use() -> Result<Vec<(String, String)>> {
    let mut in_use = Vec::new();
    for container in list()? {
        let names = container.config.options.volume_names();
        in_use.extend(names.map(|name| (container.config.id.clone(), name.to_string())));
    }
    Ok(in_use)
}

/// The container a user means: by full ID, name, or unique ID prefix, as Docker
/// accepts. A dead one is refused: only [`find_any`] (for `rm` and `inspect`) takes it.
pub fn find(query: &str) -> Result<Container> {
    let container = find_any(query)?;
    match &container.damage {
        Some(damage) => Err(Error::invalid(format!(
            "container {query} is dead, its record damaged ({damage}): skiff rm removes it"
        ))),
        None => Ok(container),
    }
}

/// [`find`], dead containers included.
pub fn find_any(query: &str) -> Result<Container> {
    let all = list()?;
    // A dead record's name is shown, but not trusted to pick it out: it goes by its ID.
    let by_id_or_name = all
        .iter()
        .position(|c| c.config.id == query || (c.damage.is_none() && c.config.name == query));
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

/// `--network container:NAME|ID`: the network namespace of that container's PID 1,
/// which must be running (`None` for any other `--network`). The namespace is opened
/// first and its process checked after, so a pid reused meanwhile cannot hand over
/// another process's namespace.
pub fn joined_network(config: &Config) -> Result<Option<fs::File>> {
    let Some(query) = config.network.as_deref().and_then(network::joined) else {
        return Ok(None);
    };
    let peer = find(query)?;
    let refused = || {
        let id = &peer.config.id;
        Error::invalid(format!(
            "cannot join network of a non running container: {id}"
        ))
    };
    if peer.status() != Status::Running {
        return Err(refused());
    }
    let netns = fs::File::open(format!("/proc/{}/ns/net", peer.state.pid.pid));
    match (netns, peer.state.pid.is_alive()) {
        (Ok(netns), true) => Ok(Some(netns)),
        _ => Err(refused()),
    }
}

/// Writes the state.json of the container whose directory is `dir`, atomically.
fn write_state(dir: &Path, state: &State) -> Result<()> {
    write_json(&dir.join("state.json"), &json::to_string(state))
}

fn write_json(path: &Path, text: &str) -> Result<()> {
    let temp = path.with_extension("json.tmp");
    fs::write(&temp, text).with_context(|| format!("write {}", temp.display()))?;
    fs::rename(&temp, path).with_context(|| format!("rename {}", temp.display()))
}

fn read_config(path: &Path) -> Result<Config> {
    let text = fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    Config::parse(&text).ok_or_else(|| Error::invalid(format!("{} is not valid", path.display())))
}

fn read_json<T: Deserialize>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    json::from_str(&text).map_err(|_| Error::invalid(format!("{} is not valid", path.display())))
}

/// Where `container`'s root filesystem comes from at this start: its own directory,
/// over its image's layers as the store has them now (`None`: over its `--rootfs`).
pub fn rootfs(container: &Container, store: &Store, image: Option<&Image>) -> Result<RootFs> {
    let (layers, blobs) = match (image, &container.config.rootfs) {
        (Some(image), _) => (image.layer_dirs(store)?, image.stored_layers(store)?),
        (None, Some(dir)) => {
            let layers = LayerDirs::of_directory(dir.as_ref()).context("--rootfs")?;
            (Some(layers), Vec::new())
        }
        (None, None) => return Err(Error::invalid("the container names no image")),
    };
    Ok(RootFs {
        scratch: container.dir.clone(),
        layers,
        blobs,
        members: peers::at_start(&container.config)?,
        in_place: false,
        volatile: container.config.auto_remove,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn config(id: &str, name: &str, image_digest: &str) -> Config {
        Config {
            id: id.into(),
            name: name.into(),
            image_digest: image_digest.into(),
            ..<Config as Default>::default()
        }
    }

    #[test]
    fn a_record_must_name_its_directory_a_safe_name_and_an_image() {
        let image = format!("sha256:{ID}");
        let fails =
            |config: Config, directory: &str| config.check(directory).unwrap_err().to_string();
        assert!(config(ID, "web", &image).check(ID).is_ok());
        assert!(fails(config("abc", "web", &image), "abc").contains("its ID \"abc\" is not"));
        assert!(fails(config(ID, "web", &image), &ID[1..]).contains("is not its directory's"));
        assert!(fails(config(ID, "../../etc", &image), ID).contains("invalid container name"));
        assert!(fails(config(ID, "", &image), ID).contains("invalid container name"));
        assert!(fails(config(ID, "web", "sha256:../x"), ID).contains("malformed digest"));
    }

    #[test]
    fn a_state_may_not_name_process_groups_or_call_itself_dead() {
        assert!(<State as Default>::default().check().is_ok());
        let mut state = <State as Default>::default();
        state.supervisor.pid = -1;
        assert_eq!(
            state.check().unwrap_err().to_string(),
            "-1 is not a process ID"
        );
        state.supervisor.pid = 0;
        state.status = Status::Dead;
        assert!(state.check().is_err());
    }

    #[test]
    fn short_ids_never_cut_a_short_or_odd_name() {
        assert_eq!(short(ID), "0123456789ab");
        assert_eq!(short("abc"), "abc");
        assert_eq!(short("ééééééé"), "éééééé"); // 12 bytes: a character boundary
        assert_eq!(short("aéééééé"), "aéééééé"); // 12 bytes falls inside a character
    }
}
