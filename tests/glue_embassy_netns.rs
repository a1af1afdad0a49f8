//! The embassy glue against the Linux kernel: an embassy-net 0.9 stack behind
//! `McastDriver` on an embassy-net-tuntap TAP device, the TAP a port of a Linux bridge
//! with IGMP snooping and the bridge's querier on, in a network namespace the test makes.
//! A second namespace, joined to the bridge by a veth pair, is the kernel host that
//! sends to the group and pings the stack over IPv6.
//!
//! Needs root, `ip` and `bridge` (iproute2) and /dev/net/tun. Without them the tests
//! print why and skip, except under `CI=true`, where they fail. Every namespace is
//! named after the test and the process id and is deleted when the test ends, also
//! when it fails (the TAP and the veth pair go with it).
#![cfg(target_os = "linux")]

#[path = "common/executor.rs"]
mod executor;

use std::cell::RefCell;
use std::fs::File;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, UdpSocket as StdUdpSocket};
use std::os::fd::AsRawFd;
use std::pin::{Pin, pin};
use std::process::Command;
use std::rc::Rc;
use std::task::Context;
use std::time::Duration;

use embassy_futures::select::{Either, select};
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{Config, ConfigV6, Ipv4Cidr, Ipv6Cidr, StackResources, StaticConfigV4, StaticConfigV6, driver};
use embassy_net_tuntap::TunTapDevice;
use embassy_time::Timer;
use executor::block_on;
use mcast::MacAddr;
use mcast::filter::{Capabilities, HashScheme, MulticastFilter, Program};
use mcast::glue::embassy::{IPV6_ALL_NODES_MAC, McastDriver, McastHandle};
use mcast::membership::HostConfig;

const GROUP: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);
const PORT: u16 = 5000;
const STACK_V4: Ipv4Addr = Ipv4Addr::new(10, 98, 0, 3);
const STACK_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 3);
const KERNEL_V4: Ipv4Addr = Ipv4Addr::new(10, 98, 0, 2);
const STACK_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x03];
/// The bridge querier's Query Interval (1 s) and Max Resp (0.5 s); a port's entry
/// expires 3 s after the last report, so only repeated answers keep it.
const QUERY_INTERVAL_MS: u64 = 1000;
const LAN9118: Capabilities = Capabilities::new(0, Some(HashScheme::Lan9118), true);

/// Whether the lab can be built here; if not, says why (and fails under CI).
fn lab_available() -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false);
    let tool = |t: &str| Command::new(t).arg("-V").output().is_ok_and(|o| o.status.success());
    let why = if !root {
        "not running as root (network namespaces need CAP_SYS_ADMIN)"
    } else if !tool("ip") || !tool("bridge") {
        "`ip` or `bridge` (iproute2) is not installed"
    } else if !std::path::Path::new("/dev/net/tun").exists() {
        "/dev/net/tun is missing"
    } else {
        return true;
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true: the namespace tests must run, but {why}");
    }
    println!("skipped: {why}");
    false
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// Network namespaces deleted (with every link in them) when dropped.
struct Lab {
    namespaces: Vec<String>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Runs `f` with this thread in namespace `ns`, and comes back: sockets and devices
/// made inside stay in `ns`.
fn in_namespace<T>(ns: &str, f: impl FnOnce() -> T) -> T {
    let home = File::open("/proc/thread-self/ns/net").unwrap();
    let target = File::open(format!("/var/run/netns/{ns}")).unwrap();
    assert_eq!(unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) }, 0, "setns {ns}");
    let result = f();
    assert_eq!(unsafe { libc::setns(home.as_raw_fd(), libc::CLONE_NEWNET) }, 0, "setns back");
    result
}

/// A TAP device with a NIC's multicast hash filter in front: multicast frames the
/// program does not pass never reach the wrapper (unicast and broadcast always do).
struct FilteredTap {
    tap: TunTapDevice,
    program: Rc<RefCell<Option<Program>>>,
}

struct Rx(Vec<u8>);

impl driver::RxToken for Rx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(mut self, f: F) -> R {
        f(&mut self.0)
    }
}

impl driver::Driver for FilteredTap {
    type RxToken<'a> = Rx;
    type TxToken<'a> = <TunTapDevice as driver::Driver>::TxToken<'a>;

    fn receive(&mut self, cx: &mut Context) -> Option<(Rx, Self::TxToken<'_>)> {
        loop {
            // Looked at first, then taken again: the TAP's token is consumed to read.
            let frame = {
                let (rx, _tx) = self.tap.receive(cx)?;
                driver::RxToken::consume(rx, |b| b.to_vec())
            };
            let dst = MacAddr(frame[..6].try_into().unwrap());
            let passes = !dst.is_multicast()
                || dst.is_broadcast()
                || self.program.borrow().as_ref().is_none_or(|p| p.passes(dst));
            if passes {
                let tx = self.tap.transmit(cx)?;
                return Some((Rx(frame), tx));
            }
        }
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<Self::TxToken<'_>> {
        self.tap.transmit(cx)
    }

    fn link_state(&mut self, cx: &mut Context) -> driver::LinkState {
        self.tap.link_state(cx)
    }

    fn capabilities(&self) -> driver::Capabilities {
        self.tap.capabilities()
    }

    fn hardware_address(&self) -> driver::HardwareAddress {
        self.tap.hardware_address()
    }
}

/// The filter side of [`FilteredTap`].
struct ModelNic(Rc<RefCell<Option<Program>>>);

impl MulticastFilter for ModelNic {
    type Error = core::convert::Infallible;

    fn capabilities(&self) -> Capabilities {
        LAN9118
    }

    fn apply(&mut self, program: &Program) -> nb::Result<(), Self::Error> {
        *self.0.borrow_mut() = Some(program.clone());
        Ok(())
    }
}

/// Namespace `b` holds bridge br0 (snooping, querier of IGMP version `version`) with
/// the TAP `tap0` and `vb` as ports; namespace `k` holds `vk`, the other end of `vb`.
/// Returns the namespaces and the TAP device.
fn build_lab(test: &str, version: u8) -> (Lab, String, String, TunTapDevice) {
    let pid = std::process::id();
    let b = format!("mce{pid}{test}b");
    let k = format!("mce{pid}{test}k");
    let mut lab = Lab { namespaces: Vec::new() };
    for ns in [&b, &k] {
        ip(&["netns", "add", ns]);
        lab.namespaces.push(ns.clone());
        ip(&["-n", ns, "link", "set", "lo", "up"]);
    }
    let mut tap = in_namespace(&b, || TunTapDevice::new("tap0").expect("create tap0"));
    tap.set_hardware_address(STACK_MAC);
    ip(&["link", "add", "vk", "netns", &k, "type", "veth", "peer", "name", "vb", "netns", &b]);
    let version = version.to_string();
    #[rustfmt::skip]
    ip(&["-n", &b, "link", "add", "br0", "type", "bridge", "stp_state", "0",
         "mcast_snooping", "1", "mcast_querier", "1", "mcast_igmp_version", &version,
         // smoltcp answers MLDv2 queries only: an MLDv1 querier would leave the
         // stack's solicited-node group out of the mdb, and the bridge would not
         // forward neighbour solicitations to it.
         "mcast_mld_version", "2",
         "mcast_startup_query_interval", "25", "mcast_query_interval", "100",
         "mcast_query_response_interval", "50", "mcast_membership_interval", "300",
         "mcast_last_member_interval", "50"]);
    for port in ["tap0", "vb"] {
        ip(&["-n", &b, "link", "set", port, "master", "br0"]);
        ip(&["-n", &b, "link", "set", port, "up"]);
    }
    ip(&["-n", &b, "link", "set", "br0", "up"]);
    ip(&["-n", &k, "addr", "add", &format!("{KERNEL_V4}/24"), "dev", "vk"]);
    ip(&["-n", &k, "addr", "add", "fd00::2/64", "dev", "vk", "nodad"]);
    ip(&["-n", &k, "link", "set", "vk", "up"]);
    ip(&["-n", &k, "route", "add", "224.0.0.0/4", "dev", "vk"]);
    (lab, b, k, tap)
}

/// Whether the bridge in `b` has an mdb entry for `GROUP` on `tap0`.
fn in_mdb(b: &str) -> bool {
    let out = Command::new("bridge").args(["-n", b, "mdb", "show", "dev", "br0"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().any(|l| l.contains("port tap0") && l.contains(&format!("grp {GROUP}")))
}

/// Sends `payload` to `GROUP:PORT` from namespace `k`, with TTL 1.
fn send_from(k: &str, payload: &[u8]) {
    let socket = in_namespace(k, || StdUdpSocket::bind((KERNEL_V4, 0)).unwrap());
    socket.set_multicast_ttl_v4(1).unwrap();
    socket.send_to(payload, (GROUP, PORT)).unwrap();
}

/// Pings `STACK_V6` from namespace `k` with a raw ICMPv6 socket: whether an echo reply
/// with our identifier came back within `timeout`. Blocking: run it on its own thread.
fn ping6_from(k: &str, timeout: Duration) -> bool {
    let fd = in_namespace(k, || unsafe { libc::socket(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6) });
    assert!(fd >= 0, "raw ICMPv6 socket");
    let tv = libc::timeval { tv_sec: 0, tv_usec: 200_000 };
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    let mut to: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    to.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    to.sin6_addr.s6_addr = STACK_V6.octets();
    // Echo request, identifier 0x4d43, sequence 1; the kernel fills in the checksum.
    let request = [128u8, 0, 0, 0, 0x4d, 0x43, 0, 1, b'p', b'i', b'n', b'g'];
    let start = std::time::Instant::now();
    let mut replied = false;
    while !replied && start.elapsed() < timeout {
        let sent = unsafe {
            libc::sendto(
                fd,
                request.as_ptr().cast(),
                request.len(),
                0,
                (&to as *const libc::sockaddr_in6).cast(),
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        };
        assert_eq!(sent, request.len() as isize, "sendto: {}", std::io::Error::last_os_error());
        let mut buf = [0u8; 256];
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        replied = n >= 8 && buf[0] == 129 && buf[4..6] == [0x4d, 0x43];
    }
    unsafe { libc::close(fd) };
    replied
}

type Handle = McastHandle<8>;

/// The whole proof for one querier version.
fn the_group_lives_in_the_bridge_mdb_and_ipv6_works(test: &str, version: u8) {
    if !lab_available() {
        return;
    }
    let (_lab, b, k, tap) = build_lab(test, version);
    let program = Rc::new(RefCell::new(None));
    let handle: &'static Handle = Box::leak(Box::new(McastHandle::new(LAN9118, HostConfig::default(), 3).unwrap()));
    let nic = FilteredTap { tap, program: program.clone() };
    let driver = McastDriver::new(nic, ModelNic(program.clone()), handle).unwrap();
    let mut config = Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(STACK_V4, 24),
        gateway: None,
        dns_servers: Default::default(),
    });
    config.ipv6 = ConfigV6::Static(StaticConfigV6 {
        address: Ipv6Cidr::new(STACK_V6, 64),
        gateway: None,
        dns_servers: Default::default(),
    });
    let resources: &'static mut StackResources<4> = Box::leak(Box::new(StackResources::new()));
    let (stack, mut runner) = embassy_net::new(driver, config, resources, 3);
    let mut tasks: Vec<Pin<Box<dyn Future<Output = ()>>>> = vec![
        Box::pin(async move {
            runner.run().await;
        }),
        Box::pin(async move {
            handle.follow(stack).await;
        }),
    ];
    let body = async {
        let meta = || Box::leak(vec![PacketMetadata::EMPTY; 8].into_boxed_slice());
        let buf = || Box::leak(vec![0u8; 2048].into_boxed_slice());
        let mut socket = UdpSocket::new(stack, meta(), buf(), meta(), buf());
        socket.bind(PORT).unwrap();
        Timer::after_millis(100).await;
        handle.join_with(stack, GROUP).unwrap();

        // The report puts the group in the mdb.
        let mut waited = 0;
        while !in_mdb(&b) {
            assert!(waited < 3000, "no mdb entry for {GROUP} on tap0 after 3 s");
            Timer::after_millis(100).await;
            waited += 100;
        }
        // It stays for 12 query intervals: each query is answered before the 3 s
        // membership interval runs out.
        for i in 0..24 {
            Timer::after_millis(QUERY_INTERVAL_MS / 2).await;
            assert!(in_mdb(&b), "the mdb entry expired after {} ms", (i + 1) * QUERY_INTERVAL_MS / 2);
        }
        assert!(handle.host_stats().queries >= 10, "{:?}", handle.host_stats());

        // A datagram from the kernel host reaches the stack's socket.
        send_from(&k, b"from the kernel");
        let mut data = [0u8; 64];
        match select(socket.recv_from(&mut data), Timer::after_millis(2000)).await {
            Either::First(Ok((n, meta))) => {
                assert_eq!(&data[..n], b"from the kernel");
                assert_eq!(meta.local_address, Some(GROUP.into()));
            }
            Either::First(Err(e)) => panic!("{e:?}"),
            Either::Second(()) => panic!("the datagram to {GROUP} never arrived"),
        }

        // ping6, with the NIC filter programmed (not passing all multicast).
        let p = program.borrow().clone().expect("the NIC was programmed");
        assert!(!p.pass_all_multicast());
        assert!(p.passes(IPV6_ALL_NODES_MAC));
        let pinger = {
            let k = k.clone();
            std::thread::spawn(move || ping6_from(&k, Duration::from_secs(5)))
        };
        while !pinger.is_finished() {
            Timer::after_millis(50).await;
        }
        assert!(pinger.join().unwrap(), "no echo reply from {STACK_V6}");
        assert!(handle.stats().ipv6_macs_learned >= 1, "{:?}", handle.stats());

        // The Leave takes the entry out.
        assert_eq!(handle.leave_with(stack, GROUP), Ok(true));
        let mut waited = 0;
        while in_mdb(&b) {
            assert!(waited < 3000, "the mdb entry outlived the leave by 3 s");
            Timer::after_millis(100).await;
            waited += 100;
        }
        assert_eq!(handle.host_stats().leaves_sent, 1);
    };
    let mut body = pin!(body);
    block_on(std::future::poll_fn(|cx| {
        for t in tasks.iter_mut() {
            let _ = t.as_mut().poll(cx);
        }
        body.as_mut().poll(cx)
    }));
}

#[test]
fn igmpv2_querier_bridge() {
    the_group_lives_in_the_bridge_mdb_and_ipv6_works("v2", 2);
}

#[test]
fn igmpv3_querier_bridge() {
    the_group_lives_in_the_bridge_mdb_and_ipv6_works("v3", 3);
}
