//! TEMPORARY STUB (being written by a helper).
use crate::digest::{Digest, Hashing};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;
pub enum Compression {
    Gzip,
    Uncompressed,
}
impl Compression {
    pub fn for_media_type(media_type: &str) -> Result<Compression> {
        if media_type.ends_with("gzip") {
            Ok(Compression::Gzip)
        } else if media_type.ends_with(".tar") {
            Ok(Compression::Uncompressed)
        } else {
            Err(Error::invalid(format!(
                "unsupported layer media type {media_type}"
            )))
        }
    }
}
pub fn unpack(blob: impl Read, compression: Compression, root: &Path) -> Result<Digest> {
    let reader: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(libflate::gzip::MultiDecoder::new(std::io::BufReader::new(
            blob,
        ))?),
        Compression::Uncompressed => Box::new(blob),
    };
    let mut hashing = Hashing::new(reader);
    let mut archive = tar::Archive::new(&mut hashing);
    archive.set_preserve_permissions(true);
    archive.unpack(root)?;
    Ok(hashing.finish()?.0)
}
