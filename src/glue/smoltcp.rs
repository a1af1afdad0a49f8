//! The smoltcp 0.14 glue: IGMP by [`Host`], NIC filtering by [`FilterSet`], under a
//! smoltcp [`Interface`] (feature `smoltcp`).
//!
//! smoltcp's own IGMP host has gaps (no random delays, no suppression, no Router Alert,
//! a join before the address loses its report; see the README). The glue runs smoltcp
//! built without its `multicast` feature (no IGMP host, no group table) and keeps the
//! one table of groups in the [`Host`], whose `N` is the only capacity. [`McastDevice`]
//! sits between the `Interface` and the real `phy::Device`:
//!
//! - **Received IGMP** (every IPv4 frame whose protocol field is 2, behind up to two
//!   VLAN tags) goes to the [`Host`], parsed with [`FrameRepr::parse`]; smoltcp never sees
//!   it. Frames that do not parse are counted in [`DeviceStats::rx_malformed`]; the Host
//!   counts the ones that parse but break its rules (destination; TTL when it requires 1)
//!   in [`HostStats`]. A query at this station's own MAC or the broadcast MAC is the
//!   Host's like one at its group's MAC; IGMP at another station's unicast MAC
//!   ([`DeviceStats::rx_not_ours`]) or tagged for a VLAN ([`DeviceStats::rx_tagged`]) is
//!   dropped (see [Choices](self#choices)).
//! - **Everything else received** reaches smoltcp only if it is for this interface:
//!   smoltcp without `multicast` would drop every group's datagrams at its destination
//!   check, so the glue turns the interface's `any_ip` on (that check then accepts every
//!   destination) and admits, itself, ARP for any of the interface's IPv4 addresses, IPv4
//!   to one of them or to a broadcast address (255.255.255.255, a subnet's), a DHCP
//!   server's answer (UDP from port 67 to 68) to any address, IPv4 to a group the Host
//!   is a member of (224.0.0.1 included) at a MAC the [`FilterSet`] accepts, and IPv6
//!   while the interface has an IPv6 address. Multicast for a group
//!   not joined is counted in [`DeviceStats::rx_filtered`]; ARP and IPv4 for another
//!   address, and IPv6 without an IPv6 address, in [`DeviceStats::rx_other_address`]
//!   (see [What `any_ip` changes](self#what-any_ip-changes)).
//! - **What smoltcp sends** goes straight to the real device: it sends no IGMP.
//! - **The Host's messages** are framed with [`frame::build_v2`] (TTL 1, Router Alert,
//!   TOS 0xc0; byte for byte what [`FrameRepr::new`] gives) and sent through the real
//!   device by [`McastDevice::poll`], whether or not smoltcp has anything to send.
//! - **[`join`](McastDevice::join) and [`leave`](McastDevice::leave)** keep three things
//!   in step: the Host (which reports, and whose table the receive path reads), the
//!   FilterSet (the software filter by MAC) and the NIC's filter (the [`Program`] pushed
//!   through [`MulticastFilter::apply`]). Nothing is told to smoltcp.
//!
//! # Wiring
//!
//! Call [`McastDevice::poll`] where you would call `Interface::poll`, and sleep until
//! [`McastDevice::poll_at`] (or the next frame).
//!
//! ```
//! use mcast::MacAddr;
//! use mcast::glue::smoltcp::{McastDevice, NoFilter};
//! use mcast::membership::HostConfig;
//! use smoltcp::iface::{Config, Interface, SocketSet};
//! use smoltcp::phy::{Loopback, Medium};
//! use smoltcp::time::Instant;
//! use smoltcp::wire::{EthernetAddress, IpCidr, Ipv4Address};
//!
//! let mac = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
//! // Any smoltcp Ethernet device. A real NIC passes its `MulticastFilter` driver
//! // (`drivers::lan9118::Lan9118`, ...) instead of `NoFilter`.
//! let phy = Loopback::new(Medium::Ethernet);
//! // One per device and per boot: see "The seed" below.
//! let seed = 0x5eed;
//! let mut device: McastDevice<_, _, 8> = McastDevice::new(phy, NoFilter, mac, HostConfig::default(), seed)?;
//! let mut iface = Interface::new(Config::new(EthernetAddress(mac.0).into()), &mut device, Instant::ZERO);
//! iface.update_ip_addrs(|a| a.push(IpCidr::new(Ipv4Address::new(10, 0, 0, 2).into(), 24)).unwrap());
//! let mut sockets = SocketSet::new(vec![]);
//!
//! let now = Instant::from_millis(0);
//! assert_eq!(device.join(now, Ipv4Address::new(239, 1, 2, 3)), Ok(true));
//!
//! device.poll(now, &mut iface, &mut sockets); // instead of `iface.poll`
//! assert_eq!(device.host().stats().reports_sent, 1); // Router Alert, TTL 1
//! assert!(iface.any_ip()); // set by the glue, which admits only what is ours
//! // Sleep until then (or until the next frame), and poll again.
//! let _next = device.poll_at(now, &mut iface, &sockets);
//! # Ok::<(), mcast::glue::smoltcp::Error>(())
//! ```
//!
//! # Sending to a group: the hop limit
//!
//! The glue sends the Host's IGMP with TTL 1, but what the application sends to a
//! group goes out as smoltcp builds it, and a smoltcp UDP socket sends with TTL 64
//! unless it is given a hop limit. RFC 1112 §6.1 makes 1 the default TTL of multicast
//! (the datagram stays on its link; Linux's `IP_MULTICAST_TTL` starts at 1 too): give
//! every socket that sends to a group a hop limit, 1 unless the datagrams are meant to
//! cross routers.
//!
//! ```
//! use smoltcp::socket::udp;
//!
//! let buffer = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 1024]);
//! let mut socket = udp::Socket::new(buffer(), buffer());
//! socket.set_hop_limit(Some(1)); // Some(0) panics: no datagram may leave with TTL 0
//! assert_eq!(socket.hop_limit(), Some(1));
//! ```
//!
//! The hop limit is the socket's, for every destination: a socket that also answers
//! unicast peers would answer them with TTL 1 as well, so keep the socket that sends
//! to groups apart (the QEMU firmware in `boards/qemu-mps2-an385` echoes to its groups
//! from one socket and answers commands from another). `examples/glue_smoltcp.rs`
//! shows both frames on the wire.
//!
//! # The seed
//!
//! The `seed` of [`McastDevice::new`] drives the Host's PRNG, which picks every report
//! delay (RFC 2236 §3); the same seed gives the same delays. A good seed differs
//!
//! - **between the devices of a LAN**, or they answer each query at the same instants
//!   and suppression cannot work: mix in something of the device's own, its MAC;
//! - **between boots of one device**, or every boot replays the same delays: mix in
//!   something of the moment, best a hardware RNG where the chip has one; else a
//!   free-running counter read at an instant the outside world decides (a frame
//!   arriving, the link coming up, a button), or the noise of an ADC. A counter read at
//!   a fixed point of a boot varies only as much as the boot's timing does.
//!
//! The Host hashes the seed (SplitMix64) before use, so XOR mixes well enough and a
//! single bit of difference gives unrelated delays. The glue itself mixes in the
//! arrival time of the first frame it receives, in microseconds of the application's
//! clock ([`Host::mix_entropy`]), so even a device without an RNG draws its later
//! delays from the network's timing. The QEMU firmware seeds with its MAC XOR its
//! LAN9118's free-running counter, read when it builds the device.
//!
//! # What `any_ip` changes
//!
//! In smoltcp 0.14 `any_ip` makes the interface's "is this my address" check true for
//! every address. The check decides whether an IPv4 or IPv6 packet is for the
//! interface, whom ARP answers for, which neighbour solicitations are answered, and
//! whether a TCP socket's local address still exists. The receive path gives the first
//! two back exactly for IPv4: ARP, ICMP echo, UDP and TCP for an address the interface
//! does not have never reach smoltcp, so nothing answers for them. What remains:
//!
//! - **DHCP**: smoltcp's DHCP client asks for unicast answers, so a server sends its
//!   offer to the address it offers, which the interface does not have yet; smoltcp
//!   takes such answers before its destination check, and the glue admits UDP from port
//!   67 to port 68 to any address for that reason. Without a DHCP socket, smoltcp
//!   answers one at this station's MAC and another address as it answers a datagram to
//!   any closed port: with an ICMP Port Unreachable, from that address.
//!
//! - **Routes**: with `any_ip`, smoltcp would also receive for a prefix routed through
//!   one of its addresses; the glue admits the interface's own addresses only, so such
//!   a prefix is not received. Routes serve sending as before.
//! - **TCP**: smoltcp resets a socket whose local address was removed from the
//!   interface only through that check, which no longer fails: the socket keeps
//!   sending from the removed address (retransmissions, keep-alives) until its own
//!   timeout, if it has one, while what arrives for that address is dropped. Abort the
//!   sockets bound to an address when removing it.
//! - **IPv6** frames pass unchanged while the interface has an IPv6 address; smoltcp
//!   then accepts every IPv6 destination and answers neighbour solicitations for any
//!   target. The glue filters IPv4; an interface that runs IPv6 beside it takes that as
//!   it is. Without an IPv6 address they are dropped.
//! - **smoltcp's `multicast` feature**, if something else in the program turns it on,
//!   changes nothing here as long as nothing joins through the `Interface`: the glue
//!   never does, and smoltcp then sends no IGMP. Joins made through the `Interface`
//!   would be smoltcp's own, with its IGMP, beside the Host's.
//!
//! The glue builds against smoltcp 0.14 only. 0.13 has the same code on every point
//! the glue uses, but one Cargo feature cannot pick between two major versions of a
//! crate: that would take a second, renamed dependency and a second copy of this module
//! with its own tests.
//!
//! # Choices
//!
//! - **Dropping a received frame** hands smoltcp an empty frame (the real device's
//!   receive token is consumed either way). smoltcp 0.14 skips empty frames explicitly
//!   (`socket_ingress`), so it never sees a byte of the dropped one, and nothing is
//!   copied: each frame is classified in place, in the receive token.
//! - **The interface's addresses** are read from the `Interface` on every poll, before
//!   `Interface::poll` runs: the receive path admits the addresses it read last, so an
//!   address change takes effect on the next poll. A smoltcp raw socket sees what the
//!   receive path admits only: no IGMP, nothing for another address.
//! - **The Host's messages** go out from [`poll`](McastDevice::poll) and
//!   [`poll_membership`](McastDevice::poll_membership), not from `transmit`, which
//!   smoltcp only calls when it has something of its own to send. If the real device
//!   has no transmit token, the framed message waits in a one-frame slot and
//!   [`poll_at`](McastDevice::poll_at) asks to be polled again at once.
//! - **The Host's address** is the interface's first IPv4 address and prefix, given to
//!   the Host on every poll; it announces every group when one appears or changes. Joins made before there is an address (before DHCP, say)
//!   are reported then, unlike smoltcp's own, which are lost.
//! - **The NIC** is given the FilterSet's [`Program`] at once after every change of the
//!   set (and the first one on the first poll). `apply` returning `WouldBlock` (the chip
//!   is busy) or an error leaves the program pending, and every later poll retries it
//!   until it is applied; [`nic_in_sync`](McastDevice::nic_in_sync) tells, and
//!   [`nic_error`](McastDevice::nic_error) keeps the last error. Until then the NIC may
//!   drop a newly joined group's frames or pass a left one's, which the software filter
//!   drops.
//! - **Only IPv4 multicast MACs** (01:00:5e:00:00:00 to 01:00:5e:7f:ff:ff) are
//!   filtered by MAC in software: they are the ones the glue manages. Frames at other
//!   multicast MACs (IPv6's 33:33:…) are admitted or dropped by what they carry, as
//!   above; add such MACs to the NIC's program with [`add_mac`](McastDevice::add_mac).
//! - **Link-layer destination of IGMP**: a query is acted on at this station's MAC
//!   (the one given to [`McastDevice::new`] or [`set_mac`](McastDevice::set_mac)) and
//!   at the broadcast MAC as well as at its group's MAC, as Linux does: Wi-Fi access
//!   points convert multicast to unicast, and a Host that did not answer such queries
//!   would see its groups pruned. Reports and Leaves count only at their group's MAC
//!   ([`FrameRepr::parse`] refuses the others: [`DeviceStats::rx_malformed`]), as in Linux,
//!   which does not rely on a router hearing a unicast report. IGMP at another
//!   station's unicast MAC (a NIC in promiscuous mode passes it) is not for us.
//! - **VLAN tags**: the `Interface` is untagged, and smoltcp drops tagged frames. A
//!   NIC that does not strip tags on a trunk port passes other VLANs' IGMP; answering
//!   a query from another VLAN would report on ours to a querier that cannot hear it,
//!   and a report heard there would suppress ours. So IGMP tagged with a VLAN id is
//!   dropped, as Linux drops a frame for a VLAN it has no interface on. A priority tag
//!   (VLAN id 0: 802.1p priority only) names no VLAN: such a frame is the untagged
//!   network's, for Linux too, and goes to the Host.
//! - **No allocation, no panic** on any frame: every length is checked before use.
//!   smoltcp's time converts to the Host's with 32-bit divisions only, so a Cortex-M
//!   firmware links no 64-bit division routine for it (Cortex-M0 included).

use core::fmt;
use core::net::Ipv4Addr;

use heapless::Vec;
use smoltcp::config::IFACE_MAX_ADDR_COUNT;
use smoltcp::iface::{Interface, PollResult, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium, PacketMeta};
use smoltcp::time::{Duration as SmolDuration, Instant as SmolInstant};
use smoltcp::wire::{IpCidr, Ipv4Cidr};

use super::shared::{Rx, classify};
use crate::addr::{GroupAddr, MacAddr};
use crate::filter::{FilterError, FilterSet, MulticastFilter, OverflowPolicy};
use crate::membership::{ConfigError, GroupInfo, Host, HostConfig, Instant, MembershipError, bump, joinable};
use crate::wire::frame;

pub use super::shared::NoFilter;

#[cfg(doc)]
use crate::{filter::Program, wire::FrameRepr};

#[cfg(doc)]
use crate::membership::HostStats;

/// Why a join, a leave or the construction of a [`McastDevice`] failed. Whatever the
/// error, nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The Host refused: not a joinable group, its table is full, not joined…
    Membership(MembershipError),
    /// The FilterSet refused: full, no exact slot left under
    /// [`OverflowPolicy::Reject`], or a policy the NIC cannot follow.
    Filter(FilterError),
    /// The Host configuration is out of range.
    Config(ConfigError),
    /// The device is not an Ethernet device: the glue reads and writes Ethernet frames.
    NotEthernet,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The inner errors' messages say which part refused.
        match self {
            Error::Membership(e) => fmt::Display::fmt(e, f),
            Error::Filter(e) => fmt::Display::fmt(e, f),
            Error::Config(e) => fmt::Display::fmt(e, f),
            Error::NotEthernet => f.write_str("not an Ethernet device"),
        }
    }
}

impl core::error::Error for Error {}

impl From<MembershipError> for Error {
    fn from(e: MembershipError) -> Error {
        Error::Membership(e)
    }
}

impl From<FilterError> for Error {
    fn from(e: FilterError) -> Error {
        Error::Filter(e)
    }
}

/// What the glue counted; the counters wrap at `u32::MAX`. The Host's own counters are
/// in [`McastDevice::host`]`().stats()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct DeviceStats {
    /// Frames received from the real device.
    pub rx_frames: u32,
    /// IGMP frames that parsed and went to the Host.
    pub rx_igmp: u32,
    /// IGMP frames that did not parse ([`FrameRepr::parse`] refused them: bad checksum,
    /// truncated, fragmented, MAC not matching the group, unknown type…), dropped.
    pub rx_malformed: u32,
    /// IGMP frames at another station's unicast MAC, dropped.
    pub rx_not_ours: u32,
    /// IGMP frames tagged for a VLAN (a tag with a VLAN id other than 0), dropped: the
    /// interface is untagged.
    pub rx_tagged: u32,
    /// IPv4 multicast frames for a group not joined, dropped: at a MAC the FilterSet
    /// does not accept (the other MACs of a hash bin, or any while the NIC passes all
    /// multicast), or at a joined group's MAC for one of the 31 other groups that share
    /// it (239.129.2.3 at 239.1.2.3's MAC).
    pub rx_filtered: u32,
    /// ARP and IPv4 frames for an address the interface does not have (or too short to
    /// name one), and IPv6 frames while it has no IPv6 address, dropped: smoltcp, which
    /// the glue runs with `any_ip`, would take them as its own (see
    /// [What `any_ip` changes](self#what-any_ip-changes)).
    pub rx_other_address: u32,
    /// The Host's messages handed to the real device.
    pub tx_igmp: u32,
    /// Times the real device had no transmit token for a Host message (it waits).
    pub tx_deferred: u32,
    /// Programs the NIC accepted.
    pub nic_applied: u32,
    /// `apply` calls that returned `WouldBlock` (retried on the next poll).
    pub nic_busy: u32,
    /// `apply` calls that returned an error (retried on the next poll).
    pub nic_errors: u32,
}

/// The state the receive path needs: the Host, the FilterSet, the counters, our MAC
/// and the interface's addresses.
#[derive(Debug, Clone)]
struct Core<const N: usize> {
    host: Host<N>,
    set: FilterSet<N>,
    stats: DeviceStats,
    mac: MacAddr,
    /// The interface's IPv4 addresses, read from the `Interface` on every poll.
    ipv4: Vec<Ipv4Cidr, IFACE_MAX_ADDR_COUNT>,
    /// Whether the interface has an address that is not IPv4 (an IPv6 address).
    other_ip: bool,
}

impl<const N: usize> Core<N> {
    /// Looks at one received frame: hands IGMP to the Host, counts what it drops.
    /// Returns whether smoltcp should see the frame.
    fn receive(&mut self, now: Instant, frame: &[u8]) -> bool {
        let stats = &mut self.stats;
        bump(&mut stats.rx_frames);
        let counter = match classify(&mut self.host, &self.set, self.mac, now, frame) {
            Rx::Pass => return self.admits(frame),
            Rx::Igmp => &mut stats.rx_igmp,
            Rx::Malformed => &mut stats.rx_malformed,
            Rx::Filtered => &mut stats.rx_filtered,
            Rx::NotOurs => &mut stats.rx_not_ours,
            Rx::Tagged => &mut stats.rx_tagged,
        };
        bump(counter);
        false
    }

    /// Whether smoltcp, running with `any_ip`, may see a frame that is not IGMP: ARP for
    /// one of our addresses, IPv4 to one of them, to a broadcast address or to a group
    /// the Host is a member of, a DHCP server's answer; IPv6 while the interface has an
    /// IPv6 address; tagged frames and other protocols (which smoltcp drops). Counts what
    /// it drops.
    fn admits(&mut self, frame: &[u8]) -> bool {
        let ours = match frame.get(ETHERTYPE) {
            Some([0x08, 0x06]) => frame.get(ARP_TARGET).and_then(ipv4).is_some_and(|a| self.is_ours(a)),
            Some([0x08, 0x00]) => match frame.get(IPV4_DST).and_then(ipv4) {
                Some(dst) => match GroupAddr::from_ipv4(dst) {
                    Ok(group) if self.host.is_member(group) => true,
                    Ok(_) => {
                        bump(&mut self.stats.rx_filtered);
                        return false;
                    }
                    Err(_) => self.is_ours(dst) || self.is_broadcast(dst) || is_dhcp_reply(frame),
                },
                None => false,
            },
            Some([0x86, 0xdd]) => self.other_ip,
            // Tagged frames (smoltcp drops them), other protocols (smoltcp drops them).
            _ => true,
        };
        if !ours {
            bump(&mut self.stats.rx_other_address);
        }
        ours
    }

    /// Whether `a` is one of the interface's IPv4 addresses.
    fn is_ours(&self, a: Ipv4Addr) -> bool {
        self.ipv4.iter().any(|cidr| cidr.address() == a)
    }

    /// Whether `a` is the limited broadcast or the directed broadcast of one of the
    /// interface's subnets (none for a /31 or /32).
    fn is_broadcast(&self, a: Ipv4Addr) -> bool {
        a == Ipv4Addr::BROADCAST || self.ipv4.iter().any(|cidr| cidr.broadcast() == Some(a))
    }

    /// Reads the interface's addresses, for the receive path.
    fn read_addresses(&mut self, iface: &Interface) {
        self.ipv4.clear();
        self.other_ip = false;
        for cidr in iface.ip_addrs() {
            match cidr {
                // Both hold IFACE_MAX_ADDR_COUNT: the push cannot fail.
                IpCidr::Ipv4(c) => drop(self.ipv4.push(*c)),
                #[allow(unreachable_patterns)]
                _ => self.other_ip = true,
            }
        }
    }
}

/// The EtherType of an untagged frame.
const ETHERTYPE: core::ops::Range<usize> = 12..14;
/// The target protocol address of an untagged Ethernet/IPv4 ARP packet.
const ARP_TARGET: core::ops::Range<usize> = 38..42;
/// The destination address of an untagged IPv4 packet.
const IPV4_DST: core::ops::Range<usize> = 30..34;

/// Whether an untagged IPv4 frame is UDP from port 67 to port 68: a DHCP server's
/// answer, which a server sends to the address it offers, at the client's MAC, while the
/// interface does not have that address yet. smoltcp hands these to its DHCP client
/// before its own destination check, so the glue admits them whatever the destination.
fn is_dhcp_reply(frame: &[u8]) -> bool {
    let Some(&[version_ihl]) = frame.get(14..15) else { return false };
    let ports = 14 + usize::from(version_ihl & 0x0f) * 4;
    frame.get(23) == Some(&17) && frame.get(ports..ports + 4) == Some(&[0, 67, 0, 68])
}

/// Four octets as an IPv4 address.
fn ipv4(octets: &[u8]) -> Option<Ipv4Addr> {
    let &[a, b, c, d] = octets else { return None };
    Some(Ipv4Addr::new(a, b, c, d))
}

/// smoltcp's time (microseconds, signed) as the state machines' (milliseconds,
/// unsigned): truncated to the millisecond, and [`Instant::ZERO`] before smoltcp's
/// epoch. The glue's methods take smoltcp's `Instant`, the application's clock, and
/// convert with this.
impl From<SmolInstant> for Instant {
    fn from(t: SmolInstant) -> Instant {
        Instant::from_millis(u64::try_from(t.total_micros()).map_or(0, div_1000))
    }
}

/// `x / 1000` by long division in 16-bit digits, with 32-bit divisions only: a `u64`
/// division would link a 64-bit division routine (about 1 KiB on Cortex-M), which
/// nothing else in a smoltcp firmware without `multicast` needs. Each step divides less
/// than 1000 · 2^16 < 2^32.
fn div_1000(x: u64) -> u64 {
    const D: u32 = 1000;
    let high = (x >> 32) as u32;
    let (q_high, r) = (high / D, high % D);
    let mid = (r << 16) | ((x >> 16) as u32 & 0xffff);
    let (q_mid, r) = (mid / D, mid % D);
    let low = (r << 16) | (x as u32 & 0xffff);
    (u64::from(q_high) << 32) | (u64::from(q_mid) << 16) | u64::from(low / D)
}

/// The state machines' time as smoltcp's, saturating where smoltcp's would overflow.
impl From<Instant> for SmolInstant {
    fn from(t: Instant) -> SmolInstant {
        let max = i64::MAX / 1000;
        SmolInstant::from_millis(i64::try_from(t.total_millis()).unwrap_or(max).min(max))
    }
}

/// A smoltcp `phy::Device` that runs IGMP with [`Host`] and filters multicast with
/// [`FilterSet`] and the NIC filter `F`, in front of the real device `D`, for up to `N`
/// groups. See the [module docs](self).
pub struct McastDevice<D, F: MulticastFilter, const N: usize> {
    device: D,
    filter: F,
    core: Core<N>,
    /// A Host message, framed, the device had no token for.
    pending_tx: Option<[u8; frame::V2_FRAME_LEN]>,
    /// The FilterSet changed and the NIC has not accepted its program yet.
    nic_pending: bool,
    nic_error: Option<F::Error>,
    /// Whether a frame has been received (its arrival time is mixed into the seed).
    first_frame_seen: bool,
}

impl<D, F, const N: usize> fmt::Debug for McastDevice<D, F, N>
where
    D: fmt::Debug,
    F: MulticastFilter + fmt::Debug,
    F::Error: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McastDevice")
            .field("device", &self.device)
            .field("filter", &self.filter)
            .field("mac", &self.core.mac)
            .field("host", &self.core.host)
            .field("set", &self.core.set)
            .field("stats", &self.stats())
            .field("pending_tx", &self.pending_tx)
            .field("nic_pending", &self.nic_pending)
            .field("nic_error", &self.nic_error)
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl<D, F: MulticastFilter, const N: usize> defmt::Format for McastDevice<D, F, N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "McastDevice {{ mac: {}, groups: {}, stats: {}, nic_in_sync: {} }}",
            self.core.mac,
            self.core.host.len(),
            self.stats(),
            !self.nic_pending
        )
    }
}

impl<D: Device, F: MulticastFilter, const N: usize> McastDevice<D, F, N> {
    /// Wraps `device`, whose multicast filter is `filter` and whose MAC is `mac` (the
    /// source of the IGMP frames; the interface's own). The FilterSet places MACs by
    /// the best policy the filter supports ([`OverflowPolicy::best_for`]); `config` and
    /// `seed` are the Host's (one per device and per boot: see [the seed](self#the-seed)).
    ///
    /// The NIC is programmed on the first poll.
    pub fn new(device: D, filter: F, mac: MacAddr, config: HostConfig, seed: u64) -> Result<Self, Error> {
        let policy = OverflowPolicy::best_for(&filter.capabilities());
        Self::with_policy(device, filter, mac, config, seed, policy)
    }

    /// [`new`](Self::new) with the FilterSet's overflow policy chosen: what to do once
    /// the NIC's exact slots are taken.
    pub fn with_policy(
        device: D,
        filter: F,
        mac: MacAddr,
        config: HostConfig,
        seed: u64,
        policy: OverflowPolicy,
    ) -> Result<Self, Error> {
        if device.capabilities().medium != Medium::Ethernet {
            return Err(Error::NotEthernet);
        }
        let set = FilterSet::new(filter.capabilities(), policy)?;
        let host = Host::new(config, seed).map_err(Error::Config)?;
        Ok(McastDevice {
            device,
            filter,
            core: Core { host, set, stats: DeviceStats::default(), mac, ipv4: Vec::new(), other_ip: false },
            pending_tx: None,
            nic_pending: true,
            nic_error: None,
            first_frame_seen: false,
        })
    }

    /// Joins `group` once more, for a socket, say. Returns whether membership changed
    /// (the first join). The first join adds the group to the Host (its datagrams are
    /// delivered from now on, and it is reported on the next poll) and to the FilterSet,
    /// and pushes the new program to the NIC.
    ///
    /// Errors change nothing: [`Error::Membership`] (not a joinable group, Host table
    /// full, joined 65535 times), [`Error::Filter`] (FilterSet full or no slot).
    pub fn join(&mut self, now: SmolInstant, group: impl Into<Ipv4Addr>) -> Result<bool, Error> {
        let group = joinable(group.into())?;
        let now = Instant::from(now);
        let core = &mut self.core;
        if core.host.is_member(group) {
            return core.host.join(now, group).map_err(Error::from);
        }
        let mac_added = core.set.add_group(group)?;
        match core.host.join(now, group) {
            Ok(changed) => {
                if mac_added {
                    self.push_program();
                }
                Ok(changed)
            }
            Err(e) => {
                // Undo: the group was new to the set, so this removes what was added.
                let _ = core.set.remove_group(group);
                Err(e.into())
            }
        }
    }

    /// Leaves `group` once. Returns whether membership ended (the last leave): the
    /// group's datagrams are dropped from now on, the group leaves the FilterSet and the
    /// NIC, and the Host sends a Leave on the next poll if it was the last to report the
    /// group.
    ///
    /// Leaving a group not joined is [`Error::Membership`]`(`[`MembershipError::NotJoined`]`)`.
    pub fn leave(&mut self, now: SmolInstant, group: impl Into<Ipv4Addr>) -> Result<bool, Error> {
        let group = joinable(group.into())?;
        let changed = self.core.host.leave(Instant::from(now), group)?;
        // The MAC was added when the group was first joined: removing cannot fail.
        if changed && self.core.set.remove_group(group)? {
            self.push_program();
        }
        Ok(changed)
    }

    /// Adds a multicast MAC to the NIC's program, beside the groups' (IPv6's
    /// 33:33:00:00:00:01, a vendor protocol's). Returns whether the program changed.
    /// Such MACs are not filtered in software: only IPv4 multicast MACs are.
    pub fn add_mac(&mut self, mac: MacAddr) -> Result<bool, Error> {
        let added = self.core.set.add(mac)?;
        if added {
            self.push_program();
        }
        Ok(added)
    }

    /// Removes a MAC added with [`add_mac`](Self::add_mac). Returns whether the program
    /// changed.
    pub fn remove_mac(&mut self, mac: MacAddr) -> Result<bool, Error> {
        let removed = self.core.set.remove(mac)?;
        if removed {
            self.push_program();
        }
        Ok(removed)
    }

    /// Passes every multicast frame to smoltcp (a capture, a multicast router), or stops
    /// doing so; the NIC is told too. Membership is unchanged.
    pub fn set_all_multicast(&mut self, on: bool) -> Result<(), Error> {
        self.core.set.set_all_multicast(on)?;
        self.push_program();
        Ok(())
    }

    /// The link came (back) up: the Host announces every group again on the next poll.
    pub fn link_up(&mut self, now: SmolInstant) {
        self.core.host.link_up(Instant::from(now));
    }

    /// Runs the membership duties (see [`poll_membership`](Self::poll_membership)) and
    /// `iface.poll` over this device, then the membership duties again so that answers
    /// to what was just received go out at once. Returns what `iface.poll` returned.
    pub fn poll(&mut self, now: SmolInstant, iface: &mut Interface, sockets: &mut SocketSet<'_>) -> PollResult {
        self.poll_membership(now, iface);
        let result = iface.poll(now, self, sockets);
        self.poll_membership(now, iface);
        result
    }

    /// The membership duties alone, for applications that call smoltcp's lower-level
    /// `poll_ingress_single`/`poll_egress`: turns the interface's `any_ip` on, reads its
    /// addresses (for the receive path, and the first IPv4 one for the Host), retries a
    /// pending NIC program, and sends every Host message that is due. Call it before
    /// smoltcp's poll functions (the receive path admits the addresses it read last) and
    /// after them (so that answers go out at once).
    pub fn poll_membership(&mut self, now: SmolInstant, iface: &mut Interface) {
        let t = Instant::from(now);
        iface.set_any_ip(true);
        self.core.read_addresses(iface);
        let address = self.core.ipv4.first().map(|c| (c.address(), c.prefix_len()));
        if address != self.core.host.address() {
            self.core.host.set_address(t, address);
        }
        if self.nic_pending {
            self.apply_program();
        }
        let mac = self.core.mac;
        let host = &mut self.core.host;
        // The Host sends IGMPv1/v2 messages only, which `build_v2` always frames.
        let mut next = || host.poll_transmit(t).and_then(|tx| frame::build_v2(&tx.message, mac, tx.source));
        while let Some(frame) = self.pending_tx.take().or_else(&mut next) {
            let Some(token) = self.device.transmit(now) else {
                bump(&mut self.core.stats.tx_deferred);
                self.pending_tx = Some(frame);
                break;
            };
            phy::TxToken::consume(token, frame.len(), |buf| {
                // A device that gives a shorter buffer sends nothing rather than panic.
                if let Some(buf) = buf.get_mut(..frame.len()) {
                    buf.copy_from_slice(&frame);
                }
            });
            bump(&mut self.core.stats.tx_igmp);
        }
    }

    /// When to poll next: the earliest of smoltcp's `poll_at` and the Host's next
    /// report, or `now` while a Host message or a NIC program waits for the device.
    ///
    /// Ask again after every [`poll`](Self::poll), [`join`](Self::join),
    /// [`leave`](Self::leave) and [`link_up`](Self::link_up): each may bring it forward.
    #[must_use = "the device must be polled again at this instant"]
    pub fn poll_at(&self, now: SmolInstant, iface: &mut Interface, sockets: &SocketSet<'_>) -> Option<SmolInstant> {
        let ours = if self.pending_tx.is_some() || self.nic_pending {
            Some(now)
        } else {
            self.core.host.poll_at().map(SmolInstant::from)
        };
        match (iface.poll_at(now, sockets), ours) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// [`poll_at`](Self::poll_at) as a delay from `now` (zero if already due).
    #[must_use = "the device must be polled again after this delay"]
    pub fn poll_delay(&self, now: SmolInstant, iface: &mut Interface, sockets: &SocketSet<'_>) -> Option<SmolDuration> {
        self.poll_at(now, iface, sockets).map(|at| if at > now { at - now } else { SmolDuration::ZERO })
    }

    /// The FilterSet changed: program the NIC now, or on a later poll.
    fn push_program(&mut self) {
        self.nic_pending = true;
        self.apply_program();
    }

    fn apply_program(&mut self) {
        let program = self.core.set.program();
        let stats = &mut self.core.stats;
        match self.filter.apply(&program) {
            Ok(()) => {
                bump(&mut stats.nic_applied);
                self.nic_pending = false;
                self.nic_error = None;
            }
            Err(nb::Error::WouldBlock) => bump(&mut stats.nic_busy),
            Err(nb::Error::Other(e)) => {
                bump(&mut stats.nic_errors);
                self.nic_error = Some(e);
            }
        }
    }
}

impl<D, F: MulticastFilter, const N: usize> McastDevice<D, F, N> {
    /// The joined groups, with their join counts and report states (224.0.0.1, always
    /// a member, is not listed).
    pub fn groups(&self) -> impl Iterator<Item = GroupInfo> + '_ {
        self.core.host.groups()
    }

    /// Whether `group`'s datagrams are delivered (224.0.0.1 always is).
    pub fn is_member(&self, group: GroupAddr) -> bool {
        self.core.host.is_member(group)
    }

    /// The Host: its groups, address, and counters ([`Host::stats`]).
    pub fn host(&self) -> &Host<N> {
        &self.core.host
    }

    /// The FilterSet: the MACs the NIC is told to accept, the bins they use.
    pub fn filter_set(&self) -> &FilterSet<N> {
        &self.core.set
    }

    /// The glue's counters.
    pub fn stats(&self) -> DeviceStats {
        self.core.stats
    }

    /// Whether the NIC runs the FilterSet's current program.
    pub fn nic_in_sync(&self) -> bool {
        !self.nic_pending
    }

    /// The last error the NIC filter returned, if the program it refused is still
    /// pending. Cleared once a program is applied.
    pub fn nic_error(&self) -> Option<&F::Error> {
        self.nic_error.as_ref()
    }

    /// The MAC the Host's frames are sent from, and the one at which a query is ours.
    pub fn mac(&self) -> MacAddr {
        self.core.mac
    }

    /// Changes the MAC the Host's frames are sent from and queries are accepted at
    /// (after `Interface::set_hardware_addr`).
    pub fn set_mac(&mut self, mac: MacAddr) {
        self.core.mac = mac;
    }

    /// The real device.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The real device, mutably (to service it; its frames should keep flowing through
    /// the wrapper).
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }

    /// The NIC filter.
    pub fn filter(&self) -> &F {
        &self.filter
    }

    /// The real device and the NIC filter back.
    pub fn into_parts(self) -> (D, F) {
        (self.device, self.filter)
    }
}

impl<D: Device, F: MulticastFilter, const N: usize> Device for McastDevice<D, F, N> {
    type RxToken<'a>
        = RxToken<'a, D::RxToken<'a>, N>
    where
        Self: 'a;
    // smoltcp without `multicast` sends no IGMP: its frames go straight through.
    type TxToken<'a>
        = D::TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, timestamp: SmolInstant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let (rx, tx) = self.device.receive(timestamp)?;
        if !self.first_frame_seen {
            // When the first frame arrives is the network's doing, not the boot's: mixed
            // into the report delays (see "The seed").
            self.first_frame_seen = true;
            self.core.host.mix_entropy(timestamp.total_micros() as u64);
        }
        Some((RxToken { inner: rx, core: &mut self.core, now: Instant::from(timestamp) }, tx))
    }

    fn transmit(&mut self, timestamp: SmolInstant) -> Option<Self::TxToken<'_>> {
        self.device.transmit(timestamp)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.device.capabilities()
    }
}

/// The receive token of a [`McastDevice`]: the real device's, classified on
/// consumption. IGMP goes to the Host, and what is not for this interface is dropped
/// (see the [module docs](self)); smoltcp then gets an empty frame, which it skips.
pub struct RxToken<'a, T, const N: usize> {
    inner: T,
    core: &'a mut Core<N>,
    now: Instant,
}

impl<T: phy::RxToken, const N: usize> phy::RxToken for RxToken<'_, T, N> {
    fn consume<R, G>(self, f: G) -> R
    where
        G: FnOnce(&[u8]) -> R,
    {
        let RxToken { inner, core, now } = self;
        inner.consume(|frame| if core.receive(now, frame) { f(frame) } else { f(&[]) })
    }

    fn meta(&self) -> PacketMeta {
        self.inner.meta()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn div_1000_is_a_division_by_1000() {
        let samples = [0, 1, 999, 1000, 1001, 65_535_999, 65_536_000, u64::from(u32::MAX), 1 << 32, 4_294_967_296_000];
        for x in samples.into_iter().chain([u64::MAX, u64::MAX - 1, i64::MAX as u64, (1 << 48) - 1, 1 << 48]) {
            assert_eq!(div_1000(x), x / 1000, "{x}");
        }
        // Every 16-bit digit position with remainders carried through, from a
        // deterministic sequence.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            assert_eq!(div_1000(x), x / 1000, "{x}");
            assert_eq!(div_1000(x >> 20), (x >> 20) / 1000, "{x}");
        }
    }

    #[test]
    fn time_conversions_saturate() {
        assert_eq!(Instant::from(SmolInstant::from_millis(-5)), Instant::ZERO);
        assert_eq!(Instant::from(SmolInstant::from_micros(-999)), Instant::ZERO);
        assert_eq!(Instant::from(SmolInstant::from_millis(1234)), Instant::from_millis(1234));
        assert_eq!(Instant::from(SmolInstant::from_micros(1_234_999)), Instant::from_millis(1234));
        assert_eq!(Instant::from(SmolInstant::from_micros(i64::MAX)), Instant::from_millis(9_223_372_036_854_775));
        assert_eq!(SmolInstant::from(Instant::from_millis(1234)), SmolInstant::from_millis(1234));
        let end = SmolInstant::from(Instant::from_millis(u64::MAX));
        assert_eq!(end, SmolInstant::from_millis(i64::MAX / 1000));
    }

    #[test]
    fn the_receive_path_never_panics_on_short_frames() {
        let caps = NoFilter.capabilities();
        let mut core: Core<4> = Core {
            host: Host::new(HostConfig::default(), 1).unwrap(),
            set: FilterSet::new(caps, OverflowPolicy::AllMulticast).unwrap(),
            stats: DeviceStats::default(),
            mac: MacAddr([0x02, 0, 0, 0, 0, 1]),
            ipv4: Vec::new(),
            other_ip: false,
        };
        let mut igmp = [0u8; 64];
        igmp[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
        igmp[12] = 0x08;
        igmp[23] = 2;
        for len in 0..=igmp.len() {
            let pass = core.receive(Instant::ZERO, &igmp[..len]);
            // Too short for an EtherType: smoltcp drops it; too short for IGMP's protocol
            // octet, or for IGMP: no IPv4 destination to admit, or malformed IGMP.
            assert_eq!(pass, len < 14, "length {len}");
        }
        assert_eq!(core.stats.rx_malformed, 64 - 24 + 1);
        assert_eq!(core.stats.rx_other_address, 24 - 14);
        assert_eq!(core.stats.rx_frames, 65);
        // The same behind an 802.1Q tag: IGMP from the protocol octet at 27 on.
        let mut tagged = [0u8; 68];
        tagged[..12].copy_from_slice(&igmp[..12]);
        tagged[12..16].copy_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
        tagged[16..].copy_from_slice(&igmp[12..]);
        for len in 0..=tagged.len() {
            let pass = core.receive(Instant::ZERO, &tagged[..len]);
            // A tagged frame that is not IGMP goes to smoltcp, which drops it.
            assert_eq!(pass, len < 28, "length {len}");
        }
        assert_eq!(core.stats.rx_malformed, 2 * (64 - 24 + 1));
    }
}
