//! The membership state machines: a `Host<4>` and a `Querier<4>` on one LAN.
//!
//! The input is a sequence of operations, each an opcode octet followed by its
//! arguments (a missing argument reads as 0):
//!
//! | opcode % 14 | operation | arguments |
//! |---|---|---|
//! | 0 | clock forwards by up to 255 ms | 1 |
//! | 1 | clock forwards by up to 65 s | 2 |
//! | 2 | clock forwards by up to 49 days | 4 |
//! | 3 | clock backwards by up to 65 s | 2 |
//! | 4 | clock to an edge: 0, `u64::MAX`, `u64::MAX - 1`, near `u64::MAX`, 2^30, 2^32 | 1 (+ 2) |
//! | 5 | host joins an address of the pool | 1 |
//! | 6 | host leaves an address of the pool | 1 |
//! | 7 | host address set, changed or cleared | 1 |
//! | 8 | host link up | 0 |
//! | 9 | host receives a message built from its arguments | 5 |
//! | 10 | querier receives a message built from its arguments | 5 |
//! | 11 | host receives raw octets | 1 + n |
//! | 12 | querier receives raw octets | 1 + n |
//! | 13 | both receive a message built from its arguments | 5 |
//!
//! After every operation each machine is drained at the current instant (everything
//! the host sends goes to the querier and the other way round, as on a LAN) until
//! neither has anything more to say.
//!
//! Properties, checked after every drain:
//! - nothing panics, whatever the clock does;
//! - the host sends only with an address, from it, to `Message::destination`; never a
//!   report for 224.0.0.1, nor for a group it has not joined; at most one report per
//!   group per drain; no Leave while an IGMPv1 router is present;
//! - the querier sends general queries only while it is the querier (a router that
//!   lost the election finishes the group-specific queries of a Leave, RFC 2236 §3),
//!   from its address, to `Message::destination`; presence events alternate Present/Absent per group
//!   starting with Present, role events alternate starting with BecameQuerier, only a
//!   lower unicast address wins the election (on the subnet when off-subnet sources are
//!   ignored), and `is_present` agrees with the last event;
//! - once drained, `poll_at` is strictly later than `now` (the host's may be `None`,
//!   and is `None` at the end of time, where everything due was sent; the querier's
//!   may be `None` there too).

#![no_main]

use std::collections::BTreeMap;

use core::net::Ipv4Addr;
use core::time::Duration;

use libfuzzer_sys::fuzz_target;
use mcast::GroupAddr;
use mcast::membership::{
    ConfigError, ConfigField, Host, HostConfig, Instant, IpMeta, MembershipError, Querier, QuerierConfig, QuerierEvent,
    Transmit,
};
use mcast::wire::checksum;
use mcast::wire::igmp::{AddrList, GroupRecord, GroupRecords, Message, RecordType, V3Query, Version, field};

const TABLE: usize = 4;
const END: u64 = u64::MAX;

/// 224.0.0.1, the reserved 224.0.0.0, five joinable groups (two sharing a MAC
/// address, one link-local), and a unicast address.
const POOL: [Ipv4Addr; 8] = [
    Ipv4Addr::new(224, 0, 0, 1),
    Ipv4Addr::new(224, 0, 0, 0),
    Ipv4Addr::new(239, 1, 1, 1),
    Ipv4Addr::new(225, 1, 1, 1),
    Ipv4Addr::new(239, 1, 1, 2),
    Ipv4Addr::new(224, 0, 0, 251),
    Ipv4Addr::new(238, 255, 0, 9),
    Ipv4Addr::new(10, 1, 2, 3),
];
const GROUPS: usize = 7;

const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const PREFIX: u8 = 24;
const HOST_ADDRESSES: [Option<(Ipv4Addr, u8)>; 6] = [
    Some((Ipv4Addr::new(10, 0, 0, 7), 24)),
    None,
    Some((Ipv4Addr::new(10, 0, 0, 8), 24)),
    Some((Ipv4Addr::new(10, 0, 0, 7), 16)),
    Some((Ipv4Addr::new(10, 0, 0, 7), 0)),
    Some((Ipv4Addr::new(10, 0, 0, 7), 32)),
];
/// Sources of the messages the fuzzer builds: another host, routers below and above
/// the querier, 0.0.0.0, the querier itself, and strangers below and above it.
const SOURCES: [Ipv4Addr; 8] = [
    Ipv4Addr::new(10, 0, 0, 20),
    Ipv4Addr::new(10, 0, 0, 1),
    Ipv4Addr::new(10, 0, 0, 9),
    Ipv4Addr::UNSPECIFIED,
    ROUTER,
    Ipv4Addr::new(10, 0, 0, 7),
    Ipv4Addr::new(1, 2, 3, 4),
    Ipv4Addr::new(192, 168, 1, 1),
];

fn group(i: usize) -> GroupAddr {
    GroupAddr::from_ipv4(POOL[i % GROUPS]).expect("multicast")
}

/// The input, read front to back; past its end every read is 0.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
}

struct Lan {
    now: u64,
    host: Host<TABLE>,
    report_count: u8,
    querier: Querier<TABLE>,
    /// The last presence event per group, and the last role event.
    present: BTreeMap<GroupAddr, bool>,
    announced_querier: Option<bool>,
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let Some(mut lan) = Lan::new(&mut input) else { return };
    lan.settle();
    while !input.0.is_empty() {
        lan.step(&mut input);
        lan.settle();
    }
});

impl Lan {
    /// Configurations from the first octets: the defaults, or other report counts and
    /// intervals, short router timers, IGMPv1 mode, and the optional filters.
    fn new(input: &mut Input<'_>) -> Option<Lan> {
        let flags = input.u8();
        let report_count = input.u8() % 4;
        let mut host_config = HostConfig::default();
        host_config.unsolicited_report_count = report_count;
        host_config.unsolicited_report_interval = Duration::from_millis(u64::from(input.u16()));
        host_config.v1_router_present_timeout = Duration::from_secs(1 + u64::from(input.u8()));
        host_config.require_router_alert = flags & 1 != 0;
        host_config.ignore_off_subnet_queries = flags & 2 != 0;
        host_config.require_ttl_1 = flags & 64 != 0;
        let host_config = if flags & 4 != 0 { host_config } else { HostConfig::default() };
        let mut querier_config = QuerierConfig::default();
        if flags & 8 != 0 {
            let qi = 2 + u64::from(input.u8() % 60);
            let qri_tenths = 1 + u64::from(input.u8()) % (qi * 10 - 1).min(255);
            let robustness = 1 + input.u8() % 3;
            querier_config =
                QuerierConfig::new(robustness, Duration::from_secs(qi), Duration::from_millis(qri_tenths * 100));
            querier_config.last_member_query_interval = Duration::from_millis(100 * (1 + u64::from(input.u8() % 20)));
            querier_config.last_member_query_count = input.u8() % 4;
        }
        if flags & 16 != 0 {
            querier_config.version = Version::V1;
        }
        querier_config.ignore_off_subnet = flags & 32 == 0;
        querier_config.require_ttl_1 = flags & 128 != 0;
        // Invalid host configurations (a zero interval with repeats) are refused.
        let report_count = host_config.unsolicited_report_count;
        let host = Host::new(host_config, u64::from(input.u32())).ok()?;
        // So is a Last Member Query Count of 0, the only invalid value made above.
        let querier = match Querier::new(querier_config, ROUTER, PREFIX, Instant::ZERO) {
            Ok(querier) => querier,
            Err(e) => {
                assert_eq!(querier_config.last_member_query_count, 0, "valid configuration refused: {e}");
                assert_eq!(e, ConfigError::Zero(ConfigField::LastMemberQueryCount));
                return None;
            }
        };
        Some(Lan { now: 0, host, report_count, querier, present: BTreeMap::new(), announced_querier: None })
    }

    fn step(&mut self, input: &mut Input<'_>) {
        let now = Instant::from_millis(self.now);
        match input.u8() % 14 {
            0 => self.now = self.now.saturating_add(u64::from(input.u8())),
            1 => self.now = self.now.saturating_add(u64::from(input.u16())),
            2 => self.now = self.now.saturating_add(u64::from(input.u32())),
            3 => self.now = self.now.saturating_sub(u64::from(input.u16())),
            4 => {
                self.now = match input.u8() % 6 {
                    0 => 0,
                    1 => END,
                    2 => END - 1,
                    3 => END - u64::from(input.u16()),
                    4 => (1 << 30) + u64::from(input.u8()) - 128,
                    _ => u64::from(u32::MAX) + u64::from(input.u8()) - 128,
                }
            }
            5 => {
                let addr = POOL[usize::from(input.u8()) % POOL.len()];
                let result = self.host.join(now, addr);
                check_membership_result(addr, result);
                if result.is_ok() {
                    assert!(self.host.is_member(GroupAddr::from_ipv4(addr).unwrap()), "joined {addr} but not a member");
                }
            }
            6 => {
                let addr = POOL[usize::from(input.u8()) % POOL.len()];
                let result = self.host.leave(now, addr);
                check_membership_result(addr, result);
                if result == Ok(true) {
                    assert!(
                        !self.host.is_member(GroupAddr::from_ipv4(addr).unwrap()),
                        "left {addr} but still a member"
                    );
                }
            }
            7 => self.host.set_address(now, HOST_ADDRESSES[usize::from(input.u8()) % HOST_ADDRESSES.len()]),
            8 => self.host.link_up(now),
            op @ (9 | 10 | 13) => {
                let (a, b, c, d, e) = (input.u8(), input.u8(), input.u8(), input.u8(), input.u8());
                with_message(a, b, c, |msg| {
                    let meta = self.meta(msg, d, e);
                    if op != 10 {
                        self.host.receive_message(now, &meta, msg);
                    }
                    if op != 9 {
                        self.querier.receive_message(now, &meta, msg);
                    }
                });
            }
            op => {
                let len = usize::from(input.u8() % 32);
                let mut bytes = input.bytes(len).to_vec();
                // Usually with a good checksum, so that parsing gets past it.
                if len % 4 != 3 && bytes.len() >= field::CHECKSUM.end {
                    bytes[field::CHECKSUM].fill(0);
                    let sum = checksum::compute(&bytes);
                    bytes[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
                }
                let meta = match Message::parse_bytes(&bytes) {
                    Ok(msg) => self.meta(&msg, input.u8(), input.u8()),
                    Err(_) => IpMeta { src: SOURCES[0], dst: POOL[0], ttl: 1, router_alert: true },
                };
                if op == 11 {
                    self.host.receive(now, &meta, &bytes);
                } else {
                    self.querier.receive(now, &meta, &bytes);
                }
            }
        }
    }

    /// IP facts from two octets: the source; the destination (mostly where the message
    /// belongs); TTL (mostly 1) and Router Alert.
    fn meta(&self, msg: &Message<'_>, a: u8, b: u8) -> IpMeta {
        let src = SOURCES[usize::from(a) % SOURCES.len()];
        let host_address = self.host.address().map_or(HOST_ADDRESSES[0].unwrap().0, |(addr, _)| addr);
        let dst = match (a >> 3) % 8 {
            0 => POOL[0],
            1 => Ipv4Addr::new(224, 0, 0, 2),
            2 => host_address,
            3 => ROUTER,
            4 => Ipv4Addr::new(239, 9, 9, 9),
            _ => msg.destination().to_ipv4(),
        };
        let ttl = if b & 0x0f == 0 { b >> 4 } else { 1 };
        IpMeta { src, dst, ttl, router_alert: b & 0x10 == 0 }
    }

    /// Drains both machines, delivering what each sends to the other, until neither
    /// has anything more to send at `now`.
    fn settle(&mut self) {
        for _ in 0..4 {
            let from_host = self.drain_host();
            let from_querier = self.drain_querier();
            if from_host.is_empty() && from_querier.is_empty() {
                return;
            }
            let now = Instant::from_millis(self.now);
            let mut buf = [0u8; 64];
            for tx in &from_host {
                let len = tx.message.emit(&mut buf).expect("host messages emit");
                let meta = IpMeta { src: tx.source, dst: tx.destination.to_ipv4(), ttl: 1, router_alert: true };
                self.querier.receive(now, &meta, &buf[..len]);
            }
            for tx in &from_querier {
                let len = tx.message.emit(&mut buf).expect("querier messages emit");
                let meta = IpMeta { src: tx.source, dst: tx.destination.to_ipv4(), ttl: 1, router_alert: true };
                self.host.receive(now, &meta, &buf[..len]);
                // Our own queries looped back are ignored.
                self.querier.receive(now, &meta, &buf[..len]);
            }
        }
    }

    fn drain_host(&mut self) -> Vec<Transmit> {
        let now = Instant::from_millis(self.now);
        let limit = TABLE * usize::from(self.report_count.max(1)) + 1;
        let mut sent = Vec::new();
        let mut reported = Vec::new();
        while let Some(tx) = self.host.poll_transmit(now) {
            assert!(sent.len() < limit, "host: poll_transmit does not end at {now}");
            let (source, _) = self.host.address().unwrap_or_else(|| panic!("host sent {tx:?} without an address"));
            assert_eq!(tx.source, source);
            assert_eq!(tx.destination, tx.message.destination());
            match tx.message {
                Message::V1Report { group } | Message::V2Report { group } => {
                    assert_ne!(group, GroupAddr::ALL_SYSTEMS, "host reported 224.0.0.1");
                    assert!(self.host.is_member(group), "host reported {group}, not joined");
                    assert_eq!(matches!(tx.message, Message::V1Report { .. }), self.host.v1_router_present(now));
                    assert!(!reported.contains(&group), "host reported {group} twice at {now}");
                    reported.push(group);
                }
                Message::Leave { group } => {
                    assert!(!self.host.v1_router_present(now), "host left {group} with an IGMPv1 router present");
                    assert!(!self.host.is_member(group), "host left {group}, still a member");
                }
                other => panic!("host sent {other:?}"),
            }
            sent.push(tx);
        }
        if let Some(at) = self.host.poll_at() {
            assert!(self.now != END, "host: poll_at {at} at the end of time");
            assert!(at > now, "host: poll_at {at} not after {now} once drained");
            assert!(self.host.address().is_some(), "host: poll_at {at} without an address");
        }
        sent
    }

    fn drain_querier(&mut self) -> Vec<Transmit> {
        let now = Instant::from_millis(self.now);
        let mut sent = Vec::new();
        while let Some(tx) = self.querier.poll_transmit(now) {
            // One general query and one group-specific query per group; at the end of
            // time, every group-specific query still due goes out at once.
            let bound = if self.now == END { TABLE * usize::from(u8::MAX) } else { TABLE };
            assert!(sent.len() <= bound, "querier: poll_transmit does not end at {now}");
            let general = tx.message.query().is_some_and(|q| q.group.is_none());
            assert!(self.querier.is_querier() || !general, "non-querier sent {tx:?}");
            assert_eq!(tx.source, ROUTER);
            assert_eq!(tx.destination, tx.message.destination());
            match tx.message {
                Message::V1Query | Message::V2Query { .. } => {}
                other => panic!("querier sent {other:?}"),
            }
            sent.push(tx);
        }
        let mut events = 0;
        while let Some(event) = self.querier.poll_event(now) {
            events += 1;
            assert!(events <= TABLE + 2, "querier: poll_event does not end at {now}");
            match event {
                QuerierEvent::GroupPresent(g) => {
                    assert_ne!(self.present.insert(g, true), Some(true), "{g} present twice");
                }
                QuerierEvent::GroupAbsent(g) => {
                    assert_eq!(self.present.insert(g, false), Some(true), "{g} absent before present");
                }
                QuerierEvent::BecameQuerier => {
                    assert_ne!(self.announced_querier, Some(true), "BecameQuerier twice");
                    self.announced_querier = Some(true);
                }
                QuerierEvent::BecameNonQuerier { querier } => {
                    assert_eq!(self.announced_querier, Some(true), "BecameNonQuerier first or twice");
                    assert!(!querier.is_unspecified() && u32::from(querier) < u32::from(ROUTER), "{querier}");
                    // With off-subnet sources ignored, only a router on 10.0.0.0/24 wins.
                    let on_subnet = querier.octets()[..3] == ROUTER.octets()[..3];
                    assert!(on_subnet || !self.querier.config().ignore_off_subnet, "{querier} off the subnet won");
                    self.announced_querier = Some(false);
                }
            }
        }
        assert_eq!(self.announced_querier, Some(self.querier.is_querier()));
        for i in 0..GROUPS {
            let g = group(i);
            assert_eq!(self.querier.is_present(g), self.present.get(&g) == Some(&true), "is_present({g})");
        }
        assert!(self.querier.groups().count() <= TABLE);
        // A next deadline always exists (the next general query, or the other querier's
        // timeout), strictly later once drained; at the end of time there may be none.
        match self.querier.poll_at() {
            Some(at) if self.now != END => assert!(at > now, "querier: poll_at {at} not after {now} once drained"),
            Some(at) => assert_eq!(at, now, "querier: poll_at {at} at the end of time"),
            None => assert_eq!(self.now, END, "querier: no deadline at {now}"),
        }
        sent
    }
}

/// Join and leave results that depend on the address alone.
fn check_membership_result(addr: Ipv4Addr, result: Result<bool, MembershipError>) {
    match GroupAddr::from_ipv4(addr) {
        Err(_) => assert_eq!(result, Err(MembershipError::NotMulticast)),
        Ok(GroupAddr::BASE) => assert_eq!(result, Err(MembershipError::NotJoinable)),
        Ok(GroupAddr::ALL_SYSTEMS) => assert_eq!(result, Ok(false)),
        Ok(_) => assert!(!matches!(result, Err(MembershipError::NotMulticast | MembershipError::NotJoinable))),
    }
}

/// Calls `f` with a message built from three octets: its kind, a group of the pool
/// (or none, for a query, when the top bit is set), and a Max Resp value.
fn with_message(kind: u8, group_octet: u8, max_resp: u8, f: impl FnOnce(&Message<'_>)) {
    let g = group(usize::from(group_octet & 0x7f));
    let query_group = (group_octet & 0x80 == 0).then_some(g);
    let records =
        [GroupRecord { record_type: RecordType::ChangeToExclude, group: g, sources: AddrList::EMPTY, aux_data: &[] }];
    let msg = match kind % 8 {
        0 => Message::V1Query,
        1 => Message::V2Query { max_resp, group: query_group },
        2 => Message::V3Query(V3Query {
            max_resp_code: max_resp,
            group: query_group,
            suppress_router_processing: kind & 0x80 != 0,
            qrv: 2,
            qqic: 125,
            sources: AddrList::EMPTY,
        }),
        3 => Message::V1Report { group: g },
        4 | 5 => Message::V2Report { group: g },
        6 => Message::Leave { group: g },
        _ => Message::V3Report { records: GroupRecords::new(&records) },
    };
    f(&msg);
}
