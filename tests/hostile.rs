//! Hostile images: layers that aim outside the root, host devices, corrupt or lying
//! blobs, and documents built to break a parser. skiff treats every image as hostile,
//! so each test pulls or runs one attack (pushed by tests/harness/hostile_images.py,
//! or served by a socket here when the registry will not serve it) and checks that
//! skiff refuses it with one clear line or defuses it, that a failed pull leaves
//! nothing in the store, and that nothing lands on the host: every path in these
//! layers aims at /tmp/skiff-canary, a host directory each test watches.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;

use miniserde::Deserialize;

use crate::testenv::{assert_one_line_error, harness, stderr, stdout, TestEnv};

const CANARY: &str = "/tmp/skiff-canary";

/// The host directory the hostile layers aim at, created empty for one test and removed
/// after it: the test fails if anything appeared in it, or it went. It is one path for
/// the whole suite, so the tests that use it take turns.
struct Canary {
    _turn: MutexGuard<'static, ()>,
}

impl Canary {
    fn new() -> Canary {
        static TURN: Mutex<()> = Mutex::new(());
        let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = fs::remove_dir_all(CANARY);
        fs::create_dir(CANARY).unwrap();
        Canary { _turn: turn }
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        let found: Vec<_> = match fs::read_dir(CANARY) {
            Ok(dir) => dir.flatten().map(|e| e.path()).collect(),
            Err(err) => vec![PathBuf::from(format!("{CANARY}: {err}"))],
        };
        let _ = fs::remove_dir_all(CANARY);
        if found.is_empty() {
            return;
        }
        let escaped = format!("a layer wrote on the host: {found:?}");
        if std::thread::panicking() {
            eprintln!("{escaped}"); // beside the assertion that failed first
        } else {
            panic!("{escaped}");
        }
    }
}

fn hostile(t: &TestEnv, name: &str) -> String {
    t.image(&format!("hostile/{name}"))
}

/// What a failed pull may leave in the store: nothing, neither blobs nor layers nor a tag.
fn assert_store_is_empty(t: &TestEnv) {
    for dir in ["blobs/sha256", "layers"] {
        let left: Vec<_> = fs::read_dir(t.root.join(dir))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "a failed pull left {left:?} in {dir}");
    }
    assert_eq!(stdout(&t.skiff(&["images", "-q"])), "");
}

/// The registry's storage directory (distribution's filesystem driver), as
/// with-registry.sh configures it.
fn storage() -> PathBuf {
    PathBuf::from(harness("SKIFF_TEST_HARNESS")).join("storage/docker/registry/v2")
}

fn blob_data(digest: &str) -> PathBuf {
    let hex = digest.strip_prefix("sha256:").unwrap();
    storage()
        .join("blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data")
}

#[derive(Deserialize)]
struct Manifest {
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Descriptor {
    digest: String,
}

/// The digest of the first layer of `repository:tag`, as the registry stores it.
fn first_layer(repository: &str, tag: &str) -> String {
    let tags = storage().join(format!("repositories/{repository}/_manifests/tags"));
    let manifest = fs::read_to_string(tags.join(tag).join("current/link")).unwrap();
    let manifest = fs::read_to_string(blob_data(&manifest)).unwrap();
    let manifest: Manifest = miniserde::json::from_str(&manifest).unwrap();
    manifest.layers[0].digest.clone()
}

fn sha256(bytes: &[u8]) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, bytes);
    let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[test]
fn an_entry_climbing_out_with_dotdot_is_refused() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    let out = t.skiff(&["pull", &hostile(&t, "traversal")]);
    assert_one_line_error(
        &out,
        "unpack entry ../../../../../../../../tmp/skiff-canary/owned-traversal: \
         path contains a .. component",
    );
    assert_store_is_empty(&t);
}

#[test]
fn an_absolute_entry_lands_inside_the_root() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    let image = hostile(&t, "absolute");
    let out = t.skiff(&["run", &image, "cat", "/tmp/skiff-canary/owned-absolute"]);
    assert_eq!(stdout(&out), "owned\n", "{}", stderr(&out));
}

#[test]
fn symlinks_in_layers_lead_back_inside_the_root() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    let image = hostile(&t, "symlink-escape");
    // Written through the links by their own layer, and by the layer above them.
    let written = [
        "/tmp/skiff-canary/owned-symlink-1",
        "/tmp/skiff-canary/owned-up-1",
        "/escape/owned-symlink-2",
        "/up/tmp/skiff-canary/owned-up-2",
    ];
    let out = t.skiff(&[&["run", image.as_str(), "cat"][..], &written].concat());
    assert_eq!(stdout(&out), "owned\n".repeat(4), "{}", stderr(&out));
}

#[test]
fn a_hard_link_to_an_absolute_path_links_the_images_own_file() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    let image = t.image("hostile/hardlink-host:absolute");
    let script = "cat /stolen && [ /stolen -ef /etc/shadow ] && echo same-inode";
    let out = t.skiff(&["run", &image, "sh", "-c", script]);
    assert_eq!(
        stdout(&out),
        "the image's own shadow\nsame-inode\n",
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_hard_link_climbing_out_with_dotdot_is_refused() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    let out = t.skiff(&["pull", &t.image("hostile/hardlink-host:dotdot")]);
    assert_one_line_error(
        &out,
        "unpack entry stolen: hard link target ../../../../../etc/hostname: \
         path contains a .. component",
    );
    assert_store_is_empty(&t);
}

#[test]
fn a_layer_brings_no_host_device_only_harmless_nodes() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    // mem (c 1:1) and kmsg (c 1:11) would be the host's memory and kernel log.
    let script = "for f in mem kmsg null fifo; do \
                    if [ -c /$f ]; then echo $f char; elif [ -p /$f ]; then echo $f fifo; \
                    elif [ -e /$f ]; then echo $f other; else echo $f absent; fi; \
                  done";
    let out = t.skiff(&["run", &hostile(&t, "device"), "sh", "-c", script]);
    assert_eq!(
        stdout(&out),
        "mem absent\nkmsg absent\nnull char\nfifo fifo\n",
        "{}",
        stderr(&out)
    );
}

/// Flips one bit of a blob in the registry's own storage, at the offset `at` picks from
/// its length, keeping its name and size: what a corrupt disk or a malicious mirror
/// serves. A blob that no longer matches its name is left as it is, so a second run of
/// the suite still sees it corrupt.
fn tamper(digest: &str, at: impl FnOnce(usize) -> usize) {
    let path = blob_data(digest);
    let mut bytes = fs::read(&path).unwrap();
    if sha256(&bytes) == digest {
        let at = at(bytes.len());
        bytes[at] ^= 1;
        fs::write(&path, bytes).unwrap();
    }
}

#[test]
fn a_tampered_layer_fails_the_pull_and_leaves_nothing() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    let layer = first_layer("hostile/tampered", "latest");
    tamper(&layer, |len| len / 2);
    let out = t.skiff(&["pull", &hostile(&t, "tampered")]);
    assert_one_line_error(
        &out,
        &format!("layer 1/1 {layer}: blob: digest mismatch: expected {layer}, got sha256:"),
    );
    assert_store_is_empty(&t);
}

/// A layer is unpacked while it downloads (issue 15), so a blob whose fault inflating
/// cannot see (one bit of the gzip header's MTIME, which no decoder checks) is whole
/// in its layer directory, diff_id and all, before its digest is known to be wrong.
#[test]
fn issue_15_a_digest_mismatch_found_after_the_layer_was_unpacked_leaves_nothing() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    let layer = first_layer("hostile/tampered-late", "latest");
    tamper(&layer, |_| 4); // RFC 1952: MTIME is bytes 4 to 7
    let out = t.skiff(&["pull", &hostile(&t, "tampered-late")]);
    assert_one_line_error(
        &out,
        &format!("layer 1/1 {layer}: blob: digest mismatch: expected {layer}, got sha256:"),
    );
    assert_store_is_empty(&t);
    let left: Vec<_> = fs::read_dir(t.root.join("tmp"))
        .unwrap()
        .flatten()
        .collect();
    assert!(left.is_empty(), "the unpacked layer stayed: {left:?}");
}

#[test]
fn a_truncated_gzip_layer_fails_at_unpack_and_leaves_nothing() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    // The blob is exactly what its descriptor names, so only unpacking can tell.
    let out = t.skiff(&["pull", &hostile(&t, "truncated-gzip")]);
    assert_one_line_error(&out, "unpack layer 1/1 ");
    assert!(
        stderr(&out).ends_with(": the layer stream ends early\n"),
        "{}",
        stderr(&out)
    );
    assert_store_is_empty(&t);
}

#[test]
fn a_zstd_layer_is_refused_by_its_media_type() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    let layer = first_layer("hostile/zstd", "latest");
    let out = t.skiff(&["run", &hostile(&t, "zstd"), "true"]);
    assert_one_line_error(
        &out,
        &format!(
            "layer 1/1 {layer}: unsupported layer media type \
             application/vnd.oci.image.layer.v1.tar+zstd (zstd is not supported)"
        ),
    );
    assert_store_is_empty(&t);
}

#[test]
fn a_wrong_diff_id_fails_the_pull_and_leaves_nothing() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    let out = t.skiff(&["run", &hostile(&t, "diffid-mismatch"), "true"]);
    assert_one_line_error(
        &out,
        "uncompressed layer (diff_id): digest mismatch: expected ",
    );
    assert_store_is_empty(&t);
}

#[test]
fn json_nested_a_million_deep_is_read_without_a_crash() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    let image = hostile(&t, "deep-json");
    let out = t.skiff(&["run", &image, "cat", "/etc/hostile-image.0"]);
    assert_eq!(stdout(&out), "hostile/deep-json\n", "{}", stderr(&out));
}

#[test]
fn a_layer_longer_than_its_descriptor_says_is_refused() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    let layer = first_layer("hostile/wrong-size", "smaller");
    let out = t.skiff(&["pull", &t.image("hostile/wrong-size:smaller")]);
    assert_one_line_error(&out, &format!("layer 1/1 {layer}: "));
    assert!(
        stderr(&out).contains("the blob is larger than the "),
        "{}",
        stderr(&out)
    );
    assert_store_is_empty(&t);
}

#[test]
fn a_layer_shorter_than_its_descriptor_says_is_refused() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    let layer = first_layer("hostile/wrong-size", "larger");
    let out = t.skiff(&["pull", &t.image("hostile/wrong-size:larger")]);
    assert_one_line_error(&out, &format!("layer 1/1 {layer}: the blob ends after "));
    assert_store_is_empty(&t);
}

/// More than any client should read of a manifest, and more than the kernel's socket
/// buffers hold: if the server gets it all out, the client read it all.
const ENDLESS: usize = 64 << 20;

/// A registry that answers one request with a manifest that does not end (`ENDLESS`
/// bytes, no Content-Length): distribution itself refuses to store or serve one over
/// 4 MiB, but a hostile server need not. The thread returns how much it got out
/// before the client hung up.
fn endless_manifest_server() -> (String, thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        drop(listener);
        let mut request = BufReader::new(&stream);
        let mut line = String::new();
        while request.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear(); // the request's headers, up to the blank line
        }
        let mut stream = &stream;
        let head = "HTTP/1.1 200 OK\r\n\
                    Content-Type: application/vnd.oci.image.manifest.v1+json\r\n\
                    Connection: close\r\n\r\n\
                    {\"schemaVersion\":2,\"annotations\":{\"pad\":\"";
        let pad = [b'x'; 64 << 10];
        let mut sent = head.len();
        if stream.write_all(head.as_bytes()).is_err() {
            return sent;
        }
        while sent < ENDLESS && stream.write_all(&pad).is_ok() {
            sent += pad.len();
        }
        sent
    });
    (address, server)
}

#[test]
fn a_manifest_over_4_mib_is_cut_off_as_it_streams() {
    let t = TestEnv::new();
    let _canary = Canary::new();
    let (address, server) = endless_manifest_server();
    let out = t.skiff(&["pull", &format!("{address}/hostile/oversized-manifest")]);
    let _ = TcpStream::connect(&address); // frees the server if skiff never came
    let sent = server.join().unwrap();
    assert_one_line_error(&out, "document larger than 4194304 bytes refused");
    assert!(
        sent < ENDLESS,
        "skiff read all {sent} bytes of the manifest"
    );
    assert_store_is_empty(&t);
}
