//! Manifests: what a registry says an image is made of.
//!
//! A tag resolves either to an *image manifest* (one config blob plus an ordered list of
//! layer blobs) or to an *index* (Docker calls it a manifest list): one image manifest
//! per platform, from which we pick `linux` and the architecture this binary was built for.
//! Docker schema2 and OCI use different media types for the same shapes; schema1 is long
//! dead and refused.
//! <https://github.com/opencontainers/image-spec/blob/main/manifest.md>
//! <https://github.com/opencontainers/image-spec/blob/main/image-index.md>

use miniserde::{json, Deserialize};

use crate::digest::Digest;
use crate::error::{Error, Kind, Result};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Schema1, signed (`+prettyjws`) or not: refused.
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1";

/// Docker's cap on the size of a manifest or config: anything larger is hostile.
pub const MAX_DOCUMENT: u64 = 4 << 20;

/// Every kind we understand, for the `Accept` header.
pub fn accept() -> String {
    [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(", ")
}

/// A pointer to content: its digest, size and what it is.
#[derive(Deserialize, Debug, Clone)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: Option<String>,
    pub digest: String,
    pub size: Option<u64>,
    pub platform: Option<Platform>,
    /// Where else the content may be downloaded from (foreign layers, see `foreign`).
    pub urls: Option<Vec<String>>,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

/// Both shapes at once: miniserde ignores what a document does not have.
#[derive(Deserialize)]
struct Document {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<u32>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    manifests: Option<Vec<Descriptor>>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
}

/// A stored image manifest's own `mediaType` (OCI lets it be left out: an OCI
/// manifest then), which a registry is told when the bytes are pushed or saved.
pub fn media_type(bytes: &[u8]) -> String {
    let doc = std::str::from_utf8(bytes).ok();
    doc.and_then(|text| json::from_str::<Document>(text).ok())
        .and_then(|doc| doc.media_type)
        .unwrap_or_else(|| OCI_MANIFEST.into())
}

pub enum Manifest {
    Index(Vec<Descriptor>),
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

impl Manifest {
    /// `content_type` is the response's header, used when the body does not say.
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Manifest> {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            Error::new(Kind::Json {
                what: "manifest".into(),
            })
        })?;
        let doc: Document = json::from_str(text).map_err(|_| {
            Error::new(Kind::Json {
                what: "manifest".into(),
            })
        })?;
        let media_type = doc.media_type.as_deref().or(content_type).unwrap_or("");
        if doc.schema_version == Some(1) || media_type.starts_with(DOCKER_SCHEMA1) {
            return Err(Error::invalid(
                "Docker schema1 manifests are not supported (the image must be re-pushed)",
            ));
        }
        match (doc.manifests, doc.config, doc.layers) {
            (Some(manifests), None, _) => Ok(Manifest::Index(manifests)),
            (None, Some(config), Some(layers)) => Ok(Manifest::Image { config, layers }),
            _ => Err(Error::invalid(format!(
                "unsupported manifest (media type {media_type:?})"
            ))),
        }
    }
}

impl Descriptor {
    pub fn digest(&self) -> Result<Digest> {
        Digest::parse(&self.digest)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(variant) => write!(f, "/{variant}"),
            None => Ok(()),
        }
    }
}

impl Platform {
    /// `os/arch[/variant]`, as `--platform` takes it.
    pub fn parse(text: &str) -> Result<Platform> {
        let parts: Vec<&str> = text.split('/').collect();
        match parts[..] {
            [os, architecture] | [os, architecture, _]
                if !os.is_empty() && !architecture.is_empty() =>
            {
                Ok(Platform {
                    os: os.into(),
                    architecture: architecture.into(),
                    variant: parts.get(2).map(|v| v.to_string()),
                })
            }
            _ => Err(Error::usage(format!(
                "invalid platform {text:?}: want os/arch[/variant]"
            ))),
        }
    }
}

/// The platform this binary runs on, in OCI's words (Go's GOARCH names).
pub fn host_platform() -> Platform {
    let (architecture, variant) = match std::env::consts::ARCH {
        "x86_64" => ("amd64", None),
        "aarch64" => ("arm64", Some("v8")),
        "arm" => ("arm", Some("v7")),
        "x86" => ("386", None),
        "powerpc64" => ("ppc64le", None),
        other => (other, None),
    };
    Platform {
        os: "linux".into(),
        architecture: architecture.into(),
        variant: variant.map(str::to_string),
    }
}

/// The index entry for `want`. A missing variant matches arm64's implied `v8`.
pub fn pick<'a>(manifests: &'a [Descriptor], want: &Platform) -> Result<&'a Descriptor> {
    let matches = |p: &Platform| {
        p.os == want.os
            && p.architecture == want.architecture
            && (p.variant == want.variant || p.variant.is_none() || want.variant.is_none())
    };
    manifests
        .iter()
        .find(|d| d.platform.as_ref().is_some_and(matches))
        .ok_or_else(|| {
            let offered: Vec<String> = manifests
                .iter()
                .filter_map(|d| d.platform.as_ref().map(Platform::to_string))
                .collect();
            Error::invalid(format!(
                "no image for {want} in the index (it offers: {})",
                offered.join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn index(entries: &[(&str, &str, Option<&str>)]) -> Vec<Descriptor> {
        entries
            .iter()
            .map(|(os, arch, variant)| Descriptor {
                media_type: Some(OCI_MANIFEST.into()),
                digest: D.into(),
                size: Some(1),
                platform: Some(Platform {
                    os: os.to_string(),
                    architecture: arch.to_string(),
                    variant: variant.map(str::to_string),
                }),
                urls: None,
            })
            .collect()
    }

    #[test]
    fn picks_linux_and_our_architecture_not_the_first_entry() {
        let manifests = index(&[("linux", "arm64", Some("v8")), ("linux", "amd64", None)]);
        let amd64 = Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        };
        let picked = pick(&manifests, &amd64).unwrap();
        assert_eq!(picked.platform.as_ref().unwrap().architecture, "amd64");
    }

    #[test]
    fn arm64_without_variant_matches_v8() {
        let manifests = index(&[("unknown", "unknown", None), ("linux", "arm64", None)]);
        let arm64 = Platform {
            os: "linux".into(),
            architecture: "arm64".into(),
            variant: Some("v8".into()),
        };
        assert!(pick(&manifests, &arm64).is_ok());
    }

    #[test]
    fn platform_flags_parse() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!(Platform::parse("linux/amd64").unwrap().variant, None);
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux//v8").is_err());
    }

    #[test]
    fn no_match_lists_what_is_offered() {
        let manifests = index(&[("linux", "s390x", None), ("windows", "amd64", None)]);
        let err = pick(&manifests, &host_platform()).unwrap_err().to_string();
        assert!(
            err.contains("it offers: linux/s390x, windows/amd64"),
            "{err}"
        );
    }

    #[test]
    fn parses_both_shapes_and_refuses_schema1() {
        let image = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"x","digest":"{D}","size":2}},"layers":[{{"mediaType":"y","digest":"{D}","size":3}}]}}"#
        );
        assert!(
            matches!(Manifest::parse(image.as_bytes(), None).unwrap(), Manifest::Image { layers, .. } if layers.len() == 1)
        );
        let list = format!(r#"{{"schemaVersion":2,"manifests":[{{"digest":"{D}","size":1}}]}}"#);
        assert!(
            matches!(Manifest::parse(list.as_bytes(), Some(OCI_INDEX)).unwrap(), Manifest::Index(m) if m.len() == 1)
        );
        let schema1 = r#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#;
        let err = Manifest::parse(schema1.as_bytes(), None)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("schema1"), "{err}");
    }

    #[test]
    fn garbage_is_a_json_error_naming_the_manifest() {
        let err = Manifest::parse(b"<html>", None).err().unwrap();
        assert_eq!(err.to_string(), "malformed JSON in manifest");
    }
}
