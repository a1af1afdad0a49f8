//! The SMSC/Microchip LAN9118 (and LAN9220, and QEMU's `lan9118` model on the MPS2
//! boards) multicast filter.
//!
//! The filter lives in the MAC's indirect control and status registers (CSRs), reached
//! through two directly mapped ones: MAC_CSR_CMD (0xA4) and MAC_CSR_DATA (0xA8). A CSR
//! write puts the value in MAC_CSR_DATA, then writes `0x8000_0000 | index` to
//! MAC_CSR_CMD; a read writes `0xC000_0000 | index` and takes MAC_CSR_DATA once the
//! command's busy bit (31) has cleared. Only one command may be in flight: the wait for
//! that bit is where [`Lan9118::apply`] returns `WouldBlock` (Linux `smsc911x_mac_read`,
//! `smsc911x_mac_write`).
//!
//! CSRs used: 1 MAC_CR, 4 HASHH (bins 32–63), 5 HASHL (bins 0–31). In MAC_CR the driver
//! sets HPFILT (bit 13: multicast by hash, unicast by the station address), sets or
//! clears MCPAS (bit 19: pass all multicast), and clears PRMS (bit 18, promiscuous, set
//! at reset), INVFILT (17), HO (15, hash-only: would hash the station address too) and
//! BCAST (11, which disables broadcast), so the station address and broadcast always
//! pass. Every other bit is kept (read-modify-write). Bin = [`HashScheme::Lan9118`]
//! (Linux `smsc911x_hash`, QEMU `lan9118_filter`).

use super::Registers;
use crate::filter::{Capabilities, FilterError, HashScheme, MulticastFilter, Program};

/// MAC_CSR_CMD, the indirect MAC register command port.
pub const MAC_CSR_CMD: u32 = 0xA4;
/// MAC_CSR_DATA, the indirect MAC register data port.
pub const MAC_CSR_DATA: u32 = 0xA8;
/// MAC_CSR_CMD: command busy; set to start a command, cleared by the chip when done.
pub const CSR_BUSY: u32 = 1 << 31;
/// MAC_CSR_CMD: the command is a read.
pub const CSR_READ: u32 = 1 << 30;

/// MAC CSR index of MAC_CR, the MAC control register.
pub const MAC_CR: u8 = 1;
/// MAC CSR index of HASHH, bins 32–63.
pub const HASHH: u8 = 4;
/// MAC CSR index of HASHL, bins 0–31.
pub const HASHL: u8 = 5;

/// MAC_CR.MCPAS: pass all multicast.
pub const MAC_CR_MCPAS: u32 = 1 << 19;
/// MAC_CR.PRMS: promiscuous.
pub const MAC_CR_PRMS: u32 = 1 << 18;
/// MAC_CR.INVFILT: inverse filtering.
pub const MAC_CR_INVFILT: u32 = 1 << 17;
/// MAC_CR.HO: hash-only filtering (unicast hashed too).
pub const MAC_CR_HO: u32 = 1 << 15;
/// MAC_CR.HPFILT: hash/perfect filtering (multicast by hash).
pub const MAC_CR_HPFILT: u32 = 1 << 13;
/// MAC_CR.BCAST: disable broadcast reception.
pub const MAC_CR_BCAST: u32 = 1 << 11;

/// What the chip can do: only its own address is matched exactly.
pub const CAPABILITIES: Capabilities =
    Capabilities { exact_slots: 0, hash: Some(HashScheme::Lan9118), pass_all_multicast: true };

/// The register values a program comes down to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target {
    hashh: u32,
    hashl: u32,
    pass_all: bool,
}

/// Where an application of a [`Target`] stands between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Start the MAC_CR read.
    ReadControl,
    /// Take the MAC_CR value from MAC_CSR_DATA.
    FetchControl,
    /// Write the `n`th register of the sequence.
    Write(u8),
    /// Wait for the last write to complete.
    Finish,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    target: Target,
    step: Step,
    /// The MAC_CR value to write, once read.
    control: u32,
}

impl Pending {
    /// The three CSR writes, in the order that never drops a group that stays: with
    /// pass-all wanted, MCPAS goes on first; without, the hash is in place before MCPAS
    /// goes off (and before HPFILT goes on or PRMS off). HASHH and HASHL are each one
    /// write, so their bins that stay set never clear.
    fn writes(&self) -> [(u8, u32); 3] {
        let (t, cr) = (self.target, self.control);
        if t.pass_all {
            [(MAC_CR, cr), (HASHH, t.hashh), (HASHL, t.hashl)]
        } else {
            [(HASHH, t.hashh), (HASHL, t.hashl), (MAC_CR, cr)]
        }
    }
}

/// The LAN9118 multicast filter over its registers (see the [module docs](self)).
///
/// [`apply`](MulticastFilter::apply) never waits: each call runs the CSR commands it can
/// until the chip reports busy, then returns `WouldBlock`; the next call with the same
/// program carries on from there. A call with another program starts again from a
/// fresh read of MAC_CR.
#[derive(Debug)]
pub struct Lan9118<R> {
    regs: R,
    pending: Option<Pending>,
}

impl<R: Registers> Lan9118<R> {
    /// The filter of the chip behind `regs`, offsets from the chip's base (0x4020_0000
    /// on QEMU's mps2-an385). It touches nothing until [`apply`](MulticastFilter::apply).
    pub const fn new(regs: R) -> Lan9118<R> {
        Lan9118 { regs, pending: None }
    }

    /// Gives the registers back.
    pub fn release(self) -> R {
        self.regs
    }

    /// Whether an application is under way (the last `apply` returned `WouldBlock`).
    pub const fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    fn busy(&mut self) -> bool {
        self.regs.read(MAC_CSR_CMD) & CSR_BUSY != 0
    }
}

impl<R: Registers> MulticastFilter for Lan9118<R> {
    type Error = FilterError;

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn apply(&mut self, program: &Program) -> nb::Result<(), FilterError> {
        if !program.fits(&CAPABILITIES) {
            return Err(nb::Error::Other(FilterError::Incompatible));
        }
        let target = Target {
            hashh: program.hash_register(1),
            hashl: program.hash_register(0),
            pass_all: program.pass_all_multicast(),
        };
        let mut p = match self.pending {
            Some(p) if p.target == target => p,
            _ => Pending { target, step: Step::ReadControl, control: 0 },
        };
        loop {
            // One command at a time: every step waits for the previous one.
            if self.busy() {
                self.pending = Some(p);
                return Err(nb::Error::WouldBlock);
            }
            p.step = match p.step {
                Step::ReadControl => {
                    self.regs.write(MAC_CSR_CMD, CSR_BUSY | CSR_READ | u32::from(MAC_CR));
                    Step::FetchControl
                }
                Step::FetchControl => {
                    let cr = self.regs.read(MAC_CSR_DATA);
                    let keep = cr & !(MAC_CR_PRMS | MAC_CR_MCPAS | MAC_CR_INVFILT | MAC_CR_HO | MAC_CR_BCAST);
                    p.control = keep | MAC_CR_HPFILT | if target.pass_all { MAC_CR_MCPAS } else { 0 };
                    Step::Write(0)
                }
                Step::Write(n) => {
                    let writes = p.writes();
                    let Some(&(index, value)) = writes.get(usize::from(n)) else {
                        // Unreachable: `n` never passes the last write.
                        p.step = Step::Finish;
                        continue;
                    };
                    self.regs.write(MAC_CSR_DATA, value);
                    self.regs.write(MAC_CSR_CMD, CSR_BUSY | u32::from(index));
                    if usize::from(n) + 1 < writes.len() { Step::Write(n + 1) } else { Step::Finish }
                }
                Step::Finish => {
                    self.pending = None;
                    return Ok(());
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{FilterSet, OverflowPolicy};
    use crate::{GroupAddr, MacAddr};

    /// A LAN9118 register file: the MAC CSRs behind MAC_CSR_CMD/DATA, with a busy bit
    /// that stays up for `busy_polls` reads of MAC_CSR_CMD after each command.
    #[derive(Debug, Default)]
    struct Fake {
        csr: [u32; 16],
        cmd: u32,
        data: u32,
        busy_left: u32,
        busy_polls: u32,
        /// Completed CSR writes, with the whole CSR file after each.
        writes: Vec<(u8, u32, [u32; 16])>,
        /// Protocol mistakes: any entry fails the test.
        violations: Vec<String>,
        accesses: usize,
    }

    impl Fake {
        fn new(mac_cr: u32, busy_polls: u32) -> Fake {
            let mut fake = Fake { busy_polls, ..Fake::default() };
            fake.csr[usize::from(MAC_CR)] = mac_cr;
            fake
        }

        fn hashh(&self) -> u32 {
            self.csr[usize::from(HASHH)]
        }

        fn hashl(&self) -> u32 {
            self.csr[usize::from(HASHL)]
        }

        fn mac_cr(&self) -> u32 {
            self.csr[usize::from(MAC_CR)]
        }
    }

    impl Registers for Fake {
        fn read(&mut self, offset: u32) -> u32 {
            self.accesses += 1;
            match offset {
                MAC_CSR_CMD => {
                    if self.busy_left > 0 {
                        self.busy_left -= 1;
                        self.cmd | CSR_BUSY
                    } else {
                        self.cmd & !CSR_BUSY
                    }
                }
                MAC_CSR_DATA => {
                    if self.busy_left > 0 {
                        self.violations.push("MAC_CSR_DATA read while busy".into());
                    }
                    self.data
                }
                _ => {
                    self.violations.push(format!("read of 0x{offset:x}"));
                    0
                }
            }
        }

        fn write(&mut self, offset: u32, value: u32) {
            self.accesses += 1;
            if self.busy_left > 0 {
                self.violations.push(format!("write of 0x{offset:x} while busy"));
            }
            match offset {
                MAC_CSR_DATA => self.data = value,
                MAC_CSR_CMD => {
                    self.cmd = value;
                    if value & CSR_BUSY == 0 {
                        return;
                    }
                    let index = (value & 0xff) as u8;
                    if !matches!(index, MAC_CR | HASHH | HASHL) {
                        self.violations.push(format!("CSR {index} touched"));
                    }
                    let slot = &mut self.csr[usize::from(index) & 0xf];
                    if value & CSR_READ != 0 {
                        self.data = *slot;
                    } else {
                        *slot = self.data;
                        self.writes.push((index, self.data, self.csr));
                    }
                    self.busy_left = self.busy_polls;
                }
                _ => self.violations.push(format!("write of 0x{offset:x}")),
            }
        }
    }

    /// QEMU's `lan9118_filter` for a multicast destination in hash bin `bin`.
    fn qemu_passes_multicast(csr: &[u32; 16], bin: u8) -> bool {
        let cr = csr[usize::from(MAC_CR)];
        if cr & (MAC_CR_PRMS | MAC_CR_MCPAS) != 0 {
            return true;
        }
        if cr & MAC_CR_HPFILT == 0 {
            return false; // perfect filtering: only the station address
        }
        let word = if bin & 0x20 != 0 { csr[usize::from(HASHH)] } else { csr[usize::from(HASHL)] };
        word >> (bin & 0x1f) & 1 != 0
    }

    /// Applies `program`, retrying on `WouldBlock`; returns how many times it blocked.
    fn apply_all<R: Registers>(nic: &mut Lan9118<R>, program: &Program) -> usize {
        let mut blocked = 0;
        loop {
            match nic.apply(program) {
                Ok(()) => return blocked,
                Err(nb::Error::WouldBlock) => blocked += 1,
                Err(nb::Error::Other(e)) => panic!("{e:?}"),
            }
            assert!(blocked < 1000, "never completes");
        }
    }

    fn set_with(groups: &[&str]) -> FilterSet<8> {
        let mut set = FilterSet::new(CAPABILITIES, OverflowPolicy::Hash).unwrap();
        for g in groups {
            set.add_group(g.parse::<GroupAddr>().unwrap()).unwrap();
        }
        set
    }

    /// PRMS | FDPX | TXEN | RXEN, as after reset and the usual bring-up.
    const BROUGHT_UP: u32 = 0x0014_000C;

    #[test]
    fn programs_the_qemu_observation() {
        // 224.0.0.1 (bin 31) and 239.1.2.3 (bin 57, HASHH bit 25): the reference's
        // MAC_CR for hash filtering is TXEN | RXEN | FDPX | HPFILT = 0x0010_200C.
        let mut nic = Lan9118::new(Fake::new(BROUGHT_UP, 0));
        assert_eq!(nic.capabilities(), CAPABILITIES);
        assert_eq!(apply_all(&mut nic, &set_with(&["239.1.2.3"]).program()), 0);
        let fake = nic.release();
        assert_eq!(fake.hashh(), 1 << 25);
        assert_eq!(fake.hashl(), 1 << 31);
        assert_eq!(fake.mac_cr(), 0x0010_200C);
        assert!(fake.violations.is_empty(), "{:?}", fake.violations);
        // Hash first, MAC_CR last.
        let order: Vec<u8> = fake.writes.iter().map(|w| w.0).collect();
        assert_eq!(order, [HASHH, HASHL, MAC_CR]);
        // The QEMU filter now passes bins 31 and 57 and not bin 7 (01:00:5e:09:09:01).
        assert!(qemu_passes_multicast(&fake.csr, 31));
        assert!(qemu_passes_multicast(&fake.csr, 57));
        assert!(!qemu_passes_multicast(&fake.csr, 7));
    }

    #[test]
    fn keeps_unrelated_mac_cr_bits_and_clears_the_ones_that_drop_frames() {
        // RXALL, PADSTR, BOLMT and DFCHK kept; BCAST, HO, INVFILT, PRMS cleared.
        let other = 1 << 31 | 1 << 8 | 0b11 << 6 | 1 << 5;
        let before = BROUGHT_UP | other | MAC_CR_BCAST | MAC_CR_HO | MAC_CR_INVFILT;
        let mut nic = Lan9118::new(Fake::new(before, 0));
        apply_all(&mut nic, &set_with(&[]).program());
        assert_eq!(nic.release().mac_cr(), 0x0010_200C | other);
    }

    #[test]
    fn a_busy_chip_makes_apply_return_would_block_and_a_retry_completes() {
        let mut nic = Lan9118::new(Fake::new(BROUGHT_UP, 2));
        let program = set_with(&["239.1.2.3"]).program();
        // The first call starts the MAC_CR read and finds the chip busy.
        assert_eq!(nic.apply(&program), Err(nb::Error::WouldBlock));
        assert!(nic.is_pending());
        // Four commands (one read, three writes), each busy for two polls; each blocked
        // call polls once and returns.
        assert_eq!(apply_all(&mut nic, &program), 4 * 2 - 1);
        assert!(!nic.is_pending());
        let fake = nic.release();
        assert!(fake.violations.is_empty(), "{:?}", fake.violations);
        assert_eq!((fake.hashh(), fake.hashl(), fake.mac_cr()), (1 << 25, 1 << 31, 0x0010_200C));
    }

    #[test]
    fn a_new_program_mid_way_starts_over_and_wins() {
        let mut nic = Lan9118::new(Fake::new(BROUGHT_UP, 1));
        let first = set_with(&["239.1.2.3"]).program();
        let second = set_with(&["224.0.0.251"]).program(); // bin 15
        for _ in 0..3 {
            let _ = nic.apply(&first);
        }
        apply_all(&mut nic, &second);
        let fake = nic.release();
        assert!(fake.violations.is_empty(), "{:?}", fake.violations);
        assert_eq!((fake.hashh(), fake.hashl()), (0, 1 << 31 | 1 << 15));
    }

    #[test]
    fn applying_twice_changes_nothing() {
        let program = set_with(&["239.255.255.250", "224.0.0.251"]).program();
        let mut nic = Lan9118::new(Fake::new(BROUGHT_UP, 1));
        apply_all(&mut nic, &program);
        let once = nic.regs.csr;
        apply_all(&mut nic, &program);
        assert_eq!(nic.regs.csr, once);
        // And the second run wrote the same values again, nothing else.
        let writes = &nic.regs.writes;
        assert_eq!(writes.len(), 6);
        assert!(writes[3..].iter().all(|w| w.2 == once));
    }

    /// After every single CSR write of a transition, QEMU's filter still passes each bin
    /// that both programs want.
    fn assert_no_drop(old: &Program, new: &Program, staying_bins: &[u8]) {
        let mut nic = Lan9118::new(Fake::new(BROUGHT_UP, 0));
        apply_all(&mut nic, old);
        let start = nic.regs.writes.len();
        apply_all(&mut nic, new);
        let fake = nic.release();
        assert!(fake.violations.is_empty(), "{:?}", fake.violations);
        for (index, value, csr) in &fake.writes[start..] {
            for &bin in staying_bins {
                assert!(qemu_passes_multicast(csr, bin), "bin {bin} dropped after CSR {index} = {value:#x}");
            }
        }
    }

    #[test]
    fn transitions_never_drop_a_group_that_stays() {
        // Bins (reference table): 224.0.0.1 31, 239.1.2.3 57, 224.0.0.251 15,
        // 239.255.255.250 43.
        let a = set_with(&["239.1.2.3", "224.0.0.251"]);
        let b = set_with(&["239.1.2.3", "239.255.255.250"]);
        assert_no_drop(&a.program(), &b.program(), &[31, 57]);
        assert_no_drop(&b.program(), &a.program(), &[31, 57]);

        // Pass-all on, then off: 239.1.2.3 passes throughout.
        let mut all = set_with(&[]);
        all.set_all_multicast(true).unwrap();
        assert_no_drop(&a.program(), &all.program(), &[31, 57, 15]);
        assert_no_drop(&all.program(), &a.program(), &[31, 57, 15]);
    }

    #[test]
    fn pass_all_goes_on_first_and_off_last() {
        let mut all = set_with(&[]);
        all.set_all_multicast(true).unwrap();
        let mut nic = Lan9118::new(Fake::new(BROUGHT_UP, 0));
        apply_all(&mut nic, &all.program());
        let order: Vec<u8> = nic.regs.writes.iter().map(|w| w.0).collect();
        assert_eq!(order, [MAC_CR, HASHH, HASHL]);
        assert_eq!(nic.regs.mac_cr(), 0x0010_200C | MAC_CR_MCPAS);
        apply_all(&mut nic, &set_with(&[]).program());
        let order: Vec<u8> = nic.regs.writes[3..].iter().map(|w| w.0).collect();
        assert_eq!(order, [HASHH, HASHL, MAC_CR]);
        assert_eq!(nic.regs.mac_cr(), 0x0010_200C);
    }

    #[test]
    fn a_program_for_another_chip_is_refused_untouched() {
        let dwmac = Capabilities { exact_slots: 3, hash: Some(HashScheme::Dwmac), pass_all_multicast: true };
        let mut p = Program::new(&dwmac);
        p.set_exact(0, Some(MacAddr([0x01, 0x00, 0x5e, 0, 0, 1]))).unwrap();
        let mut nic = Lan9118::new(Fake::new(BROUGHT_UP, 0));
        assert_eq!(nic.apply(&p), Err(nb::Error::Other(FilterError::Incompatible)));
        let mut p = Program::new(&dwmac);
        p.set_bin(3);
        assert_eq!(nic.apply(&p), Err(nb::Error::Other(FilterError::Incompatible)));
        assert_eq!(nic.regs.accesses, 0);
        assert!(!nic.is_pending());
    }

    #[test]
    fn works_through_a_mutable_reference() {
        let mut fake = Fake::new(BROUGHT_UP, 0);
        let mut nic = Lan9118::new(&mut fake);
        apply_all(&mut nic, &set_with(&[]).program());
        assert_eq!(fake.hashl(), 1 << 31);
    }
}
