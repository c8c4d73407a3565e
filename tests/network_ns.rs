//! Issue 14: each container in its own network namespace, on skiff's bridge `skiff0`
//! (or on none, or on the host's network), all set up by skiff over rtnetlink.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::testenv::{assert_one_line_error, stderr, stdout, TestEnv};

fn ok(t: &TestEnv, args: &[&str]) -> String {
    let out = t.skiff(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// `"KEY":"VALUE"` or `"KEY":NUMBER`, the first of that key in `json`.
fn field(json: &str, key: &str) -> String {
    let key = format!("\"{key}\":");
    let start = json.find(&key).unwrap_or_else(|| panic!("{key} in {json}")) + key.len();
    let value = &json[start..];
    value[..value.find([',', '}']).unwrap()]
        .trim_matches('"')
        .to_string()
}

/// `run -d busybox sleep 1000`: its ID and address.
fn sleeper(t: &TestEnv) -> (String, String) {
    let id = ok(
        t,
        &[
            "run",
            "-d",
            "--network",
            "bridge",
            &t.image("library/busybox"),
            "sleep",
            "1000",
        ],
    );
    let id = id.trim().to_string();
    let ip = field(&ok(t, &["inspect", &id]), "IPAddress");
    (id, ip)
}

/// What holds the lease on `ip`, if anyone: the host end of a container's veth.
fn lease_holder(ip: &str) -> Option<String> {
    fs::read_to_string(Path::new("/run/skiff/networks/skiff0").join(ip)).ok()
}

fn veth_of(id: &str) -> String {
    format!("veth{}", &id[..11])
}

/// The veth itself goes with the namespace, in the kernel's own time: check-leaks.sh
/// looks for any left at the end of the suite.
fn assert_released(id: &str, ip: &str) {
    assert_ne!(lease_holder(ip), Some(veth_of(id)), "{ip} is still leased");
}

#[test]
fn network_none_has_only_lo_and_it_is_up() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let out = ok(
        &t,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            &image,
            "ip",
            "-o",
            "link",
        ],
    );
    let links: Vec<&str> = out.lines().collect();
    assert_eq!(links.len(), 1, "{out}");
    assert!(links[0].starts_with("1: lo: <LOOPBACK,UP"), "{out}");
}

#[test]
fn the_bridge_gives_eth0_an_address_and_a_default_route() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let script = "ip -o -4 addr show eth0; ip route show default";
    let out = ok(
        &t,
        &[
            "run",
            "--rm",
            "--network",
            "bridge",
            &image,
            "sh",
            "-c",
            script,
        ],
    );
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

/// Docker's default; the bridge and its NAT table stay up once the container is gone,
/// as docker0 does, so the next run need not make them again.
#[test]
fn the_default_is_the_bridge_and_it_stays_up() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let out = ok(&t, &["run", "--rm", &image, "ip", "-o", "link"]);
    let links: Vec<&str> = out.lines().collect();
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
    let image = t.image("library/busybox");
    let out = ok(
        &t,
        &[
            "run",
            "--rm",
            "--network",
            "host",
            &image,
            "ip",
            "-o",
            "link",
        ],
    );
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
    let server_ip = field(&ok(&t, &["inspect", server.trim()]), "IPAddress");
    // The server may not listen yet: the client tries for up to ten seconds.
    let client = format!(
        "ip -o -4 addr show eth0; i=0; until nc -w 1 {server_ip} 8000 </dev/null; do \
         i=$((i+1)); [ $i -gt 100 ] && exit 1; usleep 100000; done"
    );
    let out = ok(
        &t,
        &[
            "run",
            "--rm",
            "--network",
            "bridge",
            &image,
            "sh",
            "-c",
            &client,
        ],
    );
    assert!(out.ends_with("hello\n"), "{out}");
    assert!(
        !out.contains(&format!(" {server_ip}/")),
        "one address twice: {out}"
    );
    ok(&t, &["wait", server.trim()]);
    ok(&t, &["rm", server.trim()]);
}

#[test]
fn rm_gives_the_address_back() {
    let t = TestEnv::new();
    let (id, ip) = sleeper(&t);
    assert_eq!(lease_holder(&ip), Some(veth_of(&id)));
    assert!(Path::new("/sys/class/net").join(veth_of(&id)).exists());
    ok(&t, &["rm", "-f", &id]);
    assert_released(&id, &ip);
}

#[test]
fn the_address_of_a_container_whose_skiff_was_killed_is_swept() {
    let t = TestEnv::new();
    let (id, ip) = sleeper(&t);
    let state = fs::read_to_string(t.root.join("containers").join(&id).join("state.json")).unwrap();
    let supervisor = &state[state.find("\"supervisor\":{\"pid\":").unwrap() + 20..];
    let supervisor = &supervisor[..supervisor.find(',').unwrap()];
    let killed = std::process::Command::new("kill")
        .args(["-9", supervisor])
        .status();
    assert!(killed.unwrap().success());
    ok(&t, &["kill", &id]);
    ok(&t, &["wait", &id]);
    ok(&t, &["ps", "-a"]); // sweeps what a container that died unwatched left
    assert_released(&id, &ip);
    ok(&t, &["rm", &id]);
}

/// A network namespace playing a machine beyond the host, linked to the host by a
/// veth pair, with no route back to the containers' subnet: only NAT gets an answer
/// home. Made with iproute2, since this is the test's side, not skiff's.
struct Remote {
    name: String,
}

impl Remote {
    fn new() -> Remote {
        let name = format!("nat{}", std::process::id());
        let host_end = format!("{name}h");
        let script = format!(
            "ip netns add {name} && \
             ip link add {host_end} type veth peer name eth0 netns {name} && \
             ip addr add 198.51.100.1/24 dev {host_end} && ip link set {host_end} up && \
             ip -n {name} addr add 198.51.100.2/24 dev eth0 && ip -n {name} link set eth0 up"
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
    let remote = Remote::new();
    let mut server = Command::new("ip")
        .args(["netns", "exec", &remote.name, "python3", "-c", ECHO_PEER])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "listening\n");
    let image = t.image("library/busybox");
    let out = t.skiff(&[
        "run",
        "--rm",
        "--network",
        "bridge",
        &image,
        "nc",
        "-w",
        "5",
        "198.51.100.2",
        "8000",
    ]);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(stdout(&out), "198.51.100.1\n", "{}", stderr(&out));
}

/// `skiff ARGS…` as root without CAP_NET_ADMIN, the CodeCrafters way (setpriv drops it
/// from the bounding set, so the exec'd skiff is never granted it).
fn skiff_without_net_admin(t: &TestEnv, args: &[&str]) -> std::process::Output {
    let skiff = t.command(args);
    let mut cmd = Command::new("setpriv");
    cmd.args(["--bounding-set", "-net_admin"])
        .arg(skiff.get_program())
        .args(skiff.get_args())
        .env("SKIFF_ROOT", &t.root)
        .env_remove("SKIFF_TRACE")
        .stdin(Stdio::null());
    cmd.output().unwrap()
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
}
