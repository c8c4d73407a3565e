//! Inspecting and moving things (issue 18): `cp` both ways, `diff`, `export`, `top`.
//! The hostile-symlink tests put a canary file on the host and check that no copy ever
//! reads it or writes it, through the running and the stopped path alike.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::lifecycle::await_line;
use crate::testenv::ok;
use crate::testenv::{assert_refused, stderr, TestEnv};

/// A stopped container `name` whose command made `script`'s files, and a host
/// directory for copies.
fn made(t: &TestEnv, name: &str, script: &str) -> PathBuf {
    let image = t.image("library/busybox");
    ok(t, &["run", "--name", name, &image, "sh", "-c", script]);
    let host = t.root.join("host");
    fs::create_dir_all(&host).unwrap();
    host
}

fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path).unwrap()
}

/// A tar header as tar(1) writes them: every numeric field filled.
fn header(kind: tar::EntryType, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_600_000_000);
    header
}

/// `skiff cp - DEST` with `tar` on its stdin.
fn cp_stdin(t: &TestEnv, dest: &str, tar: &[u8]) -> Output {
    let mut cp = t.command(&["cp", "-", dest]);
    let mut child = cp
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(tar).unwrap();
    child.wait_with_output().unwrap()
}

/// The names in a tar stream, in order.
fn names(tar: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(tar);
    let entries = archive.entries().unwrap();
    entries
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .map(|name| name.trim_end_matches('/').to_string())
        .collect()
}

#[test]
fn cp_out_follows_dockers_rules_for_files_directories_and_dot() {
    let t = TestEnv::new();
    let script = "mkdir -p /d/sub && echo hi > /d/f && echo deep > /d/sub/g";
    let host = made(&t, "cp-out", script);
    let h = |p: &str| host.join(p).display().to_string();
    ok(&t, &["cp", "cp-out:/d/f", &h("f2")]);
    assert_eq!(read(host.join("f2")), "hi\n");
    ok(&t, &["cp", "cp-out:d/f", &h("")]); // relative to /; into a directory
    assert_eq!(read(host.join("f")), "hi\n");
    ok(&t, &["cp", "cp-out:/d", &h("new")]); // a new name: the directory's contents
    assert_eq!(read(host.join("new/sub/g")), "deep\n");
    ok(&t, &["cp", "cp-out:/d", &h("new")]); // now it exists: copied into it
    assert_eq!(read(host.join("new/d/f")), "hi\n");
    fs::create_dir(host.join("dot")).unwrap();
    ok(&t, &["cp", "cp-out:/d/.", &h("dot")]);
    assert_eq!(read(host.join("dot/f")), "hi\n");
    assert!(!host.join("dot/d").exists());
    for (from, to, refusal) in [
        ("cp-out:/d", "f2", "cannot copy a directory"),
        ("cp-out:/nope", "x", "No such container:path: cp-out:/nope"),
        ("cp-out:/d/f", "missing/x", "no such directory"),
        ("cp-out:/d/f/", "x", "Not a directory"),
        ("nosuch:/d", "x", "No such container: nosuch"),
    ] {
        assert_refused(&t.skiff(&["cp", from, &h(to)]), refusal);
    }
    let owner = fs::metadata(host.join("new/sub/g")).unwrap();
    assert_eq!((owner.uid(), owner.gid()), (0, 0));
    let tar = t.skiff(&["cp", "cp-out:/d", "-"]);
    assert_eq!(tar.status.code(), Some(0), "{}", stderr(&tar));
    assert_eq!(names(&tar.stdout), ["d", "d/f", "d/sub", "d/sub/g"]);
    ok(&t, &["rm", "cp-out"]);
}

#[test]
fn cp_in_writes_a_stopped_and_a_running_container_as_root() {
    let t = TestEnv::new();
    let host = made(&t, "cp-in", "[ -e /go ] && exec sleep 1000; true");
    fs::write(host.join("note"), "from host\n").unwrap();
    let note = host.join("note").display().to_string();
    ok(&t, &["cp", &note, "cp-in:/tmp/"]);
    ok(&t, &["cp", &note, "cp-in:/go"]);
    ok(&t, &["start", "cp-in"]);
    assert_eq!(
        ok(&t, &["exec", "cp-in", "cat", "/tmp/note"]),
        "from host\n"
    );
    assert_eq!(
        ok(&t, &["exec", "cp-in", "stat", "-c", "%u:%g", "/go"]),
        "0:0\n"
    );
    ok(&t, &["cp", &note, "cp-in:/tmp/running"]);
    assert_eq!(
        ok(&t, &["exec", "cp-in", "cat", "/tmp/running"]),
        "from host\n"
    );
    let mut tar = tar::Builder::new(Vec::new());
    let mut file = header(tar::EntryType::Regular, 3);
    tar.append_data(&mut file, "streamed", &b"abc"[..]).unwrap();
    let tar = tar.into_inner().unwrap();
    let out = cp_stdin(&t, "cp-in:/tmp", &tar);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ok(&t, &["exec", "cp-in", "cat", "/tmp/streamed"]), "abc");
    assert_refused(
        &t.skiff(&["cp", &note, "cp-in:/nodir/x"]),
        "no such directory",
    );
    ok(&t, &["rm", "-f", "cp-in"]);
}

/// Symlinks in the container that would lead to the host's `/`, `..` above the root
/// or a host path: no copy reads the canary or writes over it, stopped or running.
#[test]
fn cp_never_reads_or_writes_the_host_through_a_containers_symlinks() {
    let t = TestEnv::new();
    let canary = t.root.join("canary");
    fs::write(&canary, "host secret\n").unwrap();
    let c = canary.display().to_string();
    let links = format!(
        "mkdir -p {root}; ln -s / /rootlink; ln -s ../../../../../.. /up; ln -s {c} /hostlink; \
         ln -s {root} /hostdir; [ -e /go ] && exec sleep 1000; true",
        root = t.root.display()
    );
    let host = made(&t, "cp-evil", &links);
    fs::write(host.join("bad"), "overwritten\n").unwrap();
    let bad = host.join("bad").display().to_string();
    let out = host.join("out");
    let o = out.display().to_string();
    for round in ["stopped", "running"] {
        let sources = [
            format!("/rootlink{c}"),
            format!("/up{c}"),
            "/hostdir/canary".into(),
        ];
        for src in &sources {
            let got = t.skiff(&["cp", &format!("cp-evil:{src}"), &o]);
            match round {
                // Nothing is there yet in the container: the host's file is not found.
                "stopped" => assert_refused(&got, "No such container:path"),
                _ => assert_eq!(read(&out), "overwritten\n", "{src}: {}", stderr(&got)),
            }
        }
        let followed = t.skiff(&["cp", "-L", "cp-evil:/hostlink", &o]);
        if round == "stopped" {
            assert_refused(&followed, "No such container:path");
            assert!(!out.exists());
        }
        for dest in [
            format!("/rootlink{c}"),
            format!("/up{c}"),
            "/hostlink".into(),
        ] {
            ok(&t, &["cp", &bad, &format!("cp-evil:{dest}")]);
            assert_eq!(
                read(&canary),
                "host secret\n",
                "{round}: {dest} wrote the host"
            );
        }
        if round == "stopped" {
            ok(&t, &["cp", &bad, "cp-evil:/go"]);
            ok(&t, &["start", "cp-evil"]);
        }
    }
    let inside = ok(&t, &["exec", "cp-evil", "cat", &c]);
    assert_eq!(inside, "overwritten\n"); // it landed in the container's own tree
    ok(&t, &["rm", "-f", "cp-evil"]);
    assert_eq!(read(&canary), "host secret\n");
}

/// A tar stream into the container is unpacked with the layers' rules: `..` refused,
/// a symlink entry leads inside the container, host devices never made.
#[test]
fn cp_from_stdin_unpacks_hostile_entries_inside_the_container() {
    let t = TestEnv::new();
    let canary = t.root.join("canary");
    fs::write(&canary, "host secret\n").unwrap();
    made(&t, "cp-tar", "true");
    let mut tar = tar::Builder::new(Vec::new());
    let mut link = header(tar::EntryType::Symlink, 0);
    tar.append_link(&mut link, "esc", &t.root).unwrap();
    let mut file = header(tar::EntryType::Regular, 4);
    tar.append_data(&mut file, "esc/canary", &b"bad\n"[..])
        .unwrap();
    let mut node = header(tar::EntryType::Char, 0);
    node.set_device_major(1).unwrap();
    node.set_device_minor(1).unwrap();
    tar.append_data(&mut node, "mem", &b""[..]).unwrap();
    let tar = tar.into_inner().unwrap();
    let feed = |bytes: &[u8]| cp_stdin(&t, "cp-tar:/", bytes);
    let out = feed(&tar);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(read(&canary), "host secret\n");
    let back = t.root.join("back");
    ok(
        &t,
        &[
            "cp",
            &format!("cp-tar:{}", canary.display()),
            &back.display().to_string(),
        ],
    );
    assert_eq!(read(&back), "bad\n");
    let mem = t.skiff(&["cp", "cp-tar:/mem", "-"]);
    assert_refused(&mem, "No such container:path");
    let mut dotdot = header(tar::EntryType::Regular, 0);
    dotdot.as_mut_bytes()[..12].copy_from_slice(b"../../escape");
    dotdot.set_cksum();
    let mut evil = dotdot.as_bytes().to_vec();
    evil.extend_from_slice(&[0; 1024]);
    assert_refused(&feed(&evil), "..");
    ok(&t, &["rm", "cp-tar"]);
}

/// `tar c a b | skiff cp - c:/dest`, b a hard link to a: /dest/b is linked to /dest/a,
/// as in Docker, not to the container's own /a; a link target the stream did not place
/// is refused.
#[test]
fn cp_from_stdin_links_hard_links_inside_the_destination() {
    let t = TestEnv::new();
    // Started again once /go is there, it only sleeps: a script that wrote /a again
    // would race `exec cat /a` below.
    let script = "[ -e /go ] && exec sleep 1000; mkdir /dest; echo container > /a";
    let host = made(&t, "cp-link", script);
    fs::write(host.join("a"), "streamed\n").unwrap();
    fs::hard_link(host.join("a"), host.join("b")).unwrap();
    let tar = Command::new("tar")
        .args(["-C", &host.display().to_string(), "-c", "a", "b"])
        .output()
        .unwrap();
    assert!(tar.status.success(), "{}", stderr(&tar));
    let out = cp_stdin(&t, "cp-link:/dest", &tar.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    ok(
        &t,
        &["cp", &host.join("a").display().to_string(), "cp-link:/go"],
    );
    ok(&t, &["start", "cp-link"]);
    let stat = ["exec", "cp-link", "stat", "-c", "%i %h"];
    let inodes = ok(&t, &[&stat[..], &["/dest/a", "/dest/b", "/a"]].concat());
    let inodes: Vec<&str> = inodes.lines().collect();
    assert_eq!(inodes[0], inodes[1], "{inodes:?}");
    assert!(
        inodes[0].ends_with(" 2") && inodes[2].ends_with(" 1"),
        "{inodes:?}"
    );
    assert_eq!(ok(&t, &["exec", "cp-link", "cat", "/a"]), "container\n");
    let mut stray = tar::Builder::new(Vec::new());
    let mut link = header(tar::EntryType::Link, 0);
    stray.append_link(&mut link, "c", "etc/passwd").unwrap();
    let out = cp_stdin(&t, "cp-link:/dest", &stray.into_inner().unwrap());
    assert_refused(&out, "hard link target /dest/etc/passwd: No such file");
    ok(&t, &["rm", "-f", "cp-link"]);
}

#[test]
fn diff_lists_added_changed_and_deleted_paths_in_dockers_order() {
    let t = TestEnv::new();
    let script = "echo x > /tmp/new; rm /etc/group; echo y >> /etc/passwd; mkdir /newdir";
    let host = made(&t, "diff", script);
    // Copied into /dev of the stopped container, a file is a change like any other: only
    // what skiff made to mount on is left out (as `commit` leaves it out).
    fs::write(host.join("x"), "x").unwrap();
    ok(
        &t,
        &["cp", &host.join("x").display().to_string(), "diff:/dev/x"],
    );
    let want =
        "C /dev\nA /dev/x\nC /etc\nD /etc/group\nC /etc/passwd\nA /newdir\nC /tmp\nA /tmp/new\n";
    assert_eq!(ok(&t, &["diff", "diff"]), want);
    ok(&t, &["rm", "diff"]);
}

#[test]
fn export_is_the_merged_filesystem_without_volumes() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let script =
        "echo x > /tmp/new; rm /etc/group; echo kept > /data/v; echo ready; exec sleep 1000";
    ok(
        &t,
        &[
            "run",
            "-d",
            "--name",
            "exp",
            "-v",
            "skiff-test-exp:/data",
            &image,
            "sh",
            "-c",
            script,
        ],
    );
    let file = t.root.join("exp.tar");
    fs::write(&file, "kept").unwrap();
    let typo = t.skiff(&["export", "-o", &file.display().to_string(), "exq"]);
    assert!(
        stderr(&typo).contains("No such container: exq"),
        "{}",
        stderr(&typo)
    );
    assert_eq!(read(&file), "kept", "a failed export overwrote -o's file");
    drop(await_line(&t, "exp", "ready"));
    ok(&t, &["export", "-o", &file.display().to_string(), "exp"]);
    let tar = fs::read(&file).unwrap();
    let listed = names(&tar);
    for present in ["tmp/new", "etc/passwd", "bin/busybox"] {
        assert!(listed.iter().any(|n| n == present), "{present} missing");
    }
    for absent in ["etc/group", "data/v"] {
        assert!(!listed.iter().any(|n| n == absent), "{absent} exported");
    }
    let piped = t.skiff(&["export", "exp"]);
    assert_eq!(piped.stdout, tar);
    ok(&t, &["rm", "-f", "-v", "exp"]);
    ok(&t, &["volume", "rm", "skiff-test-exp"]);
}

#[test]
fn top_lists_the_containers_processes_in_ps_ef_columns() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    ok(&t, &["run", "-d", "--name", "top", &image, "sleep", "1000"]);
    let pid = ok(&t, &["inspect", "-f", "{{.State.Pid}}", "top"]);
    let out = ok(&t, &["top", "top"]);
    let mut lines = out.lines();
    let header = "UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD";
    assert_eq!(lines.next(), Some(header));
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!((row[0], row[1]), ("root", pid.trim()));
    assert_eq!(row[5..], ["?", "00:00:00", "sleep", "1000"]);
    assert_eq!(lines.next(), None);
    let custom = ok(&t, &["top", "top", "-o", "pid,comm"]);
    assert_eq!(
        custom,
        format!("PID                 COMMAND\n{:<20}sleep\n", pid.trim())
    );
    ok(&t, &["stop", "-t", "0", "top"]);
    assert_refused(&t.skiff(&["top", "top"]), "is not running");
    ok(&t, &["rm", "top"]);
}
