//! Images in the store: the manifest that lists an image's parts, the config that
//! says how to run it, and the layers that make its root filesystem.
//! <https://github.com/opencontainers/image-spec/blob/main/spec.md>

pub mod archive;
pub mod changes;
pub mod commit;
pub mod config;
pub mod layer;
pub mod store;

use config::ImageConfig;
use layer::{Compression, StoredLayer, Whiteouts};
use store::{Layer, Store};

use crate::digest::Digest;
use crate::error::{Context, Error, Result};
use crate::registry::manifest::{Descriptor, Manifest};
use crate::trace;

/// Layers unpacked in the store: one directory, and the names in it, bottom first.
pub struct LayerDirs {
    pub dir: std::path::PathBuf,
    pub names: Vec<String>,
}

impl LayerDirs {
    /// A plain directory as the only layer (an OCI bundle's root, `run --rootfs`):
    /// overlayfs never writes to a lower layer, so the directory stays as it is. `/`
    /// is refused: the host's root would be its own container's lower layer.
    pub fn of_directory(root: &std::path::Path) -> Result<LayerDirs> {
        let root = std::fs::canonicalize(root).with_context(|| root.display().to_string())?;
        if !root.is_dir() {
            return Err(Error::invalid(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        let (Some(parent), Some(name)) = (root.parent(), root.file_name()) else {
            return Err(Error::invalid("the host's / cannot be a container's root"));
        };
        Ok(LayerDirs {
            dir: parent.to_path_buf(),
            names: vec![name.to_string_lossy().into()],
        })
    }
}

/// Deletes every blob and layer that neither a tagged image nor one of the `in_use`
/// manifests needs (after `rmi`). Which images containers use is the caller's to say:
/// images know nothing of containers.
pub fn collect_garbage(store: &Store, in_use: &[Digest]) -> Result<store::Removed> {
    let tagged = store.references()?.into_iter().map(|(_, m)| m);
    let mut keep = Vec::new();
    for manifest in tagged.chain(in_use.iter().cloned()) {
        if let Ok(image) = Image::load(store, &manifest) {
            keep.extend(image.parts(&manifest)?);
        }
    }
    store.remove_all_except(&keep)
}

/// Whether unpacking failed because the kernel will not keep overlayfs's whiteout
/// markers here (no `CAP_MKNOD`, no trusted xattrs): then the layers stay blobs, and
/// each container gets a copy of them instead (see [`Image::unpack_layers`]).
pub fn stays_blob(err: &Error) -> bool {
    let here = matches!(err.errno(), Some(libc::EPERM | libc::ENOTSUP));
    if here {
        trace::step(&format!("layers stay blobs here ({err})"));
    }
    here
}

/// A pulled image, read back from the store.
pub struct Image {
    pub config: ImageConfig,
    pub config_digest: Digest,
    pub layers: Vec<Descriptor>,
}

impl Image {
    pub fn load(store: &Store, manifest: &Digest) -> Result<Image> {
        let bytes = store.read_blob(manifest)?;
        let Manifest::Image { config, layers } = Manifest::parse(&bytes, None)? else {
            return Err(Error::invalid(format!(
                "{manifest} is not an image manifest"
            )));
        };
        let config_digest = config.digest()?;
        let config = ImageConfig::parse(&store.read_blob(&config_digest)?)?;
        Ok(Image {
            config,
            config_digest,
            layers,
        })
    }

    /// Everything in the store this image needs (blobs, and layers by diff_id): what
    /// `rmi` must keep while another tag uses it.
    pub fn parts(&self, manifest: &Digest) -> Result<Vec<Digest>> {
        let mut parts = self.blobs(manifest)?;
        parts.extend(self.config.diff_ids()?);
        Ok(parts)
    }

    /// The image's blobs: manifest, config and layers.
    pub fn blobs(&self, manifest: &Digest) -> Result<Vec<Digest>> {
        let mut blobs = vec![manifest.clone(), self.config_digest.clone()];
        for layer in &self.layers {
            blobs.push(layer.digest()?);
        }
        Ok(blobs)
    }

    /// The layers, bottom first, as blobs in the store with the diff_ids they must give.
    pub fn stored_layers(&self, store: &Store) -> Result<Vec<StoredLayer>> {
        let diff_ids = self.config.diff_ids()?;
        if diff_ids.len() != self.layers.len() {
            return Err(Error::invalid(format!(
                "manifest lists {} layers but the config {}",
                self.layers.len(),
                diff_ids.len()
            )));
        }
        self.layers
            .iter()
            .zip(diff_ids)
            .map(|(layer, diff_id)| {
                let media_type = layer.media_type.as_deref().unwrap_or("");
                Ok(StoredLayer {
                    blob: store.blob_path(&layer.digest()?),
                    compression: Compression::for_media_type(media_type)?,
                    diff_id,
                })
            })
            .collect()
    }

    /// Unpacks each layer not yet in the store into a directory of its own, once, so
    /// containers can stack them with overlayfs. Where the kernel will not keep
    /// overlayfs's whiteout markers (no `CAP_MKNOD`, no trusted xattrs: inside some
    /// containers), the layers stay blobs, and each container gets a copy instead.
    /// `unpacking(n)` hears of each layer (0 is the bottom one) as its unpacking begins.
    pub fn unpack_layers(&self, store: &Store, mut unpacking: impl FnMut(usize)) -> Result<()> {
        for (n, layer) in self.stored_layers(store)?.iter().enumerate() {
            if store.has_layer(&layer.diff_id) {
                continue;
            }
            unpacking(n);
            let what = || {
                format!(
                    "unpack layer {}/{} {}",
                    n + 1,
                    self.layers.len(),
                    layer.diff_id
                )
            };
            match store.put_layer(&layer.diff_id, |dir| layer.unpack(dir, Whiteouts::Overlay)) {
                Err(err) if stays_blob(&err) => return Ok(()),
                result => result.with_context(what)?,
            }
        }
        Ok(())
    }

    /// The unpacked layers for overlayfs, if every one of them is in the store. One
    /// written in an earlier boot and never synced is unpacked again first.
    pub fn layer_dirs(&self, store: &Store) -> Result<Option<LayerDirs>> {
        let diff_ids = self.config.diff_ids()?;
        let held =
            |store: &Store| -> Vec<Layer> { diff_ids.iter().map(|d| store.layer(d)).collect() };
        let mut layers = held(store);
        if layers.contains(&Layer::Stale) {
            self.unpack_layers(store, |_| {})?;
            layers = held(store);
        }
        let complete = layers.iter().all(|l| *l == Layer::Trusted);
        let names = diff_ids.iter().map(|d| d.hex().to_string()).collect();
        let dir = store.layers_dir();
        Ok(complete.then_some(LayerDirs { dir, names }))
    }

    /// The sum of the compressed layers, as the registry sent them.
    pub fn size(&self) -> u64 {
        self.layers.iter().filter_map(|l| l.size).sum()
    }
}
