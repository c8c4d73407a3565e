//! The network between skiff and a registry, as it really is: connections that break
//! mid-blob, registries that answer 503 for a moment, proxies, private CAs, and
//! registries that speak plain HTTP.

use std::fs;
use std::path::PathBuf;

use crate::testenv::{
    assert_one_line_error, harness, stderr, stdout, CountingProxy, Hub, Server, TestEnv,
};

/// Every blob path the proxy saw, with the statuses it answered, in order.
fn statuses_by_blob(proxy: &CountingProxy) -> Vec<(String, Vec<String>)> {
    let mut blobs: Vec<(String, Vec<String>)> = Vec::new();
    for line in proxy.log().lines().filter(|l| l.contains("/blobs/")) {
        let mut words = line.split(' ').skip(1);
        let (path, status) = (words.next().unwrap(), words.next().unwrap());
        match blobs.iter_mut().find(|(p, _)| p == path) {
            Some((_, statuses)) => statuses.push(status.to_string()),
            None => blobs.push((path.to_string(), vec![status.to_string()])),
        }
    }
    blobs
}

fn assert_runs(t: &TestEnv, image: &str) {
    let out = t.skiff(&["run", image, "cat", "/etc/layer2"]);
    assert_eq!(stdout(&out), "layer2\n", "{}", stderr(&out));
}

#[test]
fn a_blob_cut_off_midway_resumes_with_a_range_request() {
    let t = TestEnv::new();
    let proxy = CountingProxy::start_in_mode(&t, &["--cut-blobs"]);
    assert_runs(&t, &format!("{}/library/busybox", proxy.address));
    let log = proxy.log();
    let ranged = proxy.count(" 206 range=bytes=");
    assert!(ranged >= 2, "want a ranged request per layer:\n{log}");
    // A layer is cut once and resumed once; the config is small and fetched again whole.
    for (path, statuses) in statuses_by_blob(&proxy) {
        assert!(
            statuses == ["200", "206"] || statuses == ["200", "200"],
            "{path}: {statuses:?}\n{log}"
        );
    }
    assert_eq!(proxy.count(" 206 range=bytes=0-"), 0, "{log}");
}

#[test]
fn a_registry_without_ranges_resends_the_blob_and_the_head_is_skipped() {
    let t = TestEnv::new();
    let proxy = CountingProxy::start_in_mode(&t, &["--cut-blobs-ignore-range"]);
    assert_runs(&t, &format!("{}/library/busybox", proxy.address));
    let log = proxy.log();
    assert!(proxy.count(" 200 range=bytes=") >= 2, "{log}");
    assert_eq!(proxy.count(" 206"), 0, "{log}");
}

#[test]
fn a_blob_that_always_breaks_fails_after_five_resumptions() {
    let t = TestEnv::new();
    let proxy = CountingProxy::start_in_mode(&t, &["--cut-blobs-always"]);
    let out = t.skiff(&["pull", &format!("{}/library/busybox", proxy.address)]);
    assert_one_line_error(&out, "layer 1/2 sha256:");
    assert!(
        stderr(&out).contains(" bytes (resumed 5 times)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(proxy.count(" 206 range="), 5, "{}", proxy.log());
    let leftovers = fs::read_dir(t.root.join("blobs/sha256")).map_or(0, |d| d.count());
    assert_eq!(leftovers, 0, "a failed pull left blobs behind");
}

#[test]
fn a_503_is_tried_again_and_the_pull_succeeds() {
    let t = TestEnv::new();
    let proxy = CountingProxy::start_in_mode(&t, &["--fail-first", "1"]);
    assert_runs(&t, &format!("{}/library/busybox", proxy.address));
    let log = proxy.log();
    let manifest = "/v2/library/busybox/manifests/latest";
    assert_eq!(proxy.count(&format!("{manifest} 503")), 1, "{log}");
    assert_eq!(proxy.count(&format!("{manifest} 200")), 1, "{log}");
    for (path, statuses) in statuses_by_blob(&proxy) {
        assert_eq!(statuses, ["503", "200"], "{path}\n{log}");
    }
}

#[test]
fn a_registry_that_keeps_failing_is_one_line_after_three_attempts() {
    let t = TestEnv::new();
    let proxy = CountingProxy::start_in_mode(&t, &["--fail-first", "99"]);
    let image = format!("{}/library/busybox", proxy.address);
    let out = t.skiff(&["pull", &image]);
    let url = format!(
        "http://{}/v2/library/busybox/manifests/latest",
        proxy.address
    );
    assert_one_line_error(&out, &format!("GET {url}: 503"));
    assert!(stderr(&out).contains("(tried 3 times)"), "{}", stderr(&out));
    assert_eq!(proxy.count(" 503"), 3, "{}", proxy.log());
}

#[test]
fn a_429_is_not_tried_again() {
    let t = TestEnv::new();
    let proxy = CountingProxy::start_in_mode(&t, &["--fail-first", "1", "429"]);
    let out = t.skiff(&["pull", &format!("{}/library/busybox", proxy.address)]);
    assert_one_line_error(&out, ": 429");
    assert!(stderr(&out).contains("rate limited"), "{}", stderr(&out));
    assert_eq!(proxy.count(" 429"), 1, "{}", proxy.log());
}

#[test]
fn a_refused_connection_is_tried_again_then_one_line() {
    let t = TestEnv::new();
    let out = t.skiff(&["pull", "127.0.0.1:1/library/busybox"]);
    assert_one_line_error(
        &out,
        "GET http://127.0.0.1:1/v2/library/busybox/manifests/latest",
    );
    assert!(stderr(&out).contains("(tried 3 times)"), "{}", stderr(&out));
}

/// `tests/harness/connect_proxy.py` for one test: a CONNECT proxy that logs its tunnels.
struct ConnectProxy {
    _server: Server,
    url: String,
    log: PathBuf,
}

impl ConnectProxy {
    fn start(t: &TestEnv) -> ConnectProxy {
        let log = t.root.join("connect.log");
        let server = Server::start("connect_proxy.py", &[&log]);
        ConnectProxy {
            url: format!("http://127.0.0.1:{}", server.port),
            _server: server,
            log,
        }
    }

    fn tunnels(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

#[test]
fn https_proxy_carries_docker_hub_and_its_token_server() {
    let t = TestEnv::new();
    let proxy = ConnectProxy::start(&t);
    let out = t
        .hub_command(&["run", "alpine", "cat", "/etc/platform"])
        .env("HTTPS_PROXY", &proxy.url)
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "linux/amd64\n", "{}", stderr(&out));
    let tunnels = proxy.tunnels();
    assert!(
        tunnels.contains("CONNECT registry-1.docker.io:443\n"),
        "{tunnels}"
    );
    assert!(
        tunnels.contains("CONNECT auth.docker.io:5556\n"),
        "{tunnels}"
    );
}

#[test]
fn no_proxy_and_loopback_go_direct() {
    let t = TestEnv::new();
    let proxy = ConnectProxy::start(&t);
    let out = t
        .hub_command(&["run", "alpine", "cat", "/etc/platform"])
        .env("https_proxy", &proxy.url)
        .env("no_proxy", "example.com,docker.io")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "linux/amd64\n", "{}", stderr(&out));
    let out = t
        .command(&["run", &t.image("library/busybox"), "cat", "/etc/layer2"])
        .env("HTTP_PROXY", &proxy.url)
        .env("HTTPS_PROXY", &proxy.url)
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "layer2\n", "{}", stderr(&out));
    assert_eq!(proxy.tunnels(), "", "the proxy saw traffic");
}

#[test]
fn a_bad_proxy_setting_is_one_line() {
    let t = TestEnv::new();
    let out = t
        .command(&["pull", "ghcr.io/a/b"])
        .env("HTTPS_PROXY", "socks5://127.0.0.1:1080")
        .output()
        .unwrap();
    assert_one_line_error(&out, "HTTPS_PROXY: SOCKS5 proxies are not supported");
}

/// An `/etc/docker` with `certs.d/DIR/ca.crt` = the harness's CA, for each of `dirs`.
fn etc_docker_trusting(t: &TestEnv, dirs: &[&str]) -> PathBuf {
    let etc = t.root.join("etc-docker");
    for dir in dirs {
        let dir = etc.join("certs.d").join(dir);
        fs::create_dir_all(&dir).unwrap();
        fs::copy(harness("SKIFF_TEST_CA"), dir.join("ca.crt")).unwrap();
    }
    fs::create_dir_all(&etc).unwrap();
    etc
}

fn hub_run(t: &TestEnv, hub: &Hub) -> std::process::Output {
    t.hub_command_with(&["run", "alpine", "cat", "/etc/platform"], hub)
        .output()
        .unwrap()
}

#[test]
fn certs_d_trusts_a_registrys_ca_for_that_host_only() {
    let t = TestEnv::new();
    let mut hub = Hub {
        etc_docker: Some(etc_docker_trusting(&t, &["registry-1.docker.io"])),
        without_ca: true,
        ..Hub::default()
    };
    // The registry is trusted, its token server (another host) is not.
    let out = hub_run(&t, &hub);
    assert_one_line_error(&out, "get token: GET https://auth.docker.io:5556/token");
    assert!(stderr(&out).contains("certificate"), "{}", stderr(&out));
    hub.etc_docker = Some(etc_docker_trusting(&t, &["auth.docker.io:5556"]));
    let out = hub_run(&t, &hub);
    assert_eq!(stdout(&out), "linux/amd64\n", "{}", stderr(&out));
}

#[test]
fn ssl_cert_dir_adds_roots() {
    let t = TestEnv::new();
    let dir = t.root.join("certs");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(harness("SKIFF_TEST_CA"), dir.join("test-ca.pem")).unwrap();
    let hub = Hub {
        without_ca: true,
        ..Hub::default()
    };
    let out = t
        .hub_command_with(&["run", "alpine", "cat", "/etc/platform"], &hub)
        .env("SSL_CERT_DIR", &dir)
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "linux/amd64\n", "{}", stderr(&out));
}

#[test]
fn an_untrusted_registry_is_a_one_line_tls_error() {
    let t = TestEnv::new();
    let hub = Hub {
        etc_docker: Some(etc_docker_trusting(&t, &[])),
        without_ca: true,
        ..Hub::default()
    };
    let out = hub_run(&t, &hub);
    assert_one_line_error(
        &out,
        "GET https://registry-1.docker.io/v2/library/alpine/manifests/latest",
    );
    let err = stderr(&out);
    assert!(
        err.contains("certificate") && err.contains("certs.d/registry-1.docker.io/ca.crt"),
        "{err}"
    );
    assert!(
        !err.contains("tried"),
        "a certificate error is not retried: {err}"
    );
}

#[test]
fn a_plain_http_registry_needs_to_be_listed_as_insecure() {
    let t = TestEnv::new();
    let port = harness("SKIFF_TEST_PLAIN")
        .rsplit_once(':')
        .unwrap()
        .1
        .to_string();
    let registry = format!("registry.skiff.test:{port}");
    let hub = Hub {
        hosts: vec!["127.0.0.1 registry.skiff.test".into()],
        ..Hub::default()
    };
    let image = format!("{registry}/library/busybox");
    let out = t
        .hub_command_with(&["run", &image, "cat", "/etc/layer2"], &hub)
        .output()
        .unwrap();
    assert_one_line_error(&out, &format!("GET https://{registry}/v2/"));
    assert!(
        stderr(&out).contains("SKIFF_INSECURE_REGISTRIES"),
        "{}",
        stderr(&out)
    );
    let out = t
        .hub_command_with(&["run", &image, "cat", "/etc/layer2"], &hub)
        .env(
            "SKIFF_INSECURE_REGISTRIES",
            format!("other.test,{registry}"),
        )
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "layer2\n", "{}", stderr(&out));
}
