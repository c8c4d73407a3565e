//! `run`'s flags that Docker scripts lean on: labels, `--cidfile`, rlimits, groups,
//! /dev/shm's size, namespaced sysctls.

use std::fs;

use crate::testenv::{assert_one_line_error, ok, sh, TestEnv, BUSYBOX};

#[test]
fn labels_merge_over_the_images_and_show_in_inspect() {
    let t = TestEnv::new();
    let file = t.root.join("labels");
    fs::write(&file, "# a comment\nfrom.file=1\ntier=file\nbare\n").unwrap();
    let file = file.to_str().unwrap();
    let image = t.image("library/web");
    ok(
        &t,
        &[
            "create",
            "--name",
            "l",
            "--label-file",
            file,
            "-l",
            "tier=flag",
            &image,
        ],
    );
    let json = ok(&t, &["inspect", "l"]);
    let want = r#""Labels":{"bare":"","from.file":"1","maintainer":"skiff tests","tier":"flag"}"#;
    assert!(json.contains(want), "{json}");
    let ps = |filter: &str| {
        ok(
            &t,
            &["ps", "-a", "--filter", filter, "--format", "{{.Names}}"],
        )
    };
    assert_eq!(ps("label=tier=flag"), "l\n");
    assert_eq!(ps("label=bare"), "l\n");
    assert_eq!(ps("label=tier=file"), "");
    let labels = ok(&t, &["ps", "-a", "-f", "name=l", "--format", "{{.Labels}}"]);
    assert!(labels.contains("tier=flag"), "{labels}");
}

#[test]
fn cidfile_holds_the_id_and_is_never_overwritten() {
    let t = TestEnv::new();
    let cidfile = t.root.join("cid");
    let path = cidfile.to_str().unwrap();
    let image = t.image("library/busybox");
    let id = ok(&t, &["create", "--cidfile", path, &image, "true"]);
    assert_eq!(fs::read_to_string(&cidfile).unwrap(), id.trim());
    let again = t.skiff(&["run", "--rm", "--cidfile", path, &image, "true"]);
    assert_one_line_error(&again, "container ID file found");
    assert_eq!(fs::read_to_string(&cidfile).unwrap(), id.trim());
    let nowhere = t.root.join("new-cid");
    let failed = t.skiff(&[
        "run",
        "--cidfile",
        nowhere.to_str().unwrap(),
        "--pull",
        "never",
        "nosuch",
        "true",
    ]);
    assert_eq!(failed.status.code(), Some(125));
    assert!(!nowhere.exists(), "a failed create leaves no ID file");
}

#[test]
fn ulimits_oom_score_and_shm_size_reach_the_command() {
    let t = TestEnv::new();
    let flags = [
        "--ulimit",
        "nofile=100:200",
        "--ulimit",
        "core=0",
        "--oom-score-adj",
        "500",
        "--shm-size",
        "2m",
    ];
    let script = "ulimit -n; ulimit -Hn; ulimit -c; cat /proc/self/oom_score_adj; \
                  df -k /dev/shm | tail -1 | awk '{print $2}'";
    assert_eq!(sh(&t, &flags, BUSYBOX, script), "100\n200\n0\n500\n2048\n");
    let shm = "df -k /dev/shm | tail -1 | awk '{print $2}'";
    assert_eq!(
        sh(&t, &[], BUSYBOX, shm),
        "65536\n",
        "Docker's default: 64m"
    );
    for (flag, value, why) in [
        ("--ulimit", "files=1", "invalid ulimit type: files"),
        (
            "--ulimit",
            "nofile=2:1",
            "soft limit must be less than or equal",
        ),
        (
            "--oom-score-adj",
            "1001",
            "range for oom score adj is [-1000, 1000]",
        ),
        ("--shm-size", "-1", "invalid size \"-1\" for --shm-size"),
    ] {
        let out = t.skiff(&["run", flag, value, &t.image("library/busybox"), "true"]);
        assert_one_line_error(&out, why);
    }
}

#[test]
fn group_add_joins_groups_by_name_or_number() {
    let t = TestEnv::new();
    let image = t.image("library/users");
    let args = ["run", "--rm", "--group-add", "audio", "--group-add", "4242"];
    let out = ok(
        &t,
        &[&args[..], &["-u", "app", &image, "id", "-G"]].concat(),
    );
    // id(1): the primary group, then the list as the kernel keeps it (sorted).
    assert_eq!(
        out, "1000 29 50 4242\n",
        "its own groups, and the added ones"
    );
    let out = ok(&t, &[&args[..], &[&image, "id", "-G"]].concat());
    assert_eq!(out, "0 29 4242\n");
    let out = t.skiff(&["run", "--rm", "--group-add", "ghosts", &image, "true"]);
    assert_one_line_error(&out, "unable to find group ghosts");
}

#[test]
fn namespaced_sysctls_are_set_inside_only() {
    let t = TestEnv::new();
    let port_start = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
    let host_before = fs::read_to_string(port_start).unwrap();
    let flags = [
        "--network",
        "none",
        "--sysctl",
        "net.ipv4.ip_unprivileged_port_start=80",
        "--sysctl",
        "kernel.shmmni=100",
    ];
    let script = format!("cat {port_start} /proc/sys/kernel/shmmni");
    assert_eq!(sh(&t, &flags, BUSYBOX, &script), "80\n100\n");
    assert_eq!(fs::read_to_string(port_start).unwrap(), host_before);
    assert_ne!(
        fs::read_to_string("/proc/sys/kernel/shmmni").unwrap(),
        "100\n"
    );
    let image = t.image("library/busybox");
    for (flags, why) in [
        (&["--sysctl", "kernel.hostname=x"][..], "is not allowed"),
        (&["--sysctl", "vm.swappiness=1"][..], "is not allowed"),
        (
            &["--network", "host", "--sysctl", "net.ipv4.ip_forward=0"][..],
            "host's network namespace",
        ),
    ] {
        let out = t.skiff(&[&["run", "--rm"], flags, &[image.as_str(), "true"]].concat());
        assert_one_line_error(&out, why);
    }
}
