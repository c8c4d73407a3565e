//! `skiff create [OPTIONS] IMAGE [COMMAND] [ARG...]`: `run` without the running: the
//! container is recorded, and `skiff start` runs it.

use super::run;
use crate::cli;
use crate::error::Result;

pub fn main(argv: &[String]) -> Result<i32> {
    let Some(args) = run::parse(argv, "create")? else {
        return cli::help(&run::HELP.replace("skiff run", "skiff create").replace(
            "Create and run a new container from an image",
            "Create a new container",
        ));
    };
    let (container, _spec) = run::create(&args)?;
    println!("{}", container.config.id);
    Ok(0)
}
