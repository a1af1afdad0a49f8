//! The IGMPv2 host: [RFC 2236 §3] and the state diagram of [§6], with IGMPv1
//! compatibility ([§4]).
//!
//! [RFC 2236 §3]: https://www.rfc-editor.org/rfc/rfc2236#section-3
//! [§6]: https://www.rfc-editor.org/rfc/rfc2236#section-6
//! [§4]: https://www.rfc-editor.org/rfc/rfc2236#section-4

use core::net::Ipv4Addr;
use core::time::Duration;

use heapless::Vec;

use super::index::{Bounds, Key};
use super::time::duration_millis;
use super::{ConfigError, ConfigField, Instant, IpMeta, MembershipError, Rng, Transmit, bump, in_subnet, joinable};
use crate::addr::GroupAddr;
use crate::wire::Error as WireError;
use crate::wire::igmp::{Message, Version};

/// Host configuration. `Default` gives the RFC 2236 §8 values and Linux's report count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct HostConfig {
    /// How many unsolicited reports a join sends in all, the first at once and the rest
    /// at random delays up to `unsolicited_report_interval` (RFC 2236 §3 says repeat
    /// "once or twice"). Default 2, as Linux (`igmp_qrv`). 0 sends none.
    pub unsolicited_report_count: u8,
    /// [Unsolicited Report Interval]: the upper bound of the random delay between
    /// unsolicited reports. Default 10 s; at most one hour.
    pub unsolicited_report_interval: Duration,
    /// [Version 1 Router Present Timeout]: how long after an IGMPv1 query the host keeps
    /// speaking IGMPv1. Default 400 s; not zero (RFC 2236 §4 requires IGMPv1 under an
    /// IGMPv1 router).
    pub v1_router_present_timeout: Duration,
    /// Ignore IGMPv2 and IGMPv3 queries without the Router Alert option (RFC 3376 §9.1
    /// recommends it for IGMPv3 hosts). IGMPv1 queries never carry it and are not
    /// affected. Default off: some switches' queriers omit the option.
    pub require_router_alert: bool,
    /// Ignore queries whose source is neither 0.0.0.0 nor in the interface's subnet.
    /// Default off, like Linux.
    pub ignore_off_subnet_queries: bool,
    /// Ignore messages whose IP TTL is not 1, counting them in [`HostStats::bad_ttl`].
    /// RFC 2236 §2 sends every IGMP message with TTL 1; it does not ask receivers to check.
    /// Default off, like Linux, whose host acts on IGMP whatever its TTL; messages let
    /// in with another TTL are counted in [`HostStats::bad_ttl_accepted`].
    pub require_ttl_1: bool,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            unsolicited_report_count: 2,
            unsolicited_report_interval: Duration::from_secs(10),
            v1_router_present_timeout: Duration::from_secs(400),
            require_router_alert: false,
            ignore_off_subnet_queries: false,
            require_ttl_1: false,
        }
    }
}

/// Counters a host keeps; they wrap at `u32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct HostStats {
    /// Queries acted on (general or for a group we are a member of, or not).
    pub queries: u32,
    /// Reports from other hosts, for any group.
    pub reports_heard: u32,
    /// Our pending reports cancelled by another host's report (suppression).
    pub suppressed: u32,
    /// Reports we sent.
    pub reports_sent: u32,
    /// Leaves we sent.
    pub leaves_sent: u32,
    /// Messages ignored because their TTL was not 1 ([`HostConfig::require_ttl_1`]).
    pub bad_ttl: u32,
    /// Messages with a TTL other than 1 let in because [`HostConfig::require_ttl_1`] is
    /// off (the other checks may still ignore them).
    pub bad_ttl_accepted: u32,
    /// Messages ignored because their checksum did not verify.
    pub bad_checksum: u32,
    /// Messages ignored because they did not parse (wrong lengths, non-multicast groups…).
    pub malformed: u32,
    /// Messages ignored because their type is not one a host acts on (unknown types,
    /// leaves, IGMPv3 reports); RFC 2236 §2.1 says to ignore them.
    pub ignored_types: u32,
    /// Messages ignored because of their IP destination (a report for G not sent to G,
    /// a query not sent to 224.0.0.1, its group, or us).
    pub wrong_destination: u32,
    /// Queries ignored because they came from outside the interface's subnet.
    pub off_subnet: u32,
    /// Queries ignored because they lacked Router Alert while it was required.
    pub no_router_alert: u32,
}

/// Where a joined group stands (RFC 2236 §6). Non-Member groups are not in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GroupState {
    /// A report timer is running.
    Delaying,
    /// No report timer.
    Idle,
}

/// One joined group, as [`Host::groups`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GroupInfo {
    /// The group.
    pub group: GroupAddr,
    /// How many times it is joined (sockets, say).
    pub joins: u16,
    /// Delaying or Idle.
    pub state: GroupState,
    /// Whether we sent the last report heard for it.
    pub last_reporter: bool,
}

const TIMER: u8 = 0x01;
const LAST_REPORTER: u8 = 0x02;
/// The report a join (or a new address, or link up) sends at once is still to go out.
/// It is not a timer: another host's report does not suppress it (RFC 2236 §6 sends it
/// on the join itself).
const JOIN_REPORT: u8 = 0x04;

/// Deadlines are kept as 32-bit millisecond offsets from an epoch that moves forward
/// once they get this far away, so an entry stays at 12 bytes.
const REBASE_AFTER_MS: u64 = 1 << 30;
/// The longest delay the host ever schedules (one hour), well below 2^31 ms.
const MAX_DELAY_MS: u64 = 3_600_000;

/// One group's state: 12 bytes on every target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    key: Key,
    /// Report timer deadline, milliseconds after `Host::epoch`; valid when `TIMER`.
    deadline: u32,
    /// Joins; 0 only while leaving.
    joins: u16,
    flags: u8,
    /// Unsolicited reports still to send after the pending one.
    repeats: u8,
}

impl Entry {
    /// Whether any of `flags` is set.
    fn is(&self, flags: u8) -> bool {
        self.flags & flags != 0
    }
}

/// The IGMPv2 host for one interface, holding up to `N` joined groups.
///
/// It follows RFC 2236: per group the Non-Member, Delaying Member and Idle Member
/// states and the last-reporter flag; random report delays in (0, Max Resp]; a running
/// timer reset only by a shorter Max Resp; suppression on another host's v1 or v2
/// report; a Leave only when we were the last reporter and no IGMPv1 router is present;
/// IGMPv1 reports for 400 s after an IGMPv1 query. IGMPv3 queries are answered as IGMPv2
/// queries. 224.0.0.1 is always a member and never reported.
///
/// Joins made before the interface has an address are kept and announced when it gets
/// one; a new address or a link coming up announces every group again.
#[derive(Debug, Clone)]
pub struct Host<const N: usize> {
    config: HostConfig,
    unsolicited_interval_ms: u32,
    rng: Rng,
    /// Grouped by [`bucket`], in address order within a bucket.
    entries: Vec<Entry, N>,
    /// Bucket `b` is `entries[bounds[b]..bounds[b + 1]]`; `bounds[0]` is always 0.
    bounds: Bounds,
    epoch: Instant,
    /// The latest `now` seen, to notice time going backwards.
    last_now: Instant,
    address: Option<(Ipv4Addr, u8)>,
    v1_router_until: Option<Instant>,
    stats: HostStats,
}

impl<const N: usize> Host<N> {
    /// A host with no groups and no address. `seed` seeds the report-delay PRNG: give
    /// each device a different one.
    pub fn new(config: HostConfig, seed: u64) -> Result<Host<N>, ConfigError> {
        const { assert!(N <= u16::MAX as usize, "a Host holds at most 65535 groups") };
        let interval = duration_millis(config.unsolicited_report_interval);
        if interval > MAX_DELAY_MS {
            return Err(ConfigError::IntervalTooLong(ConfigField::UnsolicitedReportInterval));
        }
        // Repeats need an interval to spread over; a single report does not.
        if interval == 0 && config.unsolicited_report_count > 1 {
            return Err(ConfigError::Zero(ConfigField::UnsolicitedReportInterval));
        }
        if duration_millis(config.v1_router_present_timeout) == 0 {
            return Err(ConfigError::Zero(ConfigField::V1RouterPresentTimeout));
        }
        Ok(Host {
            config,
            unsolicited_interval_ms: interval as u32,
            rng: Rng::new(seed),
            entries: Vec::new(),
            bounds: Bounds::EMPTY,
            epoch: Instant::ZERO,
            last_now: Instant::ZERO,
            address: None,
            v1_router_until: None,
            stats: HostStats::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &HostStats {
        &self.stats
    }

    /// The interface address and prefix length, if it has one.
    pub fn address(&self) -> Option<(Ipv4Addr, u8)> {
        self.address
    }

    /// Sets or clears the interface's IPv4 address (and prefix length). A new address
    /// announces every joined group again, as a join does; reports wait while there is
    /// none.
    pub fn set_address(&mut self, now: Instant, address: Option<(Ipv4Addr, u8)>) {
        let changed = address.map(|a| a.0) != self.address.map(|a| a.0);
        self.address = address;
        if changed && address.is_some() {
            self.announce_all(now);
        }
    }

    /// The link came (back) up: announce every joined group again, since routers and
    /// snooping switches on the new link know nothing of us.
    pub fn link_up(&mut self, now: Instant) {
        self.announce_all(now);
    }

    /// Joins `group` once more. Returns whether membership changed (the first join), in
    /// which case the caller should let the group's frames in (NIC filter) and the
    /// host will report it.
    ///
    /// Joining 224.0.0.1 succeeds and changes nothing: every host is always a member.
    /// Errors leave everything unchanged.
    pub fn join(&mut self, now: Instant, group: impl Into<Ipv4Addr>) -> Result<bool, MembershipError> {
        let group = joinable(group.into())?;
        if group == GroupAddr::ALL_SYSTEMS {
            return Ok(false);
        }
        self.observe(now);
        match self.find(group) {
            Ok(i) => {
                let count = self.config.unsolicited_report_count;
                // `find` gives indices of the table only.
                let e = self.entries.get_mut(i).ok_or(MembershipError::NotJoined)?;
                if e.key.is_leaving() {
                    // Rejoined before the Leave went out: a member again, from scratch.
                    e.key = Key::member(group);
                    e.joins = 1;
                    e.flags = 0;
                    start_unsolicited(e, count);
                    Ok(true)
                } else {
                    e.joins = e.joins.checked_add(1).ok_or(MembershipError::TooManyJoins)?;
                    Ok(false)
                }
            }
            Err(i) => {
                let mut e = Entry { key: Key::member(group), deadline: 0, joins: 1, flags: 0, repeats: 0 };
                start_unsolicited(&mut e, self.config.unsolicited_report_count);
                self.insert_at(i, e)?;
                Ok(true)
            }
        }
    }

    /// Leaves `group` once. Returns whether membership ended (the last leave), in which
    /// case the caller should stop letting the group's frames in. A Leave message is
    /// queued only if we sent the last report for the group and no IGMPv1 router is
    /// present (RFC 2236 §3, §4).
    ///
    /// Leaving 224.0.0.1 succeeds and changes nothing. Leaving a group not joined is
    /// [`MembershipError::NotJoined`].
    pub fn leave(&mut self, now: Instant, group: impl Into<Ipv4Addr>) -> Result<bool, MembershipError> {
        let group = joinable(group.into())?;
        if group == GroupAddr::ALL_SYSTEMS {
            return Ok(false);
        }
        self.observe(now);
        let v1_router = self.v1_router_present(now);
        let Some((i, e)) = self.find(group).ok().and_then(|i| Some((i, self.entries.get_mut(i)?))) else {
            return Err(MembershipError::NotJoined);
        };
        if e.key.is_leaving() {
            return Err(MembershipError::NotJoined);
        }
        if e.joins > 1 {
            e.joins -= 1;
            return Ok(false);
        }
        if e.is(LAST_REPORTER) && !v1_router {
            *e = Entry { key: Key::leaving(group), deadline: 0, joins: 0, flags: 0, repeats: 0 };
        } else {
            self.remove_at(i);
        }
        Ok(true)
    }

    /// Mixes `entropy` into the report-delay PRNG, for what only becomes known after the
    /// Host is made: the arrival time of the first received frame, say, which depends
    /// on the network rather than on how long the device took to boot. Delays drawn
    /// afterwards depend on the seed and on every value mixed in.
    pub fn mix_entropy(&mut self, entropy: u64) {
        self.rng.mix(entropy);
    }

    /// Whether frames for `group` should be delivered: 224.0.0.1 always, otherwise
    /// whether it is joined.
    pub fn is_member(&self, group: GroupAddr) -> bool {
        // Most groups come first in their bucket: one load and compare. A key equal to
        // the group's is in the group's bucket, so the first key of a later bucket (when
        // this one is empty) never matches; nor does a leaving group's.
        let first = self.entries.get(self.bounds.start(group));
        first.is_some_and(|e| e.key == Key::member(group)) || self.is_member_slow(group)
    }

    /// [`is_member`](Host::is_member) for groups not first in their bucket, or not joined.
    fn is_member_slow(&self, group: GroupAddr) -> bool {
        let key = Key::member(group);
        self.bucket_of(group).1.iter().any(|e| e.key == key) || group == GroupAddr::ALL_SYSTEMS
    }

    /// The joined groups, in no particular order (224.0.0.1, implicit, is not listed).
    pub fn groups(&self) -> impl Iterator<Item = GroupInfo> + '_ {
        self.entries.iter().filter(|e| !e.key.is_leaving()).map(|e| GroupInfo {
            group: e.key.group(),
            joins: e.joins,
            state: if e.is(TIMER | JOIN_REPORT) { GroupState::Delaying } else { GroupState::Idle },
            last_reporter: e.is(LAST_REPORTER),
        })
    }

    /// How many groups are joined.
    pub fn len(&self) -> usize {
        self.entries.iter().filter(|e| !e.key.is_leaving()).count()
    }

    /// Whether no group is joined.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether an IGMPv1 router has been heard within the Version 1 Router Present
    /// Timeout, so that the host speaks IGMPv1.
    pub fn v1_router_present(&self, now: Instant) -> bool {
        self.v1_router_until.is_some_and(|until| now < until)
    }

    /// Handles a received IGMP message given as bytes (the IPv4 payload). Messages that
    /// do not parse, or that break the rules, change nothing and are counted in
    /// [`stats`](Host::stats).
    pub fn receive(&mut self, now: Instant, meta: &IpMeta, igmp: &[u8]) {
        match Message::parse_bytes(igmp) {
            Ok(msg) => self.receive_message(now, meta, &msg),
            Err(WireError::BadChecksum) => bump(&mut self.stats.bad_checksum),
            Err(WireError::UnknownType(_)) => bump(&mut self.stats.ignored_types),
            Err(_) => bump(&mut self.stats.malformed),
        }
    }

    /// Handles a received, already parsed IGMP message.
    pub fn receive_message(&mut self, now: Instant, meta: &IpMeta, msg: &Message<'_>) {
        self.observe(now);
        let stats = &mut self.stats;
        if meta.ttl != 1 {
            if self.config.require_ttl_1 {
                bump(&mut stats.bad_ttl);
                return;
            }
            bump(&mut stats.bad_ttl_accepted);
        }
        match *msg {
            Message::V1Report { group } | Message::V2Report { group } => {
                bump(&mut stats.reports_heard);
                if meta.dst != group.to_ipv4() {
                    bump(&mut stats.wrong_destination);
                    return;
                }
                self.heard_report(group);
            }
            Message::V1Query | Message::V2Query { .. } | Message::V3Query(_) => self.heard_query(now, meta, msg),
            Message::Leave { .. } | Message::V3Report { .. } => {
                bump(&mut stats.ignored_types);
            }
        }
    }

    /// When [`poll_transmit`](Host::poll_transmit) next has something to send, if ever
    /// without further input. Reports wait (and are not counted here) while the
    /// interface has no address.
    ///
    /// Ask again after every call that changes the Host (`join`, `leave`, `receive`,
    /// `receive_message`, `set_address`, `link_up`, `poll_transmit`): any of them may
    /// bring the deadline forward. `Some(t)` with `t` at or before now means at once.
    #[must_use = "the Host must be polled again at this instant"]
    pub fn poll_at(&self) -> Option<Instant> {
        let has_address = self.address.is_some();
        let now = self.entries.iter().any(|e| e.key.is_leaving() || (has_address && e.is(JOIN_REPORT)));
        let timers = self.entries.iter().filter(|e| has_address && e.is(TIMER));
        let timer = timers.map(|e| e.deadline).min().map(|d| self.epoch.add_millis(u64::from(d)));
        if now { Some(timer.map_or(self.last_now, |t| t.min(self.last_now))) } else { timer }
    }

    /// The next message to send at `now`, if any: pending Leaves first, then join
    /// reports, then the report whose timer expired first.
    ///
    /// Call it until it returns `None` whenever [`poll_at`](Host::poll_at) is due and
    /// after each call that changes the Host; then ask `poll_at` when to call again. A
    /// message that is returned is taken: send it, or it is lost.
    #[must_use = "a returned message is taken from the Host: send it"]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.observe(now);
        let rel = self.rel(now);
        let v1 = self.v1_router_present(now);
        while let Some(i) = self.entries.iter().position(|e| e.key.is_leaving()) {
            let Some(e) = self.remove_at(i) else { break };
            if let (Some((source, _)), false) = (self.address, v1) {
                bump(&mut self.stats.leaves_sent);
                return Some(Transmit::new(Message::Leave { group: e.key.group() }, source));
            }
        }
        let (source, _) = self.address?;
        let interval = self.unsolicited_interval_ms;
        let epoch = self.epoch;
        if let Some(e) = self.entries.iter_mut().find(|e| e.is(JOIN_REPORT)) {
            e.flags = (e.flags & !JOIN_REPORT) | LAST_REPORTER;
            if e.is(TIMER) && epoch.add_millis(u64::from(e.deadline)) <= now {
                // A query's timer due now as well: this report answers it too, so the
                // group is reported once.
                e.flags &= !TIMER;
            }
            if e.repeats > 0 {
                // The next unsolicited report comes from a timer; one already running
                // (a query's) serves as it.
                e.repeats -= 1;
                if !e.is(TIMER) {
                    let deadline = rel.saturating_add(self.rng.delay_ms(interval));
                    schedule(e, epoch, deadline, now);
                }
            }
            let group = e.key.group();
            return Some(self.report(group, v1, source));
        }
        let due = self
            .entries
            .iter()
            .enumerate()
            // Compared as instants, as `poll_at` reports them: at the end of time every
            // deadline saturates to `now` and is due.
            .filter(|(_, e)| e.is(TIMER) && self.epoch.add_millis(u64::from(e.deadline)) <= now)
            .min_by_key(|(_, e)| e.deadline)
            .map(|(i, _)| i)?;
        let e = self.entries.get_mut(due)?;
        e.flags = (e.flags | LAST_REPORTER) & !TIMER;
        if e.repeats > 0 {
            e.repeats -= 1;
            let deadline = rel.saturating_add(self.rng.delay_ms(interval));
            schedule(e, epoch, deadline, now);
        }
        let group = e.key.group();
        Some(self.report(group, v1, source))
    }

    fn report(&mut self, group: GroupAddr, v1: bool, source: Ipv4Addr) -> Transmit {
        bump(&mut self.stats.reports_sent);
        let message = if v1 { Message::V1Report { group } } else { Message::V2Report { group } };
        Transmit::new(message, source)
    }

    fn heard_report(&mut self, group: GroupAddr) {
        // RFC 2236 §6: Delaying + report received -> stop timer, clear flag, Idle. A
        // join report still to go out is sent anyway, but its repeats are not.
        if let Some(e) = self.find(group).ok().and_then(|i| self.entries.get_mut(i))
            && !e.key.is_leaving()
            && e.is(TIMER | JOIN_REPORT)
        {
            if e.is(TIMER) {
                e.flags &= !(TIMER | LAST_REPORTER);
                bump(&mut self.stats.suppressed);
            }
            e.repeats = 0;
        }
    }

    fn heard_query(&mut self, now: Instant, meta: &IpMeta, msg: &Message<'_>) {
        let Some(query) = msg.query() else { return };
        let stats = &mut self.stats;
        if self.config.require_router_alert && query.version != Version::V1 && !meta.router_alert {
            bump(&mut stats.no_router_alert);
            return;
        }
        if let (true, Some((addr, prefix))) = (self.config.ignore_off_subnet_queries, self.address)
            && !meta.src.is_unspecified()
            && !in_subnet(meta.src, addr, prefix)
        {
            bump(&mut stats.off_subnet);
            return;
        }
        // General queries go to 224.0.0.1; group-specific ones to the group, or (Linux
        // bridges) to 224.0.0.1. IGMPv3 also allows unicast queries to us.
        let to_us = self.address.is_some_and(|(a, _)| a == meta.dst);
        let dst_ok = meta.dst == GroupAddr::ALL_SYSTEMS.to_ipv4()
            || to_us
            || query.group.is_some_and(|g| g.to_ipv4() == meta.dst);
        if !dst_ok {
            bump(&mut stats.wrong_destination);
            return;
        }
        bump(&mut stats.queries);
        if query.version == Version::V1 {
            // RFC 2236 §4: an IGMPv1 router is present for the next 400 s.
            self.v1_router_until = Some(now + self.config.v1_router_present_timeout);
        }
        let max_ms = query.max_resp_ms();
        let rel = self.rel(now);
        match query.group {
            None => {
                for i in 0..self.entries.len() {
                    self.start_or_shorten(i, rel, max_ms);
                }
            }
            Some(group) => {
                if let Ok(i) = self.find(group) {
                    self.start_or_shorten(i, rel, max_ms);
                }
            }
        }
    }

    /// RFC 2236 §3: Idle -> start a timer at a random delay in (0, Max Resp]; Delaying ->
    /// reset it to such a delay only if Max Resp is shorter than the time left.
    fn start_or_shorten(&mut self, i: usize, rel: u32, max_ms: u32) {
        let Some(e) = self.entries.get_mut(i) else { return };
        if e.key.is_leaving() {
            return;
        }
        if e.is(TIMER) && max_ms >= e.deadline.saturating_sub(rel) {
            return;
        }
        e.deadline = rel.saturating_add(self.rng.delay_ms(max_ms));
        e.flags |= TIMER;
    }

    fn announce_all(&mut self, now: Instant) {
        self.observe(now);
        let count = self.config.unsolicited_report_count;
        for e in self.entries.iter_mut().filter(|e| !e.key.is_leaving()) {
            start_unsolicited(e, count);
        }
    }

    /// The entries of `group`'s bucket, and where they start.
    fn bucket_of(&self, group: GroupAddr) -> (usize, &[Entry]) {
        let (start, end) = self.bounds.range(group);
        (start, self.entries.get(start..end).unwrap_or(&[]))
    }

    /// The index of `group`'s entry (joined or leaving), or where it would be inserted
    /// (address order within its bucket).
    fn find(&self, group: GroupAddr) -> Result<usize, usize> {
        let (start, entries) = self.bucket_of(group);
        let (member, leaving) = (Key::member(group), Key::leaving(group));
        match entries.iter().position(|e| e.key == member || e.key == leaving) {
            Some(i) => Ok(start + i),
            None => Err(start + entries.iter().take_while(|e| e.key.group() < group).count()),
        }
    }

    /// Inserts `e` at `i`, which [`find`](Self::find) gave; refuses when full.
    fn insert_at(&mut self, i: usize, e: Entry) -> Result<(), MembershipError> {
        // `i <= len` always; checked so that `insert` has no panic left to take.
        if i > self.entries.len() {
            return Err(MembershipError::TableFull);
        }
        self.entries.insert(i, e).map_err(|_| MembershipError::TableFull)?;
        self.bounds.inserted(e.key.group());
        Ok(())
    }

    /// Removes the entry at `i`; `None` (never, for an `i` from the table) if there is
    /// none.
    fn remove_at(&mut self, i: usize) -> Option<Entry> {
        if i >= self.entries.len() {
            return None;
        }
        let e = self.entries.remove(i);
        self.bounds.removed(e.key.group());
        Some(e)
    }

    /// `now` as a 32-bit offset from the epoch (0 if time went back before it).
    fn rel(&self, now: Instant) -> u32 {
        now.millis_since(self.epoch).min(u64::from(u32::MAX)) as u32
    }

    /// Takes note of `now`. If time went backwards, timers keep the time they had left
    /// (the epoch and the IGMPv1 router's deadline move back with the clock). Once
    /// offsets grow large, the epoch moves up to `now`, keeping overdue deadlines overdue.
    fn observe(&mut self, now: Instant) {
        let back = self.last_now.millis_since(now);
        self.last_now = now;
        if back > 0 {
            // A deadline already past stays past; one to come keeps the time it had left.
            self.v1_router_until =
                self.v1_router_until.map(|t| Instant::from_millis(t.total_millis().saturating_sub(back)));
            let epoch = self.epoch.total_millis();
            if epoch >= back {
                self.epoch = Instant::from_millis(epoch - back);
            } else {
                let rest = (back - epoch).min(u64::from(u32::MAX)) as u32;
                self.epoch = Instant::ZERO;
                for e in self.entries.iter_mut() {
                    e.deadline = e.deadline.saturating_sub(rest);
                }
            }
        }
        let elapsed = now.millis_since(self.epoch);
        if elapsed < REBASE_AFTER_MS {
            return;
        }
        let shift = elapsed.min(u64::from(u32::MAX)) as u32;
        for e in self.entries.iter_mut() {
            e.deadline = e.deadline.saturating_sub(shift);
        }
        self.epoch = now;
    }
}

/// Starts `e`'s timer at `deadline` if that is after `now`. At the end of time nothing is:
/// the repeat is dropped rather than sent twice at the same instant.
fn schedule(e: &mut Entry, epoch: Instant, deadline: u32, now: Instant) {
    if epoch.add_millis(u64::from(deadline)) > now {
        e.flags |= TIMER;
        e.deadline = deadline;
    } else {
        e.repeats = 0;
    }
}

/// Schedules a join's reports: the first at once, `count - 1` repeats after it. A
/// query's timer already running is kept.
fn start_unsolicited(e: &mut Entry, count: u8) {
    if count > 0 {
        e.flags |= JOIN_REPORT;
        e.repeats = count - 1;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::index::{BUCKETS, bucket};
    use std::vec::Vec;

    use super::*;

    const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);

    impl<const N: usize> Host<N> {
        /// Checks the lookup index against the table, and `find` and `is_member` against
        /// what the table holds.
        fn check_index(&self) {
            let entries = &self.entries[..];
            assert_eq!(self.bounds.0[0], 0);
            assert!(self.bounds.0.windows(2).all(|w| w[0] <= w[1]), "bounds out of order");
            assert_eq!(usize::from(self.bounds.0[BUCKETS]), entries.len());
            for b in 0..BUCKETS {
                let bucket_entries = &entries[usize::from(self.bounds.0[b])..usize::from(self.bounds.0[b + 1])];
                assert!(bucket_entries.iter().all(|e| bucket(e.key.group()) == b), "a group outside bucket {b}");
                let in_order = bucket_entries.windows(2).all(|w| w[0].key.group() < w[1].key.group());
                assert!(in_order, "bucket {b} not in address order (or a group twice)");
            }
            for (i, e) in entries.iter().enumerate() {
                let group = e.key.group();
                assert!(group.is_joinable() && group != GroupAddr::ALL_SYSTEMS, "{group} in the table");
                if e.key.is_leaving() {
                    let leaving = Entry { key: Key::leaving(group), deadline: 0, joins: 0, flags: 0, repeats: 0 };
                    assert_eq!(*e, leaving, "{group} leaving");
                } else {
                    assert_eq!(e.key, Key::member(group));
                    assert!(e.joins > 0, "{group} joined 0 times");
                }
                assert_eq!(self.find(group), Ok(i), "find({group})");
                assert_eq!(self.is_member(group), !e.key.is_leaving(), "is_member({group})");
            }
        }
    }

    /// The first `count` groups of 239.0.0.0/8 that fall in bucket `b`, in address order.
    fn colliding(b: usize, count: usize) -> Vec<GroupAddr> {
        (0xef00_0001..).filter_map(|x| GroupAddr::from_bits(x).ok()).filter(|g| bucket(*g) == b).take(count).collect()
    }

    fn bucket_len<const N: usize>(h: &Host<N>, b: usize) -> u16 {
        h.bounds.0[b + 1] - h.bounds.0[b]
    }

    fn leaves_sent<const N: usize>(h: &mut Host<N>, now: Instant) -> Vec<GroupAddr> {
        let mut left = Vec::new();
        while let Some(t) = h.poll_transmit(now) {
            if let Message::Leave { group } = t.message {
                left.push(group);
            }
        }
        left
    }

    #[test]
    fn a_group_costs_12_bytes() {
        assert_eq!(core::mem::size_of::<Entry>(), 12);
        assert_eq!(core::mem::size_of::<Host<64>>() - core::mem::size_of::<Host<8>>(), 56 * 12);
    }

    #[test]
    fn a_leaving_key_is_no_group_s_key() {
        for first in 224..=239 {
            for rest in [[0, 0, 1], [1, 2, 3], [255, 255, 255]] {
                let g = GroupAddr::new([first, rest[0], rest[1], rest[2]]).unwrap();
                let (member, leaving) = (Key::member(g), Key::leaving(g));
                assert!(!member.is_leaving() && leaving.is_leaving());
                assert_eq!((member.group(), leaving.group()), (g, g));
                assert!(GroupAddr::from_bits(leaving.0).is_err());
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "long; runs natively in `cargo test`")]
    fn the_lookup_index_survives_churn() {
        let mut h: Host<400> = Host::new(HostConfig::default(), 1).unwrap();
        h.set_address(Instant::ZERO, Some((ME, 24)));
        let mut rng = Rng::new(5);
        let mut joined = BTreeSet::new();
        let mut saw_leaving = 0;
        for step in 0..3_000u64 {
            let g = GroupAddr::new([239, 0, (rng.below(2) as u8), rng.below(256) as u8]).unwrap();
            let now = Instant::from_millis(step);
            if joined.contains(&g) {
                assert_eq!(h.leave(now, g), Ok(true));
                joined.remove(&g);
            } else {
                // Possibly a rejoin of a group whose Leave is still to go.
                assert_eq!(h.join(now, g), Ok(true));
                joined.insert(g);
            }
            // Send now and then, so that groups stay leaving for a while, and groups
            // that sent a report leave with a Leave.
            if rng.below(4) == 0 {
                while h.poll_transmit(now).is_some() {}
            }
            assert_eq!(h.is_member(g), joined.contains(&g));
            h.check_index();
            saw_leaving += usize::from(h.entries.iter().any(|e| e.key.is_leaving()));
        }
        assert!(saw_leaving > 100, "{saw_leaving} steps with a group leaving");
        for x in 0..1024u32 {
            let g = GroupAddr::new([239, 0, (x >> 8) as u8, x as u8]).unwrap();
            assert_eq!(h.is_member(g), joined.contains(&g), "{g}");
        }
        assert_eq!(h.len(), joined.len());
        assert!(h.is_member(GroupAddr::ALL_SYSTEMS));
    }

    #[test]
    fn a_bucket_full_of_colliding_groups() {
        const B: usize = 5;
        let all = colliding(B, 20);
        let groups = &all[..12];
        let now = Instant::ZERO;
        let mut h: Host<16> = Host::new(HostConfig::default(), 1).unwrap();
        h.set_address(now, Some((ME, 24)));
        // Joined backwards, each goes in first in its bucket.
        for g in groups.iter().rev() {
            assert_eq!(h.join(now, *g), Ok(true));
            h.check_index();
        }
        assert_eq!(bucket_len(&h, B), 12);
        assert!(groups.iter().all(|g| h.is_member(*g)));
        assert!(all[12..].iter().all(|g| !h.is_member(*g)));
        // The reports make us the last reporter of each, so each leave waits for its Leave.
        while h.poll_transmit(now).is_some() {}
        // The first, a middle and the last group of the bucket: members no more at once,
        // while the others, before and after them, still are.
        for i in [0, 5, 11] {
            assert_eq!(h.leave(now, groups[i]), Ok(true));
            h.check_index();
        }
        for (i, g) in groups.iter().enumerate() {
            assert_eq!(h.is_member(*g), ![0, 5, 11].contains(&i), "{g}");
        }
        assert_eq!(h.len(), 9);
        assert_eq!(h.leave(now, groups[5]), Err(MembershipError::NotJoined));
        // A rejoin before the Leave goes out: a member again, in place.
        assert_eq!(h.join(now, groups[5]), Ok(true));
        h.check_index();
        assert!(h.is_member(groups[5]));
        // The two Leaves go out and take their groups out of the table.
        assert_eq!(leaves_sent(&mut h, now), [groups[0], groups[11]]);
        h.check_index();
        assert_eq!(bucket_len(&h, B), 10);
        for g in &groups[1..11] {
            assert_eq!(h.leave(now, *g), Ok(true));
        }
        assert_eq!(leaves_sent(&mut h, now).len(), 10);
        h.check_index();
        assert!(h.entries.is_empty() && h.bounds.0.iter().all(|&b| b == 0));
        assert!(groups.iter().all(|g| !h.is_member(*g)));
    }

    #[test]
    fn a_full_table_of_colliding_groups_refuses_one_more_unchanged() {
        let groups = colliding(0, 5);
        let now = Instant::ZERO;
        let mut h: Host<4> = Host::new(HostConfig::default(), 1).unwrap();
        for g in &groups[1..] {
            assert_eq!(h.join(now, *g), Ok(true));
        }
        let before = (h.entries.clone(), h.bounds.0);
        // It would go first in the bucket.
        assert_eq!(h.join(now, groups[0]), Err(MembershipError::TableFull));
        assert_eq!((h.entries.clone(), h.bounds.0), before);
        h.check_index();
        assert!(!h.is_member(groups[0]));
        assert!(groups[1..].iter().all(|g| h.is_member(*g)));
    }

    #[test]
    fn lookups_in_empty_buckets_and_at_the_ends_of_the_table() {
        let now = Instant::ZERO;
        let mut h: Host<8> = Host::new(HostConfig::default(), 1).unwrap();
        let (first, last) = (colliding(0, 3), colliding(BUCKETS - 1, 3));
        assert!(first.iter().chain(&last).all(|g| !h.is_member(*g)));
        // Only the last bucket: every empty bucket before it starts at its first key.
        for g in &last[..2] {
            h.join(now, *g).unwrap();
        }
        h.check_index();
        assert!(h.bounds.0[..BUCKETS].iter().all(|&b| b == 0));
        assert!(!h.is_member(first[0]) && !h.is_member(last[2]));
        for b in 1..BUCKETS - 1 {
            assert!(colliding(b, 2).iter().all(|g| !h.is_member(*g)), "bucket {b}");
        }
        // Only the first bucket: every empty bucket after it starts past the last key.
        for g in &last[..2] {
            h.leave(now, *g).unwrap();
        }
        for g in &first[..2] {
            h.join(now, *g).unwrap();
        }
        h.check_index();
        assert!(h.bounds.0[1..].iter().all(|&b| b == 2));
        assert!(!h.is_member(first[2]) && !h.is_member(last[0]));
        assert!(h.is_member(first[0]) && h.is_member(first[1]));
        assert!(h.is_member(GroupAddr::ALL_SYSTEMS));
    }

    #[test]
    fn a_host_for_no_groups() {
        let mut h: Host<0> = Host::new(HostConfig::default(), 1).unwrap();
        let g = GroupAddr::new([239, 1, 2, 3]).unwrap();
        assert_eq!(h.join(Instant::ZERO, g), Err(MembershipError::TableFull));
        assert_eq!(h.join(Instant::ZERO, GroupAddr::ALL_SYSTEMS), Ok(false));
        assert!(!h.is_member(g) && h.is_member(GroupAddr::ALL_SYSTEMS));
        h.check_index();
    }
}
