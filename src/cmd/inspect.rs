//! `skiff inspect CONTAINER...`: what skiff knows of containers, as a JSON array in
//! `docker inspect`'s shape (the fields skiff has).

use std::collections::BTreeMap;

use miniserde::json::{self, Array, Object, Value};
use miniserde::Serialize;

use crate::cli::{self, Opt};
use crate::container;
use crate::error::Result;
use crate::lifecycle::logs::LogConfig;
use crate::lifecycle::{self, restart::Policy, Container, Status};
use crate::network::{self, Port};
use crate::template::Template;
use crate::volume;

pub const HELP: &str = "Usage:  skiff inspect [OPTIONS] CONTAINER [CONTAINER...]

Return low-level information on containers

Options:
  -f, --format string   Format output using a Go template
  -h, --help            Print usage";

#[derive(Serialize)]
struct Inspected {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Created")]
    created: String,
    #[serde(rename = "Path")]
    path: String,
    #[serde(rename = "Args")]
    args: Vec<String>,
    #[serde(rename = "State")]
    state: State,
    #[serde(rename = "RestartCount")]
    restart_count: u32,
    #[serde(rename = "Image")]
    image: String,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Config")]
    config: Config,
    #[serde(rename = "HostConfig")]
    host_config: HostConfig,
    #[serde(rename = "Mounts")]
    mounts: Vec<Mount>,
    #[serde(rename = "NetworkSettings")]
    network_settings: NetworkSettings,
}

/// Where a running container is on a network: its address at the top level, as older
/// Docker clients read it, and again under its network's name.
#[derive(Serialize)]
struct NetworkSettings {
    #[serde(rename = "IPAddress")]
    ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    ip_prefix_len: u8,
    #[serde(rename = "Gateway")]
    gateway: String,
    #[serde(rename = "Networks")]
    networks: BTreeMap<String, Endpoint>,
    #[serde(rename = "Ports")]
    ports: Value,
}

/// `{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}`: `ports` by their
/// container side; `asked`: as the user asked (`""` for any address or port), else as
/// published.
fn port_map(ports: &[Port], asked: bool) -> Value {
    let mut map = Object::new();
    for port in ports {
        let (ip, number) = match asked {
            true => (
                port.host_ip.clone(),
                Some(port.host_port).filter(|&p| p != 0),
            ),
            false => (port.address().to_string(), Some(port.host_port)),
        };
        let mut binding = Object::new();
        binding.insert("HostIp".into(), Value::String(ip));
        let number = number.map_or_else(String::new, |p| p.to_string());
        binding.insert("HostPort".into(), Value::String(number));
        let list = map
            .entry(port.name())
            .or_insert_with(|| Value::Array(Array::new()));
        if let Value::Array(list) = list {
            list.push(Value::Object(binding));
        }
    }
    Value::Object(map)
}

#[derive(Serialize)]
struct Endpoint {
    #[serde(rename = "IPAddress")]
    ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    ip_prefix_len: u8,
    #[serde(rename = "Gateway")]
    gateway: String,
    #[serde(rename = "NetworkID")]
    network_id: String,
    /// The names other members find it by, on a user network (`null` on the bridge).
    #[serde(rename = "Aliases")]
    aliases: Option<Vec<String>>,
}

/// A `-v` bind mount or volume, as `docker inspect` lists it.
#[derive(Serialize)]
struct Mount {
    #[serde(rename = "Type")]
    kind: String,
    /// A volume's name (null for a bind mount).
    #[serde(rename = "Name")]
    name: Option<String>,
    #[serde(rename = "Source")]
    source: String,
    #[serde(rename = "Destination")]
    destination: String,
    #[serde(rename = "RW")]
    rw: bool,
}

#[derive(Serialize)]
struct State {
    #[serde(rename = "Status")]
    status: String,
    #[serde(rename = "Running")]
    running: bool,
    #[serde(rename = "Paused")]
    paused: bool,
    #[serde(rename = "Restarting")]
    restarting: bool,
    #[serde(rename = "Pid")]
    pid: i32,
    #[serde(rename = "ExitCode")]
    exit_code: i32,
    #[serde(rename = "OOMKilled")]
    oom_killed: bool,
    /// Why a dead container's record cannot be used, or why it could not restart.
    #[serde(rename = "Error")]
    error: String,
    #[serde(rename = "StartedAt")]
    started_at: String,
    #[serde(rename = "FinishedAt")]
    finished_at: String,
}

#[derive(Serialize)]
struct Config {
    #[serde(rename = "Hostname")]
    hostname: String,
    #[serde(rename = "Env")]
    env: Vec<String>,
    #[serde(rename = "Cmd")]
    cmd: Vec<String>,
    #[serde(rename = "Image")]
    image: String,
    #[serde(rename = "WorkingDir")]
    working_dir: String,
    #[serde(rename = "StopSignal")]
    stop_signal: String,
    #[serde(rename = "StopTimeout")]
    stop_timeout: u32,
    #[serde(rename = "OpenStdin")]
    open_stdin: bool,
    #[serde(rename = "Tty")]
    tty: bool,
    /// The image's labels, with `--label`'s over them.
    #[serde(rename = "Labels")]
    labels: BTreeMap<String, String>,
}

/// The resource limits, in Docker's names and units (0: none).
#[derive(Serialize)]
struct HostConfig {
    #[serde(rename = "Memory")]
    memory: i64,
    #[serde(rename = "MemorySwap")]
    memory_swap: i64,
    #[serde(rename = "MemoryReservation")]
    memory_reservation: i64,
    #[serde(rename = "NanoCpus")]
    nano_cpus: i64,
    #[serde(rename = "CpuShares")]
    cpu_shares: i64,
    #[serde(rename = "CpusetCpus")]
    cpuset_cpus: String,
    #[serde(rename = "PidsLimit")]
    pids_limit: Option<i64>,
    #[serde(rename = "NetworkMode")]
    network_mode: String,
    #[serde(rename = "PortBindings")]
    port_bindings: Value,
    /// `--add-host`'s, as given (`null` when none, as Docker shows it).
    #[serde(rename = "ExtraHosts")]
    extra_hosts: Option<Vec<String>>,
    #[serde(rename = "Dns")]
    dns: Vec<String>,
    #[serde(rename = "DnsOptions")]
    dns_options: Vec<String>,
    #[serde(rename = "DnsSearch")]
    dns_search: Vec<String>,
    #[serde(rename = "RestartPolicy")]
    restart_policy: RestartPolicy,
    #[serde(rename = "LogConfig")]
    log_config: LogConfig,
    #[serde(rename = "SecurityOpt")]
    security_opt: Option<Vec<String>>,
    /// `--userns`: "" for the host's, as Docker shows it.
    #[serde(rename = "UsernsMode")]
    userns_mode: String,
}

#[derive(Serialize)]
struct RestartPolicy {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "MaximumRetryCount")]
    maximum_retry_count: u32,
}

pub fn main(argv: &[String]) -> Result<i32> {
    let mut format = None;
    let options = &mut [Opt::Value(&["-f", "--format"], &mut format)];
    let rest = cli::parse(argv, "inspect", HELP, options)?;
    let template = format.as_deref().map(Template::parse).transpose()?;
    let found = cli::at_least_one(rest, "inspect")?
        .iter()
        .map(|query| lifecycle::find_any(query).map(|c| inspected(&c)))
        .collect::<Result<Vec<_>>>()?;
    let Some(template) = template else {
        println!("{}", json::to_string(&found));
        return Ok(0);
    };
    // The template sees what the JSON says, so every field above is reachable by name.
    for one in &found {
        let value: Value = json::from_str(&json::to_string(one)).unwrap_or(Value::Null);
        println!("{}", template.render(&value)?);
    }
    Ok(0)
}

fn inspected(container: &Container) -> Inspected {
    let (config, state) = (&container.config, &container.state);
    let (status, paused) = (container.status(), container.is_paused());
    let (path, args) = config.process.argv.split_first().map_or_else(
        || (String::new(), Vec::new()),
        |(path, args)| (path.clone(), args.to_vec()),
    );
    Inspected {
        id: config.id.clone(),
        created: config.created.clone(),
        path,
        args,
        state: State {
            status: match paused {
                true => "paused".into(),
                false => status.name().into(),
            },
            running: matches!(status, Status::Running | Status::Restarting), // as Docker's
            paused,
            restarting: status == Status::Restarting,
            pid: if status == Status::Running {
                state.pid.pid
            } else {
                0
            },
            exit_code: container.exit_code(),
            oom_killed: state.oom_killed,
            error: container.error().unwrap_or_default().into(),
            started_at: state.started_at.clone(),
            finished_at: state.finished_at.clone(),
        },
        restart_count: state.restart_count.unwrap_or(0),
        image: config.image_digest.clone(),
        name: format!("/{}", config.name),
        config: Config {
            hostname: config.hostname.clone(),
            env: config.process.env.clone(),
            cmd: config.process.argv.clone(),
            image: config.image.clone(),
            working_dir: config.process.workdir.clone(),
            stop_signal: config.stop_signal.clone(),
            stop_timeout: config.stop_timeout,
            open_stdin: config.open_stdin == Some(true),
            tty: config.tty == Some(true),
            labels: config.labels.clone().unwrap_or_default(),
        },
        host_config: host_config(config),
        mounts: config
            .options
            .volumes
            .iter()
            .filter_map(|v| mount(v))
            .collect(),
        network_settings: NetworkSettings {
            ports: port_map(super::port::published(container), false),
            ..network_settings(
                state.network.as_ref().filter(|_| status == Status::Running),
                aliases(config),
            )
        },
    }
}

/// Its names on a user network, as Docker lists them: `--network-alias`'s, then its
/// short ID.
fn aliases(config: &container::Config) -> Vec<String> {
    let given = config.dns.as_ref().map(|dns| dns.aliases.clone());
    let mut aliases = given.unwrap_or_default();
    aliases.push(lifecycle::short(&config.id).to_string());
    aliases
}

/// `aliases` show on a user network only: the default bridge gives none.
fn network_settings(settings: Option<&network::Settings>, aliases: Vec<String>) -> NetworkSettings {
    let endpoint = |s: &network::Settings| Endpoint {
        ip_address: s.ip_address.clone(),
        ip_prefix_len: s.ip_prefix_len,
        gateway: s.gateway.clone(),
        network_id: s.network_id.clone().unwrap_or_default(),
        aliases: Some(aliases.clone()).filter(|_| s.network != network::DEFAULT),
    };
    let top = settings.map(endpoint);
    NetworkSettings {
        ip_address: top
            .as_ref()
            .map_or_else(String::new, |e| e.ip_address.clone()),
        ip_prefix_len: top.as_ref().map_or(0, |e| e.ip_prefix_len),
        gateway: top.as_ref().map_or_else(String::new, |e| e.gateway.clone()),
        networks: settings
            .map(|s| (s.network.clone(), endpoint(s)))
            .into_iter()
            .collect(),
        ports: Value::Null,
    }
}

/// `HOST|NAME:CONTAINER[:ro|rw]`, already checked when the container was created.
fn mount(spec: &str) -> Option<Mount> {
    let mut parts = spec.split(':');
    let (source, destination) = (parts.next()?, parts.next()?);
    let name = Some(source.to_string()).filter(|s| volume::is_name(s));
    Some(Mount {
        kind: if name.is_some() { "volume" } else { "bind" }.into(),
        source: name
            .as_deref()
            .map_or_else(|| source.into(), |n| volume::data(n).display().to_string()),
        name,
        destination: destination.into(),
        rw: parts.next() != Some("ro"),
    })
}

/// Docker's list as given (a profile's text in place of its file), `null` when empty.
fn security_opt(options: &container::Options) -> Option<Vec<String>> {
    let no_new_privileges = options
        .no_new_privileges
        .then(|| "no-new-privileges".into());
    let seccomp = options.seccomp.as_ref().map(|s| format!("seccomp={s}"));
    let list: Vec<String> = no_new_privileges.into_iter().chain(seccomp).collect();
    Some(list).filter(|list| !list.is_empty())
}

fn host_config(config: &container::Config) -> HostConfig {
    let limits = config.limits.clone().unwrap_or_default();
    let dns = config.dns.clone().unwrap_or_default();
    let (policy, count) = Policy::of(config).name();
    HostConfig {
        memory: limits.memory.unwrap_or(0),
        memory_swap: limits.memory_swap.unwrap_or(0),
        memory_reservation: limits.memory_reservation.unwrap_or(0),
        nano_cpus: limits.nano_cpus.unwrap_or(0),
        cpu_shares: limits.cpu_shares.unwrap_or(0),
        cpuset_cpus: limits.cpuset_cpus.unwrap_or_default(),
        pids_limit: limits.pids_limit,
        network_mode: config.network.clone().unwrap_or_else(|| "default".into()),
        port_bindings: port_map(config.ports.as_deref().unwrap_or_default(), true),
        extra_hosts: Some(dns.add_hosts).filter(|hosts| !hosts.is_empty()),
        dns: dns.servers,
        dns_options: dns.options,
        dns_search: dns.search,
        restart_policy: RestartPolicy {
            name: policy.into(),
            maximum_retry_count: count,
        },
        log_config: config.log.clone().unwrap_or_default(),
        security_opt: security_opt(&config.options),
        userns_mode: config.options.userns_mode(),
    }
}
