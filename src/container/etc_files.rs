//! The three files Docker writes for every container and mounts over the image's:
//! `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`. They live in the container's
//! scratch directory, so the container may change them without touching the image
//! (unless `--read-only`), and they go when it goes.
//!
//! resolv.conf is the host's, less nameservers on loopback: 127.0.0.53 (systemd-resolved)
//! or ::1 answer on the host's loopback, which a container with a network of its own
//! cannot reach. When none is left, Docker's fallback: Google's public servers.
//! <https://man7.org/linux/man-pages/man5/hosts.5.html>
//! <https://man7.org/linux/man-pages/man5/resolv.conf.5.html>
//! <https://docs.docker.com/engine/network/#dns-services>

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Context, Result};

/// Docker's fallback when the host names no nameserver the container can reach.
const FALLBACK_NAMESERVERS: &str = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";

/// `(path inside the container, file written in scratch)`, for each of the three.
pub fn write(scratch: &Path, hostname: &str) -> Result<Vec<(PathBuf, PathBuf)>> {
    let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let files = [
        ("hostname", format!("{hostname}\n")),
        ("hosts", hosts(hostname)),
        ("resolv.conf", resolv_conf(&host_resolv)),
    ];
    let mut written = Vec::new();
    for (name, content) in files {
        let path = scratch.join(name);
        fs::write(&path, content).with_context(|| format!("write {}", path.display()))?;
        written.push((Path::new("etc").join(name), path));
    }
    Ok(written)
}

/// Docker's /etc/hosts: loopback names, then the container's own name.
fn hosts(hostname: &str) -> String {
    format!(
        "127.0.0.1\tlocalhost\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\n\
         ff00::0\tip6-mcastprefix\n\
         ff02::1\tip6-allnodes\n\
         ff02::2\tip6-allrouters\n\
         127.0.0.1\t{hostname}\n"
    )
}

/// The host's resolv.conf without loopback nameservers; Docker's fallback if none is left.
fn resolv_conf(host: &str) -> String {
    let is_loopback_nameserver = |line: &str| {
        let mut words = line.split_whitespace();
        words.next() == Some("nameserver")
            && words
                .next()
                .and_then(|address| address.parse::<std::net::IpAddr>().ok())
                .is_some_and(|address| address.is_loopback())
    };
    let kept: Vec<&str> = host
        .lines()
        .filter(|line| !is_loopback_nameserver(line))
        .collect();
    let mut conf: String = kept.iter().map(|line| format!("{line}\n")).collect();
    if !kept
        .iter()
        .any(|line| line.trim_start().starts_with("nameserver"))
    {
        conf.push_str(FALLBACK_NAMESERVERS);
    }
    conf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_nameservers_give_way_to_dockers_fallback() {
        let host = "# managed\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\n";
        assert_eq!(
            resolv_conf(host),
            "# managed\noptions edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        assert_eq!(resolv_conf(""), FALLBACK_NAMESERVERS);
    }

    #[test]
    fn reachable_nameservers_are_kept_as_they_are() {
        let host = "search lan\nnameserver 10.0.0.1\nnameserver 127.0.0.1\n";
        assert_eq!(resolv_conf(host), "search lan\nnameserver 10.0.0.1\n");
    }

    #[test]
    fn hosts_ends_with_the_containers_name() {
        let hosts = hosts("boat");
        assert!(hosts.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(hosts.ends_with("127.0.0.1\tboat\n"));
    }
}
