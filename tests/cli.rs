//! The command line: help, version and usage errors, as Docker users expect them.

use crate::testenv::{assert_one_line_error, stderr, stdout, TestEnv};

#[test]
fn version_and_help() {
    let t = TestEnv::new();
    let out = t.skiff(&["--version"]);
    assert!(stdout(&out).starts_with("skiff version "));
    let out = t.skiff(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("  run "), "{}", stdout(&out));
    let out = t.skiff(&["run", "--help"]);
    assert!(stdout(&out).starts_with("Usage:  skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]"));
}

#[test]
fn unknown_flag_is_exit_125() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", "--bogus", "alpine"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).starts_with("skiff: unknown flag: --bogus\n"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_command_is_exit_125() {
    let t = TestEnv::new();
    let out = t.skiff(&["fly"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("'fly' is not a skiff command"));
}

#[test]
fn run_without_an_image_is_exit_125() {
    let t = TestEnv::new();
    let out = t.skiff(&["run"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("requires at least 1 argument"));
}

#[test]
fn a_missing_flag_value_is_one_line() {
    let t = TestEnv::new();
    let out = t.skiff(&["run", "-e"]);
    assert_one_line_error(&out, "flag needs an argument: -e");
}

/// Issue 12: the simple commands share one flag loop (`cli::parse`), `run` and `create`
/// have their own; each must answer `-h` on stdout (exit 0) and refuse a flag it does
/// not know, in the same words.
#[test]
fn every_command_answers_help_and_refuses_unknown_flags() {
    let t = TestEnv::new();
    let commands = [
        "attach", "create", "exec", "images", "import", "inspect", "kill", "load", "login",
        "history", "logout", "logs", "network", "ps", "pull", "push", "commit", "rm", "rmi", "run",
        "save", "start", "stats", "stop", "wait",
    ];
    for command in commands {
        // As Docker's, `run` and `create` take `-h` for `--hostname`.
        let help = match command {
            "run" | "create" => "--help",
            _ => "-h",
        };
        let out = t.skiff(&[command, help]);
        assert_eq!(out.status.code(), Some(0), "{command}: {}", stderr(&out));
        assert!(
            stdout(&out).starts_with(&format!("Usage:  skiff {command} ")),
            "{}",
            stdout(&out)
        );
        assert_eq!(stderr(&out), "", "{command}");
        let out = t.skiff(&[command, "--bogus", "x"]);
        assert_eq!(out.status.code(), Some(125), "{command}");
        let want = format!("skiff: unknown flag: --bogus\nSee 'skiff {command} --help'.\n");
        assert_eq!(stderr(&out), want);
    }
}
