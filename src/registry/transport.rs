//! How a request reaches a registry: through which proxy, whom TLS trusts, and how
//! often it is tried.
//!
//! - **Proxies**: `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`, as Docker reads them
//!   (see `proxy`).
//! - **Trust**: Mozilla's roots, built in; or exactly the PEM certificates in
//!   `SSL_CERT_FILE`; plus those in the directories `SSL_CERT_DIR` lists, `:`-separated
//!   (OpenSSL's meaning of both variables). A registry's own CA goes where Docker looks
//!   for it, `/etc/docker/certs.d/HOST[:PORT]/*.crt`, and is trusted for that host only.
//!   The built-in roots are trust anchors that no certificate can be added to, so where
//!   extra CAs apply the public roots come from the system's bundle (as in Docker).
//! - **Algorithms**: rustls' on *ring*, less the ChaCha20 suites (see `tls`).
//! - **Names**: getaddrinfo(3) in the calling thread, never on a thread of ureq's
//!   (see [`Resolver`]).
//! - **Retries**: a 500, 502, 503 or 504, or a connection that cannot be made or drops,
//!   is tried again after a pause, [`ATTEMPTS`] times in all. A 429 is not: the registry
//!   said when to come back (`Retry-After`), and whether to wait is the user's call. A
//!   refused certificate is not either: it will be refused again.
//!
//! ureq takes one proxy and one set of roots per agent, so there is one agent per origin.
//! <https://docs.docker.com/engine/security/certificates/>
//! <https://docs.openssl.org/3.0/man3/SSL_CTX_load_verify_locations/>

use std::cell::RefCell;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use ureq::config::Config;
use ureq::http::{Response, Uri};
use ureq::tls::{parse_pem, Certificate, PemItem, RootCerts, TlsConfig};
use ureq::unversioned::resolver::{self, ResolvedSocketAddrs};
use ureq::unversioned::transport::{
    ConnectProxyConnector, Connector, NextTimeout, RustlsConnector, TcpConnector,
};
use ureq::Body;

use super::proxy::Proxies;
use super::tls;
use crate::error::{Context, Error, Kind, Result};
use crate::trace;

/// How many times a request is tried before its failure is reported.
pub const ATTEMPTS: u32 = 3;

/// Docker's place for a registry's own CAs: `certs.d/HOST[:PORT]/*.crt`.
const CERTS_D: &str = "/etc/docker/certs.d";

/// Where Linux distributions keep their bundle of public roots (Go's crypto/x509 list).
const SYSTEM_BUNDLES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL 6
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/pki/tls/cacert.pem",            // OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
    "/etc/ssl/cert.pem",                  // Alpine
];

/// Makes every request skiff sends: picks the proxy and the roots for its origin.
pub struct Agent {
    proxies: Proxies,
    /// `None`: the built-in roots; else what `SSL_CERT_FILE` and `SSL_CERT_DIR` hold.
    roots: Option<Vec<Certificate<'static>>>,
    /// One ureq agent per origin (`https://host:port`), made on its first request.
    agents: RefCell<Vec<(String, ureq::Agent)>>,
}

impl Agent {
    /// Reads the proxy and trust settings once, so a wrong one fails before any request.
    pub fn from_env() -> Result<Agent> {
        Ok(Agent {
            proxies: Proxies::new(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))?,
            roots: common_roots()?,
            agents: RefCell::default(),
        })
    }

    /// One GET, tried again after a pause while it fails in a way that may pass (see the
    /// module doc). A 5xx after the last attempt is returned for the caller to report.
    pub fn get(
        &self,
        url: &str,
        query: &[(&str, &String)],
        headers: &[(&str, String)],
    ) -> Result<Response<Body>> {
        let origin = Origin::parse(url)?;
        let agent = self.for_origin(&origin)?;
        let mut attempt = 1;
        loop {
            let mut request = agent.get(url);
            for (key, value) in query {
                request = request.query(*key, *value);
            }
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            let outcome = request.call();
            let passing = match &outcome {
                Ok(response) => is_passing_status(response.status().as_u16())
                    .then(|| format!("{}", response.status())),
                Err(e) => is_passing(e).then(|| e.to_string()),
            };
            match passing {
                Some(why) if attempt < ATTEMPTS => back_off(attempt, url, &why),
                _ => return outcome.map_err(|e| net_error(url, &origin, &e, attempt)),
            }
            attempt += 1;
        }
    }

    /// The ureq agent for `url`'s origin, for a caller that configures its request itself.
    pub fn for_url(&self, url: &str) -> Result<ureq::Agent> {
        self.for_origin(&Origin::parse(url)?)
    }

    fn for_origin(&self, origin: &Origin) -> Result<ureq::Agent> {
        let key = origin.key();
        if let Some((_, agent)) = self.agents.borrow().iter().find(|(k, _)| *k == key) {
            return Ok(agent.clone());
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0) // followed by hand: credentials must not leave the registry
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_recv_body(None)
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(concat!("skiff/", env!("CARGO_PKG_VERSION")))
            .proxy(
                self.proxies
                    .for_target(origin.https, &origin.host, origin.port),
            )
            .tls_config(
                TlsConfig::builder()
                    .root_certs(self.roots_for(origin)?)
                    .unversioned_rustls_crypto_provider(tls::provider())
                    .build(),
            )
            .build();
        // ureq's DefaultConnector less its links that only warn (a SOCKS proxy, which
        // `proxy` refuses first; native-tls, not built): 2 KB less machine code.
        let connector =
            ().chain(ConnectProxyConnector::default())
                .chain(TcpConnector::default())
                .chain(RustlsConnector::default());
        let agent = ureq::Agent::with_parts(config, connector, Resolver);
        self.agents.borrow_mut().push((key, agent.clone()));
        Ok(agent)
    }

    fn roots_for(&self, origin: &Origin) -> Result<RootCerts> {
        let own = registry_cas(&origin.authority)?;
        Ok(match (&self.roots, own.is_empty()) {
            (None, true) => RootCerts::WebPki,
            (Some(common), true) => RootCerts::new_with_certs(common),
            (common, false) => {
                let mut all = match common {
                    Some(common) => common.clone(),
                    None => system_bundle()?,
                };
                all.extend(own);
                RootCerts::from(all)
            }
        })
    }
}

/// Host names to addresses with getaddrinfo(3), in the calling thread, as ureq's own
/// resolver does when no timeout applies. Where one does (a CONNECT proxy's name, under
/// the connect timeout), ureq's would ask from a thread of its own and stop waiting at
/// the timeout; skiff stays single-threaded, and getaddrinfo gives up by itself after
/// resolv.conf's `timeout` and `attempts` (5 s and 2 by default). It also spares the
/// binary the thread and channel code.
/// <https://man7.org/linux/man-pages/man5/resolv.conf.5.html>
#[derive(Debug)]
struct Resolver;

impl resolver::Resolver for Resolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        _: NextTimeout,
    ) -> std::result::Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().ok_or(ureq::Error::HostNotFound)?;
        let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
            Some("https") => 443,
            _ => 80,
        });
        let found = std::net::ToSocketAddrs::to_socket_addrs(&format!("{host}:{port}"))?;
        let mut addrs = self.empty();
        for addr in config.ip_family().keep_wanted(found) {
            if addrs.try_push(addr).is_err() {
                break; // as many as ureq keeps
            }
        }
        match addrs.is_empty() {
            true => Err(ureq::Error::HostNotFound),
            false => Ok(addrs),
        }
    }
}

/// Waits before attempt `attempt + 1`: 0.2 s, then 0.8 s.
pub fn back_off(attempt: u32, url: &str, why: &str) {
    let pause = Duration::from_millis(200 * 4u64.pow(attempt - 1));
    trace::step(&format!(
        "GET {url}: {why}; trying again in {} ms",
        pause.as_millis()
    ));
    std::thread::sleep(pause);
}

/// Server errors that a load balancer or a restarting registry answers for a moment.
fn is_passing_status(status: u16) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
}

/// Failures of the connection itself. A refused certificate, an unknown host or a bad
/// proxy answer will be the same next time.
fn is_passing(error: &ureq::Error) -> bool {
    match error {
        ureq::Error::Io(e) => !is_tls_failure(e),
        ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed => true,
        _ => false,
    }
}

/// rustls reports a handshake it refuses as `InvalidData`, through ureq's `Io`.
fn is_tls_failure(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::InvalidData
}

fn net_error(url: &str, origin: &Origin, error: &ureq::Error, attempts: u32) -> Error {
    let mut cause = error.to_string();
    if let ureq::Error::Io(e) = error {
        if origin.https && is_tls_failure(e) {
            cause.push_str(&tls_hint(&cause, origin));
        }
    }
    if attempts > 1 {
        cause.push_str(&format!(" (tried {attempts} times)"));
    }
    Error::new(Kind::Net {
        url: url.to_string(),
        cause,
    })
}

/// What to do about a failed handshake: trust the CA, or speak plain HTTP.
fn tls_hint(cause: &str, origin: &Origin) -> String {
    if cause.contains("certificate") {
        format!(
            " (trust its CA in {CERTS_D}/{}/ca.crt, SSL_CERT_DIR or SSL_CERT_FILE)",
            origin.authority
        )
    } else {
        " (if it speaks plain HTTP, list it in SKIFF_INSECURE_REGISTRIES)".to_string()
    }
}

/// The parts of a URL that decide how to reach it.
struct Origin {
    https: bool,
    /// Lower case, without the brackets of an IPv6 address.
    host: String,
    port: u16,
    /// `host[:port]` as written in the URL: the name of its `certs.d` directory.
    authority: String,
}

impl Origin {
    fn parse(url: &str) -> Result<Origin> {
        let uri: Uri = url
            .parse()
            .map_err(|_| Error::invalid(format!("invalid URL {url:?}")))?;
        let https = uri.scheme_str() == Some("https");
        let authority = uri
            .authority()
            .ok_or_else(|| Error::invalid(format!("URL without a host: {url:?}")))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        Ok(Origin {
            https,
            host: host.to_ascii_lowercase(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            authority: authority.as_str().to_ascii_lowercase(),
        })
    }

    fn key(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.authority)
    }
}

/// `None` when neither is set: the built-in roots then.
fn common_roots() -> Result<Option<Vec<Certificate<'static>>>> {
    let file = std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty());
    let dirs = std::env::var_os("SSL_CERT_DIR").filter(|v| !v.is_empty());
    if file.is_none() && dirs.is_none() {
        return Ok(None);
    }
    let mut certs = match file {
        Some(path) => certificates(Path::new(&path)).context("SSL_CERT_FILE")?,
        None => system_bundle()?,
    };
    let dirs = dirs.unwrap_or_default();
    for dir in std::env::split_paths(&dirs).filter(|d| !d.as_os_str().is_empty()) {
        certs.extend(pem_directory(&dir, |_| true).context("SSL_CERT_DIR")?);
    }
    Ok(Some(certs))
}

fn system_bundle() -> Result<Vec<Certificate<'static>>> {
    match SYSTEM_BUNDLES.iter().map(Path::new).find(|p| p.exists()) {
        Some(path) => certificates(path),
        None => Ok(Vec::new()),
    }
}

/// A registry's own CAs: `certs.d/HOST[:PORT]/*.crt`; none if it has no directory.
fn registry_cas(authority: &str) -> Result<Vec<Certificate<'static>>> {
    let dir = Path::new(CERTS_D).join(authority);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    pem_directory(&dir, |name| name.to_string_lossy().ends_with(".crt"))
}

/// Every certificate in the files of `dir` whose names pass `wanted`.
fn pem_directory(
    dir: &Path,
    wanted: impl Fn(&OsString) -> bool,
) -> Result<Vec<Certificate<'static>>> {
    let what = || format!("read {}", dir.display());
    let mut certs = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(what)? {
        let path = entry.with_context(what)?.path();
        let name = path.file_name().map(OsString::from).unwrap_or_default();
        if path.is_file() && wanted(&name) {
            certs.extend(certificates(&path)?);
        }
    }
    Ok(certs)
}

/// The certificates of a PEM file, which must hold at least one.
fn certificates(path: &Path) -> Result<Vec<Certificate<'static>>> {
    let what = || format!("read {}", path.display());
    let pem = std::fs::read(path).with_context(what)?;
    let certs: Vec<_> = parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(cert)) => Some(cert),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(Error::invalid("no certificate in it").context(what()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_name_their_certs_d_directory() {
        let o = Origin::parse("https://Registry.Example:5000/v2/").unwrap();
        assert_eq!((o.host.as_str(), o.port), ("registry.example", 5000));
        assert_eq!(o.authority, "registry.example:5000");
        let o = Origin::parse("https://ghcr.io/v2/").unwrap();
        assert_eq!((o.authority.as_str(), o.port), ("ghcr.io", 443));
    }

    #[test]
    fn only_passing_server_errors_are_retried() {
        assert!([500, 502, 503, 504].into_iter().all(is_passing_status));
        assert!(![429, 404, 401, 501].into_iter().any(is_passing_status));
    }
}
