//! skiff as containerd's runtime: Debian's containerd, started here on its own socket
//! with its root and state in the test's directory, pulls busybox from the harness's
//! plain registry, and `ctr run --runc-binary` hands each container to containerd's
//! runc shim (`io.containerd.runc.v2`), which calls skiff as it calls runc:
//! `--root R --log F --log-format json create --bundle B --pid-file P ID`, `start ID`,
//! `kill ID SIGNAL`, `exec --process F --detach --pid-file P ID`, `delete [--force] ID`.
//! skiff is found by the name of a link, `skiff-runtime`, as a cluster's
//! `options.BinaryName` would name it.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use crate::testenv::{
    cgroup_trees, cgroups_of, eventually, harness, stderr, stdout, TestEnv, BUSYBOX,
};

/// One containerd for one test. Dropped, it deletes what is left of its containers,
/// then stops: no shim, mount or state of skiff's outlives it.
pub struct Containerd {
    dir: PathBuf,
    daemon: Child,
    /// containerd's namespace, the test directory's name: containers' `cgroupsPath` is
    /// `/NAMESPACE/ID`, and the NAMESPACE cgroup it leaves is this test's to remove.
    namespace: String,
    pub image: String,
}

impl Containerd {
    /// containerd with a config of its own: the CRI plugin (Kubernetes' API, which
    /// needs a CNI setup) is off, and overlayfs snapshots, which it mounts only while
    /// a container exists, live under the test's directory.
    pub fn start(t: &TestEnv) -> Containerd {
        let dir = t.root.join("containerd");
        fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        let config = format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{d}/sock\"\n[ttrpc]\n  address = \"{d}/sock.ttrpc\"\n"
        );
        fs::write(dir.join("config.toml"), config).unwrap();
        symlink(skiff_bin(), dir.join("skiff-runtime")).unwrap();
        let log = fs::File::create(dir.join("containerd.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let image = format!("{}/{BUSYBOX}:latest", harness("SKIFF_TEST_PLAIN"));
        let namespace = t.root.file_name().unwrap().to_string_lossy().into_owned();
        let containerd = Containerd {
            dir,
            daemon,
            namespace,
            image,
        };
        eventually("containerd answers", || {
            containerd.ctr(&["version"]).status.success()
        });
        let out = containerd.ctr(&["images", "pull", "--plain-http", &containerd.image]);
        assert!(out.status.success(), "{}", stderr(&out));
        containerd
    }

    /// `ctr --address SOCK ARGS…`.
    pub fn ctr(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The command behind [`Containerd::ctr`], its output piped.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut ctr = Command::new("ctr");
        ctr.arg("--address").arg(self.dir.join("sock"));
        ctr.args(["--namespace", &self.namespace]).args(args);
        ctr.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        ctr
    }

    /// `ctr run` with skiff as the runc shim's runtime: `ctr run FLAGS IMAGE ID ARGS…`.
    pub fn run(&self, flags: &[&str], id: &str, args: &[&str]) -> Output {
        let binary = self.dir.join("skiff-runtime");
        let root = self.dir.join("runtime");
        let mut all = vec!["run", "--runtime", "io.containerd.runc.v2"];
        all.extend(["--runc-binary", binary.to_str().unwrap()]);
        all.extend(["--runc-root", root.to_str().unwrap()]);
        all.extend(flags);
        all.extend([self.image.as_str(), id]);
        all.extend(args);
        self.ctr(&all)
    }

    /// The state directories skiff keeps (its `--root`, in the shim's namespace).
    pub fn runtime_states(&self) -> Vec<String> {
        let dir = self.dir.join("runtime").join(&self.namespace);
        fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// The PIDs of this containerd's shims (their command line names its socket).
    pub fn shims(&self) -> Vec<String> {
        let sock = self.dir.join("sock");
        let sock = sock.to_string_lossy();
        fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                let cmdline = fs::read(e.path().join("cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline);
                cmdline.starts_with("/usr/bin/containerd-shim") && cmdline.contains(&*sock)
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// A task's status as `ctr task ls` prints it (RUNNING, STOPPED, …), or "".
    pub fn status(&self, id: &str) -> String {
        let listing = stdout(&self.ctr(&["task", "ls"]));
        let line = listing
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id));
        let status = line.and_then(|l| l.split_whitespace().nth(2));
        status.unwrap_or_default().to_string()
    }

    /// Deletes task and container `id` as a user would, and checks skiff left
    /// nothing of it: no state, no cgroup, no shim.
    pub fn remove(&self, id: &str) {
        let out = self.ctr(&["task", "rm", id]);
        assert!(out.status.success(), "task rm: {}", stderr(&out));
        let out = self.ctr(&["container", "rm", id]);
        assert!(out.status.success(), "container rm: {}", stderr(&out));
        self.assert_gone(id);
    }

    /// Nothing of container `id` is left: no state of skiff's, no cgroup (at
    /// `cgroupsPath` or at `skiff/ID`), no shim.
    pub fn assert_gone(&self, id: &str) {
        assert_eq!(self.runtime_states(), Vec::<String>::new());
        let mut cgroups = cgroups_of(id);
        cgroups.extend(
            self.namespace_cgroups()
                .map(|tree| tree.join(id))
                .filter(|d| d.exists())
                .map(|d| d.display().to_string()),
        );
        assert_eq!(cgroups, Vec::<String>::new());
        eventually("the shim has exited", || self.shims().is_empty());
    }

    /// The namespace's cgroup in each tree (v2: /sys/fs/cgroup; v1: each controller's).
    fn namespace_cgroups(&self) -> impl Iterator<Item = PathBuf> + '_ {
        cgroup_trees()
            .map(|tree| tree.join(&self.namespace))
            .filter(|dir| dir.is_dir())
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // A failed test may leave tasks: end them, so their shims unmount and exit.
        let listing = stdout(&self.ctr(&["container", "ls", "-q"]));
        for id in listing.split_whitespace() {
            self.ctr(&["task", "rm", "--force", id]);
            self.ctr(&["container", "rm", id]);
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        // As runc, skiff leaves the parents of a `cgroupsPath` (the kubelet or
        // containerd made them, and removes them): here that is the namespace's.
        for dir in self.namespace_cgroups().collect::<Vec<_>>() {
            let _ = fs::remove_dir(dir);
        }
    }
}

fn skiff_bin() -> String {
    std::env::var("SKIFF_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_skiff").into())
}

#[test]
fn ctr_run_shows_output_and_exit_code() {
    let t = TestEnv::new();
    let containerd = Containerd::start(&t);
    let script = "echo out from pid $$; echo err >&2; exit 3";
    let out = containerd.run(&["--rm"], "r1", &["sh", "-c", script]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "out from pid 1\n");
    assert_eq!(stderr(&out), "err\n");
    assert_eq!(stdout(&containerd.ctr(&["container", "ls", "-q"])), "");
    containerd.assert_gone("r1");
}

#[test]
fn ctr_task_kill_ends_a_detached_task() {
    let t = TestEnv::new();
    let containerd = Containerd::start(&t);
    // PID 1 has no default action for SIGTERM: the shell's trap is what ends it.
    let script = "trap 'exit 7' TERM; sleep 1000 & wait";
    let out = containerd.run(&["-d"], "k1", &["sh", "-c", script]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(containerd.status("k1"), "RUNNING");
    // `attach` waits for the task and exits with its status (containerd answers a
    // wait for a task that has ended already with the status it kept); as seen
    // here, it then deletes the task too.
    let attach = containerd
        .command(&["task", "attach", "k1"])
        .spawn()
        .unwrap();
    let out = containerd.ctr(&["task", "kill", "k1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = attach.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(containerd.status("k1"), "");
    let out = containerd.ctr(&["container", "rm", "k1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // SIGKILL, and the task waits, stopped, for `ctr task rm`.
    let out = containerd.run(&["-d"], "k2", &["sleep", "1000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = containerd.ctr(&["task", "kill", "--signal", "SIGKILL", "k2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    eventually("k2 has stopped", || containerd.status("k2") == "STOPPED");
    containerd.remove("k2");
    containerd.assert_gone("k1");
}

#[test]
fn ctr_task_exec_runs_in_the_container() {
    let t = TestEnv::new();
    let containerd = Containerd::start(&t);
    let out = containerd.run(&["-d"], "x1", &["sleep", "1000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let script = "echo in $(readlink /proc/1/exe) as pid $$ of $(cat /proc/1/cmdline); exit 4";
    let out = containerd.ctr(&["task", "exec", "--exec-id", "e1", "x1", "sh", "-c", script]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    // Its own process, in the container's PID namespace, beside its PID 1.
    let text = stdout(&out);
    assert!(text.starts_with("in /bin/busybox as pid "), "{text}");
    assert!(text.ends_with(" of sleep1000\n"), "{text}");
    assert!(!text.contains("as pid 1 "), "{text}");
    let out = containerd.ctr(&["task", "kill", "--signal", "SIGKILL", "x1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    eventually("x1 has stopped", || containerd.status("x1") == "STOPPED");
    containerd.remove("x1");
}
