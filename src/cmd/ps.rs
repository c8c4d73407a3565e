//! `skiff ps [-a] [-q]`: the containers, in `docker ps`' columns.

use crate::cli::{self, Opt};
use crate::error::Result;
use crate::lifecycle::{self, Container, Status};
use crate::time;

pub const HELP: &str = "Usage:  skiff ps [OPTIONS]

List containers

Options:
  -a, --all     Show all containers (default shows just running)
  -h, --help    Print usage
  -q, --quiet   Only display container IDs";

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut all, mut quiet) = (false, false);
    let options = &mut [
        Opt::Switch(&["-a", "--all"], &mut all),
        Opt::Switch(&["-q", "--quiet"], &mut quiet),
    ];
    let rest = cli::parse(argv, "ps", HELP, options)?;
    cli::no_arguments(&rest, "ps")?;
    lifecycle::sweep();
    let shown: Vec<Container> = lifecycle::list()?
        .into_iter()
        .filter(|c| all || c.status() == Status::Running)
        .collect();
    if quiet {
        shown.iter().for_each(|c| println!("{}", c.short_id()));
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = shown.iter().map(row).collect();
    cli::print_table(
        &[
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES",
        ],
        &rows,
    );
    Ok(0)
}

fn row(container: &Container) -> Vec<String> {
    vec![
        container.short_id().to_string(),
        container.config.image.clone(),
        command(&container.config.process.argv),
        time::ago(&container.config.created),
        status(container),
        ports(container),
        container.config.name.clone(),
    ]
}

/// `"sh -c 'echo hi…"`: the command line, quoted, cut at 20 characters as Docker does.
fn command(argv: &[String]) -> String {
    let line = argv.join(" ");
    let cut: String = match line.chars().count() > 20 {
        true => line.chars().take(19).chain(std::iter::once('…')).collect(),
        false => line,
    };
    format!("\"{cut}\"")
}

/// `0.0.0.0:8080->80/tcp, 0.0.0.0:8443->443/tcp`: what the container publishes.
fn ports(container: &Container) -> String {
    let published = super::port::published(container).iter();
    let shown: Vec<String> = published
        .map(|p| format!("{}->{}", p.host(), p.name()))
        .collect();
    shown.join(", ")
}

/// "Up 5 seconds", "Exited (0) 3 minutes ago", "Created".
pub fn status(container: &Container) -> String {
    let since = |t: &str| time::parse_rfc3339(t).map_or(0, |t| time::now() - t);
    match container.status() {
        Status::Created => "Created".into(),
        Status::Running => format!(
            "Up {}{}",
            time::human_duration(since(&container.state.started_at)),
            if container.is_paused() {
                " (Paused)"
            } else {
                ""
            }
        ),
        Status::Exited => format!(
            "Exited ({}) {}",
            container.exit_code(),
            time::ago(&container.state.finished_at)
        ),
        Status::Dead => "Dead".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_commands_are_cut_like_dockers() {
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(command(&argv("sleep 5")), "\"sleep 5\"");
        assert_eq!(
            command(&argv("sh -c while true; do echo hi; done")),
            "\"sh -c while true; d…\""
        );
    }
}
