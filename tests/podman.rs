//! Podman with skiff as its OCI runtime (`podman --runtime …/skiff-runtime`): the real
//! podman and conmon, with storage, state and cgroup parent of the test's own, and the
//! harness's busybox pulled from its plain registry. Podman writes the config.json
//! (seccomp profile, device cgroup list, cgroupsPath, its network namespace by path)
//! and conmon calls `create`, `start`, `state`, `kill` and `delete`.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::terminal::play;
use crate::testenv::{eventually, skiff_bin, stderr, stdout, TestEnv, BUSYBOX};

/// podman's settings on this machine (see the README): rlimits it may set, cgroups
/// by cgroupfs, events in a file under its own tmpdir.
const CONTAINERS_CONF: &str = r#"[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
"#;

/// One test's podman: everything it keeps is under `dir`, its containers' cgroups
/// under `/PARENT` in each tree, and it runs skiff as `skiff-runtime`.
struct Podman {
    dir: PathBuf,
    parent: String,
    image: String,
}

impl Podman {
    fn new(t: &TestEnv) -> Podman {
        let dir = t.root.join("podman");
        fs::create_dir_all(dir.join("net")).unwrap();
        fs::write(dir.join("containers.conf"), CONTAINERS_CONF).unwrap();
        symlink(skiff_bin(), dir.join("skiff-runtime")).unwrap();
        let name = t.root.file_name().unwrap().to_string_lossy();
        let podman = Podman {
            parent: format!("/{name}-podman"),
            image: t.image(BUSYBOX),
            dir,
        };
        let pulled = podman.podman(&["pull", "-q", "--tls-verify=false", &podman.image]);
        assert_eq!(pulled.status.code(), Some(0), "{}", stderr(&pulled));
        podman
    }

    /// `podman ARGS…` with this test's storage and skiff as the runtime.
    fn command(&self, args: &[&str]) -> Command {
        let at = |name: &str| self.dir.join(name).display().to_string();
        let mut cmd = Command::new("podman");
        cmd.env("CONTAINERS_CONF", at("containers.conf"))
            .args(["--root", &at("root"), "--runroot", &at("runroot")])
            .args(["--tmpdir", &at("libpod"), "--storage-driver", "vfs"])
            .args(["--network-config-dir", &at("net")])
            .args(["--runtime", &at("skiff-runtime")])
            .args(args);
        cmd
    }

    fn podman(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// `podman run --rm` of busybox without a network (unless `flags` ask for one),
    /// in this test's cgroup parent.
    fn run(&self, flags: &[&str], command: &[&str]) -> Output {
        let mut args = vec!["run", "--rm", "--cgroup-parent", &self.parent];
        if !flags.iter().any(|f| f.starts_with("--network")) {
            args.push("--network=none");
        }
        args.extend(flags);
        args.push(&self.image);
        args.extend(command);
        self.podman(&args)
    }

    /// The same, which must succeed: its output.
    fn ok(&self, flags: &[&str], command: &[&str]) -> String {
        let out = self.run(flags, command);
        assert_eq!(out.status.code(), Some(0), "{command:?}: {}", stderr(&out));
        stdout(&out)
    }

    /// The cgroup parent's directory in each tree where it exists.
    fn parents(&self) -> Vec<PathBuf> {
        let trees = fs::read_dir("/sys/fs/cgroup").unwrap().flatten();
        let parent = self.parent.trim_start_matches('/');
        trees
            .map(|tree| tree.path().join(parent))
            .filter(|dir| dir.is_dir())
            .collect()
    }
}

impl Drop for Podman {
    /// No container of its left, then its cgroup parent (podman's conmon/ in it) goes:
    /// skiff's `delete` must have removed each container's own.
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "-af", "-t", "0"]);
        let mut left = Vec::new();
        for dir in self.parents() {
            // Its conmon may still be exiting when podman returns.
            let conmon = dir.join("conmon");
            let gone = || !conmon.exists() || fs::remove_dir(&conmon).is_ok();
            match std::thread::panicking() {
                false => eventually("podman's conmon has left its cgroup", gone),
                true => drop(gone()),
            }
            if fs::remove_dir(&dir).is_err() {
                left.push(dir);
            }
        }
        if !std::thread::panicking() {
            assert!(left.is_empty(), "cgroups left in {left:?}");
        }
    }
}

#[test]
fn podman_runs_a_container_with_skiff() {
    let t = TestEnv::new();
    let podman = Podman::new(&t);
    assert_eq!(podman.ok(&[], &["echo", "hi"]), "hi\n");
    // Podman's seccomp profile, not Docker's: it allows keyctl(2), which Docker's
    // refuses; it answers add_key(2), which it does not name, with its default,
    // ENOSYS, where Docker's says EPERM; swapon(2) it names, with EPERM.
    let probe = "for call in '250 0 0xfffffffd' 248 167; do docker-explorer syscall $call; done; grep Seccomp: /proc/self/status";
    assert_eq!(
        podman.ok(&[], &["sh", "-c", probe]),
        "ok\nFunction not implemented\nOperation not permitted\nSeccomp:\t2\n"
    );
}

#[test]
fn podman_reports_the_containers_exit_codes() {
    let t = TestEnv::new();
    let podman = Podman::new(&t);
    assert_eq!(
        podman.run(&[], &["sh", "-c", "exit 3"]).status.code(),
        Some(3)
    );
    let missing = podman.run(&[], &["no-such-command"]);
    assert_eq!(missing.status.code(), Some(127), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("no-such-command"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn podman_detaches_lists_stops_and_removes() {
    let t = TestEnv::new();
    let podman = Podman::new(&t);
    let parent = podman.parent.clone();
    let image = podman.image.clone();
    let flags = ["run", "-d", "--network=none", "--cgroup-parent", &parent];
    let out = podman.podman(&[&flags[..], &[&image, "sleep", "60"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = stdout(&out).trim().to_string();
    let listed = podman.podman(&["ps", "-q", "--no-trunc"]);
    assert_eq!(stdout(&listed).trim(), id);
    // Its cgroup is podman's cgroupsPath, in each tree.
    let own = podman.parents()[0].join(format!("libpod-{id}"));
    assert!(own.is_dir(), "{own:?}");
    let stopped = podman.podman(&["stop", "-t", "1", &id]);
    assert_eq!(stopped.status.code(), Some(0), "{}", stderr(&stopped));
    let listed = podman.podman(&["ps", "-aq", "--no-trunc", "--filter", "status=exited"]);
    assert_eq!(stdout(&listed).trim(), id);
    let removed = podman.podman(&["rm", &id]);
    assert_eq!(removed.status.code(), Some(0), "{}", stderr(&removed));
    assert!(!own.exists(), "{own:?} outlived its container");
}

#[test]
fn podman_memory_limit_and_devices_reach_the_cgroup() {
    let t = TestEnv::new();
    let podman = Podman::new(&t);
    let script = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; true";
    let limit = podman.ok(&["--memory", "64m"], &["sh", "-c", script]);
    assert_eq!(limit.trim(), "67108864");
    // --device: the node, and podman's device list (deny all, then allow it), before
    // the default nodes. Only v1 lists the rules in a file.
    let script =
        "ls -l /dev/fuse | cut -c1; cat /sys/fs/cgroup/devices/devices.list 2>/dev/null | head -1";
    let out = podman.ok(&["--device", "/dev/fuse"], &["sh", "-c", script]);
    let v1 = Path::new("/sys/fs/cgroup/devices").is_dir();
    assert_eq!(out, if v1 { "c\nc 10:229 rwm\n" } else { "c\n" });
}

/// podman's cpu flags reach the cgroup as given (`linux.resources.cpu`: the period is
/// the flag's, not Docker's 100 ms), and on v1 its memory swappiness and OOM killer.
#[test]
fn podman_cpu_period_cpusets_and_swappiness_reach_the_cgroup() {
    let t = TestEnv::new();
    let podman = Podman::new(&t);
    let cpu = [
        "--cpu-period",
        "500000",
        "--cpu-quota",
        "50000",
        "--cpuset-cpus",
        "0",
    ];
    let mut flags = cpu.to_vec();
    flags.extend(["--cpuset-mems", "0"]);
    let v1 = Path::new("/sys/fs/cgroup/cpu").is_dir();
    let script = match v1 {
        true => {
            flags.extend(["--memory-swappiness", "10", "--oom-kill-disable"]);
            "cd /sys/fs/cgroup; cat cpu/cpu.cfs_period_us cpu/cpu.cfs_quota_us cpuset/cpuset.cpus cpuset/cpuset.mems memory/memory.swappiness; head -1 memory/memory.oom_control"
        }
        false => "cd /sys/fs/cgroup; cat cpu.max cpuset.cpus cpuset.mems",
    };
    let out = podman.ok(&flags, &["sh", "-c", script]);
    let want = match v1 {
        true => "500000\n50000\n0\n0\n10\noom_kill_disable 1\n",
        false => "50000 500000\n0\n0\n",
    };
    assert_eq!(out, want);
}

#[test]
fn podman_network_namespace_is_joined_by_its_path() {
    let t = TestEnv::new();
    let podman = Podman::new(&t);
    let name = format!("{}-net", t.root.file_name().unwrap().to_string_lossy());
    let made = podman.podman(&["network", "create", "--subnet", "172.31.213.0/24", &name]);
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    let bridge = podman.podman(&[
        "network",
        "inspect",
        "--format",
        "{{.NetworkInterface}}",
        &name,
    ]);
    let bridge = stdout(&bridge).trim().to_string();
    let chains_were_there = iptables(&["-S", "CNI-FORWARD"]);
    let network = format!("--network={name}");
    let out = podman.run(&[&network], &["sh", "-c", "ip -4 addr show eth0"]);
    // What CNI's plugins leave once the network is gone: its bridge, its leases'
    // directory, and the firewall plugin's chains (if this test made them).
    let _ = podman.podman(&["network", "rm", "-f", &name]);
    let delete = format!("ip link del {bridge}");
    let _ = Command::new("sh").args(["-c", &delete]).output();
    let _ = fs::remove_dir_all(format!("/var/lib/cni/networks/{name}"));
    if !chains_were_there {
        let jump = [
            "FORWARD",
            "-m",
            "comment",
            "--comment",
            "CNI firewall plugin rules",
        ];
        iptables(&[&["-D"], &jump[..], &["-j", "CNI-FORWARD"]].concat());
        for chain in ["CNI-FORWARD", "CNI-ADMIN"] {
            iptables(&["-F", chain]);
            iptables(&["-X", chain]);
        }
    }
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("inet 172.31.213."),
        "{}",
        stdout(&out)
    );
}

/// `iptables ARGS…` (in the filter table): whether it succeeded.
fn iptables(args: &[&str]) -> bool {
    let out = Command::new("iptables").args(args).output().unwrap();
    out.status.success()
}

#[test]
fn podman_read_only_and_tmpfs_mounts_keep_their_options() {
    let t = TestEnv::new();
    let podman = Podman::new(&t);
    // --read-only: podman's binds are `ro,nosuid,noexec,nodev`, its tmpfs on /tmp
    // `tmpcopyup`; --tmpfs over /bin starts with the image's /bin.
    let script = "grep -E ' /etc/hosts | /bin ' /proc/self/mounts | cut -d' ' -f2,4; ls /bin/busybox; touch /x";
    let out = podman.run(
        &["--read-only", "--tmpfs", "/bin:ro,exec"],
        &["sh", "-c", script],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let mounts = stdout(&out);
    assert!(
        mounts.contains("/etc/hosts ro,nosuid,nodev,noexec,"),
        "{mounts}"
    );
    assert!(mounts.contains("/bin ro,nosuid,nodev,"), "{mounts}");
    assert!(mounts.ends_with("/bin/busybox\n"), "{mounts}");
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
}

/// `podman run -it` on a pseudo-terminal: conmon takes the terminal skiff makes in the
/// container over its console socket, and a person types into the shell, sees its
/// size, interrupts a program (the container is no descendant of podman's: it says
/// when it runs) and reads the shell's exit status.
#[test]
fn podman_run_it_gives_a_shell_on_a_terminal() {
    let t = TestEnv::new();
    let podman = Podman::new(&t);
    let script = "size 33 101 ;; expect # ;; \
                  send echo $((6*7))\\r ;; expect 42 ;; \
                  send stty size\\r ;; expect 33 101 ;; \
                  send sh -c 'echo st$((1+1)); exec sleep 100'\\r ;; expect st2 ;; \
                  send \\x03 ;; \
                  send echo alive-$((2+3))\\r ;; expect alive-5 ;; \
                  send exit 3\\r";
    let args = ["run", "--rm", "-it", "--network=none", "--cgroup-parent"];
    let mut args = args.to_vec();
    args.extend([podman.parent.as_str(), &podman.image, "sh"]);
    let shown = play(&podman.command(&args), script);
    assert_eq!(shown.status, "3", "{}", shown.output);
}

/// `podman exec` into a running container, with and without a terminal: conmon runs
/// skiff's `exec`, which joins the container's namespaces and cgroup.
#[test]
fn podman_exec_joins_a_running_container() {
    let t = TestEnv::new();
    let podman = Podman::new(&t);
    let args = [
        "run",
        "-d",
        "--name",
        "ex",
        "--network=none",
        "--cgroup-parent",
    ];
    let mut args = args.to_vec();
    args.extend([podman.parent.as_str(), &podman.image, "sleep", "1000"]);
    let out = podman.podman(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let exec = |flags: &[&str], command: &[&str]| {
        let mut args = vec!["exec"];
        args.extend(flags);
        args.push("ex");
        args.extend(command);
        podman.podman(&args)
    };
    let out = exec(
        &["-e", "FOO=bar"],
        &["sh", "-c", "echo $FOO; cat /proc/1/cmdline"],
    );
    assert_eq!(stdout(&out), "bar\nsleep\x001000\x00", "{}", stderr(&out));
    assert_eq!(exec(&[], &["sh", "-c", "exit 4"]).status.code(), Some(4));
    let script = "size 30 90 ;; expect # ;; send tty; stty size\\r ;; expect 30 90 ;; \
                  send exit 5\\r";
    let shown = play(&podman.command(&["exec", "-it", "ex", "sh"]), script);
    assert_eq!(shown.status, "5", "{}", shown.output);
    let out = podman.podman(&["rm", "-f", "-t", "0", "ex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
