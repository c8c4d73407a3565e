//! `--restart`: the supervisor starts a container again as its policy says, a user's
//! `stop` ends that, and `start --restartable` brings services back at boot.

use std::fs;

use crate::testenv::{
    assert_one_line_error, eventually, inspect_field, kill_9, ok, recorded_pid, stdout, TestEnv,
};

/// A directory on the host for the container's `/count`, and how many runs it saw.
fn counter(t: &TestEnv) -> (String, impl Fn() -> usize) {
    let dir = t.root.join("count");
    fs::create_dir_all(&dir).unwrap();
    let runs = dir.join("runs");
    let count = move || fs::read_to_string(&runs).map_or(0, |text| text.lines().count());
    (format!("{}:/count", dir.display()), count)
}

/// Whether `pid` has ended (a zombie has: this machine's init reaps none).
fn ended(pid: i32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit(')')
        .next()
        .is_none_or(|rest| matches!(rest.trim_start().chars().next(), None | Some('Z' | 'X')))
}

/// `run -d --restart POLICY --name NAME [-v VOLUME] busybox COMMAND…`: the container's ID.
fn run_restarting(
    t: &TestEnv,
    policy: &str,
    name: &str,
    volume: Option<&str>,
    command: &[&str],
) -> String {
    let image = t.image("library/busybox");
    let mut args = vec!["run", "-d", "--restart", policy, "--name", name];
    if let Some(volume) = volume {
        args.extend(["-v", volume]);
    }
    args.push(&image);
    args.extend(command);
    ok(t, &args).trim().to_string()
}

#[test]
fn on_failure_3_starts_a_failing_container_exactly_3_more_times() {
    let t = TestEnv::new();
    let (volume, runs) = counter(&t);
    let script = "echo run >> /count/runs; exit 1";
    run_restarting(
        &t,
        "on-failure:3",
        "f",
        Some(&volume),
        &["sh", "-c", script],
    );
    eventually("it is given up on", || {
        inspect_field(&t, "f", "Status") == "exited"
    });
    assert_eq!(runs(), 4, "the first run and 3 restarts");
    assert_eq!(inspect_field(&t, "f", "RestartCount"), "3");
    assert_eq!(inspect_field(&t, "f", "ExitCode"), "1");
    assert_eq!(inspect_field(&t, "f", "RestartPolicy.Name"), "on-failure");
    assert_eq!(inspect_field(&t, "f", "MaximumRetryCount"), "3");
    // A success is not a failure: on-failure leaves it be.
    run_restarting(&t, "on-failure", "s", None, &["true"]);
    eventually("it ended", || inspect_field(&t, "s", "Status") == "exited");
    assert_eq!(inspect_field(&t, "s", "RestartCount"), "0");
}

#[test]
fn always_survives_kill_9_and_stop_is_final() {
    let t = TestEnv::new();
    let (volume, runs) = counter(&t);
    let script = "echo run >> /count/runs; exec sleep 1000";
    let id = run_restarting(&t, "always", "a", Some(&volume), &["sh", "-c", script]);
    eventually("it ran", || runs() == 1);
    let first = recorded_pid(&t, &id, "pid");
    kill_9(first);
    eventually("it runs again", || {
        runs() == 2 && inspect_field(&t, "a", "Status") == "running"
    });
    assert_ne!(inspect_field(&t, "a", "Pid"), first.to_string());
    assert_eq!(inspect_field(&t, "a", "RestartCount"), "1");
    assert!(ok(&t, &["ps"]).contains("Up "));

    // `stop` returns once the supervisor has gone: nothing is left to restart it.
    ok(&t, &["stop", "-t", "0", "a"]);
    assert_eq!(inspect_field(&t, "a", "Status"), "exited");
    assert_eq!(inspect_field(&t, "a", "Restarting"), "false");
    let supervisor = recorded_pid(&t, &id, "supervisor");
    assert!(ended(supervisor), "the supervisor has gone");
    assert_eq!(runs(), 2);
}

#[test]
fn stop_ends_a_crash_loop_whether_it_runs_or_waits() {
    let t = TestEnv::new();
    let (volume, runs) = counter(&t);
    let script = "echo run >> /count/runs; exit 3";
    run_restarting(&t, "always", "c", Some(&volume), &["sh", "-c", script]);
    eventually("it restarted twice", || runs() >= 3);
    let ps = ok(&t, &["ps"]);
    assert!(ps.contains("Restarting (3)") || ps.contains("Up "), "{ps}");
    ok(&t, &["stop", "c"]);
    let after = runs();
    assert_eq!(inspect_field(&t, "c", "Status"), "exited");
    // Whatever started before the stop has ended, and nothing starts after it.
    assert_eq!(ok(&t, &["wait", "c"]), "3\n");
    assert_eq!(runs(), after);
    // A user's start begins again, and counts from 0.
    ok(&t, &["start", "c"]);
    eventually("it restarted", || {
        inspect_field(&t, "c", "RestartCount") != "0"
    });
    ok(&t, &["rm", "-f", "c"]);
    assert!(t.containers().is_empty());
}

#[test]
fn restart_with_rm_or_a_bad_policy_is_refused() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let out = t.skiff(&["run", "--rm", "--restart", "always", &image, "true"]);
    assert_one_line_error(&out, "Conflicting options: --restart and --rm");
    let out = t.skiff(&["run", "--restart", "sometimes", &image, "true"]);
    assert_one_line_error(&out, "invalid restart policy \"sometimes\"");
    let out = t.skiff(&["create", "--restart", "always:2", &image, "true"]);
    assert_one_line_error(&out, "invalid restart policy \"always:2\"");
    assert!(t.containers().is_empty());
}

#[test]
fn start_restartable_brings_back_what_the_policies_ask_for() {
    let t = TestEnv::new();
    let mut ids = Vec::new();
    for (name, policy) in [
        ("a", "always"),
        ("u", "unless-stopped"),
        ("n", "no"),
        ("s", "unless-stopped"),
    ] {
        ids.push(run_restarting(&t, policy, name, None, &["sleep", "1000"]));
    }
    // The user's stop: unless-stopped stays stopped.
    ok(&t, &["stop", "-t", "0", "s"]);
    // As a reboot leaves them: supervisors and containers gone, records saying "running".
    for id in &ids[..3] {
        kill_9(recorded_pid(&t, id, "supervisor"));
        kill_9(recorded_pid(&t, id, "pid"));
    }
    for name in ["a", "u", "n"] {
        eventually("the kills are seen", || {
            inspect_field(&t, name, "Status") == "exited"
        });
    }
    let started = ok(&t, &["start", "--restartable"]);
    // Newest first, as `ps -a` lists them.
    assert_eq!(started, format!("{}\n{}\n", ids[1], ids[0]));
    for (name, status) in [
        ("a", "running"),
        ("u", "running"),
        ("n", "exited"),
        ("s", "exited"),
    ] {
        assert_eq!(inspect_field(&t, name, "Status"), status, "{name}");
    }
    // They are supervised again: a kill -9 is followed by a restart.
    kill_9(inspect_field(&t, "a", "Pid").parse().unwrap());
    eventually("a runs again", || {
        inspect_field(&t, "a", "RestartCount") == "1"
    });
}

#[test]
fn issue_18_an_attached_run_exits_with_its_first_status_and_a_supervisor_restarts_it() {
    let t = TestEnv::new();
    let (volume, runs) = counter(&t);
    let image = t.image("library/busybox");
    let script = "echo run >> /count/runs; echo said; exit 3";
    let args = [
        "run",
        "--name",
        "att",
        "--restart",
        "on-failure:2",
        "-v",
        &volume,
        &image,
        "sh",
        "-c",
        script,
    ];
    // Output returns once every writer of skiff's stdout has closed it: the
    // supervisor that takes over holds none.
    let out = t.skiff(&args);
    assert_eq!(
        out.status.code(),
        Some(3),
        "Docker's client: the first run's status"
    );
    assert_eq!(stdout(&out), "said\n");
    eventually("it ran 3 times, then stayed exited", || {
        runs() == 3 && inspect_field(&t, "att", "State.Status") == "exited"
    });
    assert_eq!(inspect_field(&t, "att", "RestartCount"), "2");
    assert_eq!(inspect_field(&t, "att", "State.ExitCode"), "3");
}

#[test]
fn issue_17_a_restart_that_cannot_start_says_why() {
    let t = TestEnv::new();
    // Its first run removes its own command: the restart finds none.
    run_restarting(&t, "always", "gone", None, &["rm", "/bin/rm"]);
    eventually("the restart failed", || {
        inspect_field(&t, "gone", "Status") == "exited"
    });
    let error = ok(&t, &["inspect", "-f", "{{.State.Error}}", "gone"]);
    assert_eq!(error, "exec \"rm\": executable file not found in $PATH\n");
    assert_eq!(inspect_field(&t, "gone", "ExitCode"), "127", "Docker's");
    assert_eq!(inspect_field(&t, "gone", "RestartCount"), "1");
    assert!(ok(&t, &["ps", "-a"]).contains("Exited (127)"));
}
