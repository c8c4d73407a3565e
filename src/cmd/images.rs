//! `skiff images [-q]`: what the store holds, in `docker images`' columns.

use crate::cli::{self, Lexer};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::store::Store;
use crate::image::Image;
use crate::reference::Reference;
use crate::time;

pub const HELP: &str = "Usage:  skiff images [OPTIONS]

List images

Options:
  -h, --help    Print usage
  -q, --quiet   Only show image IDs";

pub fn main(argv: &[String]) -> Result<i32> {
    let mut lexer = Lexer::new(argv);
    let mut quiet = false;
    while let Some(flag) = lexer.next_flag() {
        match flag.name.as_str() {
            "-h" | "--help" => return cli::help(HELP),
            "-q" | "--quiet" => quiet = lexer.switch(&flag)?,
            _ => return Err(cli::unknown(&flag, "images")),
        }
    }
    if !lexer.rest().is_empty() {
        return Err(Error::usage("\"skiff images\" accepts no arguments."));
    }
    let store = Store::open()?;
    let rows = store
        .references()?
        .into_iter()
        .map(|(reference, manifest)| row(&store, &reference, &manifest))
        .collect::<Result<Vec<_>>>()?;
    if quiet {
        rows.iter().for_each(|row| println!("{}", row[2]));
        return Ok(0);
    }
    cli::print_table(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], &rows);
    Ok(0)
}

fn row(store: &Store, reference: &str, manifest: &Digest) -> Result<Vec<String>> {
    let parsed = Reference::parse(reference)?;
    let image = Image::load(store, manifest)?;
    Ok(vec![
        familiar_name(&parsed),
        parsed.tag.clone().unwrap_or_else(|| "<none>".into()),
        image.config_digest.hex()[..12].to_string(),
        image
            .config
            .created
            .as_deref()
            .map_or_else(|| "N/A".into(), time::ago),
        human_size(image.size()),
    ])
}

/// Docker's short names: `docker.io/library/alpine` is shown as `alpine`.
fn familiar_name(reference: &Reference) -> String {
    if reference.registry != crate::reference::DOCKER_HUB {
        return format!("{}/{}", reference.registry, reference.repository);
    }
    let short = reference.repository.strip_prefix("library/");
    short.unwrap_or(&reference.repository).to_string()
}

/// Sizes as Docker prints them: decimal units, three significant digits.
fn human_size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let decimals = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}{}", units[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_dockers() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(4_260_000), "4.26MB");
        assert_eq!(human_size(77_900_000), "77.9MB");
        assert_eq!(human_size(123_000_000), "123MB");
        assert_eq!(human_size(2_000_000_000), "2GB");
    }

    #[test]
    fn hub_names_are_shortened() {
        let name = |r: &str| familiar_name(&Reference::parse(r).unwrap());
        assert_eq!(name("alpine"), "alpine");
        assert_eq!(name("user/app"), "user/app");
        assert_eq!(name("localhost:5000/x"), "localhost:5000/x");
    }
}
