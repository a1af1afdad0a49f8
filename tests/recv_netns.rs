//! `mcast send` and `mcast recv` between three namespaces on a bridge, with loss and
//! duplication made by the kernel: nftables rules (`numgen random … drop`, `dup to`)
//! whose counters say exactly how many datagrams they dropped or copied, which `recv`'s
//! counts must match.
//!
//! Needs root, `ip` and `nft`; without them the tests print why and skip, except under
//! `CI=true`, where they fail.
#![cfg(target_os = "linux")]

use std::process::Command;

#[path = "common/lab.rs"]
mod lab;
use lab::{Lab, exec, ip, lab_available};

const GROUPS: u64 = 4;
const PER_GROUP: u64 = 500;

/// Whether `nft` runs here; if not, says why (and fails under CI).
fn nft_available() -> bool {
    if Command::new("nft").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    let why = "`nft` (nftables) is not installed: apt-get install nftables";
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true: the impairment tests must run, but {why}");
    }
    println!("skipped: {why}");
    false
}

/// The number after `"key":` in a JSON line.
fn field(line: &str, key: &str) -> u64 {
    let pat = format!("\"{key}\":");
    let at = line.find(&pat).unwrap_or_else(|| panic!("no {key} in {line}")) + pat.len();
    line[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
}

/// The packet count of the nftables rule with `comment` in namespace `ns`.
fn counter(ns: &str, comment: &str) -> u64 {
    let rules = exec(ns, "nft", &["list", "ruleset"]);
    let line = rules.lines().find(|l| l.contains(comment)).unwrap_or_else(|| panic!("no rule {comment} in {rules}"));
    let at = line.find("packets ").expect("a counter") + "packets ".len();
    line[at..].split_whitespace().next().unwrap().parse().unwrap()
}

/// A bridge in `sw` (no snooping: every port gets every group) with three hosts:
/// h1 10.77.0.1 (the sender), h2 10.77.0.2, h3 10.77.0.3, each on `e0`.
fn lan(lab: &mut Lab) -> (String, [String; 3]) {
    let sw = lab.namespace("sw");
    ip(&["-n", &sw, "link", "add", "br0", "type", "bridge", "stp_state", "0", "mcast_snooping", "0"]);
    ip(&["-n", &sw, "link", "set", "br0", "up"]);
    let hosts = [1, 2, 3].map(|i| {
        let ns = lab.namespace(&format!("h{i}"));
        let port = format!("p{i}");
        ip(&["link", "add", &port, "netns", &sw, "type", "veth", "peer", "name", "e0", "netns", &ns]);
        ip(&["-n", &sw, "link", "set", &port, "master", "br0"]);
        ip(&["-n", &sw, "link", "set", &port, "up"]);
        ip(&["-n", &ns, "addr", "add", &format!("10.77.0.{i}/24"), "dev", "e0"]);
        ip(&["-n", &ns, "link", "set", "e0", "up"]);
        ns
    });
    (sw, hosts)
}

fn nft(ns: &str, ruleset: &str) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("run nft");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), ruleset.as_bytes()).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success(), "nft -f: {ruleset}");
}

/// The per-stream summaries `recv --json --quiet` printed, keyed by group.
fn summaries(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with(r#"{"kind":"summary""#)).collect()
}

#[test]
fn recv_counts_match_what_the_kernel_dropped_and_duplicated() {
    if !lab_available() || !nft_available() {
        return;
    }
    let mut lab = Lab::new("imp");
    let (sw, [h1, h2, h3]) = lan(&mut lab);
    // h2 loses 10% of what reaches it; the switch copies 5% of h1's datagrams to h3
    // a second time.
    nft(
        &h2,
        r#"table netdev impair {
            chain rx { type filter hook ingress device "e0" priority 0;
                udp dport 5000 numgen random mod 100 < 10 counter drop comment "loss"
            }
        }"#,
    );
    nft(
        &sw,
        r#"table netdev copy {
            chain rx { type filter hook ingress device "p1" priority 0;
                udp dport 5000 numgen random mod 100 < 5 counter dup to "p3" comment "dup"
            }
        }"#,
    );
    let recv = |ns: &str| {
        lab.spawn(ns, &["recv", "239.7.0.1+4:5000", "-i", "e0", "--timeout", "3", "--quiet", "--json", "--loop", "off"])
    };
    let (r2, r3) = (recv(&h2), recv(&h3));
    assert_eq!(
        r2.ready,
        "listening on 239.7.0.1:5000, 239.7.0.2:5000, 239.7.0.3:5000, 239.7.0.4:5000 (interface e0 (index 2), loop off)\n"
    );
    let sent = lab.mcast(
        &h1,
        &["send", "239.7.0.1+4:5000", "-i", "e0", "--rate", "2000", "-n", &PER_GROUP.to_string(), "--quiet", "--json"],
    );
    assert_eq!(sent.status.code(), Some(0), "{}", String::from_utf8_lossy(&sent.stderr));
    let sent = String::from_utf8(sent.stdout).unwrap();
    assert_eq!(field(&sent, "sent"), GROUPS * PER_GROUP, "{sent}");

    let (dropped, copied) = (counter(&h2, "loss"), counter(&sw, "dup"));
    let (code, out2, err2) = r2.finish();
    let (_, out3, _) = r3.finish();
    assert_eq!(code, Some(0), "{err2}");

    // h2: every datagram the rule dropped is lost, inside the received range or at
    // its edges (before the first or after the last received); nothing else.
    let rows = summaries(&out2);
    assert_eq!(rows.len() as u64, GROUPS, "{out2}");
    let mut seen_lost = 0;
    for row in &rows {
        let (received, expected, lost) = (field(row, "received"), field(row, "expected"), field(row, "lost"));
        assert_eq!((field(row, "duplicated"), field(row, "reordered"), field(row, "late")), (0, 0, 0), "{row}");
        assert_eq!(received + lost, expected, "{row}");
        seen_lost += lost + (PER_GROUP - expected);
    }
    assert_eq!(seen_lost, dropped, "{out2}");
    // 10% of 2000: 200 on average, binomial standard deviation 13.4; ±5 of them.
    assert!((133..=267).contains(&dropped), "the drop rule dropped {dropped} of 2000");

    // h3: the copies are duplicates, nothing is lost.
    let rows = summaries(&out3);
    assert_eq!(rows.len() as u64, GROUPS, "{out3}");
    let mut duplicated = 0;
    for row in &rows {
        assert_eq!((field(row, "expected"), field(row, "lost"), field(row, "reordered")), (PER_GROUP, 0, 0), "{row}");
        assert_eq!(field(row, "received"), PER_GROUP + field(row, "duplicated"), "{row}");
        duplicated += field(row, "duplicated");
    }
    assert_eq!(duplicated, copied, "{out3}");
    // 5% of 2000: 100 on average, standard deviation 9.7; ±5 of them.
    assert!((51..=149).contains(&copied), "the dup rule copied {copied} of 2000");
}
