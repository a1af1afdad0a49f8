//! The simulated LAN's timeline and figures, as `mcast sim` and `examples/sim.rs` print
//! them (and docs/SIMULATION.md records them).

extern crate alloc;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;
use core::time::Duration;

use super::{Lan, Record, scenarios};
use crate::GroupAddr;
use crate::membership::{HostConfig, QuerierConfig};

/// The heading of the timeline.
pub fn timeline_heading(seed: u64) -> String {
    format!("Timeline: a querier, three hosts in 239.1.2.3, one leaves after 200 s (seed {seed})")
}

/// A querier and three hosts in 239.1.2.3; after 200 s the hosts leave, five seconds
/// apart. Returns the LAN's log.
pub fn timeline(seed: u64) -> Result<Vec<Record>, Box<dyn core::error::Error>> {
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
    Ok(lan.log().to_vec())
}

/// One Robustness Variable's row of the loss figure.
#[derive(Debug, Clone, Copy)]
pub struct LossRow {
    /// The Robustness Variable.
    pub robustness: u8,
    /// Frames lost, of all deliveries attempted.
    pub lost: u64,
    /// Deliveries attempted.
    pub attempted: u64,
    /// One-second samples in which a joined group was absent at the querier.
    pub absent: usize,
    /// Samples taken.
    pub samples: usize,
}

/// The figures docs/SIMULATION.md records, over seeds 1..=10.
#[derive(Debug, Clone)]
pub struct Figures {
    /// General queries measured with 50 members.
    pub queries: usize,
    /// Reports they drew.
    pub reports: usize,
    /// The most reports one query drew.
    pub max_reports: usize,
    /// The longest time from the last Leave to the group's absence.
    pub worst_leave: Duration,
    /// The slowest querier election.
    pub slowest_election: Duration,
    /// Whether the lower-addressed querier won and alone queried in every run.
    pub lower_always_wins: bool,
    /// What hosts sent under an IGMPv1 querier.
    pub v1: scenarios::V1Compat,
    /// Membership under 10% loss, per Robustness Variable.
    pub loss: Vec<LossRow>,
}

impl Figures {
    /// Runs every scenario over seeds 1..=10.
    pub fn measure() -> Figures {
        let runs: Vec<_> = (1..=10).map(|s| scenarios::suppression(s, 50, 20)).collect();
        let latencies: Vec<Duration> = (1..=10).filter_map(|s| scenarios::leave_latency(s, 3)).collect();
        let elections: Vec<_> =
            (1..=10).map(|s| scenarios::election(s, Duration::from_secs(60), Duration::from_secs(1000))).collect();
        let v1 = (1..=10).map(|s| scenarios::v1_querier(s, 5, Duration::from_secs(600))).fold(
            scenarios::V1Compat::default(),
            |a, b| scenarios::V1Compat {
                v1_reports: a.v1_reports + b.v1_reports,
                v2_reports: a.v2_reports + b.v2_reports,
                leaves: a.leaves + b.leaves,
            },
        );
        let loss = [2, 3, 4, 5]
            .into_iter()
            .map(|robustness| {
                let runs: Vec<_> =
                    (1..=10).map(|s| scenarios::loss(s, 100, robustness, 10, Duration::from_secs(3600))).collect();
                LossRow {
                    robustness,
                    lost: runs.iter().map(|l| l.lost).sum(),
                    attempted: runs.iter().map(|l| l.attempted).sum(),
                    absent: runs.iter().map(|l| l.absent_samples).sum(),
                    samples: runs.iter().map(|l| l.samples).sum(),
                }
            })
            .collect();
        Figures {
            queries: runs.iter().map(|r| r.queries).sum(),
            reports: runs.iter().map(|r| r.reports).sum(),
            max_reports: runs.iter().map(|r| r.max_per_query).max().unwrap_or(0),
            worst_leave: latencies.iter().max().copied().unwrap_or_default(),
            slowest_election: elections.iter().filter_map(|e| e.converged_after).max().unwrap_or_default(),
            lower_always_wins: elections.iter().all(|e| e.lower_is_querier && e.queries_from_loser_after == 0),
            v1,
            loss,
        }
    }

    /// Reports per general query, on average.
    pub fn reports_per_query(&self) -> f64 {
        self.reports as f64 / self.queries as f64
    }
}

impl LossRow {
    /// Frames lost, in percent.
    pub fn lost_percent(&self) -> f64 {
        100.0 * self.lost as f64 / self.attempted as f64
    }
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "suppression    50 members, {} general queries: {:.3} reports per query on average, at most {}",
            self.queries,
            self.reports_per_query(),
            self.max_reports
        )?;
        writeln!(
            f,
            "leave          group absent {:?} after the last Leave at worst (LMQI x LMQC = 2 s)",
            self.worst_leave
        )?;
        writeln!(
            f,
            "election       a lower-addressed querier starting 60 s late wins after {:?} at worst \
             (Query Interval 125 s); only it queries afterwards in every run: {}",
            self.slowest_election, self.lower_always_wins
        )?;
        writeln!(
            f,
            "IGMPv1        {} v1 reports, {} v2 reports, {} leaves from hosts under a v1 querier",
            self.v1.v1_reports, self.v1.v2_reports, self.v1.leaves
        )?;
        for row in &self.loss {
            writeln!(
                f,
                "10% loss, RV {}  {:.1}% of frames lost; joined groups absent in {} of {} one-second samples over 10 h",
                row.robustness,
                row.lost_percent(),
                row.absent,
                row.samples
            )?;
        }
        Ok(())
    }
}
