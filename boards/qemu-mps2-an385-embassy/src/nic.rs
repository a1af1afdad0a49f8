//! The LAN9118's packet I/O (its TX and RX FIFOs, in `lan9118.rs`) as an async
//! embassy-net-driver `Driver`.
//!
//! Receiving is woken by the chip's interrupt: the RX status FIFO level interrupt
//! (IRQ 13 on the mps2-an385) wakes the stack's runner whenever a frame arrives.
//! Transmitting writes the frame to the TX FIFO at once; should the FIFO lack room for
//! a whole frame, the runner is woken again to retry (QEMU's LAN9118 sends each frame as
//! it is written, so it never does).

use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Context;

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::NVIC;
use cortex_m_rt::exception;
use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState};
use embassy_sync::waitqueue::AtomicWaker;

use crate::lan9118::{self, MTU, RX_BUF, Rx};

/// Woken by the LAN9118's interrupt: the runner, waiting for a frame.
static RX_WAKER: AtomicWaker = AtomicWaker::new();

/// Frames read from the RX FIFO: what the NIC's filter let through.
static RX_FRAMES: AtomicU32 = AtomicU32::new(0);
/// Frames the NIC flagged with an error, discarded.
static RX_ERRORS: AtomicU32 = AtomicU32::new(0);
/// Frames written to the TX FIFO.
static TX_FRAMES: AtomicU32 = AtomicU32::new(0);

/// What the NIC moved; the counters wrap.
#[derive(Debug, Clone, Copy, Default)]
pub struct NicStats {
    /// Frames read from the RX FIFO.
    pub rx_frames: u32,
    /// Frames the NIC flagged with an error.
    pub rx_errors: u32,
    /// Frames written to the TX FIFO.
    pub tx_frames: u32,
}

/// The counters.
pub fn stats() -> NicStats {
    NicStats {
        rx_frames: RX_FRAMES.load(Ordering::Relaxed),
        rx_errors: RX_ERRORS.load(Ordering::Relaxed),
        tx_frames: TX_FRAMES.load(Ordering::Relaxed),
    }
}

fn bump(counter: &AtomicU32) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The LAN9118's interrupt line, for the NVIC.
#[derive(Clone, Copy)]
struct Lan9118Irq;

// SAFETY: 13 is the LAN9118's interrupt number on the mps2-an385.
unsafe impl InterruptNumber for Lan9118Irq {
    fn number(self) -> u16 {
        lan9118::IRQ
    }
}

/// The LAN9118's packet I/O.
pub struct Nic {
    mac: [u8; 6],
    rx: [u8; RX_BUF],
    tx: [u8; MTU],
}

impl Nic {
    /// Resets the chip, sets `mac`, turns TX and RX on (multicast filtered by the empty
    /// hash table, or passed whole with `pass_all_multicast`) and its RX interrupt.
    /// Returns the chip's ID_REV too; if no LAN9118 answers, what its BYTE_TEST register
    /// read.
    pub fn init(mac: [u8; 6], pass_all_multicast: bool) -> Result<(Nic, u32), u32> {
        let id = lan9118::init(mac, pass_all_multicast)?;
        lan9118::enable_rx_interrupt();
        // SAFETY: the interrupt's handler (`DefaultHandler` below) only acknowledges the
        // chip and wakes a waker; no critical section relies on it being masked.
        unsafe { NVIC::unmask(Lan9118Irq) };
        Ok((Nic { mac, rx: [0; RX_BUF], tx: [0; MTU] }, id))
    }
}

impl Driver for Nic {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(RxToken<'_>, TxToken<'_>)> {
        // Registered before looking, so that a frame arriving after the look wakes us.
        RX_WAKER.register(cx.waker());
        loop {
            match lan9118::receive(&mut self.rx)? {
                Rx::Error => bump(&RX_ERRORS),
                Rx::Frame(len) => {
                    bump(&RX_FRAMES);
                    let frame = &mut self.rx[..len];
                    return Some((RxToken { frame }, TxToken { tx: &mut self.tx }));
                }
            }
        }
    }

    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<TxToken<'_>> {
        if !lan9118::tx_room() {
            cx.waker().wake_by_ref();
            return None;
        }
        Some(TxToken { tx: &mut self.tx })
    }

    fn link_state(&mut self, _: &mut Context<'_>) -> LinkState {
        // QEMU's link is always up.
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(1);
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}

/// A received frame, already out of the FIFO.
pub struct RxToken<'a> {
    frame: &'a mut [u8],
}

impl embassy_net_driver::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Room for one frame; consuming it writes the frame to the TX FIFO.
pub struct TxToken<'a> {
    tx: &'a mut [u8; MTU],
}

impl embassy_net_driver::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let frame = &mut self.tx[..len.min(MTU)];
        let result = f(frame);
        lan9118::transmit(frame);
        bump(&TX_FRAMES);
        result
    }
}

/// Every interrupt without a handler of its own; the LAN9118's is the only one enabled.
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn == lan9118::IRQ as i16 {
        lan9118::ack_rx_interrupt();
        RX_WAKER.wake();
    }
}
