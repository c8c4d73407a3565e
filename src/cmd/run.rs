//! `skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]`: pull, then run one container in the
//! foreground, as `docker run --rm` does.

use crate::cli::{self, Lexer};
use crate::container::{self, RootFs, Spec};
use crate::digest::Digest;
use crate::error::{Context, Error, Result};
use crate::image::config::RunConfig;
use crate::image::store::{self, Store};
use crate::image::Image;
use crate::progress::Progress;
use crate::reference::Reference;
use crate::registry::{
    self,
    manifest::{self, Platform},
};
use crate::sys::Exit;
use crate::trace;

pub const HELP: &str = "Usage:  skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]

Create and run a new container from an image

Options:
      --cap-add list        Add Linux capabilities (NAME, CAP_NAME or ALL)
      --cap-drop list       Drop Linux capabilities (NAME, CAP_NAME or ALL)
      --entrypoint string   Overwrite the default ENTRYPOINT of the image
  -e, --env list            Set environment variables (KEY=VALUE, or KEY to pass the host's)
      --env-file list       Read in a file of environment variables
  -h, --help                Print usage
      --hostname string     Container host name
      --platform string     Run this platform's image (os/arch[/variant]) instead of the host's
      --privileged          Give extended privileges to this container
      --pull string         Pull image before running (\"always\", \"missing\", \"never\") (default \"missing\")
      --read-only           Mount the container's root filesystem as read only
      --rm                  Remove the container when it exits (always, for now)
      --security-opt list   Security options (no-new-privileges)
      --tmpfs list          Mount a tmpfs directory (PATH[:OPTIONS])
      --trace               Narrate every kernel step on stderr (also SKIFF_TRACE=1)
  -u, --user string         Username or UID (format: <name|uid>[:<group|gid>])
  -v, --volume list         Bind mount a volume (HOST:CONTAINER[:ro|rw])
  -w, --workdir string      Working directory inside the container";

#[derive(Debug, Default)]
struct Args {
    image: String,
    command: Vec<String>,
    env: Vec<String>,
    entrypoint: Option<String>,
    hostname: Option<String>,
    workdir: Option<String>,
    pull: Pull,
    platform: Option<Platform>,
    trace: bool,
    env_files: Vec<String>,
    options: container::Options,
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
    match parse(argv)? {
        Some(args) => run(args),
        None => cli::help(HELP),
    }
}

/// `None` when help was asked for.
fn parse(argv: &[String]) -> Result<Option<Args>> {
    let mut lexer = Lexer::new(argv);
    let mut args = Args {
        trace: std::env::var("SKIFF_TRACE").is_ok_and(|v| v == "1"),
        ..Args::default()
    };
    while let Some(flag) = lexer.next_flag() {
        match flag.name.as_str() {
            "-h" | "--help" => return Ok(None),
            "-e" | "--env" => args.env.push(lexer.value(&flag)?),
            "--entrypoint" => args.entrypoint = Some(lexer.value(&flag)?),
            "--hostname" => args.hostname = Some(lexer.value(&flag)?),
            "--pull" => args.pull = Pull::parse(&lexer.value(&flag)?)?,
            "--platform" => args.platform = Some(Platform::parse(&lexer.value(&flag)?)?),
            "-w" | "--workdir" => args.workdir = Some(lexer.value(&flag)?),
            "--rm" => drop(lexer.switch(&flag)?),
            "--trace" => args.trace = lexer.switch(&flag)?,
            "--env-file" => args.env_files.push(lexer.value(&flag)?),
            "-u" | "--user" => args.options.user = Some(lexer.value(&flag)?),
            "-v" | "--volume" => args.options.volumes.push(lexer.value(&flag)?),
            "--tmpfs" => args.options.tmpfs.push(lexer.value(&flag)?),
            "--read-only" => args.options.read_only = lexer.switch(&flag)?,
            "--privileged" => args.options.privileged = lexer.switch(&flag)?,
            "--cap-add" => args.options.cap_add.push(lexer.value(&flag)?),
            "--cap-drop" => args.options.cap_drop.push(lexer.value(&flag)?),
            "--security-opt" => args.options.security_opt(&lexer.value(&flag)?)?,
            _ => return Err(cli::unknown(&flag, "run")),
        }
    }
    args.options.check()?;
    let mut rest = lexer.rest().into_iter();
    args.image = rest.next().ok_or_else(|| {
        Error::usage("\"skiff run\" requires at least 1 argument.\nSee 'skiff run --help'.")
    })?;
    args.command = rest.collect();
    Ok(Some(args))
}

fn run(args: Args) -> Result<i32> {
    if args.trace {
        trace::enable();
    }
    container::reexec_sealed()?; // CVE-2019-5736: from here on, no path to the host's binary
    let reference = Reference::parse(&args.image)?;
    let (image, scratch, rootfs) = {
        // The store is locked only while the image is fetched.
        let store = Store::open()?;
        let manifest = local_or_pull(&store, &reference, &args)?;
        let image = Image::load(&store, &manifest)?;
        let scratch = store.scratch("run")?;
        let rootfs = RootFs {
            scratch: scratch.path().to_path_buf(),
            layers: image.layer_dirs(&store)?,
            blobs: image.stored_layers(&store)?,
        };
        (image, scratch, rootfs)
    };
    let result = start(&args, &image, rootfs);
    let cleanup = scratch.remove();
    let exit = result?;
    cleanup?;
    Ok(match exit {
        Exit::Code(code) => code,
        Exit::Signal(signal) => 128 + signal,
    })
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
        (Pull::Always | Pull::Missing, _) => {
            registry::pull(reference, &platform, store, &Progress::to_terminal())
                .with_context(|| format!("pull {reference}"))
        }
    }
}

fn start(args: &Args, image: &Image, rootfs: RootFs) -> Result<Exit> {
    let id = store::random_id()?;
    let hostname = args
        .hostname
        .clone()
        .unwrap_or_else(|| id[..12].to_string());
    let config = image.config.run_config();
    let env_flags = [
        container::read_env_files(&args.env_files)?,
        args.env.clone(),
    ]
    .concat();
    let mut options = args.options.clone();
    options.user = options
        .user
        .or(config.user.clone())
        .filter(|u| !u.is_empty());
    let spec = Spec {
        rootfs,
        argv: command_line(args, &config)?,
        env: container::environment(
            &config.env.unwrap_or_default(),
            &host_env(&env_flags),
            &hostname,
        ),
        workdir: args
            .workdir
            .clone()
            .or(config.working_dir)
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into()),
        hostname,
        options,
    };
    container::run(&spec).with_context(|| format!("run {}", args.image))
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
        let parsed = parse(&args(&["--rm", "-e", "A=1", "alpine", "ls", "-la"]))
            .unwrap()
            .unwrap();
        assert_eq!(parsed.image, "alpine");
        assert_eq!(parsed.command, args(&["ls", "-la"]));
        assert_eq!(parsed.env, args(&["A=1"]));
    }

    #[test]
    fn unknown_flags_and_missing_image_are_usage_errors() {
        let err = parse(&args(&["--bogus", "alpine"])).unwrap_err();
        assert!(err.to_string().starts_with("unknown flag: --bogus"));
        assert_eq!(err.exit_code(), 125);
        assert!(parse(&args(&["--rm"])).is_err());
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
