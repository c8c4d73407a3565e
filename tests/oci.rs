//! skiff as an OCI runtime (`skiff runtime …`, or a `skiff-runtime` link): a bundle of
//! the harness's busybox (/bin/busybox from busybox-static, as in its images) and a
//! config.json written here, driven as conmon drives runc: `create`, `state`, `start`,
//! `kill`, `delete`. A small Python caller plays conmon's part: it is the child
//! subreaper that the container's PID 1 passes to when `create` exits, and it reaps it.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::{Command, Output};

use crate::testenv::{
    assert_one_line_error, assert_refused, cgroup_trees, cgroups_of, json_field, stderr, stdout,
    TestEnv, BUSYBOX,
};

/// A caller as conmon is: a child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER) that runs
/// `create` (the container's output to a file), prints the state and whether the
/// program had run, then `start`, reaps the container and prints its exit status.
const CALLER: &str = r#"
import ctypes, json, os, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
runtime, bundle, cid = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(bundle + "/out", "w") as out:
    subprocess.run(runtime + ["create", "--bundle", bundle, "--pid-file", bundle + "/pid", cid], stdout=out, check=True)
pid = int(open(bundle + "/pid").read())
state = lambda: subprocess.run(runtime + ["state", cid], capture_output=True, text=True, check=True).stdout.strip()
print(state())
print("ran" if os.path.exists(bundle + "/shared/ran") else "held")
subprocess.run(runtime + ["start", cid], check=True)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
print(state())
"#;

/// A caller with a console socket, as conmon is: a child subreaper listening on
/// `BUNDLE/console.sock`, which takes each terminal's master as `SCM_RIGHTS`. It
/// creates and starts a container with a terminal (whose program waits for a line),
/// prints what its terminal shows, runs `exec --tty --detach` in it and prints that
/// terminal's output, then types the line and prints the container's last output and
/// its exit status.
const TERMINAL_CALLER: &str = r#"
import ctypes, json, os, socket, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
runtime, bundle, cid = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
path = bundle + "/console.sock"
server = socket.socket(socket.AF_UNIX)
server.bind(path)
server.listen()

def master(args):
    caller = subprocess.Popen(runtime + args)
    _, fds, _, _ = socket.recv_fds(server.accept()[0], 64, 1)
    assert caller.wait() == 0, args
    return fds[0]

def read(fd, until=None):
    out = b""
    while until is None or until not in out:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: no process holds the terminal any more
            break
        if not chunk:
            break
        out += chunk
    return out.decode()

first = master(["create", "--bundle", bundle, "--pid-file", bundle + "/pid", "--console-socket", path, cid])
subprocess.run(runtime + ["start", cid], check=True)
print(json.dumps(read(first, b"30 100\r\n")))
second = master(["exec", "--tty", "--detach", "--env", "FOO=bar", "--console-socket", path, cid, "sh", "-c", "tty; echo $FOO"])
print(json.dumps(read(second)))
os.write(first, b"bye\n")
print(json.dumps(read(first)))
# Reaping the exec'd process too: a PID 1 exits only once its namespace's zombies are reaped.
pid, status = 0, 0
while pid != int(open(bundle + "/pid").read()):
    pid, status = os.wait()
print(os.waitstatus_to_exitcode(status))
"#;

struct Bundle {
    dir: PathBuf,
    state: PathBuf,
}

impl Bundle {
    /// A bundle in the test's directory: busybox as its root, `shared/` bound on its
    /// /mnt (where the programs write), and a config.json running `args` (a JSON array,
    /// and any more `process` fields after it), with `linux` extra fields in `linux`.
    fn new(t: &TestEnv, args: &str, linux: &str) -> Bundle {
        let dir = t.root.join("bundle");
        let bin = dir.join("rootfs/bin");
        fs::create_dir_all(&bin).unwrap();
        fs::create_dir_all(dir.join("shared")).unwrap();
        fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
        for applet in [
            "sh", "echo", "sleep", "touch", "hostname", "true", "grep", "tty", "stty", "id", "cat",
        ] {
            symlink("busybox", bin.join(applet)).unwrap();
        }
        // `shared`, relative: the bundle's, as runc reads a bind's source.
        let config = format!(
            r#"{{"ociVersion":"1.0.2","process":{{"user":{{"uid":0,"gid":0}},"args":{args},"env":["PATH=/bin"],"cwd":"/"}},"root":{{"path":"rootfs"}},"hostname":"held","mounts":[{{"destination":"/proc","type":"proc","source":"proc"}},{{"destination":"/mnt","type":"bind","source":"shared","options":["rbind","rw"]}}],"linux":{{{linux}"namespaces":[{{"type":"pid"}},{{"type":"mount"}},{{"type":"ipc"}},{{"type":"uts"}},{{"type":"network"}}]}}}}"#
        );
        fs::write(dir.join("config.json"), config).unwrap();
        Bundle {
            state: t.root.join("state"),
            dir,
        }
    }

    /// `skiff runtime --root STATE ARGS…`.
    fn runtime(&self, t: &TestEnv, args: &[&str]) -> Output {
        let mut all = vec!["runtime", "--root", self.state.to_str().unwrap()];
        all.extend(args);
        t.skiff(&all)
    }

    /// Runs the Python `caller` on this bundle, as container `id`.
    fn call(&self, t: &TestEnv, caller: &str, id: &str) -> Output {
        let runtime = format!(
            r#"["{}","runtime","--root","{}"]"#,
            skiff_bin(),
            self.state.display()
        );
        let script = t.root.join("caller.py");
        fs::write(&script, caller).unwrap();
        Command::new("python3")
            .arg(&script)
            .args([&runtime, self.dir.to_str().unwrap(), id])
            .output()
            .unwrap()
    }

    fn create(&self, t: &TestEnv, id: &str) -> Output {
        let bundle = self.dir.to_str().unwrap();
        self.runtime_to_file(t, &["create", "--bundle", bundle, id])
    }

    /// [`Bundle::runtime`], its stdout and stderr into `BUNDLE/out`: not pipes, which
    /// a container or a detached process holds open until it exits.
    fn runtime_to_file(&self, t: &TestEnv, args: &[&str]) -> Output {
        let out = fs::File::create(self.dir.join("out")).unwrap();
        t.command(&["runtime", "--root", self.state.to_str().unwrap()])
            .args(args)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .output()
            .unwrap()
    }
}

/// A failed test leaves no container running: whatever is left is deleted by force.
impl Drop for Bundle {
    fn drop(&mut self) {
        for entry in fs::read_dir(&self.state).into_iter().flatten().flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            let mut delete = Command::new(skiff_bin());
            let root = self.state.to_str().unwrap();
            let _ = delete
                .args(["runtime", "--root", root, "delete", "--force", &id])
                .output();
        }
    }
}

fn skiff_bin() -> String {
    std::env::var("SKIFF_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_skiff").into())
}

/// Deletes `id` and checks nothing of it is left: state, cgroup, mounts (the test's own
/// teardown looks for those).
fn delete(t: &TestEnv, bundle: &Bundle, id: &str, flags: &[&str]) {
    let mut args = vec!["delete"];
    args.extend(flags);
    args.push(id);
    let out = bundle.runtime(t, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!bundle.state.join(id).exists());
    assert_eq!(cgroups_of(id), Vec::<String>::new());
}

#[test]
fn create_holds_the_program_until_start() {
    let t = TestEnv::new();
    // No `linux.seccomp`, no filter: Docker's default profile is the engine's, not a runtime's.
    let program = r#"["sh","-c","touch /mnt/ran && echo hello from $(hostname) && grep ^Seccomp: /proc/self/status && exit 3"]"#;
    let bundle = Bundle::new(&t, program, "");
    let out = bundle.call(&t, CALLER, "c1");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains(r#""status":"created""#), "{text}");
    assert!(lines[0].contains(r#""id":"c1""#), "{text}");
    assert_eq!(lines[1], "held", "the program ran before start");
    assert_eq!(lines[2], "3", "its exit status");
    assert!(lines[3].contains(r#""status":"stopped""#), "{text}");
    let output = fs::read_to_string(bundle.dir.join("out")).unwrap();
    assert_eq!(output, "hello from held\nSeccomp:\t0\n");
    assert!(bundle.dir.join("shared/ran").exists());
    delete(&t, &bundle, "c1", &[]);
}

#[test]
fn kill_and_delete_force() {
    let t = TestEnv::new();
    let bundle = Bundle::new(&t, r#"["sleep","1000"]"#, "");
    for id in ["k1", "k2"] {
        let out = bundle.create(&t, id);
        let log = fs::read_to_string(bundle.dir.join("out")).unwrap();
        assert!(out.status.success(), "{log}");
        let out = bundle.runtime(&t, &["start", id]);
        assert!(out.status.success(), "{}", stderr(&out));
        let state = stdout(&bundle.runtime(&t, &["state", id]));
        assert!(state.contains(r#""status":"running""#), "{state}");
    }
    // A running container is not deleted without --force.
    let out = bundle.runtime(&t, &["delete", "k1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not stopped"), "{}", stderr(&out));
    let out = bundle.runtime(&t, &["kill", "k1", "KILL"]);
    assert!(out.status.success(), "{}", stderr(&out));
    while !stdout(&bundle.runtime(&t, &["state", "k1"])).contains("stopped") {
        // kill(2) is asynchronous: the state turns once the kernel has ended it.
        std::thread::yield_now();
    }
    delete(&t, &bundle, "k1", &[]);
    delete(&t, &bundle, "k2", &["--force"]);
}

#[test]
fn start_of_a_container_that_died_held_says_so() {
    let t = TestEnv::new();
    let bundle = Bundle::new(&t, r#"["sleep","1000"]"#, "");
    let out = bundle.create(&t, "d1");
    assert!(out.status.success());
    let out = bundle.runtime(&t, &["kill", "d1", "9"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = bundle.runtime(&t, &["start", "d1"]);
    // Dead already (`stopped`), or dying while `start` waits: never a hang, never run.
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("stopped") || err.contains("ended before it started"),
        "{err}"
    );
    delete(&t, &bundle, "d1", &[]);
}

#[test]
fn a_field_skiff_cannot_honour_is_refused_by_name() {
    let t = TestEnv::new();
    let bundle = Bundle::new(&t, r#"["true"]"#, r#""intelRdt":{},"#);
    let log = t.root.join("runtime.log");
    let out = t.skiff(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "--root",
        bundle.state.to_str().unwrap(),
        "create",
        "--bundle",
        bundle.dir.to_str().unwrap(),
        "r1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(
        err,
        "skiff: config.json: linux.intelRdt is not supported by skiff yet\n"
    );
    let logged = fs::read_to_string(&log).unwrap();
    assert!(
        logged.starts_with(r#"{"level":"error","msg":"config.json: linux.intelRdt is not supported by skiff yet","time":""#),
        "{logged}"
    );
    assert_eq!(logged.lines().count(), 1);
    assert!(!bundle.state.join("r1").exists());
    fs::write(bundle.dir.join("config.json"), "{\"ociVersion\": [").unwrap();
    let out = bundle.runtime(
        &t,
        &["create", "--bundle", bundle.dir.to_str().unwrap(), "r2"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn a_runtime_link_speaks_the_runtime_cli() {
    let t = TestEnv::new();
    let link = t.root.join("skiff-runtime");
    symlink(skiff_bin(), &link).unwrap();
    let out = Command::new(&link).arg("--version").output().unwrap();
    let text = stdout(&out);
    assert!(text.starts_with("skiff-runtime version "), "{text}");
    assert!(text.contains("\nspec: 1."), "{text}");
    let features = stdout(&Command::new(&link).arg("features").output().unwrap());
    assert!(
        features.contains(r#""ociVersionMax":"1.3.0""#),
        "{features}"
    );
}

#[test]
fn a_terminal_goes_to_the_console_socket() {
    let t = TestEnv::new();
    let program = r#"["sh","-c","tty; stty size; read line; echo got $line; exit 4"],"terminal":true,"consoleSize":{"height":30,"width":100}"#;
    let bundle = Bundle::new(&t, program, "");
    let out = bundle.call(&t, TERMINAL_CALLER, "t1");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    // The slave is the program's stdio and /dev/console, of the size asked, before execve.
    assert_eq!(lines[0], r#""/dev/pts/0\r\n30 100\r\n""#, "{text}");
    assert_eq!(lines[1], r#""/dev/pts/1\r\nbar\r\n""#, "{text}");
    assert_eq!(lines[2], r#""bye\r\ngot bye\r\n""#, "{text}");
    assert_eq!(lines[3], "4", "{text}");
    delete(&t, &bundle, "t1", &[]);
}

#[test]
fn a_terminal_and_a_console_socket_go_together() {
    let t = TestEnv::new();
    let bundle = Bundle::new(&t, r#"["true"],"terminal":true"#, "");
    let out = bundle.create(&t, "s1");
    let log = fs::read_to_string(bundle.dir.join("out")).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        log,
        "skiff: a terminal (process.terminal) needs --console-socket\n"
    );
    assert!(!bundle.state.join("s1").exists());
    let t = TestEnv::new();
    let plain = Bundle::new(&t, r#"["true"]"#, "");
    let path = plain.dir.to_str().unwrap();
    let out = plain.runtime(
        &t,
        &["create", "--bundle", path, "--console-socket", "/x", "s2"],
    );
    assert_refused(&out, "--console-socket needs a terminal (process.terminal)");
    assert!(!plain.state.join("s2").exists());
}

#[test]
fn exec_joins_the_container() {
    let t = TestEnv::new();
    let bundle = Bundle::new(&t, r#"["sleep","1000"]"#, "");
    assert!(bundle.create(&t, "e1").status.success());
    assert!(bundle.runtime(&t, &["start", "e1"]).status.success());
    let out = bundle.runtime(
        &t,
        &["exec", "e1", "sh", "-c", "echo in $(hostname); exit 5"],
    );
    assert_eq!(
        (stdout(&out).as_str(), out.status.code()),
        ("in held\n", Some(5))
    );
    // --process: the same `process` object as config.json's.
    let process = bundle.dir.join("process.json");
    let json = r#"{"user":{"uid":1000,"gid":1000},"args":["sh","-c","echo $FOO; id -u"],"env":["PATH=/bin","FOO=bar"],"cwd":"/"}"#;
    fs::write(&process, json).unwrap();
    let out = bundle.runtime(&t, &["exec", "--process", process.to_str().unwrap(), "e1"]);
    assert_eq!(stdout(&out), "bar\n1000\n", "{}", stderr(&out));
    // --detach: nothing printed, the pid in the file; the caller's to reap.
    let pid_file = bundle.dir.join("exec.pid");
    let args = [
        "exec",
        "--detach",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "e1",
    ];
    let out = bundle.runtime_to_file(&t, &[&args[..], &["sleep", "1000"]].concat());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fs::read_to_string(bundle.dir.join("out")).unwrap(), "");
    let pid = fs::read_to_string(&pid_file).unwrap();
    let ps = stdout(&bundle.runtime(&t, &["ps", "--format", "json", "e1"]));
    let state = stdout(&bundle.runtime(&t, &["state", "e1"]));
    let first = json_field(&state, "pid");
    assert_eq!(ps.trim(), format!("[{first},{pid}]"));
    let ns = |pid: &str| fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    assert_eq!(ns(&pid), ns(&first));
    let list = stdout(&bundle.runtime(&t, &["list"]));
    let rows: Vec<Vec<&str>> = list
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    );
    let bundle_dir = bundle.dir.to_str().unwrap();
    assert_eq!(
        rows[1][..4],
        ["e1", &first, "running", bundle_dir],
        "{list}"
    );
    assert_eq!(stdout(&bundle.runtime(&t, &["list", "-q"])), "e1\n");
    delete(&t, &bundle, "e1", &["--force"]);
}

/// A hook that appends its kind and the state it was given to `log`.
fn hook(kind: &str, log: &str) -> String {
    format!(r#"{{"path":"/bin/sh","args":["sh","-c","read s; echo \"$0 $s\" >> {log}","{kind}"]}}"#)
}

#[test]
fn hooks_run_at_their_steps_with_the_state() {
    let t = TestEnv::new();
    let bundle = Bundle::new(&t, r#"["true"]"#, "");
    let log = bundle.dir.join("shared/hooks.log");
    let host = |kind| hook(kind, log.to_str().unwrap());
    let hooks = format!(
        r#""hooks":{{"prestart":[{}],"createRuntime":[{}],"startContainer":[{}],"poststart":[{}],"poststop":[{}]}},"#,
        host("prestart"),
        host("createRuntime"),
        hook("startContainer", "/mnt/hooks.log"), // in the container: its /mnt
        host("poststart"),
        host("poststop"),
    );
    let config = bundle.dir.join("config.json");
    let text = fs::read_to_string(&config)
        .unwrap()
        .replacen('{', &format!("{{{hooks}"), 1);
    fs::write(&config, text).unwrap();
    let out = bundle.call(&t, CALLER, "h1");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    delete(&t, &bundle, "h1", &[]);
    let logged = fs::read_to_string(&log).unwrap();
    let steps: Vec<(&str, String)> = logged
        .lines()
        .map(|line| line.split_once(' ').unwrap())
        .map(|(kind, state)| (kind, json_field(state, "status")))
        .collect();
    let want = [
        ("prestart", "creating"),
        ("createRuntime", "creating"),
        ("startContainer", "created"),
        ("poststart", "running"),
        ("poststop", "stopped"),
    ];
    assert_eq!(steps.len(), want.len(), "{logged}");
    for ((kind, status), (want_kind, want_status)) in steps.iter().zip(want) {
        assert_eq!(
            (*kind, status.as_str()),
            (want_kind, want_status),
            "{logged}"
        );
    }
    assert!(logged.contains(r#""id":"h1""#), "{logged}");
}

#[test]
fn a_failing_prestart_hook_fails_create_and_leaves_nothing() {
    let t = TestEnv::new();
    let failing = r#""hooks":{"prestart":[{"path":"/bin/sh","args":["sh","-c","exit 3"]}]},"#;
    let bundle = Bundle::new(&t, r#"["sleep","1000"]"#, "");
    let config = bundle.dir.join("config.json");
    let text = fs::read_to_string(&config)
        .unwrap()
        .replacen('{', &format!("{{{failing}"), 1);
    fs::write(&config, text).unwrap();
    let out = bundle.create(&t, "f1");
    let log = fs::read_to_string(bundle.dir.join("out")).unwrap();
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert_eq!(log, "skiff: prestart hook /bin/sh: exit status 3\n");
    assert!(!bundle.state.join("f1").exists());
    // Its process gone too: a cgroup with a process in it cannot be removed.
    assert_eq!(cgroups_of("f1"), Vec::<String>::new());
}

/// Replaces `from` by `to` in the bundle's config.json (a field `Bundle::new` has not).
fn edit_config(bundle: &Bundle, from: &str, to: &str) {
    let path = bundle.dir.join("config.json");
    let config = fs::read_to_string(&path).unwrap();
    assert!(config.contains(from), "{config}");
    fs::write(path, config.replacen(from, to, 1)).unwrap();
}

/// Runs a created container to its end and returns what it wrote (the caller's part
/// of conmon without the subreaper: the container's PID 1 is reaped by whoever adopts it).
fn run_to_end(t: &TestEnv, bundle: &Bundle, id: &str) -> String {
    let out = bundle.create(t, id);
    let log = fs::read_to_string(bundle.dir.join("out")).unwrap();
    assert!(out.status.success(), "{log}");
    let out = bundle.runtime(t, &["start", id]);
    assert!(out.status.success(), "{}", stderr(&out));
    while !stdout(&bundle.runtime(t, &["state", id])).contains("stopped") {
        std::thread::yield_now(); // until the kernel has ended it
    }
    delete(t, bundle, id, &[]);
    fs::read_to_string(bundle.dir.join("out")).unwrap()
}

/// runtime-tools' `default` program: root (and any user) gets the inheritable and
/// ambient sets its config.json asks for, and /dev/shm (source `shm`) is mounted before /sys, in the
/// order of that config's `mounts`.
#[test]
fn inheritable_and_ambient_capabilities_and_dev_mounts_as_runc() {
    let t = TestEnv::new();
    let program = r#"["sh","-c","grep ^Cap /proc/self/status; grep -E ' /(dev/shm|sys) ' /proc/self/mountinfo"]"#;
    let bundle = Bundle::new(&t, program, "");
    let kill_chown = r#"["CAP_KILL","CAP_CHOWN"]"#;
    let caps = format!(
        r#""cwd":"/","capabilities":{{"bounding":{kill_chown},"effective":{kill_chown},"permitted":{kill_chown},"inheritable":{kill_chown},"ambient":["CAP_KILL"]}}"#
    );
    edit_config(&bundle, r#""cwd":"/""#, &caps);
    // runtime-tools' `process_user`: the sets hold for a user other than root too.
    edit_config(&bundle, r#""uid":0"#, r#""uid":1000"#);
    let user = run_to_end(&t, &bundle, "caps2");
    edit_config(&bundle, r#""uid":1000"#, r#""uid":0"#);
    let out = run_to_end(&t, &bundle, "caps1");
    // Past execve(2) of a program without file capabilities, a user other than root
    // keeps only its ambient set, permitted and effective (capabilities(7)).
    let sets = |inh_bnd: &str, prm_eff: &str| {
        let all = [("Inh", inh_bnd), ("Prm", prm_eff), ("Eff", prm_eff)];
        let all = all.into_iter().chain([("Bnd", inh_bnd), ("Amb", "20")]);
        all.map(|(set, hex)| format!("Cap{set}:\t{hex:0>16}\n"))
            .collect::<String>()
    };
    assert!(out.starts_with(&sets("21", "21")), "{out}");
    assert!(user.starts_with(&sets("21", "20")), "{user}");
    // proc_pid_mountinfo(5): the mount point is the fifth field.
    let line = |point: &str| out.lines().position(|l| l.split(' ').nth(4) == Some(point));
    let shm = line("/dev/shm").expect(&out);
    assert!(
        out.lines().nth(shm).unwrap().contains(" - tmpfs shm "),
        "{out}"
    );
    assert!(line("/sys").expect(&out) > shm, "{out}");
}

/// runtime-tools' `killsig` and `start`: what the container writes to its root lands
/// in the bundle's root directory, as with runc (podman hands over its own overlay).
#[test]
fn the_bundle_root_is_written_in_place() {
    let t = TestEnv::new();
    let bundle = Bundle::new(&t, r#"["sh","-c","echo written > /here"]"#, "");
    let out = run_to_end(&t, &bundle, "w1");
    assert_eq!(out, "");
    let written = fs::read_to_string(bundle.dir.join("rootfs/here")).unwrap();
    assert_eq!(written, "written\n");
}

/// runtime-tools' `linux_masked_paths`, `linux_readonly_paths`, `process_user` and
/// `process_rlimits`: paths beyond Docker's masked or read-only, the umask, and
/// `RLIMIT_AS` (Docker's `--ulimit as=`).
#[test]
fn masked_and_read_only_paths_umask_and_address_space() {
    let t = TestEnv::new();
    let program = r#"["sh","-c","umask; grep 'address space' /proc/self/limits; cat /masked; touch /ro/x || echo ro"]"#;
    let hidden = r#""maskedPaths":["/masked","/absent"],"readonlyPaths":["/ro"],"#;
    let bundle = Bundle::new(&t, program, hidden);
    fs::write(bundle.dir.join("rootfs/masked"), "secret").unwrap();
    fs::create_dir(bundle.dir.join("rootfs/ro")).unwrap();
    edit_config(&bundle, r#""gid":0"#, r#""gid":0,"umask":63"#);
    let limit = r#""cwd":"/","rlimits":[{"type":"RLIMIT_AS","soft":1073741824,"hard":2147483648}]"#;
    edit_config(&bundle, r#""cwd":"/""#, limit);
    let out = run_to_end(&t, &bundle, "m1");
    assert!(out.starts_with("0077\nMax address space"), "{out}");
    let words: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(words[3..5], ["1073741824", "2147483648"], "{out}");
    assert!(!out.contains("secret"), "{out}");
    assert!(out.ends_with("ro\n"), "{out}");
    assert!(!bundle.dir.join("rootfs/ro/x").exists());
    assert!(!bundle.dir.join("rootfs/absent").exists());
}

#[test]
fn delete_force_of_a_missing_container_succeeds_as_runcs() {
    // containerd's shim deletes every ended task a second time with --force.
    let t = TestEnv::new();
    let state = t.root.join("state");
    let runtime = |args: &[&str]| {
        let mut all = vec!["runtime", "--root", state.to_str().unwrap()];
        all.extend(args);
        t.skiff(&all)
    };
    let out = runtime(&["delete", "gone"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "skiff: container gone does not exist\n");
    let out = runtime(&["delete", "--force", "gone"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

/// A cgroup of the host's with a sleeper in it, both taken back on drop.
struct Occupied {
    dir: PathBuf,
    sleeper: std::process::Child,
}

impl Occupied {
    /// In the pids tree (v1), else the unified one (v2).
    fn new() -> Occupied {
        let pids = PathBuf::from("/sys/fs/cgroup/pids");
        let tree = if pids.is_dir() {
            pids
        } else {
            PathBuf::from("/sys/fs/cgroup")
        };
        let dir = tree.join(format!("skiff-test-occupied-{}", std::process::id()));
        fs::create_dir(&dir).unwrap();
        let sleeper = Command::new("sleep").arg("1000").spawn().unwrap();
        let occupied = Occupied { dir, sleeper };
        let procs = occupied.dir.join("cgroup.procs");
        fs::write(procs, occupied.sleeper.id().to_string()).unwrap();
        occupied
    }
}

impl Drop for Occupied {
    fn drop(&mut self) {
        let _ = self.sleeper.kill();
        let _ = self.sleeper.wait();
        let _ = fs::remove_dir(&self.dir);
    }
}

/// runc 1.2's rule: a failed create and delete kill everything in the container's
/// cgroup, so a `cgroupsPath` that holds someone else's processes is refused, and
/// they live on.
#[test]
fn a_cgroups_path_with_processes_in_it_is_refused() {
    let t = TestEnv::new();
    let mut occupied = Occupied::new();
    let path = format!("/{}", occupied.dir.file_name().unwrap().to_str().unwrap());
    let linux = format!(r#""cgroupsPath":"{path}","#);
    let bundle = Bundle::new(&t, r#"["true"]"#, &linux);
    let bundle_dir = bundle.dir.to_str().unwrap();
    let out = bundle.runtime(&t, &["create", "--bundle", bundle_dir, "o1"]);
    assert_refused(&out, "holds processes already");
    assert!(!bundle.state.join("o1").exists());
    assert_eq!(
        occupied.sleeper.try_wait().unwrap(),
        None,
        "the sleeper was killed"
    );
    let procs = fs::read_to_string(occupied.dir.join("cgroup.procs")).unwrap();
    assert_eq!(procs.trim(), occupied.sleeper.id().to_string());
}

/// podman's `tmpcopyup`: the tmpfs starts with what the image has there, copied
/// straight in, so an image's own entry of any name (here `.tmpcopyup`) comes too.
#[test]
fn tmpcopyup_copies_every_name_of_the_image() {
    let t = TestEnv::new();
    let program = r#"["sh","-c","cat /data/g /data/.tmpcopyup/f; grep -c ' /data tmpfs ' /proc/self/mounts"]"#;
    let bundle = Bundle::new(&t, program, "");
    let data = bundle.dir.join("rootfs/data");
    fs::create_dir_all(data.join(".tmpcopyup")).unwrap();
    fs::write(data.join("g"), "g\n").unwrap();
    fs::write(data.join(".tmpcopyup/f"), "f\n").unwrap();
    let tmpfs =
        r#"{"destination":"/data","type":"tmpfs","source":"tmpfs","options":["tmpcopyup"]},"#;
    edit_config(
        &bundle,
        r#"{"destination":"/proc""#,
        &format!(r#"{tmpfs}{{"destination":"/proc""#),
    );
    assert_eq!(run_to_end(&t, &bundle, "tc1"), "g\nf\n1\n");
}

/// Issue 16: a bundle's mount options as runc reads them (flags, `strictatime`,
/// propagation types applied once mounted, data for the filesystem) and
/// `linux.rootfsPropagation`, set on the root after pivot_root(2).
#[test]
fn mount_options_propagation_and_the_roots_as_runc() {
    let t = TestEnv::new();
    let program = r#"["sh","-c","grep -E ' / | /tmp/s | /etc/b ' /proc/self/mountinfo"]"#;
    let bundle = Bundle::new(&t, program, r#""rootfsPropagation":"shared","#);
    fs::create_dir_all(bundle.dir.join("rootfs/etc")).unwrap();
    let mounts = r#"{"destination":"/tmp/s","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=1k","shared"]},{"destination":"/etc/b","source":"shared","options":["bind","ro","noexec","unbindable"]},"#;
    edit_config(
        &bundle,
        r#"{"destination":"/proc""#,
        &format!(r#"{mounts}{{"destination":"/proc""#),
    );
    let out = run_to_end(&t, &bundle, "mo1");
    // mountinfo: ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS…] - TYPE SOURCE SUPER
    let line = |point: &str| {
        let found = out.lines().find(|l| l.split(' ').nth(4) == Some(point));
        found
            .unwrap_or_else(|| panic!("no {point} in {out}"))
            .to_string()
    };
    let tmpfs = line("/tmp/s");
    // strictatime: neither relatime nor noatime; shared: a peer group of its own.
    assert!(tmpfs.contains(" rw,nosuid,nodev shared:"), "{tmpfs}");
    assert!(
        tmpfs.ends_with(" - tmpfs tmpfs rw,size=4k,mode=755"),
        "{tmpfs}"
    );
    let bind = line("/etc/b");
    assert!(
        bind.contains(" ro,nodev,noexec,relatime unbindable "),
        "{bind}"
    );
    assert!(line("/").contains(" shared:"), "{out}");
}

/// Issue 16: prestart, createRuntime and createContainer run while the container's
/// process waits before pivot_root(2) (its root is still the host's `/`); the first
/// two in the runtime's mount namespace, createContainer in the container's.
#[test]
fn hooks_run_before_pivot_root_create_container_in_its_mount_namespace() {
    let t = TestEnv::new();
    let bundle = Bundle::new(&t, r#"["busybox","readlink","/proc/self/ns/mnt"]"#, "");
    let log = bundle.dir.join("shared/hooks.log");
    let script = format!(
        r#"read s; pid=$(echo \"$s\" | sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/'); echo $0 $(readlink /proc/self/ns/mnt) $(readlink /proc/$pid/root) >> {}"#,
        log.display()
    );
    let hook =
        |kind: &str| format!(r#"[{{"path":"/bin/sh","args":["sh","-c","{script}","{kind}"]}}]"#);
    let hooks = format!(
        r#""hooks":{{"prestart":{},"createRuntime":{},"createContainer":{}}},"#,
        hook("prestart"),
        hook("createRuntime"),
        hook("createContainer")
    );
    edit_config(&bundle, r#""process""#, &format!(r#"{hooks}"process""#));
    let container = run_to_end(&t, &bundle, "hk1");
    let ours = fs::read_link("/proc/self/ns/mnt").unwrap();
    let ours = ours.to_str().unwrap();
    let want = format!(
        "prestart {ours} /\ncreateRuntime {ours} /\ncreateContainer {} /\n",
        container.trim()
    );
    assert_ne!(container.trim(), ours);
    assert_eq!(fs::read_to_string(&log).unwrap(), want);
}

/// Issue 16: the spec's `nosuid`, `noexec`, `nodev` and podman's `tmpcopyup` are no
/// words of Docker's `-v`, nor `tmpcopyup` of its `--tmpfs`, which takes propagation
/// types as Docker's does.
#[test]
fn run_takes_the_mount_options_docker_takes() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    let grep = ["grep", " /x ", "/proc/self/mountinfo"];
    let out = t.skiff(&[&["run", "--tmpfs", "/x:rshared", &image][..], &grep].concat());
    assert!(
        stdout(&out).contains(" rw,nosuid,nodev,noexec,relatime shared:"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = t.skiff(&["run", "-v", "/tmp:/x:nosuid", &image, "true"]);
    assert_one_line_error(&out, "invalid mode: nosuid");
    let out = t.skiff(&["run", "-v", "/tmp:/x:ro,noexec", &image, "true"]);
    assert_one_line_error(&out, "invalid mode: ro,noexec");
    let out = t.skiff(&["run", "--tmpfs", "/x:tmpcopyup", &image, "true"]);
    assert_one_line_error(&out, "unknown option \"tmpcopyup\"");
}

/// A process of the host's in new namespaces (`unshare FLAGS`), for a container to
/// join by path; ready once it has printed, killed with it (`--kill-child`) on drop.
struct Holder {
    unshare: std::process::Child,
}

impl Holder {
    fn new(flags: &[&str]) -> Holder {
        let mut unshare = Command::new("unshare")
            .args(flags)
            .args(["--kill-child", "sh", "-c", "echo ready; exec sleep 1000"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = [0; 6];
        let out = unshare.stdout.as_mut().unwrap();
        std::io::Read::read_exact(out, &mut ready).unwrap();
        assert_eq!(&ready, b"ready\n");
        Holder { unshare }
    }

    /// `/proc/PID/ns/NAME` of the unshare process (`pid_for_children`: its child's).
    fn ns(&self, name: &str) -> String {
        format!("/proc/{}/ns/{name}", self.unshare.id())
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

/// Whether two /proc/PID/ns files are the same namespace.
fn same_ns(a: &str, b: &str) -> bool {
    fs::read_link(a).unwrap() == fs::read_link(b).unwrap()
}

/// The namespaces list of `Bundle::new`'s config.json.
const NAMESPACES: &str = r#""namespaces":[{"type":"pid"},{"type":"mount"},{"type":"ipc"},{"type":"uts"},{"type":"network"}]"#;

/// Creates `id` (held) and returns its PID 1.
fn created(t: &TestEnv, bundle: &Bundle, id: &str) -> String {
    let out = bundle.create(t, id);
    let log = fs::read_to_string(bundle.dir.join("out")).unwrap();
    assert!(out.status.success(), "{log}");
    json_field(&stdout(&bundle.runtime(t, &["state", id])), "pid")
}

/// runtime-tools' `linux_ns_path`, and what a Kubernetes pod's containers ask: the
/// pause container's IPC, UTS and PID namespaces joined by path (the cgroup one too);
/// the hostname is set in the UTS namespace joined, as runc sets it, and without one
/// given that namespace keeps its own (issue 16). A mount namespace joined is not the
/// container's to mount in: its bind is refused by name, as with the runtime's own.
#[test]
fn issue_16_namespaces_are_joined_by_path() {
    let t = TestEnv::new();
    let holder = Holder::new(&["--ipc", "--uts", "--pid", "--mount", "--cgroup"]);
    let bundle = Bundle::new(&t, r#"["sleep","1000"]"#, "");
    let kinds = [
        ("pid", "pid_for_children", "pid"),
        ("ipc", "ipc", "ipc"),
        ("uts", "uts", "uts"),
        ("cgroup", "cgroup", "cgroup"),
    ];
    let joined: Vec<String> = kinds
        .iter()
        .map(|(kind, file, _)| format!(r#"{{"type":"{kind}","path":"{}"}}"#, holder.ns(file)))
        .collect();
    let list = format!(
        r#""namespaces":[{},{{"type":"mount"}},{{"type":"network"}}]"#,
        joined.join(",")
    );
    edit_config(&bundle, NAMESPACES, &list);
    let pid = created(&t, &bundle, "j1");
    for (_, file, name) in kinds {
        let theirs = format!("/proc/{pid}/ns/{name}");
        assert!(same_ns(&theirs, &holder.ns(file)), "{name}");
    }
    let out = bundle.runtime(&t, &["exec", "j1", "hostname"]);
    assert_eq!(stdout(&out), "held\n", "{}", stderr(&out));
    delete(&t, &bundle, "j1", &["--force"]);
    let mount = format!(r#"{{"type":"mount","path":"{}"}}"#, holder.ns("mnt"));
    edit_config(&bundle, r#"{"type":"mount"}"#, &mount);
    let bundle_dir = bundle.dir.to_str().unwrap();
    let out = bundle.runtime(&t, &["create", "--bundle", bundle_dir, "j2"]);
    assert_refused(&out, "without a mount namespace of the container's own");
    edit_config(&bundle, &mount, r#"{"type":"mount"}"#);
    edit_config(&bundle, r#""hostname":"held","#, "");
    created(&t, &bundle, "j2");
    let out = bundle.runtime(&t, &["exec", "j2", "hostname"]);
    assert_eq!(stdout(&out), "held\n", "{}", stderr(&out));
    delete(&t, &bundle, "j2", &["--force"]);
    // A file of another kind is refused by setns(2) (runtime-tools' `linux_ns_path_type`).
    let wrong = format!(r#"{{"type":"ipc","path":"{}"}}"#, holder.ns("uts"));
    let others = r#"{"type":"pid"},{"type":"mount"},{"type":"uts"}"#;
    edit_config(
        &bundle,
        &list,
        &format!(r#""namespaces":[{wrong},{others}]"#),
    );
    let out = bundle.create(&t, "j3");
    let log = fs::read_to_string(bundle.dir.join("out")).unwrap();
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("CLONE_NEWIPC): Invalid argument"), "{log}");
    assert!(!bundle.state.join("j3").exists());
}

/// runtime-tools' `linux_ns_itype`: the kinds a config.json leaves out are the
/// runtime's own. A hostname needs a UTS namespace; without a mount namespace nothing
/// is mounted (every mount would be the host's), so a bind mount or a device is refused.
#[test]
fn issue_16_namespaces_left_out_are_the_runtimes() {
    let t = TestEnv::new();
    let bundle = Bundle::new(&t, r#"["sleep","1000"]"#, "");
    edit_config(&bundle, NAMESPACES, r#""namespaces":[]"#);
    let bundle_dir = bundle.dir.to_str().unwrap();
    let out = bundle.runtime(&t, &["create", "--bundle", bundle_dir, "i1"]);
    assert_refused(
        &out,
        "hostname without a UTS namespace of the container's own",
    );
    edit_config(&bundle, r#""hostname":"held","#, "");
    let out = bundle.runtime(&t, &["create", "--bundle", bundle_dir, "i1"]);
    assert_refused(&out, "without a mount namespace of the container's own");
    let bind =
        r#",{"destination":"/mnt","type":"bind","source":"shared","options":["rbind","rw"]}"#;
    edit_config(&bundle, bind, "");
    // Nor are device nodes made (issue 16): they would need a /dev of its own.
    let node = r#""devices":[{"path":"/dev/test1","type":"c","major":10,"minor":666}],"#;
    edit_config(
        &bundle,
        r#""namespaces":[]"#,
        &format!(r#"{node}"namespaces":[]"#),
    );
    let out = bundle.runtime(&t, &["create", "--bundle", bundle_dir, "i1"]);
    assert_refused(&out, "without a mount namespace of the container's own");
    edit_config(&bundle, node, "");
    let pid = created(&t, &bundle, "i1");
    for name in ["pid", "ipc", "uts", "cgroup", "net", "user", "mnt"] {
        let (theirs, ours) = (
            format!("/proc/{pid}/ns/{name}"),
            format!("/proc/self/ns/{name}"),
        );
        assert!(same_ns(&theirs, &ours), "{name}");
    }
    // Its root is the bundle's, chroot(2)ed into; nothing of it was mounted on the host.
    let root = fs::read_link(format!("/proc/{pid}/root")).unwrap();
    assert_eq!(root, bundle.dir.join("rootfs"));
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mountinfo.contains(bundle_dir), "{mountinfo}");
    delete(&t, &bundle, "i1", &["--force"]);
}

/// runtime-tools' `linux_uid_mappings` and `linux_ns_nopath`: a user namespace made
/// from the maps (the root filesystem used as it is: the bind on /mnt, the host root's,
/// is not the container root's to write), or joined by path.
#[test]
fn issue_16_user_namespaces_from_maps_or_by_path() {
    let t = TestEnv::new();
    let program = r#"["sh","-c","cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /mnt/x 2>/dev/null || echo denied"]"#;
    let bundle = Bundle::new(&t, program, "");
    let maps = r#""uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],"gidMappings":[{"containerID":0,"hostID":200000,"size":1000}],"#;
    let user = NAMESPACES.replace("]", r#",{"type":"user"}]"#);
    edit_config(&bundle, NAMESPACES, &format!("{maps}{user}"));
    let out = run_to_end(&t, &bundle, "u1");
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        words,
        ["0", "100000", "65536", "0", "200000", "1000", "0", "denied"],
        "{out}"
    );
    assert!(!bundle.dir.join("shared/x").exists());
    let holder = Holder::new(&["--user"]);
    // Written here, with setgroups(2) allowed in it (`unshare -r` denies it).
    let pid = holder.unshare.id();
    for map in ["uid_map", "gid_map"] {
        fs::write(format!("/proc/{pid}/{map}"), "0 300000 1000").unwrap();
    }
    let joined = NAMESPACES.replace(
        "]",
        &format!(r#",{{"type":"user","path":"{}"}}]"#, holder.ns("user")),
    );
    edit_config(&bundle, &format!("{maps}{user}"), &joined);
    edit_config(&bundle, program, r#"["sleep","1000"]"#);
    let pid = created(&t, &bundle, "u2");
    assert!(same_ns(&format!("/proc/{pid}/ns/user"), &holder.ns("user")));
    // `exec` joins it too, last.
    let out = bundle.runtime(&t, &["exec", "u2", "cat", "/proc/self/uid_map"]);
    let words: Vec<String> = stdout(&out).split_whitespace().map(String::from).collect();
    assert_eq!(words, ["0", "300000", "1000"], "{}", stderr(&out));
    delete(&t, &bundle, "u2", &["--force"]);
}

/// A caller that passes descriptors as conmon does for socket activation: a pipe's
/// write end on fd 3 and /dev/null on fd 4, to `create --preserve-fds 1` and to
/// `exec --preserve-fds 1`; then it kills the container and prints what came through
/// the pipe.
const PRESERVE_CALLER: &str = r#"
import ctypes, json, os, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
runtime, bundle, cid = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
r, w = os.pipe()
r2 = os.dup(r); os.close(r)
os.dup2(w, 3); os.close(w)
os.dup2(os.open("/dev/null", os.O_RDONLY), 4)
create = ["create", "--bundle", bundle, "--pid-file", bundle + "/pid", "--preserve-fds", "1", cid]
subprocess.run(runtime + create, check=True, pass_fds=(3, 4))
subprocess.run(runtime + ["start", cid], check=True)
program = "echo second >&3; [ -e /proc/self/fd/4 ] || echo no 4 >&3"
subprocess.run(runtime + ["exec", "--preserve-fds", "1", cid, "sh", "-c", program], check=True, pass_fds=(3, 4))
os.close(3)
subprocess.run(runtime + ["kill", cid, "KILL"], check=True)
os.waitpid(int(open(bundle + "/pid").read()), 0)
print(os.read(r2, 100).decode(), end="")
"#;

/// `--preserve-fds N` (conmon's, containerd's): fds 3 to 3+N-1 of the runtime reach
/// the container's process and an exec'd one; fd 3+N does not.
#[test]
fn issue_16_preserved_descriptors_reach_the_process() {
    let t = TestEnv::new();
    let program =
        r#"["sh","-c","echo first >&3; [ -e /proc/self/fd/4 ] || echo no 4 >&3; exec sleep 1000"]"#;
    let bundle = Bundle::new(&t, program, "");
    let out = bundle.call(&t, PRESERVE_CALLER, "p1");
    assert!(out.status.success(), "{}", stderr(&out));
    // The container's and the exec'd process's lines, in whichever order they ran.
    let text = stdout(&out);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["first", "no 4", "no 4", "second"], "{text}");
    delete(&t, &bundle, "p1", &[]);
}

/// Issue 17: a count of preserved descriptors past the open file limit names
/// descriptors that cannot be open; `create` and `exec` (in a container that exists)
/// refuse it in one line, instead of allocating room for each.
#[test]
fn issue_17_preserving_more_descriptors_than_can_be_open_is_refused() {
    let t = TestEnv::new();
    let bundle = Bundle::new(&t, r#"["sleep","1000"]"#, "");
    let huge = (i32::MAX - 3).to_string();
    let bundle_dir = bundle.dir.to_str().unwrap();
    let create = [
        "create",
        "--bundle",
        bundle_dir,
        "--preserve-fds",
        &huge,
        "f1",
    ];
    let out = bundle.runtime(&t, &create);
    assert_refused(&out, "below RLIMIT_NOFILE");
    assert!(!bundle.state.join("f1").exists());
    created(&t, &bundle, "f1");
    let out = bundle.runtime(&t, &["exec", "--preserve-fds", &huge, "f1", "true"]);
    assert_refused(&out, "--preserve-fds \"2147483644\": not a number");
    delete(&t, &bundle, "f1", &["--force"]);
}

/// The test's own cgroup in the tree at `tree` (/proc/self/cgroup; cgroups(7)), where
/// a relative `cgroupsPath` goes (on v2 its parent, as runc takes it).
fn own_cgroup(tree: &std::path::Path) -> Option<PathBuf> {
    let own = fs::read_to_string("/proc/self/cgroup").unwrap();
    let name = tree.file_name()?.to_str()?;
    let v2 = tree == std::path::Path::new("/sys/fs/cgroup");
    own.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':').skip(1);
        let (controllers, path) = (fields.next()?, fields.next()?);
        let ours = match v2 {
            true => controllers.is_empty(),
            // A named tree (`systemd`) is `name=systemd` there.
            false => name.split(',').all(|c| {
                let named = format!("name={c}");
                controllers.split(',').any(|n| n == c || n == named)
            }),
        };
        let path = PathBuf::from(path.trim_start_matches('/'));
        let path = if v2 { path.parent()?.into() } else { path };
        ours.then(|| tree.join(path))
    })
}

/// `delete --force id`, run from a cgroup of its own under the test's in each of
/// `trees` (but cpuset's, whose new cgroups have no CPUs to run on), one level deeper
/// (on v2 a relative path goes under the caller's parent): it finds the cgroup
/// `create` made, not one under its own (issue 16).
fn delete_from_another_cgroup(t: &TestEnv, bundle: &Bundle, trees: &[PathBuf], id: &str) -> Output {
    let other = format!("skiff-test-other-{}", std::process::id());
    let trees = trees
        .iter()
        .filter(|t| !t.to_string_lossy().contains("cpuset"));
    let dirs: Vec<PathBuf> = trees.map(|t| t.join(&other).join("inner")).collect();
    let mut script = String::new();
    for dir in &dirs {
        fs::create_dir_all(dir).unwrap();
        script += "echo $$ > ";
        script += dir.join("cgroup.procs").to_str().unwrap();
        script += " && ";
    }
    script += "exec \"$@\"";
    let state = bundle.state.to_str().unwrap();
    let out = Command::new("sh")
        .args(["-c", &script, "sh", &skiff_bin()])
        .args(["runtime", "--root", state, "delete", "--force", id])
        .env("SKIFF_ROOT", &t.root)
        .output()
        .unwrap();
    for dir in &dirs {
        let _ = fs::remove_dir(dir);
        let _ = fs::remove_dir(dir.parent().unwrap());
    }
    out
}

/// runtime-tools' `linux_cgroups_cpus`, `linux_cgroups_relative_cpus` and
/// `linux_cgroups_memory`: a relative `cgroupsPath` lies under the caller's own cgroup
/// in each tree, as runc 1.1 makes it, with the cpu settings as given (the period is
/// the config's, not Docker's 100 ms) and, on v1, swappiness and the OOM killer off;
/// `delete` from another cgroup removes it.
#[test]
fn a_relative_cgroups_path_with_cpu_and_memory_settings() {
    let t = TestEnv::new();
    let top = format!("skiff-test-rel-{}", std::process::id());
    let v2 = fs::metadata("/sys/fs/cgroup/cgroup.controllers").is_ok();
    let memory = match v2 {
        true => "",
        false => r#","memory":{"limit":50593792,"swappiness":10,"disableOOMKiller":true}"#,
    };
    let cpu = r#"{"shares":2048,"quota":50000,"period":500000,"cpus":"0","mems":"0"}"#;
    let linux = format!(r#""cgroupsPath":"{top}/c","resources":{{"cpu":{cpu}{memory}}},"#);
    let bundle = Bundle::new(&t, r#"["true"]"#, &linux);
    let out = bundle.create(&t, "rel1");
    let log = fs::read_to_string(bundle.dir.join("out")).unwrap();
    assert!(out.status.success(), "{log}");
    let trees: Vec<PathBuf> = cgroup_trees().filter_map(|t| own_cgroup(&t)).collect();
    let read = |file: &str| {
        let found = trees.iter().map(|t| t.join(&top).join("c").join(file));
        let text = found
            .filter_map(|path| fs::read_to_string(path).ok())
            .next();
        text.unwrap_or_default()
    };
    let expected: &[(&str, &str)] = match v2 {
        true => &[("cpu.max", "50000 500000\n"), ("cpuset.cpus", "0\n")],
        false => &[
            ("cpu.shares", "2048\n"),
            ("cpu.cfs_period_us", "500000\n"),
            ("cpu.cfs_quota_us", "50000\n"),
            ("cpuset.cpus", "0\n"),
            ("cpuset.mems", "0\n"),
            ("memory.swappiness", "10\n"),
        ],
    };
    let seen: Vec<(&str, String)> = expected.iter().map(|(f, _)| (*f, read(f))).collect();
    let oom = read("memory.oom_control");
    let cleanup = || {
        for tree in &trees {
            let _ = fs::remove_dir(tree.join(&top).join("c"));
            let _ = fs::remove_dir(tree.join(&top));
        }
    };
    let deleted = delete_from_another_cgroup(&t, &bundle, &trees, "rel1");
    let left: Vec<&PathBuf> = trees
        .iter()
        .filter(|t| t.join(&top).join("c").exists())
        .collect();
    cleanup();
    for ((file, want), (_, got)) in expected.iter().zip(&seen) {
        assert_eq!(got, want, "{file}");
    }
    assert!(v2 || oom.starts_with("oom_kill_disable 1\n"), "{oom}");
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert!(left.is_empty(), "left: {left:?}");
}

/// runtime-tools' `linux_devices`: nodes the host lacks are made in the container's
/// /dev with their type, numbers, mode and owner, as runc makes them, in a /dev that
/// is not `nodev` (runc's), and nowhere else; `skiff run`'s /dev stays `nodev`, as
/// Docker's.
#[test]
fn linux_devices_are_made_in_a_dev_as_runcs() {
    let t = TestEnv::new();
    let program = r#"["sh","-c","busybox stat -c '%n %F %t:%T %a %u:%g' /dev/test1 /dev/test2 /dev/test3; grep ' /dev tmpfs' /proc/mounts"]"#;
    let node = |path: &str, kind: &str, owner: &str| {
        format!(
            r#"{{"path":"{path}","type":"{kind}","major":10,"minor":666,"fileMode":432{owner}}}"#
        )
    };
    let devices = format!(
        r#""devices":[{},{},{}],"#,
        node("/dev/test1", "c", r#","uid":1,"gid":2"#),
        node("/dev/test2", "b", ""),
        node("/dev/test3", "p", "")
    );
    let bundle = Bundle::new(&t, program, &devices);
    let out = run_to_end(&t, &bundle, "dev1");
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("/dev/test1 character special file a:29a 660 1:2"),
        "{out}"
    );
    assert_eq!(
        lines.next(),
        Some("/dev/test2 block special file a:29a 660 0:0")
    );
    assert_eq!(lines.next(), Some("/dev/test3 fifo 0:0 660 0:0"), "{out}");
    let dev = lines.next().unwrap_or_default();
    assert!(
        dev.contains("rw,nosuid,") && !dev.contains("nodev"),
        "{out}"
    );
    // Outside /dev a node would land on the root's bind, `nodev`: refused by name.
    edit_config(&bundle, r#""path":"/dev/test3""#, r#""path":"/test3""#);
    let bundle_dir = bundle.dir.to_str().unwrap();
    let out = bundle.runtime(&t, &["create", "--bundle", bundle_dir, "dev2"]);
    assert_refused(&out, r#"linux.devices: "/test3""#);
    let run = t.skiff(&[
        "run",
        &t.image("library/busybox"),
        "grep",
        " /dev tmpfs",
        "/proc/mounts",
    ]);
    assert!(
        stdout(&run).contains("rw,nosuid,nodev,"),
        "{}",
        stderr(&run)
    );
}

/// Issue 17: where no devices guard holds (here no cgroup at all: its `cgroupsPath`
/// lies under a file, so mkdir(2) fails, and a container without limits runs without
/// one), a node the container makes must open nothing. Its /dev stays `nodev` and the
/// bundle's `linux.devices` are the host's nodes, bound; without a mount namespace
/// (nothing mounted, so nothing `nodev`) it gets no `CAP_MKNOD`, though asked.
#[test]
fn issue_17_without_a_devices_guard_a_node_made_opens_nothing() {
    let t = TestEnv::new();
    let program = r#"["sh","-c","grep ' /dev tmpfs' /proc/mounts; busybox mknod /dev/m c 1 3 && echo made; cat /dev/m && echo opened; : >/dev/kmsg && echo bound"]"#;
    let kmsg = r#"{"path":"/dev/kmsg","type":"c","major":1,"minor":11}"#;
    let linux = format!(r#""cgroupsPath":"/cgroup.procs/skiff-unguarded","devices":[{kmsg}],"#);
    let bundle = Bundle::new(&t, program, &linux);
    let mknod = r#"["CAP_MKNOD"]"#;
    let caps = format!(
        r#""cwd":"/","capabilities":{{"bounding":{mknod},"effective":{mknod},"permitted":{mknod}}}"#
    );
    edit_config(&bundle, r#""cwd":"/""#, &caps);
    let out = run_to_end(&t, &bundle, "ng1");
    assert!(
        out.starts_with("tmpfs /dev tmpfs rw,nosuid,nodev,"),
        "{out}"
    );
    assert!(
        out.contains("\nmade\n") && out.contains("\nbound\n"),
        "{out}"
    );
    assert!(!out.contains("opened"), "{out}");
    // Without a mount namespace: runtime-tools' `linux_ns_itype`, as in issue 16's test.
    let chrooted = r#"["sh","-c","busybox mknod /m c 1 3 && echo made || echo refused"]"#;
    edit_config(&bundle, program, chrooted);
    edit_config(&bundle, NAMESPACES, r#""namespaces":[]"#);
    edit_config(&bundle, r#""hostname":"held","#, "");
    let bind =
        r#",{"destination":"/mnt","type":"bind","source":"shared","options":["rbind","rw"]}"#;
    edit_config(&bundle, bind, "");
    // Nor devices, which need mounts (refused without a mount namespace of its own).
    edit_config(&bundle, &format!(r#""devices":[{kmsg}],"#), "");
    let out = run_to_end(&t, &bundle, "ng2");
    assert!(out.ends_with("refused\n"), "{out}");
    assert!(!bundle.dir.join("rootfs/m").exists());
}
