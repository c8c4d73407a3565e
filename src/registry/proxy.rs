//! Which proxy a request goes through, read from the environment as Docker (Go's
//! `net/http`) reads it.
//!
//! - `HTTPS_PROXY` for `https://` URLs, `HTTP_PROXY` for `http://` ones, upper case first,
//!   then lower; curl's `ALL_PROXY` is the fallback for both. `http://` and `https://`
//!   proxies only (no SOCKS); ureq tunnels every proxied request with `CONNECT host:port`.
//! - `NO_PROXY` lists who is reached directly: `example.com` (and its subdomains),
//!   `.example.com` or `*.example.com` (subdomains only), `host:port`, an IP address,
//!   a CIDR range such as `10.0.0.0/8`, or `*` for everyone.
//! - Loopback (`localhost`, `127.0.0.0/8`, `::1`) is always reached directly.
//!
//! ureq reads these variables itself too, but one proxy for both schemes and a
//! `NO_PROXY` without subdomains, ports or ranges, so skiff decides and tells it.
//! <https://pkg.go.dev/golang.org/x/net/http/httpproxy#Config>
//! <https://curl.se/docs/manpage.html#ENVIRONMENT>

use std::net::IpAddr;

use ureq::{Proxy, ProxyProtocol};

use crate::error::{Error, Result};

/// The proxy settings of the environment.
pub struct Proxies {
    http: Option<Proxy>,
    https: Option<Proxy>,
    no_proxy: Vec<Bypass>,
}

impl Proxies {
    /// Reads the variables through `env` (the process's environment, or a test's).
    pub fn new(env: impl Fn(&str) -> Option<String>) -> Result<Proxies> {
        let first = |names: [&'static str; 2]| {
            let found = names.iter().find_map(|name| Some((*name, env(name)?)));
            found
                .map(|(name, value)| parse_proxy(name, &value))
                .transpose()
        };
        let all = first(["ALL_PROXY", "all_proxy"])?;
        let https = first(["HTTPS_PROXY", "https_proxy"])?.or_else(|| all.clone());
        let http = first(["HTTP_PROXY", "http_proxy"])?.or(all);
        let no_proxy = env("NO_PROXY").or_else(|| env("no_proxy"));
        let no_proxy = no_proxy.map_or_else(Vec::new, |list| {
            list.split(',').filter_map(Bypass::parse).collect()
        });
        Ok(Proxies {
            http,
            https,
            no_proxy,
        })
    }

    /// The proxy for `https`://`host`:`port` (`host` in lower case, IPv6 without
    /// brackets), or `None` to connect directly.
    pub fn for_target(&self, https: bool, host: &str, port: u16) -> Option<Proxy> {
        let loopback =
            host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let bypass = self.no_proxy.iter().any(|b| b.matches(host, port));
        if loopback || bypass {
            return None;
        }
        if https {
            self.https.clone()
        } else {
            self.http.clone()
        }
    }
}

fn parse_proxy(variable: &str, value: &str) -> Result<Proxy> {
    let invalid = || Error::invalid(format!("{variable}: {value:?} is not a proxy URL"));
    let proxy = Proxy::new(value).map_err(|_| invalid())?;
    match proxy.protocol() {
        ProxyProtocol::Http | ProxyProtocol::Https => Ok(proxy),
        other => Err(Error::invalid(format!(
            "{variable}: {other} proxies are not supported (HTTP or HTTPS only)"
        ))),
    }
}

/// One entry of `NO_PROXY`.
#[derive(Debug, PartialEq)]
enum Bypass {
    Everything,
    /// An IP address (all its bits) or a CIDR range, with a port if one was given.
    Network {
        address: IpAddr,
        bits: u32,
        port: Option<u16>,
    },
    /// `example.com`: that host and its subdomains; `.example.com`: subdomains only.
    Domain {
        name: String,
        subdomains_only: bool,
        port: Option<u16>,
    },
}

impl Bypass {
    fn parse(entry: &str) -> Option<Bypass> {
        let entry = entry.trim().to_ascii_lowercase();
        if entry == "*" {
            return Some(Bypass::Everything);
        }
        if let Some((address, bits)) = entry.split_once('/') {
            let address: IpAddr = address.parse().ok()?;
            let bits = bits.parse().ok().filter(|b| *b <= full_bits(address))?;
            return Some(Bypass::Network {
                address,
                bits,
                port: None,
            });
        }
        let (host, port) = split_port(&entry);
        if let Ok(address) = host.parse::<IpAddr>() {
            let bits = full_bits(address);
            return Some(Bypass::Network {
                address,
                bits,
                port,
            });
        }
        let host = host.strip_prefix('*').unwrap_or(host); // `*.example.com`
        let (name, subdomains_only) = match host.strip_prefix('.') {
            Some(name) => (name, true),
            None => (host, false),
        };
        (!name.is_empty()).then(|| Bypass::Domain {
            name: name.to_string(),
            subdomains_only,
            port,
        })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        match self {
            Bypass::Everything => true,
            Bypass::Network {
                address,
                bits,
                port: want,
            } => {
                want.is_none_or(|p| p == port)
                    && host
                        .parse()
                        .is_ok_and(|ip| same_prefix(ip, *address, *bits))
            }
            Bypass::Domain {
                name,
                subdomains_only,
                port: want,
            } => {
                let below = host
                    .strip_suffix(name.as_str())
                    .is_some_and(|rest| rest.ends_with('.'));
                want.is_none_or(|p| p == port) && (below || (!subdomains_only && host == name))
            }
        }
    }
}

/// `host:port`, `[v6]:port`, `v6` or `host` → host and port.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some((host, rest)) = entry.strip_prefix('[').and_then(|e| e.split_once(']')) {
        return (host, rest.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, port.parse().ok()),
        _ => (entry, None),
    }
}

fn full_bits(address: IpAddr) -> u32 {
    if address.is_ipv4() {
        32
    } else {
        128
    }
}

fn same_prefix(ip: IpAddr, network: IpAddr, bits: u32) -> bool {
    let (a, b) = match (ip, network) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(a.to_bits()), u128::from(b.to_bits())),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.to_bits(), b.to_bits()),
        _ => return false,
    };
    let shift = full_bits(ip) - bits;
    shift == full_bits(ip) || a >> shift == b >> shift
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(vars: &[(&str, &str)]) -> Proxies {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Proxies::new(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap()
    }

    /// The proxy `url` goes through, as `host:port`, or "direct".
    fn route(proxies: &Proxies, url: &str) -> String {
        let uri: ureq::http::Uri = url.parse().unwrap();
        let https = uri.scheme_str() == Some("https");
        let host = uri
            .host()
            .unwrap()
            .trim_matches(['[', ']'])
            .to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        proxies
            .for_target(https, &host, port)
            .map_or("direct".into(), |p| format!("{}:{}", p.host(), p.port()))
    }

    #[test]
    fn each_scheme_has_its_proxy_and_all_proxy_is_the_fallback() {
        let p = proxies(&[("HTTPS_PROXY", "http://s:3128"), ("http_proxy", "h:8080")]);
        assert_eq!(route(&p, "https://ghcr.io/v2/"), "s:3128");
        assert_eq!(route(&p, "http://r.example:5000/v2/"), "h:8080");
        let p = proxies(&[("ALL_PROXY", "http://a:1"), ("https_proxy", "http://s:2")]);
        assert_eq!(route(&p, "https://ghcr.io/v2/"), "s:2");
        assert_eq!(route(&p, "http://r.example/v2/"), "a:1");
        let p = proxies(&[("HTTP_PROXY", "http://h:1")]);
        assert_eq!(route(&p, "https://ghcr.io/v2/"), "direct");
    }

    #[test]
    fn upper_case_wins_as_in_docker() {
        let p = proxies(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:2"),
        ]);
        assert_eq!(route(&p, "https://ghcr.io/"), "upper:1");
    }

    #[test]
    fn loopback_is_never_proxied() {
        let p = proxies(&[("HTTP_PROXY", "http://h:1"), ("HTTPS_PROXY", "http://h:1")]);
        for url in [
            "http://127.0.0.1:5555/v2/",
            "http://localhost:5000/v2/",
            "https://[::1]:443/v2/",
        ] {
            assert_eq!(route(&p, url), "direct", "{url}");
        }
    }

    #[test]
    fn no_proxy_matches_like_docker() {
        let p = proxies(&[
            ("HTTPS_PROXY", "http://p:1"),
            (
                "NO_PROXY",
                "docker.io, .corp.example,internal:5000,10.0.0.0/8,192.168.1.7,[fd00::1]:443",
            ),
        ]);
        let direct = [
            "https://docker.io/",
            "https://registry-1.docker.io/",
            "https://AUTH.Docker.IO:5556/token",
            "https://a.corp.example/",
            "https://internal:5000/",
            "https://10.1.2.3/",
            "https://192.168.1.7:8443/",
            "https://[fd00::1]/",
        ];
        let proxied = [
            "https://notdocker.io/",
            "https://corp.example/",
            "https://internal/",
            "https://11.0.0.1/",
            "https://192.168.1.8/",
            "https://[fd00::1]:8443/",
        ];
        for url in direct {
            assert_eq!(route(&p, url), "direct", "{url}");
        }
        for url in proxied {
            assert_eq!(route(&p, url), "p:1", "{url}");
        }
        let everything = proxies(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", "*")]);
        assert_eq!(route(&everything, "https://ghcr.io/"), "direct");
    }

    #[test]
    fn no_proxy_entries_parse() {
        assert_eq!(
            Bypass::parse("*.Example.com:8080"),
            Some(Bypass::Domain {
                name: "example.com".into(),
                subdomains_only: true,
                port: Some(8080)
            })
        );
        assert_eq!(Bypass::parse(" "), None);
        assert_eq!(Bypass::parse("10.0.0.0/33"), None);
        assert_eq!(
            Bypass::parse("::1"),
            Some(Bypass::Network {
                address: "::1".parse().unwrap(),
                bits: 128,
                port: None
            })
        );
    }

    #[test]
    fn a_bad_or_unsupported_proxy_is_a_clear_error() {
        let env = |value: &'static str| {
            move |name: &str| (name == "HTTPS_PROXY").then(|| value.to_string())
        };
        let err = Proxies::new(env("socks5://p:1080")).err().unwrap();
        assert_eq!(
            err.to_string(),
            "HTTPS_PROXY: SOCKS5 proxies are not supported (HTTP or HTTPS only)"
        );
        let err = Proxies::new(env("http://[bad")).err().unwrap();
        assert_eq!(
            err.to_string(),
            "HTTPS_PROXY: \"http://[bad\" is not a proxy URL"
        );
    }
}
