//! skiff as an OCI runtime (`skiff runtime …`, or a `skiff-runtime` link): a bundle of
//! the harness's busybox (/bin/busybox from busybox-static, as in its images) and a
//! config.json written here, driven as conmon drives runc: `create`, `state`, `start`,
//! `kill`, `delete`. A small Python caller plays conmon's part: it is the child
//! subreaper that the container's PID 1 passes to when `create` exits, and it reaps it.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::{Command, Output};

use crate::testenv::{cgroups_of, stderr, stdout, TestEnv};

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

struct Bundle {
    dir: PathBuf,
    state: PathBuf,
}

impl Bundle {
    /// A bundle in the test's directory: busybox as its root, `shared/` bound on its
    /// /mnt (the root itself is never written), and a config.json running `args`, with
    /// `linux` extra fields in `linux`.
    fn new(t: &TestEnv, args: &str, linux: &str) -> Bundle {
        let dir = t.root.join("bundle");
        let bin = dir.join("rootfs/bin");
        fs::create_dir_all(&bin).unwrap();
        fs::create_dir_all(dir.join("shared")).unwrap();
        fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
        for applet in ["sh", "echo", "sleep", "touch", "hostname", "true", "grep"] {
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

    fn create(&self, t: &TestEnv, id: &str) -> Output {
        let bundle = self.dir.to_str().unwrap();
        // Not pipes: the container holds its stdout and stderr open until it exits.
        let out = fs::File::create(self.dir.join("out")).unwrap();
        t.command(&["runtime", "--root", self.state.to_str().unwrap()])
            .args(["create", "--bundle", bundle, id])
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .output()
            .unwrap()
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
    let runtime = format!(
        r#"["{}","runtime","--root","{}"]"#,
        skiff_bin(),
        bundle.state.display()
    );
    let caller = t.root.join("caller.py");
    fs::write(&caller, CALLER).unwrap();
    let out = Command::new("python3")
        .arg(&caller)
        .args([&runtime, bundle.dir.to_str().unwrap(), "c1"])
        .output()
        .unwrap();
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
    let bundle = Bundle::new(&t, r#"["true"]"#, r#""seccomp":{},"#);
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
        "skiff: config.json: linux.seccomp is not supported by skiff yet\n"
    );
    let logged = fs::read_to_string(&log).unwrap();
    assert!(
        logged.starts_with(r#"{"level":"error","msg":"config.json: linux.seccomp is not supported by skiff yet","time":""#),
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
