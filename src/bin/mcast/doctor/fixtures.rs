//! Frames and hosts the doctor's unit tests share.

use std::net::Ipv4Addr;
use std::time::Duration;

use mcast::wire::FrameRepr;
use mcast::wire::igmp::Message;
use mcast::{GroupAddr, MacAddr};

use super::host::{Local, Route};
use super::link::Heard;

pub(super) fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub(super) fn g(s: &str) -> GroupAddr {
    s.parse().unwrap()
}

pub(super) fn at(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// `igmp` framed from `src` as the RFCs prescribe, with or without Router Alert.
pub(super) fn frame_with(igmp: Message<'_>, src: &str, router_alert: bool) -> Vec<u8> {
    let mut repr = FrameRepr::new(igmp, MacAddr([0x02, 0, 0, 0, 0, 0x01]), ip(src));
    repr.ipv4.router_alert = router_alert;
    let mut buf = vec![0u8; repr.buffer_len()];
    let len = repr.emit(&mut buf).unwrap();
    buf.truncate(len);
    buf
}

pub(super) fn frame(igmp: Message<'_>, src: &str) -> Vec<u8> {
    frame_with(igmp, src, true)
}

pub(super) fn v2_query(max_resp: u8) -> Message<'static> {
    Message::V2Query { max_resp, group: None }
}

/// A host with nothing odd about it: eth0 (index 2) up, 10.0.0.9/24, filters off,
/// multicast routed out of eth0.
pub(super) fn healthy() -> Local {
    Local {
        name: "eth0".into(),
        index: 2,
        up: true,
        operstate: "up".into(),
        multicast: true,
        address: Some((ip("10.0.0.9"), 24)),
        rp_filter: (0, 0),
        force_igmp_version: (0, 0),
        route: (ip("239.255.255.250"), Route::Via(2, "eth0".into())),
        reverse: Vec::new(),
        igmp_mode: Some("V2".into()),
        memberships: vec![(ip("224.0.0.1"), 1), (ip("239.1.1.1"), 2)],
    }
}

pub(super) fn busy_link() -> Heard {
    let mut h = Heard::default();
    h.frame(at(0.0), &frame(v2_query(100), "10.0.0.1"));
    h.frame(at(0.3), &frame(Message::V2Report { group: g("239.1.1.1") }, "10.0.0.6"));
    h.frame(at(0.5), &frame(Message::V1Report { group: g("239.1.1.1") }, "10.0.0.5"));
    h.frame(at(1.0), &frame(v2_query(100), "10.0.0.1"));
    h.frame(at(1.2), &frame(Message::V2Report { group: g("239.1.1.1") }, "10.0.0.6"));
    h.frame(at(2.0), &frame(v2_query(100), "10.0.0.1"));
    h.frame(at(2.5), &frame(Message::Leave { group: g("239.1.1.1") }, "10.0.0.6"));
    h.frame(at(2.6), &frame(Message::V2Query { max_resp: 10, group: Some(g("239.1.1.1")) }, "10.0.0.1"));
    h
}
