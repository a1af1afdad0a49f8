//! Keeps docs/CONFORMANCE.md true: every row names a test, and every test it names
//! exists.

use std::fs;
use std::path::Path;

/// Where the tests behind each prefix of CONFORMANCE.md live.
fn source_of(prefix: &str) -> Option<&'static str> {
    Some(match prefix {
        "host" => "tests/host.rs",
        "querier" => "tests/querier.rs",
        "querier_netns" => "tests/querier_netns.rs",
        "interop" => "tests/interop.rs",
        "golden" => "tests/golden.rs",
        "sim" => "tests/sim.rs",
        "smoltcp" => "tests/smoltcp_differences.rs",
        "glue" => "tests/glue_smoltcp.rs",
        "cli" => "tests/cli.rs",
        "proptest" => "tests/proptest_wire.rs",
        "igmp" => "src/wire/igmp/tests.rs",
        "frame" => "src/wire/frame.rs",
        "ipv4" => "src/wire/ipv4.rs",
        "rng" => "src/membership/rng.rs",
        _ => return None,
    })
}

fn conformance_md() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    fs::read_to_string(root.join("docs/CONFORMANCE.md")).unwrap()
}

/// The test references in `text`: quoted `prefix::name` whose prefix is known.
fn tests_named(text: &str) -> impl Iterator<Item = (&str, &'static str, &str)> {
    text.split('`').skip(1).step_by(2).filter_map(|quoted| {
        let (prefix, rest) = quoted.split_once("::")?;
        let file = source_of(prefix)?;
        Some((quoted, file, rest.rsplit("::").next()?))
    })
}

#[test]
fn every_test_named_in_conformance_md_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = conformance_md();
    let mut checked = 0;
    for (quoted, file, name) in tests_named(&doc) {
        let source = fs::read_to_string(root.join(file)).unwrap();
        // Property tests take their inputs as arguments.
        assert!(source.contains(&format!("fn {name}(")), "{quoted}: no test `{name}` in {file}");
        checked += 1;
    }
    assert!(checked > 60, "only {checked} references found: is the table still there?");
}

#[test]
fn every_row_of_conformance_md_names_a_test() {
    let doc = conformance_md();
    let lines: Vec<&str> = doc.lines().map(str::trim).collect();
    let mut rows = 0;
    for (i, line) in lines.iter().enumerate() {
        let is_row = line.starts_with('|');
        let is_rule = line.starts_with("|-");
        let is_head = lines.get(i + 1).is_some_and(|next| next.starts_with("|-"));
        if !is_row || is_rule || is_head {
            continue;
        }
        // The last column holds the tests.
        let tests = line.trim_end_matches('|').rsplit('|').next().unwrap_or("");
        assert!(tests_named(tests).next().is_some(), "a row of docs/CONFORMANCE.md names no test: {line}");
        rows += 1;
    }
    assert!(rows > 50, "only {rows} rows found: is the table still there?");
}
