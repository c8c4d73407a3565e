//! `skiff system df [-v]`: the disk the store's images, containers and volumes take,
//! and how much of it a prune would give back ("reclaimable": what nothing running
//! needs), in Docker's rows. Sizes are what the store holds: an image's blobs as the
//! registry sent them (a layer two images share counted once), a container's writable
//! layer (its overlayfs upper dir, the bytes it wrote; `ps -s` shows the same), a
//! volume's directory. skiff builds nothing, so its build cache is always empty.
//! <https://docs.docker.com/reference/cli/docker/system/df/>

use std::collections::{BTreeMap, BTreeSet};

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

pub fn main(argv: &[String]) -> Result<i32> {
    let mut verbose = false;
    let options = &mut [Opt::Switch(&["-v", "--verbose"], &mut verbose)];
    let rest = cli::parse(argv, "system df", HELP, options)?;
    cli::no_arguments(&rest, "system df")?;
    let store = Store::open()?;
    lifecycle::sweep();
    let containers = lifecycle::list()?;
    let users = |manifest: &Digest| {
        let digest = manifest.to_string();
        containers
            .iter()
            .filter(|c| c.config.image_digest == digest)
            .count()
    };
    let (mut blobs, mut images) = (BTreeMap::new(), Vec::new());
    for (reference, manifest) in store.references()? {
        let active = users(&manifest) > 0;
        for blob in Image::load(&store, &manifest)?.blobs(&manifest)? {
            let size = store.blob_size(&blob).unwrap_or(0);
            blobs.entry(blob).or_insert((size, false)).1 |= active;
        }
        images.push((reference, manifest));
    }
    let volumes = volumes()?;
    let distinct: BTreeSet<&Digest> = images.iter().map(|(_, m)| m).collect();
    let active = distinct.iter().filter(|m| users(m) > 0).count();
    let sizes: Vec<(u64, bool)> = containers
        .iter()
        .map(|c| (writable(c), c.status() == Status::Running))
        .collect();
    let table = [
        summary("Images", distinct.len(), Some(active), blobs.values()),
        summary("Containers", sizes.len(), None, &sizes),
        summary(
            "Local Volumes",
            volumes.len(),
            None,
            &volumes.iter().map(|v| (v.2, v.1 > 0)).collect::<Vec<_>>(),
        ),
        ["Build Cache", "0", "0", "0B", "0B"]
            .map(String::from)
            .to_vec(),
    ];
    if !verbose {
        cli::print_table(&["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], &table);
        return Ok(0);
    }
    let mut image_rows = Vec::new();
    for (reference, manifest) in &images {
        let mut row = super::images::row(&store, reference, manifest)?;
        row.truncate(5);
        row.push(users(manifest).to_string());
        image_rows.push(row);
    }
    details(&image_rows, &containers, &volumes);
    Ok(0)
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

/// One row of the summary: `items` are (size, in use); ACTIVE counts the items in use
/// unless `active` is given (images count by image, but their blobs make the size).
fn summary<'a>(
    kind: &str,
    total: usize,
    active: Option<usize>,
    items: impl IntoIterator<Item = &'a (u64, bool)>,
) -> Vec<String> {
    let (mut size, mut free, mut used) = (0, 0, 0);
    for (bytes, in_use) in items {
        size += bytes;
        free += bytes * u64::from(!in_use);
        used += usize::from(*in_use);
    }
    let percent = match size {
        0 => String::new(),
        size => format!(" ({}%)", free * 100 / size),
    };
    vec![
        kind.into(),
        total.to_string(),
        active.unwrap_or(used).to_string(),
        bytes(size),
        bytes(free) + &percent,
    ]
}

/// `-v`: each image, container and volume, with its size.
fn details(images: &[Vec<String>], containers: &[Container], volumes: &[(String, usize, u64)]) {
    println!("Images space usage:\n");
    let header = [
        "REPOSITORY",
        "TAG",
        "IMAGE ID",
        "CREATED",
        "SIZE",
        "CONTAINERS",
    ];
    cli::print_table(&header, images);
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
    let header = [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "LOCAL VOLUMES",
        "SIZE",
        "CREATED",
        "STATUS",
        "NAMES",
    ];
    cli::print_table(&header, &rows);
    println!("\nLocal Volumes space usage:\n");
    let rows: Vec<Vec<String>> = volumes
        .iter()
        .map(|(name, links, size)| vec![name.clone(), links.to_string(), bytes(*size)])
        .collect();
    cli::print_table(&["VOLUME NAME", "LINKS", "SIZE"], &rows);
    println!("\nBuild cache usage: 0B\n");
    cli::print_table(
        &[
            "CACHE ID",
            "CACHE TYPE",
            "SIZE",
            "CREATED",
            "LAST USED",
            "USAGE",
            "SHARED",
        ],
        &[],
    );
}

/// The bytes container `c` wrote: its overlayfs upper dir. `ps -s` shows it too.
pub fn writable(c: &Container) -> u64 {
    store::disk_usage(&c.dir.join("upper"))
}

/// Docker's sizes here: powers of 1000, four significant digits.
fn bytes(n: u64) -> String {
    human_size(n as f64, Base::Decimal, 4)
}
