//! What every test shares: the harness's registries, a fresh `SKIFF_ROOT` per test, and
//! a teardown that fails the test if skiff left a mount or a scratch directory behind.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// An environment variable the harness exports; without it the suite cannot run.
pub fn harness(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the integration tests with `make test`"))
}

/// The binary under test: the static release build when `make test` says so.
pub fn skiff_bin() -> PathBuf {
    std::env::var_os("SKIFF_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_skiff")))
}

pub struct TestEnv {
    pub root: PathBuf,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("skiff-test-{}-{n}", std::process::id()));
        fs::create_dir_all(&root).unwrap();
        TestEnv { root }
    }

    /// An image on the plain-HTTP registry: `library/busybox` → `127.0.0.1:5555/library/busybox`.
    pub fn image(&self, name: &str) -> String {
        format!("{}/{name}", harness("SKIFF_TEST_PLAIN"))
    }

    /// `skiff ARGS…` with this test's store, no terminal and no inherited tracing.
    pub fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(skiff_bin());
        cmd.args(args)
            .env("SKIFF_ROOT", &self.root)
            .env_remove("SKIFF_TRACE")
            .env_remove("SKIFF_REGISTRY_MIRROR")
            .env_remove("SKIFF_INSECURE_REGISTRIES")
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .env("DOCKER_CONFIG", self.root.join("docker-config"))
            .stdin(Stdio::null());
        for proxy in ["HTTP", "HTTPS", "ALL", "NO"] {
            cmd.env_remove(format!("{proxy}_PROXY"))
                .env_remove(format!("{}_proxy", proxy.to_lowercase()));
        }
        cmd
    }

    pub fn skiff<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.command(args).output().unwrap()
    }

    /// `skiff ARGS…` as shipped, talking to "Docker Hub": inside a private mount
    /// namespace whose /etc/hosts sends registry-1.docker.io and auth.docker.io to
    /// the harness, trusting the harness's test CA.
    pub fn skiff_hub<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.hub_command(args).output().unwrap()
    }

    /// The command behind [`TestEnv::skiff_hub`], for tests that feed it stdin.
    pub fn hub_command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        self.hub_command_with(args, &Hub::default())
    }

    /// [`TestEnv::hub_command`], with the namespace and trust changed as `hub` says.
    pub fn hub_command_with<S: AsRef<OsStr>>(&self, args: &[S], hub: &Hub) -> Command {
        let cmd = self.command(args);
        let skiff = PathBuf::from(cmd.get_program());
        let mut hosts = PathBuf::from(harness("SKIFF_TEST_HOSTS"));
        if !hub.hosts.is_empty() {
            let mut text = fs::read_to_string(&hosts).unwrap();
            text.extend(hub.hosts.iter().map(|line| format!("{line}\n")));
            hosts = self.root.join("hosts");
            fs::write(&hosts, text).unwrap();
        }
        let mut binds = vec![hosts.into_os_string(), "/etc/hosts".into()];
        if let Some(dir) = &hub.etc_docker {
            binds.extend([dir.clone().into_os_string(), "/etc/docker".into()]);
        }
        let mut wrapped = Command::new("unshare");
        wrapped
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(r#"while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 99; shift 2; done; shift; exec "$@""#)
            .arg("sh")
            .args(binds)
            .arg("--")
            .arg(skiff)
            .args(cmd.get_args())
            .stdin(Stdio::null());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        if !hub.without_ca {
            wrapped.env("SSL_CERT_FILE", harness("SKIFF_TEST_CA"));
        }
        wrapped
    }

    /// Writes `~/.docker/config.json` as `docker login` would.
    pub fn login(&self, registry_key: &str, user: &str, password: &str) {
        let dir = self.root.join("docker-config");
        fs::create_dir_all(&dir).unwrap();
        let auth = base64(format!("{user}:{password}").as_bytes());
        let config = format!(r#"{{"auths":{{"{registry_key}":{{"auth":"{auth}"}}}}}}"#);
        fs::write(dir.join("config.json"), config).unwrap();
    }
}

/// How a "Docker Hub" command's namespace and trust differ from the default.
#[derive(Default)]
pub struct Hub {
    /// More `/etc/hosts` lines, after the harness's (`127.0.0.1 registry.test`).
    pub hosts: Vec<String>,
    /// A directory to mount over `/etc/docker`, where Docker keeps `certs.d`.
    pub etc_docker: Option<PathBuf>,
    /// No `SSL_CERT_FILE`: the harness's CA is trusted only where the test says.
    pub without_ca: bool,
}

/// What skiff must never leave behind: a mount under its store, or a scratch directory;
/// and what a test must not: a volume (tests/volumes.rs removes each one it makes).
fn leftovers(root: &Path) -> Vec<String> {
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let root_text = root.to_string_lossy();
    let mut found: Vec<String> = mounts
        .lines()
        .filter(|line| line.contains(root_text.as_ref()))
        .map(|line| format!("mount: {line}"))
        .collect();
    if let Ok(entries) = fs::read_dir(root.join("tmp")) {
        found.extend(
            entries
                .flatten()
                .map(|e| format!("scratch dir: {:?}", e.path())),
        );
    }
    if let Ok(entries) = fs::read_dir(root.join("volumes")) {
        found.extend(entries.flatten().map(|e| format!("volume: {:?}", e.path())));
    }
    found
}

/// The root of each cgroup tree: /sys/fs/cgroup (v2), and /sys/fs/cgroup/CONTROLLER (v1).
pub fn cgroup_trees() -> impl Iterator<Item = PathBuf> {
    let trees = fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten();
    std::iter::once(PathBuf::from("/sys/fs/cgroup")).chain(trees.map(|e| e.path()))
}

/// The cgroup directories of container `id` still on the host: `skiff/ID` at the root
/// of each tree.
pub fn cgroups_of(id: &str) -> Vec<String> {
    cgroup_trees()
        .map(|tree| tree.join("skiff").join(id))
        .filter(|dir| dir.is_dir())
        .map(|dir| format!("cgroup: {}", dir.display()))
        .collect()
}

impl TestEnv {
    /// Rewrites container `id`'s state as a killed skiff leaves it: "running", but its
    /// process and supervisor are gone (made by hand: a container whose supervisor is
    /// killed lingers as a zombie here, as this machine's init reaps none).
    pub fn record_died_unwatched(&self, id: &str) {
        let gone = Command::new("true").spawn().unwrap();
        let dead = gone.id();
        drop(gone.wait_with_output());
        let state = format!(
            r#"{{"status":"running","pid":{{"pid":{dead},"start_time":1}},"supervisor":{{"pid":{dead},"start_time":1}},"exit_code":0,"oom_killed":false,"started_at":"","finished_at":""}}"#
        );
        fs::write(
            self.root.join("containers").join(id).join("state.json"),
            state,
        )
        .unwrap();
    }

    /// The IDs of the containers recorded in this test's store (and any debris of
    /// one), but not the directory of name links, `.names`, nor the empty directory a
    /// deleter made for the next container, `.spare`. A removed container's
    /// directory (`.gone-ID`) counts until its deleter, a detached process that holds
    /// its lock until it exits, is done: a deleter that left it shows as debris.
    pub fn containers(&self) -> Vec<String> {
        self.wait_for_deleters();
        fs::read_dir(self.root.join("containers"))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| name != ".names" && name != ".spare")
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Until each removed container's deleter (a detached process holding its
    /// `.gone-ID` directory's lock) has exited.
    fn wait_for_deleters(&self) {
        let Ok(entries) = fs::read_dir(self.root.join("containers")) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(".gone-") {
                if let Ok(dir) = fs::File::open(entry.path()) {
                    let _ = dir.lock(); // flock(2): free once the deleter has exited
                }
            }
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // A failed test may leave a detached container running: kill it, whatever happened.
        let ids = self.containers();
        for id in &ids {
            let _ = self.skiff(&["rm", "-f", id]);
        }
        self.wait_for_deleters(); // theirs: each makes a `.spare` before it is done
        let mut left = leftovers(&self.root);
        left.extend(ids.iter().flat_map(|id| cgroups_of(id)));
        // What a deleter could not delete: the directory, and an `--rm` one's cgroup.
        for gone in self.containers() {
            if let Some(id) = gone.strip_prefix(".gone-") {
                left.push(format!("not deleted: {gone}"));
                left.extend(cgroups_of(id));
            }
        }
        let _ = fs::remove_dir_all(&self.root);
        if !std::thread::panicking() {
            assert!(left.is_empty(), "skiff left things behind: {left:#?}");
        }
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A failure of skiff itself: exit 125 and exactly one line on stderr, naming `what`.
pub fn assert_one_line_error(out: &Output, what: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(125), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "want one line, got: {err}");
    assert!(err.starts_with("skiff: "), "{err}");
    assert!(err.contains(what), "want {what:?} in: {err}");
}

/// A failure Docker's CLI reports with exit 1 and one line.
pub fn assert_refused(out: &Output, what: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(what), "want {what:?} in {err}");
}

/// The fixture most tests run.
pub const BUSYBOX: &str = "library/busybox";

/// `skiff ARGS…`, which must exit 0: its stdout.
pub fn ok(t: &TestEnv, args: &[&str]) -> String {
    let out = t.skiff(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// The same, and nothing may reach stderr.
pub fn ok_silent(t: &TestEnv, args: &[&str]) -> String {
    let out = t.skiff(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    assert_eq!(stderr(&out), "", "{args:?}");
    stdout(&out)
}

/// `skiff run --rm FLAGS IMAGE sh -c SCRIPT`.
pub fn run_sh(t: &TestEnv, flags: &[&str], image: &str, script: &str) -> Output {
    let image = t.image(image);
    let args = [&["run", "--rm"], flags, &[&image, "sh", "-c", script]].concat();
    t.skiff(&args)
}

/// The same, which must exit 0: its stdout.
pub fn sh(t: &TestEnv, flags: &[&str], image: &str, script: &str) -> String {
    let out = run_sh(t, flags, image, script);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{flags:?} {script}: {}",
        stderr(&out)
    );
    stdout(&out)
}

/// `skiff run -d --name NAME FLAGS IMAGE sleep 1000`: its ID.
pub fn sleeper(t: &TestEnv, name: &str, flags: &[&str], image: &str) -> String {
    let image = t.image(image);
    let args = [
        &["run", "-d", "--name", name],
        flags,
        &[&image, "sleep", "1000"],
    ]
    .concat();
    ok(t, &args).trim().to_string()
}

/// The value at `path` (keys joined by dots, each the first of its name after the one
/// before) in `json`, unquoted: enough for what skiff prints.
pub fn json_field(json: &str, path: &str) -> String {
    let mut rest = json;
    for key in path.split('.') {
        let key = format!("\"{key}\":");
        let at = rest
            .find(&key)
            .unwrap_or_else(|| panic!("{path} in {json}"));
        rest = &rest[at + key.len()..];
    }
    let end = rest.find([',', '}']).unwrap();
    rest[..end].trim_matches('"').to_string()
}

/// A field of `skiff inspect NAME` (see [`json_field`]).
pub fn inspect_field(t: &TestEnv, name: &str, path: &str) -> String {
    json_field(&ok(t, &["inspect", name]), path)
}

/// The pid a container's state.json records for `who` (`pid` or `supervisor`).
pub fn recorded_pid(t: &TestEnv, id: &str, who: &str) -> i32 {
    let state = t.root.join("containers").join(id).join("state.json");
    let state = fs::read_to_string(state).unwrap();
    json_field(&state, &format!("{who}.pid")).parse().unwrap()
}

/// Waits up to 30 s for `condition`, looking again every 20 ms.
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub fn kill_9(pid: i32) {
    let status = Command::new("kill").args(["-9", &pid.to_string()]).status();
    assert!(status.unwrap().success(), "kill -9 {pid}");
}

/// The next line `child` writes to its piped stdout (`""` at its end), read a byte at a
/// time so that nothing after it is taken from the pipe: the test may read on, or wait
/// for the rest.
pub fn next_line(child: &mut Child) -> String {
    let stdout = child.stdout.as_mut().expect("stdout is piped");
    let (mut line, mut byte) = (Vec::new(), [0]);
    while !line.ends_with(b"\n") && stdout.read(&mut byte).unwrap() == 1 {
        line.push(byte[0]);
    }
    String::from_utf8_lossy(&line).into_owned()
}

/// `python3 tests/harness/SCRIPT ARGS…`, a server of the harness's, killed when dropped.
pub struct Server {
    child: Child,
    /// The port it said it listens on (`port N`, its first line).
    pub port: String,
}

impl Server {
    pub fn start<S: AsRef<OsStr>>(script: &str, args: &[S]) -> Server {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/harness")
            .join(script);
        let mut child = Command::new("python3")
            .arg(path)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let first = next_line(&mut child);
        let port = first.trim().strip_prefix("port ");
        let port = port.unwrap_or_else(|| panic!("{script} announces its port: {first:?}"));
        Server {
            port: port.to_string(),
            child,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many blobs the store holds.
pub fn blobs(t: &TestEnv) -> usize {
    fs::read_dir(t.root.join("blobs/sha256")).map_or(0, |d| d.count())
}

/// Standard base64, enough to write a docker config in a test.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn test_base64_matches_known_vectors() {
    assert_eq!(base64(b"alice:wonderland"), "YWxpY2U6d29uZGVybGFuZA==");
    assert_eq!(base64(b"ab"), "YWI=");
    assert_eq!(base64(b"abc"), "YWJj");
}

/// `tests/harness/counting_proxy.py` in front of the plain registry, for one test:
/// it logs every request, and with `stall` hangs halfway through each blob. Other
/// modes of the script (a bad network) are for [`CountingProxy::start_in_mode`].
pub struct CountingProxy {
    server: Server,
    pub address: String,
    log: PathBuf,
}

impl CountingProxy {
    pub fn start(t: &TestEnv, stall: bool) -> CountingProxy {
        CountingProxy::start_in_mode(t, if stall { &["--stall-blobs"] } else { &[] })
    }

    /// The proxy with `mode`, the script's arguments after UPSTREAM and LOG.
    pub fn start_in_mode(t: &TestEnv, mode: &[&str]) -> CountingProxy {
        CountingProxy::start_before(t, &harness("SKIFF_TEST_PLAIN"), mode)
    }

    /// The proxy in front of `upstream` (host:port) instead of the plain registry.
    pub fn start_before(t: &TestEnv, upstream: &str, mode: &[&str]) -> CountingProxy {
        let log = t.root.join("proxy.log");
        let args = [upstream.as_ref(), log.as_os_str()];
        let args: Vec<&OsStr> = args
            .into_iter()
            .chain(mode.iter().map(OsStr::new))
            .collect();
        let server = Server::start("counting_proxy.py", &args);
        CountingProxy {
            address: format!("127.0.0.1:{}", server.port),
            server,
            log,
        }
    }

    /// The next blob it stalls, as it says so: `stalled PATH`.
    pub fn next_stall(&mut self) -> String {
        next_line(&mut self.server.child)
    }

    /// How many requests so far had `what` in their line (e.g. "/blobs/").
    pub fn count(&self, what: &str) -> usize {
        self.log()
            .lines()
            .filter(|line| line.contains(what))
            .count()
    }

    /// Every request so far, one line each: `GET PATH STATUS [range=bytes=N-]`.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}
