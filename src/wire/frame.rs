//! Whole IGMP frames: Ethernet II + IPv4 with Router Alert + IGMP.
//!
//! [`Frame::new`] frames a message the way the RFCs prescribe and Linux does: IPv4
//! destination from [`Message::destination`], Ethernet destination mapped from it
//! (RFC 1112 §6.4), TTL 1, the Router Alert option ([RFC 2236 §2]), TOS 0xc0
//! (Internetwork Control) and Don't Fragment. [`Frame::parse`] applies every check of
//! every layer.
//!
//! Frames are not padded to the 60-octet Ethernet minimum: a 38-octet IGMPv2 frame
//! is 46 octets, and the MAC pads it on transmission as MACs do.
//!
//! [RFC 2236 §2]: https://www.rfc-editor.org/rfc/rfc2236#section-2

use core::net::Ipv4Addr;

use super::ethernet::{self, EtherType};
use super::igmp::{self, Message};
use super::ipv4;
use super::{Error, Result, checksum};
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
pub struct Frame<'a> {
    /// The Ethernet header.
    pub ethernet: ethernet::Repr,
    /// The IPv4 header. Its `payload_len` is the message's length.
    pub ipv4: ipv4::Repr,
    /// The IGMP message.
    pub igmp: Message<'a>,
}

impl<'a> Frame<'a> {
    /// Frames `igmp` from a host or router with the given MAC and IPv4 address, with
    /// the destinations, TTL, TOS, flags and Router Alert the RFCs prescribe.
    pub fn new(igmp: Message<'a>, src_mac: MacAddr, src_addr: Ipv4Addr) -> Frame<'a> {
        let dst = igmp.destination();
        Frame {
            ethernet: ethernet::Repr { dst: dst.to_mac(), src: src_mac, ethertype: EtherType::IPV4 },
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
    /// ignored), applying every check: EtherType IPv4, the IPv4 header and its
    /// checksum, no fragment, protocol IGMP, an Ethernet destination that matches a
    /// multicast IPv4 destination, and the IGMP message and its checksum.
    ///
    /// TTL and Router Alert are reported, not enforced: what to do with an IGMP message
    /// that lacks them is the receiver's policy.
    pub fn parse(buf: &'a [u8]) -> Result<Frame<'a>> {
        let eth = ethernet::Frame::new_checked(buf)?;
        let ethernet = ethernet::Repr::parse(&eth);
        if ethernet.ethertype != EtherType::IPV4 {
            return Err(Error::NotIpv4(ethernet.ethertype.0));
        }
        let ip_bytes: &'a [u8] = buf.get(ethernet::HEADER_LEN..).unwrap_or(&[]);
        let ip = ipv4::Packet::new_checked(ip_bytes)?;
        let ipv4 = ipv4::Repr::parse(&ip)?;
        if ipv4.protocol != ipv4::PROTOCOL_IGMP {
            return Err(Error::NotIgmp(ipv4.protocol));
        }
        if let Ok(group) = GroupAddr::from_ipv4(ipv4.dst_addr)
            && ethernet.dst != group.to_mac()
        {
            return Err(Error::MacMismatch);
        }
        let payload = ip_bytes.get(ip.header_len()..usize::from(ip.total_len())).unwrap_or(&[]);
        let igmp = Message::parse(&igmp::Packet::new_checked(payload)?)?;
        Ok(Frame { ethernet, ipv4, igmp })
    }

    /// The octets [`emit`](Frame::emit) writes.
    pub fn buffer_len(&self) -> usize {
        ethernet::HEADER_LEN + self.ipv4.header_len() + self.igmp.buffer_len()
    }

    /// Writes the frame to the start of `buf`, every checksum filled; returns its
    /// length. The IPv4 total length is taken from the message, whatever
    /// `ipv4.payload_len` says.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        let buf = buf.get_mut(..len).ok_or(Error::BufferTooSmall)?;
        let mut at = self.ethernet.emit(buf)?;
        let ipv4 = ipv4::Repr { payload_len: self.igmp.buffer_len(), ..self.ipv4 };
        at += ipv4.emit(&mut buf[at..])?;
        at += self.igmp.emit(&mut buf[at..])?;
        Ok(at)
    }
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
/// byte for byte as [`Frame::new`] and [`Frame::emit`] would, into an array.
///
/// This is the transmit path of firmware: a few hundred octets of code, where the
/// general [`Frame::emit`] carries every IGMPv3 layout as well. `None` where
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

/// Frames `igmp` as [`Frame::new`] does and writes it to `buf`; returns its length.
pub fn build(igmp: &Message<'_>, src_mac: MacAddr, src_addr: Ipv4Addr, buf: &mut [u8]) -> Result<usize> {
    Frame::new(*igmp, src_mac, src_addr).emit(buf)
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
        let f = Frame::parse(&buf[..len]).unwrap();
        assert_eq!(f.ethernet.dst, GroupAddr::ALL_ROUTERS.to_mac());
        assert_eq!(f.ipv4.dst_addr, Ipv4Addr::new(224, 0, 0, 2));
        assert_eq!(f.igmp, msg);
        assert_eq!(f, Frame::new(msg, MAC, Ipv4Addr::new(10, 99, 0, 1)));
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
            let len = Frame::new(msg, MAC, src).emit(&mut buf).unwrap();
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
        assert_eq!(Frame::parse(&buf[..len]), Err(Error::MacMismatch));
    }

    #[test]
    fn unicast_destination_skips_the_mac_check() {
        // IGMPv3 allows unicast queries; the MAC then is the host's own.
        let msg = Message::V2Query { max_resp: 100, group: None };
        let mut f = Frame::new(msg, MAC, Ipv4Addr::new(10, 0, 0, 1));
        f.ipv4.dst_addr = Ipv4Addr::new(10, 0, 0, 2);
        f.ethernet.dst = MacAddr([0x02, 0, 0, 0, 0, 2]);
        let mut buf = [0u8; 64];
        let len = f.emit(&mut buf).unwrap();
        assert_eq!(Frame::parse(&buf[..len]), Ok(f));
    }

    #[test]
    fn other_ethertypes_and_protocols_are_named() {
        let msg = Message::V2Report { group: g("239.1.2.3") };
        let mut buf = [0u8; 64];
        let len = build(&msg, MAC, Ipv4Addr::new(10, 99, 0, 1), &mut buf).unwrap();
        let mut arp = buf;
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(Frame::parse(&arp[..len]), Err(Error::NotIpv4(0x0806)));
        let mut udp = Frame::new(msg, MAC, Ipv4Addr::new(10, 99, 0, 1));
        udp.ipv4.protocol = 17;
        let len = udp.emit(&mut buf).unwrap();
        assert_eq!(Frame::parse(&buf[..len]), Err(Error::NotIgmp(17)));
    }
}
