//! Container networking: a container in a network namespace of its own, unless it
//! shares the host's (`--network host`).
//!
//! A network namespace (`CLONE_NEWNET`) has its own links, addresses, routes and
//! ports; a new one holds only `lo`, down. `--network` picks what the container gets:
//!
//! - `bridge` (the default, as Docker's): `lo` up, and an
//!   `eth0` on skiff's bridge with an address of its own and a default route through
//!   the bridge (see `bridge`).
//! - a user network's name (`network create`, see `user`): the same, on its own bridge.
//! - `none`: `lo` up and nothing else.
//! - `host`: no namespace of its own; it shares the host's network.
//! - `container:NAME|ID`: the network namespace of another container, which must be
//!   running: both see the same links and addresses, and reach each other on `lo`.
//!
//! On a bridge, skiff leases the container's address before it forks the container, for
//! its /etc/hosts. The rest runs in parallel with the container's own set-up, on the
//! machine's other core. The container's first process makes the namespace, as its
//! first step: it unshare(2)s it, turns IPv6 off in it as Docker's daemon does (its
//! networks are IPv4-only: [`without_ipv6`]), opens a netlink socket inside, and sends
//! skiff both (/proc/self/ns/net and the socket, SCM_RIGHTS) on a socket pair
//! ([`enter`]). skiff receives them once it has stacked the container's layers and made
//! its cgroup (v1) meanwhile (`container::start`). A socket stays bound to the
//! namespace it was made in, so skiff, never leaving the host's, configures the inside
//! from outside while the container makes its mounts ([`Attachment::configure`]): it
//! brings up `lo`, makes the veth pair (its peer made straight in that namespace),
//! gives `eth0` its address and the default route, and publishes the ports; then it
//! writes a byte back on the same socket (after the one that says its cgroup is made).
//! The container reads it just before pivot_root(2) (`container::start`). That is safe
//! because nothing before that point looks at the network: the hostname and the mounts
//! do not, and the sysfs it mounts on /sys is its namespace's, not a moment's, so
//! `eth0` shows there once made. Everything after it may: its sysctls (`--sysctl
//! net.ipv4.conf.eth0.…` needs `eth0`), and the command itself.
//! Why the container makes its namespace: unshare(CLONE_NEWNET) takes ~0.4–0.9 ms,
//! which before the fork was on the serial path. Measured three ways, PID 1 making it
//! overlaps best (tests/bench/RESULTS.md, "netsplit12"); woken by PID 1's first byte,
//! skiff often finds itself on the other CPU, where it stacks the layers and makes the
//! cgroup (v1) while PID 1 makes the namespace, then configures the network beside PID
//! 1's mounts. The lease, and with it the network lock, is held until the veth exists,
//! so all of that falls inside the lock too: concurrent starts on one bridge take turns
//! there.
//! A set-up that fails kills the process before it execs, and the start fails as
//! any other, taking back its cgroup and address (`container::start`); its veth goes
//! with the namespace. A namespace joined (`container:NAME|ID`, an OCI bundle's path)
//! is known before the fork, and is the container's first step; rootless, all of it
//! happens before the fork (slirp4netns connects the namespace a child made, below).
//!
//! All of it is rtnetlink (`netlink`), no `ip` binary. Without `CAP_NET_ADMIN` (skiff
//! in a container started with only `--cap-add=SYS_ADMIN`, the CodeCrafters way)
//! `--network bridge` and `none` fail with one line, and the default falls back to the
//! host's network, as skiff ran there before it had networks. A rootless skiff has
//! CAP_NET_ADMIN only in its own user namespace, so a child makes the namespace (skiff
//! could not setns(2) back to the host's), IPv4-only as well, and no bridge reaches
//! it: `none` works, and the default (and `bridge`, and `-p`) goes through slirp4netns
//! when it is installed (`slirp`), else is the host's network ([`check_rootless`]).
//! <https://man7.org/linux/man-pages/man7/network_namespaces.7.html>

mod bridge;
mod nat;
mod netlink;
mod nftables;
mod ports;
mod slirp;
mod subnet;
pub mod user;

use std::fs::File;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;

use miniserde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::{rootless, sys, trace};

pub use ports::Port;

/// What `--network` accepts besides user networks and `container:NAME|ID`.
pub const MODES: [&str; 3] = ["bridge", "none", "host"];

/// A container's place on a network, as `inspect` shows it (`NetworkSettings`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// The network's name: `bridge`, or a user network's.
    pub network: String,
    /// Absent in older records.
    pub network_id: Option<String>,
    pub ip_address: String,
    pub ip_prefix_len: u8,
    pub gateway: String,
    /// Its published ports, with the host ports they got (`-p`, `-P`).
    pub ports: Option<Vec<Port>>,
    /// The network's own DNS server (slirp4netns's), for its resolv.conf.
    pub nameserver: Option<String>,
}

/// A container's network: its namespace, known before its PID 1 is forked (another
/// container's, or one made rootless) or made by its PID 1 ([`enter`], [`Attachment::reach`]);
/// its settings; and `pending`, what is left to configure once its PID 1 runs.
/// Neither: the host's network.
#[derive(Default)]
pub struct Attachment {
    pub netns: Option<File>,
    pub settings: Option<Settings>,
    pub pending: Option<Pending>,
}

/// The part of a network's set-up that runs beside the container's own: its lease on a
/// bridge (none: `none`, lo alone), and once reached, a socket inside its namespace. The
/// parent's alone: its PID 1 drops its copy at once (the lease holds the network lock).
pub struct Pending {
    inside: Option<netlink::Socket>,
    lease: Option<bridge::Lease>,
    bridge: String,
}

/// `--network` when none is given, as Docker's.
pub const DEFAULT: &str = "bridge";

/// The container `--network container:NAME|ID` names, if that is what it says.
pub fn joined(requested: &str) -> Option<&str> {
    requested
        .strip_prefix("container:")
        .filter(|c| !c.is_empty())
}

/// Whether `--network requested` (`None`: [`DEFAULT`]) is the host's network.
pub fn shares_host(requested: Option<&str>) -> bool {
    requested.unwrap_or(DEFAULT) == "host"
}

/// A rootless skiff (`rootless`) cannot make a bridge: that needs CAP_NET_ADMIN on the
/// host. Its default network, `bridge` and `-p` go through slirp4netns instead, if it
/// is installed. Checked before anything is pulled.
pub fn check_rootless(requested: Option<&str>, ports: &[Port], publishes: bool) -> Result<()> {
    if !rootless::active() || shares_host(requested) {
        return Ok(());
    }
    let slirp = slirp::installed();
    if slirp && matches!(requested, None | Some("bridge")) {
        return slirp::check(ports);
    }
    let hint = match slirp {
        true => "use bridge (through slirp4netns), none or host",
        false => "install slirp4netns, or use none or host",
    };
    if publishes {
        return Err(Error::invalid(format!(
            "-p: publishing a port needs root or the bridge, and skiff runs rootless here: {hint}"
        )));
    }
    match requested {
        None | Some("none") => Ok(()),
        Some(mode) if joined(mode).is_some() => Ok(()),
        Some(mode) => Err(Error::invalid(format!(
            "--network {mode}: a bridge needs root, and skiff runs rootless here: {hint}"
        ))),
    }
}

/// Makes and configures container `id`'s network namespace, as `--network requested`
/// asks (`None`: [`DEFAULT`], or the host's network where skiff may not make one);
/// `joined` is the namespace of the container `container:NAME|ID` names. Publishes
/// its `ports` (on a bridge only). A namespace made here (rootless) is IPv4-only if
/// `ipv4_only` (Docker's networks, not an OCI bundle's: [`without_ipv6`]).
pub fn attach(
    id: &str,
    requested: Option<&str>,
    joined: Option<File>,
    ports: &[Port],
    ipv4_only: bool,
) -> Result<Attachment> {
    if let Some(netns) = joined {
        trace::step("share the network namespace of another container's PID 1");
        return Ok(Attachment {
            netns: Some(netns),
            ..Attachment::default()
        });
    }
    let may = may_admin()?;
    let mode = match requested {
        Some(mode) => mode,
        None if may && (!rootless::active() || slirp::installed()) => DEFAULT,
        // A published port needs the bridge: no falling back to the host's network
        None if !ports.is_empty() => {
            return Err(Error::invalid(
                "-p: skiff lacks CAP_NET_ADMIN here, so it cannot publish a port",
            ))
        }
        None => {
            trace::step("no CAP_NET_ADMIN: the host's network, not the default bridge");
            "host"
        }
    };
    if mode == "host" {
        return Ok(Attachment::default());
    }
    if !may {
        return Err(Error::invalid(format!(
            "--network {mode}: skiff lacks CAP_NET_ADMIN here, so it cannot make a network namespace"
        )));
    }
    make(id, mode, ports, ipv4_only)
}

/// A network namespace of container `id`'s own, as `mode` asks. Rootless, made and
/// configured at once, by slirp4netns; else only its lease on a bridge is taken now, so
/// that its /etc/hosts can name its address: its PID 1 makes the namespace ([`enter`]),
/// the rest is [`Attachment::reach`]'s and [`Attachment::configure`]'s.
fn make(id: &str, mode: &str, ports: &[Port], ipv4_only: bool) -> Result<Attachment> {
    if rootless::active() {
        let (netns, inside) = new_namespace_in_child(ipv4_only)?;
        trace::step("bring up lo inside");
        inside.ask(&netlink::link_up(netlink::LOOPBACK))?;
        let settings = match mode {
            "none" => None,
            _ => Some(slirp::connect(id, &netns, ports)?), // slirp4netns, its API socket
        };
        return Ok(Attachment {
            netns: Some(netns),
            settings,
            pending: None,
        });
    }
    let (lease, settings, bridge) = match mode {
        "none" => (None, None, String::new()),
        _ => {
            let wanted = wanted(mode)?;
            trace::step("lease an address on the bridge, before the fork: /etc/hosts names it");
            let (lease, settings) = bridge::lease(id, &wanted)
                .map_err(|err| err.context(format!("connect to {}", wanted.bridge)))?;
            (Some(lease), Some(settings), wanted.bridge)
        }
    };
    Ok(Attachment {
        netns: None,
        settings,
        pending: Some(Pending {
            inside: None,
            lease,
            bridge,
        }),
    })
}

impl Attachment {
    /// In the parent, once its PID 1 has sent on `child` the network namespace it made
    /// and a netlink socket inside it ([`enter`]). Descriptors, not /proc/PID/ns/net: a
    /// PID 1 that has failed since is gone from /proc, and its exec status, not a
    /// missing path, must say why; and PID 1's mounts may cover skiff's /proc (a chroot
    /// whose `/` is shared). One that failed first has closed its end: nothing is reached.
    fn reach(&mut self, child: &UnixStream) -> Result<()> {
        let Some(pending) = self.pending.as_mut() else {
            return Ok(());
        };
        trace::step("its network namespace, made by it, and a netlink socket inside");
        let Some(netns) = receive(child, "its network namespace")? else {
            return Ok(());
        };
        let Some(inside) = receive(child, "a netlink socket")? else {
            return Ok(());
        };
        pending.inside = Some(netlink::Socket(inside.into()));
        self.netns = Some(netns);
        Ok(())
    }

    /// In the parent, while its PID 1 makes its mounts: its namespace reached on `child`
    /// ([`Attachment::reach`]), lo up, and on a bridge the veth pair, its address and
    /// route (releasing the network lock), then container `id`'s published `ports`.
    pub fn configure(&mut self, child: &UnixStream, id: &str, ports: &[Port]) -> Result<()> {
        self.reach(child)?; // recvmsg(2): SCM_RIGHTS
        let (Some(pending), Some(netns)) = (self.pending.take(), &self.netns) else {
            return Ok(());
        };
        let Pending {
            inside: Some(inside),
            lease,
            bridge,
        } = pending
        else {
            return Ok(());
        };
        trace::step("bring up lo inside, while the container makes its mounts");
        let lo = netlink::link_up(netlink::LOOPBACK);
        match lease {
            Some(lease) => bridge::plug(lease, netns, &inside, lo)?, // lo with eth0's requests
            None => inside.ask(&lo)?,
        }
        if let Some(settings) = self.settings.as_mut().filter(|_| !ports.is_empty()) {
            // DNAT in nf_tables, and the host ports held open
            settings.ports = Some(ports::publish(id, settings, ports, &bridge)?);
        }
        Ok(())
    }
}

/// The bridge network `mode` names: the default, or a user network.
fn wanted(mode: &str) -> Result<bridge::Wanted> {
    if mode == "bridge" {
        return Ok(bridge::Wanted {
            name: mode.into(),
            id: user::Definition::predefined(mode).id,
            bridge: bridge::NAME.into(),
            fixed: None,
        });
    }
    let network = user::find(mode)?;
    Ok(bridge::Wanted {
        bridge: network.bridge(),
        fixed: Some(network.addresses()?),
        name: network.name,
        id: network.id,
    })
}

/// Whether skiff may change links, addresses, routes and nf_tables here.
fn may_admin() -> Result<bool> {
    Ok(sys::capget_permitted()? & (1 << sys::CAP_NET_ADMIN) != 0)
}

/// `network create NAME [--subnet CIDR] [--gateway IP]`: a user network's definition,
/// checked and recorded; its bridge is made when a container first joins it. Without a
/// subnet, the first of 10.89.0.0/16 to 10.99.0.0/16 that no route, bridge or other
/// network of this store has; without a gateway, the subnet's first address.
pub fn create(name: &str, subnet: Option<&str>, gateway: Option<&str>) -> Result<user::Definition> {
    if !may_admin()? {
        return Err(Error::invalid(
            "network create: skiff lacks CAP_NET_ADMIN here, so it cannot make bridges",
        ));
    }
    let subnet = match subnet {
        Some(text) => subnet::Subnet::parse(text)
            .filter(|s| s.contains(s.base))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "invalid subnet {text}: want a network address, as 10.89.0.0/16"
                ))
            })?,
        None => free_subnet()?,
    };
    let gateway: Ipv4Addr = match gateway {
        Some(text) => text
            .parse()
            .ok()
            .filter(|ip| {
                subnet.contains(*ip)
                    && subnet
                        .hosts()
                        .contains(&(u32::from(*ip) - u32::from(subnet.base)))
            })
            .ok_or_else(|| {
                Error::invalid(format!(
                    "invalid gateway {text}: want an address inside {subnet}"
                ))
            })?,
        None => subnet.gateway(),
    };
    let definition = user::Definition {
        name: name.into(),
        id: crate::image::store::random_id()?,
        created: crate::time::now_precise(),
        driver: "bridge".into(),
        subnet: subnet.to_string(),
        gateway: gateway.to_string(),
    };
    user::save(&definition)?;
    Ok(definition)
}

/// A subnet for a new user network: taken by no route, bridge, or network of this store.
fn free_subnet() -> Result<subnet::Subnet> {
    let mut taken = subnet::routes(&bridge::route_table()?, "");
    taken.extend(bridge::made()?.into_iter().map(|(_, s)| s));
    taken.extend(
        user::list()?
            .iter()
            .filter_map(|n| subnet::Subnet::parse(&n.subnet)),
    );
    subnet::first_free(subnet::USERS, &taken).ok_or_else(|| {
        Error::invalid("every subnet skiff would take (10.89.0.0/16 to 10.99.0.0/16) is in use: give one with --subnet")
    })
}

/// `network rm`: takes down its bridge, if made, and forgets it.
pub fn remove(network: &user::Definition) -> Result<()> {
    bridge::remove(&network.bridge())?;
    user::remove(network)
}

/// The default bridge's subnet and gateway, once it is made.
pub fn default_bridge() -> Option<(String, String)> {
    let made = bridge::made().ok()?;
    let (_, subnet) = made.into_iter().find(|(name, _)| name == bridge::NAME)?;
    Some((subnet.to_string(), subnet.gateway().to_string()))
}

/// Rootless, this process could not setns(2) back: the host's network namespace
/// belongs to the host's user namespace, where it has no CAP_SYS_ADMIN. So a child
/// makes the namespace, sends back a descriptor of it and the socket inside
/// (SCM_RIGHTS), or why it could not, and exits; this process stays on the host's
/// network, where slirp4netns must run and the published ports are. A stream socket,
/// not datagrams: a child killed before it sent both reads as the end of the stream
/// (a datagram pair would wait forever), and a message carrying a descriptor is never
/// read together with the next (unix(7): ancillary data is a barrier).
fn new_namespace_in_child(ipv4_only: bool) -> Result<(File, netlink::Socket)> {
    trace::step("a new network namespace, configured from outside through a socket inside");
    let (ours, mut theirs) = UnixStream::pair().context("socketpair(2) for a network namespace")?;
    let Some(pid) = sys::fork()? else {
        let sent = match new_namespace(ipv4_only) {
            Ok((netns, inside)) => sys::send_fd(&theirs, &netns, b"n")
                .and_then(|()| sys::send_fd(&theirs, &inside.0, b"s")),
            Err(err) => theirs
                .write_all(err.to_string().as_bytes())
                .map_err(Error::from),
        };
        sys::exit_now(i32::from(sent.is_err()))
    };
    drop(theirs);
    let mut why = [0; 512];
    let received = sys::recv_fd(&ours, &mut why);
    let inside = match received {
        Ok((_, Some(_))) => sys::recv_fd(&ours, &mut [0]).map(|(_, fd)| fd),
        _ => Ok(None),
    };
    sys::wait_for_exit(pid)?;
    match (received?, inside?) {
        ((_, Some(netns)), Some(inside)) => Ok((netns, netlink::Socket(inside.into()))),
        ((length @ 1.., None), _) => Err(Error::invalid(String::from_utf8_lossy(&why[..length]))),
        _ => Err(Error::invalid(
            "the child making a network namespace ended before it sent one",
        )),
    }
}

/// In the container's first process, first: into the namespace [`attach`] found
/// (`known`), or, where skiff configures one of its own, into a new one, made by
/// unshare(2) and sent to skiff on `own` ([`Attachment::reach`]); `ipv4_only` (Docker's
/// networks, not an OCI bundle's) turns IPv6 off in it first ([`without_ipv6`]).
pub fn enter(known: Option<&File>, own: Option<&UnixStream>, ipv4_only: bool) -> Result<()> {
    if let Some(netns) = known {
        return sys::setns(
            netns,
            sys::CLONE_NEWNET,
            "the container's network namespace",
        );
    }
    let Some(own) = own else {
        return Ok(());
    };
    trace::step("a network namespace of its own, which skiff configures from outside");
    let (netns, inside) = new_namespace(ipv4_only)?;
    sys::send_fd(own, &netns, b"u")?; // sendmsg(2): SCM_RIGHTS
    sys::send_fd(own, &inside.0, b"s")
}

/// This process into a new network namespace (unshare(2)), IPv6 off in it first if
/// `ipv4_only` ([`without_ipv6`]): the namespace, and a netlink socket inside, for
/// skiff to configure it from outside.
fn new_namespace(ipv4_only: bool) -> Result<(File, netlink::Socket)> {
    sys::unshare(sys::CLONE_NEWNET)?;
    if ipv4_only {
        without_ipv6(); // before skiff, once sent the namespace, makes any link in it
    }
    let netns = File::open("/proc/self/ns/net").context("open /proc/self/ns/net")?;
    Ok((netns, netlink::Socket::open()?))
}

/// Docker's networks carry IPv4 alone unless made with `--ipv6` (which skiff's do not
/// offer), and its containers see no IPv6 at all, not even `::1` on `lo`: the daemon
/// turns it off in each namespace it makes (`disable_ipv6`, for every link and every
/// link to come). Done here before `lo` goes up and `eth0` exists, it also spares the
/// kernel their IPv6 set-up: link-local addresses, duplicate address detection,
/// multicast joins, routes. A `--sysctl net.ipv6.conf.all.disable_ipv6=0`, applied
/// later, turns it back on, as with Docker. A kernel built without IPv6 has no such
/// files, and a read-only /proc/sys (skiff inside a container) keeps them as they
/// are: neither is worth failing a start for.
/// <https://docs.kernel.org/networking/ip-sysctl.html> (`disable_ipv6`)
fn without_ipv6() {
    for links in ["default", "all"] {
        let path = format!("/proc/sys/net/ipv6/conf/{links}/disable_ipv6");
        trace::call(format_args!("write({path}, \"1\")"));
        if let Err(err) = std::fs::write(&path, "1") {
            trace::step(&format!("IPv6 stays on here: write {path}: {err}"));
            return;
        }
    }
}

/// One descriptor its PID 1 sends ([`enter`]); `None` at the end of the stream: PID 1
/// failed first, and its exec status says why.
fn receive(child: &UnixStream, what: &str) -> Result<Option<File>> {
    match sys::recv_fd(child, &mut [0])? {
        (_, Some(fd)) => Ok(Some(fd)),
        (0, None) => Ok(None),
        (_, None) => Err(Error::invalid(format!(
            "the container's PID 1 sent no descriptor of {what}"
        ))),
    }
}

/// Gives back what container `id` held on a network (it has ended, or never started),
/// as its recorded `settings` say: its address, and its published ports and
/// slirp4netns only if it had them. Without settings (a start cut short before they
/// were recorded), whatever it may have held is looked for.
pub fn release(id: &str, settings: Option<&Settings>) -> Result<()> {
    if rootless::active() {
        slirp::release(id); // only a rootless container has one
    }
    let unpublished = match settings {
        Some(Settings { ports: None, .. }) => Ok(()),
        _ => ports::unpublish(id),
    };
    bridge::release(id, settings).and(unpublished)
}
