//! NIC filter hashing and filter-set bookkeeping.
//!
//! - `bin/<scheme>`: destination MACs to hash bins, per MAC family, 256 distinct MACs
//!   per iteration (target: 5 ns or less per bin). `crc32_le/nibbles` is the CRC every
//!   scheme but the GEM uses, over whole MACs (`bin` starts it after the 01:00:5e prefix
//!   of IPv4 multicast MACs, so half the work); `crc32_le/bitwise` is the textbook
//!   bit-at-a-time loop, for scale. `bin/Lan9118_ipv6_macs` hashes MACs without that
//!   prefix (IPv6's 33:33:…).
//! - `filter_set/add_remove/<n>`: adding a new MAC to a set that holds `n` and removing
//!   it again (slots full, so the MAC goes to the hash and back), on the STM32 DWMAC
//!   capabilities (3 exact slots, 64-bin hash).
//! - `filter_set/program/<n>`: deriving the NIC program from a set of `n` MACs.
//! - `filter_set/accepts/<n>`: the exact software check of one received destination.
//!
//! Run with `cargo bench --bench filter`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use mcast::MacAddr;
use mcast::filter::{Capabilities, FilterSet, HashScheme, OverflowPolicy, crc32_le};

const DWMAC: Capabilities = Capabilities::new(3, Some(HashScheme::Dwmac), true);

/// The IPv4 multicast MAC of 239.0.x.y for `i = x * 256 + y`.
fn mac(i: u16) -> MacAddr {
    let [hi, lo] = i.to_be_bytes();
    MacAddr([0x01, 0x00, 0x5e, 0x00, hi, lo])
}

fn bitwise_crc32_le(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    crc
}

/// 256 distinct IPv4 multicast MACs.
fn sample_macs() -> Vec<MacAddr> {
    (0..256u32)
        .map(|i| {
            let b = i.wrapping_mul(0x9e37_79b9).to_le_bytes();
            MacAddr([0x01, 0x00, 0x5e, b[3] & 0x7f, b[2], b[1]])
        })
        .collect()
}

fn bins(c: &mut Criterion) {
    let macs = sample_macs();
    let mut group = c.benchmark_group("bin");
    // One sample is 256 bin indexes of distinct MACs: criterion's time per iteration
    // divided by 256 is the cost of one, and its throughput line counts them.
    group.throughput(Throughput::Elements(macs.len() as u64));
    for scheme in HashScheme::ALL {
        group.bench_function(format!("{scheme:?}"), |b| {
            b.iter(|| {
                let scheme = black_box(scheme);
                black_box(&macs).iter().fold(0u32, |acc, m| acc.wrapping_add(u32::from(scheme.bin(*m))))
            })
        });
    }
    // Other multicast MACs (IPv6's 33:33:…, added with `add_mac`) hash all six octets.
    let ipv6_macs: Vec<MacAddr> = macs.iter().map(|m| MacAddr([0x33, 0x33, m.0[2], m.0[3], m.0[4], m.0[5]])).collect();
    group.bench_function("Lan9118_ipv6_macs", |b| {
        b.iter(|| {
            let scheme = black_box(HashScheme::Lan9118);
            black_box(&ipv6_macs).iter().fold(0u32, |acc, m| acc.wrapping_add(u32::from(scheme.bin(*m))))
        })
    });
    group.finish();
    let mut group = c.benchmark_group("crc32_le");
    group.throughput(Throughput::Elements(macs.len() as u64));
    group.bench_function("nibbles", |b| b.iter(|| black_box(&macs).iter().fold(0, |acc, m| acc ^ crc32_le(&m.0))));
    group.bench_function("bitwise", |b| {
        b.iter(|| black_box(&macs).iter().fold(0, |acc, m| acc ^ bitwise_crc32_le(&m.0)))
    });
    group.finish();
}

fn set_of(n: u16) -> FilterSet<64> {
    let mut set = FilterSet::new(DWMAC, OverflowPolicy::Hash).expect("DWMAC supports hashing");
    // The all-systems MAC is one of the n.
    for i in 0..n.saturating_sub(1) {
        set.add(mac(i + 2)).expect("room for 64");
    }
    set
}

fn filter_set(c: &mut Criterion) {
    let mut group = c.benchmark_group("filter_set");
    for n in [8u16, 64] {
        let mut set = set_of(n - 1);
        let extra = mac(1000);
        group.bench_with_input(BenchmarkId::new("add_remove", n), &n, |b, _| {
            b.iter(|| {
                set.add(black_box(extra)).expect("room for one more");
                set.remove(black_box(extra)).expect("just added")
            })
        });
        let set = set_of(n);
        group.bench_with_input(BenchmarkId::new("program", n), &n, |b, _| b.iter(|| black_box(&set).program()));
        let probe = mac(n / 2);
        group.bench_with_input(BenchmarkId::new("accepts", n), &n, |b, _| {
            b.iter(|| black_box(&set).accepts(black_box(probe)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs: these are nanosecond-scale operations with little variance.
    config = Criterion::default().warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    targets = bins, filter_set
}
criterion_main!(benches);
