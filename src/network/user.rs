//! User networks (`network create`): each one a bridge of its own, `br-` and the start
//! of its ID, as Docker names them, with a subnet of its own.
//!
//! A network's definition belongs to the store and outlives a reboot:
//!
//! ```text
//! $SKIFF_ROOT/networks/<id>.json   {"name", "id", "created", "driver", "subnet", "gateway"}
//! ```
//!
//! Its kernel objects do not: the bridge and its leases (see `bridge`) are made under
//! /run when a container first joins it, as the default bridge's are. `bridge`, `host`
//! and `none` are Docker's predefined networks; they are listed, never stored.
//! <https://docs.docker.com/engine/network/drivers/bridge/>

use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use miniserde::{json, Deserialize, Serialize};

use super::subnet::Subnet;
use crate::digest::Digest;
use crate::error::{Context, Error, Result};
use crate::image::store;

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Definition {
    pub name: String,
    pub id: String,
    pub created: String,
    pub driver: String,
    pub subnet: String,
    pub gateway: String,
}

impl Definition {
    /// One of Docker's three: the default bridge (its subnet is chosen when it is first
    /// made, so none is recorded here), the host's network, or none. Their IDs are
    /// derived from their names, the same in every store.
    pub fn predefined(name: &str) -> Definition {
        let driver = match name {
            "none" => "null",
            other => other,
        };
        Definition {
            name: name.into(),
            id: Digest::of(format!("skiff network {name}").as_bytes())
                .hex()
                .into(),
            created: String::new(),
            driver: driver.into(),
            subnet: String::new(),
            gateway: String::new(),
        }
    }

    /// The link its containers' veths are plugged into.
    pub fn bridge(&self) -> String {
        bridge_of(&self.id)
    }

    /// Its subnet and gateway, as `network create` checked them.
    pub fn addresses(&self) -> Result<(Subnet, Ipv4Addr)> {
        let subnet = Subnet::parse(&self.subnet);
        let gateway = self.gateway.parse().ok();
        subnet.zip(gateway).ok_or_else(|| {
            Error::invalid(format!(
                "network {}: its record's subnet or gateway is not valid",
                self.name
            ))
        })
    }
}

/// The bridge of the network whose ID is `id`: `br-` and the ID's first 12 digits, as
/// Docker names it.
pub fn bridge_of(id: &str) -> String {
    format!("br-{}", id.get(..12).unwrap_or(id))
}

fn dir() -> PathBuf {
    store::root().join("networks")
}

/// Every user network of this store.
pub fn list() -> Result<Vec<Definition>> {
    let entries = match fs::read_dir(dir()) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        other => other.with_context(|| format!("read {}", dir().display()))?,
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let text =
                fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
            let definition: Definition = json::from_str(&text)
                .map_err(|_| Error::invalid(format!("{} is not valid", path.display())))?;
            found.push(definition);
        }
    }
    Ok(found)
}

/// The user network a user means: by name, full ID or unique ID prefix.
pub fn find(query: &str) -> Result<Definition> {
    let all = list()?;
    let exact = all.iter().position(|n| n.name == query || n.id == query);
    let prefixed: Vec<usize> = (0..all.len())
        .filter(|&i| !query.is_empty() && all[i].id.starts_with(query))
        .collect();
    let index = exact.or(match prefixed[..] {
        [only] => Some(only),
        _ => None,
    });
    index
        .map(|i| all[i].clone())
        .ok_or_else(|| Error::invalid(format!("network {query} not found")))
}

/// Records `definition`; refused if its name is taken.
pub fn save(definition: &Definition) -> Result<()> {
    let taken = super::MODES.contains(&definition.name.as_str())
        || list()?.iter().any(|n| n.name == definition.name);
    if taken {
        return Err(Error::invalid(format!(
            "network with name {} already exists",
            definition.name
        )));
    }
    fs::create_dir_all(dir()).with_context(|| format!("create {}", dir().display()))?;
    let path = dir().join(format!("{}.json", definition.id));
    fs::write(&path, json::to_string(definition))
        .with_context(|| format!("write {}", path.display()))
}

pub fn remove(definition: &Definition) -> Result<()> {
    let path = dir().join(format!("{}.json", definition.id));
    fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))
}
