//! `skiff images [-q] [--filter K=V] [--format F]`: what the store holds, in `docker
//! images`' columns or the fields a Go template picks (see `template`).
//! <https://docs.docker.com/reference/cli/docker/image/ls/>

use crate::cli::{self, Filters, Opt};
use crate::digest::Digest;
use crate::error::Result;
use crate::image::store::Store;
use crate::image::Image;
use crate::reference::Reference;
use crate::template::{self, Listing};
use crate::time;
use crate::units::{human_size, Base};

pub const HELP: &str = "Usage:  skiff images [OPTIONS]

List images

Options:
  -f, --filter filter   Filter output based on conditions provided
      --format string   Format output using a Go template, or 'table'
  -h, --help            Print usage
  -q, --quiet           Only show image IDs";

/// Each field a `--format` may name, with its header in a table.
const COLUMNS: [(&str, &str); 7] = [
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("ID", "IMAGE ID"),
    ("CreatedSince", "CREATED"),
    ("Size", "SIZE"),
    ("Digest", "DIGEST"),
    ("CreatedAt", "CREATED AT"),
];

const TABLE: &str = "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut quiet, mut format, mut filters) = (false, None, Vec::new());
    let options = &mut [
        Opt::Switch(&["-q", "--quiet"], &mut quiet),
        Opt::Value(&["--format"], &mut format),
        Opt::List(&["-f", "--filter"], &mut filters),
    ];
    let rest = cli::parse(argv, "images", HELP, options)?;
    cli::no_arguments(&rest, "images")?;
    let filters = Filters::parse(&filters, &["dangling", "label", "reference"])?;
    let format = template::quiet_or(quiet, format.as_deref());
    let listing = Listing::parse(format, TABLE)?;
    let store = Store::open()?;
    let mut rows = Vec::new();
    for (reference, manifest) in store.references()? {
        let row = row(&store, &reference, &manifest)?;
        let labels = match filters.has("label") {
            true => Image::load(&store, &manifest)?
                .config
                .config
                .and_then(|c| c.labels),
            false => None,
        };
        if filters.allow(|key, value| match key {
            "label" => cli::has_label(labels.as_ref(), value),
            _ => holds(&row, key, value),
        }) {
            rows.push(row);
        }
    }
    listing.print(&COLUMNS, &rows)?;
    Ok(0)
}

/// Whether an image's `row` has what the filter `key=value` asks for: `dangling=true`
/// an image without a tag, `reference=PATTERN` a name (or name:tag) that matches it
/// (`label` is read from the image's config, not its row).
fn holds(row: &[String], key: &str, value: &str) -> bool {
    let (name, tag) = (&row[0], &row[1]);
    match key {
        "dangling" => (tag == "<none>") == (value == "true" || value == "1"),
        _ => [name.clone(), format!("{name}:{tag}")]
            .iter()
            .any(|text| glob(value.as_bytes(), text.as_bytes())),
    }
}

/// Go's `path.Match`, as Docker matches references: `*` is any run of characters but
/// `/`, `?` any one of them.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.split_first(), text.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => {
            glob(rest, text)
                || text
                    .split_first()
                    .is_some_and(|(&c, tail)| c != b'/' && glob(pattern, tail))
        }
        (Some((&p, rest)), Some((&c, tail))) if p == c || (p == b'?' && c != b'/') => {
            glob(rest, tail)
        }
        _ => false,
    }
}

/// The cells of [`COLUMNS`] for one reference.
pub fn row(store: &Store, reference: &str, manifest: &Digest) -> Result<Vec<String>> {
    let parsed = Reference::parse(reference)?;
    let image = Image::load(store, manifest)?;
    let created = image.config.created.as_deref().unwrap_or_default();
    Ok(vec![
        familiar_name(&parsed),
        parsed.tag.clone().unwrap_or_else(|| "<none>".into()),
        image.config_digest.hex()[..12].to_string(),
        Some(created)
            .filter(|c| !c.is_empty())
            .map_or_else(|| "N/A".into(), time::ago),
        human_size(image.size() as f64, Base::Decimal, 3),
        manifest.to_string(),
        time::go_utc(created),
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
    fn references_match_like_go_path_match() {
        assert!(glob(b"busy*", b"busybox"));
        assert!(glob(b"*:1.?", b"alpine:1.2"));
        assert!(!glob(b"*", b"localhost:5000/x"));
        assert!(!glob(b"alpine", b"alpine:latest"));
    }

    #[test]
    fn hub_names_are_shortened() {
        let name = |r: &str| familiar_name(&Reference::parse(r).unwrap());
        assert_eq!(name("alpine"), "alpine");
        assert_eq!(name("user/app"), "user/app");
        assert_eq!(name("localhost:5000/x"), "localhost:5000/x");
    }
}
