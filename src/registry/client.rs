//! An HTTP session with one repository of one registry (distribution-spec's pull API):
//! `GET /v2/<name>/manifests/<reference>` and `GET /v2/<name>/blobs/<digest>`.
//!
//! It answers auth challenges (see `auth`), follows blob redirects by hand so that the
//! registry's `Authorization` header never reaches another host (blobs usually live on a
//! CDN), and turns a registry's JSON error body into one readable sentence.
//! Plain HTTP is used only for loopback registries; everything else is TLS, trusting
//! Mozilla's roots, or exactly the certificates in `SSL_CERT_FILE` when it is set
//! (OpenSSL's meaning of that variable).
//! <https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pull>

use std::time::Duration;

use miniserde::{json, Deserialize};
use ureq::http::Response;
use ureq::tls::{parse_pem, PemItem, RootCerts, TlsConfig};
use ureq::{Body, BodyReader};

use super::auth;
use super::manifest::MAX_DOCUMENT;
use crate::digest::Digest;
use crate::error::{Context, Error, Kind, Result};
use crate::reference::{Reference, DOCKER_HUB};

pub type Agent = ureq::Agent;

const MAX_REDIRECTS: usize = 5;

pub struct Client {
    agent: Agent,
    /// `https://registry-1.docker.io`, `http://127.0.0.1:5000`, …
    base: String,
    repository: String,
    credentials: Option<String>,
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
            agent: agent()?,
            base: endpoint(registry),
            repository: repository.to_string(),
            credentials,
            authorization: None,
        })
    }

    /// `GET /v2/`: succeeds when the registry accepts our credentials.
    pub fn ping(&mut self) -> Result<()> {
        let url = format!("{}/v2/", self.base);
        self.get_url(url, "application/json").map(drop)
    }

    pub fn manifest(&mut self, selector: &str) -> Result<Document> {
        let response = self.get(&format!("manifests/{selector}"), &super::manifest::accept())?;
        let header = |name| header(&response, name);
        let (content_type, digest_header) =
            (header("content-type"), header("docker-content-digest"));
        let bytes = read_limited(response, MAX_DOCUMENT)?;
        Ok(Document {
            bytes,
            content_type,
            digest_header,
        })
    }

    pub fn blob(&mut self, digest: &Digest) -> Result<BodyReader<'static>> {
        let response = self.get(&format!("blobs/{digest}"), "*/*")?;
        Ok(response.into_body().into_reader())
    }

    /// A small blob (an image config), read whole and checked against its digest.
    pub fn small_blob(&mut self, digest: &Digest) -> Result<Vec<u8>> {
        let response = self.get(&format!("blobs/{digest}"), "*/*")?;
        let bytes = read_limited(response, MAX_DOCUMENT)?;
        digest.verify("blob", &Digest::of(&bytes))?;
        Ok(bytes)
    }

    fn get(&mut self, path: &str, accept: &str) -> Result<Response<Body>> {
        let url = format!("{}/v2/{}/{path}", self.base, self.repository);
        self.get_url(url, accept)
    }

    fn get_url(&mut self, url: String, accept: &str) -> Result<Response<Body>> {
        let mut response = send(
            &self.agent,
            &url,
            &[],
            accept,
            self.authorization.as_deref(),
        )?;
        if response.status() == 401 {
            let challenge = header(&response, "www-authenticate")
                .ok_or_else(|| status_error(&url, response_detail(response)))?;
            let challenge = auth::parse_challenge(&challenge)?;
            let answer = auth::answer(
                &self.agent,
                &challenge,
                self.credentials.as_deref(),
                &self.repository,
            )?;
            response = send(&self.agent, &url, &[], accept, Some(&answer))?;
            self.authorization = Some(answer);
        }
        let (url, response) = self.follow_redirects(url, response, accept)?;
        if response.status() != 200 {
            return Err(status_error(&url, response_detail(response)));
        }
        Ok(response)
    }

    /// Redirects are followed by hand: credentials go only to the registry itself.
    fn follow_redirects(
        &self,
        mut url: String,
        mut response: Response<Body>,
        accept: &str,
    ) -> Result<(String, Response<Body>)> {
        for _ in 0..MAX_REDIRECTS {
            if !response.status().is_redirection() {
                return Ok((url, response));
            }
            let location = header(&response, "location")
                .ok_or_else(|| Error::invalid(format!("redirect without a location from {url}")))?;
            url = resolve_location(&url, &location);
            let same_host = url.starts_with(&format!("{}/", self.base));
            let authorization = self.authorization.as_deref().filter(|_| same_host);
            response = send(&self.agent, &url, &[], accept, authorization)?;
        }
        Err(Error::invalid(format!("too many redirects, last to {url}")))
    }
}

/// The agent every request uses: timeouts set (ureq has none by default) and
/// redirects left to us.
pub fn agent() -> Result<Agent> {
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_recv_body(None)
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("skiff/", env!("CARGO_PKG_VERSION")))
        .tls_config(TlsConfig::builder().root_certs(root_certs()?).build())
        .build();
    Ok(config.into())
}

fn root_certs() -> Result<RootCerts> {
    let Some(path) = std::env::var_os("SSL_CERT_FILE") else {
        return Ok(RootCerts::WebPki);
    };
    let what = || format!("read SSL_CERT_FILE {}", path.to_string_lossy());
    let pem = std::fs::read(&path).with_context(what)?;
    let certs: Vec<_> = parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(cert)) => Some(cert),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(Error::invalid("no certificate in it").context(what()));
    }
    Ok(RootCerts::new_with_certs(&certs))
}

/// Where a registry's API lives. Docker Hub's is `registry-1.docker.io`, unless a
/// mirror is set (Docker's `registry-mirrors`); loopback registries speak plain HTTP.
pub fn endpoint(registry: &str) -> String {
    if registry == DOCKER_HUB {
        return match std::env::var("SKIFF_REGISTRY_MIRROR") {
            Ok(mirror) if !mirror.is_empty() => mirror.trim_end_matches('/').to_string(),
            _ => "https://registry-1.docker.io".to_string(),
        };
    }
    let host = registry
        .rsplit_once(':')
        .map_or(registry, |(host, _port)| host);
    let loopback = host == "localhost" || host == "[::1]" || host.starts_with("127.");
    let scheme = if loopback { "http" } else { "https" };
    format!("{scheme}://{registry}")
}

fn resolve_location(current: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let after_scheme = current.find("://").map_or(0, |i| i + 3);
    let origin_end = current[after_scheme..]
        .find('/')
        .map_or(current.len(), |i| after_scheme + i);
    format!("{}{location}", &current[..origin_end])
}

/// One GET; transport failures become `Net` errors naming the URL.
fn send(
    agent: &Agent,
    url: &str,
    query: &[(&str, &String)],
    accept: &str,
    authorization: Option<&str>,
) -> Result<Response<Body>> {
    let mut request = agent.get(url).header("Accept", accept);
    for (key, value) in query {
        request = request.query(*key, *value);
    }
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    request.call().map_err(|e| {
        Error::new(Kind::Net {
            url: url.to_string(),
            cause: e.to_string(),
        })
    })
}

/// GET a small text document that must answer 200 (used for tokens).
pub fn get_small(
    agent: &Agent,
    url: &str,
    query: &[(&str, &String)],
    authorization: Option<&str>,
    limit: u64,
) -> Result<String> {
    let response = send(agent, url, query, "application/json", authorization)?;
    if response.status() != 200 {
        return Err(status_error(url, response_detail(response)));
    }
    let bytes = read_limited(response, limit)?;
    String::from_utf8(bytes).map_err(|_| Error::invalid(format!("{url} answered with non-UTF-8")))
}

fn header(response: &Response<Body>, name: &str) -> Option<String> {
    let value = response.headers().get(name)?;
    value.to_str().ok().map(str::to_string)
}

fn read_limited(response: Response<Body>, limit: u64) -> Result<Vec<u8>> {
    let url = response_url(&response);
    response
        .into_body()
        .into_with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => {
                Error::invalid(format!("{url}: document larger than {limit} bytes refused"))
            }
            other => Error::new(Kind::Net {
                url,
                cause: other.to_string(),
            }),
        })
}

fn response_url(response: &Response<Body>) -> String {
    use ureq::ResponseExt;
    response.get_uri().to_string()
}

/// What went wrong, in the registry's words: status plus its first error message.
struct Failure {
    status: u16,
    detail: String,
    retry_after: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    errors: Option<Vec<ErrorEntry>>,
    details: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    code: Option<String>,
    message: Option<String>,
}

fn response_detail(response: Response<Body>) -> Failure {
    let status = response.status().as_u16();
    let retry_after = header(&response, "retry-after");
    let body = read_limited(response, 64 << 10).unwrap_or_default();
    let parsed: Option<ErrorBody> = std::str::from_utf8(&body)
        .ok()
        .and_then(|text| json::from_str(text).ok());
    let detail = parsed
        .and_then(|b| {
            let first = b.errors.and_then(|e| e.into_iter().next());
            let from_entry = first.map(|e| {
                let code = e.code.unwrap_or_default().to_ascii_lowercase();
                let message = e.message.unwrap_or_default();
                if message.is_empty() {
                    code
                } else {
                    message
                }
            });
            from_entry.or(b.details)
        })
        .unwrap_or_default();
    Failure {
        status,
        detail,
        retry_after,
    }
}

fn status_error(url: &str, failure: Failure) -> Error {
    let mut detail = failure.detail;
    match failure.status {
        401 | 403 => detail.push_str(
            " (pull access denied: the repository does not exist or needs 'docker login')",
        ),
        429 => {
            detail.push_str(" (rate limited by the registry");
            if let Some(after) = failure.retry_after {
                detail.push_str(&format!("; retry after {after} s"));
            }
            detail.push(')');
        }
        _ => {}
    }
    Error::new(Kind::Http {
        url: url.to_string(),
        status: failure.status,
        detail: detail.trim().to_string(),
    })
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
