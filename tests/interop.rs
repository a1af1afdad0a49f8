//! The Linux kernel's IGMP frames (tests/data/linux-igmp-frames.txt) fed through Host
//! and Querier: each reacts as RFC 2236 says, and what the Host sends back is, byte for
//! byte, what the kernel sent in the same situation.

mod common;

use core::net::Ipv4Addr;

use common::{g, golden_frame, ms};
use mcast::membership::{GroupState, Host, HostConfig, IpMeta, Querier, QuerierConfig, QuerierEvent};
use mcast::wire::FrameRepr;
use mcast::wire::igmp::Message;
use mcast::{GroupAddr, MacAddr};

/// The kernel host of the capture: its address and MAC.
const KERNEL_IP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
const KERNEL_MAC: MacAddr = MacAddr([0x22, 0x44, 0x6f, 0x0d, 0x33, 0xe4]);

/// Hands a whole captured frame to the host, as a driver would.
fn feed_host(h: &mut Host<8>, t: u64, frame: &[u8]) {
    let f = FrameRepr::parse(frame).unwrap();
    if h.is_member(GroupAddr::from_ipv4(f.ipv4.dst_addr).unwrap()) {
        h.receive_message(ms(t), &IpMeta::from(&f.ipv4), &f.igmp);
    }
}

fn feed_querier(q: &mut Querier<8>, t: u64, frame: &[u8]) {
    let f = FrameRepr::parse(frame).unwrap();
    q.receive_message(ms(t), &IpMeta::from(&f.ipv4), &f.igmp);
}

/// A host in the kernel host's place that joined 239.1.2.3 and is Idle at 60 s.
fn idle_host() -> Host<8> {
    let mut h = Host::new(HostConfig::default(), 7).unwrap();
    h.set_address(ms(0), Some((KERNEL_IP, 24)));
    h.join(ms(0), g("239.1.2.3")).unwrap();
    let mut t = 0;
    while t <= 60_000 {
        while h.poll_transmit(ms(t)).is_some() {}
        t = h.poll_at().map_or(60_001, |at| at.total_millis());
    }
    h
}

/// The host's next transmission and its time, framed as it goes on the wire.
fn next_frame(h: &mut Host<8>, from: u64) -> (u64, Vec<u8>) {
    let at = h.poll_at().expect("something to send").total_millis();
    assert!(at >= from);
    let tx = h.poll_transmit(ms(at)).unwrap();
    let mut buf = [0u8; 64];
    let len = FrameRepr::new(tx.message, KERNEL_MAC, tx.source).emit(&mut buf).unwrap();
    (at, buf[..len].to_vec())
}

#[test]
fn the_bridges_general_query_is_answered_with_the_kernels_report_bytes() {
    let mut h = idle_host();
    feed_host(&mut h, 60_000, &golden_frame("IGMPv2 general query"));
    let (at, frame) = next_frame(&mut h, 60_000);
    assert!(at > 60_000 && at <= 62_000, "Max Resp 2.0 s: {at}");
    assert_eq!(frame, golden_frame("IGMPv2 report: 10.99.0.1 joins"));
    assert_eq!(h.poll_at(), None);
}

#[test]
fn the_bridges_group_specific_query_to_all_systems_is_answered() {
    let mut h = idle_host();
    feed_host(&mut h, 60_000, &golden_frame("IGMPv2 group-specific query"));
    let (at, frame) = next_frame(&mut h, 60_000);
    assert!(at > 60_000 && at <= 61_000, "Max Resp 1.0 s: {at}");
    assert_eq!(frame, golden_frame("IGMPv2 report: 10.99.0.1 joins"));
}

#[test]
fn the_kernels_report_suppresses_ours() {
    let mut h = idle_host();
    feed_host(&mut h, 60_000, &golden_frame("IGMPv2 general query"));
    assert_eq!(h.groups().next().unwrap().state, GroupState::Delaying);
    feed_host(&mut h, 60_001, &golden_frame("IGMPv2 report: 10.99.0.1 joins"));
    assert_eq!(h.poll_at(), None);
    assert_eq!(h.stats().suppressed, 1);
}

#[test]
fn our_leave_is_the_kernels_leave() {
    let mut h = idle_host();
    h.leave(ms(70_000), g("239.1.2.3")).unwrap();
    let (_, frame) = next_frame(&mut h, 70_000);
    assert_eq!(frame, golden_frame("IGMPv2 leave"));
}

#[test]
fn frames_a_host_does_not_act_on_change_nothing() {
    let mut h = idle_host();
    for name in ["IGMPv2 leave", "IGMPv3 report", "IGMPv2 report from the bridge"] {
        let bytes = golden_frame(name);
        let f = FrameRepr::parse(&bytes).unwrap();
        h.receive_message(ms(60_000), &IpMeta::from(&f.ipv4), &f.igmp);
    }
    assert_eq!(h.poll_at(), None);
    assert_eq!(h.groups().next().unwrap().state, GroupState::Idle);
    assert_eq!(h.stats().ignored_types, 2);
}

#[test]
fn the_querier_tracks_the_kernels_join_and_leave() {
    let mut q: Querier<8> = Querier::new(QuerierConfig::default(), Ipv4Addr::new(10, 99, 0, 254), 24, ms(0)).unwrap();
    while q.poll_transmit(ms(0)).is_some() {}
    while q.poll_event(ms(0)).is_some() {}
    feed_querier(&mut q, 1_000, &golden_frame("IGMPv2 report: 10.99.0.1 joins"));
    assert_eq!(q.poll_event(ms(1_000)), Some(QuerierEvent::GroupPresent(g("239.1.2.3"))));
    // The bridge's own query comes from 0.0.0.0: not a rival querier.
    feed_querier(&mut q, 2_000, &golden_frame("IGMPv2 general query"));
    assert!(q.is_querier());
    // The bridge's report for 224.0.0.106 is link-local (and from another subnet).
    feed_querier(&mut q, 2_000, &golden_frame("IGMPv2 report from the bridge"));
    // An IGMPv3 report is not understood by an IGMPv2 router.
    feed_querier(&mut q, 2_000, &golden_frame("IGMPv3 report"));
    assert_eq!(q.groups().count(), 1);
    feed_querier(&mut q, 3_000, &golden_frame("IGMPv2 leave"));
    let tx = q.poll_transmit(ms(3_000)).unwrap();
    assert_eq!(tx.message, Message::V2Query { max_resp: 10, group: Some(g("239.1.2.3")) });
    assert!(q.poll_transmit(ms(4_000)).is_some());
    assert_eq!(q.poll_event(ms(5_000)), Some(QuerierEvent::GroupAbsent(g("239.1.2.3"))));
}
