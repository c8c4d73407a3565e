//! Pulling an image: from a reference to unpacked layers on disk.
//!
//! 1. Resolve the tag to a manifest; if it is an index, pick our platform's manifest.
//! 2. Fetch the image config (Env, Cmd, Entrypoint, … and the layers' `diff_ids`).
//! 3. Stream each layer from the socket through gzip and tar onto the root directory,
//!    hashing as it flows: the compressed bytes must match the layer's digest, the
//!    uncompressed ones the config's `diff_id`. Nothing is buffered whole.
//!
//! Every byte is checked against the digest it was addressed by, so a registry (or
//! anything between us and it) cannot substitute content.
//! <https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests>

mod auth;
mod client;
pub mod manifest;

use std::path::Path;

use client::Client;
use manifest::{Descriptor, Manifest};

use crate::digest::{Digest, Hashing};
use crate::error::{Context, Error, Result};
use crate::image::config::ImageConfig;
use crate::image::layer::{self, Compression};
use crate::progress::Progress;
use crate::reference::Reference;

/// Pulls `reference` for this machine's platform and unpacks its layers, in order,
/// onto `root`. Returns the image's config.
pub fn pull(reference: &Reference, root: &Path, progress: &Progress) -> Result<ImageConfig> {
    progress.say(&format!("pulling {reference}"));
    let mut client = Client::connect(reference)?;
    let (config, layers) = resolve(&mut client, reference).context("fetch manifest")?;
    let config_digest = config.digest()?;
    let config_bytes = client
        .small_blob(&config_digest)
        .with_context(|| format!("fetch config {config_digest}"))?;
    let image = ImageConfig::parse(&config_bytes)?;
    let diff_ids = image.diff_ids()?;
    if diff_ids.len() != layers.len() {
        return Err(Error::invalid(format!(
            "manifest lists {} layers but the config {}",
            layers.len(),
            diff_ids.len()
        )));
    }
    for (n, (layer, diff_id)) in layers.iter().zip(&diff_ids).enumerate() {
        let what = format!("layer {}/{} {}", n + 1, layers.len(), layer.digest);
        fetch_layer(&mut client, layer, diff_id, root, progress).context(what)?;
    }
    Ok(image)
}

/// Tag → (config descriptor, layer descriptors), through an index when there is one.
fn resolve(client: &mut Client, reference: &Reference) -> Result<(Descriptor, Vec<Descriptor>)> {
    let pinned = reference.digest.clone();
    let mut manifest = fetch_manifest(client, &reference.selector(), pinned.as_ref())?;
    if let Manifest::Index(entries) = &manifest {
        let chosen = manifest::pick(entries, &manifest::host_platform())?;
        let digest = chosen.digest()?;
        manifest = fetch_manifest(client, &digest.to_string(), Some(&digest))?;
    }
    match manifest {
        Manifest::Image { config, layers } => Ok((config, layers)),
        Manifest::Index(_) => Err(Error::invalid("an index may not point to another index")),
    }
}

/// Fetches and verifies a manifest: against the digest we asked for when we asked by
/// digest, else against the `Docker-Content-Digest` the registry vouches for.
fn fetch_manifest(
    client: &mut Client,
    selector: &str,
    pinned: Option<&Digest>,
) -> Result<Manifest> {
    let doc = client.manifest(selector)?;
    let vouched = doc
        .digest_header
        .as_deref()
        .map(Digest::parse)
        .transpose()?;
    if let Some(expected) = pinned.or(vouched.as_ref()) {
        expected.verify("manifest", &Digest::of(&doc.bytes))?;
    }
    Manifest::parse(&doc.bytes, doc.content_type.as_deref())
}

fn fetch_layer(
    client: &mut Client,
    layer: &Descriptor,
    diff_id: &Digest,
    root: &Path,
    progress: &Progress,
) -> Result<()> {
    let compression = Compression::for_media_type(layer.media_type.as_deref().unwrap_or(""))?;
    let digest = layer.digest()?;
    let mut blob = Hashing::new(client.blob(&digest)?);
    let unpacked = layer::unpack(&mut blob, compression, root)?;
    let (actual, size) = blob.finish()?;
    digest.verify("layer blob", &actual)?;
    if layer.size.is_some_and(|expected| expected != size) {
        return Err(Error::invalid(format!(
            "layer blob is {size} bytes, not {:?}",
            layer.size
        )));
    }
    diff_id.verify("uncompressed layer (diff_id)", &unpacked)?;
    progress.say(&format!(
        "{}: {} bytes, verified",
        &digest.hex()[..12],
        size
    ));
    Ok(())
}
