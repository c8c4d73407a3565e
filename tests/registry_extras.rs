//! The registry's less common paths: Docker's credential helpers, foreign layers served
//! by a third party, and `docker pull`'s live progress on a terminal.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::testenv::{assert_one_line_error, harness, stderr, stdout, Server, TestEnv};

const HUB_KEY: &str = "https://index.docker.io/v1/";

// --- credential helpers -----------------------------------------------------------

/// A credential helper speaking Docker's protocol, keeping one file per server URL.
const TESTSTORE: &str = r#"#!/bin/sh
# docker-credential-teststore: credentials in files under $store, one per server URL.
store=STORE
IFS= read -r input || true  # a JSON request has no newline at its end
echo "$1 $input" >>"$store/log"
key=$(printf %s "$input" | sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p')
[ -n "$key" ] || key=$input
file="$store/$(printf %s "$key" | sha256sum | cut -c1-16)"
case $1 in
  get) [ -f "$file" ] && exec cat "$file" ;;
  store) printf %s "$input" >"$file"; exit 0 ;;
  erase) [ -f "$file" ] && exec rm "$file" ;;
  *) echo "unknown action $1" >&2; exit 1 ;;
esac
echo "credentials not found in native keychain"
exit 1
"#;

const BROKEN: &str = "#!/bin/sh\necho 'the keychain is locked' >&2\nexit 3\n";

/// Test helpers in a `bin/` directory of the test's own, with config.json set to `config`.
struct Helpers {
    bin: PathBuf,
    store: PathBuf,
}

impl Helpers {
    fn new(t: &TestEnv, config: &str) -> Helpers {
        let (bin, store) = (t.root.join("bin"), t.root.join("credentials"));
        fs::create_dir_all(&bin).unwrap();
        fs::create_dir_all(&store).unwrap();
        let teststore = TESTSTORE.replace("STORE", &store.to_string_lossy());
        for (name, script) in [("teststore", teststore.as_str()), ("broken", BROKEN)] {
            let path = bin.join(format!("docker-credential-{name}"));
            fs::write(&path, script).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let config_dir = t.root.join("docker-config");
        fs::create_dir_all(&config_dir).unwrap();
        fs::write(config_dir.join("config.json"), config).unwrap();
        Helpers { bin, store }
    }

    /// PATH with the helpers first.
    fn path(&self) -> String {
        format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap())
    }

    /// Stores credentials the way `docker login` would, through the helper itself.
    fn keep(&self, server: &str, user: &str, secret: &str) {
        let request =
            format!(r#"{{"ServerURL":"{server}","Username":"{user}","Secret":"{secret}"}}"#);
        let mut helper = Command::new(self.bin.join("docker-credential-teststore"))
            .arg("store")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        helper
            .stdin
            .take()
            .unwrap()
            .write_all(request.as_bytes())
            .unwrap();
        assert!(helper.wait().unwrap().success());
    }

    /// Every request the test helper got: `ACTION INPUT` lines.
    fn log(&self) -> String {
        fs::read_to_string(self.store.join("log")).unwrap_or_default()
    }
}

fn hub(t: &TestEnv, helpers: &Helpers, args: &[&str]) -> Output {
    t.hub_command(args)
        .env("PATH", helpers.path())
        .output()
        .unwrap()
}

/// `run private/secret cat /etc/secret` on the Hub, which needs alice's credentials.
fn assert_the_secret_runs(t: &TestEnv, helpers: &Helpers) {
    let out = hub(t, helpers, &["run", "private/secret", "cat", "/etc/secret"]);
    assert_eq!(stdout(&out), "top secret\n", "{}", stderr(&out));
}

#[test]
fn a_creds_store_serves_docker_hub_credentials() {
    let t = TestEnv::new();
    let helpers = Helpers::new(&t, r#"{"credsStore":"teststore"}"#);
    helpers.keep(HUB_KEY, "alice", "wonderland");
    assert_the_secret_runs(&t, &helpers);
    assert!(
        helpers.log().contains(&format!("get {HUB_KEY}\n")),
        "{}",
        helpers.log()
    );
    let tokens = fs::read_to_string(harness("SKIFF_TEST_TOKEN_LOG")).unwrap();
    assert!(tokens.contains("user=alice"), "{tokens}");
}

#[test]
fn a_registrys_cred_helper_wins_over_creds_store_and_auths() {
    let t = TestEnv::new();
    let wrong = "YWxpY2U6Z3Vlc3M="; // alice:guess
    let config = format!(
        r#"{{"auths":{{"{HUB_KEY}":{{"auth":"{wrong}"}}}},"credsStore":"broken","credHelpers":{{"{HUB_KEY}":"teststore"}}}}"#
    );
    let helpers = Helpers::new(&t, &config);
    helpers.keep(HUB_KEY, "alice", "wonderland");
    assert_the_secret_runs(&t, &helpers);
    // credsStore still serves the registries credHelpers does not name.
    let out = t
        .command(&["pull", "-q", &t.image("library/busybox")])
        .env("PATH", helpers.path())
        .output()
        .unwrap();
    assert_one_line_error(&out, "docker-credential-broken get: the keychain is locked");
}

#[test]
fn a_helper_without_credentials_means_anonymous() {
    let t = TestEnv::new();
    let helpers = Helpers::new(&t, r#"{"credsStore":"teststore"}"#);
    let out = hub(&t, &helpers, &["run", "alpine", "cat", "/etc/platform"]);
    assert_eq!(stdout(&out), "linux/amd64\n", "{}", stderr(&out));
    let out = hub(&t, &helpers, &["run", "private/secret", "true"]);
    assert_one_line_error(&out, "pull access denied");
    assert!(helpers.log().contains("get "), "{}", helpers.log());
}

#[test]
fn a_failing_or_missing_helper_is_one_line_naming_it() {
    let t = TestEnv::new();
    let helpers = Helpers::new(&t, r#"{"credsStore":"broken"}"#);
    let out = hub(&t, &helpers, &["run", "alpine", "true"]);
    assert_one_line_error(&out, "docker-credential-broken get: the keychain is locked");
    let helpers = Helpers::new(&t, r#"{"credsStore":"nosuch"}"#);
    let out = hub(&t, &helpers, &["run", "alpine", "true"]);
    assert_one_line_error(&out, "docker-credential-nosuch get: not found in $PATH");
    let helpers = Helpers::new(&t, r#"{"credsStore":"../../bin/sh"}"#);
    let out = hub(&t, &helpers, &["run", "alpine", "true"]);
    assert_one_line_error(&out, "is not a plain name");
    // A logout drops a password left in config.json even when the helper fails.
    let config =
        format!(r#"{{"auths":{{"{HUB_KEY}":{{"auth":"YWxpY2U6"}}}},"credsStore":"broken"}}"#);
    let helpers = Helpers::new(&t, &config);
    let out = hub(&t, &helpers, &["logout"]);
    let error = "logout docker.io: docker-credential-broken erase: the keychain is locked";
    assert_one_line_error(&out, error);
    let config = fs::read_to_string(t.root.join("docker-config/config.json")).unwrap();
    assert!(!config.contains("YWxpY2U6"), "{config}");
}

#[test]
fn login_and_logout_go_through_the_creds_store() {
    let t = TestEnv::new();
    let helpers = Helpers::new(&t, r#"{"credsStore":"teststore"}"#);
    let mut login = t
        .hub_command(&["login", "-u", "alice", "--password-stdin"])
        .env("PATH", helpers.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = login.stdin.take().unwrap();
    stdin.write_all(b"wonderland\n").unwrap();
    drop(stdin);
    let out = login.wait_with_output().unwrap();
    assert_eq!(stdout(&out), "Login Succeeded\n", "{}", stderr(&out));
    let stored =
        format!(r#"store {{"ServerURL":"{HUB_KEY}","Username":"alice","Secret":"wonderland"}}"#);
    assert!(helpers.log().contains(&stored), "{}", helpers.log());
    let config = fs::read_to_string(t.root.join("docker-config/config.json")).unwrap();
    assert!(config.contains(HUB_KEY), "Docker lists the login: {config}");
    assert!(
        !config.contains("wonderland") && !config.contains("YWxpY2U6"),
        "no secret in config.json: {config}"
    );
    assert_the_secret_runs(&t, &helpers);

    let out = hub(&t, &helpers, &["logout"]);
    assert_eq!(stdout(&out), "Removing login credentials for docker.io\n");
    assert!(helpers.log().contains(&format!("erase {HUB_KEY}\n")));
    let config = fs::read_to_string(t.root.join("docker-config/config.json")).unwrap();
    assert!(config.contains(r#""credsStore":"teststore""#), "{config}");
    assert!(!config.contains(HUB_KEY), "{config}");
    let out = hub(
        &t,
        &helpers,
        &["run", "--pull=always", "private/secret", "true"],
    );
    assert_one_line_error(&out, "pull access denied");
    let out = hub(&t, &helpers, &["logout"]);
    assert_eq!(
        stdout(&out),
        "Not logged in to docker.io\n",
        "{}",
        stderr(&out)
    );
}

// --- foreign layers ---------------------------------------------------------------

/// The foreign layers' server listens on one fixed address (the fixtures name it), so
/// the tests that start it take turns, each holding this for as long as it runs.
fn foreign_turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `tests/harness/file_server.py` serving the foreign layers.
struct ForeignServer {
    _server: Server,
    log: PathBuf,
}

impl ForeignServer {
    fn start(t: &TestEnv) -> ForeignServer {
        let log = t.root.join("foreign.log");
        let files = Path::new(&harness("SKIFF_TEST_HARNESS")).join("foreign");
        let address = PathBuf::from(harness("SKIFF_TEST_FOREIGN"));
        let server = Server::start("file_server.py", &[&files, &address, &log]);
        ForeignServer {
            _server: server,
            log,
        }
    }

    /// `out`, a run of `cat /etc/foreign`, printed the foreign layer's file, and these
    /// were the server's `requests`.
    fn assert_served(&self, out: &Output, requests: &str) {
        assert_eq!(stdout(out), "from afar\n", "{}", stderr(out));
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        assert_eq!(log, requests);
    }
}

#[test]
fn a_foreign_layer_comes_from_its_url_without_the_registrys_token() {
    let t = TestEnv::new();
    let _turn = foreign_turn();
    let server = ForeignServer::start(&t);
    let out = t.skiff_hub(&["run", "library/foreign", "cat", "/etc/foreign"]);
    server.assert_served(&out, "GET /foreign.tar.gz 200 authorization=no\n");
}

#[test]
fn a_nondistributable_oci_layer_tries_its_urls_in_order() {
    let t = TestEnv::new();
    let _turn = foreign_turn();
    let server = ForeignServer::start(&t);
    let image = t.image("library/foreign:oci");
    let out = t.skiff(&["run", &image, "cat", "/etc/foreign"]);
    server.assert_served(
        &out,
        "GET /missing.tar.gz 404 authorization=no\nGET /foreign.tar.gz 200 authorization=no\n",
    );
}

#[test]
fn a_foreign_layer_is_verified_and_its_failures_are_one_line() {
    let t = TestEnv::new();
    let _turn = foreign_turn();
    let server = ForeignServer::start(&t);
    let out = t.skiff(&["pull", &t.image("library/foreign:tampered")]);
    assert_one_line_error(&out, "digest mismatch");
    let out = t.skiff(&["pull", &t.image("library/foreign:gone")]);
    let gone = format!(
        "fetch foreign layer: GET http://{}/gone.tar.gz: 404",
        harness("SKIFF_TEST_FOREIGN")
    );
    assert_one_line_error(&out, &gone);
    assert_eq!(stdout(&t.skiff(&["images", "-q"])), "", "nothing stays");
    drop(server);
    // With its server down, a foreign layer's failure still says where it was sought.
    let out = t.skiff(&["pull", &t.image("library/foreign")]);
    assert_one_line_error(&out, "fetch foreign layer: GET http://");
}

// --- progress on a terminal -------------------------------------------------------

/// Runs `skiff ARGS…` on a pseudo-terminal (script(1)), as a person at a shell would;
/// returns all it wrote there, stdout and stderr together, and its exit status.
fn on_terminal(t: &TestEnv, args: &[&str]) -> (String, Option<i32>) {
    let skiff = t.command(args);
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = vec![quote(&skiff.get_program().to_string_lossy())];
    line.extend(skiff.get_args().map(|a| quote(&a.to_string_lossy())));
    let mut script = Command::new("script");
    script
        .args(["-qefc", &line.join(" "), "/dev/null"])
        .stdin(Stdio::null());
    for (key, value) in skiff.get_envs() {
        match value {
            Some(value) => script.env(key, value),
            None => script.env_remove(key),
        };
    }
    let out = script.output().unwrap();
    (stdout(&out), out.status.code())
}

/// The short ids `docker pull` shows for an image's layers, from its manifest.
fn layer_ids(repository: &str, tag: &str) -> Vec<String> {
    let url = format!(
        "http://{}/v2/{repository}/manifests/{tag}",
        harness("SKIFF_TEST_PLAIN")
    );
    let manifest = Command::new("curl")
        .args(["-sf", "-H"])
        .arg("Accept: application/vnd.docker.distribution.manifest.v2+json")
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8(manifest.stdout).unwrap();
    let layers = &text[text.find("\"layers\"").expect("a manifest with layers")..];
    layers
        .split("\"sha256:")
        .skip(1)
        .map(|rest| rest[..12].to_string())
        .collect()
}

/// The last picture of `rows` layer lines: what follows the last move up over them.
fn last_frame(screen: &str, rows: usize) -> &str {
    let up = screen.rfind(&format!("\x1b[{rows}A"));
    &screen[up.expect("the lines are redrawn in place")..]
}

#[test]
fn pull_on_a_terminal_draws_each_layer_and_dockers_summary() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let ids = layer_ids("library/busybox", "latest");
    assert_eq!(ids.len(), 2);
    let (screen, status) = on_terminal(&t, &["pull", &image]);
    assert_eq!(status, Some(0), "{screen}");
    assert!(
        screen.contains("latest: Pulling from library/busybox"),
        "{screen:?}"
    );
    assert!(screen.contains(": Downloading  "), "{screen:?}");
    let frame = last_frame(&screen, ids.len());
    for id in &ids {
        assert!(frame.contains(&format!("{id}: Pull complete")), "{frame:?}");
    }
    assert!(frame.contains("Digest: sha256:"), "{frame:?}");
    let newer = format!("Status: Downloaded newer image for {image}:latest");
    assert!(frame.contains(&newer), "{frame:?}");

    let (screen, _) = on_terminal(&t, &["pull", &image]);
    for id in &ids {
        assert!(
            screen.contains(&format!("{id}: Already exists")),
            "{screen:?}"
        );
    }
    let same = format!("Status: Image is up to date for {image}:latest");
    assert!(screen.contains(&same), "{screen:?}");
}

#[test]
fn run_on_a_terminal_shows_the_pull_but_quiet_and_pipes_stay_silent() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let (screen, status) = on_terminal(&t, &["run", &image, "echo", "hi"]);
    assert_eq!(status, Some(0), "{screen}");
    assert!(
        screen.contains(&format!("Unable to find image '{image}:latest' locally")),
        "{screen:?}"
    );
    assert!(
        screen.contains("Status: Downloaded newer image for"),
        "{screen:?}"
    );
    assert!(screen.ends_with("\nhi\r\n"), "{screen:?}");

    let other = TestEnv::new();
    let (screen, _) = on_terminal(&other, &["pull", "-q", &image]);
    assert_eq!(screen, format!("{image}:latest\r\n"));

    let third = TestEnv::new();
    let out = third.skiff(&["pull", &image]);
    assert_eq!(
        stderr(&out),
        "",
        "no progress when stderr is not a terminal"
    );
    assert!(stdout(&out).contains("\nStatus: Downloaded newer image for "));
}
