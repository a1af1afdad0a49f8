//! The embassy glue's receive path: one frame through `McastDriver` beside the same
//! frame through the bare driver, in one run (`receive/<frame>/<path>`).
//!
//! - `unicast`: a 60-octet UDP frame to the station's MAC (passes without the mutex);
//! - `joined`: to 239.1.2.3, a joined group (the mutex and the FilterSet's check);
//! - `unjoined`: to 239.2.0.253, its LAN9118 hash-bin neighbour, which the NIC passes
//!   and the glue drops (the stack gets an empty frame).
//!
//! Two bare drivers, each measured beside the same driver wrapped:
//!
//! - `bare`: a token over one buffer that is never refilled, which costs nothing per
//!   frame: the wrapper's own cost, in the dearest proportion;
//! - `channel_bare`: embassy-net-driver-channel 0.4, on which real embassy drivers
//!   (cyw43, esp-wifi and others) are built. Each iteration does what such a driver and
//!   the stack do per frame: the driver's runner takes a free receive buffer, copies the
//!   frame into it (out of the chip's FIFO or DMA buffer) and marks it done; the stack
//!   takes the receive token and consumes it, which hands the buffer back.
//!
//! `consume` reads the frame's length, as the stack would start to. The mutex is the default
//! `CriticalSectionRawMutex`, which on a host is critical-section's std implementation
//! (a global reentrant lock): dearer than masking interrupts on a microcontroller.
//! `<frame>/wrapped_noop_mutex` (and `channel_wrapped_noop_mutex`) is the same behind
//! `NoopRawMutex`, which costs nothing.
//!
//! Run with `cargo bench --bench glue --features embassy`.

use std::hint::black_box;
use std::task::{Context, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};
use embassy_net_driver_channel as channel;
use embassy_sync::blocking_mutex::raw::{NoopRawMutex, RawMutex};
use mcast::MacAddr;
use mcast::filter::{Capabilities as FilterCaps, FilterError, HashScheme, MulticastFilter, Program};
use mcast::glue::embassy::{McastDriver, McastHandle};
use mcast::membership::HostConfig;

const LAN9118: FilterCaps = FilterCaps::new(0, Some(HashScheme::Lan9118), true);
const STATION: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

/// A driver that always has the same frame to give.
struct Always {
    frame: [u8; 60],
}

struct Rx<'a>(&'a mut [u8]);
struct Tx;

impl RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl TxToken for Tx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = [0u8; 1514];
        f(&mut buf[..len.min(1514)])
    }
}

impl Driver for Always {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx;

    fn receive(&mut self, _: &mut Context) -> Option<(Rx<'_>, Tx)> {
        Some((Rx(&mut self.frame), Tx))
    }

    fn transmit(&mut self, _: &mut Context) -> Option<Tx> {
        Some(Tx)
    }

    fn link_state(&mut self, _: &mut Context) -> LinkState {
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(STATION)
    }
}

struct Nic;

impl MulticastFilter for Nic {
    type Error = FilterError;

    fn capabilities(&self) -> FilterCaps {
        LAN9118
    }

    fn apply(&mut self, _: &Program) -> nb::Result<(), FilterError> {
        Ok(())
    }
}

fn frame_to(dst: [u8; 6]) -> [u8; 60] {
    let mut f = [0u8; 60];
    f[..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 9]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[23] = 17;
    f
}

fn one_frame<D: Driver>(driver: &mut D, cx: &mut Context) -> usize {
    let (rx, _tx) = driver.receive(cx).unwrap();
    rx.consume(|frame| black_box(frame.len()))
}

/// The channel's MTU: a whole Ethernet frame, as cyw43 and esp-wifi use.
const MTU: usize = 1514;

/// A channel driver over buffers that live as long as the benchmark.
fn channel_driver() -> (channel::Runner<'static, MTU>, channel::Device<'static, MTU>) {
    let state = Box::leak(Box::new(channel::State::<MTU, 4, 4>::new()));
    channel::new(state, HardwareAddress::Ethernet(STATION))
}

/// What a real driver does for one received frame: copies it into a free buffer of the
/// channel and hands it on.
fn deliver(runner: &mut channel::Runner<'static, MTU>, frame: &[u8]) {
    let buf = runner.try_rx_buf().unwrap();
    buf[..frame.len()].copy_from_slice(frame);
    runner.rx_done(frame.len());
}

/// One frame from the chip's side of a channel driver to the stack's, through `driver`.
fn channel_frame<D: Driver>(
    runner: &mut channel::Runner<'static, MTU>,
    driver: &mut D,
    frame: &[u8],
    cx: &mut Context,
) -> usize {
    deliver(runner, black_box(frame));
    one_frame(driver, cx)
}

/// A channel driver wrapped with `handle`.
fn channel_wrapped<M: RawMutex>(
    handle: &McastHandle<8, M>,
) -> (channel::Runner<'static, MTU>, McastDriver<'_, channel::Device<'static, MTU>, Nic, 8, M>) {
    let (runner, device) = channel_driver();
    (runner, McastDriver::new(device, Nic, handle).unwrap())
}

fn receive(c: &mut Criterion) {
    let mut cx = Context::from_waker(Waker::noop());
    let cases = [
        ("unicast", STATION),
        ("joined", MacAddr([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]).0),
        ("unjoined", MacAddr([0x01, 0x00, 0x5e, 0x02, 0x00, 0xfd]).0),
    ];
    let handle: McastHandle<8> = McastHandle::new(LAN9118, HostConfig::default(), 1).unwrap();
    handle.join([239, 1, 2, 3]).unwrap();
    // The same behind `NoopRawMutex`, for one executor: the price of the lock itself.
    let local: McastHandle<8, NoopRawMutex> = McastHandle::new(LAN9118, HostConfig::default(), 1).unwrap();
    local.join([239, 1, 2, 3]).unwrap();
    let mut group = c.benchmark_group("receive");
    for (name, dst) in cases {
        let mut bare = Always { frame: frame_to(dst) };
        group.bench_function(format!("{name}/bare"), |b| b.iter(|| one_frame(&mut bare, &mut cx)));
        let mut wrapped = McastDriver::new(Always { frame: frame_to(dst) }, Nic, &handle).unwrap();
        let expected = if name == "unjoined" { 0 } else { 60 };
        assert_eq!(one_frame(&mut wrapped, &mut cx), expected, "{name}");
        group.bench_function(format!("{name}/wrapped"), |b| b.iter(|| one_frame(&mut wrapped, &mut cx)));
        let mut noop = McastDriver::new(Always { frame: frame_to(dst) }, Nic, &local).unwrap();
        group.bench_function(format!("{name}/wrapped_noop_mutex"), |b| b.iter(|| one_frame(&mut noop, &mut cx)));

        let frame = frame_to(dst);
        let (mut runner, mut bare) = channel_driver();
        assert_eq!(channel_frame(&mut runner, &mut bare, &frame, &mut cx), 60);
        group.bench_function(format!("{name}/channel_bare"), |b| {
            b.iter(|| channel_frame(&mut runner, &mut bare, &frame, &mut cx))
        });
        let (mut runner, mut wrapped) = channel_wrapped(&handle);
        assert_eq!(channel_frame(&mut runner, &mut wrapped, &frame, &mut cx), expected, "{name}");
        group.bench_function(format!("{name}/channel_wrapped"), |b| {
            b.iter(|| channel_frame(&mut runner, &mut wrapped, &frame, &mut cx))
        });
        let (mut runner, mut noop) = channel_wrapped(&local);
        group.bench_function(format!("{name}/channel_wrapped_noop_mutex"), |b| {
            b.iter(|| channel_frame(&mut runner, &mut noop, &frame, &mut cx))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = receive
}
criterion_main!(benches);
