//! skiff as an OCI runtime: the command line runc and crun answer, which podman (through
//! conmon) and containerd (go-runc) call with a bundle, a directory holding
//! `config.json` and the root filesystem.
//!
//! **How skiff tells this CLI from Docker's**: it is the runtime when called by a name
//! ending in `-runtime` (a `skiff-runtime` link, for `podman --runtime PATH` or
//! containerd's `BinaryName`), when its first argument is one of the runtime's global
//! flags (`--root`, `--log`, `--log-format`, `--systemd-cgroup`, `--debug`), or as
//! `skiff runtime …`.
//!
//! The lifecycle (runtime-spec `runtime.md`): `create` makes the container's process,
//! in its namespaces, cgroup and mounts, with the code `skiff run` uses
//! (`container::start`, from the `Config` that `spec.rs` makes of `config.json`), and
//! holds it before execve(2) on `exec.fifo` in the state directory (`--root`, by
//! default /run/skiff-runtime, as runc's /run/runc); `create` then exits, and the
//! process, its child, passes to the caller's subreaper, as runc's does: no skiff
//! process waits for it. `start` opens the fifo, which lets it run. `state` prints the
//! state JSON; `kill` signals it (`--all`: everything in its cgroup); `delete` removes
//! its cgroup and state directory. `exec` (`exec.rs`) adds a process to it, `ps` and
//! `list` (`ps.rs`) show them, and `hooks.rs` runs `config.json`'s hooks at these steps.
//!
//! **Terminals**: with `process.terminal`, `create` makes the container's terminal as
//! `skiff run -t` does, inside the container (`container::console`), and sends its
//! master over the caller's `--console-socket` (a Unix socket; the descriptor travels
//! as `SCM_RIGHTS` ancillary data, unix(7)); the caller (conmon, containerd's shim)
//! then holds the only copy. runc's rule holds: a terminal needs a socket, a socket a
//! terminal.
//!
//! **`--preserve-fds N`** (`create`, `exec`): the caller's fds 3 to 3+N-1 (conmon's
//! sockets, for socket activation) stay open into the container's process, as runc
//! keeps them; every other descriptor is closed at execve(2).
//!
//! Errors are one line on stderr and exit 1, as runc's; with `--log FILE` also written
//! there, and with `--log-format json` as runc writes them,
//! `{"level":"error","msg":"…","time":"…"}`, which podman and containerd show.
//! <https://github.com/opencontainers/runtime-spec/blob/main/runtime.md>
//! <https://github.com/opencontainers/runc/blob/main/docs/terminals.md>
//! <https://man7.org/linux/man-pages/man7/unix.7.html>

mod exec;
mod hooks;
mod linux;
mod ps;
mod resources;
mod spec;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use miniserde::{json, Deserialize, Serialize};

use crate::cli::{self, Opt};
use crate::container::{self, RootFs, Stdio};
use crate::error::{Context, Error, Result};
use crate::image::LayerDirs;
use crate::lifecycle::signals;
use crate::{cgroup, sys, time};

const GLOBAL_FLAGS: [&str; 5] = [
    "--root",
    "--log",
    "--log-format",
    "--systemd-cgroup",
    "--debug",
];

/// The runtime-spec version skiff's `config.json` reading follows.
const SPEC_VERSION: &str = "1.2.0";

/// The arguments for the runtime CLI, if skiff was called as one (see above).
pub fn runtime_args<'a>(program: &str, args: &'a [String]) -> Option<&'a [String]> {
    let flag = |arg: &String| GLOBAL_FLAGS.contains(&arg.split('=').next().unwrap_or(""));
    match args.first() {
        _ if program.ends_with("-runtime") => Some(args),
        Some(first) if first == "runtime" => Some(&args[1..]),
        Some(first) if flag(first) => Some(args),
        _ => None,
    }
}

/// The global flags.
struct Global {
    root: PathBuf,
    log: Option<PathBuf>,
    json: bool,
}

/// Runs one runtime command; returns the exit code (errors exit 1, as runc's).
pub fn main(args: &[String]) -> i32 {
    let mut global = Global {
        root: PathBuf::from("/run/skiff-runtime"),
        log: None,
        json: false,
    };
    match run(&mut global, args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("skiff: {err}");
            log_error(&global, &err.to_string());
            1
        }
    }
}

#[derive(Serialize)]
struct LogLine<'a> {
    level: &'a str,
    msg: &'a str,
    time: String,
}

fn log_error(global: &Global, msg: &str) {
    let Some(path) = &global.log else {
        return;
    };
    let line = match global.json {
        true => json::to_string(&LogLine {
            level: "error",
            msg,
            time: time::now_precise(),
        }),
        false => format!("skiff: {msg}"),
    };
    let file = OpenOptions::new().create(true).append(true).open(path);
    let _ = file.and_then(|mut file| writeln!(file, "{line}"));
}

const USAGE: &str =
    "Usage:  skiff-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND

skiff as an OCI runtime

Commands:
  create    --bundle DIR [--pid-file FILE] [--console-socket SOCK] [--preserve-fds N]
            ID: make the container, held before its command
  start     ID: run the created container's command
  state     ID: print its state as JSON
  kill      [--all] ID [SIGNAL]: signal it (default SIGTERM)
  delete    [--force] ID: remove it
  exec      [--process FILE | CMD...] [--detach] [--tty] [--console-socket SOCK]
            [--pid-file FILE] [--cwd DIR] [--env K=V] [--user UID[:GID]] [--cap CAP]
            [--no-new-privs] [--preserve-fds N] ID: one more process in it
  ps        [--format table|json] ID: its processes
  list      [--format table|json] [-q]: every container
  features  print what this runtime supports, as JSON";

fn run(global: &mut Global, args: &[String]) -> Result<i32> {
    let mut lexer = cli::Lexer::new(args);
    while let Some(flag) = lexer.next_flag() {
        match flag.name.as_str() {
            "--root" => global.root = lexer.value(&flag)?.into(),
            "--log" => global.log = Some(lexer.value(&flag)?.into()),
            "--log-format" => global.json = lexer.value(&flag)? == "json",
            "--debug" => crate::trace::enable(),
            "--systemd-cgroup" => {
                return Err(Error::invalid(
                    "--systemd-cgroup is not supported by skiff yet",
                ))
            }
            "-v" | "--version" => {
                println!(
                    "skiff-runtime version {}\nspec: {SPEC_VERSION}",
                    env!("CARGO_PKG_VERSION")
                );
                return Ok(0);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(0);
            }
            _ => return Err(cli::unknown(&flag, "skiff-runtime")),
        }
    }
    let rest = lexer.rest();
    let Some((command, rest)) = rest.split_first() else {
        return Err(Error::usage(USAGE));
    };
    let global = &*global;
    let done = match command.as_str() {
        "exec" => return exec::exec(global, rest),
        "create" => create(global, rest),
        "start" => start(global, rest),
        "state" => state(global, rest),
        "kill" => kill(global, rest),
        "delete" => delete(global, rest),
        "ps" => ps::ps(global, rest),
        "list" => ps::list(global, rest),
        "events" => Err(Error::invalid("events is not supported by skiff yet")),
        "features" => {
            println!("{FEATURES}");
            Ok(())
        }
        other => Err(Error::usage(format!(
            "'{other}' is not a skiff-runtime command"
        ))),
    };
    done.map(|()| 0)
}

/// What `state` prints (runtime-spec "State"), and what the state directory keeps.
#[derive(Serialize, Deserialize, Clone)]
struct State {
    #[serde(rename = "ociVersion")]
    oci_version: String,
    id: String,
    status: String,
    pid: i32,
    bundle: String,
    annotations: BTreeMap<String, String>,
    /// Its cgroup (`cgroupsPath`), if not `skiff/ID`.
    #[serde(rename = "cgroupsPath")]
    cgroup: Option<String>,
    /// When `create` made it (RFC 3339), as runc's state adds.
    created: String,
}

/// The one positional argument, a container's ID; never a path.
fn one_id(rest: Vec<String>, command: &str) -> Result<String> {
    let [id] = <[String; 1]>::try_from(rest)
        .map_err(|_| Error::usage(format!("{command} takes exactly one container ID")))?;
    let bad = id.is_empty()
        || id == "."
        || id == ".."
        || id.contains(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)));
    match bad {
        true => Err(Error::usage(format!("invalid container ID {id:?}"))),
        false => Ok(id),
    }
}

fn create(global: &Global, argv: &[String]) -> Result<()> {
    let (mut bundle, mut pid_file, mut console, mut fds) = (None, None, None, None);
    let (mut no_pivot, mut no_keyring) = (false, false);
    let options = &mut [
        Opt::Value(&["-b", "--bundle"], &mut bundle),
        Opt::Value(&["--pid-file"], &mut pid_file),
        Opt::Value(&["--console-socket"], &mut console),
        Opt::Value(&["--preserve-fds"], &mut fds),
        // skiff always pivots, and never makes a session keyring: both asked for less.
        Opt::Switch(&["--no-pivot"], &mut no_pivot),
        Opt::Switch(&["--no-new-keyring"], &mut no_keyring),
    ];
    let id = one_id(cli::parse(argv, "create", USAGE, options)?, "create")?;
    let preserved = preserved_fds(fds.as_deref())?;
    let bundle = fs::canonicalize(bundle.as_deref().unwrap_or(".")).context("bundle")?;
    let text = fs::read_to_string(bundle.join("config.json")).context("read config.json")?;
    let bundle_spec = spec::parse(&text, &bundle, &id)?;
    // Every process from here on runs from a copy of skiff nobody can write to (CVE-2019-5736).
    container::reexec_from_sealed_copy()?;
    // After the re-execution, which would close it.
    let console = console_socket(console.as_deref(), bundle_spec.terminal.is_some())?;
    let cgroup = bundle_spec.config.cgroup().to_string();
    // As runc 1.2: a failed create, and delete, kill everything in the cgroup, so it
    // must be the container's alone (not `/system.slice`, not another container's).
    if bundle_spec.config.cgroup.is_some() && cgroup::occupied(&cgroup) {
        return Err(Error::invalid(format!(
            "linux.cgroupsPath {cgroup} holds processes already: a container's cgroup must be its own"
        )));
    }
    fs::create_dir_all(&global.root)
        .with_context(|| format!("create {}", global.root.display()))?;
    let dir = global.root.join(&id);
    fs::create_dir(&dir).map_err(|_| Error::invalid(format!("container {id} exists already")))?;
    let made = made(&dir, bundle_spec, &bundle, console, preserved);
    if made.is_err() {
        let _ = cgroup::sweep(&cgroup);
        let _ = fs::remove_dir_all(&dir);
    }
    let pid = made?;
    if let Some(path) = pid_file {
        fs::write(&path, pid.to_string()).with_context(|| format!("write {path}"))?;
    }
    Ok(())
}

/// `--preserve-fds N`: fds 3 to 3+N-1 of the runtime's, open (and not close-on-exec:
/// passed to it by its caller), stay open into the container's process, as runc keeps
/// them. Setting `LISTEN_FDS` for socket activation is the caller's part. No
/// descriptor is numbered at or past the soft `RLIMIT_NOFILE`, so a count that would
/// reach it names descriptors that cannot be open: refused, as a mistake.
fn preserved_fds(count: Option<&str>) -> Result<RawFd> {
    let count = count.unwrap_or("0");
    let limit = sys::open_file_limit()?;
    let valid = count
        .parse()
        .ok()
        .filter(|n: &RawFd| *n >= 0 && n.saturating_add(3) <= limit);
    valid.ok_or_else(|| {
        Error::usage(format!(
            "--preserve-fds {count:?}: not a number of descriptors from fd 3 below RLIMIT_NOFILE ({limit})"
        ))
    })
}

/// The console socket at `path`, connected, when the process has a terminal
/// (`terminal`); runc's rule: a terminal needs a socket, and a socket a terminal.
fn console_socket(path: Option<&str>, terminal: bool) -> Result<Option<UnixStream>> {
    match (path, terminal) {
        (None, false) => Ok(None),
        (None, true) => Err(Error::invalid(
            "a terminal (process.terminal) needs --console-socket",
        )),
        (Some(_), false) => Err(Error::invalid(
            "--console-socket needs a terminal (process.terminal)",
        )),
        (Some(path), true) => UnixStream::connect(path)
            .with_context(|| format!("connect to the console socket {path}"))
            .map(Some),
    }
}

/// Sends the master of a terminal made in the container over the console socket
/// (`SCM_RIGHTS`, with its name as the message, as runc sends it); skiff's copy then
/// closes, so the caller's is the only one.
fn hand_over(socket: &UnixStream, master: Option<File>) -> Result<()> {
    let master = master.ok_or_else(|| Error::invalid("the container sent no terminal"))?;
    sys::send_fd(socket, &master, b"/dev/ptmx").context("send the terminal's master")
}

/// Makes the container, held at its `exec.fifo`, and records its state; its PID 1.
/// With `console`, its terminal's master goes there; `preserved`: `--preserve-fds`.
fn made(
    dir: &Path,
    bundle: spec::Bundle,
    path: &Path,
    console: Option<UnixStream>,
    preserved: RawFd,
) -> Result<i32> {
    let fifo_path = dir.join("exec.fifo");
    sys::mknod(&fifo_path, libc::S_IFIFO, 0, 0)?;
    // Writable by the container's user, whoever it is (and past the umask).
    let mode = fs::Permissions::from_mode(0o622);
    fs::set_permissions(&fifo_path, mode).context("chmod exec.fifo")?;
    // Not OpenOptions: musl's O_ACCMODE holds O_PATH, so Rust's std masks it away.
    let state_dir = OwnedFd::from(File::open(dir).context("open the state directory")?);
    let fifo = sys::open_path_at(&state_dir, OsStr::new("exec.fifo"))?;
    let netns = bundle
        .netns
        .as_ref()
        .map(File::open)
        .transpose()
        .context("open the network namespace")?;
    let layers = LayerDirs::of_directory(&bundle.root).context("config.json: root.path")?;
    let rootfs = RootFs {
        scratch: dir.to_path_buf(),
        layers: Some(layers),
        in_place: true,
        ..RootFs::default()
    };
    let mut state = State {
        oci_version: SPEC_VERSION.into(),
        id: bundle.config.id.clone(),
        status: "creating".into(),
        pid: 0,
        bundle: path.display().to_string(),
        annotations: bundle.annotations,
        cgroup: bundle.config.cgroup.clone(),
        created: time::now_precise(),
    };
    // While its process waits before pivot_root(2) (see `hooks.rs`).
    let created = |pid| {
        let state = json::to_string(&State {
            pid,
            ..state.clone()
        });
        hooks::created(&bundle.hooks, pid, &state)
    };
    let stdio = Stdio {
        gate: Some(fifo.as_raw_fd()),
        tty: bundle.terminal.is_some(),
        size: bundle.terminal.and_then(|terminal| terminal.size),
        before_pivot: bundle.hooks.any_before_pivot().then_some(&created as _),
        preserved,
        ..Stdio::default()
    };
    let started = container::start(&bundle.config, &rootfs, &stdio, netns)?;
    let pid = started.pid;
    state.pid = pid;
    let recorded = console
        .map_or(Ok(()), |socket| hand_over(&socket, started.terminal))
        .and_then(|()| hooks::save(dir, &bundle.hooks))
        .and_then(|()| {
            state.status = "created".into();
            fs::write(dir.join("state.json"), json::to_string(&state)).context("write state.json")
        });
    if recorded.is_err() {
        // Its child, held: ended and reaped here, so that nothing of it is left.
        let _ = sys::kill(pid, libc::SIGKILL);
        let _ = sys::wait_for_exit(pid);
    }
    recorded.map(|()| pid)
}

/// Container `id`'s state, its status as of now: `created` while held at its fifo,
/// `running` while its PID 1 lives, else `stopped`.
fn load(global: &Global, id: &str) -> Result<(PathBuf, State)> {
    let dir = global.root.join(id);
    let text = fs::read_to_string(dir.join("state.json"))
        .map_err(|_| Error::invalid(format!("container {id} does not exist")))?;
    let mut state: State = json::from_str(&text)
        .map_err(|_| Error::invalid(format!("{}: not a state record", dir.display())))?;
    state.status = match alive(state.pid) {
        false => "stopped",
        true if dir.join("exec.fifo").exists() => "created",
        true => "running",
    }
    .into();
    Ok((dir, state))
}

/// Whether `pid` is a process that has not exited (proc_pid_stat(5): its state field,
/// after the command's closing parenthesis, is not Z or X).
fn alive(pid: i32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    state.is_some_and(|state| state != 'Z' && state != 'X')
}

fn start(global: &Global, argv: &[String]) -> Result<()> {
    let id = one_id(cli::parse(argv, "start", USAGE, &mut [])?, "start")?;
    let (dir, state) = load(global, &id)?;
    if state.status != "created" {
        return Err(Error::invalid(format!(
            "cannot start a container that is {}",
            state.status
        )));
    }
    let saved = hooks::saved(&dir);
    hooks::in_container(&saved, &id, state.pid, &json::to_string(&state))?;
    let fifo = dir.join("exec.fifo");
    // Its pidfd first: once the fifo is open the program runs, and a short one may have
    // ended and been reaped (by the caller's subreaper) before a later pidfd_open(2).
    let Some(pidfd) = sys::pidfd_open_unless_ended(state.pid)? else {
        return Err(Error::invalid(format!(
            "container {id} ended before it started"
        )));
    };
    // O_NONBLOCK: open(2) returns at once, and so does the container's open for
    // writing; poll(2) then waits for its one byte, or for its end (its pidfd), so a
    // container that died held is not waited for forever. execve(2) closes its end.
    let mut held = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .context("open exec.fifo")?;
    sys::poll_readable(&[held.as_raw_fd(), pidfd.as_raw_fd()], -1)?;
    let read = held.read(&mut [0]).unwrap_or(0);
    fs::remove_file(&fifo).context("remove exec.fifo")?;
    if read == 0 {
        return Err(Error::invalid(format!(
            "container {id} ended before it started"
        )));
    }
    let state = State {
        status: "running".into(),
        ..state
    };
    hooks::after("poststart", &saved.poststart, &json::to_string(&state));
    Ok(())
}

fn state(global: &Global, argv: &[String]) -> Result<()> {
    let id = one_id(cli::parse(argv, "state", USAGE, &mut [])?, "state")?;
    let (_, state) = load(global, &id)?;
    println!("{}", json::to_string(&state));
    Ok(())
}

fn kill(global: &Global, argv: &[String]) -> Result<()> {
    let mut all = false;
    let mut rest = cli::parse(
        argv,
        "kill",
        USAGE,
        &mut [Opt::Switch(&["-a", "--all"], &mut all)],
    )?;
    let signal = match rest.len() {
        2 => signals::parse(&rest.remove(1))?,
        _ => libc::SIGTERM,
    };
    let id = one_id(rest, "kill")?;
    let (_, state) = load(global, &id)?;
    if state.status == "stopped" {
        return Err(Error::invalid(format!("container {id} is not running")));
    }
    if all {
        // Best effort, as for runc: a process may exit meanwhile.
        for pid in cgroup::procs(state.cgroup.as_deref().unwrap_or(&id)) {
            let _ = sys::kill(pid, signal);
        }
        return Ok(());
    }
    sys::kill(state.pid, signal)
}

fn delete(global: &Global, argv: &[String]) -> Result<()> {
    let mut force = false;
    let rest = cli::parse(
        argv,
        "delete",
        USAGE,
        &mut [Opt::Switch(&["-f", "--force"], &mut force)],
    )?;
    let id = one_id(rest, "delete")?;
    // runc's `delete --force` of no such container succeeds: podman asks it after a
    // failed `create`, which took back what it made.
    let (dir, state) = match load(global, &id) {
        Err(_) if force && !global.root.join(&id).exists() => return Ok(()),
        loaded => loaded?,
    };
    if state.status == "running" && !force {
        return Err(Error::invalid(format!(
            "cannot delete container {id} that is not stopped: running"
        )));
    }
    if state.status != "stopped" {
        let _ = sys::kill(state.pid, libc::SIGKILL); // its PID namespace dies with it
        if let Ok(pidfd) = sys::pidfd_open(state.pid) {
            sys::poll_readable(&[pidfd.as_raw_fd()], -1)?; // readable once it has exited
        }
    }
    let _ = cgroup::sweep(state.cgroup.as_deref().unwrap_or(&id));
    let state = State {
        status: "stopped".into(),
        ..state
    };
    hooks::after(
        "poststop",
        &hooks::saved(&dir).poststop,
        &json::to_string(&state),
    );
    fs::remove_dir_all(&dir).with_context(|| format!("remove {}", dir.display()))
}

/// runtime-spec `features.md`: what this runtime honours of `config.json`.
const FEATURES: &str = r#"{"ociVersionMin":"1.0.0","ociVersionMax":"1.3.0","hooks":["prestart","createRuntime","createContainer","startContainer","poststart","poststop"],"mountOptions":["async","atime","bind","defaults","diratime","dirsync","exec","mand","noatime","nodev","nodiratime","noexec","nomand","norelatime","nostrictatime","nosuid","private","rbind","relatime","ro","rprivate","rshared","rslave","runbindable","rw","shared","slave","strictatime","suid","sync","tmpcopyup","unbindable"],"linux":{"namespaces":["pid","mount","ipc","uts","cgroup","network","user"],"cgroup":{"v1":true,"v2":true,"systemd":false,"systemdUser":false},"seccomp":{"enabled":true,"actions":["SCMP_ACT_ALLOW","SCMP_ACT_ERRNO","SCMP_ACT_KILL","SCMP_ACT_KILL_PROCESS","SCMP_ACT_KILL_THREAD","SCMP_ACT_LOG","SCMP_ACT_TRAP"],"operators":["SCMP_CMP_EQ","SCMP_CMP_GE","SCMP_CMP_GT","SCMP_CMP_LE","SCMP_CMP_LT","SCMP_CMP_MASKED_EQ","SCMP_CMP_NE"],"archs":["SCMP_ARCH_X86_64"],"knownFlags":[],"supportedFlags":[]},"apparmor":{"enabled":false},"selinux":{"enabled":false}},"annotations":{"org.opencontainers.runtime-spec.features.skiff":"maskedPaths and readonlyPaths resolved inside the root; cgroupsPath in cgroupfs form; device cgroup lists that deny all, then allow; every mount nodev but a /dev a device cgroup guards; nothing mounted without a mount namespace of its own; mounts private first, so propagation types act within the container only"}}"#;
