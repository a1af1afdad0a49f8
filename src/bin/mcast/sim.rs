//! `mcast sim`: the simulated LAN's timeline and the figures docs/SIMULATION.md records.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use mcast::GroupAddr;
use mcast::membership::{HostConfig, QuerierConfig};
use mcast::sim::{Happening, Lan, Record, scenarios};

use crate::{Failure, Out, json};

/// The heading of the timeline.
fn timeline_heading(seed: u64) -> String {
    format!("Timeline: a querier, three hosts in 239.1.2.3, one leaves after 200 s (seed {seed})")
}

/// A querier and three hosts in 239.1.2.3; after 200 s the hosts leave, five seconds
/// apart. Returns the LAN's log.
fn timeline(seed: u64) -> Result<Vec<Record>, Box<dyn std::error::Error>> {
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
struct LossRow {
    /// The Robustness Variable.
    robustness: u8,
    /// Frames lost, of all deliveries attempted.
    lost: u64,
    /// Deliveries attempted.
    attempted: u64,
    /// One-second samples in which a joined group was absent at the querier.
    absent: usize,
    /// Samples taken.
    samples: usize,
}

/// The figures docs/SIMULATION.md records, over seeds 1..=10.
#[derive(Debug, Clone)]
struct Figures {
    /// General queries measured with 50 members.
    queries: usize,
    /// Reports they drew.
    reports: usize,
    /// The most reports one query drew.
    max_reports: usize,
    /// The longest time from the last Leave to the group's absence.
    worst_leave: Duration,
    /// The slowest querier election.
    slowest_election: Duration,
    /// Whether the lower-addressed querier won and alone queried in every run.
    lower_always_wins: bool,
    /// What hosts sent under an IGMPv1 querier.
    v1: scenarios::V1Compat,
    /// Membership under 10% loss, per Robustness Variable.
    loss: Vec<LossRow>,
}

impl Figures {
    /// Runs every scenario over seeds 1..=10.
    fn measure() -> Figures {
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
    fn reports_per_query(&self) -> f64 {
        self.reports as f64 / self.queries as f64
    }
}

impl LossRow {
    /// Frames lost, in percent.
    fn lost_percent(&self) -> f64 {
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

/// Runs `mcast sim`: the timeline, then (unless `no_figures`) the figures.
pub fn run(out: &mut Out, seed: u64, no_figures: bool) -> Result<(), Failure> {
    let records = timeline(seed).map_err(|e| Failure::error(e.to_string()))?;
    if out.json {
        for r in &records {
            let what = match r.what {
                Happening::Sent(t) => format!("sends {} to {}", t.message, t.destination),
                Happening::Event(e) => e.to_string(),
                Happening::Join(g) => format!("joins {g}"),
                Happening::Leave(g) => format!("leaves {g}"),
            };
            out.line(
                &json::Object::new()
                    .str("kind", "timeline")
                    .num("at_ms", r.at.total_millis())
                    .num("node", r.node.0)
                    .str("what", &what)
                    .finish(),
            );
        }
    } else {
        out.line(&format!("{}\n", timeline_heading(seed)));
        for r in &records {
            out.line(&r.to_string());
        }
    }
    if no_figures {
        return Ok(());
    }
    let f = Figures::measure();
    if out.json {
        let o = || json::Object::new().str("kind", "figure");
        out.line(
            &o().str("name", "suppression")
                .num("members", 50)
                .num("queries", f.queries)
                .num("reports", f.reports)
                .num("max_per_query", f.max_reports)
                .finish(),
        );
        out.line(&o().str("name", "leave").num("worst_ms", f.worst_leave.as_millis()).finish());
        out.line(
            &o().str("name", "election")
                .num("slowest_ms", f.slowest_election.as_millis())
                .num("lower_always_wins", f.lower_always_wins)
                .finish(),
        );
        out.line(
            &o().str("name", "igmpv1")
                .num("v1_reports", f.v1.v1_reports)
                .num("v2_reports", f.v1.v2_reports)
                .num("leaves", f.v1.leaves)
                .finish(),
        );
        for row in &f.loss {
            out.line(
                &o().str("name", "loss")
                    .num("robustness", row.robustness)
                    .num("lost", row.lost)
                    .num("attempted", row.attempted)
                    .num("absent_samples", row.absent)
                    .num("samples", row.samples)
                    .finish(),
            );
        }
    } else {
        out.line("\nFigures (seeds 1..=10)\n");
        out.text(&f.to_string());
    }
    Ok(())
}
