//! Property tests of the wire codecs and the address types, over the public API only.
//!
//! `AddrList` and `GroupRecords` borrow their contents, so the strategies generate an
//! owned description of a message (`OwnedMessage`) and each test builds the borrowed
//! `Message` from it in its body.

use core::net::Ipv4Addr;

use mcast::wire::igmp::{self, AddrList, GroupRecord, GroupRecords, Message, RecordType, V3Query};
use mcast::wire::{Error, checksum, ethernet, ipv4};
use mcast::wire::{FrameRepr, frame};
use mcast::{AddrError, GroupAddr, MacAddr};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

const MULTICAST_FIRST: u32 = 0xe000_0000;
const MULTICAST_LAST: u32 = 0xefff_ffff;

/// Any address in 224.0.0.0/4, edges included.
fn group_bits() -> impl Strategy<Value = u32> {
    prop_oneof![
        1 => Just(MULTICAST_FIRST),
        1 => Just(MULTICAST_LAST),
        1 => Just(0xe000_0001),
        1 => Just(0xe000_0016),
        16 => MULTICAST_FIRST..=MULTICAST_LAST,
    ]
}

/// Any address outside 224.0.0.0/4, edges included.
fn non_group_bits() -> impl Strategy<Value = u32> {
    prop_oneof![
        1 => Just(0u32),
        1 => Just(MULTICAST_FIRST - 1),
        1 => Just(MULTICAST_LAST + 1),
        1 => Just(u32::MAX),
        8 => 0..MULTICAST_FIRST,
        8 => (MULTICAST_LAST + 1)..=u32::MAX,
    ]
}

fn group() -> impl Strategy<Value = GroupAddr> {
    group_bits().prop_map(|bits| GroupAddr::from_bits(bits).expect("multicast"))
}

fn any_ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

/// Any IPv4 address as the 4 octets an `AddrList` holds.
fn any_octets() -> impl Strategy<Value = [u8; 4]> {
    any::<[u8; 4]>()
}

fn any_mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(MacAddr)
}

fn vlan_tag() -> impl Strategy<Value = ethernet::VlanTag> {
    let tpid = prop_oneof![
        Just(ethernet::EtherType::VLAN),
        Just(ethernet::EtherType::SERVICE_VLAN),
        Just(ethernet::EtherType::QINQ_9100)
    ];
    (tpid, any::<u16>()).prop_map(|(tpid, tci)| ethernet::VlanTag { tpid, tci })
}

/// No tag, one, or two (outermost first).
fn vlan_tags() -> impl Strategy<Value = [Option<ethernet::VlanTag>; 2]> {
    prop_oneof![
        Just([None, None]),
        vlan_tag().prop_map(|t| [Some(t), None]),
        (vlan_tag(), vlan_tag()).prop_map(|(a, b)| [Some(a), Some(b)]),
    ]
}

/// Every record type, including unknown values. An unknown value in 1..=6 would parse
/// back as the named type, so `Unknown` only carries values outside that range.
fn record_type() -> impl Strategy<Value = RecordType> {
    prop_oneof![
        Just(RecordType::ModeIsInclude),
        Just(RecordType::ModeIsExclude),
        Just(RecordType::ChangeToInclude),
        Just(RecordType::ChangeToExclude),
        Just(RecordType::AllowNewSources),
        Just(RecordType::BlockOldSources),
        prop_oneof![Just(0u8), 7u8..=255].prop_map(RecordType::Unknown),
    ]
}

/// The owned parts of a group record.
#[derive(Debug, Clone)]
struct OwnedRecord {
    record_type: RecordType,
    group: GroupAddr,
    sources: Vec<[u8; 4]>,
    aux_data: Vec<u8>,
}

fn record() -> impl Strategy<Value = OwnedRecord> {
    let aux_data = (0usize..=3).prop_flat_map(|words| vec(any::<u8>(), 4 * words));
    (record_type(), group(), vec(any_octets(), 0..=8), aux_data)
        .prop_map(|(record_type, group, sources, aux_data)| OwnedRecord { record_type, group, sources, aux_data })
}

/// An owned description of a `Message`.
#[derive(Debug, Clone)]
enum OwnedMessage {
    V1Query,
    V1Report(GroupAddr),
    V2Query { max_resp: u8, group: Option<GroupAddr> },
    V2Report(GroupAddr),
    Leave(GroupAddr),
    V3Query { max_resp_code: u8, group: Option<GroupAddr>, s_flag: bool, qrv: u8, qqic: u8, sources: Vec<[u8; 4]> },
    V3Report(Vec<OwnedRecord>),
}

impl OwnedMessage {
    /// The borrowed records of a v3 report (empty for the other kinds), to hand to
    /// [`OwnedMessage::message`].
    fn records(&self) -> Vec<GroupRecord<'_>> {
        match self {
            OwnedMessage::V3Report(records) => records
                .iter()
                .map(|r| GroupRecord {
                    record_type: r.record_type,
                    group: r.group,
                    sources: AddrList::new(&r.sources),
                    aux_data: &r.aux_data,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn message<'a>(&'a self, records: &'a [GroupRecord<'a>]) -> Message<'a> {
        match self {
            OwnedMessage::V1Query => Message::V1Query,
            OwnedMessage::V1Report(group) => Message::V1Report { group: *group },
            OwnedMessage::V2Query { max_resp, group } => Message::V2Query { max_resp: *max_resp, group: *group },
            OwnedMessage::V2Report(group) => Message::V2Report { group: *group },
            OwnedMessage::Leave(group) => Message::Leave { group: *group },
            OwnedMessage::V3Query { max_resp_code, group, s_flag, qrv, qqic, sources } => Message::V3Query(V3Query {
                max_resp_code: *max_resp_code,
                group: *group,
                suppress_router_processing: *s_flag,
                qrv: *qrv,
                qqic: *qqic,
                sources: AddrList::new(sources),
            }),
            OwnedMessage::V3Report(_) => Message::V3Report { records: GroupRecords::new(records) },
        }
    }

    /// The length the message must have on the wire, computed from RFC 3376 §4 rather
    /// than by the crate.
    fn wire_len(&self) -> usize {
        match self {
            OwnedMessage::V3Query { sources, .. } => 12 + 4 * sources.len(),
            OwnedMessage::V3Report(records) => {
                8 + records.iter().map(|r| 8 + 4 * r.sources.len() + r.aux_data.len()).sum::<usize>()
            }
            _ => 8,
        }
    }
}

fn v1_query() -> impl Strategy<Value = OwnedMessage> {
    Just(OwnedMessage::V1Query)
}

fn v1_report() -> impl Strategy<Value = OwnedMessage> {
    group().prop_map(OwnedMessage::V1Report)
}

fn v2_query() -> impl Strategy<Value = OwnedMessage> {
    (1u8..=255, proptest::option::of(group())).prop_map(|(max_resp, group)| OwnedMessage::V2Query { max_resp, group })
}

fn v2_report() -> impl Strategy<Value = OwnedMessage> {
    group().prop_map(OwnedMessage::V2Report)
}

fn leave() -> impl Strategy<Value = OwnedMessage> {
    group().prop_map(OwnedMessage::Leave)
}

fn v3_query() -> impl Strategy<Value = OwnedMessage> {
    (any::<u8>(), proptest::option::of(group()), any::<bool>(), 0u8..=7, any::<u8>(), vec(any_octets(), 0..=40))
        .prop_map(|(max_resp_code, group, s_flag, qrv, qqic, sources)| OwnedMessage::V3Query {
            max_resp_code,
            group,
            s_flag,
            qrv,
            qqic,
            sources,
        })
}

fn v3_report() -> impl Strategy<Value = OwnedMessage> {
    vec(record(), 0..=8).prop_map(OwnedMessage::V3Report)
}

fn any_message() -> impl Strategy<Value = OwnedMessage> {
    prop_oneof![v1_query(), v1_report(), v2_query(), v2_report(), leave(), v3_query(), v3_report()]
}

/// An IPv4 header description and the payload it is for.
fn any_repr_and_payload() -> impl Strategy<Value = (ipv4::Repr, Vec<u8>)> {
    (
        (any_ipv4(), any_ipv4(), any::<u8>(), vec(any::<u8>(), 0..=1000)),
        (any::<u8>(), any::<u8>(), any::<u16>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(|((src_addr, dst_addr, protocol, payload), (ttl, tos, ident, dont_fragment, router_alert))| {
            let payload_len = payload.len();
            let repr =
                ipv4::Repr { src_addr, dst_addr, protocol, payload_len, ttl, tos, ident, dont_fragment, router_alert };
            (repr, payload)
        })
}

/// Writes `bytes` with its IGMP checksum field (octets 2–3) recomputed.
fn fix_igmp_checksum(bytes: &mut [u8]) {
    if bytes.len() >= igmp::field::CHECKSUM.end {
        bytes[igmp::field::CHECKSUM].fill(0);
        let sum = checksum::compute(bytes);
        bytes[igmp::field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
    }
}

/// Octets that look like the start of an IGMP message: a known type (usually), and
/// half of the time small counts and multicast groups, so parsing gets past the first
/// checks; the checksum is fixed up half of the time so that it gets past that one too.
fn igmp_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let msg_type = prop_oneof![
        Just(igmp::msg_type::MEMBERSHIP_QUERY),
        Just(igmp::msg_type::V1_REPORT),
        Just(igmp::msg_type::V2_REPORT),
        Just(igmp::msg_type::LEAVE),
        Just(igmp::msg_type::V3_REPORT),
        any::<u8>(),
    ];
    (msg_type, vec(any::<u8>(), 0..=200), any::<bool>(), any::<bool>()).prop_map(
        |(msg_type, mut bytes, plausible, fix)| {
            if let Some(b) = bytes.first_mut() {
                *b = msg_type;
            }
            if plausible {
                // A multicast group field (octets 4–7), a small number of records (v3
                // report, octets 6–7) or of sources (v3 query, octets 10–11), and in
                // each record a small aux length and source count and a multicast group.
                if bytes.len() > 4 {
                    bytes[4] = 0xe0 | (bytes[4] & 0x0f);
                }
                for at in [6, 10] {
                    if bytes.len() > at + 1 {
                        bytes[at] = 0;
                        bytes[at + 1] %= 4;
                    }
                }
                let mut at = igmp::field::RECORDS;
                while at + 4 <= bytes.len() {
                    bytes[at + 1] %= 2;
                    bytes[at + 2] = 0;
                    bytes[at + 3] %= 3;
                    if let Some(b) = bytes.get_mut(at + 4) {
                        *b = 0xe0 | (*b & 0x0f);
                    }
                    at += 8 + 4 * usize::from(bytes[at + 1]) + 4 * usize::from(bytes[at + 3]);
                }
            }
            if fix {
                fix_igmp_checksum(&mut bytes);
            }
            bytes
        },
    )
}

// ---------------------------------------------------------------------------------------
// Checks shared by several properties
// ---------------------------------------------------------------------------------------

/// `parse(emit(msg)) == msg`, the emitted length is `buffer_len` and the wire length,
/// the checksum verifies, and one octet less is too small.
fn check_message_round_trip(owned: &OwnedMessage) -> Result<(), TestCaseError> {
    let records = owned.records();
    let msg = owned.message(&records);
    let len = msg.buffer_len();
    prop_assert_eq!(len, owned.wire_len());

    // Room to spare: emit must write exactly `len` octets and say so.
    let mut buf = vec![0xa5u8; len + 16];
    prop_assert_eq!(msg.emit(&mut buf), Ok(len));
    prop_assert!(buf[len..].iter().all(|&b| b == 0xa5), "emit wrote past buffer_len");
    let out = &buf[..len];
    prop_assert!(checksum::verify(out), "checksum of {:02x?}", out);

    let parsed = Message::parse_bytes(out);
    prop_assert_eq!(parsed, Ok(msg));
    let parsed = parsed.unwrap();
    prop_assert_eq!(parsed.msg_type(), msg.msg_type());
    prop_assert_eq!(parsed.version(), msg.version());
    prop_assert_eq!(parsed.buffer_len(), len);

    let packet = igmp::Packet::new_checked(out).expect("checked");
    prop_assert_eq!(packet.msg_type(), msg.msg_type());
    prop_assert!(packet.verify_checksum());

    let mut short = vec![0u8; len - 1];
    prop_assert_eq!(msg.emit(&mut short), Err(Error::BufferTooSmall));
    Ok(())
}

/// A message that parsed from arbitrary octets emits and parses back as itself.
fn check_parsed_message_re_emits(msg: &Message<'_>) -> Result<(), TestCaseError> {
    let len = msg.buffer_len();
    let mut out = vec![0u8; len];
    prop_assert_eq!(msg.emit(&mut out), Ok(len));
    prop_assert!(checksum::verify(&out));
    prop_assert_eq!(Message::parse_bytes(&out), Ok(*msg));
    Ok(())
}

/// Calls every accessor of a checked IGMP packet and walks every list.
fn walk_igmp_packet(data: &[u8]) {
    let Ok(packet) = igmp::Packet::new_checked(data) else { return };
    let _ = (packet.msg_type(), packet.max_resp_code(), packet.checksum(), packet.group_addr());
    let _ = (packet.verify_checksum(), packet.is_v3_query(), packet.s_flag(), packet.qrv(), packet.qqic());
    let sources = packet.sources();
    assert_eq!(sources.iter().count(), sources.len());
    let records = packet.records();
    let mut seen = 0;
    for record in records.iter() {
        seen += 1;
        assert_eq!(record.sources.iter().count(), record.sources.len());
        assert_eq!(record.aux_data.len() % 4, 0);
    }
    assert!(seen <= records.len());
}

/// Calls every accessor of a checked IPv4 packet and walks its options.
fn walk_ipv4_packet(data: &[u8]) {
    let Ok(ip) = ipv4::Packet::new_checked(data) else { return };
    let _ = (ip.version(), ip.tos(), ip.ident(), ip.dont_fragment(), ip.more_fragments(), ip.frag_offset());
    let _ = (ip.ttl(), ip.protocol(), ip.checksum(), ip.src_addr(), ip.dst_addr(), ip.verify_checksum());
    let header_len = ip.header_len();
    assert!(header_len >= ipv4::MIN_HEADER_LEN);
    assert_eq!(ip.payload().len(), usize::from(ip.total_len()) - header_len);
    let option_octets: usize = ip.options().map(|o| 2 + o.data.len()).sum();
    assert!(option_octets <= header_len - ipv4::MIN_HEADER_LEN);
    if let Some(value) = ip.router_alert() {
        let value = value.to_be_bytes();
        assert!(ip.options().any(|o| o.kind == 0x94 && o.data.len() >= 2 && o.data[..2] == value));
    }
    for option in ip.options().filter(|o| o.kind == 0x94) {
        assert!(option.data.len() >= 2, "a Router Alert shorter than 4 octets passed the check");
    }
    let _ = ipv4::Repr::parse(&ip);
}

/// An Ethernet + IPv4 (Router Alert) header for `payload`, addressed to `group`, with
/// a valid IPv4 checksum; `payload` follows it.
fn frame_around(payload: &[u8], group: GroupAddr, src_mac: MacAddr, src_addr: Ipv4Addr) -> Vec<u8> {
    let eth = ethernet::Repr { dst: group.to_mac(), src: src_mac, ethertype: ethernet::EtherType::IPV4 };
    let ip = ipv4::Repr {
        src_addr,
        dst_addr: group.to_ipv4(),
        protocol: ipv4::PROTOCOL_IGMP,
        payload_len: payload.len(),
        ttl: frame::IGMP_TTL,
        tos: frame::IGMP_TOS,
        ident: 0,
        dont_fragment: true,
        router_alert: true,
    };
    let mut buf = vec![0u8; ethernet::HEADER_LEN + ip.buffer_len()];
    let at = eth.emit(&mut buf).expect("room for the Ethernet header");
    let header_len = ip.emit(&mut buf[at..]).expect("room for the IPv4 header");
    buf[at + header_len..].copy_from_slice(payload);
    buf
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

// proptest's default of 256 cases per property; set PROPTEST_CASES to run more.
proptest! {
    // --- IGMP round trips, one property per message kind -------------------------------

    #[test]
    fn v1_query_round_trips(owned in v1_query()) {
        check_message_round_trip(&owned)?;
    }

    #[test]
    fn v1_report_round_trips(owned in v1_report()) {
        check_message_round_trip(&owned)?;
    }

    #[test]
    fn v2_query_round_trips(owned in v2_query()) {
        check_message_round_trip(&owned)?;
    }

    #[test]
    fn v2_report_round_trips(owned in v2_report()) {
        check_message_round_trip(&owned)?;
    }

    #[test]
    fn leave_round_trips(owned in leave()) {
        check_message_round_trip(&owned)?;
    }

    #[test]
    fn v3_query_round_trips(owned in v3_query()) {
        check_message_round_trip(&owned)?;
    }

    #[test]
    fn v3_report_round_trips(owned in v3_report()) {
        check_message_round_trip(&owned)?;
    }

    // --- Whole frames ------------------------------------------------------------------

    #[test]
    fn frame_round_trips(
        owned in any_message(),
        src_mac in any_mac(),
        src_addr in any_ipv4(),
        vlan in vlan_tags(),
    ) {
        let records = owned.records();
        let msg = owned.message(&records);
        let untagged = FrameRepr::new(msg, src_mac, src_addr);
        let f = FrameRepr { vlan, ..untagged };
        let tags = vlan.iter().flatten().count();
        let len = f.buffer_len();
        prop_assert_eq!(len, ethernet::HEADER_LEN + 4 * tags + 24 + owned.wire_len());

        let mut buf = vec![0u8; len];
        prop_assert_eq!(f.emit(&mut buf), Ok(len));
        let mut plain = vec![0u8; untagged.buffer_len()];
        prop_assert_eq!(frame::build(&msg, src_mac, src_addr, &mut plain), Ok(untagged.buffer_len()));
        // The tags sit between the source MAC and the EtherType; nothing else moves.
        prop_assert_eq!(&buf[..12], &plain[..12]);
        prop_assert_eq!(&buf[12 + 4 * tags..], &plain[12..]);
        for (i, tag) in vlan.iter().flatten().enumerate() {
            let at = 12 + 4 * i;
            prop_assert_eq!(&buf[at..at + 2], &tag.tpid.0.to_be_bytes()[..]);
            prop_assert_eq!(&buf[at + 2..at + 4], &tag.tci.to_be_bytes()[..]);
        }

        let parsed = FrameRepr::parse(&buf);
        prop_assert_eq!(parsed, Ok(f));
        let parsed = parsed.unwrap();
        let dst = msg.destination();
        prop_assert_eq!(parsed.ethernet.dst, dst.to_mac());
        prop_assert_eq!(parsed.ethernet.src, src_mac);
        prop_assert_eq!(parsed.ethernet.ethertype, ethernet::EtherType::IPV4);
        prop_assert_eq!(parsed.ipv4.dst_addr, dst.to_ipv4());
        prop_assert_eq!(parsed.ipv4.src_addr, src_addr);
        prop_assert_eq!(parsed.ipv4.ttl, 1);
        prop_assert!(parsed.ipv4.router_alert);
        prop_assert_eq!(parsed.ipv4.payload_len, owned.wire_len());
        prop_assert_eq!(parsed.igmp, msg);

        let ip = ipv4::Packet::new_checked(&buf[ethernet::HEADER_LEN + 4 * tags..]).expect("checked");
        prop_assert!(ip.verify_checksum());
        prop_assert_eq!(ip.ttl(), 1);
        prop_assert_eq!(ip.router_alert(), Some(0));
        prop_assert_eq!(ip.protocol(), ipv4::PROTOCOL_IGMP);
        prop_assert!(checksum::verify(ip.payload()));

        prop_assert_eq!(f.emit(&mut vec![0u8; len - 1]), Err(Error::BufferTooSmall));
    }

    /// At a unicast MAC or the broadcast MAC, a query parses (flagged) and every other
    /// message is refused.
    #[test]
    fn only_queries_are_accepted_at_a_unicast_or_the_broadcast_mac(
        owned in any_message(),
        src_mac in any_mac(),
        src_addr in any_ipv4(),
        unicast in any_mac(),
        broadcast in any::<bool>(),
        vlan in vlan_tags(),
    ) {
        let records = owned.records();
        let msg = owned.message(&records);
        let mut dst = unicast;
        dst.0[0] &= !1;
        let dst = if broadcast { MacAddr::BROADCAST } else { dst };
        let mut f = FrameRepr { vlan, ..FrameRepr::new(msg, src_mac, src_addr) };
        f.ethernet.dst = dst;
        let mut buf = vec![0u8; f.buffer_len()];
        f.emit(&mut buf).expect("emit");
        let parsed = FrameRepr::parse(&buf);
        if msg.query().is_some() {
            prop_assert_eq!(parsed, Ok(FrameRepr { mac_mismatch: true, ..f }));
        } else {
            prop_assert_eq!(parsed, Err(Error::MacMismatch));
        }
    }

    /// Flipping any one bit of a valid frame is detected, except in the Ethernet source
    /// address, which no layer checks:
    /// - destination MAC: it no longer maps from the multicast IPv4 destination (a
    ///   query whose group bit is cleared is accepted at that unicast MAC, flagged);
    /// - EtherType: no longer IPv4;
    /// - IPv4 header: the header checksum catches every single-bit error (a one's
    ///   complement sum changes by ±2^k, never by a multiple of 0xffff), unless a length
    ///   or option check fails first;
    /// - IGMP message: the same for the IGMP checksum, unless a flipped count makes the
    ///   message claim more than it holds.
    #[test]
    fn single_bit_flips_are_detected(
        owned in any_message(),
        src_mac in any_mac(),
        src_addr in any_ipv4(),
        bit in any::<Index>(),
    ) {
        let records = owned.records();
        let msg = owned.message(&records);
        let original = FrameRepr::new(msg, src_mac, src_addr);
        let mut buf = vec![0u8; original.buffer_len()];
        original.emit(&mut buf).expect("emit");

        let bit = bit.index(buf.len() * 8);
        let (at, mask) = (bit / 8, 1u8 << (bit % 8));
        buf[at] ^= mask;
        let ip_start = ethernet::HEADER_LEN;
        let igmp_start = ip_start + original.ipv4.header_len();

        let result = FrameRepr::parse(&buf);
        match at {
            0 if mask == 1 && msg.query().is_some() => {
                let mut dst = original.ethernet.dst;
                dst.0[0] ^= 1;
                let expected =
                    FrameRepr { ethernet: ethernet::Repr { dst, ..original.ethernet }, mac_mismatch: true, ..original };
                prop_assert_eq!(result, Ok(expected));
            }
            _ if ethernet::field::DST.contains(&at) => prop_assert_eq!(result, Err(Error::MacMismatch)),
            _ if ethernet::field::SRC.contains(&at) => {
                let mut src = src_mac.octets();
                src[at - ethernet::field::SRC.start] ^= mask;
                let expected = FrameRepr { ethernet: ethernet::Repr { src: MacAddr(src), ..original.ethernet }, ..original };
                prop_assert_eq!(result, Ok(expected));
            }
            _ if ethernet::field::ETHERTYPE.contains(&at) => {
                let ethertype = u16::from_be_bytes([buf[12], buf[13]]);
                prop_assert_eq!(result, Err(Error::NotIpv4(ethertype)));
            }
            _ if at < igmp_start => {
                // A length or option check that fails comes first; otherwise the checksum.
                let expected = match ipv4::Packet::new_checked(&buf[ip_start..]) {
                    Ok(_) => Error::BadHeaderChecksum,
                    Err(e) => e,
                };
                prop_assert!(
                    matches!(
                        expected,
                        Error::BadHeaderChecksum
                            | Error::UnsupportedVersion
                            | Error::BadHeaderLength
                            | Error::BadTotalLength
                            | Error::Truncated
                            | Error::BadOption
                    ),
                    "IPv4 octet {} bit {}: {:?}", at - ip_start, bit % 8, expected
                );
                prop_assert_eq!(result, Err(expected), "IPv4 octet {} bit {}", at - ip_start, bit % 8);
            }
            _ => {
                let expected = Message::parse_bytes(&buf[igmp_start..]);
                prop_assert!(
                    matches!(expected, Err(Error::BadChecksum | Error::Truncated)),
                    "IGMP octet {} bit {}: {:?}", at - igmp_start, bit % 8, expected
                );
                prop_assert_eq!(result.map(|f| f.igmp), expected);
            }
        }
    }

    // --- IPv4 header ---------------------------------------------------------------------

    #[test]
    fn ipv4_repr_round_trips((repr, payload) in any_repr_and_payload()) {
        let header_len = if repr.router_alert { 24 } else { 20 };
        prop_assert_eq!(repr.header_len(), header_len);
        prop_assert_eq!(repr.buffer_len(), header_len + repr.payload_len);

        let mut buf = vec![0u8; repr.buffer_len()];
        prop_assert_eq!(repr.emit(&mut buf), Ok(header_len));
        buf[header_len..].copy_from_slice(&payload);

        let packet = ipv4::Packet::new_checked(&buf[..]).expect("checked");
        prop_assert!(packet.verify_checksum());
        prop_assert_eq!(packet.header_len(), header_len);
        prop_assert_eq!(usize::from(packet.total_len()), buf.len());
        prop_assert_eq!(packet.payload(), &payload[..]);
        prop_assert_eq!(packet.router_alert(), repr.router_alert.then_some(0));
        prop_assert!(!packet.more_fragments());
        prop_assert_eq!(packet.frag_offset(), 0);
        prop_assert_eq!(ipv4::Repr::parse(&packet), Ok(repr));

        // Ethernet padding after the total length changes nothing.
        let mut padded = buf.clone();
        padded.extend_from_slice(&[0u8; 18]);
        let packet = ipv4::Packet::new_checked(&padded[..]).expect("checked");
        prop_assert_eq!(ipv4::Repr::parse(&packet), Ok(repr));

        prop_assert_eq!(repr.emit(&mut vec![0u8; header_len - 1]), Err(Error::BufferTooSmall));
    }

    /// A Router Alert of any length from 4 octets on and any value: the datagram is
    /// well formed, and only the value 0 is the alert (as Linux reads it). Shorter ones
    /// are malformed.
    #[test]
    fn router_alert_of_any_length_and_value(
        (repr, payload) in any_repr_and_payload(),
        words in 1usize..=10,
        value in prop_oneof![Just(0u16), any::<u16>()],
        fill in any::<u8>(),
    ) {
        let option_len = 4 * words;
        let header_len = 20 + option_len;
        let mut buf = vec![0u8; header_len + payload.len()];
        ipv4::Repr { router_alert: false, ..repr }.emit(&mut buf).expect("emit");
        buf[0] = 0x40 | (header_len / 4) as u8;
        buf[2..4].copy_from_slice(&((header_len + payload.len()) as u16).to_be_bytes());
        buf[20] = 0x94;
        buf[21] = option_len as u8;
        buf[22..24].copy_from_slice(&value.to_be_bytes());
        buf[24..header_len].fill(fill);
        buf[header_len..].copy_from_slice(&payload);
        buf[10..12].fill(0);
        let sum = checksum::compute(&buf[..header_len]);
        buf[10..12].copy_from_slice(&sum.to_be_bytes());

        let packet = ipv4::Packet::new_checked(&buf[..]).expect("checked");
        prop_assert_eq!(packet.router_alert(), Some(value));
        let parsed = ipv4::Repr::parse(&packet).expect("parse");
        prop_assert_eq!(parsed, ipv4::Repr { router_alert: value == 0, ..repr });
        walk_ipv4_packet(&buf);

        for short in 2..4u8 {
            let mut bad = buf.clone();
            bad[21] = short;
            bad[10..12].fill(0);
            let sum = checksum::compute(&bad[..header_len]);
            bad[10..12].copy_from_slice(&sum.to_be_bytes());
            prop_assert_eq!(ipv4::Packet::new_checked(&bad[..]).err(), Some(Error::BadOption));
        }
    }

    // --- Parsers never panic ---------------------------------------------------------------

    #[test]
    fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..=200)) {
        if let Ok(msg) = Message::parse_bytes(&data) {
            check_parsed_message_re_emits(&msg)?;
        }
        walk_igmp_packet(&data);
        walk_ipv4_packet(&data);
        if let Ok(eth) = ethernet::Packet::new_checked(&data[..]) {
            let _ = (eth.dst(), eth.src(), eth.ethertype(), ethernet::Repr::parse(&eth));
            prop_assert_eq!(eth.payload().len(), data.len() - ethernet::HEADER_LEN);
            walk_ipv4_packet(eth.payload());
        } else {
            prop_assert!(data.len() < ethernet::HEADER_LEN);
        }
        let _ = FrameRepr::parse(&data);
    }

    #[test]
    fn igmp_like_bytes_never_panic(data in igmp_like_bytes()) {
        walk_igmp_packet(&data);
        if let Ok(msg) = Message::parse_bytes(&data) {
            check_parsed_message_re_emits(&msg)?;
        }
    }

    /// Arbitrary IGMP octets behind a valid Ethernet and IPv4 header: the frame parser
    /// gets all the way to the IGMP parser and reports exactly what it reports.
    #[test]
    fn frames_reach_the_igmp_parser(
        payload in prop_oneof![vec(any::<u8>(), 0..=200), igmp_like_bytes()],
        group in group(),
        src_mac in any_mac(),
        src_addr in any_ipv4(),
    ) {
        let buf = frame_around(&payload, group, src_mac, src_addr);
        let igmp_start = ethernet::HEADER_LEN + 24;
        walk_ipv4_packet(&buf[ethernet::HEADER_LEN..]);
        let expected = Message::parse_bytes(&buf[igmp_start..]);
        let parsed = FrameRepr::parse(&buf);
        prop_assert_eq!(parsed.map(|f| f.igmp), expected);
        if let Ok(f) = parsed {
            prop_assert_eq!(f.ipv4.payload_len, payload.len());
            check_parsed_message_re_emits(&f.igmp)?;
        }
    }

    /// Valid messages with a few octets overwritten (and the checksum fixed up half of the
    /// time): whatever still parses re-emits as itself.
    #[test]
    fn corrupted_messages_never_panic(
        owned in any_message(),
        edits in vec((any::<Index>(), any::<u8>()), 1..=4),
        cut in any::<Index>(),
        truncate in any::<bool>(),
        fix in any::<bool>(),
    ) {
        let records = owned.records();
        let msg = owned.message(&records);
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.emit(&mut buf).expect("emit");
        for (at, value) in edits {
            let at = at.index(buf.len());
            buf[at] = value;
        }
        if truncate {
            buf.truncate(cut.index(buf.len() + 1));
        }
        if fix {
            fix_igmp_checksum(&mut buf);
        }
        walk_igmp_packet(&buf);
        if let Ok(msg) = Message::parse_bytes(&buf) {
            check_parsed_message_re_emits(&msg)?;
        }
    }

    // --- Addresses ---------------------------------------------------------------------------

    #[test]
    fn every_group_maps_to_a_mac_shared_by_32_groups(bits in group_bits()) {
        let group = GroupAddr::from_bits(bits);
        prop_assert!(group.is_ok());
        let group = group.unwrap();
        prop_assert_eq!(group.to_bits(), bits);
        prop_assert_eq!(GroupAddr::new(bits.to_be_bytes()), Ok(group));
        prop_assert_eq!(GroupAddr::from_ipv4(Ipv4Addr::from(bits)), Ok(group));
        prop_assert_eq!(group.to_string().parse::<GroupAddr>(), Ok(group));

        let mac = group.to_mac();
        prop_assert!(mac.is_ipv4_multicast());
        prop_assert!(mac.is_multicast());
        prop_assert_eq!(&mac.octets()[..3], &[0x01, 0x00, 0x5e]);
        prop_assert_eq!(u32::from_be_bytes([0, mac.0[3], mac.0[4], mac.0[5]]), bits & 0x007f_ffff);

        let groups: Vec<GroupAddr> = mac.groups().expect("an IPv4 multicast MAC").collect();
        prop_assert_eq!(groups.len(), 32);
        prop_assert_eq!(groups.iter().filter(|&&g| g == group).count(), 1);
        prop_assert!(groups.iter().all(|g| g.to_mac() == mac));
        prop_assert!(groups.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn non_multicast_addresses_are_not_groups(bits in non_group_bits()) {
        prop_assert_eq!(GroupAddr::from_bits(bits), Err(AddrError::NotMulticast));
        prop_assert_eq!(GroupAddr::new(bits.to_be_bytes()), Err(AddrError::NotMulticast));
        prop_assert_eq!(GroupAddr::try_from(Ipv4Addr::from(bits)), Err(AddrError::NotMulticast));
        prop_assert_eq!(Ipv4Addr::from(bits).to_string().parse::<GroupAddr>(), Err(AddrError::NotMulticast));
    }

    #[test]
    fn mac_display_parses_back(octets in any::<[u8; 6]>()) {
        let mac = MacAddr(octets);
        let text = mac.to_string();
        prop_assert_eq!(text.len(), 17);
        prop_assert_eq!(text.parse::<MacAddr>(), Ok(mac));
        prop_assert_eq!(text.replace(':', "-").to_uppercase().parse::<MacAddr>(), Ok(mac));
        match mac.groups() {
            Ok(groups) => {
                prop_assert!(mac.is_ipv4_multicast());
                prop_assert!(groups.into_iter().all(|g| g.to_mac() == mac));
            }
            Err(e) => {
                prop_assert!(!mac.is_ipv4_multicast());
                prop_assert_eq!(e, AddrError::NotIpv4MulticastMac);
            }
        }
    }

    // --- Address lists -------------------------------------------------------------------------

    /// `get` past the end is `None` for a list read from the wire, as for a slice.
    #[test]
    fn addr_list_get_past_the_end_is_none(
        addrs in vec(any_ipv4(), 0..=8),
        past in 0usize..=1_000_000,
    ) {
        let bytes: Vec<u8> = addrs.iter().flat_map(|a| a.octets()).collect();
        let octets: Vec<[u8; 4]> = addrs.iter().map(|a| a.octets()).collect();
        let wire = AddrList::from_bytes(&bytes).expect("a multiple of 4");
        let slice = AddrList::new(&octets);
        prop_assert_eq!(wire, slice);
        prop_assert_eq!(wire.len(), addrs.len());
        prop_assert_eq!(wire.as_bytes(), &bytes[..]);
        prop_assert!(wire.iter().eq(addrs.iter().copied()));
        for (i, addr) in addrs.iter().enumerate() {
            prop_assert_eq!(wire.get(i), Some(*addr));
        }
        prop_assert_eq!(wire.get(addrs.len() + past), None);
        prop_assert_eq!(slice.get(addrs.len() + past), None);
    }
}

/// `AddrList::get` past the end is `None` for every index, even those where `4 * index`
/// would overflow (it once did: a debug build panicked, a release build wrapped and
/// returned the first address).
#[test]
fn addr_list_get_with_a_huge_index_is_none() {
    let bytes = [10u8, 0, 0, 1];
    let list = AddrList::from_bytes(&bytes).expect("a multiple of 4");
    for index in [usize::MAX / 4 + 1, usize::MAX / 2, usize::MAX - 1, usize::MAX] {
        assert_eq!(list.get(index), None, "index {index}");
    }
}
