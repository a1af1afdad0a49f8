//! The smoltcp 0.14 behaviours the README says this crate fixes, shown side by side on
//! the same bytes. If a smoltcp release fixes one of them, the smoltcp half of its test
//! fails, and the README must be updated.

use smoltcp::time::Duration;
use smoltcp::wire::{IgmpPacket, IgmpRepr};

use mcast::wire::Error;
use mcast::wire::checksum;
use mcast::wire::igmp::Message;

fn with_checksum(mut msg: Vec<u8>) -> Vec<u8> {
    msg[2..4].fill(0);
    let sum = checksum::compute(&msg);
    msg[2..4].copy_from_slice(&sum.to_be_bytes());
    msg
}

fn smoltcp_parse(bytes: &[u8]) -> smoltcp::wire::Result<IgmpRepr> {
    IgmpRepr::parse(&IgmpPacket::new_checked(bytes)?)
}

#[test]
fn v2_max_resp_is_linear() {
    // An 8-octet query with Max Resp 200: 20.0 s (RFC 2236 §2.2, RFC 3376 §7.1).
    let query = with_checksum(vec![0x11, 200, 0, 0, 0, 0, 0, 0]);
    let ours = Message::parse_bytes(&query).unwrap().query().unwrap();
    assert_eq!(ours.max_resp_ms(), 20_000);
    match smoltcp_parse(&query).unwrap() {
        IgmpRepr::MembershipQuery { max_resp_time, .. } => {
            assert_eq!(max_resp_time, Duration::from_millis(307_200), "smoltcp applies the v3 float rule")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn received_checksums_are_verified() {
    let mut report = vec![0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03];
    report[2] ^= 0xff;
    assert_eq!(Message::parse_bytes(&report), Err(Error::BadChecksum));
    assert!(smoltcp_parse(&report).is_ok(), "smoltcp accepts a bad checksum");
}

#[test]
fn v3_reports_parse() {
    // The kernel's IGMPv3 join report for 239.1.2.3.
    let report = [0x22, 0x00, 0xe8, 0xf9, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0xef, 0x01, 0x02, 0x03];
    assert!(matches!(Message::parse_bytes(&report), Ok(Message::V3Report { .. })));
    assert!(smoltcp_parse(&report).is_err(), "smoltcp cannot parse a v3 report");
}

#[test]
fn queries_of_9_to_11_octets_are_rejected() {
    // RFC 3376 §7.1: such queries MUST be ignored.
    let query = with_checksum(vec![0x11, 100, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Message::parse_bytes(&query), Err(Error::BadQueryLength));
    assert!(smoltcp_parse(&query).is_ok(), "smoltcp reads it as a v2 query");
}
