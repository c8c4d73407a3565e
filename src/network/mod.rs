//! Container networking: a container in a network namespace of its own, unless it
//! shares the host's (`--network host`).
//!
//! A network namespace (`CLONE_NEWNET`) has its own links, addresses, routes and
//! ports; a new one holds only `lo`, down. `--network` picks what the container gets:
//!
//! - `bridge` (the default, as Docker's): `lo` up, and an
//!   `eth0` on skiff's bridge with an address of its own and a default route through
//!   the bridge (see `bridge`).
//! - `none`: `lo` up and nothing else.
//! - `host`: no namespace of its own; it shares the host's network.
//!
//! skiff makes the namespace before it forks the container: it unshare(2)s it, keeps a
//! descriptor of it (/proc/self/ns/net) and a netlink socket opened inside it, and
//! setns(2)s itself back to the host's. The socket stays bound to the container's
//! namespace, so skiff configures the inside from outside; the container's first
//! process then setns(2)s into the namespace, ready, before it execs.
//!
//! All of it is rtnetlink (`netlink`), no `ip` binary. Without `CAP_NET_ADMIN` (skiff
//! in a container started with only `--cap-add=SYS_ADMIN`, the CodeCrafters way)
//! `--network bridge` and `none` fail with one line, and the default falls back to the
//! host's network, as skiff ran there before it had networks.
//! <https://man7.org/linux/man-pages/man7/network_namespaces.7.html>

mod bridge;
mod nat;
mod netlink;
mod nftables;
mod subnet;

use std::fs::File;

use miniserde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::{sys, trace};

/// What `--network` accepts.
pub const MODES: [&str; 3] = ["bridge", "none", "host"];

/// A container's place on a network, as `inspect` shows it (`NetworkSettings`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Settings {
    pub network: String,
    pub ip_address: String,
    pub ip_prefix_len: u8,
    pub gateway: String,
}

/// The network namespace made for a container (none: the host's), and its settings.
#[derive(Default)]
pub struct Attachment {
    pub netns: Option<File>,
    pub settings: Option<Settings>,
}

/// The capability the kernel asks for to change links, addresses and routes.
const CAP_NET_ADMIN: u32 = 12;

/// `--network` when none is given, as Docker's.
const DEFAULT: &str = "bridge";

/// Makes and configures container `id`'s network namespace, as `--network requested`
/// asks (`None`: [`DEFAULT`], or the host's network where skiff may not make one).
pub fn attach(id: &str, requested: Option<&str>) -> Result<Attachment> {
    let may = sys::capget_permitted()? & (1 << CAP_NET_ADMIN) != 0;
    let mode = match requested {
        Some(mode) => mode,
        None if may => DEFAULT,
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
    let (netns, inside) = new_namespace()?;
    trace::step("bring up lo inside");
    inside.ask(&netlink::link_up(netlink::LOOPBACK))?;
    if mode == "none" {
        return Ok(Attachment {
            netns: Some(netns),
            settings: None,
        });
    }
    let settings = bridge::connect(id, &netns, &inside)
        .map_err(|err| err.context(format!("connect to {}", bridge::NAME)))?;
    Ok(Attachment {
        netns: Some(netns),
        settings: Some(settings),
    })
}

/// A new network namespace, and a netlink socket inside it, with this process back in
/// the namespace it was in.
fn new_namespace() -> Result<(File, netlink::Socket)> {
    trace::step("a new network namespace, configured from outside through a socket inside");
    let open = || File::open("/proc/self/ns/net").context("open /proc/self/ns/net");
    let host = open()?;
    sys::unshare(sys::CLONE_NEWNET)?;
    let made = open().and_then(|netns| Ok((netns, netlink::Socket::open()?)));
    sys::setns(&host, sys::CLONE_NEWNET, "the host's network namespace")?;
    made
}

/// In the container's first process: into the namespace [`attach`] made.
pub fn enter(netns: Option<&File>) -> Result<()> {
    match netns {
        Some(netns) => sys::setns(
            netns,
            sys::CLONE_NEWNET,
            "the container's network namespace",
        ),
        None => Ok(()),
    }
}

/// Gives back what container `id` held on a network (it has ended, or never started).
pub fn release(id: &str) -> Result<()> {
    bridge::release(id)
}
