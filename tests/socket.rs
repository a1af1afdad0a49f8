//! The socket adapter on the loopback interface: join, send, receive, options, reference
//! counts, the membership limit, and the software checks on received datagrams.
//!
//! Every test uses its own groups and ports and sends only on `lo` (127.0.0.1). The
//! same tests run on Windows (under Wine in CI); those that check Windows-only
//! semantics say why they skip under Wine.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use mcast::GroupAddr;
use mcast::socket::{Datagram, ErrorKind, Interface, MulticastSocket};

mod common;
use common::g;

const LO: Interface = Interface::Addr(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(400);

fn receiver(group: GroupAddr) -> MulticastSocket {
    let mut socket = MulticastSocket::bind(0).unwrap();
    assert!(socket.join(group, LO).unwrap());
    socket.set_read_timeout(Some(WAIT)).unwrap();
    socket
}

fn sender() -> MulticastSocket {
    let mut socket = MulticastSocket::bind(0).unwrap();
    socket.set_interface(LO).unwrap();
    socket
}

fn recv_text(socket: &MulticastSocket) -> (String, Datagram) {
    let mut buf = [0u8; 1500];
    let d = socket.recv(&mut buf).unwrap();
    (String::from_utf8_lossy(&buf[..d.len]).into_owned(), d)
}

fn expect_nothing(socket: &MulticastSocket) {
    socket.set_read_timeout(Some(QUIET)).unwrap();
    let mut buf = [0u8; 1500];
    match socket.recv(&mut buf) {
        Err(e) => assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}"),
        Ok(d) => panic!("unexpected datagram {:?}: {:?}", d, String::from_utf8_lossy(&buf[..d.len])),
    }
    socket.set_read_timeout(Some(WAIT)).unwrap();
}

/// Whether this Windows program runs under Wine, which implements Winsock on Linux's
/// stack and so shows Linux semantics.
#[cfg(windows)]
fn under_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    // SAFETY: both strings are NUL-terminated literals; the calls only read them, and
    // the returned module handle stays valid for the life of the process (ntdll is
    // never unloaded).
    #[allow(unsafe_code)]
    unsafe {
        let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
        !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
    }
}

#[cfg(not(windows))]
fn under_wine() -> bool {
    false
}

/// Wine turns Linux's error codes into Winsock's its own way: ENOBUFS and EADDRNOTAVAIL
/// from a join both come back as WSAEINVAL, which on Windows means a bad argument. The
/// mapping of the real Windows codes is checked by the unit tests of `socket::windows`.
fn wine_loses_the_error_code(what: &str, e: &mcast::socket::Error) -> bool {
    if under_wine() {
        println!(
            "under Wine: {what} gave {e}; Wine reports Linux's error code as WSAEINVAL, so its kind is not checked"
        );
        assert!(e.raw_os_error().is_some());
        return true;
    }
    false
}

#[test]
fn loopback_join_send_receive() {
    let group = g("239.77.0.1");
    let rx = receiver(group);
    let tx = sender();
    assert_eq!(tx.send_to(b"hello", group, rx.local_port()).unwrap(), 5);
    let (text, d) = recv_text(&rx);
    assert_eq!(text, "hello");
    assert_eq!(d.source, SocketAddrV4::new(Ipv4Addr::LOCALHOST, tx.local_port()));
    assert_eq!(d.destination, Some(group.to_ipv4()));
    assert_eq!(d.group(), Some(group));
    #[cfg(target_os = "linux")]
    assert_eq!(d.interface_index, Some(1), "lo");
}

#[test]
fn options_are_set_and_read_back() {
    let mut s = MulticastSocket::bind(0).unwrap();
    assert_ne!(s.local_port(), 0);
    assert_eq!(s.ttl().unwrap(), 1, "TTL 1 by default: multicast stays on the link");
    s.set_ttl(17).unwrap();
    assert_eq!(s.ttl().unwrap(), 17);
    s.set_ttl(255).unwrap();
    assert_eq!(s.ttl().unwrap(), 255);
    assert!(s.loopback().unwrap(), "local copies on by default");
    s.set_loopback(false).unwrap();
    assert!(!s.loopback().unwrap());
    s.set_loopback(true).unwrap();
    assert!(s.loopback().unwrap());
    assert_eq!(s.interface(), Interface::Default);
    s.set_interface(LO).unwrap();
    assert_eq!(s.interface(), LO);
    s.set_interface(Interface::Default).unwrap();
    assert_eq!(s.interface(), Interface::Default);
    // The raw socket sees the same values.
    assert_eq!(s.socket().multicast_ttl_v4().unwrap(), 255);
    assert!(s.socket().multicast_loop_v4().unwrap());
}

#[cfg(target_os = "linux")]
#[test]
fn linux_sockets_have_multicast_all_off() {
    let s = MulticastSocket::bind(0).unwrap();
    assert!(!s.socket().multicast_all_v4().unwrap());
}

#[test]
fn joins_are_reference_counted_and_leaves_idempotent() {
    let group = g("239.77.0.2");
    let mut rx = receiver(group);
    assert!(!rx.join(group, LO).unwrap(), "second join only counts");
    assert_eq!(rx.memberships().len(), 1);
    assert_eq!(rx.memberships()[0].count, 2);
    assert!(!rx.leave(group, LO).unwrap(), "one join remains");
    let tx = sender();
    tx.send_to(b"still joined", group, rx.local_port()).unwrap();
    assert_eq!(recv_text(&rx).0, "still joined");
    assert!(rx.leave(group, LO).unwrap(), "the last leave reaches the OS");
    assert!(rx.memberships().is_empty());
    assert!(!rx.leave(group, LO).unwrap(), "leaving what is not joined does nothing");
    // Another socket keeps the group joined on the host (Windows refuses a send on
    // loopback when nobody joined); this one must no longer see it.
    let other = receiver(group);
    tx.send_to(b"after leave", group, rx.local_port()).unwrap();
    expect_nothing(&rx);
    drop(other);
}

#[test]
fn other_sockets_groups_are_not_delivered() {
    // Two sockets on one port, each in its own group. With Linux's default
    // IP_MULTICAST_ALL, each would receive both groups.
    let (g1, g2) = (g("239.77.0.3"), g("239.77.0.4"));
    let a = receiver(g1);
    let mut b = MulticastSocket::bind(a.local_port()).unwrap();
    b.join(g2, LO).unwrap();
    b.set_read_timeout(Some(WAIT)).unwrap();
    let tx = sender();
    tx.send_to(b"to g2", g2, a.local_port()).unwrap();
    assert_eq!(recv_text(&b).0, "to g2");
    expect_nothing(&a);
    tx.send_to(b"to g1", g1, a.local_port()).unwrap();
    let (text, d) = recv_text(&a);
    assert_eq!((text.as_str(), d.group()), ("to g1", Some(g1)));
    expect_nothing(&b);
}

#[test]
fn the_membership_limit_gives_our_error_and_earlier_memberships_keep_working() {
    let mut rx = MulticastSocket::bind(0).unwrap();
    rx.set_read_timeout(Some(WAIT)).unwrap();
    let mut joined = Vec::new();
    let mut error = None;
    for i in 1..=64u8 {
        let group = GroupAddr::new([239, 78, 0, i]).unwrap();
        match rx.join(group, LO) {
            Ok(changed) => {
                assert!(changed);
                joined.push(group);
            }
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let Some(error) = error else {
        #[cfg(not(windows))]
        panic!("Linux caps memberships per socket (igmp_max_memberships), but 64 joins succeeded");
        #[cfg(windows)]
        {
            println!("skipped: no per-socket membership limit in 64 joins; Windows documents none");
            return;
        }
    };
    assert!(std::error::Error::source(&error).is_some(), "the OS error is kept");
    if !wine_loses_the_error_code("the 21st join", &error) {
        assert_eq!(error.kind(), ErrorKind::TooManyMemberships, "{error}");
        assert!(error.to_string().contains("too many memberships"), "{error}");
    }
    #[cfg(target_os = "linux")]
    {
        let limit: usize = std::fs::read_to_string("/proc/sys/net/ipv4/igmp_max_memberships")
            .map_or(20, |s| s.trim().parse().unwrap());
        assert_eq!(joined.len(), limit);
        assert_eq!(error.raw_os_error(), Some(105), "ENOBUFS");
        assert!(error.to_string().ends_with("raise it with sysctl"), "the hint names the sysctl: {error}");
    }
    assert_eq!(rx.memberships().len(), joined.len(), "the failed join is not recorded");
    let tx = sender();
    for (i, group) in [joined[0], joined[joined.len() - 1]].into_iter().enumerate() {
        tx.send_to(format!("m{i}").as_bytes(), group, rx.local_port()).unwrap();
        let (text, d) = recv_text(&rx);
        assert_eq!((text, d.group()), (format!("m{i}"), Some(group)));
    }
    // Leaving one makes room for one more.
    assert!(rx.leave(joined[0], LO).unwrap());
    assert!(rx.join(g("239.78.1.1"), LO).unwrap());
}

#[test]
fn source_specific_joins_filter_other_sources() {
    let group = g("232.77.0.1");
    let mut rx = MulticastSocket::bind(0).unwrap();
    rx.set_read_timeout(Some(WAIT)).unwrap();
    assert!(rx.join_source(group, Ipv4Addr::LOCALHOST, LO).unwrap());
    assert!(!rx.join_source(group, Ipv4Addr::LOCALHOST, LO).unwrap());
    assert_eq!(rx.memberships()[0].source, Some(Ipv4Addr::LOCALHOST));
    assert!(rx.accepts(group, Ipv4Addr::LOCALHOST));
    assert!(!rx.accepts(group, Ipv4Addr::new(127, 0, 0, 2)));
    let tx = sender();
    tx.send_to(b"from 127.0.0.1", group, rx.local_port()).unwrap();
    assert_eq!(recv_text(&rx).0, "from 127.0.0.1");
    if under_wine() {
        println!(
            "skipped under Wine: a UDP socket bound to 127.0.0.2 sends from 127.0.0.1 there \
             (Wine binds to 0.0.0.0 and the device), so no second source can be made"
        );
        return;
    }
    // A sender at 127.0.0.2 is not the joined source.
    let other = UdpSocket::bind("127.0.0.2:0").unwrap();
    socket2::SockRef::from(&other).set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    other.send_to(b"from 127.0.0.2", SocketAddrV4::new(group.to_ipv4(), rx.local_port())).unwrap();
    expect_nothing(&rx);
    assert!(!rx.leave_source(group, Ipv4Addr::LOCALHOST, LO).unwrap());
    assert!(rx.leave_source(group, Ipv4Addr::LOCALHOST, LO).unwrap());
}

#[test]
fn loopback_off_receivers_drop_local_copies() {
    // On `lo` IP_MULTICAST_LOOP changes nothing on Linux; the adapter's software check
    // at the receiver still drops datagrams from this host's addresses.
    let group = g("239.77.0.5");
    let mut rx = receiver(group);
    let tx = sender();
    tx.send_to(b"loop on", group, rx.local_port()).unwrap();
    assert_eq!(recv_text(&rx).0, "loop on");
    rx.set_loopback(false).unwrap();
    tx.send_to(b"loop off", group, rx.local_port()).unwrap();
    expect_nothing(&rx);
}

#[test]
fn unicast_datagrams_to_the_port_come_with_no_group() {
    let rx = receiver(g("239.77.0.6"));
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(b"unicast", ("127.0.0.1", rx.local_port())).unwrap();
    let (text, d) = recv_text(&rx);
    assert_eq!(text, "unicast");
    assert_eq!(d.destination, Some(Ipv4Addr::LOCALHOST));
    assert_eq!(d.group(), None);
}

#[test]
fn datagrams_come_with_the_ttl_they_arrived_with() {
    let group = g("239.77.0.16");
    let rx = receiver(group);
    let mut tx = sender();
    tx.set_ttl(7).unwrap();
    tx.send_to(b"ttl 7", group, rx.local_port()).unwrap();
    let (_, d) = recv_text(&rx);
    let unicast = UdpSocket::bind("127.0.0.1:0").unwrap();
    unicast.set_ttl(9).unwrap();
    unicast.send_to(b"ttl 9", ("127.0.0.1", rx.local_port())).unwrap();
    let (_, u) = recv_text(&rx);
    if d.ttl.is_none() && under_wine() {
        println!("under Wine: no IP_TTL control message; the TTL is not checked");
        return;
    }
    // Loopback does not route: the TTL arrives as it was sent.
    assert_eq!(d.ttl, Some(7), "multicast");
    assert_eq!(u.ttl, Some(9), "unicast");
}

#[test]
fn addresses_that_cannot_be_joined_are_refused_before_the_os() {
    let mut s = MulticastSocket::bind(0).unwrap();
    let e = s.join(GroupAddr::BASE, LO).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotMulticast);
    assert!(std::error::Error::source(&e).is_none());
    assert_eq!(e.to_string(), "join 224.0.0.0 on 127.0.0.1: not a joinable multicast group or not a unicast source");
    let e = s.join_source(g("232.1.1.1"), Ipv4Addr::new(224, 0, 0, 1), LO).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotMulticast);
    assert_eq!(s.send_to(b"x", GroupAddr::BASE, 9).unwrap_err().kind(), ErrorKind::NotMulticast);
    assert!(s.memberships().is_empty());
}

#[test]
fn unknown_interfaces_are_no_such_interface() {
    let mut s = MulticastSocket::bind(0).unwrap();
    // 203.0.113.0/24 is TEST-NET-3: never an address of this host.
    let e = s.join(g("239.77.0.7"), Interface::Addr(Ipv4Addr::new(203, 0, 113, 77))).unwrap_err();
    assert!(e.raw_os_error().is_some());
    if !wine_loses_the_error_code("a join on a foreign address", &e) {
        assert_eq!(e.kind(), ErrorKind::NoSuchInterface, "{e}");
    }
    assert!(s.memberships().is_empty());
    #[cfg(target_os = "linux")]
    {
        let e = s.join(g("239.77.0.7"), Interface::Index(999_999)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NoSuchInterface, "{e}");
        assert_eq!(mcast::socket::interface_index("no-such-if0").unwrap_err().kind(), ErrorKind::NoSuchInterface);
    }
}

#[test]
fn recv_times_out() {
    let rx = receiver(g("239.77.0.8"));
    rx.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let started = std::time::Instant::now();
    let e = rx.recv(&mut [0u8; 16]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert!(started.elapsed() >= Duration::from_millis(90));
}

#[test]
fn join_and_send_by_interface_index() {
    #[cfg(windows)]
    if under_wine() {
        println!(
            "skipped under Wine: Windows takes an interface index as the address 0.0.0.idx, \
             which Wine's Linux-backed Winsock rejects (WSAEINVAL)"
        );
        return;
    }
    let index = if cfg!(windows) {
        mcast::socket::interface_index("loopback_0").unwrap()
    } else {
        mcast::socket::interface_index("lo").unwrap()
    };
    let group = g("239.77.0.9");
    let mut rx = MulticastSocket::bind(0).unwrap();
    rx.set_read_timeout(Some(WAIT)).unwrap();
    assert!(rx.join(group, Interface::Index(index)).unwrap());
    let mut tx = MulticastSocket::bind(0).unwrap();
    tx.set_interface(Interface::Index(index)).unwrap();
    assert_eq!(tx.interface(), Interface::Index(index));
    tx.send_to(b"by index", group, rx.local_port()).unwrap();
    let (text, d) = recv_text(&rx);
    assert_eq!((text.as_str(), d.group()), ("by index", Some(group)));
    assert!(rx.leave(group, Interface::Index(index)).unwrap());
}

#[cfg(windows)]
#[test]
fn windows_loopback_is_decided_by_the_receiver() {
    if under_wine() {
        println!(
            "skipped under Wine: on Windows IP_MULTICAST_LOOP applies to the receiving socket; \
             Wine runs on Linux's stack, where it applies to the sender"
        );
        return;
    }
    // A raw sender with loop off still reaches an adapter receiver with loop on.
    let group = g("239.77.0.10");
    let rx = receiver(group);
    let raw = UdpSocket::bind("0.0.0.0:0").unwrap();
    let r = socket2::SockRef::from(&raw);
    r.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    r.set_multicast_loop_v4(false).unwrap();
    raw.send_to(b"receiver decides", SocketAddrV4::new(group.to_ipv4(), rx.local_port())).unwrap();
    assert_eq!(recv_text(&rx).0, "receiver decides");
}

#[test]
fn a_batch_takes_every_queued_datagram_in_order_and_keeps_the_checks() {
    use mcast::socket::RecvBatch;
    let group = g("239.77.3.1");
    let rx = receiver(group);
    let tx = sender();
    for i in 0..10 {
        tx.send_to(format!("datagram {i}").as_bytes(), group, rx.local_port()).unwrap();
    }
    // Linux takes what is queued in one call; elsewhere a batch holds one datagram.
    let per_call = if cfg!(target_os = "linux") { 4 } else { 1 };
    let mut batch = RecvBatch::new(4, 64);
    let mut texts = Vec::new();
    while texts.len() < 10 {
        let n = rx.recv_batch(&mut batch).unwrap();
        assert_eq!(n, per_call.min(10 - texts.len()), "after {texts:?}");
        assert_eq!(batch.len(), n);
        for (d, payload) in batch.iter() {
            assert_eq!(d.group(), Some(group));
            assert_eq!(d.source.port(), tx.local_port());
            assert_eq!(d.len, payload.len());
            texts.push(String::from_utf8(payload.to_vec()).unwrap());
        }
    }
    assert_eq!(texts, (0..10).map(|i| format!("datagram {i}")).collect::<Vec<_>>());

    // Longer datagrams are cut to the batch's size.
    tx.send_to(&[7u8; 100], group, rx.local_port()).unwrap();
    rx.recv_batch(&mut batch).unwrap();
    assert_eq!(batch.iter().map(|(d, p)| (d.len, p.len())).collect::<Vec<_>>(), [(64, 64)]);

    // With loopback off, this host's own datagrams are dropped: the batch waits on.
    let mut quiet = receiver(g("239.77.3.2"));
    quiet.set_loopback(false).unwrap();
    quiet.set_read_timeout(Some(QUIET)).unwrap();
    tx.send_to(b"local", g("239.77.3.2"), quiet.local_port()).unwrap();
    let e = quiet.recv_batch(&mut batch).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
}
