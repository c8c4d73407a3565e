//! Issue 18: `--format` (Go templates) for inspect, ps, images and stats, as
//! Docker documents them; `ps --filter/-n/-l`, `images --filter`; and an index (the
//! image references, the container names) damaged on disk, which must not brick skiff.
//! <https://docs.docker.com/engine/cli/formatting/>

use std::fs;

use crate::testenv::{assert_one_line_error, blobs, ok_silent, stderr, stdout, TestEnv, BUSYBOX};

#[test]
fn inspect_format_reaches_the_fields_of_its_json() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    let id = ok_silent(
        &t,
        &[
            "create", "--name", "fmt-web", "-e", "A=1", &image, "sleep", "7",
        ],
    );
    let format = r#"{{.Name}} {{.State.Status}} {{.State.Pid}} {{json .Args}} {{index .Config.Cmd 0}} {{.Args | len}}
{{- range .Config.Cmd}} [{{.}}]{{end}} {{if .State.Running}}up{{else}}down{{end}} {{.Nope}}
{{- range .Config.Env}}{{if eq . "A=1"}} found {{.}}{{end}}{{end}}"#;
    assert_eq!(
        ok_silent(&t, &["inspect", "-f", format, "fmt-web"]),
        "/fmt-web created 0 [\"7\"] sleep 1 [sleep] [7] down <no value> found A=1\n"
    );
    // One line per container; maps print as Go prints them.
    let two = ok_silent(
        &t,
        &[
            "inspect",
            "--format",
            "{{.Id}} {{.NetworkSettings.Ports}}",
            "fmt-web",
            id.trim(),
        ],
    );
    assert_eq!(two, format!("{0} map[]\n{0} map[]\n", id.trim()));
    let out = t.skiff(&["inspect", "-f", "{{.Name", "fmt-web"]);
    assert_one_line_error(&out, "template: :1:7: unclosed action");
    let out = t.skiff(&["inspect", "-f", "{{.Name}} {{bogus .Id}}", "fmt-web"]);
    assert_one_line_error(&out, ":1:12: function \"bogus\" not defined");
}

#[test]
fn ps_format_filters_and_limits() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    ok_silent(&t, &["run", "--name", "fmt-ok", &image, "true"]);
    let out = t.skiff(&["run", "--name", "fmt-bad", &image, "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    let created = ok_silent(&t, &["create", "--name", "fmt-new", &image, "true"]);
    let names = |args: &[&str]| {
        let mut argv = vec!["ps", "--format", "{{.Names}}"];
        argv.extend(args);
        ok_silent(&t, &argv)
    };
    assert_eq!(
        ok_silent(&t, &["ps", "-a", "--format", "{{.Names}}:{{.State}}"]),
        "fmt-new:created\nfmt-bad:exited\nfmt-ok:exited\n"
    );
    assert_eq!(names(&[]), "", "none runs");
    // A status filter looks at every container, as Docker's does.
    assert_eq!(names(&["--filter", "status=exited"]), "fmt-bad\nfmt-ok\n");
    assert_eq!(names(&["-a", "--filter", "exited=3"]), "fmt-bad\n");
    assert_eq!(
        names(&["-a", "-f", "name=fmt-o", "-f", "name=new"]),
        "fmt-new\nfmt-ok\n"
    );
    assert_eq!(names(&["-f", "status=exited", "-f", "name=ok"]), "fmt-ok\n");
    assert_eq!(
        names(&["-a", "-f", &format!("id={}", &created[..8])]),
        "fmt-new\n"
    );
    assert_eq!(
        names(&["-a", "-f", &format!("ancestor={image}")])
            .lines()
            .count(),
        3
    );
    assert_eq!(names(&["-a", "-f", "ancestor=alpine"]), "");
    assert_eq!(names(&["-n", "2"]), "fmt-new\nfmt-bad\n");
    assert_eq!(names(&["-l"]), "fmt-new\n");
    assert_eq!(
        ok_silent(&t, &["ps", "-aq", "-f", "exited=3"]).trim().len(),
        12
    );
    // `table`: the header from Docker's names, columns as Docker's tabwriter sets them.
    let table = ok_silent(
        &t,
        &[
            "ps",
            "-l",
            "--format",
            r"table {{.ID}}\t{{.Names}}\t{{.State}}",
        ],
    );
    assert_eq!(
        table,
        format!(
            "CONTAINER ID   NAMES     STATE\n{}   fmt-new   created\n",
            &created[..12]
        )
    );
    let default = ok_silent(&t, &["ps", "-l"]);
    assert!(default.starts_with("CONTAINER ID   IMAGE"), "{default}");
    assert!(
        default
            .lines()
            .next()
            .unwrap()
            .ends_with("   PORTS     NAMES"),
        "{default}"
    );
    let at = ok_silent(
        &t,
        &[
            "ps",
            "-l",
            "--format",
            "{{.CreatedAt}}|{{.RunningFor}}|{{.Command}}",
        ],
    );
    assert!(
        at.ends_with(" +0000 UTC|Less than a second ago|\"true\"\n") || at.contains(" ago|"),
        "{at}"
    );
    assert_one_line_error(&t.skiff(&["ps", "-f", "bogus=1"]), "invalid filter 'bogus'");
    assert_one_line_error(
        &t.skiff(&["ps", "--format", "{{.Nope}}", "-a"]),
        "can't evaluate field Nope",
    );
}

#[test]
fn images_format_and_filters() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    ok_silent(&t, &["pull", "-q", &image]);
    let line = ok_silent(
        &t,
        &[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.Digest}} {{.ID}}",
        ],
    );
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[0], format!("{image}:latest"));
    assert!(
        fields[1].starts_with("sha256:") && fields[1].len() == 71,
        "{line}"
    );
    assert_eq!(fields[2], ok_silent(&t, &["images", "-q"]).trim());
    let filtered = |filter: &str| ok_silent(&t, &["images", "-q", "--filter", filter]);
    assert_eq!(
        filtered("reference=*/*/busy*"),
        ok_silent(&t, &["images", "-q"])
    );
    assert_eq!(filtered("reference=*/*/busybox:latest").lines().count(), 1);
    assert_eq!(filtered("reference=alpine*"), "");
    assert_eq!(filtered("dangling=true"), "");
    let web = t.image("library/web"); // Labels: maintainer, tier=image
    ok_silent(&t, &["pull", "-q", &web]);
    let web_id = ok_silent(&t, &["images", "-q", "--filter", "reference=*/*/web"]);
    assert_eq!(filtered("label=tier"), web_id);
    assert_eq!(filtered("label=tier=image"), web_id);
    assert_eq!(filtered("label=tier=other"), "");
    let table = ok_silent(
        &t,
        &[
            "images",
            "-f",
            "reference=nothing",
            "--format",
            "table {{.Repository}}\t{{.Tag}}",
        ],
    );
    assert_eq!(table, "REPOSITORY   TAG\n", "the header, even with no rows");
}

/// `repositories.json` truncated, then garbage: the next command recovers the index from
/// its copy, says so once on stderr, and the image is still there to run.
#[test]
fn a_damaged_image_index_is_recovered_from_its_copy() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    ok_silent(&t, &["pull", "-q", &image]);
    let index = t.root.join("repositories.json");
    let good = fs::read(&index).unwrap();
    for damage in [&good[..good.len() / 2], b"\x00garbage{\"refs\":"] {
        fs::write(&index, damage).unwrap();
        let out = t.skiff(&["images", "-q"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out).lines().count(), 1);
        let said = stderr(&out);
        assert!(
            said.contains("repositories.json was damaged") && said.contains("1 images recovered"),
            "{said}"
        );
        assert_eq!(
            fs::read(t.root.join("repositories.json.damaged")).unwrap(),
            damage
        );
        assert_eq!(fs::read(&index).unwrap(), good);
        ok_silent(&t, &["images", "-q"]); // said once: nothing more on stderr
        let out = t.skiff(&["run", "--rm", "--pull", "never", &image, "echo", "ran"]);
        assert_eq!(stdout(&out), "ran\n", "{}", stderr(&out));
    }
}

/// The same in a store made before the index had a copy: the image loses its name, and
/// no garbage collection deletes a blob of it until the damaged index is removed.
#[test]
fn a_damaged_image_index_without_a_copy_keeps_every_blob() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    let index = t.root.join("repositories.json");
    let lost = t.root.join("repositories.json.lost");
    for damage in [&b"{\"refs\":{\"a"[..], b"\x00garbage"] {
        ok_silent(&t, &["pull", "-q", &image]);
        let pulled = blobs(&t);
        fs::remove_file(index.with_extension("json.copy")).unwrap();
        fs::write(&index, damage).unwrap();
        let out = t.skiff(&["images", "-q"]);
        assert_eq!(stdout(&out), "", "{}", stderr(&out));
        assert!(
            stderr(&out).contains("was damaged and has no copy"),
            "{}",
            stderr(&out)
        );
        assert_eq!(fs::read(&lost).unwrap(), damage);
        for prune in [
            &["image", "prune", "-a", "-f"][..],
            &["system", "prune", "-f"],
        ] {
            let out = t.skiff(prune);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            assert!(
                stderr(&out).contains("deleted no blobs"),
                "{}",
                stderr(&out)
            );
            assert_eq!(blobs(&t), pulled);
        }
        fs::remove_file(&lost).unwrap();
        ok_silent(&t, &["image", "prune", "-f"]);
        assert_eq!(blobs(&t), 0);
    }
}

/// `.names` replaced by a file, empty then garbage, and a link that holds no ID: the
/// names are rebuilt from the records, and a name in use stays taken.
#[test]
fn a_damaged_names_index_is_rebuilt_from_the_records() {
    let t = TestEnv::new();
    let image = t.image(BUSYBOX);
    let web = ok_silent(&t, &["create", "--name", "web", &image, "true"]);
    let names = t.root.join("containers/.names");
    for (round, damage) in [&b""[..], b"garbage\n"].into_iter().enumerate() {
        fs::remove_dir_all(&names).unwrap();
        fs::write(&names, damage).unwrap();
        let name = format!("other{round}");
        let out = t.skiff(&["create", "--name", &name, &image, "true"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(".names was damaged"),
            "{}",
            stderr(&out)
        );
        assert!(names.is_dir());
        assert_one_line_error(
            &t.skiff(&["create", "--name", "web", &image, "true"]),
            &format!("is already in use by container \"{}\"", web.trim()),
        );
    }
    std::os::unix::fs::symlink("../..", names.join("ghost")).unwrap();
    ok_silent(&t, &["create", "--name", "ghost", &image, "true"]);
    assert_eq!(t.containers().len(), 4);
}
