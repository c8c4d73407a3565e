//! rtnetlink: how a program asks the kernel for links, addresses and routes, the job
//! `ip link`, `ip addr` and `ip route` do, with no helper binary.
//!
//! A netlink socket carries datagrams of messages. Each message is a 16-byte header
//! (`struct nlmsghdr`: length, type, flags, sequence, port), a fixed struct for its
//! family (`ifinfomsg` for links, `ifaddrmsg` for addresses, `rtmsg` for routes), then
//! attributes: type-length-value records (`struct rtattr`), each padded to 4 bytes,
//! that may nest (a veth's peer is a whole link description inside its `IFLA_LINKINFO`).
//! Every change here asks for an acknowledgement (`NLM_F_ACK`): the kernel answers
//! with one `NLMSG_ERROR` message whose error is 0 for success, or a negative errno. A
//! question (a `GET` message) gets its answer instead, or that error message on
//! failure. A change that also sets `NLM_F_ECHO` gets what it made described back
//! first, as a question's answer would describe it. skiff's one rtnetlink question, a
//! link's index, goes as an ioctl(2) instead ([`Socket::link_index`]).
//!
//! The kernel handles a request in the sender's system call, under the rtnl lock for
//! most changes, and takes several from one datagram in order, acknowledging each: so
//! a batch is one round trip ([`Socket::ask_all`]), however many it holds. What a
//! container's set-up costs is mostly the kernel's own work (a veth pair is two whole
//! network devices, with their sysfs and sysctl entries), and waiting for that lock
//! while the kernel tears down the previous container's namespace.
//!
//! Each message skiff sends is built in one function below, named after what it does.
//! <https://man7.org/linux/man-pages/man7/netlink.7.html>
//! <https://man7.org/linux/man-pages/man7/rtnetlink.7.html>
//! <https://docs.kernel.org/userspace-api/netlink/intro.html>

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::error::{Error, Kind, Result};
use crate::sys;

// From the kernel's uapi headers: linux/netlink.h, linux/rtnetlink.h, linux/if_link.h,
// linux/veth.h, linux/if_addr.h.
const NETLINK_ROUTE: libc::c_int = 0;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
pub(super) const NLM_F_ACK: u16 = 0x4;
const NLM_F_ECHO: u16 = 0x8;
const NLM_F_EXCL: u16 = 0x200;
pub(super) const NLM_F_CREATE: u16 = 0x400;
pub(super) const NLM_F_APPEND: u16 = 0x800;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINK: u16 = 5;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_NUM_TX_QUEUES: u16 = 31;
const IFLA_NUM_RX_QUEUES: u16 = 32;
const IFLA_AF_SPEC: u16 = 26;
const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
const IN6_ADDR_GEN_MODE_NONE: u8 = 1;
const AF_INET6: u16 = 10;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const IFF_UP: u32 = 0x1;
const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RTN_UNICAST: u8 = 1;

/// A new object, acknowledged: EEXIST rather than changing one that exists.
const CREATE: u16 = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

/// The index of `lo`: always the first link of a network namespace.
pub const LOOPBACK: u32 = 1;

/// One request, built attribute by attribute; `name` and `what` name it in errors.
pub struct Request {
    buf: Vec<u8>,
    name: &'static str,
    what: String,
    /// Whether a refusal of it is no failure of its batch ([`Request::optional`]).
    optional: bool,
}

impl Request {
    pub(super) fn new(kind: u16, flags: u16, name: &'static str, what: String) -> Request {
        let mut request = Request {
            buf: Vec::with_capacity(128),
            name,
            what,
            optional: false,
        };
        // struct nlmsghdr: length (set by `bytes`), type, flags, sequence (one request
        // in flight at a time), port (0: the kernel)
        let mut header = [0u8; 16];
        header[4..6].copy_from_slice(&kind.to_ne_bytes());
        header[6..8].copy_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
        header[8..12].copy_from_slice(&1u32.to_ne_bytes());
        request.push(&header);
        request
    }

    /// This request, whose refusal [`Socket::ask_all`] lets pass: a change that only
    /// spares the kernel some work, which no start should fail for.
    pub(super) fn optional(mut self) -> Request {
        self.optional = true;
        self
    }

    /// Appends `bytes`, then pads to the 4-byte alignment netlink requires.
    pub(super) fn push(&mut self, bytes: &[u8]) -> &mut Request {
        self.buf.extend_from_slice(bytes);
        self.buf.resize(self.buf.len().next_multiple_of(4), 0);
        self
    }

    /// One `rtattr`: length (header included, padding not), type, payload.
    pub(super) fn attr(&mut self, kind: u16, payload: &[u8]) -> &mut Request {
        let len = (4 + payload.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.push(payload)
    }

    /// A string attribute: C strings, NUL included.
    pub(super) fn attr_str(&mut self, kind: u16, text: &str) -> &mut Request {
        let mut payload = text.as_bytes().to_vec();
        payload.push(0);
        self.attr(kind, &payload)
    }

    /// An attribute whose payload is the attributes `fill` adds.
    pub(super) fn nest(&mut self, kind: u16, fill: impl FnOnce(&mut Request)) -> &mut Request {
        let start = self.buf.len();
        self.attr(kind, &[]);
        fill(self);
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    fn wants_ack(&self) -> bool {
        u16::from_ne_bytes([self.buf[6], self.buf[7]]) & NLM_F_ACK != 0
    }

    /// The finished message, its length filled in.
    pub fn bytes(&self) -> Vec<u8> {
        let mut buf = self.buf.clone();
        let len = buf.len() as u32;
        buf[..4].copy_from_slice(&len.to_ne_bytes());
        buf
    }
}

/// `struct ifinfomsg`: which link (0 for a new one), and the flags to change (`IFF_UP`).
fn ifinfomsg(index: u32, up: bool) -> [u8; 16] {
    let mut msg = [0u8; 16];
    msg[0] = AF_UNSPEC;
    msg[4..8].copy_from_slice(&index.to_ne_bytes());
    let flags = if up { IFF_UP } else { 0 };
    msg[8..12].copy_from_slice(&flags.to_ne_bytes()); // ifi_flags
    msg[12..16].copy_from_slice(&flags.to_ne_bytes()); // ifi_change: only this bit
    msg
}

/// A bridge (`ip link add NAME type bridge`), up: a virtual switch on the host, whose
/// ports are the host ends of the containers' veth pairs.
pub fn new_bridge(name: &str) -> Request {
    let mut request = Request::new(RTM_NEWLINK, CREATE, "RTM_NEWLINK", format!("bridge {name}"));
    request
        .push(&ifinfomsg(0, true))
        .attr_str(IFLA_IFNAME, name)
        .nest(IFLA_LINKINFO, |info| {
            info.attr_str(IFLA_INFO_KIND, "bridge");
        });
    request
}

/// A veth pair in one message: `host` is plugged into the bridge `master` (by index)
/// and `peer` is created straight inside the network namespace `netns` (an open
/// /proc/…/ns/net), so it never appears on the host. The host end comes up; the peer
/// cannot yet (the kernel configures it before it pairs the two: ENOTCONN), so it is
/// brought up from inside afterwards. The kernel echoes the new host end (`NLM_F_ECHO`,
/// Linux 6.1 on), whose `IFLA_LINK` is the peer's index inside ([`peer_index`]).
///
/// Each end asks for one queue each way, the number a veth ends up with anyway: since
/// Linux 5.15 the kernel otherwise allocates one per possible CPU (a sysfs directory
/// each) and then cuts the real number back to one, which waits for an expedited RCU
/// grace period under the rtnl lock (`synchronize_net`), twice: over a third of this
/// message's time on a 2-CPU machine (1.0 → 0.62 ms measured), more on larger ones.
pub fn new_veth(host: &str, master: u32, peer: &str, netns: &impl AsRawFd) -> Request {
    let mut request = Request::new(
        RTM_NEWLINK,
        CREATE | NLM_F_ECHO,
        "RTM_NEWLINK",
        format!("veth {host} to {peer}"),
    );
    let netns = netns.as_raw_fd() as u32;
    request
        .push(&ifinfomsg(0, true))
        .attr_str(IFLA_IFNAME, host);
    one_queue_each_way(&mut request)
        .attr(IFLA_MASTER, &master.to_ne_bytes())
        .nest(IFLA_LINKINFO, |info| {
            info.attr_str(IFLA_INFO_KIND, "veth")
                .nest(IFLA_INFO_DATA, |data| {
                    data.nest(VETH_INFO_PEER, |peer_link| {
                        peer_link
                            .push(&ifinfomsg(0, false))
                            .attr_str(IFLA_IFNAME, peer);
                        one_queue_each_way(peer_link).attr(IFLA_NET_NS_FD, &netns.to_ne_bytes());
                    });
                });
        });
    request
}

/// A new link's transmit and receive queues: one each.
fn one_queue_each_way(link: &mut Request) -> &mut Request {
    let one = 1u32.to_ne_bytes();
    link.attr(IFLA_NUM_TX_QUEUES, &one)
        .attr(IFLA_NUM_RX_QUEUES, &one)
}

/// `ip link set NAME addrgenmode none`: the link never makes itself an IPv6 address.
/// The host gives every link that gets a carrier a link-local address, with duplicate
/// address detection and multicast reports, and when the link goes its address goes
/// first: that removal makes masquerade's notifier walk the whole conntrack table once
/// more, a quarter million buckets (~0.5 ms of a kernel worker here), as the link's
/// own going down already does. A bridge's port needs no address of its own, and
/// skiff's networks are IPv4-only ([`super::without_ipv6`]).
pub fn without_link_local(name: &str) -> Request {
    let mut request = Request::new(
        RTM_NEWLINK,
        NLM_F_ACK,
        "RTM_NEWLINK",
        format!("{name} addrgenmode none"),
    );
    request
        .push(&ifinfomsg(0, false))
        .attr_str(IFLA_IFNAME, name)
        .nest(IFLA_AF_SPEC, |spec| {
            spec.nest(AF_INET6, |inet6| {
                inet6.attr(IFLA_INET6_ADDR_GEN_MODE, &[IN6_ADDR_GEN_MODE_NONE]);
            });
        });
    request
}

/// `ip link set dev INDEX up`.
pub fn link_up(index: u32) -> Request {
    let mut request = Request::new(
        RTM_NEWLINK,
        NLM_F_ACK,
        "RTM_NEWLINK",
        format!("link {index} up"),
    );
    request.push(&ifinfomsg(index, true));
    request
}

/// `ip link del NAME`: the kernel finds the link by its name. Deleting one end of a
/// veth pair deletes both.
pub fn delete_link(name: &str) -> Request {
    let mut request = Request::new(RTM_DELLINK, NLM_F_ACK, "RTM_DELLINK", name.to_string());
    request
        .push(&ifinfomsg(0, false))
        .attr_str(IFLA_IFNAME, name);
    request
}

/// `ip addr add IP/PREFIX brd + dev INDEX` (`struct ifaddrmsg`): the kernel adds the
/// subnet's route through that link by itself. The broadcast address is the subnet's
/// last, as Docker gives its bridge and each container's eth0.
pub fn new_address(index: u32, ip: Ipv4Addr, prefix: u8) -> Request {
    let mut request = Request::new(
        RTM_NEWADDR,
        CREATE,
        "RTM_NEWADDR",
        format!("{ip}/{prefix} on link {index}"),
    );
    let mut msg = [0u8; 8];
    msg[0] = AF_INET;
    msg[1] = prefix;
    msg[3] = RT_SCOPE_UNIVERSE;
    msg[4..8].copy_from_slice(&index.to_ne_bytes());
    request
        .push(&msg)
        .attr(IFA_LOCAL, &ip.octets())
        .attr(IFA_ADDRESS, &ip.octets())
        .attr(IFA_BROADCAST, &broadcast(ip, prefix).octets());
    request
}

/// The last address of the subnet `ip`/`prefix`: every host bit set.
fn broadcast(ip: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let hosts = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
    Ipv4Addr::from(u32::from(ip) | hosts)
}

/// `ip route add default via GATEWAY` (`struct rtmsg`: destination length 0 is the
/// default route, in the main table).
pub fn default_route(gateway: Ipv4Addr) -> Request {
    let mut request = Request::new(
        RTM_NEWROUTE,
        CREATE,
        "RTM_NEWROUTE",
        format!("default via {gateway}"),
    );
    let msg = [
        AF_INET,
        0, // rtm_dst_len: 0.0.0.0/0
        0,
        0,
        RT_TABLE_MAIN,
        RTPROT_BOOT,
        RT_SCOPE_UNIVERSE,
        RTN_UNICAST,
        0, // rtm_flags (u32)
        0,
        0,
        0,
    ];
    request.push(&msg).attr(RTA_GATEWAY, &gateway.octets());
    request
}

/// The index of the link a link's description (an `RTM_NEWLINK` message) names as its
/// `IFLA_LINK`: for a veth's end, its peer's, in the peer's namespace. `None` for any
/// other message (the caller then asks by name), read no further than its own length.
pub fn peer_index(link: &[u8]) -> Option<u32> {
    let len = u32::from_ne_bytes(link.get(0..4)?.try_into().ok()?);
    let kind = u16::from_ne_bytes(link.get(4..6)?.try_into().ok()?);
    if kind != RTM_NEWLINK {
        return None;
    }
    let end = usize::try_from(len).ok()?.min(link.len());
    let attributes = attributes(link.get(32..end)?); // after nlmsghdr and ifinfomsg
    let (_, index) = attributes
        .into_iter()
        .find(|&(kind, _)| kind == IFLA_LINK)?;
    Some(u32::from_ne_bytes(index.try_into().ok()?))
}

/// The error an `NLMSG_ERROR` reply carries: 0 for an acknowledgement, else a
/// negative errno. `None` if `reply` is not such a message.
fn acknowledgement(reply: &[u8]) -> Option<i32> {
    let kind = u16::from_ne_bytes(reply.get(4..6)?.try_into().ok()?);
    if kind != NLMSG_ERROR {
        return None;
    }
    Some(i32::from_ne_bytes(reply.get(16..20)?.try_into().ok()?))
}

/// The attributes (`rtattr`s) in `bytes`, as (type, payload) pairs.
pub(super) fn attributes(bytes: &[u8]) -> Vec<(u16, &[u8])> {
    let mut found = Vec::new();
    let mut rest = bytes;
    while let [a, b, c, d, ..] = *rest {
        let len = usize::from(u16::from_ne_bytes([a, b])).clamp(4, rest.len());
        found.push((u16::from_ne_bytes([c, d]), &rest[4..len]));
        rest = &rest[len.next_multiple_of(4).min(rest.len())..];
    }
    found
}

/// The messages of one datagram, each with its sequence number.
fn messages(datagram: &[u8]) -> Vec<(usize, &[u8])> {
    let field = |bytes: &[u8], at: usize| {
        u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap_or_default()) as usize
    };
    let mut found = Vec::new();
    let mut rest = datagram;
    while rest.len() >= 16 {
        let len = field(rest, 0).clamp(16, rest.len());
        found.push((field(rest, 8), &rest[..len]));
        rest = &rest[len.next_multiple_of(4).min(rest.len())..];
    }
    found
}

/// A netlink socket, tied to the network namespace it was opened in.
pub struct Socket(pub(super) OwnedFd);

/// NETLINK_NETFILTER: nf_tables and the rest of netfilter (linux/netlink.h).
pub(super) const NETLINK_NETFILTER: libc::c_int = 12;

impl Socket {
    /// A NETLINK_ROUTE socket: links, addresses, routes.
    pub fn open() -> Result<Socket> {
        Socket::open_for(NETLINK_ROUTE)
    }

    pub(super) fn open_for(protocol: libc::c_int) -> Result<Socket> {
        sys::netlink_socket(protocol).map(Socket)
    }

    /// Sends `requests` as one datagram, numbered 1, 2, …, and reads answers until
    /// the acknowledgement of the last that asked for one: the first error is the
    /// answer, but an [`Request::optional`] one's. What came before it that was no
    /// acknowledgement, if anything: the echo of what a request made, when it asked for
    /// one (`NLM_F_ECHO`).
    pub(super) fn ask_all(&self, requests: &[Request]) -> Result<Option<Vec<u8>>> {
        let mut datagram = Vec::new();
        for (seq, request) in (1u32..).zip(requests) {
            let mut bytes = request.bytes();
            bytes[8..12].copy_from_slice(&seq.to_ne_bytes());
            datagram.extend_from_slice(&bytes);
        }
        let awaited = requests
            .iter()
            .rposition(Request::wants_ack)
            .map_or(0, |i| i + 1);
        let what = requests.last().map_or(String::new(), |r| r.what.clone());
        sys::send(&self.0, &datagram, &what)?;
        let mut echo = None;
        let mut reply = vec![0u8; 4096];
        loop {
            let len = sys::recv(&self.0, &mut reply, &what)?;
            for (seq, message) in messages(&reply[..len]) {
                let request = requests.get(seq.wrapping_sub(1));
                match acknowledgement(message) {
                    Some(errno) if errno != 0 && !request.is_some_and(|r| r.optional) => {
                        let failed = request.or(requests.last());
                        return Err(failed.map_or_else(|| Error::invalid(what), |r| r.error(errno)));
                    }
                    Some(_) if seq == awaited => return Ok(echo),
                    Some(_) => {}
                    None => echo = echo.or_else(|| Some(message.to_vec())),
                }
            }
        }
    }

    /// Sends `request` and waits for the kernel's acknowledgement.
    pub fn ask(&self, request: &Request) -> Result<()> {
        self.ask_all(std::slice::from_ref(request)).map(drop)
    }

    /// The index of the link called `name` in this socket's namespace, ENODEV when there
    /// is none. Asked with an ioctl(2) on the socket, not `RTM_GETLINK`: the answer is
    /// the same, with no wait for the rtnl lock (see `sys::interface_index`).
    pub fn link_index(&self, name: &str) -> Result<u32> {
        sys::interface_index(&self.0, name)
    }

    /// Sends `request`; its answer, unless that is an error.
    pub(super) fn exchange(&self, request: &Request) -> Result<Vec<u8>> {
        sys::send(&self.0, &request.bytes(), &request.what)?;
        let mut reply = vec![0u8; 4096];
        let len = sys::recv(&self.0, &mut reply, &request.what)?;
        reply.truncate(len);
        match acknowledgement(&reply) {
            Some(0) | None => Ok(reply),
            Some(errno) => Err(request.error(errno)),
        }
    }
}

impl Request {
    /// The kernel's refusal of this request: `-errno` from its `NLMSG_ERROR`.
    fn error(&self, errno: i32) -> Error {
        Error::new(Kind::Sys {
            call: self.name,
            arg: self.what.clone(),
            errno: io::Error::from_raw_os_error(-errno),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn attrs(bytes: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let found = attributes(bytes).into_iter();
        found
            .map(|(kind, payload)| (kind, payload.to_vec()))
            .collect()
    }

    #[test]
    fn a_links_index_is_asked_with_the_capabilities_put_back_after() {
        let socket = Socket::open().unwrap();
        let before = fs::read_to_string("/proc/thread-self/status").unwrap();
        assert_eq!(socket.link_index("lo").unwrap(), 1); // the first link of any namespace
        let none = socket.link_index("skiff-nolink").unwrap_err();
        assert_eq!(none.errno(), Some(libc::ENODEV), "{none}");
        for bad in ["a-name-too-long-for-a-link", "lo:0"] {
            let refused = socket.link_index(bad).unwrap_err();
            assert_eq!(refused.errno(), None, "{refused}");
        }
        let after = fs::read_to_string("/proc/thread-self/status").unwrap();
        let effective = |status: &str| {
            status
                .lines()
                .find(|l| l.starts_with("CapEff:"))
                .map(str::to_owned)
        };
        assert_eq!(effective(&before), effective(&after));
    }

    #[test]
    fn the_header_carries_length_type_and_ack_flags() {
        let bytes = link_up(7).bytes();
        assert_eq!(bytes.len(), 16 + 16);
        assert_eq!(u32::from_ne_bytes(bytes[0..4].try_into().unwrap()), 32);
        assert_eq!(u16::from_ne_bytes(bytes[4..6].try_into().unwrap()), 16);
        assert_eq!(u16::from_ne_bytes(bytes[6..8].try_into().unwrap()), 0x5);
        assert_eq!(u32::from_ne_bytes(bytes[20..24].try_into().unwrap()), 7);
        assert_eq!(
            u32::from_ne_bytes(bytes[24..28].try_into().unwrap()),
            IFF_UP
        );
    }

    #[test]
    fn strings_end_in_nul_and_attributes_are_padded() {
        let bytes = new_bridge("skiff0").bytes();
        assert_eq!(bytes.len() % 4, 0);
        let found = attrs(&bytes[32..]);
        assert_eq!(found[0], (IFLA_IFNAME, b"skiff0\0".to_vec()));
        assert_eq!(found[1].0, IFLA_LINKINFO);
        assert_eq!(attrs(&found[1].1), [(IFLA_INFO_KIND, b"bridge\0".to_vec())]);
    }

    #[test]
    fn the_veth_peer_nests_a_whole_link_with_its_namespace() {
        let netns = std::fs::File::open("/dev/null").unwrap();
        let bytes = new_veth("vethabc", 9, "eth0", &netns).bytes();
        let top = attrs(&bytes[32..]);
        let one = 1u32.to_ne_bytes().to_vec();
        assert_eq!(
            top[1..3],
            [
                (IFLA_NUM_TX_QUEUES, one.clone()),
                (IFLA_NUM_RX_QUEUES, one.clone())
            ]
        );
        assert_eq!(top[3], (IFLA_MASTER, 9u32.to_ne_bytes().to_vec()));
        let info = attrs(&top[4].1);
        assert_eq!(info[0], (IFLA_INFO_KIND, b"veth\0".to_vec()));
        let peer = &attrs(&info[1].1)[0];
        assert_eq!(peer.0, VETH_INFO_PEER);
        let peer_attrs = attrs(&peer.1[16..]);
        assert_eq!(peer_attrs[0], (IFLA_IFNAME, b"eth0\0".to_vec()));
        assert_eq!(
            peer_attrs[1..3],
            [(IFLA_NUM_TX_QUEUES, one.clone()), (IFLA_NUM_RX_QUEUES, one)]
        );
        let fd = netns.as_raw_fd() as u32;
        assert_eq!(peer_attrs[3], (IFLA_NET_NS_FD, fd.to_ne_bytes().to_vec()));
    }

    #[test]
    fn addresses_and_routes_carry_ipv4_octets() {
        let bytes = new_address(3, Ipv4Addr::new(10, 88, 0, 2), 16).bytes();
        assert_eq!(&bytes[16..18], &[AF_INET, 16]);
        assert_eq!(attrs(&bytes[24..])[0], (IFA_LOCAL, vec![10, 88, 0, 2]));
        assert_eq!(
            attrs(&bytes[24..])[2],
            (IFA_BROADCAST, vec![10, 88, 255, 255])
        );
        assert_eq!(
            broadcast(Ipv4Addr::new(10, 89, 3, 1), 24),
            Ipv4Addr::new(10, 89, 3, 255)
        );
        let bytes = default_route(Ipv4Addr::new(10, 88, 0, 1)).bytes();
        assert_eq!(bytes[16 + 4], RT_TABLE_MAIN);
        assert_eq!(attrs(&bytes[28..]), [(RTA_GATEWAY, vec![10, 88, 0, 1])]);
    }

    #[test]
    fn a_datagram_splits_into_its_numbered_messages() {
        let mut first = link_up(1).bytes();
        first[8..12].copy_from_slice(&1u32.to_ne_bytes());
        let mut second = delete_link("veth0").bytes();
        second[8..12].copy_from_slice(&2u32.to_ne_bytes());
        let datagram = [first.clone(), second.clone()].concat();
        let found = messages(&datagram);
        assert_eq!(found, [(1, &first[..]), (2, &second[..])]);
        assert_eq!(messages(&datagram[..10]), []);
    }

    #[test]
    fn a_veth_echo_names_its_peer_by_ifla_link() {
        let mut echo = Request::new(RTM_NEWLINK, 0, "RTM_NEWLINK", String::new());
        echo.push(&ifinfomsg(9, true))
            .attr_str(IFLA_IFNAME, "vethabc")
            .attr(IFLA_LINK, &2u32.to_ne_bytes());
        assert_eq!(peer_index(&echo.bytes()), Some(2));
        assert_eq!(peer_index(&link_up(9).bytes()), None);
        let mut other = echo.bytes();
        other[4..6].copy_from_slice(&(RTM_NEWLINK + 1).to_ne_bytes()); // RTM_DELLINK
        assert_eq!(peer_index(&other), None);
        let mut short = echo.bytes();
        short[0..4].copy_from_slice(&32u32.to_ne_bytes()); // its attributes past its length
        assert_eq!(peer_index(&short), None);
    }

    #[test]
    fn an_error_reply_carries_a_negative_errno() {
        let mut reply = vec![0u8; 36];
        reply[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        reply[16..20].copy_from_slice(&(-libc::EEXIST).to_ne_bytes());
        assert_eq!(acknowledgement(&reply), Some(-libc::EEXIST));
        reply[16..20].copy_from_slice(&0i32.to_ne_bytes());
        assert_eq!(acknowledgement(&reply), Some(0));
        assert_eq!(acknowledgement(&[0u8; 8]), None);
    }
}
