//! `ctr task exec` through containerd's runc shim: the shim writes the process as
//! JSON and calls `skiff-runtime exec --process F --detach --pid-file P ID`.
//! Not yet in tests/main.rs: skiff-runtime's `exec` comes with branch `oci-term`;
//! add `mod containerd_exec;` there when it lands.

use crate::containerd::Containerd;
use crate::testenv::{stderr, stdout, TestEnv};

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
    crate::testenv::eventually("x1 has stopped", || containerd.status("x1") == "STOPPED");
    containerd.remove("x1");
}
