//! The smoltcp glue end to end: smoltcp interfaces behind `McastDevice`, on an in-memory
//! Ethernet whose ports model a NIC's multicast hash filter, with our `Querier` on the
//! same wire. Every frame crosses the wire as bytes; time is virtual and jumps from one
//! `poll_at` to the next.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use mcast::filter::{Capabilities, FilterError, HashScheme, MulticastFilter, Program};
use mcast::glue::smoltcp::{Error, McastDevice, NoFilter};
use mcast::membership::{
    HostConfig, Instant as HostInstant, IpMeta, MembershipError, Querier, QuerierConfig, QuerierEvent,
};
use mcast::wire::FrameRepr;
use mcast::wire::igmp::Message;
use mcast::{GroupAddr, MacAddr};
use proptest::prelude::*;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{dhcpv4, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, DhcpMessageType, DhcpPacket, DhcpRepr, EthernetAddress, EthernetFrame,
    EthernetProtocol, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IgmpPacket, IgmpRepr, IpAddress, IpCidr,
    IpEndpoint, IpProtocol, Ipv4Address, Ipv4Packet, Ipv4Repr, Ipv6Address, Ipv6Packet, Ipv6Repr, UdpPacket, UdpRepr,
};

mod common;
use common::g;

const SUBNET: [u8; 3] = [10, 0, 0];
const UDP_PORT: u16 = 5000;
const LAN9118: Capabilities = Capabilities::new(0, Some(HashScheme::Lan9118), true);

fn ip(last: u8) -> Ipv4Address {
    Ipv4Address::new(SUBNET[0], SUBNET[1], SUBNET[2], last)
}

fn mac(last: u8) -> MacAddr {
    MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, last])
}

// ---------------------------------------------------------------------------------
// The wire

/// One frame put on the wire.
#[derive(Debug, Clone)]
struct Sent {
    at: u64,
    from: usize,
    bytes: Vec<u8>,
}

#[derive(Debug)]
struct PortState {
    mac: MacAddr,
    rx: VecDeque<Vec<u8>>,
    /// The NIC's multicast filter; `None` until programmed: it passes everything, as a
    /// LAN9118 does out of reset (promiscuous).
    program: Option<Program>,
    /// Frames the NIC filter dropped.
    nic_dropped: u32,
}

#[derive(Debug, Default)]
struct Wire {
    ports: Vec<PortState>,
    log: Vec<Sent>,
    now: u64,
}

impl Wire {
    fn add_port(&mut self, mac: MacAddr) -> usize {
        self.ports.push(PortState { mac, rx: VecDeque::new(), program: None, nic_dropped: 0 });
        self.ports.len() - 1
    }

    /// Puts a frame on the wire: every other port whose NIC passes it gets a copy.
    fn send(&mut self, from: usize, bytes: Vec<u8>) {
        let dst = MacAddr(bytes[..6].try_into().unwrap());
        for (i, port) in self.ports.iter_mut().enumerate() {
            if i == from {
                continue;
            }
            let passes =
                if dst.is_multicast() { port.program.as_ref().is_none_or(|p| p.passes(dst)) } else { dst == port.mac };
            if passes {
                port.rx.push_back(bytes.clone());
            } else {
                port.nic_dropped += 1;
            }
        }
        self.log.push(Sent { at: self.now, from, bytes });
    }
}

type Lan = Rc<RefCell<Wire>>;

/// A smoltcp device on one port of the wire.
struct Port {
    lan: Lan,
    id: usize,
}

struct PortRx(Vec<u8>);

struct PortTx {
    lan: Lan,
    id: usize,
}

impl phy::RxToken for PortRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for PortTx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.lan.borrow_mut().send(self.id, buf);
        r
    }
}

impl Device for Port {
    type RxToken<'a> = PortRx;
    type TxToken<'a> = PortTx;

    fn receive(&mut self, _: Instant) -> Option<(PortRx, PortTx)> {
        let frame = self.lan.borrow_mut().ports[self.id].rx.pop_front()?;
        Some((PortRx(frame), PortTx { lan: self.lan.clone(), id: self.id }))
    }

    fn transmit(&mut self, _: Instant) -> Option<PortTx> {
        Some(PortTx { lan: self.lan.clone(), id: self.id })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

/// The NIC filter of a port: a LAN9118-style 64-bin hash, busy for `busy` calls before
/// each program it accepts.
struct HashNic {
    lan: Lan,
    id: usize,
    busy: u32,
    busy_left: u32,
    applied: u32,
}

impl MulticastFilter for HashNic {
    type Error = FilterError;

    fn capabilities(&self) -> Capabilities {
        LAN9118
    }

    fn apply(&mut self, program: &Program) -> nb::Result<(), FilterError> {
        if self.busy_left > 0 {
            self.busy_left -= 1;
            return Err(nb::Error::WouldBlock);
        }
        self.busy_left = self.busy;
        self.applied += 1;
        self.lan.borrow_mut().ports[self.id].program = Some(program.clone());
        Ok(())
    }
}

/// The NIC filter of a port without one: programs change nothing, the port passes all.
struct PassAll;

impl MulticastFilter for PassAll {
    type Error = core::convert::Infallible;

    fn capabilities(&self) -> Capabilities {
        NoFilter.capabilities()
    }

    fn apply(&mut self, program: &Program) -> nb::Result<(), Self::Error> {
        assert!(program.pass_all_multicast(), "without a hash, the set passes all");
        NoFilter.apply(program)
    }
}

// ---------------------------------------------------------------------------------
// Nodes

/// A smoltcp host behind the glue, with a UDP socket on `UDP_PORT`.
struct Node<F: MulticastFilter> {
    port: usize,
    dev: McastDevice<Port, F, 8>,
    iface: Interface,
    sockets: SocketSet<'static>,
    udp: SocketHandle,
}

impl<F: MulticastFilter> Node<F> {
    fn new(lan: &Lan, last: u8, address: Option<Ipv4Address>, filter: impl FnOnce(usize) -> F) -> Node<F> {
        let id = lan.borrow_mut().add_port(mac(last));
        let now = Instant::from_millis(lan.borrow().now as i64);
        let port = Port { lan: lan.clone(), id };
        let mut dev = McastDevice::new(port, filter(id), mac(last), HostConfig::default(), u64::from(last)).unwrap();
        let mut iface = Interface::new(Config::new(EthernetAddress(mac(last).0).into()), &mut dev, now);
        if let Some(a) = address {
            iface.update_ip_addrs(|addrs| addrs.push(IpCidr::new(a.into(), 24)).unwrap());
        }
        let buffer = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 16], vec![0; 4096]);
        let mut socket = udp::Socket::new(buffer(), buffer());
        socket.bind(UDP_PORT).unwrap();
        let mut sockets = SocketSet::new(vec![]);
        let udp = sockets.add(socket);
        Node { port: id, dev, iface, sockets, udp }
    }

    fn join(&mut self, now: u64, group: &str) -> Result<bool, Error> {
        self.dev.join(Instant::from_millis(now as i64), g(group).to_ipv4())
    }

    fn leave(&mut self, now: u64, group: &str) -> Result<bool, Error> {
        self.dev.leave(Instant::from_millis(now as i64), g(group).to_ipv4())
    }

    fn poll(&mut self, now: u64) {
        self.dev.poll(Instant::from_millis(now as i64), &mut self.iface, &mut self.sockets);
    }

    fn poll_at(&mut self, now: u64) -> Option<u64> {
        let at = self.dev.poll_at(Instant::from_millis(now as i64), &mut self.iface, &self.sockets)?;
        Some(at.total_millis().max(0) as u64)
    }

    fn send_udp(&mut self, group: &str, payload: &[u8]) {
        let to = IpEndpoint::new(IpAddress::Ipv4(g(group).to_ipv4()), UDP_PORT);
        self.sockets.get_mut::<udp::Socket>(self.udp).send_slice(payload, to).unwrap();
    }

    /// Every datagram the socket received: payload and destination address.
    fn received(&mut self) -> Vec<(Vec<u8>, Option<IpAddress>)> {
        let socket = self.sockets.get_mut::<udp::Socket>(self.udp);
        let mut out = Vec::new();
        while let Ok((data, meta)) = socket.recv() {
            out.push((data.to_vec(), meta.local_address));
        }
        out
    }
}

/// Our querier, 10.0.0.1, on its own port.
struct Router {
    port: usize,
    querier: Querier<16>,
    events: Vec<(u64, QuerierEvent)>,
}

impl Router {
    fn new(lan: &Lan, config: QuerierConfig) -> Router {
        let port = lan.borrow_mut().add_port(mac(1));
        let querier = Querier::new(config, ip(1), 24, HostInstant::ZERO).unwrap();
        Router { port, querier, events: Vec::new() }
    }

    fn poll(&mut self, lan: &Lan, now: u64) {
        let t = HostInstant::from_millis(now);
        loop {
            let Some(bytes) = lan.borrow_mut().ports[self.port].rx.pop_front() else { break };
            if let Ok(f) = FrameRepr::parse(&bytes) {
                self.querier.receive_message(t, &IpMeta::from(&f.ipv4), &f.igmp);
            }
        }
        while let Some(tx) = self.querier.poll_transmit(t) {
            let mut buf = [0u8; 64];
            let len = FrameRepr::new(tx.message, mac(1), tx.source).emit(&mut buf).unwrap();
            lan.borrow_mut().send(self.port, buf[..len].to_vec());
        }
        while let Some(e) = self.querier.poll_event(t) {
            self.events.push((now, e));
        }
    }
}

/// A wire with nodes, an optional querier and a raw injector port, in virtual time.
struct Net<F: MulticastFilter> {
    lan: Lan,
    nodes: Vec<Node<F>>,
    router: Option<Router>,
    injector: usize,
}

impl<F: MulticastFilter> Net<F> {
    fn new(router: Option<QuerierConfig>) -> Net<F> {
        let lan = Lan::default();
        let router = router.map(|c| Router::new(&lan, c));
        let injector = lan.borrow_mut().add_port(mac(250));
        Net { lan, nodes: Vec::new(), router, injector }
    }

    fn add(&mut self, last: u8, address: Option<Ipv4Address>, filter: impl FnOnce(usize) -> F) -> usize {
        let node = Node::new(&self.lan, last, address, filter);
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn now(&self) -> u64 {
        self.lan.borrow().now
    }

    /// Polls everyone at the current instant until no frame is left in flight.
    fn settle(&mut self) {
        let now = self.now();
        for _ in 0..64 {
            let before = self.lan.borrow().log.len();
            for node in &mut self.nodes {
                node.poll(now);
            }
            if let Some(r) = &mut self.router {
                r.poll(&self.lan, now);
            }
            let wire = self.lan.borrow();
            let in_flight = wire.ports.iter().enumerate().any(|(i, p)| i != self.injector && !p.rx.is_empty());
            if wire.log.len() == before && !in_flight {
                return;
            }
        }
        panic!("the network does not settle at {now} ms");
    }

    /// Runs until `until` ms, jumping from one wake-up time to the next.
    fn run_until(&mut self, until: u64) {
        loop {
            self.settle();
            let now = self.now();
            let mut next = u64::MAX;
            for node in &mut self.nodes {
                next = next.min(node.poll_at(now).unwrap_or(u64::MAX));
            }
            if let Some(r) = &self.router {
                next = next.min(r.querier.poll_at().map_or(u64::MAX, |t| t.total_millis()));
            }
            let next = next.max(now + 1);
            if next > until {
                self.lan.borrow_mut().now = until.max(now);
                self.settle();
                return;
            }
            self.lan.borrow_mut().now = next;
        }
    }

    /// Sends raw bytes from the injector port.
    fn inject(&mut self, bytes: Vec<u8>) {
        self.lan.borrow_mut().send(self.injector, bytes);
    }

    /// Every IGMP frame a port sent, from `since` ms on, as (time, message, frame
    /// bytes). Each parses.
    fn igmp_from(&self, port: usize, since: u64) -> Vec<(u64, Message<'static>, Vec<u8>)> {
        let wire = self.lan.borrow();
        let mut out = Vec::new();
        for s in wire.log.iter().filter(|s| s.from == port && s.at >= since && is_igmp(&s.bytes)) {
            let f = FrameRepr::parse(&s.bytes).unwrap_or_else(|e| panic!("port {port} sent a bad IGMP frame: {e}"));
            let msg = match f.igmp {
                Message::V2Report { group } => Message::V2Report { group },
                Message::V1Report { group } => Message::V1Report { group },
                Message::Leave { group } => Message::Leave { group },
                Message::V2Query { max_resp, group } => Message::V2Query { max_resp, group },
                other => panic!("unexpected {other:?}"),
            };
            out.push((s.at, msg, s.bytes.clone()));
        }
        out
    }

    /// What every test must end with: each IGMP frame a node put on the wire is one of
    /// ours (parses, Router Alert, TTL 1, TOS 0xc0): smoltcp's own never carry Router
    /// Alert.
    fn assert_only_our_igmp(&self) {
        for node in &self.nodes {
            for (_, _, bytes) in self.igmp_from(node.port, 0) {
                let f = FrameRepr::parse(&bytes).unwrap();
                assert!(f.ipv4.router_alert && f.ipv4.ttl == 1 && f.ipv4.tos == 0xc0, "not ours: {bytes:02x?}");
            }
        }
    }
}

fn is_igmp(frame: &[u8]) -> bool {
    frame.len() > 23 && frame[12..14] == [0x08, 0x00] && frame[23] == 2
}

fn reports_of(frames: &[(u64, Message<'static>, Vec<u8>)]) -> Vec<(u64, GroupAddr)> {
    frames
        .iter()
        .filter_map(|(t, m, _)| match m {
            Message::V2Report { group } => Some((*t, *group)),
            _ => None,
        })
        .collect()
}

fn hash_nic(lan: &Lan) -> impl FnOnce(usize) -> HashNic + '_ {
    move |id| HashNic { lan: lan.clone(), id, busy: 0, busy_left: 0, applied: 0 }
}

/// A querier with a 20 s Query Interval and 4 s Max Resp: general queries at 0 s, 5 s,
/// then every 20 s from 25 s.
fn fast_querier() -> QuerierConfig {
    QuerierConfig::new(2, Duration::from_secs(20), Duration::from_secs(4))
}

/// The general queries the router sent, from `since` on: (time, Max Resp in ms).
fn general_queries<F: MulticastFilter>(net: &Net<F>, since: u64) -> Vec<(u64, u64)> {
    let port = net.router.as_ref().unwrap().port;
    net.igmp_from(port, since)
        .into_iter()
        .filter_map(|(t, m, _)| match m {
            Message::V2Query { max_resp, group: None } => Some((t, u64::from(max_resp) * 100)),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// Tests

#[test]
fn a_join_sends_one_correct_igmpv2_report_and_its_repeat() {
    // The default querier: general queries at 0 s and 31.25 s only, in this test's time.
    let mut net = Net::new(Some(QuerierConfig::default()));
    let lan = net.lan.clone();
    let a = net.add(2, Some(ip(2)), hash_nic(&lan));
    net.run_until(100);
    assert_eq!(net.nodes[a].join(100, "239.1.2.3"), Ok(true));
    net.run_until(150);

    let port = net.nodes[a].port;
    let frames = net.igmp_from(port, 0);
    assert_eq!(frames.len(), 1, "one report at once: {frames:?}");
    let (at, msg, bytes) = &frames[0];
    assert_eq!(*at, 100);
    assert_eq!(*msg, Message::V2Report { group: g("239.1.2.3") });
    let f = FrameRepr::parse(bytes).unwrap();
    assert_eq!(f.ethernet.dst, MacAddr([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]));
    assert_eq!(f.ethernet.src, mac(2));
    assert_eq!(f.ipv4.src_addr, ip(2));
    assert_eq!(f.ipv4.dst_addr, Ipv4Address::new(239, 1, 2, 3));
    // The raw header: IHL 6 (the Router Alert option), TOS 0xc0, TTL 1, protocol 2,
    // option 94 04 00 00.
    assert_eq!(bytes[14], 0x46);
    assert_eq!(bytes[15], 0xc0);
    assert_eq!(bytes[22], 1);
    assert_eq!(bytes[23], 2);
    assert_eq!(bytes[34..38], [0x94, 0x04, 0x00, 0x00]);
    // Checksums checked by another implementation: smoltcp's.
    let ipv4 = Ipv4Packet::new_checked(&bytes[14..]).unwrap();
    assert!(ipv4.verify_checksum());
    let igmp = IgmpPacket::new_checked(ipv4.payload()).unwrap();
    assert!(igmp.verify_checksum());
    assert!(matches!(
        IgmpRepr::parse(&igmp).unwrap(),
        IgmpRepr::MembershipReport { group_addr, .. } if group_addr == Ipv4Address::new(239, 1, 2, 3)
    ));

    // smoltcp was told nothing: its group table is empty, it sent nothing of its own.
    assert!(!net.nodes[a].iface.has_multicast_group(Ipv4Address::new(239, 1, 2, 3)));
    assert!(net.router.as_ref().unwrap().querier.is_present(g("239.1.2.3")));

    // The unsolicited repeat comes within the Unsolicited Report Interval (10 s).
    net.run_until(10_200);
    let reports = reports_of(&net.igmp_from(port, 0));
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(reports[1].0 > 100 && reports[1].0 <= 10_100, "repeat at {}", reports[1].0);
    net.assert_only_our_igmp();
}

#[test]
fn each_member_answers_a_general_query_after_a_random_delay_within_max_resp() {
    let mut net = Net::new(Some(fast_querier()));
    let lan = net.lan.clone();
    let a = net.add(2, Some(ip(2)), hash_nic(&lan));
    let b = net.add(3, Some(ip(3)), hash_nic(&lan));
    net.run_until(100);
    net.nodes[a].join(100, "239.1.2.3").unwrap();
    net.nodes[b].join(100, "239.5.5.5").unwrap();
    net.run_until(200_000);

    // After the unsolicited reports (done by 10.1 s), every report answers a query.
    let queries = general_queries(&net, 15_000);
    assert!(queries.len() >= 9, "{queries:?}");
    for (node, group) in [(a, g("239.1.2.3")), (b, g("239.5.5.5"))] {
        let reports = reports_of(&net.igmp_from(net.nodes[node].port, 15_000));
        let mut delays = Vec::new();
        for &(tq, max_resp) in &queries {
            assert_eq!(max_resp, 4_000);
            let answers: Vec<_> = reports.iter().filter(|(t, _)| *t > tq && *t <= tq + max_resp).collect();
            assert_eq!(answers.len(), 1, "node {node}, query at {tq}: {answers:?}");
            assert_eq!(answers[0].1, group);
            delays.push(answers[0].0 - tq);
        }
        assert_eq!(reports.len(), queries.len(), "no report but the answers");
        delays.sort_unstable();
        delays.dedup();
        assert!(delays.len() > queries.len() / 2, "delays are random: {delays:?}");
        assert_eq!(net.nodes[node].dev.host().stats().suppressed, 0, "nobody else reports its group");
    }
    let absent = net.router.as_ref().unwrap().events.iter().any(|(_, e)| matches!(e, QuerierEvent::GroupAbsent(_)));
    assert!(!absent, "the querier never lost a group");
    net.assert_only_our_igmp();
}

#[test]
fn another_members_report_suppresses_ours() {
    let mut net = Net::new(Some(fast_querier()));
    let lan = net.lan.clone();
    let a = net.add(2, Some(ip(2)), hash_nic(&lan));
    let b = net.add(3, Some(ip(3)), hash_nic(&lan));
    net.run_until(100);
    net.nodes[a].join(100, "239.1.2.3").unwrap();
    net.nodes[b].join(100, "239.1.2.3").unwrap();
    net.run_until(400_000);

    let queries = general_queries(&net, 15_000);
    assert!(queries.len() >= 19, "{queries:?}");
    let ra = reports_of(&net.igmp_from(net.nodes[a].port, 15_000));
    let rb = reports_of(&net.igmp_from(net.nodes[b].port, 15_000));
    for &(tq, max_resp) in &queries {
        let answers = ra.iter().chain(&rb).filter(|(t, _)| *t > tq && *t <= tq + max_resp).count();
        assert_eq!(answers, 1, "one report for the group per query, at {tq}");
    }
    assert_eq!(ra.len() + rb.len(), queries.len());
    assert!(!ra.is_empty() && !rb.is_empty(), "whoever draws the shorter delay reports: {ra:?} {rb:?}");
    let suppressed = net.nodes[a].dev.host().stats().suppressed + net.nodes[b].dev.host().stats().suppressed;
    assert!(suppressed >= queries.len() as u32, "{suppressed} suppressed for {} queries", queries.len());
    net.assert_only_our_igmp();
}

#[test]
fn a_group_specific_query_sent_to_all_systems_is_answered() {
    let mut net = Net::<HashNic>::new(None);
    let lan = net.lan.clone();
    let a = net.add(2, Some(ip(2)), hash_nic(&lan));
    net.nodes[a].join(0, "239.1.2.3").unwrap();
    net.run_until(12_000);
    // Linux bridges send group-specific queries to 224.0.0.1 (smoltcp ignores those).
    let query = Message::V2Query { max_resp: 10, group: Some(g("239.1.2.3")) };
    let mut f = FrameRepr::new(query, mac(250), ip(1));
    f.ipv4.dst_addr = Ipv4Address::new(224, 0, 0, 1);
    f.ethernet.dst = GroupAddr::ALL_SYSTEMS.to_mac();
    let mut buf = [0u8; 64];
    let len = f.emit(&mut buf).unwrap();
    net.inject(buf[..len].to_vec());
    net.run_until(14_000);
    let reports = reports_of(&net.igmp_from(net.nodes[a].port, 12_000));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].0 > 12_000 && reports[0].0 <= 13_000, "within Max Resp 1 s: {}", reports[0].0);
    assert_eq!(net.nodes[a].dev.host().stats().queries, 1);
    net.assert_only_our_igmp();
}

/// A general query from 10.0.0.1 (Max Resp 1 s) in a frame to `dst`, with the VLAN tag
/// octets `tags` after the source MAC.
fn query_to(dst: MacAddr, tags: &[u8]) -> Vec<u8> {
    let f = FrameRepr::new(Message::V2Query { max_resp: 10, group: None }, mac(250), ip(1));
    let mut buf = vec![0u8; f.buffer_len()];
    f.emit(&mut buf).unwrap();
    buf[..6].copy_from_slice(&dst.0);
    buf.splice(12..12, tags.iter().copied());
    buf
}

/// The delays with which a node of seed 2 answers ten general queries (Max Resp 1 s),
/// the first frame it ever receives being a broadcast one at `first_frame` ms.
fn answer_delays(first_frame: u64) -> Vec<u64> {
    let mut net = Net::<HashNic>::new(None);
    let lan = net.lan.clone();
    let a = net.add(2, Some(ip(2)), hash_nic(&lan));
    net.nodes[a].join(0, "239.1.2.3").unwrap();
    net.run_until(first_frame);
    net.inject(query_to(MacAddr::BROADCAST, &[]));
    net.run_until(20_000);
    let mut delays = Vec::new();
    for i in 0..10 {
        let start = 20_000 + 2_000 * i;
        net.run_until(start);
        net.inject(query_to(MacAddr::BROADCAST, &[]));
        net.run_until(start + 2_000);
        let reports = reports_of(&net.igmp_from(net.nodes[a].port, start));
        assert_eq!(reports.len(), 1, "{reports:?}");
        delays.push(reports[0].0 - start);
    }
    delays
}

#[test]
fn the_first_frames_arrival_time_is_mixed_into_the_report_delays() {
    // Two devices with the same seed draw the same delays only if their first frames
    // arrived at the same instant.
    assert_eq!(answer_delays(15_000), answer_delays(15_000));
    assert_ne!(answer_delays(15_000), answer_delays(15_001));
}

#[test]
fn a_query_to_the_stations_own_mac_or_broadcast_is_answered() {
    // Wi-Fi access points convert multicast to unicast: the querier's general query
    // reaches each station at its own MAC.
    let mut net = Net::<HashNic>::new(None);
    let lan = net.lan.clone();
    let a = net.add(2, Some(ip(2)), hash_nic(&lan));
    net.nodes[a].join(0, "239.1.2.3").unwrap();
    net.run_until(12_000);
    for (i, dst) in [mac(2), MacAddr::BROADCAST].into_iter().enumerate() {
        let start = 12_000 + 2_000 * i as u64;
        net.run_until(start);
        net.inject(query_to(dst, &[]));
        net.run_until(start + 2_000);
        let reports = reports_of(&net.igmp_from(net.nodes[a].port, start));
        assert_eq!(reports.len(), 1, "query to {dst}: {reports:?}");
        assert!(reports[0].0 > start && reports[0].0 <= start + 1_000, "within Max Resp: {reports:?}");
    }
    let node = &net.nodes[a];
    assert_eq!(node.dev.host().stats().queries, 2);
    assert_eq!(node.dev.stats().rx_igmp, 2);
    assert_eq!(node.dev.stats().rx_malformed, 0);

    // A query at another station's MAC, which a NIC in promiscuous mode passes, is not
    // for us.
    let port = net.nodes[a].port;
    net.lan.borrow_mut().ports[port].rx.push_back(query_to(mac(3), &[]));
    net.run_until(18_000);
    let node = &net.nodes[a];
    assert_eq!(reports_of(&net.igmp_from(node.port, 16_000)), []);
    assert_eq!(node.dev.stats().rx_not_ours, 1);
    assert_eq!(node.dev.host().stats().queries, 2);
    assert_eq!(node.dev.stats().rx_malformed, 0);
    net.assert_only_our_igmp();
}

#[test]
fn a_report_to_the_stations_own_mac_is_refused() {
    // Linux heeds reports only at a multicast or broadcast link destination: a report
    // to our MAC neither suppresses ours nor counts as heard.
    let mut net = Net::<HashNic>::new(None);
    let lan = net.lan.clone();
    let a = net.add(2, Some(ip(2)), hash_nic(&lan));
    net.nodes[a].join(0, "239.1.2.3").unwrap();
    net.run_until(12_000);
    let f = FrameRepr::new(Message::V2Report { group: g("239.1.2.3") }, mac(250), ip(9));
    let mut report = vec![0u8; f.buffer_len()];
    f.emit(&mut report).unwrap();
    report[..6].copy_from_slice(&mac(2).0);
    net.inject(query_to(GroupAddr::ALL_SYSTEMS.to_mac(), &[]));
    net.inject(report);
    net.run_until(14_000);
    let node = &net.nodes[a];
    assert_eq!(reports_of(&net.igmp_from(node.port, 12_000)).len(), 1, "ours went out all the same");
    assert_eq!(node.dev.host().stats().reports_heard, 0);
    assert_eq!(node.dev.host().stats().suppressed, 0);
    assert_eq!(node.dev.stats().rx_malformed, 1);
    net.assert_only_our_igmp();
}

#[test]
fn a_priority_tagged_query_is_answered_and_one_for_a_vlan_is_not() {
    let mut net = Net::<HashNic>::new(None);
    let lan = net.lan.clone();
    let a = net.add(2, Some(ip(2)), hash_nic(&lan));
    net.nodes[a].join(0, "239.1.2.3").unwrap();
    net.run_until(12_000);
    let all_systems = GroupAddr::ALL_SYSTEMS.to_mac();
    // 802.1Q VLAN 10, 802.1ad VLAN 100 over 802.1Q VLAN 10, and VLAN 10 under a
    // priority tag: another network's queries, which an untagged interface must not
    // answer.
    net.inject(query_to(all_systems, &[0x81, 0x00, 0x00, 0x0a]));
    net.inject(query_to(all_systems, &[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a]));
    net.inject(query_to(all_systems, &[0x81, 0x00, 0xc0, 0x00, 0x81, 0x00, 0x00, 0x0a]));
    net.run_until(14_000);
    assert_eq!(reports_of(&net.igmp_from(net.nodes[a].port, 12_000)), []);
    assert_eq!(net.nodes[a].dev.host().stats().queries, 0);
    assert_eq!(net.nodes[a].dev.stats().rx_tagged, 3);
    // A priority tag (VLAN 0, priority 6) names no VLAN: the frame is the untagged
    // network's.
    net.inject(query_to(all_systems, &[0x81, 0x00, 0xc0, 0x00]));
    net.run_until(16_000);
    let reports = reports_of(&net.igmp_from(net.nodes[a].port, 14_000));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].0 > 14_000 && reports[0].0 <= 15_000, "within Max Resp: {reports:?}");
    let node = &net.nodes[a];
    assert_eq!(node.dev.host().stats().queries, 1);
    assert_eq!(node.dev.stats().rx_igmp, 1);
    assert_eq!(node.dev.stats().rx_tagged, 3);
    assert_eq!(node.dev.stats().rx_malformed, 0);
    net.assert_only_our_igmp();
}

#[test]
fn a_leave_is_sent_to_all_routers_and_the_querier_forgets_the_group() {
    let mut net = Net::new(Some(fast_querier()));
    let lan = net.lan.clone();
    let a = net.add(2, Some(ip(2)), hash_nic(&lan));
    net.run_until(100);
    net.nodes[a].join(100, "239.1.2.3").unwrap();
    net.run_until(12_000);
    assert!(net.router.as_ref().unwrap().querier.is_present(g("239.1.2.3")));
    let bin = HashScheme::Lan9118.bin(g("239.1.2.3").to_mac());
    let program = |net: &Net<HashNic>| net.lan.borrow().ports[net.nodes[a].port].program.clone().unwrap();
    assert!(program(&net).hash() & 1 << bin != 0);

    assert_eq!(net.nodes[a].leave(12_000, "239.1.2.3"), Ok(true));
    net.run_until(20_000);

    let frames = net.igmp_from(net.nodes[a].port, 12_000);
    assert_eq!(frames.len(), 1, "the Leave and nothing else: {frames:?}");
    let (at, msg, bytes) = &frames[0];
    assert_eq!((*at, *msg), (12_000, Message::Leave { group: g("239.1.2.3") }));
    let f = FrameRepr::parse(bytes).unwrap();
    assert_eq!(f.ipv4.dst_addr, Ipv4Address::new(224, 0, 0, 2));
    assert_eq!(f.ethernet.dst, MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, 0x02]));
    assert!(f.ipv4.router_alert && f.ipv4.ttl == 1);

    // The querier checks with Last Member Query Count (2) group-specific queries, 1 s
    // apart, to the group; nobody answers; the group is absent.
    let router = net.router.as_ref().unwrap();
    let specific: Vec<u64> = net
        .igmp_from(router.port, 12_000)
        .into_iter()
        .filter(|(_, m, b)| {
            matches!(m, Message::V2Query { group: Some(x), .. } if *x == g("239.1.2.3"))
                && FrameRepr::parse(b).unwrap().ipv4.dst_addr == Ipv4Address::new(239, 1, 2, 3)
        })
        .map(|(t, _, _)| t)
        .collect();
    assert_eq!(specific, [12_000, 13_000]);
    let absent: Vec<u64> = router
        .events
        .iter()
        .filter(|(_, e)| *e == QuerierEvent::GroupAbsent(g("239.1.2.3")))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(absent, [14_000]);
    assert!(!router.querier.is_present(g("239.1.2.3")));

    // Everything else let go of the group too.
    let node = &net.nodes[a];
    assert_eq!(node.dev.groups().count(), 0);
    assert!(!node.dev.filter_set().contains(g("239.1.2.3").to_mac()));
    assert_eq!(program(&net).hash() & 1 << bin, 0, "its hash bin is clear again");
    net.assert_only_our_igmp();
}

#[test]
fn multicast_datagrams_reach_only_the_sockets_of_joined_groups() {
    // 239.1.2.3 and 239.2.0.253 share LAN9118 bin 57; 239.9.9.1 is in another bin.
    let (g1, g3, g2) = ("239.1.2.3", "239.2.0.253", "239.9.9.1");
    assert_eq!(HashScheme::Lan9118.bin(g(g1).to_mac()), 57);
    assert_eq!(HashScheme::Lan9118.bin(g(g3).to_mac()), 57);
    assert_ne!(HashScheme::Lan9118.bin(g(g2).to_mac()), 57);

    let mut net = Net::new(None);
    let lan = net.lan.clone();
    let a = net.add(2, Some(ip(2)), hash_nic(&lan));
    let c = net.add(4, Some(ip(4)), hash_nic(&lan));
    let b = net.add(3, Some(ip(3)), hash_nic(&lan));
    net.nodes[a].join(0, g1).unwrap();
    net.nodes[c].join(0, g3).unwrap();
    net.run_until(12_000);
    let dropped = |net: &Net<HashNic>, n: usize| net.lan.borrow().ports[net.nodes[n].port].nic_dropped;
    let (a_nic, c_nic) = (dropped(&net, a), dropped(&net, c));
    let (a_sw, c_sw) = (net.nodes[a].dev.stats().rx_filtered, net.nodes[c].dev.stats().rx_filtered);

    for (group, payload) in [(g1, "one"), (g2, "two"), (g3, "three")] {
        net.nodes[b].send_udp(group, payload.as_bytes());
    }
    net.run_until(12_100);
    let dst = |s: &str| Some(IpAddress::Ipv4(g(s).to_ipv4()));
    assert_eq!(net.nodes[a].received(), [(b"one".to_vec(), dst(g1))]);
    assert_eq!(net.nodes[c].received(), [(b"three".to_vec(), dst(g3))]);
    assert_eq!(net.nodes[b].received(), []);
    // Each NIC dropped the other bin's datagram; each glue dropped its bin-mate's.
    assert_eq!(dropped(&net, a) - a_nic, 1);
    assert_eq!(dropped(&net, c) - c_nic, 1);
    assert_eq!(net.nodes[a].dev.stats().rx_filtered - a_sw, 1);
    assert_eq!(net.nodes[c].dev.stats().rx_filtered - c_sw, 1);

    // A joins the bin-mate too and leaves its first group: the bin stays set at A's NIC
    // (239.2.0.253 needs it), and software drops what is no longer wanted.
    net.nodes[a].join(12_100, g3).unwrap();
    net.nodes[a].leave(12_100, g1).unwrap();
    let bin_57 = |net: &Net<HashNic>| {
        let wire = net.lan.borrow();
        wire.ports[net.nodes[a].port].program.as_ref().unwrap().hash() & 1 << 57 != 0
    };
    assert!(bin_57(&net));
    net.nodes[b].send_udp(g1, b"four");
    net.nodes[b].send_udp(g3, b"five");
    net.run_until(12_200);
    assert_eq!(net.nodes[a].received(), [(b"five".to_vec(), dst(g3))]);
    assert_eq!(net.nodes[c].received(), [(b"five".to_vec(), dst(g3))]);
    assert_eq!(net.nodes[a].dev.stats().rx_filtered - a_sw, 2, "four");

    // A leaves the bin-mate: bin 57 is clear, A's NIC drops the group.
    net.nodes[a].leave(12_200, g3).unwrap();
    assert!(!bin_57(&net));
    net.run_until(12_300);
    let a_nic = dropped(&net, a);
    net.nodes[b].send_udp(g3, b"six");
    net.run_until(12_400);
    assert_eq!(net.nodes[a].received(), []);
    assert_eq!(net.nodes[c].received(), [(b"six".to_vec(), dst(g3))]);
    assert_eq!(dropped(&net, a) - a_nic, 1);
    net.assert_only_our_igmp();
}

#[test]
fn without_a_nic_filter_the_software_filter_does_all_the_work() {
    let mut net = Net::<PassAll>::new(None);
    let a = net.add(2, Some(ip(2)), |_| PassAll);
    let b = net.add(3, Some(ip(3)), |_| PassAll);
    net.nodes[a].join(0, "239.1.2.3").unwrap();
    net.run_until(12_000);
    let before = net.nodes[a].dev.stats().rx_filtered;
    for group in ["239.1.2.3", "239.2.0.253", "239.9.9.1", "224.1.2.3"] {
        net.nodes[b].send_udp(group, group.as_bytes());
    }
    net.run_until(12_100);
    let got: Vec<Vec<u8>> = net.nodes[a].received().into_iter().map(|(p, _)| p).collect();
    assert_eq!(got, [b"239.1.2.3".to_vec()]);
    // 224.1.2.3 has 239.1.2.3's MAC: the FilterSet passes the MAC, the Host's exact
    // table drops the group.
    assert_eq!(net.nodes[a].dev.stats().rx_filtered - before, 3);
    net.assert_only_our_igmp();
}

#[test]
fn a_join_before_the_address_is_reported_when_the_address_arrives() {
    let mut net = Net::<HashNic>::new(None);
    let lan = net.lan.clone();
    let a = net.add(2, None, hash_nic(&lan));
    assert_eq!(net.nodes[a].join(0, "239.1.2.3"), Ok(true));
    net.run_until(5_000);
    assert!(net.igmp_from(net.nodes[a].port, 0).is_empty(), "no report without an address");

    net.nodes[a].iface.update_ip_addrs(|addrs| addrs.push(IpCidr::new(ip(2).into(), 24)).unwrap());
    net.run_until(5_001);
    let frames = net.igmp_from(net.nodes[a].port, 0);
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0].0, 5_000);
    assert_eq!(frames[0].1, Message::V2Report { group: g("239.1.2.3") });
    assert_eq!(FrameRepr::parse(&frames[0].2).unwrap().ipv4.src_addr, ip(2));
    net.assert_only_our_igmp();
}

#[test]
fn malformed_igmp_is_counted_and_ignored() {
    let mut net = Net::<HashNic>::new(None);
    let lan = net.lan.clone();
    let a = net.add(2, Some(ip(2)), hash_nic(&lan));
    net.nodes[a].join(0, "239.1.2.3").unwrap();
    net.run_until(12_000);
    let sent_before = net.igmp_from(net.nodes[a].port, 0).len();

    let query = Message::V2Query { max_resp: 10, group: None };
    let mut good = [0u8; 64];
    let len = FrameRepr::new(query, mac(250), ip(1)).emit(&mut good).unwrap();
    let good = good[..len].to_vec();
    let mut bad_igmp_checksum = good.clone();
    bad_igmp_checksum[len - 1] ^= 0xff;
    let mut bad_ip_checksum = good.clone();
    bad_ip_checksum[24] ^= 0xff;
    let truncated = good[..len - 3].to_vec();
    // A query to the group in a frame to 224.0.0.1's MAC (which the NIC passes).
    let mut f = FrameRepr::new(Message::V2Query { max_resp: 10, group: Some(g("239.1.2.3")) }, mac(250), ip(1));
    f.ethernet.dst = GroupAddr::ALL_SYSTEMS.to_mac();
    let mut mac_mismatch = vec![0u8; f.buffer_len()];
    f.emit(&mut mac_mismatch).unwrap();
    let mut unknown_type = good.clone();
    unknown_type[38] = 0x99;
    for frame in [bad_igmp_checksum, bad_ip_checksum, truncated, mac_mismatch, unknown_type] {
        net.inject(frame);
    }
    net.run_until(30_000);
    let node = &net.nodes[a];
    assert_eq!(node.dev.stats().rx_malformed, 5);
    assert_eq!(node.dev.host().stats().queries, 0);
    assert_eq!(net.igmp_from(node.port, 0).len(), sent_before, "no report answered them");
    assert_eq!(node.dev.groups().map(|i| i.group).collect::<Vec<_>>(), [g("239.1.2.3")]);

    // The membership is intact: a good query is answered.
    net.inject(good);
    net.run_until(32_000);
    assert_eq!(net.igmp_from(net.nodes[a].port, 0).len(), sent_before + 1);
    assert_eq!(net.nodes[a].dev.stats().rx_igmp, 1);
    net.assert_only_our_igmp();
}

#[test]
fn a_busy_nic_is_programmed_on_later_polls() {
    let mut net = Net::<HashNic>::new(None);
    let lan = net.lan.clone();
    let a = net.add(2, Some(ip(2)), |id| HashNic { lan: lan.clone(), id, busy: 3, busy_left: 3, applied: 0 });
    let node = &mut net.nodes[a];
    node.join(0, "239.1.2.3").unwrap();
    assert!(!node.dev.nic_in_sync());
    assert_eq!(node.poll_at(0), Some(0), "poll again at once while the NIC waits");
    let mut polls = 0;
    while !node.dev.nic_in_sync() {
        node.poll(0);
        polls += 1;
        assert!(polls < 10);
    }
    // Busy three times, then applied (each poll tries twice: before and after smoltcp).
    assert_eq!(node.dev.stats().nic_busy, 3);
    assert_eq!(node.dev.stats().nic_applied, 1);
    assert_eq!(node.dev.filter().applied, 1);
    let program = net.lan.borrow().ports[net.nodes[a].port].program.clone().unwrap();
    assert!(program.passes(g("239.1.2.3").to_mac()));
    assert!(program.passes(GroupAddr::ALL_SYSTEMS.to_mac()));
}

// ---------------------------------------------------------------------------------
// What smoltcp may see: smoltcp runs with `any_ip`, which accepts every destination;
// the glue admits only the interface's own. Frames built with smoltcp's emitters.

/// The injector's address; its MAC is `mac(250)`.
fn injector_ip() -> Ipv4Address {
    ip(250)
}

/// An Ethernet frame from the injector to `dst`.
fn ethernet(dst: MacAddr, ethertype: EthernetProtocol, payload_len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; 14 + payload_len];
    let mut eth = EthernetFrame::new_unchecked(&mut bytes[..]);
    eth.set_dst_addr(EthernetAddress(dst.0));
    eth.set_src_addr(EthernetAddress(mac(250).0));
    eth.set_ethertype(ethertype);
    bytes
}

/// An ARP request from `sender` (at the injector's MAC) for `target`, broadcast.
fn arp_request(sender: Ipv4Address, target: Ipv4Address) -> Vec<u8> {
    let repr = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: EthernetAddress(mac(250).0),
        source_protocol_addr: sender,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    };
    let mut bytes = ethernet(MacAddr::BROADCAST, EthernetProtocol::Arp, repr.buffer_len());
    repr.emit(&mut ArpPacket::new_unchecked(&mut bytes[14..]));
    bytes
}

/// An IPv4 packet from the injector to `dst`, in a frame to `dst_mac`.
fn ipv4(dst_mac: MacAddr, dst: Ipv4Address, protocol: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: injector_ip(),
        dst_addr: dst,
        next_header: protocol,
        payload_len: payload.len(),
        hop_limit: 64,
    };
    let mut bytes = ethernet(dst_mac, EthernetProtocol::Ipv4, repr.buffer_len() + payload.len());
    let mut packet = Ipv4Packet::new_unchecked(&mut bytes[14..]);
    repr.emit(&mut packet, &ChecksumCapabilities::default());
    packet.payload_mut().copy_from_slice(payload);
    bytes
}

/// A UDP datagram from the injector to `dst`, port `UDP_PORT`.
fn udp(dst_mac: MacAddr, dst: Ipv4Address, data: &[u8]) -> Vec<u8> {
    udp_ports(dst_mac, dst, (40_000, UDP_PORT), data)
}

/// A UDP datagram from the injector to `dst`, between the given ports.
fn udp_ports(dst_mac: MacAddr, dst: Ipv4Address, (src_port, dst_port): (u16, u16), data: &[u8]) -> Vec<u8> {
    let mut payload = vec![0u8; 8 + data.len()];
    UdpRepr { src_port, dst_port }.emit(
        &mut UdpPacket::new_unchecked(&mut payload[..]),
        &injector_ip().into(),
        &dst.into(),
        data.len(),
        |buf| buf.copy_from_slice(data),
        &ChecksumCapabilities::default(),
    );
    ipv4(dst_mac, dst, IpProtocol::Udp, &payload)
}

/// An ICMP echo request from the injector to `dst`.
fn ping(dst_mac: MacAddr, dst: Ipv4Address) -> Vec<u8> {
    let repr = Icmpv4Repr::EchoRequest { ident: 7, seq_no: 1, data: b"ping" };
    let mut payload = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut payload[..]), &ChecksumCapabilities::default());
    ipv4(dst_mac, dst, IpProtocol::Icmp, &payload)
}

/// A TCP segment (a SYN to port 80) from the injector to `dst`: smoltcp answers it,
/// with a reset or, built without TCP as here, an ICMP Protocol Unreachable.
fn tcp_syn(dst_mac: MacAddr, dst: Ipv4Address) -> Vec<u8> {
    let mut segment = [0u8; 20];
    segment[..4].copy_from_slice(&[0x9c, 0x40, 0x00, 0x50]);
    segment[12] = 0x50;
    segment[13] = 0x02;
    ipv4(dst_mac, dst, IpProtocol::Tcp, &segment)
}

/// An ICMPv6 echo request from fd00::fa to `dst`, in a frame to `dst_mac`.
fn ping6(dst_mac: MacAddr, dst: Ipv6Address) -> Vec<u8> {
    let src = Ipv6Address::new(0xfd00, 0, 0, 0, 0, 0, 0, 0xfa);
    let icmp = Icmpv6Repr::EchoRequest { ident: 7, seq_no: 1, data: b"ping" };
    let repr = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: icmp.buffer_len(),
        hop_limit: 64,
    };
    let mut bytes = ethernet(dst_mac, EthernetProtocol::Ipv6, repr.buffer_len() + icmp.buffer_len());
    let mut packet = Ipv6Packet::new_unchecked(&mut bytes[14..]);
    repr.emit(&mut packet);
    icmp.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(packet.payload_mut()), &ChecksumCapabilities::default());
    bytes
}

/// Injects `frame` and runs 100 ms: the frames node `n` sent in answer.
fn answers<F: MulticastFilter>(net: &mut Net<F>, n: usize, frame: Vec<u8>) -> Vec<Vec<u8>> {
    let since = net.lan.borrow().log.len();
    net.inject(frame);
    let now = net.now();
    net.run_until(now + 100);
    let port = net.nodes[n].port;
    net.lan.borrow().log[since..].iter().filter(|s| s.from == port).map(|s| s.bytes.clone()).collect()
}

/// A node at 10.0.0.2/24 and 10.0.1.2/24 (no router), in 239.1.2.3, that knows the
/// injector's MAC (it answered its ARP request for 10.0.0.2).
fn addressed_node() -> (Net<HashNic>, usize) {
    let mut net = Net::<HashNic>::new(None);
    let lan = net.lan.clone();
    let a = net.add(2, Some(ip(2)), hash_nic(&lan));
    let second = Ipv4Address::new(10, 0, 1, 2);
    net.nodes[a].iface.update_ip_addrs(|addrs| addrs.push(IpCidr::new(second.into(), 24)).unwrap());
    net.nodes[a].join(0, "239.1.2.3").unwrap();
    net.run_until(12_000);
    let arp = answers(&mut net, a, arp_request(injector_ip(), ip(2)));
    assert_eq!(arp.len(), 1, "ARP for the first address is answered");
    assert_eq!(arp[0][12..14], [0x08, 0x06]);
    assert_eq!(arp[0][28..32], ip(2).octets(), "the answer's sender address");
    assert!(net.nodes[a].iface.any_ip(), "the glue turns any_ip on");
    (net, a)
}

#[test]
fn arp_is_answered_for_every_address_of_the_interface_and_no_other() {
    let (mut net, a) = addressed_node();
    let before = net.nodes[a].dev.stats().rx_other_address;
    // The second address: smoltcp answers an ARP request from its subnet only.
    let second = Ipv4Address::new(10, 0, 1, 2);
    let arp = answers(&mut net, a, arp_request(Ipv4Address::new(10, 0, 1, 250), second));
    assert_eq!(arp.len(), 1, "ARP for the second address is answered");
    assert_eq!(arp[0][28..32], second.octets());
    // Another address on the subnet, the network address, a group: not ours.
    for target in [ip(9), ip(0), Ipv4Address::new(10, 0, 1, 9), Ipv4Address::new(239, 1, 2, 3)] {
        assert_eq!(answers(&mut net, a, arp_request(injector_ip(), target)), Vec::<Vec<u8>>::new(), "ARP for {target}");
    }
    assert_eq!(net.nodes[a].dev.stats().rx_other_address - before, 4);
}

#[test]
fn unicast_to_another_address_is_not_answered_nor_delivered() {
    let (mut net, a) = addressed_node();
    let before = net.nodes[a].dev.stats().rx_other_address;
    let us = mac(2);
    // The node's own addresses: answered, delivered.
    assert_eq!(answers(&mut net, a, ping(us, ip(2))).len(), 1, "echo to 10.0.0.2");
    assert_eq!(answers(&mut net, a, tcp_syn(us, ip(2))).len(), 1, "TCP to 10.0.0.2");
    assert_eq!(answers(&mut net, a, udp(us, ip(2), b"to us")), Vec::<Vec<u8>>::new());
    assert_eq!(net.nodes[a].received(), [(b"to us".to_vec(), Some(IpAddress::Ipv4(ip(2))))]);
    // Another address at the node's MAC (a router's mistake, a stale ARP entry, a
    // promiscuous NIC): smoltcp with any_ip would answer every one.
    for other in [ip(9), Ipv4Address::new(10, 0, 1, 9), Ipv4Address::new(192, 168, 1, 1)] {
        assert_eq!(answers(&mut net, a, ping(us, other)), Vec::<Vec<u8>>::new(), "echo to {other}");
        assert_eq!(answers(&mut net, a, tcp_syn(us, other)), Vec::<Vec<u8>>::new(), "TCP to {other}");
        assert_eq!(answers(&mut net, a, udp(us, other, b"not us")), Vec::<Vec<u8>>::new(), "UDP to {other}");
    }
    assert_eq!(net.nodes[a].received(), []);
    assert_eq!(net.nodes[a].dev.stats().rx_other_address - before, 9);
}

#[test]
fn broadcast_and_all_systems_reach_the_application_and_a_groups_alias_does_not() {
    let (mut net, a) = addressed_node();
    let (other, filtered) = (net.nodes[a].dev.stats().rx_other_address, net.nodes[a].dev.stats().rx_filtered);
    let all_systems = GroupAddr::ALL_SYSTEMS;
    let to = [
        (MacAddr::BROADCAST, Ipv4Address::BROADCAST),
        (MacAddr::BROADCAST, ip(255)),
        (MacAddr::BROADCAST, Ipv4Address::new(10, 0, 1, 255)),
        (all_systems.to_mac(), all_systems.to_ipv4()),
        (g("239.1.2.3").to_mac(), g("239.1.2.3").to_ipv4()),
    ];
    for (dst_mac, dst) in to {
        assert_eq!(answers(&mut net, a, udp(dst_mac, dst, &dst.octets())), Vec::<Vec<u8>>::new());
    }
    let got: Vec<_> = net.nodes[a].received().into_iter().map(|(data, at)| (data, at.unwrap())).collect();
    let want: Vec<_> = to.iter().map(|(_, dst)| (dst.octets().to_vec(), IpAddress::Ipv4(*dst))).collect();
    assert_eq!(got, want);

    // 239.129.2.3 and 224.1.2.3 share 239.1.2.3's MAC: the NIC and the FilterSet pass
    // them, the Host's table does not. Another subnet's broadcast is not ours.
    for (dst_mac, dst) in [
        (g("239.1.2.3").to_mac(), Ipv4Address::new(239, 129, 2, 3)),
        (g("239.1.2.3").to_mac(), Ipv4Address::new(224, 1, 2, 3)),
        (MacAddr::BROADCAST, Ipv4Address::new(10, 0, 2, 255)),
    ] {
        assert_eq!(answers(&mut net, a, udp(dst_mac, dst, b"no")), Vec::<Vec<u8>>::new(), "{dst}");
    }
    assert_eq!(net.nodes[a].received(), []);
    assert_eq!(net.nodes[a].dev.stats().rx_filtered - filtered, 2);
    assert_eq!(net.nodes[a].dev.stats().rx_other_address - other, 1);
}

/// The DHCP messages node `n` sent from `since` (an index in the wire's log) on.
fn dhcp_sent<F: MulticastFilter>(net: &Net<F>, n: usize, since: usize) -> Vec<(DhcpMessageType, u32)> {
    let wire = net.lan.borrow();
    let port = net.nodes[n].port;
    let mut out = Vec::new();
    for sent in wire.log[since..].iter().filter(|s| s.from == port && s.bytes[12..14] == [0x08, 0x00]) {
        let ip = Ipv4Packet::new_checked(&sent.bytes[14..]).unwrap();
        if ip.next_header() != IpProtocol::Udp {
            continue;
        }
        let udp = UdpPacket::new_checked(ip.payload()).unwrap();
        if (udp.src_port(), udp.dst_port()) == (68, 67) {
            let packet = DhcpPacket::new_checked(udp.payload()).unwrap();
            let repr = DhcpRepr::parse(&packet).unwrap();
            out.push((repr.message_type, repr.transaction_id));
        }
    }
    out
}

#[test]
fn a_dhcp_offer_to_the_offered_address_reaches_smoltcps_dhcp_client() {
    // smoltcp's DHCP client asks for unicast answers: the server sends its offer to the
    // address it offers, at the client's MAC, before the interface has any address.
    let mut net = Net::<HashNic>::new(None);
    let lan = net.lan.clone();
    let a = net.add(2, None, hash_nic(&lan));
    net.nodes[a].sockets.add(dhcpv4::Socket::new());
    net.run_until(100);
    let sent = dhcp_sent(&net, a, 0);
    assert!(matches!(sent[..], [(DhcpMessageType::Discover, _)]), "{sent:?}");
    let xid = sent[0].1;

    let offered = ip(77);
    let offer = DhcpRepr {
        message_type: DhcpMessageType::Offer,
        transaction_id: xid,
        secs: 0,
        client_hardware_address: EthernetAddress(mac(2).0),
        client_ip: Ipv4Address::UNSPECIFIED,
        your_ip: offered,
        server_ip: injector_ip(),
        router: Some(injector_ip()),
        subnet_mask: Some(Ipv4Address::new(255, 255, 255, 0)),
        relay_agent_ip: Ipv4Address::UNSPECIFIED,
        broadcast: false,
        requested_ip: None,
        client_identifier: None,
        server_identifier: Some(injector_ip()),
        parameter_request_list: None,
        dns_servers: None,
        max_size: None,
        lease_duration: Some(3600),
        renew_duration: None,
        rebind_duration: None,
        additional_options: &[],
    };
    let mut payload = vec![0u8; offer.buffer_len()];
    offer.emit(&mut DhcpPacket::new_unchecked(&mut payload[..])).unwrap();
    let since = net.lan.borrow().log.len();
    let other_before = net.nodes[a].dev.stats().rx_other_address;
    net.inject(udp_ports(mac(2), offered, (67, 68), &payload));
    net.run_until(200);
    let sent = dhcp_sent(&net, a, since);
    assert_eq!(sent, [(DhcpMessageType::Request, xid)], "the client requests what it was offered");
    assert_eq!(net.nodes[a].dev.stats().rx_other_address, other_before);
}

#[test]
fn ipv6_passes_to_smoltcp_only_when_the_interface_has_an_ipv6_address() {
    let (mut net, a) = addressed_node();
    let address = Ipv6Address::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
    let before = net.nodes[a].dev.stats().rx_other_address;
    assert_eq!(answers(&mut net, a, ping6(mac(2), address)), Vec::<Vec<u8>>::new(), "no IPv6 address");
    assert_eq!(net.nodes[a].dev.stats().rx_other_address - before, 1);

    // In place of the second IPv4 address (smoltcp holds two).
    net.nodes[a].iface.update_ip_addrs(|addrs| addrs[1] = IpCidr::new(address.into(), 64));
    let now = net.now();
    net.run_until(now + 100);
    let answered = answers(&mut net, a, ping6(mac(2), address));
    assert!(!answered.is_empty() && answered.iter().all(|f| f[12..14] == [0x86, 0xdd]), "{answered:02x?}");
    assert_eq!(net.nodes[a].dev.stats().rx_other_address - before, 1, "passed unchanged");
}

#[test]
fn refused_joins_and_leaves_change_nothing() {
    let lan = Lan::default();
    let id = lan.borrow_mut().add_port(mac(2));
    let nic = HashNic { lan: lan.clone(), id, busy: 0, busy_left: 0, applied: 0 };
    let mut dev: McastDevice<Port, HashNic, 2> =
        McastDevice::new(Port { lan: lan.clone(), id }, nic, mac(2), HostConfig::default(), 7).unwrap();
    let t = Instant::ZERO;
    let v4 = |s: &str| g(s).to_ipv4();

    assert_eq!(dev.join(t, v4("239.1.1.1")), Ok(true));
    assert_eq!(dev.join(t, v4("239.1.1.1")), Ok(false), "a second socket");
    assert_eq!(dev.join(t, v4("239.1.1.2")), Ok(true));
    assert_eq!(dev.join(t, v4("239.1.1.3")), Err(Error::Filter(FilterError::Full)));
    assert!(!dev.is_member(g("239.1.1.3")));
    assert_eq!(dev.filter_set().len(), 3, "all-systems and the two groups");

    let unicast = Ipv4Address::new(10, 0, 0, 9);
    assert_eq!(dev.join(t, unicast), Err(Error::Membership(MembershipError::NotMulticast)));
    let base = Ipv4Address::new(224, 0, 0, 0);
    assert_eq!(dev.join(t, base), Err(Error::Membership(MembershipError::NotJoinable)));
    assert_eq!(dev.leave(t, v4("239.1.1.9")), Err(Error::Membership(MembershipError::NotJoined)));
    assert_eq!(dev.join(t, Ipv4Address::new(224, 0, 0, 1)), Ok(false), "always a member");
    assert_eq!(dev.groups().count(), 2);

    assert_eq!(dev.leave(t, v4("239.1.1.1")), Ok(false), "one socket left");
    assert!(dev.is_member(g("239.1.1.1")));
    assert_eq!(dev.leave(t, v4("239.1.1.1")), Ok(true));
    assert!(!dev.is_member(g("239.1.1.1")));
    assert_eq!(dev.filter_set().len(), 2);
    assert_eq!(dev.join(t, v4("239.1.1.3")), Ok(true), "room again");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Whatever arrives (IGMP-looking or not), the glue neither panics nor hands
    /// smoltcp an IGMP frame, and counts every frame.
    #[test]
    fn any_frame_is_handled_without_panic(
        frames in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..96), any::<bool>(), any::<bool>(), 0..5usize), 1..8),
    ) {
        let mut net = Net::<HashNic>::new(None);
        let lan = net.lan.clone();
        let a = net.add(2, Some(ip(2)), hash_nic(&lan));
        net.nodes[a].join(0, "239.1.2.3").unwrap();
        net.run_until(10);
        let port = net.nodes[a].port;
        let before = net.nodes[a].dev.stats().rx_frames;
        let count = frames.len() as u32;
        for (mut bytes, multicast, igmp, ethertype) in frames {
            if multicast && bytes.len() >= 6 {
                bytes[..6].copy_from_slice(&[0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
            }
            // ARP, IPv4, IPv6 or a VLAN tag, for the receive filter; else as drawn.
            let types: [[u8; 2]; 4] = [[0x08, 0x06], [0x08, 0x00], [0x86, 0xdd], [0x81, 0x00]];
            if let (Some(t), true) = (types.get(ethertype), bytes.len() >= 14) {
                bytes[12..14].copy_from_slice(t);
            }
            if igmp && bytes.len() >= 24 {
                bytes[12..14].copy_from_slice(&[0x08, 0x00]);
                bytes[14] = 0x45;
                bytes[23] = 2;
            }
            lan.borrow_mut().ports[port].rx.push_back(bytes);
        }
        net.run_until(20);
        prop_assert_eq!(net.nodes[a].dev.stats().rx_frames - before, count);
        net.assert_only_our_igmp();
    }
}
