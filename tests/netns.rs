//! The Linux kernel as a live peer: network namespaces joined by veth links, made and
//! removed by each test, with the `mcast` tool running inside them.
//!
//! Needs root and `ip` (iproute2). Without them the tests print why and skip, except
//! under `CI=true`, where they fail. Every namespace is named after the test and the
//! process id and is deleted when the test ends, also when it fails; traffic stays on
//! the veth links between them.
#![cfg(target_os = "linux")]

use std::process::Command;

#[path = "common/lab.rs"]
mod lab;
use lab::{Lab, ip, lab_available};

/// Namespaces `a` (10.99.0.1 on `va`) and `b` (10.99.0.2 on `vb`) joined by a veth
/// pair, IGMPv2 forced on both.
fn two_hosts(lab: &mut Lab) -> (String, String) {
    let a = lab.namespace("a");
    let b = lab.namespace("b");
    ip(&["link", "add", "va", "netns", &a, "type", "veth", "peer", "name", "vb", "netns", &b]);
    for (ns, dev, addr) in [(&a, "va", "10.99.0.1/24"), (&b, "vb", "10.99.0.2/24")] {
        ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
        let sysctl = format!("net.ipv4.conf.{dev}.force_igmp_version=2");
        let status = Command::new("ip")
            .args(["netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.all.force_igmp_version=2", &sysctl])
            .status()
            .unwrap();
        assert!(status.success());
        ip(&["-n", ns, "link", "set", dev, "up"]);
    }
    (a, b)
}

#[test]
fn loopback_on_and_off_between_two_namespaces() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("loop");
    let (a, b) = two_hosts(&mut lab);
    let recv = |ns: &str, addr: &str, extra: &[&str]| {
        let args = [&["recv", "239.1.2.3:5000", "-i", addr, "-n", "1", "--timeout", "2"][..], extra].concat();
        lab.spawn(ns, &args)
    };
    let send = |lp: &str| {
        let out = lab.mcast(
            &a,
            &[
                "send",
                "239.1.2.3:5000",
                "-i",
                "10.99.0.1",
                "--loop",
                lp,
                "-n",
                "4",
                "--interval",
                "100",
                "--raw",
                "--message",
                lp,
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    };

    // Loop off at the sender: the host on the other end of the link gets it, the
    // sender's own host does not (on `lo` the option would change nothing).
    let local = recv(&a, "10.99.0.1", &[]);
    let remote = recv(&b, "10.99.0.2", &[]);
    assert_eq!(local.ready, "listening on 239.1.2.3:5000 (interface 10.99.0.1, loop on)\n");
    send("off");
    let (code, out, _) = remote.finish();
    assert_eq!(code, Some(0));
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("from 10.99.0.1:") && first.ends_with(" to 239.1.2.3 via interface 2: 3 octets: off"),
        "{out}"
    );
    let (code, out, err) = local.finish();
    assert_eq!((code, out.as_str()), (Some(4), ""), "no local copy with loop off: {err}");

    // Loop on: both.
    let local = recv(&a, "10.99.0.1", &[]);
    let remote = recv(&b, "10.99.0.2", &[]);
    send("on");
    for r in [local, remote] {
        let (code, out, err) = r.finish();
        assert_eq!(code, Some(0), "{err}");
        assert!(out.lines().next().unwrap_or_default().ends_with(": 2 octets: on"), "{out}");
    }

    // Loop off at the receiver: the adapter drops local copies there too, as Windows
    // does, although Linux decides at the sender.
    let local = recv(&a, "10.99.0.1", &["--loop", "off"]);
    let remote = recv(&b, "10.99.0.2", &["--loop", "off"]);
    send("on");
    let (code, out, _) = remote.finish();
    assert_eq!(code, Some(0), "a remote sender is not a local copy");
    assert!(out.lines().next().unwrap_or_default().ends_with(": 2 octets: on"), "{out}");
    let (code, out, _) = local.finish();
    assert_eq!((code, out.as_str()), (Some(4), ""));
}

#[test]
fn the_kernels_igmp_reports_are_captured_and_decoded() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("rep");
    let (a, b) = two_hosts(&mut lab);
    let watch = lab.spawn(&b, &["watch", "-i", "vb", "--timeout", "3", "--json"]);
    assert_eq!(watch.ready, "watching IGMP on vb (index 2)\n");
    // Joining makes a's kernel report the group; exiting makes it leave.
    let joined = lab.mcast(&a, &["recv", "239.1.2.3:5000", "-i", "10.99.0.1", "--timeout", "0.5"]);
    assert_eq!(joined.status.code(), Some(4));
    let (code, out, err) = watch.finish();
    assert_eq!(code, Some(0), "{err}");
    let frames: Vec<&str> = out.lines().collect();
    let header = r#""direction":"in","len":46,"ethernet":{"dst":"#;
    let report =
        frames.iter().find(|l| l.contains(r#""type":"v2-report""#)).unwrap_or_else(|| panic!("no report in {out}"));
    assert!(report.contains(header), "{report}");
    assert!(
        report.contains(
            r#""ipv4":{"src":"10.99.0.1","dst":"239.1.2.3","ttl":1,"tos":192,"ident":0,"dont_fragment":true,"router_alert":true,"router_alert_value":0,"protocol":2,"payload_len":8},"igmp":{"type":"v2-report","summary":"IGMPv2 report 239.1.2.3","group":"239.1.2.3"}}"#
        ),
        "{report}"
    );
    assert!(report.contains(r#""dst":"01:00:5e:01:02:03""#), "{report}");
    let leave = frames.iter().find(|l| l.contains(r#""type":"leave""#)).unwrap_or_else(|| panic!("no leave in {out}"));
    assert!(leave.contains(r#""src":"10.99.0.1","dst":"224.0.0.2""#), "{leave}");
    assert!(!out.contains("\"error\""), "every frame decodes: {out}");
}

#[test]
fn a_bridge_queriers_queries_are_decoded() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("qry");
    let q = lab.namespace("q");
    let h = lab.namespace("h");
    ip(&["link", "add", "vq", "netns", &q, "type", "veth", "peer", "name", "vh", "netns", &h]);
    #[rustfmt::skip]
    ip(&["-n", &q, "link", "add", "br0", "type", "bridge", "mcast_snooping", "1", "mcast_querier", "1",
         "mcast_igmp_version", "2", "mcast_startup_query_interval", "100", "mcast_query_interval", "500",
         "mcast_query_response_interval", "200", "stp_state", "0"]);
    ip(&["-n", &q, "link", "set", "vq", "master", "br0"]);
    let watch = lab.spawn(&h, &["watch", "-i", "vh", "--timeout", "4"]);
    ip(&["-n", &h, "link", "set", "vh", "up"]);
    ip(&["-n", &q, "link", "set", "vq", "up"]);
    ip(&["-n", &q, "link", "set", "br0", "up"]);
    let (code, out, err) = watch.finish();
    assert_eq!(code, Some(0), "{err}");
    // Startup queries every second (the bridge also announces itself as a multicast
    // router: a report for 224.0.0.106).
    let queries: Vec<&str> = out.lines().filter(|l| l.contains("query")).collect();
    assert!(queries.len() >= 2, "{out}");
    for line in queries {
        // "     1.234  in   0.0.0.0 > 224.0.0.1  IGMPv2 query general, max resp 2.0 s"
        assert!(line.ends_with("  in   0.0.0.0 > 224.0.0.1  IGMPv2 query general, max resp 2.0 s"), "{line}");
    }
    assert!(!out.contains("malformed"), "{out}");
}
