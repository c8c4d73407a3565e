//! Issue 14: published ports (`-p`, `-P`, `skiff port`, `ps`' PORTS), DNAT in skiff's
//! own nf_tables table `skiff_ports`. Ports are published on a bridge only: the
//! default network, or a user network.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::network_ns::{kill_unwatched, skiff_without_net_admin, Network, Remote};
use crate::testenv::{
    assert_one_line_error, inspect_field, ok, sh, stderr, stdout, TestEnv, BUSYBOX,
};

/// A web server whose page says `hello`, logging each client's address (`httpd -v`).
const SERVE: &str = "mkdir /www && echo hello >/www/index.html && exec httpd -f -v -p 80 -h /www";

/// `run -d FLAGS… IMAGE sh -c SERVE` (on the default network, the bridge, unless
/// FLAGS say otherwise): its ID.
fn server(t: &TestEnv, flags: &[&str], image: &str) -> String {
    let mut args = vec!["run", "-d"];
    args.extend(flags);
    let image = t.image(image);
    args.extend([image.as_str(), "sh", "-c", SERVE]);
    ok(t, &args).trim().to_string()
}

/// The page at `address`, asked for until the server listens (at most ten seconds:
/// until then the container's kernel refuses the connection).
pub fn fetch(address: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = TcpStream::connect(address).and_then(|mut stream| {
            stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
            let mut page = String::new();
            stream.read_to_string(&mut page)?;
            Ok(page)
        });
        match answer {
            Ok(page) if !page.is_empty() => return page,
            _ if Instant::now() > deadline => panic!("{address} never answered: {answer:?}"),
            _ => std::thread::sleep(Duration::from_millis(50)), // a retry, not a wait for an event
        }
    }
}

/// The first global IPv4 address of this host not on a bridge of skiff's.
fn host_address() -> String {
    let out = Command::new("ip")
        .args(["-o", "-4", "addr", "show", "scope", "global"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| {
            !["skiff", " br-", " nat", " pub"]
                .iter()
                .any(|b| l.contains(b))
        })
        .unwrap_or_else(|| panic!("no global address: {text}"));
    let cidr = line.split_whitespace().nth(3).unwrap();
    cidr.split('/').next().unwrap().to_string()
}

/// A port nobody holds right now.
pub fn free_port() -> u16 {
    TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `nft list table ip skiff_ports`, or "" when there is none.
fn ruleset() -> String {
    let out = Command::new("nft")
        .args(["list", "table", "ip", "skiff_ports"])
        .output()
        .unwrap();
    stdout(&out)
}

/// What `skiff port ID` says the host port of `name` (`80/tcp`) is.
fn host_port(t: &TestEnv, id: &str, name: &str) -> String {
    let out = ok(t, &["port", id, name]);
    out.trim().rsplit(':').next().unwrap().to_string()
}

#[test]
fn a_published_port_answers_on_loopback_and_the_hosts_address() {
    let t = TestEnv::new();
    let port = free_port();
    let id = server(&t, &["-p", &format!("{port}:80")], "library/busybox");
    assert!(fetch(&format!("127.0.0.1:{port}")).ends_with("hello\n"));
    assert!(fetch(&format!("{}:{port}", host_address())).ends_with("hello\n"));
    let rules = ruleset();
    let ip = inspect_field(&t, &id, "IPAddress");
    assert!(
        rules.contains(&format!("tcp dport {port} dnat to {ip}:80")),
        "{rules}"
    );
    ok(&t, &["rm", "-f", &id]);
    assert!(
        !ruleset().contains(&format!("dport {port} ")),
        "{}",
        ruleset()
    );
}

/// A user network's container publishes as the default bridge's does: the rule leads
/// to its address on the network's own bridge, and loopback clients reach it too.
#[test]
fn a_port_on_a_user_network_answers_like_on_the_default_bridge() {
    let t = TestEnv::new();
    let net = Network::create(&t, "ports", &["--subnet", "10.98.0.0/24"]);
    let port = free_port();
    let published = format!("{port}:80");
    let id = server(
        &t,
        &["--network", &net.name, "-p", &published],
        "library/busybox",
    );
    let ip = inspect_field(&t, &id, "IPAddress");
    assert!(ip.starts_with("10.98.0."), "{ip}");
    assert!(fetch(&format!("127.0.0.1:{port}")).ends_with("hello\n"));
    assert!(fetch(&format!("{}:{port}", host_address())).ends_with("hello\n"));
    let rules = ruleset();
    assert!(
        rules.contains(&format!("tcp dport {port} dnat to {ip}:80")),
        "{rules}"
    );
    ok(&t, &["rm", "-f", &id]);
}

/// From another machine (a namespace of the test's), the server sees the client's own
/// address: DNAT, no SNAT.
#[test]
fn a_remote_client_keeps_its_source_address() {
    let t = TestEnv::new();
    let remote = Remote::new("pub", "203.0.113");
    let port = free_port();
    let id = server(&t, &["-p", &format!("{port}:80")], "library/busybox");
    let client = format!(
        "import time, urllib.request\n\
         for i in range(100):\n\
         \x20   try: print(urllib.request.urlopen('http://203.0.113.1:{port}/', timeout=2).read().decode(), end=''); break\n\
         \x20   except OSError: time.sleep(0.1)\n"
    );
    let out = Command::new("ip")
        .args(["netns", "exec", &remote.name, "python3", "-c", &client])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "hello\n", "{}", stderr(&out));
    let logs = t.skiff(&["logs", &id]);
    assert!(stderr(&logs).contains("203.0.113.2"), "{}", stderr(&logs));
    ok(&t, &["rm", "-f", &id]);
}

#[test]
fn a_port_a_host_program_holds_fails_the_run_and_leaves_nothing() {
    let t = TestEnv::new();
    let holder = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let image = t.image("library/busybox");
    let published = format!("{port}:80");
    let out = t.skiff(&[
        "run",
        "--network",
        "bridge",
        "-p",
        &published,
        &image,
        "true",
    ]);
    assert_one_line_error(
        &out,
        &format!("Bind for 0.0.0.0:{port} failed: port is already allocated"),
    );
    assert_eq!(ok(&t, &["ps", "-q"]), "", "nothing runs");
    let id = ok(&t, &["ps", "-aq"]);
    let id = id.trim();
    assert!(
        !ruleset().contains(&format!("dport {port} ")),
        "{}",
        ruleset()
    );
    let records = fs::read_dir("/run/skiff/ports").into_iter().flatten();
    assert!(records
        .flatten()
        .all(|r| !r.file_name().to_string_lossy().starts_with(id)));
    let leases = fs::read_dir("/run/skiff/networks/skiff0")
        .into_iter()
        .flatten();
    for lease in leases.flatten() {
        let holder = crate::network_ns::leaseholder(&lease.path());
        assert_ne!(
            holder,
            Some(format!("veth{}", &id[..11])),
            "a lease is left"
        );
    }
}

/// skiff holds a container's ports open while it runs: a second container, or a host
/// program, cannot take one; when it ends they are free again.
#[test]
fn a_port_another_container_publishes_is_refused_until_it_ends() {
    let t = TestEnv::new();
    let port = free_port();
    let published = format!("{port}:80");
    let first = server(&t, &["-p", &published], "library/busybox");
    assert!(
        TcpListener::bind(("0.0.0.0", port)).is_err(),
        "skiff holds it"
    );
    let image = t.image("library/busybox");
    let second = [
        "run",
        "--rm",
        "--network",
        "bridge",
        "-p",
        &published,
        &image,
        "true",
    ];
    assert_one_line_error(&t.skiff(&second), "port is already allocated");
    ok(&t, &["rm", "-f", &first]);
    ok(&t, &second);
}

#[test]
fn port_ps_and_inspect_show_the_published_ports() {
    let t = TestEnv::new();
    let flags = ["-p", "127.0.0.1::80", "-p", "8125/udp"];
    let id = server(&t, &flags, "library/busybox");
    let tcp = host_port(&t, &id, "80");
    let udp = host_port(&t, &id, "8125/udp");
    assert_eq!(
        ok(&t, &["port", &id]),
        format!("80/tcp -> 127.0.0.1:{tcp}\n8125/udp -> 0.0.0.0:{udp}\n")
    );
    assert!(fetch(&format!("127.0.0.1:{tcp}")).ends_with("hello\n"));
    let out = t.skiff(&["port", &id, "81"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&format!("No public port '81/tcp' published for {id}")));
    let ps = ok(&t, &["ps"]);
    let row = ps.lines().find(|l| id.starts_with(&l[..12])).unwrap();
    assert!(
        row.contains(&format!("127.0.0.1:{tcp}->80/tcp, 0.0.0.0:{udp}->8125/udp")),
        "{ps}"
    );
    let inspect = ok(&t, &["inspect", &id]);
    assert!(
        inspect.contains(r#""PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":""}]"#),
        "{inspect}"
    );
    let published = format!(r#""80/tcp":[{{"HostIp":"127.0.0.1","HostPort":"{tcp}"}}]"#);
    assert!(inspect.contains(&published), "{inspect}");
    ok(&t, &["rm", "-f", &id]);
}

#[test]
fn publish_all_publishes_the_images_exposed_ports() {
    let t = TestEnv::new();
    let id = server(&t, &["-P"], "library/web");
    let tcp = host_port(&t, &id, "80/tcp");
    host_port(&t, &id, "8125/udp");
    assert!(fetch(&format!("127.0.0.1:{tcp}")).ends_with("hello\n"));
    ok(&t, &["rm", "-f", &id]);
}

#[test]
fn ports_on_the_hosts_network_are_discarded_with_dockers_warning() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let out = t.skiff(&[
        "run",
        "--rm",
        "--network",
        "host",
        "-p",
        "80:80",
        &image,
        "true",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "WARNING: Published ports are discarded when using host network mode\n"
    );
}

#[test]
fn without_cap_net_admin_publishing_fails_in_one_line() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let args = [
        "run",
        "--rm",
        "--network",
        "bridge",
        "-p",
        "80",
        &image,
        "true",
    ];
    let out = skiff_without_net_admin(&t, &args);
    assert_one_line_error(&out, "skiff lacks CAP_NET_ADMIN");
}

#[test]
fn bad_publish_flags_are_refused_before_anything_runs() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let out = t.skiff(&["run", "--rm", "-p", "http", &image, "true"]);
    assert_one_line_error(&out, "invalid containerPort: http");
    for publish in [&["-p", "80"][..], &["-P"]] {
        let args = [
            &["run", "--network", "container:x"],
            publish,
            &[&image, "true"],
        ]
        .concat();
        let out = t.skiff(&args);
        assert_one_line_error(
            &out,
            "conflicting options: port publishing and the container",
        );
        assert_eq!(out.status.code(), Some(125));
    }
    assert_eq!(t.containers().len(), 0);
}

/// Hairpin: a container reaches its own published port through the host's address, and
/// the answer finds its way back (masquerade on the bridge).
#[test]
fn a_container_reaches_its_own_published_port_through_the_host() {
    let t = TestEnv::new();
    let port = free_port();
    let published = format!("{port}:80");
    // httpd listens before it goes to the background, so nc finds it listening
    let script = format!(
        "mkdir /www && echo hello >/www/index.html && httpd -p 80 -h /www && \
         printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {} {port}",
        host_address()
    );
    let out = sh(
        &t,
        &["--network", "bridge", "-p", &published],
        BUSYBOX,
        &script,
    );
    assert!(out.ends_with("\r\n\r\nhello\n"), "{out}");
}

/// The rules are rebuilt from the records of living containers: one whose skiff was
/// killed loses them at the next sweep.
#[test]
fn the_ports_of_a_container_whose_skiff_was_killed_are_swept() {
    let t = TestEnv::new();
    let port = free_port();
    let id = server(&t, &["-p", &format!("{port}:80")], "library/busybox");
    assert!(
        ruleset().contains(&format!("dport {port} ")),
        "{}",
        ruleset()
    );
    kill_unwatched(&t, &id);
    assert!(
        !ruleset().contains(&format!("dport {port} ")),
        "{}",
        ruleset()
    );
    assert!(!std::path::Path::new("/run/skiff/ports").join(&id).exists());
    ok(&t, &["rm", &id]);
}

/// A published port is open to every network, as Docker's are (moby#38784): a container
/// on another network reaches it through the host's address, though the isolation
/// between the two bridges still drops a connection to the server's own address.
#[test]
fn a_published_port_answers_a_container_of_another_network() {
    let t = TestEnv::new();
    let net = Network::create(&t, "other", &["--subnet", "10.85.0.0/24"]);
    let port = free_port();
    let id = server(&t, &["-p", &format!("{port}:80")], "library/busybox");
    let host = host_address();
    assert!(fetch(&format!("{host}:{port}")).ends_with("hello\n"));
    let ip = inspect_field(&t, &id, "IPAddress");
    let script = format!(
        "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {host} {port}; \
         nc -w 2 {ip} 80 </dev/null; echo status $?"
    );
    let out = sh(&t, &["--network", &net.name], BUSYBOX, &script);
    assert!(out.contains("\r\n\r\nhello\n"), "{out}");
    assert!(out.ends_with("status 1\n"), "reached {ip} directly: {out}");
    ok(&t, &["rm", "-f", &id]);
}
