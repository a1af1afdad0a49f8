//! [`McastDriver`]: the embassy-net-driver `Driver` wrapper, and its tokens.

use core::future::Future;
use core::net::Ipv4Addr;
use core::pin::Pin;
use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState};
use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, RawMutex};
use embassy_time::Timer;

use super::Error;
use super::handle::{McastHandle, now};
use super::sniff::{self, Seen};
use crate::addr::MacAddr;
use crate::filter::{DriverError, MulticastFilter};
use crate::glue::shared::destination;
use crate::membership::{Instant, bump};
use crate::wire::frame::{self, is_igmp};
use crate::wire::{EtherType, ethernet, ipv4};

/// Frames up to this long are staged on transmit to be checked for IGMP before they
/// reach the real driver (smoltcp 0.13's IGMP frames are 42 octets).
const STAGE_LEN: usize = 64;
/// How long to wait before giving a busy NIC its program again.
const NIC_BUSY_RETRY_MS: u64 = 1;
/// How long to wait before giving a NIC that failed its program again.
const NIC_ERROR_RETRY_MS: u64 = 100;

/// What the transmit path last told the handle, so that a frame that teaches nothing
/// new does not take the mutex.
#[derive(Debug, Clone, Copy, Default)]
struct Known {
    /// The IPv4 address the Host has.
    ipv4: Option<Ipv4Addr>,
    /// The last solicited-node MAC learned from an IPv6 source.
    ipv6: Option<MacAddr>,
}

/// An embassy-net-driver [`Driver`] that runs IGMP with the handle's
/// [`Host`](crate::membership::Host) and filters multicast with its
/// [`FilterSet`](crate::filter::FilterSet) and the NIC filter `F`, in front of the real
/// driver `D`. Give it to `embassy_net::new` in place of `D`. See the
/// [module docs](super).
pub struct McastDriver<'h, D, F: MulticastFilter, const N: usize, M: RawMutex = CriticalSectionRawMutex> {
    inner: D,
    filter: F,
    handle: &'h McastHandle<N, M>,
    /// A Host message, framed, the real driver had no token for.
    pending_tx: Option<[u8; frame::V2_FRAME_LEN]>,
    /// When to give the NIC its pending program again, after a busy or failed `apply`.
    nic_retry_at: Option<Instant>,
    nic_error: Option<F::Error>,
    link_up: bool,
    known: Known,
}

impl<'h, D: Driver, F: MulticastFilter, const N: usize, M: RawMutex> McastDriver<'h, D, F, N, M> {
    /// Wraps `inner`, whose multicast filter is `filter`, with the state in `handle`
    /// (made for `filter`'s capabilities). The NIC is programmed on the stack's first
    /// poll; the Host's frames are sent from `inner`'s hardware address.
    ///
    /// Fails with [`Error::NotEthernet`] if `inner` is not an Ethernet driver, and with
    /// [`Error::FilterMismatch`] if `handle` was made for other capabilities than
    /// `filter`'s.
    pub fn new(inner: D, filter: F, handle: &'h McastHandle<N, M>) -> Result<Self, Error> {
        if !matches!(inner.hardware_address(), HardwareAddress::Ethernet(_)) {
            return Err(Error::NotEthernet);
        }
        let HardwareAddress::Ethernet(station) = inner.hardware_address() else { return Err(Error::NotEthernet) };
        if handle.with(|s| *s.set.capabilities()) != filter.capabilities() {
            return Err(Error::FilterMismatch);
        }
        handle.with(|s| s.station = MacAddr(station));
        Ok(McastDriver {
            inner,
            filter,
            handle,
            pending_tx: None,
            nic_retry_at: None,
            nic_error: None,
            link_up: false,
            known: Known::default(),
        })
    }

    /// The membership duties, once per poll of the stack: notes the link going up,
    /// programs the NIC, sends the Host's messages that are due, and sets a timer for
    /// the next deadline.
    fn service(&mut self, cx: &mut Context<'_>, up: bool) {
        let t = now();
        let came_up = up && !self.link_up;
        self.link_up = up;
        let known = &mut self.known;
        let program = self.handle.with(|s| {
            s.waker.register(cx.waker());
            if came_up {
                s.host.link_up(t);
            }
            known.ipv4 = s.host.address().map(|a| a.0);
            if known.ipv6.is_some_and(|mac| !s.knows_ipv6_mac(mac)) {
                known.ipv6 = None;
            }
            (!s.nic_in_sync()).then(|| s.program())
        });
        if let Some((generation, program)) = program
            && self.nic_retry_at.is_none_or(|at| at <= t)
        {
            self.apply(t, generation, &program);
        }
        self.transmit_host_messages(cx, t);
        if self.pending_tx.is_some() {
            // The real driver wakes the stack when it has a token again.
            return;
        }
        let host_at = self.handle.with(|s| s.host.poll_at());
        let at = match (host_at, self.nic_retry_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = at {
            // A new timer is never ready on its first poll: it only schedules the wake.
            let mut timer = Timer::at(embassy_time::Instant::from_millis(at.total_millis()));
            if Pin::new(&mut timer).poll(cx).is_ready() {
                cx.waker().wake_by_ref();
            }
        }
    }

    fn apply(&mut self, t: Instant, generation: u32, program: &crate::filter::Program) {
        let result = self.filter.apply(program);
        let (retry, error) = match &result {
            Ok(()) => (None, None),
            Err(nb::Error::WouldBlock) => (Some(t.add_millis(NIC_BUSY_RETRY_MS)), None),
            Err(nb::Error::Other(e)) => (Some(t.add_millis(NIC_ERROR_RETRY_MS)), Some(e.kind())),
        };
        self.nic_retry_at = retry;
        self.handle.with(|s| match &result {
            Ok(()) => {
                bump(&mut s.stats.nic_applied);
                s.applied = Some(generation);
                s.nic_error = None;
            }
            Err(nb::Error::WouldBlock) => bump(&mut s.stats.nic_busy),
            Err(nb::Error::Other(_)) => {
                bump(&mut s.stats.nic_errors);
                s.nic_error = error;
            }
        });
        match result {
            Ok(()) => self.nic_error = None,
            Err(nb::Error::Other(e)) => self.nic_error = Some(e),
            Err(nb::Error::WouldBlock) => {}
        }
    }

    fn transmit_host_messages(&mut self, cx: &mut Context<'_>, t: Instant) {
        let HardwareAddress::Ethernet(mac) = self.inner.hardware_address() else { return };
        let mac = MacAddr(mac);
        loop {
            let frame = match self.pending_tx.take() {
                Some(frame) => frame,
                // The Host sends IGMPv1/v2 messages only, which `build_v2` always frames.
                None => match self.handle.with(|s| s.host.poll_transmit(t)) {
                    Some(tx) => match frame::build_v2(&tx.message, mac, tx.source) {
                        Some(frame) => frame,
                        None => continue,
                    },
                    None => return,
                },
            };
            let Some(token) = self.inner.transmit(cx) else {
                self.handle.with(|s| bump(&mut s.stats.tx_deferred));
                self.pending_tx = Some(frame);
                return;
            };
            embassy_net_driver::TxToken::consume(token, frame.len(), |buf| {
                // A driver that gives a shorter buffer sends nothing rather than panic.
                if let Some(buf) = buf.get_mut(..frame.len()) {
                    buf.copy_from_slice(&frame);
                }
            });
            self.handle.with(|s| bump(&mut s.stats.tx_igmp));
        }
    }
}

impl<'h, D, F: MulticastFilter, const N: usize, M: RawMutex> McastDriver<'h, D, F, N, M> {
    /// The handle the driver shares with the application.
    pub fn handle(&self) -> &'h McastHandle<N, M> {
        self.handle
    }

    /// The real driver.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The real driver, mutably (to service it; its frames should keep flowing through
    /// the wrapper).
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// The NIC filter.
    pub fn filter(&self) -> &F {
        &self.filter
    }

    /// The last error the NIC filter returned, if the program it refused is still
    /// pending. Cleared once a program is applied.
    pub fn nic_error(&self) -> Option<&F::Error> {
        self.nic_error.as_ref()
    }

    /// The real driver and the NIC filter back.
    pub fn into_parts(self) -> (D, F) {
        (self.inner, self.filter)
    }
}

impl<D: core::fmt::Debug, F, const N: usize, M: RawMutex> core::fmt::Debug for McastDriver<'_, D, F, N, M>
where
    F: MulticastFilter + core::fmt::Debug,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("McastDriver")
            .field("inner", &self.inner)
            .field("filter", &self.filter)
            .field("handle", self.handle)
            .field("pending_tx", &self.pending_tx)
            .field("nic_error", &self.nic_error)
            .field("link_up", &self.link_up)
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl<D, F: MulticastFilter, const N: usize, M: RawMutex> defmt::Format for McastDriver<'_, D, F, N, M> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "McastDriver {{ handle: {}, pending_tx: {}, link_up: {} }}",
            self.handle,
            self.pending_tx.is_some(),
            self.link_up
        )
    }
}

impl<D: Driver, F: MulticastFilter, const N: usize, M: RawMutex> Driver for McastDriver<'_, D, F, N, M> {
    type RxToken<'a>
        = RxToken<'a, D::RxToken<'a>, N, M>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, D::TxToken<'a>, N, M>
    where
        Self: 'a;

    #[inline]
    fn receive(&mut self, cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let (rx, tx) = self.inner.receive(cx)?;
        let handle = self.handle;
        Some((RxToken { inner: rx, handle }, TxToken { inner: tx, handle, known: &mut self.known }))
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<Self::TxToken<'_>> {
        let tx = self.inner.transmit(cx)?;
        Some(TxToken { inner: tx, handle: self.handle, known: &mut self.known })
    }

    /// The real driver's link state. embassy-net asks for it once per poll of the
    /// stack, after the stack's own work: the wrapper does its own duties here.
    fn link_state(&mut self, cx: &mut Context) -> LinkState {
        let state = self.inner.link_state(cx);
        self.service(cx, state == LinkState::Up);
        state
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn hardware_address(&self) -> HardwareAddress {
        self.inner.hardware_address()
    }
}

/// The receive token of a [`McastDriver`]: the real driver's, classified on
/// consumption. IGMP goes to the Host and unwanted IPv4 multicast is dropped; the stack
/// then gets an empty frame, which it discards without reading.
pub struct RxToken<'a, T, const N: usize, M: RawMutex> {
    inner: T,
    handle: &'a McastHandle<N, M>,
}

impl<T: embassy_net_driver::RxToken, const N: usize, M: RawMutex> embassy_net_driver::RxToken for RxToken<'_, T, N, M> {
    #[inline]
    fn consume<R, G>(self, f: G) -> R
    where
        G: FnOnce(&mut [u8]) -> R,
    {
        let RxToken { inner, handle } = self;
        // One call of `f` (the stack's whole receive path), whatever the verdict.
        inner.consume(|frame| f(if wanted(handle, frame) { frame } else { &mut [] }))
    }
}

/// Whether the stack gets a received frame: the [`common`] frames pass at once,
/// everything else is [`wanted_rare`]'s.
#[inline]
fn wanted<const N: usize, M: RawMutex>(handle: &McastHandle<N, M>, frame: &[u8]) -> bool {
    common(frame) || wanted_rare(handle, frame)
}

/// Whether a received frame is one the stack gets without a further look: untagged
/// IPv4 that is not IGMP, ARP, IPv6 or any other untagged EtherType, at a MAC that is
/// not an IPv4 group's. Three fields of the first [`HEAD_LEN`] octets decide; `false`
/// says only that [`wanted_rare`] must look.
#[inline(always)]
fn common(frame: &[u8]) -> bool {
    let Some(head) = frame.first_chunk::<HEAD_LEN>() else { return false };
    // Each field is one load, compared in the machine's byte order with a constant in
    // the same order. Untagged IPv4 is IGMP with protocol 2, whatever its destination
    // (a Wi-Fi access point sends queries to the station's own MAC); no other
    // EtherType but a tag's carries IGMP.
    let ethertype = u16::from_ne_bytes([head[12], head[13]]);
    let no_igmp = if ethertype == u16::from_ne_bytes(EtherType::IPV4.0.to_be_bytes()) {
        head[HEAD_LEN - 1] != ipv4::PROTOCOL_IGMP
    } else {
        !EtherType(u16::from_be(ethertype)).is_vlan_tag()
    };
    // An IPv4 group's MAC: 01:00:5e and a clear high bit in the fourth octet.
    let (dst, _) = head.split_first_chunk::<4>().unwrap_or((&[0; 4], &[]));
    let dst = u32::from_ne_bytes(*dst);
    let group = dst & u32::from_ne_bytes([0xff, 0xff, 0xff, 0x80]) == u32::from_ne_bytes([0x01, 0x00, 0x5e, 0x00]);
    no_igmp && !group
}

/// Octets [`common`] reads at most: the Ethernet header and an untagged IPv4 header up
/// to its protocol field.
const HEAD_LEN: usize = ethernet::HEADER_LEN + ipv4::field::PROTOCOL + 1;

/// [`wanted`] for every frame that is not [`common`]: IGMP, IPv4 multicast, tagged
/// frames and frames shorter than [`HEAD_LEN`]. Only IGMP and IPv4 multicast take the
/// mutex. Out of line, so that the common case stays small wherever it is inlined.
#[inline(never)]
fn wanted_rare<const N: usize, M: RawMutex>(handle: &McastHandle<N, M>, frame: &[u8]) -> bool {
    let igmp = is_igmp(frame);
    if !igmp && !destination(frame).is_some_and(MacAddr::is_ipv4_multicast) {
        return true;
    }
    // Only the Host needs the time, and only for IGMP: reading the clock is dear on a
    // host (a system call) and not free on a microcontroller.
    let t = if igmp { now() } else { Instant::ZERO };
    handle.with(|s| s.receive(t, frame))
}

/// The transmit token of a [`McastDriver`]: the real driver's, with the stack's IGMP
/// dropped (and learned from), and the stack's addresses read on the way out.
pub struct TxToken<'a, T, const N: usize, M: RawMutex> {
    inner: T,
    handle: &'a McastHandle<N, M>,
    known: &'a mut Known,
}

impl<T: embassy_net_driver::TxToken, const N: usize, M: RawMutex> embassy_net_driver::TxToken for TxToken<'_, T, N, M> {
    fn consume<R, G>(self, len: usize, f: G) -> R
    where
        G: FnOnce(&mut [u8]) -> R,
    {
        let TxToken { inner, handle, known } = self;
        let mut stage = [0u8; STAGE_LEN];
        match stage.get_mut(..len) {
            Some(staged) => {
                let result = f(staged);
                forward_unless_igmp(inner, staged, handle, known);
                result
            }
            None => inner.consume(len, |buf| {
                let result = f(buf);
                learn(handle, known, buf);
                result
            }),
        }
    }
}

/// Sends a staged frame through `inner` unless it is IGMP, which the handle learns from
/// instead. Apart from `consume`, which is instantiated once per call site, so that
/// this part exists once.
#[inline(never)]
fn forward_unless_igmp<T, const N: usize, M>(inner: T, staged: &[u8], handle: &McastHandle<N, M>, known: &mut Known)
where
    T: embassy_net_driver::TxToken,
    M: RawMutex,
{
    if is_igmp(staged) {
        handle.with(|s| s.stack_igmp(now(), staged));
        return;
    }
    learn(handle, known, staged);
    inner.consume(staged.len(), |buf| {
        for (to, from) in buf.iter_mut().zip(staged) {
            *to = *from;
        }
    });
}

/// Reads what a frame of the stack tells about its addresses; takes the mutex only when
/// that is new.
fn learn<const N: usize, M: RawMutex>(handle: &McastHandle<N, M>, known: &mut Known, frame: &[u8]) {
    let seen = match sniff::ipv6_source(frame) {
        // The common case of IPv6, a known source and no MLD, reads no further.
        Some(source) if known.ipv6 == Some(sniff::solicited_node_mac(source)) && !sniff::is_mld_report(frame) => {
            return;
        }
        _ => match sniff::stack_frame(frame) {
            Some(seen) => seen,
            None => return,
        },
    };
    match seen {
        Seen::Ipv4Source(addr) if known.ipv4 == Some(addr) => return,
        Seen::Ipv4Source(addr) => known.ipv4 = Some(addr),
        Seen::Ipv6Macs([first, ..]) => {
            if first.is_some() {
                known.ipv6 = first;
            }
        }
    }
    handle.with(|s| s.stack_frame(now(), seen));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`wanted_rare`] passes without the mutex: no IGMP, no IPv4 group's MAC.
    fn passes_without_a_look(frame: &[u8]) -> bool {
        !is_igmp(frame) && !destination(frame).is_some_and(MacAddr::is_ipv4_multicast)
    }

    /// A frame to `dst`, behind `tags`, with `ethertype` and, for IPv4, `protocol`.
    fn frame_of(dst: [u8; 6], tags: &[u16], ethertype: u16, protocol: u8) -> ([u8; 64], usize) {
        let mut f = [0u8; 64];
        f[..6].copy_from_slice(&dst);
        f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 9]);
        let mut at = 12;
        for &tpid in tags {
            f[at..at + 2].copy_from_slice(&tpid.to_be_bytes());
            f[at + 2..at + 4].copy_from_slice(&[0, 5]);
            at += 4;
        }
        f[at..at + 2].copy_from_slice(&ethertype.to_be_bytes());
        f[at + 2] = 0x45;
        f[at + 2 + 9] = protocol;
        (f, at + 2 + 20)
    }

    #[test]
    fn the_common_case_passes_only_frames_the_full_look_passes() {
        let dsts = [
            [0x02, 0, 0, 0, 0, 2],
            [0xff; 6],
            [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03],
            [0x01, 0x00, 0x5e, 0x7f, 0xff, 0xff],
            [0x01, 0x00, 0x5e, 0x80, 0x00, 0x01],
            [0x01, 0x00, 0x5f, 0x01, 0x02, 0x03],
            [0x33, 0x33, 0, 0, 0, 1],
        ];
        let tags: [&[u16]; 5] = [&[], &[0x8100], &[0x88a8, 0x8100], &[0x9100], &[0x8100, 0x8100, 0x8100]];
        let ethertypes = [0x0800, 0x0806, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x1234, 0x0000];
        let mut common_seen = 0;
        for dst in dsts {
            for tags in tags {
                for ethertype in ethertypes {
                    for protocol in [2, 17, 0] {
                        let (f, len) = frame_of(dst, tags, ethertype, protocol);
                        for end in [0, 6, 13, 14, 23, 24, 25, len, 64] {
                            let frame = &f[..end];
                            if common(frame) {
                                common_seen += 1;
                                assert!(passes_without_a_look(frame), "{frame:02x?}");
                            }
                        }
                    }
                }
            }
        }
        assert!(common_seen > 0);
    }

    #[test]
    fn untagged_unicast_arp_and_ipv6_are_common_igmp_and_groups_are_not() {
        const STATION: [u8; 6] = [0x02, 0, 0, 0, 0, 2];
        let is_common = |dst, tags: &[u16], ethertype, protocol| {
            let (f, len) = frame_of(dst, tags, ethertype, protocol);
            common(&f[..len])
        };
        assert!(is_common(STATION, &[], 0x0800, 17), "IPv4 UDP");
        assert!(is_common([0xff; 6], &[], 0x0806, 0), "ARP");
        assert!(is_common([0x33, 0x33, 0, 0, 0, 1], &[], 0x86dd, 0), "IPv6");
        assert!(!is_common(STATION, &[], 0x0800, 2), "IGMP at the station's MAC");
        assert!(!is_common(STATION, &[0x8100], 0x0800, 17), "tagged");
        assert!(!is_common([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03], &[], 0x0800, 17), "an IPv4 group");
        assert!(!common(&[0u8; HEAD_LEN - 1]), "short");
    }
}
