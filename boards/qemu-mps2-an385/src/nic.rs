//! The LAN9118's packet I/O (its TX and RX FIFOs, in `lan9118.rs`) as a smoltcp
//! `phy::Device`, and a millisecond clock from its free-running counter.

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::lan9118::{self, MTU, RX_BUF, Rx};

/// The free-running counter's ticks per millisecond.
const TICKS_PER_MS: u32 = lan9118::FREE_RUN_HZ / 1000;

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
        let id = lan9118::init(mac, pass_all_multicast)?;
        Ok((Nic { rx: [0; RX_BUF], tx: [0; MTU], stats: NicStats::default() }, id))
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
            match lan9118::receive(&mut self.rx)? {
                Rx::Error => self.stats.rx_errors = self.stats.rx_errors.wrapping_add(1),
                Rx::Frame(len) => {
                    self.stats.rx_frames = self.stats.rx_frames.wrapping_add(1);
                    let frame = &self.rx[..len];
                    return Some((RxToken { frame }, TxToken { tx: &mut self.tx, stats: &mut self.stats }));
                }
            }
        }
    }

    fn transmit(&mut self, _: Instant) -> Option<TxToken<'_>> {
        if !lan9118::tx_room() {
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
        lan9118::transmit(frame);
        self.stats.tx_frames = self.stats.tx_frames.wrapping_add(1);
        result
    }
}

/// The raw value of the 25 MHz free-running counter (see `lan9118::free_running`).
#[cfg_attr(not(feature = "glue"), allow(dead_code))] // the seed of the glue's Host
pub fn free_running() -> u32 {
    lan9118::free_running()
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
        Clock { last: lan9118::free_running(), ticks: 0, millis: 0 }
    }

    /// The time now.
    pub fn now(&mut self) -> Instant {
        let raw = lan9118::free_running();
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
