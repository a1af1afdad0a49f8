//! Whole-frame parser and emitter: Ethernet II (with up to two VLAN tags) + IPv4 +
//! IGMP.
//!
//! Every input is checked twice: as it is, and with the fields that stand between the
//! fuzzer and the IGMP parser repaired (EtherType, IP version, IHL, total length,
//! fragment fields, protocol, the Ethernet destination of a multicast IPv4
//! destination unless the message is a query at a unicast or the broadcast MAC, and
//! both checksums; VLAN tags at the start of the input are kept). The first run covers
//! the error paths of every layer; the second reaches the IGMP parser from the first
//! few executions on.
//!
//! Properties:
//! - no accessor of a checked `ethernet::Packet` or `ipv4::Packet` panics, and the
//!   options walk ends;
//! - `frame::is_igmp` says yes to every frame that parses;
//! - a frame that parses, emitted into exactly `buffer_len()` octets, has IPv4 and IGMP
//!   checksums that verify and parses back to the same `FrameRepr`, except for the fields
//!   that are deliberately not carried over (see `normalized`); emitting that again
//!   gives the same octets;
//! - `frame::build_v2` gives what `FrameRepr::new(..).emit` gives for every IGMPv1/v2
//!   message;
//! - emitting into one octet less fails with `Error::BufferTooSmall`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcast::GroupAddr;
use mcast::wire::{Error, checksum, ethernet, igmp, ipv4};
use mcast::wire::{FrameRepr, frame};

fuzz_target!(|data: &[u8]| {
    check(data);
    let fixed = repaired(data);
    if fixed != data {
        check(&fixed);
    }
});

fn check(data: &[u8]) {
    walk_views(data);

    let Ok(frame) = FrameRepr::parse(data) else { return };
    let _ = format!("{frame:?} {}", frame.igmp);
    assert!(frame::is_igmp(data), "parses but is not IGMP: {data:02x?}");
    let ip_start = ethernet::HEADER_LEN + 4 * tags(data);
    assert_eq!(ip_start, ethernet::HEADER_LEN + 4 * frame.vlan.iter().flatten().count());
    if frame.mac_mismatch {
        let dst = frame.ethernet.dst;
        assert!(!dst.is_multicast() || dst.is_broadcast(), "mismatch at {dst}");
        assert!(frame.igmp.query().is_some(), "a mismatched {frame:?}");
    }

    let len = frame.buffer_len();
    let mut out = vec![0u8; len];
    assert_eq!(frame.emit(&mut out), Ok(len), "emit of {frame:?}");

    let ip = ipv4::Packet::new_checked(&out[ip_start..]).expect("emitted IPv4 header");
    assert!(ip.verify_checksum(), "emitted IPv4 checksum does not verify: {out:02x?}");
    assert_eq!(usize::from(ip.total_len()), len - ip_start);
    assert!(checksum::verify(ip.payload()), "emitted IGMP checksum does not verify: {out:02x?}");

    let again = FrameRepr::parse(&out).unwrap_or_else(|e| panic!("{e:?} re-parsing {out:02x?} from {frame:?}"));
    assert_eq!(again, normalized(frame), "re-parse of {out:02x?}");

    let mut out2 = vec![0u8; len];
    assert_eq!(again.emit(&mut out2), Ok(len));
    assert_eq!(out2, out, "second emission differs");

    // The firmware's transmit path frames an IGMPv1/v2 message exactly as `FrameRepr::new`.
    if let Some(v2) = frame::build_v2(&frame.igmp, frame.ethernet.src, frame.ipv4.src_addr) {
        let mut general = [0u8; 64];
        let general_len = FrameRepr::new(frame.igmp, frame.ethernet.src, frame.ipv4.src_addr).emit(&mut general);
        assert_eq!(general_len, Ok(v2.len()));
        assert_eq!(&v2[..], &general[..v2.len()], "build_v2 of {frame:?}");
    }

    let mut short = vec![0u8; len - 1];
    assert_eq!(frame.emit(&mut short), Err(Error::BufferTooSmall), "emit of {frame:?} into {} octets", len - 1);
}

/// What a parsed frame is expected to parse back as after `emit`.
///
/// `ipv4.payload_len` is the IPv4 total length minus the header as received; that may
/// include octets after the message (RFC 2236 §2.5 lets an IGMPv2 message be longer
/// than 8 octets, and a v3 query or report may carry octets after its sources or
/// records). `emit` writes only the message, so the re-parsed length is the message's.
///
/// The other fields that do not survive are not in `FrameRepr` at all, so the comparison
/// needs no help with them: unknown IPv4 options, the length of the Router Alert
/// option and a non-zero value (not the alert: no option is emitted), the reserved
/// flag bit, the reserved bits of a v3 query, the group field of a v1 query, and
/// Ethernet padding after the total length.
fn normalized(frame: FrameRepr<'_>) -> FrameRepr<'_> {
    FrameRepr { ipv4: ipv4::Repr { payload_len: frame.igmp.buffer_len(), ..frame.ipv4 }, ..frame }
}

/// How many VLAN tags (TPID 0x8100, 0x88a8 or 0x9100) start the frame after the MACs,
/// up to two.
fn tags(data: &[u8]) -> usize {
    let is_tag = |at: usize| matches!(data.get(at..at + 2), Some([0x81, 0x00] | [0x88, 0xa8] | [0x91, 0x00]));
    if !is_tag(12) {
        0
    } else if !is_tag(16) {
        1
    } else {
        2
    }
}

/// Calls every accessor of the Ethernet and IPv4 views (the IPv4 view where the
/// EtherType would be and after any tags), walking the options to their end.
fn walk_views(data: &[u8]) {
    let Ok(eth) = ethernet::Packet::new_checked(data) else { return };
    let _ = (eth.dst(), eth.src(), eth.ethertype(), ethernet::Repr::parse(&eth));
    assert_eq!(eth.payload().len(), data.len() - ethernet::HEADER_LEN);
    walk_ipv4(eth.payload());
    if let Some(after_tags) = data.get(ethernet::HEADER_LEN + 4 * tags(data)..) {
        walk_ipv4(after_tags);
    }
}

fn walk_ipv4(data: &[u8]) {
    let Ok(ip) = ipv4::Packet::new_checked(data) else { return };
    let _ = (ip.version(), ip.tos(), ip.ident(), ip.dont_fragment(), ip.more_fragments(), ip.frag_offset());
    let _ = (ip.ttl(), ip.protocol(), ip.checksum(), ip.src_addr(), ip.dst_addr(), ip.verify_checksum());
    let header_len = ip.header_len();
    assert!(header_len >= ipv4::MIN_HEADER_LEN);
    assert_eq!(ip.payload().len(), usize::from(ip.total_len()) - header_len);

    let mut option_octets = 0;
    for option in ip.options() {
        option_octets += 2 + option.data.len();
        if option.kind == 0x94 {
            assert!(option.data.len() >= 2, "Router Alert of {} octets", option.data.len() + 2);
        }
    }
    assert!(option_octets <= header_len - ipv4::MIN_HEADER_LEN);
    let alert = ip.router_alert();
    if let Some(value) = alert {
        let zero = ip.options().any(|o| o.kind == 0x94 && o.data[..2] == [0, 0]);
        assert_eq!(value == 0, zero, "Router Alert value {value}");
    }

    if let Ok(repr) = ipv4::Repr::parse(&ip) {
        assert_eq!(repr.payload_len, ip.payload().len());
        assert_eq!(repr.router_alert, alert == Some(0));
        if let Ok(packet) = igmp::Packet::new_checked(ip.payload()) {
            let _ = (packet.msg_type(), packet.sources().iter().count(), packet.records().iter().count());
        }
    }
}

/// A copy of `data` with the fields in front of the IGMP message made valid.
fn repaired(data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    let eth = ethernet::HEADER_LEN + 4 * tags(data);
    if d.len() < eth {
        return d;
    }
    d[eth - 2..eth].copy_from_slice(&ethernet::EtherType::IPV4.0.to_be_bytes());
    let avail = d.len() - eth;
    if avail < ipv4::MIN_HEADER_LEN {
        return d;
    }
    let ip = &mut d[eth..];
    if ip[0] & 0x0f < 5 {
        ip[0] = 0x45;
    } else {
        ip[0] = 0x40 | (ip[0] & 0x0f);
    }
    let header_len = usize::from(ip[0] & 0x0f) * 4;
    if header_len > avail {
        return d;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if total < header_len || total > avail {
        let Ok(total) = u16::try_from(avail) else { return d };
        ip[2..4].copy_from_slice(&total.to_be_bytes());
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    ip[6] &= 0xc0; // keep the reserved and DF flags; clear MF and the fragment offset
    ip[7] = 0;
    ip[9] = ipv4::PROTOCOL_IGMP;

    let message = &mut ip[header_len..total];
    if message.len() >= igmp::field::CHECKSUM.end {
        message[igmp::field::CHECKSUM].fill(0);
        let sum = checksum::compute(message);
        message[igmp::field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
    }

    ip[10..12].fill(0);
    let sum = checksum::compute(&ip[..header_len]);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());

    let query = ip[header_len..total].first() == Some(&igmp::msg_type::MEMBERSHIP_QUERY);
    let group = GroupAddr::new([ip[16], ip[17], ip[18], ip[19]]);
    let unicast_or_broadcast = d[0] & 1 == 0 || d[..6] == [0xff; 6];
    if let Ok(group) = group
        && !(query && unicast_or_broadcast)
    {
        d[ethernet::field::DST].copy_from_slice(&group.to_mac().octets());
    }
    d
}
