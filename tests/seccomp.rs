//! Seccomp as Docker sets it (issue 17): every container's system calls pass through
//! Docker's default profile unless `--privileged` or `seccomp=unconfined` lift it, or
//! a profile of the user's replaces it. The probe is the image's docker-explorer,
//! calling system calls by number from inside the real container.

use std::fs;

use crate::testenv::{assert_one_line_error, ok, sh, sleeper, TestEnv, BUSYBOX};

/// The calls the issue lists, by x86_64 number, with arguments that do no harm where
/// they are allowed.
const DANGEROUS: [(&str, &str); 10] = [
    ("keyctl", "250 0 0xfffffffd"),
    ("add_key", "248"),
    ("bpf", "321 0"),
    ("perf_event_open", "298"),
    ("kexec_load", "246"),
    ("open_by_handle_at", "304 -1"),
    ("unshare(CLONE_NEWUSER)", "272 0x10000000"),
    ("mount", "165"),
    ("swapon", "167"),
    ("x32 getpid", "0x40000027"),
];

/// What each of [`DANGEROUS`] answers in a container run with `flags`, one line each.
fn answers(t: &TestEnv, flags: &[&str]) -> Vec<String> {
    let calls: Vec<String> = DANGEROUS
        .iter()
        .map(|(_, call)| format!("docker-explorer syscall {call}"))
        .collect();
    let out = sh(
        t,
        flags,
        BUSYBOX,
        &format!("{{ {}; }} || true", calls.join("; ")),
    );
    out.lines().map(String::from).collect()
}

const EPERM: &str = "Operation not permitted";

#[test]
fn the_default_profile_refuses_what_docker_refuses() {
    let t = TestEnv::new();
    let got = answers(&t, &[]);
    for ((name, _), answer) in DANGEROUS.iter().zip(&got) {
        assert_eq!(answer, EPERM, "{name}");
    }
    assert_eq!(got.len(), DANGEROUS.len(), "{got:?}");
    let status = sh(
        &t,
        &[],
        BUSYBOX,
        "grep Seccomp: /proc/self/status; echo fine | cat",
    );
    assert_eq!(status, "Seccomp:\t2\nfine\n");
}

/// The answer to the call named `name` under `flags`.
fn answer(t: &TestEnv, flags: &[&str], name: &str) -> String {
    let at = DANGEROUS.iter().position(|(n, _)| *n == name).unwrap();
    answers(t, flags).swap_remove(at)
}

/// Ordinary programs pass Docker's profile: the host's own Debian python3 (threads,
/// whose glibc tries clone3 first and must get ENOSYS, not EPERM, to fall back;
/// a subprocess; ssl and sqlite3 loaded) and apt, bound read-only into a busybox
/// container. (Debian's redis-server runs under the same filter in tests/tinydock.rs.)
#[test]
fn debians_python_and_apt_work_under_the_default_profile() {
    let t = TestEnv::new();
    let host = [
        "-v",
        "/usr:/usr:ro",
        "-v",
        "/lib:/lib:ro",
        "-v",
        "/lib64:/lib64:ro",
        "-v",
        "/etc/apt:/etc/apt:ro",
        "-v",
        "/var/lib/dpkg:/var/lib/dpkg:ro",
    ];
    let python = "import threading, subprocess, ssl, sqlite3\n\
        t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()\n\
        print(subprocess.run(['/usr/bin/true']).returncode)";
    let out = sh(
        &t,
        &host,
        BUSYBOX,
        &format!(
            "grep Seccomp: /proc/self/status; /usr/bin/python3 -c \"{python}\"; \
             /usr/bin/apt-cache show apt | grep -c '^Package: apt$'"
        ),
    );
    assert_eq!(out, "Seccomp:\t2\nthread\n0\n1\n");
}

#[test]
fn unconfined_and_privileged_load_no_filter() {
    let t = TestEnv::new();
    let unconfined = ["--security-opt", "seccomp=unconfined"];
    assert_eq!(answer(&t, &unconfined, "unshare(CLONE_NEWUSER)"), "ok");
    assert_eq!(
        answer(&t, &unconfined, "x32 getpid"),
        "Function not implemented"
    );
    let status = sh(
        &t,
        &["--privileged"],
        BUSYBOX,
        "grep Seccomp: /proc/self/status",
    );
    assert_eq!(status, "Seccomp:\t0\n");
    assert_eq!(answer(&t, &["--privileged"], "mount"), "Bad address");
}

#[test]
fn cap_add_sys_admin_unlocks_what_dockers_profile_unlocks() {
    let t = TestEnv::new();
    let admin = ["--cap-add", "SYS_ADMIN"];
    assert_eq!(answer(&t, &admin, "mount"), "Bad address"); // past the filter: NULL target
    assert_eq!(answer(&t, &admin, "unshare(CLONE_NEWUSER)"), "ok");
    assert_eq!(answer(&t, &admin, "keyctl"), EPERM); // never allowed
}

#[test]
fn a_custom_profile_denies_what_it_lists() {
    let t = TestEnv::new();
    let profile = t.root.join("profile.json");
    fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["uname", "not_a_call"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
    )
    .unwrap();
    let flag = format!("seccomp={}", profile.display());
    let flags = ["--security-opt", &flag];
    let got = sh(
        &t,
        &flags,
        BUSYBOX,
        "docker-explorer syscall 63 || docker-explorer syscall 272 0x10000000",
    );
    assert_eq!(got, "Permission denied\nok\n");
    let id = sleeper(&t, "custom", &flags, BUSYBOX);
    let opt = ok(
        &t,
        &[
            "inspect",
            "--format",
            "{{json .HostConfig.SecurityOpt}}",
            &id,
        ],
    );
    assert!(
        opt.starts_with("[\"seccomp={\\\"defaultAction\\\""),
        "{opt}"
    );
    ok(&t, &["rm", "-f", &id]);
}

#[test]
fn exec_runs_under_the_containers_filter() {
    let t = TestEnv::new();
    let id = sleeper(&t, "filtered", &[], BUSYBOX);
    let out = t.skiff(&["exec", &id, "docker-explorer", "syscall", "250"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{EPERM}\n"));
    ok(&t, &["rm", "-f", &id]);
}

#[test]
fn bad_profiles_are_refused_in_one_line() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    let refused = |text: &str, what: &str| {
        let profile = t.root.join("bad.json");
        fs::write(&profile, text).unwrap();
        let flag = format!("seccomp={}", profile.display());
        let out = t.skiff(&["run", "--rm", "--security-opt", &flag, &image, "true"]);
        assert_one_line_error(&out, what);
    };
    refused(
        "{\"defaultAction\": ",
        "seccomp profile: not JSON in Docker's format",
    );
    refused(
        r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#,
        "seccomp profile: unsupported action \"SCMP_ACT_NOTIFY\"",
    );
    let out = t.skiff(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=/nonexistent",
        &image,
        "true",
    ]);
    assert_one_line_error(&out, "opening seccomp profile (/nonexistent) failed");
}
