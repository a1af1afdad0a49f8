//! The LAN9118's packet I/O (its TX and RX FIFOs) as a smoltcp `phy::Device`, and a
//! millisecond clock from its free-running counter.
//!
//! The multicast filter is not here: `mcast::drivers::lan9118` programs it (in the
//! `glue` build). This module only resets the chip, sets its MAC address and turns the
//! transmitter and receiver on.

use core::ptr;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// The LAN9118's registers on the mps2-an385 (and an386, an500).
const BASE: usize = 0x4020_0000;

const RX_DATA_FIFO: usize = 0x00;
const TX_DATA_FIFO: usize = 0x20;
const RX_STATUS_FIFO: usize = 0x40;
const TX_STATUS_FIFO: usize = 0x48;
const ID_REV: usize = 0x50;
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

/// RX status: error summary.
const RX_STATUS_ES: u32 = 1 << 15;
/// TX command A: first and last segment.
const TX_CMD_A_FIRST_LAST: u32 = (1 << 13) | (1 << 12);

/// The largest frame, without FCS.
pub const MTU: usize = 1514;
/// Receive buffer: a frame and its 4-octet FCS, rounded up to whole words.
const RX_BUF: usize = 1520;

/// The free-running counter's rate (25 MHz).
const TICKS_PER_MS: u32 = 25_000;

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

/// What the NIC moved; the counters wrap.
#[derive(Debug, Clone, Copy, Default)]
pub struct NicStats {
    /// Frames read from the RX FIFO: what the NIC's filter let through.
    pub rx_frames: u32,
    /// Frames the NIC flagged with an error, discarded.
    pub rx_errors: u32,
    /// Frames written to the TX FIFO.
    pub tx_frames: u32,
}

/// The LAN9118's packet I/O.
pub struct Nic {
    rx: [u8; RX_BUF],
    tx: [u8; MTU],
    stats: NicStats,
}

impl Nic {
    /// Resets the chip, sets `mac`, and turns TX and RX on, multicast filtered by the
    /// (empty) hash table, or passed whole with `pass_all_multicast`. Returns the chip's
    /// ID_REV too; if no LAN9118 answers, what its BYTE_TEST register read.
    pub fn init(mac: [u8; 6], pass_all_multicast: bool) -> Result<(Nic, u32), u32> {
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
        let nic = Nic { rx: [0; RX_BUF], tx: [0; MTU], stats: NicStats::default() };
        Ok((nic, read(ID_REV)))
    }

    /// The counters.
    pub fn stats(&self) -> NicStats {
        self.stats
    }
}

impl Device for Nic {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        loop {
            if (read(RX_FIFO_INF) >> 16) & 0xff == 0 {
                return None;
            }
            let status = read(RX_STATUS_FIFO);
            // The length counts the FCS; the FIFO holds it in whole words.
            let len = ((status >> 16) & 0x3fff) as usize;
            let words = len.div_ceil(4);
            for i in 0..words {
                let word = read(RX_DATA_FIFO).to_le_bytes();
                if let Some(dst) = self.rx.get_mut(i * 4..i * 4 + 4) {
                    dst.copy_from_slice(&word);
                }
            }
            if status & RX_STATUS_ES != 0 || !(18..=RX_BUF).contains(&len) {
                self.stats.rx_errors = self.stats.rx_errors.wrapping_add(1);
                continue;
            }
            self.stats.rx_frames = self.stats.rx_frames.wrapping_add(1);
            let frame = &self.rx[..len - 4];
            return Some((RxToken { frame }, TxToken { tx: &mut self.tx, stats: &mut self.stats }));
        }
    }

    fn transmit(&mut self, _: Instant) -> Option<TxToken<'_>> {
        // Room for a whole frame and its two command words.
        if (read(TX_FIFO_INF) & 0xffff) < (MTU + 8) as u32 {
            return None;
        }
        Some(TxToken { tx: &mut self.tx, stats: &mut self.stats })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(1);
        caps
    }
}

/// A received frame, already out of the FIFO.
pub struct RxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Room for one frame; consuming it writes the frame to the TX FIFO.
pub struct TxToken<'a> {
    tx: &'a mut [u8; MTU],
    stats: &'a mut NicStats,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(MTU);
        let frame = &mut self.tx[..len];
        let result = f(frame);
        write(TX_DATA_FIFO, TX_CMD_A_FIRST_LAST | len as u32);
        write(TX_DATA_FIFO, len as u32); // command B: tag 0, packet length
        for chunk in frame.chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            write(TX_DATA_FIFO, u32::from_le_bytes(word));
        }
        while (read(TX_FIFO_INF) >> 16) & 0xff != 0 {
            read(TX_STATUS_FIFO);
        }
        self.stats.tx_frames = self.stats.tx_frames.wrapping_add(1);
        result
    }
}

/// The raw value of the 25 MHz free-running counter, which counts from the chip's reset.
/// Where a boot reads it depends on everything before that took a variable time: the
/// PHY coming up, the semihosting output, the host's clock under QEMU.
#[cfg_attr(not(feature = "glue"), allow(dead_code))] // the seed of the glue's Host
pub fn free_running() -> u32 {
    read(FREE_RUN)
}

/// Milliseconds since the NIC's reset, from its 25 MHz free-running counter (which wraps
/// every 171 s: call `now` more often than that).
pub struct Clock {
    last: u32,
    ticks: u32,
    millis: u64,
}

impl Clock {
    /// A clock reading 0 now.
    pub fn new() -> Clock {
        Clock { last: read(FREE_RUN), ticks: 0, millis: 0 }
    }

    /// The time now.
    pub fn now(&mut self) -> Instant {
        let raw = read(FREE_RUN);
        let elapsed = raw.wrapping_sub(self.last);
        self.last = raw;
        // 32-bit divisions only: Cortex-M3 has them in hardware.
        self.millis += u64::from(elapsed / TICKS_PER_MS);
        self.ticks += elapsed % TICKS_PER_MS;
        if self.ticks >= TICKS_PER_MS {
            self.ticks -= TICKS_PER_MS;
            self.millis += 1;
        }
        Instant::from_millis(self.millis as i64)
    }
}
