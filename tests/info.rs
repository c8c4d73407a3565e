//! The commands that report on, or retune, what skiff holds (issue 18): `update`,
//! `info`, `version`, `system df`, `ps -s`, `completion`.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::testenv::{ok, stderr, stdout, TestEnv};

fn id_of(t: &TestEnv, name: &str) -> String {
    ok(t, &["inspect", "-f", "{{.Id}}", name])
        .trim()
        .to_string()
}

/// A file of container `id`'s cgroup, as the kernel reports it: `(v1 path, v2 path)`.
fn cgroup_file(id: &str, v1: &str, v2: &str) -> String {
    let path = match Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        true => format!("/sys/fs/cgroup/skiff/{id}/{v2}"),
        false => format!("/sys/fs/cgroup/{v1}/skiff/{id}/{}", v2_to_v1(v2)),
    };
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn v2_to_v1(file: &str) -> &str {
    match file {
        "memory.max" => "memory.limit_in_bytes",
        "cpu.max" => "cpu.cfs_quota_us",
        other => other,
    }
}

#[test]
fn update_changes_a_running_containers_cgroup_and_its_record() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    ok(
        &t,
        &[
            "run", "-d", "--name", "svc", "-m", "32m", &image, "sleep", "1000",
        ],
    );
    let id = id_of(&t, "svc");
    // 96m is above the 64m memory+swap limit that 32m brought: the order the kernel wants.
    let out = ok(
        &t,
        &[
            "update",
            "-m",
            "96m",
            "--pids-limit",
            "20",
            "--cpus",
            "0.5",
            "svc",
        ],
    );
    assert_eq!(out, "svc\n");
    assert_eq!(
        cgroup_file(&id, "memory", "memory.max").trim(),
        (96 << 20).to_string()
    );
    assert_eq!(cgroup_file(&id, "pids", "pids.max").trim(), "20");
    let quota = cgroup_file(&id, "cpu", "cpu.max");
    assert!(quota.starts_with("50000"), "{quota}");
    ok(
        &t,
        &[
            "update",
            "--memory",
            "16m",
            "--restart",
            "on-failure:2",
            "svc",
        ],
    );
    assert_eq!(
        cgroup_file(&id, "memory", "memory.max").trim(),
        (16 << 20).to_string()
    );
    let host = ok(
        &t,
        &["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}", "svc"],
    );
    assert_eq!(host.trim(), format!("{} 20 500000000 on-failure", 16 << 20));
    ok(&t, &["rm", "-f", "svc"]);
}

#[test]
fn update_of_a_stopped_container_is_applied_at_its_next_start() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    ok(&t, &["create", "--name", "later", &image, "sleep", "1000"]);
    ok(&t, &["update", "--pids-limit", "7", "later"]);
    ok(&t, &["start", "later"]);
    let id = id_of(&t, "later");
    assert_eq!(cgroup_file(&id, "pids", "pids.max").trim(), "7");
    ok(&t, &["rm", "-f", "later"]);
}

#[test]
fn update_refuses_what_docker_refuses() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    ok(&t, &["create", "--rm", "--name", "gone", &image, "true"]);
    let out = t.skiff(&["update", "--restart", "always", "gone"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("AutoRemove"), "{}", stderr(&out));
    let out = t.skiff(&["update", "gone"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("one or more flags"),
        "{}",
        stderr(&out)
    );
    let out = t.skiff(&["update", "-m", "1m", "gone"]);
    assert!(stderr(&out).contains("6MB"), "{}", stderr(&out));
    let out = t.skiff(&["update", "-m", "64m", "nosuch"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    ok(&t, &["create", "--name", "kept", &image, "true"]);
    let out = t.skiff(&["update", "--restart", "bogus", "kept"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert_eq!(
        ok(
            &t,
            &[
                "inspect",
                "-f",
                "{{.HostConfig.RestartPolicy.Name}}",
                "kept"
            ]
        ),
        "no\n",
        "a refused policy is not recorded"
    );
}

#[test]
fn info_counts_what_the_store_holds_in_dockers_lines() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    ok(&t, &["run", "-d", "--name", "up", &image, "sleep", "1000"]);
    ok(&t, &["create", "--name", "down", &image, "true"]);
    let info = ok(&t, &["info"]);
    for line in [
        " Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n",
        " Images: 1\n",
        " Cgroup Driver: cgroupfs\n",
        &format!(" Docker Root Dir: {}\n", t.root.display()),
        &format!(" CPUs: {}\n", std::thread::available_parallelism().unwrap()),
    ] {
        assert!(info.contains(line), "{line:?} in {info}");
    }
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert!(
        info.contains(&format!(" Kernel Version: {kernel}")),
        "{info}"
    );
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let version = ok(
        &t,
        &[
            "info",
            "--format",
            "{{.CgroupVersion}} {{.Pidfd}} {{.Clone3IntoCgroup}}",
        ],
    );
    assert_eq!(
        version.trim(),
        format!("{} true {v2}", if v2 { 2 } else { 1 })
    );
    let driver = ok(&t, &["info", "-f", "{{json .Driver}}"]);
    assert!(
        ["\"overlay2\"\n", "\"copy\"\n"].contains(&driver.as_str()),
        "{driver}"
    );
    ok(&t, &["rm", "-f", "up", "down"]);
}

#[test]
fn version_has_dockers_client_and_server_sections() {
    let t = TestEnv::new();
    let out = ok(&t, &["version"]);
    assert!(out.starts_with("Client:\n Version:  "), "{out}");
    assert!(out.contains("\nServer:\n Engine:\n  Version:  "), "{out}");
    assert!(out.contains("OS/Arch:           linux/amd64\n"), "{out}");
    let version = ok(&t, &["version", "--format", "{{.Client.Version}}"]);
    assert_eq!(version, format!("{}\n", env!("CARGO_PKG_VERSION")));
    let out = t.skiff(&["version", "-f", "{{.Client.Nope"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
}

/// The row of `kind` in `system df`'s table, its cells split.
fn df_row(t: &TestEnv, kind: &str) -> Vec<String> {
    let table = ok(t, &["system", "df"]);
    let line = table.lines().find(|l| l.starts_with(kind)).unwrap();
    let cells = line[kind.len()..].split("   ").map(str::trim);
    cells.filter(|c| !c.is_empty()).map(String::from).collect()
}

#[test]
fn system_df_and_ps_size_count_what_a_container_wrote() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let write = "dd if=/dev/zero of=/big bs=1000 count=100 2>/dev/null";
    ok(
        &t,
        &[
            "run",
            "--name",
            "wrote",
            "-v",
            "data:/data",
            &image,
            "sh",
            "-c",
            write,
        ],
    );
    fs::write(t.root.join("volumes/data/_data/f"), [0u8; 3000]).unwrap();
    let header = ok(&t, &["system", "df"]);
    assert!(
        header.starts_with("TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n"),
        "{header}"
    );
    let containers = df_row(&t, "Containers");
    assert_eq!(containers[..3], ["1", "0", "100kB"], "{containers:?}");
    assert_eq!(containers[3], "100kB (100%)");
    let volumes = df_row(&t, "Local Volumes");
    assert_eq!(volumes, ["1", "1", "3kB", "0B (0%)"]);
    let images = df_row(&t, "Images");
    assert_eq!(images[..2], ["1", "1"], "{images:?}");
    assert!(images[3].starts_with("0B (0%)"), "{images:?}");
    assert_eq!(df_row(&t, "Build Cache"), ["0", "0", "0B", "0B"]);
    let sizes = ok(&t, &["ps", "-a", "--format", "{{.Names}} {{.Size}}"]);
    assert!(sizes.starts_with("wrote 100kB (virtual "), "{sizes}");
    let table = ok(&t, &["ps", "-as"]);
    assert!(
        table.lines().next().unwrap().ends_with("NAMES     SIZE"),
        "{table}"
    );
    let verbose = ok(&t, &["system", "df", "-v"]);
    assert!(verbose.contains("\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\ndata          1         3kB\n"), "{verbose}");
    // Once the container is gone, its image is all reclaimable.
    ok(&t, &["rm", "wrote"]);
    let images = df_row(&t, "Images");
    assert_eq!(images[..2], ["1", "0"]);
    assert!(images[3].ends_with("(100%)"), "{images:?}");
    ok(&t, &["volume", "rm", "data"]);
}

/// What bash offers after `words` (the last one being completed), with skiff's script.
fn bash_completes(script: &Path, words: &str) -> String {
    let line = format!(
        "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); _skiff; echo \"${{COMPREPLY[*]}}\"",
        script.display()
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &line])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_string()
}

#[test]
fn completion_scripts_know_the_commands_and_their_flags() {
    let t = TestEnv::new();
    let script = t.root.join("skiff.bash");
    fs::write(&script, ok(&t, &["completion", "bash"])).unwrap();
    assert_eq!(bash_completes(&script, "skiff ru"), "run");
    assert_eq!(
        bash_completes(&script, "skiff run --net"),
        "--network --network-alias"
    );
    assert_eq!(bash_completes(&script, "skiff system ''"), "df info prune");
    assert_eq!(
        bash_completes(&script, "skiff update --pids"),
        "--pids-limit"
    );
    assert_eq!(bash_completes(&script, "skiff ps -s --si"), "--size");
    // Each shell only parses its script: it runs nothing.
    let zsh = t.root.join("skiff.zsh");
    fs::write(&zsh, ok(&t, &["completion", "zsh"])).unwrap();
    let out = Command::new("zsh").arg("-n").arg(&zsh).output().unwrap();
    assert!(out.status.success(), "zsh: {}", stderr(&out));
    let fish = t.root.join("skiff.fish");
    fs::write(&fish, ok(&t, &["completion", "fish"])).unwrap();
    let out = Command::new("fish")
        .arg("--no-execute")
        .arg(&fish)
        .output()
        .unwrap();
    assert!(out.status.success(), "fish: {}", stderr(&out));
    let fish = fs::read_to_string(fish).unwrap();
    assert!(fish.contains("\ncomplete -c skiff -n '__fish_seen_subcommand_from run' -l network\n"));
    let out = t.skiff(&["completion", "tcsh"]);
    assert_eq!(out.status.code(), Some(125));
}
