//! Image references, normalised exactly as Docker does it.
//!
//! `alpine` → `docker.io/library/alpine:latest`; `user/app` → `docker.io/user/app:latest`;
//! a first component containing `.` or `:`, or equal to `localhost`, is a registry host
//! (`localhost:5000/x`, `ghcr.io/a/b`); `@sha256:…` pins the content by digest.
//! <https://github.com/distribution/reference/blob/main/reference.go> (the grammar)

use std::fmt;

use crate::digest::Digest;
use crate::error::{Error, Result};

pub const DOCKER_HUB: &str = "docker.io";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `ghcr.io`, `localhost:5000`, …
    pub registry: String,
    /// `library/alpine`, `user/app`, …
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Reference {
    pub fn parse(text: &str) -> Result<Reference> {
        parse(text).map_err(|why| Error::invalid(format!("invalid reference {text:?}: {why}")))
    }

    /// What to ask the registry for: the digest when pinned, else the tag.
    pub fn selector(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".into(),
        }
    }
}

fn parse(text: &str) -> std::result::Result<Reference, &'static str> {
    let (name, digest) = match text.split_once('@') {
        Some((name, digest)) => (name, Some(Digest::parse(digest).map_err(|_| "bad digest")?)),
        None => (text, None),
    };
    let (name, tag) = split_tag(name);
    if let Some(tag) = tag {
        check_tag(tag)?;
    }
    let (registry, path) = split_registry(name);
    check_host(&registry)?;
    check_path(path)?;
    let repository = if registry == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    };
    let tag = tag
        .map(str::to_string)
        .or_else(|| digest.is_none().then(|| "latest".to_string()));
    Ok(Reference {
        registry,
        repository,
        tag,
        digest,
    })
}

/// `name:tag` → (`name`, `tag`); a `:` before the last `/` is a registry port, not a tag.
fn split_tag(name: &str) -> (&str, Option<&str>) {
    match name.rfind(':') {
        Some(colon) if !name[colon..].contains('/') => (&name[..colon], Some(&name[colon + 1..])),
        _ => (name, None),
    }
}

fn split_registry(name: &str) -> (String, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            let host = if first == "index.docker.io" {
                DOCKER_HUB
            } else {
                first
            };
            (host.to_string(), rest)
        }
        _ => (DOCKER_HUB.to_string(), name),
    }
}

/// `host[:port]`: dot-separated labels of alphanumerics and inner hyphens, or `[v6]`.
fn check_host(host: &str) -> std::result::Result<(), &'static str> {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(':') => (name, Some(port)),
        _ => (host, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-'
    };
    let ipv6 = name.starts_with('[') && name.ends_with(']');
    let name_ok = ipv6 || name.split('.').all(label_ok);
    if port_ok && name_ok {
        Ok(())
    } else {
        Err("bad registry host")
    }
}

fn check_tag(tag: &str) -> std::result::Result<(), &'static str> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    match bytes.first() {
        Some(&first) if word(first) && bytes.len() <= 128 => {}
        _ => return Err("bad tag"),
    }
    if bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-') {
        Ok(())
    } else {
        Err("bad tag")
    }
}

/// Path components: lower-case alphanumerics joined by `.`, `_`, `__` or runs of `-`.
fn check_path(path: &str) -> std::result::Result<(), &'static str> {
    if path.is_empty() || path.len() > 255 {
        return Err("bad repository name length");
    }
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("repository name must be lowercase");
    }
    if path.split('/').all(valid_component) {
        Ok(())
    } else {
        Err("bad repository name")
    }
}

fn valid_component(component: &str) -> bool {
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = component.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    component
        .split(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        .all(|sep| matches!(sep, "" | "." | "_" | "__") || sep.bytes().all(|b| b == b'-'))
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn normal(text: &str) -> String {
        Reference::parse(text).unwrap().to_string()
    }

    #[test]
    fn short_name_means_docker_hub_library() {
        assert_eq!(normal("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(normal("alpine:3.20"), "docker.io/library/alpine:3.20");
    }

    #[test]
    fn user_repositories_stay_on_docker_hub() {
        assert_eq!(normal("user/app"), "docker.io/user/app:latest");
        assert_eq!(normal("docker.io/user/app:v1"), "docker.io/user/app:v1");
        assert_eq!(
            normal("index.docker.io/library/busybox"),
            "docker.io/library/busybox:latest"
        );
    }

    #[test]
    fn first_component_with_dot_colon_or_localhost_is_a_host() {
        assert_eq!(normal("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(normal("localhost/x:1"), "localhost/x:1");
        assert_eq!(normal("ghcr.io/a/b"), "ghcr.io/a/b:latest");
        assert_eq!(
            normal("127.0.0.1:5555/library/busybox:oci"),
            "127.0.0.1:5555/library/busybox:oci"
        );
    }

    #[test]
    fn digest_pins_without_a_default_tag() {
        let r = Reference::parse(&format!("alpine@{DIGEST}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.selector(), DIGEST);
        assert_eq!(r.to_string(), format!("docker.io/library/alpine@{DIGEST}"));
        let both = Reference::parse(&format!("alpine:3@{DIGEST}")).unwrap();
        assert_eq!(both.selector(), DIGEST);
    }

    #[test]
    fn malformed_references_are_refused() {
        for bad in [
            "",
            "Alpine",
            "alpine:",
            "alpine:-x",
            "a//b",
            "-a",
            "a-",
            "a@sha256:12",
            "../etc",
            "a b",
            "alpine:tag/x",
            "ALPINE/x",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn separators_inside_components_are_accepted() {
        assert_eq!(
            normal("my_app/some--thing__x.v2"),
            "docker.io/my_app/some--thing__x.v2:latest"
        );
    }

    #[test]
    fn errors_name_the_reference() {
        let err = Reference::parse("Alpine").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid reference \"Alpine\": repository name must be lowercase"
        );
    }
}
