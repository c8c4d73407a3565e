//! The container's process: finding its command, executing it, and telling the parent
//! how that went.
//!
//! The parent cannot see into the child between fork(2) and execve(2), so they share a
//! pipe whose write end is close-on-exec: a successful execve closes it silently (the
//! parent reads EOF), while a failure writes one tagged line first. That is how
//! `skiff run` exits 127 for a missing command and 126 for one it cannot execute, like
//! `docker run`, instead of leaving the child to invent a status.
//! <https://man7.org/linux/man-pages/man2/execve.2.html>

use std::convert::Infallible;
use std::ffi::CString;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::RawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Kind, Result};
use crate::sys;
use crate::trace;

/// Enters `workdir`, made if missing, while still root: as with Docker, it need not be
/// the container user's to make.
pub fn enter_workdir(workdir: &str) -> Result<()> {
    trace::step("enter the working directory");
    let workdir = Path::new(workdir);
    fs::create_dir_all(workdir).with_context(|| format!("create working directory {workdir:?}"))?;
    sys::chdir(workdir)
}

/// Puts the descriptors the parent chose on fds 0–2 (dup2(2) clears their
/// close-on-exec flag; the originals close in execve(2)).
pub fn take_stdio(fds: &[Option<RawFd>; 3]) -> Result<()> {
    for (target, fd) in (0..).zip(fds) {
        if let Some(fd) = *fd {
            sys::dup2(fd, target)?;
        }
    }
    Ok(())
}

/// Finds `argv[0]` on the container's `PATH` and executes it, with `preserved`
/// descriptors from 3 on left open (the OCI runtime's `--preserve-fds`). Only returns
/// on failure.
pub fn exec(argv: &[String], env: &[String], preserved: RawFd) -> Result<Infallible> {
    trace::step("execve the command: the container is born");
    let program = argv
        .first()
        .ok_or_else(|| Error::invalid("no command specified"))?;
    let path = find_program(program, env)?;
    let err = execute_keeping(&path, argv, env, preserved);
    Err(match err.errno() {
        Some(libc::ENOENT) => Error::new(Kind::CommandNotFound(program.clone())),
        Some(libc::EACCES) => Error::new(Kind::NotExecutable(program.clone())),
        _ => err,
    })
}

/// Executes the program at `path` with `argv` (whose first need not name it, as for
/// the OCI runtime's hooks) and `env`; returns why not.
pub fn execute(path: &Path, argv: &[String], env: &[String]) -> Error {
    execute_keeping(path, argv, env, 0)
}

/// [`execute`], with `preserved` descriptors from 3 on left open.
fn execute_keeping(path: &Path, argv: &[String], env: &[String], preserved: RawFd) -> Error {
    let strings =
        sys::c_string(path).and_then(|path| Ok((path, c_strings(argv)?, c_strings(env)?)));
    let (c_path, c_argv, c_env) = match strings {
        Ok(strings) => strings,
        Err(err) => return err,
    };
    // Ignored signals and the blocked mask outlive execve(2): Rust's runtime ignores
    // SIGPIPE (`yes | head` must end `yes`), and whoever started skiff may have ignored
    // SIGINT or SIGHUP, which a container must get as in any Docker container.
    let closed = sys::close_on_exec_from(3 + preserved).and_then(|()| sys::reset_signals());
    if let Err(err) = closed {
        return err;
    }
    sys::execve(&c_path, &c_argv, &c_env)
}

/// A name with a `/` is a path; otherwise the first executable file of that name in
/// the `PATH` of `env`, the container's (or the host's, for a credential helper), as
/// runc and Go's `exec.LookPath` do.
pub fn find_program(program: &str, env: &[String]) -> Result<PathBuf> {
    if program.contains('/') {
        return Ok(PathBuf::from(program));
    }
    let path_var = env
        .iter()
        .find_map(|kv| kv.strip_prefix("PATH="))
        .unwrap_or("");
    path_var
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| is_executable_file(candidate))
        .ok_or_else(|| Error::new(Kind::CommandNotFound(program.to_string())))
}

fn c_strings(items: &[String]) -> Result<Vec<CString>> {
    items.iter().map(sys::c_string).collect()
}

fn is_executable_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The OCI runtime's `create`: the process, ready, waits before execve(2) on `fifo`,
/// an `O_PATH` descriptor of the state directory's `exec.fifo`, until `start` opens it
/// for reading (fifo(7)). The host's path is out of reach past pivot_root(2), so the
/// fifo is reopened through `/proc/self/fd`, as runc does; through the host's, opened
/// first thing in the process: the container's own /proc may be missing (a container
/// without a mount namespace of its own mounts none).
/// <https://man7.org/linux/man-pages/man7/fifo.7.html>
pub struct Gate {
    fifo: RawFd,
    fds: File,
}

impl Gate {
    pub fn open(fifo: RawFd) -> Result<Gate> {
        let fds = File::open("/proc/self/fd").context("open /proc/self/fd")?;
        Ok(Gate { fifo, fds })
    }

    /// Once its command is found, tells the parent it is ready (and the parent
    /// returns), then waits: open(2) for writing blocks until `start` opens the fifo
    /// for reading. A failure later than this has nobody to tell but the exit status.
    pub fn hold(
        self,
        argv: &[String],
        env: &[String],
        mut pipe: File,
    ) -> std::result::Result<File, (Error, File)> {
        let program = argv.first().map_or("", String::as_str);
        let ready = find_program(program, env)
            .and_then(|_| pipe.write_all(&[READY]).context("write exec status"));
        if let Err(err) = ready {
            return Err((err, pipe));
        }
        trace::step("ready: wait on exec.fifo until `start` opens it");
        let opened = sys::open_write_at(&self.fds, &self.fifo.to_string());
        match opened.and_then(|mut gate| gate.write_all(b"0").context("write exec.fifo")) {
            Ok(()) => Ok(pipe),
            Err(err) => Err((err, pipe)),
        }
    }
}

/// The exec-status pipe's tags: how the child failed, so the parent can pick the exit
/// code; or that it is ready and waits (`hold`).
const READY: u8 = b'R';
const NOT_FOUND: u8 = b'N';
const NOT_EXECUTABLE: u8 = b'X';
const OTHER: u8 = b'E';

/// In the child, after a failure: one tagged line for the parent.
pub fn report_failure(mut pipe: File, err: &Error) {
    let (tag, text) = match err.kind() {
        Kind::CommandNotFound(cmd) => (NOT_FOUND, cmd.clone()),
        Kind::NotExecutable(cmd) => (NOT_EXECUTABLE, cmd.clone()),
        _ => (OTHER, err.to_string()),
    };
    let mut message = vec![tag];
    message.extend_from_slice(text.as_bytes());
    // The parent may be gone (`hold`: the runtime's `create` has returned): then stderr.
    if pipe.write_all(&message).is_err() {
        eprintln!("skiff: {err}");
    }
}

/// In the parent: blocks until the child has exec'd (EOF), is ready and held (`hold`),
/// or reported a failure.
pub fn exec_outcome(mut pipe: File) -> Result<()> {
    let mut tag = [0];
    let read = pipe.read(&mut tag).context("read exec status")?;
    if read == 0 || tag[0] == READY {
        return Ok(());
    }
    let mut text = Vec::new();
    pipe.read_to_end(&mut text).context("read exec status")?;
    let text = String::from_utf8_lossy(&text).into_owned();
    Err(match tag[0] {
        NOT_FOUND => Error::new(Kind::CommandNotFound(text)),
        NOT_EXECUTABLE => Error::new(Kind::NotExecutable(text)),
        _ => Error::invalid(text),
    })
}

/// `-e KEY[=VALUE]` and `--env-file FILE`, as `run`, `create` and `exec` take them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvFlags {
    entries: Vec<String>,
    files: Vec<String>,
}

impl EnvFlags {
    pub const NAMES: [&'static str; 3] = ["-e", "--env", "--env-file"];

    /// Takes the value of `flag`, one of [`EnvFlags::NAMES`].
    pub fn add(&mut self, flag: &str, value: String) {
        match flag {
            "--env-file" => self.files.push(value),
            _ => self.entries.push(value),
        }
    }

    /// `base` (the image's `Env`, or the container's for `exec`) under the files'
    /// entries and then `-e`'s, as Docker orders them; `KEY` alone takes the host's value
    /// of KEY, or is dropped where the host has none.
    pub fn over(&self, base: &[String], hostname: &str) -> Result<Vec<String>> {
        let flags = [
            read_kv_files(&self.files, "env file")?,
            self.entries.clone(),
        ]
        .concat();
        let flags: Vec<String> = flags
            .into_iter()
            .filter_map(|entry| match entry.contains('=') {
                true => Some(entry),
                false => std::env::var(&entry)
                    .ok()
                    .map(|value| format!("{entry}={value}")),
            })
            .collect();
        Ok(environment(base, &flags, hostname))
    }
}

/// The image's `Env`, with what Docker adds when the image leaves it out. `HOME` comes
/// later, from the container's /etc/passwd ([`with_home`]).
fn environment(image_env: &[String], extra: &[String], hostname: &str) -> Vec<String> {
    let mut env: Vec<String> = Vec::new();
    let defaults = [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        format!("HOSTNAME={hostname}"),
    ];
    for entry in defaults.iter().chain(image_env).chain(extra) {
        set_var(&mut env, entry);
    }
    env
}

/// `env` with `HOME` set to the user's home directory, unless the image or `-e` set it.
pub fn with_home(env: &[String], home: &str) -> Vec<String> {
    let mut env = env.to_vec();
    if !env.iter().any(|entry| entry.starts_with("HOME=")) {
        env.push(format!("HOME={home}"));
    }
    env
}

/// `--env-file FILE...` (`what`: "env file"), and `--label-file` ("label file"), which
/// Docker reads alike: one `KEY=VALUE` per line, the value taken verbatim; `KEY` alone is
/// left bare (for the host's value, or an empty label); blank lines and lines starting
/// with `#` say nothing. Whitespace in a key is an error.
/// <https://docs.docker.com/reference/cli/docker/container/run/#env>
pub fn read_kv_files(paths: &[String], what: &str) -> Result<Vec<String>> {
    let mut entries = Vec::new();
    for path in paths {
        let bytes = fs::read(path).with_context(|| format!("open {what} {path}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::usage(format!("{what} {path} is not UTF-8")))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        for line in text.lines() {
            entries.extend(
                env_file_line(line).map_err(|why| Error::usage(format!("{what} {path}: {why}")))?,
            );
        }
    }
    Ok(entries)
}

fn env_file_line(line: &str) -> Result<Option<String>, String> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let key = line.split_once('=').map_or(line, |(key, _)| key);
    if key.is_empty() {
        return Err(format!("no variable name on line '{line}'"));
    }
    if key.contains(char::is_whitespace) {
        return Err(format!("variable '{key}' contains whitespaces"));
    }
    Ok(Some(line.to_string()))
}

/// `KEY=VALUE` replaces an earlier `KEY`, keeping its position.
fn set_var(env: &mut Vec<String>, entry: &str) {
    let key = entry.split_once('=').map_or(entry, |(key, _)| key);
    match env
        .iter_mut()
        .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
    {
        Some(existing) => *existing = entry.to_string(),
        None => env.push(entry.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_env_overrides_defaults_and_flags_override_the_image() {
        let env = environment(&["PATH=/bin".into(), "A=1".into()], &["A=2".into()], "abc");
        assert_eq!(env, ["PATH=/bin", "HOSTNAME=abc", "A=2"]);
    }

    #[test]
    fn home_comes_from_passwd_unless_set() {
        let env = with_home(&["A=1".into()], "/home/app");
        assert_eq!(env, ["A=1", "HOME=/home/app"]);
        assert_eq!(with_home(&["HOME=/x".into()], "/root"), ["HOME=/x"]);
    }

    #[test]
    fn env_file_lines_follow_docker() {
        assert_eq!(
            env_file_line("  A=1 # not a comment ").unwrap().unwrap(),
            "A=1 # not a comment "
        );
        assert_eq!(env_file_line("FROM_HOST").unwrap().unwrap(), "FROM_HOST");
        assert_eq!(env_file_line("   # comment").unwrap(), None);
        assert_eq!(env_file_line("").unwrap(), None);
        assert_eq!(
            env_file_line("A B=1").unwrap_err(),
            "variable 'A B' contains whitespaces"
        );
        assert_eq!(
            env_file_line("=1").unwrap_err(),
            "no variable name on line '=1'"
        );
    }

    #[test]
    fn failures_cross_the_pipe_with_their_kind() {
        let (read, write) = sys::pipe().unwrap();
        report_failure(write, &Error::new(Kind::CommandNotFound("nope".into())));
        let err = exec_outcome(read).unwrap_err();
        assert_eq!(err.exit_code(), 127);
        assert_eq!(
            err.to_string(),
            "exec \"nope\": executable file not found in $PATH"
        );
    }

    #[test]
    fn a_closed_pipe_means_exec_succeeded() {
        let (read, write) = sys::pipe().unwrap();
        drop(write);
        assert!(exec_outcome(read).is_ok());
    }
}
