//! `mcast ping GROUP:PORT`: every instance pings every other over multicast and over
//! unicast, and reports per peer the loss and round-trip time of each.
//!
//! The protocol, on one UDP socket bound to `0.0.0.0:PORT` that joins `GROUP`:
//!
//! - every interval an instance sends one ping request (a [`probe`] header of kind
//!   `PingRequest`, its stream id, the round's sequence number, the send time and the
//!   TTL it set) to `GROUP:PORT`, and the same request by unicast to `PEER:PORT` for every
//!   peer it has heard of;
//! - it answers every request from another stream (its own, looped back, are ignored)
//!   with a `PingAnswer` that carries the requester's stream id, sequence number and send
//!   time, its own TTL, and in `aux` the TTL the request arrived with. A request that
//!   came to the group is answered to the group, so that the answer crosses the
//!   multicast path back as well; a request that came by unicast is answered by unicast
//!   to its sender. The answer is as long as the request;
//! - an answer with its own stream id tells an instance its round-trip time; whether it
//!   came to the group or to its unicast address (the destination `IP_PKTINFO` gives)
//!   says which path it measured. A datagram without a known destination is not counted.
//!
//! A peer is an address that sent this instance a request or an answer. Requests count
//! for a peer from the first round after it was heard of (for multicast, from an earlier
//! round if the peer answered it). After its last request an instance keeps answering
//! for max(1 s, 2 × interval), so instances started a moment apart answer each other's
//! last requests.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use mcast::GroupAddr;
use mcast::socket::probe::{self, Kind, Probe};
use mcast::socket::sequence::Sequence;
use mcast::socket::{ErrorKind, Interface, MulticastSocket};
use socket2::SockAddr;

use crate::json::Object;
use crate::{Failure, Out, os};

/// Exit status when some peer lost requests (or never answered on a path).
pub const EXIT_LOSS: u8 = 6;

/// When the instance stops sending requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum End {
    /// After this many rounds.
    Count(u64),
    /// After this long.
    Duration(Duration),
    /// At SIGINT or SIGTERM.
    Interrupted,
}

/// What `mcast ping` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The group and port.
    pub to: SocketAddrV4,
    /// The interface to join on and send multicast from.
    pub interface: Interface,
    /// How messages name it.
    pub interface_label: String,
    /// Time between rounds.
    pub interval: Duration,
    /// When to stop.
    pub end: End,
    /// TTL of everything sent, unicast and multicast.
    pub ttl: u8,
    /// UDP payload length of requests (at least the probe header).
    pub size: usize,
}

/// How a datagram travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// To this host's address.
    Unicast,
    /// To the group.
    Multicast,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Unicast => "unicast",
            Path::Multicast => "multicast",
        }
    }
}

/// Round-trip times, in milliseconds.
pub type Rtt = crate::spread::Spread;

/// What one path to one peer measured.
#[derive(Debug, Clone, Default)]
pub struct PathStats {
    /// The first round whose request counts for this peer.
    first: Option<u64>,
    answers: Sequence,
    /// Round-trip times of the first answer to each request.
    pub rtt: Rtt,
    /// Hops from the peer to this host: its TTL minus the TTL its datagrams arrived with.
    pub hops: Option<u8>,
    /// Hops from this host to the peer: this host's TTL minus the TTL its requests
    /// arrived with there.
    pub hops_to_peer: Option<u8>,
}

/// A path's figures at the end of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Requests sent that count for the peer.
    pub sent: u64,
    /// Requests answered (each once).
    pub answered: u64,
    /// Answers received more than once.
    pub duplicates: u64,
    /// Round-trip times.
    pub rtt: Rtt,
    /// Hops from the peer.
    pub hops: Option<u8>,
    /// Hops to the peer.
    pub hops_to_peer: Option<u8>,
}

impl Summary {
    /// Lost requests as a percentage of those sent; `None` if none was sent.
    pub fn loss_percent(&self) -> Option<f64> {
        (self.sent > 0).then(|| (self.sent - self.answered.min(self.sent)) as f64 * 100.0 / self.sent as f64)
    }

    /// Every request was answered, and there was at least one.
    pub fn complete(&self) -> bool {
        self.sent > 0 && self.answered >= self.sent
    }
}

impl PathStats {
    fn summary(&self, last_round: u64) -> Summary {
        let sent = self.first.filter(|&f| f <= last_round).map_or(0, |f| last_round - f + 1);
        let s = self.answers.stats();
        Summary {
            sent,
            answered: s.received - s.duplicated,
            duplicates: s.duplicated,
            rtt: self.rtt,
            hops: self.hops,
            hops_to_peer: self.hops_to_peer,
        }
    }
}

/// One peer: what each path measured.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    unicast: PathStats,
    multicast: PathStats,
}

impl Peer {
    fn path(&mut self, path: Path) -> &mut PathStats {
        match path {
            Path::Unicast => &mut self.unicast,
            Path::Multicast => &mut self.multicast,
        }
    }
}

/// `peer`'s TTL minus the TTL its datagram arrived with, when both are known and make
/// sense.
fn hops(sent: u8, arrived: Option<u8>) -> Option<u8> {
    let arrived = arrived?;
    (sent > 0 && arrived > 0 && arrived <= sent).then(|| sent - arrived)
}

fn ms(x: f64) -> String {
    format!("{x:.3}")
}

fn rtt_text(rtt: &Rtt) -> String {
    match rtt.get() {
        None => "-".into(),
        Some((min, avg, max, sd)) => format!("{}/{}/{}/{}", ms(min), ms(avg), ms(max), ms(sd)),
    }
}

fn hops_text(hops: Option<u8>) -> String {
    hops.map_or_else(|| "?".into(), |h| h.to_string())
}

/// The final table: a header, then one line per peer and path.
pub fn summary_text(peers: &[(Ipv4Addr, Summary, Summary)]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<15}  {:<9}  {:>6}  {:>8}  {:>4}  {:>6}  {:<31}  hops",
        "peer", "path", "sent", "answered", "dup", "loss", "rtt min/avg/max/stddev ms"
    );
    for (addr, unicast, multicast) in peers {
        for (path, p) in [(Path::Unicast, unicast), (Path::Multicast, multicast)] {
            let loss = p.loss_percent().map_or_else(|| "-".into(), |l| format!("{l:.1}%"));
            let _ = writeln!(
                s,
                "{:<15}  {:<9}  {:>6}  {:>8}  {:>4}  {:>6}  {:<31}  {}",
                addr.to_string(),
                path.name(),
                p.sent,
                p.answered,
                p.duplicates,
                loss,
                rtt_text(&p.rtt),
                hops_text(p.hops)
            );
        }
    }
    s
}

fn opt_num(o: Option<impl std::fmt::Display>) -> String {
    o.map_or_else(|| "null".into(), |v| v.to_string())
}

fn summary_path_json(p: &Summary) -> String {
    let rtt = match p.rtt.get() {
        None => "null".to_string(),
        Some((min, avg, max, sd)) => {
            Object::new().num("min", ms(min)).num("avg", ms(avg)).num("max", ms(max)).num("stddev", ms(sd)).finish()
        }
    };
    Object::new()
        .num("sent", p.sent)
        .num("answered", p.answered)
        .num("duplicates", p.duplicates)
        .raw("loss_percent", &opt_num(p.loss_percent().map(|l| format!("{l:.1}"))))
        .raw("rtt_ms", &rtt)
        .raw("hops", &opt_num(p.hops))
        .raw("hops_to_peer", &opt_num(p.hops_to_peer))
        .finish()
}

/// The final JSON line of one peer.
pub fn summary_json(addr: Ipv4Addr, unicast: &Summary, multicast: &Summary) -> String {
    Object::new()
        .str("event", "summary")
        .str("peer", addr.to_string())
        .raw("unicast", &summary_path_json(unicast))
        .raw("multicast", &summary_path_json(multicast))
        .finish()
}

/// One answer as it arrives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    /// Who answered.
    pub peer: Ipv4Addr,
    /// Which path.
    pub path: Path,
    /// The request's sequence number.
    pub seq: u64,
    /// The datagram's length.
    pub len: usize,
    /// Hops from the peer, if known.
    pub hops: Option<u8>,
    /// Round-trip time in milliseconds.
    pub rtt: f64,
    /// Whether this request had been answered already on this path.
    pub duplicate: bool,
}

/// A live line: one per answer.
pub fn answer_text(a: &Answer) -> String {
    format!(
        "{:<15}  {:<9}  seq {}  {} octets  hops {}  rtt {} ms{}",
        a.peer.to_string(),
        a.path.name(),
        a.seq,
        a.len,
        hops_text(a.hops),
        ms(a.rtt),
        if a.duplicate { "  (duplicate)" } else { "" }
    )
}

/// A live JSON line: one per answer.
pub fn answer_json(a: &Answer) -> String {
    Object::new()
        .str("event", "answer")
        .str("peer", a.peer.to_string())
        .str("path", a.path.name())
        .num("seq", a.seq)
        .num("len", a.len)
        .raw("hops", &opt_num(a.hops))
        .num("rtt_ms", ms(a.rtt))
        .num("duplicate", a.duplicate)
        .finish()
}

/// The state of one run.
struct Pinger {
    socket: MulticastSocket,
    group: GroupAddr,
    port: u16,
    ttl: u8,
    size: usize,
    stream: u32,
    round: u64,
    peers: BTreeMap<Ipv4Addr, Peer>,
    buf: Vec<u8>,
}

impl Pinger {
    fn send_unicast(&self, payload: &[u8], to: SocketAddrV4) {
        if let Err(e) = self.socket.socket().send_to(payload, &SockAddr::from(to)) {
            eprintln!("mcast: send to {to}: {e}");
        }
    }

    /// Sends the next round's requests.
    fn send_round(&mut self) {
        self.round += 1;
        let mut buf = vec![0u8; self.size];
        let request = Probe {
            kind: Kind::PingRequest,
            ttl: self.ttl,
            stream: self.stream,
            seq: self.round,
            sent: probe::wall_clock(),
            aux: 0,
        };
        let _ = request.write(&mut buf);
        if let Err(e) = self.socket.send_to(&buf, self.group, self.port) {
            eprintln!("mcast: {e}");
        }
        let round = self.round;
        let peers: Vec<Ipv4Addr> = self.peers.keys().copied().collect();
        for addr in peers {
            if let Some(peer) = self.peers.get_mut(&addr) {
                peer.unicast.first.get_or_insert(round);
            }
            self.send_unicast(&buf, SocketAddrV4::new(addr, self.port));
        }
    }

    /// The peer at `addr`, made if it is new: its requests count from the next round.
    fn peer(&mut self, addr: Ipv4Addr) -> &mut Peer {
        let next = self.round + 1;
        self.peers.entry(addr).or_insert_with(|| {
            let mut p = Peer::default();
            p.multicast.first = Some(next);
            p
        })
    }

    /// Handles one received datagram; returns the answer to print, if it was one.
    fn handle(&mut self, d: mcast::socket::Datagram) -> Option<Answer> {
        let probe = Probe::parse(&self.buf[..d.len])?;
        let path = match d.destination {
            Some(dst) if dst.is_multicast() => Path::Multicast,
            Some(_) => Path::Unicast,
            None => return None,
        };
        let from = *d.source.ip();
        match probe.kind {
            Kind::PingRequest if probe.stream != self.stream => {
                let hops = hops(probe.ttl, d.ttl);
                let peer = self.peer(from).path(path);
                if hops.is_some() {
                    peer.hops = hops;
                }
                let answer = Probe { kind: Kind::PingAnswer, ttl: self.ttl, aux: d.ttl.map_or(0, u32::from), ..probe };
                let mut out = vec![0u8; d.len.max(probe::LEN)];
                let _ = answer.write(&mut out);
                match path {
                    Path::Multicast => {
                        if let Err(e) = self.socket.send_to(&out, self.group, self.port) {
                            eprintln!("mcast: {e}");
                        }
                    }
                    Path::Unicast => self.send_unicast(&out, d.source),
                }
                None
            }
            Kind::PingAnswer if probe.stream == self.stream => {
                if probe.seq == 0 || probe.seq > self.round {
                    return None;
                }
                let own_ttl = self.ttl;
                let stats = self.peer(from).path(path);
                match (path, stats.first) {
                    (Path::Unicast, Some(first)) if probe.seq >= first => {}
                    (Path::Unicast, _) => return None,
                    (Path::Multicast, first) => stats.first = Some(first.map_or(probe.seq, |f| f.min(probe.seq))),
                }
                let before = stats.answers.stats().duplicated;
                stats.answers.record(probe.seq);
                let duplicate = stats.answers.stats().duplicated > before;
                let rtt = probe::wall_clock().saturating_sub(probe.sent).as_secs_f64() * 1000.0;
                if !duplicate {
                    stats.rtt.add(rtt);
                }
                let h = hops(probe.ttl, d.ttl);
                if h.is_some() {
                    stats.hops = h;
                }
                let back = u8::try_from(probe.aux).ok().filter(|&a| a > 0);
                if let Some(to) = hops(own_ttl, back) {
                    stats.hops_to_peer = Some(to);
                }
                Some(Answer { peer: from, path, seq: probe.seq, len: d.len, hops: h, rtt, duplicate })
            }
            _ => None,
        }
    }
}

/// `mcast ping GROUP:PORT …`.
pub fn run(out: &mut Out, o: &Options) -> Result<(), Failure> {
    let group = GroupAddr::from_ipv4(*o.to.ip()).map_err(|e| Failure::usage(format!("{}: {e}", o.to.ip())))?;
    if !group.is_joinable() {
        return Err(Failure::usage(format!("{group}: not a group a host may join")));
    }
    let mut socket = MulticastSocket::bind(o.to.port()).map_err(os)?;
    socket.join(group, o.interface).map_err(os)?;
    socket.set_interface(o.interface).map_err(os)?;
    socket.set_ttl(o.ttl).map_err(os)?;
    socket.socket().set_ttl_v4(u32::from(o.ttl)).map_err(|e| Failure::error(format!("set unicast TTL: {e}")))?;
    let stream = probe::new_stream();
    let mut p = Pinger {
        socket,
        group,
        port: o.to.port(),
        ttl: o.ttl,
        size: o.size,
        stream,
        round: 0,
        peers: BTreeMap::new(),
        buf: vec![0u8; 65536],
    };
    crate::interrupt::catch();
    eprintln!(
        "pinging {} on {} (ttl {}, {} octets every {} ms, stream {stream:08x})",
        o.to,
        o.interface_label,
        o.ttl,
        o.size,
        o.interval.as_millis()
    );
    let started = Instant::now();
    let linger = o.interval.saturating_mul(2).max(Duration::from_secs(1));
    let mut next = started;
    let mut stop: Option<Instant> = None;
    loop {
        if crate::interrupt::requested() {
            break;
        }
        let now = Instant::now();
        if stop.is_none() && now >= next {
            let done = match o.end {
                End::Count(n) => p.round >= n,
                End::Duration(d) => p.round > 0 && now >= started + d,
                End::Interrupted => false,
            };
            if done {
                stop = Some(now + linger);
            } else {
                p.send_round();
                next += o.interval;
                if next < now {
                    next = now + o.interval;
                }
            }
        }
        let until = stop.unwrap_or(next);
        let Some(wait) = until.checked_duration_since(Instant::now()).filter(|w| !w.is_zero()) else {
            if stop.is_some() {
                break;
            }
            continue;
        };
        p.socket.set_read_timeout(Some(wait.max(Duration::from_millis(1)))).map_err(os)?;
        match p.socket.recv(&mut p.buf) {
            Ok(d) => {
                if let Some(a) = p.handle(d) {
                    out.line(&if out.json { answer_json(&a) } else { answer_text(&a) });
                }
            }
            Err(e) if e.kind() == ErrorKind::TimedOut || is_port_unreachable(&e) => {}
            Err(_) if crate::interrupt::requested() => break,
            Err(e) => return Err(os(e)),
        }
    }
    finish(out, &p, started.elapsed())
}

/// Whether a receive failed only because an earlier unicast request met a closed port
/// (a peer that stopped): Windows reports the ICMP port unreachable on the next receive
/// of an unconnected UDP socket (`WSAECONNRESET`), Linux does not.
fn is_port_unreachable(e: &mcast::socket::Error) -> bool {
    is_port_unreachable_code(e.raw_os_error())
}

fn is_port_unreachable_code(code: Option<i32>) -> bool {
    code.map(std::io::Error::from_raw_os_error).is_some_and(|e| {
        matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionRefused)
    })
}

fn finish(out: &mut Out, p: &Pinger, elapsed: Duration) -> Result<(), Failure> {
    let peers: Vec<(Ipv4Addr, Summary, Summary)> =
        p.peers.iter().map(|(a, peer)| (*a, peer.unicast.summary(p.round), peer.multicast.summary(p.round))).collect();
    if out.json {
        for (addr, u, m) in &peers {
            out.line(&summary_json(*addr, u, m));
        }
    } else if !peers.is_empty() {
        out.text(&summary_text(&peers));
    }
    if peers.is_empty() {
        return Err(Failure::timeout(format!(
            "no peer heard in {:.1} s ({} requests sent)",
            elapsed.as_secs_f64(),
            p.round
        )));
    }
    let incomplete = peers.iter().filter(|(_, u, m)| !(u.complete() && m.complete())).count();
    if incomplete > 0 {
        return Err(Failure {
            code: EXIT_LOSS,
            message: format!("{incomplete} of {} peers did not answer every request on both paths", peers.len()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(sent: u64, answered: u64, duplicates: u64, rtts: &[f64], hops: Option<u8>) -> Summary {
        let mut rtt = Rtt::default();
        for &r in rtts {
            rtt.add(r);
        }
        Summary { sent, answered, duplicates, rtt, hops, hops_to_peer: hops }
    }

    #[test]
    fn rtt_statistics_are_min_avg_max_and_population_stddev() {
        let mut r = Rtt::default();
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            r.add(x);
        }
        assert_eq!((r.count(), r.get()), (8, Some((2.0, 5.0, 9.0, 2.0))));
        assert_eq!(Rtt::default().get(), None);
    }

    #[test]
    fn the_summary_table_has_a_line_per_peer_and_path() {
        let peers = [
            (
                Ipv4Addr::new(10, 99, 0, 2),
                summary(20, 20, 0, &[0.5, 1.5], Some(0)),
                summary(20, 19, 1, &[1.0, 1.25, 1.5], Some(2)),
            ),
            (Ipv4Addr::new(10, 99, 0, 3), summary(3, 3, 0, &[0.25], None), summary(0, 0, 0, &[], None)),
        ];
        assert_eq!(
            summary_text(&peers),
            "\
peer             path         sent  answered   dup    loss  rtt min/avg/max/stddev ms        hops
10.99.0.2        unicast        20        20     0    0.0%  0.500/1.000/1.500/0.500          0
10.99.0.2        multicast      20        19     1    5.0%  1.000/1.250/1.500/0.204          2
10.99.0.3        unicast         3         3     0    0.0%  0.250/0.250/0.250/0.000          ?
10.99.0.3        multicast       0         0     0       -  -                                ?
"
        );
    }

    #[test]
    fn the_summary_json_follows_the_schema() {
        let u = summary(20, 20, 0, &[0.5, 1.5], Some(0));
        let m = summary(20, 0, 0, &[], None);
        assert_eq!(
            summary_json(Ipv4Addr::new(10, 99, 0, 2), &u, &m),
            r#"{"event":"summary","peer":"10.99.0.2","unicast":{"sent":20,"answered":20,"duplicates":0,"loss_percent":0.0,"rtt_ms":{"min":0.500,"avg":1.000,"max":1.500,"stddev":0.500},"hops":0,"hops_to_peer":0},"multicast":{"sent":20,"answered":0,"duplicates":0,"loss_percent":100.0,"rtt_ms":null,"hops":null,"hops_to_peer":null}}"#
        );
    }

    #[test]
    fn answers_print_as_a_line_and_as_json() {
        let a = Answer {
            peer: Ipv4Addr::new(10, 99, 0, 3),
            path: Path::Multicast,
            seq: 7,
            len: 64,
            hops: Some(1),
            rtt: 0.3125,
            duplicate: false,
        };
        assert_eq!(answer_text(&a), "10.99.0.3        multicast  seq 7  64 octets  hops 1  rtt 0.312 ms");
        assert_eq!(
            answer_text(&Answer { hops: None, duplicate: true, path: Path::Unicast, ..a }),
            "10.99.0.3        unicast    seq 7  64 octets  hops ?  rtt 0.312 ms  (duplicate)"
        );
        assert_eq!(
            answer_json(&a),
            r#"{"event":"answer","peer":"10.99.0.3","path":"multicast","seq":7,"len":64,"hops":1,"rtt_ms":0.312,"duplicate":false}"#
        );
    }

    #[test]
    fn loss_and_completeness() {
        assert_eq!(summary(4, 3, 0, &[], None).loss_percent(), Some(25.0));
        assert_eq!(summary(4, 5, 0, &[], None).loss_percent(), Some(0.0), "never below zero");
        assert_eq!(summary(0, 0, 0, &[], None).loss_percent(), None);
        assert!(summary(4, 4, 1, &[], None).complete());
        assert!(!summary(4, 3, 0, &[], None).complete());
        assert!(!summary(0, 0, 0, &[], None).complete(), "a path never asked is not complete");
    }

    #[test]
    fn hops_are_the_ttl_spent() {
        assert_eq!(hops(64, Some(61)), Some(3));
        assert_eq!(hops(64, Some(64)), Some(0));
        assert_eq!(hops(64, None), None);
        assert_eq!(hops(0, Some(61)), None, "the sender did not say");
        assert_eq!(hops(1, Some(5)), None, "arrived with more than it was sent with");
    }

    /// A pinger on a socket of its own (port 0, multicast out of `lo`; its peer is
    /// 127.0.0.2, so that its answers stay on this host) that has sent
    /// `rounds` rounds, and a way to hand it a probe as if it had arrived.
    fn pinger(rounds: u64) -> Pinger {
        let mut socket = MulticastSocket::bind(0).unwrap();
        socket.set_interface(Interface::Addr(Ipv4Addr::LOCALHOST)).unwrap();
        let port = socket.local_port();
        Pinger {
            socket,
            group: "239.98.9.9".parse().unwrap(),
            port,
            ttl: 64,
            size: 64,
            stream: 7,
            round: rounds,
            peers: BTreeMap::new(),
            buf: vec![0u8; 2048],
        }
    }

    fn arrive(p: &mut Pinger, from: [u8; 4], to: [u8; 4], ttl: Option<u8>, probe: Probe) -> Option<Answer> {
        let len = probe.write(&mut p.buf).unwrap().len();
        let d = mcast::socket::Datagram {
            len,
            source: SocketAddrV4::new(Ipv4Addr::from(from), 9),
            destination: Some(Ipv4Addr::from(to)),
            interface_index: None,
            ttl,
        };
        p.handle(d)
    }

    fn probe(kind: Kind, stream: u32, seq: u64, aux: u32) -> Probe {
        Probe { kind, ttl: 64, stream, seq, sent: probe::wall_clock(), aux }
    }

    const PEER: [u8; 4] = [127, 0, 0, 2];
    const GROUP: [u8; 4] = [239, 98, 9, 9];
    const ME: [u8; 4] = [127, 0, 0, 1];

    #[test]
    fn its_own_requests_make_no_peer_and_others_do() {
        let mut p = pinger(3);
        assert_eq!(arrive(&mut p, ME, GROUP, Some(64), probe(Kind::PingRequest, 7, 3, 0)), None);
        assert!(p.peers.is_empty(), "its own request, looped back");
        assert_eq!(arrive(&mut p, PEER, GROUP, Some(62), probe(Kind::PingRequest, 9, 1, 0)), None);
        let peer = &p.peers[&Ipv4Addr::from(PEER)];
        assert_eq!(peer.multicast.hops, Some(2));
        assert_eq!(peer.multicast.first, Some(4), "counts from the next round");
        assert_eq!(peer.unicast.first, None, "no unicast request sent to it yet");
        // Answers to other streams (another host's requests, answered to the group) are
        // not ours.
        assert_eq!(arrive(&mut p, PEER, GROUP, Some(64), probe(Kind::PingAnswer, 9, 1, 64)), None);
        // Datagrams that are not probes are ignored.
        p.buf[..4].copy_from_slice(b"nope");
        let d = mcast::socket::Datagram {
            len: 40,
            source: SocketAddrV4::new(Ipv4Addr::from(PEER), 9),
            destination: Some(Ipv4Addr::from(GROUP)),
            interface_index: None,
            ttl: None,
        };
        assert_eq!(p.handle(d), None);
    }

    #[test]
    fn answers_are_counted_per_path_once_each_within_the_rounds_sent() {
        let mut p = pinger(5);
        // The peer answers round 2 to the group before it was heard of: multicast counts
        // from round 2.
        let a = arrive(&mut p, PEER, GROUP, Some(63), probe(Kind::PingAnswer, 7, 2, 61)).unwrap();
        assert_eq!((a.path, a.seq, a.hops, a.duplicate), (Path::Multicast, 2, Some(1), false));
        assert!(a.rtt >= 0.0 && a.rtt < 1000.0, "{}", a.rtt);
        let again = arrive(&mut p, PEER, GROUP, Some(63), probe(Kind::PingAnswer, 7, 2, 61)).unwrap();
        assert!(again.duplicate);
        assert_eq!(arrive(&mut p, PEER, GROUP, None, probe(Kind::PingAnswer, 7, 6, 0)), None, "round 6 not sent");
        assert_eq!(arrive(&mut p, PEER, GROUP, None, probe(Kind::PingAnswer, 7, 0, 0)), None, "no round 0");
        // No unicast request went to the peer yet: a unicast answer does not count.
        assert_eq!(arrive(&mut p, PEER, ME, Some(64), probe(Kind::PingAnswer, 7, 5, 64)), None);
        p.send_round();
        let u = arrive(&mut p, PEER, ME, Some(64), probe(Kind::PingAnswer, 7, 6, 64)).unwrap();
        assert_eq!((u.path, u.seq, u.hops), (Path::Unicast, 6, Some(0)));
        let peer = &p.peers[&Ipv4Addr::from(PEER)];
        let m = peer.multicast.summary(p.round);
        assert_eq!((m.sent, m.answered, m.duplicates, m.rtt.count()), (5, 1, 1, 1));
        assert_eq!((m.hops, m.hops_to_peer), (Some(1), Some(3)));
        let u = peer.unicast.summary(p.round);
        assert_eq!((u.sent, u.answered, u.hops_to_peer), (1, 1, Some(0)));
        // Without a destination the path is unknown: not counted.
        let len = probe(Kind::PingAnswer, 7, 3, 0).write(&mut p.buf).unwrap().len();
        let d = mcast::socket::Datagram {
            len,
            source: SocketAddrV4::new(Ipv4Addr::from(PEER), 9),
            destination: None,
            interface_index: None,
            ttl: None,
        };
        assert_eq!(p.handle(d), None);
    }

    #[test]
    fn the_errors_of_a_closed_port_are_recognised() {
        // WSAECONNRESET, and WSAEACCES (Windows); ECONNREFUSED and EACCES (Unix).
        #[cfg(windows)]
        let (closed, other) = (10054, 10013);
        #[cfg(unix)]
        let (closed, other) = (libc::ECONNREFUSED, libc::EACCES);
        assert!(is_port_unreachable_code(Some(closed)));
        assert!(!is_port_unreachable_code(Some(other)));
        assert!(!is_port_unreachable_code(None));
    }

    /// Linux reports the ICMP port unreachable to a connected socket; Wine does not
    /// pass it on.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_closed_port_reported_on_receive_is_not_an_error() {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let socket = MulticastSocket::bind(0).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let timeout = socket.recv(&mut [0u8; 8]).unwrap_err();
        assert!(!is_port_unreachable(&timeout), "{timeout}");
        // A connected socket gets the ICMP port unreachable on its next receive, as an
        // unconnected one does on Windows.
        socket.socket().connect(&closed.into()).unwrap();
        socket.socket().send(b"x").unwrap();
        let refused = socket.recv(&mut [0u8; 8]).unwrap_err();
        assert!(is_port_unreachable(&refused), "{refused}");
    }

    #[test]
    fn path_counts_follow_the_first_round_that_counts() {
        let mut s = PathStats { first: Some(3), ..PathStats::default() };
        for seq in [3, 4, 4, 6] {
            s.answers.record(seq);
        }
        let sum = s.summary(6);
        assert_eq!((sum.sent, sum.answered, sum.duplicates), (4, 3, 1));
        assert_eq!(s.summary(2).sent, 0, "the first round that counts is not sent yet");
        assert_eq!(PathStats::default().summary(9).sent, 0, "never asked");
    }
}
