//! [`Mmio`]: [`Registers`] over a memory-mapped register block, with volatile 32-bit
//! accesses.
//!
//! This is the only module of the `no_std` crate that uses `unsafe` (the other is the
//! operating-system sockets' system calls, `socket::linux` and `socket::windows`, with
//! feature `socket`). Its whole obligation is in [`Mmio::new`]: the caller vouches for the block, and every access after that stays
//! inside it.

use core::ptr;

use super::Registers;

/// A memory-mapped block of 32-bit registers: `len` bytes from `base`.
///
/// Accesses are volatile and 32 bits wide. An offset that is not a multiple of 4, or
/// that falls outside the block, is never dereferenced: reads give 0 and writes are
/// dropped. That keeps the safe [`Registers`] methods sound whatever offset they are
/// given; the drivers only use the offsets of their chip's manual, inside the block.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Mmio {
    base: usize,
    len: usize,
}

impl Mmio {
    /// The register block of `len` bytes at address `base`: for example
    /// `Mmio::new(0x4020_0000, 0x100)` for the LAN9118 on QEMU's MPS2 boards, or
    /// `Mmio::new(0x4002_8000, 0x1000)` for the STM32 F4/F7/H7 Ethernet MAC.
    ///
    /// # Safety
    ///
    /// For as long as the `Mmio` exists:
    ///
    /// - `base` is 4-byte aligned, and every 4-byte-aligned address in `base..base + len`
    ///   is a device register (or memory) that may be read and written with 32-bit
    ///   volatile accesses, with no effect beyond the device's documented behaviour;
    /// - nothing else in the program holds a Rust reference to that memory (other code
    ///   may access the same registers through raw pointers or volatile accesses, as
    ///   the chip's own Ethernet driver does: registers are not Rust objects).
    ///
    /// The block is not owned: several `Mmio` may cover it, as long as the program
    /// coordinates their read-modify-write sequences (the drivers of this crate do
    /// read-modify-write on shared control registers).
    pub const unsafe fn new(base: usize, len: usize) -> Mmio {
        Mmio { base, len }
    }

    /// The address of the register at `offset`, if `offset` is a multiple of 4 inside
    /// the block.
    fn address(&self, offset: u32) -> Option<*mut u32> {
        let offset = usize::try_from(offset).ok()?;
        let end = offset.checked_add(4)?;
        if !offset.is_multiple_of(4) || end > self.len || !self.base.is_multiple_of(4) {
            return None;
        }
        Some(ptr::with_exposed_provenance_mut(self.base.checked_add(offset)?))
    }
}

impl Registers for Mmio {
    fn read(&mut self, offset: u32) -> u32 {
        match self.address(offset) {
            // SAFETY: `address` returned an aligned address inside the block that the
            // caller of `Mmio::new` vouched for as readable with 32-bit volatile accesses.
            Some(addr) => unsafe { ptr::read_volatile(addr) },
            None => 0,
        }
    }

    fn write(&mut self, offset: u32, value: u32) {
        if let Some(addr) = self.address(offset) {
            // SAFETY: as in `read`: an aligned address inside the block, which the
            // caller of `Mmio::new` vouched for as writable with 32-bit volatile accesses.
            unsafe { ptr::write_volatile(addr, value) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ordinary memory stands in for the registers (miri checks the accesses).
    #[test]
    fn volatile_accesses_hit_the_block_and_nothing_outside_it() {
        let mut block = [0u32; 8];
        let guard_before = block.as_ptr();
        let base = block.as_mut_ptr().expose_provenance();
        // SAFETY: `block` is 32 aligned bytes of ordinary memory, borrowed by nothing else
        // while `regs` is used.
        let mut regs = unsafe { Mmio::new(base + 4, 24) };
        regs.write(0, 0x1111_1111);
        regs.write(20, 0x2222_2222);
        regs.write(24, 0xdead_beef); // past the end: dropped
        regs.write(2, 0xdead_beef); // unaligned: dropped
        regs.write(u32::MAX - 1, 0xdead_beef);
        assert_eq!(regs.read(0), 0x1111_1111);
        assert_eq!(regs.read(20), 0x2222_2222);
        assert_eq!(regs.read(24), 0);
        assert_eq!(regs.read(3), 0);
        assert_eq!(block, [0, 0x1111_1111, 0, 0, 0, 0, 0x2222_2222, 0]);
        assert_eq!(guard_before, block.as_ptr());
    }

    #[test]
    fn a_misaligned_base_is_never_dereferenced() {
        let mut block = [0u32; 2];
        let base = block.as_mut_ptr().expose_provenance() + 1;
        // SAFETY: the block is valid memory; `Mmio` refuses the misaligned base anyway.
        let mut regs = unsafe { Mmio::new(base, 4) };
        regs.write(0, 0xffff_ffff);
        assert_eq!(regs.read(0), 0);
        assert_eq!(block, [0, 0]);
    }
}
