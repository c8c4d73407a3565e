//! `--device`, and the devices guard in every container's cgroup (issue 18): Docker's
//! default nodes and `--device`'s may be opened, with the access given, no other.

use std::path::Path;

use crate::testenv::{assert_one_line_error, stderr, stdout, TestEnv};
use crate::testenv::{ok, run_sh, BUSYBOX};

#[test]
fn a_device_appears_where_asked_and_the_guard_allows_dockers_list_plus_it() {
    let t = TestEnv::new();
    let flags = [
        "--device",
        "/dev/null:/dev/mynull",
        "--device",
        "/dev/kmsg:/dev/k:r",
    ];
    let script = "echo hi >/dev/mynull && echo written; ls -l /dev/mynull | cut -c1; \
                  mknod /tmp/disk b 8 0 && echo made; \
                  cat /sys/fs/cgroup/devices/devices.list 2>/dev/null";
    let out = run_sh(&t, &flags, BUSYBOX, script);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("written"));
    assert_eq!(lines.next(), Some("c"), "a character device: {text}");
    assert_eq!(lines.next(), Some("made"), "any node may be made (b *:* m)");
    if Path::new("/sys/fs/cgroup/devices/devices.list").exists() {
        let list: Vec<&str> = lines.collect();
        let want = [
            "c *:* m",
            "b *:* m",
            "c 1:3 rwm",
            "c 1:5 rwm",
            "c 1:7 rwm",
            "c 1:8 rwm",
            "c 1:9 rwm",
            "c 5:0 rwm",
            "c 5:1 rwm",
            "c 5:2 rwm",
            "c 136:* rwm",
            "c 10:200 rwm",
            "c 1:11 r",
        ];
        assert_eq!(list, want, "v1: Docker's defaults, then --device's");
    }
}

#[test]
fn the_guard_refuses_what_a_device_was_not_given_and_privileged_has_none() {
    let t = TestEnv::new();
    // The kernel's log, given read-only: writing it is refused by the guard before
    // the driver sees it (/dev/null's rwm is Docker's default: it would merge).
    let flags = ["--device", "/dev/kmsg:/dev/k:r"];
    let out = run_sh(&t, &flags, BUSYBOX, "echo skiff-devices-test >/dev/k");
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "write is refused with EPERM: {}",
        stderr(&out)
    );
    let privileged = run_sh(
        &t,
        &["--privileged", flags[0], flags[1]],
        BUSYBOX,
        "echo skiff-devices-test >/dev/k",
    );
    assert_eq!(privileged.status.code(), Some(0), "{}", stderr(&privileged));
    let pty = ok(
        &t,
        &["run", "--rm", "-t", &t.image("library/busybox"), "tty"],
    );
    assert!(pty.starts_with("/dev/pts/"), "ptys stay allowed: {pty}");
}

#[test]
fn bad_devices_are_refused_before_anything_runs() {
    let t = TestEnv::new();
    for (spec, why) in [
        (
            "/dev/null:/dev/x:rwx",
            "invalid device \"/dev/null:/dev/x:rwx\": bad permissions",
        ),
        ("/dev/null:/proc/x", "bad container path"),
        ("/etc/hostname", "not a device node"),
        ("/dev/nonexistent", "--device /dev/nonexistent"),
    ] {
        let out = t.skiff(&["run", "--device", spec, &t.image("library/busybox"), "true"]);
        assert_one_line_error(&out, why);
    }
}
