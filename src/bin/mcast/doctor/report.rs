//! What the doctor makes of it: [`diagnose`] turns what the link said and what the host
//! says into findings, and a [`Report`] prints them, with what was heard and read, as
//! text or as one JSON object.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Duration;

use mcast::wire::igmp::Version;

use super::host::{Local, Route};
use super::link::{Heard, version_number};
use crate::json::{self, Object};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something that stops or will stop multicast.
    Problem,
    /// Worth knowing; not wrong in itself.
    Note,
    /// Checked and fine.
    Ok,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Problem => "problem",
            Level::Note => "note",
            Level::Ok => "ok",
        }
    }
}

/// One thing the doctor found: a level, a stable code, one line of explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Problem, note or ok.
    pub level: Level,
    /// A stable name for scripts (`no-querier`, `rp-filter`, …).
    pub code: &'static str,
    /// The explanation.
    pub text: String,
}

/// Everything the doctor has to say.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Problems first, then notes, then what is fine.
    pub findings: Vec<Finding>,
    heard: Heard,
    local: Local,
    listened: Duration,
}

impl Report {
    /// How many findings are problems.
    pub fn problems(&self) -> usize {
        self.findings.iter().filter(|f| f.level == Level::Problem).count()
    }
}

pub(super) fn secs(d: f64) -> String {
    format!("{d:.1}")
}

fn version_name(v: Option<Version>) -> String {
    v.map_or_else(|| "?".into(), |v| format!("IGMPv{}", version_number(v)))
}

fn addr_list(addrs: impl IntoIterator<Item = Ipv4Addr>) -> String {
    addrs.into_iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
}

/// The RFC 2236 Group Membership Interval at the defaults, in seconds: 2 × 125 + 10.
const DEFAULT_GMI: u32 = 260;

/// Turns what was heard and read into findings.
pub fn diagnose(heard: Heard, local: Local, listened: Duration) -> Report {
    let mut f = Vec::new();
    let mut add = |level, code, text: String| f.push(Finding { level, code, text });
    let name = &local.name;
    let listened_s = secs(listened.as_secs_f64());

    // The interface.
    if !local.up {
        add(Level::Problem, "interface-down", format!("{name} is down: `ip link set {name} up`"));
    } else if matches!(local.operstate.as_str(), "down" | "lowerlayerdown" | "notpresent") {
        add(Level::Problem, "no-carrier", format!("{name} is up but its link is {}: no carrier", local.operstate));
    }
    if !local.multicast {
        add(
            Level::Problem,
            "multicast-flag",
            format!(
                "{name} has the MULTICAST flag off: the kernel's IPv4 still joins and sends on it, but programs that \
                 choose interfaces by the flag (mDNS responders, routing daemons) skip it; `ip link set {name} \
                 multicast on`"
            ),
        );
    }
    match local.address {
        Some((a, p)) if local.up && local.multicast => add(
            Level::Ok,
            "interface",
            format!("{name} is up, link {}, MULTICAST flag on, address {a}/{p}", local.operstate),
        ),
        Some(_) => {}
        None => add(
            Level::Note,
            "no-address",
            format!(
                "{name} has no IPv4 address: the kernel takes its reports' source from another interface, or sends \
                 them from 0.0.0.0, which some switches ignore"
            ),
        ),
    }

    // Queriers.
    let elected = heard.elected();
    match elected {
        None => {
            let mut text = format!(
                "no IGMP querier heard in {listened_s} s: snooping switches prune a group about {DEFAULT_GMI} s \
                 after its last report (RFC 2236 Group Membership Interval, 2 × 125 s + 10 s) and its traffic stops; \
                 run one with `mcast querier -i {name}` or enable a router's or switch's querier"
            );
            if listened < Duration::from_secs(126) {
                text.push_str(" (a querier at the default 125 s Query Interval may be silent for up to 125 s: listen longer to be sure)");
            }
            add(Level::Problem, "no-querier", text);
        }
        Some(a) => {
            let q = &heard.queriers[&a];
            let interval = q.interval().map_or_else(
                || "interval unknown (one general query heard)".to_string(),
                |(s, from)| format!("every {} s ({})", secs(s), if from == "qqic" { "QQIC" } else { "observed" }),
            );
            let max_resp = q.max_resp_tenths.map_or_else(|| "?".into(), |t| secs(f64::from(t) / 10.0));
            let what = if a.is_unspecified() { "proxy querier 0.0.0.0" } else { "querier" };
            let who = if a.is_unspecified() { String::new() } else { format!(" {a}") };
            add(
                Level::Ok,
                "querier",
                format!("{what}{who} is elected: {}, {interval}, Max Resp {max_resp} s", version_name(q.version)),
            );
        }
    }
    // RFC 2236 §3: a router that hears a query from a lower address stops querying. One
    // that queries a second or more after the elected querier's first general query
    // did not hear it.
    if let Some(first) = elected.and_then(|a| heard.queriers[&a].general_at.first().copied()) {
        let kept: Vec<Ipv4Addr> = heard
            .queriers
            .iter()
            .filter(|(a, q)| {
                Some(**a) != elected
                    && !a.is_unspecified()
                    && q.last_general.is_some_and(|t| t >= first + Duration::from_secs(1))
            })
            .map(|(a, _)| *a)
            .collect();
        if let (false, Some(e)) = (kept.is_empty(), elected) {
            add(
                Level::Problem,
                "querier-election",
                format!(
                    "{} kept querying after {e} queried: a router that hears a query from a lower address stops \
                     querying (RFC 2236 §3), so these queriers do not hear each other (a filter, a VLAN or a port \
                     between them) and both query",
                    addr_list(kept)
                ),
            );
        }
    }
    if heard.queriers.contains_key(&Ipv4Addr::UNSPECIFIED) {
        if elected == Some(Ipv4Addr::UNSPECIFIED) {
            add(
                Level::Problem,
                "proxy-querier",
                "the only querier queries from 0.0.0.0 (a proxy querier, RFC 4541 §2.1.1): hosts and switches that \
                 discard queries from 0.0.0.0 never answer, and their groups expire; give the querier an address \
                 (Linux bridge: mcast_query_use_ifaddr 1)"
                    .into(),
            );
        } else {
            add(
                Level::Note,
                "proxy-querier",
                "a proxy querier queries from 0.0.0.0 (RFC 4541 §2.1.1) beside a querier with an address, which is \
                 the querier"
                    .into(),
            );
        }
    }
    let versions: BTreeSet<Version> = heard.queriers.values().filter_map(|q| q.version).collect();
    if versions.len() > 1 {
        let list = heard
            .queriers
            .iter()
            .map(|(a, q)| format!("{a} {}", version_name(q.version)))
            .collect::<Vec<_>>()
            .join(", ");
        add(
            Level::Problem,
            "querier-versions",
            format!("queriers speak different IGMP versions ({list}): RFC 3376 §7.3.1 has them all set to the lowest"),
        );
    }

    // Hosts.
    if heard.groups.is_empty() {
        add(
            Level::Note,
            "no-reports",
            format!(
                "no membership report heard in {listened_s} s: hosts report when they join and when a querier asks"
            ),
        );
    }
    if !heard.v1_hosts.is_empty() {
        add(
            Level::Note,
            "igmpv1-hosts",
            format!(
                "IGMPv1 hosts: {}: they send no Leave, so their groups stay forwarded until the membership interval \
                 ends, and queriers answer their groups in IGMPv1",
                addr_list(heard.v1_hosts.iter().copied())
            ),
        );
    }
    if !heard.no_router_alert.is_empty() {
        let list = heard.no_router_alert.iter().map(|(a, n)| format!("{a} ({n})")).collect::<Vec<_>>().join(", ");
        add(
            Level::Problem,
            "no-router-alert",
            format!(
                "reports or leaves without Router Alert from {list}: RFC 2236 §2 and RFC 3376 §4 require it, and \
                 IGMPv3 routers and some snooping switches ignore such messages"
            ),
        );
    }
    if !heard.malformed.is_empty() {
        let total: u64 = heard.malformed.values().sum();
        let list = heard.malformed.iter().map(|(e, n)| format!("{e} ({n})")).collect::<Vec<_>>().join(", ");
        add(Level::Problem, "malformed", format!("{total} malformed IGMP frame(s): {list}"));
    }

    // The host.
    let rp = local.rp_filter();
    let (rp_if, rp_all) = local.rp_filter;
    let rp_setting = format!("rp_filter {rp} ({name} {rp_if}, all {rp_all}; the larger applies)");
    if rp == 0 {
        add(Level::Ok, "rp-filter", format!("{rp_setting}: multicast is accepted from any source"));
    } else {
        let dropped: Vec<String> = local
            .reverse
            .iter()
            .filter_map(|(src, route)| match route {
                Route::Via(index, via) if rp == 1 && *index != local.index => Some(format!("{src} (route via {via})")),
                Route::None(e) => Some(format!("{src} (no route: {e})")),
                _ => None,
            })
            .collect();
        let rule = if rp == 1 {
            "strict: multicast is dropped unless the route back to its source leaves by the interface it came in on"
        } else {
            "loose: multicast is dropped when there is no route back to its source"
        };
        if !dropped.is_empty() {
            add(
                Level::Problem,
                "rp-filter",
                format!("{rp_setting}, {rule}; multicast from {} is dropped", dropped.join(", ")),
            );
        } else if local.reverse.is_empty() {
            add(Level::Note, "rp-filter", format!("{rp_setting}, {rule}"));
        } else {
            add(
                Level::Ok,
                "rp-filter",
                format!(
                    "{rp_setting}, {rule}; the route back to each of the {} source(s) heard passes",
                    local.reverse.len()
                ),
            );
        }
    }
    let (group, route) = &local.route;
    match route {
        Route::Via(index, _) if *index == local.index => add(
            Level::Ok,
            "route",
            format!("multicast to {group} leaves by {name} when the sending socket names no interface"),
        ),
        Route::Via(_, via) => add(
            Level::Note,
            "route",
            format!(
                "multicast to {group} leaves by {via}, not {name}, when the sending socket names no interface \
                 (IP_MULTICAST_IF): name it (`mcast send -i ADDRESS`) or `ip route add 224.0.0.0/4 dev {name}`"
            ),
        ),
        Route::None(e) => add(
            Level::Note,
            "route",
            format!(
                "no route for multicast to {group} ({e}): a sending socket must name its interface \
                 (IP_MULTICAST_IF), or `ip route add 224.0.0.0/4 dev {name}`"
            ),
        ),
    }
    let (fi, fa) = local.force_igmp_version;
    let force = format!("force_igmp_version {} ({name} {fi}, all {fa})", local.force_igmp_version());
    match local.force_igmp_version() {
        1 => add(Level::Note, "force-igmp-version", format!("{force}: this host reports in IGMPv1 and sends no Leave")),
        2 => add(Level::Note, "force-igmp-version", format!("{force}: this host reports in IGMPv2, never IGMPv3")),
        _ => add(
            Level::Ok,
            "force-igmp-version",
            format!("{force}: this host answers in the version of the queries it hears"),
        ),
    }
    add(
        Level::Note,
        "ip-multicast-all",
        "IP_MULTICAST_ALL: a socket bound to 0.0.0.0:PORT receives every group any socket on this host joined, on \
         any interface, unless it turns the option off (mcast recv does); 1 is each socket's default and no system \
         setting changes it"
            .into(),
    );
    f.sort_by_key(|f| f.level);
    Report { findings: f, heard, local, listened }
}

impl Route {
    fn json(&self) -> Object {
        match self {
            Route::Via(index, name) => Object::new().str("interface", name).num("index", index).raw("error", "null"),
            Route::None(e) => Object::new().raw("interface", "null").raw("index", "null").str("error", e),
        }
    }
}

impl Report {
    /// The report as text: a header, the findings, then what was heard and read.
    pub fn text(&self) -> String {
        let (h, l) = (&self.heard, &self.local);
        let mut t = String::new();
        let _ = writeln!(
            t,
            "mcast doctor: {} (index {}), listened {} s, {} IGMP frame(s), {} problem(s)",
            l.name,
            l.index,
            secs(self.listened.as_secs_f64()),
            h.frames,
            self.problems()
        );
        t.push('\n');
        for f in &self.findings {
            let _ = writeln!(t, "{:<8} {}", f.level.name(), f.text);
        }
        t.push_str("\nqueriers\n");
        if h.queriers.is_empty() {
            t.push_str("  none heard\n");
        }
        let elected = h.elected();
        for (a, q) in &h.queriers {
            let interval = q
                .interval()
                .map_or_else(|| "interval unknown".into(), |(s, from)| format!("every {} s ({from})", secs(s)));
            let max_resp = q.max_resp_tenths.map_or_else(|| "?".into(), |t| secs(f64::from(t) / 10.0));
            let mut flags = String::new();
            if Some(*a) == elected {
                flags.push_str(", elected");
            }
            if a.is_unspecified() {
                flags.push_str(", proxy (RFC 4541)");
            }
            let _ = writeln!(
                t,
                "  {:<15}  {}, {interval}, Max Resp {max_resp} s, {} general and {} group-specific queries{flags}",
                a.to_string(),
                version_name(q.version),
                q.general,
                q.specific
            );
        }
        t.push_str("groups\n");
        if h.groups.is_empty() {
            t.push_str("  none reported\n");
        }
        for (g, reporters) in &h.groups {
            let list = reporters
                .iter()
                .map(|(a, r)| {
                    let leaves = if r.leaves > 0 { format!(", {} leave(s)", r.leaves) } else { String::new() };
                    format!("{a} (v{}, {} report(s){leaves})", version_number(r.version), r.reports)
                })
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(t, "  {:<15}  {list}", g.to_string());
        }
        let mode = l.igmp_mode.as_deref().map(|m| format!(", IGMP mode {m}")).unwrap_or_default();
        let _ = writeln!(t, "this host on {}{mode}", l.name);
        if l.memberships.is_empty() {
            t.push_str("  no memberships\n");
        }
        for (g, users) in &l.memberships {
            let _ = writeln!(t, "  {:<15}  {users} user(s)", g.to_string());
        }
        t
    }

    /// The report as one JSON object (the schema is in docs/TROUBLESHOOTING.md).
    pub fn json(&self) -> String {
        let (h, l) = (&self.heard, &self.local);
        let findings = self
            .findings
            .iter()
            .map(|f| Object::new().str("level", f.level.name()).str("code", f.code).str("text", &f.text).finish());
        let elected = h.elected();
        let queriers = h.queriers.iter().map(|(a, q)| {
            let (interval, from) = match q.interval() {
                Some((s, from)) => (format!("{s:.3}"), json::string(from)),
                None => ("null".into(), "null".into()),
            };
            let max_resp = q.max_resp_tenths.map_or_else(|| "null".into(), |t| format!("{:.1}", f64::from(t) / 10.0));
            Object::new()
                .str("address", a.to_string())
                .raw("version", &q.version.map_or_else(|| "null".into(), |v| version_number(v).to_string()))
                .num("general_queries", q.general)
                .num("specific_queries", q.specific)
                .raw("query_interval_s", &interval)
                .raw("query_interval_from", &from)
                .raw("max_resp_s", &max_resp)
                .num("proxy", a.is_unspecified())
                .num("elected", Some(*a) == elected)
                .finish()
        });
        let groups = h.groups.iter().map(|(g, reporters)| {
            let reporters = reporters.iter().map(|(a, r)| {
                Object::new()
                    .str("address", a.to_string())
                    .num("version", version_number(r.version))
                    .num("reports", r.reports)
                    .num("leaves", r.leaves)
                    .finish()
            });
            Object::new().str("group", g.to_string()).raw("reporters", &json::array(reporters)).finish()
        });
        let no_alert =
            h.no_router_alert.iter().map(|(a, n)| Object::new().str("address", a.to_string()).num("count", n).finish());
        let malformed = h.malformed.iter().map(|(e, n)| Object::new().str("error", e).num("count", n).finish());
        let interface = Object::new()
            .str("name", &l.name)
            .num("index", l.index)
            .num("up", l.up)
            .str("operstate", &l.operstate)
            .num("multicast", l.multicast)
            .opt_str("address", l.address.map(|(a, p)| format!("{a}/{p}")))
            .finish();
        let pair = |(i, a): (u8, u8), effective: u8| {
            Object::new().num("interface", i).num("all", a).num("effective", effective).finish()
        };
        let (group, route) = &l.route;
        let reverse = l.reverse.iter().map(|(s, r)| r.json().str("source", s.to_string()).finish());
        let memberships =
            l.memberships.iter().map(|(g, n)| Object::new().str("group", g.to_string()).num("users", n).finish());
        let host = Object::new()
            .raw("rp_filter", &pair(l.rp_filter, l.rp_filter()))
            .raw("force_igmp_version", &pair(l.force_igmp_version, l.force_igmp_version()))
            .raw("route", &route.json().str("group", group.to_string()).finish())
            .raw("reverse_routes", &json::array(reverse))
            .opt_str("igmp_mode", l.igmp_mode.as_deref())
            .raw("memberships", &json::array(memberships))
            .finish();
        Object::new()
            .str("interface", &l.name)
            .num("listened_s", format!("{:.1}", self.listened.as_secs_f64()))
            .num("frames", h.frames)
            .num("problems", self.problems())
            .raw("findings", &json::array(findings))
            .raw("queriers", &json::array(queriers))
            .raw("groups", &json::array(groups))
            .strs("igmpv1_hosts", h.v1_hosts.iter().map(ToString::to_string))
            .raw("no_router_alert", &json::array(no_alert))
            .raw("malformed", &json::array(malformed))
            .raw("link", &interface)
            .raw("host", &host)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::fixtures::{at, busy_link, frame, frame_with, g, healthy, ip, v2_query};
    use mcast::wire::igmp::{AddrList, GroupRecord, GroupRecords, Message, RecordType, V3Query};

    fn codes(r: &Report, level: Level) -> Vec<&'static str> {
        r.findings.iter().filter(|f| f.level == level).map(|f| f.code).collect()
    }

    /// A v2 querier at 10.0.0.1 every 1 s, a v2 host and a v1 host in 239.1.1.1.

    #[test]
    fn a_silent_link_has_no_querier_and_the_report_says_what_to_run() {
        let r = diagnose(Heard::default(), healthy(), at(5.0));
        assert_eq!(r.problems(), 1);
        assert_eq!(
            r.text(),
            "\
mcast doctor: eth0 (index 2), listened 5.0 s, 0 IGMP frame(s), 1 problem(s)

problem  no IGMP querier heard in 5.0 s: snooping switches prune a group about 260 s after its last report (RFC 2236 Group Membership Interval, 2 × 125 s + 10 s) and its traffic stops; run one with `mcast querier -i eth0` or enable a router's or switch's querier (a querier at the default 125 s Query Interval may be silent for up to 125 s: listen longer to be sure)
note     no membership report heard in 5.0 s: hosts report when they join and when a querier asks
note     IP_MULTICAST_ALL: a socket bound to 0.0.0.0:PORT receives every group any socket on this host joined, on any interface, unless it turns the option off (mcast recv does); 1 is each socket's default and no system setting changes it
ok       eth0 is up, link up, MULTICAST flag on, address 10.0.0.9/24
ok       rp_filter 0 (eth0 0, all 0; the larger applies): multicast is accepted from any source
ok       multicast to 239.255.255.250 leaves by eth0 when the sending socket names no interface
ok       force_igmp_version 0 (eth0 0, all 0): this host answers in the version of the queries it hears

queriers
  none heard
groups
  none reported
this host on eth0, IGMP mode V2
  224.0.0.1        1 user(s)
  239.1.1.1        2 user(s)
"
        );
        // After a whole default Query Interval the hint to listen longer goes.
        let r = diagnose(Heard::default(), healthy(), at(130.0));
        assert!(r.findings[0].text.ends_with("enable a router's or switch's querier"), "{}", r.findings[0].text);
    }

    #[test]
    fn queriers_groups_and_igmpv1_hosts_are_named() {
        let r = diagnose(busy_link(), healthy(), at(3.0));
        assert_eq!(r.problems(), 0);
        assert_eq!(
            r.text(),
            "\
mcast doctor: eth0 (index 2), listened 3.0 s, 8 IGMP frame(s), 0 problem(s)

note     IGMPv1 hosts: 10.0.0.5: they send no Leave, so their groups stay forwarded until the membership interval ends, and queriers answer their groups in IGMPv1
note     IP_MULTICAST_ALL: a socket bound to 0.0.0.0:PORT receives every group any socket on this host joined, on any interface, unless it turns the option off (mcast recv does); 1 is each socket's default and no system setting changes it
ok       eth0 is up, link up, MULTICAST flag on, address 10.0.0.9/24
ok       querier 10.0.0.1 is elected: IGMPv2, every 1.0 s (observed), Max Resp 10.0 s
ok       rp_filter 0 (eth0 0, all 0; the larger applies): multicast is accepted from any source
ok       multicast to 239.255.255.250 leaves by eth0 when the sending socket names no interface
ok       force_igmp_version 0 (eth0 0, all 0): this host answers in the version of the queries it hears

queriers
  10.0.0.1         IGMPv2, every 1.0 s (observed), Max Resp 10.0 s, 3 general and 1 group-specific queries, elected
groups
  239.1.1.1        10.0.0.5 (v1, 1 report(s)), 10.0.0.6 (v2, 2 report(s), 1 leave(s))
this host on eth0, IGMP mode V2
  224.0.0.1        1 user(s)
  239.1.1.1        2 user(s)
"
        );
    }

    #[test]
    fn the_json_report_is_one_object_of_the_documented_schema() {
        let r = diagnose(busy_link(), healthy(), at(3.0));
        let json = r.json();
        assert_eq!(json.lines().count(), 1);
        let findings = json.split(r#""findings":["#).nth(1).unwrap().split("],\"queriers\"").next().unwrap();
        assert!(findings.starts_with(r#"{"level":"note","code":"igmpv1-hosts","text":"IGMPv1 hosts: 10.0.0.5: "#));
        let rest = json.split("],\"queriers\"").nth(1).unwrap();
        assert_eq!(
            rest,
            concat!(
                r#":[{"address":"10.0.0.1","version":2,"general_queries":3,"specific_queries":1,"query_interval_s":1.000,"query_interval_from":"observed","max_resp_s":10.0,"proxy":false,"elected":true}],"#,
                r#""groups":[{"group":"239.1.1.1","reporters":[{"address":"10.0.0.5","version":1,"reports":1,"leaves":0},{"address":"10.0.0.6","version":2,"reports":2,"leaves":1}]}],"#,
                r#""igmpv1_hosts":["10.0.0.5"],"no_router_alert":[],"malformed":[],"#,
                r#""link":{"name":"eth0","index":2,"up":true,"operstate":"up","multicast":true,"address":"10.0.0.9/24"},"#,
                r#""host":{"rp_filter":{"interface":0,"all":0,"effective":0},"force_igmp_version":{"interface":0,"all":0,"effective":0},"#,
                r#""route":{"interface":"eth0","index":2,"error":null,"group":"239.255.255.250"},"reverse_routes":[],"igmp_mode":"V2","#,
                r#""memberships":[{"group":"224.0.0.1","users":1},{"group":"239.1.1.1","users":2}]}}"#
            )
        );
        assert!(json.starts_with(r#"{"interface":"eth0","listened_s":3.0,"frames":8,"problems":0,"findings":[{"#));
        // Every finding is a level, a code and a text.
        assert_eq!(findings.matches(r#"{"level":"#).count(), r.findings.len());
        assert_eq!(findings.matches(r#"","code":""#).count(), r.findings.len());
    }

    #[test]
    fn a_proxy_querier_alone_is_a_problem_and_beside_a_router_a_note() {
        let mut h = Heard::default();
        h.frame(at(0.0), &frame(v2_query(100), "0.0.0.0"));
        let r = diagnose(h.clone(), healthy(), at(3.0));
        assert_eq!(codes(&r, Level::Problem), ["proxy-querier"]);
        assert!(r.findings.iter().any(|f| f.text
            == "proxy querier 0.0.0.0 is elected: IGMPv2, interval unknown (one general query heard), Max Resp 10.0 s"));
        assert!(r.text().contains(
            "  0.0.0.0          IGMPv2, interval unknown, Max Resp 10.0 s, 1 general and 0 group-specific queries, elected, proxy (RFC 4541)\n"
        ));
        assert!(r.json().contains(r#"{"address":"0.0.0.0","version":2,"general_queries":1,"specific_queries":0,"query_interval_s":null,"query_interval_from":null,"max_resp_s":10.0,"proxy":true,"elected":true}"#));

        // A router at a higher address is the querier; the proxy yields to it.
        h.frame(at(1.0), &frame(v2_query(100), "10.0.0.200"));
        let r = diagnose(h, healthy(), at(3.0));
        assert_eq!(codes(&r, Level::Problem), Vec::<&str>::new());
        assert!(codes(&r, Level::Note).contains(&"proxy-querier"));
        assert!(r.text().contains("ok       querier 10.0.0.200 is elected: IGMPv2"), "{}", r.text());
        assert!(r.json().contains(r#""proxy":true,"elected":false}"#));
    }

    #[test]
    fn a_higher_querier_that_keeps_querying_after_the_lowest_is_a_problem() {
        let mut h = Heard::default();
        h.frame(at(0.0), &frame(v2_query(100), "10.0.0.2"));
        h.frame(at(0.5), &frame(v2_query(100), "10.0.0.1"));
        // 10.0.0.2 stops at once, as RFC 2236 §3 says: no problem.
        let r = diagnose(h.clone(), healthy(), at(3.0));
        assert_eq!(codes(&r, Level::Problem), Vec::<&str>::new());
        assert!(r.text().contains("ok       querier 10.0.0.1 is elected: IGMPv2"), "{}", r.text());
        h.frame(at(2.0), &frame(v2_query(100), "10.0.0.2"));
        let r = diagnose(h, healthy(), at(3.0));
        assert_eq!(codes(&r, Level::Problem), ["querier-election"]);
        assert_eq!(
            r.findings[0].text,
            "10.0.0.2 kept querying after 10.0.0.1 queried: a router that hears a query from a lower address stops \
             querying (RFC 2236 §3), so these queriers do not hear each other (a filter, a VLAN or a port between \
             them) and both query"
        );
    }

    #[test]
    fn an_igmpv3_querier_gives_its_interval_and_a_v2_one_beside_it_is_a_problem() {
        let mut h = Heard::default();
        let v3 = |qqic| {
            Message::V3Query(V3Query {
                max_resp_code: 100,
                group: None,
                suppress_router_processing: false,
                qrv: 2,
                qqic,
                sources: AddrList::new(&[]),
            })
        };
        h.frame(at(0.0), &frame(v3(60), "10.0.0.3"));
        h.frame(at(0.1), &frame(v2_query(50), "10.0.0.4"));
        let r = diagnose(h, healthy(), at(3.0));
        assert!(
            r.text().contains("ok       querier 10.0.0.3 is elected: IGMPv3, every 60.0 s (QQIC), Max Resp 10.0 s\n")
        );
        assert_eq!(codes(&r, Level::Problem), ["querier-versions"]);
        assert!(
            r.findings[0].text.starts_with("queriers speak different IGMP versions (10.0.0.3 IGMPv3, 10.0.0.4 IGMPv2)")
        );
        assert!(r.json().contains(r#""query_interval_s":60.000,"query_interval_from":"qqic","max_resp_s":10.0"#));

        // A QQIC of 0: the interval is the observed one.
        let mut h = Heard::default();
        h.frame(at(0.0), &frame(v3(0), "10.0.0.3"));
        h.frame(at(2.0), &frame(v3(0), "10.0.0.3"));
        let r = diagnose(h, healthy(), at(3.0));
        assert!(
            r.text()
                .contains("ok       querier 10.0.0.3 is elected: IGMPv3, every 2.0 s (observed), Max Resp 10.0 s\n")
        );
    }

    #[test]
    fn reports_without_router_alert_and_malformed_frames_are_problems() {
        let mut h = Heard::default();
        h.frame(at(0.0), &frame(v2_query(100), "10.0.0.1"));
        h.frame(at(0.1), &frame_with(Message::V2Report { group: g("239.1.1.1") }, "10.0.0.6", false));
        h.frame(at(0.2), &frame_with(Message::Leave { group: g("239.1.1.1") }, "10.0.0.6", false));
        // IGMPv1 knows no Router Alert: not counted.
        h.frame(at(0.3), &frame_with(Message::V1Report { group: g("239.1.1.2") }, "10.0.0.5", false));
        let mut bad = frame(Message::V2Report { group: g("239.1.1.3") }, "10.0.0.7");
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        h.frame(at(0.4), &bad);
        h.frame(at(0.5), &bad);
        let r = diagnose(h, healthy(), at(3.0));
        assert_eq!(codes(&r, Level::Problem), ["no-router-alert", "malformed"]);
        assert!(r.findings[0].text.starts_with("reports or leaves without Router Alert from 10.0.0.6 (2): "));
        assert!(r.findings[1].text.starts_with("2 malformed IGMP frame(s): "), "{}", r.findings[1].text);
        assert!(r.findings[1].text.ends_with(" (2)"), "{}", r.findings[1].text);
        let json = r.json();
        assert!(
            json.contains(r#""no_router_alert":[{"address":"10.0.0.6","count":2}],"malformed":[{"error":""#),
            "{json}"
        );
        assert!(json.contains(r#"","count":2}],"link""#), "{json}");
    }

    #[test]
    fn igmpv3_reports_name_their_groups_and_an_empty_include_is_a_leave() {
        let sources: [[u8; 4]; 0] = [];
        let records = [
            GroupRecord {
                record_type: RecordType::ChangeToExclude,
                group: g("239.2.2.2"),
                sources: AddrList::new(&sources),
                aux_data: &[],
            },
            GroupRecord {
                record_type: RecordType::ChangeToInclude,
                group: g("239.3.3.3"),
                sources: AddrList::new(&sources),
                aux_data: &[],
            },
        ];
        let mut h = Heard::default();
        h.frame(at(0.0), &frame(Message::V3Report { records: GroupRecords::new(&records) }, "10.0.0.8"));
        let text = diagnose(h, healthy(), at(1.0)).text();
        assert!(text.contains("  239.2.2.2        10.0.0.8 (v3, 1 report(s))\n"), "{text}");
        assert!(text.contains("  239.3.3.3        10.0.0.8 (v3, 0 report(s), 1 leave(s))\n"), "{text}");
    }

    #[test]
    fn the_interface_flags_and_sysctls_are_read_as_the_kernel_applies_them() {
        let mut l = healthy();
        l.up = false;
        l.multicast = false;
        l.rp_filter = (0, 1);
        l.force_igmp_version = (2, 1);
        l.reverse =
            vec![(ip("10.0.0.1"), Route::Via(2, "eth0".into())), (ip("10.0.0.6"), Route::Via(3, "eth1".into()))];
        l.route = (ip("239.255.255.250"), Route::None("Network is unreachable (os error 101)".into()));
        let r = diagnose(busy_link(), l.clone(), at(3.0));
        assert_eq!(codes(&r, Level::Problem), ["interface-down", "multicast-flag", "rp-filter"]);
        let text = |code| r.findings.iter().find(|f| f.code == code).unwrap().text.clone();
        assert_eq!(
            text("rp-filter"),
            "rp_filter 1 (eth0 0, all 1; the larger applies), strict: multicast is dropped unless the route back to its \
             source leaves by the interface it came in on; multicast from 10.0.0.6 (route via eth1) is dropped"
        );
        assert_eq!(
            text("force-igmp-version"),
            "force_igmp_version 1 (eth0 2, all 1): this host reports in IGMPv1 and sends no Leave"
        );
        assert_eq!(
            text("route"),
            "no route for multicast to 239.255.255.250 (Network is unreachable (os error 101)): a sending socket must \
             name its interface (IP_MULTICAST_IF), or `ip route add 224.0.0.0/4 dev eth0`"
        );
        assert!(r.json().contains(r#""rp_filter":{"interface":0,"all":1,"effective":1},"force_igmp_version":{"interface":2,"all":1,"effective":1},"route":{"interface":null,"index":null,"error":"Network is unreachable (os error 101)","group":"239.255.255.250"},"reverse_routes":[{"interface":"eth0","index":2,"error":null,"source":"10.0.0.1"},{"interface":"eth1","index":3,"error":null,"source":"10.0.0.6"}]"#));

        // Loose mode drops only what has no route back at all.
        l.rp_filter = (2, 0);
        l.up = true;
        l.multicast = true;
        let r = diagnose(busy_link(), l.clone(), at(3.0));
        assert_eq!(codes(&r, Level::Problem), Vec::<&str>::new());
        l.reverse[1].1 = Route::None("Network is unreachable (os error 101)".into());
        let r = diagnose(busy_link(), l, at(3.0));
        assert_eq!(codes(&r, Level::Problem), ["rp-filter"]);
        assert!(
            r.findings[0]
                .text
                .ends_with("multicast from 10.0.0.6 (no route: Network is unreachable (os error 101)) is dropped")
        );
    }
}
