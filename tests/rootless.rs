//! Rootless skiff (issue 17): an ordinary user, made for each test and removed after
//! it with its files, runs skiff in a user namespace of its own. It gets its own
//! store and runtime directory, sees none of another user's containers, and its
//! containers can do nothing that user could not.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::terminal::{play, Shown};
use crate::testenv::{
    assert_one_line_error, eventually, kill_9, skiff_bin, stderr, stdout, TestEnv, BUSYBOX,
};

/// useradd(8) and userdel(8) lock /etc/passwd: one at a time, or they fail.
static ACCOUNTS: Mutex<()> = Mutex::new(());

/// An ordinary user with a home of its own in a temporary directory.
struct User {
    name: String,
    uid: u32,
    gid: u32,
    home: PathBuf,
}

impl User {
    /// A user without subordinate IDs: skiff maps its own ID alone.
    fn new() -> User {
        let user = User::with_range();
        user.grant(None);
        user
    }

    /// A user with the 65536 subordinate uids and gids useradd(8) grants when
    /// /etc/subuid exists (Debian's `passwd` makes it); userdel(8) takes them back.
    fn with_range() -> User {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("skiffrl{}x{n}", std::process::id());
        let home = std::env::temp_dir().join(format!("skiff-rootless-{name}"));
        fs::create_dir(&home).unwrap();
        fs::set_permissions(&home, fs::Permissions::from_mode(0o755)).unwrap();
        let guard = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let home_arg = home.to_str().unwrap();
        let args = ["--no-create-home", "--home-dir", home_arg, "--user-group"];
        let added = Command::new("useradd").args(args).arg(&name).status();
        drop(guard);
        assert!(added.unwrap().success(), "useradd {name}");
        let meta = |what: &str| {
            let out = Command::new("id").args([what, &name]).output().unwrap();
            stdout(&out).trim().parse::<u32>().unwrap()
        };
        let (uid, gid) = (meta("-u"), meta("-g"));
        std::os::unix::fs::chown(&home, Some(uid), Some(gid)).unwrap();
        User {
            name,
            uid,
            gid,
            home,
        }
    }

    /// Its first line of /etc/subuid (useradd gives the same range in /etc/subgid).
    fn range(&self) -> (u32, u32) {
        let text = fs::read_to_string("/etc/subuid").unwrap_or_default();
        let prefix = format!("{}:", self.name);
        let line = text.lines().find_map(|l| l.strip_prefix(&prefix));
        let (first, count) = line.and_then(|l| l.split_once(':')).expect("no subuid");
        (first.parse().unwrap(), count.parse().unwrap())
    }

    /// Replaces its lines of /etc/subuid and /etc/subgid with `range`, or none; by
    /// rename(2), so that a skiff of another test never reads a file half written.
    fn grant(&self, range: Option<(u32, u32)>) {
        let _guard = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let prefix = format!("{}:", self.name);
        for file in ["/etc/subuid", "/etc/subgid"] {
            let text = fs::read_to_string(file).unwrap_or_default();
            let mut lines: Vec<String> = text
                .lines()
                .filter(|l| !l.starts_with(&prefix))
                .map(|l| format!("{l}\n"))
                .collect();
            lines.extend(range.map(|(first, count)| format!("{prefix}{first}:{count}\n")));
            let new = format!("{file}+skiff-test");
            fs::write(&new, lines.concat()).unwrap();
            fs::rename(&new, file).unwrap();
        }
    }

    /// `PROGRAM ARGS…` as this user (setpriv(1)), with only PATH and HOME from here.
    fn program(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid", &self.uid.to_string()])
            .args(["--regid", &self.gid.to_string(), "--init-groups", "--"])
            .arg(program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", &self.home)
            .stdin(Stdio::null());
        cmd
    }

    fn command(&self, args: &[&str]) -> Command {
        self.program(&skiff_bin(), args)
    }

    fn skiff(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// `skiff ARGS…` with a `PATH` where no program is, slirp4netns included.
    fn skiff_without_programs(&self, args: &[&str]) -> Output {
        let path = format!("PATH={}/none", self.home.display());
        self.skiff_in(&[&path], args).output().unwrap()
    }

    /// `skiff ARGS…` as this user on a new pseudo-terminal, playing `script` (see
    /// tests/terminal.rs); with nothing of the test's environment but PATH and HOME.
    fn on_terminal(&self, script: &str, args: &[&str]) -> Shown {
        play(
            &self.skiff_in(&["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], args),
            script,
        )
    }

    /// `skiff ARGS…` as this user with only `vars` and HOME in its environment, set by
    /// env(1) before setpriv(1): setpriv execs skiff still holding root's capabilities,
    /// so a binary under a directory the user may not search (a clone in /root) runs;
    /// a program setpriv started first could not exec it.
    fn skiff_in(&self, vars: &[&str], args: &[&str]) -> Command {
        let home = format!("HOME={}", self.home.display());
        let (uid, gid) = (self.uid.to_string(), self.gid.to_string());
        let mut cmd = Command::new("/usr/bin/env");
        cmd.arg("-i")
            .args(vars)
            .arg(&home)
            .args(["/usr/bin/setpriv", "--reuid", &uid, "--regid", &gid])
            .args(["--init-groups", "--"])
            .arg(skiff_bin())
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// `skiff ARGS…` as this user, which must exit 0: its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.skiff(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        stdout(&out)
    }

    fn store(&self) -> PathBuf {
        self.home.join(".local/share/skiff")
    }

    /// Its containers, as `ps -a` lists them (none if that fails).
    fn containers(&self) -> Vec<String> {
        let listed = stdout(&self.skiff(&["ps", "-aq"]));
        listed.lines().map(String::from).collect()
    }
}

impl Drop for User {
    fn drop(&mut self) {
        for id in self.containers() {
            let _ = self.skiff(&["rm", "-f", &id]);
        }
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let home = self.home.to_string_lossy().into_owned();
        let mut left: Vec<String> = mounts
            .lines()
            .filter(|l| l.contains(&home))
            .map(String::from)
            .collect();
        let scratch = fs::read_dir(self.store().join("tmp")).into_iter().flatten();
        left.extend(
            scratch
                .flatten()
                .map(|e| format!("scratch dir: {:?}", e.path())),
        );
        // `rm -f` returns once the container is dead; its supervisor exits just after.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !processes_of(self.uid).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        left.extend(
            processes_of(self.uid)
                .iter()
                .map(|p| format!("process: {p}")),
        );
        let guard = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let removed = Command::new("userdel")
            .args(["--force", &self.name])
            .status();
        drop(guard);
        let _ = fs::remove_dir_all(&self.home);
        let _ = fs::remove_dir_all(format!("/tmp/skiff-{}", self.uid));
        if !std::thread::panicking() {
            assert!(removed.unwrap().success(), "userdel {}", self.name);
            assert!(left.is_empty(), "skiff left things behind: {left:#?}");
        }
    }
}

/// The live processes whose real uid is `uid`, with their names. Zombies do not
/// count: this machine's init reaps no orphan.
fn processes_of(uid: u32) -> Vec<String> {
    let entries = fs::read_dir("/proc").into_iter().flatten().flatten();
    let status = entries.filter_map(|e| fs::read_to_string(e.path().join("status")).ok());
    let live = status.filter(|s| !s.contains("State:\tZ"));
    let mine = live.filter(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && host_uid(l) == uid)
    });
    mine.map(|s| s.lines().take(3).collect::<Vec<_>>().join(" "))
        .collect()
}

/// The real uid on a `Uid:` line of /proc/PID/status.
fn host_uid(line: &str) -> u32 {
    let real = line.split_whitespace().nth(1);
    real.and_then(|uid| uid.parse().ok()).unwrap_or(u32::MAX)
}

/// The host's view of a process: the uids on its `Uid:` line.
fn host_uids(pid: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace()
        .skip(1)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn rootless_pull_run_detach_logs_stop_rm() {
    let t = TestEnv::new();
    let user = User::new();
    let image = t.image(BUSYBOX);
    user.ok(&["pull", &image]);
    let store = fs::metadata(user.store()).unwrap();
    assert_eq!((store.uid(), store.mode() & 0o777), (user.uid, 0o700));
    let script = "id -u; cat /proc/self/uid_map; grep -c '^overlay / .*userxattr' /proc/mounts; \
                  ls /etc/opaque; ls /etc/removed-by-upper";
    let out = user.skiff(&["run", "--rm", &image, "sh", "-c", script]);
    // uid 0 inside is the user outside; its root is an overlayfs (Linux 5.11+, with
    // user.* attributes), where the layers' whiteout and opaque directory hold.
    let map = format!("0 {} 1", user.uid);
    let seen: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(seen, ["0", map.as_str(), "1", "new"], "{}", stderr(&out));
    assert!(
        stderr(&out).contains("removed-by-upper"),
        "{}",
        stderr(&out)
    );

    let script = "echo ready; exec sleep 1000";
    let id = user.ok(&["run", "-d", "--name", "web", &image, "sh", "-c", script]);
    let id = id.trim();
    eventually("the container has logged", || {
        user.ok(&["logs", "web"]) == "ready\n"
    });
    let pid = user.ok(&["inspect", "-f", "{{.State.Pid}}", "web"]);
    let uid = user.uid;
    assert_eq!(host_uids(pid.trim()), format!("{uid} {uid} {uid} {uid}"));
    assert!(user.ok(&["ps"]).contains("web"));
    let exec = user.ok(&["exec", "web", "sh", "-c", "id -u; cat /proc/self/uid_map"]);
    assert_eq!(
        exec.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", &uid.to_string(), "1"]
    );
    // cp both ways, running (through its namespace) and stopped (mounted apart).
    let host = user.home.join("in");
    fs::write(&host, "in\n").unwrap();
    user.ok(&["cp", host.to_str().unwrap(), "web:/in"]);
    let owner = user.ok(&["exec", "web", "stat", "-c", "%u %g", "/in"]);
    assert_eq!(owner, "0 0\n");
    let copied = |name: &str| {
        let out = user.home.join(name);
        user.ok(&["cp", "web:/in", out.to_str().unwrap()]);
        let meta = fs::metadata(&out).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (user.uid, user.gid));
        fs::read_to_string(out).unwrap()
    };
    assert_eq!(copied("running"), "in\n");
    let tag = image.rsplit_once(':').unwrap().1;
    assert!(
        user.ok(&["images"]).contains(tag),
        "the user's images list it"
    );
    user.ok(&["stop", "-t", "1", "web"]);
    assert_eq!(copied("stopped"), "in\n");
    assert!(user.ok(&["ps", "-a"]).contains("Exited"));
    assert_eq!(user.ok(&["rm", "web"]).trim(), "web");
    assert_eq!(user.containers(), Vec::<String>::new(), "{id} is gone");
}

#[test]
fn rootless_users_see_and_touch_only_their_own_containers() {
    let t = TestEnv::new();
    let (alice, bob) = (User::new(), User::new());
    let image = t.image(BUSYBOX);
    let id = alice.ok(&["run", "-d", "--name", "mine", &image, "sleep", "1000"]);
    let id = id.trim();
    assert_eq!(bob.ok(&["ps", "-aq"]), "");
    let tries: [&[&str]; 5] = [
        &["stop", id],
        &["rm", "-f", id],
        &["kill", id],
        &["logs", id],
        &["exec", id, "true"],
    ];
    for args in tries {
        let out = bob.skiff(args);
        assert_ne!(out.status.code(), Some(0), "bob: {args:?}");
        assert!(
            stderr(&out).contains("No such container"),
            "{}",
            stderr(&out)
        );
    }
    // Nor can bob look into alice's store, or her runtime directory.
    let runtime = PathBuf::from(format!("/tmp/skiff-{}", alice.uid));
    for dir in [alice.store(), runtime] {
        let out = bob
            .program(Path::new("/bin/ls"), &[dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            stderr(&out).contains("Permission denied"),
            "{}",
            dir.display()
        );
    }
    assert!(
        alice.ok(&["ps"]).contains("mine"),
        "alice's container still runs"
    );
}

#[test]
fn rootless_refusals_come_before_anything_is_recorded() {
    let t = TestEnv::new();
    let user = User::new();
    let image = t.image(BUSYBOX);
    user.ok(&["pull", &image]);
    let refusals: [(&[&str], &str); 4] = [
        (
            &["-m", "64m"],
            "--memory cannot be enforced here: skiff runs rootless",
        ),
        (
            &["--network", "bridge"],
            "--network bridge: a bridge needs root, and skiff runs rootless here: install slirp4netns",
        ),
        (&["-p", "8080:80"], "-p: publishing a port needs root"),
        (
            &["--userns=auto"],
            "--userns, --uidmap, --gidmap: not rootless",
        ),
    ];
    for (flags, what) in refusals {
        let args = [&["run", "--rm"], flags, &[image.as_str(), "true"]].concat();
        assert_one_line_error(&user.skiff_without_programs(&args), what);
    }
    // With slirp4netns, the host's ports below 1024 are still root's.
    let args = ["run", "--rm", "-p", "80:80", &image, "true"];
    let low = "-p 0.0.0.0:80: rootless, skiff may publish host ports from 1024 up";
    assert_one_line_error(&user.skiff(&args), low);
    assert_eq!(user.containers(), Vec::<String>::new());
    // A network namespace of its own still works: only lo in it.
    let out = user.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &image,
        "cat",
        "/proc/net/dev",
    ]);
    let links: Vec<&str> = out
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .collect();
    assert_eq!(links.iter().map(|l| l.trim()).collect::<Vec<_>>(), ["lo"]);
}

#[test]
fn rootless_containers_gain_nothing_over_their_user() {
    let t = TestEnv::new();
    let user = User::new();
    let image = t.image(BUSYBOX);
    // Root inside, even --privileged, is the user on the host's files.
    let script = "touch /host/etc/skiff-rootless-probe; cat /host/etc/shadow; \
                  mknod /dev/probe-mem c 1 1; echo done";
    for flags in [&[][..], &["--privileged"][..]] {
        let args = [
            &["run", "--rm", "-v", "/etc:/host/etc"],
            flags,
            &[&image, "sh", "-c", script],
        ]
        .concat();
        let out = user.skiff(&args);
        assert_eq!(stdout(&out), "done\n", "{flags:?}");
        let err = stderr(&out);
        assert_eq!(
            err.matches("Permission denied").count(),
            2,
            "{flags:?}: {err}"
        );
        assert!(err.contains("Operation not permitted"), "{flags:?}: {err}");
    }
    assert!(!Path::new("/etc/skiff-rootless-probe").exists());
    // The hostile images: a hard link to /etc/shadow links the image's own; no device
    // node of the host's reaches the container.
    let stolen = "cat /stolen && [ /stolen -ef /etc/shadow ] && echo same-inode";
    let args = [
        "run",
        "--rm",
        &t.image("hostile/hardlink-host:absolute"),
        "sh",
        "-c",
        stolen,
    ];
    assert_eq!(user.ok(&args), "the image's own shadow\nsame-inode\n");
    let script = "ls /mem /kmsg 2>&1";
    let args = [
        "run",
        "--rm",
        &t.image("hostile/device"),
        "sh",
        "-c",
        script,
    ];
    let out = user.skiff(&args);
    assert_eq!(
        stdout(&out).matches("No such file").count(),
        2,
        "{}",
        stdout(&out)
    );
}

/// An address of the host's that is not its loopback (10.199.77.1, on `lo`): what
/// slirp4netns reaches for a container is the host's network less 127.0.0.1, and this
/// sandbox has no other network to reach. Removed when dropped.
struct HostAddress;

const OUTSIDE: &str = "10.199.77.1";

impl HostAddress {
    fn add() -> HostAddress {
        let args = ["addr", "replace", &format!("{OUTSIDE}/32"), "dev", "lo"];
        assert!(Command::new("ip").args(args).status().unwrap().success());
        HostAddress
    }
}

impl Drop for HostAddress {
    fn drop(&mut self) {
        let args = ["addr", "del", &format!("{OUTSIDE}/32"), "dev", "lo"];
        let _ = Command::new("ip").args(args).status();
    }
}

/// A server on `address` that answers every request with `page`, from a thread.
fn serve(address: &str, page: &'static str) -> u16 {
    let listener = std::net::TcpListener::bind((address, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut client in listener.incoming().flatten() {
            use std::io::{Read, Write};
            let _ = client.read(&mut [0; 1024]);
            let _ = write!(client, "HTTP/1.0 200 OK\r\n\r\n{page}");
        }
    });
    port
}

/// A rootless container's default network needs slirp4netns, which
/// tests/harness/programs.txt installs: without it, the default is the host's network.
fn assert_slirp4netns_installed() {
    let version = Command::new("slirp4netns").arg("--version").output();
    assert!(
        version.is_ok_and(|out| out.status.success()),
        "slirp4netns is installed (tests/harness/programs.txt)"
    );
}

#[test]
fn rootless_network_through_slirp4netns_reaches_out_and_publishes() {
    assert_slirp4netns_installed();
    let t = TestEnv::new();
    let user = User::new();
    let image = t.image(BUSYBOX);
    let _outside = HostAddress::add();
    let outside = serve(OUTSIDE, "hello from outside");
    let loopback = serve("127.0.0.1", "the host's loopback");
    // Out to the host's network; the host's loopback stays out of reach (10.0.2.2).
    let script = format!(
        "wget -qO- http://{OUTSIDE}:{outside}/; echo; wget -qO- http://10.0.2.2:{loopback}/ \
         || echo no loopback; ip -o -4 addr show tap0; cat /etc/resolv.conf"
    );
    let out = user.skiff(&["run", "--rm", &image, "sh", "-c", &script]);
    let seen = stdout(&out);
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(
        lines[..2],
        ["hello from outside", "no loopback"],
        "{}",
        stderr(&out)
    );
    assert!(lines[2].contains("inet 10.0.2.100/24"), "{seen}");
    assert_eq!(lines[3..], ["nameserver 10.0.2.3"], "{seen}");

    // -p: the host's 127.0.0.1:PORT leads to the container's 8080.
    let port = crate::ports::free_port();
    let published = format!("127.0.0.1:{port}:8080");
    let serve = "mkdir /www && echo published >/www/index.html && exec httpd -f -p 8080 -h /www";
    let args = [
        "run", "-d", "--name", "web", "-p", &published, &image, "sh", "-c", serve,
    ];
    user.ok(&args);
    let page = crate::ports::fetch(&format!("127.0.0.1:{port}"));
    assert!(page.ends_with("published\n"), "{page}");
    let shown = format!("8080/tcp -> 127.0.0.1:{port}");
    assert_eq!(user.ok(&["port", "web"]).trim(), shown);
    assert!(user
        .ok(&["ps"])
        .contains(&format!("127.0.0.1:{port}->8080/tcp")));
    let address = "{{.NetworkSettings.IPAddress}}";
    assert_eq!(
        user.ok(&["inspect", "-f", address, "web"]).trim(),
        "10.0.2.100"
    );
    let slirps = || {
        processes_of(user.uid)
            .iter()
            .filter(|p| p.contains("slirp4netns"))
            .count()
    };
    assert_eq!(slirps(), 1);
    user.ok(&["stop", "-t", "1", "web"]);
    // stop returns once the container has ended; its supervisor then ends slirp4netns.
    eventually("slirp4netns has ended with the container", || slirps() == 0);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// A rootless container's network namespace is IPv4-only, as Docker's daemon leaves
/// every one it makes: `disable_ipv6`, no `::1` on lo, no link-local address on tap0.
#[test]
fn rootless_network_namespaces_are_ipv4_only_as_dockers() {
    if !Path::new("/proc/sys/net/ipv6").exists() {
        return; // a kernel without IPv6: nothing to turn off
    }
    assert_slirp4netns_installed(); // the default network
    let t = TestEnv::new();
    let user = User::new();
    let image = t.image(BUSYBOX);
    let script = "cat /proc/sys/net/ipv6/conf/all/disable_ipv6; ip -o addr";
    for network in [&[][..], &["--network", "none"]] {
        let command = [image.as_str(), "sh", "-c", script];
        let args = [&["run", "--rm"][..], network, &command].concat();
        let out = user.ok(&args);
        assert!(out.starts_with("1\n"), "{network:?}: {out}");
        assert!(!out.contains("inet6"), "{network:?}: {out}");
    }
}

#[test]
fn issue_17_rootless_restart_policies_restart_and_stop_ends_them() {
    let t = TestEnv::new();
    let user = User::new();
    let image = t.image(BUSYBOX);
    let field = |name: &str, path: &str| {
        let format = format!("{{{{{path}}}}}");
        user.ok(&["inspect", "-f", &format, name])
            .trim()
            .to_string()
    };
    let failing = ["sh", "-c", "echo run; exit 1"];
    let args = [
        &[
            "run",
            "-d",
            "--restart",
            "on-failure:2",
            "--name",
            "f",
            &image,
        ],
        &failing[..],
    ];
    user.ok(&args.concat());
    eventually("it is given up on after 2 restarts", || {
        field("f", ".State.Status") == "exited" && field("f", ".RestartCount") == "2"
    });
    assert_eq!(user.ok(&["logs", "f"]), "run\nrun\nrun\n");
    assert_eq!(field("f", ".State.ExitCode"), "1");
    assert_eq!(field("f", ".State.Error"), "");
    // Attached: the first run's status, and a supervisor of its own restarts it.
    let args = [
        &["run", "--restart", "on-failure:1", "--name", "att", &image],
        &failing[..],
    ];
    let out = user.skiff(&args.concat());
    assert_eq!((out.status.code(), stdout(&out)), (Some(1), "run\n".into()));
    eventually("it restarted once, then stayed exited", || {
        field("att", ".State.Status") == "exited" && field("att", ".RestartCount") == "1"
    });
    assert_eq!(user.ok(&["logs", "att"]), "run\nrun\n");

    let script = "echo run; exec sleep 1000";
    let args = [
        "run",
        "-d",
        "--restart",
        "always",
        "--name",
        "a",
        &image,
        "sh",
        "-c",
        script,
    ];
    user.ok(&args);
    eventually("it ran", || user.ok(&["logs", "a"]) == "run\n");
    let first = field("a", ".State.Pid");
    kill_9(first.parse().unwrap());
    eventually("it runs again", || {
        field("a", ".RestartCount") == "1" && field("a", ".State.Status") == "running"
    });
    assert_ne!(field("a", ".State.Pid"), first);
    assert_eq!(user.ok(&["logs", "a"]), "run\nrun\n");
    user.ok(&["stop", "-t", "1", "a"]);
    assert_eq!(field("a", ".State.Status"), "exited");
    assert_eq!(user.ok(&["logs", "a"]), "run\nrun\n");

    // A restart that cannot start says why, as for root (tests/restart.rs).
    let args = [
        "run",
        "-d",
        "--restart",
        "always",
        "--name",
        "gone",
        &image,
        "rm",
        "/bin/rm",
    ];
    user.ok(&args);
    eventually("the restart failed", || {
        field("gone", ".State.Status") == "exited"
    });
    let error = "exec \"rm\": executable file not found in $PATH";
    assert_eq!(field("gone", ".State.Error"), error);
    assert_eq!(field("gone", ".State.ExitCode"), "127");
}

#[test]
fn issue_17_rootless_run_it_and_exec_it_give_a_shell_a_person_can_use() {
    let t = TestEnv::new();
    let user = User::new();
    let image = t.image(BUSYBOX);
    let script = "size 33 101 ;; expect # ;; \
                  send echo $((6*7)) $(id -u)\\r ;; expect 42 0 ;; \
                  send stty size; tty\\r ;; expect /dev/pts/0 ;; \
                  send sleep 100\\r ;; running sleep ;; send \\x03 ;; \
                  send echo alive-$((2+3))\\r ;; expect alive-5 ;; \
                  send exit 3\\r";
    let shown = user.on_terminal(script, &["run", "--rm", "-it", &image, "sh"]);
    assert_eq!(shown.status, "3", "{}", shown.output);
    assert!(shown.output.contains("33 101"), "{}", shown.output);
    assert!(shown.settings_same, "the terminal's settings changed");

    user.ok(&["run", "-d", "--name", "web", &image, "sleep", "1000"]);
    let script = "size 30 90 ;; expect # ;; \
                  send stty size; tty; cat /proc/1/comm\\r ;; expect sleep ;; \
                  send exit 4\\r";
    let shown = user.on_terminal(script, &["exec", "-it", "web", "sh"]);
    assert_eq!(shown.status, "4", "{}", shown.output);
    assert!(
        shown.output.contains("30 90") && shown.output.contains("/dev/pts/0"),
        "{}",
        shown.output
    );
    assert!(shown.settings_same, "the terminal's settings changed");
    assert_eq!(user.ok(&["exec", "web", "cat", "/proc/1/comm"]), "sleep\n");

    // Detached, its supervisor holds the terminal, and `attach` reaches it.
    user.ok(&["run", "-d", "-it", "--name", "bg", &image, "sh"]);
    let script = "send echo hi-$((20+1))\\r ;; expect hi-21 ;; send exit 5\\r";
    let shown = user.on_terminal(script, &["attach", "bg"]);
    assert_eq!(shown.status, "5", "{}", shown.output);
    assert!(user.ok(&["logs", "bg"]).contains("hi-21\r\n"));
}

/// A root filesystem as a tarball: busybox, and /www/index owned by uid and gid 33
/// (Debian's www-data), made with GNU tar in `dir`.
fn owned_tarball(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("www")).unwrap();
    fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    fs::write(root.join("www/index"), "hello\n").unwrap();
    let tarball = dir.join("owned.tar");
    for (mode, owner, what) in [("-cf", "0", "bin"), ("-rf", "33", "www")] {
        let made = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg(mode)
            .arg(&tarball)
            .args([
                &format!("--owner={owner}"),
                &format!("--group={owner}"),
                what,
            ])
            .status();
        assert!(made.unwrap().success(), "tar {what}");
    }
    tarball
}

/// The one file named `name` below `dir`'s subdirectories (`dir/*/name`).
fn one_below(dir: &Path, name: &str) -> fs::Metadata {
    let found: Vec<fs::Metadata> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| fs::symlink_metadata(e.unwrap().path().join(name)).ok())
        .collect();
    assert_eq!(found.len(), 1, "{}/*/{name}", dir.display());
    found.into_iter().next().unwrap()
}

/// With a subordinate range (issue 17), newuidmap maps it as podman does: an image's
/// uid 33 stays 33 inside, the range's 33rd ID on the host, and root inside may give a
/// file to any mapped ID.
#[test]
fn rootless_with_a_range_keeps_the_images_owners() {
    let helpers = Command::new("sh")
        .args(["-c", "command -v newuidmap newgidmap"])
        .output()
        .unwrap();
    assert!(helpers.status.success(), "uidmap is not installed: deps.sh");
    let user = User::with_range();
    let (first, count) = user.range();
    let tarball = owned_tarball(&user.home);
    user.ok(&["import", tarball.to_str().unwrap(), "owned"]);
    let script = "cat /proc/self/uid_map /proc/self/gid_map; stat -c '%u %g' /www/index; \
                  chown 44:45 /www/index && stat -c '%u %g' /www/index";
    let seen = user.ok(&["run", "--name", "c", "owned", "sh", "-c", script]);
    let map = format!("0 {uid} 1 1 {first} {count}", uid = user.uid);
    let gid_map = format!("0 {gid} 1 1 {first} {count}", gid = user.gid);
    let want = format!("{map} {gid_map} 33 33 44 45");
    assert_eq!(seen.split_whitespace().collect::<Vec<_>>().join(" "), want);
    let layer = one_below(&user.store().join("layers"), "www/index");
    assert_eq!((layer.uid(), layer.gid()), (first + 32, first + 32));
    let upper = one_below(&user.store().join("containers"), "upper/www/index");
    assert_eq!((upper.uid(), upper.gid()), (first + 43, first + 44));
    user.ok(&["rm", "c"]);
    // setgroups(2) is allowed with a range: a user's groups are the image's.
    let t = TestEnv::new();
    let users = t.image("library/users");
    let groups = user.ok(&["run", "--rm", "-u", "app", &users, "id", "-G"]);
    assert_eq!(groups, "1000 29 50\n");
}

/// The store's files are owned through the map it was made with: under another map it
/// is refused in one line that says what to do, and works again under its own; a store
/// of the user's own ID, which the user may remove, starts again with the range.
#[test]
fn rootless_store_refuses_another_map_than_its_own() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    let ranged = User::with_range();
    let range = ranged.range();
    ranged.ok(&["pull", "-q", &image]);
    ranged.grant(None);
    assert_one_line_error(&ranged.skiff(&["images"]), "remove it (as root");
    ranged.grant(Some(range));
    assert_ne!(ranged.ok(&["images", "-q"]), "");

    let own = User::new();
    own.ok(&["pull", "-q", &image]);
    own.grant(Some(range));
    assert_one_line_error(&own.skiff(&["images"]), "remove it to start again");
    let store = own.store();
    let removed = own
        .program(Path::new("rm"), &["-rf", store.to_str().unwrap()])
        .status();
    assert!(removed.unwrap().success());
    let map = own.ok(&["run", "--rm", &image, "cat", "/proc/self/uid_map"]);
    assert_eq!(map.lines().count(), 2, "{map}");
}

/// Rootless on the host's network (its default), sysfs cannot be mounted (the host's
/// user namespace owns that network): the host's /sys is bound instead, with the
/// host's network devices, read-only down to every mount below it, /sys/firmware masked.
#[test]
fn rootless_host_network_binds_the_hosts_sys_read_only() {
    let t = TestEnv::new();
    let user = User::new();
    let image = t.image(BUSYBOX);
    // Other tests' containers plug their veths into the host meanwhile: those come and go.
    let script = "ls /sys/class/net | grep -v ^veth; ls -A /sys/firmware | wc -l; \
                  awk '$5 ~ \"^/sys\" { print substr($6, 1, 3) }' /proc/self/mountinfo | sort | uniq -c; \
                  touch /sys/kernel/probe";
    let out = user.skiff(&[
        "run",
        "--rm",
        "--network",
        "host",
        &image,
        "sh",
        "-c",
        script,
    ]);
    let mut host: Vec<String> = fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with("veth"))
        .collect();
    host.sort();
    let seen = stdout(&out);
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines[..host.len()], host, "{seen}");
    assert_eq!(lines[host.len()].trim(), "0", "/sys/firmware is masked");
    let modes: Vec<&str> = lines[host.len() + 1..].iter().map(|l| l.trim()).collect();
    assert!(
        modes.len() == 1 && modes[0].ends_with(" ro,") && !modes[0].starts_with("1 "),
        "every mount below /sys read-only, and there are several: {modes:?}"
    );
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
}
