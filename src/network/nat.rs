//! skiff's nf_tables table: outbound NAT for every bridge, and isolation between them.
//!
//! Masquerade: the containers' packets leave the host with the host's address, so
//! whatever the host reaches, they reach, and the answers find their way back.
//! Isolation: the host routes between its links, bridges included, so two networks'
//! containers would reach each other through it; a rule in the forward hook drops
//! what comes in by one skiff bridge to go out by another. A published port stays
//! open to every network, as Docker's are (moby#38784): a connection to the host's
//! address that `skiff_ports` rewrote to a container's is let through first, by
//! conntrack's record of that rewrite (`ct status dnat`, set for the answers too).
//! Linux does both in netfilter; skiff asks for them in nf_tables' own netlink
//! language, as `nft` would, with no `nft` or `iptables` binary:
//!
//! ```text
//! table ip skiff {
//!     chain postrouting {
//!         type nat hook postrouting priority 100; policy accept;
//!         ip saddr 10.88.0.0/16 oifname != "skiff0" masquerade
//!         ip saddr 10.89.0.0/16 oifname != "br-3f2a…" masquerade
//!     }
//!     chain forward {
//!         type filter hook forward priority 0; policy accept;
//!         ct status dnat accept
//!         iifname "skiff0" oifname "br-3f2a…" drop
//!         iifname "br-3f2a…" oifname "skiff0" drop
//!     }
//! }
//! ```
//!
//! The table is built whole from the set of bridges (`bridge::made`) and replaced in
//! one batch under the network lock whenever that set changes: whatever a crash
//! interrupted, the next change writes it right (see `nftables`). A rule, expression by
//! expression: load a field (the source address, masked; an interface's name), compare
//! it, act (`masq`, or the verdict `drop`).
//! <https://docs.kernel.org/networking/netlink_spec/nftables.html>
//! <https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/tree/include/uapi/linux/netfilter/nf_tables.h>

use super::netlink::Request;
use super::nftables::{
    self, Hook, IPS_DST_NAT, NFT_CMP_EQ, NFT_CMP_NEQ, NFT_CT_STATUS, NFT_META_IIFNAME,
    NFT_META_OIFNAME, NF_ACCEPT, NF_DROP, NF_INET_FORWARD, NF_INET_POST_ROUTING,
};
use super::subnet::Subnet;
use crate::error::Result;

const TABLE: &str = "skiff";
const POSTROUTING: &str = "postrouting";
const FORWARD: &str = "forward";

/// Makes table `skiff` again, from scratch, for `bridges` (name and subnet each).
pub fn rebuild(bridges: &[(String, Subnet)]) -> Result<()> {
    // srcnat: after routing and filtering, as the packet leaves
    let nat = Hook {
        number: NF_INET_POST_ROUTING,
        priority: 100,
        kind: "nat",
    };
    let filter = Hook {
        number: NF_INET_FORWARD,
        priority: 0,
        kind: "filter",
    };
    let mut contents = vec![
        nftables::base_chain(TABLE, POSTROUTING, &nat),
        nftables::base_chain(TABLE, FORWARD, &filter),
        spare_published_ports(),
    ];
    for (bridge, subnet) in bridges {
        contents.push(masquerade(subnet, bridge));
        for (other, _) in bridges.iter().filter(|(other, _)| other != bridge) {
            contents.push(isolate(bridge, other));
        }
    }
    nftables::replace_table(TABLE, contents)
}

/// Says, in one line on stderr, if another firewall's forward chain drops what
/// `bridge`'s containers send beyond the host (Docker's FORWARD policy, see
/// `nftables::forward_drops`). skiff never writes into Docker's or iptables' tables
/// (iptables-nft would then find them foreign); the user adds the two rules Docker
/// keeps DOCKER-USER for. Asked when a bridge is made, not on every run; a failed
/// question only loses the warning.
pub fn warn_if_forward_drops(bridge: &str) {
    if nftables::forward_drops().unwrap_or(false) {
        eprintln!(
            "skiff: warning: the iptables FORWARD policy is DROP (Docker's?): containers on {bridge} \
             reach nothing beyond this host until `iptables -I DOCKER-USER -i {bridge} -j ACCEPT` \
             and `iptables -I DOCKER-USER -o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`"
        );
    }
}

/// `ip saddr SUBNET oifname != BRIDGE masquerade`.
fn masquerade(subnet: &Subnet, bridge: &str) -> Request {
    let what = format!("ip saddr {subnet} oifname != {bridge} masquerade");
    let mask = (u32::MAX << (32 - u32::from(subnet.prefix))).to_be_bytes();
    nftables::rule(TABLE, POSTROUTING, what, |list| {
        // the IPv4 header's source address: offset 12, 4 bytes
        nftables::load_payload(list, nftables::NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
        nftables::mask(list, &mask);
        nftables::compare(list, NFT_CMP_EQ, &subnet.base.octets());
        nftables::load_meta(list, NFT_META_OIFNAME);
        nftables::compare(list, NFT_CMP_NEQ, &nftables::interface_name(bridge));
        nftables::expression(list, "masq", |_| {});
    })
}

/// `ct status dnat accept`: before any drop, so isolation spares published ports.
fn spare_published_ports() -> Request {
    let what = "ct status dnat accept".to_string();
    nftables::rule(TABLE, FORWARD, what, |list| {
        // the status is a u32 in the machine's byte order, as conntrack keeps it
        nftables::load_conntrack(list, NFT_CT_STATUS);
        nftables::mask(list, &IPS_DST_NAT.to_ne_bytes());
        nftables::compare(list, NFT_CMP_NEQ, &0u32.to_ne_bytes());
        nftables::verdict(list, NF_ACCEPT);
    })
}

/// `iifname FROM oifname TO drop`.
fn isolate(from: &str, to: &str) -> Request {
    let what = format!("iifname {from} oifname {to} drop");
    nftables::rule(TABLE, FORWARD, what, |list| {
        nftables::load_meta(list, NFT_META_IIFNAME);
        nftables::compare(list, NFT_CMP_EQ, &nftables::interface_name(from));
        nftables::load_meta(list, NFT_META_OIFNAME);
        nftables::compare(list, NFT_CMP_EQ, &nftables::interface_name(to));
        nftables::verdict(list, NF_DROP);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    #[test]
    fn the_rule_runs_its_expressions_in_order() {
        let subnet = Subnet::parse("10.88.0.0/16").unwrap();
        let bytes = masquerade(&subnet, "skiff0").bytes();
        let names = [
            "payload\0",
            "bitwise\0",
            "cmp\0",
            "meta\0",
            "cmp\0",
            "masq\0",
        ];
        let mut at = 0;
        for name in names {
            let found = find(&bytes[at..], name.as_bytes()).unwrap_or_else(|| panic!("{name}"));
            at += found + name.len();
        }
        assert!(find(&bytes, &[255, 255, 0, 0]).is_some(), "the /16 mask");
        assert!(find(&bytes, &[10, 88, 0, 0]).is_some(), "the subnet");
        assert!(
            find(&bytes, b"skiff0\0\0\0\0\0\0\0\0\0\0").is_some(),
            "IFNAMSIZ"
        );
    }
}
