//! The image config: the JSON that says how to run an image (environment, command,
//! working directory) and which uncompressed layers (`diff_ids`) make its root.
//! <https://github.com/opencontainers/image-spec/blob/main/config.md>

use std::collections::BTreeMap;

use miniserde::json::{self, Value};
use miniserde::Deserialize;

use crate::digest::Digest;
use crate::error::{Error, Kind, Result};

#[derive(Deserialize, Debug, Default)]
pub struct ImageConfig {
    /// RFC 3339, e.g. `2024-05-01T12:00:00Z`.
    pub created: Option<String>,
    pub config: Option<RunConfig>,
    pub rootfs: Option<RootFs>,
    /// One entry per build step, oldest first; `empty_layer` steps made no layer.
    pub history: Option<Vec<History>>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct History {
    pub created: Option<String>,
    pub created_by: Option<String>,
    pub comment: Option<String>,
    pub empty_layer: Option<bool>,
}

/// The part of the config `docker run` uses; every field may be absent or null.
#[derive(Deserialize, Debug, Default, Clone)]
pub struct RunConfig {
    #[serde(rename = "Env")]
    pub env: Option<Vec<String>>,
    #[serde(rename = "Entrypoint")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd")]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "WorkingDir")]
    pub working_dir: Option<String>,
    #[serde(rename = "StopSignal")]
    pub stop_signal: Option<String>,
    #[serde(rename = "User")]
    pub user: Option<String>,
    /// `EXPOSE`: `{"80/tcp": {}}`, the ports `-P` publishes (only its keys matter).
    #[serde(rename = "ExposedPorts")]
    pub exposed_ports: Option<Value>,
    /// `VOLUME`: `{"/data": {}}`, the paths that get an anonymous volume (its keys).
    #[serde(rename = "Volumes")]
    pub volumes: Option<Value>,
    #[serde(rename = "Labels")]
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Debug)]
pub struct RootFs {
    pub diff_ids: Vec<String>,
}

impl ImageConfig {
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig> {
        let json_error = || {
            Error::new(Kind::Json {
                what: "image config".into(),
            })
        };
        let text = std::str::from_utf8(bytes).map_err(|_| json_error())?;
        json::from_str(text).map_err(|_| json_error())
    }

    pub fn diff_ids(&self) -> Result<Vec<Digest>> {
        let rootfs = self
            .rootfs
            .as_ref()
            .ok_or_else(|| Error::invalid("image config has no rootfs"))?;
        rootfs.diff_ids.iter().map(|d| Digest::parse(d)).collect()
    }

    pub fn run_config(&self) -> RunConfig {
        self.config.clone().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_missing_fields_are_none() {
        let config = ImageConfig::parse(
            br#"{"architecture":"amd64","config":{"Env":["A=1"],"Cmd":null,"ExposedPorts":{"80/tcp":{}}},"rootfs":{"type":"layers","diff_ids":[]}}"#,
        )
        .unwrap();
        let run = config.run_config();
        assert_eq!(run.env, Some(vec!["A=1".to_string()]));
        assert_eq!(run.cmd, None);
        assert_eq!(run.entrypoint, None);
        assert!(config.diff_ids().unwrap().is_empty());
    }

    #[test]
    fn a_bad_diff_id_is_refused() {
        let config = ImageConfig::parse(br#"{"rootfs":{"diff_ids":["md5:00"]}}"#).unwrap();
        assert!(config.diff_ids().is_err());
    }
}
