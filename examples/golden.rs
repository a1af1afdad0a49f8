//! Decodes the IGMP frames captured from a Linux kernel (tests/data/linux-igmp-frames.txt)
//! and prints each frame's layers and, for every group it names, the group's MAC,
//! scope and well-known name.
//!
//! Run with `cargo run --example golden`.

use std::collections::BTreeSet;

use mcast::GroupAddr;
use mcast::wire::FrameRepr;
use mcast::wire::igmp::Message;

const FRAMES: &str = include_str!("../tests/data/linux-igmp-frames.txt");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut name = "";
    let mut groups = BTreeSet::new();
    for line in FRAMES.lines() {
        if let Some(n) = line.strip_prefix("## ") {
            name = n;
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let bytes = line.split_whitespace().map(|h| u8::from_str_radix(h, 16)).collect::<Result<Vec<u8>, _>>()?;
        let f = FrameRepr::parse(&bytes).map_err(|e| format!("{name}: {e}"))?;
        println!("{name}");
        println!("  ethernet  {} -> {}  {}", f.ethernet.src, f.ethernet.dst, f.ethernet.ethertype);
        println!(
            "  ipv4      {} -> {}  ttl {}  tos 0x{:02x}{}{}",
            f.ipv4.src_addr,
            f.ipv4.dst_addr,
            f.ipv4.ttl,
            f.ipv4.tos,
            if f.ipv4.dont_fragment { "  DF" } else { "" },
            if f.ipv4.router_alert { "  router-alert" } else { "" },
        );
        println!("  igmp      {}", f.igmp);
        println!();
        groups.extend(GroupAddr::from_ipv4(f.ipv4.dst_addr).ok());
        groups.extend(message_groups(&f.igmp));
    }

    println!("{:<17} {:<19} {:<31} {:<9} name", "group", "mac", "scope", "routed");
    for group in groups {
        println!(
            "{:<17} {:<19} {:<31} {:<9} {}",
            group.to_string(),
            group.to_mac().to_string(),
            group.scope().name(),
            if group.is_routable() { "yes" } else { "never" },
            group.well_known_name().unwrap_or("-"),
        );
    }
    Ok(())
}

/// The groups a message is about.
fn message_groups(msg: &Message<'_>) -> Vec<GroupAddr> {
    match msg {
        Message::V1Report { group } | Message::V2Report { group } | Message::Leave { group } => vec![*group],
        Message::V1Query => vec![],
        Message::V2Query { group, .. } => group.iter().copied().collect(),
        Message::V3Query(q) => q.group.iter().copied().collect(),
        Message::V3Report { records } => records.iter().map(|r| r.group).collect(),
    }
}
