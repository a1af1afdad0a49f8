//! Helpers shared by the integration tests. Each test crate uses some of them.
#![allow(dead_code)]

use core::net::Ipv4Addr;

use mcast::GroupAddr;
use mcast::membership::{Instant, IpMeta};

/// The group `s`, which must be a multicast address.
pub fn g(s: &str) -> GroupAddr {
    s.parse().unwrap()
}

/// `t` milliseconds after the epoch.
pub fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

/// What the IP layer says of a well-formed IGMP message from `src` to `dst`: TTL 1 and
/// Router Alert.
pub fn meta(src: Ipv4Addr, dst: Ipv4Addr) -> IpMeta {
    IpMeta { src, dst, ttl: 1, router_alert: true }
}

/// `value` after `change`: a configuration that differs from another in a field or two.
pub fn with<T>(mut value: T, change: impl FnOnce(&mut T)) -> T {
    change(&mut value);
    value
}

/// The IGMP frames captured from Linux (tests/data/linux-igmp-frames.txt), in file
/// order, as (name, bytes).
pub fn golden_frames() -> Vec<(String, Vec<u8>)> {
    const FRAMES: &str = include_str!("../data/linux-igmp-frames.txt");
    let mut out = Vec::new();
    let mut name = None;
    for line in FRAMES.lines() {
        if let Some(n) = line.strip_prefix("## ") {
            name = Some(n.to_string());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let bytes = line.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect();
            out.push((name.take().expect("a name line before each frame"), bytes));
        }
    }
    assert_eq!(out.len(), 6, "the six captured frames");
    out
}

/// The golden frame whose name starts with `prefix`.
pub fn golden_frame(prefix: &str) -> Vec<u8> {
    golden_frames().into_iter().find(|(n, _)| n.starts_with(prefix)).map(|(_, b)| b).expect(prefix)
}
