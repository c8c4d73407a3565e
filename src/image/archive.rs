//! Images as files: `docker save`'s archive, both ways, and plain rootfs tarballs.
//!
//! Docker 25+ saves an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`)
//! plus the `manifest.json` (`[{Config, RepoTags, Layers}]`) that older Docker wrote
//! alone, beside `<id>/layer.tar` files. skiff saves the first, with the manifests'
//! bytes untouched so every digest survives a round trip, and loads either. An
//! archive is as hostile as a registry: entry names are checked, links are followed
//! only inside the archive, and every blob is verified or named by its own digest.
//! <https://github.com/opencontainers/image-spec/blob/main/image-layout.md>

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};

use miniserde::{json, Deserialize, Serialize};
use skiff_inflate::{Gunzip, Input};

use super::store::Store;
use super::Image;
use crate::digest::Digest;
use crate::error::{Context, Error, Kind, Result};
use crate::reference::Reference;
use crate::registry::manifest::{self, Manifest, MAX_DOCUMENT};
use crate::time;

const IMAGE_NAME: &str = "io.containerd.image.name";
const REF_NAME: &str = "org.opencontainers.image.ref.name";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(super) const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub(super) const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

#[derive(Serialize, Deserialize)]
pub(super) struct Descriptor {
    #[serde(rename = "mediaType")]
    pub(super) media_type: String,
    pub(super) digest: String,
    pub(super) size: u64,
}

#[derive(Serialize, Deserialize)]
struct IndexEntry {
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    digest: String,
    size: u64,
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Serialize, Deserialize)]
struct Index {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    manifests: Vec<IndexEntry>,
}

#[derive(Serialize)]
struct OciManifest {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: String,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// One image in `manifest.json`.
#[derive(Serialize, Deserialize)]
struct Legacy {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags")]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// Writes `images` (reference, manifest digest) as one archive to `out`.
pub fn save(store: &Store, images: &[(Reference, Digest)], out: &mut dyn Write) -> Result<()> {
    let mut tar = tar::Builder::new(out);
    append(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let (mut written, mut index, mut legacy) = (BTreeSet::new(), Vec::new(), Vec::new());
    for (reference, manifest) in images {
        let image = Image::load(store, manifest)?;
        for blob in image.blobs(manifest)? {
            if written.insert(blob.clone()) {
                let path = store.blob_path(&blob);
                let mut file =
                    File::open(&path).with_context(|| format!("open {}", path.display()))?;
                let mut header = header(file.metadata()?.len());
                tar.append_data(&mut header, blob_name(&blob), &mut file)?;
            }
        }
        let bytes = store.read_blob(manifest)?;
        let media_type = manifest::media_type(&bytes);
        let mut annotations = BTreeMap::new();
        annotations.insert(IMAGE_NAME.to_string(), reference.to_string());
        annotations.insert(REF_NAME.to_string(), reference.selector());
        index.push(IndexEntry {
            media_type: Some(media_type),
            digest: manifest.to_string(),
            size: bytes.len() as u64,
            annotations: Some(annotations),
        });
        legacy.push(Legacy {
            config: blob_name(&image.config_digest),
            repo_tags: Some(vec![reference.to_string()]),
            layers: image
                .layers
                .iter()
                .map(|l| Ok(blob_name(&l.digest()?)))
                .collect::<Result<_>>()?,
        });
    }
    let index = Index {
        schema_version: 2,
        manifests: index,
    };
    append(&mut tar, "index.json", json::to_string(&index).as_bytes())?;
    append(
        &mut tar,
        "manifest.json",
        json::to_string(&legacy).as_bytes(),
    )?;
    tar.into_inner()?.flush()?;
    Ok(())
}

fn blob_name(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

fn header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header
}

fn append(tar: &mut tar::Builder<&mut dyn Write>, name: &str, bytes: &[u8]) -> Result<()> {
    let mut header = header(bytes.len() as u64);
    tar.append_data(&mut header, name, bytes)?;
    Ok(())
}

/// Reads an archive from `input` into the store; returns the references it tagged.
pub fn load(store: &Store, input: &mut dyn Read) -> Result<Vec<String>> {
    let scratch = store.scratch("load")?;
    let archive = Extracted::from(input, scratch.path())?;
    let loaded = match archive.exists("index.json") {
        true => load_layout(store, &archive)?,
        false => load_legacy(store, &archive)?,
    };
    scratch.remove()?;
    Ok(loaded)
}

fn load_layout(store: &Store, archive: &Extracted) -> Result<Vec<String>> {
    let index: Index = parse(&archive.read_small("index.json")?, "index.json")?;
    let mut loaded = Vec::new();
    for entry in &index.manifests {
        let digest = Digest::parse(&entry.digest)?;
        let manifest = load_manifest(store, archive, &digest)?;
        let annotations = entry.annotations.clone().unwrap_or_default();
        if let Some(name) = annotations.get(IMAGE_NAME) {
            loaded.push(tag(store, name, &manifest)?);
        }
    }
    Ok(loaded)
}

/// Copies a manifest and everything it names into the store, through an index to our
/// platform's manifest if need be; returns the image manifest's digest.
fn load_manifest(store: &Store, archive: &Extracted, digest: &Digest) -> Result<Digest> {
    let bytes = archive.read_small(&blob_name(digest))?;
    digest.verify("manifest", &Digest::of(&bytes))?;
    let (config, layers) = match Manifest::parse(&bytes, None)? {
        Manifest::Index(entries) => {
            let chosen = manifest::pick(&entries, &manifest::host_platform())?;
            return load_manifest(store, archive, &chosen.digest()?);
        }
        Manifest::Image { config, layers } => (config, layers),
    };
    for blob in std::iter::once(&config).chain(&layers) {
        let blob = blob.digest()?;
        store.put_blob(&blob, archive.open(&blob_name(&blob))?)?;
    }
    store.put_blob(digest, &bytes[..])?;
    Ok(digest.clone())
}

fn load_legacy(store: &Store, archive: &Extracted) -> Result<Vec<String>> {
    let images: Vec<Legacy> = parse(&archive.read_small("manifest.json")?, "manifest.json")?;
    let mut loaded = Vec::new();
    for image in images {
        let config = archive.read_small(&image.config)?;
        let (config_digest, config_size) = store.add_blob(&config[..])?;
        let layers = image
            .layers
            .iter()
            .map(|path| add_layer(store, archive, path))
            .collect::<Result<Vec<_>>>()?;
        let manifest = store_manifest(store, config_digest, config_size, layers)?;
        for name in image.repo_tags.unwrap_or_default() {
            loaded.push(tag(store, &name, &manifest)?);
        }
    }
    Ok(loaded)
}

/// A layer file of an old archive: a plain or gzipped tar, named by its own digest.
fn add_layer(store: &Store, archive: &Extracted, path: &str) -> Result<Descriptor> {
    let mut file = BufReader::new(archive.open(path)?);
    let gzipped = file.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let (digest, size) = store.add_blob(file)?;
    Ok(Descriptor {
        media_type: (if gzipped { OCI_LAYER_GZIP } else { OCI_LAYER }).into(),
        digest: digest.to_string(),
        size,
    })
}

/// Writes an OCI manifest for a config and layers already in the store.
pub(super) fn store_manifest(
    store: &Store,
    config: Digest,
    size: u64,
    layers: Vec<Descriptor>,
) -> Result<Digest> {
    let manifest = OciManifest {
        schema_version: 2,
        media_type: manifest::OCI_MANIFEST.into(),
        config: Descriptor {
            media_type: OCI_CONFIG.into(),
            digest: config.to_string(),
            size,
        },
        layers,
    };
    store
        .add_blob(json::to_string(&manifest).as_bytes())
        .map(|(digest, _)| digest)
}

pub(super) fn tag(store: &Store, name: &str, manifest: &Digest) -> Result<String> {
    Image::load(store, manifest)?.unpack_layers(store, |_| {})?;
    let reference = Reference::parse(name)?.to_string();
    store.tag(&reference, manifest)?;
    Ok(reference)
}

/// `skiff import`: a root filesystem tarball (plain or gzipped) becomes a one-layer image.
pub fn import(store: &Store, input: &mut dyn Read, reference: &Reference) -> Result<Digest> {
    let mut input = Input::new(input);
    let gzipped = input.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let (diff_id, size) = match gzipped {
        true => store.add_blob(Gunzip::new(input)?)?,
        false => store.add_blob(input)?,
    };
    let platform = manifest::host_platform();
    let config = format!(
        r#"{{"architecture":{},"os":"linux","created":"{}","config":{{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}},"history":[{{"created_by":"skiff import"}}]}}"#,
        json::to_string(&platform.architecture),
        time::format_rfc3339(time::now())
    );
    let (config_digest, config_size) = store.add_blob(config.as_bytes())?;
    let layer = Descriptor {
        media_type: OCI_LAYER.into(),
        digest: diff_id.to_string(),
        size,
    };
    let manifest = store_manifest(store, config_digest, config_size, vec![layer])?;
    tag(store, &reference.to_string(), &manifest)?;
    Ok(manifest)
}

fn parse<T: miniserde::Deserialize>(bytes: &[u8], what: &str) -> Result<T> {
    let json_error = || Error::new(Kind::Json { what: what.into() });
    json::from_str(std::str::from_utf8(bytes).map_err(|_| json_error())?).map_err(|_| json_error())
}

/// An archive's regular files under a scratch directory, and its symlinks as names:
/// only plain names are accepted, and links are resolved by hand, inside the archive.
struct Extracted<'a> {
    dir: &'a Path,
    links: HashMap<PathBuf, PathBuf>,
}

impl<'a> Extracted<'a> {
    fn from(input: &mut dyn Read, dir: &'a Path) -> Result<Extracted<'a>> {
        let mut archive = tar::Archive::new(input);
        let mut links = HashMap::new();
        for entry in archive.entries().context("read archive")? {
            let mut entry = entry.context("read archive")?;
            let name = plain_name(&entry.path()?)?;
            match entry.header().entry_type() {
                tar::EntryType::Regular => {
                    let path = dir.join(&name);
                    fs::create_dir_all(path.parent().unwrap_or(dir))?;
                    let mut file = fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&path)
                        .with_context(|| format!("archive entry {}", name.display()))?;
                    io::copy(&mut entry, &mut file)?;
                }
                tar::EntryType::Symlink => {
                    let target = entry
                        .link_name()?
                        .ok_or_else(|| Error::invalid("link without a target"))?;
                    links.insert(name, target.into_owned());
                }
                _ => {}
            }
        }
        Ok(Extracted { dir, links })
    }

    fn exists(&self, name: &str) -> bool {
        self.resolve(name).is_ok()
    }

    /// The file an archive name refers to, following the archive's own links.
    fn resolve(&self, name: &str) -> Result<PathBuf> {
        let mut name = plain_name(Path::new(name))?;
        for _ in 0..8 {
            if self.dir.join(&name).is_file() {
                return Ok(self.dir.join(name));
            }
            let Some(target) = self.links.get(&name) else {
                break;
            };
            let base = name.parent().unwrap_or(Path::new("")).join(target);
            name = plain_name(&normalise(&base)?)?;
        }
        Err(Error::invalid(format!("the archive has no file {name:?}")))
    }

    fn open(&self, name: &str) -> Result<File> {
        let path = self.resolve(name)?;
        File::open(&path).with_context(|| format!("open {}", path.display()))
    }

    fn read_small(&self, name: &str) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open(name)?
            .take(MAX_DOCUMENT + 1)
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_DOCUMENT {
            return Err(Error::invalid(format!(
                "{name}: larger than {MAX_DOCUMENT} bytes"
            )));
        }
        Ok(bytes)
    }
}

/// `a/../b` → `b`; a path that climbs out of the archive is refused.
fn normalise(path: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir if out.pop() => {}
            _ => {
                return Err(Error::invalid(format!(
                    "archive link {} leaves the archive",
                    path.display()
                )))
            }
        }
    }
    Ok(out)
}

/// Archive names are short and plain: `blobs/sha256/<hex>`, `<id>/layer.tar`, ….
fn plain_name(name: &Path) -> Result<PathBuf> {
    let text = name.to_str().unwrap_or("");
    let text = text
        .strip_prefix("./")
        .unwrap_or(text)
        .trim_end_matches('/');
    let plain = !text.is_empty()
        && text.len() <= 255
        && text
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/:".contains(&b));
    match plain {
        true => Ok(PathBuf::from(text)),
        false => Err(Error::invalid(format!(
            "unexpected archive entry {:?}",
            name.display().to_string()
        ))),
    }
}
