//! `skiff ps [-a] [-q] [-n N] [-l] [-s] [--filter K=V] [--format F]`: the containers, in
//! `docker ps`' columns or the fields a Go template picks (see `template`). SIZE is
//! what the container wrote, and "virtual" adds its image's layers (see `system df`).
//! <https://docs.docker.com/reference/cli/docker/container/ls/>

use std::collections::BTreeMap;

use crate::cli::{self, Filters, Opt};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::{store::Store, Image};
use crate::lifecycle::{self, Container, Status};
use crate::reference::Reference;
use crate::template::{self, Listing};
use crate::time;
use crate::units::{human_size, Base};

pub const HELP: &str = "Usage:  skiff ps [OPTIONS]

List containers

Options:
  -a, --all             Show all containers (default shows just running)
  -f, --filter filter   Filter output based on conditions provided
      --format string   Format output using a Go template, or 'table'
  -h, --help            Print usage
  -n, --last int        Show n last created containers (includes all states)
  -l, --latest          Show the latest created container (includes all states)
  -q, --quiet           Only display container IDs
  -s, --size            Display total file sizes";

/// Each field a `--format` may name, with its header in a table.
const COLUMNS: [(&str, &str); 13] = [
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
];

const TABLE: &str =
    "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

const FILTERS: [&str; 6] = ["ancestor", "exited", "id", "label", "name", "status"];

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut all, mut quiet, mut latest, mut size) = (false, false, false, false);
    let (mut last, mut format, mut filters) = (None, None, Vec::new());
    let options = &mut [
        Opt::Switch(&["-a", "--all"], &mut all),
        Opt::Switch(&["-q", "--quiet"], &mut quiet),
        Opt::Switch(&["-l", "--latest"], &mut latest),
        Opt::Switch(&["-s", "--size"], &mut size),
        Opt::Value(&["-n", "--last"], &mut last),
        Opt::Value(&["--format"], &mut format),
        Opt::List(&["-f", "--filter"], &mut filters),
    ];
    let rest = cli::parse(argv, "ps", HELP, options)?;
    cli::no_arguments(&rest, "ps")?;
    let filters = Filters::parse(&filters, &FILTERS)?;
    let last = match (latest, last) {
        (true, _) => Some(1),
        (false, Some(n)) => Some(
            n.parse()
                .map_err(|_| Error::usage(format!("invalid -n: {n:?}")))?,
        ),
        (false, None) => None,
    };
    let format = template::quiet_or(quiet, format.as_deref());
    let table = format!("{TABLE}{}", if size { "\t{{.Size}}" } else { "" });
    size |= format.is_some_and(|f| f.contains(".Size"));
    let listing = Listing::parse(format, &table)?;
    let store = size.then(Store::open).transpose()?;
    all |= last.is_some() || filters.has("status") || filters.has("exited");
    lifecycle::sweep();
    let rows: Vec<Vec<String>> = lifecycle::list()?
        .iter()
        .filter(|c| all || matches!(c.status(), Status::Running | Status::Restarting))
        .filter(|c| filters.allow(|key, value| holds(c, key, value)))
        .take(last.unwrap_or(usize::MAX))
        .map(|c| row(c, store.as_ref()))
        .collect();
    listing.print(&COLUMNS, &rows)?;
    Ok(0)
}

/// Whether `container` has what the filter `key=value` asks for.
fn holds(container: &Container, key: &str, value: &str) -> bool {
    let status = container.status();
    let normal = |image: &str| Reference::parse(image).map(|r| r.to_string()).ok();
    match key {
        "status" => status.name() == value,
        "exited" => status == Status::Exited && container.exit_code().to_string() == value,
        "id" => container.config.id.starts_with(value),
        "name" => container
            .config
            .name
            .contains(value.trim_start_matches('/')),
        "ancestor" => {
            let digest = container.config.image_digest.trim_start_matches("sha256:");
            (value.len() >= 4 && digest.starts_with(value.trim_start_matches("sha256:")))
                || normal(value).is_some_and(|v| Some(v) == normal(&container.config.image))
                || container.config.rootfs.as_deref() == Some(value) // podman's, for --rootfs
        }
        "label" => cli::has_label(container.config.labels.as_ref(), value),
        _ => false,
    }
}

/// The cells of [`COLUMNS`] for one container; its size with a `store` to find its
/// image's in.
pub fn row(container: &Container, store: Option<&Store>) -> Vec<String> {
    let config = &container.config;
    let volumes = config.options.volumes.iter();
    let mounts = volumes
        .filter_map(|v| v.split(':').next())
        .map(|m| ellipsis(m, 15));
    let network = container.state.network.as_ref().map(|s| s.network.clone());
    vec![
        container.short_id().to_string(),
        config.image.clone(),
        format!("\"{}\"", ellipsis(&config.process.argv.join(" "), 20)),
        time::go_utc(&config.created),
        time::ago(&config.created),
        ports(container),
        container.status().name().into(),
        status(container),
        store.map_or_else(|| "0B".into(), |store| size(container, store)),
        config.name.clone(),
        labels(config.labels.as_ref()),
        mounts.collect::<Vec<_>>().join(","),
        network
            .or_else(|| config.network.clone())
            .unwrap_or_else(|| "bridge".into()),
    ]
}

/// "2B (virtual 4.26MB)": what the container wrote, and that with its image.
fn size(container: &Container, store: &Store) -> String {
    let image = Digest::parse(&container.config.image_digest)
        .and_then(|manifest| Image::load(store, &manifest));
    let wrote = super::df::writable(container);
    let virtual_size = wrote + image.map_or(0, |image| image.size());
    let human = |n: u64| human_size(n as f64, Base::Decimal, 3);
    format!("{} (virtual {})", human(wrote), human(virtual_size))
}

/// `a=1,b=2`, as Docker's LABELS column shows them.
fn labels(labels: Option<&BTreeMap<String, String>>) -> String {
    let pairs = labels
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"));
    pairs.collect::<Vec<_>>().join(",")
}

/// `text` cut to `max` characters, its last one `…`, as Docker cuts long cells.
fn ellipsis(text: &str, max: usize) -> String {
    match text.chars().count() > max {
        true => text
            .chars()
            .take(max - 1)
            .chain(std::iter::once('…'))
            .collect(),
        false => text.into(),
    }
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
        status @ (Status::Exited | Status::Restarting) => format!(
            "{} ({}) {}",
            if status == Status::Exited {
                "Exited"
            } else {
                "Restarting"
            },
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
        assert_eq!(ellipsis("sleep 5", 20), "sleep 5");
        assert_eq!(
            ellipsis("sh -c while true; do echo hi; done", 20),
            "sh -c while true; d…"
        );
    }
}
