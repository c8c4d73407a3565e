//! Pulling: every manifest kind, Docker Hub's token dance, and clear failures.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use crate::testenv::{assert_one_line_error, harness, stderr, stdout, CountingProxy, Hub, TestEnv};

fn cat_platform(t: &TestEnv, image: &str) -> String {
    let out = t.skiff(&["run", image, "cat", "/etc/platform"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn docker_schema2_and_oci_manifests_both_run() {
    let t = TestEnv::new();
    for image in ["library/busybox:latest", "library/busybox:oci"] {
        let out = t.skiff(&["run", &t.image(image), "cat", "/etc/layer2"]);
        assert_eq!(stdout(&out), "layer2\n", "{image}: {}", stderr(&out));
    }
}

#[test]
fn oci_index_picks_linux_amd64_not_the_first_entry() {
    let t = TestEnv::new();
    assert_eq!(
        cat_platform(&t, &t.image("library/alpine")),
        "linux/amd64\n"
    );
}

#[test]
fn docker_manifest_list_picks_linux_amd64() {
    let t = TestEnv::new();
    assert_eq!(
        cat_platform(&t, &t.image("library/multi:list")),
        "linux/amd64\n"
    );
}

#[test]
fn an_index_without_our_platform_is_a_clear_error() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", &t.image("library/noplatform"), "true"]);
    assert_one_line_error(
        &out,
        "no image for linux/amd64 in the index (it offers: linux/s390x, linux/ppc64le)",
    );
}

#[test]
fn pinning_by_digest_runs_that_content() {
    let t = TestEnv::new();
    let url = format!(
        "http://{}/v2/library/busybox/manifests/oci",
        harness("SKIFF_TEST_PLAIN")
    );
    let head = Command::new("curl")
        .args([
            "-sfI",
            "-H",
            "Accept: application/vnd.oci.image.manifest.v1+json",
            &url,
        ])
        .output()
        .unwrap();
    let headers = String::from_utf8(head.stdout).unwrap();
    let digest = headers
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("docker-content-digest: ")
                .map(|d| d.trim().to_string())
        })
        .expect("registry sends Docker-Content-Digest");
    let image = t.image(&format!("library/busybox@{digest}"));
    let out = t.skiff(&["run", &image, "cat", "/etc/layer2"]);
    assert_eq!(stdout(&out), "layer2\n", "{}", stderr(&out));
}

#[test]
fn a_digest_the_registry_does_not_have_fails_cleanly() {
    let t = TestEnv::new();
    let zeros = "0".repeat(64);
    let out = t.skiff(&[
        "run",
        &t.image(&format!("library/busybox@sha256:{zeros}")),
        "true",
    ]);
    assert_one_line_error(&out, "404");
}

#[test]
fn a_missing_repository_is_one_line_and_exit_125() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", &t.image("library/no-such-image"), "true"]);
    assert_one_line_error(&out, "fetch manifest: GET http://");
    assert!(stderr(&out).contains(": 404"), "{}", stderr(&out));
}

#[test]
fn a_missing_tag_is_one_line_and_exit_125() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", &t.image("library/busybox:no-such-tag"), "true"]);
    assert_one_line_error(&out, "404 manifest unknown");
}

#[test]
fn a_malformed_reference_is_refused_before_any_request() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", "Not/Valid:", "true"]);
    assert_one_line_error(&out, "invalid reference \"Not/Valid:\"");
}

#[test]
fn an_unreachable_registry_is_one_line_and_exit_125() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", "127.0.0.1:1/library/busybox", "true"]);
    assert_one_line_error(
        &out,
        "GET http://127.0.0.1:1/v2/library/busybox/manifests/latest",
    );
}

#[test]
fn docker_hub_by_its_real_names_with_an_anonymous_token() {
    let t = TestEnv::new();
    let out = t.skiff_hub(&["run", "alpine", "cat", "/etc/platform"]);
    assert_eq!(stdout(&out), "linux/amd64\n", "{}", stderr(&out));
    let log = fs::read_to_string(harness("SKIFF_TEST_TOKEN_LOG")).unwrap();
    assert!(
        log.contains("repository:library/alpine:pull")
            || log.contains("repository%3Alibrary%2Falpine%3Apull"),
        "the token server saw no request for alpine's scope:\n{log}"
    );
}

#[test]
fn docker_hub_user_repository_without_login_is_denied() {
    let t = TestEnv::new();
    let out = t.skiff_hub(&["run", "private/secret", "cat", "/etc/secret"]);
    assert_one_line_error(&out, "pull access denied");
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
}

#[test]
fn docker_hub_user_repository_with_login_uses_basic_for_the_token() {
    let t = TestEnv::new();
    t.login("https://index.docker.io/v1/", "alice", "wonderland");
    let out = t.skiff_hub(&["run", "private/secret", "cat", "/etc/secret"]);
    assert_eq!(stdout(&out), "top secret\n", "{}", stderr(&out));
}

#[test]
fn docker_hub_wrong_password_is_a_clear_error() {
    let t = TestEnv::new();
    t.login("https://index.docker.io/v1/", "alice", "guess");
    let out = t.skiff_hub(&["run", "private/secret", "true"]);
    assert_one_line_error(&out, "get token: GET https://auth.docker.io");
    assert!(stderr(&out).contains(": 401"), "{}", stderr(&out));
}

/// `SSL_CERT_FILE` replaces the roots skiff trusts: holding only the system's public
/// bundle, it does not trust the test CA that signed the harness's "Docker Hub", so the
/// handshake fails on the certificate and nothing reaches the store. (network.rs tests
/// the built-in roots and `certs.d` the same way.)
#[test]
fn docker_hub_over_tls_refuses_an_untrusted_certificate() {
    let t = TestEnv::new();
    let hub = Hub {
        without_ca: true,
        ..Hub::default()
    };
    let out = t
        .hub_command_with(&["run", "alpine", "true"], &hub)
        .env("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
        .output()
        .unwrap();
    assert_one_line_error(
        &out,
        "GET https://registry-1.docker.io/v2/library/alpine/manifests/latest",
    );
    assert!(
        stderr(&out).contains("invalid peer certificate: UnknownIssuer"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&t.skiff(&["images", "-q"])), "", "no image stored");
    assert_eq!(stdout(&t.skiff(&["ps", "-aq"])), "", "no container made");
}

#[test]
fn a_registry_mirror_serves_docker_hub_images() {
    let t = TestEnv::new();
    let mirror = format!("http://{}", harness("SKIFF_TEST_PLAIN"));
    let out = t
        .command(&["run", "busybox", "cat", "/etc/layer2"])
        .env("SKIFF_REGISTRY_MIRROR", mirror)
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "layer2\n", "{}", stderr(&out));
}

#[test]
fn platform_flag_picks_another_entry_of_the_index() {
    let t = TestEnv::new();
    let image = t.image("library/alpine");
    let out = t.skiff(&[
        "run",
        "--platform",
        "linux/arm64/v8",
        &image,
        "cat",
        "/etc/platform",
    ]);
    // The arm64 image has no busybox: its cat cannot be found, which proves the pick.
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    let out = t.skiff(&["pull", "--platform", "linux/s390x", &image]);
    assert_one_line_error(&out, "no image for linux/s390x");
    let out = t.skiff(&["pull", "--platform", "linux", &image]);
    assert_one_line_error(&out, "invalid platform");
}

#[test]
fn login_stores_credentials_that_pull_then_uses_and_logout_forgets() {
    let t = TestEnv::new();
    let config = t.root.join("docker-config/config.json");
    let mut login = t
        .hub_command(&["login", "-u", "alice", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    login
        .stdin
        .take()
        .unwrap()
        .write_all(b"wonderland\n")
        .unwrap();
    let out = login.wait_with_output().unwrap();
    assert_eq!(stdout(&out), "Login Succeeded\n", "{}", stderr(&out));
    let text = fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("https://index.docker.io/v1/") && text.contains("YWxpY2U6d29uZGVybGFuZA=="),
        "{text}"
    );
    assert_eq!(
        fs::metadata(&config).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = t.skiff_hub(&["run", "private/secret", "cat", "/etc/secret"]);
    assert_eq!(stdout(&out), "top secret\n", "{}", stderr(&out));
    let out = t.skiff(&["logout"]);
    assert_eq!(stdout(&out), "Removing login credentials for docker.io\n");
    let out = t.skiff_hub(&["run", "--pull=always", "private/secret", "true"]);
    assert_one_line_error(&out, "pull access denied");
}

#[test]
fn login_with_a_wrong_password_fails_and_stores_nothing() {
    let t = TestEnv::new();
    let out = t.skiff_hub(&["login", "-u", "alice", "-p", "guess"]);
    assert_one_line_error(
        &out,
        "login docker.io: get token: GET https://auth.docker.io",
    );
    assert!(!t.root.join("docker-config/config.json").exists());
}

#[test]
fn logout_keeps_the_rest_of_the_docker_config() {
    let t = TestEnv::new();
    t.login("https://index.docker.io/v1/", "alice", "wonderland");
    let config = t.root.join("docker-config/config.json");
    let text = fs::read_to_string(&config).unwrap();
    fs::write(
        &config,
        text.replacen('{', r#"{"detachKeys":"ctrl-x,x","#, 1),
    )
    .unwrap();
    let out = t.skiff(&["logout", "docker.io"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = fs::read_to_string(&config).unwrap();
    assert!(text.contains(r#""detachKeys":"ctrl-x,x""#), "{text}");
    assert!(!text.contains("YWxpY2U6"), "{text}");
    assert_eq!(
        stdout(&t.skiff(&["logout"])),
        "Not logged in to docker.io\n"
    );
}

#[test]
fn a_token_that_expires_mid_pull_is_renewed() {
    // expiring/* tokens live 2 s; the proxy holds the first blob request 3 s, so the
    // token the manifest was fetched with is dead by then: the registry answers 401,
    // and skiff must fetch a fresh token and go on, as with Hub's 300-s tokens.
    let t = TestEnv::new();
    let proxy = CountingProxy::start_before(
        &t,
        &harness("SKIFF_TEST_TOKEN_PLAIN"),
        &["--delay-first-blob", "3"],
    );
    let image = format!("{}/expiring/busybox", proxy.address);
    let out = t.skiff_hub(&["run", &image, "cat", "/etc/layer2"]);
    assert_eq!(stdout(&out), "layer2\n", "{}", stderr(&out));
    let log = proxy.log();
    let refused = log
        .lines()
        .filter(|l| l.contains("/blobs/") && l.ends_with(" 401"))
        .count();
    // Once for the delayed blob; on a loaded machine the fresh token may outlive its 2 s
    // before a later blob too: each refusal must have brought exactly one fresh token.
    assert!(refused >= 1, "the delayed blob met a 401:\n{log}");
    let tokens = fs::read_to_string(harness("SKIFF_TEST_TOKEN_LOG")).unwrap();
    let asked = tokens
        .lines()
        .filter(|l| l.contains("expiring/busybox"))
        .count();
    assert_eq!(
        asked,
        1 + refused,
        "one token, then a fresh one per 401:\n{tokens}"
    );
}
