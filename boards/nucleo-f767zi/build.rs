//! Links with cortex-m-rt's `link.x` (which includes the `memory.x` embassy-stm32's
//! `memory-x` feature writes for the chip) and defmt's `defmt.x`, whatever folder cargo
//! runs in.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("TARGET").is_ok_and(|t| t.starts_with("thumb")) {
        println!("cargo:rustc-link-arg-bins=--nmagic");
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    }
}
