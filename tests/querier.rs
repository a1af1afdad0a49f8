//! RFC 2236 router (querier) behaviour, one rule per test. docs/CONFORMANCE.md maps each
//! MUST and SHOULD to the test here that shows it.

use core::net::Ipv4Addr;
use core::time::Duration;

use mcast::GroupAddr;
use mcast::membership::{ConfigError, Instant, IpMeta, Querier, QuerierConfig, QuerierEvent, Transmit};
use mcast::wire::igmp::{Message, Version};

const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const LOWER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const HIGHER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);
const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 20);
const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);
const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);

fn g(s: &str) -> GroupAddr {
    s.parse().unwrap()
}

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

fn meta(src: Ipv4Addr, dst: Ipv4Addr) -> IpMeta {
    IpMeta { src, dst, ttl: 1, router_alert: true }
}

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
fn reports_must_go_to_their_group_and_have_ttl_1() {
    let mut q = querier();
    let group = g("239.1.2.3");
    q.receive_message(ms(1), &meta(HOST, ALL_SYSTEMS), &Message::V2Report { group });
    let ttl2 = IpMeta { ttl: 2, ..meta(HOST, group.to_ipv4()) };
    q.receive_message(ms(1), &ttl2, &Message::V2Report { group });
    assert!(!q.is_present(group));
    assert_eq!((q.stats().wrong_destination, q.stats().bad_ttl), (1, 1));
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
    let config = QuerierConfig { version: Version::V1, ..QuerierConfig::default() };
    let mut q: Querier<16> = Querier::new(config, ME, 24, ms(0)).unwrap();
    assert_eq!(q.poll_transmit(ms(0)).unwrap().message, Message::V1Query);
    report(&mut q, 1_000, "239.1.2.3");
    q.receive_message(ms(2_000), &meta(HOST, ALL_ROUTERS), &Message::Leave { group: g("239.1.2.3") });
    let (tx, _) = run(&mut q, 2_000, 20_000);
    assert!(tx.iter().all(|(_, t)| t.message == Message::V1Query));
}

#[test]
fn configuration_is_checked() {
    let bad = |c: QuerierConfig| Querier::<4>::new(c, ME, 24, ms(0)).err();
    let d = QuerierConfig::default();
    assert_eq!(
        bad(QuerierConfig { query_response_interval: Duration::from_secs(26), ..d }),
        Some(ConfigError::IntervalTooLong)
    );
    assert_eq!(
        bad(QuerierConfig { last_member_query_interval: Duration::from_millis(50), ..d }),
        Some(ConfigError::Zero)
    );
    let short = QuerierConfig::new(2, Duration::from_secs(10), Duration::from_secs(10));
    assert_eq!(bad(short), Some(ConfigError::ResponseIntervalTooLong));
    assert_eq!(bad(QuerierConfig { version: Version::V3, ..d }), Some(ConfigError::UnsupportedVersion));
    assert_eq!(bad(QuerierConfig { robustness: 0, ..d }), Some(ConfigError::Zero));
    // RFC 2236 §8 defaults.
    assert_eq!(d.group_membership_interval, Duration::from_secs(260));
    assert_eq!(d.other_querier_present_interval, Duration::from_secs(255));
    assert_eq!(d.startup_query_interval, Duration::from_millis(31_250));
    assert_eq!((d.startup_query_count, d.last_member_query_count), (2, 2));
}

#[test]
fn queries_of_the_other_version_are_counted_as_a_warning() {
    let mut q = querier();
    q.receive_message(ms(1), &meta(HIGHER, ALL_SYSTEMS), &Message::V1Query);
    q.receive_message(ms(2), &meta(HIGHER, ALL_SYSTEMS), &Message::V2Query { max_resp: 100, group: None });
    assert_eq!(q.stats().version_mismatch, 1);
    let config = QuerierConfig { version: Version::V1, ..QuerierConfig::default() };
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
