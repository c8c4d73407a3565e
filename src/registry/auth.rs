//! Registry authentication, as Docker Hub does it.
//!
//! 1. A request without credentials gets `401` and a challenge:
//!    `WWW-Authenticate: Bearer realm="https://auth.docker.io/token",service="…",scope="…"`.
//! 2. We ask the realm for a token for that service and scope, anonymously or with HTTP
//!    Basic credentials: those `docker login` left in `~/.docker/config.json`, or in the
//!    credential helper that file names (see `credential_helper`).
//! 3. We retry with `Authorization: Bearer <token>`. Tokens expire (Hub: 300 s), so any
//!    later 401 simply starts the dance again.
//!
//! A registry may also challenge with plain `Basic`, which takes the credentials directly.
//! <https://distribution.github.io/distribution/spec/auth/token/>

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miniserde::json::{Object, Value};
use miniserde::{json, Deserialize};

use super::credential_helper;
use super::http;
use super::transport::Agent;
use crate::error::{Context, Error, Kind, Result};

/// A parsed `WWW-Authenticate` header.
#[derive(Debug, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

/// `Scheme k="v",k2="v, with comma"` → scheme and parameters.
pub fn parse_challenge(header: &str) -> Result<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if key.is_empty() || chars.next() != Some('=') {
            break;
        }
        let value: String = if chars.next_if_eq(&'"').is_some() {
            let quoted = std::iter::from_fn(|| chars.next_if(|c| *c != '"')).collect();
            chars.next(); // the closing quote
            quoted
        } else {
            std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect()
        };
        params.insert(key.trim().to_ascii_lowercase(), value);
    }
    if scheme.is_empty() {
        return Err(Error::invalid(format!("unreadable challenge {header:?}")));
    }
    Ok(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

#[derive(Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
}

/// Answers a challenge: the `Authorization` header value to retry with.
/// `credentials` is base64 `user:password`, as `docker login` stores it.
pub fn answer(
    agent: &Agent,
    challenge: &Challenge,
    credentials: Option<&str>,
    scope: &str,
) -> Result<String> {
    let basic = credentials.map(|c| format!("Basic {c}"));
    match challenge.scheme.as_str() {
        "basic" => basic.ok_or_else(|| {
            Error::invalid("the registry wants a user name and password: run 'docker login'")
        }),
        "bearer" => {
            let token = fetch_token(agent, challenge, basic.as_deref(), scope)?;
            Ok(format!("Bearer {token}"))
        }
        other => Err(Error::invalid(format!(
            "unsupported authentication scheme {other:?}"
        ))),
    }
}

fn fetch_token(
    agent: &Agent,
    challenge: &Challenge,
    basic: Option<&str>,
    scope: &str,
) -> Result<String> {
    let realm = challenge
        .params
        .get("realm")
        .ok_or_else(|| Error::invalid("bearer challenge without a realm"))?;
    // Our repository with the actions the session needs (a push's first challenge, to
    // a HEAD, asks for `pull` only), then whatever else the registry names: a mount's
    // source repository. Several scopes are several parameters, as Docker sends them.
    let ours = scope.rsplit_once(':').map_or(scope, |(name, _)| name);
    let asked = challenge.params.get("scope").map_or("", String::as_str);
    let others = asked
        .split(' ')
        .filter(|s| !s.is_empty() && s.rsplit_once(':').map(|(name, _)| name) != Some(ours));
    let scopes: Vec<String> = std::iter::once(scope)
        .chain(others)
        .map(String::from)
        .collect();
    let mut query: Vec<(&str, &String)> = scopes.iter().map(|s| ("scope", s)).collect();
    if let Some(service) = challenge.params.get("service") {
        query.push(("service", service));
    }
    let body = http::get_small(agent, realm, &query, basic, 1 << 20).context("get token")?;
    let response: TokenResponse = json::from_str(&body).map_err(|_| {
        Error::new(Kind::Json {
            what: "token response".into(),
        })
    })?;
    response
        .token
        .or(response.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::invalid("token response holds no token"))
}

#[derive(Deserialize)]
struct DockerConfig {
    auths: Option<BTreeMap<String, AuthEntry>>,
    #[serde(rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(rename = "credHelpers")]
    cred_helpers: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct AuthEntry {
    auth: Option<String>,
}

impl DockerConfig {
    /// `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), if there is one.
    fn read() -> Result<Option<DockerConfig>> {
        let path = docker_config_dir().join("config.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::from(e).context(format!("read {}", path.display()))),
        };
        json::from_str(&text).map(Some).map_err(|_| {
            Error::new(Kind::Json {
                what: path.display().to_string(),
            })
        })
    }

    /// The credential helper that keeps `registry`'s password, as Docker picks it: the
    /// registry's own entry in `credHelpers`, else `credsStore`; `None` means `auths`.
    fn helper_for(&self, registry: &str) -> Option<&str> {
        let own = self.cred_helpers.as_ref().and_then(|helpers| {
            config_keys(registry)
                .iter()
                .find_map(|key| helpers.get(key))
        });
        own.or(self.creds_store.as_ref())
            .map(String::as_str)
            .filter(|name| !name.is_empty())
    }
}

/// Credentials `docker login` stored for `registry`, as base64 `user:password`: from its
/// credential helper if config.json names one, else from config.json's `auths`.
pub fn stored_credentials(registry: &str) -> Result<Option<String>> {
    let Some(config) = DockerConfig::read()? else {
        return Ok(None);
    };
    if let Some(helper) = config.helper_for(registry) {
        let found = credential_helper::get(helper, &server_url(registry))?;
        return Ok(found.map(|(user, secret)| base64(format!("{user}:{secret}").as_bytes())));
    }
    let auths = config.auths.unwrap_or_default();
    Ok(config_keys(registry)
        .iter()
        .find_map(|key| auths.get(key).and_then(|entry| entry.auth.clone())))
}

/// `docker login`'s last step: keeps `user` and `password` for `registry` in its
/// credential helper (leaving an empty `auths` entry, as Docker does, so the login
/// shows), or in config.json's `auths` as base64 `user:password`.
pub fn save_credentials(registry: &str, user: &str, password: &str) -> Result<()> {
    let config = DockerConfig::read()?;
    let mut entry = Object::new();
    match config.as_ref().and_then(|c| c.helper_for(registry)) {
        Some(helper) => credential_helper::store(helper, &server_url(registry), user, password)?,
        None => {
            let auth = base64(format!("{user}:{password}").as_bytes());
            entry.insert("auth".into(), Value::String(auth));
        }
    }
    edit_auths(registry, Some(entry)).map(drop)
}

/// `docker logout`: forgets `registry`'s credentials, in `auths` first (a password
/// there must go even if the helper fails), then in its credential helper. Returns
/// whether there were any.
pub fn forget_credentials(registry: &str) -> Result<bool> {
    let config = DockerConfig::read()?;
    let helper = config.as_ref().and_then(|c| c.helper_for(registry));
    let removed = edit_auths(registry, None)?;
    let erased = match helper {
        Some(helper) => credential_helper::erase(helper, &server_url(registry))?,
        None => false,
    };
    Ok(removed || erased)
}

/// Sets `registry`'s entry in config.json's `auths` (or removes it with `None`), leaving
/// the rest of the file as it was. The file holds secrets: it is written 0600, whole,
/// through a rename. Returns whether anything changed.
fn edit_auths(registry: &str, entry: Option<Object>) -> Result<bool> {
    let dir = docker_config_dir();
    let path = dir.join("config.json");
    let mut config = match std::fs::read_to_string(&path) {
        Ok(text) => json::from_str::<Object>(&text).map_err(|_| {
            Error::new(Kind::Json {
                what: path.display().to_string(),
            })
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Object::new(),
        Err(e) => return Err(Error::from(e).context(format!("read {}", path.display()))),
    };
    let Value::Object(auths) = config
        .entry("auths".to_string())
        .or_insert_with(|| Value::Object(Object::new()))
    else {
        return Err(Error::invalid(format!(
            "{}: \"auths\" is not an object",
            path.display()
        )));
    };
    let keys = config_keys(registry);
    let changed = match entry {
        Some(entry) => {
            auths.insert(keys[0].clone(), Value::Object(entry));
            true
        }
        None => {
            keys.iter()
                .filter(|key| auths.remove(*key).is_some())
                .count()
                > 0
        }
    };
    write_private(&dir, &path, &json::to_string(&config))?;
    Ok(changed)
}

fn write_private(dir: &Path, path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("create {}", dir.display()))?;
    let temp = dir.join(format!(".config.json.{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .with_context(|| format!("create {}", temp.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temp, path).with_context(|| format!("rename to {}", path.display()))
}

/// Standard base64 (RFC 4648), for the `auth` field `docker login` writes.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            let sextet = (n >> (18 - 6 * i)) & 63;
            out.push(if i <= chunk.len() {
                ALPHABET[sextet as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

fn docker_config_dir() -> PathBuf {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
            .join(".docker"),
    }
}

/// The name Docker gives a registry's credentials: in `auths`, and on a credential
/// helper's stdin (Hub's is a historical URL).
fn server_url(registry: &str) -> String {
    config_keys(registry).swap_remove(0)
}

/// The keys `docker login` may have used for a registry (Hub's is a historical URL).
pub fn config_keys(registry: &str) -> Vec<String> {
    if registry == crate::reference::DOCKER_HUB {
        return [
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
        ]
        .map(String::from)
        .to_vec();
    }
    vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_hubs_challenge() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.docker.io/token");
        assert_eq!(c.params["service"], "registry.docker.io");
        assert_eq!(c.params["scope"], "repository:library/alpine:pull,push");
    }

    #[test]
    fn parses_basic_and_unquoted_values() {
        let c = parse_challenge(r#"Basic realm=registry, charset="UTF-8""#).unwrap();
        assert_eq!(c.scheme, "basic");
        assert_eq!(c.params["realm"], "registry");
        assert_eq!(c.params["charset"], "UTF-8");
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn hub_credentials_use_the_historical_key_first() {
        assert_eq!(config_keys("docker.io")[0], "https://index.docker.io/v1/");
        assert_eq!(config_keys("ghcr.io")[0], "ghcr.io");
    }
}
