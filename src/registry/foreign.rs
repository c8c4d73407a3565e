//! Foreign layers: layers a registry lists but does not serve.
//!
//! Some layers may not be redistributed (Windows base images, licensed software), so
//! the manifest names them with a media type of their own, Docker's
//! `application/vnd.docker.image.rootfs.foreign.diff.tar.gzip` or OCI's
//! `application/vnd.oci.image.layer.nondistributable.v1.tar(+gzip)`, and their
//! descriptor's `urls` say where the owner serves them. A registry may hold the blob
//! anyway (Docker's `allow-nondistributable-artifacts`); only when it answers 404 do we
//! go to those URLs, in order.
//!
//! The URLs come from the manifest, so they are as hostile as the rest of it: only
//! `http` and `https` are followed, the registry's `Authorization` never goes with them
//! (they belong to someone else), and the bytes are checked against the descriptor's
//! digest and size exactly like a blob from the registry.
//! <https://github.com/opencontainers/image-spec/blob/main/descriptor.md#properties>
//! <https://github.com/opencontainers/image-spec/blob/main/layer.md#non-distributable-layers>

use std::io::Read;

use super::manifest::Descriptor;
use super::transport;
use crate::error::{Error, Kind, Result};

const FOREIGN_TYPES: &[&str] = &[
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
];

/// Redirects from a layer's own URL (a download page sending us to a CDN) are fine to
/// follow: nothing secret goes with these requests.
const MAX_REDIRECTS: u32 = 5;

/// Whether a layer the registry does not have may come from elsewhere.
pub fn applies(layer: &Descriptor) -> bool {
    let foreign_type = FOREIGN_TYPES.contains(&layer.media_type.as_deref().unwrap_or(""));
    foreign_type || layer.urls.as_ref().is_some_and(|urls| !urls.is_empty())
}

/// The layer's bytes from the first of its URLs that answers 200.
pub fn open(layer: &Descriptor) -> Result<impl Read> {
    let agent = transport::Agent::from_env()?;
    let mut failure = None;
    for url in usable_urls(layer)? {
        let request = agent
            .for_url(url)?
            .get(url)
            .header("Accept", "*/*")
            .config()
            .max_redirects(MAX_REDIRECTS)
            .build();
        let error = match request.call() {
            Ok(response) if response.status() == 200 => {
                return Ok(response.into_body().into_reader())
            }
            Ok(response) => Kind::Http {
                url: url.to_string(),
                status: response.status().as_u16(),
                detail: String::new(),
            },
            Err(e) => Kind::Net {
                url: url.to_string(),
                cause: e.to_string(),
            },
        };
        failure = Some(Error::new(error));
    }
    let failure = failure.unwrap_or_else(|| Error::invalid("no URL answered"));
    Err(failure.context("fetch foreign layer"))
}

/// The descriptor's `http` and `https` URLs; an error saying what a foreign layer is
/// when there are none.
fn usable_urls(layer: &Descriptor) -> Result<Vec<&str>> {
    let urls: Vec<&str> = layer
        .urls
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
        .collect();
    if urls.is_empty() {
        return Err(Error::invalid(format!(
            "foreign layer ({}): the registry does not serve it, and its descriptor lists no \
             http(s) URL to fetch it from",
            layer.media_type.as_deref().unwrap_or("no media type")
        )));
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(media_type: &str, urls: &[&str]) -> Descriptor {
        Descriptor {
            media_type: Some(media_type.into()),
            digest: format!("sha256:{}", "a".repeat(64)),
            size: Some(1),
            platform: None,
            urls: (!urls.is_empty()).then(|| urls.iter().map(|u| u.to_string()).collect()),
        }
    }

    #[test]
    fn only_http_and_https_urls_are_followed() {
        let l = layer(
            FOREIGN_TYPES[0],
            &[
                "file:///etc/shadow",
                "https://a/x",
                "ftp://b/y",
                "http://c/z",
            ],
        );
        assert_eq!(usable_urls(&l).unwrap(), ["https://a/x", "http://c/z"]);
    }

    #[test]
    fn a_foreign_layer_without_urls_says_what_it_is() {
        let l = layer(FOREIGN_TYPES[0], &["file:///x"]);
        assert_eq!(
            usable_urls(&l).unwrap_err().to_string(),
            "foreign layer (application/vnd.docker.image.rootfs.foreign.diff.tar.gzip): the \
             registry does not serve it, and its descriptor lists no http(s) URL to fetch it from"
        );
    }

    #[test]
    fn foreign_types_and_urls_both_allow_the_fallback() {
        assert!(applies(&layer(FOREIGN_TYPES[3], &[])));
        assert!(applies(&layer(
            "application/vnd.oci.image.layer.v1.tar+gzip",
            &["https://a/x"]
        )));
        assert!(!applies(&layer(
            "application/vnd.oci.image.layer.v1.tar+gzip",
            &[]
        )));
    }
}
