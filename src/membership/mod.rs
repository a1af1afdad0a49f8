//! Sans-IO IGMP state machines: the RFC 2236 [`Host`] (with IGMPv1 compatibility) and
//! the RFC 2236 [`Querier`].
//!
//! Neither touches a clock, a socket or a NIC. The caller:
//!
//! 1. passes the current [`Instant`] into every call that depends on time;
//! 2. feeds every received IGMP message in with its IP header facts ([`IpMeta`]);
//! 3. calls `poll_transmit(now)` until it returns `None` and sends what it yields;
//! 4. sleeps until `poll_at()` (or until the next frame or user action) and repeats.
//!
//! Randomness comes from a PRNG the caller seeds ([`Rng`]), so the same inputs always
//! give the same outputs.
//!
//! ```
//! use core::net::Ipv4Addr;
//! use mcast::membership::{Host, HostConfig, Instant};
//! use mcast::GroupAddr;
//!
//! let mut host: Host<8> = Host::new(HostConfig::default(), 0x5eed)?;
//! let t0 = Instant::from_millis(0);
//! host.set_address(t0, Some((Ipv4Addr::new(10, 0, 0, 7), 24)));
//! let group: GroupAddr = "239.1.2.3".parse()?;
//! assert_eq!(host.join(t0, group), Ok(true)); // membership changed: program the NIC
//!
//! // The unsolicited report is due at once; a repeat follows within 10 s.
//! let tx = host.poll_transmit(t0).expect("join report");
//! assert_eq!(tx.destination, group);
//! let next = host.poll_at().expect("repeat scheduled");
//! assert!(next > t0 && next <= Instant::from_millis(10_000));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod host;
mod index;
mod querier;
mod rng;
mod table;
mod time;

use core::fmt;
use core::net::Ipv4Addr;

pub use host::{GroupInfo, GroupState, Host, HostConfig, HostStats};
pub use querier::{Querier, QuerierConfig, QuerierEvent, QuerierGroup, QuerierStats};
pub use rng::Rng;
pub use time::Instant;

use crate::addr::GroupAddr;
use crate::wire::igmp::Message;
use crate::wire::ipv4;

/// Counts one more of something in a statistics counter, wrapping at `u32::MAX` as
/// interface counters do.
#[inline]
pub(crate) fn bump(counter: &mut u32) {
    *counter = counter.wrapping_add(1);
}

/// What the IP layer knows about a received IGMP message, which IGMP's rules depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IpMeta {
    /// IP source address.
    pub src: Ipv4Addr,
    /// IP destination address.
    pub dst: Ipv4Addr,
    /// IP time to live.
    pub ttl: u8,
    /// Whether the IP header carried the Router Alert option.
    pub router_alert: bool,
}

impl From<&ipv4::Repr> for IpMeta {
    fn from(ip: &ipv4::Repr) -> IpMeta {
        IpMeta { src: ip.src_addr, dst: ip.dst_addr, ttl: ip.ttl, router_alert: ip.router_alert }
    }
}

/// A message a state machine wants sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Transmit {
    /// The message.
    pub message: Message<'static>,
    /// Its IPv4 destination (always [`Message::destination`]).
    pub destination: GroupAddr,
    /// The IPv4 source to send it from.
    pub source: Ipv4Addr,
}

impl Transmit {
    fn new(message: Message<'static>, source: Ipv4Addr) -> Transmit {
        Transmit { destination: message.destination(), message, source }
    }
}

/// Why a join or leave was refused. The membership table is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MembershipError {
    /// The address is not in 224.0.0.0/4.
    NotMulticast,
    /// 224.0.0.0, the reserved base address, cannot be joined.
    NotJoinable,
    /// Every slot of the table is taken (the WSAENOBUFS case).
    TableFull,
    /// `leave` of a group that is not joined.
    NotJoined,
    /// A group was joined 65535 times without a leave.
    TooManyJoins,
}

impl fmt::Display for MembershipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MembershipError::NotMulticast => "not a multicast address",
            MembershipError::NotJoinable => "224.0.0.0 cannot be joined",
            MembershipError::TableFull => "membership table full",
            MembershipError::NotJoined => "group not joined",
            MembershipError::TooManyJoins => "group joined too many times",
        })
    }
}

impl core::error::Error for MembershipError {}

/// A configuration value out of the range the protocol or the implementation allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConfigError {
    /// The field's interval is longer than the implementation supports: one hour for
    /// the Unsolicited Report Interval, 25.5 s for the intervals sent as a Max Resp
    /// (Query Response, Last Member Query), one day for the other router timers.
    IntervalTooLong(ConfigField),
    /// The field is zero, which RFC 2236 gives no meaning: a count of zero, an interval
    /// of zero, or an interval sent as a Max Resp that is under 0.1 s (it would encode
    /// as 0).
    Zero(ConfigField),
    /// The Query Response Interval is not shorter than the Query Interval (RFC 2236 §8.3).
    ResponseIntervalTooLong,
    /// A querier can speak IGMPv1 or IGMPv2 only.
    UnsupportedVersion,
}

/// A field of [`HostConfig`] or [`QuerierConfig`], as [`ConfigError`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConfigField {
    /// [`HostConfig::unsolicited_report_interval`].
    UnsolicitedReportInterval,
    /// [`HostConfig::v1_router_present_timeout`].
    V1RouterPresentTimeout,
    /// [`QuerierConfig::robustness`].
    Robustness,
    /// [`QuerierConfig::query_interval`].
    QueryInterval,
    /// [`QuerierConfig::query_response_interval`].
    QueryResponseInterval,
    /// [`QuerierConfig::group_membership_interval`].
    GroupMembershipInterval,
    /// [`QuerierConfig::other_querier_present_interval`].
    OtherQuerierPresentInterval,
    /// [`QuerierConfig::startup_query_interval`].
    StartupQueryInterval,
    /// [`QuerierConfig::startup_query_count`].
    StartupQueryCount,
    /// [`QuerierConfig::last_member_query_interval`].
    LastMemberQueryInterval,
    /// [`QuerierConfig::last_member_query_count`].
    LastMemberQueryCount,
}

impl ConfigField {
    /// The field's name in its configuration struct.
    pub const fn name(self) -> &'static str {
        match self {
            ConfigField::UnsolicitedReportInterval => "unsolicited_report_interval",
            ConfigField::V1RouterPresentTimeout => "v1_router_present_timeout",
            ConfigField::Robustness => "robustness",
            ConfigField::QueryInterval => "query_interval",
            ConfigField::QueryResponseInterval => "query_response_interval",
            ConfigField::GroupMembershipInterval => "group_membership_interval",
            ConfigField::OtherQuerierPresentInterval => "other_querier_present_interval",
            ConfigField::StartupQueryInterval => "startup_query_interval",
            ConfigField::StartupQueryCount => "startup_query_count",
            ConfigField::LastMemberQueryInterval => "last_member_query_interval",
            ConfigField::LastMemberQueryCount => "last_member_query_count",
        }
    }
}

impl fmt::Display for ConfigField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::IntervalTooLong(field) => write!(f, "{field}: interval too long"),
            ConfigError::Zero(field) => write!(f, "{field}: must not be zero"),
            ConfigError::ResponseIntervalTooLong => f.write_str("query response interval not below query interval"),
            ConfigError::UnsupportedVersion => f.write_str("querier version must be 1 or 2"),
        }
    }
}

impl core::error::Error for ConfigError {}

/// Checks that a joined address is a joinable group.
pub(crate) fn joinable(addr: Ipv4Addr) -> Result<GroupAddr, MembershipError> {
    let group = GroupAddr::from_ipv4(addr).map_err(|_| MembershipError::NotMulticast)?;
    if group.is_joinable() { Ok(group) } else { Err(MembershipError::NotJoinable) }
}

/// Whether `addr` is in the subnet `net/prefix`.
fn in_subnet(addr: Ipv4Addr, net: Ipv4Addr, prefix: u8) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
    u32::from(addr) & mask == u32::from(net) & mask
}
