//! The Host's lookup index: its groups hashed into buckets, each bucket's entries kept
//! together in the table, and a key per group that `is_member` compares without looking
//! at anything else.

use crate::addr::GroupAddr;

/// Buckets of the lookup index (a power of two): `is_member` runs for every received
/// multicast datagram, so it must not search the whole table, and it is quickest when the
/// group comes first in its bucket. 128 buckets cost 258 bytes of bounds and leave most
/// groups alone in theirs up to 64 groups.
pub(super) const BUCKETS: usize = 128;

/// Where each bucket's entries are in the table: bucket `b` is
/// `entries[bounds[b]..bounds[b + 1]]`, and `bounds[0]` is always 0.
///
/// Aligned to 8 for code size (docs/BENCHMARKS.md, "Code size").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(align(8))]
pub(super) struct Bounds(pub(super) [u16; BUCKETS + 1]);

impl Bounds {
    /// Every bucket empty.
    pub(super) const EMPTY: Bounds = Bounds([0; BUCKETS + 1]);

    /// Where `group`'s bucket starts in the table.
    #[inline]
    pub(super) fn start(&self, group: GroupAddr) -> usize {
        usize::from(self.0[bucket(group)])
    }

    /// Where `group`'s bucket starts and ends in the table.
    #[inline]
    pub(super) fn range(&self, group: GroupAddr) -> (usize, usize) {
        let b = bucket(group);
        (usize::from(self.0[b]), usize::from(self.0[b + 1]))
    }

    /// Takes note of an entry inserted into `group`'s bucket.
    pub(super) fn inserted(&mut self, group: GroupAddr) {
        for bound in &mut self.0[bucket(group) + 1..] {
            *bound += 1;
        }
    }

    /// Takes note of an entry removed from `group`'s bucket.
    pub(super) fn removed(&mut self, group: GroupAddr) {
        for bound in &mut self.0[bucket(group) + 1..] {
            *bound -= 1;
        }
    }
}

/// The bucket of a group: the top bits of a multiplicative hash, which spreads groups
/// that differ only in their low octets (239.1.2.x) evenly.
pub(super) const fn bucket(group: GroupAddr) -> usize {
    (group.to_bits().wrapping_mul(0x9e37_79b1) >> (32 - BUCKETS.trailing_zeros())) as usize
}

/// A group as the table keeps it: its address as a `u32`, inverted while the group is
/// leaving (joined no more, its Leave still to send). An inverted address starts with
/// the bits `0001`, a group's with `1110`, so a leaving group's key equals no group's
/// and `is_member` compares keys without looking at anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Key(pub(super) u32);

impl Key {
    /// The key of a joined group.
    pub(super) const fn member(group: GroupAddr) -> Key {
        Key(group.to_bits())
    }

    /// The key of a group whose Leave is still to go.
    pub(super) const fn leaving(group: GroupAddr) -> Key {
        Key(!group.to_bits())
    }

    /// Whether this is a leaving group's key.
    pub(super) fn is_leaving(self) -> bool {
        self.0 >> 31 == 0
    }

    /// The group, joined or leaving.
    pub(super) fn group(self) -> GroupAddr {
        let bits = if self.is_leaving() { !self.0 } else { self.0 };
        // A key is a group's address or its inverse: `bits` is a group's already.
        GroupAddr::in_range(bits.to_be_bytes())
    }
}
