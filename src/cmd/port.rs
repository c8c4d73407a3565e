//! `skiff port CONTAINER [PRIVATE_PORT[/PROTO]]`: where a running container's ports
//! are published on the host (see `network::ports`).

use crate::cli;
use crate::error::{Error, Kind, Result};
use crate::lifecycle::{self, Container, Status};
use crate::network::Port;

pub const HELP: &str = "Usage:  skiff port CONTAINER [PRIVATE_PORT[/PROTO]]

List port mappings or a specific mapping for the container

Options:
  -h, --help   Print usage";

pub fn main(argv: &[String]) -> Result<i32> {
    let rest = cli::parse(argv, "port", HELP, &mut [])?;
    let (query, wanted) = match rest.as_slice() {
        [query] => (query, None),
        [query, port] => (query, Some(port)),
        _ => return Err(Error::usage(
            "\"skiff port\" requires at least 1 and at most 2 arguments.\nSee 'skiff port --help'.",
        )),
    };
    let container = lifecycle::find(query)?;
    let ports = published(&container);
    let Some(wanted) = wanted else {
        for port in ports {
            println!("{} -> {}", port.name(), port.host());
        }
        return Ok(0);
    };
    let name = match wanted.contains('/') {
        true => wanted.clone(),
        false => format!("{wanted}/tcp"),
    };
    let matching: Vec<&Port> = ports.iter().filter(|p| p.name() == name).collect();
    if matching.is_empty() {
        return Err(Error::new(Kind::Refused(format!(
            "Error: No public port '{name}' published for {query}"
        ))));
    }
    matching.iter().for_each(|port| println!("{}", port.host()));
    Ok(0)
}

/// The ports a container publishes while it runs, with the host ports they got.
pub fn published(container: &Container) -> &[Port] {
    match (container.status(), &container.state.network) {
        (Status::Running, Some(settings)) => settings.ports.as_deref().unwrap_or_default(),
        _ => &[],
    }
}
