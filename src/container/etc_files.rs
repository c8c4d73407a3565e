//! The three files Docker writes for every container and mounts over the image's:
//! `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`. They live in the container's
//! own directory, written at each start, so the container may change them without
//! touching the image (unless `--read-only`), and they go when it goes.
//!
//! What they say depends on the network the container is on, as in Docker:
//!
//! - A network of its own (`bridge`, `none`, a user network): hosts names localhost,
//!   then each `--add-host`, then the container's own address and hostname (with
//!   `none` it has no address, so no such line). On a user network, every running
//!   member follows, by name, `--network-alias` and short ID (see `lifecycle::peers`,
//!   which keeps that list up to date). resolv.conf is the host's, less nameservers
//!   on loopback: 127.0.0.53 (systemd-resolved) or ::1 answer on the host's loopback,
//!   which the container's own cannot reach; when none is left, Docker's fallback,
//!   Google's public servers. Through slirp4netns (rootless), its DNS forwarder is the
//!   one nameserver instead, as in rootless podman.
//! - `--network host`: the host's /etc/hosts and resolv.conf as they are (its
//!   loopback is the container's too); with `--add-host`, Docker's hosts lines instead
//!   of the host's. Where skiff's default falls back to the host's network (no
//!   CAP_NET_ADMIN), the container keeps a hostname of its own, named on 127.0.0.1.
//! - `--dns`, `--dns-search` and `--dns-option` replace the nameserver, search and
//!   options lines; the kinds not given stay the host's.
//!
//! <https://man7.org/linux/man-pages/man5/hosts.5.html>
//! <https://man7.org/linux/man-pages/man5/resolv.conf.5.html>
//! <https://docs.docker.com/engine/network/#dns-services>

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use miniserde::{Deserialize, Serialize};

use super::{Config, RootFs};
use crate::error::{Context, Error, Result};
use crate::network::Settings;
use crate::trace;

/// The files, by their names in `/etc` and in the container's directory.
const FILES: [&str; 3] = ["hostname", "hosts", "resolv.conf"];

/// Docker's fallback when the host names no nameserver the container can reach.
const FALLBACK_NAMESERVERS: &str = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";

/// The lines every Docker container's /etc/hosts starts with.
const LOCALHOST: &str = "127.0.0.1\tlocalhost\n\
                         ::1\tlocalhost ip6-localhost ip6-loopback\n\
                         fe00::0\tip6-localnet\n\
                         ff00::0\tip6-mcastprefix\n\
                         ff02::1\tip6-allnodes\n\
                         ff02::2\tip6-allrouters\n";

/// `--add-host NAME:host-gateway`: the host, as the container reaches it (Docker 20.10+).
const HOST_GATEWAY: &str = "host-gateway";

/// The flags that fill [`Dns`].
pub const FLAGS: [&str; 5] = [
    "--add-host",
    "--dns",
    "--dns-search",
    "--dns-option",
    "--network-alias",
];

/// How the container looks names up, as its flags say: `--add-host NAME:IP`, `--dns`,
/// `--dns-search`, `--dns-option`, and `--network-alias` (the names other members of
/// a user network find it by). Each list in the order given.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Dns {
    pub add_hosts: Vec<String>,
    pub servers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
    pub aliases: Vec<String>,
}

impl Dns {
    /// One of [`FLAGS`] and its value, checked as Docker checks it.
    pub fn set(&mut self, flag: &str, value: String) -> Result<()> {
        let is_ip = |text: &str| text.parse::<IpAddr>().is_ok();
        let (valid, list) = match flag {
            "--add-host" => (
                value.split_once(':').is_some_and(|(name, ip)| {
                    !name.is_empty() && (ip == HOST_GATEWAY || is_ip(ip))
                }),
                &mut self.add_hosts,
            ),
            "--dns" => (is_ip(&value), &mut self.servers),
            "--dns-search" => (true, &mut self.search),
            "--dns-option" => (true, &mut self.options),
            _ => (!value.is_empty(), &mut self.aliases),
        };
        if !valid {
            let want = match flag {
                "--add-host" => "want NAME:IP or NAME:host-gateway",
                "--dns" => "not an IP address",
                _ => "empty",
            };
            return Err(Error::usage(format!(
                "invalid argument {value:?} for \"{flag}\" flag: {want}"
            )));
        }
        list.push(value);
        Ok(())
    }
}

/// A running container of a user network, as each member's /etc/hosts names it.
#[derive(Clone, Debug, PartialEq, PartialOrd, Eq, Ord)]
pub struct Member {
    /// Its name, its `--network-alias`es, its short ID (first: members are listed in
    /// the order of their names, whoever writes the list).
    pub names: Vec<String>,
    pub address: String,
}

impl Member {
    /// How the container of `config`, at `settings` on its network, is named there.
    pub fn of(config: &Config, settings: Option<&Settings>) -> Member {
        let aliases = config
            .dns
            .iter()
            .flat_map(|dns| dns.aliases.iter().cloned());
        Member {
            names: std::iter::once(config.name.clone())
                .chain(aliases)
                .chain([super::short(&config.id).to_string()])
                .collect(),
            address: settings.map_or_else(String::new, |s| s.ip_address.clone()),
        }
    }
}

/// Where the container stands on the network, which decides what its files say.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Place {
    /// `--network host`: Docker copies the host's files.
    Host,
    /// No `--network`, and no address of its own: the default bridge fell back to the
    /// host's network (no CAP_NET_ADMIN), but the container has a hostname of its own,
    /// named on 127.0.0.1.
    HostByDefault,
    /// A network namespace of its own (an address in `settings`, unless `none`).
    Own,
}

fn place(config: &Config, settings: Option<&Settings>) -> Place {
    match (config.network.as_deref(), settings) {
        (Some("host"), _) => Place::Host,
        (None, None) => Place::HostByDefault,
        _ => Place::Own,
    }
}

/// Writes the three files into `rootfs.scratch`, as the container is to see them from
/// this start: `settings`, its place on a network (if it has one of its own), and
/// `rootfs.members`, the others its network names (`None`: a network without names).
/// The container is named among them from the first, so the rewrite that follows its
/// start (`lifecycle::peers`) finds nothing to change in its file while it may be
/// reading it.
pub fn write(rootfs: &RootFs, config: &Config, settings: Option<&Settings>) -> Result<()> {
    trace::step("its /etc/hostname, /etc/hosts and /etc/resolv.conf, to bind-mount");
    let (scratch, members) = (&rootfs.scratch, rootfs.members.as_deref());
    let members = members.map(|others| [others, &[Member::of(config, settings)]].concat());
    let host_file = |path| fs::read_to_string(path).unwrap_or_default();
    let place = place(config, settings);
    let mut dns = config.dns.clone().unwrap_or_default();
    if let Some(server) = settings.and_then(|s| s.nameserver.clone()) {
        if dns.servers.is_empty() {
            dns.servers.push(server); // the network's own, as if by --dns
        }
    }
    let hosts = match place == Place::Host && dns.add_hosts.is_empty() {
        true => host_file("/etc/hosts"),
        false => hosts(config, settings, members.as_deref().unwrap_or_default())?,
    };
    let contents = [
        format!("{}\n", config.hostname),
        hosts,
        resolv_conf(&host_file("/etc/resolv.conf"), &dns, place == Place::Own),
    ];
    for (name, content) in FILES.into_iter().zip(contents) {
        let path = scratch.join(name);
        fs::write(&path, content).with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}

/// `(path inside the container, file in scratch)` for each of the three, to mount.
pub fn mounts(scratch: &Path) -> impl Iterator<Item = (PathBuf, PathBuf)> + '_ {
    FILES
        .into_iter()
        .map(|name| (Path::new("etc").join(name), scratch.join(name)))
}

/// Docker's /etc/hosts: localhost, `--add-host`s, the container's own address and
/// hostname, then (on a user network) its members, one line each.
pub fn hosts(config: &Config, settings: Option<&Settings>, members: &[Member]) -> Result<String> {
    let mut text = LOCALHOST.to_string();
    for entry in config.dns.iter().flat_map(|dns| &dns.add_hosts) {
        let (name, ip) = entry.split_once(':').unwrap_or((entry, ""));
        let ip = match ip == HOST_GATEWAY {
            true => gateway(config, settings).ok_or_else(|| {
                Error::invalid(format!("--add-host {entry}: --network none has no gateway"))
            })?,
            false => ip,
        };
        text.push_str(&format!("{ip}\t{name}\n"));
    }
    let own_address = match (settings, place(config, settings)) {
        (Some(settings), _) => Some(settings.ip_address.as_str()),
        (None, Place::HostByDefault) => Some("127.0.0.1"),
        _ => None,
    };
    if let Some(address) = own_address {
        // A dotted hostname is named whole and by its first label, as Docker does.
        let (short, _) = config.hostname.split_once('.').unwrap_or(("", ""));
        let names = [config.hostname.as_str(), short].join(" ");
        text.push_str(&format!("{address}\t{}\n", names.trim_end()));
    }
    let mut members = members.to_vec();
    crate::sort::sort_by(&mut members, Ord::cmp);
    for member in members {
        text.push_str(&format!("{}\t{}\n", member.address, member.names.join(" ")));
    }
    Ok(text)
}

/// `host-gateway`: the host, as the container reaches it: its network's gateway, or,
/// sharing the host's network, the host's own loopback. None for `--network none`.
fn gateway<'a>(config: &Config, settings: Option<&'a Settings>) -> Option<&'a str> {
    match (settings, place(config, settings)) {
        (Some(settings), _) => Some(&settings.gateway),
        (None, Place::Own) => None,
        (None, _) => Some("127.0.0.1"),
    }
}

/// The host's resolv.conf, without loopback nameservers if the container has a
/// network of its own (`own_network`); then the lines the flags replace, in Docker's
/// order: search, nameservers, options.
fn resolv_conf(host: &str, dns: &Dns, own_network: bool) -> String {
    let host = match own_network {
        true => without_loopback(host),
        false => host.to_string(),
    };
    if dns.servers.is_empty() && dns.search.is_empty() && dns.options.is_empty() {
        return host;
    }
    let pick = |given: &[String], key: &str| match given.is_empty() {
        true => words(&host, key),
        false => given.to_vec(),
    };
    let mut conf = String::new();
    let search = pick(&dns.search, "search");
    if !search.is_empty() {
        conf.push_str(&format!("search {}\n", search.join(" ")));
    }
    for server in pick(&dns.servers, "nameserver") {
        conf.push_str(&format!("nameserver {server}\n"));
    }
    let options = pick(&dns.options, "options");
    if !options.is_empty() {
        conf.push_str(&format!("options {}\n", options.join(" ")));
    }
    conf
}

/// The words after `key` on each of `conf`'s lines that start with it.
fn words(conf: &str, key: &str) -> Vec<String> {
    conf.lines()
        .filter_map(|line| line.trim().strip_prefix(key))
        .filter(|rest| rest.starts_with([' ', '\t']))
        .flat_map(str::split_whitespace)
        .map(String::from)
        .collect()
}

/// The host's resolv.conf without loopback nameservers; Docker's fallback if none is left.
fn without_loopback(host: &str) -> String {
    let is_loopback_nameserver = |line: &str| {
        let mut words = line.split_whitespace();
        words.next() == Some("nameserver")
            && words
                .next()
                .and_then(|address| address.parse::<IpAddr>().ok())
                .is_some_and(|address| address.is_loopback())
    };
    let kept: Vec<&str> = host
        .lines()
        .filter(|line| !is_loopback_nameserver(line))
        .collect();
    let mut conf: String = kept.iter().map(|line| format!("{line}\n")).collect();
    if words(&conf, "nameserver").is_empty() {
        conf.push_str(FALLBACK_NAMESERVERS);
    }
    conf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(network: Option<&str>, hostname: &str, flags: &[(&str, &str)]) -> Config {
        let mut dns = <Dns as Default>::default();
        for (flag, value) in flags {
            dns.set(flag, value.to_string()).unwrap();
        }
        Config {
            network: network.map(String::from),
            hostname: hostname.into(),
            dns: Some(dns),
            ..<Config as Default>::default()
        }
    }

    fn on(network: &str, ip: &str) -> Settings {
        Settings {
            network: network.into(),
            ip_address: ip.into(),
            ip_prefix_len: 16,
            gateway: "10.88.0.1".into(),
            ..<Settings as Default>::default()
        }
    }

    /// The lines after Docker's localhost block.
    fn own_lines(text: &str) -> &str {
        text.strip_prefix(LOCALHOST).unwrap()
    }

    #[test]
    fn loopback_nameservers_give_way_to_dockers_fallback() {
        let host = "# managed\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\n";
        let none = <Dns as Default>::default();
        assert_eq!(
            resolv_conf(host, &none, true),
            "# managed\noptions edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        assert_eq!(resolv_conf("", &none, true), FALLBACK_NAMESERVERS);
        assert_eq!(
            resolv_conf(host, &none, false),
            host,
            "the host's, as it is"
        );
    }

    #[test]
    fn reachable_nameservers_are_kept_as_they_are() {
        let host = "search lan\nnameserver 10.0.0.1\nnameserver 127.0.0.1\n";
        let conf = resolv_conf(host, &<Dns as Default>::default(), true);
        assert_eq!(conf, "search lan\nnameserver 10.0.0.1\n");
    }

    #[test]
    fn dns_flags_replace_their_own_lines_only() {
        let host = "# managed\nsearch lan\nnameserver 10.0.0.1\noptions edns0\n";
        let dns = |flags| config(None, "x", flags).dns.unwrap();
        let servers = dns(&[("--dns", "9.9.9.9"), ("--dns", "::1")]);
        assert_eq!(
            resolv_conf(host, &servers, true),
            "search lan\nnameserver 9.9.9.9\nnameserver ::1\noptions edns0\n"
        );
        let rest = dns(&[("--dns-search", "a.b"), ("--dns-option", "ndots:2")]);
        assert_eq!(
            resolv_conf(host, &rest, true),
            "search a.b\nnameserver 10.0.0.1\noptions ndots:2\n"
        );
    }

    #[test]
    fn bad_flag_values_are_refused_as_docker_does() {
        let mut dns = <Dns as Default>::default();
        for (flag, value) in [
            ("--add-host", "nocolon"),
            ("--add-host", ":1.2.3.4"),
            ("--add-host", "x:notip"),
            ("--dns", "dns.google"),
            ("--network-alias", ""),
        ] {
            let err = dns.set(flag, value.into()).unwrap_err();
            assert_eq!(err.exit_code(), 125);
            assert!(err.to_string().starts_with("invalid argument"), "{err}");
        }
        assert_eq!(dns, <Dns as Default>::default());
        dns.set("--add-host", "v6:::1".into()).unwrap();
        assert_eq!(dns.add_hosts, ["v6:::1"]);
    }

    #[test]
    fn hosts_on_a_bridge_end_with_add_hosts_then_the_container() {
        let flags = [
            ("--add-host", "db:10.0.0.5"),
            ("--add-host", "gw:host-gateway"),
        ];
        let config = config(Some("bridge"), "boat.example.com", &flags);
        let text = hosts(&config, Some(&on("bridge", "10.88.0.2")), &[]).unwrap();
        assert_eq!(
            own_lines(&text),
            "10.0.0.5\tdb\n10.88.0.1\tgw\n10.88.0.2\tboat.example.com boat\n"
        );
    }

    #[test]
    fn hosts_without_an_address_of_its_own() {
        let text = hosts(&config(None, "boat", &[]), None, &[]).unwrap();
        assert_eq!(own_lines(&text), "127.0.0.1\tboat\n", "skiff's default");
        let text = hosts(&config(Some("none"), "boat", &[]), None, &[]).unwrap();
        assert_eq!(own_lines(&text), "", "--network none: no line, as Docker");
        let gw = [("--add-host", "gw:host-gateway")];
        let text = hosts(&config(Some("host"), "vm", &gw), None, &[]).unwrap();
        assert_eq!(own_lines(&text), "127.0.0.1\tgw\n", "the host is itself");
        let err = hosts(&config(Some("none"), "boat", &gw), None, &[]).unwrap_err();
        assert!(err.to_string().contains("--network none has no gateway"));
    }

    #[test]
    fn hosts_on_a_user_network_name_every_member() {
        let members = [
            Member {
                address: "10.89.0.2".into(),
                names: vec!["redis".into(), "cache".into(), "4f2b0c8e6a1d".into()],
            },
            Member {
                address: "10.89.0.3".into(),
                names: vec!["web".into(), "0a1b2c3d4e5f".into()],
            },
        ];
        let config = config(Some("appnet"), "0a1b2c3d4e5f", &[]);
        let text = hosts(&config, Some(&on("appnet", "10.89.0.3")), &members).unwrap();
        assert_eq!(
            own_lines(&text),
            "10.89.0.3\t0a1b2c3d4e5f\n\
             10.89.0.2\tredis cache 4f2b0c8e6a1d\n\
             10.89.0.3\tweb 0a1b2c3d4e5f\n"
        );
    }
}
