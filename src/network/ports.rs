//! Published ports (`-p 8080:80`): a port of the host that leads to a port of a
//! container, by destination NAT in netfilter, as Docker and netavark do it.
//!
//! A packet for one of the host's own addresses at port 8080 has its destination
//! rewritten to the container's address and port 80 before the host routes it
//! (prerouting, for packets that come in; output, for the host's own); conntrack
//! rewrites the answers back. A client from another machine keeps its source address.
//! Two cases need the source rewritten too (masquerade, in postrouting): a client on
//! the host reaching 127.0.0.1:8080 (a loopback source may not leave by the bridge, nor
//! could the container answer it; `route_localnet` on the bridge lets the kernel route
//! it at all), and a container reaching its own published port through the host's
//! address (hairpin: it would answer itself directly, not through the host, where the
//! answer is un-NATed). Postrouting knows no input link, so the hairpin rule matches
//! the container's address on both sides, as Docker's does:
//!
//! ```text
//! table ip skiff_ports {
//!     chain prerouting {
//!         type nat hook prerouting priority -100; policy accept;
//!         fib daddr type local meta l4proto tcp tcp dport 8080 dnat to 10.88.0.2:80
//!     }
//!     chain output { type nat hook output priority -100; (the same rules) }
//!     chain postrouting {
//!         type nat hook postrouting priority 100; policy accept;
//!         ip saddr 127.0.0.0/8 ip daddr 10.88.0.2 masquerade
//!         ip saddr 10.88.0.2 ip daddr 10.88.0.2 masquerade
//!     }
//! }
//! ```
//!
//! The table is declarative: each container with published ports has a record,
//! `/run/skiff/ports/ID` (its `Settings`: its address and its ports), and every change rebuilds
//! the whole table from the records, in one batch, under the network lock. A record
//! counts while its veth exists, which the kernel ends with the container's network
//! namespace: a container that died unwatched loses its rules at the next rebuild, and
//! the table goes when no container publishes anything.
//!
//! skiff also holds each published port open, as Docker's proxy does: the process that
//! supervises the container binds a socket to it (and, for TCP, listens, never
//! accepting: the DNAT rule takes every packet first). So a port that a host program or
//! another container holds fails the run at once, a host program cannot take the port
//! later, and `-p 80` asks the kernel for a free port of its ephemeral range.
//! <https://man7.org/linux/man-pages/man8/nft.8.html> (the rules' spelling)
//! <https://docs.kernel.org/networking/ip-sysctl.html> (`route_localnet`)
//! <https://wiki.nftables.org/wiki-nftables/index.php/Performing_Network_Address_Translation_(NAT)>

use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Mutex;

use miniserde::{json, Deserialize, Serialize};

use super::netlink::{Request, Socket};
use super::nftables::{self, Hook, NFT_CMP_EQ};
use super::{bridge, Settings};
use crate::error::{Context, Error, Result};
use crate::trace;

const TABLE: &str = "skiff_ports";

/// One published port: `-p [HOST_IP:][HOST_PORT:]PORT[/PROTOCOL]`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Port {
    /// An IPv4 address of the host, or "" for all of them.
    pub host_ip: String,
    /// 0 until the container starts: any free port.
    pub host_port: u16,
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

impl Port {
    /// `-p`'s value, as Docker reads it.
    pub fn parse(text: &str) -> Result<Port> {
        let (rest, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
        if !matches!(protocol, "tcp" | "udp") {
            return Err(Error::invalid(format!("invalid proto: {protocol}")));
        }
        let mut parts = rest.rsplitn(3, ':');
        let container = parts.next().unwrap_or_default();
        let container_port = number(container, "containerPort")?;
        let host_port = match parts.next() {
            None | Some("") => 0,
            Some(port) => number(port, "hostPort")?,
        };
        let host_ip = parts.next().unwrap_or_default();
        if !host_ip.is_empty() && host_ip.parse::<Ipv4Addr>().is_err() {
            return Err(Error::invalid(format!("invalid IP address: {host_ip}")));
        }
        Ok(Port {
            host_ip: host_ip.into(),
            host_port,
            container_port,
            protocol: protocol.into(),
        })
    }

    /// `80/tcp`: the container's side, as Docker names it.
    pub fn name(&self) -> String {
        format!("{}/{}", self.container_port, self.protocol)
    }

    /// `0.0.0.0:8080`: the host's side.
    pub fn host(&self) -> String {
        format!("{}:{}", self.address(), self.host_port)
    }

    /// The host's address it is published on (0.0.0.0: all of them).
    pub fn address(&self) -> Ipv4Addr {
        self.host_ip.parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
    }
}

/// A port number of 1 to 65535.
fn number(text: &str, what: &str) -> Result<u16> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(Error::invalid(format!("invalid {what}: {text}"))),
    }
}

fn records() -> PathBuf {
    crate::rootless::runtime_dir().join("ports")
}

/// The sockets this process holds open for the container it supervises, by its ID
/// (see the module's doc): closed when [`unpublish`] gives its ports back, or when the
/// process ends.
static HELD: Mutex<Vec<(String, OwnedFd)>> = Mutex::new(Vec::new());

fn held() -> std::sync::MutexGuard<'static, Vec<(String, OwnedFd)>> {
    HELD.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Publishes `ports` of container `id`, whose place on its network (on `bridge`) is
/// `settings`: holds each host port, records them and rebuilds the table. Returns the
/// ports with the host ports the kernel picked where none was asked for.
pub fn publish(id: &str, settings: &Settings, ports: &[Port], bridge: &str) -> Result<Vec<Port>> {
    let _lock = bridge::lock()?;
    let host = Socket::open()?;
    let mut sockets = Vec::new();
    let mut published = Vec::new();
    for port in ports {
        let (socket, bound) = hold(port)?;
        sockets.push((id.to_string(), socket));
        published.push(bound);
    }
    let record = Settings {
        ports: Some(published),
        ..settings.clone()
    };
    let path = records().join(id);
    fs::create_dir_all(records()).with_context(|| format!("create {}", records().display()))?;
    fs::write(&path, json::to_string(&record))
        .with_context(|| format!("write {}", path.display()))?;
    let applied = let_packets_turn(bridge, &bridge::veth_name(id)).and_then(|()| rebuild(&host));
    if let Err(err) = applied {
        let _ = fs::remove_file(&path);
        let _ = rebuild(&host);
        return Err(err);
    }
    held().extend(sockets);
    Ok(record.ports.unwrap_or_default())
}

/// Binds a socket to `port` on the host, with the port the kernel gave it. Another
/// container's published port is taken too: its supervisor holds it.
pub(super) fn hold(port: &Port) -> Result<(OwnedFd, Port)> {
    let in_use = || {
        Error::invalid(format!(
            "Bind for {} failed: port is already allocated",
            port.host()
        ))
    };
    let address = SocketAddrV4::new(port.address(), port.host_port);
    let bound = match port.protocol.as_str() {
        "udp" => UdpSocket::bind(address).and_then(|s| Ok((s.local_addr()?, OwnedFd::from(s)))),
        _ => TcpListener::bind(address).and_then(|s| Ok((s.local_addr()?, OwnedFd::from(s)))),
    };
    let (local, socket) = match bound {
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => return Err(in_use()),
        other => other.with_context(|| format!("bind {}/{}", port.host(), port.protocol))?,
    };
    trace::step(&format!(
        "hold {}/{} for the container",
        local, port.protocol
    ));
    let bound = Port {
        host_port: local.port(),
        ..port.clone()
    };
    Ok((socket, bound))
}

/// Gives back container `id`'s published ports, if it has any.
pub fn unpublish(id: &str) -> Result<()> {
    held().retain(|(holder, _)| holder != id);
    let path = records().join(id);
    if !path.exists() {
        return Ok(());
    }
    let _lock = bridge::lock()?;
    match fs::remove_file(&path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => other.with_context(|| format!("remove {}", path.display()))?,
    }
    rebuild(&Socket::open()?)
}

/// Two switches for packets that turn back where they came from (sysctl and sysfs):
/// `route_localnet` on the bridge, so packets from 127.0.0.1 may be routed out of it
/// (the host's loopback clients), and `hairpin_mode` on the container's bridge port.
/// Where the bridge hands its frames to netfilter (br_netfilter, as on hosts that run
/// Docker), a packet DNATed back to the container it came from is switched, not
/// routed, out of the port it came in by, which a bridge refuses unless that is on.
fn let_packets_turn(bridge: &str, veth: &str) -> Result<()> {
    for path in [
        format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"),
        format!("/sys/class/net/{veth}/brport/hairpin_mode"),
    ] {
        fs::write(&path, "1").with_context(|| format!("write 1 to {path}"))?;
    }
    Ok(())
}

/// The records of containers whose veth still exists, by ID; the others' are removed.
fn living(host: &Socket) -> Result<Vec<(String, Settings)>> {
    let entries = match fs::read_dir(records()) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        other => other.with_context(|| format!("read {}", records().display()))?,
    };
    let mut living = Vec::new();
    for entry in entries {
        let entry = entry?;
        let id = entry.file_name().to_string_lossy().into_owned();
        let text = fs::read_to_string(entry.path()).unwrap_or_default();
        match json::from_str::<Settings>(&text) {
            Ok(record) if host.link_index(&bridge::veth_name(&id)).is_ok() => {
                living.push((id, record))
            }
            _ => {
                trace::step(&format!("container {id} is gone: its ports go"));
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    Ok(living)
}

/// Table `skiff_ports` as the living records say, in one batch; none if they are none.
fn rebuild(host: &Socket) -> Result<()> {
    let records = living(host)?;
    if records.is_empty() {
        return nftables::delete_table(TABLE);
    }
    let chain = |name, number, priority| {
        let hook = Hook {
            number,
            priority,
            kind: "nat",
        };
        nftables::base_chain(TABLE, name, &hook)
    };
    let mut contents = vec![
        chain("prerouting", nftables::NF_INET_PRE_ROUTING, -100),
        chain("output", nftables::NF_INET_LOCAL_OUT, -100),
        chain("postrouting", nftables::NF_INET_POST_ROUTING, 100),
    ];
    for (id, record) in &records {
        let address: Ipv4Addr = record
            .ip_address
            .parse()
            .map_err(|_| Error::invalid(format!("{id}'s port record names no address")))?;
        for port in record.ports.iter().flatten() {
            contents.push(dnat("prerouting", port, address));
            contents.push(dnat("output", port, address));
        }
        contents.push(masquerade(address, false));
        contents.push(masquerade(address, true));
    }
    trace::step(&format!(
        "table ip {TABLE}: the ports of {} containers",
        records.len()
    ));
    nftables::replace_table(TABLE, contents)
}

/// `fib daddr type local [ip daddr IP] meta l4proto P th dport HP dnat to ADDRESS:CP`.
fn dnat(chain: &str, port: &Port, address: Ipv4Addr) -> Request {
    let what = format!(
        "{chain}: {}/{} dnat to {address}:{}",
        port.host(),
        port.protocol,
        port.container_port
    );
    let protocol: u8 = match port.protocol.as_str() {
        "udp" => libc::IPPROTO_UDP as u8,
        _ => libc::IPPROTO_TCP as u8,
    };
    nftables::rule(TABLE, chain, what, |list| {
        nftables::load_destination_type(list);
        nftables::compare(list, NFT_CMP_EQ, &nftables::RTN_LOCAL.to_ne_bytes());
        if !port.host_ip.is_empty() {
            // the IPv4 header's destination address: offset 16, 4 bytes
            nftables::load_payload(list, nftables::NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
            nftables::compare(list, NFT_CMP_EQ, &port.address().octets());
        }
        nftables::load_meta(list, nftables::NFT_META_L4PROTO);
        nftables::compare(list, NFT_CMP_EQ, &[protocol]);
        // TCP's and UDP's destination port: offset 2, 2 bytes
        nftables::load_payload(list, nftables::NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
        nftables::compare(list, NFT_CMP_EQ, &port.host_port.to_be_bytes());
        nftables::load_constant(list, nftables::NFT_REG_1, &address.octets());
        let container_port = port.container_port.to_be_bytes();
        nftables::load_constant(list, nftables::NFT_REG_2, &container_port);
        nftables::destination_nat(list);
    })
}

/// `ip saddr 127.0.0.0/8 ip daddr ADDRESS masquerade` (the host's loopback clients),
/// or with `hairpin`, `ip saddr ADDRESS ip daddr ADDRESS masquerade` (the container
/// itself, by the host's address: its packets to itself never reach the host otherwise).
fn masquerade(address: Ipv4Addr, hairpin: bool) -> Request {
    let (source, mask) = match hairpin {
        true => (address, [255; 4]),
        false => (Ipv4Addr::LOCALHOST, [255, 0, 0, 0]),
    };
    let what = format!("ip saddr {source} ip daddr {address} masquerade");
    nftables::rule(TABLE, "postrouting", what, |list| {
        // the IPv4 header's source address: offset 12; its destination: 16
        nftables::load_payload(list, nftables::NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
        nftables::mask(list, &mask);
        let network = u32::from(source) & u32::from_be_bytes(mask);
        nftables::compare(list, NFT_CMP_EQ, &network.to_be_bytes());
        nftables::load_payload(list, nftables::NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
        nftables::compare(list, NFT_CMP_EQ, &address.octets());
        nftables::expression(list, "masq", |_| {});
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(host_ip: &str, host_port: u16, container_port: u16, protocol: &str) -> Port {
        Port {
            host_ip: host_ip.into(),
            host_port,
            container_port,
            protocol: protocol.into(),
        }
    }

    #[test]
    fn publish_flags_read_as_dockers() {
        assert_eq!(Port::parse("80").unwrap(), port("", 0, 80, "tcp"));
        assert_eq!(Port::parse("8080:80").unwrap(), port("", 8080, 80, "tcp"));
        assert_eq!(
            Port::parse("127.0.0.1:8080:80/udp").unwrap(),
            port("127.0.0.1", 8080, 80, "udp")
        );
        assert_eq!(
            Port::parse("127.0.0.1::80").unwrap(),
            port("127.0.0.1", 0, 80, "tcp")
        );
    }

    #[test]
    fn bad_publish_flags_say_which_part_is_wrong() {
        let err = |text| Port::parse(text).unwrap_err().to_string();
        assert_eq!(err("http"), "invalid containerPort: http");
        assert_eq!(err("99999:80"), "invalid hostPort: 99999");
        assert_eq!(err("80/sctp"), "invalid proto: sctp");
        assert_eq!(err("nowhere:80:80"), "invalid IP address: nowhere");
    }

    #[test]
    fn ports_are_named_as_docker_shows_them() {
        let p = port("", 8080, 80, "tcp");
        assert_eq!(
            (p.name(), p.host()),
            ("80/tcp".into(), "0.0.0.0:8080".into())
        );
    }
}
