//! [`MulticastFilter`](crate::filter::MulticastFilter) for real chips, one cargo feature
//! each:
//!
//! | chip | feature | bus | exact slots | hash | pass-all |
//! |---|---|---|---|---|---|
//! | Microchip ENC28J60 | `enc28j60` | SPI (`embedded-hal` 1.0 `SpiDevice`) | 0 | [`Enc28j60`](crate::filter::HashScheme::Enc28j60) | ERXFCON.MCEN |
//! | SMSC/Microchip LAN9118, LAN9220 | `lan9118` | memory-mapped, via [`Registers`] | 0 | [`Lan9118`](crate::filter::HashScheme::Lan9118) | MAC_CR.MCPAS |
//! | STM32 F4/F7 ETH, STM32 H7 ETH | `dwmac` | memory-mapped, via [`Registers`] | 3 | [`Dwmac`](crate::filter::HashScheme::Dwmac) | MACFFR.PAM / MACPFR.PM |
//!
//! The memory-mapped drivers talk to the chip through the small [`Registers`] trait, so
//! they run unchanged over [`mmio::Mmio`] on the target, over a PAC or HAL the
//! application already has, and over a fake register file in tests. [`mmio`] holds the
//! drivers' only `unsafe` code.
//!
//! Each driver only touches the registers of the multicast filter (and reads, never
//! changes, the bits of a shared control register that are not its business), so it
//! can live beside the chip's real Ethernet driver. docs/PORTING.md shows how to write
//! one for another chip.

#[cfg(feature = "dwmac")]
#[cfg_attr(docsrs, doc(cfg(feature = "dwmac")))]
pub mod dwmac;
#[cfg(feature = "enc28j60")]
#[cfg_attr(docsrs, doc(cfg(feature = "enc28j60")))]
pub mod enc28j60;
#[cfg(feature = "lan9118")]
#[cfg_attr(docsrs, doc(cfg(feature = "lan9118")))]
pub mod lan9118;
#[cfg(any(feature = "lan9118", feature = "dwmac"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "lan9118", feature = "dwmac"))))]
#[allow(unsafe_code)]
pub mod mmio;

/// 32-bit register access at byte offsets from a peripheral's base, for the memory-mapped
/// drivers.
///
/// Implement it over whatever the application uses to reach the chip (a PAC, a HAL, a
/// bus bridge), or use [`mmio::Mmio`]. Offsets are the ones of the chip's manual, from
/// the block's base address; they are always multiples of 4.
#[cfg(any(feature = "lan9118", feature = "dwmac"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "lan9118", feature = "dwmac"))))]
pub trait Registers {
    /// Reads the 32-bit register at `offset`.
    fn read(&mut self, offset: u32) -> u32;
    /// Writes `value` to the 32-bit register at `offset`.
    fn write(&mut self, offset: u32, value: u32);
}

#[cfg(any(feature = "lan9118", feature = "dwmac"))]
impl<R: Registers + ?Sized> Registers for &mut R {
    fn read(&mut self, offset: u32) -> u32 {
        (**self).read(offset)
    }

    fn write(&mut self, offset: u32, value: u32) {
        (**self).write(offset, value)
    }
}
