//! `skiff volume create|ls|rm|inspect`: the volumes under the store (see
//! `volume.rs`), as `docker volume` shows and manages them.

use miniserde::json;

use crate::cli::{self, Opt};
use crate::error::{Error, Result};
use crate::image::store::{self, Store};
use crate::lifecycle;
use crate::volume;

pub const HELP: &str = "Usage:  skiff volume COMMAND

Manage volumes

Commands:
  create      Create a volume
  inspect     Display detailed information on one or more volumes
  ls          List volumes
  prune       Remove unused local volumes
  rm          Remove one or more volumes

Run 'skiff volume COMMAND --help' for more information on a command.";

const CREATE: &str = "Usage:  skiff volume create [VOLUME]

Create a volume (a random name if none is given)";

const LS: &str = "Usage:  skiff volume ls [OPTIONS]

List volumes

Options:
  -q, --quiet   Only display volume names";

const RM: &str = "Usage:  skiff volume rm [OPTIONS] VOLUME [VOLUME...]

Remove one or more volumes. You cannot remove a volume that is in use by a container.

Options:
  -f, --force   Do not fail for a volume that does not exist";

const INSPECT: &str = "Usage:  skiff volume inspect VOLUME [VOLUME...]

Display detailed information on one or more volumes";

pub fn main(argv: &[String]) -> Result<i32> {
    let Some((command, rest)) = argv.split_first() else {
        return cli::help(HELP);
    };
    match command.as_str() {
        "create" => create(rest),
        "ls" | "list" => ls(rest),
        "rm" | "remove" => rm(rest),
        "inspect" => inspect(rest),
        "prune" => super::prune::volumes(rest),
        "-h" | "--help" => cli::help(HELP),
        other => Err(Error::usage(format!(
            "'skiff volume {other}' is not a skiff command.\nSee 'skiff volume --help'"
        ))),
    }
}

fn create(argv: &[String]) -> Result<i32> {
    let rest = cli::parse(argv, "volume create", CREATE, &mut [])?;
    let name = match &rest[..] {
        [] => store::random_id()?,
        [name] => name.clone(),
        _ => {
            return Err(Error::usage(
                "\"skiff volume create\" takes at most 1 argument",
            ))
        }
    };
    volume::create(&Store::open()?, &name)?;
    println!("{name}");
    Ok(0)
}

fn ls(argv: &[String]) -> Result<i32> {
    let mut quiet = false;
    let options = &mut [Opt::Switch(&["-q", "--quiet"], &mut quiet)];
    cli::no_arguments(&cli::parse(argv, "volume ls", LS, options)?, "volume ls")?;
    if !quiet {
        println!("{:<10}VOLUME NAME", "DRIVER");
    }
    for name in volume::list()? {
        match quiet {
            true => println!("{name}"),
            false => println!("{:<10}{name}", volume::DRIVER),
        }
    }
    Ok(0)
}

fn rm(argv: &[String]) -> Result<i32> {
    let mut force = false;
    let options = &mut [Opt::Switch(&["-f", "--force"], &mut force)];
    let names = cli::at_least_one(cli::parse(argv, "volume rm", RM, options)?, "volume rm")?;
    let store = Store::open()?;
    lifecycle::sweep(); // an `--rm` container a killed skiff left uses nothing
    let in_use = lifecycle::volumes_in_use()?;
    let mut failed = None;
    for name in names {
        if force && volume::existing(&name).is_err() {
            continue;
        }
        let users: Vec<String> = in_use
            .iter()
            .filter(|(_, used)| *used == name)
            .map(|(id, _)| id.clone())
            .collect();
        match volume::remove(&store, &name, &users) {
            Ok(()) => println!("{name}"),
            Err(err) => failed = Some(err), // the others still go, as Docker's
        }
    }
    failed.map_or(Ok(0), Err)
}

/// `docker volume inspect`'s shape, its fields in its order: a volume's own are its
/// name, when it was made and where it is; the rest are the local driver's. (By hand:
/// the name is checked, so only the path needs JSON's escaping.)
fn inspect(argv: &[String]) -> Result<i32> {
    let rest = cli::parse(argv, "volume inspect", INSPECT, &mut [])?;
    let mut found = Vec::new();
    for name in cli::at_least_one(rest, "volume inspect")? {
        let created = volume::created_at(&name)?;
        let mountpoint = json::to_string(&volume::data(&name).display().to_string());
        found.push(format!(
            r#"{{"CreatedAt":"{created}","Driver":"{}","Labels":null,"Mountpoint":{mountpoint},"Name":"{name}","Options":null,"Scope":"local"}}"#,
            volume::DRIVER
        ));
    }
    println!("[{}]", found.join(","));
    Ok(0)
}
