//! Images as files: `save` → `load` keeps every digest, a real `docker save`-format
//! archive (written by skopeo) loads, and a rootfs tarball imports.

use std::fs;
use std::process::{Command, Stdio};

use crate::testenv::{assert_one_line_error, harness, stderr, stdout, TestEnv};

fn repositories(t: &TestEnv) -> String {
    fs::read_to_string(t.root.join("repositories.json")).unwrap_or_default()
}

#[test]
fn save_then_load_preserves_digests() {
    let t = TestEnv::new();
    let busybox = t.image("library/busybox");
    let alpine = t.image("library/alpine");
    for image in [&busybox, &alpine] {
        assert_eq!(t.skiff(&["pull", "-q", image]).status.code(), Some(0));
    }
    let before = repositories(&t);
    let archive = t.root.join("images.tar");
    let out = t.skiff(&["save", "-o", archive.to_str().unwrap(), &busybox, &alpine]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(t.skiff(&["rmi", &busybox, &alpine]).status.code(), Some(0));
    assert_eq!(
        fs::read_dir(t.root.join("blobs/sha256")).unwrap().count(),
        0
    );
    let out = t.skiff(&["load", "-i", archive.to_str().unwrap()]);
    assert_eq!(
        stdout(&out),
        format!("Loaded image: {busybox}:latest\nLoaded image: {alpine}:latest\n"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        repositories(&t),
        before,
        "the same manifest digests, byte for byte"
    );
    let out = t.skiff(&["run", "--pull=never", &alpine, "cat", "/etc/platform"]);
    assert_eq!(stdout(&out), "linux/amd64\n", "{}", stderr(&out));
}

#[test]
fn save_streams_to_a_pipe_that_load_reads() {
    let t = TestEnv::new();
    let image = t.image("library/busybox:oci");
    assert_eq!(t.skiff(&["pull", "-q", &image]).status.code(), Some(0));
    let mut save = t
        .command(&["save", &image])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let other = TestEnv::new();
    let out = other
        .command(&["load"])
        .stdin(Stdio::from(save.stdout.take().unwrap()))
        .output()
        .unwrap();
    assert!(save.wait().unwrap().success());
    assert_eq!(
        stdout(&out),
        format!("Loaded image: {image}\n"),
        "{}",
        stderr(&out)
    );
    let out = other.skiff(&["run", "--pull=never", &image, "cat", "/etc/layer2"]);
    assert_eq!(stdout(&out), "layer2\n");
}

#[test]
fn a_docker_archive_written_by_skopeo_loads() {
    let t = TestEnv::new();
    let archive = t.root.join("skopeo.tar");
    let source = format!(
        "docker://{}/library/busybox:latest",
        harness("SKIFF_TEST_PLAIN")
    );
    let destination = format!("docker-archive:{}:saved/busybox:v1", archive.display());
    let copied = Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            &source,
            &destination,
        ])
        .output()
        .unwrap();
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    let out = t.skiff(&["load", "-i", archive.to_str().unwrap()]);
    assert_eq!(
        stdout(&out),
        "Loaded image: docker.io/saved/busybox:v1\n",
        "{}",
        stderr(&out)
    );
    let out = t.skiff(&[
        "run",
        "--pull=never",
        "saved/busybox:v1",
        "sh",
        "-c",
        "cat /etc/layer2; ls /etc/opaque",
    ]);
    assert_eq!(stdout(&out), "layer2\nnew\n", "{}", stderr(&out));
}

#[test]
fn a_rootfs_tarball_imports_as_an_image() {
    let t = TestEnv::new();
    let rootfs = t.root.join("rootfs");
    fs::create_dir_all(rootfs.join("bin")).unwrap();
    let explorer = format!("{}/docker-explorer", harness("SKIFF_TEST_HARNESS"));
    fs::copy(explorer, rootfs.join("bin/explorer")).unwrap();
    let tarball = t.root.join("rootfs.tar.gz");
    let packed = Command::new("tar")
        .args([
            "-czf",
            tarball.to_str().unwrap(),
            "-C",
            rootfs.to_str().unwrap(),
            ".",
        ])
        .status()
        .unwrap();
    assert!(packed.success());
    let out = t.skiff(&["import", tarball.to_str().unwrap(), "imported:v1"]);
    assert!(stdout(&out).starts_with("sha256:"), "{}", stderr(&out));
    let out = t.skiff(&[
        "run",
        "--pull=never",
        "imported:v1",
        "explorer",
        "echo",
        "imported",
    ]);
    assert_eq!(stdout(&out), "imported\n", "{}", stderr(&out));
}

#[test]
fn an_archive_entry_that_climbs_out_is_refused() {
    let t = TestEnv::new();
    let staging = t.root.join("evil");
    fs::create_dir_all(&staging).unwrap();
    fs::write(staging.join("x"), "x").unwrap();
    let archive = t.root.join("evil.tar");
    // GNU tar keeps `../` in names with -P; a loader must not follow them.
    let packed = Command::new("tar")
        .args([
            "-cPf",
            archive.to_str().unwrap(),
            &format!("{}/../evil/x", staging.display()),
        ])
        .status()
        .unwrap();
    assert!(packed.success());
    let out = t.skiff(&["load", "-i", archive.to_str().unwrap()]);
    assert_one_line_error(&out, "unexpected archive entry");
}
