//! Keeps docs/CONFORMANCE.md true: every test it names exists.

use std::fs;
use std::path::Path;

/// Where the tests behind each prefix of CONFORMANCE.md live.
fn source_of(prefix: &str) -> Option<&'static str> {
    Some(match prefix {
        "host" => "tests/host.rs",
        "querier" => "tests/querier.rs",
        "interop" => "tests/interop.rs",
        "golden" => "tests/golden.rs",
        "sim" => "tests/sim.rs",
        "smoltcp" => "tests/smoltcp_differences.rs",
        "glue" => "tests/glue_smoltcp.rs",
        "cli" => "tests/hosted_cli.rs",
        "proptest" => "tests/proptest_wire.rs",
        "igmp" => "src/wire/igmp.rs",
        "frame" => "src/wire/frame.rs",
        "ipv4" => "src/wire/ipv4.rs",
        "rng" => "src/membership/rng.rs",
        _ => return None,
    })
}

#[test]
fn every_test_named_in_conformance_md_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = fs::read_to_string(root.join("docs/CONFORMANCE.md")).unwrap();
    let mut checked = 0;
    for quoted in doc.split('`').skip(1).step_by(2) {
        let Some((prefix, rest)) = quoted.split_once("::") else { continue };
        let Some(file) = source_of(prefix) else { continue };
        let name = rest.rsplit("::").next().unwrap();
        let source = fs::read_to_string(root.join(file)).unwrap();
        // Property tests take their inputs as arguments.
        assert!(source.contains(&format!("fn {name}(")), "{quoted}: no test `{name}` in {file}");
        checked += 1;
    }
    assert!(checked > 60, "only {checked} references found: is the table still there?");
}
