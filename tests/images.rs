//! Images made and moved by hand: `history`, `push` and `commit` (issue 18).

use std::fs;
use std::process::Command;

use crate::testenv::{assert_one_line_error, harness, ok, stderr, stdout, TestEnv};

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
    let format = "{{.ID}}|{{.CreatedSince}}|{{.CreatedBy}}|{{.Size}}|{{.CreatedAt}}";
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
    assert_eq!(rows[1][4], "2023-11-14T22:13:20Z", "{raw}");
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

/// What a container did, and how its image shows it.
const CHANGES: &str = "echo made > /made; echo more >> /etc/passwd; rm /etc/layer2; \
                       rm -r /etc/opaque; mkdir /etc/opaque; echo fresh > /etc/opaque/fresh";
const CHECK: &str = "cat /made; tail -n 1 /etc/passwd; test -e /etc/layer2 || echo gone; \
                     ls /etc/opaque";
const SEEN: &str = "made\nmore\ngone\nfresh\n";

#[test]
fn commit_keeps_what_a_container_made_changed_and_deleted() {
    let t = TestEnv::new();
    let plain = harness("SKIFF_TEST_PLAIN");
    let image = t.image("library/busybox");
    let out = t.skiff(&["run", "--name", "maker", &image, "sh", "-c", CHANGES]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let name = format!("{plain}/committed/app:v1");
    let args = ["commit", "-m", "by hand", "-a", "Tester", "maker", &name];
    let id = ok(&t, &args);
    assert!(id.starts_with("sha256:") && id.len() == 72, "{id}");
    let out = t.skiff(&["run", "--rm", &name, "sh", "-c", CHECK]);
    assert_eq!(stdout(&out), SEEN, "{}", stderr(&out));
    let top = ok(
        &t,
        &[
            "history",
            "--no-trunc",
            "--format",
            "{{.ID}} {{.Comment}} {{.CreatedBy}}",
            &name,
        ],
    );
    assert_eq!(
        top.lines().next().unwrap(),
        format!("{} by hand sh -c {CHANGES}", id.trim())
    );
    // The layer holds the changes, and nothing of skiff's own mount points.
    let layer = fs::read_dir(t.root.join("layers"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|dir| dir.join("made").exists())
        .expect("an unpacked layer with /made");
    for own in [
        "etc/hosts",
        "etc/hostname",
        "etc/resolv.conf",
        "dev",
        "proc",
        "sys",
    ] {
        assert!(!layer.join(own).exists(), "{own} was committed");
    }
    use std::os::unix::fs::FileTypeExt;
    let whiteout = fs::symlink_metadata(layer.join("etc/layer2")).unwrap();
    assert!(
        whiteout.file_type().is_char_device(),
        "overlayfs's whiteout again"
    );

    // Pushed (its new layer uploaded, the rest mounted) and pulled back, it is the same.
    let out = ok(&t, &["push", &name]);
    assert_eq!(
        out.lines().filter(|l| l.ends_with(": Pushed")).count(),
        1,
        "{out}"
    );
    let back = TestEnv::new();
    ok(&back, &["pull", "-q", &name]);
    assert_eq!(ok(&back, &["images", "-q"]), format!("{}\n", &id[7..19]));
    let out = back.skiff(&["run", "--rm", &name, "sh", "-c", CHECK]);
    assert_eq!(stdout(&out), SEEN, "{}", stderr(&out));
}

/// `--pause` (the default) freezes a running container for the commit and thaws it.
#[test]
fn commit_of_a_running_container_leaves_it_running() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let id = ok(&t, &["run", "-d", &image, "sleep", "1000"]);
    let id = id.trim();
    ok(&t, &["exec", id, "sh", "-c", "echo live > /live"]);
    ok(&t, &["commit", id, "snapshot:1"]);
    let status = ok(
        &t,
        &["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", id],
    );
    assert_eq!(status, "running false\n");
    let out = t.skiff(&["run", "--rm", "snapshot:1", "cat", "/live"]);
    assert_eq!(stdout(&out), "live\n", "{}", stderr(&out));
    ok(&t, &["rm", "-f", id]);
}
