//! What the stack glues have in common, whatever the stack: the look at a received
//! frame, and [`NoFilter`].

use crate::addr::MacAddr;
use crate::filter::{Capabilities, FilterSet, MulticastFilter, Program};
use crate::membership::{Host, Instant, IpMeta};
use crate::wire::{FrameRepr, VlanTag, ethernet, frame};

/// A [`MulticastFilter`] for devices without a multicast filter, or whose filter is
/// left to pass all multicast: accepts every program and does nothing. Filtering is
/// then done in software only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NoFilter;

impl MulticastFilter for NoFilter {
    type Error = core::convert::Infallible;

    /// No slot, no hash, a pass-all "bit": the FilterSet's best policy for it is
    /// [`OverflowPolicy::AllMulticast`](crate::filter::OverflowPolicy::AllMulticast).
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(0, None, true)
    }

    fn apply(&mut self, _program: &Program) -> nb::Result<(), Self::Error> {
        Ok(())
    }
}

/// What the glue does with one received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rx {
    /// The stack gets it.
    Pass,
    /// IGMP that parsed: it went to the Host.
    Igmp,
    /// IGMP that did not parse, dropped.
    Malformed,
    /// IPv4 multicast for a MAC the FilterSet does not accept, dropped.
    Filtered,
    /// IGMP at another station's unicast MAC (a NIC in promiscuous mode), dropped.
    NotOurs,
    /// IGMP tagged for a VLAN: the stack's network is untagged, dropped.
    Tagged,
}

/// Looks at one received frame: hands IGMP to the Host, says what becomes of the frame.
/// `station` is the interface's own MAC: a query there (a Wi-Fi access point turns
/// multicast into unicast) or at the broadcast MAC is the Host's too. Only IPv4
/// multicast MACs are filtered; every other frame passes.
pub(crate) fn classify<const N: usize>(
    host: &mut Host<N>,
    set: &FilterSet<N>,
    station: MacAddr,
    now: Instant,
    frame: &[u8],
) -> Rx {
    if frame::is_igmp(frame) {
        return match FrameRepr::parse(frame) {
            Ok(f) if !f.ethernet.dst.is_multicast() && f.ethernet.dst != station => Rx::NotOurs,
            Ok(f) if !untagged_network(&f) => Rx::Tagged,
            Ok(f) => {
                host.receive_message(now, &IpMeta::from(&f.ipv4), &f.igmp);
                Rx::Igmp
            }
            Err(_) => Rx::Malformed,
        };
    }
    match destination(frame) {
        Some(dst) if dst.is_ipv4_multicast() && !set.accepts(dst) => Rx::Filtered,
        _ => Rx::Pass,
    }
}

/// Whether a frame belongs to the untagged network: no tag, or priority tags only
/// (VLAN id 0).
fn untagged_network(f: &FrameRepr<'_>) -> bool {
    let priority = |tag: Option<VlanTag>| tag.is_none_or(|tag| tag.id() == 0);
    priority(f.vlan[0]) && priority(f.vlan[1])
}

/// The destination MAC of an Ethernet frame, if it is long enough to have one.
pub(crate) fn destination(frame: &[u8]) -> Option<MacAddr> {
    let &[a, b, c, d, e, f] = frame.get(ethernet::field::DST)? else { return None };
    Some(MacAddr([a, b, c, d, e, f]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::OverflowPolicy;
    use crate::membership::HostConfig;

    #[test]
    fn classification_never_panics_on_short_frames() {
        const STATION: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 2]);
        let mut host: Host<4> = Host::new(HostConfig::default(), 1).unwrap();
        let set: FilterSet<4> = FilterSet::new(NoFilter.capabilities(), OverflowPolicy::AllMulticast).unwrap();
        let mut igmp = [0u8; 64];
        igmp[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
        igmp[12] = 0x08;
        igmp[23] = 2;
        for len in 0..=igmp.len() {
            let rx = classify(&mut host, &set, STATION, Instant::ZERO, &igmp[..len]);
            let expected = if len < 24 { Rx::Pass } else { Rx::Malformed };
            assert_eq!(rx, expected, "length {len}");
        }
        // A group's MAC not in the set is filtered, down to a frame of 6 octets.
        let other = [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03];
        assert_eq!(classify(&mut host, &set, STATION, Instant::ZERO, &other), Rx::Filtered);
        assert_eq!(classify(&mut host, &set, STATION, Instant::ZERO, &other[..5]), Rx::Pass);
    }

    #[test]
    fn igmp_at_the_station_or_broadcast_is_ours_elsewhere_or_tagged_it_is_not() {
        use crate::wire::igmp::Message;
        const STATION: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 2]);
        let mut host: Host<4> = Host::new(HostConfig::default(), 1).unwrap();
        let set: FilterSet<4> = FilterSet::new(NoFilter.capabilities(), OverflowPolicy::AllMulticast).unwrap();
        let query = FrameRepr::new(
            Message::V2Query { max_resp: 10, group: None },
            MacAddr([2, 0, 0, 0, 0, 1]),
            [10, 0, 0, 1].into(),
        );
        let at = |dst: MacAddr, tag: Option<u16>| {
            let mut f = query;
            f.ethernet.dst = dst;
            f.vlan[0] = tag.map(|id| VlanTag { tpid: crate::wire::EtherType(0x8100), tci: id });
            let mut buf = [0u8; 64];
            let len = f.emit(&mut buf).unwrap();
            (buf, len)
        };
        let mut rx = |dst, tag| {
            let (buf, len) = at(dst, tag);
            classify(&mut host, &set, STATION, Instant::ZERO, &buf[..len])
        };
        assert_eq!(rx(query.ethernet.dst, None), Rx::Igmp);
        assert_eq!(rx(STATION, None), Rx::Igmp);
        assert_eq!(rx(MacAddr::BROADCAST, None), Rx::Igmp);
        assert_eq!(rx(MacAddr([0x02, 0, 0, 0, 0, 3]), None), Rx::NotOurs);
        assert_eq!(rx(query.ethernet.dst, Some(0)), Rx::Igmp, "a priority tag is no VLAN");
        assert_eq!(rx(query.ethernet.dst, Some(7)), Rx::Tagged);
        assert_eq!(host.stats().queries, 4);
    }
}
