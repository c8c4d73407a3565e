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
//! nf_tables changes go in a batch, applied whole or not at all: `BATCH_BEGIN`, the
//! messages, `BATCH_END`, in one datagram on a NETLINK_NETFILTER socket. Each message
//! is a netlink header, a `struct nfgenmsg` (the family: `ip`), and attributes. A rule
//! is a list of expressions run on a small register machine: load the source address
//! into register 1, mask it, compare; load the output interface's name, compare;
//! masquerade. The table is skiff's alone and goes with the bridge.
//! <https://docs.kernel.org/networking/netlink_spec/nftables.html>
//! <https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/tree/include/uapi/linux/netfilter/nf_tables.h>

use super::netlink::{Request, Socket, NETLINK_NETFILTER, NLM_F_ACK, NLM_F_CREATE};
use super::subnet::Subnet;
use crate::error::Result;

// linux/netfilter/nfnetlink.h, linux/netfilter/nf_tables.h, linux/netfilter.h
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFPROTO_UNSPEC: u8 = 0;
const NFPROTO_IPV4: u8 = 2;
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NF_INET_POST_ROUTING: u32 = 4;
const NF_ACCEPT: u32 = 1;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFT_REG_1: u32 = 1;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFTA_BITWISE_SREG: u16 = 1;
const NFTA_BITWISE_DREG: u16 = 2;
const NFTA_BITWISE_LEN: u16 = 3;
const NFTA_BITWISE_MASK: u16 = 4;
const NFTA_BITWISE_XOR: u16 = 5;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFT_CMP_EQ: u32 = 0;
const NFT_CMP_NEQ: u32 = 1;
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFT_META_OIFNAME: u32 = 7;

const TABLE: &str = "skiff";
const CHAIN: &str = "postrouting";

/// Makes (or makes again, from scratch) table `skiff` with the masquerade rule for
/// `subnet`'s packets leaving by any link but `bridge`.
pub fn masquerade(subnet: &Subnet, bridge: &str) -> Result<()> {
    let socket = Socket::open_for(NETLINK_NETFILTER)?;
    // Adding a table that exists is no error, deleting one that does not is: so
    // add, delete, add is "a new, empty table" whatever a crash left behind.
    socket.ask_all(&[
        batch(NFNL_MSG_BATCH_BEGIN),
        table(NFT_MSG_NEWTABLE, NLM_F_CREATE),
        table(NFT_MSG_DELTABLE, 0),
        table(NFT_MSG_NEWTABLE, NLM_F_CREATE),
        chain(),
        rule(subnet, bridge),
        batch(NFNL_MSG_BATCH_END),
    ])
}

/// Deletes table `skiff`, its chain and rule with it; fine if there is none.
pub fn remove() -> Result<()> {
    let socket = Socket::open_for(NETLINK_NETFILTER)?;
    let deleted = socket.ask_all(&[
        batch(NFNL_MSG_BATCH_BEGIN),
        table(NFT_MSG_DELTABLE, 0),
        batch(NFNL_MSG_BATCH_END),
    ]);
    match deleted {
        Err(err) if err.errno() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

/// `struct nfgenmsg`: the family, version 0, and a big-endian resource ID.
fn nfgenmsg(family: u8, resource: u16) -> [u8; 4] {
    let id = resource.to_be_bytes();
    [family, 0, id[0], id[1]]
}

fn batch(kind: u16) -> Request {
    let mut request = Request::new(kind, 0, "nfnetlink", "batch".into());
    request.push(&nfgenmsg(NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES));
    request
}

/// A message of nf_tables (`NFT_MSG_*`), acknowledged, for the `ip` family.
fn nft(kind: u16, flags: u16, name: &'static str, what: &str) -> Request {
    let kind = NFNL_SUBSYS_NFTABLES << 8 | kind;
    let mut request = Request::new(kind, NLM_F_ACK | flags, name, what.into());
    request.push(&nfgenmsg(NFPROTO_IPV4, 0));
    request
}

fn table(kind: u16, flags: u16) -> Request {
    let name = match kind {
        NFT_MSG_DELTABLE => "NFT_MSG_DELTABLE",
        _ => "NFT_MSG_NEWTABLE",
    };
    let mut request = nft(kind, flags, name, "ip skiff");
    request.attr_str(NFTA_TABLE_NAME, TABLE);
    request
}

/// A base chain: attached to the POSTROUTING hook, of type `nat`, at priority 100
/// (srcnat, after filtering), letting everything through that no rule changes.
fn chain() -> Request {
    let mut request = nft(
        NFT_MSG_NEWCHAIN,
        NLM_F_CREATE,
        "NFT_MSG_NEWCHAIN",
        "ip skiff postrouting",
    );
    request
        .attr_str(NFTA_CHAIN_TABLE, TABLE)
        .attr_str(NFTA_CHAIN_NAME, CHAIN)
        .nest(NFTA_CHAIN_HOOK, |hook| {
            hook.attr(NFTA_HOOK_HOOKNUM, &NF_INET_POST_ROUTING.to_be_bytes())
                .attr(NFTA_HOOK_PRIORITY, &100u32.to_be_bytes());
        })
        .attr(NFTA_CHAIN_POLICY, &NF_ACCEPT.to_be_bytes())
        .attr_str(NFTA_CHAIN_TYPE, "nat");
    request
}

/// `ip saddr SUBNET oifname != BRIDGE masquerade`, expression by expression.
fn rule(subnet: &Subnet, bridge: &str) -> Request {
    let what = format!("ip saddr {subnet} oifname != {bridge} masquerade");
    let mut request = nft(NFT_MSG_NEWRULE, NLM_F_CREATE, "NFT_MSG_NEWRULE", &what);
    let mask = (u32::MAX << (32 - u32::from(subnet.prefix))).to_be_bytes();
    let mut name = [0u8; 16]; // IFNAMSIZ: the name, NUL-padded, compared whole
    name[..bridge.len().min(15)].copy_from_slice(&bridge.as_bytes()[..bridge.len().min(15)]);
    request
        .attr_str(NFTA_RULE_TABLE, TABLE)
        .attr_str(NFTA_RULE_CHAIN, CHAIN)
        .nest(NFTA_RULE_EXPRESSIONS, |list| {
            // register 1 = the IPv4 header's source address (offset 12, 4 bytes)
            expression(list, "payload", |data| {
                data.attr(NFTA_PAYLOAD_DREG, &NFT_REG_1.to_be_bytes())
                    .attr(NFTA_PAYLOAD_BASE, &NFT_PAYLOAD_NETWORK_HEADER.to_be_bytes())
                    .attr(NFTA_PAYLOAD_OFFSET, &12u32.to_be_bytes())
                    .attr(NFTA_PAYLOAD_LEN, &4u32.to_be_bytes());
            });
            // register 1 &= the subnet's mask (^ 0)
            expression(list, "bitwise", |data| {
                data.attr(NFTA_BITWISE_SREG, &NFT_REG_1.to_be_bytes())
                    .attr(NFTA_BITWISE_DREG, &NFT_REG_1.to_be_bytes())
                    .attr(NFTA_BITWISE_LEN, &4u32.to_be_bytes())
                    .nest(NFTA_BITWISE_MASK, |v| {
                        v.attr(NFTA_DATA_VALUE, &mask);
                    })
                    .nest(NFTA_BITWISE_XOR, |v| {
                        v.attr(NFTA_DATA_VALUE, &[0; 4]);
                    });
            });
            compare(list, NFT_CMP_EQ, &subnet.base.octets());
            // register 1 = the name of the link the packet leaves by
            expression(list, "meta", |data| {
                data.attr(NFTA_META_DREG, &NFT_REG_1.to_be_bytes())
                    .attr(NFTA_META_KEY, &NFT_META_OIFNAME.to_be_bytes());
            });
            compare(list, NFT_CMP_NEQ, &name);
            expression(list, "masq", |_| {});
        });
    request
}

/// One element of a rule's expression list: its name and its attributes.
fn expression(list: &mut Request, name: &str, data: impl FnOnce(&mut Request)) {
    list.nest(NFTA_LIST_ELEM, |elem| {
        elem.attr_str(NFTA_EXPR_NAME, name)
            .nest(NFTA_EXPR_DATA, data);
    });
}

/// Go on only if register 1 `op` `value`.
fn compare(list: &mut Request, op: u32, value: &[u8]) {
    expression(list, "cmp", |data| {
        data.attr(NFTA_CMP_SREG, &NFT_REG_1.to_be_bytes())
            .attr(NFTA_CMP_OP, &op.to_be_bytes())
            .nest(NFTA_CMP_DATA, |v| {
                v.attr(NFTA_DATA_VALUE, value);
            });
    });
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

    #[test]
    fn nf_tables_messages_name_their_subsystem_and_family() {
        let bytes = chain().bytes();
        let kind = u16::from_ne_bytes([bytes[4], bytes[5]]);
        assert_eq!(kind, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWCHAIN);
        assert_eq!(bytes[16], NFPROTO_IPV4);
        let begin = batch(NFNL_MSG_BATCH_BEGIN).bytes();
        assert_eq!(
            &begin[16..20],
            &[0, 0, 0, 10],
            "res_id: the subsystem, big-endian"
        );
    }
}
