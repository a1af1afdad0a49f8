//! Property tests of the membership state machines, over the public API only.
//!
//! Each property drives a `Host<4>` or a `Querier<4>` through a random sequence of
//! operations (time steps, forwards, backwards and to the end of time; joins and
//! leaves; address changes; received messages, well-formed or not) and, after every
//! operation, drains `poll_transmit` (and `poll_event`) at the current instant and
//! checks what came out against a small model kept by the test.
//!
//! The tests at the end are bugs these properties once found, each reduced to its
//! shortest sequence.

use std::collections::{BTreeMap, BTreeSet};

use core::net::Ipv4Addr;
use core::time::Duration;

use mcast::GroupAddr;
use mcast::addr::Scope;
use mcast::membership::{
    GroupState, Host, HostConfig, IpMeta, MembershipError, Querier, QuerierConfig, QuerierEvent, Transmit,
};
use mcast::wire::checksum;
use mcast::wire::igmp::{self, AddrList, GroupRecord, GroupRecords, Message, RecordType, V3Query, Version};
use proptest::collection::vec;
use proptest::prelude::*;

mod common;
use common::ms;

// ---------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------

/// The addresses joins, leaves and messages pick from: 224.0.0.1, the reserved base
/// 224.0.0.0, two neighbouring groups, a group with the same MAC address as the first
/// (225.1.1.1 and 239.1.1.1 both map to 01:00:5e:01:01:01), a link-local group (never
/// tracked by a router), a well-known group, a group that shares nothing with the
/// others, and, last, a unicast address. Six joinable groups for a host table of four,
/// five that a router tracks for a querier table of four.
const POOL: [Ipv4Addr; 9] = [
    Ipv4Addr::new(224, 0, 0, 1),
    Ipv4Addr::new(224, 0, 0, 0),
    Ipv4Addr::new(239, 1, 1, 1),
    Ipv4Addr::new(239, 1, 1, 2),
    Ipv4Addr::new(225, 1, 1, 1),
    Ipv4Addr::new(224, 0, 0, 251),
    Ipv4Addr::new(239, 255, 255, 250),
    Ipv4Addr::new(238, 255, 0, 9),
    Ipv4Addr::new(10, 1, 2, 3),
];
/// How many of `POOL` are multicast (all but the last).
const GROUPS: usize = 8;
const TABLE: usize = 4;

/// The host's usual address, and another one on the same subnet.
const HOST_ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);
const HOST_ME_2: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 8);
/// The querier's address.
const ROUTER_ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const ROUTER_PREFIX: u8 = 24;
/// Somewhere no IGMP message should be sent.
const ELSEWHERE: Ipv4Addr = Ipv4Addr::new(239, 9, 9, 9);
const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);
const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);
const END: u64 = u64::MAX;

fn group(i: usize) -> GroupAddr {
    GroupAddr::from_ipv4(POOL[i]).expect("multicast")
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Whether `addr` is in `net/prefix`.
fn in_subnet(addr: Ipv4Addr, net: Ipv4Addr, prefix: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0);
    u32::from(addr) & mask == u32::from(net) & mask
}

// ---------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------
//
// Each operation is decoded from a few random words rather than composed with
// `prop_oneof!`: a sequence holds up to 200 operations, and in a debug build a union
// costs ten times as much to generate as an integer. Shrinking still removes operations
// and pulls the words towards 0, which decodes to the simplest choices (a step of 0 ms,
// the first address of the pool, a well-formed message sent where it belongs).

/// Random bits, read off as small numbers.
struct Bits(u64);

impl Bits {
    /// A number below `n`.
    fn below(&mut self, n: u64) -> u64 {
        let v = self.0 % n;
        self.0 /= n;
        v
    }

    /// One of `choices`, by weight.
    fn pick<T: Copy>(&mut self, choices: &[(u64, T)]) -> T {
        let total = choices.iter().map(|c| c.0).sum();
        let mut x = self.below(total);
        for &(weight, value) in choices {
            if x < weight {
                return value;
            }
            x -= weight;
        }
        unreachable!("x < total")
    }

    /// An index into `POOL[..GROUPS]`.
    fn group(&mut self) -> usize {
        self.below(GROUPS as u64) as usize
    }
}

/// A move of the caller's clock.
#[derive(Debug, Clone, Copy)]
enum Clock {
    Advance(u64),
    Back(u64),
    To(u64),
}

impl Clock {
    fn apply(self, now: u64) -> u64 {
        match self {
            Clock::Advance(d) => now.saturating_add(d),
            Clock::Back(d) => now.saturating_sub(d),
            Clock::To(t) => t,
        }
    }

    /// Steps forwards (up to 100 ms, 2 s or 30 s, weighted 24, 12 and 8); steps back
    /// with weight `back`; jumps to an edge with weight `edge`: 0, the end of time and
    /// just before it, and the points where 30-bit and 32-bit millisecond offsets wrap.
    fn decode(bits: u64, back: u64, edge: u64) -> Clock {
        let mut b = Bits(bits);
        let kind = b.pick(&[(24, 0), (12, 1), (8, 2), (back, 3), (edge, 4)]);
        let x = b.0;
        match kind {
            0 => Clock::Advance(x % 101),
            1 => Clock::Advance(x % 2_001),
            2 => Clock::Advance(x % 30_001),
            3 => Clock::Back(1 + x % 100_000),
            _ => Clock::To(match x % 6 {
                0 => 0,
                1 => END,
                2 => END - 1,
                3 => END - (x / 8) % 50_001,
                4 => (1 << 30) - 3 + (x / 8) % 7,
                _ => u64::from(u32::MAX) - 3 + (x / 8) % 7,
            }),
        }
    }
}

/// An owned description of a message; groups are indices into `POOL[..GROUPS]`.
#[derive(Debug, Clone)]
enum Msg {
    V1Query,
    V2Query { max_resp: u8, group: Option<usize> },
    V3Query { max_resp_code: u8, group: Option<usize> },
    V1Report(usize),
    V2Report(usize),
    Leave(usize),
    V3Report(Vec<usize>),
}

#[derive(Clone, Copy)]
enum MsgKind {
    V1Query,
    V2Query,
    V3Query,
    V1Report,
    V2Report,
    Leave,
    V3Report,
}

/// Messages as a host hears them: mostly queries and other hosts' reports.
const HOST_MSGS: [(u64, MsgKind); 7] = [
    (5, MsgKind::V2Report),
    (6, MsgKind::V2Query),
    (2, MsgKind::V1Query),
    (2, MsgKind::V3Query),
    (2, MsgKind::V1Report),
    (1, MsgKind::Leave),
    (1, MsgKind::V3Report),
];

/// Messages as a querier hears them: mostly reports and leaves.
const QUERIER_MSGS: [(u64, MsgKind); 7] = [
    (8, MsgKind::V2Report),
    (3, MsgKind::V2Query),
    (1, MsgKind::V1Query),
    (1, MsgKind::V3Query),
    (2, MsgKind::V1Report),
    (4, MsgKind::Leave),
    (1, MsgKind::V3Report),
];

impl Msg {
    fn decode(bits: u64, kinds: &[(u64, MsgKind)]) -> Msg {
        let mut b = Bits(bits);
        let kind = b.pick(kinds);
        let group = b.group();
        let specific = b.below(2) == 1;
        // Max Resp: mostly short, so that timers fire within a few steps; rarely 0.
        let max_resp = match b.pick(&[(6, 0), (3, 1), (1, 2)]) {
            0 => 1 + b.below(20) as u8,
            1 => b.below(256) as u8,
            _ => 0,
        };
        match kind {
            MsgKind::V1Query => Msg::V1Query,
            MsgKind::V2Query => Msg::V2Query { max_resp, group: specific.then_some(group) },
            MsgKind::V3Query => Msg::V3Query { max_resp_code: max_resp, group: specific.then_some(group) },
            MsgKind::V1Report => Msg::V1Report(group),
            MsgKind::V2Report => Msg::V2Report(group),
            MsgKind::Leave => Msg::Leave(group),
            MsgKind::V3Report => Msg::V3Report((0..b.below(3)).map(|_| b.group()).collect()),
        }
    }

    /// Calls `f` with the message this describes.
    fn with<R>(&self, f: impl FnOnce(&Message<'_>) -> R) -> R {
        let records: Vec<GroupRecord<'static>> = match self {
            Msg::V3Report(groups) => groups
                .iter()
                .map(|&i| GroupRecord {
                    record_type: RecordType::ModeIsExclude,
                    group: group(i),
                    sources: AddrList::EMPTY,
                    aux_data: &[],
                })
                .collect(),
            _ => Vec::new(),
        };
        let msg = match *self {
            Msg::V1Query => Message::V1Query,
            Msg::V2Query { max_resp, group: g } => Message::V2Query { max_resp, group: g.map(group) },
            Msg::V3Query { max_resp_code, group: g } => Message::V3Query(V3Query {
                max_resp_code,
                group: g.map(group),
                suppress_router_processing: false,
                qrv: 2,
                qqic: 125,
                sources: AddrList::EMPTY,
            }),
            Msg::V1Report(i) => Message::V1Report { group: group(i) },
            Msg::V2Report(i) => Message::V2Report { group: group(i) },
            Msg::Leave(i) => Message::Leave { group: group(i) },
            Msg::V3Report(_) => Message::V3Report { records: GroupRecords::new(&records) },
        };
        f(&msg)
    }
}

/// Where a received message was sent.
#[derive(Debug, Clone, Copy)]
enum Dst {
    /// Where the RFCs send it.
    Correct,
    AllSystems,
    AllRouters,
    /// The group the message names (a general query: 239.1.1.1).
    Group,
    /// The receiver's own unicast address.
    Us,
    Elsewhere,
}

impl Dst {
    fn resolve(self, msg: &Message<'_>, us: Ipv4Addr) -> Ipv4Addr {
        match self {
            Dst::Correct => msg.destination().to_ipv4(),
            Dst::AllSystems => ALL_SYSTEMS,
            Dst::AllRouters => ALL_ROUTERS,
            Dst::Group => match *msg {
                Message::V1Report { group } | Message::V2Report { group } | Message::Leave { group } => group.to_ipv4(),
                _ => msg.query().and_then(|q| q.group).unwrap_or(group(2)).to_ipv4(),
            },
            Dst::Us => us,
            Dst::Elsewhere => ELSEWHERE,
        }
    }
}

/// IP facts of a received message; `dst` is resolved against the message when fed.
#[derive(Debug, Clone, Copy)]
struct Ip {
    src: Ipv4Addr,
    dst: Dst,
    ttl: u8,
    router_alert: bool,
}

impl Ip {
    /// Mostly to the right destination with TTL 1 and Router Alert.
    fn decode(bits: u64, sources: &[(u64, Ipv4Addr)]) -> Ip {
        let mut b = Bits(bits);
        let src = b.pick(sources);
        let dst = b.pick(&[
            (12, Dst::Correct),
            (1, Dst::AllSystems),
            (1, Dst::AllRouters),
            (1, Dst::Group),
            (1, Dst::Us),
            (1, Dst::Elsewhere),
        ]);
        let ttl = if b.below(12) == 0 { b.below(256) as u8 } else { 1 };
        let router_alert = b.below(7) != 6;
        Ip { src, dst, ttl, router_alert }
    }

    fn meta(self, msg: Option<&Message<'_>>, us: Ipv4Addr) -> IpMeta {
        let dst = msg.map_or(ALL_SYSTEMS, |m| self.dst.resolve(m, us));
        IpMeta { src: self.src, dst, ttl: self.ttl, router_alert: self.router_alert }
    }
}

/// Sources as a host sees them: the router, another host, a snooping switch (0.0.0.0),
/// a neighbour in the /16 but not the /24, and a stranger.
const HOST_SOURCES: [(u64, Ipv4Addr); 5] = [
    (4, Ipv4Addr::new(10, 0, 0, 1)),
    (4, Ipv4Addr::new(10, 0, 0, 9)),
    (1, Ipv4Addr::UNSPECIFIED),
    (1, Ipv4Addr::new(10, 0, 1, 1)),
    (1, Ipv4Addr::new(192, 168, 9, 1)),
];

/// Sources as a querier sees them: hosts, routers below and above us, 0.0.0.0, our own
/// queries looped back, and strangers below and above us.
const QUERIER_SOURCES: [(u64, Ipv4Addr); 8] = [
    (6, Ipv4Addr::new(10, 0, 0, 20)),
    (2, Ipv4Addr::new(10, 0, 0, 1)),
    (1, Ipv4Addr::new(10, 0, 0, 3)),
    (2, Ipv4Addr::new(10, 0, 0, 9)),
    (2, Ipv4Addr::UNSPECIFIED),
    (1, ROUTER_ME),
    (1, Ipv4Addr::new(1, 2, 3, 4)),
    (1, Ipv4Addr::new(192, 168, 1, 1)),
];

/// Writes `bytes` with its IGMP checksum field recomputed.
fn fix_igmp_checksum(bytes: &mut [u8]) {
    if bytes.len() >= igmp::field::CHECKSUM.end {
        bytes[igmp::field::CHECKSUM].fill(0);
        let sum = checksum::compute(bytes);
        bytes[igmp::field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
    }
}

/// Raw IGMP octets: an 8-octet header (type, Max Resp, a group from the pool, 0.0.0.0
/// or anything) with a tail of up to 8 octets from `tail`, usually with a good
/// checksum; or, one time in five, up to 16 octets of noise.
fn decode_raw(bits: u64, tail: u64) -> Vec<u8> {
    let mut b = Bits(bits);
    if b.below(5) == 4 {
        let len = b.below(17) as usize;
        let noise = [tail.to_le_bytes(), b.0.to_le_bytes()].concat();
        return noise[..len].to_vec();
    }
    let msg_type = [
        igmp::msg_type::MEMBERSHIP_QUERY,
        igmp::msg_type::V2_REPORT,
        igmp::msg_type::V1_REPORT,
        igmp::msg_type::LEAVE,
        igmp::msg_type::V3_REPORT,
    ]
    .get(b.below(6) as usize)
    .copied()
    .unwrap_or_else(|| b.below(256) as u8);
    let max_resp = if b.below(2) == 0 { b.below(21) as u8 } else { b.below(256) as u8 };
    let group = match b.below(5) {
        0..=2 => u32::from(POOL[b.below(POOL.len() as u64) as usize]),
        3 => 0,
        _ => b.below(1 << 32) as u32,
    };
    let fix = b.below(5) != 4;
    let mut bytes = vec![msg_type, max_resp, 0, 0];
    bytes.extend_from_slice(&group.to_be_bytes());
    bytes.extend_from_slice(&tail.to_le_bytes()[..b.below(9) as usize]);
    if fix {
        fix_igmp_checksum(&mut bytes);
    }
    bytes
}

#[derive(Debug, Clone)]
enum HostOp {
    Clock(Clock),
    Join(usize),
    Leave(usize),
    SetAddress(Option<(Ipv4Addr, u8)>),
    LinkUp,
    Receive(Msg, Ip),
    Raw(Vec<u8>, Ip),
}

#[derive(Clone, Copy)]
enum HostOpKind {
    Clock,
    Join,
    Leave,
    SetAddress,
    LinkUp,
    Receive,
    Raw,
}

const HOST_ADDRESSES: [(u64, Option<(Ipv4Addr, u8)>); 6] = [
    (6, Some((HOST_ME, 24))),
    (2, None),
    (2, Some((HOST_ME_2, 24))),
    (1, Some((HOST_ME, 16))),
    (1, Some((HOST_ME, 0))),
    (1, Some((HOST_ME, 32))),
];

/// Host operations, weighted by `[clock, join, leave, set_address, link_up, receive,
/// raw]`; `back` and `edge` weigh clock steps as in [`Clock::decode`].
fn host_op(weights: [u64; 7], back: u64, edge: u64) -> impl Strategy<Value = HostOp> {
    use HostOpKind::*;
    let kinds = [Clock, Join, Leave, SetAddress, LinkUp, Receive, Raw];
    (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(move |(a, bits, more)| {
        let mut b = Bits(a);
        let choices: Vec<(u64, HostOpKind)> = weights.iter().copied().zip(kinds).filter(|c| c.0 > 0).collect();
        match b.pick(&choices) {
            Clock => HostOp::Clock(self::Clock::decode(bits, back, edge)),
            Join => HostOp::Join(Bits(bits).below(POOL.len() as u64) as usize),
            Leave => HostOp::Leave(Bits(bits).below(POOL.len() as u64) as usize),
            SetAddress => HostOp::SetAddress(Bits(bits).pick(&HOST_ADDRESSES)),
            LinkUp => HostOp::LinkUp,
            Receive => HostOp::Receive(Msg::decode(bits, &HOST_MSGS), Ip::decode(more, &HOST_SOURCES)),
            Raw => HostOp::Raw(decode_raw(bits, b.0), Ip::decode(more, &HOST_SOURCES)),
        }
    })
}

/// Valid host configurations: the defaults, or other report counts and intervals, a
/// short IGMPv1 router timeout, and the three filters.
fn host_config() -> impl Strategy<Value = HostConfig> {
    let custom = (0u8..=3, 1u64..=10_000, 1u64..=60, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(count, interval, v1_secs, require_router_alert, ignore_off_subnet_queries, require_ttl_1)| {
            let mut c = HostConfig::default();
            c.unsolicited_report_count = count;
            c.unsolicited_report_interval =
                Duration::from_millis(if count <= 1 && interval < 50 { 0 } else { interval });
            c.v1_router_present_timeout = Duration::from_secs(v1_secs);
            c.require_router_alert = require_router_alert;
            c.ignore_off_subnet_queries = ignore_off_subnet_queries;
            c.require_ttl_1 = require_ttl_1;
            c
        },
    );
    prop_oneof![1 => Just(HostConfig::default()), 2 => custom]
}

#[derive(Debug, Clone)]
enum QuerierOp {
    Clock(Clock),
    Receive(Msg, Ip),
    Raw(Vec<u8>, Ip),
}

fn querier_op() -> impl Strategy<Value = QuerierOp> {
    (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(a, bits, more)| {
        let mut b = Bits(a);
        match b.pick(&[(30, 0), (25, 1), (3, 2)]) {
            0 => QuerierOp::Receive(Msg::decode(bits, &QUERIER_MSGS), Ip::decode(more, &QUERIER_SOURCES)),
            1 => QuerierOp::Clock(Clock::decode(bits, 3, 1)),
            _ => QuerierOp::Raw(decode_raw(bits, b.0), Ip::decode(more, &QUERIER_SOURCES)),
        }
    })
}

/// Valid querier configurations: the defaults, or short intervals (so that startup,
/// election and expiry happen within a few hundred steps), IGMPv1 mode, and the
/// off-subnet and TTL filters either way.
fn querier_config() -> impl Strategy<Value = QuerierConfig> {
    let custom = (1u8..=3, 2u64..=60, any::<u64>(), 1u64..=20, 1u8..=3, 0u8..5, any::<bool>(), any::<bool>()).prop_map(
        |(rv, qi_secs, qri, lmqi_tenths, lmqc, v1, ignore_off_subnet, require_ttl_1)| {
            // Query Response Interval: 0.1 s to 25.5 s, below the Query Interval.
            let qri_tenths = 1 + qri % (qi_secs * 10 - 1).min(255);
            let mut c = QuerierConfig::new(rv, Duration::from_secs(qi_secs), Duration::from_millis(qri_tenths * 100));
            c.last_member_query_interval = Duration::from_millis(lmqi_tenths * 100);
            c.last_member_query_count = lmqc;
            c.version = if v1 == 0 { Version::V1 } else { Version::V2 };
            c.ignore_off_subnet = ignore_off_subnet;
            c.require_ttl_1 = require_ttl_1;
            c
        },
    );
    prop_oneof![1 => Just(QuerierConfig::default()), 3 => custom]
}

// ---------------------------------------------------------------------------------------
// Host model and checks
// ---------------------------------------------------------------------------------------

/// What the test knows the host must have done, kept from the inputs alone.
#[derive(Debug)]
struct HostModel {
    config: HostConfig,
    now: u64,
    address: Option<(Ipv4Addr, u8)>,
    /// Joined groups and their join counts.
    joins: BTreeMap<GroupAddr, u16>,
    /// When the last accepted IGMPv1 query stops counting.
    v1_until: Option<u64>,
    /// Groups we sent a report for since their latest join, not since suppressed by
    /// another host's report heard while our report timer ran.
    we_reported_last: BTreeSet<GroupAddr>,
    /// Groups whose last `leave` must send a Leave in the drain that follows it.
    expect_leave: BTreeSet<GroupAddr>,
    /// Per group: accepted queries that applied to it while joined.
    queries: BTreeMap<GroupAddr, u64>,
    /// Per group: joins, address changes and link-ups that announced it.
    announcements: BTreeMap<GroupAddr, u64>,
    /// Per group: reports we sent.
    reports: BTreeMap<GroupAddr, u64>,
    /// Everything sent, with the time.
    sent: Vec<(u64, Transmit)>,
}

impl HostModel {
    fn new(config: HostConfig) -> HostModel {
        HostModel {
            config,
            now: 0,
            address: None,
            joins: BTreeMap::new(),
            v1_until: None,
            we_reported_last: BTreeSet::new(),
            expect_leave: BTreeSet::new(),
            queries: BTreeMap::new(),
            announcements: BTreeMap::new(),
            reports: BTreeMap::new(),
            sent: Vec::new(),
        }
    }

    fn v1_present(&self) -> bool {
        self.v1_until.is_some_and(|until| self.now < until)
    }

    fn announce(&mut self, g: GroupAddr) {
        *self.announcements.entry(g).or_default() += 1;
    }

    fn announce_all(&mut self) {
        let joined: Vec<GroupAddr> = self.joins.keys().copied().collect();
        for g in joined {
            self.announce(g);
        }
    }

    fn expected_join(&self, addr: Ipv4Addr) -> Result<bool, MembershipError> {
        let g = GroupAddr::from_ipv4(addr).map_err(|_| MembershipError::NotMulticast)?;
        if g == GroupAddr::BASE {
            Err(MembershipError::NotJoinable)
        } else if g == GroupAddr::ALL_SYSTEMS || self.joins.contains_key(&g) {
            Ok(false)
        } else if self.joins.len() == TABLE {
            Err(MembershipError::TableFull)
        } else {
            Ok(true)
        }
    }

    fn expected_leave(&self, addr: Ipv4Addr) -> Result<bool, MembershipError> {
        let g = GroupAddr::from_ipv4(addr).map_err(|_| MembershipError::NotMulticast)?;
        if g == GroupAddr::BASE {
            return Err(MembershipError::NotJoinable);
        }
        if g == GroupAddr::ALL_SYSTEMS {
            return Ok(false);
        }
        match self.joins.get(&g) {
            None => Err(MembershipError::NotJoined),
            Some(&n) => Ok(n == 1),
        }
    }

    /// Whether the host must act on `query` (RFC 2236 §3 plus the configured filters).
    fn accepts_query(&self, meta: &IpMeta, query: &igmp::Query) -> bool {
        let ttl_ok = !self.config.require_ttl_1 || meta.ttl == 1;
        let ra_ok = !self.config.require_router_alert || query.version == Version::V1 || meta.router_alert;
        let subnet_ok = match (self.config.ignore_off_subnet_queries, self.address) {
            (true, Some((addr, prefix))) => meta.src.is_unspecified() || in_subnet(meta.src, addr, prefix),
            _ => true,
        };
        let dst_ok = meta.dst == ALL_SYSTEMS
            || self.address.is_some_and(|(a, _)| a == meta.dst)
            || query.group.is_some_and(|g| g.to_ipv4() == meta.dst);
        ttl_ok && ra_ok && subnet_ok && dst_ok
    }

    /// Takes note of a message about to be fed to `h`.
    fn hear(&mut self, h: &Host<4>, meta: &IpMeta, msg: &Message<'_>) {
        if self.config.require_ttl_1 && meta.ttl != 1 {
            return;
        }
        match *msg {
            Message::V1Report { group } | Message::V2Report { group } if meta.dst == group.to_ipv4() => {
                // RFC 2236 §6: Delaying Member + report received: stop timer, clear flag.
                if h.groups().any(|i| i.group == group && i.state == GroupState::Delaying) {
                    self.we_reported_last.remove(&group);
                }
            }
            _ => {
                let Some(query) = msg.query() else { return };
                if !self.accepts_query(meta, &query) {
                    return;
                }
                if query.version == Version::V1 {
                    self.v1_until = Some(self.now.saturating_add(millis(self.config.v1_router_present_timeout)));
                }
                let applies: Vec<GroupAddr> = match query.group {
                    None => self.joins.keys().copied().collect(),
                    Some(g) => self.joins.keys().copied().filter(|&j| j == g).collect(),
                };
                for g in applies {
                    *self.queries.entry(g).or_default() += 1;
                }
            }
        }
    }

    /// Applies `op` to the host and to the model, checking join and leave results.
    fn apply(&mut self, h: &mut Host<4>, op: &HostOp) -> Result<(), TestCaseError> {
        let now = ms(self.now);
        let us = self.address.map_or(HOST_ME, |a| a.0);
        match op {
            HostOp::Clock(c) => {
                let next = c.apply(self.now);
                // Going backwards, the IGMPv1 router's timer keeps the time it had left.
                let back = self.now.saturating_sub(next);
                self.v1_until = self.v1_until.map(|t| t.saturating_sub(back));
                self.now = next;
            }
            HostOp::Join(i) => {
                let expected = self.expected_join(POOL[*i]);
                prop_assert_eq!(h.join(now, POOL[*i]), expected, "join {}", POOL[*i]);
                if let Ok(g) = GroupAddr::from_ipv4(POOL[*i]) {
                    match expected {
                        Ok(true) => {
                            self.joins.insert(g, 1);
                            self.we_reported_last.remove(&g);
                            self.announce(g);
                        }
                        Ok(false) if g != GroupAddr::ALL_SYSTEMS => *self.joins.get_mut(&g).unwrap() += 1,
                        _ => {}
                    }
                }
            }
            HostOp::Leave(i) => {
                let expected = self.expected_leave(POOL[*i]);
                prop_assert_eq!(h.leave(now, POOL[*i]), expected, "leave {}", POOL[*i]);
                if let Ok(g) = GroupAddr::from_ipv4(POOL[*i]) {
                    match expected {
                        Ok(true) => {
                            self.joins.remove(&g);
                            // RFC 2236 §3, §4: a Leave only if we reported last, and not
                            // while an IGMPv1 router is present (and only with an address
                            // to send it from).
                            if self.we_reported_last.remove(&g) && !self.v1_present() && self.address.is_some() {
                                self.expect_leave.insert(g);
                            }
                        }
                        Ok(false) if g != GroupAddr::ALL_SYSTEMS => *self.joins.get_mut(&g).unwrap() -= 1,
                        _ => {}
                    }
                }
            }
            HostOp::SetAddress(address) => {
                let changed = address.map(|a| a.0) != self.address.map(|a| a.0);
                h.set_address(now, *address);
                self.address = *address;
                if changed && address.is_some() {
                    self.announce_all();
                }
            }
            HostOp::LinkUp => {
                h.link_up(now);
                self.announce_all();
            }
            HostOp::Receive(msg, ip) => msg.with(|msg| {
                let meta = ip.meta(Some(msg), us);
                self.hear(h, &meta, msg);
                h.receive_message(now, &meta, msg);
            }),
            HostOp::Raw(bytes, ip) => {
                let parsed = Message::parse_bytes(bytes);
                let meta = ip.meta(parsed.as_ref().ok(), us);
                if let Ok(msg) = &parsed {
                    self.hear(h, &meta, msg);
                }
                h.receive(now, &meta, bytes);
            }
        }
        Ok(())
    }

    /// Drains `poll_transmit` at the current instant and checks every transmit and the
    /// `poll_at` that follows.
    fn drain(&mut self, h: &mut Host<4>) -> Result<(), TestCaseError> {
        let now = ms(self.now);
        let mut reported = BTreeSet::new();
        // One report per group and one Leave; at the end of time, every unsolicited
        // report of every group (see below).
        let limit = TABLE * usize::from(self.config.unsolicited_report_count.max(1)) + 1;
        let mut count = 0;
        while let Some(tx) = h.poll_transmit(now) {
            count += 1;
            prop_assert!(count <= limit, "poll_transmit does not end at {}", now);
            prop_assert_eq!(tx.destination, tx.message.destination());
            let Some((source, _)) = self.address else {
                return Err(TestCaseError::fail(format!("{tx:?} sent without an address")));
            };
            prop_assert_eq!(tx.source, source);
            match tx.message {
                Message::V1Report { group } | Message::V2Report { group } => {
                    prop_assert_ne!(group, GroupAddr::ALL_SYSTEMS, "224.0.0.1 reported");
                    prop_assert!(self.joins.contains_key(&group), "report for {} not joined", group);
                    prop_assert_eq!(
                        matches!(tx.message, Message::V1Report { .. }),
                        self.v1_present(),
                        "report version at {} (IGMPv1 router until {:?})",
                        now,
                        self.v1_until
                    );
                    prop_assert!(reported.insert(group), "two reports for {} at {}", group, now);
                    *self.reports.entry(group).or_default() += 1;
                    self.we_reported_last.insert(group);
                }
                Message::Leave { group } => {
                    prop_assert!(!self.v1_present(), "Leave for {} while an IGMPv1 router is present", group);
                    prop_assert!(self.expect_leave.remove(&group), "unexpected Leave for {} at {}", group, now);
                    prop_assert!(!self.joins.contains_key(&group));
                }
                other => return Err(TestCaseError::fail(format!("a host sent {other:?}"))),
            }
            self.sent.push((self.now, tx));
        }
        prop_assert!(self.expect_leave.is_empty(), "no Leave sent for {:?}", self.expect_leave);

        // Once drained, nothing is due: the next deadline is strictly later. At the end
        // of time every deadline saturates to `now` and was due, so there is none.
        match h.poll_at() {
            None => {}
            Some(at) => {
                prop_assert!(self.now != END, "poll_at {} at the end of time", at);
                prop_assert!(at > now, "poll_at {} not after {} once drained", at, now);
                prop_assert!(self.address.is_some(), "poll_at {} without an address", at);
            }
        }

        // A query storm draws at most one report per group per query, on top of the
        // unsolicited reports of each announcement.
        let per_announcement = u64::from(self.config.unsolicited_report_count);
        for (g, &n) in &self.reports {
            let queries = self.queries.get(g).copied().unwrap_or(0);
            let announced = self.announcements.get(g).copied().unwrap_or(0);
            prop_assert!(
                n <= queries + per_announcement * announced,
                "{} reports for {}: {} queries, {} announcements of {}",
                n,
                g,
                queries,
                announced,
                per_announcement
            );
        }
        Ok(())
    }

    /// The host's visible state matches the model.
    fn check_state(&self, h: &Host<4>) -> Result<(), TestCaseError> {
        let now = ms(self.now);
        let mut groups: Vec<(GroupAddr, u16)> = h.groups().map(|i| (i.group, i.joins)).collect();
        groups.sort();
        let model: Vec<(GroupAddr, u16)> = self.joins.iter().map(|(&g, &n)| (g, n)).collect();
        prop_assert_eq!(groups, model);
        prop_assert_eq!(h.len(), self.joins.len());
        prop_assert_eq!(h.is_empty(), self.joins.is_empty());
        prop_assert!(h.is_member(GroupAddr::ALL_SYSTEMS));
        for i in 1..GROUPS {
            prop_assert_eq!(h.is_member(group(i)), self.joins.contains_key(&group(i)), "is_member({})", group(i));
        }
        prop_assert_eq!(h.address(), self.address);
        prop_assert_eq!(h.v1_router_present(now), self.v1_present());
        if let Some(until) = self.v1_until {
            // Exactly the Version 1 Router Present Timeout after the last IGMPv1 query.
            prop_assert!(until == 0 || h.v1_router_present(ms(until - 1)));
            prop_assert!(!h.v1_router_present(ms(until)));
        }
        if self.address.is_some() {
            for info in h.groups() {
                prop_assert_eq!(
                    info.last_reporter,
                    self.we_reported_last.contains(&info.group),
                    "last_reporter of {}",
                    info.group
                );
            }
        }
        let s = h.stats();
        let reports: u64 = self.reports.values().sum();
        prop_assert_eq!(u64::from(s.reports_sent), reports);
        prop_assert_eq!(s.reports_sent as usize + s.leaves_sent as usize, self.sent.len());
        Ok(())
    }
}

fn run_host(config: HostConfig, seed: u64, ops: &[HostOp]) -> Result<HostModel, TestCaseError> {
    let mut h: Host<4> = Host::new(config, seed).expect("valid configuration");
    let mut m = HostModel::new(config);
    m.drain(&mut h)?;
    m.check_state(&h)?;
    for op in ops {
        m.apply(&mut h, op)?;
        m.drain(&mut h)?;
        m.check_state(&h)?;
    }
    Ok(m)
}

// ---------------------------------------------------------------------------------------
// Querier model and checks
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct QuerierModel {
    config: QuerierConfig,
    gmi: u64,
    oqpi: u64,
    now: u64,
    querier: bool,
    other_querier: Ipv4Addr,
    other_querier_until: u64,
    /// The last role event: `Some(true)` after BecameQuerier.
    announced_querier: Option<bool>,
    /// Per group, the last presence event.
    announced: BTreeMap<GroupAddr, bool>,
    /// Per group, when the last accepted report was heard.
    last_report: BTreeMap<GroupAddr, u64>,
    /// Groups that an accepted report must have made present by the next drain.
    must_be_present: BTreeSet<GroupAddr>,
    /// Per group: Leaves heard (with TTL 1 where it is required), and the latest instant
    /// one was heard at.
    leaves: BTreeMap<GroupAddr, u64>,
    latest_leave: BTreeMap<GroupAddr, u64>,
    /// Per group: group-specific queries sent.
    group_queries: BTreeMap<GroupAddr, u64>,
}

impl QuerierModel {
    fn new(config: QuerierConfig) -> QuerierModel {
        QuerierModel {
            config,
            gmi: millis(config.group_membership_interval),
            oqpi: millis(config.other_querier_present_interval),
            now: 0,
            querier: true,
            other_querier: Ipv4Addr::UNSPECIFIED,
            other_querier_until: 0,
            announced_querier: None,
            announced: BTreeMap::new(),
            last_report: BTreeMap::new(),
            must_be_present: BTreeSet::new(),
            leaves: BTreeMap::new(),
            latest_leave: BTreeMap::new(),
            group_queries: BTreeMap::new(),
        }
    }

    /// RFC 2236 §7: Other Querier Present timer expired: Querier again.
    fn advance(&mut self) {
        if !self.querier && self.other_querier_until <= self.now {
            self.querier = true;
        }
    }

    fn present(&self, g: GroupAddr) -> bool {
        self.announced.get(&g) == Some(&true)
    }

    fn hear(&mut self, meta: &IpMeta, msg: &Message<'_>) {
        if self.config.require_ttl_1 && meta.ttl != 1 {
            return;
        }
        let from_subnet = !self.config.ignore_off_subnet
            || meta.src.is_unspecified()
            || in_subnet(meta.src, ROUTER_ME, ROUTER_PREFIX);
        match *msg {
            Message::V1Query | Message::V2Query { .. } | Message::V3Query(_) => {
                // RFC 2236 §3: a query from a lower address (not 0.0.0.0, not us, from
                // the subnet if off-subnet sources are ignored).
                let src = u32::from(meta.src);
                if from_subnet && src != 0 && src < u32::from(ROUTER_ME) {
                    self.querier = false;
                    self.other_querier = meta.src;
                    self.other_querier_until = self.now.saturating_add(self.oqpi);
                }
            }
            Message::V1Report { group } | Message::V2Report { group } => {
                if meta.dst == group.to_ipv4() && from_subnet && group.scope() != Scope::LocalNetworkControl {
                    let tracked = self.announced.iter().filter(|&(_, &p)| p).count();
                    let room = self.present(group) || tracked < TABLE;
                    if room {
                        self.last_report.insert(group, self.now);
                        if self.now != END {
                            self.must_be_present.insert(group);
                        }
                    }
                }
            }
            Message::Leave { group } => {
                *self.leaves.entry(group).or_default() += 1;
                let latest = self.latest_leave.entry(group).or_default();
                *latest = self.now.max(*latest);
            }
            Message::V3Report { .. } => {}
        }
    }

    fn apply(&mut self, q: &mut Querier<4>, op: &QuerierOp) {
        let now = ms(self.now);
        match op {
            QuerierOp::Clock(c) => {
                let next = c.apply(self.now);
                // Going backwards, timers keep the time they had left.
                let back = self.now.saturating_sub(next);
                self.other_querier_until = self.other_querier_until.saturating_sub(back);
                for t in self.last_report.values_mut().chain(self.latest_leave.values_mut()) {
                    *t = t.saturating_sub(back);
                }
                self.now = next;
            }
            QuerierOp::Receive(msg, ip) => msg.with(|msg| {
                let meta = ip.meta(Some(msg), ROUTER_ME);
                self.advance();
                self.hear(&meta, msg);
                q.receive_message(now, &meta, msg);
            }),
            QuerierOp::Raw(bytes, ip) => {
                let parsed = Message::parse_bytes(bytes);
                let meta = ip.meta(parsed.as_ref().ok(), ROUTER_ME);
                if let Ok(msg) = &parsed {
                    self.advance();
                    self.hear(&meta, msg);
                }
                q.receive(now, &meta, bytes);
            }
        }
    }

    fn drain(&mut self, q: &mut Querier<4>) -> Result<(), TestCaseError> {
        let now = ms(self.now);
        self.advance();
        let mut count = 0;
        while let Some(tx) = q.poll_transmit(now) {
            count += 1;
            // One general query and one query per group; at the end of time no later
            // instant exists, so every group-specific query still due goes out at once
            // (see `querier_poll_transmit_ends_at_the_end_of_time`).
            let bound = if self.now == END { 1 + TABLE * usize::from(u8::MAX) } else { TABLE + 1 };
            prop_assert!(count <= bound, "poll_transmit does not end at {}", now);
            // A router that lost the election finishes the group-specific queries of a
            // Leave it was checking (RFC 2236 §3), but sends no general query.
            let general = tx.message.query().is_some_and(|q| q.group.is_none());
            prop_assert!(self.querier || !general, "{:?} sent by a non-querier at {}", tx, now);
            prop_assert!(q.is_querier() || !general);
            prop_assert_eq!(tx.destination, tx.message.destination());
            prop_assert_eq!(tx.source, ROUTER_ME);
            match tx.message {
                Message::V1Query => prop_assert_eq!(self.config.version, Version::V1),
                Message::V2Query { group: None, max_resp } => {
                    prop_assert_eq!(self.config.version, Version::V2);
                    prop_assert_eq!(u64::from(max_resp) * 100, millis(self.config.query_response_interval));
                }
                Message::V2Query { group: Some(g), max_resp } => {
                    prop_assert_eq!(self.config.version, Version::V2, "group-specific query in IGMPv1 mode");
                    prop_assert_eq!(u64::from(max_resp) * 100, millis(self.config.last_member_query_interval));
                    prop_assert!(self.present(g), "query for {} not present", g);
                    let sent = self.group_queries.entry(g).or_default();
                    *sent += 1;
                    let leaves = self.leaves.get(&g).copied().unwrap_or(0);
                    let per_leave = u64::from(self.config.last_member_query_count.max(1));
                    prop_assert!(*sent <= leaves * per_leave, "{} queries for {} after {} leaves", sent, g, leaves);
                }
                other => return Err(TestCaseError::fail(format!("a querier sent {other:?}"))),
            }
        }

        let mut count = 0;
        while let Some(event) = q.poll_event(now) {
            count += 1;
            prop_assert!(count <= TABLE + 2, "poll_event does not end at {}", now);
            match event {
                QuerierEvent::GroupPresent(g) => {
                    prop_assert!(!self.present(g), "{} present twice", g);
                    self.announced.insert(g, true);
                }
                QuerierEvent::GroupAbsent(g) => {
                    prop_assert!(self.present(g), "{} absent before present", g);
                    self.announced.insert(g, false);
                }
                QuerierEvent::BecameQuerier => {
                    prop_assert_ne!(self.announced_querier, Some(true), "BecameQuerier twice");
                    self.announced_querier = Some(true);
                }
                QuerierEvent::BecameNonQuerier { querier } => {
                    prop_assert_eq!(self.announced_querier, Some(true), "BecameNonQuerier first or twice");
                    prop_assert_eq!(querier, self.other_querier);
                    prop_assert!(u32::from(querier) != 0 && u32::from(querier) < u32::from(ROUTER_ME));
                    self.announced_querier = Some(false);
                }
            }
        }

        prop_assert_eq!(q.is_querier(), self.querier, "querier role at {}", now);
        prop_assert_eq!(self.announced_querier, Some(self.querier));
        for i in 0..GROUPS {
            let g = group(i);
            prop_assert_eq!(q.is_present(g), self.present(g), "is_present({}) at {}", g, now);
            if self.present(g) {
                prop_assert_ne!(g.scope(), Scope::LocalNetworkControl);
                // Present for the Group Membership Interval after the last report, or
                // for Last Member Query Count x Interval after a Leave: RFC 2236 §7
                // sets the group's timer to that on a Leave ("start timer*"), even
                // when the Group Membership Interval would end sooner. (With time going
                // backwards, the Leave heard last need not be the latest.)
                let heard = self.last_report.get(&g).copied();
                let left = self.latest_leave.get(&g).copied();
                let lmqt = millis(self.config.last_member_query_interval)
                    * u64::from(self.config.last_member_query_count.max(1));
                prop_assert!(
                    heard.is_some_and(|t| self.now < t.saturating_add(self.gmi))
                        || left.is_some_and(|t| self.now < t.saturating_add(lmqt)),
                    "{} present at {} after a report at {:?} and a Leave at {:?}",
                    g,
                    now,
                    heard,
                    left
                );
            }
        }
        for g in std::mem::take(&mut self.must_be_present) {
            prop_assert!(self.present(g), "{} not present after a report at {}", g, now);
        }
        let groups: Vec<GroupAddr> = q.groups().map(|i| i.group).collect();
        let model: Vec<GroupAddr> = self.announced.iter().filter(|&(_, &p)| p).map(|(&g, _)| g).collect();
        prop_assert_eq!(groups, model);

        // Always a next deadline (the next general query, or the other querier's
        // timeout), strictly later once drained; at the end of time there is none.
        let at = q.poll_at();
        if self.now == END {
            prop_assert!(at.is_none_or(|at| at == now), "poll_at {:?} at the end of time", at);
        } else {
            prop_assert!(at.is_some_and(|at| at > now), "poll_at {:?} not after {} once drained", at, now);
        }
        Ok(())
    }
}

fn run_querier(config: QuerierConfig, ops: &[QuerierOp]) -> Result<(), TestCaseError> {
    let mut q: Querier<4> = Querier::new(config, ROUTER_ME, ROUTER_PREFIX, ms(0)).expect("valid configuration");
    let mut m = QuerierModel::new(config);
    m.drain(&mut q)?;
    for op in ops {
        m.apply(&mut q, op);
        m.drain(&mut q)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

// proptest's default of 256 cases per property; set PROPTEST_CASES to run more.
proptest! {
    /// Everything at once: no panic, transmits well-formed and only with an address,
    /// one report per group per instant, Leaves only when RFC 2236 allows them,
    /// reports bounded by queries and announcements, `poll_at` after a drain, and the
    /// membership table against a reference-count model.
    #[test]
    fn host_random_sequences_keep_every_property(
        config in host_config(),
        seed in any::<u64>(),
        ops in vec(host_op([30, 10, 10, 2, 2, 30, 5], 3, 1), 0..=200),
    ) {
        run_host(config, seed, &ops)?;
    }

    /// Joins and leaves dominate, so the table fills and empties often.
    #[test]
    fn host_membership_table_follows_the_reference_count_model(
        seed in any::<u64>(),
        ops in vec(host_op([4, 20, 20, 1, 1, 6, 1], 3, 1), 0..=200),
    ) {
        run_host(HostConfig::default(), seed, &ops)?;
    }

    /// Many queries over few groups, close together: each query may add at most one
    /// report per group.
    #[test]
    fn host_query_storm_draws_one_report_per_group_per_query(
        config in host_config(),
        seed in any::<u64>(),
        joined in vec(2..GROUPS, 1..=4),
        ops in vec((any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(kind, bits, more)| {
            if kind % 3 == 0 {
                HostOp::Clock(Clock::Advance(bits % 301))
            } else {
                HostOp::Receive(Msg::decode(bits, &HOST_MSGS), Ip::decode(more, &HOST_SOURCES))
            }
        }), 0..=200),
    ) {
        let mut all = vec![HostOp::SetAddress(Some((HOST_ME, 24)))];
        all.extend(joined.into_iter().map(HostOp::Join));
        all.extend(ops);
        let m = run_host(config, seed, &all)?;
        let queries: u64 = m.queries.values().sum();
        let reports: u64 = m.reports.values().sum();
        let announced: u64 = m.announcements.values().sum();
        prop_assert!(reports <= queries + u64::from(config.unsolicited_report_count) * announced);
    }

    /// Time steps dominate, and a quarter of them go back or to an edge.
    #[test]
    fn host_survives_any_clock(
        seed in any::<u64>(),
        ops in vec(host_op([6, 2, 1, 1, 0, 3, 0], 8, 8), 0..=200),
    ) {
        run_host(HostConfig::default(), seed, &ops)?;
    }

    /// The querier: no panic; only the querier sends, and only well-formed queries;
    /// group-specific queries only for present groups and at most Last Member Query
    /// Count per Leave; role and presence events alternate, start right, and agree with
    /// `is_querier`, `is_present` and `groups`; a report makes its group present; no
    /// group outlives the Group Membership Interval after its last report; `poll_at`
    /// after a drain.
    #[test]
    fn querier_random_sequences_keep_every_property(
        config in querier_config(),
        ops in vec(querier_op(), 0..=200),
    ) {
        run_querier(config, &ops)?;
    }
}

// ---------------------------------------------------------------------------------------
// Known bugs, reduced
// ---------------------------------------------------------------------------------------

/// A host joining at the end of time (`u64::MAX` ms) sends one report for the group in
/// that drain, as at every other instant. The join report's repeat cannot be later than
/// the end of time, so it is dropped (it once saturated to `now` and went out in the
/// same drain).
#[test]
fn host_sends_one_report_per_group_when_joining_at_the_end_of_time() {
    let end = ms(END);
    let mut h: Host<4> = Host::new(HostConfig::default(), 1).unwrap();
    h.set_address(end, Some((HOST_ME, 24)));
    assert_eq!(h.join(end, POOL[2]), Ok(true));
    let mut sent = Vec::new();
    while let Some(tx) = h.poll_transmit(end) {
        sent.push(tx);
        assert!(sent.len() <= 4, "poll_transmit does not end");
    }
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(h.poll_at(), None);
}

/// A querier polled at the end of time (`u64::MAX` ms) sends its general query and then
/// returns `None`, as `poll_transmit`'s contract ("call until it returns `None`")
/// requires. (The next general query once saturated to `now` and was due again on every
/// call, forever.)
#[test]
fn querier_poll_transmit_ends_at_the_end_of_time() {
    let end = ms(END);
    let mut q: Querier<4> = Querier::new(QuerierConfig::default(), ROUTER_ME, ROUTER_PREFIX, ms(0)).unwrap();
    let mut sent = 0;
    while q.poll_transmit(end).is_some() {
        sent += 1;
        assert!(sent <= 1, "more than one general query at one instant ({sent} so far)");
    }
    assert_eq!(sent, 1);
}
