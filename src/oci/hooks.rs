//! `config.json`'s `hooks`: programs the runtime runs at points of the container's
//! lifecycle, each given the container's state (the JSON `state` prints) on its stdin
//! (runtime-spec `config.md`, "POSIX-platform Hooks"). A hook is a `path`, its `args`
//! (`argv`, the first one its name), its `env` (all of it: nothing is inherited) and a
//! `timeout` in seconds, after which it is killed and counts as failed.
//!
//! Where each kind runs, in runc (`libcontainer`) and in skiff:
//! - `prestart` (deprecated), `createRuntime`, then `createContainer`: once the
//!   container's process has its namespaces and mounts and before its pivot_root(2).
//!   runc's init stops there on its sync pipe while runc runs the first two in the
//!   runtime's namespaces (`procHooks`), then runs `createContainer` itself, in the
//!   container's namespaces. skiff's container process stops there too, on a
//!   socketpair (`container::rootfs::pause`), while `create` runs the first two in
//!   its own namespaces and `createContainer` in a child that has joined the
//!   container's mount, UTS, IPC and network namespaces (setns(2) on a pidfd): the
//!   mounts are made and the host's paths are still in reach, as the spec says. Not
//!   its PID namespace (that would take one more fork(2)), nor its cgroup. Their state
//!   says `creating`, as runc's. A failure fails `create`, which leaves nothing behind.
//! - `startContainer`: runc runs it in the container's init, after `start` opened the
//!   exec fifo and before execve(2) of the program, the path resolved in the
//!   container. skiff runs it in `start` just before it opens the fifo, in the
//!   container with the code `exec` uses (`container::join`: its namespaces, cgroup,
//!   root and PID 1's capabilities): the same place and the same moment for the
//!   program, which is still held. Its argv[0] is its path.
//! - `poststart`: by the runtime, once `start` has let the program run.
//! - `poststop`: by the runtime in `delete`, once the container's processes are gone.
//!   A failure of either only warns (on stderr), as the spec asks; runc's poststart
//!   instead fails `start`.
//!
//! `create` keeps the hooks in the state directory (`hooks.json`), as runc keeps the
//! whole config, so `start` and `delete` need not read the bundle again.
//! <https://github.com/opencontainers/runtime-spec/blob/main/config.md#posix-platform-hooks>
//! <https://github.com/opencontainers/runtime-spec/blob/main/runtime.md#lifecycle>

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;

use miniserde::{json, Deserialize, Serialize};

use crate::container::{self, Exec, Options, Process};
use crate::error::{Context, Error, Result};
use crate::sys;

/// The hooks skiff runs, by kind.
#[derive(Serialize, Deserialize, Default)]
pub struct Hooks {
    pub prestart: Option<Vec<Hook>>,
    #[serde(rename = "createRuntime")]
    pub create_runtime: Option<Vec<Hook>>,
    #[serde(rename = "createContainer")]
    pub create_container: Option<Vec<Hook>>,
    #[serde(rename = "startContainer")]
    pub start_container: Option<Vec<Hook>>,
    pub poststart: Option<Vec<Hook>>,
    pub poststop: Option<Vec<Hook>>,
}

#[derive(Serialize, Deserialize)]
pub struct Hook {
    path: String,
    args: Option<Vec<String>>,
    env: Option<Vec<String>>,
    timeout: Option<i32>,
}

impl Hook {
    /// Its argv: `args`, or else its path alone.
    fn argv(&self) -> Vec<String> {
        self.args.clone().unwrap_or_else(|| vec![self.path.clone()])
    }
}

const SAVED: &str = "hooks.json";

/// Keeps `hooks` in the state directory `dir`, for `start` and `delete`.
pub fn save(dir: &Path, hooks: &Hooks) -> Result<()> {
    fs::write(dir.join(SAVED), json::to_string(hooks)).context("write hooks.json")
}

/// The hooks `create` kept in `dir` (none if it kept none).
pub fn saved(dir: &Path) -> Hooks {
    let text = fs::read_to_string(dir.join(SAVED)).unwrap_or_default();
    json::from_str(&text).unwrap_or_default()
}

impl Hooks {
    /// The kinds run before the container's pivot_root(2), in order, each with whether
    /// it runs in the container's namespaces.
    fn before_pivot(&self) -> [(&str, &Option<Vec<Hook>>, bool); 3] {
        [
            ("prestart", &self.prestart, false),
            ("createRuntime", &self.create_runtime, false),
            ("createContainer", &self.create_container, true),
        ]
    }

    /// Whether any hook runs before the container's pivot_root(2).
    pub fn any_before_pivot(&self) -> bool {
        let kinds = self.before_pivot();
        kinds
            .iter()
            .any(|(_, list, _)| list.iter().flatten().next().is_some())
    }
}

/// The container's namespaces a `createContainer` hook joins.
const CONTAINER_NAMESPACES: libc::c_int =
    libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::CLONE_NEWNET;

/// `prestart`, `createRuntime`, then `createContainer`, for container PID 1 `pid`
/// held before its pivot_root(2): the first failure fails `create`.
pub fn created(hooks: &Hooks, pid: libc::pid_t, state: &str) -> Result<()> {
    let pidfd = sys::pidfd_open(pid)?;
    for (kind, list, inside) in hooks.before_pivot() {
        for hook in list.iter().flatten() {
            let container = inside.then_some(&pidfd);
            run(hook, state, container).with_context(|| format!("{kind} hook {}", hook.path))?;
        }
    }
    Ok(())
}

/// `poststart` or `poststop` (`kind`), each failure a warning.
pub fn after(kind: &str, list: &Option<Vec<Hook>>, state: &str) {
    for hook in list.iter().flatten() {
        if let Err(err) = run(hook, state, None) {
            eprintln!("skiff: warning: {kind} hook {}: {err}", hook.path);
        }
    }
}

/// `startContainer`, each in container `id` (PID 1 `pid`): the first failure fails `start`.
pub fn in_container(hooks: &Hooks, id: &str, pid: libc::pid_t, state: &str) -> Result<()> {
    for hook in hooks.start_container.iter().flatten() {
        let context = || format!("startContainer hook {}", hook.path);
        let mut argv = hook.argv();
        argv[0].clone_from(&hook.path); // found by its path, in the container
        let exec = Exec {
            process: Process {
                argv,
                env: hook.env.clone().unwrap_or_default(),
                workdir: "/".into(),
                user: None,
                groups: None,
            },
            privileged: false,
            capabilities: None, // its PID 1's
            options: Options {
                seccomp: Some("unconfined".into()),
                ..Default::default()
            },
            interactive: true, // our stdin: the state, below
            detach: false,
            tty: false,
            size: None,
            preserved: 0,
        };
        stdin_from(state)?;
        let joined =
            container::join(id, pid, sys::pidfd_open(pid)?, &exec).with_context(context)?;
        finish(joined.pid, hook).with_context(context)?;
    }
    Ok(())
}

/// Runs `hook` in the runtime's namespaces, or with `container` (a pidfd of its PID
/// 1) in the container's, and waits for it.
fn run(hook: &Hook, state: &str, container: Option<&File>) -> Result<()> {
    let env = hook.env.clone().unwrap_or_default();
    stdin_from(state)?;
    let Some(pid) = sys::fork()? else {
        let joined = container.map(|pidfd| sys::setns(pidfd, CONTAINER_NAMESPACES, "pidfd"));
        let err = match joined.transpose() {
            Ok(_) => container::execute(Path::new(&hook.path), &hook.argv(), &env),
            Err(err) => err,
        };
        eprintln!("skiff: {err}");
        sys::exit_now(127)
    };
    finish(pid, hook)
}

/// Makes our stdin a pipe holding `state`, for the hook we start next to inherit.
fn stdin_from(state: &str) -> Result<()> {
    let (read, mut write): (File, File) = sys::pipe()?;
    // A state is far smaller than a pipe's buffer (64 KiB): this never blocks.
    write
        .write_all(state.as_bytes())
        .context("write the state to a hook")?;
    sys::dup2(read.as_raw_fd(), 0)
}

/// Waits for hook `pid` up to its timeout (then kills it); fails unless it exited 0.
fn finish(pid: libc::pid_t, hook: &Hook) -> Result<()> {
    let pidfd = sys::pidfd_open(pid)?;
    let limit = hook
        .timeout
        .filter(|t| *t > 0)
        .map_or(-1, |t| t.saturating_mul(1000));
    let ended = sys::poll_readable(&[pidfd.as_raw_fd()], limit)?[0];
    if !ended {
        let _ = sys::kill(pid, libc::SIGKILL);
    }
    let status = sys::wait_for_exit(pid)?.status(); // waitpid(2): reap it
    match (ended, status) {
        (false, _) => Err(Error::invalid(format!(
            "timed out after {} s",
            hook.timeout.unwrap_or(0)
        ))),
        (true, 0) => Ok(()),
        (true, status) => Err(Error::invalid(format!("exit status {status}"))),
    }
}
