//! Unit tests of the IGMP codec, one per rule and edge case, on byte fixtures.

use super::*;

const V2_REPORT: [u8; 8] = [0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03];
const LEAVE: [u8; 8] = [0x17, 0x00, 0xf7, 0xfa, 0xef, 0x01, 0x02, 0x03];
const GENERAL_QUERY: [u8; 8] = [0x11, 0x14, 0xee, 0xeb, 0x00, 0x00, 0x00, 0x00];
const V3_REPORT: [u8; 16] =
    [0x22, 0x00, 0xe8, 0xf9, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0xef, 0x01, 0x02, 0x03];

fn g(s: &str) -> GroupAddr {
    s.parse().unwrap()
}

fn with_checksum(mut data: Vec<u8>) -> Vec<u8> {
    data[2] = 0;
    data[3] = 0;
    let c = checksum::compute(&data);
    data[2..4].copy_from_slice(&c.to_be_bytes());
    data
}

#[test]
fn parses_linux_v2_report_and_leave() {
    assert_eq!(Message::parse_bytes(&V2_REPORT), Ok(Message::V2Report { group: g("239.1.2.3") }));
    assert_eq!(Message::parse_bytes(&LEAVE), Ok(Message::Leave { group: g("239.1.2.3") }));
}

#[test]
fn packet_accessors() {
    let p = Packet::new_checked(&GENERAL_QUERY[..]).unwrap();
    assert_eq!(p.msg_type(), 0x11);
    assert_eq!(p.max_resp_code(), 20);
    assert_eq!(p.checksum(), 0xeeeb);
    assert_eq!(p.group_addr(), Ipv4Addr::UNSPECIFIED);
    assert!(p.verify_checksum());
    assert!(!p.is_v3_query());
    assert!(!p.s_flag());
    assert_eq!(p.qrv(), 0);
    assert_eq!(p.qqic(), 0);
    assert!(p.sources().is_empty());
    assert!(p.records().is_empty());
    assert_eq!(p.as_bytes(), &GENERAL_QUERY);
    assert_eq!(p.into_inner(), &GENERAL_QUERY[..]);
}

#[test]
fn packet_setters_and_fill_checksum() {
    let mut buf = [0u8; 8];
    let mut p = Packet::new_checked(&mut buf[..]).unwrap();
    p.set_msg_type(0x16);
    p.set_max_resp_code(0);
    p.set_group_addr(Ipv4Addr::new(239, 1, 2, 3));
    p.fill_checksum();
    assert_eq!(p.checksum(), 0xf8fa);
    assert_eq!(buf, V2_REPORT);
}

#[test]
fn max_resp_of_an_8_octet_query_is_linear() {
    // smoltcp decodes this with the v3 float rule; 200 here means 20.0 s.
    let q = with_checksum(vec![0x11, 200, 0, 0, 0, 0, 0, 0]);
    let msg = Message::parse_bytes(&q).unwrap();
    assert_eq!(msg, Message::V2Query { max_resp: 200, group: None });
    assert_eq!(msg.query().unwrap().max_resp_tenths, 200);
    assert_eq!(msg.query().unwrap().max_resp_ms(), 20_000);
}

#[test]
fn max_resp_of_a_v3_query_is_exponential() {
    // 0x8f: exp 0, mant 15 → (15|16)<<3 = 248 tenths.
    let q = with_checksum(vec![0x11, 0x8f, 0, 0, 0, 0, 0, 0, 0x02, 0x7d, 0, 0]);
    let msg = Message::parse_bytes(&q).unwrap();
    let query = msg.query().unwrap();
    assert_eq!(query.version, Version::V3);
    assert_eq!(query.max_resp_tenths, 248);
    let Message::V3Query(v3) = msg else { panic!("{msg:?}") };
    assert_eq!(v3.qrv, 2);
    assert_eq!(v3.qqic, 125);
    assert_eq!(v3.query_interval_secs(), 125);
    assert!(!v3.suppress_router_processing);
}

#[test]
fn query_version_follows_rfc_3376_7_1() {
    let v1 = with_checksum(vec![0x11, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Message::parse_bytes(&v1), Ok(Message::V1Query));
    assert_eq!(Message::V1Query.query().unwrap().max_resp_tenths, 100);
    // A v1 query's group field is ignored on receipt.
    let v1_junk = with_checksum(vec![0x11, 0, 0, 0, 10, 0, 0, 1]);
    assert_eq!(Message::parse_bytes(&v1_junk), Ok(Message::V1Query));
    let v2 = with_checksum(vec![0x11, 100, 0, 0, 239, 1, 2, 3]);
    assert_eq!(Message::parse_bytes(&v2), Ok(Message::V2Query { max_resp: 100, group: Some(g("239.1.2.3")) }));
    for len in 9..=11 {
        let mut q = vec![0x11, 100, 0, 0, 0, 0, 0, 0];
        q.resize(len, 0);
        let q = with_checksum(q);
        assert_eq!(Message::parse_bytes(&q), Err(Error::BadQueryLength), "{len} octets");
    }
    let v3 = with_checksum(vec![0x11, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert!(matches!(Message::parse_bytes(&v3), Ok(Message::V3Query(_))));
    // A v3 query with Max Resp 0 is still v3, not v1: the length decides.
    let v3_zero = with_checksum(vec![0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert!(matches!(Message::parse_bytes(&v3_zero), Ok(Message::V3Query(_))));
}

#[test]
fn v2_messages_may_be_longer_and_the_checksum_covers_it_all() {
    // RFC 2236 §2.5: use the first 8 octets, but the checksum covers everything.
    let long = with_checksum(vec![0x16, 0, 0, 0, 239, 1, 2, 3, 0xaa, 0xbb, 0xcc]);
    assert_eq!(Message::parse_bytes(&long), Ok(Message::V2Report { group: g("239.1.2.3") }));
    let mut bad = long.clone();
    bad[10] ^= 0x01;
    assert_eq!(Message::parse_bytes(&bad), Err(Error::BadChecksum));
}

#[test]
fn bad_checksum_is_rejected() {
    let mut bad = V2_REPORT;
    bad[3] ^= 0x01;
    assert_eq!(Message::parse_bytes(&bad), Err(Error::BadChecksum));
    let mut bad = V2_REPORT;
    bad[7] ^= 0x80;
    assert_eq!(Message::parse_bytes(&bad), Err(Error::BadChecksum));
}

#[test]
fn truncation_at_every_length() {
    for len in 0..8 {
        assert_eq!(Message::parse_bytes(&V2_REPORT[..len]), Err(Error::Truncated), "{len}");
    }
    for len in 8..V3_REPORT.len() {
        assert_eq!(Message::parse_bytes(&V3_REPORT[..len]), Err(Error::Truncated), "{len}");
    }
}

#[test]
fn v3_query_source_count_beyond_the_data_is_truncated() {
    let q = with_checksum(vec![0x11, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 10, 0, 0, 1]);
    assert_eq!(Packet::new_checked(&q[..]).err(), Some(Error::Truncated));
    assert_eq!(Message::parse_bytes(&q), Err(Error::Truncated));
    let q = with_checksum(vec![0x11, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    assert_eq!(Message::parse_bytes(&q), Err(Error::Truncated));
}

#[test]
fn v3_query_with_sources() {
    let q = with_checksum(vec![0x11, 100, 0, 0, 232, 1, 1, 1, 0x0a, 60, 0, 2, 10, 0, 0, 1, 10, 0, 0, 2]);
    let Ok(Message::V3Query(v3)) = Message::parse_bytes(&q) else { panic!() };
    assert_eq!(v3.group, Some(g("232.1.1.1")));
    assert!(v3.suppress_router_processing);
    assert_eq!(v3.qrv, 2);
    assert_eq!(v3.qqic, 60);
    let want = [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)];
    assert_eq!(v3.sources, AddrList::new(&[[10, 0, 0, 1], [10, 0, 0, 2]]));
    assert_eq!(v3.sources.as_bytes(), &q[12..]);
    assert_eq!(v3.sources.get(1), Some(want[1]));
    assert_eq!(v3.sources.get(2), None);
    let p = Packet::new_checked(&q[..]).unwrap();
    assert!(p.is_v3_query());
    assert!(p.s_flag());
    assert_eq!(p.sources().iter().collect::<Vec<_>>(), want);
}

#[test]
fn reports_for_non_multicast_groups_are_rejected() {
    for t in [0x12, 0x16, 0x17] {
        let m = with_checksum(vec![t, 0, 0, 0, 10, 1, 2, 3]);
        assert_eq!(Message::parse_bytes(&m), Err(Error::GroupNotMulticast), "type {t:#x}");
    }
    let q = with_checksum(vec![0x11, 100, 0, 0, 10, 1, 2, 3]);
    assert_eq!(Message::parse_bytes(&q), Err(Error::GroupNotMulticast));
    let mut r = V3_REPORT.to_vec();
    r[12] = 10;
    let r = with_checksum(r);
    assert_eq!(Message::parse_bytes(&r), Err(Error::GroupNotMulticast));
}

#[test]
fn unknown_types_are_named() {
    let m = with_checksum(vec![0x13, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Message::parse_bytes(&m), Err(Error::UnknownType(0x13)));
}

#[test]
fn v3_report_from_linux() {
    let msg = Message::parse_bytes(&V3_REPORT).unwrap();
    let Message::V3Report { records } = msg else { panic!("{msg:?}") };
    assert_eq!(records.len(), 1);
    let r = records.iter().next().unwrap();
    assert_eq!(r.record_type, RecordType::ChangeToExclude);
    assert_eq!(r.group, g("239.1.2.3"));
    assert!(r.sources.is_empty());
    assert!(r.aux_data.is_empty());
    let mut out = [0u8; 16];
    assert_eq!(msg.emit(&mut out), Ok(16));
    assert_eq!(out, V3_REPORT);
}

#[test]
fn v3_report_with_sources_aux_data_and_unknown_record_type() {
    let s1 = [[10, 0, 0, 1], [10, 0, 0, 2]];
    let aux = [1, 2, 3, 4, 5, 6, 7, 8];
    let records = [
        GroupRecord {
            record_type: RecordType::AllowNewSources,
            group: g("232.1.1.1"),
            sources: AddrList::new(&s1),
            aux_data: &aux,
        },
        GroupRecord {
            record_type: RecordType::Unknown(9),
            group: g("239.0.0.1"),
            sources: AddrList::EMPTY,
            aux_data: &[],
        },
    ];
    let msg = Message::V3Report { records: GroupRecords::new(&records) };
    assert_eq!(msg.buffer_len(), 8 + (8 + 8 + 8) + 8);
    let mut buf = [0u8; 64];
    let len = msg.emit(&mut buf).unwrap();
    assert_eq!(len, 40);
    let parsed = Message::parse_bytes(&buf[..len]).unwrap();
    assert_eq!(parsed, msg);
    let Message::V3Report { records: got } = parsed else { panic!() };
    let got: Vec<_> = got.iter().collect();
    assert_eq!(got[0].aux_data, &aux);
    assert_eq!(got[1].record_type, RecordType::Unknown(9));
    assert_eq!(u8::from(got[1].record_type), 9);
}

#[test]
fn emit_rejects_what_would_not_parse_back() {
    let mut buf = [0u8; 64];
    assert_eq!(Message::V2Query { max_resp: 0, group: None }.emit(&mut buf), Err(Error::FieldRange));
    let q = V3Query {
        max_resp_code: 1,
        group: None,
        suppress_router_processing: false,
        qrv: 8,
        qqic: 0,
        sources: AddrList::EMPTY,
    };
    assert_eq!(Message::V3Query(q).emit(&mut buf), Err(Error::FieldRange));
    let bad_aux = [GroupRecord {
        record_type: RecordType::ModeIsInclude,
        group: g("239.0.0.1"),
        sources: AddrList::EMPTY,
        aux_data: &[1, 2, 3],
    }];
    assert_eq!(Message::V3Report { records: GroupRecords::new(&bad_aux) }.emit(&mut buf), Err(Error::FieldRange));
    assert_eq!(Message::V2Report { group: g("239.0.0.1") }.emit(&mut buf[..7]), Err(Error::BufferTooSmall));
}

#[test]
fn destinations_follow_the_rfcs() {
    let group = g("239.1.2.3");
    assert_eq!(Message::V1Query.destination(), GroupAddr::ALL_SYSTEMS);
    assert_eq!(Message::V2Query { max_resp: 100, group: None }.destination(), GroupAddr::ALL_SYSTEMS);
    assert_eq!(Message::V2Query { max_resp: 10, group: Some(group) }.destination(), group);
    assert_eq!(Message::V1Report { group }.destination(), group);
    assert_eq!(Message::V2Report { group }.destination(), group);
    assert_eq!(Message::Leave { group }.destination(), GroupAddr::ALL_ROUTERS);
    assert_eq!(Message::V3Report { records: GroupRecords::EMPTY }.destination(), GroupAddr::IGMPV3_ROUTERS);
}

#[test]
#[cfg_attr(miri, ignore = "statistical or exhaustive; runs natively in `cargo test`")]
fn exp_code_decoding_and_encoding() {
    assert_eq!(decode_exp_code(0), 0);
    assert_eq!(decode_exp_code(127), 127);
    assert_eq!(decode_exp_code(0x80), 128);
    assert_eq!(decode_exp_code(0xff), 31744);
    // Independent check of the RFC 3376 §4.1.1 formula for every code.
    for code in 128..=255u8 {
        let exp = u32::from((code >> 4) & 7);
        let mant = u32::from(code & 0xf);
        assert_eq!(u32::from(decode_exp_code(code)), (mant | 0x10) << (exp + 3));
        assert_eq!(encode_exp_code(decode_exp_code(code)), code, "{code:#x}");
    }
    for value in 0..=u16::MAX {
        let code = encode_exp_code(value);
        assert!(decode_exp_code(code) <= value, "{value}");
        if value < 31744 {
            // Rounded down to the nearest code: the next code up is above the value.
            assert!(code == 0xff || decode_exp_code(code + 1) > value, "{value}");
        }
    }
}

#[test]
fn display() {
    let q = Message::V2Query { max_resp: 100, group: None };
    assert_eq!(q.to_string(), "IGMPv2 query general, max resp 10.0 s");
    assert_eq!(Message::Leave { group: g("239.1.2.3") }.to_string(), "IGMPv2 leave 239.1.2.3");
}

#[test]
fn sizes() {
    use core::mem::size_of;
    // A group is never 0, so an absent one takes no room of its own.
    assert_eq!(size_of::<Option<GroupAddr>>(), 4);
    assert_eq!(size_of::<AddrList<'_>>(), 2 * size_of::<usize>());
    // The largest variants are the IGMPv3 query (the sources and 8 octets) and the
    // report (the records and which kind they are), as large as each other on 64-bit
    // targets, where the tag needs a word of its own; on 32-bit ones it fits in the
    // query's flag. A `Result` uses the tag's spare values.
    let message = if cfg!(target_pointer_width = "64") { 32 } else { 16 };
    assert_eq!(size_of::<Message<'_>>(), message);
    assert_eq!(size_of::<Result<Message<'_>>>(), message);
}

#[test]
fn addr_list_from_bytes_and_back() {
    let bytes = [10, 0, 0, 1, 10, 0, 0, 2];
    let list = AddrList::from_bytes(&bytes).unwrap();
    assert_eq!(list, AddrList::new(&[[10, 0, 0, 1], [10, 0, 0, 2]]));
    assert_eq!(list.as_slice(), &[[10, 0, 0, 1], [10, 0, 0, 2]]);
    assert_eq!(list.as_bytes(), &bytes);
    assert_eq!(list.iter().next_back(), Some(Ipv4Addr::new(10, 0, 0, 2)));
    assert_eq!(list.iter().len(), 2);
    for len in [1, 2, 3, 5, 7] {
        assert_eq!(AddrList::from_bytes(&bytes[..len]), None, "{len} octets");
    }
    assert_eq!(AddrList::from_bytes(&[]), Some(AddrList::EMPTY));
    assert_eq!(format!("{list:?}"), "[10.0.0.1, 10.0.0.2]");
}

/// What `Message::parse_bytes` must return for a message of `data.len()` octets that
/// holds no IGMPv3 sources or records, written from RFC 2236 §2 and RFC 3376 §4 and
/// §7.1 without the parser's shortcuts.
fn reference(data: &[u8]) -> Result<Message<'_>> {
    let len = data.len();
    if len < 8 {
        return Err(Error::Truncated);
    }
    let (kind, code) = (data[0], data[1]);
    let count = u16::from_be_bytes([data[6], data[7]]);
    if kind == msg_type::MEMBERSHIP_QUERY && (9..12).contains(&len) {
        return Err(Error::BadQueryLength);
    }
    if kind == msg_type::V3_REPORT && count != 0 {
        return Err(Error::Truncated); // no room for a record here
    }
    let mut sum = 0u32;
    for word in data.chunks(2) {
        sum += u32::from(word[0]) << 8 | u32::from(*word.get(1).unwrap_or(&0));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if sum != 0xffff {
        return Err(Error::BadChecksum);
    }
    let addr = Ipv4Addr::new(data[4], data[5], data[6], data[7]);
    let group = GroupAddr::from_ipv4(addr).map_err(|_| Error::GroupNotMulticast);
    let query_group = if addr.is_unspecified() { Ok(None) } else { group.map(Some) };
    match kind {
        msg_type::MEMBERSHIP_QUERY if len >= 12 => Ok(Message::V3Query(V3Query {
            max_resp_code: code,
            group: query_group?,
            suppress_router_processing: data[8] & 0x08 != 0,
            qrv: data[8] & 0x07,
            qqic: data[9],
            sources: AddrList::EMPTY,
        })),
        msg_type::MEMBERSHIP_QUERY if code == 0 => Ok(Message::V1Query),
        msg_type::MEMBERSHIP_QUERY => Ok(Message::V2Query { max_resp: code, group: query_group? }),
        msg_type::V1_REPORT => Ok(Message::V1Report { group: group? }),
        msg_type::V2_REPORT => Ok(Message::V2Report { group: group? }),
        msg_type::LEAVE => Ok(Message::Leave { group: group? }),
        msg_type::V3_REPORT => Ok(Message::V3Report { records: GroupRecords::EMPTY }),
        other => Err(Error::UnknownType(other)),
    }
}

#[test]
#[cfg_attr(miri, ignore = "statistical or exhaustive; runs natively in `cargo test`")]
fn every_type_code_group_and_length_parses_as_the_reference() {
    let groups = [
        [0, 0, 0, 0],
        [224, 0, 0, 0],
        [224, 0, 0, 1],
        [239, 1, 2, 3],
        [239, 255, 255, 255],
        [223, 255, 255, 255],
        [240, 0, 0, 0],
        [10, 1, 2, 3],
        [0, 0, 0, 1],
        [255, 255, 255, 255],
    ];
    let mut cases = 0;
    for kind in 0..=255u8 {
        for code in [0, 1, 100, 0x80, 255] {
            for group in groups {
                for len in 8..=13 {
                    let mut data = vec![0; len];
                    data[0] = kind;
                    data[1] = code;
                    data[4..8].copy_from_slice(&group);
                    for (i, b) in data.iter_mut().enumerate().skip(8) {
                        *b = (i as u8).wrapping_mul(37) ^ code;
                    }
                    data.iter_mut().skip(10).take(2).for_each(|b| *b = 0); // no sources
                    let good = with_checksum(data);
                    let mut bad = good.clone();
                    bad[2] ^= 0x40;
                    for data in [&good, &bad] {
                        assert_eq!(Message::parse_bytes(data), reference(data), "{data:02x?}");
                        cases += 1;
                    }
                }
            }
        }
    }
    assert_eq!(cases, 256 * 5 * 10 * 6 * 2);
}
