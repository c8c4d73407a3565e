//! `skiff history IMAGE`: the build steps an image's config records (its `history`),
//! newest first, each with the layer it made. A pulled image's parents are not in the
//! store, so as in Docker only the top row names an image; the rest say `<missing>`.
//! <https://github.com/opencontainers/image-spec/blob/main/config.md#properties>
//! <https://docs.docker.com/reference/cli/docker/image/history/>

use crate::cli::{self, Opt};
use crate::error::{Error, Result};
use crate::image::store::{disk_usage, Store};
use crate::image::Image;
use crate::reference::Reference;
use crate::template::{self, Listing};
use crate::time;
use crate::units::{human_size, Base};

pub const HELP: &str = "Usage:  skiff history [OPTIONS] IMAGE

Show the history of an image

Options:
      --format string   Format output using a Go template, or 'table'
  -h, --help            Print usage
  -H, --human           Print sizes and dates in human readable format (default true)
      --no-trunc        Don't truncate output
  -q, --quiet           Only show image IDs";

const COLUMNS: [(&str, &str); 6] = [
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
    ("CreatedAt", "CREATED AT"),
];

const TABLE: &str = "{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut human, mut no_trunc, mut quiet, mut format) = (true, false, false, None);
    let options = &mut [
        Opt::Switch(&["-H", "--human"], &mut human),
        Opt::Switch(&["--no-trunc"], &mut no_trunc),
        Opt::Switch(&["-q", "--quiet"], &mut quiet),
        Opt::Value(&["--format"], &mut format),
    ];
    let rest = cli::parse(argv, "history", HELP, options)?;
    let [name] = &rest[..] else {
        return Err(Error::usage(
            "\"skiff history\" requires exactly 1 argument.\nSee 'skiff history --help'",
        ));
    };
    let format = template::quiet_or(quiet, format.as_deref());
    let listing = Listing::parse(format, TABLE)?;
    let store = Store::open()?;
    let manifest = store
        .resolve(&Reference::parse(name)?.to_string())?
        .ok_or_else(|| Error::invalid(format!("No such image: {name}")))?;
    let image = Image::load(&store, &manifest)?;
    listing.print(&COLUMNS, &rows(&store, &image, human, no_trunc)?)?;
    Ok(0)
}

/// The cells of [`COLUMNS`] for each step, newest first.
fn rows(store: &Store, image: &Image, human: bool, no_trunc: bool) -> Result<Vec<Vec<String>>> {
    let mut diff_ids = image.config.diff_ids()?.into_iter();
    let mut rows = Vec::new();
    for step in image.config.history.clone().unwrap_or_default() {
        let layer = match step.empty_layer {
            Some(true) => None,
            _ => diff_ids.next(),
        };
        let size = layer.map_or(0, |d| disk_usage(&store.layer_dir(&d)));
        let created = step.created.unwrap_or_default();
        // Docker's `CreatedAt`: RFC 3339 to the second.
        let at = time::parse_rfc3339(&created).map_or_else(String::new, time::format_rfc3339);
        let created_by = step.created_by.unwrap_or_default().replace('\t', " ");
        rows.push(vec![
            "<missing>".to_string(),
            match human {
                true => time::ago(&created),
                false => at.clone(),
            },
            match no_trunc {
                true => created_by,
                false => ellipsis(&created_by, 45),
            },
            match human {
                true => human_size(size as f64, Base::Decimal, 3),
                false => size.to_string(),
            },
            step.comment.unwrap_or_default(),
            at,
        ]);
    }
    rows.reverse();
    if let Some(top) = rows.first_mut() {
        let id = image.config_digest.to_string();
        top[0] = match no_trunc {
            true => id,
            false => id["sha256:".len()..][..12].to_string(),
        };
    }
    Ok(rows)
}

/// Docker's `Ellipsis`: at most `width` characters, the last one `…` if cut.
fn ellipsis(text: &str, width: usize) -> String {
    match text.chars().count() <= width {
        true => text.to_string(),
        false => text.chars().take(width - 1).chain(['…']).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_steps_are_cut_with_an_ellipsis() {
        assert_eq!(ellipsis("abc", 3), "abc");
        assert_eq!(ellipsis("abcd", 3), "ab…");
    }
}
