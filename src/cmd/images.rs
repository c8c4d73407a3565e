//! `skiff images [-q]`: what the store holds, in `docker images`' columns.

use crate::cli::{self, Opt};
use crate::digest::Digest;
use crate::error::Result;
use crate::image::store::Store;
use crate::image::Image;
use crate::reference::Reference;
use crate::time;
use crate::units::{human_size, Base};

pub const HELP: &str = "Usage:  skiff images [OPTIONS]

List images

Options:
  -h, --help    Print usage
  -q, --quiet   Only show image IDs";

pub fn main(argv: &[String]) -> Result<i32> {
    let mut quiet = false;
    let options = &mut [Opt::Switch(&["-q", "--quiet"], &mut quiet)];
    let rest = cli::parse(argv, "images", HELP, options)?;
    cli::no_arguments(&rest, "images")?;
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
        human_size(image.size() as f64, Base::Decimal, 3),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_names_are_shortened() {
        let name = |r: &str| familiar_name(&Reference::parse(r).unwrap());
        assert_eq!(name("alpine"), "alpine");
        assert_eq!(name("user/app"), "user/app");
        assert_eq!(name("localhost:5000/x"), "localhost:5000/x");
    }
}
