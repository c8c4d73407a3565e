//! A rootless container's network: slirp4netns, a TCP/IP stack in user space, as
//! rootless podman uses it.
//!
//! An ordinary user may make a network namespace (in a user namespace of their own),
//! but not the veth pair and bridge that would join it to the host's: those need
//! `CAP_NET_ADMIN` on the host. slirp4netns needs none. It runs on the host's network
//! as the user; it joins the container's namespace just long enough to make a TAP
//! device there (`tap0`) and takes its descriptor back out. Each frame the container
//! sends through `tap0`, slirp4netns reads as a packet (libslirp, QEMU's user-mode
//! network) and replays as an ordinary socket call of its own on the host: a
//! connect(2) for a TCP SYN, a sendto(2) for UDP. So the container reaches whatever the
//! user could reach, and the host sees the user's process, never the container's
//! addresses. With `--configure` it sets the container's side up as podman's does:
//! `tap0` at 10.0.2.100/24, MTU 65520 (fewer, larger frames: much faster than 1500),
//! a default route through 10.0.2.2 (slirp4netns itself) and `lo` up; 10.0.2.3 is
//! its DNS forwarder, which asks the host's resolv.conf's nameservers, so it is the
//! one nameserver in the container's resolv.conf (unless `--dns`).
//!
//! `--disable-host-loopback`, as podman's default: otherwise 10.0.2.2 leads to the
//! host's 127.0.0.1, and every service the host keeps on loopback for itself alone
//! (databases, agents, other users' containers' published ports) would be open to the
//! container. (podman's `allow_host_loopback=true` turns it back on; skiff has no such
//! option.)
//!
//! `-p HOST:PORT` goes through slirp4netns's API socket (`--api-socket`): an
//! `add_hostfwd` request makes it listen on the host's port and carry each connection
//! to 10.0.2.100:PORT. Since the listener is an ordinary socket of the user's, ports
//! below `net.ipv4.ip_unprivileged_port_start` (1024) are refused before the run.
//!
//! slirp4netns lives as long as the container: the skiff that supervises it starts it,
//! and holds the write end of a pipe whose read end is slirp4netns's `--exit-fd`; when
//! the container ends, [`release`] closes it (so does the kernel, should the
//! supervisor die), slirp4netns sees the hangup and exits, and is reaped. Its
//! `--ready-fd` says "1" once `tap0` and the API socket are ready: no waiting by time.
//! <https://github.com/rootless-containers/slirp4netns/blob/master/slirp4netns.1.md>
//! <https://man7.org/linux/man-pages/man7/network_namespaces.7.html>
//! <https://docs.kernel.org/networking/tuntap.html>

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use super::{ports, user, Port, Settings};
use crate::error::{Context, Error, Result};
use crate::{host_program, rootless, sys, trace};

const PROGRAM: &str = "slirp4netns";

/// The container's address, and slirp4netns's own as its gateway and nameserver.
const ADDRESS: &str = "10.0.2.100";
const GATEWAY: &str = "10.0.2.2";
const NAMESERVER: &str = "10.0.2.3";

/// The slirp4netns this process started for a container: its pid, and the write end
/// of its `--exit-fd`, by the container's ID.
static RUNNING: Mutex<Vec<(String, libc::pid_t, File)>> = Mutex::new(Vec::new());

/// Whether slirp4netns is on the `PATH`.
pub fn installed() -> bool {
    host_program::find(PROGRAM).is_ok()
}

/// Refuses, before anything is made, host ports the user may not listen on.
pub fn check(ports: &[Port]) -> Result<()> {
    let sysctl = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
    let text = fs::read_to_string(sysctl).unwrap_or_default();
    let first: u16 = text.trim().parse().unwrap_or(1024);
    match ports.iter().find(|p| p.host_port != 0 && p.host_port < first) {
        Some(port) => Err(Error::invalid(format!(
            "-p {}: rootless, skiff may publish host ports from {first} up (net.ipv4.ip_unprivileged_port_start)",
            port.host()
        ))),
        None => Ok(()),
    }
}

/// Container `id`'s socket (`.sock`) and slirp4netns's output (`.log`), in the runtime
/// directory; short, for a socket's path must fit in 108 bytes.
fn file(id: &str, extension: &str) -> PathBuf {
    let dir = rootless::runtime_dir().join(PROGRAM);
    dir.join(format!("{}.{extension}", crate::container::short(id)))
}

/// Starts slirp4netns for container `id`, whose network namespace is `netns`, and
/// publishes its `ports`: the container's place on the network, as `inspect` shows it.
pub fn connect(id: &str, netns: &File, ports: &[Port]) -> Result<Settings> {
    trace::step("rootless: slirp4netns connects the namespace to the host's network");
    let started = start(id, netns);
    let published = started.and_then(|()| {
        ports
            .iter()
            .map(|p| forward(id, p))
            .collect::<Result<Vec<_>>>()
    });
    let ports = published.inspect_err(|_| release(id))?;
    Ok(Settings {
        network: super::DEFAULT.into(),
        network_id: Some(user::Definition::predefined(super::DEFAULT).id),
        ip_address: ADDRESS.into(),
        ip_prefix_len: 24,
        gateway: GATEWAY.into(),
        ports: (!ports.is_empty()).then_some(ports),
        nameserver: Some(NAMESERVER.into()),
    })
}

/// slirp4netns, until its `--ready-fd` says it is ready (or it has ended).
fn start(id: &str, netns: &File) -> Result<()> {
    let (socket, log_path) = (file(id, "sock"), file(id, "log"));
    let dir = socket.parent().unwrap_or(&socket);
    fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let _ = fs::remove_file(&socket); // one left by a slirp4netns that was killed
    let log = File::create(&log_path).with_context(|| format!("create {}", log_path.display()))?;
    let null = File::open("/dev/null").context("open /dev/null")?;
    let (exit, exit_writer) = sys::pipe()?;
    let (ready, ready_writer) = sys::pipe()?;
    let socket = socket.to_string_lossy();
    let args = [
        "--configure",
        "--mtu=65520",
        "--disable-host-loopback",
        "--exit-fd=3",
        "--ready-fd=4",
        "--api-socket",
        &socket,
        "--netns-type=path",
        "/proc/self/fd/5",
        "tap0",
    ];
    let fds = [&null, &log, &log, &exit, &ready_writer, netns].map(|f| f.as_raw_fd());
    let pid = host_program::spawn(PROGRAM, &args, &fds, true)?;
    drop((exit, ready_writer));
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    running.push((id.to_string(), pid, exit_writer));
    drop(running);
    let mut said = String::new();
    let _ = (&ready).read_to_string(&mut said); // to its end: "1", or nothing
    if said != "1" {
        let log = fs::read_to_string(&log_path).unwrap_or_default();
        let last = log.lines().last().unwrap_or("it said nothing");
        return Err(Error::invalid(format!(
            "{PROGRAM} ended before the network was ready: {last}"
        )));
    }
    Ok(())
}

/// `-p`: asks container `id`'s slirp4netns to forward the host's port to the
/// container's. The port is bound first, and let go, as for root (`ports::hold`): a
/// port in use fails as Docker says it, and port 0 becomes a free one.
fn forward(id: &str, port: &Port) -> Result<Port> {
    let (probe, port) = ports::hold(port)?;
    drop(probe);
    let request = format!(
        r#"{{"execute": "add_hostfwd", "arguments": {{"proto": "{}", "host_addr": "{}", "host_port": {}, "guest_addr": "{ADDRESS}", "guest_port": {}}}}}"#,
        port.protocol,
        port.address(),
        port.host_port,
        port.container_port
    );
    trace::step(&format!("{PROGRAM}: {request}"));
    let path = file(id, "sock");
    let asked = UnixStream::connect(&path).and_then(|mut api| {
        api.write_all(request.as_bytes())?;
        api.shutdown(Shutdown::Write)?; // it answers once the request has ended
        let mut answer = String::new();
        api.read_to_string(&mut answer).map(|_| answer)
    });
    let answer = asked.with_context(|| format!("ask {PROGRAM} at {}", path.display()))?;
    match answer.contains(r#""return""#) {
        true => Ok(port),
        false => Err(Error::invalid(format!(
            "-p {}: {PROGRAM} refused: {}",
            port.host(),
            answer.trim()
        ))),
    }
}

/// Ends container `id`'s slirp4netns, if this process started it, and removes its
/// files (left by another's, if that was killed).
pub fn release(id: &str) {
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    let (ours, others): (Vec<_>, Vec<_>) = running.drain(..).partition(|(owner, ..)| owner == id);
    *running = others;
    drop(running);
    for (_, pid, exit_writer) in ours {
        drop(exit_writer); // the hangup on its --exit-fd
        let _ = sys::wait_for_exit(pid);
    }
    let _ = fs::remove_file(file(id, "sock"));
    let _ = fs::remove_file(file(id, "log"));
}
