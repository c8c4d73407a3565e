//! Images made and moved by hand: `history`, `push` and `commit` (issue 18).

use crate::testenv::{stderr, stdout, TestEnv};

/// `skiff ARGS…`, which must succeed; its stdout.
fn ok(t: &TestEnv, args: &[&str]) -> String {
    let out = t.skiff(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn history_lists_the_steps_newest_first_as_docker() {
    let t = TestEnv::new();
    let image = t.image("library/history");
    ok(&t, &["pull", "-q", &image]);
    let id = ok(&t, &["images", "-q"]);
    let table = ok(&t, &["history", &image]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[0].starts_with("IMAGE          CREATED       CREATED BY    "),
        "{table}"
    );
    assert!(lines[0].ends_with("SIZE      COMMENT"), "{table}");
    // The newest step names the image; a tab in its command is a space, cut at 45.
    assert!(lines[1].starts_with(id.trim()), "{table}");
    assert!(
        lines[1].contains("/bin/sh -c echo the explorer goes in, with a… "),
        "{table}"
    );
    assert!(lines[1].ends_with("buildkit.dockerfile.v0"), "{table}");
    assert!(lines[2].starts_with("<missing>"), "{table}");
    assert!(lines[2].contains("CMD [\"sh\"]   "), "{table}");
    assert!(
        lines[2].contains(" 0B "),
        "an empty step has no layer: {table}"
    );
    assert!(lines[3].contains(" ago "), "{table}");
    assert_eq!(
        ok(&t, &["history", "-q", &image]),
        format!("{}\n<missing>\n<missing>\n", id.trim())
    );
    let format = "{{.ID}}|{{.CreatedSince}}|{{.CreatedBy}}|{{.Size}}";
    let raw = ok(
        &t,
        &[
            "history",
            "--no-trunc",
            "-H=false",
            "--format",
            format,
            &image,
        ],
    );
    let rows: Vec<Vec<&str>> = raw.lines().map(|l| l.split('|').collect()).collect();
    assert!(
        rows[0][0].starts_with("sha256:") && rows[0][0].len() == 71,
        "{raw}"
    );
    assert_eq!(
        rows[0][2],
        "/bin/sh -c echo the explorer goes in, with a long line"
    );
    assert_eq!(rows[1][1], "2023-11-14T22:13:20Z", "{raw}");
    assert_eq!(rows[1][3], "0", "{raw}");
    let sizes: Vec<u64> = rows.iter().map(|r| r[3].parse().unwrap()).collect();
    assert!(sizes[0] > 1000 && sizes[2] > 1000, "{raw}");
}

#[test]
fn history_of_an_unknown_image_is_one_line() {
    let t = TestEnv::new();
    let out = t.skiff(&["history", "nothing-here"]);
    crate::testenv::assert_one_line_error(&out, "No such image: nothing-here");
}
