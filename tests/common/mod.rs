//! Helpers shared by the integration tests.

/// The IGMP frames captured from Linux (tests/data/linux-igmp-frames.txt), in file
/// order, as (name, bytes).
pub fn golden_frames() -> Vec<(String, Vec<u8>)> {
    const FRAMES: &str = include_str!("../data/linux-igmp-frames.txt");
    let mut out = Vec::new();
    let mut name = None;
    for line in FRAMES.lines() {
        if let Some(n) = line.strip_prefix("## ") {
            name = Some(n.to_string());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let bytes = line.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect();
            out.push((name.take().expect("a name line before each frame"), bytes));
        }
    }
    assert_eq!(out.len(), 6, "the six captured frames");
    out
}

/// The golden frame whose name starts with `prefix`.
#[allow(dead_code)]
pub fn golden_frame(prefix: &str) -> Vec<u8> {
    golden_frames().into_iter().find(|(n, _)| n.starts_with(prefix)).map(|(_, b)| b).expect(prefix)
}
