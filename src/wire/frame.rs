//! Whole IGMP frames: Ethernet II (with up to two VLAN tags) + IPv4 with Router Alert +
//! IGMP.
//!
//! [`Repr::new`] frames a message the way the RFCs prescribe and Linux does: IPv4
//! destination from [`Message::destination`], Ethernet destination mapped from it
//! (RFC 1112 §6.4), TTL 1, the Router Alert option ([RFC 2236 §2]), TOS 0xc0
//! (Internetwork Control) and Don't Fragment. [`Repr::parse`] applies every check of
//! every layer, reading through 802.1Q / 802.1ad tags.
//!
//! Frames are not padded to the 60-octet Ethernet minimum: a 38-octet IGMPv2 frame
//! is 46 octets, and the MAC pads it on transmission as MACs do.
//!
//! [RFC 2236 §2]: https://www.rfc-editor.org/rfc/rfc2236#section-2

use core::net::Ipv4Addr;

use super::ethernet::{self, EtherType, VlanTag};
use super::igmp::{self, Message};
use super::ipv4;
use super::{Error, Result, checksum, field_u16};
use crate::addr::{GroupAddr, MacAddr};

/// TTL of every IGMP message ([RFC 2236 §2]).
///
/// [RFC 2236 §2]: https://www.rfc-editor.org/rfc/rfc2236#section-2
pub const IGMP_TTL: u8 = 1;
/// TOS Linux gives IGMP: precedence 6, Internetwork Control.
pub const IGMP_TOS: u8 = 0xc0;

/// The three layers of an IGMP frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Repr<'a> {
    /// The Ethernet header. In a tagged frame its EtherType is the one after the tags
    /// (IPv4).
    pub ethernet: ethernet::Repr,
    /// The VLAN tags between the source MAC and the EtherType, outermost first: none,
    /// one (`[Some(tag), None]`), or two (QinQ). [`parse`](Repr::parse) recognises the
    /// TPIDs 0x8100, 0x88a8 and 0x9100; [`emit`](Repr::emit) writes the tags that are
    /// `Some`, in order.
    pub vlan: [Option<VlanTag>; 2],
    /// The Ethernet destination is not the MAC the multicast IPv4 destination maps to:
    /// an IGMP query at a unicast MAC (a Wi-Fi access point's multicast-to-unicast
    /// conversion) or at the broadcast MAC, the only mismatch [`parse`](Repr::parse)
    /// accepts. Whether a unicast one is this station's MAC is the receiver's to check.
    /// Ignored by [`emit`](Repr::emit), which writes `ethernet.dst` as it is.
    pub mac_mismatch: bool,
    /// The IPv4 header. Its `payload_len` is the message's length.
    pub ipv4: ipv4::Repr,
    /// The IGMP message.
    pub igmp: Message<'a>,
}

impl<'a> Repr<'a> {
    /// Frames `igmp` from a host or router with the given MAC and IPv4 address, with
    /// the destinations, TTL, TOS, flags and Router Alert the RFCs prescribe.
    pub fn new(igmp: Message<'a>, src_mac: MacAddr, src_addr: Ipv4Addr) -> Repr<'a> {
        let dst = igmp.destination();
        Repr {
            ethernet: ethernet::Repr { dst: dst.to_mac(), src: src_mac, ethertype: EtherType::IPV4 },
            vlan: [None; 2],
            mac_mismatch: false,
            ipv4: ipv4::Repr {
                src_addr,
                dst_addr: dst.to_ipv4(),
                protocol: ipv4::PROTOCOL_IGMP,
                payload_len: igmp.buffer_len(),
                ttl: IGMP_TTL,
                tos: IGMP_TOS,
                ident: 0,
                dont_fragment: true,
                router_alert: true,
            },
            igmp,
        }
    }

    /// Parses a whole frame (without FCS; padding after the IPv4 total length is
    /// ignored), applying every check: EtherType IPv4 (after up to two VLAN tags), the
    /// IPv4 header and its checksum, no fragment, protocol IGMP, an Ethernet
    /// destination that matches a multicast IPv4 destination, and the IGMP message and
    /// its checksum.
    ///
    /// A query whose Ethernet destination is a unicast MAC or the broadcast MAC is
    /// accepted and flagged ([`mac_mismatch`](Repr::mac_mismatch)): Linux acts on a
    /// query whatever its link-layer destination. Any other mismatch (a report or
    /// Leave at such a MAC, anything at another multicast MAC) is
    /// [`Error::MacMismatch`].
    ///
    /// TTL and Router Alert are reported, not enforced: what to do with an IGMP message
    /// that lacks them is the receiver's policy.
    pub fn parse(buf: &'a [u8]) -> Result<Repr<'a>> {
        let eth = ethernet::Packet::new_checked(buf)?;
        let mut ethernet = ethernet::Repr::parse(&eth);
        let (vlan, ip_at) = read_tags(buf, &mut ethernet.ethertype)?;
        if ethernet.ethertype != EtherType::IPV4 {
            return Err(Error::NotIpv4(ethernet.ethertype.0));
        }
        let ip_bytes: &'a [u8] = buf.get(ip_at..).unwrap_or(&[]);
        let ip = ipv4::Packet::new_checked(ip_bytes)?;
        let ipv4 = ipv4::Repr::parse(&ip)?;
        if ipv4.protocol != ipv4::PROTOCOL_IGMP {
            return Err(Error::NotIgmp(ipv4.protocol));
        }
        let payload = ip_bytes.get(ip.header_len()..usize::from(ip.total_len())).unwrap_or(&[]);
        let mut mac_mismatch = false;
        if let Ok(group) = GroupAddr::from_ipv4(ipv4.dst_addr)
            && ethernet.dst != group.to_mac()
        {
            let query = payload.first() == Some(&igmp::msg_type::MEMBERSHIP_QUERY);
            if !query || (ethernet.dst.is_multicast() && !ethernet.dst.is_broadcast()) {
                return Err(Error::MacMismatch);
            }
            mac_mismatch = true;
        }
        let igmp = Message::parse(&igmp::Packet::new_checked(payload)?)?;
        Ok(Repr { ethernet, vlan, mac_mismatch, ipv4, igmp })
    }

    /// The octets [`emit`](Repr::emit) writes.
    pub fn buffer_len(&self) -> usize {
        let tags = self.vlan.iter().flatten().count();
        ethernet::HEADER_LEN + tags * VlanTag::LEN + self.ipv4.header_len() + self.igmp.buffer_len()
    }

    /// Writes the frame to the start of `buf`, every checksum filled; returns its
    /// length. The IPv4 total length is taken from the message, whatever
    /// `ipv4.payload_len` says.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        let buf = buf.get_mut(..len).ok_or(Error::BufferTooSmall)?;
        // The EtherType field holds the first tag's TPID; each tag's TCI is followed by
        // the next tag's TPID or, after the last, the EtherType.
        let mut tags = self.vlan.iter().flatten().peekable();
        let first = tags.peek().map_or(self.ethernet.ethertype, |tag| tag.tpid);
        let mut at = ethernet::Repr { ethertype: first, ..self.ethernet }.emit(buf)?;
        while let Some(tag) = tags.next() {
            let next = tags.peek().map_or(self.ethernet.ethertype, |tag| tag.tpid);
            let [c0, c1] = tag.tci.to_be_bytes();
            let [n0, n1] = next.0.to_be_bytes();
            let octets = buf.get_mut(at..at + VlanTag::LEN).ok_or(Error::BufferTooSmall)?;
            octets.copy_from_slice(&[c0, c1, n0, n1]);
            at += VlanTag::LEN;
        }
        let ipv4 = ipv4::Repr { payload_len: self.igmp.buffer_len(), ..self.ipv4 };
        at += ipv4.emit(buf.get_mut(at..).ok_or(Error::BufferTooSmall)?)?;
        at += self.igmp.emit(buf.get_mut(at..).ok_or(Error::BufferTooSmall)?)?;
        Ok(at)
    }
}

/// Reads the VLAN tags (up to two) that `ethertype`, the Ethernet header's, announces,
/// leaving in it the EtherType after them; returns the tags and where the payload
/// starts. [`Error::Truncated`] if the frame ends inside a tag or before the EtherType
/// after it.
fn read_tags(buf: &[u8], ethertype: &mut EtherType) -> Result<([Option<VlanTag>; 2], usize)> {
    let mut vlan = [None; 2];
    let mut at = ethernet::HEADER_LEN;
    for slot in &mut vlan {
        if !ethertype.is_vlan_tag() {
            break;
        }
        let tag = buf.get(at..at + VlanTag::LEN).ok_or(Error::Truncated)?;
        *slot = Some(VlanTag { tpid: *ethertype, tci: field_u16(tag, 0..2) });
        *ethertype = EtherType(field_u16(tag, 2..4));
        at += VlanTag::LEN;
    }
    Ok((vlan, at))
}

/// Whether an Ethernet frame carries IPv4 with protocol 2 (IGMP), behind up to two VLAN
/// tags: a cheap look at a few fields, before the full [`Repr::parse`].
pub fn is_igmp(buf: &[u8]) -> bool {
    let mut at = ethernet::field::ETHERTYPE.start;
    // The EtherType, or up to two tags' TPIDs before it.
    for _ in 0..3 {
        if buf.len() < at + 2 {
            return false;
        }
        let ethertype = EtherType(field_u16(buf, at..at + 2));
        if ethertype == EtherType::IPV4 {
            let protocol = at + 2 + ipv4::field::PROTOCOL;
            return buf.get(protocol) == Some(&ipv4::PROTOCOL_IGMP);
        }
        if !ethertype.is_vlan_tag() {
            return false;
        }
        at += VlanTag::LEN;
    }
    false
}

/// The length of a whole IGMPv1 or IGMPv2 frame: the Ethernet header, the IPv4 header
/// with Router Alert, the 8-octet message.
pub const V2_FRAME_LEN: usize =
    ethernet::HEADER_LEN + ipv4::MIN_HEADER_LEN + ipv4::ROUTER_ALERT.len() + igmp::HEADER_LEN;

/// The IPv4 header of an IGMPv1 or IGMPv2 frame: 20 octets and Router Alert.
const V2_IP_HEADER_LEN: usize = ipv4::MIN_HEADER_LEN + ipv4::ROUTER_ALERT.len();

/// What every IGMPv1 or IGMPv2 frame has in common (the EtherType, the IPv4 header but
/// its addresses and checksum), which [`build_v2`] copies and completes: a copy, not a
/// zeroed array, for code size (docs/BENCHMARKS.md, "Code size").
const V2_TEMPLATE: [u8; V2_FRAME_LEN] = {
    let mut f = [0u8; V2_FRAME_LEN];
    let [t0, t1] = EtherType::IPV4.0.to_be_bytes();
    f[ethernet::field::ETHERTYPE.start] = t0;
    f[ethernet::field::ETHERTYPE.start + 1] = t1;
    let ip = ethernet::HEADER_LEN;
    f[ip + ipv4::field::VER_IHL] = 0x40 | (V2_IP_HEADER_LEN / 4) as u8;
    f[ip + ipv4::field::TOS] = IGMP_TOS;
    let [l0, l1] = ((V2_IP_HEADER_LEN + igmp::HEADER_LEN) as u16).to_be_bytes();
    f[ip + ipv4::field::LENGTH.start] = l0;
    f[ip + ipv4::field::LENGTH.start + 1] = l1;
    let [d0, d1] = ipv4::FLAG_DF.to_be_bytes();
    f[ip + ipv4::field::FLAGS_FRAG.start] = d0;
    f[ip + ipv4::field::FLAGS_FRAG.start + 1] = d1;
    f[ip + ipv4::field::TTL] = IGMP_TTL;
    f[ip + ipv4::field::PROTOCOL] = ipv4::PROTOCOL_IGMP;
    let mut i = 0;
    while i < ipv4::ROUTER_ALERT.len() {
        f[ip + ipv4::field::OPTIONS + i] = ipv4::ROUTER_ALERT[i];
        i += 1;
    }
    f
};

/// Frames an IGMPv1 or IGMPv2 message (every kind an IGMPv2 host or querier sends)
/// byte for byte as [`Repr::new`] and [`Repr::emit`] would, into an array.
///
/// This is the transmit path of firmware: a few hundred octets of code, where the
/// general [`Repr::emit`] carries every IGMPv3 layout as well. `None` where
/// [`Message::to_v2_octets`] is `None` (IGMPv3 messages, a v2 query with Max Resp 0).
pub fn build_v2(igmp: &Message<'_>, src_mac: MacAddr, src_addr: Ipv4Addr) -> Option<[u8; V2_FRAME_LEN]> {
    let message = igmp.to_v2_octets()?;
    let dst = igmp.destination();
    let mut frame = V2_TEMPLATE;
    let (eth, rest) = frame.split_at_mut(ethernet::HEADER_LEN);
    eth[ethernet::field::DST].copy_from_slice(&dst.to_mac().0);
    eth[ethernet::field::SRC].copy_from_slice(&src_mac.0);
    let (ip, igmp_octets) = rest.split_at_mut(V2_IP_HEADER_LEN);
    ip[ipv4::field::SRC].copy_from_slice(&src_addr.octets());
    ip[ipv4::field::DST].copy_from_slice(&dst.octets());
    let sum = checksum::compute(ip);
    ip[ipv4::field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
    igmp_octets.copy_from_slice(&message);
    Some(frame)
}

/// Frames `igmp` as [`Repr::new`] does and writes it to `buf`; returns its length.
pub fn build(igmp: &Message<'_>, src_mac: MacAddr, src_addr: Ipv4Addr, buf: &mut [u8]) -> Result<usize> {
    Repr::new(*igmp, src_mac, src_addr).emit(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> GroupAddr {
        s.parse().unwrap()
    }

    const MAC: MacAddr = MacAddr([0x22, 0x44, 0x6f, 0x0d, 0x33, 0xe4]);

    #[test]
    fn build_then_parse() {
        let msg = Message::Leave { group: g("239.1.2.3") };
        let mut buf = [0u8; 64];
        let len = build(&msg, MAC, Ipv4Addr::new(10, 99, 0, 1), &mut buf).unwrap();
        assert_eq!(len, 46);
        let f = Repr::parse(&buf[..len]).unwrap();
        assert_eq!(f.ethernet.dst, GroupAddr::ALL_ROUTERS.to_mac());
        assert_eq!(f.ipv4.dst_addr, Ipv4Addr::new(224, 0, 0, 2));
        assert_eq!(f.igmp, msg);
        assert_eq!(f, Repr::new(msg, MAC, Ipv4Addr::new(10, 99, 0, 1)));
        assert_eq!(build(&msg, MAC, Ipv4Addr::UNSPECIFIED, &mut buf[..45]), Err(Error::BufferTooSmall));
    }

    #[test]
    fn build_v2_writes_what_emit_writes() {
        let src = Ipv4Addr::new(10, 99, 0, 1);
        let messages = [
            Message::V1Query,
            Message::V1Report { group: g("239.1.2.3") },
            Message::V2Query { max_resp: 100, group: None },
            Message::V2Query { max_resp: 10, group: Some(g("224.0.1.1")) },
            Message::V2Report { group: g("239.255.255.250") },
            Message::Leave { group: g("232.0.0.9") },
        ];
        for msg in messages {
            let mut buf = [0u8; 64];
            let len = Repr::new(msg, MAC, src).emit(&mut buf).unwrap();
            assert_eq!(len, V2_FRAME_LEN);
            assert_eq!(build_v2(&msg, MAC, src).as_ref().map(|f| &f[..]), Some(&buf[..len]), "{msg:?}");
        }
        assert_eq!(build_v2(&Message::V2Query { max_resp: 0, group: None }, MAC, src), None);
        let sources = [[10, 0, 0, 1]];
        let v3 = Message::V3Query(igmp::V3Query {
            max_resp_code: 100,
            group: None,
            suppress_router_processing: false,
            qrv: 2,
            qqic: 125,
            sources: igmp::AddrList::new(&sources),
        });
        assert_eq!(build_v2(&v3, MAC, src), None);
    }

    #[test]
    fn mac_must_match_a_multicast_destination() {
        let msg = Message::V2Report { group: g("239.1.2.3") };
        let mut buf = [0u8; 64];
        let len = build(&msg, MAC, Ipv4Addr::new(10, 99, 0, 1), &mut buf).unwrap();
        buf[5] ^= 1;
        assert_eq!(Repr::parse(&buf[..len]), Err(Error::MacMismatch));
    }

    #[test]
    fn unicast_destination_skips_the_mac_check() {
        // IGMPv3 allows unicast queries; the MAC then is the host's own.
        let msg = Message::V2Query { max_resp: 100, group: None };
        let mut f = Repr::new(msg, MAC, Ipv4Addr::new(10, 0, 0, 1));
        f.ipv4.dst_addr = Ipv4Addr::new(10, 0, 0, 2);
        f.ethernet.dst = MacAddr([0x02, 0, 0, 0, 0, 2]);
        let mut buf = [0u8; 64];
        let len = f.emit(&mut buf).unwrap();
        assert_eq!(Repr::parse(&buf[..len]), Ok(f));
    }

    /// A Linux bridge's IGMPv2 general query (source 0.0.0.0, Max Resp 2 s), from
    /// tests/data/linux-igmp-frames.txt: Ethernet header, then IPv4 and IGMP.
    const QUERY_ETH: [u8; 14] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01, 0x86, 0x90, 0x1d, 0xbc, 0x8f, 0x73, 0x08, 0x00];
    const QUERY_IP: [u8; 32] = [
        0x46, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0x04, 0x17, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x00,
        0x00, 0x01, 0x94, 0x04, 0x00, 0x00, 0x11, 0x14, 0xee, 0xeb, 0x00, 0x00, 0x00, 0x00,
    ];
    /// The kernel's IGMPv2 report for 239.1.2.3 from 10.99.0.1, and its Leave.
    const REPORT: [u8; 46] = [
        0x01, 0x00, 0x5e, 0x01, 0x02, 0x03, 0x22, 0x44, 0x6f, 0x0d, 0x33, 0xe4, 0x08, 0x00, 0x46, 0xc0, 0x00, 0x20,
        0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0xe8, 0xaf, 0x0a, 0x63, 0x00, 0x01, 0xef, 0x01, 0x02, 0x03, 0x94, 0x04,
        0x00, 0x00, 0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03,
    ];
    const LEAVE: [u8; 46] = [
        0x01, 0x00, 0x5e, 0x00, 0x00, 0x02, 0x22, 0x44, 0x6f, 0x0d, 0x33, 0xe4, 0x08, 0x00, 0x46, 0xc0, 0x00, 0x20,
        0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0xf9, 0xb1, 0x0a, 0x63, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x02, 0x94, 0x04,
        0x00, 0x00, 0x17, 0x00, 0xf7, 0xfa, 0xef, 0x01, 0x02, 0x03,
    ];
    const GENERAL_QUERY: Message<'static> = Message::V2Query { max_resp: 20, group: None };

    /// `dst`, then the query's source MAC, the octets `between` (tags) and the rest of
    /// the query from its EtherType on.
    fn query_frame(dst: [u8; 6], between: &[u8]) -> Vec<u8> {
        let mut f = dst.to_vec();
        f.extend_from_slice(&QUERY_ETH[6..12]);
        f.extend_from_slice(between);
        f.extend_from_slice(&QUERY_ETH[12..]);
        f.extend_from_slice(&QUERY_IP);
        f
    }

    fn with_dst(frame: &[u8], dst: [u8; 6]) -> Vec<u8> {
        let mut f = frame.to_vec();
        f[..6].copy_from_slice(&dst);
        f
    }

    const OWN_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
    const BROADCAST: [u8; 6] = [0xff; 6];

    #[test]
    fn a_query_to_a_unicast_or_the_broadcast_mac_is_accepted() {
        // Wi-Fi access points deliver multicast to each station's own MAC; Linux acts on
        // a query whatever its link-layer destination.
        for dst in [OWN_MAC, BROADCAST] {
            let bytes = query_frame(dst, &[]);
            let f = Repr::parse(&bytes).unwrap();
            assert_eq!(f.igmp, GENERAL_QUERY);
            assert_eq!(f.ethernet.dst, MacAddr(dst));
            assert!(f.mac_mismatch);
        }
        // The group's own MAC is no mismatch.
        assert!(!Repr::parse(&query_frame(QUERY_ETH[..6].try_into().unwrap(), &[])).unwrap().mac_mismatch);
        assert!(!Repr::parse(&REPORT).unwrap().mac_mismatch);
    }

    #[test]
    fn reports_and_leaves_to_a_unicast_or_the_broadcast_mac_are_refused() {
        for dst in [OWN_MAC, BROADCAST] {
            assert_eq!(Repr::parse(&with_dst(&REPORT, dst)), Err(Error::MacMismatch));
            assert_eq!(Repr::parse(&with_dst(&LEAVE, dst)), Err(Error::MacMismatch));
        }
    }

    #[test]
    fn a_query_to_another_multicast_mac_is_refused() {
        // 224.0.0.2's MAC, and an IPv6 one: a multicast MAC other than the group's.
        for dst in [[0x01, 0x00, 0x5e, 0x00, 0x00, 0x02], [0x33, 0x33, 0x00, 0x00, 0x00, 0x01]] {
            assert_eq!(Repr::parse(&query_frame(dst, &[])), Err(Error::MacMismatch));
        }
    }

    #[test]
    fn one_or_two_vlan_tags_are_read_through() {
        let all_systems = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01];
        let tag = |tpid: u16, tci: u16| Some(VlanTag { tpid: EtherType(tpid), tci });
        /// The tag octets, the tags they hold, and their VLAN ids.
        type Case = (&'static [u8], [Option<VlanTag>; 2], [u16; 2]);
        let cases: [Case; 5] = [
            // 802.1Q, VLAN 10.
            (&[0x81, 0x00, 0x00, 0x0a], [tag(0x8100, 10), None], [10, 0]),
            // 802.1Q priority 5, drop eligible, VLAN 4094.
            (&[0x81, 0x00, 0xbf, 0xfe], [tag(0x8100, 0xbffe), None], [4094, 0]),
            // 802.1ad VLAN 100, then 802.1Q VLAN 10.
            (&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a], [tag(0x88a8, 100), tag(0x8100, 10)], [100, 10]),
            // The pre-802.1ad QinQ TPID 0x9100, VLAN 200, then 802.1Q VLAN 20.
            (&[0x91, 0x00, 0x00, 0xc8, 0x81, 0x00, 0x00, 0x14], [tag(0x9100, 200), tag(0x8100, 20)], [200, 20]),
            // A priority tag: VLAN 0, priority 6.
            (&[0x81, 0x00, 0xc0, 0x00], [tag(0x8100, 0xc000), None], [0, 0]),
        ];
        for (tags, vlan, ids) in cases {
            let bytes = query_frame(all_systems, tags);
            let f = Repr::parse(&bytes).unwrap_or_else(|e| panic!("{tags:02x?}: {e}"));
            assert_eq!(f.vlan, vlan, "{tags:02x?}");
            assert_eq!(f.vlan.map(|t| t.map_or(0, VlanTag::id)), ids);
            assert_eq!(f.igmp, GENERAL_QUERY, "{tags:02x?}");
            assert_eq!(f.ethernet.ethertype, EtherType::IPV4);
            assert_eq!(f.ipv4.dst_addr, Ipv4Addr::new(224, 0, 0, 1));
            assert!(!f.mac_mismatch);
            assert!(is_igmp(&bytes));
            // Emitted again, byte for byte.
            let mut out = vec![0u8; bytes.len()];
            assert_eq!(f.buffer_len(), bytes.len());
            assert_eq!(f.emit(&mut out), Ok(bytes.len()));
            assert_eq!(out, bytes, "{tags:02x?}");
            assert_eq!(f.emit(&mut out[..bytes.len() - 1]), Err(Error::BufferTooSmall));
        }
    }

    #[test]
    fn is_igmp_looks_through_tags_at_the_ethertype_and_protocol() {
        let all_systems = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01];
        assert!(is_igmp(&query_frame(all_systems, &[])));
        assert!(is_igmp(&REPORT));
        let qinq = query_frame(all_systems, &[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a]);
        assert!(is_igmp(&qinq));
        // It needs the protocol octet, nothing after it.
        assert!(is_igmp(&qinq[..32]));
        assert!(!is_igmp(&qinq[..31]));
        let mut udp = qinq.clone();
        udp[31] = 17;
        assert!(!is_igmp(&udp));
        let three = query_frame(all_systems, &[0x88, 0xa8, 0, 1, 0x81, 0, 0, 2, 0x81, 0, 0, 3]);
        assert!(!is_igmp(&three));
        let mut ipv6 = REPORT;
        ipv6[12..14].copy_from_slice(&[0x86, 0xdd]);
        assert!(!is_igmp(&ipv6));
        for len in 0..24 {
            assert!(!is_igmp(&REPORT[..len]), "{len} octets");
        }
    }

    #[test]
    fn a_third_tag_or_a_frame_cut_inside_a_tag_is_refused() {
        let all_systems = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01];
        let three = [0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x0b];
        assert_eq!(Repr::parse(&query_frame(all_systems, &three)), Err(Error::NotIpv4(0x8100)));
        let tagged = query_frame(all_systems, &[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a]);
        // Cut in the outer tag's TCI, at the inner TPID, in the inner TCI, at the
        // EtherType, and before the IPv4 header.
        for len in 14..=22 {
            assert_eq!(Repr::parse(&tagged[..len]), Err(Error::Truncated), "{len} octets");
        }
    }

    #[test]
    fn other_ethertypes_and_protocols_are_named() {
        let msg = Message::V2Report { group: g("239.1.2.3") };
        let mut buf = [0u8; 64];
        let len = build(&msg, MAC, Ipv4Addr::new(10, 99, 0, 1), &mut buf).unwrap();
        let mut arp = buf;
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(Repr::parse(&arp[..len]), Err(Error::NotIpv4(0x0806)));
        let mut udp = Repr::new(msg, MAC, Ipv4Addr::new(10, 99, 0, 1));
        udp.ipv4.protocol = 17;
        let len = udp.emit(&mut buf).unwrap();
        assert_eq!(Repr::parse(&buf[..len]), Err(Error::NotIgmp(17)));
    }
}
