//! [`FilterSet`]: the multicast MACs an interface wants, reference-counted, placed in a
//! NIC's exact slots and hash bins.

use core::fmt;

use heapless::Vec;

use super::{ALL_SYSTEMS_MAC, Capabilities, FilterError, Program};
use crate::addr::{GroupAddr, MacAddr};

/// What a [`FilterSet`] does with a MAC once the chip's exact slots are all taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OverflowPolicy {
    /// The add fails with [`FilterError::NoSlot`] and the join with it, as Windows 98
    /// answered WSAENOBUFS: the filter stays exact, the application learns at once.
    Reject,
    /// The MAC goes into the hash table, which then also passes the other MACs of its
    /// bin. Needs a chip with a hash table.
    Hash,
    /// The chip passes all multicast while any MAC is left without a slot, as Windows
    /// 2000 fell back to promiscuous mode. Needs a pass-all bit or a hash table (all 64
    /// bins set).
    AllMulticast,
}

impl OverflowPolicy {
    /// The least costly policy the chip supports: [`Hash`](Self::Hash) with a hash
    /// table, else [`AllMulticast`](Self::AllMulticast) with a pass-all bit, else
    /// [`Reject`](Self::Reject).
    pub const fn best_for(caps: &Capabilities) -> OverflowPolicy {
        if caps.hash.is_some() {
            OverflowPolicy::Hash
        } else if caps.pass_all_multicast {
            OverflowPolicy::AllMulticast
        } else {
            OverflowPolicy::Reject
        }
    }
}

/// Where a MAC is in the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Exact slot number.
    Slot(u8),
    /// A hash bin.
    Hash,
    /// Nowhere but the pass-all fallback.
    Overflow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    mac: MacAddr,
    /// Adds not yet removed. For the all-systems entry, the user's adds only: it is in
    /// the set with zero.
    refs: u16,
    place: Place,
}

/// The multicast MACs an interface wants (up to `N`, plus the implicit all-systems
/// MAC), each reference-counted, and where each goes in the NIC's filter.
///
/// - **Reference counts.** The 32 groups of a MAC, and several sockets joining one
///   group, share an entry: [`add`](Self::add) counts up, [`remove`](Self::remove)
///   counts down, and the MAC leaves the filter only at zero.
/// - **Per-bin counts.** Each hash bin counts the MACs hashed into it (64 × `u16`, so
///   `N` is at most 65534, checked at compile time). Removing a MAC clears its bin only
///   when no other MAC needs it: the bug of clearing a shared bin, which NXP's lwIP port
///   avoids by never clearing any, cannot happen.
/// - **All systems.** 01:00:5e:00:00:01 (224.0.0.1) is always in the program, or IGMP
///   queries never arrive. It does not count against `N`; adding it counts references
///   that removing it gives back, but it never leaves.
/// - **Placement is decided when a MAC is added**, from the capabilities given to
///   [`new`](Self::new): the lowest free exact slot, else the [`OverflowPolicy`]. So
///   `Reject` fails the add itself (the join fails at once and nothing changes), and a
///   MAC keeps its slot for as long as it is in the set: a driver never has to move a
///   wanted MAC from one slot to another. When a slot frees up, the first MAC still
///   waiting in the hash or overflow (all-systems first, then in MAC order) moves into
///   it, which never drops it: drivers write the slot before clearing the bin.
/// - **Errors change nothing**: a full set, a missing MAC, a refused slot leave every
///   MAC, count and placement as they were.
///
/// [`accepts`](Self::accepts) is the exact software answer for a received frame;
/// [`program`](Self::program) is what the NIC should be told; [`unwanted_ipv4_macs`]
/// and [`unwanted`] say what that program lets through that nobody asked for.
///
/// [`unwanted_ipv4_macs`]: Self::unwanted_ipv4_macs
/// [`unwanted`]: Self::unwanted
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterSet<const N: usize> {
    caps: Capabilities,
    policy: OverflowPolicy,
    /// The user asked for all multicast ([`FilterSet::set_all_multicast`]).
    all_multicast: bool,
    all_systems: Entry,
    /// Sorted by MAC; never holds the all-systems MAC.
    entries: Vec<Entry, N>,
    /// MACs hashed into each bin.
    bins: [u16; 64],
    /// Bit `s` set when exact slot `s` is taken.
    slots_used: u16,
    /// MACs waiting in [`Place::Overflow`].
    overflowed: u16,
}

impl<const N: usize> FilterSet<N> {
    /// Bin counts are `u16` and count distinct MACs: at most `N + 1` of them.
    const CAPACITY_FITS_COUNTS: () = assert!(N < u16::MAX as usize, "FilterSet<N>: N must be below 65535");

    /// An empty set for a NIC with capabilities `caps`, placing MACs beyond its exact
    /// slots by `policy`. The all-systems MAC is placed at once.
    ///
    /// Fails with [`FilterError::Unsupported`] when the chip cannot follow `policy`
    /// (`Hash` without a hash table; `AllMulticast` with neither a pass-all bit nor a
    /// hash table), or cannot hold even the all-systems MAC (`Reject` with no slot).
    pub fn new(caps: Capabilities, policy: OverflowPolicy) -> Result<FilterSet<N>, FilterError> {
        #[allow(clippy::let_unit_value)]
        let () = Self::CAPACITY_FITS_COUNTS;
        let supported = match policy {
            OverflowPolicy::Reject => true,
            OverflowPolicy::Hash => caps.hash.is_some(),
            OverflowPolicy::AllMulticast => caps.can_pass_all(),
        };
        if !supported {
            return Err(FilterError::Unsupported);
        }
        let mut set = FilterSet {
            caps,
            policy,
            all_multicast: false,
            all_systems: Entry { mac: ALL_SYSTEMS_MAC, refs: 0, place: Place::Overflow },
            entries: Vec::new(),
            bins: [0; 64],
            slots_used: 0,
            overflowed: 0,
        };
        set.all_systems.place = set.place_new(ALL_SYSTEMS_MAC).ok_or(FilterError::Unsupported)?;
        set.count_in(ALL_SYSTEMS_MAC, set.all_systems.place);
        Ok(set)
    }

    /// The capabilities the set places MACs for.
    pub const fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// The overflow policy.
    pub const fn policy(&self) -> OverflowPolicy {
        self.policy
    }

    /// Adds one reference to `mac`. Returns `true` if the MAC is new to the set (the
    /// program changes), `false` if it was already there (the all-systems MAC always
    /// is).
    ///
    /// Errors, which change nothing: [`FilterError::NotMulticast`] for a unicast or
    /// broadcast MAC, [`FilterError::Full`] when `N` MACs are in the set,
    /// [`FilterError::NoSlot`] when the slots are taken and the policy is `Reject`,
    /// [`FilterError::TooManyRefs`] at 65535 references.
    pub fn add(&mut self, mac: MacAddr) -> Result<bool, FilterError> {
        check_multicast(mac)?;
        if mac == ALL_SYSTEMS_MAC {
            let e = &mut self.all_systems;
            e.refs = e.refs.checked_add(1).ok_or(FilterError::TooManyRefs)?;
            return Ok(false);
        }
        match self.find(mac) {
            Ok(i) => {
                // `find` gives indices of the table only.
                let e = self.entries.get_mut(i).ok_or(FilterError::NotPresent)?;
                e.refs = e.refs.checked_add(1).ok_or(FilterError::TooManyRefs)?;
                Ok(false)
            }
            Err(i) => {
                // `i <= len` always; checked so that `insert` has no panic left to take.
                if self.entries.is_full() || i > self.entries.len() {
                    return Err(FilterError::Full);
                }
                let place = self.place_new(mac).ok_or(FilterError::NoSlot)?;
                // Cannot fail: checked not full above.
                self.entries.insert(i, Entry { mac, refs: 1, place }).map_err(|_| FilterError::Full)?;
                self.count_in(mac, place);
                Ok(true)
            }
        }
    }

    /// Removes one reference to `mac`. Returns `true` if that was the last one and the
    /// MAC left the set (the program changes), `false` if references remain. The
    /// all-systems MAC never leaves: removing what was added of it returns `false`.
    ///
    /// Errors, which change nothing: [`FilterError::NotMulticast`] for a unicast or
    /// broadcast MAC, [`FilterError::NotPresent`] for a MAC not added (or, for
    /// all-systems, removed more often than added).
    pub fn remove(&mut self, mac: MacAddr) -> Result<bool, FilterError> {
        check_multicast(mac)?;
        if mac == ALL_SYSTEMS_MAC {
            let e = &mut self.all_systems;
            e.refs = e.refs.checked_sub(1).ok_or(FilterError::NotPresent)?;
            return Ok(false);
        }
        let i = self.find(mac).map_err(|_| FilterError::NotPresent)?;
        let e = self.entries.get_mut(i).ok_or(FilterError::NotPresent)?;
        if e.refs > 1 {
            e.refs -= 1;
            return Ok(false);
        }
        let gone = self.entries.remove(i);
        self.count_out(gone.mac, gone.place);
        if let Place::Slot(slot) = gone.place {
            self.promote_into(slot);
        }
        Ok(true)
    }

    /// [`add`](Self::add) for the MAC `group` maps to.
    pub fn add_group(&mut self, group: GroupAddr) -> Result<bool, FilterError> {
        self.add(group.to_mac())
    }

    /// [`remove`](Self::remove) for the MAC `group` maps to.
    pub fn remove_group(&mut self, group: GroupAddr) -> Result<bool, FilterError> {
        self.remove(group.to_mac())
    }

    /// Whether `mac` is in the set (the all-systems MAC always is).
    pub fn contains(&self, mac: MacAddr) -> bool {
        mac == ALL_SYSTEMS_MAC || self.find(mac).is_ok()
    }

    /// How many references `mac` has: what was added and not removed. Zero for a MAC
    /// not in the set, and for the all-systems MAC unless added.
    pub fn refs(&self, mac: MacAddr) -> u16 {
        if mac == ALL_SYSTEMS_MAC {
            return self.all_systems.refs;
        }
        self.find(mac).map_or(0, |i| self.entries[i].refs)
    }

    /// Whether a received frame for destination `mac` is wanted: the exact answer the
    /// hardware filter only approximates. Broadcast and the all-systems MAC always are;
    /// another multicast MAC is if it is in the set, or if the user asked for all
    /// multicast. Unicast destinations are not this set's business: `false`.
    pub fn accepts(&self, mac: MacAddr) -> bool {
        if mac.is_broadcast() || mac == ALL_SYSTEMS_MAC {
            return true;
        }
        mac.is_multicast() && (self.all_multicast || self.find(mac).is_ok())
    }

    /// How many MACs the set holds, counting the all-systems MAC.
    pub fn len(&self) -> usize {
        self.entries.len() + 1
    }

    /// Always `false`: the all-systems MAC is always there. (For symmetry with
    /// [`len`](Self::len).)
    pub fn is_empty(&self) -> bool {
        false
    }

    /// How many more MACs can be added before [`FilterError::Full`].
    pub fn room(&self) -> usize {
        N - self.entries.len()
    }

    /// The MACs, all-systems first, then in ascending order.
    pub fn macs(&self) -> Macs<'_> {
        Macs { first: Some(self.all_systems.mac), rest: self.entries.iter() }
    }

    /// How many MACs are hashed into `bin` (taken modulo 64).
    pub fn bin_count(&self, bin: u8) -> u16 {
        self.bins[usize::from(bin & 0x3f)]
    }

    /// Asks for every multicast frame (a multicast router, a capture tool), or stops
    /// asking. While on, [`accepts`](Self::accepts) accepts every multicast MAC and the
    /// program passes all multicast. The set's MACs keep their places, so turning it off
    /// goes straight back to the exact program.
    ///
    /// [`FilterError::Unsupported`] if the chip has neither a pass-all bit nor a hash
    /// table.
    pub fn set_all_multicast(&mut self, on: bool) -> Result<(), FilterError> {
        if on && !self.caps.can_pass_all() {
            return Err(FilterError::Unsupported);
        }
        self.all_multicast = on;
        Ok(())
    }

    /// Whether all multicast was asked for with [`set_all_multicast`](Self::set_all_multicast).
    pub const fn all_multicast(&self) -> bool {
        self.all_multicast
    }

    /// The program for the NIC: each slotted MAC in its slot, the bins of the hashed
    /// MACs (and the scheme's [required bins](super::HashScheme::required_bins)), and
    /// pass-all while a MAC overflowed under [`OverflowPolicy::AllMulticast`] or all
    /// multicast was asked for. A chip without a pass-all bit gets all 64 bins set
    /// instead.
    ///
    /// It cannot fail: whatever the capabilities cannot express was refused when the
    /// set was made or when the MAC was added.
    pub fn program(&self) -> Program {
        let mut program = Program::new(&self.caps);
        for e in self.all() {
            if let Place::Slot(slot) = e.place {
                // The slot was taken from the program's own range: cannot fail.
                let _ = program.set_exact(usize::from(slot), Some(e.mac));
            }
        }
        // Bin 63 first, one constant shift at a time (docs/BENCHMARKS.md, "Code size").
        let used = self.bins.iter().rev().fold(0u64, |bins, &count| bins << 1 | u64::from(count > 0));
        program.set_hash(program.hash() | used);
        if self.overflowed > 0 || self.all_multicast {
            if self.caps.pass_all_multicast {
                program.set_pass_all_multicast(true);
            } else {
                program.set_hash(u64::MAX);
            }
        }
        program
    }

    /// How many of the 2^23 IPv4 multicast MACs the current program lets through that
    /// are not in the set: the cost of the groups chosen. Each set hash bin passes
    /// 2^17 of them; pass-all passes them all. Multiply by 32 for groups, divide by
    /// [`IPV4_MULTICAST_MACS`](super::IPV4_MULTICAST_MACS) for the fraction.
    ///
    /// For example, on a LAN9118 with 224.0.0.1 and 239.1.2.3 joined, two bins are set:
    /// 262144 MACs pass, 262142 of them unwanted (3.1 % of the IPv4 multicast space).
    pub fn unwanted_ipv4_macs(&self) -> u32 {
        let wanted = self.all().filter(|e| e.mac.is_ipv4_multicast()).count() as u32;
        self.program().ipv4_macs_passing().saturating_sub(wanted)
    }

    /// The groups among `candidates` whose frames the current program lets through
    /// although their MAC is not in the set: the groups a busy network would make this
    /// NIC receive for nothing. Useful to pick group addresses that do not collide with
    /// heavy traffic (a video stream in the same bin as a sensor group).
    pub fn unwanted<I>(&self, candidates: I) -> Unwanted<'_, N, I::IntoIter>
    where
        I: IntoIterator<Item = GroupAddr>,
    {
        Unwanted { set: self, program: self.program(), candidates: candidates.into_iter() }
    }

    /// The all-systems entry, then the others.
    fn all(&self) -> impl Iterator<Item = &Entry> + '_ {
        core::iter::once(&self.all_systems).chain(self.entries.iter())
    }

    fn find(&self, mac: MacAddr) -> Result<usize, usize> {
        self.entries.binary_search_by(|e| e.mac.cmp(&mac))
    }

    /// Where a MAC added now would go, or `None` if the policy refuses it.
    fn place_new(&self, _mac: MacAddr) -> Option<Place> {
        if let Some(slot) = self.free_slot() {
            return Some(Place::Slot(slot));
        }
        match self.policy {
            OverflowPolicy::Reject => None,
            OverflowPolicy::Hash => Some(Place::Hash),
            OverflowPolicy::AllMulticast => Some(Place::Overflow),
        }
    }

    fn free_slot(&self) -> Option<u8> {
        (0..self.caps.usable_slots() as u8).find(|s| self.slots_used & (1 << s) == 0)
    }

    /// Accounts for a MAC entering `place`.
    fn count_in(&mut self, mac: MacAddr, place: Place) {
        match place {
            Place::Slot(slot) => self.slots_used |= 1 << slot,
            Place::Hash => {
                // A bin is below 64, the most any scheme has.
                if let Some(count) = self.caps.hash.and_then(|scheme| self.bins.get_mut(usize::from(scheme.bin(mac)))) {
                    // At most N + 1 < 65535 MACs exist: cannot saturate.
                    *count = count.saturating_add(1);
                }
            }
            Place::Overflow => self.overflowed = self.overflowed.saturating_add(1),
        }
    }

    /// Accounts for a MAC leaving `place`.
    fn count_out(&mut self, mac: MacAddr, place: Place) {
        match place {
            Place::Slot(slot) => self.slots_used &= !(1 << slot),
            Place::Hash => {
                if let Some(count) = self.caps.hash.and_then(|scheme| self.bins.get_mut(usize::from(scheme.bin(mac)))) {
                    *count = count.saturating_sub(1);
                }
            }
            Place::Overflow => self.overflowed = self.overflowed.saturating_sub(1),
        }
    }

    /// Moves the first MAC waiting in the hash or overflow into the freed `slot`.
    fn promote_into(&mut self, slot: u8) {
        let waiting = |e: &Entry| !matches!(e.place, Place::Slot(_));
        let (mac, place) = if waiting(&self.all_systems) {
            let e = &mut self.all_systems;
            let old = e.place;
            e.place = Place::Slot(slot);
            (e.mac, old)
        } else if let Some(e) = self.entries.iter_mut().find(|e| waiting(e)) {
            let old = e.place;
            e.place = Place::Slot(slot);
            (e.mac, old)
        } else {
            return;
        };
        self.count_out(mac, place);
        self.count_in(mac, Place::Slot(slot));
    }
}

impl<const N: usize> fmt::Display for FilterSet<N> {
    /// The MACs, comma-separated, all-systems first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, mac) in self.macs().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            fmt::Display::fmt(&mac, f)?;
        }
        Ok(())
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for FilterSet<N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "FilterSet {{ caps: {}, policy: {}, macs: {=usize}, all_multicast: {=bool} }}",
            self.caps,
            self.policy,
            self.len(),
            self.all_multicast
        )
    }
}

fn check_multicast(mac: MacAddr) -> Result<(), FilterError> {
    if mac.is_multicast() && !mac.is_broadcast() { Ok(()) } else { Err(FilterError::NotMulticast) }
}

/// The MACs of a [`FilterSet`]; see [`FilterSet::macs`].
#[derive(Debug, Clone)]
pub struct Macs<'a> {
    first: Option<MacAddr>,
    rest: core::slice::Iter<'a, Entry>,
}

impl Iterator for Macs<'_> {
    type Item = MacAddr;

    fn next(&mut self) -> Option<MacAddr> {
        self.first.take().or_else(|| self.rest.next().map(|e| e.mac))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.rest.len() + usize::from(self.first.is_some());
        (n, Some(n))
    }
}

impl ExactSizeIterator for Macs<'_> {}
impl core::iter::FusedIterator for Macs<'_> {}

/// The groups a program lets through unwanted; see [`FilterSet::unwanted`].
#[derive(Debug, Clone)]
pub struct Unwanted<'a, const N: usize, I> {
    set: &'a FilterSet<N>,
    program: Program,
    candidates: I,
}

impl<const N: usize, I: Iterator<Item = GroupAddr>> Iterator for Unwanted<'_, N, I> {
    type Item = GroupAddr;

    fn next(&mut self) -> Option<GroupAddr> {
        let (set, program) = (self.set, &self.program);
        self.candidates.find(|g| {
            let mac = g.to_mac();
            program.passes(mac) && !set.accepts(mac)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{HashScheme, IPV4_MULTICAST_MACS};

    const LAN9118: Capabilities =
        Capabilities { exact_slots: 0, hash: Some(HashScheme::Lan9118), pass_all_multicast: true };
    const DWMAC: Capabilities =
        Capabilities { exact_slots: 3, hash: Some(HashScheme::Dwmac), pass_all_multicast: true };
    const SLOTS_ONLY: Capabilities = Capabilities { exact_slots: 2, hash: None, pass_all_multicast: true };
    /// NXP ENET: a hash, no pass-all bit, no slots.
    const ENET: Capabilities =
        Capabilities { exact_slots: 0, hash: Some(HashScheme::NxpEnet), pass_all_multicast: false };

    fn g(s: &str) -> GroupAddr {
        s.parse().unwrap()
    }

    fn mac(s: &str) -> MacAddr {
        s.parse().unwrap()
    }

    // Reference table rows, by group.
    const MDNS: &str = "224.0.0.251"; // DWMAC 48, LAN9118 15
    const SSDP: &str = "239.255.255.250"; // DWMAC 20, LAN9118 43
    const ROUTERS: &str = "224.0.0.2"; // DWMAC 55, LAN9118 8
    const V3_ROUTERS: &str = "224.0.0.22"; // DWMAC 24, LAN9118 39

    /// Everything observable about a set, to check that an error changed nothing.
    fn snapshot<const N: usize>(set: &FilterSet<N>) -> (std::vec::Vec<(MacAddr, u16)>, std::vec::Vec<u16>, Program) {
        let macs = set.macs().map(|m| (m, set.refs(m))).collect();
        let bins = (0..64).map(|b| set.bin_count(b)).collect();
        (macs, bins, set.program())
    }

    #[test]
    fn new_set_holds_only_all_systems_and_programs_it() {
        let set: FilterSet<4> = FilterSet::new(LAN9118, OverflowPolicy::Hash).unwrap();
        assert_eq!(set.len(), 1);
        assert!(!set.is_empty());
        assert_eq!(set.room(), 4);
        assert_eq!(set.macs().collect::<std::vec::Vec<_>>(), [mac("01:00:5e:00:00:01")]);
        assert!(set.contains(mac("01:00:5e:00:00:01")));
        let p = set.program();
        assert_eq!(p.hash(), 1 << 31, "224.0.0.1 is LAN9118 bin 31");
        assert!(!p.pass_all_multicast());
        assert_eq!(set.bin_count(31), 1);

        // On a chip with slots, it takes the first slot.
        let set: FilterSet<4> = FilterSet::new(DWMAC, OverflowPolicy::Hash).unwrap();
        let p = set.program();
        assert_eq!(p.exact(), &[Some(mac("01:00:5e:00:00:01")), None, None]);
        assert_eq!(p.hash(), 0);
    }

    #[test]
    fn new_refuses_policies_the_chip_cannot_follow() {
        let no_hash = Capabilities { exact_slots: 4, hash: None, pass_all_multicast: false };
        assert_eq!(FilterSet::<4>::new(no_hash, OverflowPolicy::Hash), Err(FilterError::Unsupported));
        assert_eq!(FilterSet::<4>::new(no_hash, OverflowPolicy::AllMulticast), Err(FilterError::Unsupported));
        assert!(FilterSet::<4>::new(no_hash, OverflowPolicy::Reject).is_ok());
        // Reject with no slot at all could not even receive queries.
        assert_eq!(FilterSet::<4>::new(LAN9118, OverflowPolicy::Reject), Err(FilterError::Unsupported));
        let nothing = Capabilities { exact_slots: 0, hash: None, pass_all_multicast: false };
        for policy in [OverflowPolicy::Reject, OverflowPolicy::Hash, OverflowPolicy::AllMulticast] {
            assert_eq!(FilterSet::<4>::new(nothing, policy), Err(FilterError::Unsupported));
        }
        // AllMulticast works with a hash alone (all bins set).
        assert!(FilterSet::<4>::new(ENET, OverflowPolicy::AllMulticast).is_ok());
    }

    #[test]
    fn best_policy_follows_the_capabilities() {
        assert_eq!(OverflowPolicy::best_for(&DWMAC), OverflowPolicy::Hash);
        assert_eq!(OverflowPolicy::best_for(&SLOTS_ONLY), OverflowPolicy::AllMulticast);
        let bare = Capabilities { exact_slots: 2, hash: None, pass_all_multicast: false };
        assert_eq!(OverflowPolicy::best_for(&bare), OverflowPolicy::Reject);
    }

    #[test]
    fn add_and_remove_count_references() {
        let mut set: FilterSet<4> = FilterSet::new(LAN9118, OverflowPolicy::Hash).unwrap();
        let ssdp = g(SSDP).to_mac();
        assert_eq!(set.add(ssdp), Ok(true));
        assert_eq!(set.add(ssdp), Ok(false));
        // Another group of the same MAC (the 25th bit and the top nibble are lost).
        assert_eq!(set.add_group(g("224.127.255.250")), Ok(false));
        assert_eq!(set.refs(ssdp), 3);
        assert_eq!(set.len(), 2);
        assert_eq!(set.remove(ssdp), Ok(false));
        assert_eq!(set.remove_group(g(SSDP)), Ok(false));
        assert!(set.contains(ssdp));
        assert_eq!(set.remove(ssdp), Ok(true));
        assert!(!set.contains(ssdp));
        assert_eq!(set.refs(ssdp), 0);
        assert_eq!(set.len(), 1);
        assert_eq!(set.program().hash(), 1 << 31);
    }

    #[test]
    fn all_systems_never_leaves() {
        let mut set: FilterSet<4> = FilterSet::new(LAN9118, OverflowPolicy::Hash).unwrap();
        let all = g("224.0.0.1");
        assert_eq!(set.remove_group(all), Err(FilterError::NotPresent));
        assert_eq!(set.add_group(all), Ok(false));
        assert_eq!(set.add_group(all), Ok(false));
        assert_eq!(set.refs(all.to_mac()), 2);
        assert_eq!(set.remove_group(all), Ok(false));
        assert_eq!(set.remove_group(all), Ok(false));
        assert_eq!(set.remove_group(all), Err(FilterError::NotPresent));
        assert!(set.contains(all.to_mac()));
        assert!(set.accepts(all.to_mac()));
        assert_eq!(set.program().hash(), 1 << 31);
    }

    #[test]
    fn unicast_and_broadcast_are_refused() {
        let mut set: FilterSet<4> = FilterSet::new(LAN9118, OverflowPolicy::Hash).unwrap();
        for bad in [MacAddr::BROADCAST, mac("02:00:00:00:00:01"), mac("00:00:5e:00:00:01")] {
            assert_eq!(set.add(bad), Err(FilterError::NotMulticast), "{bad}");
            assert_eq!(set.remove(bad), Err(FilterError::NotMulticast), "{bad}");
        }
        // Other multicast MACs (IPv6 here) are filtered like IPv4 ones.
        assert_eq!(set.add(mac("33:33:00:00:00:01")), Ok(true));
    }

    #[test]
    fn full_set_is_an_error_that_changes_nothing() {
        let mut set: FilterSet<2> = FilterSet::new(LAN9118, OverflowPolicy::Hash).unwrap();
        set.add_group(g(MDNS)).unwrap();
        set.add_group(g(SSDP)).unwrap();
        set.add_group(g(SSDP)).unwrap();
        let before = snapshot(&set);
        assert_eq!(set.add_group(g(ROUTERS)), Err(FilterError::Full));
        assert_eq!(set.add_group(g(V3_ROUTERS)), Err(FilterError::Full));
        assert_eq!(snapshot(&set), before);
        assert!(!set.contains(g(ROUTERS).to_mac()));
        assert_eq!(set.bin_count(8), 0, "224.0.0.2's LAN9118 bin stays clear");
        // Existing MACs still count up when full.
        assert_eq!(set.add_group(g(MDNS)), Ok(false));
        assert_eq!(set.room(), 0);
    }

    #[test]
    fn removing_what_is_not_there_is_an_error_that_changes_nothing() {
        let mut set: FilterSet<4> = FilterSet::new(DWMAC, OverflowPolicy::Hash).unwrap();
        set.add_group(g(MDNS)).unwrap();
        let before = snapshot(&set);
        assert_eq!(set.remove_group(g(SSDP)), Err(FilterError::NotPresent));
        assert_eq!(set.remove(mac("33:33:00:00:00:01")), Err(FilterError::NotPresent));
        assert_eq!(snapshot(&set), before);
    }

    #[test]
    fn reference_counts_saturate_with_an_error() {
        let mut set: FilterSet<1> = FilterSet::new(LAN9118, OverflowPolicy::Hash).unwrap();
        let m = g(MDNS).to_mac();
        // 65535 adds take a while under miri; the count is set directly there.
        if cfg!(miri) {
            set.add(m).unwrap();
            set.entries[0].refs = u16::MAX;
        } else {
            for _ in 0..u16::MAX {
                set.add(m).unwrap();
            }
        }
        assert_eq!(set.refs(m), u16::MAX);
        let before = snapshot(&set);
        assert_eq!(set.add(m), Err(FilterError::TooManyRefs));
        assert_eq!(snapshot(&set), before);
        assert_eq!(set.remove(m), Ok(false));
        assert_eq!(set.refs(m), u16::MAX - 1);
    }

    /// Two MACs in one LAN9118 bin (the QEMU observation: 239.1.2.3 and 01:00:5e:02:00:fd,
    /// bin 57). Removing one keeps the bin; removing both clears it.
    #[test]
    fn a_shared_bin_stays_set_until_its_last_mac_leaves() {
        let mut set: FilterSet<4> = FilterSet::new(LAN9118, OverflowPolicy::Hash).unwrap();
        let a = mac("01:00:5e:01:02:03");
        let b = mac("01:00:5e:02:00:fd");
        let bin57 = 1u64 << 57;
        set.add(a).unwrap();
        set.add(b).unwrap();
        assert_eq!(set.bin_count(57), 2);
        assert_eq!(set.remove(a), Ok(true));
        assert_eq!(set.bin_count(57), 1);
        assert_ne!(set.program().hash() & bin57, 0, "b still needs bin 57");
        assert!(set.accepts(b));
        assert!(!set.accepts(a), "software stays exact");
        assert!(set.program().passes(a), "the hardware cannot tell them apart");
        assert_eq!(set.remove(b), Ok(true));
        assert_eq!(set.program().hash() & bin57, 0);
        assert_eq!(set.program().hash(), 1 << 31);
    }

    #[test]
    fn exact_slots_first_then_the_hash() {
        let mut set: FilterSet<8> = FilterSet::new(DWMAC, OverflowPolicy::Hash).unwrap();
        set.add_group(g(MDNS)).unwrap();
        set.add_group(g(SSDP)).unwrap();
        let p = set.program();
        assert_eq!(p.exact(), &[Some(mac("01:00:5e:00:00:01")), Some(g(MDNS).to_mac()), Some(g(SSDP).to_mac())]);
        assert_eq!(p.hash(), 0);
        // Slots are full: 224.0.0.2 and 224.0.0.22 go to DWMAC bins 55 and 24.
        set.add_group(g(ROUTERS)).unwrap();
        set.add_group(g(V3_ROUTERS)).unwrap();
        let p = set.program();
        assert_eq!(p.hash(), 1 << 55 | 1 << 24);
        assert_eq!(p.hash_register(0), 1 << 24); // MACHTLR
        assert_eq!(p.hash_register(1), 1 << 23); // MACHTHR
        assert!(!p.pass_all_multicast());
        assert_eq!(p.exact().len(), 3);
    }

    #[test]
    fn a_freed_slot_is_taken_by_the_first_waiting_mac_and_no_slot_moves() {
        let mut set: FilterSet<8> = FilterSet::new(DWMAC, OverflowPolicy::Hash).unwrap();
        for s in [MDNS, SSDP, V3_ROUTERS, ROUTERS] {
            set.add_group(g(s)).unwrap();
        }
        // Slots: all-systems, mDNS, SSDP; hash: 224.0.0.22 (bin 24), 224.0.0.2 (bin 55).
        assert_eq!(set.program().hash(), 1 << 24 | 1 << 55);
        set.remove_group(g(MDNS)).unwrap();
        // 01:00:5e:00:00:02 < 01:00:5e:00:00:16: 224.0.0.2 moves into slot 1; the others
        // stay where they were.
        let p = set.program();
        assert_eq!(p.exact(), &[Some(mac("01:00:5e:00:00:01")), Some(g(ROUTERS).to_mac()), Some(g(SSDP).to_mac())]);
        assert_eq!(p.hash(), 1 << 24);
        assert_eq!(set.bin_count(55), 0);
        // Removing a slotted MAC with nothing waiting leaves a hole, not a shift.
        set.remove_group(g(V3_ROUTERS)).unwrap();
        set.remove_group(g(ROUTERS)).unwrap();
        let p = set.program();
        assert_eq!(p.exact(), &[Some(mac("01:00:5e:00:00:01")), None, Some(g(SSDP).to_mac())]);
        assert_eq!(p.hash(), 0);
        // The next add fills the hole.
        set.add_group(g(MDNS)).unwrap();
        assert_eq!(set.program().exact()[1], Some(g(MDNS).to_mac()));
    }

    #[test]
    fn reject_policy_fails_the_add_that_would_overflow() {
        let mut set: FilterSet<8> = FilterSet::new(DWMAC, OverflowPolicy::Reject).unwrap();
        set.add_group(g(MDNS)).unwrap();
        set.add_group(g(SSDP)).unwrap();
        let before = snapshot(&set);
        assert_eq!(set.add_group(g(ROUTERS)), Err(FilterError::NoSlot));
        assert_eq!(snapshot(&set), before);
        // Existing MACs still take references.
        assert_eq!(set.add_group(g(MDNS)), Ok(false));
        // A freed slot can be used again.
        set.remove_group(g(SSDP)).unwrap();
        assert_eq!(set.add_group(g(ROUTERS)), Ok(true));
        assert_eq!(set.program().hash(), 0);
        assert!(!set.program().pass_all_multicast());
    }

    #[test]
    fn all_multicast_policy_passes_everything_while_a_mac_overflows() {
        let mut set: FilterSet<8> = FilterSet::new(SLOTS_ONLY, OverflowPolicy::AllMulticast).unwrap();
        set.add_group(g(MDNS)).unwrap();
        assert!(!set.program().pass_all_multicast());
        assert_eq!(set.unwanted_ipv4_macs(), 0, "two exact slots: nothing unwanted");
        set.add_group(g(SSDP)).unwrap();
        let p = set.program();
        assert!(p.pass_all_multicast());
        assert_eq!(p.exact(), &[Some(mac("01:00:5e:00:00:01")), Some(g(MDNS).to_mac())]);
        assert_eq!(set.unwanted_ipv4_macs(), IPV4_MULTICAST_MACS - 3);
        // Software stays exact.
        assert!(!set.accepts(g(ROUTERS).to_mac()));
        // mDNS leaves: SSDP takes its slot and pass-all goes off.
        set.remove_group(g(MDNS)).unwrap();
        let p = set.program();
        assert!(!p.pass_all_multicast());
        assert_eq!(p.exact(), &[Some(mac("01:00:5e:00:00:01")), Some(g(SSDP).to_mac())]);
    }

    #[test]
    fn a_chip_without_pass_all_gets_every_bin_set() {
        let mut set: FilterSet<4> = FilterSet::new(ENET, OverflowPolicy::Hash).unwrap();
        set.add_group(g(MDNS)).unwrap();
        // ENET bins: 224.0.0.1 -> 54, 224.0.0.251 -> 33.
        assert_eq!(set.program().hash(), 1 << 54 | 1 << 33);
        set.set_all_multicast(true).unwrap();
        let p = set.program();
        assert_eq!(p.hash(), u64::MAX);
        assert!(!p.pass_all_multicast());
        assert!(p.fits(&ENET));
        assert!(set.accepts(g(ROUTERS).to_mac()));
        set.set_all_multicast(false).unwrap();
        assert_eq!(set.program().hash(), 1 << 54 | 1 << 33);
        assert!(!set.accepts(g(ROUTERS).to_mac()));
    }

    #[test]
    fn set_all_multicast_keeps_the_hash_for_the_way_back() {
        let mut set: FilterSet<4> = FilterSet::new(LAN9118, OverflowPolicy::Hash).unwrap();
        set.add_group(g(MDNS)).unwrap();
        set.set_all_multicast(true).unwrap();
        assert!(set.all_multicast());
        let p = set.program();
        assert!(p.pass_all_multicast());
        assert_eq!(p.hash(), 1 << 31 | 1 << 15, "the bins stay programmed under pass-all");
        let bare = Capabilities { exact_slots: 2, hash: None, pass_all_multicast: false };
        let mut set: FilterSet<4> = FilterSet::new(bare, OverflowPolicy::Reject).unwrap();
        assert_eq!(set.set_all_multicast(true), Err(FilterError::Unsupported));
        assert_eq!(set.set_all_multicast(false), Ok(()));
    }

    #[test]
    fn accepts_is_exact() {
        let mut set: FilterSet<4> = FilterSet::new(LAN9118, OverflowPolicy::Hash).unwrap();
        set.add_group(g(SSDP)).unwrap();
        assert!(set.accepts(MacAddr::BROADCAST));
        assert!(set.accepts(mac("01:00:5e:00:00:01")));
        assert!(set.accepts(g(SSDP).to_mac()));
        assert!(!set.accepts(g(MDNS).to_mac()));
        assert!(!set.accepts(mac("02:00:00:00:00:01")), "unicast is not the set's business");
    }

    #[test]
    fn macs_iterate_all_systems_first_then_in_order() {
        let mut set: FilterSet<4> = FilterSet::new(LAN9118, OverflowPolicy::Hash).unwrap();
        for s in [SSDP, MDNS, ROUTERS] {
            set.add_group(g(s)).unwrap();
        }
        let macs: std::vec::Vec<_> = set.macs().collect();
        assert_eq!(
            macs,
            [mac("01:00:5e:00:00:01"), mac("01:00:5e:00:00:02"), mac("01:00:5e:00:00:fb"), mac("01:00:5e:7f:ff:fa")]
        );
        assert_eq!(set.macs().len(), 4);
        assert_eq!(set.to_string(), "01:00:5e:00:00:01, 01:00:5e:00:00:02, 01:00:5e:00:00:fb, 01:00:5e:7f:ff:fa");
    }

    #[test]
    fn unwanted_counts_and_lists_what_the_hash_lets_through() {
        let mut set: FilterSet<4> = FilterSet::new(LAN9118, OverflowPolicy::Hash).unwrap();
        set.add_group(g("239.1.2.3")).unwrap();
        // Bins 31 and 57: 2 * 2^17 MACs pass, 2 of them wanted.
        assert_eq!(set.unwanted_ipv4_macs(), 2 * 131_072 - 2);
        let candidates = [g("239.2.0.253"), g("239.9.9.1"), g("239.1.2.3"), g("224.0.0.1"), g("225.1.2.3")];
        let unwanted: std::vec::Vec<_> = set.unwanted(candidates).collect();
        // 239.2.0.253 maps to 01:00:5e:02:00:fd (bin 57); 225.1.2.3 shares 239.1.2.3's MAC,
        // so it is wanted by the MAC filter; 239.9.9.1 is bin 7, clear.
        assert_eq!(unwanted, [g("239.2.0.253")]);
    }

    /// Differential check of the bookkeeping against a plain model, over random
    /// operations: MAC counts, bin counts, slot stability and the program.
    #[test]
    fn random_operations_keep_counts_and_program_consistent() {
        let mut rng = 0x0123_4567_89ab_cdefu64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let rounds = if cfg!(miri) { 10 } else { 20_000 };
        for caps in [DWMAC, LAN9118, SLOTS_ONLY, ENET] {
            for policy in [OverflowPolicy::Reject, OverflowPolicy::Hash, OverflowPolicy::AllMulticast] {
                let Ok(mut set) = FilterSet::<6>::new(caps, policy) else { continue };
                let mut model: std::collections::BTreeMap<MacAddr, u16> = Default::default();
                let mut last = set.program();
                for _ in 0..rounds {
                    let r = next();
                    // 12 candidate MACs, so bins and slots get shared and reused.
                    let m = MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, (r % 12) as u8 + 2]);
                    let before = snapshot(&set);
                    if r >> 32 & 1 == 0 {
                        match set.add(m) {
                            Ok(new) => {
                                let c = model.entry(m).or_insert(0);
                                assert_eq!(new, *c == 0);
                                *c += 1;
                            }
                            Err(e) => {
                                assert!(matches!(e, FilterError::Full | FilterError::NoSlot), "{e:?}");
                                assert!(!model.contains_key(&m));
                                assert_eq!(snapshot(&set), before);
                            }
                        }
                    } else {
                        match set.remove(m) {
                            Ok(gone) => {
                                let c = model.get_mut(&m).expect("removed a MAC the model lacks");
                                *c -= 1;
                                assert_eq!(gone, *c == 0);
                                if *c == 0 {
                                    model.remove(&m);
                                }
                            }
                            Err(e) => {
                                assert_eq!(e, FilterError::NotPresent);
                                assert!(!model.contains_key(&m));
                                assert_eq!(snapshot(&set), before);
                            }
                        }
                    }
                    // The set holds exactly the model's MACs with its counts.
                    assert_eq!(set.len(), model.len() + 1);
                    for (m, c) in &model {
                        assert_eq!(set.refs(*m), *c);
                    }
                    // Every wanted MAC passes the program; a MAC that stays keeps its slot.
                    let p = set.program();
                    assert!(p.fits(&caps));
                    for m in set.macs() {
                        assert!(p.passes(m), "{m} dropped with {caps:?} {policy:?}");
                        if let Some(old) = last.exact().iter().position(|s| *s == Some(m)) {
                            assert_eq!(p.exact()[old], Some(m), "{m} moved slot");
                        }
                    }
                    // The bin counts equal the hashed MACs per bin.
                    if let Some(scheme) = caps.hash {
                        let mut bins = [0u16; 64];
                        for m in set.macs().filter(|m| !p.exact().contains(&Some(*m))) {
                            if policy == OverflowPolicy::Hash {
                                bins[usize::from(scheme.bin(m))] += 1;
                            }
                        }
                        for b in 0..64u8 {
                            assert_eq!(set.bin_count(b), bins[usize::from(b)], "bin {b}");
                        }
                    }
                    last = p;
                }
            }
        }
    }
}
