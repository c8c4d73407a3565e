//! Containers that live: `run -d`, `ps`, `logs`, `stop`, `start`, `kill`, `wait`,
//! `inspect`, `rm`, `create`, names, and what `--rm` and `rmi` do to them.

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use crate::testenv::{
    assert_one_line_error, inspect_field, ok, recorded_pid, sleeper, stderr, stdout, TestEnv,
    BUSYBOX,
};

/// A service that says "ready", exits 143 on SIGTERM, and remembers (in its own
/// writable layer) whether it ran before.
const SERVICE: &str = r#"trap 'exit 143' TERM
if [ -e /ran-before ]; then echo again; else touch /ran-before; echo first; fi
echo ready; echo to-stderr >&2
while :; do sleep 0.1; done"#;

/// `skiff logs -f NAME`, read until a line equal to `line`: the container said it.
pub fn await_line(t: &TestEnv, name: &str, line: &str) -> Child {
    let mut logs = t
        .command(&["logs", "-f", name])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reader = BufReader::new(logs.stdout.take().unwrap());
    let mut seen = Vec::new();
    for got in reader.lines() {
        let got = got.unwrap();
        if got == line {
            return logs;
        }
        seen.push(got);
    }
    let _ = logs.wait();
    panic!("{name} never said {line:?}; said {seen:?}");
}

#[test]
fn a_detached_service_lives_through_stop_start_kill_and_rm() {
    let t = TestEnv::new();
    let id = ok(
        &t,
        &[
            "run",
            "-d",
            "--name",
            "web",
            &t.image("library/busybox"),
            "sh",
            "-c",
            SERVICE,
        ],
    );
    assert_eq!(id.trim().len(), 64, "run -d prints the full ID: {id}");
    let mut logs = await_line(&t, "web", "ready");

    let ps = ok(&t, &["ps"]);
    let row = ps.lines().find(|l| l.ends_with("web")).expect("web in ps");
    assert!(row.starts_with(&id[..12]), "{row}");
    assert!(row.contains("Up "), "{row}");
    assert_eq!(ok(&t, &["ps", "-q"]).trim(), &id[..12]);
    assert_eq!(inspect_field(&t, "web", "Running"), "true");

    let out = t.skiff(&["logs", "web"]);
    assert_eq!(
        stdout(&out),
        "first\nready\n",
        "stdout and stderr are kept apart"
    );
    assert_eq!(stderr(&out), "to-stderr\n");

    assert_eq!(ok(&t, &["stop", "web"]), "web\n");
    assert!(
        logs.wait().unwrap().success(),
        "logs -f ends with the container"
    );
    assert_eq!(inspect_field(&t, "web", "ExitCode"), "143");
    assert!(
        ok(&t, &["ps"]).lines().count() == 1,
        "only the header once stopped"
    );
    assert!(ok(&t, &["ps", "-a"]).contains("Exited (143)"));

    ok(&t, &["start", &id[..8]]);
    drop(await_line(&t, "web", "again")); // the writable layer survived the restart
    assert_eq!(ok(&t, &["kill", "web"]), "web\n");
    assert_eq!(ok(&t, &["wait", "web"]), "137\n");

    ok(&t, &["rm", "web"]);
    assert!(t.containers().is_empty());
    assert_one_line_error(&t.skiff(&["inspect", "web"]), "No such container: web");
}

#[test]
fn stop_kills_after_the_grace_period_when_the_signal_is_ignored() {
    // `sleep` as PID 1 has no SIGTERM handler, so the kernel drops the signal.
    let t = TestEnv::new();
    sleeper(&t, "s", &[], BUSYBOX);
    ok(&t, &["stop", "-t", "1", "s"]);
    assert_eq!(inspect_field(&t, "s", "ExitCode"), "137");
    ok(&t, &["rm", "s"]);
}

#[test]
fn init_forwards_the_stop_signal_to_the_command() {
    let t = TestEnv::new();
    sleeper(&t, "i", &["--init"], BUSYBOX);
    // With --init, sleep is not PID 1: SIGTERM's default action ends it at once.
    ok(&t, &["stop", "-t", "100", "i"]);
    assert_eq!(inspect_field(&t, "i", "ExitCode"), "143");
    ok(&t, &["rm", "i"]);
}

#[test]
fn rm_refuses_a_running_container_unless_forced() {
    let t = TestEnv::new();
    sleeper(&t, "r", &[], BUSYBOX);
    assert_one_line_error(&t.skiff(&["rm", "r"]), "running");
    ok(&t, &["rm", "-f", "r"]);
    assert!(t.containers().is_empty());
}

#[test]
fn a_foreground_run_is_recorded_until_rm_and_rm_flag_leaves_nothing() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let out = t.skiff(&["run", "--name", "kept", &image, "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(ok(&t, &["ps", "-a"]).contains("Exited (3)"));
    assert_eq!(inspect_field(&t, "kept", "Status"), "exited");
    ok(&t, &["rm", "kept"]);
    for _ in 0..3 {
        assert_eq!(
            t.skiff(&["run", "--rm", &image, "true"]).status.code(),
            Some(0)
        );
    }
    assert!(t.containers().is_empty(), "{:?}", t.containers());
}

/// A removed container is gone at once (renamed `.gone-ID`); a detached process holding
/// the directory's lock deletes its files. A `.gone-ID` whose lock is free (its deleter
/// killed) is handed to a new deleter by the next sweep (`ps`, or a `create`), never one
/// whose deleter still works; a stray file or symlink of that name is deleted, and
/// nothing a symlink leads to.
#[test]
fn removed_containers_files_are_deleted_by_their_deleter_or_by_a_sweep() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let script = "head -c 1048576 /dev/zero > /big";
    assert_eq!(ok(&t, &["run", "--rm", &image, "sh", "-c", script]), "");
    assert!(t.containers().is_empty(), "{:?}", t.containers()); // waits for the deleter

    let dir = t.root.join("containers");
    let gone = |c: &str| dir.join(format!(".gone-{}", c.repeat(64)));
    let (left, busy, stray) = (gone("a"), gone("b"), gone("c"));
    for gone in [&left, &busy] {
        fs::create_dir_all(gone.join("upper/etc")).unwrap();
        fs::write(gone.join("upper/etc/file"), "x").unwrap();
    }
    fs::write(&stray, "not a directory").unwrap();
    let outside = t.root.join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("kept"), "x").unwrap();
    std::os::unix::fs::symlink(&outside, gone("d")).unwrap(); // followed by nobody
    let deleter = fs::File::open(&busy).unwrap();
    deleter.lock().unwrap(); // as a live deleter holds it
    ok(&t, &["ps", "-a"]);
    assert!(
        busy.join("upper/etc/file").exists(),
        "a live deleter's is left to it"
    );
    drop(deleter);
    ok(&t, &["ps", "-a"]);
    assert!(t.containers().is_empty(), "{:?}", t.containers()); // waits for both deleters
    assert!(
        outside.join("kept").exists(),
        "a .gone- symlink's target is not deleted"
    );

    fs::create_dir_all(left.join("upper")).unwrap();
    ok(&t, &["create", &image, "true"]); // its sweep
    assert_eq!(t.containers().len(), 1, "{:?}", t.containers());
}

/// Issue 15: the deleter leaves an empty `.spare` for the next container's directory,
/// which `create` takes (one rename(2), not a mkdir(2) that ext4 places by reading
/// every block group's statistics).
#[test]
fn the_deleter_makes_the_next_containers_directory() {
    use std::os::unix::fs::MetadataExt;
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    ok(&t, &["run", "--rm", &image, "true"]);
    assert!(t.containers().is_empty(), "{:?}", t.containers()); // waits for the deleter
    let spare = t.root.join("containers/.spare");
    assert_eq!(
        fs::read_dir(&spare).map(Iterator::count).ok(),
        Some(0),
        "an empty .spare"
    );
    let spare_inode = fs::metadata(&spare).unwrap().ino();

    let next = ok(&t, &["create", &image, "true"]).trim().to_string();
    let dir = fs::metadata(t.root.join("containers").join(&next)).unwrap();
    assert_eq!(dir.ino(), spare_inode, "the spare became its directory");
    assert!(!spare.exists(), "taken: no deleter has made another yet");

    // What no deleter leaves: a symlink as the spare is deleted, never followed; a
    // spare a killed deleter left half made goes with the next sweep.
    let outside = t.root.join("outside");
    fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, &spare).unwrap();
    let half_made = t.root.join("containers/.spare-1");
    fs::create_dir(&half_made).unwrap();
    let third = ok(&t, &["create", &image, "true"]).trim().to_string();
    let dir = fs::symlink_metadata(t.root.join("containers").join(&third)).unwrap();
    assert!(dir.is_dir(), "a directory of its own, not the link");
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written through it"
    );
    assert!(!half_made.exists(), "swept");
}

#[test]
fn create_then_start_attached() {
    let t = TestEnv::new();
    let id = ok(
        &t,
        &[
            "create",
            "--name",
            "c",
            &t.image("library/busybox"),
            "echo",
            "made",
        ],
    );
    assert!(ok(&t, &["ps", "-a"]).contains("Created"));
    // Issue 15: the state is written once, at the first start, not also at create.
    let state = t.root.join("containers").join(id.trim()).join("state.json");
    assert!(!state.exists(), "a created container has no state.json yet");
    let out = t.skiff(&["start", "-a", id.trim()]);
    assert_eq!(stdout(&out), "made\n");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(inspect_field(&t, "c", "Status"), "exited");
    assert!(state.exists());
}

#[test]
fn a_detached_command_that_cannot_start_fails_like_docker() {
    let t = TestEnv::new();
    let out = t.skiff(&[
        "run",
        "-d",
        "--rm",
        &t.image("library/busybox"),
        "no-such-command",
    ]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(t.containers().is_empty());
}

#[test]
fn names_are_unique_even_when_runs_race() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    ok(&t, &["pull", "-q", &image]);
    let racers: Vec<Child> = (0..8)
        .map(|_| {
            t.command(&["create", "--name", "only", &image, "true"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let won = racers
        .into_iter()
        .filter_map(|mut c| c.wait().unwrap().success().then_some(()))
        .count();
    assert_eq!(won, 1);
    assert_eq!(t.containers().len(), 1);
    assert_one_line_error(
        &t.skiff(&["create", "--name", "bad/name", &image]),
        "invalid container name",
    );
}

#[test]
fn a_name_is_free_again_after_rm_and_survives_a_lost_index() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let first = ok(&t, &["create", "--name", "web", &image, "true"]);
    // A store from before the name links: they are rebuilt from the records.
    fs::remove_dir_all(t.root.join("containers/.names")).unwrap();
    assert_one_line_error(
        &t.skiff(&["create", "--name", "web", &image, "true"]),
        &format!("is already in use by container \"{}\"", first.trim()),
    );
    ok(&t, &["rm", "web"]);
    let second = ok(&t, &["create", "--name", "web", &image, "true"]);
    assert_ne!(first, second);
    assert_eq!(t.containers(), vec![second.trim().to_string()]);
    // Clustered one-letter switches, as in `docker rm $(docker ps -aq)`.
    assert_eq!(ok(&t, &["ps", "-aq"]).trim(), &second.trim()[..12]);
    ok(&t, &["rm", "web"]);
}

#[test]
fn rmi_keeps_an_image_that_a_container_uses() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    ok(
        &t,
        &["create", "--name", "user", &image, "echo", "still here"],
    );
    assert_one_line_error(&t.skiff(&["rmi", &image]), "container");
    ok(&t, &["rmi", "-f", &image]);
    let out = t.skiff(&["start", "-a", "user"]);
    assert_eq!(stdout(&out), "still here\n", "{}", stderr(&out));
}

#[test]
fn many_runs_leave_nothing_behind() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    ok(&t, &["pull", "-q", &image]);
    for _ in 0..100 {
        assert_eq!(
            t.skiff(&["run", "--rm", &image, "true"]).status.code(),
            Some(0)
        );
    }
    let concurrent: Vec<Child> = (0..20)
        .map(|_| t.command(&["run", "--rm", &image, "true"]).spawn().unwrap())
        .collect();
    for mut child in concurrent {
        assert!(child.wait().unwrap().success());
    }
    assert!(t.containers().is_empty(), "{:?}", t.containers());
}

#[test]
fn ps_tells_the_truth_when_the_supervisor_is_killed() {
    let t = TestEnv::new();
    let id = sleeper(&t, "orphan", &[], BUSYBOX);
    let supervisor = recorded_pid(&t, &id, "supervisor");
    let killed = std::process::Command::new("kill")
        .args(["-9", &supervisor.to_string()])
        .status();
    assert!(killed.unwrap().success());
    assert!(
        ok(&t, &["ps"]).contains("orphan"),
        "the container itself still runs"
    );
    ok(&t, &["kill", "orphan"]);
    ok(&t, &["wait", "orphan"]);
    let ps = ok(&t, &["ps", "-a"]);
    assert!(
        ps.contains("Exited (255)"),
        "ended unwatched: exit code unknown\n{ps}"
    );
    ok(&t, &["rm", "orphan"]);
}

#[test]
fn init_reaps_orphans() {
    // The orphan holds the command substitution's pipe until it exits, so once `$(…)`
    // returns it has ended; re-parented to PID 1, only PID 1 can reap it. The loop
    // looks (without sleeping) until no zombie is left, or gives up.
    const SCRIPT: &str = r#"x=$( (sh -c 'exec true' &) )
i=0
while grep -qs '^[0-9]* ([^)]*) Z' /proc/[0-9]*/stat; do
  i=$((i+1)); [ $i -gt 20000 ] && echo zombie && exit 1
done
echo reaped"#;
    let t = TestEnv::new();
    let out = t.skiff(&[
        "run",
        "--rm",
        "--init",
        &t.image("library/busybox"),
        "sh",
        "-c",
        SCRIPT,
    ]);
    assert_eq!(stdout(&out), "reaped\n", "{}", stderr(&out));
}

#[test]
fn inspect_lists_volumes() {
    let t = TestEnv::new();
    let dir = t.root.join("vol");
    std::fs::create_dir(&dir).unwrap();
    let volume = format!("{}:/data:ro", dir.display());
    ok(
        &t,
        &[
            "create",
            "--name",
            "v",
            "-v",
            &volume,
            &t.image("library/busybox"),
            "true",
        ],
    );
    let json = ok(&t, &["inspect", "v"]);
    let want = format!(
        r#""Mounts":[{{"Type":"bind","Name":null,"Source":"{}","Destination":"/data","RW":false}}]"#,
        dir.display()
    );
    assert!(json.contains(&want), "{json}");
}

/// Issue 12: a container recorded by a skiff from before `container::Process` (the
/// command, environment and working directory at the top level of its config.json,
/// the user in `options`) is listed and starts as it was made.
#[test]
fn containers_recorded_before_the_process_object_still_start() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let script = "echo $(id -u) $PWD";
    let args = ["create", "--name", "old", "-u", "1000", "-w", "/tmp"];
    let id = ok(&t, &[&args[..], &[&image, "sh", "-c", script]].concat());
    let path = t
        .root
        .join("containers")
        .join(id.trim())
        .join("config.json");
    let record = fs::read_to_string(&path).unwrap();
    let (start, end) = (
        record.find("\"process\":{").unwrap(),
        record.find("},").unwrap(),
    );
    let process = &record[start + "\"process\":{".len()..end];
    let process = process.replace(r#","user":"1000""#, "");
    let old = format!("{}{},{}", &record[..start], process, &record[end + 2..])
        .replace(r#""options":{"#, r#""options":{"user":"1000","#);
    assert!(
        !old.contains("process") && old.contains(r#""workdir":"/tmp""#),
        "{old}"
    );
    fs::write(&path, old).unwrap();
    assert!(ok(&t, &["ps", "-a"]).contains("old"));
    let out = t.skiff(&["start", "-a", "old"]);
    assert_eq!(stdout(&out), "1000 /tmp\n", "{}", stderr(&out));
}

/// Issue 12: records damaged by hand or by a disk. Each is listed as dead, by its
/// directory's name; none stops `ps`, `rmi` or `rm` for the others, and `rm` removes it.
#[test]
fn issue_12_damaged_records_are_dead_and_hide_nothing() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let good = ok(
        &t,
        &["create", "--name", "good", &image, "echo", "still here"],
    );
    let good = good.trim();
    let dir = t.root.join("containers");
    let config = fs::read_to_string(dir.join(good).join("config.json")).unwrap();
    let damaged = |name: &str, config: &str, state: &str| {
        fs::create_dir(dir.join(name)).unwrap();
        fs::write(dir.join(name).join("config.json"), config).unwrap();
        fs::write(dir.join(name).join("state.json"), state).unwrap();
    };
    let other_id = |c: char| c.to_string().repeat(64);
    // A short ID, as `&id[..12]` once panicked on; a name that climbs out of `.names`;
    // a truncated config (its image unknown); a state that does not parse.
    let short = config.replace(&format!("\"id\":\"{good}\""), "\"id\":\"abc\"");
    damaged("abc", &short, "{}");
    let climbing = config
        .replace(good, &other_id('1'))
        .replace("\"name\":\"good\"", "\"name\":\"../../escape\"");
    damaged(&other_id('1'), &climbing, "{}");
    damaged("truncated", &config[..config.len() / 2], "{}");
    damaged(
        &other_id('2'),
        &config.replace(good, &other_id('2')),
        "{\"status\":",
    );

    let ps = ok(&t, &["ps", "-a"]);
    for name in [
        "abc",
        &other_id('1')[..12],
        "truncated",
        &other_id('2')[..12],
    ] {
        let row = ps.lines().find(|l| l.starts_with(name));
        assert!(
            row.is_some_and(|r| r.contains("Dead")),
            "{name} dead in\n{ps}"
        );
    }
    assert!(ps
        .lines()
        .any(|l| l.starts_with(&good[..12]) && l.contains("Created")));
    assert!(inspect_field(&t, "truncated", "Error").contains("config.json is not valid"));
    assert_one_line_error(&t.skiff(&["start", "abc"]), "is dead");
    // "abc" is a copy of "good": its name picks out the live one only.
    assert_eq!(inspect_field(&t, "good", "Id"), good);

    // Garbage collection: the truncated record may need any image, so no blob goes.
    let blobs = || fs::read_dir(t.root.join("blobs/sha256")).unwrap().count();
    let before = blobs();
    let out = t.skiff(&["rmi", "-f", &image]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("deleted no blobs"),
        "{}",
        stderr(&out)
    );
    assert_eq!(blobs(), before);

    // The name links, rebuilt from the records, take no name from a dead one.
    fs::remove_dir_all(dir.join(".names")).unwrap();
    ok(&t, &["create", "--name", "other", &image, "true"]);
    assert!(
        !t.root.join("escape").exists(),
        "a link was made outside .names"
    );

    ok(&t, &["rm", "truncated"]); // as `docker rm` takes a dead container
    ok(
        &t,
        &[
            "rm",
            "-f",
            "abc",
            &other_id('1'),
            &other_id('2')[..12],
            "other",
        ],
    );
    assert_eq!(t.containers(), [good.to_string()]);
    let out = t.skiff(&["start", "-a", "good"]);
    assert_eq!(stdout(&out), "still here\n", "{}", stderr(&out));
}

/// Docker's daemon removes an `--rm` container even when its client is killed; skiff has
/// no daemon, so the next `run` that wants its name removes it.
#[test]
fn a_name_held_by_an_rm_container_whose_skiff_died_is_free() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let first = ok(&t, &["create", "--rm", "--name", "once", &image, "true"]);
    t.record_died_unwatched(first.trim());
    let out = t.skiff(&["run", "--rm", "--name", "once", &image, "echo", "again"]);
    assert_eq!(stdout(&out), "again\n", "{}", stderr(&out));
    assert!(t.containers().is_empty(), "{:?}", t.containers());
}

/// Issue 15: a container's mounts are gone before `run` returns (`--rm` or not) and
/// before `wait` does, however its teardown is arranged (a reaper that took them down
/// beside the cleanup and was not waited for fails this). The container leaves an
/// overlayfs of its own mounted over a volume, with 32 MiB written into it: its end
/// syncs them first, while it holds the volume's `u`. overlayfs with `index=on` refuses
/// (EBUSY) an upper directory another overlayfs still uses, so a mount of the same
/// directories right after the command returns fails if any of the mounts is left.
#[test]
fn the_containers_mounts_are_gone_when_run_and_wait_return() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    let shared = t.root.join("shared");
    fs::create_dir_all(&shared).unwrap();
    let volume = format!("{}:/v", shared.display());
    let script = "mkdir -p /v/l /v/u /v/w /m \
        && mount -t overlay o -o lowerdir=/v/l,upperdir=/v/u,workdir=/v/w /m \
        && dd if=/dev/zero of=/m/data bs=1M count=32 2>/dev/null";
    let flags = ["--privileged", "-v", &volume, &image, "sh", "-c", script];
    let overlay_is_free = || {
        let target = t.root.join("check");
        fs::create_dir_all(&target).unwrap();
        let dir = shared.display();
        let options = format!("lowerdir={dir}/l,upperdir={dir}/u,workdir={dir}/w,index=on");
        // In a mount namespace of its own, which takes the check's mount with it.
        let out = std::process::Command::new("unshare")
            .args(["-m", "mount", "-t", "overlay", "o", "-o", &options])
            .arg(&target)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    };
    for run in [&["run", "--rm"][..], &["run"]] {
        let out = t.skiff(&[run, &flags].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        overlay_is_free();
    }
    let id = ok(&t, &[&["run", "-d"][..], &flags].concat());
    assert_eq!(ok(&t, &["wait", id.trim()]), "0\n");
    overlay_is_free();
}
