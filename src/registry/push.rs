//! Pushing an image: the store's blobs and manifest to a registry, byte for byte, so
//! every digest stays what it was.
//!
//! 1. Each layer, then the config: `HEAD /v2/<name>/blobs/<digest>` first; a blob the
//!    repository has already is skipped (`Layer already exists`).
//! 2. Else, when the store holds an image of another repository of the same registry
//!    with that blob (pulled from it, or pushed there), the registry is asked to mount
//!    it from there: `POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repo>`, and
//!    `201` means done without a byte sent. The token must then allow `pull` on the
//!    source too, which the registry's challenge asks for (see `auth`).
//! 3. Else (or when the registry answers the mount with `202`, an upload session
//!    instead): `POST` opens an upload, and one `PUT <location>&digest=<digest>`
//!    carries the whole blob, streamed from its file with its `Content-Length`. A
//!    monolithic PUT is one request per blob and never holds a blob in memory; chunked
//!    `PATCH`es would only pay for resuming a broken upload, which skiff does not do.
//! 4. `PUT /v2/<name>/manifests/<tag>` with the stored manifest's bytes and its own
//!    media type: the registry answers with the same digest the store names it by.
//!
//! Tokens are asked for `repository:<name>:pull,push`, with the credentials `login`
//! stored, exactly as a pull asks for `pull`. Foreign layers are not pushed (their
//! URLs say where they live), as Docker does.
//! <https://github.com/opencontainers/distribution-spec/blob/main/spec.md#push>

use ureq::http::{Method, Response};
use ureq::Body;

use super::client::{resolve_location, Client};
use super::foreign;
use super::http::header;
use super::manifest;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::store::Store;
use crate::image::Image;
use crate::reference::Reference;

/// Pushes the image `reference` names in the store; prints Docker's lines on the way.
/// Returns the manifest's digest.
pub fn push(reference: &Reference, store: &Store) -> Result<Digest> {
    let tag = match (&reference.tag, &reference.digest) {
        (Some(tag), None) => tag,
        _ => return Err(Error::usage("cannot push a digest reference")),
    };
    let manifest = store.resolve(&reference.to_string())?.ok_or_else(|| {
        Error::invalid(format!(
            "An image does not exist locally with the tag: {reference}"
        ))
    })?;
    let image = Image::load(store, &manifest)?;
    println!(
        "The push refers to repository [{}/{}]",
        reference.registry, reference.repository
    );
    let sources = mount_sources(store, reference)?;
    let mut client = Client::connect(reference)?;
    client.actions = "pull,push";
    for layer in image.layers.iter().rev().filter(|l| !foreign::applies(l)) {
        let digest = layer.digest()?;
        let done = push_blob(&mut client, store, &digest, &sources)?;
        println!("{}: {done}", &digest.hex()[..12]);
    }
    push_blob(&mut client, store, &image.config_digest, &sources)?;
    let url = client.url(&format!("manifests/{tag}"));
    let media_type = manifest::media_type(&store.read_blob(&manifest)?);
    let path = store.blob_path(&manifest);
    let response = client.push_request(Method::PUT, &url, Some((&path, &media_type)))?;
    expect(response, 201, "PUT", &url)?;
    println!(
        "{tag}: digest: {manifest} size: {}",
        store.blob_size(&manifest)?
    );
    Ok(manifest)
}

/// The other repositories of the target's registry that the store holds images of,
/// each with its images' blobs: what a blob may be mounted from.
fn mount_sources(store: &Store, target: &Reference) -> Result<Vec<(String, Vec<Digest>)>> {
    let mut sources = Vec::new();
    for (name, manifest) in store.references()? {
        let Ok(other) = Reference::parse(&name) else {
            continue;
        };
        if other.registry == target.registry && other.repository != target.repository {
            let blobs = Image::load(store, &manifest)?.blobs(&manifest)?;
            sources.push((other.repository, blobs));
        }
    }
    Ok(sources)
}

/// One blob into the repository, by the cheapest way that works; says which.
fn push_blob(
    client: &mut Client,
    store: &Store,
    digest: &Digest,
    sources: &[(String, Vec<Digest>)],
) -> Result<String> {
    let url = client.url(&format!("blobs/{digest}"));
    let head = client.push_request(Method::HEAD, &url, None)?;
    if head.status().is_success() {
        return Ok("Layer already exists".into());
    }
    let uploads = client.url("blobs/uploads/");
    let from = sources.iter().find(|(_, blobs)| blobs.contains(digest));
    if let Some((repository, _)) = from {
        let mount = format!("{uploads}?mount={digest}&from={repository}");
        let response = client.push_request(Method::POST, &mount, None)?;
        match response.status().as_u16() {
            201 => return Ok(format!("Mounted from {repository}")),
            202 => return upload(client, store, digest, &mount, &response),
            _ => {} // not allowed to read the source: upload it
        }
    }
    let response = client.push_request(Method::POST, &uploads, None)?;
    let response = expect(response, 202, "POST", &uploads)?;
    upload(client, store, digest, &uploads, &response)
}

/// The blob's bytes, in one `PUT` to the upload session that `started` opened.
fn upload(
    client: &mut Client,
    store: &Store,
    digest: &Digest,
    url: &str,
    started: &Response<Body>,
) -> Result<String> {
    let location = header(started, "location")
        .ok_or_else(|| Error::invalid(format!("POST {url}: no upload location")))?;
    let mut put = resolve_location(url, &location);
    put.push(if put.contains('?') { '&' } else { '?' });
    put.push_str(&format!("digest={digest}"));
    let path = store.blob_path(digest);
    let response =
        client.push_request(Method::PUT, &put, Some((&path, "application/octet-stream")))?;
    expect(response, 201, "PUT", &put)?;
    Ok("Pushed".into())
}

/// The response if it has `status`; else the registry's refusal, as Docker words it.
fn expect(
    response: Response<Body>,
    status: u16,
    method: &str,
    url: &str,
) -> Result<Response<Body>> {
    let got = response.status().as_u16();
    if got == status {
        return Ok(response);
    }
    let detail = match got {
        401 | 403 => "denied: requested access to the resource is denied".to_string(),
        _ => super::http::detail(response),
    };
    Err(Error::invalid(format!("{method} {url}: {got} {detail}")))
}
