//! What the link said: every IGMP frame the doctor captured, gathered into queriers
//! (with their query times), reporters per group, IGMPv1 hosts, reports without Router
//! Alert and frames that did not decode.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use mcast::GroupAddr;
use mcast::wire::FrameRepr;
use mcast::wire::igmp::{Message, RecordType, Version};

/// General queries whose times are kept per querier (the observed period is their
/// median spacing).
const MAX_QUERY_TIMES: usize = 64;

/// One querier as heard.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct QuerierHeard {
    /// The version of its last query.
    pub(super) version: Option<Version>,
    /// General queries, and when they came (the first [`MAX_QUERY_TIMES`]).
    pub(super) general: u64,
    pub(super) general_at: Vec<Duration>,
    /// When its last general query came.
    pub(super) last_general: Option<Duration>,
    /// Group-specific (and group-and-source-specific) queries.
    pub(super) specific: u64,
    /// Max Resp of its last general query, in tenths of a second.
    pub(super) max_resp_tenths: Option<u16>,
    /// IGMPv3: the Querier's Query Interval of its last query, in seconds.
    pub(super) qqi: Option<u16>,
}

impl QuerierHeard {
    /// Its query interval in seconds and where it comes from (`qqic`, `observed`).
    pub(super) fn interval(&self) -> Option<(f64, &'static str)> {
        // A QQIC of 0 is not the querier's interval: routers that adopt it take the
        // default instead (RFC 3376 §4.1.7).
        if let Some(q) = self.qqi.filter(|q| *q > 0 && self.version == Some(Version::V3)) {
            return Some((f64::from(q), "qqic"));
        }
        let mut periods: Vec<Duration> = self.general_at.windows(2).map(|w| w[1].saturating_sub(w[0])).collect();
        if periods.is_empty() {
            return None;
        }
        periods.sort();
        Some((periods[periods.len() / 2].as_secs_f64(), "observed"))
    }
}

/// One host's reports of one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reporter {
    /// The version of its last report or leave.
    pub(super) version: Version,
    pub(super) reports: u64,
    pub(super) leaves: u64,
}

/// What the link said while the doctor listened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Heard {
    /// IGMP frames captured, malformed ones included.
    pub frames: u64,
    pub(super) queriers: BTreeMap<Ipv4Addr, QuerierHeard>,
    pub(super) groups: BTreeMap<GroupAddr, BTreeMap<Ipv4Addr, Reporter>>,
    pub(super) v1_hosts: BTreeSet<Ipv4Addr>,
    /// IGMPv2 and IGMPv3 reports and leaves without Router Alert, by source.
    pub(super) no_router_alert: BTreeMap<Ipv4Addr, u64>,
    /// Frames that did not decode, by the decoder's error.
    pub(super) malformed: BTreeMap<String, u64>,
}

pub(super) fn version_number(v: Version) -> u8 {
    match v {
        Version::V1 => 1,
        Version::V2 => 2,
        Version::V3 => 3,
    }
}

impl Heard {
    /// Takes one captured IGMP frame, `at` after the start.
    pub fn frame(&mut self, at: Duration, bytes: &[u8]) {
        self.frames += 1;
        let f = match FrameRepr::parse(bytes) {
            Ok(f) => f,
            Err(e) => {
                *self.malformed.entry(e.to_string()).or_default() += 1;
                return;
            }
        };
        let src = f.ipv4.src_addr;
        if let Some(q) = f.igmp.query() {
            let heard = self.queriers.entry(src).or_default();
            heard.version = Some(q.version);
            if let Message::V3Query(v3) = f.igmp {
                heard.qqi = Some(v3.query_interval_secs());
            }
            if q.group.is_none() {
                heard.general += 1;
                heard.max_resp_tenths = Some(q.max_resp_tenths);
                heard.last_general = Some(at);
                if heard.general_at.len() < MAX_QUERY_TIMES {
                    heard.general_at.push(at);
                }
            } else {
                heard.specific += 1;
            }
            return;
        }
        let mut note = |group: GroupAddr, version: Version, leave: bool| {
            let r =
                self.groups.entry(group).or_default().entry(src).or_insert(Reporter { version, reports: 0, leaves: 0 });
            r.version = version;
            if leave {
                r.leaves += 1;
            } else {
                r.reports += 1;
            }
        };
        match f.igmp {
            Message::V1Report { group } => {
                note(group, Version::V1, false);
                self.v1_hosts.insert(src);
            }
            Message::V2Report { group } => note(group, Version::V2, false),
            Message::Leave { group } => note(group, Version::V2, true),
            Message::V3Report { records } => {
                for r in records.iter() {
                    // An empty INCLUDE is how an IGMPv3 host leaves (RFC 3376 §5.1).
                    let leave = matches!(r.record_type, RecordType::ChangeToInclude | RecordType::ModeIsInclude)
                        && r.sources.iter().next().is_none();
                    note(r.group, Version::V3, leave);
                }
            }
            _ => {}
        }
        // RFC 1112 predates the option: only v2 and v3 messages must carry it.
        if !f.ipv4.router_alert && !matches!(f.igmp, Message::V1Report { .. }) {
            *self.no_router_alert.entry(src).or_default() += 1;
        }
    }

    /// The unicast addresses that sent IGMP, for the reverse-path check.
    pub fn sources(&self) -> BTreeSet<Ipv4Addr> {
        let reporters = self.groups.values().flat_map(|r| r.keys());
        self.queriers.keys().chain(reporters).copied().filter(|a| !a.is_unspecified()).collect()
    }

    /// The elected querier: the lowest unicast address that queried, else a proxy
    /// querier (0.0.0.0), which yields to any router that queries.
    pub(super) fn elected(&self) -> Option<Ipv4Addr> {
        let mut addrs = self.queriers.keys();
        addrs.clone().find(|a| !a.is_unspecified()).or_else(|| addrs.next()).copied()
    }
}

#[cfg(test)]
mod tests {
    use crate::doctor::fixtures::{at, busy_link, frame, ip, v2_query};

    #[test]
    fn the_sources_checked_against_rp_filter_are_the_unicast_senders() {
        let mut h = busy_link();
        h.frame(at(3.0), &frame(v2_query(100), "0.0.0.0"));
        assert_eq!(h.sources().into_iter().collect::<Vec<_>>(), [ip("10.0.0.1"), ip("10.0.0.5"), ip("10.0.0.6")]);
    }
}
