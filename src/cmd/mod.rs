//! The commands, one file each: `Args`, `HELP`, `parse()` and `run()`.
//! Dispatch is a table from name to entry point.

mod attach;
mod commit;
mod create;
mod exec;
mod history;
mod images;
mod import;
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
mod volume;
mod wait;

use crate::cli;
use crate::error::{Error, Kind, Result};

pub type Main = fn(&[String]) -> Result<i32>;

/// (name, one-line summary, entry point)
const COMMANDS: &[(&str, &str, Main)] = &[
    (
        "attach",
        "Attach to a running container's terminal",
        attach::main,
    ),
    (
        "commit",
        "Create a new image from a container's changes",
        commit::main,
    ),
    ("container", "Manage containers", prune::container_main),
    ("create", "Create a new container", create::main),
    (
        "exec",
        "Execute a command in a running container",
        exec::main,
    ),
    ("history", "Show the history of an image", history::main),
    ("image", "Manage images", prune::image_main),
    ("images", "List images", images::main),
    (
        "import",
        "Import a root filesystem tarball as an image",
        import::main,
    ),
    (
        "inspect",
        "Return low-level information on containers",
        inspect::main,
    ),
    ("kill", "Kill one or more running containers", kill::main),
    ("load", "Load images from a tar archive", load::main),
    ("login", "Log in to a registry", login::main),
    ("logout", "Log out from a registry", login::logout_main),
    ("logs", "Fetch the logs of a container", logs::main),
    ("network", "Manage networks", network::main),
    (
        "pause",
        "Pause all processes within one or more containers",
        pause::main,
    ),
    (
        "port",
        "List port mappings or a specific mapping for the container",
        port::main,
    ),
    ("ps", "List containers", ps::main),
    ("pull", "Download an image from a registry", pull::main),
    ("push", "Upload an image to a registry", push::main),
    ("rename", "Rename a container", rename::main),
    ("rm", "Remove one or more containers", rm::main),
    ("rmi", "Remove one or more images", rmi::main),
    (
        "run",
        "Create and run a new container from an image",
        run::main,
    ),
    ("save", "Save images to a tar archive", save::main),
    ("start", "Start one or more stopped containers", start::main),
    (
        "stats",
        "Display a live stream of container(s) resource usage statistics",
        stats::main,
    ),
    ("stop", "Stop one or more running containers", stop::main),
    ("system", "Manage skiff", prune::system_main),
    (
        "tag",
        "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
        tag::main,
    ),
    (
        "unpause",
        "Unpause all processes within one or more containers",
        pause::unpause_main,
    ),
    ("volume", "Manage volumes", volume::main),
    (
        "wait",
        "Block until one or more containers stop, then print their exit codes",
        wait::main,
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
        "-v" | "--version" | "version" => {
            println!("skiff version {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        _ => match COMMANDS.iter().find(|(command, _, _)| command == name) {
            Some((_, _, main)) => main(rest).or_else(|err| match err.kind() {
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
    for (name, summary, _) in COMMANDS {
        println!("  {name:<9} {summary}");
    }
    println!("\nRun 'skiff COMMAND --help' for more information on a command.");
}
