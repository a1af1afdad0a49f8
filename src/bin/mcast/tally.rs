//! What `mcast recv` counts: per group, per sender and per stream, the datagrams, their
//! sequence accounting and the spread of their one-way delay.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use mcast::socket::probe::{Kind, Probe};
use mcast::socket::sequence::{Sequence, SequenceStats};

pub use crate::spread::Spread;

/// One row: a sender's stream to a group. Datagrams without a probe header are a
/// stream of their own (`stream: None`), counted without sequence accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The destination group (or this host's address for unicast).
    pub group: Ipv4Addr,
    /// The sender.
    pub sender: SocketAddrV4,
    /// The sender's stream id, if the datagrams carry the probe header.
    pub stream: Option<u32>,
}

/// One row's counts.
#[derive(Debug, Clone)]
pub struct Row {
    /// Sequence accounting (probe datagrams only).
    pub sequence: Sequence,
    /// Datagrams received (all of them, for rows without a header too).
    pub datagrams: u64,
    /// Payload octets received.
    pub octets: u64,
    /// The first and the latest arrival.
    pub first: Instant,
    /// The latest arrival.
    pub last: Instant,
    /// One-way delay in milliseconds: the receiver's wall clock minus the send time in
    /// the header. Its mean includes the offset between the two clocks; its spread
    /// does not.
    pub delay: Spread,
}

impl Row {
    /// Datagrams per second between the first and the latest arrival.
    pub fn rate(&self) -> Option<f64> {
        let span = self.last.duration_since(self.first).as_secs_f64();
        (self.datagrams > 1 && span > 0.0).then(|| (self.datagrams - 1) as f64 / span)
    }

    /// The sequence counts.
    pub fn counts(&self) -> SequenceStats {
        self.sequence.stats()
    }
}

/// Every row, by key.
#[derive(Debug, Default)]
pub struct Tally {
    rows: HashMap<Key, Row>,
    datagrams: u64,
}

impl Tally {
    /// Accounts for a datagram of `payload` from `sender` to `group` that arrived at
    /// `at`, when the wall clock read `wall` (time since the Unix epoch).
    pub fn record(&mut self, group: Ipv4Addr, sender: SocketAddrV4, payload: &[u8], at: Instant, wall: Duration) {
        self.datagrams += 1;
        let probe = Probe::parse(payload).filter(|p| p.kind == Kind::Data);
        let key = Key { group, sender, stream: probe.map(|p| p.stream) };
        let row = self.rows.entry(key).or_insert_with(|| Row {
            sequence: Sequence::new(),
            datagrams: 0,
            octets: 0,
            first: at,
            last: at,
            delay: Spread::default(),
        });
        row.datagrams += 1;
        row.octets += payload.len() as u64;
        row.last = at;
        if let Some(p) = probe {
            row.sequence.record(p.seq);
            let delay_ms = (wall.as_nanos() as f64 - p.sent.as_nanos() as f64) / 1e6;
            row.delay.add(delay_ms);
        }
    }

    /// Datagrams recorded, all rows together.
    pub fn datagrams(&self) -> u64 {
        self.datagrams
    }

    /// The rows, sorted by group, sender and stream.
    pub fn rows(&self) -> Vec<(&Key, &Row)> {
        let mut rows: Vec<_> = self.rows.iter().collect();
        rows.sort_by_key(|(k, _)| **k);
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_per_group_sender_and_stream() {
        let mut t = Tally::default();
        let now = Instant::now();
        let a: SocketAddrV4 = "10.0.0.1:4000".parse().unwrap();
        let g1 = Ipv4Addr::new(239, 1, 1, 1);
        let g2 = Ipv4Addr::new(239, 1, 1, 2);
        let probe = |stream, seq| {
            let p = Probe { kind: Kind::Data, ttl: 1, stream, seq, sent: Duration::from_millis(1_000), aux: 0 };
            let mut buf = [0u8; 40];
            p.write(&mut buf).unwrap();
            buf
        };
        for seq in [1, 2, 4] {
            t.record(g1, a, &probe(7, seq), now + Duration::from_millis(seq * 10), Duration::from_millis(1_000 + seq));
        }
        t.record(g2, a, &probe(7, 1), now, Duration::from_millis(1_000));
        t.record(g1, a, b"hello", now, Duration::ZERO);
        t.record(g1, a, &probe(8, 1), now, Duration::from_millis(1_000));
        let rows = t.rows();
        let keys: Vec<_> = rows.iter().map(|(k, _)| (k.group, k.stream)).collect();
        assert_eq!(keys, [(g1, None), (g1, Some(7)), (g1, Some(8)), (g2, Some(7))]);
        let (_, row) = rows[1];
        assert_eq!((row.datagrams, row.octets, row.counts().lost), (3, 120, 1));
        assert_eq!(row.delay.get(), Some((1.0, 7.0 / 3.0, 4.0, (14.0f64 / 9.0).sqrt())));
        assert_eq!(row.rate(), Some(2.0 / 0.03));
        let (_, raw) = rows[0];
        assert_eq!((raw.datagrams, raw.counts().received, raw.delay.get()), (1, 0, None));
        assert_eq!(t.datagrams(), 6);
    }
}
