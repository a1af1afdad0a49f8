//! Links with this crate's memory.x and cortex-m-rt's link.x (see ../link.rs).

#[path = "../link.rs"]
mod link;

fn main() {
    link::memory_x(include_bytes!("memory.x"));
}
