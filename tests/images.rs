//! Images made and moved by hand: `history`, `push` and `commit` (issue 18).

use std::fs;
use std::process::Command;

use crate::testenv::{assert_one_line_error, harness, stderr, stdout, TestEnv};

/// `skiff ARGS…`, which must succeed; its stdout.
fn ok(t: &TestEnv, args: &[&str]) -> String {
    let out = t.skiff(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn history_lists_the_steps_newest_first_as_docker() {
    let t = TestEnv::new();
    let image = t.image("library/history");
    ok(&t, &["pull", "-q", &image]);
    let id = ok(&t, &["images", "-q"]);
    let table = ok(&t, &["history", &image]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[0].starts_with("IMAGE          CREATED       CREATED BY    "),
        "{table}"
    );
    assert!(lines[0].ends_with("SIZE      COMMENT"), "{table}");
    // The newest step names the image; a tab in its command is a space, cut at 45.
    assert!(lines[1].starts_with(id.trim()), "{table}");
    assert!(
        lines[1].contains("/bin/sh -c echo the explorer goes in, with a… "),
        "{table}"
    );
    assert!(lines[1].ends_with("buildkit.dockerfile.v0"), "{table}");
    assert!(lines[2].starts_with("<missing>"), "{table}");
    assert!(lines[2].contains("CMD [\"sh\"]   "), "{table}");
    assert!(
        lines[2].contains(" 0B "),
        "an empty step has no layer: {table}"
    );
    assert!(lines[3].contains(" ago "), "{table}");
    assert_eq!(
        ok(&t, &["history", "-q", &image]),
        format!("{}\n<missing>\n<missing>\n", id.trim())
    );
    let format = "{{.ID}}|{{.CreatedSince}}|{{.CreatedBy}}|{{.Size}}";
    let raw = ok(
        &t,
        &[
            "history",
            "--no-trunc",
            "-H=false",
            "--format",
            format,
            &image,
        ],
    );
    let rows: Vec<Vec<&str>> = raw.lines().map(|l| l.split('|').collect()).collect();
    assert!(
        rows[0][0].starts_with("sha256:") && rows[0][0].len() == 71,
        "{raw}"
    );
    assert_eq!(
        rows[0][2],
        "/bin/sh -c echo the explorer goes in, with a long line"
    );
    assert_eq!(rows[1][1], "2023-11-14T22:13:20Z", "{raw}");
    assert_eq!(rows[1][3], "0", "{raw}");
    let sizes: Vec<u64> = rows.iter().map(|r| r[3].parse().unwrap()).collect();
    assert!(sizes[0] > 1000 && sizes[2] > 1000, "{raw}");
}

#[test]
fn history_of_an_unknown_image_is_one_line() {
    let t = TestEnv::new();
    let out = t.skiff(&["history", "nothing-here"]);
    assert_one_line_error(&out, "No such image: nothing-here");
}

/// What the store says of its one image: `MANIFEST-DIGEST CONFIG-ID`.
fn digests(t: &TestEnv) -> String {
    ok(t, &["images", "--format", "{{.Digest}} {{.ID}}"])
}

/// The names of every blob in the store: manifests, configs and layers.
fn blobs(t: &TestEnv) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(t.root.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn push_mounts_known_blobs_uploads_new_ones_and_pulls_back_identical() {
    let t = TestEnv::new();
    let plain = harness("SKIFF_TEST_PLAIN");
    // An image of this store alone: its layer and config are new to the registry.
    let rootfs = t.root.join("rootfs");
    fs::create_dir_all(&rootfs).unwrap();
    fs::write(rootfs.join("hello"), "pushed\n").unwrap();
    let tarball = t.root.join("rootfs.tar");
    let tarball = tarball.to_str().unwrap();
    let packed = Command::new("tar")
        .args(["-cf", tarball, "-C", rootfs.to_str().unwrap(), "."])
        .status()
        .unwrap();
    assert!(packed.success());
    let name = format!("{plain}/pushed/imported:v1");
    ok(&t, &["import", tarball, &name]);
    let out = ok(&t, &["push", &name]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("The push refers to repository [{plain}/pushed/imported]")
    );
    assert!(lines[1].ends_with(": Pushed"), "{out}");
    let manifest = digests(&t);
    let manifest = manifest.split(' ').next().unwrap();
    let size = fs::metadata(t.root.join("blobs/sha256").join(&manifest[7..]))
        .unwrap()
        .len();
    assert_eq!(
        lines[2],
        format!("v1: digest: {manifest} size: {size}"),
        "{out}"
    );
    let again = ok(&t, &["push", &name]);
    assert!(
        again
            .lines()
            .nth(1)
            .unwrap()
            .ends_with(": Layer already exists"),
        "{again}"
    );

    let back = TestEnv::new();
    ok(&back, &["pull", "-q", &name]);
    assert_eq!(digests(&back), digests(&t));
    assert_eq!(blobs(&back), blobs(&t));
}

#[test]
fn push_mounts_the_blobs_of_a_pulled_image_from_its_repository() {
    let t = TestEnv::new();
    let plain = harness("SKIFF_TEST_PLAIN");
    let source = t.image("library/busybox");
    ok(&t, &["pull", "-q", &source]);
    let copy = format!("{plain}/pushed/busybox");
    ok(&t, &["tag", &source, &copy]);
    let out = ok(&t, &["push", &copy]);
    let mounted = out
        .lines()
        .filter(|l| l.ends_with(": Mounted from library/busybox"));
    assert_eq!(mounted.count(), 2, "{out}");
    let back = TestEnv::new();
    ok(&back, &["pull", "-q", &copy]);
    let out = back.skiff(&["run", "--rm", &copy, "cat", "/etc/layer2"]);
    assert_eq!(stdout(&out), "layer2\n", "{}", stderr(&out));
    assert_eq!(blobs(&back), blobs(&t));
}

/// "Docker Hub" with its token auth: alice may push to alice/…, as on Hub; the token
/// asks for push on the target and pull on the mount's source.
#[test]
fn push_to_docker_hub_asks_for_push_and_is_denied_without_login() {
    let t = TestEnv::new();
    let out = t.skiff_hub(&["pull", "-q", "busybox"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    ok(&t, &["tag", "busybox", "alice/busybox:mine"]);
    ok(&t, &["tag", "busybox", "library/copied"]);
    let out = t.skiff_hub(&["push", "library/copied"]);
    assert_one_line_error(&out, "denied: requested access to the resource is denied");
    t.login("https://index.docker.io/v1/", "alice", "wonderland");
    let out = t.skiff_hub(&["push", "alice/busybox:mine"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(": Mounted from library/busybox"),
        "{}",
        stdout(&out)
    );
    let log = fs::read_to_string(harness("SKIFF_TEST_TOKEN_LOG")).unwrap();
    assert!(
        log.contains("scope=repository:alice/busybox:pull,push"),
        "{log}"
    );
    assert!(
        log.contains("scope=repository:library/busybox:pull"),
        "{log}"
    );

    let back = TestEnv::new();
    back.login("https://index.docker.io/v1/", "alice", "wonderland");
    let out = back.skiff_hub(&["pull", "-q", "alice/busybox:mine"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(blobs(&back), blobs(&t));
}
