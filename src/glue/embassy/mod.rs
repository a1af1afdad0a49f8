//! The embassy-net glue: IGMP by [`Host`], NIC filtering by [`FilterSet`], under an
//! embassy-net stack (feature `embassy`; the [`join_with`](McastHandle::join_with)
//! helpers and [`follow`](McastHandle::follow) need feature `embassy-net`).
//!
//! embassy-net 0.9 runs smoltcp 0.13, whose IGMP sends one report per join and never
//! again, loses the report of a group joined before the stack has an address, does not
//! suppress and answers queries without random delays; and embassy's Ethernet drivers
//! pass all multicast, because nothing tells them which groups are wanted. The seam
//! that stays the same whatever stack embassy-net runs is the driver trait of
//! embassy-net-driver 0.2, so the glue is a [`Driver`](embassy_net_driver::Driver):
//! [`McastDriver`] wraps the real driver and goes to `embassy_net::new` in its place,
//! and a [`McastHandle`], shared with it, is what the application keeps to join, leave,
//! list groups and read counters, from any task.
//!
//! - **Received IGMP** (every IPv4 frame whose protocol field is 2) goes to the
//!   [`Host`]; the stack never sees it. Frames that do not parse are counted in
//!   [`Stats::rx_malformed`].
//! - **Received IPv4 multicast** whose destination MAC the [`FilterSet`] does not
//!   accept (the other MACs of a hash bin, everything while the NIC passes all
//!   multicast) is dropped before the stack parses it ([`Stats::rx_filtered`]).
//!   Everything else (unicast, broadcast, ARP, IPv6) passes untouched and without a
//!   copy, and without taking the handle's mutex.
//! - **IGMP the stack sends** never reaches the wire ([`Stats::stack_igmp_dropped`]),
//!   but the wrapper reads it: a report of the stack's is a join, its Leave a leave. So
//!   code that only calls `stack.join_multicast_group` still has its group reported
//!   by the [`Host`] (repeated, delayed, suppressed as RFC 2236 says) and its MAC in the
//!   NIC filter. The stack's membership counts as one join of the group. (embassy-net
//!   sends the stack's report on its runner's next poll: `join_multicast_group` does not
//!   wake the runner, every change made through the handle does.)
//! - **The Host's messages** are framed with [`frame::build_v2`] (TTL 1, Router Alert,
//!   TOS 0xc0) and sent through the real driver when they are due: the wrapper sets an
//!   embassy-time timer for the Host's next deadline, which wakes the stack's runner.
//! - **The NIC filter** `F` is given the FilterSet's [`Program`](crate::filter::Program)
//!   after every change of the set, from the runner's task; a busy NIC (`WouldBlock`)
//!   is asked again 1 ms later, a failing one 100 ms later, until it accepts
//!   ([`McastHandle::nic_in_sync`], [`McastHandle::nic_error`]).
//!
//! # Wiring
//!
//! ```
//! use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
//! use mcast::glue::NoFilter;
//! use mcast::glue::embassy::{McastDriver, McastHandle};
//! use mcast::filter::MulticastFilter as _;
//! use mcast::membership::HostConfig;
//! # use core::task::Context;
//! # use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState};
//! # struct Nic;
//! # struct Token;
//! # impl embassy_net_driver::RxToken for Token {
//! #     fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R { f(&mut []) }
//! # }
//! # impl embassy_net_driver::TxToken for Token {
//! #     fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R { f(&mut vec![0; len]) }
//! # }
//! # impl Driver for Nic {
//! #     type RxToken<'a> = Token;
//! #     type TxToken<'a> = Token;
//! #     fn receive(&mut self, _: &mut Context) -> Option<(Token, Token)> { None }
//! #     fn transmit(&mut self, _: &mut Context) -> Option<Token> { Some(Token) }
//! #     fn link_state(&mut self, _: &mut Context) -> LinkState { LinkState::Up }
//! #     fn capabilities(&self) -> Capabilities { let mut c = Capabilities::default(); c.max_transmission_unit = 1514; c }
//! #     fn hardware_address(&self) -> HardwareAddress { HardwareAddress::Ethernet([2, 0, 0, 0, 0, 1]) }
//! # }
//! # let nic = Nic;
//! // The shared state, for up to 8 groups and 8 multicast MACs. Firmware keeps it in a
//! // `static` (with `static_cell`), so that the runner's task and others can borrow it.
//! // A real NIC passes its `MulticastFilter` driver (`drivers::dwmac::Dwmac`, ...).
//! let seed = 0x5eed; // one per device and per boot: see "The seed"
//! let handle: McastHandle<8, CriticalSectionRawMutex> =
//!     McastHandle::new(NoFilter.capabilities(), HostConfig::default(), seed)?;
//! let driver = McastDriver::new(nic, NoFilter, &handle)?;
//!
//! let mut resources = embassy_net::StackResources::<2>::new();
//! // No address yet, as before DHCP (`Config::dhcpv4`, with embassy-net's `dhcpv4`).
//! let config = embassy_net::Config::default();
//! let (stack, _runner) = embassy_net::new(driver, config, &mut resources, seed);
//! // Spawn a task that runs `_runner.run()`, and one that runs `handle.follow(stack)`
//! // (it tells the Host the stack's IPv4 address as DHCP gives it).
//!
//! // Joins the group in the stack (which then accepts its datagrams) and in the Host
//! // (which reports it as soon as there is an address) and the NIC filter.
//! assert_eq!(handle.join_with(stack, [239, 1, 2, 3].into()), Ok(true));
//! assert!(stack.has_multicast_group(core::net::Ipv4Addr::new(239, 1, 2, 3)));
//! assert_eq!(handle.groups().len(), 1);
//! # Ok::<(), mcast::glue::embassy::Error>(())
//! ```
//!
//! Send to a group with a hop limit of 1 (`UdpSocket::set_hop_limit(Some(1))`) unless
//! the datagrams are meant to cross routers: RFC 1112 §6.1's default, which embassy-net
//! does not apply on its own (a UDP socket sends with 64). The hop limit is the
//! socket's, for every destination: keep the socket that sends to groups apart from one
//! that answers unicast peers.
//!
//! # The interface address
//!
//! The Host reports from the stack's IPv4 address and says nothing while there is none.
//! The wrapper learns the address from the source of the stack's own IPv4 and ARP
//! frames (prefix length 32, as the frames do not carry it), unless it is given:
//! [`McastHandle::follow`] (feature `embassy-net`) follows `stack.config_v4()`,
//! [`McastHandle::set_address`] sets it by hand. Groups joined through the handle before
//! there is an address are reported when it comes (after DHCP, say) and again each time
//! the link comes up. A group joined with `stack.join_multicast_group` alone before
//! there is an address cannot be learned (smoltcp sends nothing for it): join those
//! through the handle.
//!
//! # IPv6
//!
//! Programming the NIC filter must not break IPv6, which needs multicast for neighbour
//! discovery. The FilterSet always holds the all-nodes MAC (33:33:00:00:00:01), and
//! the wrapper learns the others from the stack's traffic: the solicited-node MAC
//! (33:33:ff:…) of every IPv6 source address the stack sends from, and the MAC of every
//! group named in its MLD reports (smoltcp reports the solicited-node groups of its
//! addresses as soon as they are configured). Addresses the stack has not used yet
//! can be given with [`McastHandle::add_ipv6_address`], groups with
//! [`McastHandle::add_ipv6_group`]. Up to [`IPV6_MACS`] such MACs are kept, beside the
//! `N` of the groups; they count against the FilterSet's `N`. IPv6 frames are never
//! filtered in software.
//!
//! MLD itself stays the stack's: the wrapper neither answers nor drops it. On a switch
//! that snoops MLD, smoltcp 0.13 keeps its solicited-node groups registered only where
//! the querier speaks MLDv2 (it answers no MLDv1 query, and its join report reads as a
//! leave); with an MLDv1 querier the switch stops forwarding neighbour solicitations to
//! it, whatever the NIC filter holds.
//!
//! # The seed
//!
//! The `seed` of [`McastHandle::new`] drives the Host's report delays; as with the
//! smoltcp glue, it must differ between the devices of a LAN (mix in the MAC) and
//! between boots (a hardware RNG, or a free-running counter read at an instant the
//! outside world decides).
//!
//! # Choices
//!
//! - **Dropping a received frame** hands the stack an empty frame: the real driver's
//!   token is consumed either way, and smoltcp discards a frame too short for an
//!   Ethernet header. Nothing is copied: frames are classified in place.
//! - **Dropping a transmitted frame** needs its bytes before the real driver's token is
//!   consumed (a consumed token sends), so frames of up to 64 octets are staged on the
//!   stack, checked, and copied into the real token unless they are IGMP; longer frames
//!   go straight to the driver, read in place after the stack wrote them. smoltcp 0.13's
//!   IGMP frames are 42 octets; an IGMP frame longer than 64 (an IGMPv3 report, which
//!   smoltcp does not send) would reach the wire. IGMP sent through a raw socket is not
//!   supported (received IGMP never reaches one either).
//! - **The wrapper's duties run in `link_state`**, which embassy-net calls once per poll
//!   of its runner, after the stack's own work; the handle wakes the runner whenever
//!   the application changes something. If the real driver has no transmit token for
//!   a Host message, the message waits in a one-frame slot until it has.
//! - **The shared state** is behind an embassy-sync blocking mutex:
//!   `CriticalSectionRawMutex` by default (any task, any priority); `NoopRawMutex`
//!   where everything runs in one executor.
//! - **No allocation, no panic** on any frame: every length is checked before use.

mod driver;
mod handle;
#[cfg(feature = "embassy-net")]
mod net;
mod sniff;

use core::fmt;

pub use driver::{McastDriver, RxToken, TxToken};
pub use handle::{IPV6_ALL_NODES_MAC, IPV6_MACS, McastHandle};

use crate::filter::FilterError;
use crate::membership::{ConfigError, MembershipError};

#[cfg(doc)]
use crate::{filter::FilterSet, membership::Host, wire::frame};

/// Why a join, a leave or a construction failed. Whatever the error, nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The Host refused: not a joinable group, its table is full, not joined…
    Membership(MembershipError),
    /// The FilterSet refused: full, no exact slot left under
    /// [`OverflowPolicy::Reject`](crate::filter::OverflowPolicy::Reject), or a policy the
    /// NIC cannot follow.
    Filter(FilterError),
    /// The Host configuration is out of range.
    Config(ConfigError),
    /// The driver is not an Ethernet driver: the glue reads and writes Ethernet frames.
    NotEthernet,
    /// The handle was made for other filter capabilities than the NIC filter's.
    FilterMismatch,
    /// The stack's multicast group table is full (smoltcp's
    /// `iface-max-multicast-group-count-*` feature sets its size).
    StackFull,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Membership(e) => fmt::Display::fmt(e, f),
            Error::Filter(e) => fmt::Display::fmt(e, f),
            Error::Config(e) => fmt::Display::fmt(e, f),
            Error::NotEthernet => f.write_str("not an Ethernet driver"),
            Error::FilterMismatch => f.write_str("handle made for another NIC filter"),
            Error::StackFull => f.write_str("stack multicast group table full"),
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
/// [`McastHandle::host_stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Stats {
    /// IGMP frames received that parsed and went to the Host.
    pub rx_igmp: u32,
    /// IGMP frames received that did not parse, dropped.
    pub rx_malformed: u32,
    /// IGMP frames received at another station's unicast MAC (a NIC in promiscuous
    /// mode), dropped.
    pub rx_not_ours: u32,
    /// IGMP frames received tagged for a VLAN (the stack's network is untagged), dropped.
    pub rx_tagged: u32,
    /// IPv4 multicast frames received for a MAC the FilterSet does not accept, dropped.
    pub rx_filtered: u32,
    /// IGMP frames the stack tried to send, dropped.
    pub stack_igmp_dropped: u32,
    /// Joins learned from the stack's reports.
    pub stack_joins_learned: u32,
    /// Leaves learned from the stack's Leave messages.
    pub stack_leaves_learned: u32,
    /// Joins or leaves of the stack's the Host or FilterSet refused (full tables).
    pub stack_igmp_refused: u32,
    /// IPv6 multicast MACs learned from the stack's traffic.
    pub ipv6_macs_learned: u32,
    /// IPv6 multicast MACs the FilterSet had no room for.
    pub ipv6_macs_refused: u32,
    /// The Host's messages handed to the real driver.
    pub tx_igmp: u32,
    /// Times the real driver had no transmit token for a Host message (it waits).
    pub tx_deferred: u32,
    /// Programs the NIC accepted.
    pub nic_applied: u32,
    /// `apply` calls that returned `WouldBlock` (retried).
    pub nic_busy: u32,
    /// `apply` calls that returned an error (retried).
    pub nic_errors: u32,
}
