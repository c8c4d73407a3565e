//! `run`'s flags that Docker scripts lean on: labels, `--cidfile`, rlimits, groups,
//! /dev/shm's size, namespaced sysctls.

use std::fs;

use crate::lifecycle::ok;
use crate::testenv::{assert_one_line_error, stderr, stdout, TestEnv};

/// `skiff run --rm FLAGS busybox sh -c SCRIPT`, which must succeed: its stdout.
fn sh(t: &TestEnv, flags: &[&str], script: &str) -> String {
    let image = t.image("library/busybox");
    let args = [
        &["run", "--rm"],
        flags,
        &[image.as_str(), "sh", "-c", script],
    ]
    .concat();
    ok(t, &args)
}

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
