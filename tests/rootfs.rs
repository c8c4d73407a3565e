//! `skiff run --rootfs DIR`: a plain directory (busybox and its applet links, as in
//! tests/oci.rs) as the container's root, the lower layer of an overlay whose upper is
//! skiff's own, so the directory is never written; and paths in it that point out of
//! it lead nowhere on the host.

use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};

use crate::testenv::{
    assert_one_line_error, blobs, inspect_field, ok, ok_silent, stderr, stdout, TestEnv, BUSYBOX,
};

/// `ROOT/rootfs`: /bin/busybox and the applets the tests run.
fn busybox_dir(t: &TestEnv) -> PathBuf {
    let dir = t.root.join("rootfs");
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    fs::create_dir_all(dir.join("etc")).unwrap();
    fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
    for applet in ["sh", "echo", "cat", "rm", "chmod", "sleep", "touch"] {
        symlink("busybox", bin.join(applet)).unwrap();
    }
    fs::write(dir.join("etc/motd"), "before\n").unwrap();
    dir
}

/// Every entry under `dir`: its path, mode, owner, mtime and what it holds (a file's
/// bytes, a link's target).
fn walk(dir: &Path) -> Vec<(PathBuf, u32, u32, i64, Vec<u8>)> {
    let mut entries = Vec::new();
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let meta = fs::symlink_metadata(&path).unwrap();
        let held = match meta.file_type() {
            t if t.is_symlink() => fs::read_link(&path).unwrap().into_os_string().into_vec(),
            t if t.is_file() => fs::read(&path).unwrap(),
            _ => Vec::new(),
        };
        entries.push((path.clone(), meta.mode(), meta.uid(), meta.mtime(), held));
        if meta.is_dir() {
            entries.extend(walk(&path));
        }
    }
    entries
}

#[test]
fn rootfs_runs_a_directory_and_leaves_it_unmodified() {
    let t = TestEnv::new();
    let dir = busybox_dir(&t);
    let root = dir.to_str().unwrap();
    let before = walk(&dir);
    let hi = ok(&t, &["run", "--rm", "--rootfs", root, "echo", "hi"]);
    assert_eq!(hi, "hi\n");
    let script = "echo after > /etc/motd && touch /new && rm /bin/cat && chmod 700 /bin && exit 7";
    let out = t.skiff(&["run", "--rm", "--rootfs", root, "sh", "-c", script]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(walk(&dir), before);
    assert_eq!(
        fs::read_to_string(dir.join("etc/motd")).unwrap(),
        "before\n"
    );
}

#[test]
fn rootfs_detached_container_lists_stops_and_goes() {
    let t = TestEnv::new();
    let dir = busybox_dir(&t);
    let root = dir.to_str().unwrap();
    ok_silent(&t, &["pull", "-q", &t.image(BUSYBOX)]);
    let id = ok(&t, &["run", "-d", "--rootfs", root, "sleep", "1000"]);
    let id = id.trim();
    let listed = ok(&t, &["ps", "--format", "{{.Image}}"]);
    assert_eq!(listed, format!("{root}\n"));
    assert_eq!(inspect_field(&t, id, "Config.Image"), root);
    let ancestor = format!("ancestor={root}");
    let filtered = ok(&t, &["ps", "-q", "--filter", &ancestor]);
    assert_eq!(filtered.trim(), &id[..12]);
    // No image to commit onto, and none that garbage collection must keep for it.
    let commit = t.skiff(&["commit", id, "made"]);
    assert_one_line_error(&commit, "not an image");
    ok_silent(&t, &["rmi", &t.image(BUSYBOX)]);
    assert_eq!(blobs(&t), 0);
    ok(&t, &["stop", "-t", "1", id]);
    ok(&t, &["rm", id]);
    assert_eq!(t.containers(), Vec::<String>::new());
}

#[test]
fn rootfs_that_is_missing_a_file_or_the_host_root_is_refused() {
    let t = TestEnv::new();
    let missing = t.root.join("missing");
    let file = t.root.join("file");
    fs::write(&file, "").unwrap();
    for (dir, what) in [
        (missing.to_str().unwrap(), "No such file"),
        (file.to_str().unwrap(), "is not a directory"),
        ("/", "the host's /"),
    ] {
        let out = t.skiff(&["run", "--rm", "--rootfs", dir, "true"]);
        assert_one_line_error(&out, what);
    }
    assert_eq!(t.containers(), Vec::<String>::new());
}

/// `etc/hosts -> /etc/passwd` and `etc -> /`: skiff's /etc files are bound onto targets
/// resolved inside the root, so the host's files are neither shown nor written.
#[test]
fn rootfs_symlinks_out_of_the_root_do_not_reach_the_host() {
    let passwd = fs::read("/etc/passwd").unwrap();
    for hostile in ["hosts", "etc"] {
        let t = TestEnv::new();
        let dir = busybox_dir(&t);
        match hostile {
            "hosts" => symlink("/etc/passwd", dir.join("etc/hosts")).unwrap(),
            _ => {
                fs::remove_dir_all(dir.join("etc")).unwrap();
                symlink("/", dir.join("etc")).unwrap();
            }
        }
        let root = dir.to_str().unwrap();
        let script = "cat /etc/hosts; echo written >> /etc/hosts; echo written >> /etc/passwd";
        let out = t.skiff(&["run", "--rm", "--rootfs", root, "sh", "-c", script]);
        assert!(
            stdout(&out).contains("localhost"),
            "{hostile}: {}",
            stderr(&out)
        );
        assert!(
            !stdout(&out).contains("root:"),
            "{hostile}: {}",
            stdout(&out)
        );
        assert_eq!(fs::read("/etc/passwd").unwrap(), passwd, "{hostile}");
    }
}
