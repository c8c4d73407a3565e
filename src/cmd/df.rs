//! `skiff system df [-v]`: the disk the store's images, containers and volumes take,
//! and how much of it a prune would give back ("reclaimable": what nothing running
//! needs), in Docker's rows. Sizes are what the store holds: an image's blobs as the
//! registry sent them (a layer two images share counted once), a container's writable
//! layer (its overlayfs upper dir, the bytes it wrote; `ps -s` shows the same), a
//! volume's directory. skiff builds nothing, so its build cache is always empty.
//! <https://docs.docker.com/reference/cli/docker/system/df/>

use crate::cli::{self, Opt};
use crate::digest::Digest;
use crate::error::Result;
use crate::image::store::{self, Store};
use crate::image::Image;
use crate::lifecycle::{self, Container, Status};
use crate::units::{human_size, Base};
use crate::volume;

pub const HELP: &str = "Usage:  skiff system df [OPTIONS]

Show skiff disk usage

Options:
  -h, --help      Print usage
  -v, --verbose   Show detailed information on space usage";

const CONTAINERS: [&str; 8] = [
    "CONTAINER ID",
    "IMAGE",
    "COMMAND",
    "LOCAL VOLUMES",
    "SIZE",
    "CREATED",
    "STATUS",
    "NAMES",
];
const CACHE: [&str; 7] = [
    "CACHE ID",
    "CACHE TYPE",
    "SIZE",
    "CREATED",
    "LAST USED",
    "USAGE",
    "SHARED",
];

pub fn main(argv: &[String]) -> Result<i32> {
    let mut verbose = false;
    let options = &mut [Opt::Switch(&["-v", "--verbose"], &mut verbose)];
    let rest = cli::parse(argv, "system df", HELP, options)?;
    cli::no_arguments(&rest, "system df")?;
    let store = Store::open()?;
    lifecycle::sweep();
    let containers = lifecycle::list()?;
    let used: Vec<&str> = containers
        .iter()
        .map(|c| c.config.image_digest.as_str())
        .collect();
    let images = store.references()?;
    let mut distinct = Vec::new();
    for (_, manifest) in &images {
        if !distinct.contains(&manifest) {
            distinct.push(manifest);
        }
    }
    let active = distinct
        .iter()
        .filter(|m| used.contains(&m.to_string().as_str()));
    let volumes = volumes()?;
    let running = containers.iter().filter(|c| c.status() == Status::Running);
    let written = |c: &Container| writable(c);
    let table = [
        summary(
            "Images",
            distinct.len(),
            active.count(),
            store::disk_usage(&store::root().join("blobs")),
            kept(&store, &used),
        ),
        summary(
            "Containers",
            containers.len(),
            running.clone().count(),
            containers.iter().map(written).sum(),
            running.map(written).sum(),
        ),
        summary(
            "Local Volumes",
            volumes.len(),
            volumes.iter().filter(|v| v.1 > 0).count(),
            volumes.iter().map(|v| v.2).sum(),
            volumes.iter().filter(|v| v.1 > 0).map(|v| v.2).sum(),
        ),
        ["Build Cache", "0", "0", "0B", "0B"]
            .map(String::from)
            .to_vec(),
    ];
    if !verbose {
        cli::print_table(&["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], &table);
        return Ok(0);
    }
    details(&store, &images, &used, &containers, &volumes)
}

/// The bytes of the blobs the images of containers need (each blob once): what an
/// image prune cannot take back.
fn kept(store: &Store, used: &[&str]) -> u64 {
    let mut needed = Vec::new();
    for manifest in used.iter().filter_map(|m| Digest::parse(m).ok()) {
        let blobs = Image::load(store, &manifest).and_then(|image| image.blobs(&manifest));
        for blob in blobs.unwrap_or_default() {
            if !needed.contains(&blob) {
                needed.push(blob);
            }
        }
    }
    needed.iter().map(|b| store.blob_size(b).unwrap_or(0)).sum()
}

/// Each volume: its name, how many containers name it, its size.
fn volumes() -> Result<Vec<(String, usize, u64)>> {
    let in_use = lifecycle::volumes_in_use()?;
    Ok(volume::list()?
        .into_iter()
        .map(|name| {
            let links = in_use.iter().filter(|(_, v)| *v == name).count();
            let size = store::disk_usage(&volume::data(&name));
            (name, links, size)
        })
        .collect())
}

/// One row of the summary: what is there, what is in use, and how much of its `size`
/// is `kept` by what is in use.
fn summary(kind: &str, total: usize, active: usize, size: u64, kept: u64) -> Vec<String> {
    let free = size.saturating_sub(kept);
    let percent = match size {
        0 => String::new(),
        size => format!(" ({}%)", free * 100 / size),
    };
    vec![
        kind.into(),
        total.to_string(),
        active.to_string(),
        bytes(size),
        bytes(free) + &percent,
    ]
}

/// `-v`: each image, container and volume, with its size.
fn details(
    store: &Store,
    images: &[(String, Digest)],
    used: &[&str],
    containers: &[Container],
    volumes: &[(String, usize, u64)],
) -> Result<i32> {
    let mut rows = Vec::new();
    for (reference, manifest) in images {
        let mut row = super::images::row(store, reference, manifest)?;
        row.truncate(5);
        let digest = manifest.to_string();
        row.push(used.iter().filter(|u| **u == digest).count().to_string());
        rows.push(row);
    }
    println!("Images space usage:\n");
    let header = [
        "REPOSITORY",
        "TAG",
        "IMAGE ID",
        "CREATED",
        "SIZE",
        "CONTAINERS",
    ];
    cli::print_table(&header, &rows);
    println!("\nContainers space usage:\n");
    let rows: Vec<Vec<String>> = containers
        .iter()
        .map(|c| {
            let row = super::ps::row(c, None);
            let local = c.config.options.volume_names().count().to_string();
            let size = bytes(writable(c));
            [0, 1, 2]
                .map(|i| row[i].clone())
                .into_iter()
                .chain([local, size, row[4].clone(), row[7].clone(), row[9].clone()])
                .collect()
        })
        .collect();
    cli::print_table(&CONTAINERS, &rows);
    println!("\nLocal Volumes space usage:\n");
    let rows: Vec<Vec<String>> = volumes
        .iter()
        .map(|(name, links, size)| vec![name.clone(), links.to_string(), bytes(*size)])
        .collect();
    cli::print_table(&["VOLUME NAME", "LINKS", "SIZE"], &rows);
    println!("\nBuild cache usage: 0B\n");
    cli::print_table(&CACHE, &[]);
    Ok(0)
}

/// The bytes container `c` wrote: its overlayfs upper dir. `ps -s` shows it too.
pub fn writable(c: &Container) -> u64 {
    store::disk_usage(&c.dir.join("upper"))
}

/// Docker's sizes here: powers of 1000, four significant digits.
fn bytes(n: u64) -> String {
    human_size(n as f64, Base::Decimal, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reclaimable_is_what_nothing_in_use_keeps_with_dockers_percent() {
        assert_eq!(
            summary("Images", 2, 1, 4_000_000, 1_000_000),
            ["Images", "2", "1", "4MB", "3MB (75%)"]
        );
        assert_eq!(summary("Containers", 0, 0, 0, 0)[4], "0B");
    }
}
