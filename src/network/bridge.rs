//! The default bridge, `skiff0`, and its addresses.
//!
//! The bridge is a switch in the host's kernel; each container on it has a veth pair,
//! a virtual cable whose host end is a port of the bridge and whose other end is the
//! container's `eth0`. The bridge holds the subnet's first address, the containers'
//! gateway. Bridges and links belong to the machine, not to one store, so its records
//! live under /run/skiff (a tmpfs: gone at boot, as the bridge is), behind one lock:
//!
//! ```text
//! /run/skiff/network.lock           flock(2): one skiff at a time changes the network
//! /run/skiff/networks/skiff0/subnet  the bridge's subnet, written once it is complete
//!                          /10.88.0.2  a lease: the host end of the veth holding it
//! ```
//!
//! A lease is in use while its veth exists, and the kernel destroys a veth with the
//! network namespace of its container end: so the kernel itself says which addresses
//! a container that died unwatched (skiff killed, `kill -9`) left free, and none can be
//! handed out twice. The bridge and its NAT table stay up once made, as Docker keeps
//! docker0: making and removing them per container cost a run 35 to 95 ms. They go at
//! reboot, with /run.
//! <https://man7.org/linux/man-pages/man4/veth.4.html>
//! <https://docs.kernel.org/networking/bridge.html>

use std::fs::{self, File};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::nat;
use super::netlink::{self, Socket};
use super::subnet::{self, Subnet};
use super::Settings;
use crate::error::{Context, Error, Result};
use crate::{sys, trace};

pub const NAME: &str = "skiff0";

fn records() -> PathBuf {
    Path::new("/run/skiff/networks").join(NAME)
}

/// The network lock, held until the file is dropped (closing it releases the lock).
fn lock() -> Result<File> {
    let path = Path::new("/run/skiff/network.lock");
    fs::create_dir_all("/run/skiff").context("create /run/skiff")?;
    let file = File::create(path).with_context(|| format!("open {}", path.display()))?;
    sys::flock_exclusive(&file, path)?;
    Ok(file)
}

/// The host end of a container's veth: `veth` and the start of its ID (IFNAMSIZ
/// leaves 15 characters).
fn veth_name(id: &str) -> String {
    format!("veth{}", &id[..11.min(id.len())])
}

/// Plugs the network namespace `netns` into the bridge: a veth pair, an address for its
/// `eth0` (configured through `inside`, a socket opened in that namespace) and the
/// default route through the bridge.
pub fn connect(id: &str, netns: &File, inside: &Socket) -> Result<Settings> {
    let _lock = lock()?;
    let host = Socket::open()?;
    let (subnet, bridge) = bridge(&host)?;
    let veth = veth_name(id);
    delete(&host, &veth)?; // from an earlier start, if it lingers
    let ip = lease(&host, &subnet, &veth)?;
    trace::step(&format!(
        "a veth pair: {veth} on {NAME}, eth0 = {ip} inside"
    ));
    let plugged = host
        .ask(&netlink::new_veth(&veth, bridge, "eth0", netns))
        .and_then(|()| inside.link_index("eth0"))
        .and_then(|eth0| {
            inside.ask(&netlink::new_address(eth0, ip, subnet.prefix))?;
            inside.ask(&netlink::link_up(eth0))
        })
        .and_then(|()| inside.ask(&netlink::default_route(subnet.gateway())));
    if let Err(err) = plugged {
        let _ = host.ask(&netlink::delete_link(&veth));
        let _ = fs::remove_file(records().join(ip.to_string()));
        return Err(err);
    }
    Ok(Settings {
        network: "bridge".into(),
        ip_address: ip.to_string(),
        ip_prefix_len: subnet.prefix,
        gateway: subnet.gateway().to_string(),
    })
}

/// The bridge's subnet and link index, the bridge made first if need be.
fn bridge(host: &Socket) -> Result<(Subnet, u32)> {
    let recorded = fs::read_to_string(records().join("subnet"));
    if let (Ok(index), Some(subnet)) = (
        host.link_index(NAME),
        recorded.ok().as_deref().and_then(Subnet::parse),
    ) {
        return Ok((subnet, index));
    }
    delete(host, NAME)?; // half made by a skiff that was killed
    let routes = fs::read_to_string("/proc/net/route").context("read /proc/net/route")?;
    let subnet = subnet::unused(&routes, NAME).ok_or_else(|| {
        Error::invalid("every subnet skiff would take (10.88.0.0/16 to 10.99.0.0/16) is already routed on this host")
    })?;
    trace::step(&format!(
        "the bridge {NAME}: {subnet}, gateway {}",
        subnet.gateway()
    ));
    host.ask(&netlink::new_bridge(NAME))?;
    let index = host.link_index(NAME)?;
    host.ask(&netlink::new_address(
        index,
        subnet.gateway(),
        subnet.prefix,
    ))?;
    forward_ipv4()?;
    nat::masquerade(&subnet, NAME)?; // nf_tables over netlink
    fs::create_dir_all(records()).with_context(|| format!("create {}", records().display()))?;
    let record = records().join("subnet");
    fs::write(&record, subnet.to_string())
        .with_context(|| format!("write {}", record.display()))?;
    Ok((subnet, index))
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

/// The first free address of `subnet`, recorded as held by `veth`.
fn lease(host: &Socket, subnet: &Subnet, veth: &str) -> Result<Ipv4Addr> {
    for n in subnet.hosts() {
        let ip = subnet.host(n);
        let path = records().join(ip.to_string());
        if holder(host, &path).is_some() {
            continue;
        }
        fs::write(&path, veth).with_context(|| format!("write {}", path.display()))?;
        return Ok(ip);
    }
    Err(Error::invalid(format!(
        "no free address left in {NAME}'s {subnet}"
    )))
}

/// The veth that holds the lease at `path`, if it still exists.
fn holder(host: &Socket, path: &Path) -> Option<String> {
    let veth = fs::read_to_string(path).ok()?;
    host.link_index(&veth).ok().map(|_| veth)
}

/// Gives back container `id`'s address, and any other lease whose veth is gone. Its
/// veth is not deleted here: the kernel destroys it with the namespace, in the
/// background, where deleting it would wait for that (~14 ms measured). Nothing to do
/// if there is no bridge.
pub fn release(id: &str) -> Result<()> {
    if !records().exists() {
        return Ok(()); // no bridge: nothing to lock for
    }
    let _lock = lock()?;
    let host = Socket::open()?;
    let veth = veth_name(id);
    for entry in fs::read_dir(records()).context("read the bridge's leases")? {
        let path = entry?.path();
        if path.ends_with("subnet") {
            continue;
        }
        if holder(&host, &path).is_none_or(|holder| holder == veth) {
            fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// Deletes the link `name`; fine if there is none.
fn delete(host: &Socket, name: &str) -> Result<()> {
    match host.ask(&netlink::delete_link(name)) {
        Err(err) if err.errno() == Some(libc::ENODEV) => Ok(()),
        other => other,
    }
}
