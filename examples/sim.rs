//! Runs the simulated LAN: prints the timeline of a small scenario, then the figures
//! docs/SIMULATION.md records.
//!
//! Run with `cargo run --example sim --features sim [SEED]`.

use core::net::Ipv4Addr;
use core::time::Duration;

use mcast::GroupAddr;
use mcast::membership::{HostConfig, QuerierConfig};
use mcast::sim::{Lan, scenarios};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(1);

    println!("Timeline: a querier, three hosts in 239.1.2.3, one leaves after 200 s (seed {seed})\n");
    let mut lan = Lan::new(seed, 0);
    lan.add_querier(Ipv4Addr::new(10, 0, 0, 1), QuerierConfig::default())?;
    let group: GroupAddr = "239.1.2.3".parse()?;
    let mut hosts = Vec::new();
    for i in 0..3 {
        let h = lan.add_host(Ipv4Addr::new(10, 0, 0, 10 + i), HostConfig::default())?;
        lan.join(h, group)?;
        hosts.push(h);
    }
    lan.run_for(Duration::from_secs(200));
    for h in &hosts {
        lan.leave(*h, group)?;
        lan.run_for(Duration::from_secs(5));
    }
    for record in lan.log() {
        println!("{record}");
    }

    println!("\nFigures (seeds 1..=10)\n");
    let runs: Vec<_> = (1..=10).map(|s| scenarios::suppression(s, 50, 20)).collect();
    let reports: usize = runs.iter().map(|r| r.reports).sum();
    let queries: usize = runs.iter().map(|r| r.queries).sum();
    let max = runs.iter().map(|r| r.max_per_query).max().unwrap_or(0);
    println!(
        "suppression    50 members, {queries} general queries: {:.3} reports per query on average, at most {max}",
        reports as f64 / queries as f64
    );

    let latencies: Vec<Duration> = (1..=10).filter_map(|s| scenarios::leave_latency(s, 3)).collect();
    let worst = latencies.iter().max().copied().unwrap_or_default();
    println!("leave          group absent {:?} after the last Leave at worst (LMQI x LMQC = 2 s)", worst);

    let elections: Vec<_> =
        (1..=10).map(|s| scenarios::election(s, Duration::from_secs(60), Duration::from_secs(1000))).collect();
    let slowest = elections.iter().filter_map(|e| e.converged_after).max().unwrap_or_default();
    let all_lower = elections.iter().all(|e| e.lower_is_querier && e.queries_from_loser_after == 0);
    println!(
        "election       a lower-addressed querier starting 60 s late wins after {slowest:?} at worst \
         (Query Interval 125 s); only it queries afterwards in every run: {all_lower}"
    );

    let v1 = (1..=10).map(|s| scenarios::v1_querier(s, 5, Duration::from_secs(600))).fold(
        scenarios::V1Compat::default(),
        |a, b| scenarios::V1Compat {
            v1_reports: a.v1_reports + b.v1_reports,
            v2_reports: a.v2_reports + b.v2_reports,
            leaves: a.leaves + b.leaves,
        },
    );
    println!(
        "IGMPv1        {} v1 reports, {} v2 reports, {} leaves from hosts under a v1 querier",
        v1.v1_reports, v1.v2_reports, v1.leaves
    );

    for robustness in [2, 3, 4, 5] {
        let loss: Vec<_> =
            (1..=10).map(|s| scenarios::loss(s, 100, robustness, 10, Duration::from_secs(3600))).collect();
        let absent: usize = loss.iter().map(|l| l.absent_samples).sum();
        let samples: usize = loss.iter().map(|l| l.samples).sum();
        let lost: u64 = loss.iter().map(|l| l.lost).sum();
        let attempted: u64 = loss.iter().map(|l| l.attempted).sum();
        println!(
            "10% loss, RV {robustness}  {:.1}% of frames lost; joined groups absent in {absent} of {samples} one-second samples over 10 h",
            100.0 * lost as f64 / attempted as f64
        );
    }
    Ok(())
}
