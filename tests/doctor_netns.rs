//! `mcast doctor` on a Linux bridge that snoops IGMP, with hosts in network namespaces
//! on its ports: every namespace, bridge and veth made and removed by the test.
//!
//! The switch is a namespace with `br0` (snooping on, IGMPv2); the doctor runs in a host
//! namespace on one of its ports and listens for a few seconds, the bridge's own querier
//! (when on) querying every second.
//!
//! Needs root and `ip` (iproute2); without them the tests print why and skip, except
//! under `CI=true`, where they fail. Elsewhere than on Linux the doctor says it runs on
//! Linux only.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::process::Command;

#[path = "common/lab.rs"]
mod lab;
use lab::{Lab, MCAST, exec, ip, lab_available};

/// How long each doctor listens: three of the bridge querier's 1 s Query Intervals.
const LISTEN: &str = "3.5";

/// A namespace `sw` with bridge `br0`: snooping on, IGMPv2, plus `extra` bridge options.
fn switch(lab: &mut Lab, extra: &[&str]) -> String {
    let sw = lab.namespace("sw");
    #[rustfmt::skip]
    let args = [&["-n", &sw, "link", "add", "br0", "type", "bridge", "stp_state", "0", "mcast_snooping", "1",
        "mcast_igmp_version", "2"][..], extra].concat();
    ip(&args);
    sw
}

/// The bridge's own querier, every second (Max Resp 0.5 s), from `address` or, without
/// one, from 0.0.0.0.
fn bridge_querier(address: Option<&str>) -> Vec<&str> {
    let mut options = vec![
        "mcast_querier",
        "1",
        "mcast_query_interval",
        "100",
        "mcast_query_response_interval",
        "50",
        "mcast_startup_query_interval",
        "100",
    ];
    if address.is_some() {
        options.extend(["mcast_query_use_ifaddr", "1"]);
    }
    options
}

fn switch_up(sw: &str, address: Option<&str>) {
    if let Some(a) = address {
        ip(&["-n", sw, "addr", "add", &format!("{a}/24"), "dev", "br0"]);
    }
    ip(&["-n", sw, "link", "set", "br0", "up"]);
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The number after `"key":` in `json`.
fn number(json: &str, key: &str) -> f64 {
    let at = json.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{key} in {json}"));
    let rest = &json[at + key.len() + 3..];
    rest[..rest.find([',', '}']).unwrap()].parse().unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn a_querier_on_the_bridge_is_reported_with_its_address_version_and_interval() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("dq");
    let sw = switch(&mut lab, &bridge_querier(Some("10.130.0.1")));
    switch_up(&sw, Some("10.130.0.1"));
    let h = lab.attach(&sw, "h", "10.130.0.21", None);
    ip(&["-n", &h, "route", "add", "224.0.0.0/4", "dev", "vh"]);
    let o = lab.mcast(&h, &["doctor", "-i", "vh", "--duration", LISTEN, "--json"]);
    let json = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{json}\n{}", text(&o.stderr));
    assert_eq!(json.lines().count(), 1, "{json}");
    assert!(json.starts_with(r#"{"interface":"vh","listened_s":"#), "{json}");
    // At least the duration asked; a frame that arrives as it ends may add a little.
    assert!((3.5..4.5).contains(&number(&json, "listened_s")), "{json}");
    assert!(json.contains(r#""problems":0,"#), "{json}");
    let querier = json.split(r#""queriers":[{"#).nth(1).and_then(|q| q.split('}').next()).unwrap();
    assert!(querier.starts_with(r#""address":"10.130.0.1","version":2,"general_queries":"#), "{querier}");
    assert!(querier.ends_with(r#""max_resp_s":0.5,"proxy":false,"elected":true"#), "{querier}");
    assert!(number(querier, "general_queries") >= 3.0, "{querier}");
    // The kernel's timer ticks round 1 s up a little (1.024 s at HZ 250).
    let interval = number(querier, "query_interval_s");
    assert!((0.95..1.1).contains(&interval), "{querier}");
    assert!(querier.contains(r#""query_interval_from":"observed""#), "{querier}");
    assert!(json.contains(r#"{"level":"ok","code":"querier","text":"querier 10.130.0.1 is elected: IGMPv2, every 1."#));
    assert!(json.contains(r#""route":{"interface":"vh","index":"#), "{json}");
    assert!(
        json.contains(r#""link":{"name":"vh","index":"#)
            && json.contains(r#","up":true,"operstate":"up","multicast":true,"address":"10.130.0.21/24"}"#),
        "{json}"
    );
    // The host answered the bridge's IGMPv2 queries: its kernel is in IGMPv2 mode.
    assert!(json.contains(r#""igmp_mode":"V2","memberships":[{"group":"224.0.0.1","users":1}]"#), "{json}");
}

#[cfg(target_os = "linux")]
#[test]
fn without_a_querier_the_doctor_says_so_and_names_an_igmpv1_host() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("dv1");
    let sw = switch(&mut lab, &["mcast_querier", "0"]);
    switch_up(&sw, None);
    let h1 = lab.attach(&sw, "h1", "10.131.0.21", Some(1));
    let h2 = lab.attach(&sw, "h2", "10.131.0.22", None);
    let doctor = lab.spawn(&h2, &["doctor", "-i", "vh2", "--duration", LISTEN]);
    assert!(doctor.ready.starts_with("listening to IGMP on vh2 (index "), "{}", doctor.ready);
    // h1 joins: its kernel, forced to IGMPv1, reports in IGMPv1, and with no querier the
    // bridge floods the reports to every port.
    let member = lab.spawn(&h1, &["recv", "239.1.1.1:5000", "-i", "10.131.0.21", "--timeout", "5"]);
    let (code, out, err) = doctor.finish();
    assert_eq!(code, Some(5), "{out}\n{err}");
    assert_eq!(err, "mcast: 1 problem(s) found on vh2\n");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("mcast doctor: vh2 (index "), "{out}");
    assert!(lines[0].ends_with(" 1 problem(s)"), "{out}");
    assert!(
        lines[2].starts_with("problem  no IGMP querier heard in ")
            && lines[2].contains(" s: snooping switches prune a group about 260 s after its last report"),
        "{out}"
    );
    assert!(lines[2].contains("run one with `mcast querier -i vh2`"), "{out}");
    assert!(out.contains("\nnote     IGMPv1 hosts: 10.131.0.21: they send no Leave"), "{out}");
    assert!(out.contains("\nqueriers\n  none heard\ngroups\n"), "{out}");
    // (The bridge itself reports 224.0.0.106, multicast router discovery, from 0.0.0.0.)
    assert!(out.contains("\n  239.1.1.1        10.131.0.21 (v1, "), "{out}");
    member.signal("TERM");
    member.finish();
}

#[cfg(target_os = "linux")]
#[test]
fn a_bridge_querier_without_an_address_is_flagged_as_a_proxy_querier() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("dpx");
    let sw = switch(&mut lab, &bridge_querier(None));
    switch_up(&sw, None);
    let h = lab.attach(&sw, "h", "10.132.0.21", None);
    let o = lab.mcast(&h, &["doctor", "-i", "vh", "--duration", LISTEN]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(5), "{out}\n{}", text(&o.stderr));
    assert!(
        out.contains("\nproblem  the only querier queries from 0.0.0.0 (a proxy querier, RFC 4541 §2.1.1): "),
        "{out}"
    );
    assert!(out.contains("\nok       proxy querier 0.0.0.0 is elected: IGMPv2, every 1."), "{out}");
    assert!(out.contains("\n  0.0.0.0          IGMPv2, every 1."), "{out}");
    assert!(out.contains(" group-specific queries, elected, proxy (RFC 4541)\n"), "{out}");
}

#[cfg(target_os = "linux")]
#[test]
fn strict_rp_filter_names_the_sources_whose_route_back_leaves_elsewhere() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("drp");
    let sw = switch(&mut lab, &bridge_querier(Some("10.133.0.1")));
    switch_up(&sw, Some("10.133.0.1"));
    let h = lab.attach(&sw, "h", "10.133.0.21", None);
    // A more specific route sends replies to the querier out of another interface.
    ip(&["-n", &h, "link", "add", "side0", "type", "veth", "peer", "name", "side1"]);
    ip(&["-n", &h, "link", "set", "side0", "up"]);
    ip(&["-n", &h, "route", "add", "10.133.0.1/32", "dev", "side0"]);
    exec(&h, "sysctl", &["-qw", "net.ipv4.conf.vh.rp_filter=1"]);
    let o = lab.mcast(&h, &["doctor", "-i", "vh", "--duration", "1.5"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(5), "{out}\n{}", text(&o.stderr));
    assert!(
        out.contains(
            "\nproblem  rp_filter 1 (vh 1, all 0; the larger applies), strict: multicast is dropped unless the route \
             back to its source leaves by the interface it came in on; multicast from 10.133.0.1 (route via side0) \
             is dropped\n"
        ),
        "{out}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn sigint_ends_the_listen_early_and_the_report_is_printed() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("dint");
    let sw = switch(&mut lab, &bridge_querier(Some("10.134.0.1")));
    switch_up(&sw, Some("10.134.0.1"));
    let h = lab.attach(&sw, "h", "10.134.0.21", None);
    let doctor = lab.spawn(&h, &["doctor", "-i", "vh", "--json"]);
    assert!(doctor.ready.ends_with(" for 130.0 s, sending nothing (Ctrl-C reports sooner)\n"), "{}", doctor.ready);
    let started = std::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    doctor.signal("INT");
    let (code, out, err) = doctor.finish();
    assert!(started.elapsed().as_secs_f64() < 4.0, "{:?}", started.elapsed());
    assert_eq!(code, Some(0), "{out}\n{err}");
    let listened = number(&out, "listened_s");
    assert!((2.4..3.5).contains(&listened), "{out}");
    assert!(out.contains(r#""queriers":[{"address":"10.134.0.1","version":2,"#), "{out}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_missing_interface_is_one_line_and_exit_1() {
    let o = Command::new(MCAST).args(["doctor", "-i", "no-such-if0", "--duration", "1"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.starts_with("mcast: no interface is named \"no-such-if0\" (there are: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(text(&o.stdout), "");
}

#[test]
fn help_explains_the_duration_trade_off_and_the_exit_codes() {
    let o = Command::new(MCAST).args(["doctor", "--help"]).output().unwrap();
    let help = text(&o.stdout);
    for option in ["--interface", "--duration", "--group", "--json", "[default: 130]", "every 125 s"] {
        assert!(help.contains(option), "{option} in {help}");
    }
    assert!(help.contains("5 when a problem was found"), "{help}");
    let o = Command::new(MCAST).arg("--help").output().unwrap();
    assert!(text(&o.stdout).contains("  5  doctor found a problem on the link"));
}

#[cfg(not(target_os = "linux"))]
#[test]
fn doctor_says_it_runs_on_linux_only() {
    let o = Command::new(MCAST).args(["doctor", "-i", "eth0", "--duration", "1"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "mcast: doctor runs on Linux only (it captures IGMP on AF_PACKET sockets and reads /proc and /sys)\n"
    );
}
