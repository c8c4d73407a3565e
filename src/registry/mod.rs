//! Pulling an image: from a reference to verified blobs in the store.
//!
//! 1. Resolve the tag to a manifest; if it is an index, pick our platform's manifest.
//! 2. Fetch the image config (Env, Cmd, Entrypoint, … and the layers' `diff_ids`).
//! 3. Stream each layer blob the store does not have yet from the socket into it,
//!    hashing as it flows (a broken download resumes with a range request, see
//!    `blob`). A blob already present is never downloaded again. A foreign layer the
//!    registry does not serve comes from the URLs its descriptor lists.
//! 4. Unpack each new layer once, into a directory of its own, checking it against
//!    the config's `diff_id`; then tag the image. A failed pull leaves nothing behind.
//!
//! Every byte is checked against the digest it was addressed by, so a registry (or
//! anything between us and it) cannot substitute content.
//! <https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests>

mod auth;
mod blob;
mod client;
pub mod credential_helper;
mod foreign;
mod http;
pub mod manifest;
mod proxy;
pub mod push;
mod tls;
mod transport;

use std::io::Read;

use blob::BlobReader;
use client::Client;
use manifest::{Descriptor, Manifest, Platform};

use crate::digest::Digest;
use crate::error::{Context, Error, Kind, Result};
use crate::image::config::ImageConfig;
use crate::image::layer::{Compression, StoredLayer, Whiteouts};
use crate::image::store::Store;
use crate::image::{stays_blob, Image};
use crate::progress::{Progress, State};
use crate::reference::Reference;

/// `docker login`: checks `user`/`password` against `registry` (a token request with
/// HTTP Basic, then `GET /v2/` with the token), then stores them where Docker would.
pub fn login(registry: &str, user: &str, password: &str) -> Result<()> {
    let credentials = auth::base64(format!("{user}:{password}").as_bytes());
    Client::new(registry, "", Some(credentials))?.ping()?;
    auth::save_credentials(registry, user, password)
}

/// `docker logout`: forgets the stored credentials; false if there were none.
pub fn logout(registry: &str) -> Result<bool> {
    auth::forget_credentials(registry)
}

/// What a pull did: the (platform) image manifest's digest, and whether the tag
/// points to another image than before; and the image, as read back from the store.
pub struct Pulled {
    pub digest: Digest,
    pub newer: bool,
    pub image: Image,
}

impl Pulled {
    /// `docker pull`'s closing lines.
    pub fn summary(&self, reference: &Reference) -> String {
        let status = match self.newer {
            true => "Downloaded newer image for",
            false => "Image is up to date for",
        };
        format!("Digest: {}\nStatus: {status} {reference}", self.digest)
    }
}

/// Pulls `reference` for `platform` into `store` and tags it there.
pub fn pull(
    reference: &Reference,
    platform: &Platform,
    store: &Store,
    progress: &mut Progress,
) -> Result<Pulled> {
    // Nothing of a failed pull may stay, and nothing else may go.
    store.all_or_nothing(|| pull_into(reference, platform, store, progress))
}

fn pull_into(
    reference: &Reference,
    platform: &Platform,
    store: &Store,
    progress: &mut Progress,
) -> Result<Pulled> {
    let (selector, repository) = (reference.selector(), &reference.repository);
    progress.say(&format!("{selector}: Pulling from {repository}"));
    let mut client = Client::connect(reference)?;
    let (digest, bytes) = resolve(&mut client, reference, platform).context("fetch manifest")?;
    let Manifest::Image { config, layers } = Manifest::parse(&bytes, None)? else {
        return Err(Error::invalid("an index may not point to another index"));
    };
    let diff_ids = fetch_config(&mut client, store, &config, layers.len())?;
    progress.layers(&layer_lines(store, &layers)?);
    if writes_layers(store, &layers, &diff_ids)? {
        store.settle()?; // what earlier pulls wrote; a pull that writes nothing waits for nothing
    }
    let mut unpacking = true; // until the kernel here refuses overlayfs's markers
    for (n, (layer, diff_id)) in layers.iter().zip(&diff_ids).enumerate() {
        let unpack_as = (unpacking && !store.has_layer(diff_id)).then_some(diff_id);
        let row = Row {
            n,
            of: layers.len(),
        };
        unpacking &= fetch_layer(&mut client, store, layer, unpack_as, progress, row)?;
    }
    store.put_blob(&digest, &bytes[..])?;
    let image = Image::load(store, &digest)?;
    if unpacking {
        // Layers whose blobs were here already, but not unpacked.
        image.unpack_layers(store, |n| progress.extracting(n))?;
    }
    progress.finish();
    let before = store.resolve(&reference.to_string())?;
    store.tag(&reference.to_string(), &digest)?;
    Ok(Pulled {
        newer: before.as_ref() != Some(&digest),
        digest,
        image,
    })
}

/// Each layer's short id (as `docker pull` shows it) and whether the store has it.
fn layer_lines(store: &Store, layers: &[Descriptor]) -> Result<Vec<(String, bool)>> {
    layers
        .iter()
        .map(|layer| {
            let digest = layer.digest()?; // only a checked digest reaches the terminal
            Ok((digest.hex()[..12].to_string(), store.has_blob(&digest)))
        })
        .collect()
}
/// Whether the pull will download or unpack any layer.
fn writes_layers(store: &Store, layers: &[Descriptor], diff_ids: &[Digest]) -> Result<bool> {
    for (layer, diff_id) in layers.iter().zip(diff_ids) {
        if !store.has_blob(&layer.digest()?) || !store.has_layer(diff_id) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Tag → (digest, bytes) of our platform's image manifest, through an index if need be.
fn resolve(
    client: &mut Client,
    reference: &Reference,
    platform: &Platform,
) -> Result<(Digest, Vec<u8>)> {
    let pinned = reference.digest.clone();
    let (mut digest, mut bytes) = fetch_manifest(client, &reference.selector(), pinned.as_ref())?;
    if let Manifest::Index(entries) = Manifest::parse(&bytes, None)? {
        let chosen = manifest::pick(&entries, platform)?;
        digest = chosen.digest()?;
        (digest, bytes) = fetch_manifest(client, &digest.to_string(), Some(&digest))?;
    }
    Ok((digest, bytes))
}

/// Fetches and verifies a manifest: against the digest we asked for when we asked by
/// digest, else against the `Docker-Content-Digest` the registry vouches for.
fn fetch_manifest(
    client: &mut Client,
    selector: &str,
    pinned: Option<&Digest>,
) -> Result<(Digest, Vec<u8>)> {
    let doc = client.manifest(selector)?;
    let actual = Digest::of(&doc.bytes);
    let vouched = doc
        .digest_header
        .as_deref()
        .map(Digest::parse)
        .transpose()?;
    if let Some(expected) = pinned.or(vouched.as_ref()) {
        expected.verify("manifest", &actual)?;
    }
    // Parse once here so a bad document fails before anything is stored.
    Manifest::parse(&doc.bytes, doc.content_type.as_deref())?;
    Ok((actual, doc.bytes))
}

/// Fetches the image config (unless the store has it) and returns its diff_ids.
fn fetch_config(
    client: &mut Client,
    store: &Store,
    config: &Descriptor,
    layers: usize,
) -> Result<Vec<Digest>> {
    let digest = config.digest()?;
    let bytes = match store.has_blob(&digest) {
        true => store.read_blob(&digest)?,
        false => client
            .small_blob(&digest)
            .with_context(|| format!("fetch config {digest}"))?,
    };
    let diff_ids = ImageConfig::parse(&bytes)?.diff_ids()?;
    if diff_ids.len() != layers {
        return Err(Error::invalid(format!(
            "manifest lists {layers} layers but the config {}",
            diff_ids.len()
        )));
    }
    store.put_blob(&digest, &bytes[..])?;
    Ok(diff_ids)
}

/// Which layer of how many, for the progress display and for errors.
#[derive(Clone, Copy)]
struct Row {
    n: usize,
    of: usize,
}

/// Downloads a layer blob the store lacks and, when `unpack_as` gives its diff_id,
/// unpacks it in the same pass: socket → SHA-256 → blob file → inflate → tar → layer
/// directory, as the bytes arrive. Neither is visible in the store until both are
/// checked (see `Store::put_layer` and `Incoming::commit`). Returns false when the
/// layer must stay a blob here (`image::stays_blob`).
fn fetch_layer(
    client: &mut Client,
    store: &Store,
    layer: &Descriptor,
    unpack_as: Option<&Digest>,
    progress: &mut Progress,
    row: Row,
) -> Result<bool> {
    let digest = layer.digest()?;
    let what = format!("layer {}/{} {digest}", row.n + 1, row.of);
    let size = layer
        .size
        .ok_or_else(|| Error::invalid("layer descriptor without a size"))
        .context(&what)?;
    if store.has_blob(&digest) {
        let stored = store.blob_size(&digest)?;
        if stored != size {
            return Err(Error::invalid(format!(
                "the manifest says {size} bytes, but this blob is {stored}"
            ))
            .context(what));
        }
        return Ok(true);
    }
    let media_type = layer.media_type.as_deref().unwrap_or("");
    let compression = Compression::for_media_type(media_type).context(&what)?;
    progress.downloading(row.n, size);
    let body = open_layer(client, layer, &digest).context(&what)?;
    let metered = Metered {
        inner: body,
        progress: &mut *progress,
        row: row.n,
        done: 0,
    };
    let mut blob = store.incoming(Box::new(ExactSize::new(metered, size)))?;
    let mut unpacked = true;
    if let Some(diff_id) = unpack_as {
        let stored = StoredLayer {
            blob: store.blob_path(&digest),
            compression,
            diff_id: diff_id.clone(),
        };
        let result = store.put_layer(diff_id, |dir| {
            let unpacking = stored.unpack_from(&mut blob, dir, Whiteouts::Overlay);
            // A broken or corrupt download explains whatever unpacking made of it,
            // so the blob's own checks speak first.
            blob.verify(Some(&digest)).context(&what)?;
            unpacking.with_context(|| format!("unpack layer {}/{} {diff_id}", row.n + 1, row.of))
        });
        match result {
            Err(err) if stays_blob(&err) => unpacked = false,
            result => result?,
        }
    }
    blob.commit(Some(&digest)).context(&what)?;
    progress.set(row.n, State::Downloaded);
    Ok(unpacked)
}

/// The layer's bytes: from the registry, or, for a foreign layer the registry does not
/// hold, from the URLs its descriptor lists.
fn open_layer<'c>(
    client: &'c mut Client,
    layer: &Descriptor,
    digest: &Digest,
) -> Result<Box<dyn Read + 'c>> {
    match BlobReader::open(client, digest) {
        Err(err) if is_missing(&err) && foreign::applies(layer) => {
            Ok(Box::new(foreign::open(layer)?))
        }
        body => Ok(Box::new(body?)),
    }
}

fn is_missing(err: &Error) -> bool {
    matches!(err.kind(), Kind::Http { status: 404, .. })
}

/// Tells the progress display about each layer's bytes as they arrive.
struct Metered<'p, R> {
    inner: R,
    progress: &'p mut Progress,
    row: usize,
    done: u64,
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        self.progress.downloaded(self.row, self.done);
        Ok(n)
    }
}

/// A blob must be exactly as long as its descriptor says. This reader fails as soon as
/// one byte too many arrives (a registry cannot fill the disk) or the stream ends
/// short, so the error says what is wrong rather than "digest mismatch".
struct ExactSize<R> {
    inner: R,
    expected: u64,
    seen: u64,
}

impl<R: Read> ExactSize<R> {
    fn new(inner: R, expected: u64) -> Self {
        ExactSize {
            inner,
            expected,
            seen: 0,
        }
    }
}

impl<R: Read> Read for ExactSize<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = (self.expected - self.seen).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.seen += n as u64;
        let problem = match n {
            _ if self.seen > self.expected => format!(
                "the blob is larger than the {} bytes its descriptor says",
                self.expected
            ),
            0 if want > 0 && self.seen < self.expected => format!(
                "the blob ends after {} of its {} bytes",
                self.seen, self.expected
            ),
            _ => return Ok(n),
        };
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            problem,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(data: &[u8], expected: u64) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        ExactSize::new(data, expected).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn exact_size_passes_a_blob_of_the_promised_length() {
        assert_eq!(read_all(b"abcd", 4).unwrap(), b"abcd");
        assert_eq!(read_all(b"", 0).unwrap(), b"");
    }

    #[test]
    fn exact_size_refuses_longer_and_shorter_blobs() {
        let long = read_all(b"abcde", 4).unwrap_err().to_string();
        assert_eq!(
            long,
            "the blob is larger than the 4 bytes its descriptor says"
        );
        let short = read_all(b"abc", 4).unwrap_err().to_string();
        assert_eq!(short, "the blob ends after 3 of its 4 bytes");
    }
}
