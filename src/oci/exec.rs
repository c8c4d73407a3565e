//! The runtime's `exec`: one more process in a created or running container, as conmon
//! (`exec --pid-file P --process F --detach [--console-socket S]`) and containerd
//! call it.
//!
//! The process is described as runtime-spec `config.md` describes the container's own:
//! a `process` object, from the file `--process` names (read by the same code as
//! `config.json`'s, `spec::process_file`), or else the bundle's own `process` with the
//! command given here, and `--cwd`, `--env`, `--user`, `--cap`, `--no-new-privs` and
//! `--tty` on top. It joins the container with the very code `skiff exec` uses
//! (`container::join`: setns(2) into its namespaces, its cgroup, its root, and a second
//! fork so that it is in its PID namespace); its capabilities are the ones the process
//! names, as runc gives them, not the container's.
//!
//! Without `--detach` the runtime waits for it and exits with its status, as runc does.
//! With `--detach` it writes `--pid-file` and exits at once: the process, its child,
//! passes to the caller's child subreaper (conmon, containerd's shim), which reaps it,
//! as with `create`. With a terminal (`process.terminal`, `--tty`) the process makes its
//! pseudo-terminal inside the container as `skiff exec -t` does (see
//! `container::console`), and its master goes to the console socket; without a socket,
//! an attached exec relays it to the runtime's own terminal, as runc does.
//! <https://github.com/opencontainers/runc/blob/main/docs/terminals.md>
//! <https://man7.org/linux/man-pages/man2/PR_SET_CHILD_SUBREAPER.2const.html>

use std::fs;
use std::path::Path;

use super::spec::{self, Runnable};
use super::{console_socket, hand_over, load, one_id, preserved_fds, Global, USAGE};
use crate::cli::{self, Opt};
use crate::container::{self, Exec, FORWARDED};
use crate::error::{Context, Error, Result};
use crate::sys;

/// `exec`'s flags, as runc takes them.
#[derive(Default)]
struct Flags {
    pid_file: Option<String>,
    process: Option<String>,
    console: Option<String>,
    cwd: Option<String>,
    user: Option<String>,
    preserve_fds: Option<String>,
    label: Option<String>,
    env: Vec<String>,
    caps: Vec<String>,
    detach: bool,
    tty: bool,
    no_new_privs: bool,
}

/// `exec [FLAGS] ID [CMD…]`: the process's exit status, or 0 with `--detach`.
pub fn exec(global: &Global, argv: &[String]) -> Result<i32> {
    let (f, id, command) = parse(argv)?;
    let (_, state) = load(global, &id)?;
    if state.status == "stopped" {
        return Err(Error::invalid(format!(
            "cannot exec in a stopped container {id}"
        )));
    }
    let runnable = runnable(&f, &state.bundle, &id, command)?;
    // CVE-2019-5736: no path to the host's binary from inside; before the socket is
    // connected, which the re-execution would close.
    container::reexec_from_sealed_copy()?;
    // runc's exception: an attached exec without a socket relays its terminal itself.
    let relayed = runnable.terminal.is_some() && f.console.is_none() && !f.detach;
    let socket = console_socket(
        f.console.as_deref(),
        runnable.terminal.is_some() && !relayed,
    )?;
    let mut exec = exec_of(runnable, socket.is_some())?;
    exec.preserved = preserved_fds(f.preserve_fds.as_deref())?;
    let pidfd = sys::pidfd_open(state.pid)?;
    let join = |exec: &Exec| {
        let joined = container::join(&id, state.pid, pidfd, exec)
            .with_context(|| format!("exec in {id}"))?;
        write_pid_file(f.pid_file.as_deref(), joined.pid)?;
        Ok(joined)
    };
    if exec.tty && socket.is_none() {
        return crate::cmd::exec::in_terminal(&exec, join); // poll(2) relay, as `skiff exec -t`
    }
    if !f.detach {
        sys::forward_signals(&FORWARDED)?; // sigaction(2); to the process once it is known
    }
    let joined = join(&exec)?;
    if let Some(socket) = &socket {
        hand_over(socket, joined.terminal)?; // sendmsg(2): SCM_RIGHTS
    }
    if f.detach {
        return Ok(0);
    }
    Ok(sys::wait_for_exit(joined.pid)?.status()) // waitpid(2)
}

/// The flags, the container's ID and the command, if any.
fn parse(argv: &[String]) -> Result<(Flags, String, Vec<String>)> {
    let mut f = Flags::default();
    let rest = cli::parse(
        argv,
        "exec",
        USAGE,
        &mut [
            Opt::Value(&["--pid-file"], &mut f.pid_file),
            Opt::Value(&["-p", "--process"], &mut f.process),
            Opt::Value(&["--console-socket"], &mut f.console),
            Opt::Value(&["--cwd"], &mut f.cwd),
            Opt::Value(&["-u", "--user"], &mut f.user),
            Opt::Value(&["--preserve-fds"], &mut f.preserve_fds),
            Opt::Value(&["--process-label"], &mut f.label),
            Opt::List(&["-e", "--env"], &mut f.env),
            Opt::List(&["-c", "--cap"], &mut f.caps),
            Opt::Switch(&["-d", "--detach"], &mut f.detach),
            Opt::Switch(&["-t", "--tty"], &mut f.tty),
            Opt::Switch(&["--no-new-privs"], &mut f.no_new_privs),
        ],
    )?;
    preserved_fds(f.preserve_fds.as_deref())?;
    if f.label.as_deref().is_some_and(|label| !label.is_empty()) {
        return Err(Error::invalid(
            "--process-label is not supported by skiff (no SELinux)",
        ));
    }
    match rest.split_first() {
        Some((id, command)) => Ok((f, one_id(vec![id.clone()], "exec")?, command.to_vec())),
        None => Err(Error::usage("exec needs a container ID")),
    }
}

/// The process to run: `--process`'s file, or the bundle's `process` running
/// `command`; with the flags on top.
fn runnable(f: &Flags, bundle: &str, id: &str, command: Vec<String>) -> Result<Runnable> {
    let mut runnable = match (&f.process, command.is_empty()) {
        (Some(path), true) => {
            let text = fs::read_to_string(path).with_context(|| format!("read {path}"))?;
            spec::process_file(&text).with_context(|| format!("exec --process {path}"))?
        }
        (Some(_), false) => {
            return Err(Error::usage("exec takes a command or --process, not both"))
        }
        (None, true) => return Err(Error::usage("exec needs a command, or --process")),
        (None, false) => {
            let dir = Path::new(bundle);
            let text = fs::read_to_string(dir.join("config.json"))
                .with_context(|| format!("read {bundle}/config.json"))?;
            let bundle = spec::parse(&text, dir, id)?;
            let mut process = bundle.config.process;
            process.argv = command;
            Runnable {
                process,
                options: bundle.config.options,
                terminal: None,
            }
        }
    };
    let process = &mut runnable.process;
    process.env.extend(f.env.iter().cloned());
    process.workdir = f.cwd.clone().unwrap_or(process.workdir.clone());
    process.user = f.user.clone().or(process.user.take());
    runnable.options.cap_add.extend(f.caps.iter().cloned());
    runnable.options.no_new_privileges |= f.no_new_privs;
    if f.tty && runnable.terminal.is_none() {
        runnable.terminal = Some(spec::Terminal { size: None });
    }
    Ok(runnable)
}

/// What `container::join` runs. The runtime's stdio is the process's (the caller's
/// pipes), unless it has a terminal; `socket`: its master goes to a console socket,
/// else to the runtime's own terminal.
fn exec_of(runnable: Runnable, socket: bool) -> Result<Exec> {
    let capabilities = runnable.options.cap_add.iter().try_fold(0, |set, name| {
        Ok::<_, Error>(set | container::capability(name)?)
    })?;
    let tty = runnable.terminal.is_some();
    // `consoleSize`, else our own terminal's (TIOCGWINSZ), if we have one.
    let size = runnable
        .terminal
        .as_ref()
        .and_then(|terminal| terminal.size);
    let size = size.or_else(|| tty.then(crate::terminal::size).flatten());
    Ok(Exec {
        process: runnable.process,
        privileged: false,
        capabilities: Some(capabilities),
        options: runnable.options,
        // Relayed from our terminal only if stdin is one: `interactive` enters raw mode.
        interactive: !tty || socket || sys::isatty(0),
        detach: false, // `--detach` is the runtime's: the process keeps its stdio
        tty,
        size,
        preserved: 0, // `--preserve-fds`, the caller's
    })
}

/// `--pid-file`: the process's pid, as the host sees it.
fn write_pid_file(path: Option<&str>, pid: libc::pid_t) -> Result<()> {
    match path {
        Some(path) => fs::write(path, pid.to_string()).with_context(|| format!("write {path}")),
        None => Ok(()),
    }
}
