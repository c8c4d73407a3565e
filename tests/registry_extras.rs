//! The registry's less common paths: Docker's credential helpers.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::testenv::{assert_one_line_error, harness, stderr, stdout, TestEnv};

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

#[test]
fn a_creds_store_serves_docker_hub_credentials() {
    let t = TestEnv::new();
    let helpers = Helpers::new(&t, r#"{"credsStore":"teststore"}"#);
    helpers.keep(HUB_KEY, "alice", "wonderland");
    let out = hub(
        &t,
        &helpers,
        &["run", "private/secret", "cat", "/etc/secret"],
    );
    assert_eq!(stdout(&out), "top secret\n", "{}", stderr(&out));
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
    let out = hub(
        &t,
        &helpers,
        &["run", "private/secret", "cat", "/etc/secret"],
    );
    assert_eq!(stdout(&out), "top secret\n", "{}", stderr(&out));
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
    let out = hub(
        &t,
        &helpers,
        &["run", "private/secret", "cat", "/etc/secret"],
    );
    assert_eq!(stdout(&out), "top secret\n", "{}", stderr(&out));

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
