//! `mcast querier` on a Linux bridge that snoops IGMP, with Linux hosts on its ports:
//! every namespace, bridge and veth made and removed by the test.
//!
//! The switch is a namespace with `br0` (snooping on, its own querier off, a 3 s
//! membership interval); each host and each querier is a namespace on a port of it. The
//! daemon runs with a 1 s Query Interval, a 0.5 s Query Response Interval and a 0.5 s
//! Last Member Query Interval.
//!
//! Needs root and `ip` (iproute2); without them the tests print why and skip, except
//! under `CI=true`, where they fail.
#![cfg(target_os = "linux")]

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

#[path = "common/lab.rs"]
mod lab;
use lab::{Lab, MCAST, Streaming, exec, ip, lab_available};

/// The daemon's timers: Query Interval 1 s, Query Response Interval 0.5 s (so Group
/// Membership Interval 2.5 s, Other Querier Present Interval 2.25 s), Last Member Query
/// Interval 0.5 s (so a Leave's group is gone 1 s later).
const FAST: [&str; 7] =
    ["--query-interval", "1", "--query-response-interval", "0.5", "--last-member-query-interval", "0.5", "--json"];

/// The bridge's membership interval, in centiseconds: 3 s.
const BRIDGE_MEMBERSHIP: &str = "300";

fn s(secs: f64) -> Duration {
    Duration::from_secs_f64(secs)
}

/// A namespace `sw` with bridge `br0`: snooping on, querier off, membership interval
/// 3 s, plus `extra` bridge options.
fn switch(lab: &mut Lab, extra: &[&str]) -> String {
    let sw = lab.namespace("sw");
    #[rustfmt::skip]
    let args = [&["-n", &sw, "link", "add", "br0", "type", "bridge", "stp_state", "0", "mcast_snooping", "1",
        "mcast_querier", "0", "mcast_igmp_version", "2", "mcast_membership_interval", BRIDGE_MEMBERSHIP][..], extra]
        .concat();
    ip(&args);
    ip(&["-n", &sw, "link", "set", "br0", "up"]);
    sw
}

/// The bridge's snooped groups: (port, group).
fn mdb(sw: &str) -> Vec<(String, String)> {
    let out = Command::new("bridge").args(["-n", sw, "mdb", "show"]).output().expect("run bridge");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let at = |key: &str| words.iter().position(|w| *w == key).and_then(|i| words.get(i + 1));
            match (at("port"), at("grp")) {
                (Some(p), Some(g)) if g.contains('.') => Some((p.to_string(), g.to_string())),
                _ => None,
            }
        })
        .collect()
}

fn has(mdb: &[(String, String)], port: &str, group: &str) -> bool {
    mdb.iter().any(|(p, g)| p == port && g == group)
}

/// `mcast recv GROUP:5000` on host `ns` (address `addr`), holding the membership until
/// it gets `count` datagrams or `timeout` seconds pass.
fn join(lab: &Lab, ns: &str, addr: &str, group: &str, timeout: &str) -> lab::Running {
    lab.spawn(ns, &["recv", &format!("{group}:5000"), "-i", addr, "-n", "1", "--timeout", timeout])
}

fn querier(lab: &Lab, ns: &str, dev: &str, extra: &[&str]) -> Streaming {
    let args = [&["querier", "-i", dev][..], &FAST, extra].concat();
    let d = lab.stream(ns, &args);
    assert!(d.ready.starts_with(&format!("querier on {dev} (index ")), "{}", d.ready);
    d
}

fn rx_packets(ns: &str, dev: &str) -> u64 {
    exec(ns, "cat", &[&format!("/sys/class/net/{dev}/statistics/rx_packets")]).trim().parse().unwrap()
}

#[test]
fn the_daemon_keeps_snooped_groups_alive_and_igmpv3_hosts_fall_back_to_v2() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("alive");
    let sw = switch(&mut lab, &[]);
    let r = lab.attach(&sw, "r", "10.91.0.10", Some(2));
    let h1 = lab.attach(&sw, "h1", "10.91.0.21", Some(2));
    let h2 = lab.attach(&sw, "h2", "10.91.0.22", None);
    let h3 = lab.attach(&sw, "h3", "10.91.0.23", Some(2));
    let mut daemon = querier(&lab, &r, "vr", &[]);
    assert!(daemon.wait_for(r#""event":"querier","address":"10.91.0.10""#, s(2.0)).is_some());

    let joins = [
        (&h1, "10.91.0.21", "239.1.1.1", "ph1"),
        (&h2, "10.91.0.22", "239.1.1.2", "ph2"),
        (&h3, "10.91.0.23", "239.1.1.3", "ph3"),
    ];
    let members: Vec<_> = joins.iter().map(|(ns, addr, group, _)| join(&lab, ns, addr, group, "30")).collect();
    // h2's kernel speaks IGMPv3 and the daemon ignores IGMPv3 reports: the group is
    // present only once h2 answers a v2 query with a v2 report.
    // The three come in whatever order the hosts' reports arrive.
    for (_, _, group, _) in &joins {
        let line = format!(r#""event":"group-present","group":"{group}""#);
        let present = daemon.seen.iter().any(|(_, l)| l.contains(&line)) || daemon.wait_for(&line, s(3.0)).is_some();
        assert!(present, "{group} present: {:?}", daemon.seen);
    }
    let igmp = exec(&h2, "cat", &["/proc/net/igmp"]);
    let vh2 = igmp.lines().find(|l| l.contains("vh2")).unwrap();
    assert!(vh2.trim_end().ends_with("V2"), "h2 in IGMPv2 compatibility mode: {igmp}");

    // Eleven Query Intervals, more than three of the bridge's membership intervals:
    // every host's group stays snooped on its port.
    let started = Instant::now();
    while started.elapsed() < s(11.0) {
        let table = mdb(&sw);
        for (_, _, group, port) in &joins {
            assert!(has(&table, port, group), "{group} on {port} after {:?}: {table:?}", started.elapsed());
        }
        sleep(s(0.5));
    }
    assert!(daemon.seen.iter().all(|(_, l)| !l.contains("group-absent")), "{:?}", daemon.seen);

    // --once: a general query and the table after the Query Response Interval.
    let once = lab.mcast(&r, &["querier", "-i", "vr", "--once", "--json", "--query-response-interval", "0.5"]);
    assert_eq!(once.status.code(), Some(0), "{}", String::from_utf8_lossy(&once.stderr));
    let table = String::from_utf8(once.stdout).unwrap();
    assert!(table.starts_with(r#"{"interface":"vr","active":true,"querier":true,"address":"10.91.0.10","#), "{table}");
    for (_, _, group, _) in &joins {
        assert!(table.contains(&format!(r#"{{"group":"{group}","expires_in":"#)), "{table}");
    }

    // With a querier on the link the bridge forwards a group only to its members: h1's
    // datagrams to h2's group reach h2, and not h3's link.
    let before = rx_packets(&h3, "vh3");
    let sent = lab.mcast(&h1, &["send", "239.1.1.2:5000", "-i", "10.91.0.21", "-n", "30", "--interval", "10"]);
    assert_eq!(sent.status.code(), Some(0));
    let mut members = members.into_iter();
    let (m1, m2, m3) = (members.next().unwrap(), members.next().unwrap(), members.next().unwrap());
    let (code, out, err) = m2.finish();
    assert_eq!(code, Some(0), "h2 got the datagram: {err}");
    assert!(out.starts_with("from 10.91.0.21:"), "{out}");
    let leaked = rx_packets(&h3, "vh3") - before;
    assert!(leaked < 10, "{leaked} frames reached h3 while 30 datagrams went to a group it did not join");
    for m in [m1, m3] {
        m.signal("TERM");
        m.finish();
    }
    let (code, err) = daemon.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.starts_with("SIGTERM: stopping\nvr: "), "{err}");
}

#[test]
fn without_a_querier_the_snooped_groups_expire() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("ctrl");
    let sw = switch(&mut lab, &[]);
    let h1 = lab.attach(&sw, "h1", "10.92.0.21", Some(2));
    let h2 = lab.attach(&sw, "h2", "10.92.0.22", None);
    let m1 = join(&lab, &h1, "10.92.0.21", "239.1.1.1", "12");
    let m2 = join(&lab, &h2, "10.92.0.22", "239.1.1.2", "12");
    let joined = Instant::now();
    sleep(s(1.5));
    let table = mdb(&sw);
    assert!(has(&table, "ph1", "239.1.1.1") && has(&table, "ph2", "239.1.1.2"), "{table:?}");
    // The hosts repeat their unsolicited reports within a second; nobody asks again, so
    // each group goes a membership interval (3 s) after the last of them.
    let gone = loop {
        let table = mdb(&sw);
        if !has(&table, "ph1", "239.1.1.1") && !has(&table, "ph2", "239.1.1.2") {
            break joined.elapsed();
        }
        assert!(joined.elapsed() < s(7.0), "still snooped: {table:?}");
        sleep(s(0.2));
    };
    assert!(gone >= s(3.0), "gone after {gone:?}, before the membership interval");
    for m in [m1, m2] {
        m.signal("TERM");
        m.finish();
    }
}

#[test]
fn a_leave_makes_the_group_absent_within_lmqi_times_lmqc() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("leave");
    let sw = switch(&mut lab, &[]);
    let r = lab.attach(&sw, "r", "10.93.0.10", Some(2));
    let h1 = lab.attach(&sw, "h1", "10.93.0.21", Some(2));
    let mut daemon = querier(&lab, &r, "vr", &[]);
    let member = join(&lab, &h1, "10.93.0.21", "239.2.2.2", "3");
    assert!(daemon.wait_for(r#""event":"group-present","group":"239.2.2.2""#, s(3.0)).is_some());
    // SIGUSR1: the table, the group in it.
    daemon.signal("USR1");
    let (_, table) = daemon.wait_for(r#""interface":"vr""#, s(2.0)).expect("a table on SIGUSR1");
    assert!(table.contains(r#""groups":[{"group":"239.2.2.2","expires_in":"#), "{table}");
    // The receiver exits at its timeout and its kernel sends a Leave.
    let (code, _, _) = member.finish();
    let left = Instant::now();
    assert_eq!(code, Some(4));
    let (at, _) =
        daemon.wait_for(r#""event":"group-absent","group":"239.2.2.2""#, s(3.0)).expect("absent after the leave");
    let took = at.duration_since(left);
    // Last Member Query Count (2) × Last Member Query Interval (0.5 s), and a tick.
    assert!(took >= s(0.7) && took <= s(1.3), "absent {took:?} after the leave");
    sleep(s(1.3).saturating_sub(left.elapsed()));
    assert!(!has(&mdb(&sw), "ph1", "239.2.2.2"), "the bridge lowered its timer on our group-specific queries");
    let (code, err) = daemon.stop();
    assert_eq!(code, Some(0));
    assert!(err.contains(" and 2 group-specific queries sent, "), "{err}");
    assert!(err.contains(", 1 leaves, "), "{err}");
}

#[test]
fn the_kernel_bridge_querier_at_a_lower_address_wins_and_ours_takes_over_when_it_stops() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("elect");
    // The bridge queries from its own address, 10.95.0.1, every second.
    #[rustfmt::skip]
    let sw = switch(&mut lab, &["mcast_querier", "1", "mcast_query_use_ifaddr", "1", "mcast_query_interval", "100",
        "mcast_query_response_interval", "50", "mcast_startup_query_interval", "25"]);
    ip(&["-n", &sw, "addr", "add", "10.95.0.1/24", "dev", "br0"]);
    let r = lab.attach(&sw, "r", "10.95.0.10", Some(2));
    sleep(s(1.0));
    let mut daemon = querier(&lab, &r, "vr", &[]);
    assert!(daemon.wait_for(r#""event":"querier","address":"10.95.0.10""#, s(2.0)).is_some());
    assert!(daemon.wait_for(r#""event":"non-querier","querier":"10.95.0.1""#, s(2.0)).is_some(), "{:?}", daemon.seen);
    // It stays quiet while the bridge queries.
    let lines = daemon.collect_for(s(3.0));
    assert!(lines.iter().all(|l| !l.contains(r#""event":"querier""#)), "{lines:?}");
    // The bridge's querier off: ours takes over within the Other Querier Present
    // Interval (2.25 s) of the bridge's last query.
    ip(&["-n", &sw, "link", "set", "br0", "type", "bridge", "mcast_querier", "0"]);
    let off = Instant::now();
    let (at, _) = daemon.wait_for(r#""event":"querier""#, s(4.0)).expect("takes over");
    assert!(at.duration_since(off) <= s(2.5), "took over {:?} after the bridge stopped", at.duration_since(off));
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn of_two_daemons_only_the_lower_address_queries() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("two");
    let sw = switch(&mut lab, &[]);
    let r1 = lab.attach(&sw, "r1", "10.96.0.10", Some(2));
    let r2 = lab.attach(&sw, "r2", "10.96.0.11", Some(2));
    let h1 = lab.attach(&sw, "h1", "10.96.0.21", Some(2));
    let mut high = querier(&lab, &r2, "vr2", &[]);
    let mut low = querier(&lab, &r1, "vr1", &[]);
    assert!(high.wait_for(r#""event":"non-querier","querier":"10.96.0.10""#, s(2.0)).is_some(), "{:?}", high.seen);
    sleep(s(0.5));
    let watch = lab.mcast(&h1, &["watch", "-i", "vh1", "--timeout", "3"]);
    let out = String::from_utf8(watch.stdout).unwrap();
    let queries: Vec<&str> = out.lines().filter(|l| l.contains("query")).collect();
    assert!(queries.len() >= 2, "{out}");
    assert!(queries.iter().all(|l| l.contains(" in   10.96.0.10 > 224.0.0.1  IGMPv2 query general")), "{out}");
    let lines = low.collect_for(s(0.1));
    assert!(low.seen.iter().chain(high.seen.iter()).count() >= 2);
    assert!(lines.iter().all(|l| !l.contains("non-querier")), "{lines:?}");
    assert!(low.seen.iter().all(|(_, l)| !l.contains("non-querier")), "{:?}", low.seen);
    for d in [low, high] {
        assert_eq!(d.stop().0, Some(0));
    }
}

#[test]
fn the_daemon_follows_address_changes_and_link_down_and_up() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("chg");
    let sw = switch(&mut lab, &[]);
    let r = lab.attach(&sw, "r", "10.94.0.10", Some(2));
    let h1 = lab.attach(&sw, "h1", "10.94.0.21", Some(2));
    // Startup queries 0.25 s apart, then one a second.
    let mut daemon = querier(&lab, &r, "vr", &[]);
    let mut watch = lab.stream(&h1, &["watch", "-i", "vh1"]);
    assert!(watch.wait_for("10.94.0.10 > 224.0.0.1  IGMPv2 query general", s(2.0)).is_some());

    ip(&["-n", &r, "addr", "del", "10.94.0.10/24", "dev", "vr"]);
    ip(&["-n", &r, "addr", "add", "10.94.0.20/24", "dev", "vr"]);
    assert!(daemon.wait_err("vr: address 10.94.0.20/24", s(2.0)).is_some());
    // A restart: the general query goes at once, from the new address.
    assert!(watch.wait_for("10.94.0.20 > 224.0.0.1  IGMPv2 query general", s(0.5)).is_some(), "{:?}", watch.seen);

    ip(&["-n", &r, "link", "set", "vr", "down"]);
    assert!(daemon.wait_err("vr: link down", s(2.0)).is_some());
    ip(&["-n", &r, "link", "set", "vr", "up"]);
    assert!(daemon.wait_err("vr: link up", s(2.0)).is_some());
    let up = Instant::now();
    let (at, _) = watch.wait_for("10.94.0.20 > 224.0.0.1  IGMPv2 query general", s(3.0)).expect("queries again");
    assert!(at.duration_since(up) < s(0.7), "startup query {:?} after the link came up", at.duration_since(up));
    watch.stop();
    assert_eq!(daemon.stop().0, Some(0));
}

#[test]
fn the_daemon_sleeps_between_deadlines_and_fails_clearly() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("idle");
    // A link to a namespace that sends nothing: no bridge (a snooping bridge reports
    // 224.0.0.106 from time to time, and an IGMP frame is an input the daemon wakes for).
    let r = lab.namespace("r");
    let x = lab.namespace("x");
    ip(&["link", "add", "vr", "netns", &r, "type", "veth", "peer", "name", "vx", "netns", &x]);
    ip(&["-n", &r, "addr", "add", "10.97.0.10/24", "dev", "vr"]);
    ip(&["-n", &x, "link", "set", "vx", "up"]);
    ip(&["-n", &r, "link", "set", "vr", "up"]);
    // Query Interval 60 s: after the first startup query, nothing is due for 15 s.
    let mut daemon = lab.stream(&r, &["querier", "-i", "vr", "--query-interval", "60", "--json"]);
    assert!(daemon.wait_for(r#""event":"querier""#, s(2.0)).is_some());
    let pid = daemon.child.id();
    let status = || std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let switches = || -> u64 {
        status()
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
            .sum()
    };
    assert!(status().starts_with("Name:\tmcast\n"));
    // The kernel reports a link that came up up to a second late (linkwatch), and that
    // report is an event the daemon wakes for; wait it out.
    sleep(s(1.5));
    let before = switches();
    sleep(s(2.0));
    assert_eq!(switches(), before, "no wake-up in 2 s with nothing due");
    let (code, err) = daemon.stop();
    assert_eq!(code, Some(0), "{err}");

    // Errors: one line, exit 1.
    let out = lab.mcast(&r, &["querier", "-i", "nosuch0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("mcast: no interface is named \"nosuch0\" (there are: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // A copy anyone may run, since the build directory may be private to root.
    let copy = std::env::temp_dir().join(format!("mcast-querier-{}-unprivileged", std::process::id()));
    std::fs::copy(MCAST, &copy).unwrap();
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &r, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["--inh-caps=-all", "--bounding-set=-all"])
        .arg(&copy)
        .args(["querier", "-i", "vr"])
        .output()
        .unwrap();
    std::fs::remove_file(&copy).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("mcast: open an IGMP socket on vr: permission denied") && err.contains("CAP_NET_RAW"),
        "{err}"
    );
}

#[test]
fn invalid_timer_combinations_are_refused_with_exit_2() {
    // No root needed: the configuration is checked before any socket is opened.
    let run = |args: &[&str]| {
        let out = Command::new(MCAST).args([&["querier", "-i", "lo"][..], args].concat()).output().unwrap();
        (out.status.code(), String::from_utf8(out.stderr).unwrap())
    };
    assert_eq!(
        run(&["--query-interval", "10", "--query-response-interval", "10"]),
        (Some(2), "mcast: --query-response-interval must be shorter than --query-interval (RFC 2236 §8.3)\n".into())
    );
    assert_eq!(run(&["--robustness", "0"]), (Some(2), "mcast: --robustness: must not be zero\n".into()));
    assert_eq!(
        run(&["--query-response-interval", "0.05"]),
        (Some(2), "mcast: --query-response-interval: at least 0.1 s (it is sent as a Max Resp)\n".into())
    );
    assert_eq!(
        run(&["--last-member-query-interval", "30"]),
        (Some(2), "mcast: --last-member-query-interval: at most 25.5 s (it is sent as a Max Resp)\n".into())
    );
    assert_eq!(run(&["--query-interval=-1"]), (Some(2), "mcast: --query-interval -1: not a duration\n".into()));
}

/// Sends `frames` on `dev` from inside namespace `ns` (a thread that joins it).
fn inject(ns: &str, dev: &str, frames: Vec<Vec<u8>>) {
    let (ns, dev) = (ns.to_string(), dev.to_string());
    std::thread::spawn(move || {
        let file = std::fs::File::open(format!("/run/netns/{ns}")).unwrap();
        // SAFETY: setns on a descriptor of a network namespace moves this thread only.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&file), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns");
        let socket = mcast::socket::linux::IgmpSocket::open(&dev).unwrap();
        for (i, f) in frames.iter().enumerate() {
            socket.send(f).unwrap();
            if i % 64 == 63 {
                sleep(Duration::from_millis(2));
            }
        }
    })
    .join()
    .unwrap();
}

#[test]
fn the_daemon_tracks_10000_groups() {
    if !lab_available() {
        return;
    }
    use mcast::wire::{frame, igmp::Message};
    use mcast::{GroupAddr, MacAddr};
    let mut lab = Lab::new("many");
    let r = lab.namespace("r");
    let h = lab.namespace("h");
    ip(&["link", "add", "vr", "netns", &r, "type", "veth", "peer", "name", "vh", "netns", &h]);
    for (ns, dev, addr) in [(&r, "vr", "10.98.0.10/16"), (&h, "vh", "10.98.0.21/16")] {
        ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
    }
    let mut daemon = lab.stream(&r, &["querier", "-i", "vr", "--json"]);
    assert!(daemon.wait_for(r#""event":"querier""#, s(2.0)).is_some());
    let pid = daemon.child.id();
    let groups: Vec<GroupAddr> =
        (0..10_000u32).map(|i| GroupAddr::new([239, 3, (i >> 8) as u8, i as u8]).unwrap()).collect();
    let mac = MacAddr([2, 0, 0, 0, 0, 0x21]);
    let src = "10.98.0.21".parse().unwrap();
    let report = |g: &GroupAddr| frame::build_v2(&Message::V2Report { group: *g }, mac, src).unwrap().to_vec();
    let cpu = || -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    };
    let rss = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status.lines().find(|l| l.starts_with("VmRSS:")).unwrap().split_whitespace().nth(1).unwrap().to_string()
    };
    let rss_before = rss();
    let ticks_before = cpu();
    let mut present = std::collections::BTreeSet::new();
    let mut missing: Vec<GroupAddr> = groups.clone();
    for _ in 0..5 {
        inject(&h, "vh", missing.iter().map(report).collect());
        for line in daemon.collect_for(s(1.0)) {
            if let Some(g) = line.split(r#""event":"group-present","group":""#).nth(1) {
                present.insert(g.trim_end_matches("\"}").to_string());
            }
        }
        missing.retain(|g| !present.contains(&g.to_string()));
        if missing.is_empty() {
            break;
        }
    }
    assert!(missing.is_empty(), "{} groups never tracked", missing.len());
    let ticks = cpu() - ticks_before;
    println!(
        "resident: {rss_before} kB without groups, {} kB with 10000; {ticks} clock ticks of CPU for the reports and their events",
        rss()
    );
    let (code, err) = daemon.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains(" reports, "), "{err}");
}

#[test]
fn igmpv1_hosts_are_reported_and_a_proxy_querier_yields_to_a_router() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("v1px");
    let sw = switch(&mut lab, &[]);
    let r1 = lab.attach(&sw, "r1", "10.90.0.10", Some(2));
    let r2 = lab.attach(&sw, "r2", "10.90.0.11", Some(2));
    let h1 = lab.attach(&sw, "h1", "10.90.0.21", Some(1));
    // A proxy querier: its queries come from 0.0.0.0.
    let mut proxy = querier(&lab, &r1, "vr1", &["--source", "0.0.0.0"]);
    assert!(proxy.ready.contains("queries from 0.0.0.0"), "{}", proxy.ready);
    let mut watch = lab.stream(&h1, &["watch", "-i", "vh1"]);
    assert!(watch.wait_for("  in   0.0.0.0 > 224.0.0.1  IGMPv2 query general", s(2.0)).is_some(), "{:?}", watch.seen);
    // An IGMPv1 host (its kernel forced to version 1) joins.
    let member = join(&lab, &h1, "10.90.0.21", "239.4.4.4", "10");
    assert!(proxy.wait_for(r#""event":"v1-hosts","group":"239.4.4.4""#, s(3.0)).is_some(), "{:?}", proxy.seen);
    // A router at a higher address than the proxy's interface starts querying: the proxy
    // yields to it all the same.
    let mut router = querier(&lab, &r2, "vr2", &[]);
    assert!(proxy.wait_for(r#""event":"non-querier","querier":"10.90.0.11""#, s(2.0)).is_some(), "{:?}", proxy.seen);
    assert!(router.collect_for(s(1.5)).iter().all(|l| !l.contains("non-querier")));
    member.signal("TERM");
    member.finish();
    watch.stop();
    for d in [proxy, router] {
        assert_eq!(d.stop().0, Some(0));
    }
}
