//! What the driver reads from the stack's outgoing frames: its IGMP (joins and leaves),
//! its IPv4 address, and the IPv6 multicast MACs it needs.

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::addr::{GroupAddr, MacAddr};
use crate::wire::FrameRepr;
use crate::wire::igmp::Message;

const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
const ETHERTYPE_IPV6: [u8; 2] = [0x86, 0xdd];
/// IPv6 next-header values.
const HOP_BY_HOP: u8 = 0;
const ICMPV6: u8 = 58;
/// ICMPv6 types of MLD reports.
const MLDV1_REPORT: u8 = 131;
const MLDV2_REPORT: u8 = 143;

/// How many IPv6 MACs one frame can teach: its source's solicited-node MAC and the
/// groups of an MLD report (the rest of a longer report is read from the next one).
pub(super) const MACS_PER_FRAME: usize = 8;

/// A join or a leave the stack announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StackIgmp {
    /// An IGMPv1 or v2 report.
    Report { group: GroupAddr, source: Ipv4Addr },
    /// An IGMPv2 Leave.
    Leave { group: GroupAddr, source: Ipv4Addr },
}

/// Reads a join or a leave from an IGMP frame the stack sent; `None` for other IGMP
/// (a stack's v3 report, a query) and for frames that do not parse.
pub(super) fn stack_igmp(frame: &[u8]) -> Option<StackIgmp> {
    let f = FrameRepr::parse(frame).ok()?;
    let source = f.ipv4.src_addr;
    match f.igmp {
        Message::V1Report { group } | Message::V2Report { group } => Some(StackIgmp::Report { group, source }),
        Message::Leave { group } => Some(StackIgmp::Leave { group, source }),
        _ => None,
    }
}

/// What a non-IGMP frame of the stack tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    /// The source of an IPv4 datagram or ARP message: the stack's address.
    Ipv4Source(Ipv4Addr),
    /// IPv6 multicast MACs the stack needs: its source's solicited-node MAC, the groups
    /// of its MLD reports.
    Ipv6Macs([Option<MacAddr>; MACS_PER_FRAME]),
}

/// Reads a frame the stack sends. Only unicast IPv4 sources count (not the 0.0.0.0 of
/// DHCP), only unicast IPv6 sources and multicast groups.
pub(super) fn stack_frame(frame: &[u8]) -> Option<Seen> {
    let ethertype = frame.get(12..14)?;
    if ethertype == ETHERTYPE_IPV4 {
        return ipv4_source(frame.get(26..30)?);
    }
    if ethertype == ETHERTYPE_ARP {
        return ipv4_source(frame.get(28..32)?);
    }
    if ethertype != ETHERTYPE_IPV6 {
        return None;
    }
    let ip = frame.get(14..)?;
    let mut macs = [None; MACS_PER_FRAME];
    let source = ipv6(ip.get(8..24)?)?;
    if !source.is_unspecified() && !source.is_multicast() {
        macs[0] = Some(solicited_node_mac(source));
    }
    mld_groups(ip, &mut macs[1..]);
    if macs.iter().all(Option::is_none) { None } else { Some(Seen::Ipv6Macs(macs)) }
}

/// The IPv6 source of a frame the stack sends, if it is IPv6: the cheap look the driver
/// takes before deciding whether to read more.
pub(super) fn ipv6_source(frame: &[u8]) -> Option<Ipv6Addr> {
    if frame.get(12..14)? != ETHERTYPE_IPV6 {
        return None;
    }
    ipv6(frame.get(22..38)?)
}

/// Whether a frame the stack sends is an MLD report (behind a hop-by-hop header).
pub(super) fn is_mld_report(frame: &[u8]) -> bool {
    frame.get(14..).is_some_and(|ip| icmpv6(ip).is_some_and(|(t, _)| t == MLDV1_REPORT || t == MLDV2_REPORT))
}

fn ipv4_source(octets: &[u8]) -> Option<Seen> {
    let &[a, b, c, d] = octets else { return None };
    let addr = Ipv4Addr::new(a, b, c, d);
    let unicast = !addr.is_unspecified() && !addr.is_multicast() && !addr.is_broadcast();
    unicast.then_some(Seen::Ipv4Source(addr))
}

fn ipv6(octets: &[u8]) -> Option<Ipv6Addr> {
    let octets: [u8; 16] = octets.try_into().ok()?;
    Some(Ipv6Addr::from(octets))
}

/// The ICMPv6 type and message of an IPv6 packet, directly after the fixed header or
/// after one hop-by-hop header (where MLD puts its Router Alert).
fn icmpv6(ip: &[u8]) -> Option<(u8, &[u8])> {
    let mut next = *ip.get(6)?;
    let mut at = 40;
    if next == HOP_BY_HOP {
        next = *ip.get(at)?;
        at += (usize::from(*ip.get(at + 1)?) + 1) * 8;
    }
    if next != ICMPV6 {
        return None;
    }
    let message = ip.get(at..)?;
    Some((*message.first()?, message))
}

/// Puts the MACs of the groups an MLD report names into `out`, as many as fit.
///
/// The record type is not read: smoltcp 0.13 reports a join as CHANGE_TO_INCLUDE and a
/// leave as CHANGE_TO_EXCLUDE, the reverse of RFC 3810, so a group named in any report
/// is kept. A MAC kept too long costs the frames of that group; one missing breaks IPv6.
fn mld_groups(ip: &[u8], out: &mut [Option<MacAddr>]) {
    let Some((kind, message)) = icmpv6(ip) else { return };
    let mut slots = out.iter_mut();
    if kind == MLDV1_REPORT {
        if let (Some(group), Some(slot)) = (message.get(8..24).and_then(ipv6), slots.next()) {
            *slot = Some(ipv6_group_mac(group));
        }
        return;
    }
    if kind != MLDV2_REPORT {
        return;
    }
    let Some(&[hi, lo]) = message.get(6..8) else { return };
    let mut at = 8;
    for _ in 0..u16::from_be_bytes([hi, lo]) {
        // Type, aux data length (in 32-bit words), number of sources, group, sources, aux.
        let (Some(&aux), Some(&[s0, s1]), Some(group)) =
            (message.get(at + 1), message.get(at + 2..at + 4), message.get(at + 4..at + 20).and_then(ipv6))
        else {
            return;
        };
        let Some(slot) = slots.next() else { return };
        *slot = Some(ipv6_group_mac(group));
        at += 20 + 16 * usize::from(u16::from_be_bytes([s0, s1])) + 4 * usize::from(aux);
    }
}

/// The MAC of an IPv6 multicast group: 33:33 and its last four octets (RFC 2464 §7).
pub(super) fn ipv6_group_mac(group: Ipv6Addr) -> MacAddr {
    let [.., a, b, c, d] = group.octets();
    MacAddr([0x33, 0x33, a, b, c, d])
}

/// The MAC of the solicited-node group of `addr` (ff02::1:ffXX:XXXX, RFC 4291 §2.7.1):
/// 33:33:ff and the address's last three octets.
pub(super) fn solicited_node_mac(addr: Ipv6Addr) -> MacAddr {
    let [.., a, b, c] = addr.octets();
    MacAddr([0x33, 0x33, 0xff, a, b, c])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv6_frame(source: Ipv6Addr, next: u8, payload: &[u8]) -> [u8; 160] {
        let mut f = [0u8; 160];
        f[12..14].copy_from_slice(&ETHERTYPE_IPV6);
        f[14] = 0x60;
        f[20] = next;
        f[22..38].copy_from_slice(&source.octets());
        f[54..54 + payload.len()].copy_from_slice(payload);
        f
    }

    #[test]
    fn the_solicited_node_and_group_macs_follow_rfc_2464() {
        let addr: Ipv6Addr = "fe80::1234:5678:9abc:def0".parse().unwrap();
        assert_eq!(solicited_node_mac(addr), MacAddr([0x33, 0x33, 0xff, 0xbc, 0xde, 0xf0]));
        let group: Ipv6Addr = "ff02::1:ffbc:def0".parse().unwrap();
        assert_eq!(ipv6_group_mac(group), MacAddr([0x33, 0x33, 0xff, 0xbc, 0xde, 0xf0]));
        assert_eq!(ipv6_group_mac("ff02::1".parse().unwrap()), MacAddr([0x33, 0x33, 0, 0, 0, 1]));
    }

    #[test]
    fn an_mldv2_report_behind_hop_by_hop_names_its_groups() {
        let source: Ipv6Addr = "fe80::2".parse().unwrap();
        // Hop-by-hop (next ICMPv6, length 0: 8 octets), then a report with two records,
        // the first with one source and one word of aux data.
        let mut p = vec![ICMPV6, 0, 5, 2, 0, 0, 1, 0];
        p.extend_from_slice(&[MLDV2_REPORT, 0, 0, 0, 0, 0, 0, 2]);
        p.extend_from_slice(&[3, 1, 0, 1]);
        p.extend_from_slice(&"ff02::1:ff00:2".parse::<Ipv6Addr>().unwrap().octets());
        p.extend_from_slice(&[0xaa; 16]);
        p.extend_from_slice(&[0xbb; 4]);
        p.extend_from_slice(&[4, 0, 0, 0]);
        p.extend_from_slice(&"ff12::42:1".parse::<Ipv6Addr>().unwrap().octets());
        let frame = ipv6_frame(source, HOP_BY_HOP, &p);
        assert!(is_mld_report(&frame));
        let Some(Seen::Ipv6Macs(macs)) = stack_frame(&frame) else { panic!() };
        assert_eq!(macs[0], Some(MacAddr([0x33, 0x33, 0xff, 0, 0, 2])));
        assert_eq!(macs[1], Some(MacAddr([0x33, 0x33, 0xff, 0, 0, 2])));
        assert_eq!(macs[2], Some(MacAddr([0x33, 0x33, 0, 0x42, 0, 1])));
        assert_eq!(macs[3], None);
        // Cut anywhere, it reads what is whole and never panics.
        for len in 0..frame.len() {
            let _ = stack_frame(&frame[..len]);
        }
    }

    #[test]
    fn ipv4_sources_count_only_when_unicast() {
        let mut f = [0u8; 42];
        f[12..14].copy_from_slice(&ETHERTYPE_IPV4);
        assert_eq!(stack_frame(&f), None, "0.0.0.0 (DHCP) is no address");
        f[26..30].copy_from_slice(&[10, 0, 0, 2]);
        assert_eq!(stack_frame(&f), Some(Seen::Ipv4Source(Ipv4Addr::new(10, 0, 0, 2))));
        f[12..14].copy_from_slice(&ETHERTYPE_ARP);
        f[28..32].copy_from_slice(&[10, 0, 0, 3]);
        assert_eq!(stack_frame(&f), Some(Seen::Ipv4Source(Ipv4Addr::new(10, 0, 0, 3))));
    }
}
