//! The LAN9118 on QEMU's mps2-an385 (and an386, an500): its registers, its reset, and
//! frames in and out of its FIFOs. Both firmwares use it: this board's `nic.rs` (a
//! smoltcp `phy::Device`) and, through `#[path]`, the embassy board's (an
//! embassy-net-driver `Driver`).
//!
//! The multicast filter is not here: `mcast::drivers::lan9118` programs it. This module
//! only resets the chip, sets its MAC address, turns the transmitter and receiver on and
//! moves frames.

// Each firmware uses part of it (the interrupt is the embassy board's).
#![allow(dead_code)]

use core::ptr;

/// The LAN9118's registers on the mps2-an385.
const BASE: usize = 0x4020_0000;

const RX_DATA_FIFO: usize = 0x00;
const TX_DATA_FIFO: usize = 0x20;
const RX_STATUS_FIFO: usize = 0x40;
const TX_STATUS_FIFO: usize = 0x48;
const ID_REV: usize = 0x50;
const IRQ_CFG: usize = 0x54;
const INT_STS: usize = 0x58;
const INT_EN: usize = 0x5C;
const BYTE_TEST: usize = 0x64;
const TX_CFG: usize = 0x70;
const HW_CFG: usize = 0x74;
const RX_FIFO_INF: usize = 0x7C;
const TX_FIFO_INF: usize = 0x80;
const PMT_CTRL: usize = 0x84;
const FREE_RUN: usize = 0x9C;
const MAC_CSR_CMD: usize = 0xA4;
const MAC_CSR_DATA: usize = 0xA8;

/// Indirect MAC registers.
const MAC_CR: u32 = 1;
const ADDRH: u32 = 2;
const ADDRL: u32 = 3;

const MAC_CR_TXEN: u32 = 1 << 3;
const MAC_CR_RXEN: u32 = 1 << 2;
const MAC_CR_HPFILT: u32 = 1 << 13;
const MAC_CR_MCPAS: u32 = 1 << 19;
const MAC_CR_FDPX: u32 = 1 << 20;

/// IRQ_CFG: the IRQ pin enabled, active high, push-pull.
const IRQ_CFG_EN_HIGH_PUSH_PULL: u32 = (1 << 8) | (1 << 4) | 1;
/// INT_STS and INT_EN: the RX status FIFO holds more entries than its level (0).
const INT_RSFL: u32 = 1 << 3;

/// RX status: error summary.
const RX_STATUS_ES: u32 = 1 << 15;
/// TX command A: first and last segment.
const TX_CMD_A_FIRST_LAST: u32 = (1 << 13) | (1 << 12);

/// The largest frame, without FCS.
pub const MTU: usize = 1514;
/// Receive buffer: a frame and its 4-octet FCS, rounded up to whole words.
pub const RX_BUF: usize = 1520;

/// The free-running counter's rate: 25 MHz.
pub const FREE_RUN_HZ: u32 = 25_000_000;

/// The interrupt line of the LAN9118 on the mps2-an385 (QEMU's model: IRQ 13).
pub const IRQ: u16 = 13;

fn read(offset: usize) -> u32 {
    // SAFETY: BASE..BASE + 0x100 is the LAN9118's register block on this board; every
    // offset used is one of its 32-bit registers, read with a volatile 32-bit access.
    unsafe { ptr::read_volatile((BASE + offset) as *const u32) }
}

fn write(offset: usize, value: u32) {
    // SAFETY: as in `read`: a 32-bit register of the block, written with a volatile
    // 32-bit access.
    unsafe { ptr::write_volatile((BASE + offset) as *mut u32, value) }
}

fn mac_csr_wait() {
    while read(MAC_CSR_CMD) & (1 << 31) != 0 {}
}

fn mac_csr_write(index: u32, value: u32) {
    mac_csr_wait();
    write(MAC_CSR_DATA, value);
    write(MAC_CSR_CMD, (1 << 31) | index);
    mac_csr_wait();
}

/// Resets the chip, sets `mac`, and turns TX and RX on, multicast filtered by the
/// (empty) hash table, or passed whole with `pass_all_multicast`. Returns the chip's
/// ID_REV; if no LAN9118 answers, what its BYTE_TEST register read.
pub fn init(mac: [u8; 6], pass_all_multicast: bool) -> Result<u32, u32> {
    if read(BYTE_TEST) != 0x8765_4321 {
        return Err(read(BYTE_TEST));
    }
    write(HW_CFG, 1);
    while read(HW_CFG) & 1 != 0 {}
    while read(PMT_CTRL) & 1 == 0 {}
    mac_csr_write(ADDRL, u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]));
    mac_csr_write(ADDRH, u32::from(mac[4]) | u32::from(mac[5]) << 8);
    write(TX_CFG, 2); // TX_ON
    // PRMS (promiscuous, set at reset) cleared: only our address, broadcast and the
    // multicast hash (or all multicast) pass.
    let multicast = if pass_all_multicast { MAC_CR_MCPAS } else { 0 };
    mac_csr_write(MAC_CR, MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_FDPX | MAC_CR_HPFILT | multicast);
    Ok(read(ID_REV))
}

/// Raises the chip's interrupt line whenever a frame arrives (its RX status FIFO level
/// interrupt); [`ack_rx_interrupt`] lowers it.
pub fn enable_rx_interrupt() {
    write(INT_STS, INT_RSFL);
    write(INT_EN, INT_RSFL);
    write(IRQ_CFG, IRQ_CFG_EN_HIGH_PUSH_PULL);
}

/// Clears the RX interrupt (its status bit is write-one-to-clear).
pub fn ack_rx_interrupt() {
    write(INT_STS, INT_RSFL);
}

/// What [`receive`] found.
pub enum Rx {
    /// A frame of this many octets (without FCS) is at the start of the buffer.
    Frame(usize),
    /// A frame the chip flagged with an error, or of an impossible length: discarded.
    Error,
}

/// Takes the next frame out of the RX FIFO into `buf`, if there is one.
pub fn receive(buf: &mut [u8; RX_BUF]) -> Option<Rx> {
    if (read(RX_FIFO_INF) >> 16) & 0xff == 0 {
        return None;
    }
    let status = read(RX_STATUS_FIFO);
    // The length counts the FCS; the FIFO holds it in whole words.
    let len = ((status >> 16) & 0x3fff) as usize;
    let words = len.div_ceil(4);
    for i in 0..words {
        let word = read(RX_DATA_FIFO).to_le_bytes();
        if let Some(dst) = buf.get_mut(i * 4..i * 4 + 4) {
            dst.copy_from_slice(&word);
        }
    }
    if status & RX_STATUS_ES != 0 || !(18..=RX_BUF).contains(&len) {
        return Some(Rx::Error);
    }
    Some(Rx::Frame(len - 4))
}

/// Whether the TX FIFO has room for a whole frame and its two command words.
pub fn tx_room() -> bool {
    (read(TX_FIFO_INF) & 0xffff) >= (MTU + 8) as u32
}

/// Writes `frame` (at most [`MTU`] octets) to the TX FIFO, which sends it, and drains
/// the TX status FIFO.
pub fn transmit(frame: &[u8]) {
    let len = frame.len().min(MTU);
    write(TX_DATA_FIFO, TX_CMD_A_FIRST_LAST | len as u32);
    write(TX_DATA_FIFO, len as u32); // command B: tag 0, packet length
    for chunk in frame[..len].chunks(4) {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        write(TX_DATA_FIFO, u32::from_le_bytes(word));
    }
    while (read(TX_FIFO_INF) >> 16) & 0xff != 0 {
        read(TX_STATUS_FIFO);
    }
}

/// The raw value of the 25 MHz free-running counter, which counts from the chip's reset.
/// Where a boot reads it depends on everything before that took a variable time: the
/// PHY coming up, the semihosting output, the host's clock under QEMU.
pub fn free_running() -> u32 {
    read(FREE_RUN)
}
