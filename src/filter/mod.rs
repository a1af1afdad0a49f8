//! NIC multicast filters: what the interface wants ([`FilterSet`]), what the hardware
//! is told ([`Program`]), and the driver trait that tells it ([`MulticastFilter`]).
//!
//! A MAC filters multicast with a few exact-match slots, a 64-bin hash table
//! ([`HashScheme`]) and a pass-all-multicast bit, in some combination. The filter is
//! imperfect by design: a hash bin stands for 1/64 of all addresses, and 32 IPv4 groups
//! share each MAC. So the layers split the work:
//!
//! 1. the membership layer says which groups are joined;
//! 2. a [`FilterSet`] holds their MACs, reference-counted, and places each in an exact
//!    slot, the hash, or the pass-all fallback, following the user's [`OverflowPolicy`];
//! 3. [`FilterSet::program`] derives the [`Program`] a driver writes to the chip;
//! 4. received frames are checked in software with [`FilterSet::accepts`], which is
//!    exact, because the hardware may let more through
//!    ([`FilterSet::unwanted_ipv4_macs`] says how much more).
//!
//! ```
//! use mcast::filter::{Capabilities, FilterSet, HashScheme, OverflowPolicy};
//! use mcast::GroupAddr;
//!
//! // A LAN9118: no exact slot besides its own address, a 64-bin hash, a pass-all bit.
//! let caps = Capabilities::new(0, Some(HashScheme::Lan9118), true);
//! let mut set: FilterSet<8> = FilterSet::new(caps, OverflowPolicy::Hash)?;
//! let group: GroupAddr = "239.1.2.3".parse()?;
//! assert_eq!(set.add_group(group), Ok(true));
//!
//! let program = set.program();
//! // 224.0.0.1 (bin 31, always there) and 239.1.2.3 (bin 57): HASHL bit 31, HASHH bit 25.
//! assert_eq!(program.hash(), 1 << 31 | 1 << 57);
//! assert_eq!(program.hash_register(0), 0x8000_0000); // HASHL
//! assert_eq!(program.hash_register(1), 0x0200_0000); // HASHH
//! assert!(!program.pass_all_multicast());
//!
//! // 01:00:5e:02:00:fd shares bin 57: the NIC passes it, software drops it.
//! let neighbour = mcast::MacAddr([0x01, 0x00, 0x5e, 0x02, 0x00, 0xfd]);
//! assert!(program.passes(neighbour));
//! assert!(!set.accepts(neighbour));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod hash;
mod set;

use core::fmt;

pub use hash::{BitLocation, HashScheme, crc32, crc32_be, crc32_le};
pub use set::{FilterSet, Macs, OverflowPolicy, Unwanted};

use crate::addr::{GroupAddr, MacAddr};

/// The most exact-match slots a [`Program`] carries. Chips with more (some DWMAC
/// configurations have 31 or 127) use the first 16; the rest of their slots stay empty.
pub const MAX_EXACT_SLOTS: usize = 16;

/// How many MACs IPv4 multicast groups map to: 01:00:5e:00:00:00 to 01:00:5e:7f:ff:ff.
pub const IPV4_MULTICAST_MACS: u32 = 1 << 23;

/// How many of the [`IPV4_MULTICAST_MACS`] fall in each hash bin, for every
/// [`HashScheme`]: 2^23 / 64.
pub const IPV4_MACS_PER_BIN: u32 = IPV4_MULTICAST_MACS / 64;

/// The MAC of 224.0.0.1, all systems: always in every program, or queries never arrive.
pub const ALL_SYSTEMS_MAC: MacAddr = GroupAddr::ALL_SYSTEMS.to_mac();

/// What a NIC's multicast filter can do, as its driver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Capabilities {
    /// Exact-match slots for multicast MACs, not counting the one that holds the
    /// station's own address. At most [`MAX_EXACT_SLOTS`] are used.
    pub exact_slots: u8,
    /// The 64-bin hash table, if the chip has one.
    pub hash: Option<HashScheme>,
    /// Whether the chip has a bit that passes every multicast frame.
    pub pass_all_multicast: bool,
}

impl Capabilities {
    /// A chip with `exact_slots` exact-match slots for multicast MACs (not counting the
    /// station address's), the 64-bin `hash` table if it has one, and a pass-all bit if
    /// `pass_all_multicast`.
    pub const fn new(exact_slots: u8, hash: Option<HashScheme>, pass_all_multicast: bool) -> Capabilities {
        Capabilities { exact_slots, hash, pass_all_multicast }
    }

    /// The exact slots a program for this chip has: `exact_slots`, at most
    /// [`MAX_EXACT_SLOTS`].
    pub const fn usable_slots(&self) -> usize {
        let slots = self.exact_slots as usize;
        if slots < MAX_EXACT_SLOTS { slots } else { MAX_EXACT_SLOTS }
    }

    /// Whether the chip can pass every multicast frame, with its pass-all bit or with a
    /// hash table whose 64 bins are all set.
    pub const fn can_pass_all(&self) -> bool {
        self.pass_all_multicast || self.hash.is_some()
    }
}

/// Why a filter operation was refused. Whatever the error, nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FilterError {
    /// The set holds as many MACs as its capacity `N` (the WSAENOBUFS case).
    Full,
    /// Every exact slot is taken and the overflow policy is
    /// [`OverflowPolicy::Reject`].
    NoSlot,
    /// `remove` of a MAC that was not added (or added fewer times).
    NotPresent,
    /// The MAC is unicast or broadcast: only multicast MACs are filtered (broadcast is
    /// always accepted).
    NotMulticast,
    /// One MAC was added 65535 times without a remove.
    TooManyRefs,
    /// The chip cannot do what was asked: the overflow policy needs a hash table or a
    /// pass-all bit it lacks, or it cannot receive 224.0.0.1 at all.
    Unsupported,
    /// A program does not fit the chip it was given to: more exact MACs than slots, a
    /// hash for another scheme, or pass-all on a chip without the bit.
    Incompatible,
    /// An exact-slot index past the program's slots.
    NoSuchSlot,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FilterError::Full => "filter set full",
            FilterError::NoSlot => "no exact filter slot left",
            FilterError::NotPresent => "MAC not in the filter set",
            FilterError::NotMulticast => "not a multicast MAC",
            FilterError::TooManyRefs => "MAC added too many times",
            FilterError::Unsupported => "the NIC cannot filter this way",
            FilterError::Incompatible => "program does not fit this NIC",
            FilterError::NoSuchSlot => "no such exact slot",
        })
    }
}

impl core::error::Error for FilterError {}

/// An error of a [`MulticastFilter`] driver, as its caller sees it: whatever the chip or
/// bus, [`kind`](DriverError::kind) says whether to retry.
///
/// Implement it for the driver's error type; a driver that cannot fail uses
/// [`core::convert::Infallible`].
pub trait DriverError: fmt::Debug {
    /// What kind of failure this is.
    fn kind(&self) -> DriverErrorKind;
}

/// What kind of failure a [`DriverError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DriverErrorKind {
    /// The chip cannot do what was asked (a program that does not fit it). The hardware
    /// was left alone; the same program will fail again.
    Unsupported,
    /// Talking to the chip failed (an SPI or bus error). The hardware may hold part of
    /// the program; applying it again may succeed.
    Bus,
    /// Anything else.
    Other,
}

impl fmt::Display for DriverErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DriverErrorKind::Unsupported => "the NIC cannot do what was asked",
            DriverErrorKind::Bus => "the bus to the NIC failed",
            DriverErrorKind::Other => "NIC driver error",
        })
    }
}

impl DriverError for FilterError {
    fn kind(&self) -> DriverErrorKind {
        match self {
            FilterError::Unsupported | FilterError::Incompatible | FilterError::NoSlot | FilterError::NoSuchSlot => {
                DriverErrorKind::Unsupported
            }
            FilterError::Full | FilterError::NotPresent | FilterError::NotMulticast | FilterError::TooManyRefs => {
                DriverErrorKind::Other
            }
        }
    }
}

impl DriverError for core::convert::Infallible {
    fn kind(&self) -> DriverErrorKind {
        match *self {}
    }
}

/// What a NIC's multicast filter should be: exact MACs per slot, the 64-bin hash, and
/// the pass-all bit. The station address and broadcast are not in it: drivers always
/// keep them.
///
/// Made by [`FilterSet::program`]; drivers and tests may also build one by hand with
/// [`Program::new`] and the setters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Program {
    exact: [Option<MacAddr>; MAX_EXACT_SLOTS],
    slots: u8,
    hash: u64,
    scheme: Option<HashScheme>,
    pass_all_multicast: bool,
}

impl Program {
    /// An empty program for a chip with these capabilities: every slot empty, no bin
    /// set (except [`HashScheme::required_bins`]), pass-all off.
    pub const fn new(caps: &Capabilities) -> Program {
        Program {
            exact: [None; MAX_EXACT_SLOTS],
            slots: caps.usable_slots() as u8,
            hash: match caps.hash {
                Some(scheme) => scheme.required_bins(),
                None => 0,
            },
            scheme: caps.hash,
            pass_all_multicast: false,
        }
    }

    /// The exact slots, in the chip's slot order: slot `i` holds `exact()[i]`, `None`
    /// when empty. As long as the chip's slot count (at most [`MAX_EXACT_SLOTS`]).
    pub fn exact(&self) -> &[Option<MacAddr>] {
        let n = usize::from(self.slots).min(MAX_EXACT_SLOTS);
        &self.exact[..n]
    }

    /// The MACs in exact slots, in slot order, without the empty slots.
    pub fn exact_macs(&self) -> impl Iterator<Item = MacAddr> + '_ {
        self.exact().iter().flatten().copied()
    }

    /// Puts `mac` in exact slot `slot` (or empties it).
    pub fn set_exact(&mut self, slot: usize, mac: Option<MacAddr>) -> Result<(), FilterError> {
        let n = self.exact().len();
        match self.exact.get_mut(slot) {
            Some(entry) if slot < n => {
                *entry = mac;
                Ok(())
            }
            _ => Err(FilterError::NoSuchSlot),
        }
    }

    /// The hash scheme the bins are for, if the chip has a hash table.
    pub const fn scheme(&self) -> Option<HashScheme> {
        self.scheme
    }

    /// The 64 bins, bit `b` for bin `b`. Zero when the chip has no hash table.
    pub const fn hash(&self) -> u64 {
        self.hash
    }

    /// Sets the 64 bins. Ignored when the chip has no hash table.
    pub fn set_hash(&mut self, bins: u64) {
        if self.scheme.is_some() {
            self.hash = bins;
        }
    }

    /// Sets one bin (taken modulo 64). Ignored when the chip has no hash table.
    pub fn set_bin(&mut self, bin: u8) {
        if self.scheme.is_some() {
            self.hash |= 1 << (bin & 0x3f);
        }
    }

    /// The bins as two 32-bit words, bins 0–31 then 32–63.
    pub const fn hash_words(&self) -> [u32; 2] {
        [self.hash as u32, (self.hash >> 32) as u32]
    }

    /// The value of the chip's hash register `register` (see
    /// [`HashScheme::register_value`]); zero without a hash table.
    pub const fn hash_register(&self, register: u8) -> u32 {
        match self.scheme {
            Some(scheme) => scheme.register_value(self.hash, register),
            None => 0,
        }
    }

    /// Whether the chip's pass-all-multicast bit is to be set.
    pub const fn pass_all_multicast(&self) -> bool {
        self.pass_all_multicast
    }

    /// Sets or clears the pass-all-multicast bit.
    pub fn set_pass_all_multicast(&mut self, on: bool) {
        self.pass_all_multicast = on;
    }

    /// Whether this program fits a chip with capabilities `caps`: no MAC in a slot it
    /// lacks, bins only for its hash scheme, pass-all only if it has the bit.
    pub fn fits(&self, caps: &Capabilities) -> bool {
        let slots_fit = self.exact().iter().skip(caps.usable_slots()).all(Option::is_none);
        let hash_fits = self.hash == 0 || (self.scheme.is_some() && self.scheme == caps.hash);
        slots_fit && hash_fits && (!self.pass_all_multicast || caps.pass_all_multicast)
    }

    /// Whether a chip running this program passes a frame for `mac`: broadcast always;
    /// multicast if pass-all is on, if `mac` is in an exact slot, or if its hash bin is
    /// set. Unicast frames other than the station's own are not the program's business:
    /// `false`.
    pub fn passes(&self, mac: MacAddr) -> bool {
        if mac.is_broadcast() {
            return true;
        }
        if !mac.is_multicast() {
            return false;
        }
        self.pass_all_multicast || self.exact_macs().any(|m| m == mac) || self.hash_passes(mac)
    }

    fn hash_passes(&self, mac: MacAddr) -> bool {
        match self.scheme {
            Some(scheme) => self.hash & (1 << scheme.bin(mac)) != 0,
            None => false,
        }
    }

    /// How many of the 2^23 IPv4 multicast MACs the chip passes with this program,
    /// exactly: all of them with pass-all; otherwise 2^17 per set bin (every scheme
    /// spreads the IPv4 MACs evenly over its bins) plus the exact-slot MACs whose bin
    /// is clear. Multiply by 32 for groups.
    pub fn ipv4_macs_passing(&self) -> u32 {
        if self.pass_all_multicast {
            return IPV4_MULTICAST_MACS;
        }
        let bins = if self.scheme.is_some() { self.hash.count_ones() } else { 0 };
        let exact = self.exact();
        let mut extra = 0;
        for (i, mac) in exact.iter().enumerate() {
            let Some(mac) = *mac else { continue };
            // Count each distinct IPv4 MAC the hash does not already pass, once.
            let duplicate = exact[..i].contains(&Some(mac));
            if mac.is_ipv4_multicast() && !duplicate && !self.hash_passes(mac) {
                extra += 1;
            }
        }
        bins * IPV4_MACS_PER_BIN + extra
    }
}

/// A NIC driver's side of multicast filtering: what the hardware can do, and how to make
/// it accept what a [`Program`] says.
///
/// A new NIC needs only this trait; docs/PORTING.md shows how, with a worked example.
pub trait MulticastFilter {
    /// What can go wrong: a program that does not fit the chip
    /// ([`FilterError::Incompatible`]), or a failure of the bus to it. Its
    /// [`kind`](DriverError::kind) tells the two apart.
    type Error: DriverError;

    /// What the hardware can do: exact slots, hash scheme, pass-all bit. Constant for a
    /// given chip.
    fn capabilities(&self) -> Capabilities;

    /// Programs the hardware to accept exactly what `program` says, plus its own MAC and
    /// broadcast.
    ///
    /// The contract every implementation keeps:
    ///
    /// - **Non-blocking.** While the chip is busy, return `Err(nb::Error::WouldBlock)`
    ///   at once instead of waiting. The caller retries with the same program (with
    ///   `nb::block!` or from its poll loop) until `Ok(())`. A retry resumes where the
    ///   last call stopped; a different program starts over from the hardware's
    ///   current state.
    /// - **Idempotent.** Applying the same program twice leaves the hardware as applying
    ///   it once did.
    /// - **No drop of what stays.** At no moment between the call and `Ok(())` does the
    ///   hardware reject a MAC that both the old and the new program accept. New hash
    ///   bins and exact entries are set before old ones are cleared; pass-all is turned
    ///   on before anything else changes and turned off only after the hash and slots
    ///   are in place. A write that both sets and clears bits of one register is fine:
    ///   the bits that stay set never clear.
    /// - **Station MAC and broadcast always pass.** The driver never programs a state
    ///   that drops them (it clears broadcast-disable, inverse and hash-only modes).
    /// - **Checks fit.** A program that does not [fit](Program::fits) the capabilities
    ///   is refused with an error and the hardware is left alone.
    fn apply(&mut self, program: &Program) -> nb::Result<(), Self::Error>;
}

impl<F: MulticastFilter + ?Sized> MulticastFilter for &mut F {
    type Error = F::Error;

    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }

    fn apply(&mut self, program: &Program) -> nb::Result<(), Self::Error> {
        (**self).apply(program)
    }
}

/// docs/PORTING.md's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../docs/PORTING.md")]
pub struct PortingDoctests;

#[cfg(test)]
mod tests {
    use super::*;

    const LAN9118: Capabilities =
        Capabilities { exact_slots: 0, hash: Some(HashScheme::Lan9118), pass_all_multicast: true };
    const DWMAC: Capabilities =
        Capabilities { exact_slots: 3, hash: Some(HashScheme::Dwmac), pass_all_multicast: true };

    fn mac(last3: [u8; 3]) -> MacAddr {
        MacAddr([0x01, 0x00, 0x5e, last3[0], last3[1], last3[2]])
    }

    #[test]
    fn all_systems_mac_is_the_mapped_224_0_0_1() {
        assert_eq!(ALL_SYSTEMS_MAC, MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]));
    }

    #[test]
    fn usable_slots_are_capped() {
        let caps = Capabilities { exact_slots: 200, hash: None, pass_all_multicast: false };
        assert_eq!(caps.usable_slots(), 16);
        assert_eq!(Program::new(&caps).exact().len(), 16);
        assert_eq!(Program::new(&DWMAC).exact().len(), 3);
        assert_eq!(Program::new(&LAN9118).exact().len(), 0);
    }

    #[test]
    fn set_exact_checks_the_slot_index() {
        let mut p = Program::new(&DWMAC);
        assert_eq!(p.set_exact(2, Some(mac([0, 0, 1]))), Ok(()));
        assert_eq!(p.set_exact(3, Some(mac([0, 0, 2]))), Err(FilterError::NoSuchSlot));
        assert_eq!(p.set_exact(usize::MAX, None), Err(FilterError::NoSuchSlot));
        assert_eq!(p.exact(), &[None, None, Some(mac([0, 0, 1]))]);
        assert_eq!(p.exact_macs().collect::<Vec<_>>(), [mac([0, 0, 1])]);
    }

    #[test]
    fn hash_words_and_registers() {
        let mut p = Program::new(&LAN9118);
        p.set_bin(31);
        p.set_bin(57);
        p.set_bin(64 + 7); // wraps to bin 7
        assert_eq!(p.hash(), 1 << 7 | 1 << 31 | 1 << 57);
        assert_eq!(p.hash_words(), [0x8000_0080, 0x0200_0000]);
        assert_eq!(p.hash_register(0), 0x8000_0080);
        assert_eq!(p.hash_register(1), 0x0200_0000);
        // No hash table: bins are ignored.
        let mut none = Program::new(&Capabilities { exact_slots: 4, hash: None, pass_all_multicast: true });
        none.set_bin(3);
        none.set_hash(u64::MAX);
        assert_eq!(none.hash(), 0);
        assert_eq!(none.hash_register(0), 0);
    }

    #[test]
    fn dm9000_programs_start_with_the_broadcast_bin() {
        let caps = Capabilities { exact_slots: 0, hash: Some(HashScheme::Dm9000), pass_all_multicast: true };
        assert_eq!(Program::new(&caps).hash(), 1 << 63);
    }

    #[test]
    fn fits_checks_slots_scheme_and_pass_all() {
        let mut p = Program::new(&DWMAC);
        assert!(p.fits(&DWMAC));
        p.set_exact(2, Some(mac([0, 0, 1]))).unwrap();
        let two_slots = Capabilities { exact_slots: 2, ..DWMAC };
        assert!(!p.fits(&two_slots));
        p.set_exact(2, None).unwrap();
        assert!(p.fits(&two_slots));
        p.set_bin(5);
        assert!(!p.fits(&LAN9118), "bins of another scheme");
        assert!(!p.fits(&Capabilities { hash: None, ..DWMAC }));
        p.set_pass_all_multicast(true);
        assert!(p.fits(&DWMAC));
        assert!(!p.fits(&Capabilities { pass_all_multicast: false, ..DWMAC }));
    }

    #[test]
    fn passes_models_the_hardware() {
        let mut p = Program::new(&LAN9118);
        p.set_bin(57); // 239.1.2.3 and 01:00:5e:02:00:fd (reference table, QEMU column)
        assert!(p.passes(mac([0x01, 0x02, 0x03])));
        assert!(p.passes(mac([0x02, 0x00, 0xfd])));
        assert!(!p.passes(mac([0x09, 0x09, 0x01]))); // bin 7
        assert!(p.passes(MacAddr::BROADCAST));
        assert!(!p.passes(MacAddr([0x02, 0, 0, 0, 0, 1])), "unicast");
        p.set_pass_all_multicast(true);
        assert!(p.passes(mac([0x09, 0x09, 0x01])));
        assert!(p.passes(MacAddr([0x33, 0x33, 0, 0, 0, 1])));
        assert!(!p.passes(MacAddr([0x02, 0, 0, 0, 0, 1])));
    }

    #[test]
    fn ipv4_macs_passing_counts_bins_and_exact_macs() {
        let mut p = Program::new(&DWMAC);
        assert_eq!(p.ipv4_macs_passing(), 0);
        p.set_exact(0, Some(mac([0, 0, 1]))).unwrap();
        p.set_exact(1, Some(mac([0, 0, 1]))).unwrap(); // the same MAC twice counts once
        p.set_exact(2, Some(MacAddr([0x33, 0x33, 0, 0, 0, 1]))).unwrap(); // not IPv4
        assert_eq!(p.ipv4_macs_passing(), 1);
        p.set_bin(20);
        p.set_bin(48);
        assert_eq!(p.ipv4_macs_passing(), 2 * 131_072 + 1);
        // 01:00:5e:00:00:01 is in DWMAC bin 32 (reference table): once set, its slot adds
        // nothing.
        p.set_bin(32);
        assert_eq!(p.ipv4_macs_passing(), 3 * 131_072);
        p.set_pass_all_multicast(true);
        assert_eq!(p.ipv4_macs_passing(), 8_388_608);
    }

    #[test]
    fn errors_display() {
        assert_eq!(FilterError::Full.to_string(), "filter set full");
        assert_eq!(FilterError::NoSlot.to_string(), "no exact filter slot left");
    }
}
