//! `skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]`: pull if needed, record a new
//! container, and run it in the foreground (or, with `-d`, under a supervisor).

use crate::cgroup::{self, Limits};
use crate::cli::{self, Lexer};
use crate::container::{self, Spec};
use crate::digest::Digest;
use crate::error::{Context, Error, Result};
use crate::image::config::RunConfig;
use crate::image::store::{self, Store};
use crate::image::Image;
use crate::lifecycle::{self, names, signals, supervisor, Config, Container};
use crate::progress::Progress;
use crate::reference::Reference;
use crate::registry::{
    self,
    manifest::{self, Platform},
};
use crate::{terminal, trace};

pub const HELP: &str = "Usage:  skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]

Create and run a new container from an image

Options:
      --cap-add list        Add Linux capabilities (NAME, CAP_NAME or ALL)
      --cap-drop list       Drop Linux capabilities (NAME, CAP_NAME or ALL)
      --cpu-shares int      CPU shares (relative weight)
      --cpus decimal        Number of CPUs
      --cpuset-cpus string  CPUs in which to allow execution (0-3, 0,1)
  -d, --detach              Run container in background and print container ID
      --entrypoint string   Overwrite the default ENTRYPOINT of the image
  -e, --env list            Set environment variables (KEY=VALUE, or KEY to pass the host's)
      --env-file list       Read in a file of environment variables
  -h, --help                Print usage
      --hostname string     Container host name
      --init                Run an init inside the container that forwards signals and reaps processes
  -i, --interactive         Keep STDIN open even if not attached
  -m, --memory bytes        Memory limit
      --memory-reservation bytes  Memory soft limit
      --memory-swap bytes   Swap limit equal to memory plus swap: '-1' to enable unlimited swap
      --name string         Assign a name to the container
      --pids-limit int      Tune container pids limit (set -1 for unlimited)
      --platform string     Run this platform's image (os/arch[/variant]) instead of the host's
      --privileged          Give extended privileges to this container
      --pull string         Pull image before running (\"always\", \"missing\", \"never\") (default \"missing\")
      --read-only           Mount the container's root filesystem as read only
      --rm                  Automatically remove the container when it exits
      --security-opt list   Security options (no-new-privileges)
      --stop-signal string  Signal to stop the container (default \"SIGTERM\")
      --stop-timeout int    Seconds to wait for the container to stop before killing it (default 10)
      --tmpfs list          Mount a tmpfs directory (PATH[:OPTIONS])
      --trace               Narrate every kernel step on stderr (also SKIFF_TRACE=1)
  -t, --tty                 Allocate a pseudo-TTY
  -u, --user string         Username or UID (format: <name|uid>[:<group|gid>])
  -v, --volume list         Bind mount a volume (HOST:CONTAINER[:ro|rw])
  -w, --workdir string      Working directory inside the container";

/// `run`'s and `create`'s options (`create` refuses `-d` and `--rm` is kept for later).
#[derive(Debug, Default)]
pub struct Args {
    image: String,
    command: Vec<String>,
    env: Vec<String>,
    entrypoint: Option<String>,
    hostname: Option<String>,
    workdir: Option<String>,
    name: Option<String>,
    detach: bool,
    auto_remove: bool,
    init: bool,
    stop_signal: Option<String>,
    stop_timeout: Option<u32>,
    pull: Pull,
    platform: Option<Platform>,
    limits: Limits,
    trace: bool,
    env_files: Vec<String>,
    options: container::Options,
    interactive: bool,
    tty: bool,
}

/// `--pull`: when to ask the registry (Docker's default is only when missing, so a
/// machine without network runs what it has).
#[derive(Debug, Default, PartialEq, Eq)]
enum Pull {
    Always,
    #[default]
    Missing,
    Never,
}

impl Pull {
    fn parse(text: &str) -> Result<Pull> {
        match text {
            "always" => Ok(Pull::Always),
            "missing" => Ok(Pull::Missing),
            "never" => Ok(Pull::Never),
            other => Err(Error::usage(format!(
                "invalid pull option {other:?}: must be one of \"always\", \"missing\" or \"never\""
            ))),
        }
    }
}

pub fn main(argv: &[String]) -> Result<i32> {
    match parse(argv, "run")? {
        Some(args) => run(args),
        None => cli::help(HELP),
    }
}

/// `None` when help was asked for. `command` names the command in messages.
pub fn parse(argv: &[String], command: &str) -> Result<Option<Args>> {
    let mut lexer = Lexer::new(argv);
    let mut args = Args {
        trace: std::env::var("SKIFF_TRACE").is_ok_and(|v| v == "1"),
        ..Args::default()
    };
    while let Some(flag) = lexer.next_flag() {
        match flag.name.as_str() {
            "-h" | "--help" => return Ok(None),
            "-d" | "--detach" if command == "run" => args.detach = lexer.switch(&flag)?,
            "-e" | "--env" => args.env.push(lexer.value(&flag)?),
            "--entrypoint" => args.entrypoint = Some(lexer.value(&flag)?),
            "--hostname" => args.hostname = Some(lexer.value(&flag)?),
            "--init" => args.init = lexer.switch(&flag)?,
            "--name" => args.name = Some(lexer.value(&flag)?),
            "--pull" => args.pull = Pull::parse(&lexer.value(&flag)?)?,
            "--platform" => args.platform = Some(Platform::parse(&lexer.value(&flag)?)?),
            "--rm" => args.auto_remove = lexer.switch(&flag)?,
            "--stop-signal" => args.stop_signal = Some(lexer.value(&flag)?),
            "--stop-timeout" => args.stop_timeout = Some(cli::seconds(&lexer.value(&flag)?)?),
            "-w" | "--workdir" => args.workdir = Some(lexer.value(&flag)?),
            "--trace" => args.trace = lexer.switch(&flag)?,
            "--env-file" => args.env_files.push(lexer.value(&flag)?),
            "-i" | "--interactive" => args.interactive = lexer.switch(&flag)?,
            "-t" | "--tty" => args.tty = lexer.switch(&flag)?,
            "-u" | "--user" => args.options.user = Some(lexer.value(&flag)?),
            "-v" | "--volume" => args.options.volumes.push(lexer.value(&flag)?),
            "--tmpfs" => args.options.tmpfs.push(lexer.value(&flag)?),
            "--read-only" => args.options.read_only = lexer.switch(&flag)?,
            "--privileged" => args.options.privileged = lexer.switch(&flag)?,
            "--cap-add" => args.options.cap_add.push(lexer.value(&flag)?),
            "--cap-drop" => args.options.cap_drop.push(lexer.value(&flag)?),
            "--security-opt" => args.options.security_opt(&lexer.value(&flag)?)?,
            limit if cgroup::FLAGS.contains(&limit) => {
                args.limits.set(limit, &lexer.value(&flag)?)?
            }
            _ => return Err(cli::unknown(&flag, command)),
        }
    }
    args.options.check()?;
    if args.trace {
        trace::enable();
    }
    let mut rest = lexer.rest().into_iter();
    args.image = rest.next().ok_or_else(|| {
        Error::usage(format!(
            "\"skiff {command}\" requires at least 1 argument.\nSee 'skiff {command} --help'."
        ))
    })?;
    args.command = rest.collect();
    // Counting CPUs reads the cgroup's quota files: only for `--cpus`.
    args.limits
        .validate(|| std::thread::available_parallelism().map_or(1, usize::from))?;
    Ok(Some(args))
}

fn run(args: Args) -> Result<i32> {
    if args.tty && args.interactive && !args.detach {
        terminal::check_input()?; // before anything is pulled or created, as Docker
    }
    container::reexec_sealed()?; // CVE-2019-5736: from here on, no path to the host's binary
    let (mut container, spec) = create(&args)?;
    let context = || format!("run {}", args.image);
    if args.detach {
        supervisor::run_detached(&mut container, &spec).with_context(context)?;
        println!("{}", container.config.id);
        return Ok(0);
    }
    let exit = supervisor::run_attached(&mut container, &spec);
    if exit.is_err() && container.config.auto_remove {
        container.remove()?;
    }
    Ok(exit.with_context(context)?.status())
}

/// `create` and `run`: the image (pulled as `--pull` says), and a new container of it.
/// The store is locked only until the container is recorded.
pub fn create(args: &Args) -> Result<(Container, Spec)> {
    if let Some(name) = &args.name {
        names::validate(name)?;
    }
    let reference = Reference::parse(&args.image)?;
    let store = Store::open()?;
    let manifest = local_or_pull(&store, &reference, args)?;
    let image = Image::load(&store, &manifest)?;
    let config = container_config(args, &image, &manifest)?;
    let container = Container::create(&store, config)?;
    let spec = lifecycle::spec(&container, &store, &image)?;
    Ok((container, spec))
}

/// The image's manifest digest: from the store, or the registry, as `--pull` says.
fn local_or_pull(store: &Store, reference: &Reference, args: &Args) -> Result<Digest> {
    let local = store.resolve(&reference.to_string())?;
    let platform = args
        .platform
        .clone()
        .unwrap_or_else(manifest::host_platform);
    match (&args.pull, local) {
        (Pull::Missing | Pull::Never, Some(digest)) => Ok(digest),
        (Pull::Never, None) => Err(Error::invalid(format!(
            "no such image: {reference} (and --pull=never)"
        ))),
        (Pull::Always | Pull::Missing, local) => {
            let mut progress = Progress::to_terminal();
            if local.is_none() {
                progress.say(&format!("Unable to find image '{reference}' locally"));
            }
            let pulled = registry::pull(reference, &platform, store, &mut progress)
                .with_context(|| format!("pull {reference}"))?;
            progress.say(&pulled.summary(reference));
            Ok(pulled.digest)
        }
    }
}

/// The image's defaults, overridden by the user's flags, fixed for the container's life.
fn container_config(args: &Args, image: &Image, manifest: &Digest) -> Result<Config> {
    let mut config = lifecycle::new_config(
        store::random_id()?,
        args.image.clone(),
        manifest.to_string(),
    );
    let defaults = image.config.run_config();
    if let Some(hostname) = &args.hostname {
        config.hostname = hostname.clone();
    }
    config.name = args.name.clone().unwrap_or_default();
    config.argv = command_line(args, &defaults)?;
    let env_flags = [
        container::read_env_files(&args.env_files)?,
        args.env.clone(),
    ]
    .concat();
    config.env = container::environment(
        &defaults.env.clone().unwrap_or_default(),
        &host_env(&env_flags),
        &config.hostname,
    );
    config.options = args.options.clone();
    config.options.user = config
        .options
        .user
        .take()
        .or(defaults.user.clone())
        .filter(|u| !u.is_empty());
    config.workdir = args
        .workdir
        .clone()
        .or(defaults.working_dir)
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    config.auto_remove = args.auto_remove;
    config.init = args.init;
    if let Some(signal) = args.stop_signal.clone().or(defaults.stop_signal) {
        signals::parse(&signal)?;
        config.stop_signal = signal;
    }
    if let Some(timeout) = args.stop_timeout {
        config.stop_timeout = timeout;
    }
    config.limits = Some(args.limits.clone());
    config.open_stdin = Some(args.interactive);
    config.tty = Some(args.tty);
    Ok(config)
}

/// Docker's rule: ENTRYPOINT + (the user's command, or else the image's CMD).
/// `--entrypoint` replaces the image's ENTRYPOINT and drops its CMD.
fn command_line(args: &Args, config: &RunConfig) -> Result<Vec<String>> {
    let (entrypoint, default_cmd) = match &args.entrypoint {
        Some(e) if e.is_empty() => (Vec::new(), Vec::new()),
        Some(e) => (vec![e.clone()], Vec::new()),
        None => (
            config.entrypoint.clone().unwrap_or_default(),
            config.cmd.clone().unwrap_or_default(),
        ),
    };
    let cmd = if args.command.is_empty() {
        default_cmd
    } else {
        args.command.clone()
    };
    let argv: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if argv.is_empty() {
        return Err(Error::usage("no command specified"));
    }
    Ok(argv)
}

/// `-e KEY=VALUE` as given; `-e KEY` takes the host's value, or is dropped if unset.
fn host_env(flags: &[String]) -> Vec<String> {
    flags
        .iter()
        .filter_map(|entry| match entry.contains('=') {
            true => Some(entry.clone()),
            false => std::env::var(entry)
                .ok()
                .map(|value| format!("{entry}={value}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn config(entrypoint: &[&str], cmd: &[&str]) -> RunConfig {
        RunConfig {
            entrypoint: Some(args(entrypoint)),
            cmd: Some(args(cmd)),
            ..RunConfig::default()
        }
    }

    #[test]
    fn flags_after_the_image_belong_to_the_command() {
        let parsed = parse(&args(&["--rm", "-e", "A=1", "alpine", "ls", "-la"]), "run")
            .unwrap()
            .unwrap();
        assert_eq!(parsed.image, "alpine");
        assert_eq!(parsed.command, args(&["ls", "-la"]));
        assert_eq!(parsed.env, args(&["A=1"]));
    }

    #[test]
    fn unknown_flags_and_missing_image_are_usage_errors() {
        let err = parse(&args(&["--bogus", "alpine"]), "run").unwrap_err();
        assert!(err.to_string().starts_with("unknown flag: --bogus"));
        assert_eq!(err.exit_code(), 125);
        assert!(parse(&args(&["--rm"]), "run").is_err());
    }

    #[test]
    fn user_command_replaces_cmd_but_keeps_entrypoint() {
        let mut a = Args::default();
        let c = config(&["/entry"], &["default"]);
        assert_eq!(command_line(&a, &c).unwrap(), args(&["/entry", "default"]));
        a.command = args(&["mine"]);
        assert_eq!(command_line(&a, &c).unwrap(), args(&["/entry", "mine"]));
    }

    #[test]
    fn entrypoint_flag_drops_the_image_cmd() {
        let a = Args {
            entrypoint: Some("/bin/sh".into()),
            ..Args::default()
        };
        let c = config(&["/entry"], &["default"]);
        assert_eq!(command_line(&a, &c).unwrap(), args(&["/bin/sh"]));
    }

    #[test]
    fn nothing_to_run_is_an_error() {
        let err = command_line(&Args::default(), &RunConfig::default()).unwrap_err();
        assert_eq!(err.to_string(), "no command specified");
    }
}
