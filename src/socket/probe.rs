//! The probe header: the first 32 octets of every datagram `mcast send` and `mcast ping`
//! send, so that a receiver can count loss, duplicates and reordering per sender and
//! measure delay.
//!
//! All fields are big-endian:
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 4 | magic, the ASCII octets `mcst` |
//! | 4 | 1 | version, 1 |
//! | 5 | 1 | kind: 1 data (`send`), 2 ping request, 3 ping answer |
//! | 6 | 1 | the TTL the sender set on its socket (0 if it did not say) |
//! | 7 | 1 | flags, 0 (ignored when read) |
//! | 8 | 4 | stream id: a random number a sender picks when it starts |
//! | 12 | 8 | sequence number, from 1 per stream |
//! | 20 | 8 | send time: nanoseconds since the Unix epoch, the sender's wall clock |
//! | 28 | 4 | kind-specific: for a ping answer, the TTL the request arrived with (low octet) |
//!
//! A ping answer carries the stream id, sequence number and send time of the request
//! it answers (so the requester matches it to its own requests and measures the round
//! trip on its own clock), and the TTL the answering host set; its `aux` is 0 when the
//! answering host could not read the request's TTL.
//!
//! A datagram longer than 32 octets carries padding after the header, which a receiver
//! ignores. A datagram that is shorter, has another magic, or a version other than 1 is
//! not a probe: [`Probe::parse`] returns `None`, and `mcast recv` counts it as foreign
//! traffic without sequence accounting.

use core::time::Duration;

/// The magic octets that open every probe.
pub const MAGIC: [u8; 4] = *b"mcst";
/// The header version this module reads and writes.
pub const VERSION: u8 = 1;
/// The header's length: the smallest probe datagram.
pub const LEN: usize = 32;

/// What a probe is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A datagram of `mcast send`.
    Data,
    /// A ping request, answered by every `mcast ping` that receives it.
    PingRequest,
    /// The answer to a ping request, echoing its sequence number and send time.
    PingAnswer,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Kind::Data => 1,
            Kind::PingRequest => 2,
            Kind::PingAnswer => 3,
        }
    }

    fn from_code(code: u8) -> Option<Kind> {
        match code {
            1 => Some(Kind::Data),
            2 => Some(Kind::PingRequest),
            3 => Some(Kind::PingAnswer),
            _ => None,
        }
    }
}

/// A probe header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Probe {
    /// What the probe is for.
    pub kind: Kind,
    /// The TTL its sender set (0: not said).
    pub ttl: u8,
    /// The sender's stream: a new id each time a sender starts.
    pub stream: u32,
    /// The sequence number in the stream, from 1.
    pub seq: u64,
    /// When it was sent: time since the Unix epoch on the sender's clock.
    pub sent: Duration,
    /// Kind-specific: a ping answer's request TTL as it arrived (0 otherwise).
    pub aux: u32,
}

impl Probe {
    /// Reads the header at the start of `datagram`, or `None` if it is not a probe.
    pub fn parse(datagram: &[u8]) -> Option<Probe> {
        let h: &[u8; LEN] = datagram.get(..LEN)?.try_into().ok()?;
        if h[..4] != MAGIC || h[4] != VERSION {
            return None;
        }
        let kind = Kind::from_code(h[5])?;
        let u32_at = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let u64_at = |i: usize| (u64::from(u32_at(i)) << 32) | u64::from(u32_at(i + 4));
        Some(Probe {
            kind,
            ttl: h[6],
            stream: u32_at(8),
            seq: u64_at(12),
            sent: Duration::from_nanos(u64_at(20)),
            aux: u32_at(28),
        })
    }

    /// Writes the header into the first [`LEN`] octets of `buf` and returns them;
    /// `None` if `buf` is shorter. The rest of `buf` is left as it is.
    pub fn write<'b>(&self, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let h = buf.get_mut(..LEN)?;
        h[..4].copy_from_slice(&MAGIC);
        h[4] = VERSION;
        h[5] = self.kind.code();
        h[6] = self.ttl;
        h[7] = 0;
        h[8..12].copy_from_slice(&self.stream.to_be_bytes());
        h[12..20].copy_from_slice(&self.seq.to_be_bytes());
        // Nanoseconds since 1970 fit 64 bits until 2554.
        let nanos = u64::try_from(self.sent.as_nanos()).unwrap_or(u64::MAX);
        h[20..28].copy_from_slice(&nanos.to_be_bytes());
        h[28..32].copy_from_slice(&self.aux.to_be_bytes());
        Some(h)
    }
}

/// A new stream id: random (std seeds each `RandomState` from the OS's random source),
/// mixed with the process id and the time, so that runs started together differ.
pub fn new_stream() -> u32 {
    use core::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(wall_clock().as_nanos());
    h.write_u32(std::process::id());
    h.finish() as u32
}

/// The wall clock as a probe's send time (zero if the clock is before 1970).
pub fn wall_clock() -> Duration {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data probe written by hand from the table in the module docs.
    const DATA: [u8; 32] = [
        b'm', b'c', b's', b't', 1, 1, 16, 0, // magic, version, kind, ttl, flags
        0xde, 0xad, 0xbe, 0xef, // stream
        0, 0, 0, 0, 0, 0, 0x01, 0x02, // seq 258
        0x18, 0x7a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, // send time
        0, 0, 0, 0,
    ];

    #[test]
    fn a_probe_reads_from_the_documented_layout() {
        let p = Probe::parse(&DATA).unwrap();
        assert_eq!(p.kind, Kind::Data);
        assert_eq!(p.ttl, 16);
        assert_eq!(p.stream, 0xdead_beef);
        assert_eq!(p.seq, 258);
        assert_eq!(p.sent, Duration::from_nanos(0x187a_1b2c_3d4e_5f60));
        assert_eq!(p.aux, 0);
    }

    #[test]
    fn a_probe_writes_the_documented_layout_and_keeps_the_padding() {
        let p = Probe {
            kind: Kind::Data,
            ttl: 16,
            stream: 0xdead_beef,
            seq: 258,
            sent: Duration::from_nanos(0x187a_1b2c_3d4e_5f60),
            aux: 0,
        };
        let mut buf = [0xaa; 40];
        assert_eq!(p.write(&mut buf), Some(&DATA[..]));
        assert_eq!(buf[32..], [0xaa; 8]);
        let answer = Probe { kind: Kind::PingAnswer, aux: 63, ..p };
        assert_eq!(Probe::parse(answer.write(&mut buf).unwrap()), Some(answer));
        assert_eq!(buf[5], 3);
        assert_eq!(buf[28..32], [0, 0, 0, 63]);
    }

    #[test]
    fn stream_ids_differ_between_calls() {
        let ids: std::collections::BTreeSet<u32> = (0..8).map(|_| new_stream()).collect();
        assert_eq!(ids.len(), 8);
    }

    #[test]
    fn what_is_not_a_probe_is_none() {
        assert_eq!(Probe::parse(&DATA[..31]), None);
        assert_eq!(Probe::parse(b"mcast 1"), None);
        let mut other = DATA;
        other[0] = b'M';
        assert_eq!(Probe::parse(&other), None);
        let mut v2 = DATA;
        v2[4] = 2;
        assert_eq!(Probe::parse(&v2), None);
        let mut kind = DATA;
        kind[5] = 0;
        assert_eq!(Probe::parse(&kind), None);
        let mut flags = DATA;
        flags[7] = 0xff;
        assert!(Probe::parse(&flags).is_some(), "flags are ignored when read");
        assert_eq!(Probe::parse(&DATA).unwrap().write(&mut [0; 31]), None);
    }
}
