//! Issue 14: the names a container sees, as Docker writes them: /etc/hostname,
//! /etc/hosts and /etc/resolv.conf on each kind of network, `-h`, `--add-host`,
//! `--dns`, `--dns-search`, `--dns-option`, `--network-alias`; and an image whose /etc
//! points at the host, which must never get skiff to write there.
//!
//! The host's own /etc/hosts and /etc/resolv.conf matter here, so most tests run skiff
//! in a mount namespace of its own where known files are bound over them.

use std::fs;
use std::process::{Command, Output};

use crate::network_ns::Network;
use crate::testenv::{assert_one_line_error, stderr, stdout, TestEnv};

const BUSYBOX: &str = "library/busybox";

/// The lines every container's /etc/hosts starts with (Docker's).
const LOCALHOST: &str = "127.0.0.1\tlocalhost\n\
                         ::1\tlocalhost ip6-localhost ip6-loopback\n\
                         fe00::0\tip6-localnet\n\
                         ff00::0\tip6-mcastprefix\n\
                         ff02::1\tip6-allnodes\n\
                         ff02::2\tip6-allrouters\n";

/// The host's files as these tests make them look: a loopback nameserver, as
/// systemd-resolved's 127.0.0.53, which a container of its own network cannot reach.
const HOST_HOSTS: &str = "127.0.0.1 localhost\n10.1.2.3 fileserver\n";
const HOST_RESOLV: &str = "# the host's\nsearch lan\nnameserver 127.0.0.53\noptions edns0\n";

/// Prints the three files, each after a `--` line.
const CAT: &str = "for f in hostname hosts resolv.conf; do echo --; cat /etc/$f; done";

/// `[WRAPPER…] skiff ARGS…` where the host's /etc/hosts and /etc/resolv.conf read as
/// [`HOST_HOSTS`] and [`HOST_RESOLV`]: bound over them in a private mount namespace.
fn skiff_on_host(t: &TestEnv, wrapper: &[&str], args: &[&str]) -> Output {
    let (hosts, resolv) = (t.root.join("host-hosts"), t.root.join("host-resolv"));
    fs::write(&hosts, HOST_HOSTS).unwrap();
    fs::write(&resolv, HOST_RESOLV).unwrap();
    let inner = t.command(args);
    let mut wrapped = Command::new("unshare");
    wrapped
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@""#)
        .arg("sh")
        .args([&hosts, &resolv])
        .args(wrapper)
        .arg(inner.get_program())
        .args(inner.get_args())
        .stdin(std::process::Stdio::null());
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    wrapped.output().unwrap()
}

/// `run --rm FLAGS… busybox sh -c CAT` on that host: hostname, hosts and resolv.conf.
fn files(t: &TestEnv, flags: &[&str]) -> [String; 3] {
    files_via(t, &[], flags)
}

/// [`files`], skiff started by `wrapper` (e.g. without CAP_NET_ADMIN).
fn files_via(t: &TestEnv, wrapper: &[&str], flags: &[&str]) -> [String; 3] {
    let image = t.image(BUSYBOX);
    let mut args = vec!["run", "--rm"];
    args.extend(flags);
    args.extend([image.as_str(), "sh", "-c", CAT]);
    let out = skiff_on_host(t, wrapper, &args);
    assert_eq!(out.status.code(), Some(0), "{flags:?}: {}", stderr(&out));
    let text = stdout(&out);
    let parts: Vec<String> = text.split("--\n").skip(1).map(String::from).collect();
    parts.try_into().unwrap_or_else(|_| panic!("{text}"))
}

/// Without CAP_NET_ADMIN (the CodeCrafters way) the default bridge falls back to the
/// host's network; the container keeps a hostname of its own, named on loopback.
#[test]
fn where_the_default_falls_back_to_the_hosts_network_its_hostname_is_on_loopback() {
    let t = TestEnv::new();
    let no_net_admin = ["setpriv", "--bounding-set", "-net_admin"];
    let [hostname, hosts, resolv] = files_via(&t, &no_net_admin, &["-h", "boat"]);
    assert_eq!(hostname, "boat\n");
    assert_eq!(hosts, format!("{LOCALHOST}127.0.0.1\tboat\n"));
    assert_eq!(
        resolv, HOST_RESOLV,
        "the host's network: its loopback answers"
    );
    let [hostname, ..] = files_via(&t, &no_net_admin, &[]);
    assert_eq!(hostname.trim().len(), 12, "the short ID: {hostname}");
}

#[test]
fn network_host_gets_the_hosts_own_files_and_name() {
    let t = TestEnv::new();
    let [hostname, hosts, resolv] = files(&t, &["--network", "host"]);
    let host_name = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(hostname, host_name);
    assert_eq!(hosts, HOST_HOSTS);
    assert_eq!(resolv, HOST_RESOLV);
    // With --add-host, Docker writes its own lines instead of the host's.
    let flags = [
        "--network",
        "host",
        "--add-host",
        "gw:host-gateway",
        "-h",
        "b",
    ];
    let [hostname, hosts, _] = files(&t, &flags);
    assert_eq!(hostname, "b\n");
    assert_eq!(hosts, format!("{LOCALHOST}127.0.0.1\tgw\n"));
}

#[test]
fn a_bridge_names_the_containers_address_and_filters_loopback_nameservers() {
    let t = TestEnv::new();
    let flags = [
        "--network",
        "bridge",
        "-h",
        "boat.example.com",
        "--add-host",
        "db:10.0.0.5",
        "--add-host",
        "gw:host-gateway",
    ];
    let [hostname, hosts, resolv] = files(&t, &flags);
    assert_eq!(hostname, "boat.example.com\n");
    let own = hosts
        .strip_prefix(LOCALHOST)
        .unwrap_or_else(|| panic!("{hosts}"));
    let lines: Vec<&str> = own.lines().collect();
    assert_eq!(lines[0], "10.0.0.5\tdb");
    let (gateway, address) = (lines[1], lines[2]);
    let gateway = gateway.strip_suffix("\tgw").unwrap();
    let address = address.strip_suffix("\tboat.example.com boat").unwrap();
    let subnet = gateway
        .strip_suffix(".0.1")
        .unwrap_or_else(|| panic!("{own}"));
    assert!(address.starts_with(&format!("{subnet}.")), "{own}");
    assert_eq!(lines.len(), 3, "{own}");
    assert_eq!(
        resolv,
        "# the host's\nsearch lan\noptions edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
    );
}

#[test]
fn network_none_has_no_line_of_its_own_and_no_gateway() {
    let t = TestEnv::new();
    let [_, hosts, resolv] = files(&t, &["--network", "none", "--add-host", "a:::1"]);
    assert_eq!(hosts, format!("{LOCALHOST}::1\ta\n"));
    assert!(!resolv.contains("127.0.0.53"), "{resolv}");
    let image = t.image(BUSYBOX);
    let args = [
        "run",
        "--rm",
        "--network",
        "none",
        "--add-host",
        "gw:host-gateway",
    ];
    let out = t.skiff(&[&args[..], &[&image, "true"]].concat());
    assert_one_line_error(
        &out,
        "--add-host gw:host-gateway: --network none has no gateway",
    );
}

#[test]
fn dns_flags_replace_their_lines_of_resolv_conf() {
    let t = TestEnv::new();
    let flags = [
        "--dns",
        "9.9.9.9",
        "--dns",
        "1.1.1.1",
        "--dns-option",
        "ndots:2",
    ];
    let [_, _, resolv] = files(&t, &flags);
    assert_eq!(
        resolv,
        "search lan\nnameserver 9.9.9.9\nnameserver 1.1.1.1\noptions ndots:2\n"
    );
    let flags = ["--network", "bridge", "--dns-search", "example.com"];
    let [_, _, resolv] = files(&t, &flags);
    assert_eq!(
        resolv,
        "search example.com\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0\n"
    );
}

#[test]
fn bad_names_are_refused_before_anything_runs() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    for (flags, error) in [
        (
            &["--add-host", "nocolon"][..],
            "invalid argument \"nocolon\" for \"--add-host\"",
        ),
        (
            &["--add-host", "x:notip"],
            "invalid argument \"x:notip\" for \"--add-host\"",
        ),
        (
            &["--dns", "dns.google"],
            "invalid argument \"dns.google\" for \"--dns\"",
        ),
        (
            &["--network-alias", "db"],
            "network-scoped aliases are only supported for user-defined networks",
        ),
        (
            &["--network", "bridge", "--network-alias", "db"],
            "network-scoped aliases are only supported for user-defined networks",
        ),
    ] {
        let out = t.skiff(&[&["run", "--rm"], flags, &[&image, "true"]].concat());
        assert_one_line_error(&out, error);
    }
    assert!(t.containers().is_empty(), "{:?}", t.containers());
}

#[test]
fn a_read_only_container_still_gets_its_files_read_only() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    let script = "cat /etc/hostname; grep -c ' /etc/h.* ro,' /proc/mounts; \
                  { echo x >> /etc/hosts; } 2>&1";
    let args = [
        "run",
        "--rm",
        "--read-only",
        "-h",
        "boat",
        &image,
        "sh",
        "-c",
        script,
    ];
    let out = t.skiff(&args);
    assert_eq!(
        stdout(&out),
        "boat\n2\nsh: can't create /etc/hosts: Read-only file system\n",
        "{}",
        stderr(&out)
    );
}

/// Docker's default bridge gives no names (`lifecycle::peers::DEFAULT_BRIDGE`): its
/// containers find each other by address only.
#[test]
fn the_default_bridge_names_no_other_container() {
    let t = TestEnv::new();
    members_find_each_other(&t, "bridge", false);
}

/// A user network names its members to each other (`lifecycle::peers`), by name,
/// `--network-alias` and short ID.
/// `inspect` shows the flags as Docker does: ExtraHosts null when none, the DNS lists
/// empty.
#[test]
fn inspect_shows_the_dns_flags_in_host_config() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    let flags = [
        "--add-host",
        "a:10.1.2.3",
        "--dns",
        "9.9.9.9",
        "--dns-search",
        "lan",
    ];
    for (flags, want) in [
        (
            &flags[..],
            r#""ExtraHosts":["a:10.1.2.3"],"Dns":["9.9.9.9"],"DnsOptions":[],"DnsSearch":["lan"]"#,
        ),
        (
            &[],
            r#""ExtraHosts":null,"Dns":[],"DnsOptions":[],"DnsSearch":[]"#,
        ),
    ] {
        let out = t.skiff(&[&["create"][..], flags, &[&image, "true"]].concat());
        let id = stdout(&out).trim().to_string();
        let inspect = stdout(&t.skiff(&["inspect", &id]));
        assert!(inspect.contains(want), "{inspect}");
        assert_eq!(t.skiff(&["rm", &id]).status.code(), Some(0));
    }
}

#[test]
fn a_user_network_names_its_members_to_each_other() {
    let t = TestEnv::new();
    let net = Network::create(&t, "names", &["--subnet", "10.92.0.0/24"]);
    members_find_each_other(&t, &net.name, true);
}

/// Containers on `network`: `red` (with `--network-alias cache` where `named`), then
/// `blue`, which comes and goes, then `green`. With `named`, each one's /etc/hosts
/// names the others by name, alias and short ID from the moment its command runs, and
/// one that goes leaves the others' files; without, none names another.
fn members_find_each_other(t: &TestEnv, network: &str, named: bool) {
    let image = t.image(BUSYBOX);
    let alias: &[&str] = if named {
        &["--network-alias", "cache"]
    } else {
        &[]
    };
    let detached = |name: &str, flags: &[&str]| {
        let args = [&["run", "-d", "--name", name, "--network", network], flags].concat();
        let out = t.skiff(&[&args[..], &[&image, "sleep", "1000"]].concat());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let id = stdout(&out).trim().to_string();
        let inspect = stdout(&t.skiff(&["inspect", &id]));
        let ip = inspect
            .split("\"IPAddress\":\"")
            .nth(1)
            .unwrap_or_else(|| panic!("{inspect}"));
        (
            ip[..ip.find('"').unwrap()].to_string(),
            id[..12].to_string(),
        )
    };
    let hosts_of = |name: &str| stdout(&t.skiff(&["exec", name, "cat", "/etc/hosts"]));
    let (red_ip, red_id) = detached("red", alias);
    let red_line = match named {
        true => format!("{red_ip}\tred cache {red_id}\n"),
        false => format!("{red_ip}\t{red_id}\n"),
    };
    assert!(hosts_of("red").ends_with(&red_line), "{}", hosts_of("red"));
    let aliases = match named {
        true => format!(r#""Aliases":["cache","{red_id}"]"#),
        false => r#""Aliases":null"#.to_string(), // the default bridge
    };
    let inspect = stdout(&t.skiff(&["inspect", "red"]));
    assert!(inspect.contains(&aliases), "{inspect}");
    let args = [
        "run",
        "--rm",
        "--name",
        "blue",
        "--network",
        network,
        &image,
        "cat",
        "/etc/hosts",
    ];
    let blue = stdout(&t.skiff(&args));
    assert_eq!(blue.contains(&format!("{red_ip}\tred")), named, "{blue}");
    assert!(
        !hosts_of("red").contains("blue"),
        "blue has gone: {}",
        hosts_of("red")
    );
    let (green_ip, green_id) = detached("green", &[]);
    let red = hosts_of("red");
    assert_eq!(
        red.contains(&format!("{green_ip}\tgreen {green_id}\n")),
        named,
        "{red}"
    );
    assert_eq!(hosts_of("green").contains(&red_line), named);
    let out = t.skiff(&["rm", "-f", "green"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!hosts_of("red").contains("green"), "{}", hosts_of("red"));
    let out = t.skiff(&["rm", "-f", "red"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// An image whose /etc/hosts, /etc/resolv.conf or whole /etc is a symlink to a host
/// path: the files land inside the container's root, and the host's stay untouched.
#[test]
fn an_etc_that_points_at_the_host_is_resolved_inside_the_root() {
    let t = TestEnv::new();
    let canary = t.root.join("canary");
    fs::create_dir_all(&canary).unwrap();
    for name in ["hosts", "resolv.conf", "hostname"] {
        fs::write(canary.join(name), "canary\n").unwrap();
    }
    let climb = format!("../../../../../../../..{}", canary.display());
    let links = [
        ("etc/hosts", canary.join("hosts").display().to_string()),
        ("etc/resolv.conf", format!("{climb}/resolv.conf")),
    ];
    let image = import_with_links(&t, "links", &links);
    let run = |image: &str| {
        let script = "tail -n 1 /etc/hosts; cat /etc/resolv.conf /etc/hostname";
        let flags = [
            "run",
            "--rm",
            "-h",
            "boat",
            "--dns",
            "9.9.9.9",
            "--pull=never",
        ];
        let out = t.skiff(&[&flags[..], &[image, "sh", "-c", script]].concat());
        let text = stdout(&out);
        let (own_line, rest) = text.split_once('\n').unwrap_or_else(|| panic!("{text}"));
        assert!(
            own_line.starts_with("10.") && own_line.ends_with("\tboat"),
            "{text}"
        );
        assert_eq!(rest, "nameserver 9.9.9.9\nboat\n", "{}", stderr(&out));
    };
    run(&image);
    let whole = [("etc", canary.display().to_string())];
    run(&import_with_links(&t, "whole", &whole));
    let mut left: Vec<String> = fs::read_dir(&canary)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["hostname", "hosts", "resolv.conf"]);
    for name in left {
        assert_eq!(fs::read_to_string(canary.join(name)).unwrap(), "canary\n");
    }
}

/// A busybox image (the host's static busybox) with `links` (path → target) in it,
/// imported as `names/NAME`.
fn import_with_links(t: &TestEnv, name: &str, links: &[(&str, String)]) -> String {
    let rootfs = t.root.join(format!("rootfs-{name}"));
    fs::create_dir_all(rootfs.join("bin")).unwrap();
    fs::copy("/usr/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for tool in ["sh", "cat", "tail"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(tool)).unwrap();
    }
    for (path, target) in links {
        let path = rootfs.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, path).unwrap();
    }
    let tarball = t.root.join(format!("{name}.tar"));
    let packed = Command::new("tar")
        .arg("-cf")
        .arg(&tarball)
        .arg("-C")
        .arg(&rootfs)
        .arg(".")
        .status()
        .unwrap();
    assert!(packed.success());
    let reference = format!("names/{name}:v1");
    let out = t.skiff(&["import", tarball.to_str().unwrap(), &reference]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    reference
}
