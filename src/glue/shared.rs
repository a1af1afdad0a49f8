//! What the stack glues have in common, whatever the stack: the look at a received
//! frame, the IGMP test, the group check, and [`NoFilter`].

use core::net::Ipv4Addr;

use crate::addr::{GroupAddr, MacAddr};
use crate::filter::{Capabilities, FilterSet, MulticastFilter, Program};
use crate::membership::{Host, Instant, IpMeta, MembershipError};
use crate::wire::frame::Frame;
use crate::wire::{EtherType, ethernet, ipv4};

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
        Capabilities { exact_slots: 0, hash: None, pass_all_multicast: true }
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
}

/// Looks at one received frame: hands IGMP to the Host, says what becomes of the frame.
/// Only IPv4 multicast MACs are filtered; every other frame passes.
pub(crate) fn classify<const N: usize>(host: &mut Host<N>, set: &FilterSet<N>, now: Instant, frame: &[u8]) -> Rx {
    if is_igmp(frame) {
        return match Frame::parse(frame) {
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

/// The destination MAC of an Ethernet frame, if it is long enough to have one.
pub(crate) fn destination(frame: &[u8]) -> Option<MacAddr> {
    let &[a, b, c, d, e, f] = frame.get(ethernet::field::DST)? else { return None };
    Some(MacAddr([a, b, c, d, e, f]))
}

/// Whether an Ethernet frame carries IPv4 with protocol 2 (IGMP), whatever else is in
/// it: a cheap look at two fields, before the full [`Frame::parse`].
pub(crate) fn is_igmp(frame: &[u8]) -> bool {
    let ethertype = EtherType::IPV4.0.to_be_bytes();
    frame.get(ethernet::field::ETHERTYPE) == Some(&ethertype[..])
        && frame.get(ethernet::HEADER_LEN + ipv4::field::PROTOCOL) == Some(&ipv4::PROTOCOL_IGMP)
}

/// Checks that `addr` is a group one can join.
pub(crate) fn joinable(addr: Ipv4Addr) -> Result<GroupAddr, MembershipError> {
    let group = GroupAddr::from_ipv4(addr).map_err(|_| MembershipError::NotMulticast)?;
    if group.is_joinable() { Ok(group) } else { Err(MembershipError::NotJoinable) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::OverflowPolicy;
    use crate::membership::HostConfig;

    #[test]
    fn igmp_is_recognised_by_ethertype_and_protocol_only() {
        let mut frame = [0u8; 24];
        frame[12] = 0x08;
        frame[23] = 2;
        assert!(is_igmp(&frame));
        assert!(!is_igmp(&frame[..23]), "too short to carry a protocol field");
        frame[23] = 17;
        assert!(!is_igmp(&frame));
        frame[23] = 2;
        frame[12] = 0x86;
        frame[13] = 0xdd;
        assert!(!is_igmp(&frame));
        assert!(!is_igmp(&[]));
    }

    #[test]
    fn classification_never_panics_on_short_frames() {
        let mut host: Host<4> = Host::new(HostConfig::default(), 1).unwrap();
        let set: FilterSet<4> = FilterSet::new(NoFilter.capabilities(), OverflowPolicy::AllMulticast).unwrap();
        let mut igmp = [0u8; 64];
        igmp[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
        igmp[12] = 0x08;
        igmp[23] = 2;
        for len in 0..=igmp.len() {
            let rx = classify(&mut host, &set, Instant::ZERO, &igmp[..len]);
            let expected = if len < 24 { Rx::Pass } else { Rx::Malformed };
            assert_eq!(rx, expected, "length {len}");
        }
        // A group's MAC not in the set is filtered, down to a frame of 6 octets.
        let other = [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03];
        assert_eq!(classify(&mut host, &set, Instant::ZERO, &other), Rx::Filtered);
        assert_eq!(classify(&mut host, &set, Instant::ZERO, &other[..5]), Rx::Pass);
    }
}
