//! `run -t` and `run -it`, driven as a person would: skiff on a real pseudo-terminal
//! (tests/harness/terminal.py, Python's `os.openpty`), typing and reading what shows.

use std::path::Path;
use std::process::Command;

use crate::testenv::{assert_one_line_error, stderr, stdout, TestEnv};

/// What a terminal session showed: skiff's exit status, whether the outer terminal's
/// settings were the same at the end as before skiff started, and all output.
pub struct Shown {
    pub status: String,
    pub settings_same: bool,
    pub output: String,
}

/// Runs `skiff ARGS…` on a new pseudo-terminal and plays `script` (see terminal.py).
pub fn on_terminal(t: &TestEnv, script: &str, args: &[&str]) -> Shown {
    play(&t.command(args), script)
}

/// Runs `skiff` (its program, arguments and the variables it sets) on a new
/// pseudo-terminal and plays `script`.
pub fn play(skiff: &Command, script: &str) -> Shown {
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/harness/terminal.py");
    let mut cmd = Command::new("python3");
    cmd.arg(driver)
        .arg(script)
        .arg("--")
        .arg(skiff.get_program());
    cmd.args(skiff.get_args());
    for (key, value) in skiff.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    let out = cmd.output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .trim()
            .to_string()
    };
    Shown {
        status: field("status "),
        settings_same: field("settings-same ") == "yes",
        output: field("output "),
    }
}

#[test]
fn run_it_gives_a_shell_a_person_can_use() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let script = "size 33 101 ;; expect # ;; \
                  send echo $((6*7))\\r ;; expect 42 ;; \
                  send stty size\\r ;; expect 33 101 ;; \
                  size 40 120 ;; send stty size\\r ;; expect 40 120 ;; \
                  send sleep 100\\r ;; running sleep ;; send \\x03 ;; \
                  send echo alive-$((2+3))\\r ;; expect alive-5 ;; \
                  send exit 3\\r";
    let shown = on_terminal(&t, script, &["run", "--rm", "-it", &image, "sh"]);
    assert_eq!(shown.status, "3", "{}", shown.output);
    assert!(shown.settings_same, "the terminal's settings changed");
}

#[test]
fn ctrl_d_ends_the_shell_with_0_and_the_terminal_is_as_before() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let script = "expect # ;; send \\x04";
    let shown = on_terminal(&t, script, &["run", "--rm", "-it", &image, "sh"]);
    assert_eq!(shown.status, "0", "{}", shown.output);
    assert!(shown.settings_same, "the terminal's settings changed");
}

#[test]
fn sigterm_ends_the_session_and_restores_the_terminal() {
    // skiff passes SIGTERM on (an interactive shell ignores it) and hangs up the
    // container's terminal: the shell reads end of file and exits.
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let script = "expect # ;; signal 15";
    let shown = on_terminal(&t, script, &["run", "--name", "hup", "-it", &image, "sh"]);
    assert_ne!(shown.status, "timeout", "{}", shown.output);
    assert!(shown.settings_same, "the terminal's settings changed");
    let inspect = stdout(&t.skiff(&["inspect", "hup"]));
    assert!(inspect.contains("\"Status\":\"exited\""), "{inspect}");
}

#[test]
fn t_alone_gives_a_terminal_of_the_outer_size_and_logs_it() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let script = "size 33 101 ;; expect end";
    let args = [
        "run",
        "--name",
        "tty",
        "-t",
        &image,
        "sh",
        "-c",
        "tty; stty size; echo end",
    ];
    let shown = on_terminal(&t, script, &args);
    assert_eq!(shown.status, "0", "{}", shown.output);
    assert!(shown.output.contains("/dev/pts/0"), "{}", shown.output);
    assert!(shown.output.contains("33 101"), "{}", shown.output);
    // One stream, as the terminal showed it, `\n` made `\r\n` by the container's side.
    let logs = t.skiff(&["logs", "tty"]);
    assert_eq!(stdout(&logs), "/dev/pts/0\r\n33 101\r\nend\r\n");
    let inspect = stdout(&t.skiff(&["inspect", "tty"]));
    assert!(
        inspect.contains("\"OpenStdin\":false,\"Tty\":true"),
        "{inspect}"
    );
}

#[test]
fn it_without_a_terminal_fails_as_docker_does() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", "-it", &t.image("library/busybox"), "sh"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "skiff: the input device is not a TTY\n");
}

#[test]
fn the_console_is_the_containers_own_terminal() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let script = "expect end";
    let probe = "[ /dev/console -ef /dev/pts/0 ] && echo console-ok; \
                 stat -f -c %T /dev/pts; echo end";
    let shown = on_terminal(
        &t,
        script,
        &["run", "--rm", "-t", &image, "sh", "-c", probe],
    );
    assert!(shown.output.contains("console-ok"), "{}", shown.output);
    assert!(shown.output.contains("devpts"), "{}", shown.output);
}

#[test]
fn attach_and_detach_round_trip_with_ctrl_p_ctrl_q() {
    // `run -d -it`: the supervisor holds the terminal; `attach` connects this one to it,
    // Ctrl-P Ctrl-Q leaves it running, a second `attach` finds the same shell.
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let out = t.skiff(&["run", "-d", "-it", "--name", "bg", &image, "sh"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = "size 30 90 ;; send A=$((20+1))\\r ;; send echo hi-$A\\r ;; \
                 expect hi-21 ;; send stty size\\r ;; expect 30 90 ;; send \\x10\\x11";
    let shown = on_terminal(&t, first, &["attach", "bg"]);
    assert_eq!(shown.status, "0", "{}", shown.output);
    assert!(shown.settings_same, "the terminal's settings changed");
    let inspect = stdout(&t.skiff(&["inspect", "bg"]));
    assert!(inspect.contains("\"Status\":\"running\""), "{inspect}");
    let second = "send echo again-$A\\r ;; expect again-21 ;; send exit 5\\r";
    let shown = on_terminal(&t, second, &["attach", "bg"]);
    assert_eq!(shown.status, "5", "{}", shown.output);
    let logs = stdout(&t.skiff(&["logs", "bg"]));
    assert!(
        logs.contains("hi-21\r\n") && logs.contains("again-21\r\n"),
        "{logs}"
    );
    // Started again, it has a terminal to attach to again.
    assert_eq!(t.skiff(&["start", "bg"]).status.code(), Some(0));
    let shown = on_terminal(&t, "send exit 7\\r", &["attach", "bg"]);
    assert_eq!(shown.status, "7", "{}", shown.output);
}

#[test]
fn attach_needs_a_running_container_with_a_terminal() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    t.skiff(&["run", "--name", "done", &image, "true"]);
    let out = t.skiff(&["attach", "done"]);
    assert_one_line_error(&out, "You cannot attach to a stopped container");
    let out = t.skiff(&["run", "-d", "--name", "pipes", &image, "sleep", "100"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = t.skiff(&["attach", "pipes"]);
    assert_one_line_error(&out, "has no terminal");
    t.skiff(&["rm", "-f", "pipes"]);
}
