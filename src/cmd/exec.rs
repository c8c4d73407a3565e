//! `skiff exec [OPTIONS] CONTAINER COMMAND [ARG...]`: run one more command in a running
//! container, as `docker exec` does (see `container::join` for how).

use std::fs::File;

use crate::cli::{self, Lexer};
use crate::container::{self, Config, EnvFlags, Exec, Joined, Process, FORWARDED};
use crate::error::{Context, Error, Kind, Result};
use crate::lifecycle::{self, Container, Status};
use crate::sys;
use crate::terminal::{self, RawMode};
use crate::trace;

pub const HELP: &str = "Usage:  skiff exec [OPTIONS] CONTAINER COMMAND [ARG...]

Execute a command in a running container

Options:
  -d, --detach          Detached mode: run command in the background
  -e, --env list        Set environment variables
      --env-file list   Read in a file of environment variables
  -h, --help            Print usage
  -i, --interactive     Keep STDIN open even if not attached
      --privileged      Give extended privileges to the command
  -t, --tty             Allocate a pseudo-TTY
      --trace           Narrate every kernel step on stderr (also SKIFF_TRACE=1)
  -u, --user string     Username or UID (format: \"<name|uid>[:<group|gid>]\")
  -w, --workdir string  Working directory inside the container";

#[derive(Debug, Default)]
pub struct Args {
    container: String,
    command: Vec<String>,
    env: EnvFlags,
    workdir: Option<String>,
    user: Option<String>,
    privileged: bool,
    interactive: bool,
    detach: bool,
    tty: bool,
}

pub fn main(argv: &[String]) -> Result<i32> {
    match parse(argv)? {
        Some(args) => run(args),
        None => cli::help(HELP),
    }
}

/// `None` when help was asked for.
fn parse(argv: &[String]) -> Result<Option<Args>> {
    let mut lexer = Lexer::new(argv);
    let mut args = Args::default();
    let mut tracing = std::env::var("SKIFF_TRACE").is_ok_and(|v| v == "1");
    while let Some(flag) = lexer.next_flag() {
        match flag.name.as_str() {
            "-h" | "--help" => return Ok(None),
            "-d" | "--detach" => args.detach = lexer.switch(&flag)?,
            env if EnvFlags::NAMES.contains(&env) => args.env.add(env, lexer.value(&flag)?),
            "-i" | "--interactive" => args.interactive = lexer.switch(&flag)?,
            "--privileged" => args.privileged = lexer.switch(&flag)?,
            "-t" | "--tty" => args.tty = lexer.switch(&flag)?,
            "--trace" => tracing = lexer.switch(&flag)?,
            "-u" | "--user" => args.user = Some(lexer.value(&flag)?).filter(|u| !u.is_empty()),
            "-w" | "--workdir" => args.workdir = Some(lexer.value(&flag)?),
            _ => return Err(cli::unknown(&flag, "exec")),
        }
    }
    if args.tty && args.detach {
        return Err(Error::usage(
            "skiff exec -d -t: no pseudo-TTY for a detached exec yet; leave out -t",
        ));
    }
    if let Some(dir) = args.workdir.as_ref().filter(|dir| !dir.starts_with('/')) {
        return Err(Error::usage(format!(
            "the working directory '{dir}' is invalid, it needs to be an absolute path"
        )));
    }
    let mut rest = lexer.rest().into_iter();
    let (Some(container), Some(_)) = (rest.next(), rest.as_slice().first()) else {
        return Err(Error::usage(
            "\"skiff exec\" requires at least 2 arguments.\nSee 'skiff exec --help'.",
        ));
    };
    args.container = container;
    args.command = rest.collect();
    if tracing {
        trace::enable();
    }
    Ok(Some(args))
}

fn run(args: Args) -> Result<i32> {
    if args.tty && args.interactive {
        terminal::check_input()?; // as `run -it`, before anything
    }
    container::reexec_from_sealed_copy()?; // CVE-2019-5736: no path to the host's binary from inside
    let (container, pidfd) = running(&args.container)?;
    let exec = exec_of(&args, &container.config)?;
    let join = |exec: &Exec| {
        container::join(&container.config.id, container.state.pid.pid, pidfd, exec)
            .with_context(|| format!("exec {}", args.container))
    };
    if args.tty {
        return in_terminal(&exec, join);
    }
    if !args.detach {
        sys::forward_signals(&FORWARDED)?; // sigaction(2); to the command once it is known
    }
    let pid = join(&exec)?.pid;
    if args.detach {
        return Ok(0);
    }
    Ok(sys::wait_for_exit(pid)?.status()) // waitpid(2)
}

/// `-t`: the command's terminal relayed to ours (see `terminal`), ours in raw mode
/// while `-i` gives it our input; signals come through the relay's loop.
pub fn in_terminal(exec: &Exec, join: impl FnOnce(&Exec) -> Result<Joined>) -> Result<i32> {
    let signals = terminal::catch_signals(&FORWARDED)?; // sigprocmask(2), signalfd(2)
    let raw = match exec.interactive {
        true => Some(RawMode::enter(0)?), // tcsetattr(3); restored when dropped
        false => None,
    };
    let joined = join(exec)?;
    let master = joined
        .terminal
        .ok_or_else(|| Error::invalid("-t: the command has no terminal"))?;
    let session = terminal::Session::new(master, joined.pid, None)
        .with_our_terminal(exec.interactive, raw.as_ref())?;
    let relayed = terminal::relay(session, &signals); // poll(2) loop
    drop(raw);
    let exit = sys::wait_for_exit(joined.pid)?; // waitpid(2)
    relayed.map(|_| exit.status())
}

/// The container and a pidfd of its PID 1, if it runs; else Docker's refusal (exit 1).
fn running(query: &str) -> Result<(Container, File)> {
    let container = lifecycle::find(query).map_err(|err| match err.kind() {
        Kind::Invalid(message) => Error::new(Kind::Refused(message.clone())),
        _ => err,
    })?;
    let pid = container.state.pid;
    if container.state.status == Status::Running && pid.pid > 0 {
        let pidfd = sys::pidfd_open_unless_ended(pid.pid)?;
        // Opened before the check: if the pid still has its start time, the pidfd is its.
        if let Some(pidfd) = pidfd.filter(|_| pid.is_alive()) {
            return Ok((container, pidfd));
        }
    }
    Err(Error::new(Kind::Refused(format!(
        "Container {} is not running",
        container.config.id
    ))))
}

/// What to run: the container's environment, user and working directory, as the
/// flags override them.
fn exec_of(args: &Args, config: &Config) -> Result<Exec> {
    let first = &config.process; // the container's first process
    Ok(Exec {
        process: Process {
            argv: args.command.clone(),
            env: args.env.over(&first.env, &config.hostname)?,
            workdir: args
                .workdir
                .clone()
                .unwrap_or_else(|| first.workdir.clone()),
            user: args.user.clone().or_else(|| first.user.clone()),
            groups: first.groups.clone(), // as Docker's exec keeps --group-add
        },
        privileged: args.privileged,
        capabilities: None,
        options: config.options.clone(),
        interactive: args.interactive,
        detach: args.detach,
        tty: args.tty,
        size: args.tty.then(terminal::size).flatten(), // TIOCGWINSZ: set before execve(2)
        preserved: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args;

    #[test]
    fn flags_stop_at_the_container_and_cluster() {
        let parsed = parse(&args(&["-i", "-e", "A=1", "-u", "app", "web", "ls", "-la"]))
            .unwrap()
            .unwrap();
        assert_eq!(parsed.container, "web");
        assert_eq!(parsed.command, args(&["ls", "-la"]));
        let mut env = EnvFlags::default();
        env.add("-e", "A=1".into());
        assert_eq!(parsed.env, env);
        assert_eq!(parsed.user.as_deref(), Some("app"));
        assert!(parsed.interactive && !parsed.detach);
    }

    #[test]
    fn a_command_is_required_and_workdirs_are_absolute() {
        let err = parse(&args(&["web"])).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("\"skiff exec\" requires at least 2 arguments."));
        let err = parse(&args(&["-w", "srv", "web", "true"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the working directory 'srv' is invalid, it needs to be an absolute path"
        );
        assert_eq!(err.exit_code(), 125);
    }

    #[test]
    fn a_tty_is_refused_only_when_detached() {
        let parsed = parse(&args(&["-it", "web", "sh"])).unwrap().unwrap();
        assert!(parsed.tty && parsed.interactive);
        let err = parse(&args(&["-dt", "web", "sh"])).unwrap_err();
        assert!(err.to_string().contains("no pseudo-TTY"), "{err}");
        assert!(parse(&args(&["-d", "-t=false", "web", "sh"])).is_ok());
    }
}
