//! `skiff exec`: one more process in a running container, with its namespaces, cgroup,
//! capabilities, user, environment and working directory, and Docker's exit codes.

use std::io::Write;
use std::process::{Output, Stdio};

use crate::hardening::binary_digest;
use crate::lifecycle::await_line;
use crate::terminal::on_terminal;
use crate::testenv::{next_line, ok, sleeper, stderr, stdout, TestEnv};

fn exec(t: &TestEnv, args: &[&str]) -> Output {
    t.skiff(&[&["exec"][..], args].concat())
}

/// `exec ARGS…`, which must succeed: its stdout.
fn exec_ok(t: &TestEnv, args: &[&str]) -> String {
    let out = exec(t, args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn exec_runs_beside_pid_1_with_the_commands_exit_status() {
    let t = TestEnv::new();
    sleeper(&t, "web", &[], "library/busybox");
    assert_eq!(exec_ok(&t, &["web", "echo", "hello"]), "hello\n");
    let ps = exec_ok(&t, &["web", "ps", "-o", "pid,comm"]);
    let rows: Vec<Vec<&str>> = ps
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "PID 1 and ps alone: {ps}");
    assert_eq!(rows[0], ["1", "sleep"], "{ps}");
    assert_eq!(rows[1][1], "ps", "{ps}");
    assert_eq!(
        exec_ok(&t, &["web", "cat", "/etc/hostname"]),
        exec_ok(&t, &["web", "hostname"]),
        "the container's UTS namespace"
    );

    let out = exec(&t, &["web", "sh", "-c", "echo out; echo err >&2; exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(
        (stdout(&out), stderr(&out)),
        ("out\n".into(), "err\n".into())
    );
    let out = exec(&t, &["web", "no-such-command"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("executable file not found"),
        "{}",
        stderr(&out)
    );
    let out = exec(&t, &["web", "/etc/passwd"]);
    assert_eq!(out.status.code(), Some(126), "{}", stderr(&out));
    let out = exec(&t, &["web", "sh", "-c", "kill -9 $$"]);
    assert_eq!(out.status.code(), Some(137), "killed by a signal: 128 + 9");
}

#[test]
fn exec_into_an_unknown_or_stopped_container_fails_as_docker_does() {
    let t = TestEnv::new();
    let out = exec(&t, &["nope", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "skiff: No such container: nope\n");
    let id = ok(
        &t,
        &[
            "create",
            "--name",
            "idle",
            &t.image("library/busybox"),
            "true",
        ],
    );
    let out = exec(&t, &["idle", "true"]);
    assert_eq!(out.status.code(), Some(1));
    let want = format!("skiff: Container {} is not running\n", id.trim());
    assert_eq!(stderr(&out), want);
    ok(&t, &["start", "-a", "idle"]);
    let out = exec(&t, &["idle", "true"]);
    assert_eq!((out.status.code(), stderr(&out)), (Some(1), want));
}

#[test]
fn exec_takes_the_containers_env_user_and_workdir_or_the_flags() {
    let t = TestEnv::new();
    let flags = ["-e", "FROM_RUN=1", "-w", "/home", "-u", "app"];
    sleeper(&t, "app", &flags, "library/users");
    let env_file = t.root.join("env");
    std::fs::write(&env_file, "FROM_FILE=3\n").unwrap();
    let script = "echo $FROM_RUN $FROM_EXEC $FROM_FILE $HOME; pwd; id";
    let as_container = exec_ok(&t, &["app", "sh", "-c", script]);
    assert_eq!(
        as_container,
        "1 /home/app\n/home\nuid=1000(app) gid=1000(app) groups=29(audio),50(staff),1000(app)\n"
    );
    let env_file = env_file.to_str().unwrap();
    let flags = ["-e", "FROM_EXEC=2", "--env-file", env_file, "-w", "/tmp"];
    let as_root = [&flags[..], &["-u", "0", "app", "sh", "-c", script]].concat();
    assert_eq!(
        exec_ok(&t, &as_root),
        "1 2 3 /root\n/tmp\nuid=0(root) gid=0(root) groups=0(root)\n"
    );
    // Docker's exec: 126 for a command it could not start, whatever the reason.
    let out = exec(&t, &["-w", "/no/such/dir", "app", "true"]);
    assert_eq!(out.status.code(), Some(126));
    let err = stderr(&out);
    assert!(err.contains("chdir(/no/such/dir)"), "{err}");
    let out = exec(&t, &["-u", "ghost", "app", "true"]);
    assert_eq!(out.status.code(), Some(126));
    let err = stderr(&out);
    assert!(err.contains("unable to find user ghost"), "{err}");
}

#[test]
fn exec_gets_the_containers_capabilities_cgroup_and_no_new_privileges() {
    let t = TestEnv::new();
    let flags = ["--cap-drop", "chown", "--security-opt", "no-new-privileges"];
    sleeper(&t, "web", &flags, "library/busybox");
    let status = "grep -E '^(Cap|NoNewPrivs)' /proc/self/status; cat /proc/self/cgroup";
    let mine = exec_ok(&t, &["web", "sh", "-c", status]);
    let pid_1 = exec_ok(&t, &["web", "sh", "-c", &status.replace("self", "1")]);
    assert_eq!(mine, pid_1);
    assert!(mine.contains("CapBnd:\t00000000a80425fa\n"), "{mine}");
    assert!(mine.contains("NoNewPrivs:\t1\n"), "{mine}");
    let privileged = exec_ok(
        &t,
        &["--privileged", "web", "grep", "CapEff", "/proc/self/status"],
    );
    assert_ne!(privileged, "CapEff:\t00000000a80425fa\n");
}

#[test]
fn issue_18_exec_takes_the_containers_ulimits_oom_score_and_devices_guard() {
    let t = TestEnv::new();
    let flags = [
        "--ulimit",
        "nofile=100:200",
        "--oom-score-adj",
        "500",
        "--device",
        "/dev/kmsg:/dev/k:r",
    ];
    sleeper(&t, "tuned", &flags, "library/busybox");
    let script = "ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj";
    assert_eq!(
        exec_ok(&t, &["tuned", "sh", "-c", script]),
        "100\n200\n500\n"
    );
    let write = exec(&t, &["tuned", "sh", "-c", "echo skiff-exec-test >/dev/k"]);
    let err = stderr(&write);
    assert!(err.contains("Operation not permitted"), "{err}");
}

#[test]
fn exec_reads_stdin_only_with_i_and_d_returns_at_once() {
    let t = TestEnv::new();
    sleeper(&t, "web", &[], "library/busybox");
    let piped = |flags: &[&str]| {
        let args = [&["exec"][..], flags, &["web", "sh", "-c", "cat; echo end"]].concat();
        let mut child = t
            .command(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"typed\n").unwrap();
        stdout(&child.wait_with_output().unwrap())
    };
    assert_eq!(piped(&["-i"]), "typed\nend\n");
    assert_eq!(piped(&[]), "end\n");

    let out = exec(
        &t,
        &[
            "-d",
            "web",
            "sh",
            "-c",
            "echo detached; echo done > /tmp/done",
        ],
    );
    assert_eq!((out.status.code(), stdout(&out)), (Some(0), String::new()));
    let wait = "while [ ! -e /tmp/done ]; do :; done; cat /tmp/done";
    assert_eq!(exec_ok(&t, &["web", "sh", "-c", wait]), "done\n");
}

#[test]
fn signals_to_skiff_reach_the_command() {
    let t = TestEnv::new();
    sleeper(&t, "web", &[], "library/busybox");
    let script = "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done";
    let mut child = t
        .command(&["exec", "web", "sh", "-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(next_line(&mut child), "ready\n");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(child.wait().unwrap().code(), Some(42));
}

#[test]
fn trace_narrates_setns_and_the_second_fork() {
    let t = TestEnv::new();
    sleeper(&t, "web", &[], "library/busybox");
    let out = exec(&t, &["--trace", "web", "true"]);
    let trace = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{trace}");
    for step in [
        "prctl(PR_SET_DUMPABLE, 0)",
        "setns(pidfd, CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWCGROUP",
        "chroot(.)",
        "clone3(CLONE_PARENT)",
        "execve(/bin/true",
    ] {
        assert!(trace.contains(step), "{step} in {trace}");
    }
}

#[test]
fn exec_it_gives_a_shell_in_the_container_a_person_can_use() {
    let t = TestEnv::new();
    sleeper(&t, "web", &[], "library/busybox");
    let script = "size 33 101 ;; expect # ;; \
                  send echo $((6*7))\\r ;; expect 42 ;; \
                  send stty size\\r ;; expect 33 101 ;; \
                  size 40 120 ;; send stty size\\r ;; expect 40 120 ;; \
                  send cat /proc/1/comm\\r ;; expect sleep ;; \
                  send sleep 100\\r ;; running sleep ;; send \\x03 ;; \
                  send echo alive-$((2+3))\\r ;; expect alive-5 ;; \
                  send exit 3\\r";
    let shown = on_terminal(&t, script, &["exec", "-it", "web", "sh"]);
    assert_eq!(shown.status, "3", "{}", shown.output);
    assert!(shown.settings_same, "the terminal's settings changed");
    // The container runs on, its first process untouched by the hangup.
    assert_eq!(exec_ok(&t, &["web", "cat", "/proc/1/comm"]), "sleep\n");
    // A command that cannot start: Docker's status, the terminal as it was.
    let shown = on_terminal(&t, "expect not found", &["exec", "-it", "web", "nope"]);
    assert_eq!(shown.status, "127", "{}", shown.output);
    assert!(shown.settings_same, "the terminal's settings changed");
}

#[test]
fn exec_t_alone_gets_a_terminal_of_the_containers_own_sized_before_it_starts() {
    let t = TestEnv::new();
    // A container with a terminal of its own: exec's is the next of the same devpts,
    // and the console stays PID 1's.
    sleeper(&t, "web", &["-t"], "library/busybox");
    // The outer terminal is 24x80 before skiff starts, and no resize follows: a size
    // seen at once was set before execve(2) (else 0 0).
    let probe = "tty; stty size; stat -f -c %T /dev/pts; \
                 [ /dev/console -ef /dev/pts/0 ] && echo console-is-pid-1s; \
                 echo fds: $(ls /proc/self/fd); exit 5";
    let args = ["exec", "--trace", "-t", "web", "sh", "-c", probe];
    let shown = on_terminal(&t, "expect fds:", &args);
    assert_eq!(shown.status, "5", "{}", shown.output);
    assert!(shown.settings_same, "the terminal's settings changed");
    // `\n` shows as `\r\n`, and as `\r\r\n` on an outer terminal not in raw mode
    // (no -i), as with Docker.
    let output = shown.output.replace("\\r", "");
    for seen in [
        "/dev/pts/1\\n24 80\\ndevpts\\nconsole-is-pid-1s\\n",
        // stdio and ls's own directory: nothing of skiff's, the socket closed.
        "fds: 0 1 2 3\\n",
        "-t: a pseudo-terminal from the container", // repr: \' for '
    ] {
        assert!(output.contains(seen), "{seen} in {output}");
    }
}

#[test]
fn exec_it_without_a_terminal_fails_as_docker_does() {
    let t = TestEnv::new();
    sleeper(&t, "web", &[], "library/busybox");
    let out = exec(&t, &["-it", "web", "sh"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "skiff: the input device is not a TTY\n");
}

/// The container's PID 1 turns /etc/passwd into a FIFO, so that the process exec'ing
/// into it stops where skiff reads that file (resolving the user): before execve(2),
/// still holding whatever skiff gave it. It then finds that process and attacks it, and
/// writes what it could do to /found.
const ATTACK: &str = r#"rm /etc/passwd && mkfifo /etc/passwd && echo armed
exec 3>/etc/passwd
p=$(grep -l 'ski[f]f' /proc/[0-9]*/cmdline | cut -d/ -f3)
{ echo "pid $p"; ls -ln /proc/$p/fd/
  head -c 4 /proc/$p/mem >/dev/null && echo mem-opened
  cat /proc/$p/environ >/dev/null && echo environ-read
  echo pwned > /proc/$p/exe && echo exe-written; } > /found 2>&1
echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd.new && mv /etc/passwd.new /etc/passwd
echo 'root:x:0:0:root:/root:/bin/sh' >&3
exec 3>&-
sleep 1000"#;

#[test]
fn cve_2016_9962_and_2019_5736_a_hostile_pid_1_meets_the_exec_ing_process() {
    let before = binary_digest();
    for caps in [&[][..], &["--cap-add", "SYS_PTRACE"]] {
        let t = TestEnv::new();
        let image = t.image("library/busybox");
        let args = [
            &["run", "-d", "--name", "h"][..],
            caps,
            &[&image, "sh", "-c", ATTACK],
        ]
        .concat();
        ok(&t, &args);
        drop(await_line(&t, "h", "armed"));
        assert_eq!(exec_ok(&t, &["h", "echo", "ran"]), "ran\n");
        let found = exec_ok(&t, &["h", "cat", "/found"]);
        assert!(found.starts_with("pid "), "the attacker found it: {found}");
        assert!(!found.contains("exe-written"), "{found}");
        if caps.is_empty() {
            // Non-dumpable, and holding more capabilities than the container's root.
            for denied in [
                "fd/0: cannot read link: Permission denied",
                "mem: Permission denied",
                "environ': Permission denied",
            ] {
                assert!(found.contains(denied), "{denied} in {found}");
            }
            assert!(
                !found.contains("-read") && !found.contains("-opened"),
                "{found}"
            );
        } else {
            // CAP_SYS_PTRACE sees everything: stdio, the FIFO it reads, the exec-status
            // pipe; no descriptor of skiff's own.
            let targets = fd_targets(&found);
            for target in targets {
                // skiff's /dev/null, named from the machine's root: under a chroot (such
                // as fresh-root.sh's) that is a longer path to the same device.
                let stdio_or_pipe = target.starts_with("pipe:") || target.ends_with("/dev/null");
                assert!(
                    stdio_or_pipe || target == "/etc/passwd",
                    "{target} in {found}"
                );
            }
        }
    }
    assert_eq!(
        binary_digest(),
        before,
        "the host's skiff binary is untouched"
    );
}

/// Where the five descriptors of the caught exec point, as the attacker found them
/// ([`ATTACK`]'s `ls -ln /proc/PID/fd/`).
fn fd_targets(found: &str) -> Vec<&str> {
    let targets: Vec<&str> = found
        .lines()
        .filter_map(|l| l.split_once(" -> "))
        .map(|(_, to)| to)
        .collect();
    assert_eq!(targets.len(), 5, "{found}");
    targets
}

#[test]
fn cve_2016_9962_exec_t_holds_its_terminal_and_no_socket_when_caught_before_execve() {
    // As above, with CAP_SYS_PTRACE: what the attacker sees is the container's own
    // terminal on 0–2, the exec-status pipe and its FIFO; the socket the master went
    // back on is already closed, and skiff's terminal never entered.
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let args = ["run", "-d", "--name", "h", "--cap-add", "SYS_PTRACE"];
    ok(&t, &[&args[..], &[&image, "sh", "-c", ATTACK]].concat());
    drop(await_line(&t, "h", "armed"));
    let shown = on_terminal(&t, "expect ran", &["exec", "-t", "h", "echo", "ran"]);
    assert_eq!(shown.status, "0", "{}", shown.output);
    let found = exec_ok(&t, &["h", "cat", "/found"]);
    let targets = fd_targets(&found);
    assert_eq!(&targets[..3], ["/dev/pts/0"; 3], "{found}");
    for target in &targets[3..] {
        assert!(
            target.starts_with("pipe:") || *target == "/etc/passwd",
            "{target} in {found}"
        );
    }
}
