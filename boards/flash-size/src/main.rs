//! Firmware whose only purpose is to be measured.
//!
//! Both variants read a received frame from a RAM buffer with volatile reads (as if a
//! MAC's DMA had written it), do some work on it, and write results back with volatile
//! writes, forever. The baseline only copies and folds the bytes. With `with-mcast`
//! the same firmware also parses the frame with `FrameRepr::parse`, acts on a query, builds
//! a report with `frame::build`, maps a group to its MAC and classifies its scope, so
//! the linker keeps the code a host needs. The size difference between the two is what
//! `mcast::addr` and `mcast::wire` cost.

#![no_std]
#![no_main]

use core::panic::PanicInfo;
use core::ptr;

use cortex_m_rt::entry;

const BUF_LEN: usize = 64;

/// Receive buffer and the length of the frame in it, written by "hardware".
static mut RX: [u8; BUF_LEN] = [0; BUF_LEN];
static mut RX_LEN: u8 = 0;
/// Transmit buffer and its length, read by "hardware".
static mut TX: [u8; BUF_LEN] = [0; BUF_LEN];
static mut TX_LEN: u8 = 0;
/// Anything else the work produces.
static mut SINK: u32 = 0;

fn receive(buf: &mut [u8; BUF_LEN]) -> usize {
    let rx = &raw const RX;
    for (i, b) in buf.iter_mut().enumerate() {
        // SAFETY: RX is a valid static; volatile so the compiler cannot predict it.
        *b = unsafe { ptr::read_volatile(rx.cast::<u8>().add(i)) };
    }
    // SAFETY: as above.
    usize::from(unsafe { ptr::read_volatile(&raw const RX_LEN) }).min(BUF_LEN)
}

fn transmit(frame: &[u8]) {
    let tx = &raw mut TX;
    for (i, b) in frame.iter().take(BUF_LEN).enumerate() {
        // SAFETY: TX is a valid static and `i` is below its length.
        unsafe { ptr::write_volatile(tx.cast::<u8>().add(i), *b) };
    }
    // SAFETY: TX_LEN is a valid static.
    unsafe { ptr::write_volatile(&raw mut TX_LEN, frame.len().min(BUF_LEN) as u8) };
}

fn sink(value: u32) {
    // SAFETY: SINK is a valid static.
    unsafe { ptr::write_volatile(&raw mut SINK, value) };
}

/// The work both variants do: fold the received bytes and echo them.
fn baseline(buf: &[u8]) -> u32 {
    let folded = buf.iter().fold(0u32, |acc, b| acc.rotate_left(5) ^ u32::from(*b));
    transmit(buf);
    folded
}

#[cfg(feature = "with-mcast")]
fn with_mcast(buf: &[u8]) -> u32 {
    use core::net::Ipv4Addr;

    use mcast::wire::igmp::Message;
    use mcast::wire::{FrameRepr, frame};
    use mcast::{GroupAddr, MacAddr, Scope};

    const OUR_MAC: MacAddr = MacAddr([0x22, 0x44, 0x6f, 0x0d, 0x33, 0xe4]);
    const OUR_ADDR: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);

    let frame = match FrameRepr::parse(buf) {
        Ok(frame) => frame,
        // Nothing is formatted: a firmware counts errors, it does not print them.
        Err(_) => return 0x8000_0000,
    };
    let mut out = 0u32;
    // Answer a query for a group (or a general query) with a v2 report for it; take the
    // group of a report heard from another host, as a host suppressing its own would.
    let group = match frame.igmp {
        Message::V2Report { group } | Message::V1Report { group } | Message::Leave { group } => group,
        other => match other.query() {
            Some(query) => {
                out ^= query.max_resp_ms();
                query.group.unwrap_or(GroupAddr::ALL_SYSTEMS)
            }
            None => return 1,
        },
    };
    let mac = group.to_mac();
    out ^= u32::from_be_bytes([mac.0[2], mac.0[3], mac.0[4], mac.0[5]]);
    out ^= match group.scope() {
        Scope::LocalNetworkControl => 1,
        Scope::InternetworkControl => 2,
        Scope::SourceSpecific => 3,
        Scope::AdminLocal | Scope::AdminOrganizationLocal | Scope::AdminScoped => 4,
        _ => 5,
    } << 24;
    out ^= u32::from(group.is_routable()) << 28;

    let report = Message::V2Report { group };
    let mut tx = [0u8; BUF_LEN];
    if let Ok(len) = frame::build(&report, OUR_MAC, OUR_ADDR, &mut tx) {
        transmit(&tx[..len]);
    }
    out
}

/// One static of each state machine and table, never initialised or touched: `nm -S`
/// on the `type-sizes` build reports `size_of` of each on the target. `Host<2>` minus
/// `Host<1>` is the RAM one more joined group takes.
#[cfg(feature = "type-sizes")]
mod type_sizes {
    use core::mem::MaybeUninit;

    use mcast::filter::FilterSet;
    use mcast::membership::{Host, Querier};

    macro_rules! size_of {
        ($($name:ident: $type:ty),* $(,)?) => {$(
            #[used]
            #[unsafe(no_mangle)]
            static mut $name: MaybeUninit<$type> = MaybeUninit::uninit();
        )*};
    }

    size_of! {
        SIZE_OF_HOST_1: Host<1>,
        SIZE_OF_HOST_2: Host<2>,
        SIZE_OF_HOST_8: Host<8>,
        SIZE_OF_HOST_64: Host<64>,
        SIZE_OF_QUERIER_1: Querier<1>,
        SIZE_OF_QUERIER_2: Querier<2>,
        SIZE_OF_FILTER_SET_1: FilterSet<1>,
        SIZE_OF_FILTER_SET_2: FilterSet<2>,
    }
}

#[entry]
fn main() -> ! {
    let mut buf = [0u8; BUF_LEN];
    loop {
        let len = receive(&mut buf);
        let frame = &buf[..len];
        #[allow(unused_mut)]
        let mut result = baseline(frame);
        #[cfg(feature = "with-mcast")]
        {
            result ^= with_mcast(frame);
        }
        sink(result);
    }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {}
}
