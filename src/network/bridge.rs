//! Bridges and their addresses: the default bridge, `skiff0`, and one `br-<id>` per
//! user network.
//!
//! The bridge is a switch in the host's kernel; each container on it has a veth pair,
//! a virtual cable whose host end is a port of the bridge and whose other end is the
//! container's `eth0`. The bridge holds the subnet's first address, the containers'
//! gateway. Bridges and links belong to the machine, not to one store, so its records
//! live under /run/skiff (a tmpfs: gone at boot, as the bridge is; `rootless::runtime_dir`),
//! behind one lock:
//!
//! ```text
//! /run/skiff/network.lock           flock(2): one skiff at a time changes the network
//! /run/skiff/networks/skiff0/subnet  the bridge's subnet, written once it is complete
//!                          /10.88.0.2  a lease: the host end of the veth holding it
//! /run/skiff/networks/br-3f2a…/…     the same, for each user network's bridge
//! ```
//!
//! A lease is in use while its veth exists, and the kernel destroys a veth with the
//! network namespace of its container end: so the kernel itself says which addresses
//! a container that died unwatched (skiff killed, `kill -9`) left free, and none can be
//! handed out twice. So a lease and its veth are made under one hold of the lock, even
//! where the container's first process is forked between the two (see `Lease`). The bridge and its NAT table stay up once made, as Docker keeps
//! docker0: making and removing them per container cost a run 35 to 95 ms. They go at
//! reboot, with /run.
//! <https://man7.org/linux/man-pages/man4/veth.4.html>
//! <https://docs.kernel.org/networking/bridge.html>

use std::fs::{self, File};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::netlink::{self, Socket};
use super::subnet::{self, Subnet};
use super::Settings;
use super::{nat, user};
use crate::error::{Context, Error, Result};
use crate::{rootless, sys, trace};

pub const NAME: &str = "skiff0";

/// A network, as its bridge is to be made: its name and ID (for the container's
/// settings), its bridge, and its subnet and gateway (`None`: the first subnet no
/// route or other bridge uses, chosen when the bridge is made, as the default's is).
pub struct Wanted {
    pub name: String,
    pub id: String,
    pub bridge: String,
    pub fixed: Option<(Subnet, Ipv4Addr)>,
}

/// `/run/skiff/networks`: a directory per bridge.
fn records_dir() -> PathBuf {
    rootless::runtime_dir().join("networks")
}

fn records(bridge: &str) -> PathBuf {
    records_dir().join(bridge)
}

/// The network lock, held until the file is dropped (closing it releases the lock).
/// Its directory is made only if the lock file cannot be opened without it: once
/// made, it stays until reboot, and each start and end takes the lock.
pub(super) fn lock() -> Result<File> {
    let dir = rootless::runtime_dir();
    let path = dir.join("network.lock");
    match sys::lock_file(&path) {
        Err(err) if err.errno() == Some(libc::ENOENT) => {
            fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
            sys::lock_file(&path)
        }
        locked => locked,
    }
}

/// The host end of a container's veth: `veth` and the start of its ID (IFNAMSIZ
/// leaves 15 characters).
pub(super) fn veth_name(id: &str) -> String {
    format!("veth{}", &id[..11.min(id.len())])
}

/// An address leased on a bridge for a container whose veth is yet to be made: until
/// it is, the lease's holder does not exist, and another skiff would take the address
/// back (`release`) or hand it out again (`lease`). So the network lock stays held,
/// here, until [`plug`] has made the veth.
pub struct Lease {
    _lock: File,
    host: Socket,
    veth: String,
    bridge: (String, u32),
    ip: Ipv4Addr,
    prefix: u8,
    gateway: Ipv4Addr,
}

/// Leases container `id` an address on `wanted`'s bridge, made first if need be:
/// its place on the network, known before it is plugged in.
pub fn lease(id: &str, wanted: &Wanted) -> Result<(Lease, Settings)> {
    let lock = lock()?;
    let host = Socket::open()?;
    let (subnet, gateway, index) = bridge(&host, wanted)?;
    let veth = veth_name(id);
    delete(&host, &veth)?; // from an earlier start, if it lingers
    let ip = take_address(&host, &wanted.bridge, (&subnet, gateway), &veth)?;
    let settings = Settings {
        network: wanted.name.clone(),
        network_id: Some(wanted.id.clone()),
        ip_address: ip.to_string(),
        ip_prefix_len: subnet.prefix,
        gateway: gateway.to_string(),
        ..Settings::default()
    };
    let lease = Lease {
        _lock: lock,
        host,
        veth,
        bridge: (wanted.bridge.clone(), index),
        ip,
        prefix: subnet.prefix,
        gateway,
    };
    Ok((lease, settings))
}

/// Plugs the network namespace `netns` into the bridge of its `lease`: a veth pair, the
/// address for its `eth0` (configured through `inside`, a socket opened in that
/// namespace) and the default route through the bridge. `lo`, a request for the same
/// namespace, rides with eth0's: the kernel takes a datagram of requests in order
/// and acknowledges each, so all of the inside is one round trip. Releases the
/// network lock.
pub fn plug(lease: Lease, netns: &File, inside: &Socket, lo: netlink::Request) -> Result<()> {
    let Lease { host, veth, ip, .. } = &lease;
    let (bridge, index) = &lease.bridge;
    trace::step(&format!(
        "a veth pair: {veth} on {bridge}, eth0 = {ip} inside"
    ));
    let mut requests = vec![netlink::new_veth(veth, *index, "eth0", netns)];
    if host_has_ipv6() {
        requests.push(netlink::without_link_local(veth).optional()); // before eth0 is up: no carrier yet
    }
    let plugged = host
        .ask_all(&requests)
        .and_then(|echo| match echo.as_deref().and_then(netlink::peer_index) {
            Some(eth0) => Ok(eth0),
            None => inside.link_index("eth0"), // a kernel before 6.1 echoes nothing
        })
        .and_then(|eth0| {
            inside
                .ask_all(&[
                    lo,
                    netlink::new_address(eth0, *ip, lease.prefix),
                    netlink::link_up(eth0), // after its address: no moment up without one
                    netlink::default_route(lease.gateway), // through the subnet eth0 now has
                ])
                .map(drop)
        });
    if let Err(err) = plugged {
        let _ = host.ask(&netlink::delete_link(veth));
        let _ = fs::remove_file(records(bridge).join(ip.to_string()));
        return Err(err.context(format!("connect to {bridge}")));
    }
    Ok(())
}

/// Whether the host runs IPv6 at all: `ipv6.disable=1` on its command line leaves no
/// IPv6 to configure a link's, and the kernel refuses to try.
fn host_has_ipv6() -> bool {
    Path::new("/proc/sys/net/ipv6").exists()
}

/// The bridge's subnet, gateway and link index, the bridge made first if need be.
fn bridge(host: &Socket, wanted: &Wanted) -> Result<(Subnet, Ipv4Addr, u32)> {
    let name = &wanted.bridge;
    let gateway = |subnet: &Subnet| wanted.fixed.map_or(subnet.gateway(), |(_, g)| g);
    let recorded = fs::read_to_string(records(name).join("subnet"));
    if let (Ok(index), Some(subnet)) = (
        host.link_index(name),
        recorded.ok().as_deref().and_then(Subnet::parse),
    ) {
        // The kernel's word over the record's: a bridge made again by another skiff
        // (another version, another /run) may hold another subnet than recorded.
        if subnet::routed_through(&route_table()?, &subnet, name) {
            return Ok((subnet, gateway(&subnet), index));
        }
        trace::step(&format!(
            "{name} does not hold {subnet} as recorded: made again"
        ));
    }
    delete(host, name)?; // half made by a skiff that was killed, or not as recorded
    let mut made = made()?;
    let subnet = free_subnet(wanted, &made)?;
    trace::step(&format!(
        "the bridge {name}: {subnet}, gateway {}",
        gateway(&subnet)
    ));
    host.ask(&netlink::new_bridge(name))?;
    let index = host.link_index(name)?;
    host.ask(&netlink::new_address(
        index,
        gateway(&subnet),
        subnet.prefix,
    ))?;
    forward_ipv4()?;
    made.push((name.clone(), subnet));
    nat::rebuild(&made)?; // nf_tables over netlink
    nat::warn_if_forward_drops(name);
    fs::create_dir_all(records(name))
        .with_context(|| format!("create {}", records(name).display()))?;
    let record = records(name).join("subnet");
    fs::write(&record, subnet.to_string())
        .with_context(|| format!("write {}", record.display()))?;
    Ok((subnet, gateway(&subnet), index))
}

/// `wanted`'s subnet, if no host route or other bridge of skiff's (`made`) has it yet.
fn free_subnet(wanted: &Wanted, made: &[(String, Subnet)]) -> Result<Subnet> {
    let mut taken = subnet::routes(&route_table()?, &wanted.bridge);
    taken.extend(made.iter().map(|(_, subnet)| *subnet));
    match wanted.fixed {
        Some((subnet, _)) if taken.iter().any(|t| t.overlaps(&subnet)) => Err(Error::invalid(
            format!("network {}: its subnet {subnet} is already routed on this host", wanted.name),
        )),
        Some((subnet, _)) => Ok(subnet),
        None => subnet::first_free(subnet::DEFAULTS, &taken).ok_or_else(|| {
            Error::invalid("every subnet skiff would take (10.88.0.0/16 to 10.99.0.0/16) is already routed on this host")
        }),
    }
}

/// The host's routes, as /proc/net/route lists them (see `subnet`).
pub fn route_table() -> Result<String> {
    fs::read_to_string("/proc/net/route").context("read /proc/net/route")
}

/// Every bridge skiff has made on this machine (whichever store it served), with its
/// subnet: what skiff's nf_tables table is built from.
pub fn made() -> Result<Vec<(String, Subnet)>> {
    let mut made = Vec::new();
    for entry in fs::read_dir(records_dir()).into_iter().flatten() {
        let path = entry?.path();
        let subnet = fs::read_to_string(path.join("subnet")).ok();
        if let (Some(subnet), Some(name)) = (
            subnet.as_deref().and_then(Subnet::parse),
            path.file_name().and_then(|n| n.to_str()),
        ) {
            made.push((name.to_string(), subnet));
        }
    }
    Ok(made)
}

/// `net.ipv4.ip_forward = 1` (sysctl through /proc/sys): the host routes the
/// containers' packets on to its other links. A host-wide setting, as with Docker.
fn forward_ipv4() -> Result<()> {
    let path = "/proc/sys/net/ipv4/ip_forward";
    match fs::read_to_string(path) {
        Ok(value) if value.trim() == "1" => Ok(()),
        _ => fs::write(path, "1").with_context(|| format!("write 1 to {path}")),
    }
}

/// The first free address of `subnet` but its `gateway`, recorded as held by `veth`.
fn take_address(
    host: &Socket,
    bridge: &str,
    (subnet, gateway): (&Subnet, Ipv4Addr),
    veth: &str,
) -> Result<Ipv4Addr> {
    for n in subnet.hosts() {
        let ip = subnet.host(n);
        let path = records(bridge).join(ip.to_string());
        if ip == gateway || holder(host, &path).is_some() {
            continue;
        }
        fs::write(&path, veth).with_context(|| format!("write {}", path.display()))?;
        return Ok(ip);
    }
    Err(Error::invalid(format!(
        "no free address left in {bridge}'s {subnet}"
    )))
}

/// The veth that holds the lease at `path`, if it still exists.
fn holder(host: &Socket, path: &Path) -> Option<String> {
    let veth = leaseholder(path)?;
    host.link_index(&veth).ok().map(|_| veth)
}

/// The veth a lease names, whether it exists or not. /run/skiff is the machine's, shared
/// by every skiff on it whatever its version, so the lease stays a file: a symlink (no
/// block on a disk) would read as free to a skiff before this one, which would hand its
/// address out again and remove it (measured, see tests/bench/RESULTS.md).
fn leaseholder(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// Gives back container `id`'s address, which its network `settings` name: its lease,
/// if it still holds it (once its veth is gone, another start may have taken the
/// address over). Its veth is not deleted here: the kernel destroys it with the
/// namespace, in the background, where deleting it would wait for that (~14 ms
/// measured). Without settings (a start cut short before they were recorded) or with
/// ones too old to name their network's ID, every lease of every bridge is looked at.
pub fn release(id: &str, settings: Option<&Settings>) -> Result<()> {
    let veth = veth_name(id);
    let Some(lease) = settings.and_then(lease_path) else {
        return release_any(&veth);
    };
    if leaseholder(&lease).as_ref() != Some(&veth) {
        return Ok(()); // none, or another's: no lock to take for it (rootless: no bridge)
    }
    let _lock = lock()?;
    match leaseholder(&lease) {
        Some(holder) if holder == veth => {
            fs::remove_file(&lease).with_context(|| format!("remove {}", lease.display()))
        }
        _ => Ok(()),
    }
}

/// Where the lease of the address `settings` name is. The record is a file anyone with
/// root can edit, so nothing from it but an address and hex digits goes into the path.
fn lease_path(settings: &Settings) -> Option<PathBuf> {
    let ip: Ipv4Addr = settings.ip_address.parse().ok()?;
    let bridge = match settings.network.as_str() {
        "bridge" => NAME.to_string(),
        _ => {
            let id = settings.network_id.as_deref()?;
            let hex = !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit());
            user::bridge_of(Some(id).filter(|_| hex)?)
        }
    };
    Some(records(&bridge).join(ip.to_string()))
}

/// [`release`] without knowing the address: every bridge's leases are read, and
/// `veth`'s is removed, and with it any other whose veth is gone.
fn release_any(veth: &str) -> Result<()> {
    if !records_dir().exists() {
        return Ok(()); // no bridge: nothing to lock for
    }
    let _lock = lock()?;
    let host = Socket::open()?;
    for (bridge, _) in made()? {
        for entry in fs::read_dir(records(&bridge)).context("read a bridge's leases")? {
            let path = entry?.path();
            if path.ends_with("subnet") {
                continue;
            }
            if holder(&host, &path).is_none_or(|holder| holder == veth) {
                fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Takes `bridge` down with its records (`network rm`), and rebuilds skiff's table
/// without it. Its containers are gone: `network rm` refuses otherwise.
pub fn remove(bridge: &str) -> Result<()> {
    let _lock = lock()?;
    let host = Socket::open()?;
    delete(&host, bridge)?;
    if records(bridge).exists() {
        fs::remove_dir_all(records(bridge))
            .with_context(|| format!("remove {}", records(bridge).display()))?;
    }
    nat::rebuild(&made()?)
}

/// Deletes the link `name`; fine if there is none. It is looked for first, a lookup
/// that takes no lock: it is mostly not there, and `RTM_DELLINK` would wait for the
/// rtnl lock even then.
fn delete(host: &Socket, name: &str) -> Result<()> {
    let absent = |err: &Error| err.errno() == Some(libc::ENODEV);
    if host.link_index(name).is_err_and(|err| absent(&err)) {
        return Ok(());
    }
    match host.ask(&netlink::delete_link(name)) {
        Err(err) if absent(&err) => Ok(()),
        other => other,
    }
}
