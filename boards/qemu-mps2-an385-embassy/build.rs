//! Links with this crate's memory.x and cortex-m-rt's link.x (see ../link.rs), and
//! rebuilds when `MCAST_GROUPS` (the groups joined at boot) changes.

#[path = "../link.rs"]
mod link;

fn main() {
    link::memory_x(include_bytes!("memory.x"));
    println!("cargo:rerun-if-env-changed=MCAST_GROUPS");
}
