//! The image store: pulled once, run offline, never downloaded twice, and consistent
//! whatever happens to a pull.

use std::fs;
use std::process::Stdio;

use crate::testenv::{
    assert_one_line_error, blobs, harness, stderr, stdout, CountingProxy, TestEnv,
};

#[test]
fn a_cached_image_runs_without_the_network() {
    let t = TestEnv::new();
    let mirror = format!("http://{}", harness("SKIFF_TEST_PLAIN"));
    let out = t
        .command(&["pull", "busybox"])
        .env("SKIFF_REGISTRY_MIRROR", mirror)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Docker Hub's mirror is now a dead port: only the store can answer.
    let out = t
        .command(&["run", "busybox", "cat", "/etc/layer2"])
        .env("SKIFF_REGISTRY_MIRROR", "http://127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "layer2\n", "{}", stderr(&out));
}

#[test]
fn a_warm_pull_downloads_no_blob() {
    let t = TestEnv::new();
    let proxy = CountingProxy::start(&t, false);
    let image = format!("{}/library/alpine", proxy.address);
    let out = t.skiff(&["pull", "-q", &image]);
    assert_eq!(
        stdout(&out),
        format!("{image}:latest\n"),
        "{}",
        stderr(&out)
    );
    let cold = proxy.count("/blobs/");
    assert!(
        cold >= 2,
        "a cold pull fetches a config and layers, saw {cold}"
    );
    let out = t.skiff(&["run", "--pull=always", &image, "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        proxy.count("/blobs/"),
        cold,
        "the warm pull fetched a blob again"
    );
    assert!(
        proxy.count("/manifests/") > 2,
        "--pull=always asks the registry again"
    );
}

#[test]
fn pull_never_without_the_image_is_a_clear_error() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", "--pull=never", &t.image("library/busybox"), "true"]);
    assert_one_line_error(&out, "no such image");
    let out = t.skiff(&[
        "run",
        "--pull=sometimes",
        &t.image("library/busybox"),
        "true",
    ]);
    assert_one_line_error(&out, "invalid pull option");
}

#[test]
fn pull_images_and_rmi_round_trip() {
    let t = TestEnv::new();
    let busybox = t.image("library/busybox");
    let out = t.skiff(&["pull", &busybox]);
    let text = stdout(&out);
    assert!(
        text.starts_with("Digest: sha256:"),
        "{text}{}",
        stderr(&out)
    );
    assert!(text.ends_with(&format!("\n{busybox}:latest\n")));
    let listing = stdout(&t.skiff(&["images"]));
    let mut lines = listing.lines();
    assert!(lines.next().unwrap().starts_with("REPOSITORY"));
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[..2], [busybox.as_str(), "latest"]);
    assert_eq!(row[2].len(), 12, "IMAGE ID is 12 hex digits");
    assert_eq!(stdout(&t.skiff(&["images", "-q"])), format!("{}\n", row[2]));
    assert!(blobs(&t) >= 4);
    let out = t.skiff(&["rmi", &busybox]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(blobs(&t), 0, "rmi deletes the blobs no image needs");
    assert_eq!(stdout(&t.skiff(&["images", "-q"])), "");
    assert_one_line_error(&t.skiff(&["rmi", &busybox]), "no such image");
}

#[test]
fn rmi_keeps_blobs_another_tag_shares() {
    let t = TestEnv::new();
    for tag in ["latest", "oci"] {
        let out = t.skiff(&["pull", "-q", &t.image(&format!("library/busybox:{tag}"))]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let out = t.skiff(&["rmi", &t.image("library/busybox:latest")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let image = t.image("library/busybox:oci");
    let out = t.skiff(&["run", "--pull=never", &image, "cat", "/etc/layer2"]);
    assert_eq!(
        stdout(&out),
        "layer2\n",
        "the OCI tag's layers survived: {}",
        stderr(&out)
    );
}

#[test]
fn concurrent_pulls_of_one_image_both_succeed() {
    let t = TestEnv::new();
    let image = t.image("library/alpine");
    let pulls: Vec<_> = (0..2)
        .map(|_| {
            t.command(&["pull", "-q", &image])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for pull in pulls {
        let out = pull.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let out = t.skiff(&["run", "--pull=never", &image, "cat", "/etc/platform"]);
    assert_eq!(stdout(&out), "linux/amd64\n");
}

#[test]
fn a_pull_killed_mid_blob_leaves_a_store_the_next_pull_uses() {
    let t = TestEnv::new();
    let mut proxy = CountingProxy::start(&t, true);
    let image = format!("{}/library/busybox", proxy.address);
    let mut pull = t
        .command(&["pull", "-q", &image])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let line = proxy.next_stall();
    assert!(
        line.starts_with("stalled /v2/library/busybox/blobs/"),
        "{line}"
    );
    pull.kill().unwrap();
    pull.wait().unwrap();
    // Usually the half-written blob and the half-unpacked layer beside it (issue 15:
    // one pass) are in tmp/ now; not when the kill lands before skiff has read the
    // first bytes, which is a race this test cannot close.
    let leftovers = fs::read_dir(t.root.join("tmp")).unwrap().count();
    assert!(
        leftovers <= 2,
        "one pull, at most one temp blob and one temp layer"
    );
    // The same image from the registry itself: the debris is swept, the pull works.
    let out = t.skiff(&["run", &t.image("library/busybox"), "cat", "/etc/layer2"]);
    assert_eq!(stdout(&out), "layer2\n", "{}", stderr(&out));
    let swept = fs::read_dir(t.root.join("tmp")).unwrap().count();
    assert_eq!(swept, 0, "the next skiff swept the killed pull's debris");
}

/// Issue 12: a failed pull deletes what it wrote and nothing else: not content no image
/// needs (garbage collection is `rmi`'s), not an `--rm` container whose skiff died
/// (sweeping that is `ps`'s step, not a pull's).
#[test]
fn issue_12_a_failed_pull_deletes_only_what_it_wrote() {
    let t = TestEnv::new();
    let busybox = t.image("library/busybox");
    let id = t.skiff(&["create", "--rm", &busybox, "true"]);
    let id = stdout(&id).trim().to_string();
    t.record_died_unwatched(&id);
    let stray = t.root.join("blobs/sha256").join("0".repeat(64));
    fs::write(&stray, "no image needs this").unwrap();
    let listing = || {
        let mut names: Vec<_> = ["blobs/sha256", "layers"]
            .iter()
            .flat_map(|d| fs::read_dir(t.root.join(d)).unwrap().flatten())
            .map(|e| e.path())
            .collect();
        names.sort();
        names
    };
    let before = listing();

    // Its config arrives, then its layer breaks the size its descriptor gives.
    let out = t.skiff(&["pull", &t.image("hostile/wrong-size:smaller")]);
    assert_one_line_error(&out, "larger than");
    assert_eq!(listing(), before, "the pull took or left something");
    assert_eq!(t.containers(), [id], "a pull swept a container");

    let ps = t.skiff(&["ps", "-a"]);
    assert_eq!(
        stdout(&ps).lines().count(),
        1,
        "ps swept it: {}",
        stdout(&ps)
    );
    assert!(t.containers().is_empty());
}

/// Issue 15: a pull does not wait for its layers to reach the disk, but marks each with
/// the boot that wrote it. After a power cut, a layer marked by another boot may have
/// lost writes (here: its busybox cut to nothing): skiff unpacks it again from its
/// verified blob before a container uses it, and the next pull that writes settles
/// the marks.
#[test]
fn issue_15_a_layer_from_another_boot_that_lost_writes_is_unpacked_again() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let out = t.skiff(&["pull", "-q", &image]);
    assert!(out.status.success(), "{}", stderr(&out));
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let marks: Vec<_> = fs::read_dir(t.root.join("unsynced"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!marks.is_empty(), "a pull marks the layers it wrote");
    let busybox = marks
        .iter()
        .map(|m| {
            t.root
                .join("layers")
                .join(m.file_name().unwrap())
                .join("bin/busybox")
        })
        .find(|path| path.exists())
        .expect("a layer holds bin/busybox");
    let size = fs::metadata(&busybox).unwrap().len();
    for mark in &marks {
        assert_eq!(fs::read_to_string(mark).unwrap(), boot);
        fs::write(mark, "an earlier boot\n").unwrap();
    }
    fs::File::create(&busybox).unwrap(); // the lost write: the file is there, empty
    let out = t.skiff(&["run", "--rm", &image, "cat", "/etc/layer2"]);
    assert_eq!(stdout(&out), "layer2\n", "{}", stderr(&out));
    assert_eq!(
        fs::metadata(&busybox).unwrap().len(),
        size,
        "unpacked again"
    );
    for mark in &marks {
        assert_eq!(fs::read_to_string(mark).unwrap(), boot, "marked anew");
    }
    let out = t.skiff(&["pull", "-q", &t.image("library/alpine")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let left: Vec<_> = marks.iter().filter(|m| m.exists()).collect();
    assert!(
        left.is_empty(),
        "the next pull synced and unmarked {left:?}"
    );
}

/// Issue 15: the directories layers are unpacked in and containers are made in are tops
/// of directory hierarchies (`chattr +T`) where the filesystem keeps inode flags, so
/// ext4 gives each layer and each container a block group of its own rather than one
/// full of just-deleted inodes.
#[test]
fn issue_15_layers_and_containers_are_made_under_top_directories() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", "--rm", &t.image("library/busybox"), "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for dir in [t.root.join("tmp"), t.root.join("containers")] {
        let attrs = std::process::Command::new("lsattr")
            .arg("-d")
            .arg(&dir)
            .output()
            .unwrap();
        if !attrs.status.success() {
            return; // a filesystem without inode flags (tmpfs): nothing to mark
        }
        let flags = stdout(&attrs);
        let flags = flags.split_whitespace().next().unwrap_or_default();
        assert!(flags.contains('T'), "lsattr -d {}: {flags}", dir.display());
    }
}
