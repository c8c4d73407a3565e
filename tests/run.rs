//! `skiff run`: the semantics the CodeCrafters tester checks, and Docker's around them.

use std::fs;
use std::io::Write;
use std::process::Stdio;

use crate::testenv::{assert_one_line_error, next_line, stderr, stdout, TestEnv};

const EXPLORER: &str = "/usr/local/bin/docker-explorer";

#[test]
fn stdout_passes_through_byte_for_byte() {
    let t = TestEnv::new();
    let out = t.skiff(&[
        "run",
        &t.image("library/busybox"),
        EXPLORER,
        "echo",
        "hey there",
    ]);
    assert_eq!(stdout(&out), "hey there\n");
    assert_eq!(
        stderr(&out),
        "",
        "no pull chatter when stderr is not a terminal"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn stderr_passes_through_byte_for_byte() {
    let t = TestEnv::new();
    let out = t.skiff(&[
        "run",
        &t.image("library/busybox"),
        EXPLORER,
        "echo_stderr",
        "oops",
    ]);
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "oops\n");
}

#[test]
fn exit_status_passes_through() {
    let t = TestEnv::new();
    for code in ["0", "1", "7", "255"] {
        let out = t.skiff(&["run", &t.image("library/busybox"), EXPLORER, "exit", code]);
        assert_eq!(out.status.code(), Some(code.parse().unwrap()));
    }
}

#[test]
fn death_by_signal_exits_128_plus_the_signal() {
    // PID 1 of a namespace ignores signals it has no handler for when they come from
    // inside (so `kill -9 $$` does nothing); from the host, SIGKILL always lands.
    let t = TestEnv::new();
    let mut skiff = spawn_until_ready(&t, "echo ready; while :; do sleep 1; done");
    let children = format!("/proc/{0}/task/{0}/children", skiff.id());
    let init = fs::read_to_string(children).unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", init.trim()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(skiff.wait().unwrap().code(), Some(137));
}

#[test]
fn stdin_reaches_the_container_only_with_i() {
    // Docker's behaviour: without -i the container's stdin is at end of file at once.
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    for (flags, expected) in [(&[][..], ""), (&["-i"][..], "typed\n")] {
        let args = [&["run", "--rm"][..], flags, &[&image, "cat"]].concat();
        let mut skiff = t
            .command(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = skiff.stdin.take().unwrap();
        let _ = stdin.write_all(b"typed\n"); // without -i, skiff may be gone already
        drop(stdin);
        let out = skiff.wait_with_output().unwrap();
        assert_eq!(stdout(&out), expected, "{flags:?}");
        assert_eq!(out.status.code(), Some(0));
    }
}

#[test]
fn an_attached_containers_output_is_also_in_its_log() {
    // As with Docker, `logs` works for every container, not only detached ones.
    let t = TestEnv::new();
    let script = "echo out; echo err >&2; printf last";
    let image = t.image("library/busybox");
    let out = t.skiff(&["run", "--name", "fg", &image, "sh", "-c", script]);
    assert_eq!(stdout(&out), "out\nlast");
    assert_eq!(stderr(&out), "err\n");
    let logs = t.skiff(&["logs", "fg"]);
    assert_eq!(stdout(&logs), "out\nlast");
    assert_eq!(stderr(&logs), "err\n");
}

#[test]
fn a_reader_that_goes_away_ends_the_container_by_sigpipe() {
    // The output passes through skiff's pipes now; when `head` closes its end, skiff
    // closes the container's pipe, so `yes` dies of SIGPIPE as it would writing to `head`.
    let t = TestEnv::new();
    let skiff = t.command(&["run", "--rm", &t.image("library/busybox"), "yes"]);
    let mut pipeline = std::process::Command::new("sh")
        .args(["-c", "\"$@\" | head -n 2", "sh"])
        .arg(skiff.get_program())
        .args(skiff.get_args())
        .envs(skiff.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(pipeline.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert_eq!(out, "y\ny\n");
    assert!(pipeline.wait().unwrap().success());
}

#[test]
fn the_command_gets_every_signal_whatever_skiff_inherited() {
    // Ignored signals and the blocked mask survive fork(2) and execve(2). Rust's runtime
    // ignores SIGPIPE in skiff (`yes | head -1` would leave `yes` writing into a closed
    // pipe), and skiff may be started by a shell that ignores SIGHUP (nohup) or SIGINT
    // (a job started with `&`), or with signals blocked: the container must have none of it.
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let inherit = "import os, signal, sys\n\
                   for s in (signal.SIGHUP, signal.SIGINT): signal.signal(s, signal.SIG_IGN)\n\
                   signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM})\n\
                   os.execv(sys.argv[1], sys.argv[1:])";
    for flags in [&[][..], &["--init"][..]] {
        let args = [
            &["run", "--rm"][..],
            flags,
            &[&image, "grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"],
        ]
        .concat();
        let skiff = t.command(&args);
        let mut wrapped = std::process::Command::new("python3");
        wrapped.args(["-c", inherit]).arg(skiff.get_program());
        wrapped.args(skiff.get_args()).stdin(Stdio::null());
        for (key, value) in skiff.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        let out = wrapped.output().unwrap();
        assert_eq!(
            stdout(&out),
            "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n",
            "{flags:?}: {}",
            stderr(&out)
        );
    }
}

/// Starts `sh -c SCRIPT` in busybox and waits until it prints its first line, "ready".
fn spawn_until_ready(t: &TestEnv, script: &str) -> std::process::Child {
    let mut child = t
        .command(&["run", &t.image("library/busybox"), "sh", "-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(next_line(&mut child), "ready\n");
    child
}

#[test]
fn the_command_is_pid_1() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", &t.image("library/busybox"), EXPLORER, "mypid"]);
    assert_eq!(stdout(&out), "1\n");
}

#[test]
fn the_host_filesystem_is_invisible() {
    let t = TestEnv::new();
    let secret = t.root.join("host-only");
    fs::create_dir_all(&secret).unwrap();
    let out = t.skiff(&["run", &t.image("library/busybox"), EXPLORER, "ls"]);
    assert_ne!(out.status.code(), Some(0), "ls without a path must fail");
    let path = secret.to_str().unwrap();
    let out = t.skiff(&["run", &t.image("library/busybox"), EXPLORER, "ls", path]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("No such file or directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn root_listing_is_exactly_the_images() {
    let t = TestEnv::new();
    let out = t.skiff(&[
        "run",
        &t.image("library/alpine"),
        "/bin/sh",
        "-c",
        "/bin/ls /",
    ]);
    let want = "bin dev etc home lib media mnt opt proc root run sbin srv sys tmp usr var";
    assert_eq!(
        stdout(&out)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        want
    );
    assert_eq!(stderr(&out), "");
}

#[test]
fn proc_shows_only_the_containers_processes() {
    let t = TestEnv::new();
    let script = "ls /proc | grep '^[0-9]' | sort -n | tail -n 1";
    let out = t.skiff(&["run", &t.image("library/busybox"), "sh", "-c", script]);
    let highest: u32 = stdout(&out).trim().parse().unwrap();
    assert!(
        highest < 10,
        "a fresh PID namespace has only small pids, saw {highest}"
    );
}

#[test]
fn dev_holds_the_minimal_devices() {
    let t = TestEnv::new();
    let script = "echo gone > /dev/null && head -c 4 /dev/zero | wc -c && ls /dev | tr '\\n' ' '";
    let out = t.skiff(&["run", &t.image("library/busybox"), "sh", "-c", script]);
    assert_eq!(
        stdout(&out),
        "4\nfd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero ",
        "{}",
        stderr(&out)
    );
}

#[test]
fn only_stdin_stdout_and_stderr_reach_the_container() {
    // The harness holds its lock on fd 9 and the test runner has more open: none of
    // them may leak into the container (CVE-2024-21626). `ls` itself opens fd 3.
    let t = TestEnv::new();
    let out = t.skiff(&["run", &t.image("library/busybox"), "ls", "/proc/self/fd"]);
    assert_eq!(stdout(&out), "0\n1\n2\n3\n", "{}", stderr(&out));
}

#[test]
fn a_container_cannot_reach_host_devices_or_mount() {
    // CAP_MKNOD makes the node, as with Docker; every writable mount is nodev, so
    // opening it (the host's kernel log) fails.
    let t = TestEnv::new();
    let script = "mknod /tmp/k c 1 11 && echo made; head -c 1 /tmp/k 2>/dev/null && echo opened || echo no-open; \
                  mount -t tmpfs none /tmp 2>/dev/null && echo mounted || echo no-mount";
    let out = t.skiff(&["run", &t.image("library/busybox"), "sh", "-c", script]);
    assert_eq!(
        stdout(&out),
        "made\nno-open\nno-mount\n",
        "{}",
        stderr(&out)
    );
}

#[test]
fn hostname_is_the_short_id_or_the_flag() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", &t.image("library/busybox"), "hostname"]);
    let name = stdout(&out);
    assert_eq!(name.trim().len(), 12, "{name:?}");
    assert!(name.trim().bytes().all(|b| b.is_ascii_hexdigit()));
    let out = t.skiff(&[
        "run",
        "--hostname",
        "boat",
        &t.image("library/busybox"),
        "hostname",
    ]);
    assert_eq!(stdout(&out), "boat\n");
}

#[test]
fn command_not_found_exits_127() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", &t.image("library/busybox"), "no-such-command"]);
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        stderr(&out),
        format!(
            "skiff: run {}: exec \"no-such-command\": executable file not found in $PATH\n",
            t.image("library/busybox")
        )
    );
}

#[test]
fn missing_path_exits_127() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", &t.image("library/busybox"), "/no/such/file"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
}

#[test]
fn not_executable_exits_126() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", &t.image("library/busybox"), "/etc/passwd"]);
    assert_eq!(out.status.code(), Some(126));
    assert!(stderr(&out).ends_with("exec \"/etc/passwd\": permission denied\n"));
}

#[test]
fn options_after_the_image_belong_to_the_command() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let out = t.skiff(&[
        "run",
        &image,
        "sh",
        "-c",
        "echo \"$@\"",
        "sh",
        "-la",
        "--rm",
        "--",
    ]);
    assert_eq!(stdout(&out), "-la --rm --\n");
}

#[test]
fn image_config_gives_entrypoint_cmd_env_and_workdir() {
    let t = TestEnv::new();
    let image = t.image("library/entry");
    assert_eq!(stdout(&t.skiff(&["run", &image])), "from-cmd\n");
    assert_eq!(stdout(&t.skiff(&["run", &image, "cwd"])), "/srv/app\n");
    assert_eq!(
        stdout(&t.skiff(&["run", &image, "env", "GREETING"])),
        "hello from config\n"
    );
    assert_eq!(stdout(&t.skiff(&["run", &image, "env", "HOME"])), "/root\n");
}

#[test]
fn flags_override_the_image_config() {
    let t = TestEnv::new();
    let image = t.image("library/entry");
    let out = t.skiff(&[
        "run",
        "-e",
        "GREETING=hi",
        "-w",
        "/tmp",
        &image,
        "env",
        "GREETING",
    ]);
    assert_eq!(stdout(&out), "hi\n");
    let out = t.skiff(&["run", "--workdir=/tmp", &image, "cwd"]);
    assert_eq!(stdout(&out), "/tmp\n");
    let out = t
        .command(&["run", "-e", "FROM_HOST", &image, "env", "FROM_HOST"])
        .env("FROM_HOST", "passed")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "passed\n");
    let out = t.skiff(&["run", "--entrypoint", "/bin/echo", &image, "replaced"]);
    assert_eq!(stdout(&out), "replaced\n");
}

#[test]
fn layers_apply_whiteouts_and_opaque_dirs() {
    let t = TestEnv::new();
    let script =
        "ls /etc/removed-by-upper 2>&1; ls /etc/opaque; cat /etc/layer2; readlink /var/run";
    let out = t.skiff(&["run", &t.image("library/busybox"), "sh", "-c", script]);
    assert_eq!(
        stdout(&out),
        "ls: /etc/removed-by-upper: No such file or directory\nnew\nlayer2\n/run\n"
    );
}

#[test]
fn containers_share_layers_but_not_writes() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let write = "echo changed > /etc/layer2 && rm /bin/busybox.link 2>/dev/null; touch /mine && cat /etc/layer2";
    let out = t.skiff(&["run", &image, "sh", "-c", write]);
    assert_eq!(stdout(&out), "changed\n", "{}", stderr(&out));
    let out = t.skiff(&["run", &image, "sh", "-c", "cat /etc/layer2; ls /mine 2>&1"]);
    assert_eq!(
        stdout(&out),
        "layer2\nls: /mine: No such file or directory\n"
    );
    let unpacked: Vec<_> = fs::read_dir(t.root.join("layers"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(
        unpacked.len(),
        2,
        "each of busybox's layers is unpacked once"
    );
    let in_store = unpacked
        .iter()
        .map(|d| d.path().join("etc/layer2"))
        .find(|p| p.exists())
        .unwrap();
    assert_eq!(fs::read_to_string(in_store).unwrap(), "layer2\n");
}

/// Issue 15: an `--rm` container's writable layer is mounted `volatile`, as podman
/// mounts it: deleted with the container, it need not be synced when its mounts are
/// taken down. One that stays keeps overlayfs's sync, and starts again (a volatile
/// upper could not be mounted twice). A kernel before 5.10 has no `volatile`: there
/// the `--rm` container starts all the same, synced.
#[test]
fn only_an_rm_containers_writable_layer_is_volatile() {
    let t = TestEnv::new();
    let image = t.image(crate::testenv::BUSYBOX);
    let count = "grep -c volatile /proc/self/mountinfo || true";
    let out = t.skiff(&["run", "--rm", &image, "sh", "-c", count]);
    let volatile = if kernel_at_least(5, 10) { "1\n" } else { "0\n" };
    assert_eq!(stdout(&out), volatile, "{}", stderr(&out));
    let out = t.skiff(&["run", "--name", "kept", &image, "sh", "-c", count]);
    assert_eq!(stdout(&out), "0\n", "{}", stderr(&out));
    let out = t.skiff(&["start", "-a", "kept"]);
    assert_eq!(stdout(&out), "0\n", "{}", stderr(&out));
}

/// The container's root is an overlayfs of the image's layers, `nodev`, named as
/// Docker's is in /proc/mounts. From Linux 6.8 (`lowerdir+`) skiff stacks it itself
/// while PID 1 makes its network namespace, and PID 1 moves it into place; the trace
/// says so.
#[test]
fn the_root_is_an_overlayfs_stacked_beside_pid_1() {
    let t = TestEnv::new();
    let image = t.image(crate::testenv::BUSYBOX);
    let out = t.skiff(&[
        "run",
        "--rm",
        "--trace",
        &image,
        "grep",
        "^overlay / ",
        "/proc/mounts",
    ]);
    let mounts = stdout(&out);
    assert!(
        mounts.starts_with("overlay / overlay rw,nodev,"),
        "{mounts}"
    );
    let moved = stderr(&out).contains("attach the overlayfs skiff stacked meanwhile");
    assert_eq!(moved, kernel_at_least(6, 8), "{}", stderr(&out));
}

/// Whether the running kernel is `major.minor` or later (uname(2)'s release, as
/// /proc/sys/kernel/osrelease gives it).
pub fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0)) >= (major, minor)
}

#[test]
fn what_cp_puts_in_a_created_rm_container_is_there_when_it_starts() {
    // `cp` mounts the container's upper dir apart: were that mount `volatile`, overlayfs
    // would refuse the upper dir at the start, which would then run on a copy of the
    // image without the file.
    let t = TestEnv::new();
    let image = t.image(crate::testenv::BUSYBOX);
    let file = t.root.join("app.conf");
    std::fs::write(&file, "copied in\n").unwrap();
    let cat = [
        "create",
        "--rm",
        "--name",
        "rm-cp",
        &image,
        "cat",
        "/etc/app.conf",
    ];
    let out = t.skiff(&cat);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = t.skiff(&["cp", &file.display().to_string(), "rm-cp:/etc/app.conf"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = t.skiff(&["start", "-a", "rm-cp"]);
    assert_eq!(stdout(&out), "copied in\n", "{}", stderr(&out));
}

#[test]
fn trace_narrates_each_kernel_step() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", "--trace", &t.image("library/busybox"), "true"]);
    let trace = stderr(&out);
    // Its PID 1 is cloned into a new PID namespace (into its cgroup too, on v2).
    let pid_1 = [
        "clone(CLONE_NEWPID)",
        "clone3(CLONE_NEWPID|CLONE_INTO_CGROUP",
    ];
    assert!(pid_1.iter().any(|call| trace.contains(call)), "{trace}");
    // The layers stacked by skiff beside PID 1 and moved into place (Linux 6.8), or by PID 1.
    let overlay = ["move_mount(", "mount(overlay, "];
    assert!(overlay.iter().any(|call| trace.contains(call)), "{trace}");
    for call in [
        "unshare(CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC)",
        "close_range(3, ~0, CLOSE_RANGE_CLOEXEC)",
        "pivot_root(., .)",
        "umount2(., MNT_DETACH)",
        "execve(/bin/true",
    ] {
        assert!(trace.contains(call), "no {call} in trace:\n{trace}");
    }
    let out = t
        .command(&["run", &t.image("library/busybox"), "true"])
        .env("SKIFF_TRACE", "1")
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("pivot_root"),
        "SKIFF_TRACE=1 traces too"
    );
}

/// Issue 15: the trace counts microseconds from one origin for every process of a
/// start, the re-executed sealed copy included (it does not start again from 0), and a
/// caller that sets SKIFF_TRACE_T0 itself (the bench) sets that origin.
#[test]
fn trace_counts_microseconds_from_one_origin() {
    let t = TestEnv::new();
    let at = |trace: &str, what: &str| -> u64 {
        let line = trace.lines().find(|l| l.contains(what));
        let line = line.unwrap_or_else(|| panic!("no {what} in trace:\n{trace}"));
        let number = line.trim_start_matches("skiff:").split_whitespace().next();
        number.and_then(|n| n.parse().ok()).expect(line)
    };
    let run = [
        "run",
        "--rm",
        "--trace",
        &t.image("library/busybox"),
        "true",
    ];
    let trace = stderr(&t.skiff(&run));
    assert!(
        at(&trace, "runs from a read-only copy") >= at(&trace, "execveat("),
        "the sealed copy counts on from its parent's origin:\n{trace}"
    );
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    let five_seconds_ago = now.unwrap().as_micros() - 5_000_000;
    let out = t
        .command(&run)
        .env("SKIFF_TRACE_T0", five_seconds_ago.to_string())
        .output()
        .unwrap();
    let trace = stderr(&out);
    let first = at(&trace, "re-execute skiff");
    assert!(
        (5_000_000..65_000_000).contains(&first),
        "microseconds since the caller's origin, 5 s ago:\n{trace}"
    );
}

#[test]
fn signals_are_forwarded_to_the_container() {
    let t = TestEnv::new();
    for (signal, code) in [("TERM", "42"), ("USR1", "43"), ("INT", "44")] {
        let script =
            format!("trap 'exit {code}' TERM USR1 INT; echo ready; while :; do sleep 1; done");
        let mut child = spawn_until_ready(&t, &script);
        let status = send_and_wait(&mut child, signal);
        assert_eq!(status, Some(code.parse().unwrap()), "signal {signal}");
    }
}

fn send_and_wait(child: &mut std::process::Child, signal: &str) -> Option<i32> {
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid])
        .status()
        .unwrap();
    assert!(sent.success());
    child.wait().unwrap().code()
}

#[test]
fn an_abandoned_scratch_dir_is_swept_by_the_next_run() {
    let t = TestEnv::new();
    let abandoned = t.root.join("tmp/run-999999999-0123456789ab/rootfs");
    fs::create_dir_all(&abandoned).unwrap();
    let out = t.skiff(&["run", &t.image("library/busybox"), "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!abandoned.exists());
}

#[test]
fn a_run_leaves_no_scratch_dir_even_when_it_fails() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", &t.image("library/busybox"), "no-such-command"]);
    assert_eq!(out.status.code(), Some(127));
    let out = t.skiff(&["run", &t.image("library/no-such-image"), "true"]);
    assert_one_line_error(&out, "pull");
    // TestEnv's teardown fails the test on any scratch dir or mount left behind.
}

/// Issue 15: the mount points the image lacks (the fixture has no /proc, /sys, /dev
/// nor /etc/hosts, …) come from the store's one layer of them, stacked below the image,
/// so a command that writes nothing leaves the container's writable layer empty; that
/// layer, damaged on the host, is set right at the next start; and with `--userns=auto`
/// it is mapped as the image is (/etc's mount points are its root's).
#[test]
fn issue_15_mount_points_come_from_one_layer_below_the_image() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let t = TestEnv::new();
    let image = t.image(crate::testenv::BUSYBOX);
    assert_eq!(
        t.skiff(&["run", "--name", "quiet", &image, "true"])
            .status
            .code(),
        Some(0)
    );
    let id = crate::testenv::inspect_field(&t, "quiet", "Id");
    let upper = t.root.join("containers").join(&id).join("upper");
    let written: Vec<_> = fs::read_dir(&upper)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(written.is_empty(), "the writable layer holds {written:?}");
    let own = t.root.join("containers").join(&id).join("rootfs");
    assert!(
        !own.exists(),
        "overlayfs is mounted on the store's mount point"
    );

    let base = t.root.join("init");
    fs::write(base.join("etc/planted"), "from the host").unwrap();
    fs::write(base.join("etc/hostname"), "stale").unwrap();
    fs::set_permissions(base.join("proc"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::remove_dir(base.join("sys")).unwrap();
    fs::write(base.join("sys"), "a file").unwrap();
    let script = "ls /etc; mount | grep -c ' /sys '";
    let out = t.skiff(&["run", "--rm", &image, "sh", "-c", script]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).contains("planted"), "{}", stdout(&out));
    assert!(
        stdout(&out).ends_with("\n1\n"),
        "/sys is mounted: {}",
        stdout(&out)
    );
    assert_eq!(fs::read_dir(base.join("etc")).unwrap().count(), 3);
    assert_eq!(fs::metadata(base.join("etc/hostname")).unwrap().len(), 0);
    assert_eq!(
        fs::metadata(base.join("proc")).unwrap().mode() & 0o777,
        0o755
    );
    assert!(fs::metadata(base.join("sys")).unwrap().is_dir());

    // A root without /etc: the container sees the layer's, its own root's through the
    // idmapped mount (unmapped, the host's root would read as 65534).
    let bare = t.root.join("bare");
    fs::create_dir_all(bare.join("bin")).unwrap();
    fs::copy("/bin/busybox", bare.join("bin/stat")).unwrap();
    let bare = bare.to_str().unwrap();
    let args = [
        "--userns=auto",
        "--rootfs",
        bare,
        "stat",
        "-c",
        "%u %a",
        "/etc",
    ];
    let out = t.skiff(&[&["run", "--rm", "--network", "none"][..], &args].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "0 755\n");
    assert_eq!(t.skiff(&["rm", "quiet"]).status.code(), Some(0));
}
