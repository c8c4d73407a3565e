//! `--userns=auto[:size=N]` (issue 17): the container's root is an unprivileged range of
//! host IDs. Seen from inside it is 0 and owns the image's files; seen from the host
//! it is a stranger: its processes, the files it writes to a volume, and what it can
//! reach of the host's files say so. Leases live in /run/skiff/userns, one per
//! container, given back by `rm`.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use crate::testenv::{
    assert_one_line_error, assert_refused, ok, run_sh, sh, sleeper, stderr, TestEnv, BUSYBOX,
};

/// The first line of `/proc/PID/uid_map` of the container's PID 1, as the host reads
/// it: `(inside, outside, count)`.
fn uid_map(t: &TestEnv, name: &str) -> (u32, u32, u32) {
    let pid = ok(t, &["inspect", "-f", "{{.State.Pid}}", name]);
    let map = fs::read_to_string(format!("/proc/{}/uid_map", pid.trim())).unwrap();
    let fields: Vec<u32> = map.split_whitespace().map(|f| f.parse().unwrap()).collect();
    (fields[0], fields[1], fields[2])
}

/// The real uid of the container's PID 1 in the host's eyes (`Uid:` in its status).
fn host_uid(t: &TestEnv, name: &str) -> u32 {
    let pid = ok(t, &["inspect", "-f", "{{.State.Pid}}", name]);
    let status = fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn root_inside_is_a_mapped_uid_outside_and_owns_the_image() {
    let t = TestEnv::new();
    sleeper(&t, "mapped", &["--userns=auto", "--tmpfs", "/t"], BUSYBOX);
    let (inside, outside, count) = uid_map(&t, "mapped");
    assert_eq!((inside, count), (0, 65536));
    assert!(outside >= 65536, "mapped onto {outside}");
    assert_eq!(host_uid(&t, "mapped"), outside);
    let probe = "id -u; id -g; stat -c '%u %g' /bin/busybox /; touch /new; stat -c %u /new";
    let seen = ok(&t, &["exec", "mapped", "sh", "-c", probe]);
    assert_eq!(seen, "0\n0\n0 0\n0 0\n0\n");
    // What Docker's root may change in its container, root inside may change here.
    let writes = "echo 10.0.0.9 x >>/etc/hosts && mkdir /dev/mine && touch /t/x \
                  && httpd -p 80 -h /t && echo wrote";
    assert_eq!(ok(&t, &["exec", "mapped", "sh", "-c", writes]), "wrote\n");
    assert_eq!(
        ok(
            &t,
            &["inspect", "-f", "{{.HostConfig.UsernsMode}}", "mapped"]
        ),
        "auto\n"
    );
    ok(&t, &["rm", "-f", "mapped"]);
}

#[test]
fn a_file_written_to_a_volume_belongs_to_the_mapped_uid() {
    let t = TestEnv::new();
    let script = "touch /data/f && cat /proc/self/uid_map";
    let map = sh(
        &t,
        &["--userns=auto", "-v", "skiff-test-userns:/data"],
        BUSYBOX,
        script,
    );
    let outside: u32 = map.split_whitespace().nth(1).unwrap().parse().unwrap();
    let file = t.root.join("volumes/skiff-test-userns/_data/f");
    assert_eq!(fs::metadata(file).unwrap().uid(), outside);
    ok(&t, &["volume", "rm", "skiff-test-userns"]);
}

#[test]
fn two_containers_get_disjoint_ranges_given_back_on_rm() {
    let t = TestEnv::new();
    sleeper(&t, "one", &["--userns=auto:size=1024"], BUSYBOX);
    sleeper(&t, "two", &["--userns=auto"], BUSYBOX);
    let (_, first, size) = uid_map(&t, "one");
    let (_, second, _) = uid_map(&t, "two");
    assert_eq!(size, 1024);
    let disjoint = first + 1024 <= second || second + 65536 <= first;
    assert!(disjoint, "{first}+1024 and {second}+65536 overlap");
    let id = ok(&t, &["inspect", "-f", "{{.Id}}", "one"]);
    let held_by_one = || {
        let leases = fs::read_dir("/run/skiff/userns").unwrap();
        leases.flatten().any(|lease| {
            let text = fs::read_to_string(lease.path()).unwrap_or_default();
            text.ends_with(id.trim())
        })
    };
    assert!(held_by_one(), "no lease names {}", id.trim());
    ok(&t, &["rm", "-f", "one", "two"]);
    assert!(!held_by_one(), "rm left the lease of {}", id.trim());
}

/// A reboot empties /run/skiff/userns but not the store: the next lease relearns the
/// range a stopped container recorded, so a new container takes another range and the
/// old one, started again, keeps its own (its upper layer is owned by it). Only the
/// old container's lease is removed, as a reboot would: the directory is shared with
/// tests running beside this one.
#[test]
fn a_lease_lost_at_reboot_is_relearned_from_the_store() {
    let t = TestEnv::new();
    let id = sleeper(&t, "old", &["--userns=auto:size=1024"], BUSYBOX);
    let (_, before, _) = uid_map(&t, "old");
    ok(&t, &["stop", "-t", "0", "old"]);
    for lease in fs::read_dir("/run/skiff/userns").unwrap().flatten() {
        if fs::read_to_string(lease.path())
            .unwrap_or_default()
            .ends_with(&id)
        {
            fs::remove_file(lease.path()).unwrap();
        }
    }
    sleeper(&t, "new", &["--userns=auto:size=1024"], BUSYBOX);
    ok(&t, &["start", "old"]);
    assert_eq!(uid_map(&t, "old").1, before, "old moved");
    let (_, new, _) = uid_map(&t, "new");
    assert!(
        new + 1024 <= before || before + 1024 <= new,
        "{new} overlaps {before}"
    );
    ok(&t, &["rm", "-f", "old", "new"]);
}

/// A host file only root may read, and a host directory only root may write, bound
/// into the container, and a node for the host's disk: its root gets none of them,
/// even `--privileged`, as the host's root does without `--userns`.
#[test]
fn root_inside_is_a_stranger_to_the_hosts_files() {
    let t = TestEnv::new();
    let secret = t.root.join("secret");
    fs::write(&secret, "host secret\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let dir = t.root.join("host-dir");
    fs::create_dir(&dir).unwrap();
    let binds = [
        format!("{}:/secret", secret.display()),
        format!("{}:/host-dir", dir.display()),
    ];
    let script = "cat /secret; touch /host-dir/planted; echo $?; mknod /disk b 8 0 && echo made";
    let flags = ["-v", &binds[0], "-v", &binds[1]];
    let host = sh(&t, &flags, BUSYBOX, script);
    assert_eq!(host, "host secret\n0\nmade\n");
    fs::remove_file(dir.join("planted")).unwrap();
    for extra in [&[][..], &["--privileged"][..]] {
        let flags = [&["--userns=auto"][..], extra, &flags[..]].concat();
        let out = run_sh(&t, &flags, BUSYBOX, script);
        let err = stderr(&out);
        assert!(err.contains("Permission denied"), "{extra:?}: {err}");
        assert_eq!(crate::testenv::stdout(&out), "1\n", "{extra:?}: {err}");
        assert!(
            !Path::new(&dir.join("planted")).exists(),
            "{extra:?} planted a file"
        );
    }
}

#[test]
fn userns_host_is_the_default_and_a_bad_mode_is_refused() {
    let t = TestEnv::new();
    sleeper(&t, "shared", &["--userns=host"], BUSYBOX);
    assert_eq!(host_uid(&t, "shared"), 0);
    assert_eq!(
        ok(
            &t,
            &["inspect", "-f", "{{.HostConfig.UsernsMode}}", "shared"]
        ),
        "\n"
    );
    ok(&t, &["rm", "-f", "shared"]);
    let image = t.image(BUSYBOX);
    let out = t.skiff(&["run", "--rm", "--userns=keep-id", &image, "true"]);
    assert_one_line_error(&out, "--userns");
}

/// podman's `--uidmap`/`--gidmap CONTAINER:HOST:SIZE`: the maps as given, no lease;
/// `--gidmap` alone serves for both.
#[test]
fn uidmap_and_gidmap_map_what_they_say() {
    let t = TestEnv::new();
    let script = "cat /proc/self/uid_map /proc/self/gid_map; stat -c '%u %g' /bin/busybox";
    let flags = ["--uidmap", "0:200000:1000", "--gidmap", "0:300000:2000"];
    let seen = sh(&t, &flags, BUSYBOX, script);
    let words: Vec<&str> = seen.split_whitespace().collect();
    assert_eq!(
        words,
        ["0", "200000", "1000", "0", "300000", "2000", "0", "0"]
    );
    let seen = sh(
        &t,
        &["--gidmap", "0:300000:2000"],
        BUSYBOX,
        "cat /proc/self/uid_map",
    );
    assert_eq!(
        seen.split_whitespace().collect::<Vec<_>>(),
        ["0", "300000", "2000"]
    );
    let image = t.image(BUSYBOX);
    let both = [
        "run",
        "--rm",
        "--userns=auto",
        "--uidmap",
        "0:1:1",
        &image,
        "true",
    ];
    assert_one_line_error(&t.skiff(&both), "--uidmap");
}

/// A stopped container with its own user namespace is mounted apart without its range
/// of IDs: `cp` out of it works, `cp` into it is refused in one line, not written as
/// the host's root (nobody inside).
#[test]
fn cp_into_a_stopped_userns_container_is_refused() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    ok(
        &t,
        &["create", "--name", "idle", "--userns=auto", &image, "true"],
    );
    let host = t.root.join("passwd");
    ok(&t, &["cp", "idle:/etc/passwd", host.to_str().unwrap()]);
    assert!(fs::read_to_string(&host).unwrap().starts_with("root:"));
    let out = t.skiff(&["cp", host.to_str().unwrap(), "idle:/tmp/"]);
    assert_refused(&out, "its own user namespace while it is not running");
    ok(&t, &["rm", "idle"]);
}

/// Where user namespaces are refused (here: in a chroot, where unshare(2) says EPERM;
/// likewise with `max_user_namespaces` 0 or a seccomp filter), `--userns=auto` fails
/// in one line: the child that could not unshare exits at once, so skiff does not
/// wait on it forever. The chroot is an rbind of `/` in a private mount namespace
/// (unshare(1) -m), gone with it.
#[test]
fn userns_refused_by_the_kernel_is_one_line_not_a_hang() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    ok(&t, &["pull", &image]);
    let jail = t.root.join("jail");
    fs::create_dir(&jail).unwrap();
    let skiff = t.command(&["run", "--rm", "--userns=auto", &image, "true"]);
    let mut chrooted = Command::new("unshare");
    let script = r#"mount --rbind / "$0" && exec chroot "$0" "$@""#;
    chrooted.args(["-m", "sh", "-c", script]).arg(&jail);
    chrooted.arg(skiff.get_program()).args(skiff.get_args());
    for (key, value) in skiff.get_envs() {
        match value {
            Some(value) => chrooted.env(key, value),
            None => chrooted.env_remove(key),
        };
    }
    let out = chrooted.output().unwrap();
    assert_one_line_error(&out, "unshare(CLONE_NEWUSER) failed");
    fs::remove_dir(&jail).unwrap();
}

/// Each entry of a tar stream that `keep` names: `NAME UID GID`.
fn owners(tar: &[u8], keep: &[&str]) -> Vec<String> {
    let mut archive = tar::Archive::new(tar);
    let entries = archive.entries().unwrap().map(|e| e.unwrap());
    let lines = entries.map(|e| {
        let name = e.path().unwrap().display().to_string();
        let header = e.header();
        let (uid, gid) = (header.uid().unwrap(), header.gid().unwrap());
        format!("{} {uid} {gid}", name.trim_end_matches('/'))
    });
    lines
        .filter(|l| keep.contains(&l.split(' ').next().unwrap()))
        .collect()
}

/// A `--userns=auto` container stores what it makes under host IDs (its root is
/// 1000000000 or so), but `cp`, `export` and `commit` show its own IDs, as Docker's do
/// with userns-remap; what `cp` writes into it, running, is its root's.
#[test]
fn cp_export_and_commit_show_the_containers_own_ids() {
    let t = TestEnv::new();
    sleeper(&t, "own", &["--userns=auto"], BUSYBOX);
    let made = "touch /made && mkdir /d && chown 5:6 /d && echo made";
    assert_eq!(ok(&t, &["exec", "own", "sh", "-c", made]), "made\n");
    let cp_out = |what: &str| t.skiff(&["cp", &format!("own:/{what}"), "-"]).stdout;
    assert_eq!(owners(&cp_out("d"), &["d"]), ["d 5 6"]);
    assert_eq!(owners(&cp_out("made"), &["made"]), ["made 0 0"]);
    let host = t.root.join("in");
    fs::write(&host, "in\n").unwrap();
    ok(&t, &["cp", host.to_str().unwrap(), "own:/in"]);
    let seen = ok(&t, &["exec", "own", "stat", "-c", "%u %g", "/in"]);
    assert_eq!(seen, "0 0\n", "cp in: the container's root's");

    ok(&t, &["commit", "own", "skiff-test-userns-commit:1"]);
    let script = "stat -c '%n %u %g' /made /d /in";
    let committed = [
        "run",
        "--rm",
        "skiff-test-userns-commit:1",
        "sh",
        "-c",
        script,
    ];
    let seen = ok(&t, &committed);
    assert_eq!(seen, "/made 0 0\n/d 5 6\n/in 0 0\n");
    ok(&t, &["stop", "-t", "0", "own"]);
    let exported = t.skiff(&["export", "own"]).stdout;
    let seen = owners(&exported, &["made", "d", "bin/busybox", "."]);
    assert_eq!(seen, [". 0 0", "bin/busybox 0 0", "d 5 6", "made 0 0"]);
    assert_eq!(owners(&cp_out("d"), &["d"]), ["d 5 6"], "stopped");
    ok(&t, &["rm", "own"]);
    ok(&t, &["rmi", "skiff-test-userns-commit:1"]);
}
