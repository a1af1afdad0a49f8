//! Membership state machine speed.
//!
//! - `general_query/<N>`: one IGMPv2 general query handled by a `Host` with N joined
//!   groups, all Idle (each gets a random report timer). Throughput is per group, so a
//!   flat cost per group shows as a flat time per element across N.
//! - `is_member/<N>/{mcast,smoltcp}`: the per-datagram membership check, `Host::is_member`
//!   next to smoltcp 0.14's `Interface::has_multicast_group`, both with N groups joined.
//!   Each iteration looks up every joined group once; the time reported is per lookup.
//! - `is_member_miss/<N>/{mcast,smoltcp}`: the same, looking up N groups that are not
//!   joined (datagrams an imperfect NIC filter, or all-multicast mode, lets in) while the
//!   N groups of `is_member/<N>` are.
//!
//! - `querier/10000/report`: a `Querier` tracking 10,000 groups handles one IGMPv2
//!   report for one of them (a refresh, the case of every report but a group's first).
//!   `querier/10000/report_and_poll`: the same, then what a program does after each
//!   message: `poll_at`, and `poll_transmit` and `poll_event` until they are `None`.
//!   Throughput is per report. `querier/10000/is_present`: the lookup alone (the index's
//!   binary search and a read of the entry), the floor under both.
//!
//! Run with `cargo bench --bench membership`.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use mcast::GroupAddr;
use mcast::membership::{Host, HostConfig, Instant, IpMeta, Querier, QuerierConfig};
use mcast::wire::igmp::Message;

use smoltcp::iface::{Config, Interface};
use smoltcp::phy::{Loopback, Medium};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr};

const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);

/// N distinct groups spread over 239.1.0.0/16.
fn groups(n: usize) -> Vec<GroupAddr> {
    (0..n).map(|i| GroupAddr::new([239, 1, (i * 7 / 256) as u8, (i * 7 % 256) as u8]).unwrap()).collect()
}

/// N distinct groups spread over 239.2.0.0/16, none of `groups(n)`.
fn other_groups(n: usize) -> Vec<GroupAddr> {
    (0..n).map(|i| GroupAddr::new([239, 2, (i * 7 / 256) as u8, (i * 7 % 256) as u8]).unwrap()).collect()
}

/// A host with every group joined and Idle (unsolicited reports sent).
fn idle_host<const N: usize>(groups: &[GroupAddr]) -> Host<N> {
    let mut h = Host::new(HostConfig::default(), 1).unwrap();
    h.set_address(Instant::ZERO, Some((ME, 24)));
    for g in groups {
        h.join(Instant::ZERO, *g).unwrap();
    }
    let mut now = Instant::ZERO;
    while let Some(at) = h.poll_at() {
        now = now.max(at);
        while h.poll_transmit(now).is_some() {}
    }
    h
}

fn smoltcp_iface(groups: &[GroupAddr]) -> Interface {
    let mut device = Loopback::new(Medium::Ethernet);
    let config = Config::new(HardwareAddress::Ethernet(EthernetAddress([0x02, 0, 0, 0, 0, 7])));
    let mut iface = Interface::new(config, &mut device, smoltcp::time::Instant::from_millis(0));
    iface.update_ip_addrs(|addrs| addrs.push(IpCidr::new(IpAddress::Ipv4(ME), 24)).unwrap());
    for g in groups {
        iface.join_multicast_group(IpAddress::Ipv4(g.to_ipv4())).unwrap();
    }
    iface
}

fn general_query<const N: usize>(c: &mut Criterion) {
    let groups = groups(N);
    let host: Host<N> = idle_host(&groups);
    let meta = IpMeta { src: Ipv4Addr::new(10, 0, 0, 1), dst: Ipv4Addr::new(224, 0, 0, 1), ttl: 1, router_alert: true };
    let query = Message::V2Query { max_resp: 100, group: None };
    let now = Instant::from_secs(100);
    let mut g = c.benchmark_group("general_query");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function(BenchmarkId::from_parameter(N), |b| {
        b.iter_batched_ref(
            || host.clone(),
            |h| h.receive_message(black_box(now), black_box(&meta), black_box(&query)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn is_member<const N: usize>(c: &mut Criterion) {
    let groups = groups(N);
    let host: Host<N> = idle_host(&groups);
    let iface = smoltcp_iface(&groups);
    let smoltcp_groups: Vec<IpAddress> = groups.iter().map(|g| IpAddress::Ipv4(g.to_ipv4())).collect();
    assert!(groups.iter().all(|g| host.is_member(*g)));
    assert!(smoltcp_groups.iter().all(|g| iface.has_multicast_group(*g)));

    // Each iteration looks every joined group up once; throughput is per lookup.
    let mut g = c.benchmark_group(format!("is_member/{N}"));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("mcast", |b| {
        b.iter(|| {
            for group in &groups {
                black_box(host.is_member(black_box(*group)));
            }
        })
    });
    g.bench_function("smoltcp", |b| {
        b.iter(|| {
            for group in &smoltcp_groups {
                black_box(iface.has_multicast_group(black_box(*group)));
            }
        })
    });
    g.finish();
}

// Written out apart from `is_member`, not as one function for both: with a shared body
// the compiler shaped the mcast loop differently, and it measured 1.31 ns per lookup at
// N = 64 instead of 0.90.
fn is_member_miss<const N: usize>(c: &mut Criterion) {
    let groups = groups(N);
    let host: Host<N> = idle_host(&groups);
    let iface = smoltcp_iface(&groups);
    let others = other_groups(N);
    let smoltcp_others: Vec<IpAddress> = others.iter().map(|g| IpAddress::Ipv4(g.to_ipv4())).collect();
    assert!(others.iter().all(|g| !host.is_member(*g)));
    assert!(smoltcp_others.iter().all(|g| !iface.has_multicast_group(*g)));

    // Each iteration looks every group not joined up once; throughput is per lookup.
    let mut g = c.benchmark_group(format!("is_member_miss/{N}"));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("mcast", |b| {
        b.iter(|| {
            for group in &others {
                black_box(host.is_member(black_box(*group)));
            }
        })
    });
    g.bench_function("smoltcp", |b| {
        b.iter(|| {
            for group in &smoltcp_others {
                black_box(iface.has_multicast_group(black_box(*group)));
            }
        })
    });
    g.finish();
}

/// A querier with every group of `groups` present and announced, at 1 s.
fn busy_querier<const N: usize>(groups: &[GroupAddr]) -> Box<Querier<N>> {
    let mut q = Box::new(Querier::new(QuerierConfig::default(), ME, 24, Instant::ZERO).unwrap());
    let now = Instant::from_secs(1);
    for g in groups {
        let meta = IpMeta { src: Ipv4Addr::new(10, 0, 0, 20), dst: g.to_ipv4(), ttl: 1, router_alert: true };
        q.receive_message(now, &meta, &Message::V2Report { group: *g });
    }
    while q.poll_transmit(now).is_some() {}
    while q.poll_event(now).is_some() {}
    assert_eq!(q.groups().count(), groups.len());
    q
}

fn querier_report<const N: usize>(c: &mut Criterion, n: usize) {
    let groups = groups(n);
    let reports: Vec<(IpMeta, Message<'static>)> = groups
        .iter()
        .map(|g| {
            let meta = IpMeta { src: Ipv4Addr::new(10, 0, 0, 20), dst: g.to_ipv4(), ttl: 1, router_alert: true };
            (meta, Message::V2Report { group: *g })
        })
        .collect();
    let mut g = c.benchmark_group(format!("querier/{n}"));
    g.throughput(Throughput::Elements(1));
    // Time stands still at 2 s: no group expires, and every report is a refresh.
    let now = Instant::from_secs(2);
    let mut q = busy_querier::<N>(&groups);
    let mut i = 0;
    g.bench_function("report", |b| {
        b.iter(|| {
            let (meta, msg) = &reports[i % n];
            i = i.wrapping_add(7919);
            q.receive_message(black_box(now), black_box(meta), black_box(msg));
        })
    });
    g.bench_function("is_present", |b| {
        b.iter(|| {
            let group = groups[i % n];
            i = i.wrapping_add(7919);
            black_box(q.is_present(black_box(group)))
        })
    });
    let mut q = busy_querier::<N>(&groups);
    g.bench_function("report_and_poll", |b| {
        b.iter(|| {
            let (meta, msg) = &reports[i % n];
            i = i.wrapping_add(7919);
            q.receive_message(black_box(now), black_box(meta), black_box(msg));
            black_box(q.poll_at());
            while let Some(t) = q.poll_transmit(now) {
                black_box(t);
            }
            while let Some(e) = q.poll_event(now) {
                black_box(e);
            }
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    querier_report::<16384>(c, 10_000);
    general_query::<8>(c);
    general_query::<64>(c);
    general_query::<512>(c);
    is_member::<8>(c);
    is_member::<64>(c);
    is_member::<512>(c);
    is_member_miss::<8>(c);
    is_member_miss::<64>(c);
    is_member_miss::<512>(c);
}

criterion_group! {
    name = membership;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(membership);
