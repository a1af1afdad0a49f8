//! RFC 2236 host behaviour, one rule per test. docs/CONFORMANCE.md maps each MUST and
//! SHOULD to the test here that shows it.

use core::net::Ipv4Addr;
use core::time::Duration;

use mcast::GroupAddr;
use mcast::membership::{
    ConfigError, ConfigField, GroupState, Host, HostConfig, Instant, IpMeta, MembershipError, Transmit,
};
use mcast::wire::checksum;
use mcast::wire::igmp::{AddrList, Message, V3Query};

mod common;
use common::{g, meta, ms, with};

const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);
const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const OTHER_HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);
const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);

fn host_with(config: HostConfig, seed: u64) -> Host<8> {
    let mut h = Host::new(config, seed).unwrap();
    h.set_address(ms(0), Some((ME, 24)));
    h
}

fn host() -> Host<8> {
    host_with(HostConfig::default(), 1)
}

fn general_query(max_resp: u8) -> Message<'static> {
    Message::V2Query { max_resp, group: None }
}

/// Everything the host sends from `from` up to and including `until`, with times.
fn run(h: &mut Host<8>, from: u64, until: u64) -> Vec<(u64, Transmit)> {
    let mut out = Vec::new();
    let mut now = from;
    loop {
        while let Some(t) = h.poll_transmit(ms(now)) {
            out.push((now, t));
        }
        match h.poll_at() {
            Some(at) if at.total_millis() <= until => {
                assert!(at.total_millis() > now, "poll_at {at} not after {now} once drained");
                now = at.total_millis();
            }
            _ => return out,
        }
    }
}

/// Joins and lets the unsolicited reports go out; returns the host Idle at `t`.
fn joined_idle(groups: &[&str]) -> (Host<8>, u64) {
    let mut h = host();
    for s in groups {
        h.join(ms(0), g(s)).unwrap();
    }
    run(&mut h, 0, 60_000);
    assert!(h.groups().all(|i| i.state == GroupState::Idle));
    (h, 60_000)
}

#[test]
fn join_reports_at_once_and_repeats_once_within_the_unsolicited_interval() {
    let mut h = host();
    assert_eq!(h.join(ms(5), g("239.1.2.3")), Ok(true));
    // RFC 2236 §6: Non-Member, join: send report, set flag, start timer, Delaying Member.
    let first = h.poll_transmit(ms(5)).expect("join report");
    let info = h.groups().next().unwrap();
    assert_eq!((info.state, info.last_reporter), (GroupState::Delaying, true));
    let mut sent = vec![(5, first)];
    sent.extend(run(&mut h, 5, 100_000));
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].0, 5);
    assert!(sent[1].0 > 5 && sent[1].0 <= 10_005, "repeat at {}", sent[1].0);
    for (_, t) in &sent {
        assert_eq!(t.message, Message::V2Report { group: g("239.1.2.3") });
        assert_eq!(t.destination, g("239.1.2.3"));
        assert_eq!(t.source, ME);
    }
    assert_eq!(h.poll_at(), None);
    assert_eq!(h.stats().reports_sent, 2);
}

#[test]
fn unsolicited_report_count_and_interval_are_configurable() {
    for count in [0u8, 1, 3, 5] {
        let config = with(HostConfig::default(), |c| {
            c.unsolicited_report_count = count;
            c.unsolicited_report_interval = Duration::from_millis(500);
        });
        let mut h = host_with(config, 3);
        h.join(ms(0), g("239.1.2.3")).unwrap();
        let sent = run(&mut h, 0, 100_000);
        assert_eq!(sent.len(), usize::from(count), "count {count}");
        for pair in sent.windows(2) {
            let gap = pair[1].0 - pair[0].0;
            assert!(gap > 0 && gap <= 500, "gap {gap}");
        }
    }
}

#[test]
fn joins_are_reference_counted_and_say_when_membership_changes() {
    let mut h = host();
    let group = g("239.1.2.3");
    assert_eq!(h.join(ms(0), group), Ok(true));
    assert_eq!(h.join(ms(0), group), Ok(false));
    assert_eq!(h.groups().next().unwrap().joins, 2);
    assert_eq!(h.leave(ms(0), group), Ok(false));
    assert!(h.is_member(group));
    assert_eq!(h.leave(ms(0), group), Ok(true));
    assert!(!h.is_member(group));
    assert_eq!(h.leave(ms(0), group), Err(MembershipError::NotJoined));
}

#[test]
fn bad_joins_are_errors_and_change_nothing() {
    let mut h: Host<2> = Host::new(HostConfig::default(), 1).unwrap();
    h.set_address(ms(0), Some((ME, 24)));
    assert_eq!(h.join(ms(0), Ipv4Addr::new(10, 1, 2, 3)), Err(MembershipError::NotMulticast));
    assert_eq!(h.join(ms(0), Ipv4Addr::new(224, 0, 0, 0)), Err(MembershipError::NotJoinable));
    assert_eq!(h.join(ms(0), g("239.0.0.1")), Ok(true));
    assert_eq!(h.join(ms(0), g("239.0.0.2")), Ok(true));
    let before: Vec<_> = h.groups().collect();
    let poll_before = h.poll_at();
    // The WSAENOBUFS case: a full table refuses the new group and keeps the others.
    assert_eq!(h.join(ms(0), g("239.0.0.3")), Err(MembershipError::TableFull));
    assert_eq!(h.groups().collect::<Vec<_>>(), before);
    assert_eq!(h.poll_at(), poll_before);
    assert!(h.is_member(g("239.0.0.1")) && h.is_member(g("239.0.0.2")) && !h.is_member(g("239.0.0.3")));
    // Existing groups still join again (reference count) while full.
    assert_eq!(h.join(ms(0), g("239.0.0.1")), Ok(false));
    assert_eq!(h.leave(ms(0), Ipv4Addr::new(10, 1, 2, 3)), Err(MembershipError::NotMulticast));
}

#[test]
fn all_systems_is_always_a_member_never_reported_never_left() {
    let mut h = host();
    assert!(h.is_member(GroupAddr::ALL_SYSTEMS));
    assert_eq!(h.join(ms(0), GroupAddr::ALL_SYSTEMS), Ok(false));
    assert_eq!(h.poll_transmit(ms(0)), None);
    assert_eq!(h.poll_at(), None);
    h.receive_message(ms(1), &meta(ROUTER, ALL_SYSTEMS), &general_query(100));
    assert_eq!(run(&mut h, 1, 100_000), vec![]);
    assert_eq!(h.leave(ms(2), GroupAddr::ALL_SYSTEMS), Ok(false));
    assert!(h.is_member(GroupAddr::ALL_SYSTEMS));
    assert!(h.is_empty());
}

#[test]
fn general_query_reports_every_group_after_a_random_delay_within_max_resp() {
    let (mut h, t) = joined_idle(&["239.1.1.1", "239.1.1.2", "239.1.1.3"]);
    h.receive_message(ms(t), &meta(ROUTER, ALL_SYSTEMS), &general_query(50)); // 5 s
    let sent = run(&mut h, t, t + 100_000);
    assert_eq!(sent.len(), 3);
    let mut groups: Vec<_> = sent.iter().map(|(_, x)| x.destination).collect();
    groups.sort();
    assert_eq!(groups, [g("239.1.1.1"), g("239.1.1.2"), g("239.1.1.3")]);
    assert!(sent.iter().all(|(at, _)| *at > t && *at <= t + 5_000));
}

#[test]
fn report_delays_are_uniform_over_the_whole_max_resp_range() {
    // 400 hosts with different seeds answer one query with Max Resp 10 s: every delay
    // is in (0, 10 s] and each second of the range gets its share.
    let mut per_second = [0u32; 10];
    for seed in 0..400 {
        let mut h = host_with(HostConfig::default(), seed);
        h.join(ms(0), g("239.1.2.3")).unwrap();
        run(&mut h, 0, 60_000);
        h.receive_message(ms(60_000), &meta(ROUTER, ALL_SYSTEMS), &general_query(100));
        let sent = run(&mut h, 60_000, 200_000);
        assert_eq!(sent.len(), 1);
        let delay = sent[0].0 - 60_000;
        assert!((1..=10_000).contains(&delay), "delay {delay}");
        per_second[((delay - 1) / 1000) as usize] += 1;
    }
    for (s, &n) in per_second.iter().enumerate() {
        assert!((20..=65).contains(&n), "second {s}: {n} of 400 (expect 40)");
    }
}

#[test]
fn a_running_timer_is_reset_only_by_a_shorter_max_resp() {
    let (mut h, t) = joined_idle(&["239.1.2.3"]);
    h.receive_message(ms(t), &meta(ROUTER, ALL_SYSTEMS), &general_query(250)); // 25 s
    let first = h.poll_at().unwrap();
    // A longer or equal Max Resp than the time left leaves the timer alone.
    let left = first.total_millis() - t;
    let longer = u8::try_from(left.div_ceil(100)).unwrap().max(1);
    h.receive_message(ms(t), &meta(ROUTER, ALL_SYSTEMS), &general_query(longer));
    assert_eq!(h.poll_at(), Some(first));
    // A shorter one (0.1 s) resets it to within 0.1 s.
    h.receive_message(ms(t), &meta(ROUTER, ALL_SYSTEMS), &general_query(1));
    let reset = h.poll_at().unwrap().total_millis();
    assert!(reset > t && reset <= t + 100, "{reset}");
}

#[test]
fn group_specific_query_is_accepted_at_the_group_or_at_all_systems() {
    for dst in [Ipv4Addr::new(239, 1, 1, 2), ALL_SYSTEMS] {
        let (mut h, t) = joined_idle(&["239.1.1.1", "239.1.1.2"]);
        let q = Message::V2Query { max_resp: 10, group: Some(g("239.1.1.2")) };
        h.receive_message(ms(t), &meta(ROUTER, dst), &q);
        let sent = run(&mut h, t, t + 100_000);
        assert_eq!(sent.len(), 1, "to {dst}");
        assert_eq!(sent[0].1.destination, g("239.1.1.2"));
        assert!(sent[0].0 <= t + 1_000);
    }
    // Sent anywhere else, it breaks the rules: ignored and counted.
    let (mut h, t) = joined_idle(&["239.1.1.2"]);
    let q = Message::V2Query { max_resp: 10, group: Some(g("239.1.1.2")) };
    h.receive_message(ms(t), &meta(ROUTER, Ipv4Addr::new(239, 9, 9, 9)), &q);
    assert_eq!(h.poll_at(), None);
    assert_eq!(h.stats().wrong_destination, 1);
}

#[test]
fn a_query_for_a_group_not_joined_is_ignored() {
    let (mut h, t) = joined_idle(&["239.1.1.1"]);
    let q = Message::V2Query { max_resp: 10, group: Some(g("239.7.7.7")) };
    h.receive_message(ms(t), &meta(ROUTER, Ipv4Addr::new(239, 7, 7, 7)), &q);
    assert_eq!(h.poll_at(), None);
}

#[test]
fn another_hosts_v2_or_v1_report_suppresses_ours() {
    for other in [Message::V2Report { group: g("239.1.2.3") }, Message::V1Report { group: g("239.1.2.3") }] {
        let (mut h, t) = joined_idle(&["239.1.2.3"]);
        h.receive_message(ms(t), &meta(ROUTER, ALL_SYSTEMS), &general_query(100));
        assert!(h.poll_at().is_some());
        h.receive_message(ms(t + 1), &meta(OTHER_HOST, Ipv4Addr::new(239, 1, 2, 3)), &other);
        assert_eq!(h.poll_at(), None, "{other:?}");
        assert_eq!(run(&mut h, t + 1, t + 100_000), vec![]);
        assert_eq!(h.stats().suppressed, 1);
        let info = h.groups().next().unwrap();
        assert_eq!((info.state, info.last_reporter), (GroupState::Idle, false));
    }
}

#[test]
fn a_report_not_sent_to_its_group_does_not_suppress() {
    let (mut h, t) = joined_idle(&["239.1.2.3"]);
    h.receive_message(ms(t), &meta(ROUTER, ALL_SYSTEMS), &general_query(100));
    let report = Message::V2Report { group: g("239.1.2.3") };
    h.receive_message(ms(t + 1), &meta(OTHER_HOST, ALL_SYSTEMS), &report);
    assert_eq!(h.stats().wrong_destination, 1);
    assert_eq!(run(&mut h, t + 1, t + 100_000).len(), 1);
}

#[test]
fn leave_goes_to_all_routers_when_we_were_the_last_reporter() {
    let (mut h, t) = joined_idle(&["239.1.2.3"]);
    assert!(h.groups().next().unwrap().last_reporter);
    assert_eq!(h.leave(ms(t), g("239.1.2.3")), Ok(true));
    let sent = run(&mut h, t, t + 100_000);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, t);
    assert_eq!(sent[0].1.message, Message::Leave { group: g("239.1.2.3") });
    assert_eq!(sent[0].1.destination, GroupAddr::ALL_ROUTERS);
    assert_eq!(h.stats().leaves_sent, 1);
}

#[test]
fn no_leave_when_another_host_reported_last() {
    let (mut h, t) = joined_idle(&["239.1.2.3"]);
    h.receive_message(ms(t), &meta(ROUTER, ALL_SYSTEMS), &general_query(100));
    h.receive_message(
        ms(t + 1),
        &meta(OTHER_HOST, Ipv4Addr::new(239, 1, 2, 3)),
        &Message::V2Report { group: g("239.1.2.3") },
    );
    assert_eq!(h.leave(ms(t + 2), g("239.1.2.3")), Ok(true));
    assert_eq!(run(&mut h, t + 2, t + 100_000), vec![]);
}

#[test]
fn no_leave_before_any_report_was_sent() {
    let mut h = host();
    h.join(ms(0), g("239.1.2.3")).unwrap();
    assert_eq!(h.leave(ms(0), g("239.1.2.3")), Ok(true));
    assert_eq!(run(&mut h, 0, 100_000), vec![]);
}

#[test]
fn igmpv1_router_present_means_v1_reports_no_leaves_and_10_s_delays() {
    let (mut h, t) = joined_idle(&["239.1.2.3", "239.1.2.4"]);
    h.receive_message(ms(t), &meta(ROUTER, ALL_SYSTEMS), &Message::V1Query);
    assert!(h.v1_router_present(ms(t)));
    let sent = run(&mut h, t, t + 100_000);
    assert_eq!(sent.len(), 2);
    for (at, tx) in &sent {
        assert!(matches!(tx.message, Message::V1Report { .. }), "{tx:?}");
        assert!(*at > t && *at <= t + 10_000, "v1 query: 10 s max delay, at {at}");
    }
    // The state follows the last IGMPv1 query heard, not the last query's type: an
    // IGMPv2 query within the 400 s changes nothing.
    h.receive_message(ms(t + 15_000), &meta(ROUTER, ALL_SYSTEMS), &general_query(10));
    assert!(h.v1_router_present(ms(t + 15_000)));
    let answers = run(&mut h, t + 15_000, t + 16_000);
    assert_eq!(answers.len(), 2);
    assert!(answers.iter().all(|(_, tx)| matches!(tx.message, Message::V1Report { .. })));
    // A join while the v1 router is present reports in v1 too.
    h.join(ms(t + 20_000), g("239.1.2.5")).unwrap();
    let joined = run(&mut h, t + 20_000, t + 40_000);
    assert!(joined.iter().all(|(_, tx)| matches!(tx.message, Message::V1Report { .. })));
    // No Leave while the v1 router is present, even as last reporter.
    assert_eq!(h.leave(ms(t + 50_000), g("239.1.2.3")), Ok(true));
    assert_eq!(run(&mut h, t + 50_000, t + 60_000), vec![]);
    // 400 s after the v1 query, v2 again: reports and Leaves.
    let later = t + 400_000;
    assert!(!h.v1_router_present(ms(later)));
    h.receive_message(ms(later), &meta(ROUTER, ALL_SYSTEMS), &general_query(10));
    let v2 = run(&mut h, later, later + 60_000);
    assert_eq!(v2.len(), 2);
    assert!(v2.iter().all(|(_, tx)| matches!(tx.message, Message::V2Report { .. })));
    assert_eq!(h.leave(ms(later + 60_000), g("239.1.2.4")), Ok(true));
    let leave = run(&mut h, later + 60_000, later + 70_000);
    assert!(matches!(leave[..], [(_, Transmit { message: Message::Leave { .. }, .. })]), "{leave:?}");
}

#[test]
fn igmpv3_queries_are_answered_as_igmpv2_queries() {
    let (mut h, t) = joined_idle(&["239.1.2.3"]);
    let q = Message::V3Query(V3Query {
        max_resp_code: 0x8a, // (10 | 16) << 3 = 208 tenths = 20.8 s
        group: None,
        suppress_router_processing: false,
        qrv: 2,
        qqic: 125,
        sources: AddrList::EMPTY,
    });
    h.receive_message(ms(t), &meta(ROUTER, ALL_SYSTEMS), &q);
    let sent = run(&mut h, t, t + 100_000);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.message, Message::V2Report { group: g("239.1.2.3") });
    assert!(sent[0].0 <= t + 20_800);
    assert!(!h.v1_router_present(ms(t)));
}

#[test]
fn joins_before_an_address_are_announced_when_it_arrives() {
    let mut h: Host<8> = Host::new(HostConfig::default(), 1).unwrap();
    assert_eq!(h.join(ms(0), g("239.1.2.3")), Ok(true));
    assert!(h.is_member(g("239.1.2.3")));
    assert_eq!(h.poll_transmit(ms(0)), None);
    assert_eq!(h.poll_at(), None, "nothing to do until there is an address");
    h.set_address(ms(7_000), Some((ME, 24)));
    let sent = run(&mut h, 7_000, 100_000);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].0, 7_000);
    assert_eq!(sent[0].1.source, ME);
}

#[test]
fn a_new_address_or_link_up_announces_every_group_again() {
    let (mut h, t) = joined_idle(&["239.1.1.1", "239.1.1.2"]);
    h.set_address(ms(t), Some((ME, 24)));
    assert_eq!(h.poll_at(), None, "same address: nothing new");
    h.set_address(ms(t), Some((Ipv4Addr::new(10, 0, 0, 8), 24)));
    assert_eq!(run(&mut h, t, t + 100_000).len(), 4);
    h.link_up(ms(t + 100_000));
    let sent = run(&mut h, t + 100_000, t + 200_000);
    assert_eq!(sent.len(), 4);
    assert!(sent.iter().all(|(_, tx)| tx.source == Ipv4Addr::new(10, 0, 0, 8)));
}

#[test]
fn messages_that_break_the_rules_change_nothing_and_are_counted() {
    let config = with(HostConfig::default(), |c| {
        c.require_router_alert = true;
        c.ignore_off_subnet_queries = true;
        c.require_ttl_1 = true;
    });
    let mut h = host_with(config, 1);
    h.join(ms(0), g("239.1.2.3")).unwrap();
    run(&mut h, 0, 60_000);
    let t = 60_000;
    let q = general_query(100);
    let ttl2 = IpMeta { ttl: 2, ..meta(ROUTER, ALL_SYSTEMS) };
    h.receive_message(ms(t), &ttl2, &q);
    let no_ra = IpMeta { router_alert: false, ..meta(ROUTER, ALL_SYSTEMS) };
    h.receive_message(ms(t), &no_ra, &q);
    h.receive_message(ms(t), &meta(Ipv4Addr::new(192, 168, 9, 1), ALL_SYSTEMS), &q);
    let bad = [0x11, 100, 0, 0, 0, 0, 0, 0];
    h.receive(ms(t), &meta(ROUTER, ALL_SYSTEMS), &bad); // checksum 0 is wrong
    let mut unknown = [0x99, 0, 0, 0, 0, 0, 0, 0];
    let sum = checksum::compute(&unknown);
    unknown[2..4].copy_from_slice(&sum.to_be_bytes());
    h.receive(ms(t), &meta(ROUTER, ALL_SYSTEMS), &unknown);
    h.receive(ms(t), &meta(ROUTER, ALL_SYSTEMS), &[0x11, 100, 0]);
    assert_eq!(h.poll_at(), None, "no timer started");
    let s = *h.stats();
    assert_eq!(
        (s.bad_ttl, s.no_router_alert, s.off_subnet, s.bad_checksum, s.ignored_types, s.malformed, s.queries),
        (1, 1, 1, 1, 1, 1, 0)
    );
    assert_eq!(s.bad_ttl_accepted, 0);
    // 0.0.0.0 (a snooping switch) is not off-subnet.
    h.receive_message(ms(t), &meta(Ipv4Addr::UNSPECIFIED, ALL_SYSTEMS), &q);
    assert!(h.poll_at().is_some());
    assert_eq!(h.stats().queries, 1);
}

#[test]
fn rejoining_before_the_leave_goes_out_cancels_it() {
    let (mut h, t) = joined_idle(&["239.1.2.3"]);
    assert_eq!(h.leave(ms(t), g("239.1.2.3")), Ok(true));
    assert_eq!(h.join(ms(t), g("239.1.2.3")), Ok(true));
    let sent = run(&mut h, t, t + 100_000);
    assert!(sent.iter().all(|(_, tx)| matches!(tx.message, Message::V2Report { .. })), "{sent:?}");
    assert_eq!(sent.len(), 2);
}

#[test]
fn time_may_jump_backwards_or_to_the_end_without_harm() {
    let mut h = host();
    h.join(ms(1_000_000), g("239.1.2.3")).unwrap();
    // Backwards: timers keep the time they had left, so the join report due at once
    // still goes out at once, and its repeat within 10 s of the new clock.
    assert!(h.poll_transmit(ms(10)).is_some());
    let repeat = h.poll_at().unwrap().total_millis();
    assert!(repeat > 10 && repeat <= 10_010, "{repeat}");
    // Far forwards: the repeat is overdue and goes out at once.
    let end = Instant::from_millis(u64::MAX);
    assert!(h.poll_transmit(end).is_some());
    assert_eq!(h.poll_transmit(end), None);
    h.receive_message(end, &meta(ROUTER, ALL_SYSTEMS), &general_query(100));
    let at = h.poll_at().unwrap();
    assert_eq!(at, end, "saturates at the end of time");
    assert!(h.poll_transmit(end).is_some());
    assert_eq!(h.leave(end, g("239.1.2.3")), Ok(true));
}

#[test]
fn too_many_joins_of_one_group() {
    let mut h = host();
    for _ in 0..u16::MAX {
        h.join(ms(0), g("239.1.2.3")).unwrap();
    }
    assert_eq!(h.join(ms(0), g("239.1.2.3")), Err(MembershipError::TooManyJoins));
    assert_eq!(h.groups().next().unwrap().joins, u16::MAX);
}

#[test]
fn the_join_report_goes_out_even_if_another_host_reported_first_but_its_repeat_does_not() {
    // Two hosts join at the same instant; the other's report reaches us before we poll.
    let mut h = host();
    h.join(ms(0), g("239.1.2.3")).unwrap();
    h.receive_message(
        ms(0),
        &meta(OTHER_HOST, Ipv4Addr::new(239, 1, 2, 3)),
        &Message::V2Report { group: g("239.1.2.3") },
    );
    let sent = run(&mut h, 0, 100_000);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, 0);
    // A report heard while the repeat timer runs suppresses the repeat.
    let mut h = host();
    h.join(ms(0), g("239.1.2.3")).unwrap();
    assert!(h.poll_transmit(ms(0)).is_some());
    assert!(h.poll_at().is_some());
    h.receive_message(
        ms(1),
        &meta(OTHER_HOST, Ipv4Addr::new(239, 1, 2, 3)),
        &Message::V2Report { group: g("239.1.2.3") },
    );
    assert_eq!(h.poll_at(), None);
    assert_eq!(h.stats().suppressed, 1);
}

#[test]
fn defaults_are_the_rfc_2236_section_8_values() {
    let c = HostConfig::default();
    assert_eq!(c.unsolicited_report_interval, Duration::from_secs(10));
    assert_eq!(c.v1_router_present_timeout, Duration::from_secs(400));
    assert_eq!(c.unsolicited_report_count, 2);
    assert!(!c.require_router_alert && !c.ignore_off_subnet_queries && !c.require_ttl_1);
}

#[test]
fn configuration_is_checked() {
    use ConfigField as F;
    let c = HostConfig::default();
    let check = |c: HostConfig| Host::<4>::new(c, 0).err();
    let too_long = with(c, |c| c.unsolicited_report_interval = Duration::from_secs(3_601));
    assert_eq!(check(too_long), Some(ConfigError::IntervalTooLong(F::UnsolicitedReportInterval)));
    assert_eq!(check(with(c, |c| c.unsolicited_report_interval = Duration::from_secs(3_600))), None);
    // Repeats need an interval to be spread over; a single report does not.
    let zero = with(c, |c| c.unsolicited_report_interval = Duration::ZERO);
    assert_eq!(check(zero), Some(ConfigError::Zero(F::UnsolicitedReportInterval)));
    assert_eq!(check(with(zero, |c| c.unsolicited_report_count = 1)), None);
    // RFC 2236 §4: IGMPv1 for a while after an IGMPv1 query; a while of 0 would be never.
    for timeout in [Duration::ZERO, Duration::from_micros(999)] {
        let v1 = with(c, |c| c.v1_router_present_timeout = timeout);
        assert_eq!(check(v1), Some(ConfigError::Zero(F::V1RouterPresentTimeout)), "{timeout:?}");
    }
    assert_eq!(check(with(c, |c| c.v1_router_present_timeout = Duration::from_millis(1))), None);
}

#[test]
fn messages_with_a_ttl_other_than_1_are_accepted_by_default() {
    // Linux's host acts on IGMP whatever its TTL; so does ours unless told otherwise.
    let (mut h, t) = joined_idle(&["239.1.2.3"]);
    let ttl64 = IpMeta { ttl: 64, ..meta(ROUTER, ALL_SYSTEMS) };
    h.receive_message(ms(t), &ttl64, &general_query(100));
    assert!(h.poll_at().is_some(), "the query started a timer");
    assert_eq!(h.stats().queries, 1);
    // Another host's report with TTL 2 suppresses ours.
    let ttl2 = IpMeta { ttl: 2, ..meta(OTHER_HOST, Ipv4Addr::new(239, 1, 2, 3)) };
    h.receive_message(ms(t + 1), &ttl2, &Message::V2Report { group: g("239.1.2.3") });
    assert_eq!(h.poll_at(), None);
    assert_eq!(h.stats().suppressed, 1);
    assert_eq!((h.stats().bad_ttl, h.stats().bad_ttl_accepted), (0, 2));
}

#[test]
fn the_igmpv1_router_timer_moves_back_with_the_clock() {
    // An IGMPv1 query at 1000 s: IGMPv1 until 1400 s. The clock then steps back to 10 s,
    // with 400 s left: IGMPv1 until 410 s, not until 1400 s.
    let (mut h, _) = joined_idle(&["239.1.2.3"]);
    h.receive_message(ms(1_000_000), &meta(ROUTER, ALL_SYSTEMS), &Message::V1Query);
    let sent = run(&mut h, 10_000, 30_000);
    assert!(matches!(sent[..], [(at, Transmit { message: Message::V1Report { .. }, .. })] if at <= 20_000), "{sent:?}");
    assert!(h.v1_router_present(ms(409_999)));
    assert!(!h.v1_router_present(ms(410_000)));
    // So a leave at 410 s sends a Leave again.
    assert_eq!(h.leave(ms(410_000), g("239.1.2.3")), Ok(true));
    let sent = run(&mut h, 410_000, 420_000);
    assert!(matches!(sent[..], [(410_000, Transmit { message: Message::Leave { .. }, .. })]), "{sent:?}");
}

#[test]
fn igmpv1_queries_need_no_router_alert_even_when_it_is_required() {
    let config = with(HostConfig::default(), |c| c.require_router_alert = true);
    let mut h = host_with(config, 1);
    h.join(ms(0), g("239.1.2.3")).unwrap();
    run(&mut h, 0, 60_000);
    let t = 60_000;
    let no_ra = IpMeta { router_alert: false, ..meta(ROUTER, ALL_SYSTEMS) };
    // An IGMPv2 query without it is ignored...
    h.receive_message(ms(t), &no_ra, &general_query(100));
    assert_eq!(h.poll_at(), None);
    assert_eq!((h.stats().no_router_alert, h.stats().queries), (1, 0));
    // ...an IGMPv1 query without it (IGMPv1 routers never send it) is acted on.
    h.receive_message(ms(t), &no_ra, &Message::V1Query);
    assert!(h.v1_router_present(ms(t)));
    assert_eq!((h.stats().no_router_alert, h.stats().queries), (1, 1));
    let sent = run(&mut h, t, t + 100_000);
    assert!(matches!(sent[..], [(_, Transmit { message: Message::V1Report { .. }, .. })]), "{sent:?}");
}

#[test]
fn a_timer_expiring_sends_a_report_and_sets_the_flag() {
    // RFC 2236 §6: Delaying Member, timer expired: send report, set flag, Idle Member.
    // First another host answers a query before us, which clears the flag.
    let (mut h, t) = joined_idle(&["239.1.2.3"]);
    h.receive_message(ms(t), &meta(ROUTER, ALL_SYSTEMS), &general_query(100));
    let other = Message::V2Report { group: g("239.1.2.3") };
    h.receive_message(ms(t), &meta(OTHER_HOST, Ipv4Addr::new(239, 1, 2, 3)), &other);
    assert!(!h.groups().next().unwrap().last_reporter);
    h.receive_message(ms(t), &meta(ROUTER, ALL_SYSTEMS), &general_query(100));
    let info = h.groups().next().unwrap();
    assert_eq!((info.state, info.last_reporter), (GroupState::Delaying, false));
    let sent = run(&mut h, t, t + 100_000);
    assert!(matches!(sent[..], [(_, Transmit { message: Message::V2Report { .. }, .. })]), "{sent:?}");
    let info = h.groups().next().unwrap();
    assert_eq!((info.state, info.last_reporter), (GroupState::Idle, true));
}

#[test]
fn leaving_while_delaying_with_the_flag_set_sends_a_leave_and_no_report() {
    // RFC 2236 §6: Delaying Member, leave group: stop timer, send Leave if flag set.
    let (mut h, t) = joined_idle(&["239.1.2.3"]);
    h.receive_message(ms(t), &meta(ROUTER, ALL_SYSTEMS), &general_query(100));
    let info = h.groups().next().unwrap();
    assert_eq!((info.state, info.last_reporter), (GroupState::Delaying, true));
    assert_eq!(h.leave(ms(t + 1), g("239.1.2.3")), Ok(true));
    let sent = run(&mut h, t + 1, t + 100_000);
    let leave =
        Transmit { message: Message::Leave { group: g("239.1.2.3") }, destination: GroupAddr::ALL_ROUTERS, source: ME };
    assert_eq!(sent, [(t + 1, leave)]);
}
