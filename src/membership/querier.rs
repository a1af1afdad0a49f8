//! The IGMPv2 router side: querier election, queries and per-group membership
//! ([RFC 2236 §3], [§5], [§7], [§8]).
//!
//! [RFC 2236 §3]: https://www.rfc-editor.org/rfc/rfc2236#section-3
//! [§5]: https://www.rfc-editor.org/rfc/rfc2236#section-5
//! [§7]: https://www.rfc-editor.org/rfc/rfc2236#section-7
//! [§8]: https://www.rfc-editor.org/rfc/rfc2236#section-8

use core::net::Ipv4Addr;
use core::time::Duration;

use super::table::{Entry, Table};
use super::time::duration_millis;
use super::{ConfigError, ConfigField, Instant, IpMeta, Transmit, bump, in_subnet};
use crate::addr::{GroupAddr, Scope};
use crate::wire::Error as WireError;
use crate::wire::igmp::{Message, Version};

/// Querier configuration. [`QuerierConfig::default`] gives the RFC 2236 §8 defaults;
/// [`QuerierConfig::new`] derives the dependent intervals from the three basic ones as
/// §8 does. Every field may be set on its own afterwards; [`Querier::new`] refuses a
/// value RFC 2236 gives no meaning (a zero count or interval) or one out of range, and
/// names the field ([`ConfigError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct QuerierConfig {
    /// IGMP version of the queries: [`Version::V2`], or [`Version::V1`] on networks with
    /// IGMPv1 routers (RFC 2236 §4), where Leaves are ignored.
    pub version: Version,
    /// [Robustness Variable]. Default 2; not 0 (RFC 2236 §8.1).
    pub robustness: u8,
    /// [Query Interval] between general queries. Default 125 s; at most one day.
    pub query_interval: Duration,
    /// [Query Response Interval], the Max Resp of general queries. Default 10 s; from
    /// 0.1 s to 25.5 s, and below the Query Interval.
    pub query_response_interval: Duration,
    /// [Group Membership Interval]. Default RV × QI + QRI = 260 s; at most one day.
    pub group_membership_interval: Duration,
    /// [Other Querier Present Interval]. Default RV × QI + QRI / 2 = 255 s; at most one
    /// day.
    pub other_querier_present_interval: Duration,
    /// [Startup Query Interval]. Default QI / 4; at most one day.
    pub startup_query_interval: Duration,
    /// [Startup Query Count], the general queries sent on startup, the first at once.
    /// Default RV; not 0.
    pub startup_query_count: u8,
    /// [Last Member Query Interval], the Max Resp of group-specific queries and their
    /// spacing. Default 1 s; from 0.1 s to 25.5 s.
    pub last_member_query_interval: Duration,
    /// [Last Member Query Count], the group-specific queries sent after a Leave. Default
    /// RV; not 0.
    pub last_member_query_count: u8,
    /// Ignore Reports, Leaves and queries whose source is neither 0.0.0.0 nor on the
    /// subnet (RFC 2236 §10: otherwise one query from anywhere, from a lower address,
    /// silences this querier). Default on.
    pub ignore_off_subnet: bool,
    /// Ignore messages whose IP TTL is not 1, counting them in [`QuerierStats::bad_ttl`].
    /// Default off, like a Linux bridge, which acts on IGMP whatever its TTL; messages
    /// let in with another TTL are counted in [`QuerierStats::bad_ttl_accepted`].
    pub require_ttl_1: bool,
    /// Query from 0.0.0.0 and take no part in the election, as the proxy querier of an
    /// IGMP-snooping switch may ([RFC 4541 §2.1.1]): queries go out from 0.0.0.0, and
    /// any router heard querying from a unicast address is the querier, whatever its
    /// address. Default off.
    ///
    /// [RFC 4541 §2.1.1]: https://www.rfc-editor.org/rfc/rfc4541#section-2.1.1
    pub proxy: bool,
}

impl QuerierConfig {
    /// Derives every interval from the Robustness Variable, Query Interval and Query
    /// Response Interval (RFC 2236 §8).
    pub fn new(robustness: u8, query_interval: Duration, query_response_interval: Duration) -> QuerierConfig {
        let rv = u32::from(robustness);
        QuerierConfig {
            version: Version::V2,
            robustness,
            query_interval,
            query_response_interval,
            group_membership_interval: query_interval.saturating_mul(rv).saturating_add(query_response_interval),
            other_querier_present_interval: query_interval
                .saturating_mul(rv)
                .saturating_add(query_response_interval / 2),
            startup_query_interval: query_interval / 4,
            startup_query_count: robustness,
            last_member_query_interval: Duration::from_secs(1),
            last_member_query_count: robustness,
            ignore_off_subnet: true,
            require_ttl_1: false,
            proxy: false,
        }
    }
}

impl Default for QuerierConfig {
    fn default() -> Self {
        QuerierConfig::new(2, Duration::from_secs(125), Duration::from_secs(10))
    }
}

/// What changed, for a forwarding plane or a snooping switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum QuerierEvent {
    /// The group has members on the network: forward it.
    GroupPresent(GroupAddr),
    /// The group's last member is gone: stop forwarding it.
    GroupAbsent(GroupAddr),
    /// This router is now the querier.
    BecameQuerier,
    /// A router with a lower address is the querier now.
    BecameNonQuerier {
        /// Its address.
        querier: Ipv4Addr,
    },
}

impl core::fmt::Display for QuerierEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            QuerierEvent::GroupPresent(g) => write!(f, "group {g} present"),
            QuerierEvent::GroupAbsent(g) => write!(f, "group {g} absent"),
            QuerierEvent::BecameQuerier => f.write_str("became querier"),
            QuerierEvent::BecameNonQuerier { querier } => write!(f, "became non-querier ({querier} is querier)"),
        }
    }
}

/// Counters a querier keeps; they wrap at `u32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct QuerierStats {
    /// General queries sent.
    pub general_queries_sent: u32,
    /// Group-specific queries sent.
    pub group_queries_sent: u32,
    /// Queries heard from other routers (off-subnet ones ignored are not counted here).
    pub queries_heard: u32,
    /// Queries heard of another IGMP version than ours: IGMPv2 or IGMPv3 queries in
    /// IGMPv1 mode, IGMPv1 queries in IGMPv2 mode. RFC 2236 §4 asks routers to warn
    /// about them (rate-limited); this counter is that warning.
    pub version_mismatch: u32,
    /// Reports acted on.
    pub reports: u32,
    /// Leaves acted on.
    pub leaves: u32,
    /// Messages ignored because their TTL was not 1 ([`QuerierConfig::require_ttl_1`]).
    pub bad_ttl: u32,
    /// Messages with a TTL other than 1 let in because [`QuerierConfig::require_ttl_1`]
    /// is off (the other checks may still ignore them).
    pub bad_ttl_accepted: u32,
    /// Messages ignored because their checksum did not verify.
    pub bad_checksum: u32,
    /// Messages ignored because they did not parse.
    pub malformed: u32,
    /// Messages ignored because of their type (unknown, or IGMPv3 reports, which an
    /// IGMPv2 router does not understand), or Leaves while not the querier or in v1 mode.
    pub ignored: u32,
    /// Reports and Leaves ignored because of their IP destination.
    pub wrong_destination: u32,
    /// Reports, Leaves and queries ignored because their source is off the subnet.
    pub off_subnet: u32,
    /// Reports for Local Network Control groups (224.0.0.0/24), which are never
    /// forwarded and so not tracked.
    pub link_local: u32,
    /// Reports for a new group refused because the table was full.
    pub table_full: u32,
}

/// One group as [`Querier::groups`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct QuerierGroup {
    /// The group.
    pub group: GroupAddr,
    /// When the group times out without another report.
    pub expires: Instant,
    /// Whether an IGMPv1 host was heard within the Group Membership Interval (Leaves
    /// are then ignored).
    pub v1_hosts: bool,
    /// Whether group-specific queries are being sent after a Leave.
    pub checking: bool,
}

/// Timers in milliseconds, checked once at construction.
#[derive(Debug, Clone, Copy)]
struct Timers {
    query_interval: u64,
    response_tenths: u8,
    gmi: u64,
    oqpi: u64,
    startup_interval: u64,
    lmqi: u64,
    lmqi_tenths: u8,
}

/// An IGMPv2 querier for one network, tracking up to `N` groups.
///
/// Starts as the querier and sends [Startup Query Count] general queries, then one
/// every Query Interval; yields to any router with a lower unicast address heard
/// querying (from the subnet, with `ignore_off_subnet`), and takes over again after the
/// Other Querier Present Interval, with a general query at once and the next one a
/// Query Interval later. Reports make a group present for the Group Membership
/// Interval; a Leave (while querier, with no IGMPv1 host present) triggers Last Member
/// Query Count group-specific queries, after which an unanswered group is absent.
/// Presence changes come out of [`poll_event`](Querier::poll_event).
#[derive(Debug, Clone)]
pub struct Querier<const N: usize> {
    config: QuerierConfig,
    timers: Timers,
    address: Ipv4Addr,
    prefix: u8,
    querier: bool,
    announced_querier: bool,
    other_querier: Ipv4Addr,
    other_querier_until: Instant,
    /// `None` only at the end of time, when no later instant exists.
    next_general_query: Option<Instant>,
    startup_left: u8,
    /// The latest `now` seen, to notice time going backwards.
    last_now: Instant,
    table: Table<N>,
    stats: QuerierStats,
}

/// Longest router timer: one day.
const MAX_ROUTER_MS: u64 = 86_400_000;

/// An interval in milliseconds: neither zero nor longer than a day.
fn interval(d: Duration, field: ConfigField) -> Result<u64, ConfigError> {
    match duration_millis(d) {
        0 => Err(ConfigError::Zero(field)),
        ms if ms > MAX_ROUTER_MS => Err(ConfigError::IntervalTooLong(field)),
        ms => Ok(ms),
    }
}

/// An interval sent as a Max Resp: milliseconds and tenths, from 0.1 s to 25.5 s.
fn max_resp(d: Duration, field: ConfigField) -> Result<(u64, u8), ConfigError> {
    let ms = duration_millis(d);
    match u8::try_from(ms / 100) {
        Ok(0) => Err(ConfigError::Zero(field)),
        Ok(tenths) => Ok((ms, tenths)),
        Err(_) => Err(ConfigError::IntervalTooLong(field)),
    }
}

/// A count: not zero.
fn count(n: u8, field: ConfigField) -> Result<(), ConfigError> {
    if n == 0 { Err(ConfigError::Zero(field)) } else { Ok(()) }
}

impl Timers {
    /// Checks every field of `config` (RFC 2236 §8) and converts its intervals.
    fn new(config: &QuerierConfig) -> Result<Timers, ConfigError> {
        use ConfigField as F;
        if config.version == Version::V3 {
            return Err(ConfigError::UnsupportedVersion);
        }
        count(config.robustness, F::Robustness)?;
        count(config.startup_query_count, F::StartupQueryCount)?;
        count(config.last_member_query_count, F::LastMemberQueryCount)?;
        let query_interval = interval(config.query_interval, F::QueryInterval)?;
        let (response_ms, response_tenths) = max_resp(config.query_response_interval, F::QueryResponseInterval)?;
        let (lmqi, lmqi_tenths) = max_resp(config.last_member_query_interval, F::LastMemberQueryInterval)?;
        let timers = Timers {
            query_interval,
            response_tenths,
            gmi: interval(config.group_membership_interval, F::GroupMembershipInterval)?,
            oqpi: interval(config.other_querier_present_interval, F::OtherQuerierPresentInterval)?,
            startup_interval: interval(config.startup_query_interval, F::StartupQueryInterval)?,
            lmqi,
            lmqi_tenths,
        };
        // RFC 2236 §8.3: the Query Response Interval must be less than the Query Interval.
        if response_ms >= query_interval {
            return Err(ConfigError::ResponseIntervalTooLong);
        }
        Ok(timers)
    }
}

impl<const N: usize> Querier<N> {
    /// A querier on the interface with `address`/`prefix`, starting at `now`.
    pub fn new(config: QuerierConfig, address: Ipv4Addr, prefix: u8, now: Instant) -> Result<Querier<N>, ConfigError> {
        let timers = Timers::new(&config)?;
        Ok(Querier {
            config,
            timers,
            address,
            prefix,
            querier: true,
            announced_querier: false,
            other_querier: Ipv4Addr::UNSPECIFIED,
            other_querier_until: now,
            next_general_query: Some(now),
            startup_left: config.startup_query_count,
            last_now: now,
            table: Table::new(),
            stats: QuerierStats::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &QuerierConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &QuerierStats {
        &self.stats
    }

    /// This router's address.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// Starts over as a router that just came up, on the interface's new
    /// `address`/`prefix` (or the same, after the link was down): querier until a lower
    /// address is heard, with Startup Query Count general queries from now on. The
    /// groups stay, each until its own timer expires; the counters stay too.
    pub fn restart(&mut self, now: Instant, address: Ipv4Addr, prefix: u8) {
        self.advance(now);
        self.address = address;
        self.prefix = prefix;
        self.querier = true;
        self.other_querier = Ipv4Addr::UNSPECIFIED;
        self.other_querier_until = now;
        self.next_general_query = Some(now);
        self.startup_left = self.config.startup_query_count;
    }

    /// The source address of the queries: this router's, or 0.0.0.0 for a
    /// [`proxy`](QuerierConfig::proxy) querier.
    fn source(&self) -> Ipv4Addr {
        if self.config.proxy { Ipv4Addr::UNSPECIFIED } else { self.address }
    }

    /// Whether this router is the querier.
    pub fn is_querier(&self) -> bool {
        self.querier
    }

    /// The groups with members on the network, in address order, as of the last call
    /// that took `now`.
    pub fn groups(&self) -> impl Iterator<Item = QuerierGroup> + '_ {
        self.table.iter().filter(|e| e.present).map(|e| QuerierGroup {
            group: e.group,
            expires: e.expires,
            v1_hosts: e.v1_hosts_until != Instant::ZERO,
            checking: e.queries_left > 0,
        })
    }

    /// Whether `group` has members on the network.
    pub fn is_present(&self, group: GroupAddr) -> bool {
        self.table.find(group).is_some_and(|s| self.table.get(s).present)
    }

    /// Handles a received IGMP message given as bytes (the IPv4 payload).
    pub fn receive(&mut self, now: Instant, meta: &IpMeta, igmp: &[u8]) {
        match Message::parse_bytes(igmp) {
            Ok(msg) => self.receive_message(now, meta, &msg),
            Err(WireError::BadChecksum) => bump(&mut self.stats.bad_checksum),
            Err(WireError::UnknownType(_)) => bump(&mut self.stats.ignored),
            Err(_) => bump(&mut self.stats.malformed),
        }
    }

    /// Handles a received, already parsed IGMP message.
    pub fn receive_message(&mut self, now: Instant, meta: &IpMeta, msg: &Message<'_>) {
        self.advance(now);
        if meta.ttl != 1 {
            if self.config.require_ttl_1 {
                bump(&mut self.stats.bad_ttl);
                return;
            }
            bump(&mut self.stats.bad_ttl_accepted);
        }
        match *msg {
            Message::V1Query | Message::V2Query { .. } | Message::V3Query(_) => self.heard_query(now, meta, msg),
            Message::V1Report { group } | Message::V2Report { group } => {
                if self.accept_from(meta, meta.dst == group.to_ipv4()) {
                    self.heard_report(now, group, msg.version() == Version::V1);
                }
            }
            Message::Leave { group } => {
                // RFC 2236 sends Leaves to 224.0.0.2; some hosts send them to the group.
                let dst_ok = meta.dst == GroupAddr::ALL_ROUTERS.to_ipv4() || meta.dst == group.to_ipv4();
                if self.accept_from(meta, dst_ok) {
                    self.heard_leave(now, group);
                }
            }
            Message::V3Report { .. } => bump(&mut self.stats.ignored),
        }
    }

    /// When the querier next needs to act without further input: a query to send, a
    /// group to time out, an election to end.
    ///
    /// Ask again after every call that changes the querier (`receive`,
    /// `receive_message`, `poll_transmit`, `poll_event`): any of them may
    /// bring the deadline forward. `Some(t)` with `t` at or before now means at once.
    #[must_use = "the querier must be polled again at this instant"]
    pub fn poll_at(&self) -> Option<Instant> {
        let at = if self.querier { self.next_general_query } else { Some(self.other_querier_until) };
        let timers = [self.table.next_timer(), self.table.next_query().map(|(_, t)| t)];
        timers.into_iter().flatten().chain(at).min()
    }

    /// The next query to send at `now`, if any: general queries while querier, and the
    /// group-specific queries of a Leave being checked.
    ///
    /// Call it until it returns `None` whenever [`poll_at`](Querier::poll_at) is due and
    /// after each received message, then drain [`poll_event`](Querier::poll_event). A
    /// query that is returned is taken: send it, or it is lost.
    #[must_use = "a returned query is taken from the querier: send it"]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.advance(now);
        let due = self.next_general_query.is_some_and(|at| at <= now);
        if self.querier && due {
            let interval = if self.startup_left > 1 {
                self.startup_left -= 1;
                self.timers.startup_interval
            } else {
                self.startup_left = 0;
                self.timers.query_interval
            };
            // At the end of time no later instant exists: no more general queries.
            let next = now.add_millis(interval);
            self.next_general_query = (next > now).then_some(next);
            bump(&mut self.stats.general_queries_sent);
            let message = match self.config.version {
                Version::V1 => Message::V1Query,
                _ => Message::V2Query { max_resp: self.timers.response_tenths, group: None },
            };
            return Some(Transmit::new(message, self.source()));
        }
        // Last member queries go on even if we lost the election meanwhile: RFC 2236 §3,
        // "any Querier to non-Querier transition is ignored during this time; the same
        // router keeps sending the Group-Specific Queries". Only a querier starts them.
        let lmqi = self.timers.lmqi;
        let max_resp = self.timers.lmqi_tenths;
        let source = self.source();
        let (slot, at) = self.table.next_query()?;
        if at > now {
            return None;
        }
        self.table.update(slot, |e| {
            e.queries_left -= 1;
            e.next_query = now.add_millis(lmqi);
        });
        let group = self.table.get(slot).group;
        bump(&mut self.stats.group_queries_sent);
        Some(Transmit::new(Message::V2Query { max_resp, group: Some(group) }, source))
    }

    /// The next change to tell the forwarding plane about: querier role changes, and
    /// groups becoming present or absent. A role change comes first; groups come in the
    /// order they changed (those whose timers expire at one instant in address order).
    /// Changes that cancel out before they are polled (absent, then present again) are
    /// not reported.
    ///
    /// Call it until it returns `None` after draining
    /// [`poll_transmit`](Querier::poll_transmit); it also expires the timers due at `now`.
    #[must_use = "a returned event is taken from the querier"]
    pub fn poll_event(&mut self, now: Instant) -> Option<QuerierEvent> {
        self.advance(now);
        if self.querier != self.announced_querier {
            self.announced_querier = self.querier;
            return Some(if self.querier {
                QuerierEvent::BecameQuerier
            } else {
                QuerierEvent::BecameNonQuerier { querier: self.other_querier }
            });
        }
        let slot = self.table.pop_event()?;
        let Entry { group, present, .. } = *self.table.get(slot);
        // Announced absent, the entry leaves the table.
        self.table.update(slot, |e| e.announced = present);
        Some(if present { QuerierEvent::GroupPresent(group) } else { QuerierEvent::GroupAbsent(group) })
    }

    /// Applies every timer that expired by `now`. If time went backwards, every timer
    /// first moves back with the clock, keeping the time it had left.
    fn advance(&mut self, now: Instant) {
        let back = self.last_now.millis_since(now);
        self.last_now = now;
        if back > 0 {
            let shift = |t: Instant| Instant::from_millis(t.total_millis().saturating_sub(back));
            // A general query that found no later instant at the end of time is due now.
            self.next_general_query = Some(self.next_general_query.map_or(now, shift));
            self.other_querier_until = shift(self.other_querier_until);
            self.table.shift_timers(shift);
        }
        if !self.querier && self.other_querier_until <= now {
            // RFC 2236 §7: Other Querier Present timer expired -> Querier: send a general
            // query now and start the General Query timer. Startup queries left over from
            // before losing the election are not sent.
            self.querier = true;
            self.startup_left = 0;
            self.next_general_query = Some(now);
        }
        // Only the groups with a timer due are touched; one absent and never announced
        // present leaves the table at once.
        while let Some(slot) = self.table.due_timer(now) {
            self.table.update(slot, |e| {
                if e.expires <= now {
                    e.present = false;
                    e.queries_left = 0;
                }
                if e.v1_hosts_until <= now {
                    e.v1_hosts_until = Instant::ZERO;
                }
            });
        }
    }

    fn accept_from(&mut self, meta: &IpMeta, dst_ok: bool) -> bool {
        if !dst_ok {
            bump(&mut self.stats.wrong_destination);
            return false;
        }
        self.source_on_subnet(meta)
    }

    /// RFC 2236 §10: with `ignore_off_subnet`, off-subnet sources are ignored (and
    /// counted). 0.0.0.0 is accepted: hosts without an address yet send from it (RFC 3376
    /// §4.2.13), and so do snooping switches' queriers.
    fn source_on_subnet(&mut self, meta: &IpMeta) -> bool {
        if self.config.ignore_off_subnet
            && !meta.src.is_unspecified()
            && !in_subnet(meta.src, self.address, self.prefix)
        {
            bump(&mut self.stats.off_subnet);
            return false;
        }
        true
    }

    /// Whether a query from `src` can make another router the querier: only from a
    /// unicast address. Snooping switches query from 0.0.0.0 and take no part in the
    /// election; multicast, the limited broadcast and our subnet's directed broadcast
    /// are no router's address.
    fn may_be_querier(&self, src: Ipv4Addr) -> bool {
        let host_bits = match self.prefix {
            // /31 and /32 have no broadcast address (RFC 3021).
            31.. => 0,
            p => u32::MAX >> p,
        };
        let directed = host_bits != 0 && u32::from(src) == u32::from(self.address) | host_bits;
        !(src.is_unspecified() || src.is_multicast() || src.is_broadcast() || directed)
    }

    fn heard_query(&mut self, now: Instant, meta: &IpMeta, msg: &Message<'_>) {
        if meta.src == self.address || !self.source_on_subnet(meta) {
            return;
        }
        bump(&mut self.stats.queries_heard);
        if (msg.version() == Version::V1) != (self.config.version == Version::V1) {
            bump(&mut self.stats.version_mismatch);
        }
        // RFC 2236 §3: a query from a lower address makes us Non-Querier; a proxy
        // querier yields to any router.
        let lower = self.config.proxy || u32::from(meta.src) < u32::from(self.address);
        if self.may_be_querier(meta.src) && lower {
            if self.querier || meta.src != self.other_querier {
                self.other_querier = meta.src;
            }
            self.querier = false;
            self.other_querier_until = now.add_millis(self.timers.oqpi);
        }
        // RFC 2236 §3: a non-querier hearing a group-specific query lowers the group's
        // timer to Last Member Query Count × the query's Max Resp.
        if let (false, Some(q)) = (self.querier, msg.query())
            && let Some(group) = q.group
        {
            let limit = now.add_millis(u64::from(self.config.last_member_query_count) * u64::from(q.max_resp_ms()));
            if let Some(slot) = self.table.find(group) {
                self.table.update(slot, |e| {
                    if e.present && e.expires > limit {
                        e.expires = limit;
                    }
                });
            }
        }
    }

    fn heard_report(&mut self, now: Instant, group: GroupAddr, v1: bool) {
        if group.scope() == Scope::LocalNetworkControl {
            bump(&mut self.stats.link_local);
            return;
        }
        let expires = now.add_millis(self.timers.gmi);
        let slot = match self.table.find(group) {
            Some(slot) => slot,
            None => match self.table.insert(Entry::new(group, expires)) {
                Some(slot) => slot,
                None => {
                    bump(&mut self.stats.table_full);
                    return;
                }
            },
        };
        bump(&mut self.stats.reports);
        self.table.update(slot, |e| {
            e.present = true;
            e.expires = expires;
            e.queries_left = 0;
            if v1 {
                // RFC 2236 §5: Version 1 Host Present Timeout = Group Membership Interval.
                e.v1_hosts_until = expires;
            } else if e.v1_hosts_until <= now {
                // Left over from before the group was last absent.
                e.v1_hosts_until = Instant::ZERO;
            }
        });
    }

    fn heard_leave(&mut self, now: Instant, group: GroupAddr) {
        let ignore = !self.querier || self.config.version == Version::V1;
        let Some(slot) = self.table.find(group) else {
            bump(&mut self.stats.ignored);
            return;
        };
        let e = self.table.get(slot);
        if ignore || !e.present || e.v1_hosts_until > now || e.queries_left > 0 {
            bump(&mut self.stats.ignored);
            return;
        }
        bump(&mut self.stats.leaves);
        // RFC 2236 §3, §7: Checking Membership. LMQC queries, LMQI apart, and the group
        // expires after LMQI × LMQC unless a report arrives.
        let count = self.config.last_member_query_count;
        let expires = now.add_millis(self.timers.lmqi * u64::from(count));
        self.table.update(slot, |e| {
            e.queries_left = count;
            e.next_query = now;
            e.expires = expires;
        });
    }
}
