//! Loss, duplicate and reordering accounting for one numbered stream of datagrams: the
//! counts `mcast recv` prints per sender.
//!
//! The counts follow the sequence numbers of [`probe`](super::probe) headers, from the
//! first one received (datagrams sent before a receiver started are not lost):
//!
//! - a number above the highest so far counts the numbers skipped as **lost**;
//! - a number below it that has not been seen is **reordered**, and is no longer lost;
//! - a number seen before is **duplicated**;
//! - a number more than [`WINDOW`] below the highest cannot be told apart: it is
//!   counted as **late** and changes nothing else (if it was an original, `lost` stays
//!   one too high).

/// How many sequence numbers below the highest are remembered.
pub const WINDOW: u64 = 1024;
const WORDS: usize = (WINDOW / 64) as usize;

/// The counts of a [`Sequence`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SequenceStats {
    /// Datagrams received, duplicates included.
    pub received: u64,
    /// Sequence numbers skipped and not (yet) received.
    pub lost: u64,
    /// Datagrams whose sequence number had been received already.
    pub duplicated: u64,
    /// Datagrams that arrived after one with a higher sequence number.
    pub reordered: u64,
    /// Datagrams more than [`WINDOW`] numbers behind the highest.
    pub late: u64,
}

/// The accounting of one stream.
#[derive(Debug, Clone)]
pub struct Sequence {
    stats: SequenceStats,
    first: u64,
    highest: u64,
    /// Bit `n % WINDOW` is set if number `n` in `highest - WINDOW + 1 ..= highest`
    /// was received.
    seen: [u64; WORDS],
}

impl Default for Sequence {
    fn default() -> Self {
        Sequence::new()
    }
}

impl Sequence {
    /// A stream with nothing received.
    pub const fn new() -> Sequence {
        Sequence {
            stats: SequenceStats { received: 0, lost: 0, duplicated: 0, reordered: 0, late: 0 },
            first: 0,
            highest: 0,
            seen: [0; WORDS],
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> SequenceStats {
        self.stats
    }

    /// The lowest and highest sequence numbers received, if any.
    pub fn range(&self) -> Option<(u64, u64)> {
        (self.stats.received > 0).then_some((self.first, self.highest))
    }

    /// How many sequence numbers the sender used from the lowest received to the
    /// highest: what `lost` is a share of.
    pub fn expected(&self) -> u64 {
        self.range().map_or(0, |(first, highest)| (highest - first).saturating_add(1))
    }

    fn bit(seq: u64) -> (usize, u64) {
        let i = seq % WINDOW;
        ((i / 64) as usize, 1 << (i % 64))
    }

    /// Accounts for one received datagram with sequence number `seq`.
    pub fn record(&mut self, seq: u64) {
        let s = &mut self.stats;
        s.received += 1;
        if s.received == 1 {
            self.first = seq;
            self.highest = seq;
            let (w, b) = Self::bit(seq);
            self.seen[w] |= b;
            return;
        }
        if seq > self.highest {
            let gap = seq - self.highest - 1;
            s.lost += gap;
            if gap + 1 >= WINDOW {
                self.seen = [0; WORDS];
            } else {
                for n in self.highest + 1..seq {
                    let (w, b) = Self::bit(n);
                    self.seen[w] &= !b;
                }
            }
            let (w, b) = Self::bit(seq);
            self.seen[w] |= b;
            self.highest = seq;
            return;
        }
        if self.highest - seq >= WINDOW {
            s.late += 1;
            return;
        }
        let (w, b) = Self::bit(seq);
        if self.seen[w] & b != 0 {
            s.duplicated += 1;
            return;
        }
        self.seen[w] |= b;
        s.reordered += 1;
        if seq < self.first {
            // Sent before the first one received: it was never counted as lost, and
            // the numbers between it and the first now are.
            s.lost += self.first - seq - 1;
            self.first = seq;
        } else {
            s.lost -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seqs: &[u64]) -> (SequenceStats, u64) {
        let mut s = Sequence::new();
        for &n in seqs {
            s.record(n);
        }
        (s.stats(), s.expected())
    }

    fn stats(received: u64, lost: u64, duplicated: u64, reordered: u64, late: u64) -> SequenceStats {
        SequenceStats { received, lost, duplicated, reordered, late }
    }

    #[test]
    fn an_unbroken_stream_counts_nothing_but_received() {
        assert_eq!(run(&[5, 6, 7, 8]), (stats(4, 0, 0, 0, 0), 4));
        assert_eq!(run(&[]), (stats(0, 0, 0, 0, 0), 0));
    }

    #[test]
    fn gaps_are_lost_until_the_numbers_arrive_late() {
        assert_eq!(run(&[1, 2, 5, 6]), (stats(4, 2, 0, 0, 0), 6));
        assert_eq!(run(&[1, 2, 5, 3, 6]), (stats(5, 1, 0, 1, 0), 6));
        assert_eq!(run(&[1, 3, 2, 4]), (stats(4, 0, 0, 1, 0), 4));
    }

    #[test]
    fn a_number_seen_twice_is_a_duplicate_whenever_it_comes_back() {
        assert_eq!(run(&[1, 1, 2, 3]), (stats(4, 0, 1, 0, 0), 3));
        assert_eq!(run(&[1, 2, 3, 2]), (stats(4, 0, 1, 0, 0), 3));
        assert_eq!(run(&[1, 3, 2, 2]), (stats(4, 0, 1, 1, 0), 3));
    }

    #[test]
    fn a_number_before_the_first_received_is_reordered_not_found() {
        assert_eq!(run(&[10, 11, 8]), (stats(3, 1, 0, 1, 0), 4));
        assert_eq!(run(&[10, 11, 8, 9]), (stats(4, 0, 0, 2, 0), 4));
    }

    #[test]
    fn beyond_the_window_numbers_are_late_and_old_bits_do_not_linger() {
        // 1 and then a jump of exactly WINDOW: 1 is now outside the window.
        assert_eq!(run(&[1, 1 + WINDOW, 1]), (stats(3, WINDOW - 1, 0, 0, 1), WINDOW + 1));
        // A big jump forgets every bit: 2 + WINDOW was never received, so it is
        // reordered, not a duplicate of 2 (which shares its bit).
        let (s, _) = run(&[1, 2, 3 * WINDOW, 2 + WINDOW * 2 + 1]);
        assert_eq!((s.duplicated, s.reordered), (0, 1));
        // A short jump clears the bits it skips: 3 + WINDOW shares 3's bit.
        let (s, _) = run(&[1, 2, 3, 4, 3 + WINDOW + 5, 3 + WINDOW]);
        assert_eq!((s.duplicated, s.reordered, s.lost), (0, 1, WINDOW + 2));
    }

    #[test]
    fn extreme_numbers_do_not_overflow() {
        let (s, e) = run(&[0, u64::MAX, 0, u64::MAX]);
        assert_eq!((s.lost, s.late, s.duplicated), (u64::MAX - 1, 1, 1));
        assert_eq!(e, u64::MAX);
    }
}
