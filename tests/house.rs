//! Moving things and housekeeping: `rename`, `tag`, `pause`/`unpause`, the prunes, `cp`.

use std::fs;

use crate::testenv::{assert_one_line_error, blobs, ok, stdout, TestEnv};

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

#[test]
fn container_prune_asks_then_removes_only_stopped_containers() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let done = ok(
        &t,
        &[
            "run",
            "--name",
            "done",
            &image,
            "sh",
            "-c",
            "head -c 5000 /dev/zero > /f; echo -n",
        ],
    );
    assert_eq!(done, "");
    let done = t.containers().pop().unwrap();
    let up = detached(&t, "up", "while :; do sleep 0.1; done");
    let asked = ok(&t, &["container", "prune"]); // stdin is empty: no
    assert!(asked.starts_with("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "), "{asked}");
    assert!(ps_status(&t, "done").contains("Exited (0)"));
    let pruned = ok(&t, &["container", "prune", "-f"]);
    let want = format!("Deleted Containers:\n{}\n\nTotal reclaimed space: ", done);
    assert!(pruned.starts_with(&want), "{pruned}");
    assert!(
        pruned.ends_with("kB\n"),
        "at least the 5 kB it wrote: {pruned}"
    );
    assert_eq!(t.containers(), [up]);
}

#[test]
fn image_prune_deletes_dangling_content_and_with_all_every_unused_image() {
    let t = TestEnv::new();
    let (busybox, alpine) = (t.image("library/busybox"), t.image("library/alpine"));
    ok(&t, &["pull", &busybox]);
    ok(&t, &["pull", &alpine]);
    ok(&t, &["create", "--name", "user", &alpine, "true"]);
    // Untagged while a container uses it: dangling once the container is gone.
    ok(&t, &["rmi", "-f", &alpine]);
    let kept = ok(&t, &["image", "prune", "-f"]);
    assert_eq!(kept, "Total reclaimed space: 0B\n");
    ok(&t, &["rm", "user"]);
    let with_busybox = blobs(&t);
    let pruned = ok(&t, &["image", "prune", "-f"]);
    assert!(
        pruned.starts_with("Deleted Images:\ndeleted: sha256:"),
        "{pruned}"
    );
    assert!(!pruned.contains("untagged"), "{pruned}");
    assert!(!pruned.ends_with(" 0B\n"), "{pruned}");
    assert!(blobs(&t) < with_busybox);
    assert!(ok(&t, &["images"]).contains("busybox"));
    // -a: every image no container uses, but never one a container uses.
    ok(&t, &["pull", &alpine]);
    ok(&t, &["create", "--name", "keeper", &busybox, "true"]);
    let all = ok(&t, &["image", "prune", "-a", "-f"]);
    assert!(
        all.contains(&format!("untagged: {alpine}:latest\n")),
        "{all}"
    );
    assert!(!all.contains("busybox"), "{all}");
    let images = ok(&t, &["images"]);
    assert!(
        images.contains("busybox") && !images.contains("alpine"),
        "{images}"
    );
    assert_eq!(
        ok(&t, &["run", "--rm", &busybox, "echo", "still"]),
        "still\n"
    );
}

#[test]
fn volume_prune_takes_unused_anonymous_volumes_and_with_all_named_ones() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    ok(&t, &["volume", "create", "named"]);
    ok(&t, &["volume", "create", "held"]);
    let anonymous = ok(&t, &["volume", "create"]).trim().to_string();
    ok(
        &t,
        &[
            "create",
            "-v",
            "held:/data",
            "-v",
            "/scratch",
            &image,
            "true",
        ],
    );
    let in_use: Vec<String> = ok(&t, &["volume", "ls", "-q"])
        .lines()
        .filter(|v| !["named", "held", &anonymous].contains(v))
        .map(String::from)
        .collect();
    assert_eq!(in_use.len(), 1, "the container's anonymous volume");
    let pruned = ok(&t, &["volume", "prune", "-f"]);
    assert!(
        pruned.starts_with(&format!(
            "Deleted Volumes:\n{anonymous}\n\nTotal reclaimed space: "
        )),
        "{pruned}"
    );
    let left = ok(&t, &["volume", "ls", "-q"]);
    assert_eq!(left, format!("{}\nheld\nnamed\n", in_use[0]));
    let all = ok(&t, &["volume", "prune", "-a", "-f"]);
    assert!(all.starts_with("Deleted Volumes:\nnamed\n\n"), "{all}");
    assert_eq!(
        ok(&t, &["volume", "ls", "-q"]),
        format!("{}\nheld\n", in_use[0])
    );
    ok(&t, &["rm", "-v", &t.containers()[0]]);
    let last = ok(&t, &["volume", "prune", "-a", "-f"]);
    assert!(last.starts_with("Deleted Volumes:\nheld\n"), "{last}");
}

#[test]
fn system_prune_clears_containers_networks_and_dangling_images() {
    let t = TestEnv::new();
    let image = t.image("library/alpine");
    ok(
        &t,
        &[
            "network",
            "create",
            "--subnet",
            "10.231.7.0/24",
            "house-net",
        ],
    );
    ok(
        &t,
        &["run", "--name", "gone", "--network", "none", &image, "true"],
    );
    ok(&t, &["rmi", "-f", &image]);
    let asked = ok(&t, &["system", "prune"]);
    assert!(asked.starts_with("WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n"), "{asked}");
    let pruned = ok(&t, &["system", "prune", "-f"]);
    let containers = "Deleted Containers:\n";
    let networks = "\n\nDeleted Networks:\nhouse-net\n\nDeleted Images:\ndeleted: sha256:";
    assert!(
        pruned.starts_with(containers) && pruned.contains(networks),
        "{pruned}"
    );
    assert!(pruned.contains("\n\nTotal reclaimed space: "), "{pruned}");
    assert!(t.containers().is_empty());
    assert_eq!(blobs(&t), 0);
    assert!(!ok(&t, &["network", "ls"]).contains("house-net"));
}
