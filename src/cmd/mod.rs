//! The commands, one file each: `Args`, `HELP`, `parse()` and `run()`.
//! Dispatch is a table from name to entry point.

mod attach;
mod commit;
mod completion;
mod cp;
mod create;
mod df;
mod diff;
pub mod exec;
mod export;
mod history;
mod images;
mod import;
mod info;
mod inspect;
mod kill;
mod load;
mod login;
mod logs;
mod network;
mod pause;
mod port;
mod prune;
mod ps;
mod pull;
mod push;
mod rename;
mod rm;
mod rmi;
mod run;
mod save;
mod start;
mod stats;
mod stop;
mod tag;
pub mod top;
mod update;
mod volume;
mod wait;

use crate::cli;
use crate::error::{Error, Kind, Result};

pub type Main = fn(&[String]) -> Result<i32>;

/// (name, one-line summary, entry point, help). The help is the one source of what a
/// command accepts: `completion` reads its flags and subcommands there.
const COMMANDS: &[(&str, &str, Main, &str)] = &[
    (
        "attach",
        "Attach to a running container's terminal",
        attach::main,
        attach::HELP,
    ),
    (
        "commit",
        "Create a new image from a container's changes",
        commit::main,
        commit::HELP,
    ),
    (
        "completion",
        "Print a shell's completion script: bash, zsh or fish",
        completion::main,
        completion::HELP,
    ),
    (
        "container",
        "Manage containers",
        prune::container_main,
        prune::CONTAINER_GROUP,
    ),
    (
        "cp",
        "Copy files/folders between a container and the local filesystem",
        cp::main,
        cp::HELP,
    ),
    ("create", "Create a new container", create::main, run::HELP),
    (
        "diff",
        "Inspect changes to files or directories on a container's filesystem",
        diff::main,
        diff::HELP,
    ),
    (
        "exec",
        "Execute a command in a running container",
        exec::main,
        exec::HELP,
    ),
    (
        "export",
        "Export a container's filesystem as a tar archive",
        export::main,
        export::HELP,
    ),
    (
        "history",
        "Show the history of an image",
        history::main,
        history::HELP,
    ),
    (
        "image",
        "Manage images",
        prune::image_main,
        prune::IMAGE_GROUP,
    ),
    ("images", "List images", images::main, images::HELP),
    (
        "import",
        "Import a root filesystem tarball as an image",
        import::main,
        import::HELP,
    ),
    (
        "info",
        "Display system-wide information",
        info::main,
        info::HELP,
    ),
    (
        "inspect",
        "Return low-level information on containers",
        inspect::main,
        inspect::HELP,
    ),
    (
        "kill",
        "Kill one or more running containers",
        kill::main,
        kill::HELP,
    ),
    (
        "load",
        "Load images from a tar archive",
        load::main,
        load::HELP,
    ),
    ("login", "Log in to a registry", login::main, login::HELP),
    (
        "logout",
        "Log out from a registry",
        login::logout_main,
        login::LOGOUT_HELP,
    ),
    (
        "logs",
        "Fetch the logs of a container",
        logs::main,
        logs::HELP,
    ),
    ("network", "Manage networks", network::main, network::HELP),
    (
        "pause",
        "Pause all processes within one or more containers",
        pause::main,
        pause::HELP,
    ),
    (
        "port",
        "List port mappings or a specific mapping for the container",
        port::main,
        port::HELP,
    ),
    ("ps", "List containers", ps::main, ps::HELP),
    (
        "pull",
        "Download an image from a registry",
        pull::main,
        pull::HELP,
    ),
    (
        "push",
        "Upload an image to a registry",
        push::main,
        push::HELP,
    ),
    ("rename", "Rename a container", rename::main, rename::HELP),
    ("rm", "Remove one or more containers", rm::main, rm::HELP),
    ("rmi", "Remove one or more images", rmi::main, rmi::HELP),
    (
        "run",
        "Create and run a new container from an image",
        run::main,
        run::HELP,
    ),
    (
        "save",
        "Save images to a tar archive",
        save::main,
        save::HELP,
    ),
    (
        "start",
        "Start one or more stopped containers",
        start::main,
        start::HELP,
    ),
    (
        "stats",
        "Display a live stream of container(s) resource usage statistics",
        stats::main,
        stats::HELP,
    ),
    (
        "stop",
        "Stop one or more running containers",
        stop::main,
        stop::HELP,
    ),
    (
        "system",
        "Manage skiff",
        prune::system_main,
        prune::SYSTEM_GROUP,
    ),
    (
        "tag",
        "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
        tag::main,
        tag::HELP,
    ),
    (
        "top",
        "Display the running processes of a container",
        top::main,
        top::HELP,
    ),
    (
        "unpause",
        "Unpause all processes within one or more containers",
        pause::unpause_main,
        pause::UNPAUSE,
    ),
    (
        "update",
        "Update configuration of one or more containers",
        update::main,
        update::HELP,
    ),
    (
        "version",
        "Show the skiff version information",
        info::version_main,
        info::VERSION,
    ),
    ("volume", "Manage volumes", volume::main, volume::HELP),
    (
        "wait",
        "Block until one or more containers stop, then print their exit codes",
        wait::main,
        wait::HELP,
    ),
];

const USAGE: &str = "Usage:  skiff [OPTIONS] COMMAND

Docker's run, and the commands around it, in one small static binary.

Options:
  -h, --help       Print usage
  -v, --version    Print version information

Commands:";

pub fn dispatch(args: &[String]) -> Result<i32> {
    let Some((name, rest)) = args.split_first() else {
        print_usage();
        return Ok(0);
    };
    match name.as_str() {
        "-h" | "--help" | "help" => {
            print_usage();
            Ok(0)
        }
        "-v" | "--version" => {
            println!("skiff version {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        _ => match COMMANDS.iter().find(|(command, ..)| command == name) {
            Some((_, _, main, _)) => crate::rootless::enter(name)
                .and_then(|()| main(rest))
                .or_else(|err| match err.kind() {
                    Kind::Help(usage) => cli::help(usage),
                    _ => Err(err),
                }),
            None => Err(Error::usage(format!(
                "'{name}' is not a skiff command.\nSee 'skiff --help'"
            ))),
        },
    }
}

fn print_usage() {
    println!("{USAGE}");
    for (name, summary, ..) in COMMANDS {
        println!("  {name:<9} {summary}");
    }
    println!("\nRun 'skiff COMMAND --help' for more information on a command.");
}
