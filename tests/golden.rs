//! Golden frames from a real Linux kernel (tests/data/linux-igmp-frames.txt): each
//! parses to the right fields, and emitting those fields gives the frame back byte for
//! byte. Where the kernel framed the message as the RFCs prescribe, `FrameRepr::new` from
//! the message alone gives the same bytes too.

use core::net::Ipv4Addr;

use mcast::wire::igmp::{self, GroupRecord, GroupRecords, Message, RecordType};
use mcast::wire::{EtherType, checksum};
use mcast::wire::{FrameRepr, frame};
use mcast::{GroupAddr, MacAddr};

mod common;

use common::{g, golden_frames as golden};

const HOST_MAC: MacAddr = MacAddr([0x22, 0x44, 0x6f, 0x0d, 0x33, 0xe4]);
const BRIDGE_MAC: MacAddr = MacAddr([0x86, 0x90, 0x1d, 0xbc, 0x8f, 0x73]);
const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);

/// What each frame must parse to, checked field by field below.
struct Expect {
    src_mac: MacAddr,
    src_ip: Ipv4Addr,
    dst_ip: Ipv4Addr,
    ip_checksum: u16,
    igmp_checksum: u16,
    message: Message<'static>,
    /// Whether the kernel used the destination the RFCs prescribe.
    prescribed_destination: bool,
}

fn expectations() -> Vec<Expect> {
    let group = g("239.1.2.3");
    vec![
        Expect {
            src_mac: HOST_MAC,
            src_ip: HOST_IP,
            dst_ip: Ipv4Addr::new(239, 1, 2, 3),
            ip_checksum: 0xe8af,
            igmp_checksum: 0xf8fa,
            message: Message::V2Report { group },
            prescribed_destination: true,
        },
        Expect {
            src_mac: HOST_MAC,
            src_ip: HOST_IP,
            dst_ip: Ipv4Addr::new(224, 0, 0, 2),
            ip_checksum: 0xf9b1,
            igmp_checksum: 0xf7fa,
            message: Message::Leave { group },
            prescribed_destination: true,
        },
        Expect {
            src_mac: BRIDGE_MAC,
            src_ip: Ipv4Addr::UNSPECIFIED,
            dst_ip: Ipv4Addr::new(224, 0, 0, 1),
            ip_checksum: 0x0417,
            igmp_checksum: 0xeeeb,
            message: Message::V2Query { max_resp: 20, group: None },
            prescribed_destination: true,
        },
        Expect {
            src_mac: BRIDGE_MAC,
            src_ip: Ipv4Addr::UNSPECIFIED,
            dst_ip: Ipv4Addr::new(224, 0, 0, 1),
            ip_checksum: 0x0417,
            igmp_checksum: 0xfdf0,
            message: Message::V2Query { max_resp: 10, group: Some(group) },
            // RFC 2236 §3 sends group-specific queries to the group; the bridge uses 224.0.0.1.
            prescribed_destination: false,
        },
        Expect {
            src_mac: BRIDGE_MAC,
            src_ip: Ipv4Addr::new(10, 98, 0, 1),
            dst_ip: Ipv4Addr::new(224, 0, 0, 106),
            ip_checksum: 0xf94a,
            igmp_checksum: 0x0995,
            message: Message::V2Report { group: g("224.0.0.106") },
            prescribed_destination: true,
        },
        Expect {
            src_mac: HOST_MAC,
            src_ip: HOST_IP,
            dst_ip: Ipv4Addr::new(224, 0, 0, 22),
            ip_checksum: 0xf995,
            igmp_checksum: 0xe8f9,
            message: Message::V3Report { records: GroupRecords::new(&V3_JOIN) },
            prescribed_destination: true,
        },
    ]
}

const V3_JOIN: [GroupRecord<'static>; 1] = [GroupRecord {
    record_type: RecordType::ChangeToExclude,
    group: match GroupAddr::new([239, 1, 2, 3]) {
        Ok(g) => g,
        Err(_) => GroupAddr::BASE,
    },
    sources: igmp::AddrList::EMPTY,
    aux_data: &[],
}];

#[test]
fn every_golden_frame_parses_to_its_fields() {
    for ((name, bytes), want) in golden().iter().zip(expectations()) {
        let f = FrameRepr::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(f.ethernet.src, want.src_mac, "{name}");
        assert_eq!(f.ethernet.dst, GroupAddr::from_ipv4(want.dst_ip).unwrap().to_mac(), "{name}");
        assert_eq!(f.ethernet.ethertype, EtherType::IPV4, "{name}");
        assert_eq!(f.ipv4.src_addr, want.src_ip, "{name}");
        assert_eq!(f.ipv4.dst_addr, want.dst_ip, "{name}");
        assert_eq!(f.ipv4.ttl, 1, "{name}");
        assert_eq!(f.ipv4.tos, 0xc0, "{name}");
        assert!(f.ipv4.dont_fragment, "{name}");
        assert!(f.ipv4.router_alert, "{name}");
        assert_eq!(f.ipv4.ident, 0, "{name}");
        assert_eq!(f.ipv4.protocol, 2, "{name}");
        assert_eq!(f.ipv4.payload_len, bytes.len() - 38, "{name}");
        assert_eq!(f.igmp, want.message, "{name}");
        // The checksums in the capture are the kernel's; ours must agree with them.
        assert_eq!(u16::from_be_bytes([bytes[24], bytes[25]]), want.ip_checksum, "{name}");
        assert_eq!(u16::from_be_bytes([bytes[40], bytes[41]]), want.igmp_checksum, "{name}");
        assert!(checksum::verify(&bytes[14..38]), "{name}");
        assert!(checksum::verify(&bytes[38..]), "{name}");
    }
}

#[test]
fn emitting_the_parsed_fields_reproduces_every_frame() {
    for (name, bytes) in golden() {
        let f = FrameRepr::parse(&bytes).unwrap();
        assert_eq!(f.buffer_len(), bytes.len(), "{name}");
        let mut out = vec![0u8; f.buffer_len()];
        assert_eq!(f.emit(&mut out), Ok(bytes.len()), "{name}");
        assert_eq!(out, bytes, "{name}");
    }
}

#[test]
fn framing_the_message_alone_reproduces_what_the_kernel_sent() {
    for ((name, bytes), want) in golden().into_iter().zip(expectations()) {
        let mut out = [0u8; 64];
        let len = frame::build(&want.message, want.src_mac, want.src_ip, &mut out).unwrap();
        if want.prescribed_destination {
            assert_eq!(&out[..len], &bytes[..], "{name}");
        } else {
            // We send a group-specific query to its group; the bytes differ only in the
            // destinations and the IP header checksum.
            let f = FrameRepr::parse(&out[..len]).unwrap();
            assert_eq!(f.ipv4.dst_addr, Ipv4Addr::new(239, 1, 2, 3), "{name}");
            assert_eq!(f.ethernet.dst, g("239.1.2.3").to_mac(), "{name}");
            assert_eq!(f.igmp, want.message, "{name}");
            let differing: Vec<usize> = (0..len).filter(|&i| out[i] != bytes[i]).collect();
            assert!(differing.iter().all(|&i| i < 6 || (24..26).contains(&i) || (30..34).contains(&i)), "{name}");
        }
    }
}

#[test]
fn the_v2_transmit_path_reproduces_the_kernels_v2_frames() {
    let mut framed = 0;
    for ((name, bytes), want) in golden().into_iter().zip(expectations()) {
        let Some(out) = frame::build_v2(&want.message, want.src_mac, want.src_ip) else {
            assert_eq!(want.message.version(), igmp::Version::V3, "{name}");
            continue;
        };
        framed += 1;
        if want.prescribed_destination {
            assert_eq!(&out[..], &bytes[..], "{name}");
        } else {
            let mut general = [0u8; 64];
            let len = frame::build(&want.message, want.src_mac, want.src_ip, &mut general).unwrap();
            assert_eq!(&out[..], &general[..len], "{name}");
        }
    }
    assert!(framed >= 4, "only {framed} golden IGMPv1/v2 frames");
}

#[test]
fn kernel_v3_leave_checksum() {
    // On leave the kernel sends the v3 join report with record type 3 and checksum e9f9.
    let leave = [GroupRecord { record_type: RecordType::ChangeToInclude, ..V3_JOIN[0] }];
    let msg = Message::V3Report { records: GroupRecords::new(&leave) };
    let mut out = [0u8; 16];
    assert_eq!(msg.emit(&mut out), Ok(16));
    assert_eq!(&out[2..4], &[0xe9, 0xf9]);
    assert_eq!(out[8], 3);
}

#[test]
fn group_specific_query_to_all_systems_is_still_group_specific() {
    let (_, bytes) = &golden()[3];
    let f = FrameRepr::parse(bytes).unwrap();
    let q = f.igmp.query().unwrap();
    assert_eq!(q.group, Some(g("239.1.2.3")));
    assert_eq!(q.max_resp_ms(), 1000);
    assert_eq!(f.ipv4.dst_addr, Ipv4Addr::new(224, 0, 0, 1));
}

#[test]
fn ethernet_padding_is_ignored() {
    for (name, mut bytes) in golden() {
        let want = FrameRepr::parse(&bytes).unwrap().igmp.buffer_len();
        bytes.resize(60, 0);
        let f = FrameRepr::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(f.igmp.buffer_len(), want, "{name}");
    }
}

#[test]
fn truncating_any_golden_frame_at_any_length_is_an_error() {
    for (name, bytes) in golden() {
        for len in 0..bytes.len() {
            let err = FrameRepr::parse(&bytes[..len]).unwrap_err();
            assert_eq!(err, mcast::wire::Error::Truncated, "{name} cut to {len}");
        }
    }
}
