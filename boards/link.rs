//! The linking half of every firmware crate's build script, which includes this file as
//! a module (`#[path = "../link.rs"]`): the crate's `memory.x` goes where the linker
//! finds it, and its binaries link with cortex-m-rt's `link.x`, whatever folder cargo
//! runs in.

use std::env;
use std::fs;
use std::path::PathBuf;

/// Writes `memory_x` (the crate's `include_bytes!("memory.x")`) to `OUT_DIR` and tells
/// cargo to link with it.
pub fn memory_x(memory_x: &[u8]) {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    fs::write(out.join("memory.x"), memory_x).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../link.rs");
    if env::var("TARGET").is_ok_and(|t| t.starts_with("thumb")) {
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
    }
}
