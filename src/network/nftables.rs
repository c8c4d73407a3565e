//! nf_tables' netlink language: how a program asks netfilter for tables, chains and
//! rules, the job `nft` does, with no `nft` or `iptables` binary.
//!
//! Changes go in a batch, applied whole or not at all: `BATCH_BEGIN`, the messages,
//! `BATCH_END`, in one datagram on a NETLINK_NETFILTER socket. Each message is a
//! netlink header, a `struct nfgenmsg` (the family: `ip`), and attributes. A table holds
//! chains; a base chain is attached to a hook of the packet's path (prerouting, output,
//! postrouting, forward, …) with a type (`nat`, `filter`) and a priority. A rule is a
//! list of expressions run on a small register machine: load a field of the packet into
//! a register (`payload`, `meta`), compare it (`cmp`), and act (`masq`, `nat`, a
//! verdict). Every skiff table is rebuilt whole in one batch, so a crash can never leave
//! half of one behind.
//! <https://docs.kernel.org/networking/netlink_spec/nftables.html>
//! <https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/tree/include/uapi/linux/netfilter/nf_tables.h>

use super::netlink::{
    self, Request, Socket, NETLINK_NETFILTER, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE,
};
use crate::error::Result;

// linux/netfilter/nfnetlink.h, linux/netfilter/nf_tables.h, linux/netfilter.h
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_GETCHAIN: u16 = 4;
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
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_BITWISE_SREG: u16 = 1;
const NFTA_BITWISE_DREG: u16 = 2;
const NFTA_BITWISE_LEN: u16 = 3;
const NFTA_BITWISE_MASK: u16 = 4;
const NFTA_BITWISE_XOR: u16 = 5;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;
const NFTA_CT_DREG: u16 = 1;
const NFTA_CT_KEY: u16 = 2;
const NFTA_FIB_DREG: u16 = 1;
const NFTA_FIB_RESULT: u16 = 2;
const NFTA_FIB_FLAGS: u16 = 3;
const NFT_FIB_RESULT_ADDRTYPE: u32 = 3;
const NFTA_FIB_F_DADDR: u32 = 1 << 1;
const NFTA_NAT_TYPE: u16 = 1;
const NFTA_NAT_FAMILY: u16 = 2;
const NFTA_NAT_REG_ADDR_MIN: u16 = 3;
const NFTA_NAT_REG_PROTO_MIN: u16 = 5;
const NFT_NAT_DNAT: u32 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
/// The register a rule's verdict goes to: `immediate` into it decides the packet.
const NFT_REG_VERDICT: u32 = 0;

/// The register every skiff rule loads into and compares: one is enough for rules
/// that test one field at a time.
pub const NFT_REG_1: u32 = 1;
/// A second register, for the port beside the address a `dnat` reads from register 1.
pub const NFT_REG_2: u32 = 2;
pub const NFT_CMP_EQ: u32 = 0;
pub const NFT_CMP_NEQ: u32 = 1;
pub const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
pub const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
pub const NFT_META_IIFNAME: u32 = 6;
pub const NFT_META_OIFNAME: u32 = 7;
pub const NFT_META_L4PROTO: u32 = 16;
pub const NF_INET_PRE_ROUTING: u32 = 0;
pub const NF_INET_FORWARD: u32 = 2;
pub const NF_INET_LOCAL_OUT: u32 = 3;
pub const NF_INET_POST_ROUTING: u32 = 4;
/// What `fib daddr type` yields for an address of this host (`RTN_LOCAL`,
/// linux/rtnetlink.h), in the machine's byte order as the kernel writes it.
pub const RTN_LOCAL: u32 = 2;
pub const NF_DROP: u32 = 0;
pub const NF_ACCEPT: u32 = 1;
/// `ct status`: the connection's `IPS_*` bits (linux/netfilter/nf_conntrack_common.h).
pub const NFT_CT_STATUS: u32 = 2;
/// The status bit of a connection whose destination a `dnat` rewrote, in both
/// directions' packets alike: `ct status dnat`.
pub const IPS_DST_NAT: u32 = 1 << 5;

/// Where a base chain hangs: its hook, its priority there, and its type.
pub struct Hook {
    pub number: u32,
    pub priority: i32,
    pub kind: &'static str,
}

/// Makes (or makes again, from scratch) table `name` of the `ip` family with `contents`
/// (its chains, then their rules), in one batch.
pub fn replace_table(name: &str, contents: Vec<Request>) -> Result<()> {
    // Adding a table that exists is no error, deleting one that does not is: so add,
    // delete, add is "a new, empty table" whatever a crash left behind.
    let mut messages = vec![
        table(NFT_MSG_NEWTABLE, NLM_F_CREATE, name),
        table(NFT_MSG_DELTABLE, 0, name),
        table(NFT_MSG_NEWTABLE, NLM_F_CREATE, name),
    ];
    messages.extend(contents);
    apply(messages)
}

/// Deletes table `name`, its chains and rules with it; fine if there is none.
pub fn delete_table(name: &str) -> Result<()> {
    match apply(vec![table(NFT_MSG_DELTABLE, 0, name)]) {
        Err(err) if err.errno() == Some(libc::ENOENT) => Ok(()),
        other => other,
    }
}

/// Whether the `ip filter` table's `FORWARD` chain drops what no rule accepts: Docker's
/// daemon sets that policy (`iptables -P FORWARD DROP`), and with nf_tables a packet
/// must be accepted by every base chain on its hook, so skiff's own `accept` cannot
/// get a container's traffic past it. Only iptables-nft's tables are visible here:
/// legacy iptables (x_tables, `iptables-legacy`) keeps its rules out of nf_tables'
/// reach, so a DROP there goes unseen. A question, not a batch: `NFT_MSG_GETCHAIN`,
/// answered with the chain's description or ENOENT.
pub fn forward_drops() -> Result<bool> {
    let kind = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETCHAIN;
    let what = "ip filter FORWARD".to_string();
    let mut request = Request::new(kind, 0, "NFT_MSG_GETCHAIN", what);
    request
        .push(&nfgenmsg(NFPROTO_IPV4, 0))
        .attr_str(NFTA_CHAIN_TABLE, "filter")
        .attr_str(NFTA_CHAIN_NAME, "FORWARD");
    let reply = match Socket::open_for(NETLINK_NETFILTER)?.exchange(&request) {
        Err(err) if err.errno() == Some(libc::ENOENT) => return Ok(false),
        other => other?,
    };
    // the header, then `struct nfgenmsg`, then the chain's attributes
    let attributes = netlink::attributes(reply.get(20..).unwrap_or_default());
    Ok(attributes
        .iter()
        .any(|&(kind, value)| kind == NFTA_CHAIN_POLICY && value == NF_DROP.to_be_bytes()))
}

/// Sends `messages` as one batch: all of them take effect, or none.
fn apply(messages: Vec<Request>) -> Result<()> {
    let socket = Socket::open_for(NETLINK_NETFILTER)?;
    let mut all = vec![batch(NFNL_MSG_BATCH_BEGIN)];
    all.extend(messages);
    all.push(batch(NFNL_MSG_BATCH_END));
    socket.ask_all(&all).map(drop)
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
fn message(kind: u16, flags: u16, name: &'static str, what: String) -> Request {
    let kind = NFNL_SUBSYS_NFTABLES << 8 | kind;
    let mut request = Request::new(kind, NLM_F_ACK | flags, name, what);
    request.push(&nfgenmsg(NFPROTO_IPV4, 0));
    request
}

fn table(kind: u16, flags: u16, name: &str) -> Request {
    let message_name = match kind {
        NFT_MSG_DELTABLE => "NFT_MSG_DELTABLE",
        _ => "NFT_MSG_NEWTABLE",
    };
    let mut request = message(kind, flags, message_name, format!("ip {name}"));
    request.attr_str(NFTA_TABLE_NAME, name);
    request
}

/// A base chain of `table` on `hook`, letting through everything no rule decides.
pub fn base_chain(table: &str, name: &str, hook: &Hook) -> Request {
    let what = format!("ip {table} {name}");
    let mut request = message(NFT_MSG_NEWCHAIN, NLM_F_CREATE, "NFT_MSG_NEWCHAIN", what);
    request
        .attr_str(NFTA_CHAIN_TABLE, table)
        .attr_str(NFTA_CHAIN_NAME, name)
        .nest(NFTA_CHAIN_HOOK, |nest| {
            nest.attr(NFTA_HOOK_HOOKNUM, &hook.number.to_be_bytes())
                .attr(NFTA_HOOK_PRIORITY, &hook.priority.to_be_bytes());
        })
        .attr(NFTA_CHAIN_POLICY, &NF_ACCEPT.to_be_bytes())
        .attr_str(NFTA_CHAIN_TYPE, hook.kind);
    request
}

/// A rule appended to `chain` of `table`; `what` is its `nft` spelling, for errors,
/// and `expressions` adds its expressions in order.
pub fn rule(
    table: &str,
    chain: &str,
    what: String,
    expressions: impl FnOnce(&mut Request),
) -> Request {
    // without NLM_F_APPEND, the kernel would put each rule first
    let flags = NLM_F_CREATE | NLM_F_APPEND;
    let mut request = message(NFT_MSG_NEWRULE, flags, "NFT_MSG_NEWRULE", what);
    request
        .attr_str(NFTA_RULE_TABLE, table)
        .attr_str(NFTA_RULE_CHAIN, chain)
        .nest(NFTA_RULE_EXPRESSIONS, expressions);
    request
}

/// One element of a rule's expression list: its name and its attributes.
pub fn expression(list: &mut Request, name: &str, data: impl FnOnce(&mut Request)) {
    list.nest(NFTA_LIST_ELEM, |elem| {
        elem.attr_str(NFTA_EXPR_NAME, name)
            .nest(NFTA_EXPR_DATA, data);
    });
}

/// Register 1 = `len` bytes of the packet at `offset` of the header `base`.
pub fn load_payload(list: &mut Request, base: u32, offset: u32, len: u32) {
    expression(list, "payload", |data| {
        data.attr(NFTA_PAYLOAD_DREG, &NFT_REG_1.to_be_bytes())
            .attr(NFTA_PAYLOAD_BASE, &base.to_be_bytes())
            .attr(NFTA_PAYLOAD_OFFSET, &offset.to_be_bytes())
            .attr(NFTA_PAYLOAD_LEN, &len.to_be_bytes());
    });
}

/// Register 1 = the packet's metadata `key` (`NFT_META_*`).
pub fn load_meta(list: &mut Request, key: u32) {
    expression(list, "meta", |data| {
        data.attr(NFTA_META_DREG, &NFT_REG_1.to_be_bytes())
            .attr(NFTA_META_KEY, &key.to_be_bytes());
    });
}

/// Register 1 = what conntrack knows of the packet's connection, `key` (`NFT_CT_*`):
/// the `ct` expression, which reads the state the kernel keeps per connection rather
/// than the packet itself.
/// <https://wiki.nftables.org/wiki-nftables/index.php/Matching_connection_tracking_stateful_metainformation>
pub fn load_conntrack(list: &mut Request, key: u32) {
    expression(list, "ct", |data| {
        data.attr(NFTA_CT_DREG, &NFT_REG_1.to_be_bytes())
            .attr(NFTA_CT_KEY, &key.to_be_bytes());
    });
}

/// Register 1 &= `mask` (and ^ 0: nf_tables' bitwise is always a mask and an xor).
pub fn mask(list: &mut Request, mask: &[u8]) {
    expression(list, "bitwise", |data| {
        data.attr(NFTA_BITWISE_SREG, &NFT_REG_1.to_be_bytes())
            .attr(NFTA_BITWISE_DREG, &NFT_REG_1.to_be_bytes())
            .attr(NFTA_BITWISE_LEN, &(mask.len() as u32).to_be_bytes())
            .nest(NFTA_BITWISE_MASK, |v| {
                v.attr(NFTA_DATA_VALUE, mask);
            })
            .nest(NFTA_BITWISE_XOR, |v| {
                v.attr(NFTA_DATA_VALUE, &vec![0; mask.len()]);
            });
    });
}

/// Go on only if register 1 `op` `value`.
pub fn compare(list: &mut Request, op: u32, value: &[u8]) {
    expression(list, "cmp", |data| {
        data.attr(NFTA_CMP_SREG, &NFT_REG_1.to_be_bytes())
            .attr(NFTA_CMP_OP, &op.to_be_bytes())
            .nest(NFTA_CMP_DATA, |v| {
                v.attr(NFTA_DATA_VALUE, value);
            });
    });
}

/// Register 1 = the route type of the packet's destination address (`fib daddr
/// type`): [`RTN_LOCAL`] when it is one of this host's, whatever link it came in by.
pub fn load_destination_type(list: &mut Request) {
    expression(list, "fib", |data| {
        data.attr(NFTA_FIB_DREG, &NFT_REG_1.to_be_bytes())
            .attr(NFTA_FIB_RESULT, &NFT_FIB_RESULT_ADDRTYPE.to_be_bytes())
            .attr(NFTA_FIB_FLAGS, &NFTA_FIB_F_DADDR.to_be_bytes());
    });
}

/// Register `register` = `value`, a constant (`immediate`).
pub fn load_constant(list: &mut Request, register: u32, value: &[u8]) {
    immediate(list, register, |data| {
        data.attr(NFTA_DATA_VALUE, value);
    });
}

/// The packet's fate, `verdict` (`NF_DROP`, …): the rule's last word.
pub fn verdict(list: &mut Request, verdict: u32) {
    immediate(list, NFT_REG_VERDICT, |data| {
        data.nest(NFTA_DATA_VERDICT, |v| {
            v.attr(NFTA_VERDICT_CODE, &verdict.to_be_bytes());
        });
    });
}

/// Register `register` = the data `data` writes (`immediate`).
fn immediate(list: &mut Request, register: u32, data: impl FnOnce(&mut Request)) {
    expression(list, "immediate", |e| {
        e.attr(NFTA_IMMEDIATE_DREG, &register.to_be_bytes())
            .nest(NFTA_IMMEDIATE_DATA, data);
    });
}

/// Rewrites the packet's destination (and its connection's, both ways) to the IPv4
/// address in register 1 and the port in register 2 (`dnat`).
pub fn destination_nat(list: &mut Request) {
    expression(list, "nat", |data| {
        data.attr(NFTA_NAT_TYPE, &NFT_NAT_DNAT.to_be_bytes())
            .attr(NFTA_NAT_FAMILY, &u32::from(NFPROTO_IPV4).to_be_bytes())
            .attr(NFTA_NAT_REG_ADDR_MIN, &NFT_REG_1.to_be_bytes())
            .attr(NFTA_NAT_REG_PROTO_MIN, &NFT_REG_2.to_be_bytes());
    });
}

/// A link's name as the kernel compares it: IFNAMSIZ bytes, NUL-padded.
pub fn interface_name(name: &str) -> [u8; 16] {
    let mut padded = [0u8; 16];
    let len = name.len().min(15);
    padded[..len].copy_from_slice(&name.as_bytes()[..len]);
    padded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nf_tables_messages_name_their_subsystem_and_family() {
        let hook = Hook {
            number: NF_INET_POST_ROUTING,
            priority: 100,
            kind: "nat",
        };
        let bytes = base_chain("skiff", "postrouting", &hook).bytes();
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

    #[test]
    fn interface_names_are_nul_padded_to_ifnamsiz() {
        assert_eq!(&interface_name("skiff0")[..7], b"skiff0\0");
        assert_eq!(interface_name("a-very-long-interface")[15], 0);
    }
}
