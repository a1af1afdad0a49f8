//! Multicast addresses: IPv4 groups, Ethernet MACs, the mapping between them, scopes
//! and well-known groups.
//!
//! The facts here come from [RFC 1112 §6.4] (group → MAC), [RFC 5771] (the IPv4
//! multicast address blocks) and [RFC 2365] (administratively scoped groups).
//!
//! [RFC 1112 §6.4]: https://www.rfc-editor.org/rfc/rfc1112#section-6.4
//! [RFC 5771]: https://www.rfc-editor.org/rfc/rfc5771
//! [RFC 2365]: https://www.rfc-editor.org/rfc/rfc2365

use core::fmt;
use core::net::Ipv4Addr;
use core::num::NonZeroU32;
use core::str::FromStr;

/// Why an address could not be made into a [`GroupAddr`] or [`MacAddr`], or has no groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AddrError {
    /// The IPv4 address is outside 224.0.0.0/4.
    NotMulticast,
    /// The text is not a dotted-quad IPv4 address or a six-octet MAC address.
    InvalidSyntax,
    /// The MAC address is not in 01:00:5e:00:00:00–01:00:5e:7f:ff:ff, the range that
    /// IPv4 multicast groups map to.
    NotIpv4MulticastMac,
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddrError::NotMulticast => "not an IPv4 multicast address (224.0.0.0/4)",
            AddrError::InvalidSyntax => "invalid address syntax",
            AddrError::NotIpv4MulticastMac => "not an IPv4 multicast MAC address (01:00:5e:00:00:00/25)",
        })
    }
}

impl core::error::Error for AddrError {}

/// An IPv4 multicast group address: an address in 224.0.0.0/4.
///
/// The type is the proof: once a `GroupAddr` exists, it is multicast. The reserved base
/// address 224.0.0.0 is representable (it appears on the wire) but
/// [not joinable](GroupAddr::is_joinable).
///
/// It holds the address as a `u32`, which is never zero (every group starts with 0xe):
/// an `Option<GroupAddr>` is 4 bytes too.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupAddr(NonZeroU32);

impl GroupAddr {
    /// 224.0.0.0, the reserved base address; never a group ([RFC 5771 §4]).
    ///
    /// [RFC 5771 §4]: https://www.rfc-editor.org/rfc/rfc5771#section-4
    pub const BASE: GroupAddr = GroupAddr::in_range([224, 0, 0, 0]);
    /// 224.0.0.1, all systems on this subnet: every host is a member, always.
    pub const ALL_SYSTEMS: GroupAddr = GroupAddr::in_range([224, 0, 0, 1]);
    /// 224.0.0.2, all routers on this subnet: where IGMPv2 Leave messages go.
    pub const ALL_ROUTERS: GroupAddr = GroupAddr::in_range([224, 0, 0, 2]);
    /// 224.0.0.22, all IGMPv3-capable routers: where IGMPv3 reports go.
    pub const IGMPV3_ROUTERS: GroupAddr = GroupAddr::in_range([224, 0, 0, 22]);

    /// The group of these octets with the top four bits of the first set to 0xe, which
    /// makes it multicast and not zero.
    pub(crate) const fn in_range(octets: [u8; 4]) -> GroupAddr {
        match NonZeroU32::new((u32::from_be_bytes(octets) & 0x0fff_ffff) | 0xe000_0000) {
            Some(bits) => GroupAddr(bits),
            None => GroupAddr(NonZeroU32::MAX), // never: the top bits are set
        }
    }

    /// Makes a group from four octets, or fails if they are not in 224.0.0.0/4.
    pub const fn new(octets: [u8; 4]) -> Result<GroupAddr, AddrError> {
        GroupAddr::from_bits(u32::from_be_bytes(octets))
    }

    /// Makes a group from a `core::net::Ipv4Addr`, or fails if it is not multicast.
    pub const fn from_ipv4(addr: Ipv4Addr) -> Result<GroupAddr, AddrError> {
        GroupAddr::from_bits(addr.to_bits())
    }

    /// Makes a group from its big-endian `u32` value, or fails if it is not multicast.
    pub const fn from_bits(bits: u32) -> Result<GroupAddr, AddrError> {
        if bits >> 28 == 0xe { Ok(GroupAddr::in_range(bits.to_be_bytes())) } else { Err(AddrError::NotMulticast) }
    }

    /// The four octets, most significant first.
    pub const fn octets(self) -> [u8; 4] {
        self.0.get().to_be_bytes()
    }

    /// The address as a big-endian `u32`.
    pub const fn to_bits(self) -> u32 {
        self.0.get()
    }

    /// The address as a `core::net::Ipv4Addr`.
    pub const fn to_ipv4(self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.0.get())
    }

    /// Whether a host may join this group: every group but the reserved base 224.0.0.0.
    pub const fn is_joinable(self) -> bool {
        self.to_bits() != GroupAddr::BASE.to_bits()
    }

    /// The Ethernet address frames for this group are sent to ([RFC 1112 §6.4]):
    /// `01:00:5e` followed by the low 23 bits of the group.
    ///
    /// [RFC 1112 §6.4]: https://www.rfc-editor.org/rfc/rfc1112#section-6.4
    pub const fn to_mac(self) -> MacAddr {
        let [_, b, c, d] = self.octets();
        MacAddr([0x01, 0x00, 0x5e, b & 0x7f, c, d])
    }

    /// The block of the multicast address space this group belongs to.
    pub const fn scope(self) -> Scope {
        Scope::of(self)
    }

    /// Whether a multicast router may forward this group off the local network.
    /// Groups in 224.0.0.0/24 are never forwarded, whatever their TTL ([RFC 5771 §4]).
    ///
    /// [RFC 5771 §4]: https://www.rfc-editor.org/rfc/rfc5771#section-4
    pub const fn is_routable(self) -> bool {
        self.scope().is_routable()
    }

    /// The IANA name of a well-known group, if this is one (see [`WELL_KNOWN`]).
    pub const fn well_known_name(self) -> Option<&'static str> {
        // Binary search over the sorted table; `const fn` rules out slice::binary_search.
        let key = self.to_bits();
        let (mut lo, mut hi) = (0, WELL_KNOWN.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (group, name) = WELL_KNOWN[mid];
            let bits = group.to_bits();
            if bits == key {
                return Some(name);
            } else if bits < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        None
    }
}

impl fmt::Debug for GroupAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GroupAddr({self})")
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for GroupAddr {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", self.to_ipv4());
    }
}

impl fmt::Display for GroupAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_ipv4(), f)
    }
}

impl FromStr for GroupAddr {
    type Err = AddrError;

    /// Parses a dotted-quad address such as `239.1.2.3`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let addr = Ipv4Addr::from_str(s).map_err(|_| AddrError::InvalidSyntax)?;
        GroupAddr::from_ipv4(addr)
    }
}

impl TryFrom<Ipv4Addr> for GroupAddr {
    type Error = AddrError;
    fn try_from(addr: Ipv4Addr) -> Result<Self, Self::Error> {
        GroupAddr::from_ipv4(addr)
    }
}

impl TryFrom<[u8; 4]> for GroupAddr {
    type Error = AddrError;
    fn try_from(octets: [u8; 4]) -> Result<Self, Self::Error> {
        GroupAddr::new(octets)
    }
}

impl From<GroupAddr> for Ipv4Addr {
    fn from(group: GroupAddr) -> Ipv4Addr {
        group.to_ipv4()
    }
}

impl From<GroupAddr> for [u8; 4] {
    fn from(group: GroupAddr) -> [u8; 4] {
        group.octets()
    }
}

impl PartialEq<Ipv4Addr> for GroupAddr {
    fn eq(&self, other: &Ipv4Addr) -> bool {
        self.to_bits() == other.to_bits()
    }
}

/// A 48-bit Ethernet (IEEE 802) MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// The six octets, in transmission order.
    pub const fn octets(self) -> [u8; 6] {
        self.0
    }

    /// Whether the group bit (the least significant bit of the first octet) is set.
    /// Broadcast counts as multicast here, as it does on the wire.
    pub const fn is_multicast(self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Whether this is ff:ff:ff:ff:ff:ff.
    pub const fn is_broadcast(self) -> bool {
        let m = self.0;
        m[0] & m[1] & m[2] & m[3] & m[4] & m[5] == 0xff
    }

    /// Whether an IPv4 multicast group maps to this MAC: `01:00:5e` and a clear
    /// 25th bit.
    pub const fn is_ipv4_multicast(self) -> bool {
        self.0[0] == 0x01 && self.0[1] == 0x00 && self.0[2] == 0x5e && self.0[3] & 0x80 == 0
    }

    /// The 32 groups that map to this MAC, in ascending order, or an error if no IPv4
    /// group maps to it.
    ///
    /// Five bits of a group do not survive the mapping ([RFC 1112 §6.4]), so a NIC that
    /// accepts this MAC accepts all 32 groups.
    ///
    /// [RFC 1112 §6.4]: https://www.rfc-editor.org/rfc/rfc1112#section-6.4
    pub const fn groups(self) -> Result<GroupsOfMac, AddrError> {
        if self.is_ipv4_multicast() {
            Ok(GroupsOfMac { low23: [self.0[3], self.0[4], self.0[5]], next: 0 })
        } else {
            Err(AddrError::NotIpv4MulticastMac)
        }
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddr({self})")
    }
}

impl fmt::Display for MacAddr {
    /// Lower-case hex octets separated by colons: `01:00:5e:01:02:03`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

impl FromStr for MacAddr {
    type Err = AddrError;

    /// Parses six hex octets of one or two digits separated by `:` or `-`
    /// (`01:00:5e:01:02:03`, `01-00-5E-01-02-03`); one separator throughout.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut out = [0u8; 6];
        let mut parts = s.split(sep);
        for octet in out.iter_mut() {
            let part = parts.next().ok_or(AddrError::InvalidSyntax)?;
            if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(AddrError::InvalidSyntax);
            }
            *octet = u8::from_str_radix(part, 16).map_err(|_| AddrError::InvalidSyntax)?;
        }
        if parts.next().is_some() {
            return Err(AddrError::InvalidSyntax);
        }
        Ok(MacAddr(out))
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(octets: [u8; 6]) -> MacAddr {
        MacAddr(octets)
    }
}

impl From<GroupAddr> for MacAddr {
    fn from(group: GroupAddr) -> MacAddr {
        group.to_mac()
    }
}

/// The 32 groups that share one multicast MAC; see [`MacAddr::groups`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupsOfMac {
    low23: [u8; 3],
    next: u8,
}

impl Iterator for GroupsOfMac {
    type Item = GroupAddr;

    fn next(&mut self) -> Option<GroupAddr> {
        if self.next >= 32 {
            return None;
        }
        // The lost bits are the low nibble of the first octet and the top bit of the
        // second; counting them upwards gives the groups in ascending order.
        let k = self.next;
        self.next += 1;
        let [a, b, c] = self.low23;
        Some(GroupAddr::in_range([k >> 1, ((k & 1) << 7) | a, b, c]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = 32 - usize::from(self.next.min(32));
        (left, Some(left))
    }
}

impl ExactSizeIterator for GroupsOfMac {}
impl core::iter::FusedIterator for GroupsOfMac {}

/// The block of the IPv4 multicast space a group belongs to ([RFC 5771], [RFC 2365],
/// [RFC 4607], [RFC 3180], [RFC 6034]).
///
/// [RFC 5771]: https://www.rfc-editor.org/rfc/rfc5771
/// [RFC 2365]: https://www.rfc-editor.org/rfc/rfc2365
/// [RFC 4607]: https://www.rfc-editor.org/rfc/rfc4607
/// [RFC 3180]: https://www.rfc-editor.org/rfc/rfc3180
/// [RFC 6034]: https://www.rfc-editor.org/rfc/rfc6034
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Scope {
    /// 224.0.0.0/24, Local Network Control: link-local protocol traffic, never
    /// forwarded by routers whatever its TTL.
    LocalNetworkControl,
    /// 224.0.1.0/24, Internetwork Control: protocol traffic that may be forwarded
    /// (NTP, PTP, …).
    InternetworkControl,
    /// An AD-HOC block: 224.0.2.0–224.0.255.255 (I), 224.3.0.0–224.4.255.255 (II) or
    /// 233.252.0.0/14 (III).
    AdHoc,
    /// 224.2.0.0/16, the SDP/SAP block.
    SdpSap,
    /// 224.252.0.0/14, transient groups of the Distributed Interactive Simulation.
    DisTransient,
    /// 232.0.0.0/8, Source-Specific Multicast ([RFC 4607]).
    ///
    /// [RFC 4607]: https://www.rfc-editor.org/rfc/rfc4607
    SourceSpecific,
    /// 233.0.0.0–233.251.255.255, GLOP: groups derived from an AS number ([RFC 3180]).
    ///
    /// [RFC 3180]: https://www.rfc-editor.org/rfc/rfc3180
    Glop,
    /// 234.0.0.0/8, unicast-prefix-based groups ([RFC 6034]).
    ///
    /// [RFC 6034]: https://www.rfc-editor.org/rfc/rfc6034
    UnicastPrefixBased,
    /// 239.255.0.0/16, the IPv4 Local Scope ([RFC 2365 §6.1]).
    ///
    /// [RFC 2365 §6.1]: https://www.rfc-editor.org/rfc/rfc2365#section-6.1
    AdminLocal,
    /// 239.192.0.0/14, the Organization Local Scope ([RFC 2365 §6.2]).
    ///
    /// [RFC 2365 §6.2]: https://www.rfc-editor.org/rfc/rfc2365#section-6.2
    AdminOrganizationLocal,
    /// The rest of 239.0.0.0/8, administratively scoped ([RFC 2365]).
    ///
    /// [RFC 2365]: https://www.rfc-editor.org/rfc/rfc2365
    AdminScoped,
    /// A block RFC 5771 leaves reserved or unassigned: 224.1.0.0/16,
    /// 224.5.0.0–224.251.255.255, 225.0.0.0–231.255.255.255, 235.0.0.0–238.255.255.255.
    Reserved,
}

impl Scope {
    /// Classifies a group.
    pub const fn of(group: GroupAddr) -> Scope {
        let [a, b, c, _] = group.octets();
        match (a, b, c) {
            (224, 0, 0) => Scope::LocalNetworkControl,
            (224, 0, 1) => Scope::InternetworkControl,
            (224, 0, _) => Scope::AdHoc,
            (224, 1, _) => Scope::Reserved,
            (224, 2, _) => Scope::SdpSap,
            (224, 3..=4, _) => Scope::AdHoc,
            (224, 252..=255, _) => Scope::DisTransient,
            (224, _, _) => Scope::Reserved,
            (225..=231, _, _) => Scope::Reserved,
            (232, _, _) => Scope::SourceSpecific,
            (233, 252..=255, _) => Scope::AdHoc,
            (233, _, _) => Scope::Glop,
            (234, _, _) => Scope::UnicastPrefixBased,
            (239, 255, _) => Scope::AdminLocal,
            (239, 192..=195, _) => Scope::AdminOrganizationLocal,
            (239, _, _) => Scope::AdminScoped,
            _ => Scope::Reserved,
        }
    }

    /// Whether routers may forward groups of this block beyond the local network.
    /// Only Local Network Control is never forwarded; administratively scoped groups
    /// are forwarded up to the scope's boundary.
    pub const fn is_routable(self) -> bool {
        !matches!(self, Scope::LocalNetworkControl)
    }

    /// A short name for the block, as printed by tools.
    pub const fn name(self) -> &'static str {
        match self {
            Scope::LocalNetworkControl => "local network control",
            Scope::InternetworkControl => "internetwork control",
            Scope::AdHoc => "ad-hoc",
            Scope::SdpSap => "SDP/SAP",
            Scope::DisTransient => "DIS transient",
            Scope::SourceSpecific => "source-specific",
            Scope::Glop => "GLOP",
            Scope::UnicastPrefixBased => "unicast-prefix-based",
            Scope::AdminLocal => "admin local scope",
            Scope::AdminOrganizationLocal => "admin organization-local scope",
            Scope::AdminScoped => "administratively scoped",
            Scope::Reserved => "reserved",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const fn wk(a: u8, b: u8, c: u8, d: u8, name: &'static str) -> (GroupAddr, &'static str) {
    (GroupAddr::in_range([a, b, c, d]), name)
}

/// Well-known groups and their IANA names, sorted by address.
pub const WELL_KNOWN: &[(GroupAddr, &str)] = &[
    wk(224, 0, 0, 0, "base address (reserved)"),
    wk(224, 0, 0, 1, "all systems"),
    wk(224, 0, 0, 2, "all routers"),
    wk(224, 0, 0, 4, "DVMRP routers"),
    wk(224, 0, 0, 5, "OSPF all routers"),
    wk(224, 0, 0, 6, "OSPF designated routers"),
    wk(224, 0, 0, 9, "RIPv2 routers"),
    wk(224, 0, 0, 10, "EIGRP routers"),
    wk(224, 0, 0, 13, "all PIM routers"),
    wk(224, 0, 0, 18, "VRRP"),
    wk(224, 0, 0, 22, "IGMPv3 routers"),
    wk(224, 0, 0, 102, "HSRPv2/GLBP"),
    wk(224, 0, 0, 106, "all snoopers (MRD)"),
    wk(224, 0, 0, 107, "PTP peer delay"),
    wk(224, 0, 0, 251, "mDNS"),
    wk(224, 0, 0, 252, "LLMNR"),
    wk(224, 0, 1, 1, "NTP"),
    wk(224, 0, 1, 24, "WINS server"),
    wk(224, 0, 1, 129, "PTP primary"),
    wk(224, 0, 1, 130, "PTP alternate 1"),
    wk(224, 0, 1, 131, "PTP alternate 2"),
    wk(224, 0, 1, 132, "PTP alternate 3"),
    wk(239, 255, 255, 250, "SSDP"),
    wk(239, 255, 255, 253, "SLP"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> GroupAddr {
        s.parse().unwrap()
    }

    #[test]
    fn group_construction_checks_the_multicast_range() {
        assert_eq!(GroupAddr::new([224, 0, 0, 0]).map(|g| g.octets()), Ok([224, 0, 0, 0]));
        assert_eq!(GroupAddr::new([239, 255, 255, 255]).map(|g| g.octets()), Ok([239, 255, 255, 255]));
        assert_eq!(GroupAddr::new([223, 255, 255, 255]), Err(AddrError::NotMulticast));
        assert_eq!(GroupAddr::new([240, 0, 0, 0]), Err(AddrError::NotMulticast));
        assert_eq!(GroupAddr::new([10, 0, 0, 1]), Err(AddrError::NotMulticast));
        assert_eq!(GroupAddr::try_from(Ipv4Addr::new(192, 168, 1, 1)), Err(AddrError::NotMulticast));
        assert_eq!(GroupAddr::try_from([233, 1, 1, 1]).map(GroupAddr::to_ipv4), Ok(Ipv4Addr::new(233, 1, 1, 1)));
        assert_eq!(GroupAddr::from_bits(0xe000_00fb), Ok(g("224.0.0.251")));
        assert_eq!(g("239.1.2.3").to_bits(), 0xef01_0203);
    }

    #[test]
    fn groups_order_and_convert_as_their_octets() {
        assert_eq!(GroupAddr::from_bits(0), Err(AddrError::NotMulticast));
        assert_eq!(GroupAddr::from_bits(0xdfff_ffff), Err(AddrError::NotMulticast));
        assert_eq!(GroupAddr::from_bits(0xf000_0000), Err(AddrError::NotMulticast));
        assert_eq!(GroupAddr::from_bits(0xefff_ffff).map(GroupAddr::octets), Ok([239, 255, 255, 255]));
        assert!(g("224.255.255.255") < g("225.0.0.0"));
        assert!(g("239.0.0.255") < g("239.0.1.0"));
        assert_eq!(GroupAddr::BASE.octets(), [224, 0, 0, 0]);
        assert_eq!(GroupAddr::IGMPV3_ROUTERS, g("224.0.0.22"));
        assert_eq!(Some(GroupAddr::BASE), GroupAddr::new([224, 0, 0, 0]).ok());
    }

    #[test]
    fn group_from_str() {
        assert_eq!(g("239.1.2.3").octets(), [239, 1, 2, 3]);
        assert_eq!("10.0.0.1".parse::<GroupAddr>(), Err(AddrError::NotMulticast));
        assert_eq!("239.1.2".parse::<GroupAddr>(), Err(AddrError::InvalidSyntax));
        assert_eq!("239.1.2.256".parse::<GroupAddr>(), Err(AddrError::InvalidSyntax));
        assert_eq!("".parse::<GroupAddr>(), Err(AddrError::InvalidSyntax));
    }

    #[test]
    fn group_round_trips_through_ipv4addr_and_display() {
        let group = g("224.0.1.24");
        assert_eq!(Ipv4Addr::from(group), Ipv4Addr::new(224, 0, 1, 24));
        assert_eq!(<[u8; 4]>::from(group), [224, 0, 1, 24]);
        assert_eq!(group, Ipv4Addr::new(224, 0, 1, 24));
        assert_eq!(format!("{group}"), "224.0.1.24");
        assert_eq!(format!("{group:?}"), "GroupAddr(224.0.1.24)");
    }

    #[test]
    fn base_address_is_representable_but_not_joinable() {
        assert!(!GroupAddr::BASE.is_joinable());
        assert!(GroupAddr::ALL_SYSTEMS.is_joinable());
        assert!(g("239.1.2.3").is_joinable());
    }

    #[test]
    fn group_to_mac_keeps_the_low_23_bits() {
        assert_eq!(g("224.0.0.1").to_mac(), MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]));
        assert_eq!(g("239.1.2.3").to_mac(), MacAddr([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]));
        // RFC digest example: three groups, one MAC.
        for s in ["224.1.1.1", "225.1.1.1", "239.129.1.1"] {
            assert_eq!(g(s).to_mac(), MacAddr([0x01, 0x00, 0x5e, 0x01, 0x01, 0x01]), "{s}");
        }
        assert_eq!(g("239.255.255.250").to_mac().to_string(), "01:00:5e:7f:ff:fa");
    }

    #[test]
    fn mac_to_groups_yields_the_32_sharing_groups_in_order() {
        let mac = MacAddr([0x01, 0x00, 0x5e, 0x01, 0x01, 0x01]);
        let groups = mac.groups().unwrap();
        assert_eq!(groups.len(), 32);
        let all: Vec<GroupAddr> = groups.collect();
        assert_eq!(all.len(), 32);
        assert_eq!(all[0], g("224.1.1.1"));
        assert_eq!(all[1], g("224.129.1.1"));
        assert_eq!(all[2], g("225.1.1.1"));
        assert_eq!(all[31], g("239.129.1.1"));
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert!(all.iter().all(|x| x.to_mac() == mac));
        assert!(all.contains(&g("239.129.1.1")));
    }

    #[test]
    fn every_group_is_among_the_groups_of_its_mac() {
        // A spread of groups across the whole /4, including the edges.
        let mut bits: u32 = 0xe000_0000;
        loop {
            let group = GroupAddr::from_bits(bits).unwrap();
            let mac = group.to_mac();
            assert!(mac.is_ipv4_multicast());
            assert_eq!(mac.groups().unwrap().filter(|x| *x == group).count(), 1, "{group}");
            match bits.checked_add(0x0007_3a5b) {
                Some(next) if next <= 0xefff_ffff => bits = next,
                _ => break,
            }
        }
    }

    #[test]
    fn non_ipv4_multicast_macs_have_no_groups() {
        for mac in [
            MacAddr([0x01, 0x00, 0x5e, 0x80, 0x00, 0x01]), // 25th bit set
            MacAddr([0x33, 0x33, 0x00, 0x00, 0x00, 0x01]), // IPv6 multicast
            MacAddr([0x00, 0x00, 0x5e, 0x00, 0x00, 0x01]), // unicast
            MacAddr::BROADCAST,
        ] {
            assert_eq!(mac.groups(), Err(AddrError::NotIpv4MulticastMac), "{mac}");
        }
    }

    #[test]
    fn mac_display_and_parse() {
        let mac = MacAddr([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
        assert_eq!(mac.to_string(), "01:00:5e:01:02:03");
        assert_eq!(format!("{mac:?}"), "MacAddr(01:00:5e:01:02:03)");
        assert_eq!("01:00:5e:01:02:03".parse(), Ok(mac));
        assert_eq!("01-00-5E-01-02-03".parse(), Ok(mac));
        assert_eq!("1:0:5e:1:2:3".parse(), Ok(mac));
        for bad in [
            "",
            "01:00:5e:01:02",
            "01:00:5e:01:02:03:04",
            "01:00:5e:01:02:0g",
            "01:00:5e:01:02:003",
            "01:00:5e-01:02:03",
            "01::5e:01:02:03",
            "+1:00:5e:01:02:03",
        ] {
            assert_eq!(bad.parse::<MacAddr>(), Err(AddrError::InvalidSyntax), "{bad:?}");
        }
    }

    #[test]
    fn mac_flags() {
        assert!(MacAddr::BROADCAST.is_broadcast());
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(!MacAddr::BROADCAST.is_ipv4_multicast());
        let unicast = MacAddr([0x22, 0x44, 0x6f, 0x0d, 0x33, 0xe4]);
        assert!(!unicast.is_multicast());
        assert!(!unicast.is_broadcast());
        assert!(GroupAddr::ALL_ROUTERS.to_mac().is_multicast());
    }

    #[test]
    fn scopes_follow_rfc_5771_and_rfc_2365() {
        let cases = [
            ("224.0.0.0", Scope::LocalNetworkControl),
            ("224.0.0.255", Scope::LocalNetworkControl),
            ("224.0.1.1", Scope::InternetworkControl),
            ("224.0.2.0", Scope::AdHoc),
            ("224.0.255.255", Scope::AdHoc),
            ("224.1.0.0", Scope::Reserved),
            ("224.2.127.254", Scope::SdpSap),
            ("224.3.0.0", Scope::AdHoc),
            ("224.4.255.255", Scope::AdHoc),
            ("224.5.0.0", Scope::Reserved),
            ("224.251.255.255", Scope::Reserved),
            ("224.252.0.0", Scope::DisTransient),
            ("224.255.255.255", Scope::DisTransient),
            ("225.0.0.0", Scope::Reserved),
            ("231.255.255.255", Scope::Reserved),
            ("232.1.2.3", Scope::SourceSpecific),
            ("233.0.0.0", Scope::Glop),
            ("233.251.255.255", Scope::Glop),
            ("233.252.0.0", Scope::AdHoc),
            ("233.255.255.255", Scope::AdHoc),
            ("234.0.0.1", Scope::UnicastPrefixBased),
            ("235.0.0.0", Scope::Reserved),
            ("238.255.255.255", Scope::Reserved),
            ("239.0.0.0", Scope::AdminScoped),
            ("239.191.255.255", Scope::AdminScoped),
            ("239.192.0.0", Scope::AdminOrganizationLocal),
            ("239.195.255.255", Scope::AdminOrganizationLocal),
            ("239.196.0.0", Scope::AdminScoped),
            ("239.255.0.0", Scope::AdminLocal),
            ("239.255.255.250", Scope::AdminLocal),
        ];
        for (s, scope) in cases {
            assert_eq!(g(s).scope(), scope, "{s}");
        }
    }

    #[test]
    fn only_local_network_control_is_never_routed() {
        assert!(!g("224.0.0.251").is_routable());
        assert!(!g("224.0.0.0").is_routable());
        assert!(g("224.0.1.1").is_routable());
        assert!(g("239.255.255.250").is_routable());
        assert!(g("232.0.0.1").is_routable());
    }

    #[test]
    fn well_known_table_is_sorted_and_looked_up() {
        assert!(WELL_KNOWN.windows(2).all(|w| w[0].0 < w[1].0), "table must stay sorted");
        let expect = [
            ("224.0.0.0", "base address (reserved)"),
            ("224.0.0.1", "all systems"),
            ("224.0.0.2", "all routers"),
            ("224.0.0.9", "RIPv2 routers"),
            ("224.0.1.1", "NTP"),
            ("224.0.1.24", "WINS server"),
            ("224.0.0.22", "IGMPv3 routers"),
            ("224.0.0.251", "mDNS"),
            ("224.0.0.252", "LLMNR"),
            ("224.0.0.106", "all snoopers (MRD)"),
            ("224.0.1.129", "PTP primary"),
            ("239.255.255.250", "SSDP"),
        ];
        for (s, name) in expect {
            assert_eq!(g(s).well_known_name(), Some(name), "{s}");
        }
        assert_eq!(g("239.1.2.3").well_known_name(), None);
        assert_eq!(g("224.0.0.3").well_known_name(), None);
        assert_eq!(g("239.255.255.255").well_known_name(), None);
        for (group, name) in WELL_KNOWN {
            assert_eq!(group.well_known_name(), Some(*name));
        }
    }

    #[test]
    fn const_evaluation() {
        const MAC: MacAddr = match GroupAddr::new([239, 1, 2, 3]) {
            Ok(g) => g.to_mac(),
            Err(_) => MacAddr::BROADCAST,
        };
        const NAME: Option<&str> = GroupAddr::ALL_SYSTEMS.well_known_name();
        const SCOPE: Scope = GroupAddr::ALL_ROUTERS.scope();
        assert_eq!(MAC.octets(), [1, 0, 0x5e, 1, 2, 3]);
        assert_eq!(NAME, Some("all systems"));
        assert_eq!(SCOPE, Scope::LocalNetworkControl);
    }
}
