//! Wire codec speed, `mcast` next to smoltcp 0.14, in one run.
//!
//! Every benchmark id is `<case>/<operation>/<implementation>`, so the two codecs of a
//! case sit next to each other in the report.
//!
//! What the two sides do is not identical, and the ids say where:
//! - `Message::parse` verifies the IGMP checksum; smoltcp's `IgmpRepr::parse` does not.
//!   `igmp_v2_report/parse_verify/smoltcp_plus_verify_checksum` adds smoltcp's own
//!   `IgmpPacket::verify_checksum` for an equal-work comparison.
//! - smoltcp has no IGMPv3: it cannot parse or emit a v3 query. It takes a 12-octet or
//!   longer query for a v2 query and decodes only its first 8 octets;
//!   `igmp_v3_query_16_sources/parse_verify/smoltcp_reads_it_as_v2_wrong` shows that
//!   cost, which is not a result anyone should use.
//! - smoltcp's `Ipv4Repr::emit` writes a 20-octet header and cannot write the Router
//!   Alert option IGMP requires (RFC 2236 §2). `frame_v2_report/build/smoltcp_no_router_alert`
//!   is what smoltcp's interface sends; `smoltcp_router_alert_by_hand` writes the same
//!   24-octet header as `mcast` with smoltcp's packet setters.
//!
//! - `igmp_v2_report/parse_verify_use_bounds` are not parsers: they are the least work
//!   a parse of this one report can do, by hand, with and without the checksum, to show
//!   how close to those bounds each side is.
//!
//! Run with `cargo bench --bench wire`.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

use mcast::wire::igmp::{AddrList, Message, Packet, V3Query};
use mcast::wire::{FrameRepr, frame};
use mcast::{GroupAddr, MacAddr};

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IgmpPacket, IgmpRepr, IgmpVersion, IpProtocol,
    Ipv4Packet, Ipv4Repr,
};

/// The loop and the length check of an 8-octet message, and nothing else.
#[inline(always)]
fn bound_length(bytes: &[u8]) -> u64 {
    <&[u8; 8]>::try_from(bytes).map_or(0, |head| u64::from_le_bytes(*head))
}

/// The group of a v2 report after the checks smoltcp's parse makes (length, type, a
/// multicast group), and no more; 0 for anything else.
#[inline(always)]
fn bound_checks(bytes: &[u8]) -> u32 {
    let Ok(head) = <&[u8; 8]>::try_from(bytes) else { return 0 };
    let group = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if head[0] == 0x16 && group >> 28 == 0xe { group } else { 0 }
}

/// [`bound_checks`] and the cheapest verification of the checksum: the four words sum
/// to a non-zero multiple of 0xffff, one multiplication and a compare (what
/// `Message::parse` does).
#[inline(always)]
fn bound_checks_verify(bytes: &[u8]) -> u32 {
    let Ok(head) = <&[u8; 8]>::try_from(bytes) else { return 0 };
    let word = u64::from_le_bytes(*head);
    if word.wrapping_mul(0xfffe_fffe_fffe_ffff).wrapping_sub(1) >= u64::MAX / 0xffff {
        return 0;
    }
    let group = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if head[0] == 0x16 && group >> 28 == 0xe { group } else { 0 }
}

/// IGMPv2 report for 239.1.2.3, checksum 0xf8fa, as Linux sends it.
const V2_REPORT: [u8; 8] = [0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03];
const GROUP: [u8; 4] = [239, 1, 2, 3];
const SRC_MAC: [u8; 6] = [0x22, 0x44, 0x6f, 0x0d, 0x33, 0xe4];
const SRC_ADDR: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);

/// The 16 sources of the IGMPv3 query: 10.0.0.1 to 10.0.0.16.
fn v3_sources() -> [[u8; 4]; 16] {
    core::array::from_fn(|i| [10, 0, 0, i as u8 + 1])
}

fn v3_query(sources: &[[u8; 4]]) -> Message<'_> {
    Message::V3Query(V3Query {
        max_resp_code: 100,
        group: Some(GroupAddr::new([232, 1, 1, 1]).unwrap()),
        suppress_router_processing: false,
        qrv: 2,
        qqic: 125,
        sources: AddrList::new(sources),
    })
}

fn igmp_v2_report(c: &mut Criterion) {
    let group = GroupAddr::new(GROUP).unwrap();
    // Both codecs must agree on the input before they are timed.
    assert_eq!(Message::parse_bytes(&V2_REPORT), Ok(Message::V2Report { group }));
    let smol_repr = IgmpRepr::MembershipReport { group_addr: group.to_ipv4(), version: IgmpVersion::Version2 };
    assert_eq!(IgmpRepr::parse(&IgmpPacket::new_checked(&V2_REPORT[..]).unwrap()), Ok(smol_repr.clone()));

    let mut g = c.benchmark_group("igmp_v2_report/parse_verify");
    g.bench_function("mcast", |b| {
        b.iter(|| {
            let bytes: &[u8] = black_box(&V2_REPORT[..]);
            let packet = Packet::new_checked(bytes)?;
            Message::parse(&packet)
        })
    });
    g.bench_function("smoltcp", |b| {
        b.iter(|| {
            let bytes: &[u8] = black_box(&V2_REPORT[..]);
            let packet = IgmpPacket::new_checked(bytes)?;
            IgmpRepr::parse(&packet)
        })
    });
    g.bench_function("smoltcp_plus_verify_checksum", |b| {
        b.iter(|| {
            let bytes: &[u8] = black_box(&V2_REPORT[..]);
            let packet = IgmpPacket::new_checked(bytes)?;
            if !packet.verify_checksum() {
                return Err(smoltcp::wire::Error);
            }
            IgmpRepr::parse(&packet)
        })
    });
    g.finish();

    // What a receiver does: parse, verify, and act on the group. Nothing is returned but
    // the group's bits, so neither side pays for handing its whole result to the caller
    // (our `Result<Message>` is 32 bytes on 64-bit targets, smoltcp's `Result<IgmpRepr>`
    // 16, and the group above measures that difference too).
    let mut g = c.benchmark_group("igmp_v2_report/parse_verify_use");
    g.bench_function("mcast", |b| {
        b.iter(|| {
            let bytes: &[u8] = black_box(&V2_REPORT[..]);
            match Packet::new_checked(bytes).and_then(|p| Message::parse(&p)) {
                Ok(Message::V2Report { group }) => group.to_bits(),
                _ => 0,
            }
        })
    });
    g.bench_function("smoltcp", |b| {
        b.iter(|| {
            let bytes: &[u8] = black_box(&V2_REPORT[..]);
            match IgmpPacket::new_checked(bytes).and_then(|p| IgmpRepr::parse(&p)) {
                Ok(IgmpRepr::MembershipReport { group_addr, .. }) => u32::from(group_addr),
                _ => 0,
            }
        })
    });
    g.bench_function("smoltcp_plus_verify_checksum", |b| {
        b.iter(|| {
            let bytes: &[u8] = black_box(&V2_REPORT[..]);
            let Ok(packet) = IgmpPacket::new_checked(bytes) else { return 0 };
            if !packet.verify_checksum() {
                return 0;
            }
            match IgmpRepr::parse(&packet) {
                Ok(IgmpRepr::MembershipReport { group_addr, .. }) => u32::from(group_addr),
                _ => 0,
            }
        })
    });
    g.finish();

    // Lower bounds for the group above, by hand for this one message (see `bound_*`).
    let mut corrupt = V2_REPORT;
    corrupt[3] ^= 1;
    assert_eq!((bound_checks(&V2_REPORT), bound_checks_verify(&V2_REPORT)), (0xef01_0203, 0xef01_0203));
    assert_eq!((bound_checks(&corrupt), bound_checks_verify(&corrupt)), (0xef01_0203, 0));
    let mut g = c.benchmark_group("igmp_v2_report/parse_verify_use_bounds");
    g.bench_function("length_only", |b| b.iter(|| bound_length(black_box(&V2_REPORT[..]))));
    g.bench_function("type_and_group", |b| b.iter(|| bound_checks(black_box(&V2_REPORT[..]))));
    g.bench_function("type_and_group_and_checksum", |b| b.iter(|| bound_checks_verify(black_box(&V2_REPORT[..]))));
    g.finish();

    let msg = Message::V2Report { group };
    let mut buf = [0u8; 8];
    assert_eq!(msg.emit(&mut buf), Ok(8));
    assert_eq!(buf, V2_REPORT);
    let mut smol_buf = [0u8; 8];
    smol_repr.emit(&mut IgmpPacket::new_unchecked(&mut smol_buf[..]));
    assert_eq!(smol_buf, V2_REPORT, "smoltcp's emit fills the checksum too");

    let mut g = c.benchmark_group("igmp_v2_report/emit");
    g.bench_function("mcast", |b| {
        b.iter(|| {
            let n = black_box(&msg).emit(black_box(&mut buf[..]));
            black_box(&buf);
            n
        })
    });
    g.bench_function("smoltcp", |b| {
        b.iter(|| {
            black_box(&smol_repr).emit(&mut IgmpPacket::new_unchecked(black_box(&mut smol_buf[..])));
            black_box(&smol_buf);
        })
    });
    g.finish();
}

fn igmp_v3_query(c: &mut Criterion) {
    let sources = v3_sources();
    let msg = v3_query(&sources);
    let mut wire = [0u8; 12 + 4 * 16];
    assert_eq!(msg.emit(&mut wire), Ok(wire.len()));
    assert_eq!(Message::parse_bytes(&wire), Ok(msg));
    // smoltcp has no IGMPv3 and takes this for a v2 query: the sources, S, QRV and QQIC
    // are lost, and Max Resp is decoded from the first 8 octets only.
    let smol = IgmpRepr::parse(&IgmpPacket::new_checked(&wire[..]).unwrap()).unwrap();
    assert!(matches!(smol, IgmpRepr::MembershipQuery { version: IgmpVersion::Version2, .. }), "{smol:?}");

    let mut g = c.benchmark_group("igmp_v3_query_16_sources/parse_verify");
    g.bench_function("mcast", |b| {
        b.iter(|| {
            let bytes: &[u8] = black_box(&wire[..]);
            let packet = Packet::new_checked(bytes)?;
            Message::parse(&packet)
        })
    });
    g.bench_function("smoltcp_reads_it_as_v2_wrong", |b| {
        b.iter(|| {
            let bytes: &[u8] = black_box(&wire[..]);
            let packet = IgmpPacket::new_checked(bytes)?;
            IgmpRepr::parse(&packet)
        })
    });
    g.finish();

    // smoltcp cannot emit an IGMPv3 query at all.
    let mut buf = [0u8; 12 + 4 * 16];
    let mut g = c.benchmark_group("igmp_v3_query_16_sources/emit");
    g.bench_function("mcast", |b| {
        b.iter(|| {
            let n = black_box(&msg).emit(black_box(&mut buf[..]));
            black_box(&buf);
            n
        })
    });
    g.finish();
}

/// The MAC a group maps to (RFC 1112 §6.4), computed as smoltcp's interface does.
fn smol_group_mac(addr: Ipv4Addr) -> EthernetAddress {
    let o = addr.octets();
    EthernetAddress([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
}

fn frame_v2_report(c: &mut Criterion) {
    let group = GroupAddr::new(GROUP).unwrap();
    let msg = Message::V2Report { group };
    let src_mac = MacAddr(SRC_MAC);
    let mut wire = [0u8; 64];
    let len = frame::build(&msg, src_mac, SRC_ADDR, &mut wire).unwrap();
    assert_eq!(len, 14 + 24 + 8);
    let wire = &wire[..len];
    let caps = ChecksumCapabilities::default();

    // smoltcp parses the same frame: it skips the options by IHL and checks the IPv4
    // header checksum (default capabilities), but not the IGMP checksum.
    let smol_parse = |bytes: &[u8]| -> smoltcp::wire::Result<(EthernetRepr, Ipv4Repr, IgmpRepr)> {
        let eth = EthernetFrame::new_checked(bytes)?;
        let eth_repr = EthernetRepr::parse(&eth)?;
        if eth_repr.ethertype != EthernetProtocol::Ipv4 {
            return Err(smoltcp::wire::Error);
        }
        let ip = Ipv4Packet::new_checked(eth.payload())?;
        let ip_repr = Ipv4Repr::parse(&ip, &caps)?;
        if ip_repr.next_header != IpProtocol::Igmp {
            return Err(smoltcp::wire::Error);
        }
        let igmp = IgmpPacket::new_checked(ip.payload())?;
        let igmp_repr = IgmpRepr::parse(&igmp)?;
        Ok((eth_repr, ip_repr, igmp_repr))
    };
    let (_, ip_repr, igmp_repr) = smol_parse(wire).unwrap();
    assert_eq!(ip_repr.dst_addr, group.to_ipv4());
    assert_eq!(igmp_repr, IgmpRepr::MembershipReport { group_addr: group.to_ipv4(), version: IgmpVersion::Version2 });

    let mut g = c.benchmark_group("frame_v2_report/parse");
    g.bench_function("mcast", |b| b.iter(|| FrameRepr::parse(black_box(wire))));
    g.bench_function("smoltcp", |b| b.iter(|| smol_parse(black_box(wire))));
    g.finish();

    // Build: from the message and the host's addresses to a frame with every checksum
    // filled, destinations derived from the group on each side.
    let smol_igmp = IgmpRepr::MembershipReport { group_addr: group.to_ipv4(), version: IgmpVersion::Version2 };
    let smol_src = EthernetAddress(SRC_MAC);
    let smol_build = |igmp: &IgmpRepr, src_mac: EthernetAddress, src_addr: Ipv4Addr, buf: &mut [u8]| -> usize {
        let IgmpRepr::MembershipReport { group_addr, .. } = *igmp else { unreachable!() };
        let ip_repr = Ipv4Repr {
            src_addr,
            dst_addr: group_addr,
            next_header: IpProtocol::Igmp,
            payload_len: igmp.buffer_len(),
            hop_limit: 1,
        };
        let eth_repr =
            EthernetRepr { src_addr: src_mac, dst_addr: smol_group_mac(group_addr), ethertype: EthernetProtocol::Ipv4 };
        let len = eth_repr.buffer_len() + ip_repr.buffer_len() + igmp.buffer_len();
        let mut eth = EthernetFrame::new_unchecked(&mut buf[..len]);
        eth_repr.emit(&mut eth);
        let mut ip = Ipv4Packet::new_unchecked(eth.payload_mut());
        ip_repr.emit(&mut ip, &caps);
        igmp.emit(&mut IgmpPacket::new_unchecked(ip.payload_mut()));
        len
    };
    // The same 24-octet header `mcast` writes (TOS 0xc0, DF, TTL 1, Router Alert), with
    // smoltcp's packet setters since its `Ipv4Repr` cannot carry options.
    let smol_build_ra = |igmp: &IgmpRepr, src_mac: EthernetAddress, src_addr: Ipv4Addr, buf: &mut [u8]| -> usize {
        let IgmpRepr::MembershipReport { group_addr, .. } = *igmp else { unreachable!() };
        let eth_repr =
            EthernetRepr { src_addr: src_mac, dst_addr: smol_group_mac(group_addr), ethertype: EthernetProtocol::Ipv4 };
        let ip_len = 24 + igmp.buffer_len();
        let len = eth_repr.buffer_len() + ip_len;
        let mut eth = EthernetFrame::new_unchecked(&mut buf[..len]);
        eth_repr.emit(&mut eth);
        let ip_bytes = eth.payload_mut();
        // smoltcp has no option setter; the option goes in by index, before the checksum.
        ip_bytes[20..24].copy_from_slice(&[0x94, 0x04, 0x00, 0x00]);
        let mut ip = Ipv4Packet::new_unchecked(ip_bytes);
        ip.set_version(4);
        ip.set_header_len(24);
        ip.set_dscp(0x30);
        ip.set_ecn(0);
        ip.set_total_len(ip_len as u16);
        ip.set_ident(0);
        ip.clear_flags();
        ip.set_dont_frag(true);
        ip.set_frag_offset(0);
        ip.set_hop_limit(1);
        ip.set_next_header(IpProtocol::Igmp);
        ip.set_src_addr(src_addr);
        ip.set_dst_addr(group_addr);
        ip.fill_checksum();
        igmp.emit(&mut IgmpPacket::new_unchecked(ip.payload_mut()));
        len
    };

    let mut buf = [0u8; 64];
    let mut smol_buf = [0u8; 64];
    let n = smol_build(&smol_igmp, smol_src, SRC_ADDR, &mut smol_buf);
    assert_eq!(n, 14 + 20 + 8);
    assert_eq!(&smol_buf[..14], &wire[..14]);
    assert_eq!(&smol_buf[14 + 20..n], &wire[14 + 24..]);
    let n = smol_build_ra(&smol_igmp, smol_src, SRC_ADDR, &mut smol_buf);
    assert_eq!(&smol_buf[..n], wire, "the by-hand header must be byte-identical to ours");

    let mut g = c.benchmark_group("frame_v2_report/build");
    g.bench_function("mcast", |b| {
        b.iter(|| {
            let n = frame::build(black_box(&msg), black_box(src_mac), black_box(SRC_ADDR), black_box(&mut buf[..]));
            black_box(&buf);
            n
        })
    });
    g.bench_function("smoltcp_no_router_alert", |b| {
        b.iter(|| {
            let n =
                smol_build(black_box(&smol_igmp), black_box(smol_src), black_box(SRC_ADDR), black_box(&mut smol_buf));
            black_box(&smol_buf);
            n
        })
    });
    g.bench_function("smoltcp_router_alert_by_hand", |b| {
        b.iter(|| {
            let n = smol_build_ra(
                black_box(&smol_igmp),
                black_box(smol_src),
                black_box(SRC_ADDR),
                black_box(&mut smol_buf),
            );
            black_box(&smol_buf);
            n
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // Short windows keep a full run near a minute and a half; the cases take nanoseconds,
    // so each window still holds millions of iterations.
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = igmp_v2_report, igmp_v3_query, frame_v2_report
}
criterion_main!(benches);
