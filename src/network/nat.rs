//! Outbound NAT: the containers' packets leave the host with the host's address
//! (masquerade), so whatever the host reaches, they reach, and the answers find their
//! way back. Linux does this in netfilter; skiff asks for it in nf_tables' own netlink
//! language, as `nft` would, with no `nft` or `iptables` binary:
//!
//! ```text
//! table ip skiff {
//!     chain postrouting {
//!         type nat hook postrouting priority 100; policy accept;
//!         ip saddr 10.88.0.0/16 oifname != "skiff0" masquerade
//!     }
//! }
//! ```
//!
//! The rule, expression by expression: load the source address, mask it, compare;
//! load the output interface's name, compare; masquerade (see `nftables` for the
//! language). The table is skiff's alone and stays up with the bridge.
//! <https://docs.kernel.org/networking/netlink_spec/nftables.html>
//! <https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/tree/include/uapi/linux/netfilter/nf_tables.h>

use super::netlink::Request;
use super::nftables::{self, Hook, NFT_CMP_EQ, NFT_CMP_NEQ, NF_INET_POST_ROUTING};
use super::subnet::Subnet;
use crate::error::Result;

const TABLE: &str = "skiff";
const CHAIN: &str = "postrouting";

/// Makes (or makes again, from scratch) table `skiff` with the masquerade rule for
/// `subnet`'s packets leaving by any link but `bridge`.
pub fn masquerade(subnet: &Subnet, bridge: &str) -> Result<()> {
    // srcnat: after routing and filtering, as the packet leaves
    let hook = Hook {
        number: NF_INET_POST_ROUTING,
        priority: 100,
        kind: "nat",
    };
    nftables::replace_table(
        TABLE,
        vec![
            nftables::base_chain(TABLE, CHAIN, &hook),
            rule(subnet, bridge),
        ],
    )
}

/// `ip saddr SUBNET oifname != BRIDGE masquerade`, expression by expression.
fn rule(subnet: &Subnet, bridge: &str) -> Request {
    let what = format!("ip saddr {subnet} oifname != {bridge} masquerade");
    let mask = (u32::MAX << (32 - u32::from(subnet.prefix))).to_be_bytes();
    nftables::rule(TABLE, CHAIN, what, |list| {
        // the IPv4 header's source address: offset 12, 4 bytes
        nftables::load_payload(list, nftables::NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
        nftables::mask(list, &mask);
        nftables::compare(list, NFT_CMP_EQ, &subnet.base.octets());
        nftables::load_meta(list, nftables::NFT_META_OIFNAME);
        nftables::compare(list, NFT_CMP_NEQ, &nftables::interface_name(bridge));
        nftables::expression(list, "masq", |_| {});
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
        let bytes = rule(&subnet, "skiff0").bytes();
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
