//! `skiff network create|ls|rm|prune|inspect`: user networks, each a bridge of its own, in
//! Docker's words and columns (see `network::user` for where they live).

use std::collections::BTreeMap;

use miniserde::json;

use crate::cli::{self, Opt};
use crate::error::{Error, Result};
use crate::lifecycle::{self, Status};
use crate::network::{self, user::Definition};

pub const HELP: &str = "Usage:  skiff network COMMAND

Manage networks

Commands:
  create      Create a network
  inspect     Display detailed information on one or more networks
  ls          List networks
  prune       Remove all unused networks
  rm          Remove one or more networks";

const CREATE: &str = "Usage:  skiff network create [OPTIONS] NETWORK

Create a network

Options:
  -d, --driver string    Driver to manage the Network (only \"bridge\") (default \"bridge\")
      --gateway string   IPv4 Gateway for the master subnet
  -h, --help             Print usage
      --subnet string    Subnet in CIDR format that represents a network segment";

const LS: &str = "Usage:  skiff network ls [OPTIONS]

List networks

Options:
  -h, --help    Print usage
  -q, --quiet   Only display network IDs";

const RM: &str = "Usage:  skiff network rm NETWORK [NETWORK...]

Remove one or more networks

Options:
  -h, --help    Print usage";

const PRUNE: &str = "Usage:  skiff network prune [OPTIONS]

Remove all unused networks

Options:
  -f, --force   Do not prompt for confirmation
  -h, --help    Print usage";

const INSPECT: &str = "Usage:  skiff network inspect NETWORK [NETWORK...]

Display detailed information on one or more networks

Options:
  -h, --help    Print usage";

pub fn main(argv: &[String]) -> Result<i32> {
    match argv.split_first() {
        Some((verb, rest)) if verb == "create" => create(rest),
        Some((verb, rest)) if verb == "ls" || verb == "list" => ls(rest),
        Some((verb, rest)) if verb == "rm" || verb == "remove" => rm(rest),
        Some((verb, rest)) if verb == "prune" => prune(rest),
        Some((verb, rest)) if verb == "inspect" => inspect(rest),
        // Docker's verbs, which skiff does not have: said so in their own words, not
        // as an unknown command
        Some((verb, _)) if verb == "connect" || verb == "disconnect" => Err(Error::invalid(
            format!("network {verb}: not supported: a container's network is the one `run --network` gave it"),
        )),
        Some((verb, _)) if !verb.starts_with('-') => Err(Error::usage(format!(
            "unknown command \"{verb}\" for \"skiff network\"\nSee 'skiff network --help'."
        ))),
        _ => cli::parse(argv, "network", HELP, &mut []).and_then(|_| cli::help(HELP)),
    }
}

fn create(argv: &[String]) -> Result<i32> {
    let (mut driver, mut subnet, mut gateway) = (None, None, None);
    let options = &mut [
        Opt::Value(&["-d", "--driver"], &mut driver),
        Opt::Value(&["--subnet"], &mut subnet),
        Opt::Value(&["--gateway"], &mut gateway),
    ];
    let rest = cli::parse(argv, "network create", CREATE, options)?;
    let [name] = &rest[..] else {
        return Err(Error::usage(
            "\"skiff network create\" requires exactly 1 argument.\nSee 'skiff network create --help'.",
        ));
    };
    if driver.as_deref().is_some_and(|d| d != "bridge") {
        let driver = driver.unwrap_or_default();
        return Err(Error::invalid(format!(
            "plugin \"{driver}\" not found: skiff has only the bridge driver"
        )));
    }
    if gateway.is_some() && subnet.is_none() {
        return Err(Error::invalid("--gateway needs --subnet"));
    }
    let network = network::create(name, subnet.as_deref(), gateway.as_deref())?;
    println!("{}", network.id);
    Ok(0)
}

/// Docker's three and the user networks, by name.
fn all() -> Result<Vec<Definition>> {
    let predefined = network::MODES
        .iter()
        .map(|name| Definition::predefined(name));
    let by_name: BTreeMap<String, Definition> = predefined
        .chain(network::user::list()?)
        .map(|network| (network.name.clone(), network))
        .collect();
    Ok(by_name.into_values().collect())
}

fn ls(argv: &[String]) -> Result<i32> {
    let mut quiet = false;
    let rest = cli::parse(
        argv,
        "network ls",
        LS,
        &mut [Opt::Switch(&["-q", "--quiet"], &mut quiet)],
    )?;
    cli::no_arguments(&rest, "network ls")?;
    let all = all()?;
    if quiet {
        all.iter().for_each(|n| println!("{}", &n.id[..12]));
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|n| {
            vec![
                n.id[..12].to_string(),
                n.name.clone(),
                n.driver.clone(),
                "local".into(),
            ]
        })
        .collect();
    cli::print_table(&["NETWORK ID", "NAME", "DRIVER", "SCOPE"], &rows);
    Ok(0)
}

fn rm(argv: &[String]) -> Result<i32> {
    let rest = cli::parse(argv, "network rm", RM, &mut [])?;
    for query in cli::at_least_one(rest, "network rm")? {
        if network::MODES.contains(&query.as_str()) {
            return Err(Error::invalid(format!(
                "{query} is a pre-defined network and cannot be removed"
            )));
        }
        let found = network::user::find(&query)?;
        if let Some(first) = users(&found)?.first() {
            return Err(Error::invalid(format!(
                "error while removing network: network {} is in use by container {first}",
                found.name
            )));
        }
        network::remove(&found)?;
        println!("{query}");
    }
    Ok(0)
}

/// The short IDs of the containers, running or not, attached to `network`.
fn users(network: &Definition) -> Result<Vec<String>> {
    lifecycle::sweep();
    let all = lifecycle::list()?;
    let attached = all
        .iter()
        .filter(|c| c.config.network.as_deref() == Some(&network.name));
    Ok(attached.map(|c| c.short_id().to_string()).collect())
}

/// Removes every user network no container is attached to, after asking as Docker
/// does (unless `-f`).
fn prune(argv: &[String]) -> Result<i32> {
    let mut force = false;
    let options = &mut [Opt::Switch(&["-f", "--force"], &mut force)];
    let rest = cli::parse(argv, "network prune", PRUNE, options)?;
    cli::no_arguments(&rest, "network prune")?;
    let warning = "This will remove all custom networks not used by at least one container.";
    if force || super::prune::confirm(warning)? {
        prune_unused()?;
    }
    Ok(0)
}

/// Removes every user network no container is attached to (`network prune`, `system
/// prune`), and says which went.
pub fn prune_unused() -> Result<()> {
    let mut deleted = Vec::new();
    for network in network::user::list()? {
        if users(&network)?.is_empty() {
            network::remove(&network)?;
            deleted.push(network.name);
        }
    }
    if !deleted.is_empty() {
        println!("Deleted Networks:\n{}\n", deleted.join("\n"));
    }
    Ok(())
}

/// `docker network inspect`'s JSON, written by hand as `volume inspect`'s is: derived
/// serializers for its four nested objects cost the binary more than these lines.
fn inspect(argv: &[String]) -> Result<i32> {
    let rest = cli::parse(argv, "network inspect", INSPECT, &mut [])?;
    let queries = cli::at_least_one(rest, "network inspect")?;
    lifecycle::sweep();
    let containers = lifecycle::list()?;
    let mut found = Vec::new();
    for query in queries {
        let mut network = match network::MODES.contains(&query.as_str()) {
            true => Definition::predefined(&query),
            false => network::user::find(&query)?,
        };
        if network.name == "bridge" {
            let (subnet, gateway) = network::default_bridge().unwrap_or_default();
            (network.subnet, network.gateway) = (subnet, gateway);
        }
        let mut members: Vec<String> = containers
            .iter()
            .filter(|c| c.status() == Status::Running)
            .filter_map(|c| Some((c, c.state.network.as_ref()?)))
            .filter(|(_, settings)| settings.network == network.name)
            .map(|(c, s)| {
                format!(
                    r#""{}":{{"Name":{},"IPv4Address":"{}/{}"}}"#,
                    c.config.id,
                    json::to_string(&c.config.name),
                    s.ip_address,
                    s.ip_prefix_len
                )
            })
            .collect();
        crate::sort::sort_by(&mut members, Ord::cmp);
        found.push(inspected(&network, &members));
    }
    println!("[{}]", found.join(","));
    Ok(0)
}

fn inspected(network: &Definition, members: &[String]) -> String {
    let config = match network.subnet.is_empty() {
        true => String::new(),
        false => format!(
            r#"{{"Subnet":"{}","Gateway":"{}"}}"#,
            network.subnet, network.gateway
        ),
    };
    format!(
        r#"{{"Name":{},"Id":"{}","Created":"{}","Scope":"local","Driver":"{}","EnableIPv6":false,"IPAM":{{"Driver":"default","Config":[{config}]}},"Internal":false,"Containers":{{{}}}}}"#,
        json::to_string(&network.name),
        network.id,
        network.created,
        network.driver,
        members.join(",")
    )
}
