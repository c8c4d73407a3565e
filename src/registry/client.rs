//! An HTTP session with one repository of one registry (distribution-spec's pull API):
//! `GET /v2/<name>/manifests/<reference>` and `GET /v2/<name>/blobs/<digest>`; and
//! the `HEAD`, `POST` and `PUT` requests of a push (see `push`).
//!
//! It answers auth challenges (see `auth`), follows blob redirects by hand so that the
//! registry's `Authorization` header never reaches another host (blobs usually live on a
//! CDN), and turns a registry's JSON error body into one readable sentence. A manifest
//! or config whose body breaks off is fetched again; a layer resumes where it broke
//! (see `blob`). Proxies, trust and retries are `transport`'s.
//!
//! Registries speak TLS, except loopback ones and those listed in
//! `SKIFF_INSECURE_REGISTRIES` (`host[:port],…`), which speak plain HTTP (Docker's
//! `insecure-registries`, without its attempt at TLS first).
//! <https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pull>

use std::fs::File;
use std::path::Path;

use ureq::http::{Method, Request, Response};
use ureq::Body;

use super::auth;
use super::http::{header, read_limited, status_error};
use super::manifest::MAX_DOCUMENT;
use super::transport::{self, Agent, ATTEMPTS};
use crate::digest::Digest;
use crate::error::{Context, Error, Kind, Result};
use crate::reference::{Reference, DOCKER_HUB};

const MAX_REDIRECTS: usize = 5;

pub struct Client {
    agent: Agent,
    /// `https://registry-1.docker.io`, `http://127.0.0.1:5000`, …
    base: String,
    repository: String,
    credentials: Option<String>,
    /// What the session's tokens must allow on `repository`: `pull`, or `pull,push`.
    pub(super) actions: &'static str,
    /// The header that last worked; reused until the registry says 401 again.
    authorization: Option<String>,
}

/// A small document (manifest or config) with the headers that describe it.
pub struct Document {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub digest_header: Option<String>,
}

impl Client {
    /// A session for pulling `reference`, with the credentials `docker login` stored.
    pub fn connect(reference: &Reference) -> Result<Client> {
        let credentials = auth::stored_credentials(&reference.registry)?;
        Client::new(&reference.registry, &reference.repository, credentials)
    }

    /// `repository` may be empty: a session with the registry itself, as for a login.
    pub fn new(registry: &str, repository: &str, credentials: Option<String>) -> Result<Client> {
        Ok(Client {
            agent: Agent::from_env()?,
            base: endpoint(registry),
            repository: repository.to_string(),
            credentials,
            actions: "pull",
            authorization: None,
        })
    }

    /// `GET /v2/`: succeeds when the registry accepts our credentials.
    pub fn ping(&mut self) -> Result<()> {
        let url = format!("{}/v2/", self.base);
        self.get_url(url, "application/json", None).map(drop)
    }

    pub fn manifest(&mut self, selector: &str) -> Result<Document> {
        self.document(&format!("manifests/{selector}"), &super::manifest::accept())
    }

    /// A small blob (an image config), read whole and checked against its digest.
    pub fn small_blob(&mut self, digest: &Digest) -> Result<Vec<u8>> {
        let bytes = self.document(&format!("blobs/{digest}"), "*/*")?.bytes;
        digest.verify("blob", &Digest::of(&bytes))?;
        Ok(bytes)
    }

    /// A document read whole: if its body breaks off, the whole request is made again
    /// (a manifest by tag may have changed meanwhile, so no piecing together).
    fn document(&mut self, path: &str, accept: &str) -> Result<Document> {
        let mut attempt = 1;
        loop {
            let response = self.get_url(self.url(path), accept, None)?;
            let header = |name| header(&response, name);
            let (content_type, digest_header) =
                (header("content-type"), header("docker-content-digest"));
            match read_limited(response, MAX_DOCUMENT) {
                Ok(bytes) => {
                    return Ok(Document {
                        bytes,
                        content_type,
                        digest_header,
                    })
                }
                Err(e) if attempt < ATTEMPTS && matches!(e.kind(), Kind::Net { .. }) => {
                    transport::back_off(attempt, &self.url(path), &e.to_string());
                }
                Err(e) => return Err(e),
            }
            attempt += 1;
        }
    }

    /// `GET /v2/<repository>/<path>`, from byte `from` on if given (`Range`).
    pub(super) fn get(&mut self, path: &str, from: Option<u64>) -> Result<Response<Body>> {
        self.get_url(self.url(path), "*/*", from)
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.repository)
    }

    fn get_url(&mut self, url: String, accept: &str, from: Option<u64>) -> Result<Response<Body>> {
        let mut response = self.send(&url, accept, from, self.authorization.as_deref())?;
        if response.status() == 401 {
            let answer = self.answer(&url, response)?;
            response = self.send(&url, accept, from, Some(&answer))?;
            self.authorization = Some(answer);
        }
        let (url, response) = self.follow_redirects(url, response, accept, from)?;
        let partial = from.is_some() && response.status() == 206;
        if response.status() != 200 && !partial {
            return Err(status_error(&url, response));
        }
        Ok(response)
    }

    /// The `Authorization` to send again with, answering the challenge of a 401.
    fn answer(&self, url: &str, response: Response<Body>) -> Result<String> {
        let challenge =
            header(&response, "www-authenticate").ok_or_else(|| status_error(url, response))?;
        let challenge = auth::parse_challenge(&challenge)?;
        let scope = format!("repository:{}:{}", self.repository, self.actions);
        auth::answer(&self.agent, &challenge, self.credentials.as_deref(), &scope)
    }

    /// A request of the push API (`HEAD`, `POST`, `PUT`), answering a 401 as `get_url`
    /// does. `body` is a file of the store and its type, opened anew for each attempt.
    pub(super) fn push_request(
        &mut self,
        method: Method,
        url: &str,
        body: Option<(&Path, &str)>,
    ) -> Result<Response<Body>> {
        // An upload's Location may name another host: it gets no credentials.
        let ours = self.is_registry(url);
        let authorization = self.authorization.as_deref().filter(|_| ours);
        let mut response = self.send_push(&method, url, body, authorization)?;
        if response.status() == 401 && ours {
            let answer = self.answer(url, response)?;
            response = self.send_push(&method, url, body, Some(&answer))?;
            self.authorization = Some(answer);
        }
        Ok(response)
    }

    fn send_push(
        &self,
        method: &Method,
        url: &str,
        body: Option<(&Path, &str)>,
        authorization: Option<&str>,
    ) -> Result<Response<Body>> {
        let agent = self.agent.for_url(url)?;
        let mut request = Request::builder().method(method).uri(url);
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        let bad = |e: ureq::http::Error| Error::invalid(format!("{method} {url}: {e}"));
        let sent = match body {
            Some((path, media_type)) => {
                let file = File::open(path).with_context(|| format!("open {}", path.display()))?;
                agent.run(
                    request
                        .header("Content-Type", media_type)
                        .body(file)
                        .map_err(bad)?,
                )
            }
            None => agent.run(request.body(()).map_err(bad)?),
        };
        sent.map_err(|e| {
            Error::new(Kind::Net {
                url: format!("{method} {url}"),
                cause: e.to_string(),
            })
        })
    }

    /// Whether `url` is the registry's own: only there do credentials go.
    fn is_registry(&self, url: &str) -> bool {
        url.starts_with(&format!("{}/", self.base))
    }

    /// Redirects are followed by hand: credentials go only to the registry itself.
    fn follow_redirects(
        &self,
        mut url: String,
        mut response: Response<Body>,
        accept: &str,
        from: Option<u64>,
    ) -> Result<(String, Response<Body>)> {
        for _ in 0..MAX_REDIRECTS {
            if !response.status().is_redirection() {
                return Ok((url, response));
            }
            let location = header(&response, "location")
                .ok_or_else(|| Error::invalid(format!("redirect without a location from {url}")))?;
            url = resolve_location(&url, &location);
            let authorization = self
                .authorization
                .as_deref()
                .filter(|_| self.is_registry(&url));
            response = self.send(&url, accept, from, authorization)?;
        }
        Err(Error::invalid(format!("too many redirects, last to {url}")))
    }

    fn send(
        &self,
        url: &str,
        accept: &str,
        from: Option<u64>,
        authorization: Option<&str>,
    ) -> Result<Response<Body>> {
        let mut headers = vec![("Accept", accept.to_string())];
        if let Some(authorization) = authorization {
            headers.push(("Authorization", authorization.to_string()));
        }
        if let Some(from) = from {
            headers.push(("Range", format!("bytes={from}-")));
        }
        self.agent.get(url, &[], &headers)
    }
}

/// Where a registry's API lives. Docker Hub's is `registry-1.docker.io`, unless a
/// mirror is set (Docker's `registry-mirrors`); loopback registries, and those listed in
/// `SKIFF_INSECURE_REGISTRIES`, speak plain HTTP.
pub fn endpoint(registry: &str) -> String {
    if registry == DOCKER_HUB {
        return match std::env::var("SKIFF_REGISTRY_MIRROR") {
            Ok(mirror) if !mirror.is_empty() => mirror.trim_end_matches('/').to_string(),
            _ => "https://registry-1.docker.io".to_string(),
        };
    }
    let insecure = std::env::var("SKIFF_INSECURE_REGISTRIES").unwrap_or_default();
    let scheme = if plain_http(registry, &insecure) {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{registry}")
}

/// `registry` is `host[:port]`; `insecure` is the comma-separated list of the variable.
fn plain_http(registry: &str, insecure: &str) -> bool {
    let host = registry
        .rsplit_once(':')
        .map_or(registry, |(host, _port)| host);
    let loopback = host == "localhost" || host == "[::1]" || host.starts_with("127.");
    let listed = insecure
        .split(',')
        .any(|entry| entry.trim().eq_ignore_ascii_case(registry));
    loopback || listed
}

pub(super) fn resolve_location(current: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let after_scheme = current.find("://").map_or(0, |i| i + 3);
    let origin_end = current[after_scheme..]
        .find('/')
        .map_or(current.len(), |i| after_scheme + i);
    format!("{}{location}", &current[..origin_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_speak_plain_http() {
        assert_eq!(endpoint("localhost:5000"), "http://localhost:5000");
        assert_eq!(endpoint("127.0.0.1:5555"), "http://127.0.0.1:5555");
        assert_eq!(endpoint("ghcr.io"), "https://ghcr.io");
        assert_eq!(endpoint("myhost:5000"), "https://myhost:5000");
    }

    #[test]
    fn listed_insecure_registries_speak_plain_http() {
        let list = " myhost:5000 ,Other.Example";
        assert!(plain_http("myhost:5000", list));
        assert!(plain_http("other.example", list));
        assert!(!plain_http("myhost", list));
        assert!(!plain_http("myhost:5001", list));
        assert!(!plain_http("ghcr.io", ""));
    }

    #[test]
    fn relative_redirects_keep_the_origin() {
        assert_eq!(
            resolve_location("https://r.io/v2/a/blobs/x", "/cdn/x?sig=1"),
            "https://r.io/cdn/x?sig=1"
        );
        assert_eq!(
            resolve_location("https://r.io/v2/a/blobs/x", "https://cdn.io/x"),
            "https://cdn.io/x"
        );
    }
}
