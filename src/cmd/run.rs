//! `skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]`: pull if needed, record a new
//! container, and run it in the foreground (or, with `-d`, under a supervisor).

use crate::cgroup;
use crate::cli::{self, Flag, Lexer};
use crate::container::{self, Config, EnvFlags, RootFs};
use crate::digest::Digest;
use crate::error::{Context, Error, Result};
use crate::image::config::RunConfig;
use crate::image::store::{self, Store};
use crate::image::{Image, LayerDirs};
use crate::lifecycle::restart::Policy;
use crate::lifecycle::{self, names, peers, signals, supervisor, Container};
use crate::network::{self, Port};
use crate::progress::Progress;
use crate::reference::Reference;
use crate::registry::{
    self,
    manifest::{self, Platform},
};
use crate::{sys, terminal, time, trace};
use miniserde::json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

pub const HELP: &str = "Usage:  skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]
        skiff run [OPTIONS] --rootfs DIR COMMAND [ARG...]

Create and run a new container from an image

Options:
      --add-host list       Add a custom host-to-IP mapping (host:ip, or host:host-gateway)
      --cap-add list        Add Linux capabilities (NAME, CAP_NAME or ALL)
      --cap-drop list       Drop Linux capabilities (NAME, CAP_NAME or ALL)
      --cidfile string      Write the container ID to the file
      --cpu-shares int      CPU shares (relative weight)
      --cpus decimal        Number of CPUs
      --cpuset-cpus string  CPUs in which to allow execution (0-3, 0,1)
  -d, --detach              Run container in background and print container ID
      --dns list            Set custom DNS servers
      --dns-option list     Set DNS options
      --dns-search list     Set custom DNS search domains
      --entrypoint string   Overwrite the default ENTRYPOINT of the image
  -e, --env list            Set environment variables (KEY=VALUE, or KEY to pass the host's)
      --device list         Add a host device to the container (HOST[:CONTAINER][:rwm])
      --env-file list       Read in a file of environment variables
      --help                Print usage
      --gidmap list         Map container GIDs to host GIDs (CONTAINER:HOST:SIZE)
      --group-add list      Add additional groups to join
  -h, --hostname string     Container host name
      --init                Run an init inside the container that forwards signals and reaps processes
  -l, --label list          Set meta data on a container
      --label-file list     Read in a line delimited file of labels
  -i, --interactive         Keep STDIN open even if not attached
      --log-driver string   Logging driver: json-file, local or none
      --log-opt list        max-size=SIZE, max-file=N (default: 10m, 5)
  -m, --memory bytes        Memory limit
      --memory-reservation bytes  Memory soft limit
      --memory-swap bytes   Swap limit equal to memory plus swap: '-1' to enable unlimited swap
      --name string         Assign a name to the container
      --network string      Connect a container to a network: bridge, none, host or
                            container:NAME|ID (default \"bridge\")
      --network-alias list  Add network-scoped alias for the container (user networks)
      --oom-score-adj int   Tune host's OOM preferences (-1000 to 1000)
      --pids-limit int      Tune container pids limit (set -1 for unlimited)
      --platform string     Run this platform's image (os/arch[/variant]) instead of the host's
  -p, --publish list        Publish a container's port(s) to the host ([IP:][HOST_PORT:]PORT[/PROTO])
  -P, --publish-all         Publish all exposed ports to random ports
      --privileged          Give extended privileges to this container
      --pull string         Pull image before running (\"always\", \"missing\", \"never\") (default \"missing\")
      --read-only           Mount the container's root filesystem as read only
      --restart string      no, always, unless-stopped or on-failure[:N]
      --rm                  Automatically remove the container when it exits
      --rootfs string       Run the directory as the root, unmodified, instead of an image
      --security-opt list   Security options (no-new-privileges)
      --shm-size bytes      Size of /dev/shm (default 64m)
      --stop-signal string  Signal to stop the container (default \"SIGTERM\")
      --stop-timeout int    Seconds to wait for the container to stop before killing it (default 10)
      --sysctl map          Sysctl options (namespaced ones only)
      --tmpfs list          Mount a tmpfs directory (PATH[:OPTIONS])
      --trace               Narrate every kernel step on stderr (also SKIFF_TRACE=1)
  -t, --tty                 Allocate a pseudo-TTY
      --uidmap list         Map container UIDs to host UIDs (CONTAINER:HOST:SIZE)
      --ulimit ulimit       Ulimit options (name=soft[:hard])
  -u, --user string         Username or UID (format: <name|uid>[:<group|gid>])
      --userns string       User namespace: host, or auto[:size=N] (root inside is nobody outside)
  -v, --volume list         Bind mount a host path or a volume ([HOST|NAME:]CONTAINER[:ro|rw])
  -w, --workdir string      Working directory inside the container";

/// `run`'s and `create`'s options (`create` refuses `-d` and `--rm` is kept for later).
/// Most flags set a field of `config`, the container's description, at once; the
/// image's defaults fill in what they left empty (see [`container_config`]). The
/// other fields say how to get the image, or are combined with the image's.
#[derive(Debug, Default)]
pub struct Args {
    image: String,
    command: Vec<String>,
    entrypoint: Option<String>,
    env: EnvFlags,
    extra: Extra,
    detach: bool,
    pull: Pull,
    platform: Option<Platform>,
    trace: bool,
    config: Config,
}

/// `--label`, `--label-file` (merged with the image's labels: see [`labels`]),
/// `--cidfile` and `--rootfs DIR` (no image then: `image` stays empty).
#[derive(Debug, Default)]
struct Extra {
    labels: Vec<String>,
    label_files: Vec<String>,
    cidfile: Option<String>,
    rootfs: Option<String>,
}

/// Docker's grace period for `stop`, in seconds.
const STOP_TIMEOUT: u32 = 10;

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
        config: Config {
            stop_timeout: STOP_TIMEOUT,
            ..Config::default()
        },
        ..Args::default()
    };
    let config = &mut args.config;
    while let Some(flag) = lexer.next_flag() {
        match flag.name.as_str() {
            "--help" => return Ok(None),
            "-d" | "--detach" if command == "run" => args.detach = lexer.switch(&flag)?,
            env if EnvFlags::NAMES.contains(&env) => args.env.add(env, lexer.value(&flag)?),
            "--entrypoint" => args.entrypoint = Some(lexer.value(&flag)?),
            "-h" | "--hostname" => config.hostname = lexer.value(&flag)?,
            "--init" => config.init = lexer.switch(&flag)?,
            "--name" => config.name = lexer.value(&flag)?,
            name if NETWORK_FLAGS.contains(&name) => network_flag(config, &mut lexer, &flag)?,
            dns if container::DNS_FLAGS.contains(&dns) => dns_flag(config, &flag, &mut lexer)?,
            "--pull" => args.pull = Pull::parse(&lexer.value(&flag)?)?,
            "--platform" => args.platform = Some(Platform::parse(&lexer.value(&flag)?)?),
            "--rm" => config.auto_remove = lexer.switch(&flag)?,
            "--stop-signal" => config.stop_signal = lexer.value(&flag)?,
            "--stop-timeout" => config.stop_timeout = cli::seconds(&lexer.value(&flag)?)?,
            "-w" | "--workdir" => config.process.workdir = lexer.value(&flag)?,
            "--trace" => args.trace = lexer.switch(&flag)?,
            "-i" | "--interactive" => config.open_stdin = Some(lexer.switch(&flag)?),
            "-t" | "--tty" => config.tty = Some(lexer.switch(&flag)?),
            "-u" | "--user" => config.process.user = Some(lexer.value(&flag)?),
            "-v" | "--volume" => config.options.volumes.push(lexer.value(&flag)?),
            "--tmpfs" => config.options.tmpfs.push(lexer.value(&flag)?),
            "--read-only" => config.options.read_only = lexer.switch(&flag)?,
            "--privileged" => config.options.privileged = lexer.switch(&flag)?,
            "--cap-add" => config.options.cap_add.push(lexer.value(&flag)?),
            "--cap-drop" => config.options.cap_drop.push(lexer.value(&flag)?),
            "--security-opt" => config.options.security_opt(&lexer.value(&flag)?)?,
            f if EXTRA.contains(&f) => extra_flag(&mut args.extra, config, &mut lexer, &flag)?,
            limit if cgroup::FLAGS.contains(&limit) => {
                let value = lexer.value(&flag)?;
                config.limits.get_or_insert_default().set(limit, &value)?
            }
            _ => return Err(cli::unknown(&flag, command)),
        }
    }
    check(&mut args.config)?;
    if args.trace {
        trace::enable();
    }
    let mut rest = lexer.rest().into_iter();
    if args.extra.rootfs.is_none() {
        args.image = rest.next().ok_or_else(|| {
            Error::usage(format!(
                "\"skiff {command}\" requires at least 1 argument.\nSee 'skiff {command} --help'."
            ))
        })?;
    }
    args.command = rest.collect();
    Ok(Some(args))
}

/// Labels, the ID file, `--rootfs`, more groups, the restart policy and logging, and the settings
/// of `Options::tune` (`--userns` among them).
const EXTRA: [&str; 17] = [
    "--rootfs",
    "--restart",
    "--log-driver",
    "--log-opt",
    "-l",
    "--label",
    "--label-file",
    "--cidfile",
    "--group-add",
    "--ulimit",
    "--oom-score-adj",
    "--sysctl",
    "--shm-size",
    "--device",
    "--userns",
    "--uidmap",
    "--gidmap",
];

fn extra_flag(
    extra: &mut Extra,
    config: &mut Config,
    lexer: &mut Lexer,
    flag: &Flag,
) -> Result<()> {
    let value = lexer.value(flag)?;
    match flag.name.as_str() {
        "-l" | "--label" => extra.labels.push(value),
        "--label-file" => extra.label_files.push(value),
        "--cidfile" => extra.cidfile = Some(value),
        "--rootfs" => extra.rootfs = Some(value),
        "--group-add" => config.process.groups.get_or_insert_default().push(value),
        "--restart" => config.restart = Some(value),
        "--log-driver" | "--log-opt" => log_flag(config, &flag.name, value)?,
        tune => config.options.tune(tune, value)?,
    }
    Ok(())
}

/// Where the container is on a network, and what it publishes there.
const NETWORK_FLAGS: [&str; 6] = [
    "--network",
    "--net",
    "-p",
    "--publish",
    "-P",
    "--publish-all",
];

fn network_flag(config: &mut Config, lexer: &mut Lexer, flag: &Flag) -> Result<()> {
    match flag.name.as_str() {
        "-p" | "--publish" => {
            let port = Port::parse(&lexer.value(flag)?)?;
            config.ports.get_or_insert_default().push(port);
        }
        "-P" | "--publish-all" => config.publish_all = Some(lexer.switch(flag)?),
        _ => config.network = Some(network_mode(lexer.value(flag)?)?),
    }
    Ok(())
}

/// `--network`'s value: one of [`network::MODES`], `container:NAME|ID`, or a user
/// network, recorded by its name.
fn network_mode(name: String) -> Result<String> {
    match network::MODES.contains(&name.as_str()) || network::joined(&name).is_some() {
        true => Ok(name),
        false => network::user::find(&name).map(|network| network.name),
    }
}

/// `--add-host`, `--dns`, … (see [`container::DNS_FLAGS`]): into `config.dns`.
fn dns_flag(config: &mut Config, flag: &Flag, lexer: &mut Lexer) -> Result<()> {
    let value = lexer.value(flag)?;
    config.dns.get_or_insert_default().set(&flag.name, value)
}

/// `--log-driver NAME`, `--log-opt KEY=VALUE`: into `config.log`.
fn log_flag(config: &mut Config, flag: &str, value: String) -> Result<()> {
    let log = config.log.get_or_insert_default();
    if flag == "--log-driver" {
        log.driver = value;
        return Ok(());
    }
    let (key, value) = value
        .split_once('=')
        .ok_or_else(|| Error::usage("--log-opt takes KEY=VALUE"))?;
    log.options.insert(key.into(), value.into());
    Ok(())
}

/// What the flags must satisfy together, checked before anything is pulled.
fn check(config: &mut Config) -> Result<()> {
    config.options.check()?;
    let requested = config.network.as_deref();
    // `container:X` shares X's namespace: its sysctls are X's, not this one's to set.
    let own_netns =
        !network::shares_host(requested) && requested.and_then(network::joined).is_none();
    config.options.check_sysctls(own_netns)?;
    let log = config.log.get_or_insert_default(); // recorded, as `inspect` shows it
    if log.driver.is_empty() {
        log.driver = "json-file".into();
    }
    log.check()?;
    let policy = config.restart.as_deref().map(Policy::parse).transpose()?;
    if config.auto_remove && policy.is_some_and(|p| p != Policy::No) {
        return Err(Error::usage("Conflicting options: --restart and --rm"));
    }
    if let Some(limits) = &config.limits {
        limits.validate(sys::cpu_count)?;
        cgroup::check_rootless(limits)?;
    }
    // `--network-alias` names a container to the other members of a user network:
    // elsewhere it means nothing, and Docker refuses it.
    let aliased = config
        .dns
        .as_ref()
        .is_some_and(|dns| !dns.aliases.is_empty());
    if aliased && !config.network.as_deref().is_some_and(peers::has_names) {
        return Err(Error::usage(
            "network-scoped aliases are only supported for user-defined networks",
        ));
    }
    // A container in another's network namespace has no ports of its own to publish.
    let publishes = config.ports.is_some() || config.publish_all == Some(true);
    if publishes
        && config
            .network
            .as_deref()
            .and_then(network::joined)
            .is_some()
    {
        return Err(Error::usage(
            "conflicting options: port publishing and the container type network mode",
        ));
    }
    let ports = config.ports.as_deref().unwrap_or_default();
    network::check_rootless(config.network.as_deref(), ports, publishes)
}

/// `skiff run`: seal → pull and record → start (attached, or under a supervisor) →
/// wait → exit status.
fn run(mut args: Args) -> Result<i32> {
    let config = &args.config;
    if config.tty == Some(true) && config.open_stdin == Some(true) && !args.detach {
        terminal::check_input()?; // before anything is pulled or created, as Docker
    }
    // Before anything starts: every process from here on, the container's PID 1
    // included, runs from a copy of skiff nobody can write to (CVE-2019-5736).
    container::reexec_from_sealed_copy()?;
    if !args.detach {
        args.config.starter = Some(lifecycle::Process::current()); // it supervises the start
    }
    let (mut container, rootfs) = create(&args)?;
    let context = || format!("run {}", container_image(&args));
    if args.detach {
        supervisor::run_detached(&mut container, &rootfs).with_context(context)?;
        println!("{}", container.config.id);
        return Ok(0);
    }
    let exit = supervisor::run_attached(&mut container, &rootfs);
    if exit.is_err() && container.config.auto_remove {
        container.remove_with_volumes()?;
    }
    Ok(exit.with_context(context)?.status())
}

/// The image as `run` names it in messages: its reference, or the `--rootfs` directory.
fn container_image(args: &Args) -> &str {
    args.extra.rootfs.as_deref().unwrap_or(&args.image)
}

/// `create` and `run`: the image (pulled as `--pull` says), and a new container of it,
/// with where its root filesystem comes from. The store is locked only until the
/// container is recorded.
pub fn create(args: &Args) -> Result<(Container, RootFs)> {
    if !args.config.name.is_empty() {
        names::validate(&args.config.name)?;
    }
    let root = args.extra.rootfs.as_deref().map(Path::new);
    let root = root.map(|dir| LayerDirs::of_directory(dir).context("--rootfs"));
    let root = root.transpose()?;
    let cidfile = args
        .extra
        .cidfile
        .as_deref()
        .map(CidFile::create)
        .transpose()?;
    let store = Store::open()?;
    let (config, image) = match &root {
        Some(layers) => (rootfs_config(args, layers)?, None),
        None => {
            let reference = Reference::parse(&args.image)?;
            trace::step("the image, from the store (or the registry, as --pull says)");
            let (manifest, image) = local_or_pull(&store, &reference, args)?;
            let mut config = container_config(args, image.config.run_config())?;
            config.image = args.image.clone();
            config.image_digest = manifest.to_string();
            (config, Some(image))
        }
    };
    if config.ports.is_some() && network::shares_host(config.network.as_deref()) {
        eprintln!("WARNING: Published ports are discarded when using host network mode");
    }
    trace::step("record the container: its directory and config.json");
    let container = Container::create(&store, config)?;
    if let Some(cidfile) = cidfile {
        cidfile.write(&container.config.id)?;
    }
    let rootfs = lifecycle::rootfs(&container, &store, image.as_ref())?;
    Ok((container, rootfs))
}

/// `--rootfs DIR`: no image, so no defaults but Docker's; DIR (absolute) stands for
/// the image in `ps` and `inspect`, as podman shows it.
fn rootfs_config(args: &Args, layers: &LayerDirs) -> Result<Config> {
    let dir = layers.dir.join(&layers.names[0]).display().to_string();
    let mut config = container_config(args, RunConfig::default())?;
    config.image = dir.clone();
    config.rootfs = Some(dir);
    Ok(config)
}

/// `--cidfile FILE`: made before anything else, and refused if it exists, as Docker
/// does (it may be another container's); removed again unless the ID was written.
struct CidFile {
    path: String,
    file: std::fs::File,
    written: bool,
}

impl CidFile {
    fn create(path: &str) -> Result<CidFile> {
        if std::path::Path::new(path).exists() {
            return Err(Error::invalid(format!(
                "container ID file found, make sure the other container isn't running or delete {path}"
            )));
        }
        let file = sys::create_new(path.as_ref(), 0o644)
            .context("failed to create the container ID file")?;
        let path = path.to_string();
        Ok(CidFile {
            path,
            file,
            written: false,
        })
    }

    fn write(mut self, id: &str) -> Result<()> {
        self.file
            .write_all(id.as_bytes())
            .with_context(|| format!("write the container ID file {}", self.path))?;
        self.written = true;
        Ok(())
    }
}

impl Drop for CidFile {
    fn drop(&mut self) {
        if !self.written {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The image's manifest digest, and the image: from the store, or the registry, as
/// `--pull` says.
fn local_or_pull(store: &Store, reference: &Reference, args: &Args) -> Result<(Digest, Image)> {
    let local = store.resolve(&reference.to_string())?;
    let platform = args
        .platform
        .clone()
        .unwrap_or_else(manifest::host_platform);
    match (&args.pull, local) {
        (Pull::Missing | Pull::Never, Some(digest)) => {
            let image = Image::load(store, &digest)?;
            Ok((digest, image))
        }
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
            Ok((pulled.digest, pulled.image))
        }
    }
}

/// The user's flags, completed by the image's defaults where they left a field empty:
/// the container's one description, fixed for its life.
fn container_config(args: &Args, defaults: RunConfig) -> Result<Config> {
    let mut config = args.config.clone();
    config.id = store::random_id()?;
    config.created = time::now_precise();
    if config.hostname.is_empty() {
        config.hostname = match config.network.as_deref() {
            Some("host") => host_name().unwrap_or_else(|| config.id[..12].to_string()),
            _ => config.id[..12].to_string(),
        };
    }
    let process = &mut config.process;
    process.argv = command_line(args, &defaults)?;
    process.env = args
        .env
        .over(&defaults.env.unwrap_or_default(), &config.hostname)?;
    process.user = process
        .user
        .take()
        .or(defaults.user)
        .filter(|u| !u.is_empty());
    process.workdir = Some(std::mem::take(&mut process.workdir))
        .filter(|w| !w.is_empty())
        .or(defaults.working_dir)
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    let signal = Some(config.stop_signal).filter(|s| !s.is_empty());
    config.stop_signal = signal
        .or(defaults.stop_signal)
        .unwrap_or_else(|| "SIGTERM".into());
    signals::parse(&config.stop_signal)?;
    let exposed = (config.publish_all, defaults.exposed_ports);
    if let (Some(true), Some(Value::Object(exposed))) = exposed {
        publish_exposed(&mut config, exposed.keys())?;
    }
    if let Some(Value::Object(volumes)) = defaults.volumes {
        config.options.add_image_volumes(volumes.keys())?;
    }
    config.labels = labels(args, defaults.labels.unwrap_or_default())?;
    Ok(config)
}

/// The image's labels, then `--label-file`'s, then `--label`'s, later ones winning, as
/// Docker merges them; `KEY` alone is an empty label. `None` when there are none.
fn labels(
    args: &Args,
    mut merged: BTreeMap<String, String>,
) -> Result<Option<BTreeMap<String, String>>> {
    let files = container::read_kv_files(&args.extra.label_files, "label file")?;
    for label in files.iter().chain(&args.extra.labels) {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        merged.insert(key.to_string(), value.to_string());
    }
    Ok(Some(merged).filter(|labels| !labels.is_empty()))
}

/// `-P`: each of the image's ExposedPorts (`80/tcp`) that no `-p` publishes, on a
/// port the kernel picks.
fn publish_exposed<'a>(
    config: &mut Config,
    exposed: impl Iterator<Item = &'a String>,
) -> Result<()> {
    let ports = config.ports.get_or_insert_default();
    for name in exposed {
        let port = Port::parse(name)?;
        let same =
            |p: &Port| (p.container_port, &p.protocol) == (port.container_port, &port.protocol);
        if !ports.iter().any(same) {
            ports.push(port);
        }
    }
    Ok(())
}

/// The host's own hostname, which Docker gives a container on the host's network.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    Some(name.trim().to_string()).filter(|name| !name.is_empty())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args;

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
        let mut env = EnvFlags::default();
        env.add("-e", "A=1".into());
        assert_eq!(parsed.env, env);
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
