//! Issue 14: each container in its own network namespace, on skiff's bridge `skiff0`
//! (or on none, or on the host's network), all set up by skiff over rtnetlink.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::testenv::{
    assert_one_line_error, inspect_field, json_field, kill_9, next_line, ok, recorded_pid, sh,
    sleeper, stderr, stdout, TestEnv, BUSYBOX,
};

/// `run -d busybox sleep 1000` on the default bridge: its ID and address.
fn on_the_bridge(t: &TestEnv) -> (String, String) {
    let id = sleeper(t, "bridged", &["--network", "bridge"], BUSYBOX);
    let ip = inspect_field(t, &id, "IPAddress");
    (id, ip)
}

/// What holds the lease on `ip`, if anyone: the host end of a container's veth.
fn lease_holder(ip: &str) -> Option<String> {
    leaseholder(&Path::new("/run/skiff/networks/skiff0").join(ip))
}

/// The veth the lease at `path` names.
pub fn leaseholder(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

fn veth_of(id: &str) -> String {
    format!("veth{}", &id[..11])
}

/// The veth itself goes with the namespace, in the kernel's own time: check-leaks.sh
/// looks for any left at the end of the suite.
fn assert_released(id: &str, ip: &str) {
    assert_ne!(lease_holder(ip), Some(veth_of(id)), "{ip} is still leased");
}

/// The links `ip -o link` or `ls /sys/class/net` lists in `out`, but the kernel's
/// fallback tunnels (tunl0, sit0, …), which every new network namespace gets while
/// their modules are loaded (unless `net.core.fb_tunnels_only_for_init_net`): Docker's
/// containers show them too, and neither skiff nor the container made them.
fn own_links(out: &str) -> Vec<&str> {
    const FALLBACK: [&str; 9] = [
        "tunl0", "sit0", "ip6tnl0", "gre0", "gretap0", "erspan0", "ip_vti0", "ip6_vti0", "ip6gre0",
    ];
    // `ip -o link`: "2: tunl0@NONE: <NOARP> …"; `ls`: one name a line.
    let name = |line: &str| match line.split_once(": ") {
        Some((_, rest)) => rest
            .split(['@', ':'])
            .next()
            .unwrap_or_default()
            .to_string(),
        None => line.trim().to_string(),
    };
    out.lines()
        .filter(|line| !FALLBACK.contains(&name(line).as_str()))
        .collect()
}

#[test]
fn network_none_has_only_lo_and_it_is_up() {
    let t = TestEnv::new();
    let out = sh(&t, &["--network", "none"], BUSYBOX, "ip -o link");
    let links = own_links(&out);
    assert_eq!(links.len(), 1, "{out}");
    assert!(links[0].starts_with("1: lo: <LOOPBACK,UP"), "{out}");
}

#[test]
fn the_bridge_gives_eth0_an_address_and_a_default_route() {
    let t = TestEnv::new();
    let script = "ip -o -4 addr show eth0; ip route show default";
    let out = sh(&t, &["--network", "bridge"], BUSYBOX, script);
    let address = out.split_whitespace().nth(3).unwrap_or_default();
    let (ip, prefix) = address.split_once('/').unwrap_or_else(|| panic!("{out}"));
    assert_eq!(prefix, "16", "{out}");
    let octets: Vec<&str> = ip.split('.').collect();
    let gateway = format!("{}.{}.0.1", octets[0], octets[1]);
    assert!(
        out.contains(&format!("default via {gateway} dev eth0")),
        "{out}"
    );
}

/// A sysfs shows the network namespace of whoever mounted it: the container's /sys
/// is its own namespace's, which its PID 1 makes (and skiff configures from outside).
/// Docker's daemon turns IPv6 off in a container on an IPv4 network, or on none: no
/// `::1`, no link-local address. `--sysctl net.ipv6.conf.all.disable_ipv6=0` turns it
/// back on, as there. eth0's address carries its subnet's broadcast, as Docker's does.
#[test]
fn ipv6_is_off_as_dockers_daemon_leaves_it_unless_a_sysctl_turns_it_on() {
    if !Path::new("/proc/sys/net/ipv6").exists() {
        return; // a kernel without IPv6: nothing to turn off
    }
    let t = TestEnv::new();
    let script = "cat /proc/sys/net/ipv6/conf/all/disable_ipv6; ip -o addr";
    for network in ["bridge", "none"] {
        let out = sh(&t, &["--network", network], BUSYBOX, script);
        assert!(out.starts_with("1\n"), "{network}: {out}");
        assert!(!out.contains("inet6"), "{network}: {out}");
    }
    let out = sh(&t, &[], BUSYBOX, "ip -o -4 addr show eth0");
    assert!(out.contains(".255.255 scope global eth0"), "{out}");
    let on = ["--sysctl", "net.ipv6.conf.all.disable_ipv6=0"];
    let out = sh(&t, &on, BUSYBOX, script);
    assert!(out.starts_with("0\n"), "{out}");
    assert!(out.contains("inet6 ::1/128"), "{out}");
}

#[test]
fn sys_class_net_shows_the_containers_own_links() {
    let t = TestEnv::new();
    for (network, links) in [("bridge", "eth0 lo"), ("none", "lo")] {
        let out = sh(&t, &["--network", network], BUSYBOX, "ls /sys/class/net");
        let seen = own_links(&out);
        assert_eq!(seen.join(" "), links, "--network {network}: {out}");
    }
}

/// Docker's default; the bridge and its NAT table stay up once the container is gone,
/// as docker0 does, so the next run need not make them again.
#[test]
fn the_default_is_the_bridge_and_it_stays_up() {
    let t = TestEnv::new();
    let out = sh(&t, &[], BUSYBOX, "ip -o link");
    let links = own_links(&out);
    assert_eq!(links.len(), 2, "{out}");
    assert!(links[1].contains(" eth0@"), "{out}");
    assert!(Path::new("/sys/class/net/skiff0").exists());
    let table = Command::new("nft")
        .args(["list", "table", "ip", "skiff"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("masquerade"),
        "{table:?}"
    );
}

#[test]
fn host_network_sees_the_hosts_links() {
    let t = TestEnv::new();
    let out = sh(&t, &["--network", "host"], BUSYBOX, "ip -o link");
    assert!(out.lines().count() > 1, "{out}");
}

#[test]
fn an_unknown_network_is_refused() {
    let t = TestEnv::new();
    let out = t.skiff(&[
        "run",
        "--network",
        "nowhere",
        &t.image("library/busybox"),
        "true",
    ]);
    assert_one_line_error(&out, "network nowhere not found");
    assert_eq!(out.status.code(), Some(125));
}

#[test]
fn two_containers_get_different_addresses_and_reach_each_other() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let server = ok(
        &t,
        &[
            "run",
            "-d",
            "--network",
            "bridge",
            &image,
            "sh",
            "-c",
            "echo hello | nc -l -p 8000",
        ],
    );
    let server_ip = inspect_field(&t, server.trim(), "IPAddress");
    // The server may not listen yet: the client tries for up to ten seconds.
    let client = format!(
        "ip -o -4 addr show eth0; i=0; until nc -w 1 {server_ip} 8000 </dev/null; do \
         i=$((i+1)); [ $i -gt 100 ] && exit 1; usleep 100000; done"
    );
    let out = sh(&t, &["--network", "bridge"], BUSYBOX, &client);
    assert!(out.ends_with("hello\n"), "{out}");
    assert!(
        !out.contains(&format!(" {server_ip}/")),
        "one address twice: {out}"
    );
    ok(&t, &["wait", server.trim()]);
    ok(&t, &["rm", server.trim()]);
}

/// The host end of a container's veth makes itself no IPv6 address: no link-local
/// address, so no duplicate address detection, and no second walk of the conntrack
/// table when the container goes (masquerade's notifier runs one for the address's
/// removal as well as for the link's going down).
#[test]
fn the_host_end_of_a_veth_has_no_ipv6_address() {
    if !Path::new("/proc/sys/net/ipv6").exists() {
        return; // a kernel without IPv6: nothing to make
    }
    let t = TestEnv::new();
    let (id, _) = on_the_bridge(&t);
    let veth = veth_of(&id);
    let mode = Path::new("/proc/sys/net/ipv6/conf")
        .join(&veth)
        .join("addr_gen_mode");
    assert_eq!(
        fs::read_to_string(&mode).unwrap(),
        "1\n",
        "{veth}: addrgenmode none"
    );
    let addresses = fs::read_to_string("/proc/net/if_inet6").unwrap();
    assert!(!addresses.contains(&format!(" {veth}\n")), "{addresses}");
    ok(&t, &["rm", "-f", &id]);
}

/// Issue 15: the lease, before the fork, asks the kernel nothing that waits for the rtnl
/// lock, which the kernel's teardown of dead network namespaces holds for milliseconds
/// at a time: the bridge's index, and whether an earlier veth of the container's
/// lingers, come from ioctl(2)s, and the first rtnetlink request is the veth pair's.
#[test]
fn the_lease_asks_the_kernel_nothing_under_the_rtnl_lock() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    ok(&t, &["run", "--rm", &image, "true"]); // the bridge made
    let out = t.skiff(&["run", "--rm", "--trace", &image, "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let trace = stderr(&out);
    let before_fork = &trace[..trace.find("fork its PID 1").expect("a fork step")];
    assert!(
        before_fork.contains("ioctl(SIOCGIFINDEX, skiff0)"),
        "{trace}"
    );
    assert!(!before_fork.contains("send(netlink"), "{trace}");
}

#[test]
fn rm_gives_the_address_back() {
    let t = TestEnv::new();
    let (id, ip) = on_the_bridge(&t);
    assert_eq!(lease_holder(&ip), Some(veth_of(&id)));
    assert!(Path::new("/sys/class/net").join(veth_of(&id)).exists());
    ok(&t, &["rm", "-f", &id]);
    assert_released(&id, &ip);
}

/// Issue 15: an `--rm` run gives its address back, by the lease its state names (no
/// scan of the leases), before it returns; a user network's too, by its bridge's name.
#[test]
fn an_rm_run_gives_its_address_back_before_it_returns() {
    let t = TestEnv::new();
    let net = Network::create(&t, "released", &["--subnet", "172.31.9.0/24"]);
    let net_id = json_field(&ok(&t, &["network", "inspect", &net.name]), "Id");
    for (network, bridge) in [
        ("bridge", "skiff0".to_string()),
        (&net.name, format!("br-{}", &net_id[..12])),
    ] {
        let cidfile = t.root.join(format!("cid-{network}"));
        let flags = ["--network", network, "--cidfile", cidfile.to_str().unwrap()];
        let out = sh(&t, &flags, BUSYBOX, "ip -o -4 addr show eth0");
        let ip = out
            .split_whitespace()
            .nth(3)
            .and_then(|a| a.split('/').next());
        let lease = Path::new("/run/skiff/networks")
            .join(bridge)
            .join(ip.unwrap_or_else(|| panic!("no address: {out}")));
        let id = fs::read_to_string(&cidfile).unwrap();
        assert_ne!(
            leaseholder(&lease),
            Some(veth_of(&id)),
            "{out}: still leased"
        );
    }
}

#[test]
fn the_address_of_a_container_whose_skiff_was_killed_is_swept() {
    let t = TestEnv::new();
    let (id, ip) = on_the_bridge(&t);
    kill_unwatched(&t, &id);
    assert_released(&id, &ip);
    ok(&t, &["rm", &id]);
}

/// A skiff killed (kill -9) in the middle of a start, when its cgroup, veth and lease
/// are made and its container's PID 1 is held half-way, opening its /etc/passwd (here
/// a FIFO, to find its user): its PID 1 ends with it (its start may be recorded as
/// running already), and the next `ps -a` sweeps what is left.
#[test]
fn a_skiff_killed_mid_start_is_swept_by_the_next() {
    let t = TestEnv::new();
    let fifo = t.root.join("passwd");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let volume = format!("{}:/etc/passwd", fifo.display());
    let image = t.image("library/busybox");
    let mut run = t.command(&["run", "--rm", "-v", &volume, &image, "true"]);
    let mut run = run.stderr(Stdio::null()).spawn().unwrap();
    // returns once the container has opened it to read: mid-start, for as long as we like
    let writer = fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let id = t.containers().pop().unwrap();
    let veth = veth_of(&id);
    assert!(Path::new("/sys/class/net").join(&veth).exists());
    assert_ne!(crate::testenv::cgroups_of(&id), Vec::<String>::new());
    // Its config names its run as the starter, and its state (once recorded) as the
    // supervisor, whom the sweep leaves alone while it lives.
    ok(&t, &["ps", "-a"]);
    assert_eq!(t.containers(), [id.as_str()], "swept while its run lives");
    assert_ne!(crate::testenv::cgroups_of(&id), Vec::<String>::new());
    let children = format!("/proc/{0}/task/{0}/children", run.id());
    let pid_1 = fs::read_to_string(children).unwrap();
    let pid_1 = pid_1.trim();
    run.kill().unwrap(); // SIGKILL
    run.wait().unwrap();
    // Killed by the kernel as its parent ends (PR_SET_PDEATHSIG), in the kernel's time.
    let ended = (0..500).any(|_| {
        let stat = fs::read_to_string(format!("/proc/{pid_1}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().unwrap_or_default().trim_start();
        state.is_empty() || state.starts_with('Z') || {
            std::thread::sleep(std::time::Duration::from_millis(10));
            false
        }
    });
    assert!(
        ended,
        "its PID 1 ({pid_1}) outlives the skiff that started it"
    );
    ok(&t, &["ps", "-a"]);
    assert_eq!(t.containers(), Vec::<String>::new(), "its --rm record");
    assert_eq!(crate::testenv::cgroups_of(&id), Vec::<String>::new());
    let leases = fs::read_dir("/run/skiff/networks/skiff0").unwrap();
    let held = leases
        .flatten()
        .any(|l| leaseholder(&l.path()) == Some(veth.clone()));
    assert!(!held, "its address is still leased");
    // The veth goes with its namespace, once the kernel has destroyed it (in its own time)
    let gone = (0..500).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(10));
        !Path::new("/sys/class/net").join(&veth).exists()
    });
    assert!(gone, "{veth} is left: its container's PID 1 lives on");
    drop(writer);
}

/// Kills container `id`'s supervisor (kill -9), then the container, so that it dies
/// unwatched; then `ps -a` sweeps what it left.
pub fn kill_unwatched(t: &TestEnv, id: &str) {
    kill_9(recorded_pid(t, id, "supervisor"));
    ok(t, &["kill", id]);
    ok(t, &["wait", id]);
    ok(t, &["ps", "-a"]); // sweeps what a container that died unwatched left
}

/// A network namespace playing a machine beyond the host, linked to the host by a
/// veth pair, with no route back to the containers' subnet: only NAT gets an answer
/// home. Made with iproute2, since this is the test's side, not skiff's. The host end
/// is `NET.1`, the remote `NET.2` (`NET`: the first three octets of a /24).
pub struct Remote {
    pub name: String,
}

impl Remote {
    pub fn new(tag: &str, net: &str) -> Remote {
        let name = format!("{tag}{}", std::process::id());
        let host_end = format!("{name}h");
        let script = format!(
            "ip netns add {name} && \
             ip link add {host_end} type veth peer name eth0 netns {name} && \
             ip addr add {net}.1/24 dev {host_end} && ip link set {host_end} up && \
             ip -n {name} addr add {net}.2/24 dev eth0 && ip -n {name} link set eth0 up"
        );
        let remote = Remote { name };
        let made = Command::new("sh").args(["-c", &script]).status().unwrap();
        assert!(made.success(), "could not make the remote namespace");
        remote
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A server on the remote that answers its first client with the address it saw.
const ECHO_PEER: &str = "import socket\n\
s = socket.socket(); s.bind(('198.51.100.2', 8000)); s.listen(); print('listening', flush=True)\n\
c, peer = s.accept(); c.sendall((peer[0] + '\\n').encode()); c.close()";

#[test]
fn a_container_reaches_beyond_the_host_through_masquerade() {
    let t = TestEnv::new();
    assert_eq!(seen_by_a_remote_server(&t, "bridge"), "198.51.100.1\n");
}

/// One remote at a time: each has the same name and addresses.
static REMOTE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What a server beyond the host sees as the address of a container on `network`.
fn seen_by_a_remote_server(t: &TestEnv, network: &str) -> String {
    let _one = REMOTE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let remote = Remote::new("nat", "198.51.100");
    let mut server = Command::new("ip")
        .args(["netns", "exec", &remote.name, "python3", "-c", ECHO_PEER])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(next_line(&mut server), "listening\n");
    let image = t.image("library/busybox");
    let out = t.skiff(&[
        "run",
        "--rm",
        "--network",
        network,
        &image,
        "nc",
        "-w",
        "5",
        "198.51.100.2",
        "8000",
    ]);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

/// `skiff ARGS…` as root without CAP_NET_ADMIN, the CodeCrafters way (setpriv drops it
/// from the bounding set, so the exec'd skiff is never granted it).
pub fn skiff_without_net_admin(t: &TestEnv, args: &[&str]) -> std::process::Output {
    skiff_under(t, &["setpriv", "--bounding-set", "-net_admin"], args)
}

/// `WRAPPER… skiff ARGS…`, with this test's store.
fn skiff_under(t: &TestEnv, wrapper: &[&str], args: &[&str]) -> std::process::Output {
    let skiff = t.command(args);
    let mut cmd = Command::new(wrapper[0]);
    cmd.args(&wrapper[1..])
        .arg(skiff.get_program())
        .args(skiff.get_args())
        .env("SKIFF_ROOT", &t.root)
        .env_remove("SKIFF_TRACE")
        .stdin(Stdio::null());
    cmd.output().unwrap()
}

/// `skiff run --rm busybox true` in a network namespace and a /run/skiff of its own
/// (so its bridge is made there, and the other tests' traffic never meets the DROP),
/// after `nft` gave it an `ip filter` FORWARD chain with `policy`, as iptables-nft
/// writes Docker's: what it printed on stderr.
fn stderr_of_a_run_where_forward_policy_is(t: &TestEnv, policy: &str) -> String {
    let setup = format!(
        "mkdir -p /run/skiff && mount -t tmpfs skiff /run/skiff && nft add table ip filter && \
         nft 'add chain ip filter FORWARD {{ type filter hook forward priority 0; policy {policy}; }}' && \
         exec \"$@\""
    );
    let unshare = ["unshare", "--net", "--mount", "--propagation", "private"];
    let wrapper = [&unshare[..], &["sh", "-c", &setup, "sh"]].concat();
    let image = t.image("library/busybox");
    let out = skiff_under(t, &wrapper, &["run", "--rm", &image, "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stderr(&out)
}

/// Issue 14, on a host that also runs Docker: its FORWARD policy DROP cuts the
/// containers off beyond the host, and skiff says so once, when it makes a bridge.
#[test]
fn a_forward_policy_of_drop_is_named_in_one_line() {
    let t = TestEnv::new();
    ok(&t, &["pull", &t.image("library/busybox")]); // the namespace has no registry
    let warned = stderr_of_a_run_where_forward_policy_is(&t, "drop");
    assert_eq!(warned.lines().count(), 1, "{warned}");
    assert!(
        warned.starts_with("skiff: warning: the iptables FORWARD policy is DROP")
            && warned.contains("iptables -I DOCKER-USER -i skiff0 -j ACCEPT"),
        "{warned}"
    );
    assert_eq!(stderr_of_a_run_where_forward_policy_is(&t, "accept"), "");
}

#[test]
fn without_cap_net_admin_the_default_still_runs_and_bridge_fails() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let args = ["run", "--rm", "--trace", &image, "ip", "-o", "link"];
    let out = skiff_without_net_admin(&t, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).lines().count() > 1, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("no CAP_NET_ADMIN: the host's network"),
        "{}",
        stderr(&out)
    );
    let out = skiff_without_net_admin(&t, &["run", "--rm", "--network", "bridge", &image, "true"]);
    assert_one_line_error(&out, "--network bridge: skiff lacks CAP_NET_ADMIN");
    assert_eq!(out.status.code(), Some(125));
    let out = skiff_without_net_admin(&t, &["run", "--rm", "-p", "8080", &image, "true"]);
    assert_one_line_error(&out, "-p: skiff lacks CAP_NET_ADMIN here");
    assert_eq!(t.containers(), Vec::<String>::new(), "nothing left of it");
    let out = skiff_without_net_admin(&t, &["network", "create", "nope"]);
    assert_one_line_error(&out, "network create: skiff lacks CAP_NET_ADMIN");
    assert_eq!(out.status.code(), Some(125));
    let net = Network::create(&t, "nocap", &["--subnet", "10.93.0.0/24"]);
    let out = skiff_without_net_admin(&t, &["run", "--rm", "--network", &net.name, &image, "true"]);
    let want = format!("--network {}: skiff lacks CAP_NET_ADMIN", net.name);
    assert_one_line_error(&out, &want);
    assert_eq!(out.status.code(), Some(125));
}

/// `--network container:NAME`: the same namespace as a running container's PID 1, so
/// the same eth0 and address; refused with one line once that container has stopped.
#[test]
fn container_network_shares_a_running_containers_namespace() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let (id, ip) = on_the_bridge(&t);
    let joined = format!("container:{}", &id[..12]);
    let args = ["run", "--rm", "--network", &joined, &image];
    let out = ok(
        &t,
        &[&args[..], &["ip", "-o", "-4", "addr", "show", "eth0"]].concat(),
    );
    assert!(out.contains(&format!(" {ip}/16 ")), "{ip} in {out}");
    ok(&t, &["stop", "-t", "0", &id]);
    let out = t.skiff(&[&args[..], &["true"]].concat());
    assert_one_line_error(
        &out,
        &format!("cannot join network of a non running container: {id}"),
    );
    assert_eq!(out.status.code(), Some(125));
    ok(&t, &["rm", &id]);
}

/// A user network of this test, removed when the test ends, however it ends. Tests
/// run at once, each with a store of its own, and a subnet is chosen from what the
/// store and the kernel know: so all tests but
/// `a_second_store_picks_a_subnet_the_first_ones_bridge_does_not_hold` give theirs.
pub struct Network<'a> {
    t: &'a TestEnv,
    pub name: String,
}

impl<'a> Network<'a> {
    pub fn create(t: &'a TestEnv, name: &str, flags: &[&str]) -> Network<'a> {
        let name = format!("{name}{}", std::process::id());
        ok(t, &[&["network", "create"], flags, &[&name]].concat());
        Network { t, name }
    }
}

impl Drop for Network<'_> {
    fn drop(&mut self) {
        // A failed test may leave containers on it, which `network rm` refuses to
        // leave without a network: they go first (its TestEnv would remove them later).
        for id in self.t.containers() {
            let _ = self.t.skiff(&["rm", "-f", &id]);
        }
        let _ = self.t.skiff(&["network", "rm", &self.name]);
    }
}

/// `network prune` asks first, then removes the user networks no container (running or
/// not) is attached to, and names them as Docker does.
#[test]
fn network_prune_removes_only_unused_networks() {
    let t = TestEnv::new();
    let used = Network::create(&t, "used", &["--subnet", "172.31.1.0/24"]);
    let unused = Network::create(&t, "unused", &["--subnet", "172.31.2.0/24"]);
    let image = t.image("library/busybox");
    ok(&t, &["create", "--network", &used.name, &image, "true"]);
    let mut asked = t.command(&["network", "prune"]);
    let asked = asked.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut asked = asked.spawn().unwrap();
    drop(asked.stdin.take()); // no answer: no
    let out = asked.wait_with_output().unwrap();
    assert!(stdout(&out).ends_with("Are you sure you want to continue? [y/N] "));
    let listed = ok(&t, &["network", "ls"]);
    assert!(listed.contains(&unused.name), "{listed}");
    let pruned = ok(&t, &["network", "prune", "-f"]);
    assert_eq!(pruned, format!("Deleted Networks:\n{}\n\n", unused.name));
    let listed = ok(&t, &["network", "ls"]);
    assert!(
        listed.contains(&used.name) && !listed.contains(&unused.name),
        "{listed}"
    );
}

#[test]
fn network_create_ls_inspect_rm() {
    let t = TestEnv::new();
    let net = Network::create(
        &t,
        "tn",
        &["--subnet", "10.97.0.0/24", "--gateway", "10.97.0.254"],
    );
    let ls = ok(&t, &["network", "ls"]);
    let header = ls.lines().next().unwrap_or_default();
    assert!(header.starts_with("NETWORK ID"), "{ls}");
    assert!(header.contains("NAME") && header.contains("DRIVER") && header.contains("SCOPE"));
    for (name, driver) in [
        ("bridge", "bridge"),
        ("host", "host"),
        ("none", "null"),
        (&net.name, "bridge"),
    ] {
        let row = ls
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name));
        let row = row.unwrap_or_else(|| panic!("{name} in {ls}"));
        assert_eq!(row.split_whitespace().nth(2), Some(driver), "{row}");
        assert_eq!(row.split_whitespace().nth(3), Some("local"), "{row}");
    }
    assert_eq!(
        ok(&t, &["network", "ls", "-q"]).lines().count(),
        ls.lines().count() - 1
    );
    let inspected = ok(&t, &["network", "inspect", &net.name]);
    assert_eq!(json_field(&inspected, "Name"), net.name);
    assert_eq!(json_field(&inspected, "Driver"), "bridge");
    assert_eq!(json_field(&inspected, "Subnet"), "10.97.0.0/24");
    assert_eq!(json_field(&inspected, "Gateway"), "10.97.0.254");
    assert_eq!(json_field(&inspected, "Id").len(), 64);
    let script = "ip -o -4 addr show eth0; ip route show default";
    let out = sh(&t, &["--network", &net.name], BUSYBOX, script);
    assert!(out.contains(" 10.97.0.1/24 "), "the first address: {out}");
    assert!(out.contains("default via 10.97.0.254 dev eth0"), "{out}");
    ok(&t, &["network", "rm", &net.name]);
    let out = t.skiff(&["network", "inspect", &net.name]);
    assert_one_line_error(&out, &format!("network {} not found", net.name));
    assert!(!ok(&t, &["network", "ls"]).contains(&net.name));
}

#[test]
fn network_rm_is_refused_while_a_container_is_attached() {
    let t = TestEnv::new();
    let net = Network::create(&t, "busy", &["--subnet", "10.96.0.0/24"]);
    let image = t.image("library/busybox");
    let id = ok(
        &t,
        &["run", "-d", "--network", &net.name, &image, "sleep", "1000"],
    );
    let id = id.trim();
    let inspected = ok(&t, &["inspect", id]);
    let network_id = json_field(&ok(&t, &["network", "inspect", &net.name]), "Id");
    assert_eq!(
        json_field(&inspected, "NetworkID"),
        network_id,
        "{inspected}"
    );
    assert!(
        inspected.contains(&format!("\"Networks\":{{\"{}\":", net.name)),
        "{inspected}"
    );
    let members = ok(&t, &["network", "inspect", &net.name]);
    assert!(members.contains(&format!("\"{id}\":{{")), "{members}");
    ok(&t, &["stop", "-t", "0", id]);
    let out = t.skiff(&["network", "rm", &net.name]);
    assert_one_line_error(&out, "is in use by container");
    assert_eq!(out.status.code(), Some(125));
    ok(&t, &["rm", id]);
    ok(&t, &["network", "rm", &net.name]);
    let bridge = format!("br-{}", &network_id[..12]);
    assert!(!Path::new("/sys/class/net").join(bridge).exists());
}

/// Containers on two user networks reach the outside, not each other: each network's
/// bridge is its own, and skiff's forward chain drops what crosses between them.
#[test]
fn two_networks_are_isolated_but_each_reaches_the_host() {
    let t = TestEnv::new();
    let (a, b) = (
        Network::create(&t, "isa", &["--subnet", "10.95.0.0/24"]),
        Network::create(&t, "isb", &["--subnet", "10.94.0.0/24"]),
    );
    let image = t.image("library/busybox");
    let serve = "while true; do echo hi | nc -l -p 8000; done";
    let server = ok(
        &t,
        &["run", "-d", "--network", &a.name, &image, "sh", "-c", serve],
    );
    let server = server.trim();
    let ip = inspect_field(&t, server, "IPAddress");
    // The server may not listen yet: a neighbour on its network tries for ten seconds.
    let client = format!(
        "i=0; until nc -w 1 {ip} 8000 </dev/null; do \
         i=$((i+1)); [ $i -gt 100 ] && exit 1; usleep 100000; done"
    );
    let out = sh(&t, &["--network", &a.name], BUSYBOX, &client);
    assert_eq!(out, "hi\n");
    let other = format!("nc -w 2 {ip} 8000 </dev/null; echo status $?");
    let out = sh(&t, &["--network", &b.name], BUSYBOX, &other);
    assert_eq!(out, "status 1\n", "the other network reached {ip}");
    ok(&t, &["rm", "-f", server]);
    assert_eq!(seen_by_a_remote_server(&t, &b.name), "198.51.100.1\n");
}

/// IPAM under load: 50 `run --rm` at once on one network, each printing its address
/// and then holding it until all 50 have printed theirs; none fails, no address is
/// handed out twice, and every lease is given back.
#[test]
fn fifty_concurrent_runs_on_one_network_get_fifty_addresses() {
    let t = TestEnv::new();
    let net = Network::create(&t, "ipam", &["--subnet", "10.86.0.0/24"]);
    let image = t.image("library/busybox");
    ok(&t, &["pull", "-q", &image]);
    let sync = t.root.join("sync");
    fs::create_dir(&sync).unwrap();
    let volume = format!("{}:/sync", sync.display());
    let script = "ip -o -4 addr show eth0; until [ -e /sync/go ]; do usleep 20000; done";
    let args = [
        "run",
        "--rm",
        "--network",
        &net.name,
        "-v",
        &volume,
        &image,
        "sh",
        "-c",
        script,
    ];
    let mut runs: Vec<std::process::Child> = (0..50)
        .map(|_| {
            let mut cmd = t.command(&args);
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let mut addresses = std::collections::BTreeSet::new();
    for run in &mut runs {
        let address = next_line(run)
            .split_whitespace()
            .nth(3)
            .unwrap_or_default()
            .to_string();
        addresses.insert(address);
    }
    fs::write(sync.join("go"), "").unwrap();
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    assert_eq!(addresses.len(), 50, "{addresses:?}");
    assert!(!addresses.contains(""), "{addresses:?}");
    let bridge = format!(
        "br-{}",
        &json_field(&ok(&t, &["network", "inspect", &net.name]), "Id")[..12]
    );
    let leases = fs::read_dir(Path::new("/run/skiff/networks").join(bridge)).unwrap();
    let held: Vec<_> = leases
        .flatten()
        .filter(|e| e.file_name() != "subnet")
        .collect();
    assert!(held.is_empty(), "leases left: {held:?}");
}

/// Two stores on one machine (two `SKIFF_ROOT`s) each pick a user network's subnet: the
/// second avoids the first's once its bridge is made (the kernel routes the subnet
/// there, and skiff's machine-wide record of its bridges names it). The only test that
/// lets skiff pick (see `Network`).
#[test]
fn a_second_store_picks_a_subnet_the_first_ones_bridge_does_not_hold() {
    let (one, two) = (TestEnv::new(), TestEnv::new());
    let first = Network::create(&one, "pick", &[]);
    let image = one.image("library/busybox");
    ok(
        &one,
        &["run", "--rm", "--network", &first.name, &image, "true"],
    );
    let second = Network::create(&two, "pick", &[]);
    let subnet = |t: &TestEnv, name: &str| {
        let text = json_field(&ok(t, &["network", "inspect", name]), "Subnet");
        let (base, prefix) = text.split_once('/').unwrap();
        let base: std::net::Ipv4Addr = base.parse().unwrap();
        (u32::from(base), prefix.parse::<u32>().unwrap())
    };
    let (a, b) = (subnet(&one, &first.name), subnet(&two, &second.name));
    let mask = u32::MAX << (32 - a.1.min(b.1));
    assert_ne!(a.0 & mask, b.0 & mask, "{a:?} and {b:?} overlap");
    // and the second store's network works beside the first's
    let image = two.image("library/busybox");
    ok(
        &two,
        &["run", "--rm", "--network", &second.name, &image, "true"],
    );
}

/// `network connect` and `disconnect` are Docker's verbs skiff lacks: refused in one
/// line that says so, not as an unknown command.
#[test]
fn network_connect_and_disconnect_are_refused_in_one_line() {
    let t = TestEnv::new();
    for verb in ["connect", "disconnect"] {
        let out = t.skiff(&["network", verb, "bridge", "nobody"]);
        assert_one_line_error(&out, &format!("network {verb}: not supported"));
    }
}

/// Issue 15: the veth pair is made while the container makes its mounts. A set-up that
/// fails there (here a user network's bridge replaced, under skiff, by a link that
/// takes no ports: a veth's end, which `network rm` deletes with its peer) still fails the start in one line, and leaves no cgroup, lease or veth.
#[test]
fn a_network_set_up_that_fails_beside_the_mounts_leaves_nothing() {
    let t = TestEnv::new();
    let net = Network::create(&t, "np", &["--subnet", "172.31.15.0/24"]);
    let image = t.image("library/busybox");
    ok(&t, &["run", "--rm", "--network", &net.name, &image, "true"]); // makes its bridge
    let network_id = json_field(&ok(&t, &["network", "inspect", &net.name]), "Id");
    let bridge = format!("br-{}", &network_id[..12]);
    let script = format!(
        "ip link del {bridge} && ip link add {bridge} type veth peer name np{} && \
         ip addr add 172.31.15.1/24 dev {bridge} && ip link set {bridge} up",
        std::process::id()
    );
    let replaced = Command::new("sh").args(["-c", &script]).status().unwrap();
    assert!(replaced.success(), "could not replace {bridge}");
    let out = t.skiff(&["run", "--network", &net.name, &image, "true"]);
    assert_one_line_error(&out, &format!("connect to {bridge}: RTM_NEWLINK(veth"));
    let id = ok(&t, &["ps", "-aq"]);
    let id = id.trim();
    assert_eq!(crate::testenv::cgroups_of(id), Vec::<String>::new());
    let veth = veth_of(id);
    let leases = fs::read_dir(Path::new("/run/skiff/networks").join(&bridge)).unwrap();
    let held = leases
        .flatten()
        .any(|l| leaseholder(&l.path()) == Some(veth.clone()));
    assert!(!held, "its address is still leased");
    assert!(
        !Path::new("/sys/class/net").join(&veth).exists(),
        "{veth} is left"
    );
}

/// Issue 15: the sysctls are written once the network is configured, so a key may name
/// the container's `eth0`, made from outside while it made its mounts.
#[test]
fn a_sysctl_may_name_eth0() {
    let t = TestEnv::new();
    let key = "net.ipv4.conf.eth0.arp_notify";
    let flags = ["--network", "bridge", "--sysctl", &format!("{key}=1")];
    let out = sh(
        &t,
        &flags,
        BUSYBOX,
        "cat /proc/sys/net/ipv4/conf/eth0/arp_notify",
    );
    assert_eq!(out, "1\n");
}
