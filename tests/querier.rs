//! RFC 2236 router (querier) behaviour, one rule per test. docs/CONFORMANCE.md maps each
//! MUST and SHOULD to the test here that shows it.

use core::net::Ipv4Addr;
use core::time::Duration;

use mcast::GroupAddr;
use mcast::membership::{ConfigError, ConfigField, IpMeta, Querier, QuerierConfig, QuerierEvent, Transmit};
use mcast::wire::igmp::{AddrList, GroupRecord, GroupRecords, Message, RecordType, Version};

mod common;
use common::{g, meta, ms, with};

const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const LOWER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const HIGHER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);
const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 20);
const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);
const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);

fn querier() -> Querier<16> {
    Querier::new(QuerierConfig::default(), ME, 24, ms(0)).unwrap()
}

/// Things that happened, with the millisecond they happened at.
type Timeline<T> = Vec<(u64, T)>;

/// Drives the querier from `from` to `until`: every transmit and event, with times.
fn run(q: &mut Querier<16>, from: u64, until: u64) -> (Timeline<Transmit>, Timeline<QuerierEvent>) {
    let (mut tx, mut ev) = (Vec::new(), Vec::new());
    let mut now = from;
    loop {
        while let Some(t) = q.poll_transmit(ms(now)) {
            tx.push((now, t));
        }
        while let Some(e) = q.poll_event(ms(now)) {
            ev.push((now, e));
        }
        match q.poll_at() {
            Some(at) if at.total_millis() <= until => {
                assert!(at.total_millis() > now, "poll_at {at} not after {now} once drained");
                now = at.total_millis();
            }
            _ => return (tx, ev),
        }
    }
}

fn report(q: &mut Querier<16>, t: u64, group: &str) {
    let group = g(group);
    q.receive_message(ms(t), &meta(HOST, group.to_ipv4()), &Message::V2Report { group });
}

#[test]
fn startup_queries_then_one_every_query_interval() {
    let mut q = querier();
    let (tx, ev) = run(&mut q, 0, 400_000);
    let times: Vec<u64> = tx.iter().map(|(t, _)| *t).collect();
    // Startup Query Count 2, Startup Query Interval 125/4 s, then Query Interval 125 s.
    assert_eq!(times, [0, 31_250, 156_250, 281_250]);
    for (_, t) in &tx {
        assert_eq!(t.message, Message::V2Query { max_resp: 100, group: None });
        assert_eq!(t.destination, GroupAddr::ALL_SYSTEMS);
        assert_eq!(t.source, ME);
    }
    assert_eq!(ev, [(0, QuerierEvent::BecameQuerier)]);
}

#[test]
fn a_query_from_a_lower_address_makes_us_non_querier_until_it_goes_quiet() {
    let mut q = querier();
    run(&mut q, 0, 0);
    q.receive_message(ms(1_000), &meta(LOWER, ALL_SYSTEMS), &Message::V2Query { max_resp: 100, group: None });
    assert!(!q.is_querier());
    let (tx, ev) = run(&mut q, 1_000, 200_000);
    assert!(tx.is_empty(), "a non-querier sends nothing: {tx:?}");
    assert_eq!(ev, [(1_000, QuerierEvent::BecameNonQuerier { querier: LOWER })]);
    // Other Querier Present Interval (255 s) after the last query heard: querier again,
    // and a general query at once.
    let (tx, ev) = run(&mut q, 200_000, 256_000 + 1);
    assert_eq!(ev, [(256_000, QuerierEvent::BecameQuerier)]);
    assert_eq!(tx[0].0, 256_000);
    assert!(q.is_querier());
}

#[test]
fn queries_from_higher_addresses_or_from_0_0_0_0_do_not_win() {
    let mut q = querier();
    run(&mut q, 0, 0);
    let gq = Message::V2Query { max_resp: 100, group: None };
    q.receive_message(ms(1), &meta(HIGHER, ALL_SYSTEMS), &gq);
    q.receive_message(ms(2), &meta(Ipv4Addr::UNSPECIFIED, ALL_SYSTEMS), &gq);
    q.receive_message(ms(3), &meta(ME, ALL_SYSTEMS), &gq);
    assert!(q.is_querier());
    assert_eq!(q.stats().queries_heard, 2);
}

#[test]
fn a_report_makes_a_group_present_for_the_group_membership_interval() {
    let mut q = querier();
    run(&mut q, 0, 0);
    report(&mut q, 1_000, "239.1.2.3");
    assert!(q.is_present(g("239.1.2.3")));
    assert_eq!(q.poll_event(ms(1_000)), Some(QuerierEvent::GroupPresent(g("239.1.2.3"))));
    // A repeated report refreshes the timer.
    report(&mut q, 100_000, "239.1.2.3");
    assert_eq!(q.poll_event(ms(100_000)), None);
    let (_, ev) = run(&mut q, 100_000, 400_000);
    assert_eq!(ev, [(360_000, QuerierEvent::GroupAbsent(g("239.1.2.3")))], "260 s after the last report");
    assert!(!q.is_present(g("239.1.2.3")));
}

#[test]
fn a_leave_triggers_last_member_queries_and_absence_after_lmqi_times_lmqc() {
    let mut q = querier();
    run(&mut q, 0, 0);
    report(&mut q, 1_000, "239.1.2.3");
    run(&mut q, 1_000, 1_000);
    let group = g("239.1.2.3");
    q.receive_message(ms(5_000), &meta(HOST, ALL_ROUTERS), &Message::Leave { group });
    let (tx, ev) = run(&mut q, 5_000, 30_000);
    let gsq: Vec<_> = tx.iter().filter(|(_, t)| t.destination == group).collect();
    assert_eq!(gsq.len(), 2, "Last Member Query Count");
    assert_eq!(gsq[0].0, 5_000);
    assert_eq!(gsq[1].0, 6_000, "Last Member Query Interval apart");
    for (_, t) in &gsq {
        assert_eq!(t.message, Message::V2Query { max_resp: 10, group: Some(group) });
    }
    assert_eq!(ev, [(7_000, QuerierEvent::GroupAbsent(group))], "LMQI × LMQC after the Leave");
}

#[test]
fn a_report_during_last_member_queries_keeps_the_group() {
    let mut q = querier();
    run(&mut q, 0, 0);
    report(&mut q, 1_000, "239.1.2.3");
    run(&mut q, 1_000, 1_000);
    let group = g("239.1.2.3");
    q.receive_message(ms(5_000), &meta(HOST, ALL_ROUTERS), &Message::Leave { group });
    run(&mut q, 5_000, 5_000);
    report(&mut q, 5_500, "239.1.2.3");
    let (tx, ev) = run(&mut q, 5_500, 100_000);
    assert!(tx.iter().all(|(_, t)| t.destination != group), "no more group queries");
    assert!(ev.is_empty());
    assert!(q.is_present(group));
}

#[test]
fn leaves_are_ignored_while_an_igmpv1_host_is_present() {
    let mut q = querier();
    run(&mut q, 0, 0);
    let group = g("239.1.2.3");
    q.receive_message(ms(1_000), &meta(HOST, group.to_ipv4()), &Message::V1Report { group });
    assert!(q.groups().next().unwrap().v1_hosts);
    q.receive_message(ms(2_000), &meta(HOST, ALL_ROUTERS), &Message::Leave { group });
    let (tx, _) = run(&mut q, 2_000, 100_000);
    assert!(tx.iter().all(|(_, t)| t.destination != group));
    assert!(q.is_present(group));
    assert_eq!(q.stats().leaves, 0);
}

#[test]
fn a_non_querier_ignores_leaves_and_lowers_its_timer_on_group_specific_queries() {
    let mut q = querier();
    run(&mut q, 0, 0);
    report(&mut q, 1_000, "239.1.2.3");
    let group = g("239.1.2.3");
    q.receive_message(ms(2_000), &meta(LOWER, ALL_SYSTEMS), &Message::V2Query { max_resp: 100, group: None });
    q.receive_message(ms(3_000), &meta(HOST, ALL_ROUTERS), &Message::Leave { group });
    assert_eq!(q.stats().leaves, 0);
    // The querier's group-specific query (Max Resp 1 s, sent to 224.0.0.1 as Linux
    // does): our timer drops to LMQC × 1 s.
    q.receive_message(ms(3_000), &meta(LOWER, ALL_SYSTEMS), &Message::V2Query { max_resp: 10, group: Some(group) });
    let (tx, ev) = run(&mut q, 3_000, 100_000);
    assert!(tx.is_empty());
    assert!(ev.contains(&(5_000, QuerierEvent::GroupAbsent(group))), "{ev:?}");
}

#[test]
fn off_subnet_reports_and_leaves_are_ignored_but_0_0_0_0_is_accepted() {
    let mut q = querier();
    run(&mut q, 0, 0);
    let group = g("239.1.2.3");
    q.receive_message(ms(1), &meta(Ipv4Addr::new(192, 168, 1, 1), group.to_ipv4()), &Message::V2Report { group });
    assert!(!q.is_present(group));
    assert_eq!(q.stats().off_subnet, 1);
    q.receive_message(ms(2), &meta(Ipv4Addr::UNSPECIFIED, group.to_ipv4()), &Message::V2Report { group });
    assert!(q.is_present(group));
    q.receive_message(ms(3), &meta(Ipv4Addr::new(192, 168, 1, 1), ALL_ROUTERS), &Message::Leave { group });
    assert_eq!(q.stats().off_subnet, 2);
    assert_eq!(q.stats().leaves, 0);
}

#[test]
fn reports_must_go_to_their_group_and_have_ttl_1_when_it_is_required() {
    let config = with(QuerierConfig::default(), |c| c.require_ttl_1 = true);
    let mut q: Querier<16> = Querier::new(config, ME, 24, ms(0)).unwrap();
    let group = g("239.1.2.3");
    q.receive_message(ms(1), &meta(HOST, ALL_SYSTEMS), &Message::V2Report { group });
    let ttl2 = IpMeta { ttl: 2, ..meta(HOST, group.to_ipv4()) };
    q.receive_message(ms(1), &ttl2, &Message::V2Report { group });
    assert!(!q.is_present(group));
    let s = q.stats();
    assert_eq!((s.wrong_destination, s.bad_ttl, s.bad_ttl_accepted), (1, 1, 0));
    // Queries too: a lower router's query with TTL 2 does not win.
    let ttl2 = IpMeta { ttl: 2, ..meta(LOWER, ALL_SYSTEMS) };
    q.receive_message(ms(2), &ttl2, &Message::V2Query { max_resp: 100, group: None });
    assert!(q.is_querier());
    assert_eq!((q.stats().bad_ttl, q.stats().queries_heard), (2, 0));
}

#[test]
fn local_network_control_groups_are_not_tracked() {
    let mut q = querier();
    report(&mut q, 1, "224.0.0.251");
    assert!(!q.is_present(g("224.0.0.251")));
    assert_eq!(q.stats().link_local, 1);
}

#[test]
fn a_full_table_refuses_new_groups_and_keeps_the_others() {
    let mut q: Querier<2> = Querier::new(QuerierConfig::default(), ME, 24, ms(0)).unwrap();
    for s in ["239.0.0.1", "239.0.0.2", "239.0.0.3"] {
        let group = g(s);
        q.receive_message(ms(1), &meta(HOST, group.to_ipv4()), &Message::V2Report { group });
    }
    assert!(q.is_present(g("239.0.0.1")) && q.is_present(g("239.0.0.2")));
    assert!(!q.is_present(g("239.0.0.3")));
    assert_eq!(q.stats().table_full, 1);
}

#[test]
fn igmpv1_mode_sends_v1_queries_and_ignores_leaves() {
    let config = with(QuerierConfig::default(), |c| c.version = Version::V1);
    let mut q: Querier<16> = Querier::new(config, ME, 24, ms(0)).unwrap();
    assert_eq!(q.poll_transmit(ms(0)).unwrap().message, Message::V1Query);
    report(&mut q, 1_000, "239.1.2.3");
    q.receive_message(ms(2_000), &meta(HOST, ALL_ROUTERS), &Message::Leave { group: g("239.1.2.3") });
    let (tx, _) = run(&mut q, 2_000, 20_000);
    assert!(tx.iter().all(|(_, t)| t.message == Message::V1Query));
}

/// A duration field of a querier configuration.
type Field = fn(&mut QuerierConfig) -> &mut Duration;

#[test]
fn configuration_is_checked() {
    use ConfigField as F;
    let bad = |c: QuerierConfig| Querier::<4>::new(c, ME, 24, ms(0)).err();
    let d = QuerierConfig::default();
    let secs = Duration::from_secs;
    let millis = Duration::from_millis;
    // Counts RFC 2236 gives no meaning at 0: no Robustness (§8.1), no first query on
    // startup (§7), no query after a Leave (§3).
    assert_eq!(bad(with(d, |c| c.robustness = 0)), Some(ConfigError::Zero(F::Robustness)));
    assert_eq!(bad(with(d, |c| c.startup_query_count = 0)), Some(ConfigError::Zero(F::StartupQueryCount)));
    assert_eq!(bad(with(d, |c| c.last_member_query_count = 0)), Some(ConfigError::Zero(F::LastMemberQueryCount)));
    // Every interval: not zero, not longer than a day.
    let intervals: [(Field, ConfigField); 4] = [
        (|c| &mut c.group_membership_interval, F::GroupMembershipInterval),
        (|c| &mut c.other_querier_present_interval, F::OtherQuerierPresentInterval),
        (|c| &mut c.startup_query_interval, F::StartupQueryInterval),
        (|c| &mut c.query_interval, F::QueryInterval),
    ];
    for (field, name) in intervals {
        for (value, error) in [
            (Duration::ZERO, ConfigError::Zero(name)),
            (millis(999) / 1000, ConfigError::Zero(name)),
            (secs(86_401), ConfigError::IntervalTooLong(name)),
        ] {
            let mut c = d;
            *field(&mut c) = value;
            assert_eq!(bad(c), Some(error), "{name} = {value:?}");
        }
        let mut c = d;
        *field(&mut c) = secs(86_400);
        assert_eq!(bad(c), None, "{name} of a day");
    }
    // The intervals sent as a Max Resp: 0.1 s to 25.5 s.
    let max_resp: [(Field, ConfigField); 2] = [
        (|c| &mut c.query_response_interval, F::QueryResponseInterval),
        (|c| &mut c.last_member_query_interval, F::LastMemberQueryInterval),
    ];
    for (field, name) in max_resp {
        for (value, error) in [
            (Duration::ZERO, Some(ConfigError::Zero(name))),
            (millis(99), Some(ConfigError::Zero(name))),
            (millis(100), None),
            (millis(25_500), None),
            (secs(26), Some(ConfigError::IntervalTooLong(name))),
        ] {
            let mut c = d;
            *field(&mut c) = value;
            assert_eq!(bad(c), error, "{name} = {value:?}");
        }
    }
    // RFC 2236 §8.3: the Query Response Interval below the Query Interval.
    let short = QuerierConfig::new(2, secs(10), secs(10));
    assert_eq!(bad(short), Some(ConfigError::ResponseIntervalTooLong));
    assert_eq!(bad(with(d, |c| c.version = Version::V3)), Some(ConfigError::UnsupportedVersion));
    assert_eq!(ConfigError::Zero(F::LastMemberQueryCount).to_string(), "last_member_query_count: must not be zero");
    // RFC 2236 §8 defaults.
    assert_eq!(d.group_membership_interval, secs(260));
    assert_eq!(d.other_querier_present_interval, secs(255));
    assert_eq!(d.startup_query_interval, millis(31_250));
    assert_eq!((d.startup_query_count, d.last_member_query_count), (2, 2));
    assert!(d.ignore_off_subnet && !d.require_ttl_1);
}

#[test]
fn queries_of_the_other_version_are_counted_as_a_warning() {
    let mut q = querier();
    q.receive_message(ms(1), &meta(HIGHER, ALL_SYSTEMS), &Message::V1Query);
    q.receive_message(ms(2), &meta(HIGHER, ALL_SYSTEMS), &Message::V2Query { max_resp: 100, group: None });
    assert_eq!(q.stats().version_mismatch, 1);
    let config = with(QuerierConfig::default(), |c| c.version = Version::V1);
    let mut v1: Querier<16> = Querier::new(config, ME, 24, ms(0)).unwrap();
    v1.receive_message(ms(1), &meta(HIGHER, ALL_SYSTEMS), &Message::V2Query { max_resp: 100, group: None });
    assert_eq!(v1.stats().version_mismatch, 1);
}

#[test]
fn a_leave_for_a_group_without_members_is_ignored() {
    let mut q = querier();
    run(&mut q, 0, 0);
    q.receive_message(ms(1_000), &meta(HOST, ALL_ROUTERS), &Message::Leave { group: g("239.9.9.9") });
    let (tx, ev) = run(&mut q, 1_000, 20_000);
    assert!(tx.iter().all(|(_, t)| t.destination == GroupAddr::ALL_SYSTEMS));
    assert!(ev.is_empty());
    assert_eq!(q.stats().ignored, 1);
}

#[test]
fn a_leave_sent_to_the_group_is_accepted_too() {
    let mut q = querier();
    run(&mut q, 0, 0);
    report(&mut q, 1_000, "239.1.2.3");
    let group = g("239.1.2.3");
    q.receive_message(ms(2_000), &meta(HOST, group.to_ipv4()), &Message::Leave { group });
    assert_eq!(q.stats().leaves, 1);
    // Anywhere else, it is ignored.
    report(&mut q, 3_000, "239.1.2.4");
    q.receive_message(ms(3_000), &meta(HOST, ALL_SYSTEMS), &Message::Leave { group: g("239.1.2.4") });
    assert_eq!(q.stats().wrong_destination, 1);
}

#[test]
fn last_member_queries_go_on_after_losing_the_election() {
    // RFC 2236 §3: during the Last Member Queries, "any Querier to non-Querier transition
    // is ignored; the same router keeps sending the Group-Specific Queries". A lower
    // router starts querying between the first and second query; the second still goes
    // out one Last Member Query Interval after the first.
    let mut q = querier();
    run(&mut q, 0, 0);
    report(&mut q, 1_000, "239.1.2.3");
    let group = g("239.1.2.3");
    q.receive_message(ms(2_000), &meta(HOST, ALL_ROUTERS), &Message::Leave { group });
    let gsq = Message::V2Query { max_resp: 10, group: Some(group) };
    assert_eq!(q.poll_transmit(ms(2_000)).map(|t| t.message), Some(gsq));
    assert_eq!(q.poll_transmit(ms(2_000)), None);
    q.receive_message(ms(2_100), &meta(LOWER, ALL_SYSTEMS), &Message::V2Query { max_resp: 100, group: None });
    assert!(!q.is_querier());
    assert_eq!(q.poll_at(), Some(ms(3_000)));
    assert_eq!(q.poll_transmit(ms(3_000)).map(|t| t.message), Some(gsq));
    // No general query from the non-querier, and the group ends as the Leave said.
    let (tx, ev) = run(&mut q, 3_000, 100_000);
    assert!(tx.is_empty(), "{tx:?}");
    assert_eq!(ev.last(), Some(&(4_000, QuerierEvent::GroupAbsent(group))));
}

#[test]
fn messages_with_a_ttl_other_than_1_are_accepted_by_default() {
    // A Linux bridge acts on IGMP whatever its TTL; so does our querier unless told otherwise.
    let mut q = querier();
    run(&mut q, 0, 0);
    let group = g("239.1.2.3");
    let ttl2 = |src, dst| IpMeta { ttl: 2, ..meta(src, dst) };
    q.receive_message(ms(1_000), &ttl2(HOST, group.to_ipv4()), &Message::V2Report { group });
    assert!(q.is_present(group));
    q.receive_message(ms(2_000), &ttl2(HOST, ALL_ROUTERS), &Message::Leave { group });
    assert_eq!(q.stats().leaves, 1);
    q.receive_message(ms(2_000), &ttl2(LOWER, ALL_SYSTEMS), &Message::V2Query { max_resp: 100, group: None });
    assert!(!q.is_querier());
    assert_eq!((q.stats().bad_ttl, q.stats().bad_ttl_accepted), (0, 3));
}

#[test]
fn regaining_the_role_sends_a_general_query_then_one_every_query_interval() {
    // RFC 2236 §7: Other Querier Present timer expired: send a general query, start the
    // General Query timer (the Query Interval). A router that lost the election during
    // its startup queries does not go back to them.
    let config = with(QuerierConfig::default(), |c| c.startup_query_count = 4);
    let mut q: Querier<16> = Querier::new(config, ME, 24, ms(0)).unwrap();
    let (tx, _) = run(&mut q, 0, 0);
    assert_eq!(tx.len(), 1, "the first of four startup queries");
    q.receive_message(ms(1_000), &meta(LOWER, ALL_SYSTEMS), &Message::V2Query { max_resp: 100, group: None });
    let (tx, ev) = run(&mut q, 1_000, 600_000);
    assert_eq!(ev.last(), Some(&(256_000, QuerierEvent::BecameQuerier)));
    let times: Vec<u64> = tx.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [256_000, 381_000, 506_000]);
}

#[test]
fn off_subnet_queries_are_ignored_when_off_subnet_sources_are() {
    // 9.9.9.9 is lower than us but not on 10.0.0.0/24: with `ignore_off_subnet` (the
    // default) its query neither wins the election nor lowers a group's timer.
    let stranger = Ipv4Addr::new(9, 9, 9, 9);
    let mut q = querier();
    run(&mut q, 0, 0);
    report(&mut q, 1_000, "239.1.2.3");
    q.receive_message(ms(2_000), &meta(stranger, ALL_SYSTEMS), &Message::V2Query { max_resp: 100, group: None });
    assert!(q.is_querier());
    assert_eq!((q.stats().off_subnet, q.stats().queries_heard), (1, 0));
    // Without the filter it is heard, and wins.
    let config = with(QuerierConfig::default(), |c| c.ignore_off_subnet = false);
    let mut q: Querier<16> = Querier::new(config, ME, 24, ms(0)).unwrap();
    run(&mut q, 0, 0);
    q.receive_message(ms(2_000), &meta(stranger, ALL_SYSTEMS), &Message::V2Query { max_resp: 100, group: None });
    assert!(!q.is_querier());
}

#[test]
fn multicast_and_broadcast_sources_never_win_the_election() {
    // A router numbered in 240.0.0.0/4 is above every multicast address: a query with a
    // multicast source is still no router's. Nor is the limited broadcast, nor the
    // subnet's directed broadcast.
    let me = Ipv4Addr::new(250, 0, 0, 5);
    let gq = Message::V2Query { max_resp: 100, group: None };
    for src in [Ipv4Addr::new(224, 0, 0, 2), Ipv4Addr::new(239, 1, 2, 3), Ipv4Addr::new(224, 0, 0, 0)] {
        let config = with(QuerierConfig::default(), |c| c.ignore_off_subnet = false);
        let mut q: Querier<16> = Querier::new(config, me, 24, ms(0)).unwrap();
        run(&mut q, 0, 0);
        q.receive_message(ms(1_000), &meta(src, ALL_SYSTEMS), &gq);
        assert!(q.is_querier(), "{src} won");
    }
    for (me, prefix, src) in [
        (Ipv4Addr::new(10, 0, 0, 5), 24, Ipv4Addr::BROADCAST),
        (Ipv4Addr::new(10, 0, 0, 5), 24, Ipv4Addr::new(10, 0, 0, 255)),
    ] {
        let mut q: Querier<16> = Querier::new(QuerierConfig::default(), me, prefix, ms(0)).unwrap();
        run(&mut q, 0, 0);
        q.receive_message(ms(1_000), &meta(src, ALL_SYSTEMS), &gq);
        assert!(q.is_querier(), "{src} won");
    }
}

#[test]
fn a_v1_host_present_timer_lasts_the_group_membership_interval() {
    // RFC 2236 §5: an IGMPv1 report starts the group's v1-host-present timer at the
    // Group Membership Interval (260 s); Leaves are ignored while it runs. A later IGMPv2
    // report keeps the group present but does not extend the v1 timer.
    let mut q = querier();
    run(&mut q, 0, 0);
    let group = g("239.1.2.3");
    q.receive_message(ms(1_000), &meta(HOST, group.to_ipv4()), &Message::V1Report { group });
    run(&mut q, 1_000, 200_000);
    report(&mut q, 200_000, "239.1.2.3");
    run(&mut q, 200_000, 260_999);
    q.receive_message(ms(260_999), &meta(HOST, ALL_ROUTERS), &Message::Leave { group });
    assert!(q.groups().next().unwrap().v1_hosts);
    assert_eq!((q.stats().leaves, q.stats().ignored), (0, 1));
    run(&mut q, 260_999, 261_000);
    assert!(!q.groups().next().unwrap().v1_hosts);
    q.receive_message(ms(261_000), &meta(HOST, ALL_ROUTERS), &Message::Leave { group });
    assert_eq!(q.stats().leaves, 1);
    assert_eq!(q.poll_transmit(ms(261_000)).map(|t| t.destination), Some(group));
}

#[test]
fn igmpv3_reports_are_ignored() {
    // RFC 3376 §7.3.2 seen from IGMPv2: an IGMPv2 router does not understand IGMPv3
    // reports, so a group only an IGMPv3 report names does not become present.
    let mut q = querier();
    run(&mut q, 0, 0);
    let group = g("239.1.2.3");
    let records =
        [GroupRecord { record_type: RecordType::ChangeToExclude, group, sources: AddrList::EMPTY, aux_data: &[] }];
    let v3 = Message::V3Report { records: GroupRecords::new(&records) };
    q.receive_message(ms(1_000), &meta(HOST, Ipv4Addr::new(224, 0, 0, 22)), &v3);
    assert!(!q.is_present(group));
    assert_eq!(q.poll_event(ms(1_000)), None);
    assert_eq!((q.stats().ignored, q.stats().reports), (1, 0));
}

#[test]
fn going_back_in_time_every_timer_keeps_the_time_it_had_left() {
    // At 100 s: a group reported (260 s to live), another by an IGMPv1 host (260 s of
    // v1 hosts), and a lower router's query (255 s until we take over). The clock then
    // steps back 90 s, to 10 s: each timer ends 90 s earlier on the new clock.
    let (g3, g4) = (g("239.1.2.3"), g("239.1.2.4"));
    let mut q = querier();
    run(&mut q, 0, 0);
    report(&mut q, 100_000, "239.1.2.3");
    q.receive_message(ms(100_000), &meta(HOST, g4.to_ipv4()), &Message::V1Report { group: g4 });
    q.receive_message(ms(100_000), &meta(LOWER, ALL_SYSTEMS), &Message::V2Query { max_resp: 100, group: None });
    run(&mut q, 100_000, 100_000);
    let (tx, ev) = run(&mut q, 10_000, 20_000);
    assert!(tx.is_empty() && ev.is_empty(), "{tx:?} {ev:?}");
    // An IGMPv2 report keeps the second group present past its v1 hosts.
    report(&mut q, 20_000, "239.1.2.4");
    let (tx, ev) = run(&mut q, 20_000, 269_999);
    assert_eq!(ev, [(265_000, QuerierEvent::BecameQuerier)]);
    assert_eq!(tx.first().map(|(t, _)| *t), Some(265_000));
    q.receive_message(ms(269_999), &meta(HOST, ALL_ROUTERS), &Message::Leave { group: g4 });
    assert_eq!(q.stats().leaves, 0, "IGMPv1 hosts until 270 s");
    let (_, ev) = run(&mut q, 269_999, 270_000);
    assert_eq!(ev, [(270_000, QuerierEvent::GroupAbsent(g3))]);
    q.receive_message(ms(270_000), &meta(HOST, ALL_ROUTERS), &Message::Leave { group: g4 });
    assert_eq!(q.stats().leaves, 1);
}

#[test]
fn a_restart_on_a_new_address_keeps_the_groups_and_starts_over_as_querier() {
    // The interface's address changed, or its link came back up: the router starts up
    // again (startup queries from the new address, querier until a lower one is heard)
    // and the groups it knew stay until their timers say otherwise.
    let mut q = querier();
    run(&mut q, 0, 0);
    report(&mut q, 100, "239.1.1.1");
    q.receive_message(ms(1_000), &meta(LOWER, ALL_SYSTEMS), &Message::V2Query { max_resp: 100, group: None });
    let (_, ev) = run(&mut q, 1_000, 1_000);
    let expected = [QuerierEvent::BecameNonQuerier { querier: LOWER }, QuerierEvent::GroupPresent(g("239.1.1.1"))];
    assert_eq!(ev, expected.map(|e| (1_000, e)));
    let moved = Ipv4Addr::new(10, 0, 0, 3);
    q.restart(ms(2_000), moved, 24);
    assert_eq!(q.address(), moved);
    let (tx, ev) = run(&mut q, 2_000, 40_000);
    assert_eq!(ev, [(2_000, QuerierEvent::BecameQuerier)]);
    let sent: Vec<(u64, Ipv4Addr)> = tx.iter().map(|(t, x)| (*t, x.source)).collect();
    assert_eq!(sent, [(2_000, moved), (33_250, moved)], "two startup queries, a quarter Query Interval apart");
    assert!(q.is_present(g("239.1.1.1")));
    // The group still expires a Group Membership Interval after its report.
    let (_, ev) = run(&mut q, 40_000, 260_100);
    assert_eq!(ev, [(260_100, QuerierEvent::GroupAbsent(g("239.1.1.1")))]);
    // Queries from 10.0.0.4 are from a higher address than the new one.
    let four = Ipv4Addr::new(10, 0, 0, 4);
    q.receive_message(ms(261_000), &meta(four, ALL_SYSTEMS), &Message::V2Query { max_resp: 100, group: None });
    assert!(q.is_querier());
}

#[test]
fn a_proxy_querier_queries_from_0_0_0_0_and_yields_to_any_router() {
    // RFC 4541 §2.1.1: a snooping switch may query from 0.0.0.0 where no router does;
    // it takes no part in the election, so any router heard querying is the querier.
    let config = with(QuerierConfig::default(), |c| c.proxy = true);
    let mut q: Querier<16> = Querier::new(config, ME, 24, ms(0)).unwrap();
    let (tx, _) = run(&mut q, 0, 0);
    assert_eq!(tx[0].1.source, Ipv4Addr::UNSPECIFIED);
    let gq = Message::V2Query { max_resp: 100, group: None };
    q.receive_message(ms(10), &meta(Ipv4Addr::UNSPECIFIED, ALL_SYSTEMS), &gq);
    assert!(q.is_querier(), "another switch's 0.0.0.0 queries do not silence us");
    q.receive_message(ms(20), &meta(HIGHER, ALL_SYSTEMS), &gq);
    assert!(!q.is_querier(), "a router at a higher address than the interface's is still a router");
    let (tx, ev) = run(&mut q, 20, 255_020);
    let times: Vec<u64> = tx.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [255_020], "silent until the Other Querier Present Interval ends");
    assert_eq!(ev, [(20, QuerierEvent::BecameNonQuerier { querier: HIGHER }), (255_020, QuerierEvent::BecameQuerier)]);
    // Group-specific queries after a Leave go out from 0.0.0.0 too.
    report(&mut q, 256_000, "239.1.1.1");
    q.receive_message(ms(256_100), &meta(HOST, ALL_ROUTERS), &Message::Leave { group: g("239.1.1.1") });
    let (tx, _) = run(&mut q, 256_100, 256_100);
    let specific: Vec<_> = tx.iter().filter(|(_, t)| t.message.query().is_some_and(|q| q.group.is_some())).collect();
    assert_eq!(specific.len(), 1);
    assert_eq!(specific[0].1.source, Ipv4Addr::UNSPECIFIED);
}

#[test]
fn groups_are_announced_in_the_order_they_changed_and_expire_in_address_order() {
    let mut q = querier();
    run(&mut q, 0, 0);
    report(&mut q, 10, "239.1.1.3");
    report(&mut q, 10, "239.1.1.1");
    report(&mut q, 20, "239.1.1.2");
    let (_, ev) = run(&mut q, 20, 20);
    let present: Vec<_> = ev.iter().map(|(_, e)| *e).collect();
    let expected = ["239.1.1.3", "239.1.1.1", "239.1.1.2"].map(|s| QuerierEvent::GroupPresent(g(s)));
    assert_eq!(present, expected, "the order of the reports");
    // 239.1.1.3 and 239.1.1.1 expire at one instant: in address order.
    let (_, ev) = run(&mut q, 20, 260_020);
    let expected = [(260_010, "239.1.1.1"), (260_010, "239.1.1.3"), (260_020, "239.1.1.2")];
    assert_eq!(ev, expected.map(|(t, s)| (t, QuerierEvent::GroupAbsent(g(s)))));
}
