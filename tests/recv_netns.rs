//! `mcast send` and `mcast recv` between three namespaces on a bridge, with loss and
//! duplication made by the kernel: nftables rules (`numgen random … drop`, `dup to`)
//! whose counters say exactly how many datagrams they dropped or copied, which `recv`'s
//! counts must match; and reordering made by a relay on packet sockets, which holds
//! back every tenth datagram by a fixed rule.
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

/// A relay between two links of namespace `ns`, on packet sockets, run by a thread that
/// has entered the namespace. Every frame goes across unchanged, except that every
/// `nth` UDP datagram to port 5000 is held back until the next datagram to the same
/// group has gone ahead of it: the reordering netem would make, by a fixed rule.
struct Relay {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Relay {
    fn start(ns: &str, a: &str, b: &str, nth: u64) -> Relay {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (ns, a, b, flag) = (ns.to_string(), a.to_string(), b.to_string(), stop.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let netns = std::fs::File::open(format!("/var/run/netns/{ns}")).expect("open the namespace");
            // SAFETY: setns on a descriptor this thread owns; it moves only this thread.
            assert_eq!(unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&netns), libc::CLONE_NEWNET) }, 0);
            let (fa, fb) = (packet_socket(&a), packet_socket(&b));
            ready_tx.send(()).unwrap();
            relay(fa, fb, nth, || flag.load(Ordering::Relaxed))
        });
        ready_rx.recv().unwrap();
        Relay { stop, thread: Some(thread) }
    }

    /// Stops it; how many held datagrams went out after a later one of their group.
    fn stop(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

/// An AF_PACKET socket on `dev` for every protocol, which sees what arrives on `dev`.
fn packet_socket(dev: &str) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    let protocol = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain system calls on values this function owns; sockaddr_ll is plain data.
    unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(protocol));
        assert!(fd >= 0, "packet socket: {}", std::io::Error::last_os_error());
        let name = std::ffi::CString::new(dev).unwrap();
        let index = libc::if_nametoindex(name.as_ptr());
        assert!(index > 0, "no {dev}");
        let mut addr: libc::sockaddr_ll = std::mem::zeroed();
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = protocol;
        addr.sll_ifindex = index as i32;
        let rc = libc::bind(fd, (&raw const addr).cast(), std::mem::size_of::<libc::sockaddr_ll>() as u32);
        assert_eq!(rc, 0, "bind {dev}: {}", std::io::Error::last_os_error());
        std::os::fd::OwnedFd::from_raw_fd(fd)
    }
}

/// Reads one frame that arrived on `fd` (not one sent from it), if any is waiting.
fn read_frame(fd: &std::os::fd::OwnedFd, buf: &mut [u8]) -> Option<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: `buf` and `from` are live and their lengths are given beside them.
    unsafe {
        let mut from: libc::sockaddr_ll = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        let n = libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
            (&raw mut from).cast(),
            &raw mut len,
        );
        (n > 0 && from.sll_pkttype != libc::PACKET_OUTGOING).then_some(n as usize)
    }
}

fn write_frame(fd: &std::os::fd::OwnedFd, frame: &[u8]) {
    use std::os::fd::AsRawFd;
    // SAFETY: `frame` is live and its length is given beside it.
    let n = unsafe { libc::send(fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
    assert_eq!(n, frame.len() as isize, "relay send: {}", std::io::Error::last_os_error());
}

/// The IPv4 destination of a UDP datagram to port 5000 in an untagged Ethernet frame.
fn udp_5000_group(frame: &[u8]) -> Option<[u8; 4]> {
    let ip = frame.get(14..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    let udp = ip.get(ihl..)?;
    (frame.get(12..14)? == [0x08, 0x00] && ip[9] == 17 && udp.get(2..4)? == 5000u16.to_be_bytes())
        .then(|| [ip[16], ip[17], ip[18], ip[19]])
}

fn relay(a: std::os::fd::OwnedFd, b: std::os::fd::OwnedFd, nth: u64, stop: impl Fn() -> bool) -> u64 {
    use std::collections::HashMap;
    use std::os::fd::AsRawFd;
    let mut held: HashMap<[u8; 4], Vec<u8>> = HashMap::new();
    let (mut seen, mut overtaken) = (0u64, 0u64);
    let mut buf = vec![0u8; 65536];
    while !stop() {
        let mut fds = [a.as_raw_fd(), b.as_raw_fd()].map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
        // SAFETY: `fds` is a live array of two pollfd.
        unsafe { libc::poll(fds.as_mut_ptr(), 2, 50) };
        while let Some(n) = read_frame(&b, &mut buf) {
            write_frame(&a, &buf[..n]);
        }
        while let Some(n) = read_frame(&a, &mut buf) {
            let Some(group) = udp_5000_group(&buf[..n]) else {
                write_frame(&b, &buf[..n]);
                continue;
            };
            // The sender's veth leaves the UDP checksum to the hardware it does not
            // have, so a captured frame carries a partial one: send it without (0).
            let udp = 14 + usize::from(buf[14] & 0x0f) * 4;
            buf[udp + 6..udp + 8].fill(0);
            let frame = &buf[..n];
            seen += 1;
            match held.remove(&group) {
                None if seen % nth == 0 => {
                    held.insert(group, frame.to_vec());
                }
                None => write_frame(&b, frame),
                Some(earlier) => {
                    write_frame(&b, frame);
                    write_frame(&b, &earlier);
                    overtaken += 1;
                }
            }
        }
    }
    for frame in held.values() {
        write_frame(&b, frame);
    }
    overtaken
}

#[test]
fn recv_counts_the_reordering_of_a_relay_exactly() {
    if !lab_available() {
        return;
    }
    let mut lab = Lab::new("ord");
    let (sw, [h1, h2, _h3]) = lan(&mut lab);
    // Take h1's port off the bridge and put the relay between it and a new port.
    ip(&["-n", &sw, "link", "set", "p1", "nomaster"]);
    ip(&["-n", &sw, "link", "add", "r0", "type", "veth", "peer", "name", "r1"]);
    ip(&["-n", &sw, "link", "set", "r1", "master", "br0"]);
    for dev in ["r0", "r1"] {
        ip(&["-n", &sw, "link", "set", dev, "up"]);
    }
    let relay = Relay::start(&sw, "p1", "r0", 10);
    let r2 = lab.spawn(&h2, &["recv", "239.7.1.1+4:5000", "-i", "e0", "--timeout", "3", "--quiet", "--json"]);
    let sent = lab.mcast(&h1, &["send", "239.7.1.1+4:5000", "-i", "e0", "--rate", "2000", "-n", "250", "--quiet"]);
    assert_eq!(sent.status.code(), Some(0), "{}", String::from_utf8_lossy(&sent.stderr));
    // Stopping the relay sends what it still holds: the last datagram of a group, which
    // nothing overtook.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let overtaken = relay.stop();
    let (code, out, err) = r2.finish();
    assert_eq!(code, Some(0), "{err}");
    let rows = summaries(&out);
    assert_eq!(rows.len(), 4, "{out}");
    let mut reordered = 0;
    for row in &rows {
        assert_eq!((field(row, "received"), field(row, "expected")), (250, 250), "{row}");
        assert_eq!((field(row, "lost"), field(row, "duplicated"), field(row, "late")), (0, 0, 0), "{row}");
        reordered += field(row, "reordered");
    }
    // One in ten of 1 000 datagrams was held (a round of four groups every 4
    // datagrams: each second group), and all but the very last were overtaken.
    assert_eq!(overtaken, 99);
    assert_eq!(reordered, overtaken, "{out}");
}
