//! `skiff container prune`, `image prune [-a]`, `volume prune [-a]`, `system prune`:
//! delete what nothing uses, in Docker's words: a question first (unless `-f`), then
//! a "Deleted …:" section per kind and the total of the files' sizes that went.
//!
//! "Unused" is read from the records, as `rm`, `rmi` and `volume rm` read it: a
//! container that is not running, and that no skiff watches (one may be between two
//! starts of its restart policy); an image that no tag and no container names (with
//! `-a`, every tag no container's image has is removed first); a volume no container,
//! running or not, names. Volumes follow Docker 23 and later: only anonymous ones
//! (skiff's 64 hex digits, as `-v /path` and `volume create` without a name make
//! them) unless `-a`.
//! <https://docs.docker.com/reference/cli/docker/system/prune/>
//! <https://docs.docker.com/reference/cli/docker/volume/prune/>

use std::io::{Read, Write};

use crate::cli::{self, Opt};
use crate::error::{Error, Result};
use crate::image::store::{self, Store};
use crate::lifecycle::{self, Status};
use crate::terminal;
use crate::units::{human_size, Base};
use crate::volume;

const CONTAINER: &str = "Usage:  skiff container prune [OPTIONS]

Remove all stopped containers

Options:
  -f, --force   Do not prompt for confirmation
  -h, --help    Print usage";

const IMAGE: &str = "Usage:  skiff image prune [OPTIONS]

Remove unused images

Options:
  -a, --all     Remove all unused images, not just dangling ones
  -f, --force   Do not prompt for confirmation
  -h, --help    Print usage";

const VOLUME: &str = "Usage:  skiff volume prune [OPTIONS]

Remove unused local volumes

Options:
  -a, --all     Remove all unused volumes, not just anonymous ones
  -f, --force   Do not prompt for confirmation
  -h, --help    Print usage";

const SYSTEM: &str = "Usage:  skiff system prune [OPTIONS]

Remove unused data

Options:
  -a, --all       Remove all unused images not just dangling ones
  -f, --force     Do not prompt for confirmation
  -h, --help      Print usage
      --volumes   Prune anonymous volumes";

pub const CONTAINER_GROUP: &str = "Usage:  skiff container COMMAND

Manage containers

Commands:
  prune       Remove all stopped containers";

pub const IMAGE_GROUP: &str = "Usage:  skiff image COMMAND

Manage images

Commands:
  prune       Remove unused images";

pub const SYSTEM_GROUP: &str = "Usage:  skiff system COMMAND

Manage skiff

Commands:
  df          Show skiff disk usage
  info        Display system-wide information
  prune       Remove unused data";

/// `skiff container|image|system COMMAND`: of their subcommands skiff has these.
pub fn container_main(argv: &[String]) -> Result<i32> {
    group(argv, "container", CONTAINER_GROUP, &[("prune", containers)])
}

pub fn image_main(argv: &[String]) -> Result<i32> {
    group(argv, "image", IMAGE_GROUP, &[("prune", images)])
}

pub fn system_main(argv: &[String]) -> Result<i32> {
    let commands: [(&str, super::Main); 3] = [
        ("df", super::df::main),
        ("info", super::info::main),
        ("prune", system),
    ];
    group(argv, "system", SYSTEM_GROUP, &commands)
}

fn group(argv: &[String], name: &str, help: &str, commands: &[(&str, super::Main)]) -> Result<i32> {
    let Some((command, rest)) = argv.split_first() else {
        return cli::help(help);
    };
    match commands.iter().find(|(c, _)| c == command) {
        Some((_, main)) => main(rest),
        None if command == "-h" || command == "--help" => cli::help(help),
        None => Err(Error::usage(format!(
            "'skiff {name} {command}' is not a skiff command.\nSee 'skiff {name} --help'"
        ))),
    }
}

/// Docker's question; true if the answer is yes. One read(2), unbuffered: a terminal
/// hands over the line, a pipe what it holds.
pub fn confirm(warning: &str) -> Result<bool> {
    print!("WARNING! {warning}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = [0u8; 16];
    let read = terminal::duplicate(&std::io::stdin())?.read(&mut answer);
    let answer = String::from_utf8_lossy(&answer[..read.unwrap_or(0)]);
    Ok(["y", "yes"]
        .iter()
        .any(|y| answer.trim().eq_ignore_ascii_case(y)))
}

/// `-f` and, where the command has it, `-a`; None if the user said no.
fn ask(argv: &[String], command: &str, help: &str, warning: [&str; 2]) -> Result<Option<bool>> {
    let (mut force, mut all) = (false, false);
    let mut options = vec![Opt::Switch(&["-f", "--force"], &mut force)];
    if help.contains("--all") {
        options.push(Opt::Switch(&["-a", "--all"], &mut all));
    }
    cli::no_arguments(&cli::parse(argv, command, help, &mut options)?, command)?;
    let yes = force || confirm(warning[usize::from(all)])?;
    Ok(yes.then_some(all))
}

fn section(title: &str, deleted: &[String]) {
    if !deleted.is_empty() {
        println!("Deleted {title}:\n{}\n", deleted.join("\n"));
    }
}

fn total(bytes: u64) -> i32 {
    println!(
        "Total reclaimed space: {}",
        human_size(bytes as f64, Base::Decimal, 4)
    );
    0
}

fn containers(argv: &[String]) -> Result<i32> {
    let warning = "This will remove all stopped containers.";
    match ask(argv, "container prune", CONTAINER, [warning; 2])? {
        Some(_) => Ok(total(prune_containers()?)),
        None => Ok(0),
    }
}

fn images(argv: &[String]) -> Result<i32> {
    let warnings = [
        "This will remove all dangling images.",
        "This will remove all images without at least one container associated to them.",
    ];
    match ask(argv, "image prune", IMAGE, warnings)? {
        Some(all) => Ok(total(prune_images(all)?)),
        None => Ok(0),
    }
}

pub fn volumes(argv: &[String]) -> Result<i32> {
    let warnings = [
        "This will remove anonymous local volumes not used by at least one container.",
        "This will remove all local volumes not used by at least one container.",
    ];
    match ask(argv, "volume prune", VOLUME, warnings)? {
        Some(all) => Ok(total(prune_volumes(all)?)),
        None => Ok(0),
    }
}

fn system(argv: &[String]) -> Result<i32> {
    let (mut force, mut all, mut volumes) = (false, false, false);
    let options = &mut [
        Opt::Switch(&["-f", "--force"], &mut force),
        Opt::Switch(&["-a", "--all"], &mut all),
        Opt::Switch(&["--volumes"], &mut volumes),
    ];
    let rest = cli::parse(argv, "system prune", SYSTEM, options)?;
    cli::no_arguments(&rest, "system prune")?;
    let images = match all {
        true => "all images without at least one container associated to them",
        false => "all dangling images",
    };
    let volumes_line = match volumes {
        true => "  - all anonymous volumes not used by at least one container\n",
        false => "",
    };
    let warning = format!("This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n{volumes_line}  - {images}\n");
    if !force && !confirm(&warning)? {
        return Ok(0);
    }
    let mut bytes = prune_containers()?;
    super::network::prune_unused()?;
    if volumes {
        bytes += prune_volumes(false)?;
    }
    bytes += prune_images(all)?;
    Ok(total(bytes))
}

/// Removes every container that neither runs nor is watched; the bytes that went.
fn prune_containers() -> Result<u64> {
    let _lock = Store::open()?;
    lifecycle::sweep();
    let (mut deleted, mut bytes) = (Vec::new(), 0);
    for container in lifecycle::list()? {
        if container.status() == Status::Running || container.is_supervised() {
            continue;
        }
        let size = store::disk_usage(&container.dir);
        container.remove()?;
        deleted.push(container.config.id);
        bytes += size;
    }
    section("Containers", &deleted);
    Ok(bytes)
}

/// Untags (with `all`) every image no container uses, then deletes what no tag and
/// no container needs.
fn prune_images(all: bool) -> Result<u64> {
    let store = Store::open()?;
    lifecycle::sweep();
    let in_use = lifecycle::images_in_use()?;
    let mut deleted = Vec::new();
    if all && in_use.unknown.is_none() {
        for (reference, manifest) in store.references()? {
            if !in_use.images.iter().any(|(_, used)| *used == manifest) {
                store.untag(&reference)?;
                deleted.push(format!("untagged: {reference}"));
            }
        }
    }
    let removed = super::rmi::collect(&store, in_use)?.unwrap_or_default();
    deleted.extend(removed.digests.iter().map(|d| format!("deleted: {d}")));
    section("Images", &deleted);
    Ok(removed.bytes)
}

/// Removes every volume no container names (with `all`; else only anonymous ones).
fn prune_volumes(all: bool) -> Result<u64> {
    let store = Store::open()?;
    lifecycle::sweep();
    let in_use = lifecycle::volumes_in_use()?;
    let (mut deleted, mut bytes) = (Vec::new(), 0);
    for name in volume::list()? {
        let used = in_use.iter().any(|(_, used)| *used == name);
        if used || !(all || volume::is_anonymous(&name)) {
            continue;
        }
        let size = store::disk_usage(&volume::data(&name));
        volume::remove(&store, &name, &[])?;
        deleted.push(name);
        bytes += size;
    }
    section("Volumes", &deleted);
    Ok(bytes)
}
