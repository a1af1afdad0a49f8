//! The Microchip ENC28J60 multicast filter, over an `embedded-hal` 1.0 [`SpiDevice`].
//!
//! Facts from the ENC28J60 data sheet (DS39662E):
//!
//! - SPI instructions (§4.2, Table 4-1): Read Control Register `000a_aaaa` followed by one
//!   byte clocked in (ETH registers give their value in that byte, §4.2.1); Write
//!   Control Register `010a_aaaa` + data; Bit Field Set `100a_aaaa` + mask and Bit
//!   Field Clear `101a_aaaa` + mask, on ETH registers only (§4.2.5, §4.2.6). Each
//!   instruction is one chip-select assertion.
//! - Control registers come in four banks selected by ECON1.BSEL1:BSEL0 (bits 1:0);
//!   ECON1 is at 0x1F in every bank (§3.1, Table 3-1).
//! - Bank 1 holds the hash table EHT0–EHT7 at 0x00–0x07 and ERXFCON at 0x18 (Table 3-1).
//! - ERXFCON (Register 8-1, reset 0xA1): UCEN 0x80, ANDOR 0x40, CRCEN 0x20, PMEN 0x10,
//!   MPEN 0x08, HTEN 0x04, MCEN 0x02, BCEN 0x01. With ANDOR clear a frame is kept if
//!   any enabled filter accepts it (§8.0).
//! - The hash filter takes six bits of the CRC of the destination as a pointer into
//!   EHT0–EHT7 (§8.4): [`HashScheme::Enc28j60`], bit `bin & 7` of EHT`bin >> 3`.
//!
//! The driver writes EHT0–EHT7 and ERXFCON = UCEN | BCEN | HTEN (| MCEN for pass-all),
//! keeping CRCEN, PMEN and MPEN as they were and clearing ANDOR, so the station address
//! and broadcast always pass. It reads ECON1 first, switches to bank 1 only if needed,
//! and switches back to the bank it found, so the chip's main driver, which may cache
//! the selected bank, is not disturbed. If an SPI error interrupts an application, the
//! bank may be left at 1.

use embedded_hal::spi::SpiDevice;

use crate::filter::{Capabilities, DriverError, DriverErrorKind, FilterError, HashScheme, MulticastFilter, Program};

/// Read Control Register opcode.
pub const RCR: u8 = 0x00;
/// Write Control Register opcode.
pub const WCR: u8 = 0x40;
/// Bit Field Set opcode.
pub const BFS: u8 = 0x80;
/// Bit Field Clear opcode.
pub const BFC: u8 = 0xA0;

/// ECON1, in every bank.
pub const ECON1: u8 = 0x1F;
/// ECON1.BSEL1:BSEL0.
pub const ECON1_BSEL: u8 = 0x03;
/// EHT0, bank 1; EHT1–EHT7 follow.
pub const EHT0: u8 = 0x00;
/// ERXFCON, bank 1.
pub const ERXFCON: u8 = 0x18;
/// The bank of EHT0–7 and ERXFCON.
pub const BANK1: u8 = 1;

/// ERXFCON.UCEN: accept frames to the station address.
pub const UCEN: u8 = 0x80;
/// ERXFCON.ANDOR: all enabled filters must accept (AND) instead of any (OR).
pub const ANDOR: u8 = 0x40;
/// ERXFCON.CRCEN: drop frames with a bad CRC.
pub const CRCEN: u8 = 0x20;
/// ERXFCON.PMEN: pattern match filter.
pub const PMEN: u8 = 0x10;
/// ERXFCON.MPEN: Magic Packet filter.
pub const MPEN: u8 = 0x08;
/// ERXFCON.HTEN: hash table filter.
pub const HTEN: u8 = 0x04;
/// ERXFCON.MCEN: accept all multicast.
pub const MCEN: u8 = 0x02;
/// ERXFCON.BCEN: accept broadcast.
pub const BCEN: u8 = 0x01;

/// What the chip can do: only its own address is matched exactly.
pub const CAPABILITIES: Capabilities =
    Capabilities { exact_slots: 0, hash: Some(HashScheme::Enc28j60), pass_all_multicast: true };

/// Why an application failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error<E> {
    /// The SPI transfer failed.
    Spi(E),
    /// The program does not fit the chip ([`FilterError::Incompatible`]); nothing was
    /// sent.
    Program(FilterError),
}

impl<E: embedded_hal::spi::Error> DriverError for Error<E> {
    fn kind(&self) -> DriverErrorKind {
        match self {
            Error::Spi(_) => DriverErrorKind::Bus,
            Error::Program(e) => e.kind(),
        }
    }
}

/// The ENC28J60 multicast filter on an SPI device (see the [module docs](self)).
///
/// SPI transfers complete before they return, so [`apply`](MulticastFilter::apply)
/// never returns `WouldBlock`. Sharing the chip with its main driver takes an
/// `SpiDevice` both can use, such as the `embedded-hal-bus` wrappers, and applying the
/// filter while that driver is not in the middle of a register sequence.
#[derive(Debug)]
pub struct Enc28j60<SPI> {
    spi: SPI,
}

impl<SPI: SpiDevice> Enc28j60<SPI> {
    /// The filter of the chip on `spi`. It sends nothing until
    /// [`apply`](MulticastFilter::apply).
    pub const fn new(spi: SPI) -> Enc28j60<SPI> {
        Enc28j60 { spi }
    }

    /// Gives the SPI device back.
    pub fn release(self) -> SPI {
        self.spi
    }

    /// Reads an ETH register of the selected bank (or ECON1).
    fn read(&mut self, address: u8) -> Result<u8, SPI::Error> {
        let mut buf = [RCR | address, 0];
        self.spi.transfer_in_place(&mut buf)?;
        Ok(buf[1])
    }

    fn command(&mut self, opcode: u8, address: u8, data: u8) -> Result<(), SPI::Error> {
        self.spi.write(&[opcode | address, data])
    }

    /// Switches BSEL from bank `from` to bank `to` with at most one clear and one set.
    fn switch_bank(&mut self, from: u8, to: u8) -> Result<(), SPI::Error> {
        let clear = from & !to & ECON1_BSEL;
        let set = to & !from & ECON1_BSEL;
        if clear != 0 {
            self.command(BFC, ECON1, clear)?;
        }
        if set != 0 {
            self.command(BFS, ECON1, set)?;
        }
        Ok(())
    }

    fn write_hash(&mut self, program: &Program) -> Result<(), SPI::Error> {
        for register in 0..8u8 {
            // Each EHT register is written once with its final value: a bin that stays
            // set never clears, and no MAC has bits in two registers.
            self.command(WCR, EHT0 + register, program.hash_register(register) as u8)?;
        }
        Ok(())
    }

    fn program_bank1(&mut self, program: &Program) -> Result<(), SPI::Error> {
        let old = self.read(ERXFCON)?;
        let mut new = (old & (CRCEN | PMEN | MPEN)) | UCEN | BCEN | HTEN;
        if program.pass_all_multicast() {
            new |= MCEN;
        }
        // Pass-all goes on before the hash changes, and off only after it is in place.
        if program.pass_all_multicast() {
            if new != old {
                self.command(WCR, ERXFCON, new)?;
            }
            self.write_hash(program)
        } else {
            self.write_hash(program)?;
            if new != old {
                self.command(WCR, ERXFCON, new)?;
            }
            Ok(())
        }
    }
}

impl<SPI: SpiDevice> MulticastFilter for Enc28j60<SPI> {
    type Error = Error<SPI::Error>;

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn apply(&mut self, program: &Program) -> nb::Result<(), Self::Error> {
        if !program.fits(&CAPABILITIES) {
            return Err(nb::Error::Other(Error::Program(FilterError::Incompatible)));
        }
        let spi = |e| nb::Error::Other(Error::Spi(e));
        let bank = self.read(ECON1).map_err(spi)? & ECON1_BSEL;
        self.switch_bank(bank, BANK1).map_err(spi)?;
        self.program_bank1(program).map_err(spi)?;
        self.switch_bank(BANK1, bank).map_err(spi)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GroupAddr;
    use crate::filter::{FilterSet, OverflowPolicy};
    use embedded_hal::spi::{ErrorKind, ErrorType, Operation};
    use embedded_hal_mock::eh1::spi::{Mock, Transaction as T};

    /// One chip-select assertion writing `bytes`.
    fn send(bytes: [u8; 2]) -> [T<u8>; 3] {
        [T::transaction_start(), T::write_vec(bytes.to_vec()), T::transaction_end()]
    }

    /// One Read Control Register of an ETH register at `address` answering `value`
    /// (the byte clocked out with the opcode is junk).
    fn read(address: u8, value: u8) -> [T<u8>; 3] {
        [T::transaction_start(), T::transfer_in_place(vec![address, 0x00], vec![0xff, value]), T::transaction_end()]
    }

    fn set_with(groups: &[&str]) -> FilterSet<8> {
        let mut set = FilterSet::new(CAPABILITIES, OverflowPolicy::Hash).unwrap();
        for g in groups {
            set.add_group(g.parse::<GroupAddr>().unwrap()).unwrap();
        }
        set
    }

    /// EHT0..EHT7 written in order with `values`.
    fn eht(values: [u8; 8]) -> Vec<T<u8>> {
        (0..8u8).flat_map(|i| send([0x40 | i, values[usize::from(i)]])).collect()
    }

    #[test]
    fn programs_the_hash_from_bank_0_and_restores_the_bank() {
        // 224.0.0.1 -> ENC28J60 bin 63 (EHT7 bit 7), 239.255.255.250 -> bin 28 (EHT3 bit 4),
        // from the reference table.
        let program = set_with(&["239.255.255.250"]).program();
        let mut expected = Vec::new();
        expected.extend(read(0x1F, 0x04)); // ECON1: RXEN, bank 0
        expected.extend(send([0x9F, 0x01])); // BFS ECON1, BSEL0
        expected.extend(read(0x18, 0xA1)); // ERXFCON at reset: UCEN | CRCEN | BCEN
        expected.extend(eht([0, 0, 0, 0x10, 0, 0, 0, 0x80]));
        expected.extend(send([0x58, 0xA5])); // WCR ERXFCON: + HTEN, after the hash
        expected.extend(send([0xBF, 0x01])); // BFC ECON1, BSEL0: back to bank 0
        let mut nic = Enc28j60::new(Mock::new(&expected));
        assert_eq!(nic.capabilities(), CAPABILITIES);
        assert_eq!(nic.apply(&program), Ok(()));
        nic.release().done();
    }

    #[test]
    fn pass_all_goes_on_before_the_hash_from_bank_3() {
        let mut set = set_with(&["224.0.0.251"]); // bin 62 (EHT7 bit 6)
        set.set_all_multicast(true).unwrap();
        let mut expected = Vec::new();
        expected.extend(read(0x1F, 0x07)); // RXEN, bank 3
        expected.extend(send([0xBF, 0x02])); // BFC ECON1, BSEL1: bank 1
        expected.extend(read(0x18, 0xA5));
        expected.extend(send([0x58, 0xA7])); // MCEN first
        expected.extend(eht([0, 0, 0, 0, 0, 0, 0, 0xC0]));
        expected.extend(send([0x9F, 0x02])); // BFS ECON1, BSEL1: back to bank 3
        let mut nic = Enc28j60::new(Mock::new(&expected));
        assert_eq!(nic.apply(&set.program()), Ok(()));
        nic.release().done();
    }

    #[test]
    fn pass_all_goes_off_after_the_hash_in_bank_1() {
        let program = set_with(&["224.0.0.251"]).program();
        let mut expected = Vec::new();
        expected.extend(read(0x1F, 0x05)); // RXEN, bank 1 already: no switching
        expected.extend(read(0x18, 0xA7)); // MCEN on
        expected.extend(eht([0, 0, 0, 0, 0, 0, 0, 0xC0]));
        expected.extend(send([0x58, 0xA5])); // MCEN off last
        let mut nic = Enc28j60::new(Mock::new(&expected));
        assert_eq!(nic.apply(&program), Ok(()));
        nic.release().done();
    }

    #[test]
    fn erxfcon_keeps_crc_pattern_and_magic_and_clears_and_mode() {
        let program = set_with(&[]).program();
        for (before, after) in [
            (ANDOR | PMEN | MPEN | CRCEN | BCEN, UCEN | CRCEN | PMEN | MPEN | HTEN | BCEN),
            (0x00, UCEN | HTEN | BCEN), // promiscuous: filtering turns on
            (0xA5, 0xA5),               // already right: not rewritten
        ] {
            let mut expected = Vec::new();
            expected.extend(read(0x1F, 0x01));
            expected.extend(read(0x18, before));
            expected.extend(eht([0, 0, 0, 0, 0, 0, 0, 0x80]));
            if before != after {
                expected.extend(send([0x58, after]));
            }
            let mut nic = Enc28j60::new(Mock::new(&expected));
            assert_eq!(nic.apply(&program), Ok(()));
            nic.release().done();
        }
    }

    #[test]
    fn bank_2_goes_to_1_and_back_with_one_clear_and_one_set() {
        let program = set_with(&[]).program();
        let mut expected = Vec::new();
        expected.extend(read(0x1F, 0x02));
        expected.extend(send([0xBF, 0x02]));
        expected.extend(send([0x9F, 0x01]));
        expected.extend(read(0x18, 0xA5));
        expected.extend(eht([0, 0, 0, 0, 0, 0, 0, 0x80]));
        expected.extend(send([0xBF, 0x01]));
        expected.extend(send([0x9F, 0x02]));
        let mut nic = Enc28j60::new(Mock::new(&expected));
        assert_eq!(nic.apply(&program), Ok(()));
        nic.release().done();
    }

    #[test]
    fn a_program_for_another_chip_sends_nothing() {
        let lan = Capabilities { exact_slots: 0, hash: Some(HashScheme::Lan9118), pass_all_multicast: true };
        let mut p = Program::new(&lan);
        p.set_bin(3);
        let mut nic = Enc28j60::new(Mock::new(&[]));
        let err = nic.apply(&p);
        assert_eq!(err, Err(nb::Error::Other(Error::Program(FilterError::Incompatible))));
        assert!(matches!(err, Err(nb::Error::Other(e)) if e.kind() == DriverErrorKind::Unsupported));
        nic.release().done();
    }

    /// An SPI device whose every transfer fails.
    struct Broken;

    impl ErrorType for Broken {
        type Error = ErrorKind;
    }

    impl SpiDevice for Broken {
        fn transaction(&mut self, _: &mut [Operation<'_, u8>]) -> Result<(), ErrorKind> {
            Err(ErrorKind::ChipSelectFault)
        }
    }

    #[test]
    fn spi_errors_are_returned() {
        let mut nic = Enc28j60::new(Broken);
        let program = set_with(&[]).program();
        let err = nic.apply(&program);
        assert_eq!(err, Err(nb::Error::Other(Error::Spi(ErrorKind::ChipSelectFault))));
        assert!(matches!(err, Err(nb::Error::Other(e)) if e.kind() == DriverErrorKind::Bus));
    }
}
