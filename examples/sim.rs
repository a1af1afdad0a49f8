//! A simulated LAN from the public API: two queriers elect the lower address, a host
//! joins 239.1.2.3, answers the general queries and leaves; prints what crossed the
//! segment.
//!
//! Run with `cargo run --example sim --features sim [SEED]`. `mcast sim` prints another
//! timeline and the figures of docs/SIMULATION.md.

use std::net::Ipv4Addr;
use std::time::Duration;

use mcast::GroupAddr;
use mcast::membership::{HostConfig, QuerierConfig};
use mcast::sim::Lan;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let group: GroupAddr = "239.1.2.3".parse()?;

    // The seed decides the random report delays; no frame is lost (loss 0 %).
    let mut lan = Lan::new(seed, 0);
    lan.add_querier(Ipv4Addr::new(10, 0, 0, 2), QuerierConfig::default())?;
    lan.add_querier(Ipv4Addr::new(10, 0, 0, 1), QuerierConfig::default())?;
    let host = lan.add_host(Ipv4Addr::new(10, 0, 0, 10), HostConfig::default())?;
    lan.join(host, group)?;
    lan.run_for(Duration::from_secs(260));
    lan.leave(host, group)?;
    lan.run_for(Duration::from_secs(5));

    for record in lan.log() {
        println!("{record}");
    }
    Ok(())
}
