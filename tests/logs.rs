//! Bounded logs: `--log-opt max-size/max-file` rotation, `--log-driver none`, and
//! `logs --since/--until/--details` across the rotated files.

use std::fs;

use crate::testenv::{assert_one_line_error, ok, stderr, stdout, TestEnv};

/// 100,000 numbered lines of 101 bytes: 10.1 MB.
const CHATTY: &str = r#"awk 'BEGIN { s = sprintf("%093d", 0); for (i = 1; i <= 100000; i++) printf "%06d %s\n", i, s }'"#;

/// The container's log files, as Docker names them, with their sizes.
fn log_files(t: &TestEnv, id: &str) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = fs::read_dir(t.root.join("containers").join(id))
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .filter(|(name, _)| name.contains("-json.log"))
        .collect();
    files.sort();
    files
}

#[test]
fn ten_megabytes_with_max_size_1m_and_max_file_3_keep_the_newest_in_three_files() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let args = [
        "run",
        "-d",
        "--log-opt",
        "max-size=1m",
        "--log-opt",
        "max-file=3",
    ];
    let id = ok(&t, &[&args[..], &[&image, "sh", "-c", CHATTY]].concat());
    let id = id.trim();
    assert_eq!(ok(&t, &["wait", id]), "0\n");
    let files = log_files(&t, id);
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    let log = format!("{id}-json.log");
    assert_eq!(
        names,
        [log.clone(), format!("{log}.1"), format!("{log}.2")],
        "Docker's names"
    );
    for (name, size) in &files {
        assert!(*size <= 1_000_000 + 200, "{name} holds {size} bytes");
    }
    let shown = ok(&t, &["logs", id]);
    let numbers: Vec<u32> = shown.lines().map(|l| l[..6].parse().unwrap()).collect();
    assert_eq!(numbers.last(), Some(&100_000), "the newest line is kept");
    assert!(numbers[0] > 1, "the oldest lines went");
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "in order, none lost between files"
    );
    assert_eq!(numbers.len(), 100_001 - numbers[0] as usize);
    let tail = ok(&t, &["logs", "-n", "2", id]);
    assert!(tail.starts_with("099999 ") && tail.lines().nth(1).unwrap().starts_with("100000 "));
    inspect_shows_the_log_config(&t, id);
}

fn inspect_shows_the_log_config(t: &TestEnv, id: &str) {
    let json = ok(t, &["inspect", id]);
    assert!(
        json.contains(
            r#""LogConfig":{"Type":"json-file","Config":{"max-file":"3","max-size":"1m"}}"#
        ),
        "{json}"
    );
}

#[test]
fn by_default_a_log_is_capped_and_none_keeps_nothing() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let id = ok(&t, &["run", "-d", &image, "echo", "kept"]);
    assert_eq!(ok(&t, &["wait", id.trim()]), "0\n");
    assert_eq!(ok(&t, &["logs", id.trim()]), "kept\n");

    let id = ok(
        &t,
        &["run", "-d", "--log-driver", "none", &image, "echo", "lost"],
    );
    assert_eq!(ok(&t, &["wait", id.trim()]), "0\n");
    assert!(log_files(&t, id.trim()).is_empty());
    let out = t.skiff(&["logs", id.trim()]);
    assert_one_line_error(&out, "configured logging driver does not support reading");

    let out = t.skiff(&["run", "--log-driver", "syslog", &image, "true"]);
    assert_one_line_error(&out, "unsupported logging driver \"syslog\"");
    let out = t.skiff(&["run", "--log-opt", "max-size=0", &image, "true"]);
    assert_one_line_error(&out, "invalid log opts {\"max-size\": \"0\"}");
    let out = t.skiff(&["run", "--log-opt", "mode=non-blocking", &image, "true"]);
    assert_one_line_error(&out, "unknown log opt \"mode\"");
}

#[test]
fn logs_since_until_and_details() {
    let t = TestEnv::new();
    let image = t.image("library/busybox");
    let id = ok(
        &t,
        &["run", "-d", &image, "sh", "-c", "echo out; echo err >&2"],
    );
    let id = id.trim();
    assert_eq!(ok(&t, &["wait", id]), "0\n");
    assert_eq!(ok(&t, &["logs", "--since", "10m", id]), "out\n");
    assert_eq!(ok(&t, &["logs", "--until", "10m", id]), "");
    assert_eq!(ok(&t, &["logs", "--since", "2200-01-01T00:00:00Z", id]), "");
    assert_eq!(ok(&t, &["logs", "--until", "2200-01-01", id]), "out\n");
    let out = t.skiff(&["logs", "--details", id]);
    assert_eq!(
        (stdout(&out), stderr(&out)),
        (" out\n".into(), " err\n".into())
    );
    let stamped = ok(&t, &["logs", "-t", "--details", id]);
    assert!(stamped.ends_with("Z  out\n"), "{stamped}");
    let out = t.skiff(&["logs", "--since", "yesterday", id]);
    assert_one_line_error(
        &out,
        "invalid value for \"since\": \"yesterday\" is no time",
    );
}
