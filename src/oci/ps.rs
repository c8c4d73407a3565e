//! The runtime's `ps` and `list`, as containerd's shim and runc's users read them.
//!
//! `ps ID`: the processes of the container, which are the processes of its cgroup
//! (`cgroup.procs`, cgroups(7)); `--format json` prints their host PIDs as one JSON
//! array (what go-runc's `Ps` parses), the table is `skiff top`'s `ps -ef` columns.
//! `list`: every container in the state directory (`--root`), in runc's columns
//! `ID PID STATUS BUNDLE CREATED OWNER` (the owner of its state directory), or as a
//! JSON array of runc's container objects; `-q` prints the IDs alone.
//! <https://man7.org/linux/man-pages/man7/cgroups.7.html>
//! <https://github.com/opencontainers/runc/blob/main/list.go>

use std::fs;
use std::os::unix::fs::MetadataExt;

use miniserde::{json, Serialize};

use super::{load, one_id, Global, State, USAGE};
use crate::cgroup;
use crate::cli::{self, Opt};
use crate::error::{Error, Result};
use crate::template::tabwrite_min;

/// `--format`: `table` (the default) or `json`; true for json.
fn json_format(format: Option<String>) -> Result<bool> {
    match format.as_deref() {
        None | Some("table") => Ok(false),
        Some("json") => Ok(true),
        Some(other) => Err(Error::usage(format!(
            "invalid format {other:?}: want table or json"
        ))),
    }
}

pub fn ps(global: &Global, argv: &[String]) -> Result<()> {
    let mut format = None;
    let options = &mut [Opt::Value(&["-f", "--format"], &mut format)];
    let id = one_id(cli::parse(argv, "ps", USAGE, options)?, "ps")?;
    load(global, &id)?;
    let pids = cgroup::procs(&id);
    if json_format(format)? {
        println!("{}", json::to_string(&pids));
        return Ok(());
    }
    print!("{}", tabwrite_min(&crate::cmd::top::ps_ef(&pids)?, 20));
    Ok(())
}

/// One container as runc's `list --format json` writes it.
#[derive(Serialize)]
struct Listed {
    #[serde(rename = "ociVersion")]
    oci_version: String,
    id: String,
    pid: i32,
    status: String,
    bundle: String,
    created: String,
    owner: String,
}

pub fn list(global: &Global, argv: &[String]) -> Result<()> {
    let (mut format, mut quiet) = (None, false);
    let options = &mut [
        Opt::Value(&["-f", "--format"], &mut format),
        Opt::Switch(&["-q", "--quiet"], &mut quiet),
    ];
    cli::no_arguments(&cli::parse(argv, "list", USAGE, options)?, "list")?;
    let json = json_format(format)?;
    let mut ids: Vec<String> = fs::read_dir(&global.root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    // A directory without a state record is a `create` under way: not listed.
    let listed: Vec<Listed> = ids.iter().filter_map(|id| listed(global, id)).collect();
    if quiet {
        listed.iter().for_each(|c| println!("{}", c.id));
    } else if json {
        println!("{}", json::to_string(&listed));
    } else {
        let rows: Vec<Vec<String>> = listed.into_iter().map(row).collect();
        cli::print_table(
            &["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
            &rows,
        );
    }
    Ok(())
}

fn listed(global: &Global, id: &str) -> Option<Listed> {
    let (dir, state): (_, State) = load(global, id).ok()?;
    let uid = fs::metadata(&dir).ok()?.uid();
    Some(Listed {
        // runc shows 0 for a container whose process has gone.
        pid: if state.status == "stopped" {
            0
        } else {
            state.pid
        },
        oci_version: state.oci_version,
        id: state.id,
        status: state.status,
        bundle: state.bundle,
        created: state.created,
        owner: crate::container::id_map::user_name(uid),
    })
}

fn row(c: Listed) -> Vec<String> {
    vec![
        c.id,
        c.pid.to_string(),
        c.status,
        c.bundle,
        c.created,
        c.owner,
    ]
}
