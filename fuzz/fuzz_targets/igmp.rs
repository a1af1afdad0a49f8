//! IGMP message parser and emitter.
//!
//! Every input is checked twice: as it is, and with its checksum field recomputed, so
//! that the fuzzer reaches the type-specific parsing behind the checksum check without
//! having to discover a valid one's complement sum by itself.
//!
//! Properties:
//! - no accessor of a checked `igmp::Packet` panics;
//! - a message that parses, emitted into exactly `buffer_len()` octets, verifies its
//!   checksum and parses back to the same message, and emitting that again gives the
//!   same octets;
//! - emitting into one octet less fails with `Error::BufferTooSmall`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcast::wire::Error;
use mcast::wire::checksum;
use mcast::wire::igmp::{Message, Packet, field};

fuzz_target!(|data: &[u8]| {
    check(data);
    if data.len() >= field::CHECKSUM.end {
        let mut fixed = data.to_vec();
        fixed[field::CHECKSUM].fill(0);
        let sum = checksum::compute(&fixed);
        fixed[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        if fixed != data {
            check(&fixed);
        }
    }
});

fn check(data: &[u8]) {
    walk_packet(data);

    let Ok(msg) = Message::parse_bytes(data) else { return };
    // Display and Debug walk every list too.
    let _ = format!("{msg} {msg:?}");
    let _ = (msg.msg_type(), msg.version(), msg.query(), msg.destination());

    let len = msg.buffer_len();
    let mut out = vec![0u8; len];
    assert_eq!(msg.emit(&mut out), Ok(len), "emit of {msg:?}");
    assert!(checksum::verify(&out), "emitted checksum does not verify: {out:02x?}");

    let again = Message::parse_bytes(&out).unwrap_or_else(|e| panic!("{e:?} re-parsing {out:02x?} from {msg:?}"));
    assert_eq!(again, msg, "re-parse of {out:02x?}");
    assert_eq!(again.buffer_len(), len);

    let mut out2 = vec![0u8; len];
    assert_eq!(again.emit(&mut out2), Ok(len));
    assert_eq!(out2, out, "second emission differs");

    let mut short = vec![0u8; len - 1];
    assert_eq!(msg.emit(&mut short), Err(Error::BufferTooSmall), "emit of {msg:?} into {} octets", len - 1);
}

/// Calls every accessor of a checked packet, walking every list to its end.
fn walk_packet(data: &[u8]) {
    let Ok(packet) = Packet::new_checked(data) else { return };
    let _ = (packet.msg_type(), packet.max_resp_code(), packet.checksum(), packet.group_addr());
    let _ = (packet.verify_checksum(), packet.is_v3_query(), packet.s_flag(), packet.qrv(), packet.qqic());

    let sources = packet.sources();
    assert_eq!(sources.iter().count(), sources.len());
    assert_eq!(sources.get(sources.len()), None);

    let records = packet.records();
    let mut seen = 0;
    for record in records.iter() {
        seen += 1;
        let _ = (u8::from(record.record_type), record.group, record.aux_data.len(), record.buffer_len());
        assert_eq!(record.sources.iter().count(), record.sources.len());
        assert_eq!(record.aux_data.len() % 4, 0);
    }
    // The iterator stops early only at a record whose group is not multicast.
    assert!(seen <= records.len());
    assert_eq!(packet.as_bytes(), data);
}
