//! IPv4 subnets: the bridges', chosen so that each collides with no route the host
//! already has and no other bridge of skiff's (a subnet that overlapped the host's LAN would hide the LAN from
//! every container, and the containers from the LAN).
//!
//! The host's routes come from /proc/net/route (proc(5)): one line per route, the
//! destination and mask printed as the hexadecimal of their network-order bytes read as
//! one native integer.
//! <https://man7.org/linux/man-pages/man5/proc_net.5.html>

use std::fmt;
use std::net::Ipv4Addr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subnet {
    pub base: Ipv4Addr,
    pub prefix: u8,
}

/// The second octets of the candidates, 10.N.0.0/16, in order: the default bridge's
/// from 10.88.0.0/16, as podman's; user networks' from the next one, so that a network
/// defined before the default bridge is first made does not take its subnet.
pub const DEFAULTS: std::ops::RangeInclusive<u8> = 88..=99;
pub const USERS: std::ops::RangeInclusive<u8> = 89..=99;

impl Subnet {
    pub fn parse(text: &str) -> Option<Subnet> {
        let (base, prefix) = text.trim().split_once('/')?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 30)?;
        Some(Subnet {
            base: base.parse().ok()?,
            prefix,
        })
    }

    fn mask(prefix: u8) -> u32 {
        u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
    }

    /// The `n`th address of the subnet: 1 is the gateway, the bridge's own.
    pub fn host(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) + n)
    }

    pub fn gateway(&self) -> Ipv4Addr {
        self.host(1)
    }

    /// The addresses hosts may take: all but the network's and the broadcast address
    /// (the gateway, the first by default, is one of them).
    pub fn hosts(&self) -> std::ops::Range<u32> {
        1..(1u32 << (32 - self.prefix)) - 1
    }

    /// Whether `ip` is in it; its base is the first address when `ip` is `base`.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & Subnet::mask(self.prefix) == u32::from(self.base)
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        let mask = Subnet::mask(self.prefix.min(other.prefix));
        u32::from(self.base) & mask == u32::from(other.base) & mask
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// The routes in `route_table` (the text of /proc/net/route), leaving out default
/// routes and those through `own_bridge`.
pub fn routes(route_table: &str, own_bridge: &str) -> Vec<Subnet> {
    route_table
        .lines()
        .skip(1)
        .filter_map(route)
        .filter(|(iface, _)| *iface != own_bridge)
        .map(|(_, subnet)| subnet)
        .collect()
}

/// Whether `route_table` routes `subnet` through the link `iface`: true of a bridge
/// that holds an address of the subnet (the kernel adds that route with the address).
pub fn routed_through(route_table: &str, subnet: &Subnet, iface: &str) -> bool {
    route_table
        .lines()
        .skip(1)
        .filter_map(route)
        .any(|route| route == (iface, *subnet))
}

/// The first of `candidates` that overlaps nothing `taken`.
pub fn first_free(candidates: std::ops::RangeInclusive<u8>, taken: &[Subnet]) -> Option<Subnet> {
    candidates
        .map(|second| Subnet {
            base: Ipv4Addr::new(10, second, 0, 0),
            prefix: 16,
        })
        .find(|candidate| !taken.iter().any(|t| t.overlaps(candidate)))
}

/// One line of /proc/net/route: `Iface Destination Gateway Flags RefCnt Use Metric Mask …`,
/// as its link and the subnet it routes (none for a default route).
fn route(line: &str) -> Option<(&str, Subnet)> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let hex = |field: &str| u32::from_str_radix(field, 16).ok();
    let (iface, destination, mask) = (fields.first()?, hex(fields.get(1)?)?, hex(fields.get(7)?)?);
    let mask = u32::from_be_bytes(mask.to_ne_bytes());
    if mask == 0 {
        return None;
    }
    let subnet = Subnet {
        base: Ipv4Addr::from(destination.to_ne_bytes()),
        prefix: mask.leading_ones() as u8,
    };
    Some((iface, subnet))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

    fn line(iface: &str, net: [u8; 4], prefix: u8) -> String {
        let dest = u32::from_ne_bytes(net);
        let mask = u32::from_ne_bytes(Subnet::mask(prefix).to_be_bytes());
        format!("{iface}\t{dest:08X}\t00000000\t0001\t0\t0\t0\t{mask:08X}\t0\t0\t0\n")
    }

    /// The default subnet a bridge named skiff0 gets beside the routes of `table`.
    fn free_default(table: &str) -> String {
        first_free(DEFAULTS, &routes(table, "skiff0"))
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_first_candidate_when_nothing_collides() {
        let table = format!(
            "{HEADER}{}{}",
            line("eth0", [0; 4], 0),
            line("eth0", [192, 168, 1, 0], 24)
        );
        assert_eq!(free_default(&table), "10.88.0.0/16");
    }

    #[test]
    fn a_host_route_inside_or_around_a_candidate_skips_it() {
        let table = format!(
            "{HEADER}{}{}",
            line("eth0", [10, 88, 5, 0], 24),
            line("wg0", [10, 89, 0, 0], 15)
        );
        assert_eq!(free_default(&table), "10.90.0.0/16");
        let everything = format!("{HEADER}{}", line("eth0", [10, 0, 0, 0], 8));
        assert_eq!(first_free(DEFAULTS, &routes(&everything, "skiff0")), None);
    }

    #[test]
    fn the_bridges_own_route_does_not_count() {
        let table = format!("{HEADER}{}", line("skiff0", [10, 88, 0, 0], 16));
        assert_eq!(free_default(&table), "10.88.0.0/16");
    }

    #[test]
    fn a_bridge_is_known_by_the_route_its_address_brings() {
        let table = format!("{HEADER}{}", line("skiff0", [10, 88, 0, 0], 16));
        let subnet = |text| Subnet::parse(text).unwrap();
        assert!(routed_through(&table, &subnet("10.88.0.0/16"), "skiff0"));
        assert!(!routed_through(&table, &subnet("10.89.0.0/16"), "skiff0"));
        assert!(!routed_through(
            &table,
            &subnet("10.88.0.0/16"),
            "br-0123456789ab"
        ));
    }

    #[test]
    fn hosts_leave_out_network_and_broadcast() {
        let subnet = Subnet::parse("10.88.0.0/16").unwrap();
        assert_eq!(subnet.gateway(), Ipv4Addr::new(10, 88, 0, 1));
        assert_eq!(subnet.hosts(), 1..65535);
        assert_eq!(subnet.host(300), Ipv4Addr::new(10, 88, 1, 44));
        assert_eq!(Subnet::parse("10.88.0.0/31"), None);
    }
}
