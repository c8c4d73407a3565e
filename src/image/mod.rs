//! Images in the store: the manifest that lists an image's parts, the config that
//! says how to run it, and the layers that make its root filesystem.
//! <https://github.com/opencontainers/image-spec/blob/main/spec.md>

pub mod config;
pub mod layer;
pub mod store;

use std::path::Path;

use config::ImageConfig;
use layer::Compression;
use store::Store;

use crate::digest::Digest;
use crate::error::{Context, Error, Result};
use crate::registry::manifest::{Descriptor, Manifest};

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

    /// Every blob this image needs: what `rmi` must keep while another tag uses it.
    pub fn blobs(&self, manifest: &Digest) -> Result<Vec<Digest>> {
        let mut blobs = vec![manifest.clone(), self.config_digest.clone()];
        for layer in &self.layers {
            blobs.push(layer.digest()?);
        }
        Ok(blobs)
    }

    /// Unpacks the layers, bottom first, onto `root`, checking each against its diff_id.
    pub fn unpack(&self, store: &Store, root: &Path) -> Result<()> {
        let diff_ids = self.config.diff_ids()?;
        for (n, (layer, diff_id)) in self.layers.iter().zip(&diff_ids).enumerate() {
            let what = || {
                format!(
                    "unpack layer {}/{} {}",
                    n + 1,
                    self.layers.len(),
                    layer.digest
                )
            };
            let compression =
                Compression::for_media_type(layer.media_type.as_deref().unwrap_or(""))
                    .with_context(what)?;
            let blob = store.open_blob(&layer.digest()?)?;
            let unpacked = layer::unpack(blob, compression, root).with_context(what)?;
            diff_id
                .verify("uncompressed layer (diff_id)", &unpacked)
                .with_context(what)?;
        }
        Ok(())
    }

    /// The sum of the compressed layers, as the registry sent them.
    pub fn size(&self) -> u64 {
        self.layers.iter().filter_map(|l| l.size).sum()
    }
}
