//! `mcast ping`: its command line, alone on `lo`, and three instances on a Linux bridge
//! in network namespaces, one of them behind an nftables rule that drops multicast.
//!
//! The namespace tests need root, `ip` (iproute2) and `nft` (nftables). Without root
//! or `ip` they print why and skip, except under `CI=true`, where they fail. The
//! namespaces are named after the test and the process id and deleted when it ends.
#![cfg(target_os = "linux")]

use std::process::{Command, Output, Stdio};
use std::time::Duration;

#[path = "common/lab.rs"]
mod lab;
use lab::{Lab, MCAST, exec, ip, lab_available};

fn mcast(args: &[&str]) -> Output {
    Command::new(MCAST).args(args).output().expect("run mcast")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn an_unknown_interface_is_one_line_and_exit_1() {
    let o = mcast(&["ping", "239.98.1.1:5401", "-i", "no-such-if0", "--count", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr).lines().next().unwrap_or_default().split(" (there are").next(),
        Some("mcast: no interface is named \"no-such-if0\"")
    );
    assert_eq!(text(&o.stderr).lines().count(), 1);
    assert_eq!(text(&o.stdout), "");
}

#[test]
fn contradictory_or_out_of_range_options_are_usage_errors() {
    for args in [
        &["ping", "239.98.1.1:5402", "--count", "3", "--duration", "1"][..],
        &["ping", "239.98.1.1:5402", "--size", "31"],
        &["ping", "239.98.1.1:5402", "--ttl", "0"],
        &["ping", "239.98.1.1:5402", "--interval", "0"],
        &["ping", "239.98.1.1:5402", "--duration", "0", "-i", "lo"],
        &["ping", "239.98.1.1"],
    ] {
        let o = mcast(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
    }
}

#[test]
fn alone_its_own_looped_back_requests_are_not_a_peer_and_it_exits_4() {
    let o = mcast(&["ping", "239.98.1.1:5403", "-i", "lo", "--count", "3", "--interval", "20", "--size", "100"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "", "no peer, no answer, no table");
    let err = text(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("pinging 239.98.1.1:5403 on lo (index 1) (ttl 64, 100 octets every 20 ms, stream "),
        "{err}"
    );
    // 3 rounds 20 ms apart, then answering for 1 s.
    assert!(lines[1].starts_with("mcast: no peer heard in 1.") && lines[1].ends_with(" s (3 requests sent)"), "{err}");
}

#[test]
fn sigint_ends_a_run_without_count_at_once_with_its_verdict() {
    let mut child = Command::new(MCAST)
        .args(["ping", "239.98.1.1:5404", "-i", "127.0.0.1", "--interval", "10000", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let o = loop {
        if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            break child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(o.status.code(), Some(4), "ended by the handler, not by the signal: {}", text(&o.stderr));
    // The signal cuts the 10 s wait for the next round short.
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(text(&o.stderr).contains("\nmcast: no peer heard in 0."), "{}", text(&o.stderr));
}

/// Namespaces `a`, `b`, `c` (10.98.0.1, .2, .3 on `va`, `vb`, `vc`) on a bridge without
/// IGMP snooping in namespace `sw`.
fn three_hosts(lab: &mut Lab) -> Vec<String> {
    let sw = lab.namespace("sw");
    ip(&["-n", &sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0", "stp_state", "0"]);
    let mut hosts = Vec::new();
    for (i, h) in ["a", "b", "c"].into_iter().enumerate() {
        let ns = lab.namespace(h);
        let (dev, port) = (format!("v{h}"), format!("p{h}"));
        ip(&["link", "add", &dev, "netns", &ns, "type", "veth", "peer", "name", &port, "netns", &sw]);
        ip(&["-n", &sw, "link", "set", &port, "master", "br0", "up"]);
        ip(&["-n", &ns, "addr", "add", &format!("10.98.0.{}/24", i + 1), "dev", &dev]);
        ip(&["-n", &ns, "link", "set", &dev, "up"]);
        hosts.push(ns);
    }
    ip(&["-n", &sw, "link", "set", "br0", "up"]);
    hosts
}

/// Runs `mcast ping GROUP:PORT -i vX --count 20 --interval 50 EXTRA` in the three
/// namespaces at once: exit code, standard output and standard error of each.
fn ping_all(lab: &Lab, hosts: &[String], to: &str, extra: &[&str]) -> Vec<(Option<i32>, String, String)> {
    let running: Vec<_> = hosts
        .iter()
        .zip(["va", "vb", "vc"])
        .map(|(ns, dev)| {
            let args = [&["ping", to, "-i", dev, "--count", "20", "--interval", "50"][..], extra].concat();
            lab.spawn(ns, &args)
        })
        .collect();
    running
        .into_iter()
        .map(|r| {
            assert!(r.ready.starts_with(&format!("pinging {to} on v")), "{}", r.ready);
            r.finish()
        })
        .collect()
}

/// The summary table's columns for `peer` on `path`: sent, answered, dup, loss, rtt,
/// hops.
fn row<'a>(out: &'a str, peer: &str, path: &str) -> Vec<&'a str> {
    let table = out.split_once("\npeer ").unwrap_or_else(|| panic!("no table in\n{out}")).1;
    let line = table
        .lines()
        .find(|l| {
            let mut w = l.split_whitespace();
            w.next() == Some(peer) && w.next() == Some(path)
        })
        .unwrap_or_else(|| panic!("no {peer} {path} row in\n{out}"));
    line.split_whitespace().skip(2).collect()
}

#[test]
fn three_hosts_on_a_bridge_answer_each_other_over_both_paths() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("p3");
    let hosts = three_hosts(&mut lab);
    let results = ping_all(&lab, &hosts, "239.98.0.1:5400", &[]);
    let addrs = ["10.98.0.1", "10.98.0.2", "10.98.0.3"];
    for (i, (code, out, err)) in results.iter().enumerate() {
        assert_eq!(*code, Some(0), "{}: {err}\n{out}", addrs[i]);
        for peer in addrs.iter().filter(|&&a| a != addrs[i]) {
            for path in ["unicast", "multicast"] {
                let r = row(out, peer, path);
                let (sent, answered): (u64, u64) = (r[0].parse().unwrap(), r[1].parse().unwrap());
                assert!((10..=20).contains(&sent) && answered == sent, "{peer} {path}: {out}");
                assert_eq!((r[2], r[3]), ("0", "0.0%"), "{peer} {path}: {out}");
                assert_eq!(r[4].split('/').count(), 4, "rtt min/avg/max/stddev: {out}");
                assert_eq!(r[5], "0", "one link: no TTL spent: {out}");
            }
        }
        assert!(!out.contains(addrs[i]), "itself is no peer: {out}");
        // A live line per answer.
        let live = out.lines().filter(|l| l.contains(" octets  hops 0  rtt ")).count();
        assert!(live >= 4 * 10, "{out}");
    }
}

#[test]
fn a_host_that_drops_multicast_shows_100_percent_multicast_loss_and_no_unicast_loss() {
    if !lab_available() {
        return;
    }
    if Command::new("nft").arg("--version").output().is_err() {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI=true: nft (nftables) is needed");
        println!("skipped: nft (nftables) is not installed");
        return;
    }
    let mut lab = Lab::new("pnft");
    let hosts = three_hosts(&mut lab);
    let c = &hosts[2];
    exec(c, "nft", &["add", "table", "inet", "t"]);
    exec(c, "nft", &["add", "chain", "inet", "t", "in", "{ type filter hook input priority 0; }"]);
    exec(c, "nft", &["add", "rule", "inet", "t", "in", "ip", "daddr", "239.98.0.2", "udp", "dport", "5410", "drop"]);
    let results = ping_all(&lab, &hosts, "239.98.0.2:5410", &["--json"]);
    let summary = |out: &str, peer: &str| -> (String, String) {
        let needle = format!(r#"{{"event":"summary","peer":"{peer}","unicast":"#);
        let line = out.lines().find(|l| l.starts_with(&needle)).unwrap_or_else(|| panic!("no {peer} in\n{out}"));
        let (unicast, multicast) = line[needle.len()..].split_once(r#","multicast":"#).unwrap();
        (unicast.to_string(), multicast.to_string())
    };
    let clean = r#""duplicates":0,"loss_percent":0.0,"rtt_ms":{"min":"#;
    let blocked = r#""answered":0,"duplicates":0,"loss_percent":100.0,"rtt_ms":null,"hops":"#;
    let all = ["10.98.0.1", "10.98.0.2", "10.98.0.3"];
    for (i, (code, out, err)) in results.iter().enumerate() {
        assert_eq!(*code, Some(6), "{}: {err}\n{out}", all[i]);
        assert!(err.ends_with("peers did not answer every request on both paths\n"), "{err}");
        for (j, peer) in all.iter().enumerate() {
            if i == j {
                continue;
            }
            let (unicast, multicast) = summary(out, peer);
            assert!(unicast.contains(clean) && unicast.ends_with(r#""hops":0,"hops_to_peer":0}"#), "{unicast}");
            if i == 2 || j == 2 {
                // c receives no multicast: neither its peers' requests nor their answers.
                // Its own multicast requests reach a and b, which learn the hops from them.
                let hops = if i == 2 { "null" } else { "0" };
                let end = format!(r#"{blocked}{hops},"hops_to_peer":null}}}}"#);
                assert!(multicast.starts_with(r#"{"sent":"#) && multicast.ends_with(&end), "{multicast}");
                assert!(!multicast.starts_with(r#"{"sent":0,"#), "{multicast}");
            } else {
                assert!(multicast.contains(clean), "{multicast}");
            }
        }
        assert_eq!(err.lines().last().unwrap().split(' ').nth(1), Some(if i == 2 { "2" } else { "1" }), "{err}");
    }
    // Live answers from c come only by unicast, and c hears only unicast answers.
    let (_, out_a, _) = &results[0];
    assert!(out_a.contains(r#"{"event":"answer","peer":"10.98.0.3","path":"unicast","#), "{out_a}");
    assert!(!out_a.contains(r#"{"event":"answer","peer":"10.98.0.3","path":"multicast","#), "{out_a}");
    let (_, out_c, _) = &results[2];
    assert!(!out_c.contains(r#""path":"multicast""#), "{out_c}");
}
