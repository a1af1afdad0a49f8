//! The embassy glue end to end: embassy-net 0.9 stacks behind `McastDriver`, on an
//! in-memory Ethernet whose ports model a NIC's multicast hash filter, with our
//! `Querier` on the same wire. Every frame crosses the wire as bytes; time is real
//! (embassy-time's std driver), with intervals shortened to fractions of a second.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use embassy_futures::select::{Either, select};
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{Config, ConfigV4, ConfigV6, Ipv4Cidr, Ipv6Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_net::{StaticConfigV6, driver};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_time::{Instant as EmbassyInstant, Timer};
use mcast::filter::{Capabilities, FilterError, HashScheme, MulticastFilter, Program};
use mcast::glue::embassy::{Error, IPV6_ALL_NODES_MAC, McastDriver, McastHandle};
use mcast::membership::{HostConfig, Instant as HostInstant, IpMeta, MembershipError, Querier, QuerierConfig};
use mcast::wire::FrameRepr;
use mcast::wire::igmp::Message;
use mcast::{GroupAddr, MacAddr};

#[path = "common/executor.rs"]
mod executor;

use executor::block_on;

const UDP_PORT: u16 = 5000;
const LAN9118: Capabilities = Capabilities::new(0, Some(HashScheme::Lan9118), true);
const N: usize = 8;

fn g(s: &str) -> GroupAddr {
    s.parse().unwrap()
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, last)
}

fn mac(last: u8) -> MacAddr {
    MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, last])
}

fn now_ms() -> u64 {
    EmbassyInstant::now().as_millis()
}

// ---------------------------------------------------------------------------------
// The wire

#[derive(Debug, Clone)]
struct Sent {
    at: u64,
    from: usize,
    bytes: Vec<u8>,
}

struct PortState {
    mac: MacAddr,
    rx: VecDeque<Vec<u8>>,
    /// The NIC's multicast filter; `None` until programmed: it passes everything.
    program: Option<Program>,
    waker: Option<Waker>,
    link_up: bool,
}

#[derive(Default)]
struct Wire {
    ports: Vec<PortState>,
    log: Vec<Sent>,
}

impl Wire {
    fn add_port(&mut self, mac: MacAddr) -> usize {
        self.ports.push(PortState { mac, rx: VecDeque::new(), program: None, waker: None, link_up: true });
        self.ports.len() - 1
    }

    /// Puts a frame on the wire: every other port whose NIC passes it gets a copy.
    fn send(&mut self, from: usize, bytes: Vec<u8>) {
        let dst = MacAddr(bytes[..6].try_into().unwrap());
        for (i, port) in self.ports.iter_mut().enumerate() {
            if i == from {
                continue;
            }
            let passes = if dst.is_multicast() {
                dst.is_broadcast() || port.program.as_ref().is_none_or(|p| p.passes(dst))
            } else {
                dst == port.mac
            };
            if passes {
                port.rx.push_back(bytes.clone());
                if let Some(w) = port.waker.take() {
                    w.wake();
                }
            }
        }
        self.log.push(Sent { at: now_ms(), from, bytes });
    }
}

type Lan = Rc<RefCell<Wire>>;

/// An embassy-net-driver on one port of the wire.
struct Port {
    lan: Lan,
    id: usize,
}

struct PortRx(Vec<u8>);

struct PortTx {
    lan: Lan,
    id: usize,
}

impl driver::RxToken for PortRx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(mut self, f: F) -> R {
        f(&mut self.0)
    }
}

impl driver::TxToken for PortTx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.lan.borrow_mut().send(self.id, buf);
        r
    }
}

impl driver::Driver for Port {
    type RxToken<'a> = PortRx;
    type TxToken<'a> = PortTx;

    fn receive(&mut self, cx: &mut Context) -> Option<(PortRx, PortTx)> {
        let mut wire = self.lan.borrow_mut();
        let port = &mut wire.ports[self.id];
        match port.rx.pop_front() {
            Some(frame) => Some((PortRx(frame), PortTx { lan: self.lan.clone(), id: self.id })),
            None => {
                port.waker = Some(cx.waker().clone());
                None
            }
        }
    }

    fn transmit(&mut self, _: &mut Context) -> Option<PortTx> {
        Some(PortTx { lan: self.lan.clone(), id: self.id })
    }

    fn link_state(&mut self, _: &mut Context) -> driver::LinkState {
        if self.lan.borrow().ports[self.id].link_up { driver::LinkState::Up } else { driver::LinkState::Down }
    }

    fn capabilities(&self) -> driver::Capabilities {
        let mut caps = driver::Capabilities::default();
        caps.max_transmission_unit = 1514;
        caps
    }

    fn hardware_address(&self) -> driver::HardwareAddress {
        driver::HardwareAddress::Ethernet(self.lan.borrow().ports[self.id].mac.0)
    }
}

/// The NIC filter of a port: a LAN9118-style 64-bin hash.
struct HashNic {
    lan: Lan,
    id: usize,
}

impl MulticastFilter for HashNic {
    type Error = FilterError;

    fn capabilities(&self) -> Capabilities {
        LAN9118
    }

    fn apply(&mut self, program: &Program) -> nb::Result<(), FilterError> {
        self.lan.borrow_mut().ports[self.id].program = Some(program.clone());
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// Stations, the querier, the executor

type Handle = McastHandle<N, CriticalSectionRawMutex>;

/// An embassy-net stack behind the glue, on one port.
#[derive(Clone, Copy)]
struct Station {
    port: usize,
    handle: &'static Handle,
    stack: Stack<'static>,
}

type Task = Pin<Box<dyn Future<Output = ()>>>;

struct Net {
    lan: Lan,
    stations: Vec<Station>,
    tasks: Vec<Task>,
    querier_port: Option<usize>,
    querier: Option<Rc<RefCell<Querier<16>>>>,
}

/// The Host with a 400 ms Unsolicited Report Interval, so that tests see the repeat.
fn host_config() -> HostConfig {
    let mut c = HostConfig::default();
    c.unsolicited_report_interval = Duration::from_millis(400);
    c
}

impl Net {
    fn new() -> Net {
        Net { lan: Lan::default(), stations: Vec::new(), tasks: Vec::new(), querier_port: None, querier: None }
    }

    /// A station with MAC and address ending in `last` (or no IPv4 address), running
    /// its runner and `follow` as tasks.
    fn station(&mut self, last: u8, v4: Option<Ipv4Addr>, v6: Option<Ipv6Addr>) -> Station {
        let id = self.lan.borrow_mut().add_port(mac(last));
        let handle: &'static Handle =
            Box::leak(Box::new(McastHandle::new(LAN9118, host_config(), u64::from(last)).unwrap()));
        let port = Port { lan: self.lan.clone(), id };
        let driver = McastDriver::new(port, HashNic { lan: self.lan.clone(), id }, handle).unwrap();
        let mut config = match v4 {
            Some(a) => Config::ipv4_static(StaticConfigV4 {
                address: Ipv4Cidr::new(a, 24),
                gateway: None,
                dns_servers: Default::default(),
            }),
            None => Config::default(),
        };
        if let Some(a) = v6 {
            config.ipv6 = ConfigV6::Static(StaticConfigV6 {
                address: Ipv6Cidr::new(a, 64),
                gateway: None,
                dns_servers: Default::default(),
            });
        }
        let resources: &'static mut StackResources<4> = Box::leak(Box::new(StackResources::new()));
        let (stack, runner) = embassy_net::new(driver, config, resources, u64::from(last));
        let runner: &'static mut Runner<'static, McastDriver<'static, Port, HashNic, N>> = Box::leak(Box::new(runner));
        self.tasks.push(Box::pin(async move {
            runner.run().await;
        }));
        self.tasks.push(Box::pin(async move {
            handle.follow(stack).await;
        }));
        let s = Station { port: id, handle, stack };
        self.stations.push(s);
        s
    }

    /// Our querier, 10.0.0.1, with Query Interval `qi` and Max Resp `max_resp`.
    fn querier(&mut self, qi: Duration, max_resp: Duration) {
        let id = self.lan.borrow_mut().add_port(mac(1));
        let config = QuerierConfig::new(2, qi, max_resp);
        let q = Rc::new(RefCell::new(Querier::new(config, ip(1), 24, HostInstant::from_millis(now_ms())).unwrap()));
        self.querier = Some(q.clone());
        self.querier_port = Some(id);
        let lan = self.lan.clone();
        self.tasks.push(Box::pin(std::future::poll_fn(move |cx| {
            let t = HostInstant::from_millis(now_ms());
            let mut q = q.borrow_mut();
            loop {
                let Some(bytes) = lan.borrow_mut().ports[id].rx.pop_front() else { break };
                if let Ok(f) = FrameRepr::parse(&bytes) {
                    q.receive_message(t, &IpMeta::from(&f.ipv4), &f.igmp);
                }
            }
            while let Some(tx) = q.poll_transmit(t) {
                let mut buf = [0u8; 64];
                let len = FrameRepr::new(tx.message, mac(1), tx.source).emit(&mut buf).unwrap();
                lan.borrow_mut().send(id, buf[..len].to_vec());
            }
            while q.poll_event(t).is_some() {}
            lan.borrow_mut().ports[id].waker = Some(cx.waker().clone());
            if let Some(at) = q.poll_at() {
                let mut timer = Timer::at(EmbassyInstant::from_millis(at.total_millis()));
                if Pin::new(&mut timer).poll(cx).is_ready() {
                    cx.waker().wake_by_ref();
                }
            }
            Poll::<()>::Pending
        })));
    }

    /// Runs `body` with every station and the querier running beside it.
    fn run<T>(&mut self, body: impl Future<Output = T>) -> T {
        let mut body = pin!(body);
        let tasks = &mut self.tasks;
        block_on(std::future::poll_fn(|cx| {
            for t in tasks.iter_mut() {
                let _ = t.as_mut().poll(cx);
            }
            body.as_mut().poll(cx)
        }))
    }

    /// Every IGMP frame port `port` sent from `since` on: (time, message, bytes).
    fn igmp_from(&self, port: usize, since: u64) -> Vec<(u64, Message<'static>, Vec<u8>)> {
        let wire = self.lan.borrow();
        let mut out = Vec::new();
        for s in wire.log.iter().filter(|s| s.from == port && s.at >= since && is_igmp(&s.bytes)) {
            let f = FrameRepr::parse(&s.bytes).unwrap_or_else(|e| panic!("port {port} sent a bad IGMP frame: {e}"));
            let msg = match f.igmp {
                Message::V2Report { group } => Message::V2Report { group },
                Message::Leave { group } => Message::Leave { group },
                Message::V2Query { max_resp, group } => Message::V2Query { max_resp, group },
                other => panic!("unexpected {other:?}"),
            };
            out.push((s.at, msg, s.bytes.clone()));
        }
        out
    }

    fn reports(&self, port: usize, group: &str) -> Vec<u64> {
        let group = g(group);
        self.igmp_from(port, 0)
            .into_iter()
            .filter_map(|(t, m, _)| (m == Message::V2Report { group }).then_some(t))
            .collect()
    }

    /// What every test ends with: each IGMP frame a station put on the wire is ours
    /// (Router Alert, TTL 1, TOS 0xc0): smoltcp's own carry no Router Alert.
    fn assert_only_our_igmp(&self) {
        for s in &self.stations {
            for (_, _, bytes) in self.igmp_from(s.port, 0) {
                let f = FrameRepr::parse(&bytes).unwrap();
                assert!(f.ipv4.router_alert && f.ipv4.ttl == 1 && f.ipv4.tos == 0xc0, "not ours: {bytes:02x?}");
            }
            let stats = s.handle.stats();
            assert_eq!(stats.tx_igmp as usize, self.igmp_from(s.port, 0).len(), "{stats:?}");
        }
    }

    /// Wakes the runner of the station on `port`, as a frame arriving would.
    /// `stack.join_multicast_group` does not wake it: its report goes out on the
    /// runner's next poll.
    fn nudge(lan: &Lan, port: usize) {
        if let Some(w) = lan.borrow_mut().ports[port].waker.take() {
            w.wake();
        }
    }

    fn program(&self, port: usize) -> Program {
        self.lan.borrow().ports[port].program.clone().expect("the NIC was programmed")
    }
}

fn is_igmp(frame: &[u8]) -> bool {
    frame.len() > 23 && frame[12..14] == [0x08, 0x00] && frame[23] == 2
}

async fn sleep(ms: u64) {
    Timer::after_millis(ms).await;
}

/// A UDP socket bound to `UDP_PORT` on `stack`, with buffers leaked for the test.
fn udp(stack: Stack<'static>) -> UdpSocket<'static> {
    let meta = || Box::leak(vec![PacketMetadata::EMPTY; 8].into_boxed_slice());
    let buf = || Box::leak(vec![0u8; 2048].into_boxed_slice());
    let mut s = UdpSocket::new(stack, meta(), buf(), meta(), buf());
    s.bind(UDP_PORT).unwrap();
    s
}

/// The datagrams `socket` receives within `ms`: (payload, destination address).
async fn received(socket: &UdpSocket<'static>, ms: u64) -> Vec<(Vec<u8>, Option<embassy_net::IpAddress>)> {
    let deadline = EmbassyInstant::now() + embassy_time::Duration::from_millis(ms);
    let mut out = Vec::new();
    loop {
        let mut buf = [0u8; 256];
        match select(socket.recv_from(&mut buf), Timer::at(deadline)).await {
            Either::First(Ok((n, meta))) => out.push((buf[..n].to_vec(), meta.local_address)),
            Either::First(Err(e)) => panic!("{e:?}"),
            Either::Second(()) => return out,
        }
    }
}

// ---------------------------------------------------------------------------------
// Tests

#[test]
fn a_join_sends_our_report_and_its_repeat_and_never_the_stacks() {
    let mut net = Net::new();
    let a = net.station(2, Some(ip(2)), None);
    let start = net.run(async {
        sleep(50).await;
        let start = now_ms();
        assert_eq!(a.handle.join_with(a.stack, ip_of("239.1.2.3")), Ok(true));
        assert!(a.stack.has_multicast_group(ip_of("239.1.2.3")));
        sleep(600).await;
        start
    });
    let reports = net.reports(a.port, "239.1.2.3");
    assert_eq!(reports.len(), 2, "one at once, one repeat within 400 ms: {reports:?}");
    assert!(reports[0] - start < 150, "{reports:?} from {start}");
    assert!(reports[1] - reports[0] <= 410, "{reports:?}");
    let (_, _, bytes) = &net.igmp_from(a.port, 0)[0];
    let f = FrameRepr::parse(bytes).unwrap();
    assert_eq!(f.ethernet.dst, MacAddr([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]));
    assert_eq!(f.ethernet.src, mac(2));
    assert_eq!(f.ipv4.src_addr, ip(2));
    // The NIC was told: the group's MAC passes, another bin's does not.
    let program = net.program(a.port);
    assert!(program.passes(g("239.1.2.3").to_mac()));
    assert!(!program.pass_all_multicast());
    assert!(a.handle.nic_in_sync());
    net.assert_only_our_igmp();
}

fn ip_of(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn queries_are_answered_within_max_resp_with_suppression_between_two_stacks() {
    let mut net = Net::new();
    let a = net.station(2, Some(ip(2)), None);
    let b = net.station(3, Some(ip(3)), None);
    net.run(async {
        sleep(20).await;
        a.handle.join_with(a.stack, ip_of("239.1.2.3")).unwrap();
        b.handle.join_with(b.stack, ip_of("239.1.2.3")).unwrap();
        // Past both unsolicited repeats.
        sleep(500).await;
    });
    let quiet_from = now_ms();
    net.querier(Duration::from_millis(800), Duration::from_millis(400));
    let q = net.querier.clone().unwrap();
    net.run(async {
        sleep(4000).await;
    });
    let qport = net.querier_port.unwrap();
    let queries: Vec<(u64, u64)> = net
        .igmp_from(qport, quiet_from)
        .into_iter()
        .filter_map(|(t, m, _)| match m {
            Message::V2Query { max_resp, group: None } => Some((t, u64::from(max_resp) * 100)),
            _ => None,
        })
        .collect();
    assert!(queries.len() >= 4, "{queries:?}");
    let mut answers = [0u32; 2];
    let mut windows_with_one = 0;
    for (i, &(t, max_resp)) in queries.iter().enumerate() {
        let end = queries.get(i + 1).map_or(u64::MAX, |q| q.0);
        let mut count = 0;
        for (s, who) in [(a, 0), (b, 1)] {
            for r in net.reports(s.port, "239.1.2.3").into_iter().filter(|&r| r >= t && r < end) {
                assert!(r - t <= max_resp + 50, "answer at {} ms after the query, Max Resp {max_resp}", r - t);
                count += 1;
                answers[who] += 1;
            }
        }
        assert!(count >= 1, "query {i} at {t} unanswered");
        if count == 1 {
            windows_with_one += 1;
        }
    }
    // One report per query: the other station heard it and kept quiet (two stations
    // picking the same millisecond would both answer; that may happen once).
    assert!(windows_with_one + 1 >= queries.len(), "{windows_with_one} of {} queries", queries.len());
    assert!(answers[0] > 0 && answers[1] > 0, "the random delays share the work: {answers:?}");
    assert!(q.borrow().is_present(g("239.1.2.3")));
    assert!(a.handle.host_stats().suppressed + b.handle.host_stats().suppressed > 0);
    net.assert_only_our_igmp();
}

#[test]
fn leave_sends_a_leave_and_takes_the_group_out_of_the_stack_and_the_nic() {
    let mut net = Net::new();
    let a = net.station(2, Some(ip(2)), None);
    net.run(async {
        sleep(20).await;
        a.handle.join_with(a.stack, ip_of("239.1.2.3")).unwrap();
        sleep(100).await;
        assert_eq!(a.handle.leave_with(a.stack, ip_of("239.1.2.3")), Ok(true));
        assert!(!a.stack.has_multicast_group(ip_of("239.1.2.3")));
        assert_eq!(
            a.handle.leave_with(a.stack, ip_of("239.1.2.3")),
            Err(Error::Membership(MembershipError::NotJoined))
        );
        sleep(100).await;
    });
    let frames = net.igmp_from(a.port, 0);
    let (_, last, bytes) = frames.last().unwrap();
    assert_eq!(*last, Message::Leave { group: g("239.1.2.3") });
    assert_eq!(FrameRepr::parse(bytes).unwrap().ipv4.dst_addr, ip_of("224.0.0.2"));
    assert!(!net.program(a.port).passes(g("239.1.2.3").to_mac()));
    assert!(a.handle.groups().is_empty());
    // The stack's own report and Leave were dropped, and taught nothing: `join_with`
    // had given the stack's membership already.
    let stats = a.handle.stats();
    assert_eq!(stats.stack_igmp_dropped, 2);
    assert_eq!((stats.stack_joins_learned, stats.stack_leaves_learned), (0, 0));
    net.assert_only_our_igmp();
}

#[test]
fn a_join_before_the_address_is_announced_when_the_address_comes() {
    let mut net = Net::new();
    let a = net.station(2, None, None);
    net.run(async {
        sleep(20).await;
        assert_eq!(a.handle.join_with(a.stack, ip_of("239.1.2.3")), Ok(true));
        sleep(300).await;
    });
    assert!(net.igmp_from(a.port, 0).is_empty(), "nothing without an address");
    let configured = now_ms();
    net.run(async {
        a.stack.set_config_v4(ConfigV4::Static(StaticConfigV4 {
            address: Ipv4Cidr::new(ip(2), 24),
            gateway: None,
            dns_servers: Default::default(),
        }));
        sleep(200).await;
    });
    let reports = net.reports(a.port, "239.1.2.3");
    assert!(!reports.is_empty() && reports[0] >= configured, "{reports:?}");
    assert_eq!(a.handle.address(), Some((ip(2), 24)));
    let frames = net.igmp_from(a.port, 0);
    let f = FrameRepr::parse(&frames[0].2).unwrap();
    assert_eq!(f.ipv4.src_addr, ip(2));
    net.assert_only_our_igmp();
}

#[test]
fn multicast_udp_is_delivered_for_joined_groups_only() {
    let mut net = Net::new();
    let a = net.station(2, Some(ip(2)), None);
    let b = net.station(3, Some(ip(3)), None);
    // 239.1.2.3 and 239.1.2.3's bin neighbour 239.2.0.253 (01:00:5e:02:00:fd shares
    // LAN9118 bin 57, as the filter module's example shows): the NIC passes both.
    net.run(async {
        let rx = udp(b.stack);
        let mut tx = udp(a.stack);
        tx.set_hop_limit(Some(1));
        sleep(20).await;
        b.handle.join_with(b.stack, ip_of("239.1.2.3")).unwrap();
        sleep(50).await;
        for (group, payload) in [("239.1.2.3", &b"joined"[..]), ("239.2.0.253", b"bin"), ("239.9.9.9", b"other")] {
            tx.send_to(payload, (ip_of(group), UDP_PORT)).await.unwrap();
        }
        let got = received(&rx, 200).await;
        assert_eq!(got, vec![(b"joined".to_vec(), Some(ip_of("239.1.2.3").into()))]);
    });
    let program = net.program(b.port);
    assert!(program.passes(MacAddr([0x01, 0x00, 0x5e, 0x02, 0x00, 0xfd])), "a hash collision");
    assert_eq!(b.handle.stats().rx_filtered, 1, "the collision was dropped in software");
    net.assert_only_our_igmp();
}

#[test]
fn joins_made_through_the_stack_alone_are_learned_from_its_igmp() {
    let mut net = Net::new();
    let a = net.station(2, Some(ip(2)), None);
    let lan = net.lan.clone();
    net.run(async {
        sleep(20).await;
        a.stack.join_multicast_group(ip_of("239.4.5.6")).unwrap();
        Net::nudge(&lan, a.port);
        sleep(600).await;
        assert_eq!(a.handle.groups().len(), 1);
        assert_eq!(a.handle.stats().stack_joins_learned, 1);
        a.stack.leave_multicast_group(ip_of("239.4.5.6")).unwrap();
        Net::nudge(&lan, a.port);
        sleep(100).await;
        assert!(a.handle.groups().is_empty());
        assert_eq!(a.handle.stats().stack_leaves_learned, 1);
    });
    let frames = net.igmp_from(a.port, 0);
    let reports = net.reports(a.port, "239.4.5.6");
    assert_eq!(reports.len(), 2, "our report and its repeat: {frames:?}");
    assert_eq!(frames.last().unwrap().1, Message::Leave { group: g("239.4.5.6") });
    assert_eq!(a.handle.stats().stack_igmp_dropped, 2);
    assert!(!net.program(a.port).passes(g("239.4.5.6").to_mac()));
    net.assert_only_our_igmp();
}

#[test]
fn ipv6_neighbour_discovery_works_through_programmed_filters() {
    let mut net = Net::new();
    let v6 = |last: u16| Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x1234, last);
    let a = net.station(2, Some(ip(2)), Some(v6(2)));
    let b = net.station(3, Some(ip(3)), Some(v6(3)));
    net.run(async {
        let rx = udp(b.stack);
        let tx = udp(a.stack);
        sleep(20).await;
        // Program both NICs with a group, so neither passes all multicast.
        a.handle.join_with(a.stack, ip_of("239.1.2.3")).unwrap();
        b.handle.join_with(b.stack, ip_of("239.1.2.3")).unwrap();
        sleep(100).await;
        // a must resolve b through b's solicited-node group: b's filter has to pass it.
        tx.send_to(b"over ipv6", (v6(3), UDP_PORT)).await.unwrap();
        let got = received(&rx, 500).await;
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, b"over ipv6");
    });
    for (s, last) in [(a, 2u8), (b, 3)] {
        let program = net.program(s.port);
        assert!(program.passes(IPV6_ALL_NODES_MAC));
        let solicited = MacAddr([0x33, 0x33, 0xff, 0x34, 0x00, last]);
        assert!(program.passes(solicited), "station {last}: {program:?}");
        assert!(s.handle.with_filter_set(|set| set.contains(solicited)));
        assert!(s.handle.stats().ipv6_macs_learned >= 1);
    }
    net.assert_only_our_igmp();
}

#[test]
fn the_link_coming_back_up_announces_every_group_again() {
    let mut net = Net::new();
    let a = net.station(2, Some(ip(2)), None);
    let lan = net.lan.clone();
    let back_up = net.run(async {
        sleep(20).await;
        a.handle.join_with(a.stack, ip_of("239.1.2.3")).unwrap();
        a.handle.join_with(a.stack, ip_of("239.1.2.4")).unwrap();
        // Past the unsolicited repeats.
        sleep(600).await;
        lan.borrow_mut().ports[a.port].link_up = false;
        Net::nudge(&lan, a.port);
        sleep(50).await;
        lan.borrow_mut().ports[a.port].link_up = true;
        let back_up = now_ms();
        Net::nudge(&lan, a.port);
        sleep(100).await;
        back_up
    });
    for group in ["239.1.2.3", "239.1.2.4"] {
        let reports = net.reports(a.port, group);
        // The join's report and its repeat, then a report at once when the link is up
        // again (150 ms leaves room for a loaded machine; its own repeat may follow).
        assert_eq!(reports.iter().filter(|&&t| t < back_up).count(), 2, "{reports:?}");
        let again = reports.iter().find(|&&t| t >= back_up).expect("a report after the link came up");
        assert!(again - back_up < 150, "{reports:?} after {back_up}");
    }
    net.assert_only_our_igmp();
}

/// An IPv4/UDP-looking frame to `dst` of 60 octets (only the fields the glue reads).
fn frame_to(dst: MacAddr, protocol: u8) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[..6].copy_from_slice(&dst.0);
    f[6..12].copy_from_slice(&mac(9).0);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[23] = protocol;
    f
}

#[test]
fn unwanted_multicast_reaches_the_stack_as_an_empty_frame_and_the_rest_untouched() {
    let lan = Lan::default();
    let id = lan.borrow_mut().add_port(mac(2));
    let other = lan.borrow_mut().add_port(mac(9));
    let handle: Handle = McastHandle::new(LAN9118, host_config(), 2).unwrap();
    let mut driver =
        McastDriver::new(Port { lan: lan.clone(), id }, HashNic { lan: lan.clone(), id }, &handle).unwrap();
    assert_eq!(handle.join(ip_of("239.1.2.3")), Ok(true));
    let mut cx = Context::from_waker(Waker::noop());
    let query = FrameRepr::new(Message::V2Query { max_resp: 10, group: None }, mac(9), ip(9));
    let mut query_bytes = vec![0u8; query.buffer_len()];
    query.emit(&mut query_bytes).unwrap();
    let cases = [
        ("joined group", frame_to(g("239.1.2.3").to_mac(), 17), true),
        ("its hash-bin neighbour", frame_to(MacAddr([0x01, 0x00, 0x5e, 0x02, 0x00, 0xfd]), 17), false),
        ("unicast", frame_to(mac(2), 17), true),
        ("broadcast", frame_to(MacAddr([0xff; 6]), 17), true),
        ("IPv6 all nodes", frame_to(IPV6_ALL_NODES_MAC, 58), true),
        ("IGMP query", query_bytes, false),
    ];
    for (what, bytes, passes) in cases {
        lan.borrow_mut().send(other, bytes.clone());
        let (rx, _tx) = driver::Driver::receive(&mut driver, &mut cx).unwrap();
        let seen = driver::RxToken::consume(rx, |b| b.to_vec());
        if passes {
            assert_eq!(seen, bytes, "{what}: passed as it came");
        } else {
            assert!(seen.is_empty(), "{what}: the stack gets nothing");
        }
    }
    let stats = handle.stats();
    assert_eq!((stats.rx_filtered, stats.rx_igmp, stats.rx_malformed), (1, 1, 0));
    assert_eq!(handle.host_stats().queries, 1);
}

/// A NIC filter that is busy for `busy` calls, then fails `failures` times, then
/// accepts; what it accepted is in the wire's port.
struct MoodyNic {
    lan: Lan,
    id: usize,
    busy: u32,
    failures: u32,
}

impl MulticastFilter for MoodyNic {
    type Error = FilterError;

    fn capabilities(&self) -> Capabilities {
        LAN9118
    }

    fn apply(&mut self, program: &Program) -> nb::Result<(), FilterError> {
        if self.busy > 0 {
            self.busy -= 1;
            return Err(nb::Error::WouldBlock);
        }
        if self.failures > 0 {
            self.failures -= 1;
            return Err(nb::Error::Other(FilterError::Incompatible));
        }
        self.lan.borrow_mut().ports[self.id].program = Some(program.clone());
        Ok(())
    }
}

/// A driver on a port whose transmit queue can be closed.
struct Gated {
    port: Port,
    open: Rc<RefCell<bool>>,
}

impl driver::Driver for Gated {
    type RxToken<'a> = PortRx;
    type TxToken<'a> = PortTx;

    fn receive(&mut self, cx: &mut Context) -> Option<(PortRx, PortTx)> {
        self.port.receive(cx)
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<PortTx> {
        if *self.open.borrow() { self.port.transmit(cx) } else { None }
    }

    fn link_state(&mut self, cx: &mut Context) -> driver::LinkState {
        self.port.link_state(cx)
    }

    fn capabilities(&self) -> driver::Capabilities {
        self.port.capabilities()
    }

    fn hardware_address(&self) -> driver::HardwareAddress {
        self.port.hardware_address()
    }
}

#[test]
fn a_busy_or_failing_nic_is_asked_again_and_a_report_waits_for_a_transmit_token() {
    let lan = Lan::default();
    let id = lan.borrow_mut().add_port(mac(2));
    let open = Rc::new(RefCell::new(false));
    // One unsolicited report, no repeat: the repeat's random delay could fall within the
    // NIC's retries and make the count below depend on timing.
    let mut config = host_config();
    config.unsolicited_report_count = 1;
    let handle: Handle = McastHandle::new(LAN9118, config, 2).unwrap();
    handle.set_address(Some((ip(2), 24)));
    let nic = MoodyNic { lan: lan.clone(), id, busy: 2, failures: 1 };
    let gated = Gated { port: Port { lan: lan.clone(), id }, open: open.clone() };
    let mut driver = McastDriver::new(gated, nic, &handle).unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    let mut poll = |driver: &mut McastDriver<'_, Gated, MoodyNic, N>| {
        let _ = driver::Driver::link_state(driver, &mut cx);
    };
    assert_eq!(handle.join(ip_of("239.1.2.3")), Ok(true));
    poll(&mut driver);
    assert!(!handle.nic_in_sync());
    assert_eq!(handle.stats().nic_busy, 1);
    poll(&mut driver);
    assert_eq!(handle.stats().nic_busy, 1, "not asked again within the millisecond");
    std::thread::sleep(Duration::from_millis(3));
    poll(&mut driver);
    assert_eq!(handle.stats().nic_busy, 2);
    std::thread::sleep(Duration::from_millis(3));
    poll(&mut driver);
    assert_eq!(handle.stats().nic_errors, 1);
    assert_eq!(handle.nic_error(), Some(mcast::filter::DriverErrorKind::Unsupported));
    assert_eq!(driver.nic_error(), Some(&FilterError::Incompatible));
    std::thread::sleep(Duration::from_millis(3));
    poll(&mut driver);
    assert_eq!(handle.stats().nic_errors, 1, "a failed program waits 100 ms");
    std::thread::sleep(Duration::from_millis(110));
    poll(&mut driver);
    assert!(handle.nic_in_sync());
    assert_eq!((handle.stats().nic_applied, handle.nic_error()), (1, None));
    assert!(lan.borrow().ports[id].program.as_ref().unwrap().passes(g("239.1.2.3").to_mac()));

    // The report waited for a token all along.
    assert!(lan.borrow().log.is_empty());
    assert!(handle.stats().tx_deferred >= 1);
    *open.borrow_mut() = true;
    poll(&mut driver);
    let log = lan.borrow().log.clone();
    assert_eq!(log.len(), 1);
    let f = FrameRepr::parse(&log[0].bytes).unwrap();
    assert_eq!(f.igmp, Message::V2Report { group: g("239.1.2.3") });
    assert_eq!(handle.stats().tx_igmp, 1);
}
