//! Volumes (issue 14): `-v NAME:/path`, copy-up from the image, anonymous volumes,
//! `volume create/ls/rm/inspect`, `rm -v`, and what `rmi` leaves alone. Each test
//! names its volumes `skiff-test-*` and removes them: the teardown fails a test whose
//! store still holds one.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::testenv::{
    assert_one_line_error, assert_refused, ok, sh, stderr, stdout, TestEnv, BUSYBOX,
};

fn data(t: &TestEnv, name: &str) -> PathBuf {
    t.root.join("volumes").join(name).join("_data")
}

fn volumes(t: &TestEnv) -> Vec<String> {
    let listed = ok(t, &["volume", "ls", "-q"]);
    listed.lines().map(String::from).collect()
}

#[test]
fn data_written_by_one_container_is_read_by_the_next() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let write = "echo kept > /data/note";
    sh(&t, &["-v", "skiff-test-data:/data"], BUSYBOX, write);
    assert_eq!(volumes(&t), ["skiff-test-data"]);
    let read = ["run", "--rm", "-v", "skiff-test-data:/data:ro", &image];
    assert_eq!(
        ok(&t, &[&read[..], &["cat", "/data/note"]].concat()),
        "kept\n"
    );
    let out = t.skiff(&[&read[..], &["touch", "/data/other"]].concat());
    assert_ne!(out.status.code(), Some(0), "a :ro volume took a write");
    assert_eq!(
        fs::read_to_string(data(&t, "skiff-test-data").join("note")).unwrap(),
        "kept\n"
    );
    assert_eq!(
        ok(&t, &["volume", "rm", "skiff-test-data"]),
        "skiff-test-data\n"
    );
    assert!(volumes(&t).is_empty());
}

#[test]
fn a_new_volume_is_filled_from_the_image_with_owners_modes_and_links() {
    let t = TestEnv::new();
    let busybox = t.image("library/busybox");
    // /etc/opaque holds `new` (the upper layer's); /var holds the link run -> /run.
    let args = [
        "run",
        "--rm",
        "-v",
        "skiff-test-etc:/etc/opaque",
        "-v",
        "skiff-test-var:/var",
    ];
    let list = "ls /etc/opaque; readlink /var/run";
    assert_eq!(
        ok(&t, &[&args[..], &[&busybox, "sh", "-c", list]].concat()),
        "new\n/run\n"
    );
    assert_eq!(
        fs::read_link(data(&t, "skiff-test-var").join("run")).unwrap(),
        Path::new("/run")
    );
    // Not empty any more: a later container's image content does not replace what it holds.
    fs::write(data(&t, "skiff-test-etc").join("new"), "changed\n").unwrap();
    let cat = [&args[..], &[&busybox, "cat", "/etc/opaque/new"]].concat();
    assert_eq!(ok(&t, &cat), "changed\n");
    // The volume takes the image directory's owner and mode, as Docker's, and so do
    // the files copied into it.
    let image = t.image("hostile/volume");
    let stat = ["stat", "-c", "%u:%g %a", "/data", "/data/file"];
    let owned = [
        &["run", "--rm", "-v", "skiff-test-owned:/data", &image][..],
        &stat,
    ]
    .concat();
    assert_eq!(ok(&t, &owned), "1000:50 750\n1000:50 640\n");
    let meta = fs::metadata(data(&t, "skiff-test-owned")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (1000, 50, 0o750)
    );
    let all = [
        "volume",
        "rm",
        "skiff-test-etc",
        "skiff-test-var",
        "skiff-test-owned",
    ];
    ok(&t, &all);
}

/// A hostile image's volume content aims out of the root, and a volume is mounted on a
/// symlink that does: the host's file is neither read into the volume nor written.
#[test]
fn a_hostile_images_links_never_lead_a_volume_to_the_host() {
    let canary = Path::new("/tmp/skiff-volume-canary");
    let _ = fs::remove_dir_all(canary);
    fs::create_dir(canary).unwrap();
    fs::write(canary.join("secret"), "host\n").unwrap();
    let t = TestEnv::new();
    let image = t.image("hostile/volume");
    let attack = "cat /data/file; readlink /data/escape; ls -A /link
        echo owned > /data/escape/secret; echo owned > /data/up/tmp/skiff-volume-canary/secret
        echo owned > /link/written; true";
    let args = [
        "run",
        "--rm",
        "-v",
        "skiff-test-data:/data",
        "-v",
        "skiff-test-link:/link",
    ];
    let out = t.skiff(&[&args[..], &[&image, "sh", "-c", attack]].concat());
    let host = fs::read_dir(canary)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect::<Vec<_>>();
    let secret = fs::read_to_string(canary.join("secret")).unwrap();
    let _ = fs::remove_dir_all(canary);
    assert_eq!(
        stdout(&out),
        "the image's\n/tmp/skiff-volume-canary\n",
        "{}",
        stderr(&out)
    );
    assert_eq!(
        (secret.as_str(), host.len()),
        ("host\n", 1),
        "the host's canary changed"
    );
    let link = data(&t, "skiff-test-data").join("escape");
    assert_eq!(
        fs::read_link(link).unwrap(),
        canary,
        "the link is copied as a link"
    );
    // Inside the container every link leads to its own /tmp/skiff-volume-canary: the
    // volume mounted there through /link.
    let mut written: Vec<_> = fs::read_dir(data(&t, "skiff-test-link"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(written, ["secret", "written"]);
    ok(&t, &["volume", "rm", "skiff-test-data", "skiff-test-link"]);
}

#[test]
fn a_volume_in_use_is_not_removed() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let id = ok(
        &t,
        &["create", "-v", "skiff-test-used:/data", &image, "true"],
    );
    let out = t.skiff(&["volume", "rm", "skiff-test-used"]);
    assert_refused(
        &out,
        &format!("remove skiff-test-used: volume is in use - [{}]", id.trim()),
    );
    assert_eq!(volumes(&t), ["skiff-test-used"]);
    assert_refused(
        &t.skiff(&["volume", "rm", "skiff-test-none"]),
        "No such volume: skiff-test-none",
    );
    ok(&t, &["volume", "rm", "-f", "skiff-test-none"]);
    ok(&t, &["rm", id.trim()]);
    ok(&t, &["volume", "rm", "skiff-test-used"]);
}

/// `-v /path` makes an anonymous volume: `rm -v` and `--rm` remove those, and never a
/// named one.
#[test]
fn rm_v_removes_anonymous_volumes_and_keeps_named_ones() {
    let t = TestEnv::new();
    let image = t.image("hostile/volume");
    let flags = ["-v", "/data", "-v", "skiff-test-named:/named"];
    let id = ok(&t, &[&["create"][..], &flags, &[&image, "true"]].concat());
    let listed = volumes(&t);
    let anonymous = listed
        .iter()
        .find(|v| v.len() == 64)
        .expect("an anonymous volume");
    assert_eq!(listed, [anonymous.as_str(), "skiff-test-named"]);
    let inspect = ok(&t, &["inspect", id.trim()]);
    for (name, destination) in [
        (anonymous.as_str(), "/data"),
        ("skiff-test-named", "/named"),
    ] {
        let mount = format!(
            r#"{{"Type":"volume","Name":"{name}","Source":"{}","Destination":"{destination}","RW":true}}"#,
            data(&t, name).display()
        );
        assert!(inspect.contains(&mount), "{inspect}");
    }
    ok(&t, &["rm", "-v", id.trim()]);
    assert_eq!(volumes(&t), ["skiff-test-named"]);
    let run = [&["run", "--rm"][..], &flags, &[&image, "cat", "/data/file"]].concat();
    let copied = ok(&t, &run);
    assert_eq!(
        copied, "the image's\n",
        "copied up into the anonymous volume"
    );
    assert_eq!(volumes(&t), ["skiff-test-named"]);
    ok(&t, &["volume", "rm", "skiff-test-named"]);
}

#[test]
fn rmi_and_garbage_collection_keep_volumes() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let write = "echo kept > /data/note";
    sh(&t, &["-v", "skiff-test-keep:/data"], BUSYBOX, write);
    ok(&t, &["rmi", &image]);
    assert!(ok(&t, &["images", "-q"]).is_empty());
    assert_eq!(volumes(&t), ["skiff-test-keep"]);
    assert_eq!(
        fs::read_to_string(data(&t, "skiff-test-keep").join("note")).unwrap(),
        "kept\n"
    );
    ok(&t, &["volume", "rm", "skiff-test-keep"]);
}

/// Four runs make the same volume at once, and fill it from the image: all succeed,
/// with one volume.
#[test]
fn runs_that_make_one_volume_at_once_share_it() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    ok(&t, &["pull", "-q", &image]);
    let run = [
        "run",
        "--rm",
        "-v",
        "skiff-test-race:/etc/opaque",
        &image,
        "cat",
        "/etc/opaque/new",
    ];
    let spawn = |_| {
        let mut command = t.command(&run);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        command.spawn().unwrap()
    };
    let children: Vec<_> = (0..4).map(spawn).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(stdout(&out), "new\n", "{}", stderr(&out));
    }
    assert_eq!(volumes(&t), ["skiff-test-race"]);
    ok(&t, &["volume", "rm", "skiff-test-race"]);
}

#[test]
fn volume_commands_speak_dockers_language() {
    let t = TestEnv::new();
    assert_eq!(
        ok(&t, &["volume", "create", "skiff-test-made"]),
        "skiff-test-made\n"
    );
    assert_eq!(
        ok(&t, &["volume", "create", "skiff-test-made"]),
        "skiff-test-made\n"
    );
    let random = ok(&t, &["volume", "create"]);
    assert_eq!(random.trim().len(), 64);
    let table = ok(&t, &["volume", "ls"]);
    let want = format!("DRIVER    VOLUME NAME\nlocal     {random}local     skiff-test-made\n");
    assert_eq!(table, want);
    let inspect = ok(&t, &["volume", "inspect", "skiff-test-made"]);
    let want = format!(
        r#""Driver":"local","Labels":null,"Mountpoint":"{}","Name":"skiff-test-made","Options":null,"Scope":"local"}}]"#,
        data(&t, "skiff-test-made").display()
    );
    assert!(
        inspect.starts_with(r#"[{"CreatedAt":"20"#) && inspect.contains(&want),
        "{inspect}"
    );
    assert_refused(
        &t.skiff(&["volume", "inspect", "skiff-test-none"]),
        "No such volume",
    );
    let out = t.skiff(&[
        "run",
        "-v",
        "a/b:/data",
        &t.image("library/busybox"),
        "true",
    ]);
    assert_one_line_error(&out, "includes invalid characters for a local volume name");
    ok(&t, &["volume", "rm", random.trim(), "skiff-test-made"]);
    for command in ["create", "ls", "rm", "inspect"] {
        let help = ok(&t, &["volume", command, "-h"]);
        assert!(
            help.starts_with(&format!("Usage:  skiff volume {command}")),
            "{help}"
        );
        let out = t.skiff(&["volume", command, "--bogus"]);
        let want = format!("skiff: unknown flag: --bogus\nSee 'skiff volume {command} --help'.\n");
        assert_eq!((out.status.code(), stderr(&out)), (Some(125), want));
    }
    assert!(ok(&t, &["volume", "--help"]).contains("  inspect  "));
}

/// The image's VOLUME list (`Volumes` in its config): an anonymous volume at each path,
/// filled from the image, unless a `-v` mounts something there; `--rm` and `rm -v`
/// remove them, as `-v /path`'s.
#[test]
fn the_images_volumes_are_anonymous_volumes() {
    let t = TestEnv::new();
    let image = t.image("library/volumed");
    let mounted = r#"cat /data/seed && grep -cE " /(data|cache) " /proc/mounts"#;
    let out = sh(&t, &[], "library/volumed", mounted);
    assert_eq!(out, "from the image\n2\n");
    assert_eq!(volumes(&t), Vec::<String>::new(), "--rm removed them");
    let flags = ["-v", "skiff-test-cache:/cache"];
    let id = ok(&t, &[&["create"][..], &flags, &[&image, "true"]].concat());
    let listed = volumes(&t);
    assert_eq!(listed.len(), 2, "/data's and the named one: {listed:?}");
    assert!(listed.iter().any(|v| v.len() == 64), "{listed:?}");
    ok(&t, &["rm", "-v", id.trim()]);
    assert_eq!(volumes(&t), ["skiff-test-cache"]);
    ok(&t, &["volume", "rm", "skiff-test-cache"]);
}
