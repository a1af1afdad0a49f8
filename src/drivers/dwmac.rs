//! The STM32 Ethernet MAC multicast filter: Synopsys DWMAC 3.x on the STM32 F4/F7
//! ([`Layout::Stm32F4`]) and DWC EQOS on the STM32 H7 ([`Layout::Stm32H7`]).
//!
//! Registers, as offsets from the ETH block's base (0x4002_8000 on F4/F7/H7), from the
//! reference manuals (RM0090 §33.8, RM0433 §58.11) and Linux stmmac `dwmac1000.h`,
//! `dwmac4.h`:
//!
//! | | F4/F7 | H7 |
//! |---|---|---|
//! | frame filter | MACFFR 0x04 | MACPFR 0x08 |
//! | hash bins 0–31 | MACHTLR 0x0C | MACHT0R 0x10 |
//! | hash bins 32–63 | MACHTHR 0x08 | MACHT1R 0x14 |
//! | address *n* high / low (n = 1..3) | 0x40 + 8n / 0x44 + 8n | 0x300 + 8n / 0x304 + 8n |
//!
//! Filter register bits, the same on both: PM/PR (0, promiscuous), HU/HUC (1, hash
//! unicast), HM/HMC (2, hash multicast), DAIF (3, inverse), PAM/PM (4, pass all
//! multicast), BFD/DBF (5, no broadcast), HPF (10, hash *or* perfect), RA (31, receive
//! all). Address-high registers: AE (31, enable), SA (30, source), MBC (29:24, byte
//! mask), address bytes 4–5 in 15:0; the low register holds bytes 0–3, byte 0 lowest.
//!
//! The three address filters MACA1–MACA3 are the exact slots (MACA0 is the station
//! address and is left alone). With HM set and HPF clear the chip would check multicast
//! against the hash *only*, ignoring the slots; so the driver sets HPF whenever it sets
//! HM, and never clears HPF. It clears PM/PR, DAIF and BFD/DBF (promiscuous, inverse,
//! no-broadcast), and keeps every other bit, RA included: receive-all still reports the
//! filter verdict in the frame status.

use super::Registers;
use crate::MacAddr;
use crate::filter::{Capabilities, FilterError, HashScheme, MulticastFilter, Program};

/// Filter register bit: promiscuous (F4 PM, H7 PR).
pub const FILTER_PROMISCUOUS: u32 = 1 << 0;
/// Filter register bit: hash multicast (F4 HM, H7 HMC).
pub const FILTER_HASH_MULTICAST: u32 = 1 << 2;
/// Filter register bit: destination address inverse filtering (DAIF).
pub const FILTER_INVERSE: u32 = 1 << 3;
/// Filter register bit: pass all multicast (F4 PAM, H7 PM).
pub const FILTER_PASS_ALL_MULTICAST: u32 = 1 << 4;
/// Filter register bit: broadcast frames disable (F4 BFD, H7 DBF).
pub const FILTER_NO_BROADCAST: u32 = 1 << 5;
/// Filter register bit: hash or perfect filter (HPF).
pub const FILTER_HASH_OR_PERFECT: u32 = 1 << 10;
/// Address high register bit: address enable (AE).
pub const ADDRESS_ENABLE: u32 = 1 << 31;

/// Exact slots: MACA1, MACA2, MACA3.
pub const SLOTS: usize = 3;

/// What the chip can do.
pub const CAPABILITIES: Capabilities =
    Capabilities { exact_slots: SLOTS as u8, hash: Some(HashScheme::Dwmac), pass_all_multicast: true };

/// Which register layout the MAC has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Layout {
    /// STM32 F4 and F7 (Synopsys DWMAC 3.x, "MAC 10/100").
    Stm32F4,
    /// STM32 H7 (Synopsys DWC Ethernet QoS 4.x).
    Stm32H7,
}

impl Layout {
    /// The frame filter register: MACFFR or MACPFR.
    pub const fn filter(self) -> u32 {
        match self {
            Layout::Stm32F4 => 0x04,
            Layout::Stm32H7 => 0x08,
        }
    }

    /// The hash register for bins 0–31 (`0`) or 32–63 (`1`).
    pub const fn hash(self, register: u8) -> u32 {
        match (self, register) {
            (Layout::Stm32F4, 0) => 0x0C,
            (Layout::Stm32F4, _) => 0x08,
            (Layout::Stm32H7, 0) => 0x10,
            (Layout::Stm32H7, _) => 0x14,
        }
    }

    /// The high register of address filter `n` (1..=3 for the exact slots).
    pub const fn address_high(self, n: u32) -> u32 {
        match self {
            Layout::Stm32F4 => 0x40 + 8 * n,
            Layout::Stm32H7 => 0x300 + 8 * n,
        }
    }

    /// The low register of address filter `n`.
    pub const fn address_low(self, n: u32) -> u32 {
        self.address_high(n) + 4
    }
}

/// The STM32 Ethernet MAC's multicast filter over its registers (see the
/// [module docs](self)). Register writes take effect at once: [`apply`] never returns
/// `WouldBlock`.
///
/// [`apply`]: MulticastFilter::apply
#[derive(Debug)]
pub struct Dwmac<R> {
    regs: R,
    layout: Layout,
}

/// One exact slot's (high, low) register values.
type Slot = (u32, u32);

const fn slot_of(mac: Option<MacAddr>) -> Slot {
    match mac {
        Some(MacAddr(m)) => {
            (ADDRESS_ENABLE | (m[5] as u32) << 8 | m[4] as u32, u32::from_le_bytes([m[0], m[1], m[2], m[3]]))
        }
        None => (0, 0),
    }
}

/// The MAC an enabled destination slot matches, if it is one.
fn mac_of((high, low): Slot) -> Option<MacAddr> {
    // A source-address slot (SA) or one with masked bytes (MBC) is not an exact
    // destination entry this driver wrote; it is treated as holding no MAC.
    if high & ADDRESS_ENABLE == 0 || high & 0x7f00_0000 != 0 {
        return None;
    }
    let [a, b, c, d] = low.to_le_bytes();
    Some(MacAddr([a, b, c, d, high as u8, (high >> 8) as u8]))
}

impl<R: Registers> Dwmac<R> {
    /// The filter of the MAC behind `regs` (offsets from the ETH base), with the given
    /// register layout. It touches nothing until [`apply`](MulticastFilter::apply).
    pub const fn new(regs: R, layout: Layout) -> Dwmac<R> {
        Dwmac { regs, layout }
    }

    /// The register layout.
    pub const fn layout(&self) -> Layout {
        self.layout
    }

    /// Gives the registers back.
    pub fn release(self) -> R {
        self.regs
    }

    fn read_slot(&mut self, n: usize) -> Slot {
        let n = n as u32 + 1;
        (self.regs.read(self.layout.address_high(n)), self.regs.read(self.layout.address_low(n)))
    }

    /// Writes a slot high register first, then low: the address takes effect when the
    /// low half is written (Linux `stmmac_set_mac_addr` does the same).
    fn write_slot(&mut self, n: usize, (high, low): Slot) {
        let n = n as u32 + 1;
        self.regs.write(self.layout.address_high(n), high);
        self.regs.write(self.layout.address_low(n), low);
    }

    fn write_if_changed(&mut self, offset: u32, old: u32, new: u32) {
        if old != new {
            self.regs.write(offset, new);
        }
    }
}

impl<R: Registers> MulticastFilter for Dwmac<R> {
    type Error = FilterError;

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    /// Applies in five phases, each write only where the value changes:
    ///
    /// 1. filter register widened: pass-all on if the program wants it (or if a wanted
    ///    MAC moves between slots, see below), HM and HPF on if the program uses the
    ///    hash, broadcast-disable off;
    /// 2. hash registers set to old | new;
    /// 3. changed slots rewritten, high then low;
    /// 4. hash registers set to new;
    /// 5. filter register final: pass-all, HM, promiscuous and inverse as the program
    ///    says.
    ///
    /// A [`FilterSet`](crate::filter::FilterSet) never moves a MAC between slots, but a
    /// hand-made program may: then pass-all is held on from phase 1 to 5, so the MAC
    /// passes while its old slot is overwritten before its new one is written.
    fn apply(&mut self, program: &Program) -> nb::Result<(), FilterError> {
        if !program.fits(&CAPABILITIES) {
            return Err(nb::Error::Other(FilterError::Incompatible));
        }
        let layout = self.layout;
        let mut new_slots = [(0, 0); SLOTS];
        for (slot, mac) in new_slots.iter_mut().zip(program.exact()) {
            *slot = slot_of(*mac);
        }
        let new_hash = [program.hash_register(0), program.hash_register(1)];

        let old_filter = self.regs.read(layout.filter());
        let old_hash = [self.regs.read(layout.hash(0)), self.regs.read(layout.hash(1))];
        let mut old_slots = [(0, 0); SLOTS];
        for (n, slot) in old_slots.iter_mut().enumerate() {
            *slot = self.read_slot(n);
        }

        // A MAC leaving one slot for another is dropped between the two writes unless
        // pass-all covers it.
        let moves = (0..SLOTS).any(|n| {
            old_slots[n] != new_slots[n]
                && mac_of(old_slots[n]).is_some_and(|m| new_slots.iter().any(|s| mac_of(*s) == Some(m)))
        });
        let uses_hash = new_hash != [0, 0];
        let pass_all = program.pass_all_multicast();

        let mut wide = old_filter & !FILTER_NO_BROADCAST;
        if pass_all || moves {
            wide |= FILTER_PASS_ALL_MULTICAST;
        }
        if uses_hash {
            wide |= FILTER_HASH_MULTICAST | FILTER_HASH_OR_PERFECT;
        }
        self.write_if_changed(layout.filter(), old_filter, wide);

        for r in 0..2 {
            self.write_if_changed(layout.hash(r as u8), old_hash[r], old_hash[r] | new_hash[r]);
        }
        for n in 0..SLOTS {
            if old_slots[n] != new_slots[n] {
                self.write_slot(n, new_slots[n]);
            }
        }
        for r in 0..2 {
            self.write_if_changed(layout.hash(r as u8), old_hash[r] | new_hash[r], new_hash[r]);
        }

        let mut last = wide & !(FILTER_PROMISCUOUS | FILTER_INVERSE);
        if !pass_all {
            last &= !FILTER_PASS_ALL_MULTICAST;
        }
        if !uses_hash {
            last &= !FILTER_HASH_MULTICAST;
        }
        self.write_if_changed(layout.filter(), wide, last);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GroupAddr;
    use crate::filter::{FilterSet, OverflowPolicy};

    /// A register file that records every write, with the whole file after it.
    #[derive(Debug, Clone)]
    struct Fake {
        regs: Vec<u32>,
        writes: Vec<(u32, u32, Vec<u32>)>,
    }

    impl Fake {
        fn new() -> Fake {
            Fake { regs: vec![0; 0x400 / 4], writes: Vec::new() }
        }

        fn get(&self, offset: u32) -> u32 {
            self.regs[offset as usize / 4]
        }
    }

    impl Registers for Fake {
        fn read(&mut self, offset: u32) -> u32 {
            self.get(offset)
        }

        fn write(&mut self, offset: u32, value: u32) {
            self.regs[offset as usize / 4] = value;
            self.writes.push((offset, value, self.regs.clone()));
        }
    }

    /// The STM32 F4 reference manual's destination filter for a multicast frame, given
    /// the frame's hash bin: PM or PAM pass everything; with HM, HPF makes it slot OR
    /// hash, otherwise hash only; without HM, slots only.
    fn passes(layout: Layout, regs: &[u32], mac: MacAddr, bin: u8) -> bool {
        let reg = |offset: u32| regs[offset as usize / 4];
        let filter = reg(layout.filter());
        if filter & (FILTER_PROMISCUOUS | FILTER_PASS_ALL_MULTICAST) != 0 {
            return true;
        }
        let perfect = (1..=3).any(|n| {
            let high = reg(layout.address_high(n));
            let low = reg(layout.address_low(n));
            let m = mac.0;
            high & ADDRESS_ENABLE != 0
                && low == u32::from_le_bytes([m[0], m[1], m[2], m[3]])
                && high & 0xffff == u32::from(m[4]) | u32::from(m[5]) << 8
        });
        let hash = reg(layout.hash(bin >> 5)) >> (bin & 31) & 1 != 0;
        let verdict = if filter & FILTER_HASH_MULTICAST != 0 {
            if filter & FILTER_HASH_OR_PERFECT != 0 { perfect || hash } else { hash }
        } else {
            perfect
        };
        verdict != (filter & FILTER_INVERSE != 0)
    }

    /// The reference table's DWMAC column.
    fn bin_of(group: &str) -> u8 {
        match group {
            "224.0.0.1" => 32,
            "224.0.0.251" => 48,
            "239.255.255.250" => 20,
            "224.0.0.2" => 55,
            "224.0.0.22" => 24,
            _ => panic!("no reference bin for {group}"),
        }
    }

    fn g(s: &str) -> GroupAddr {
        s.parse().unwrap()
    }

    fn set() -> FilterSet<8> {
        FilterSet::new(CAPABILITIES, OverflowPolicy::Hash).unwrap()
    }

    /// Applies `new` over `old` and checks, after every write, that each group both want
    /// still passes; returns the writes of the second application.
    fn transition(layout: Layout, old: &Program, new: &Program, staying: &[&str]) -> Vec<(u32, u32, Vec<u32>)> {
        let mut nic = Dwmac::new(Fake::new(), layout);
        nic.apply(old).unwrap();
        let start = nic.regs.writes.len();
        nic.apply(new).unwrap();
        let writes = nic.release().writes.split_off(start);
        for (offset, value, regs) in &writes {
            for s in staying {
                assert!(
                    passes(layout, regs, g(s).to_mac(), bin_of(s)),
                    "{layout:?}: {s} dropped after writing {value:#010x} to {offset:#x}"
                );
            }
        }
        writes
    }

    const ALL_SYSTEMS_HIGH: u32 = ADDRESS_ENABLE | 0x0100; // bytes 4, 5 = 00, 01
    const MAC_LOW: u32 = 0x005e_0001; // bytes 0..3 = 01 00 5e 00

    #[test]
    fn first_program_fills_slot_one_with_all_systems() {
        for (layout, ffr, hr, lr) in [(Layout::Stm32F4, 0x04, 0x48, 0x4C), (Layout::Stm32H7, 0x08, 0x308, 0x30C)] {
            let mut nic = Dwmac::new(Fake::new(), layout);
            assert_eq!(nic.capabilities(), CAPABILITIES);
            nic.apply(&set().program()).unwrap();
            let fake = nic.release();
            assert_eq!(fake.get(hr), ALL_SYSTEMS_HIGH);
            assert_eq!(fake.get(lr), MAC_LOW);
            assert_eq!(fake.get(ffr), 0, "no hash, no pass-all");
            let order: Vec<u32> = fake.writes.iter().map(|w| w.0).collect();
            assert_eq!(order, [hr, lr], "{layout:?}");
        }
    }

    #[test]
    fn overflow_into_the_hash_sets_hm_and_hpf() {
        // Slots: 224.0.0.1, 224.0.0.251, 239.255.255.250; hash: 224.0.0.2 (bin 55) and
        // 224.0.0.22 (bin 24).
        let mut s = set();
        for group in ["224.0.0.251", "239.255.255.250", "224.0.0.2", "224.0.0.22"] {
            s.add_group(g(group)).unwrap();
        }
        for layout in [Layout::Stm32F4, Layout::Stm32H7] {
            let mut nic = Dwmac::new(Fake::new(), layout);
            nic.apply(&s.program()).unwrap();
            let fake = nic.release();
            let (lo, hi) = (layout.hash(0), layout.hash(1));
            assert_eq!(fake.get(lo), 1 << 24);
            assert_eq!(fake.get(hi), 1 << (55 - 32));
            assert_eq!(fake.get(layout.filter()), FILTER_HASH_MULTICAST | FILTER_HASH_OR_PERFECT);
            // MACA2 holds 01:00:5e:00:00:fb, MACA3 01:00:5e:7f:ff:fa.
            assert_eq!(fake.get(layout.address_high(2)), ADDRESS_ENABLE | 0xfb00);
            assert_eq!(fake.get(layout.address_low(2)), 0x005e_0001);
            assert_eq!(fake.get(layout.address_high(3)), ADDRESS_ENABLE | 0xfaff);
            assert_eq!(fake.get(layout.address_low(3)), 0x7f5e_0001);
            for group in ["224.0.0.1", "224.0.0.251", "239.255.255.250", "224.0.0.2", "224.0.0.22"] {
                assert!(passes(layout, &fake.regs, g(group).to_mac(), bin_of(group)), "{group}");
            }
        }
    }

    #[test]
    fn promotion_from_hash_to_slot_never_drops_anything() {
        let mut s = set();
        for group in ["224.0.0.251", "239.255.255.250", "224.0.0.2", "224.0.0.22"] {
            s.add_group(g(group)).unwrap();
        }
        let before = s.program();
        // mDNS leaves: 224.0.0.2 moves from bin 55 into MACA2.
        s.remove_group(g("224.0.0.251")).unwrap();
        let after = s.program();
        for layout in [Layout::Stm32F4, Layout::Stm32H7] {
            let writes =
                transition(layout, &before, &after, &["224.0.0.1", "239.255.255.250", "224.0.0.2", "224.0.0.22"]);
            let offsets: Vec<u32> = writes.iter().map(|w| w.0).collect();
            // The slot is written, then bin 55 cleared; HM stays (bin 24 still hashed).
            assert_eq!(offsets, [layout.address_high(2), layout.address_low(2), layout.hash(1)]);
            let last = &writes.last().unwrap().2;
            assert_eq!(last[layout.hash(1) as usize / 4], 0);
        }
    }

    #[test]
    fn leaving_the_hash_clears_bins_before_hm() {
        let mut s = set();
        for group in ["224.0.0.251", "239.255.255.250", "224.0.0.2"] {
            s.add_group(g(group)).unwrap();
        }
        let before = s.program();
        s.remove_group(g("224.0.0.2")).unwrap();
        let after = s.program();
        for layout in [Layout::Stm32F4, Layout::Stm32H7] {
            let writes = transition(layout, &before, &after, &["224.0.0.1", "224.0.0.251", "239.255.255.250"]);
            let offsets: Vec<u32> = writes.iter().map(|w| w.0).collect();
            assert_eq!(offsets, [layout.hash(1), layout.filter()]);
            // HPF stays set once set.
            assert_eq!(writes[1].1, FILTER_HASH_OR_PERFECT);
        }
    }

    #[test]
    fn pass_all_goes_on_first_and_off_last() {
        let mut s = set();
        s.add_group(g("224.0.0.251")).unwrap();
        let exact = s.program();
        s.set_all_multicast(true).unwrap();
        let all = s.program();
        for layout in [Layout::Stm32F4, Layout::Stm32H7] {
            let on = transition(layout, &exact, &all, &["224.0.0.1", "224.0.0.251"]);
            assert_eq!(on.len(), 1);
            assert_eq!((on[0].0, on[0].1), (layout.filter(), FILTER_PASS_ALL_MULTICAST));
            let off = transition(layout, &all, &exact, &["224.0.0.1", "224.0.0.251"]);
            assert_eq!(off.len(), 1);
            assert_eq!((off[0].0, off[0].1), (layout.filter(), 0));
        }
    }

    #[test]
    fn a_mac_moved_between_slots_is_covered_by_pass_all() {
        // Hand-made programs that swap two slots: a FilterSet never does this.
        let (a, b) = (g("224.0.0.251").to_mac(), g("239.255.255.250").to_mac());
        let mut old = Program::new(&CAPABILITIES);
        old.set_exact(0, Some(a)).unwrap();
        old.set_exact(1, Some(b)).unwrap();
        let mut new = Program::new(&CAPABILITIES);
        new.set_exact(0, Some(b)).unwrap();
        new.set_exact(1, Some(a)).unwrap();
        for layout in [Layout::Stm32F4, Layout::Stm32H7] {
            let writes = transition(layout, &old, &new, &["224.0.0.251", "239.255.255.250"]);
            let offsets: Vec<u32> = writes.iter().map(|w| w.0).collect();
            let (h1, l1, h2, l2) =
                (layout.address_high(1), layout.address_low(1), layout.address_high(2), layout.address_low(2));
            assert_eq!(offsets, [layout.filter(), h1, l1, h2, l2, layout.filter()]);
            assert_eq!(writes[0].1, FILTER_PASS_ALL_MULTICAST);
            assert_eq!(writes[5].1, 0);
        }
    }

    #[test]
    fn clears_promiscuous_inverse_and_no_broadcast_and_keeps_the_rest() {
        for layout in [Layout::Stm32F4, Layout::Stm32H7] {
            let mut fake = Fake::new();
            // RA (31), HU (1), SAF (9), PCF (7:6) are kept.
            let keep = 1 << 31 | 1 << 1 | 1 << 9 | 0b11 << 6;
            fake.regs[layout.filter() as usize / 4] = keep | FILTER_PROMISCUOUS | FILTER_INVERSE | FILTER_NO_BROADCAST;
            let mut nic = Dwmac::new(fake, layout);
            nic.apply(&set().program()).unwrap();
            assert_eq!(nic.release().get(layout.filter()), keep);
        }
    }

    #[test]
    fn applying_twice_writes_nothing_the_second_time() {
        let mut s = set();
        for group in ["224.0.0.251", "239.255.255.250", "224.0.0.2"] {
            s.add_group(g(group)).unwrap();
        }
        let p = s.program();
        for layout in [Layout::Stm32F4, Layout::Stm32H7] {
            let mut nic = Dwmac::new(Fake::new(), layout);
            nic.apply(&p).unwrap();
            let n = nic.regs.writes.len();
            let regs = nic.regs.regs.clone();
            nic.apply(&p).unwrap();
            assert_eq!(nic.regs.writes.len(), n);
            assert_eq!(nic.regs.regs, regs);
        }
    }

    #[test]
    fn an_emptied_slot_is_disabled() {
        let mut s = set();
        s.add_group(g("224.0.0.251")).unwrap();
        let before = s.program();
        s.remove_group(g("224.0.0.251")).unwrap();
        let writes = transition(Layout::Stm32F4, &before, &s.program(), &["224.0.0.1"]);
        let w: Vec<(u32, u32)> = writes.iter().map(|w| (w.0, w.1)).collect();
        assert_eq!(w, [(0x50, 0), (0x54, 0)]);
    }

    #[test]
    fn a_program_for_another_chip_is_refused_untouched() {
        let mut nic = Dwmac::new(Fake::new(), Layout::Stm32F4);
        let four = Capabilities { exact_slots: 4, ..CAPABILITIES };
        let mut p = Program::new(&four);
        p.set_exact(3, Some(g("224.0.0.251").to_mac())).unwrap();
        assert_eq!(nic.apply(&p), Err(nb::Error::Other(FilterError::Incompatible)));
        let lan = Capabilities { exact_slots: 0, hash: Some(HashScheme::Lan9118), pass_all_multicast: true };
        let mut p = Program::new(&lan);
        p.set_bin(1);
        assert_eq!(nic.apply(&p), Err(nb::Error::Other(FilterError::Incompatible)));
        assert!(nic.release().writes.is_empty());
    }

    #[test]
    fn layout_offsets() {
        assert_eq!(Layout::Stm32F4.filter(), 0x04);
        assert_eq!((Layout::Stm32F4.hash(0), Layout::Stm32F4.hash(1)), (0x0C, 0x08));
        assert_eq!((Layout::Stm32F4.address_high(1), Layout::Stm32F4.address_low(3)), (0x48, 0x5C));
        assert_eq!(Layout::Stm32H7.filter(), 0x08);
        assert_eq!((Layout::Stm32H7.hash(0), Layout::Stm32H7.hash(1)), (0x10, 0x14));
        assert_eq!((Layout::Stm32H7.address_high(1), Layout::Stm32H7.address_low(3)), (0x308, 0x31C));
    }

    #[test]
    fn foreign_slot_entries_are_not_taken_for_macs() {
        // A source-address entry (SA, bit 30) is not a destination MAC.
        assert_eq!(mac_of((ADDRESS_ENABLE | 1 << 30 | 0x0100, MAC_LOW)), None);
        assert_eq!(mac_of((0x0100, MAC_LOW)), None);
        assert_eq!(mac_of((ALL_SYSTEMS_HIGH, MAC_LOW)), Some(g("224.0.0.1").to_mac()));
    }
}
