//! Runs the simulated LAN: prints the timeline of a small scenario, then the figures
//! docs/SIMULATION.md records.
//!
//! Run with `cargo run --example sim --features sim [SEED]`. The `mcast sim` command
//! prints the same, from the same code (`mcast::sim::report`).

use mcast::sim::report as sim_report;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(1);

    println!("{}\n", sim_report::timeline_heading(seed));
    for record in sim_report::timeline(seed)? {
        println!("{record}");
    }

    println!("\nFigures (seeds 1..=10)\n");
    print!("{}", sim_report::Figures::measure());
    Ok(())
}
