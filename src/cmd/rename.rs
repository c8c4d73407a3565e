//! `skiff rename CONTAINER NEW_NAME`: moves a container's name link in
//! `containers/.names` (see `lifecycle::names`), refused if another container has it.
//! A running container on a user network is renamed in its peers' /etc/hosts too.

use crate::cli;
use crate::error::{Context, Error, Result};
use crate::image::store::Store;
use crate::lifecycle::{self, names, peers, Status};

pub const HELP: &str = "Usage:  skiff rename CONTAINER NEW_NAME

Rename a container";

pub fn main(argv: &[String]) -> Result<i32> {
    let rest = cli::parse(argv, "rename", HELP, &mut [])?;
    let [query, name] = &rest[..] else {
        return Err(Error::usage(
            "\"skiff rename\" requires exactly 2 arguments.\nSee 'skiff rename --help'",
        ));
    };
    let _lock = Store::open()?;
    let mut container = lifecycle::find(query)?;
    names::rename(&mut container, name).with_context(|| format!("rename {query}"))?;
    if let (Status::Running, Some(settings)) = (container.status(), &container.state.network) {
        peers::update(&settings.network);
    }
    Ok(0)
}
