//! Moving things and housekeeping: `rename`, `tag`, `pause`/`unpause`, the prunes, `cp`.

use std::fs;

use crate::lifecycle::ok;
use crate::testenv::{assert_one_line_error, stdout, TestEnv};

/// `run -d --name NAME busybox sh -c SCRIPT`: its ID.
fn detached(t: &TestEnv, name: &str, script: &str) -> String {
    let image = t.image("library/busybox");
    let id = ok(
        t,
        &["run", "-d", "--name", name, &image, "sh", "-c", script],
    );
    id.trim().to_string()
}

fn ps_status(t: &TestEnv, name: &str) -> String {
    let listing = ok(t, &["ps", "-a"]);
    let line = listing.lines().find(|l| l.ends_with(name));
    line.unwrap_or_else(|| panic!("{name} in {listing}"))
        .to_string()
}

#[test]
fn rename_moves_the_name_and_refuses_a_taken_one() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let id = ok(&t, &["create", "--name", "old", &image, "true"]);
    ok(&t, &["create", "--name", "other", &image, "true"]);
    assert_eq!(ok(&t, &["rename", "old", "new"]), "");
    assert!(ok(&t, &["inspect", "new"]).contains(&format!("\"Id\":\"{}\"", id.trim())));
    assert!(ok(&t, &["inspect", "new"]).contains("\"Name\":\"/new\""));
    assert_one_line_error(&t.skiff(&["inspect", "old"]), "No such container: old");
    assert_one_line_error(&t.skiff(&["rename", "new", "other"]), "already in use");
    assert_one_line_error(
        &t.skiff(&["rename", "new", "a/b"]),
        "invalid container name",
    );
    ok(&t, &["create", "--name", "old", &image, "true"]); // the old name is free again
    assert!(ok(&t, &["inspect", "new"]).contains("\"Name\":\"/new\""));
}

#[test]
fn tag_adds_a_name_for_the_same_image() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    ok(&t, &["pull", &image]);
    assert_eq!(ok(&t, &["tag", &image, "localhost/mine:v1"]), "");
    let images = ok(&t, &["images"]);
    let id = |repository: &str| {
        let line = images.lines().find(|l| l.starts_with(repository));
        let line = line.unwrap_or_else(|| panic!("{repository} in {images}"));
        line.split_whitespace().nth(2).unwrap().to_string()
    };
    assert_eq!(id("localhost/mine"), id(&image));
    assert!(images.contains("v1"), "{images}");
    let out = ok(&t, &["run", "--rm", "localhost/mine:v1", "echo", "tagged"]);
    assert_eq!(out, "tagged\n");
    assert_one_line_error(&t.skiff(&["tag", "localhost/absent", "x"]), "No such image");
}

/// The freezer's own word on the container's cgroup, as the kernel keeps it.
fn freezer_state(id: &str) -> String {
    let v1 = format!("/sys/fs/cgroup/freezer/skiff/{id}/freezer.state");
    let v2 = format!("/sys/fs/cgroup/skiff/{id}/cgroup.freeze");
    let state = fs::read_to_string(&v1).or_else(|_| fs::read_to_string(v2));
    state.unwrap().trim().to_string()
}

#[test]
fn pause_freezes_unpause_thaws_and_stop_ends_a_paused_one() {
    let t = TestEnv::new();
    let id = detached(
        &t,
        "frozen",
        "trap 'exit 3' TERM; while :; do sleep 0.1; done",
    );
    assert_eq!(ok(&t, &["pause", "frozen"]), "frozen\n");
    assert!(matches!(freezer_state(&id).as_str(), "FROZEN" | "1"));
    assert!(ps_status(&t, "frozen").contains(" (Paused) "));
    let state = ok(&t, &["inspect", "frozen"]);
    assert!(state.contains("\"Status\":\"paused\",\"Running\":true,\"Paused\":true"));
    assert_one_line_error(&t.skiff(&["pause", "frozen"]), "is already paused");
    assert_eq!(ok(&t, &["unpause", "frozen"]), "frozen\n");
    assert!(matches!(freezer_state(&id).as_str(), "THAWED" | "0"));
    assert!(!ps_status(&t, "frozen").contains("Paused"));
    assert_one_line_error(&t.skiff(&["unpause", "frozen"]), "is not paused");
    // Frozen, it could act on no signal: stop must thaw it for its TERM trap to run.
    ok(&t, &["pause", "frozen"]);
    ok(&t, &["stop", "-t", "100", "frozen"]);
    assert_eq!(ok(&t, &["wait", "frozen"]), "3\n");
    assert_one_line_error(&t.skiff(&["pause", "frozen"]), "is not running");
}

#[test]
fn kill_ends_a_paused_container() {
    let t = TestEnv::new();
    detached(&t, "icy", "while :; do sleep 0.1; done");
    ok(&t, &["pause", "icy"]);
    ok(&t, &["kill", "icy"]);
    assert_eq!(ok(&t, &["wait", "icy"]), "137\n");
    assert!(stdout(&t.skiff(&["ps", "-a"])).contains("Exited (137)"));
}
