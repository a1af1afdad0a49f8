//! `mcast recv`'s receive path against a bare socket2 receive loop, on the same loopback
//! traffic: 16 groups, 32-octet probe datagrams.
//!
//! Each sample first queues a batch of datagrams in the receiving socket's buffer (not
//! timed), then times receiving the batch: the bare loop calls `recv_from` and nothing
//! else; `mcast_recv` is the tool's loop: [`MulticastSocket::recv_batch`] (on Linux
//! `recvmmsg`, up to 32 datagrams a call, with each one's destination and interface,
//! and the software checks), then each datagram counted per group, sender and stream,
//! with the two clock reads the tool makes per call; `mcast_recv_one_per_call` is the
//! same with [`MulticastSocket::recv`], one datagram a call; `bare_recvmsg_pktinfo` is a
//! bare loop that learns each datagram's destination group, as a receiver of several
//! groups on one socket must (`recvmsg` with `IP_PKTINFO`). The ratio of two times is the
//! ratio of the datagram rates one core sustains. `bare_socket_per_group` gets the
//! group without a control message (a socket per group, bound to it), and
//! `counting_only` is the counting without the receiving.

use std::hint::black_box;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use mcast::GroupAddr;
use mcast::socket::probe::{self, Kind, Probe};
use mcast::socket::{Interface, MulticastSocket, RecvBatch};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

#[allow(dead_code, unused_imports)]
#[path = "../src/bin/mcast/spread.rs"]
mod spread;
#[allow(dead_code, unused_imports)]
#[path = "../src/bin/mcast/tally.rs"]
mod tally;

const GROUPS: u32 = 16;
/// Datagrams queued per sample: fits the default receive buffer (212 992 octets, each
/// small datagram costing about 768 of it on loopback).
const BATCH: u64 = 128;
const PORT: u16 = 47_811;

fn groups() -> Vec<GroupAddr> {
    (0..GROUPS).map(|i| GroupAddr::from_ipv4(Ipv4Addr::new(239, 201, 0, 1 + i as u8)).unwrap()).collect()
}

/// A sender on loopback that queues `n` probe datagrams, round robin over the groups.
struct Sender {
    socket: MulticastSocket,
    groups: Vec<GroupAddr>,
    seq: u64,
}

impl Sender {
    fn new() -> Sender {
        let mut socket = MulticastSocket::bind(0).unwrap();
        socket.set_interface(Interface::Addr(Ipv4Addr::LOCALHOST)).unwrap();
        Sender { socket, groups: groups(), seq: 0 }
    }

    fn queue(&mut self, n: u64) {
        let mut buf = [0u8; probe::LEN];
        for _ in 0..n {
            self.seq += 1;
            let p = Probe { kind: Kind::Data, ttl: 1, stream: 1, seq: self.seq, sent: probe::wall_clock(), aux: 0 };
            p.write(&mut buf);
            let group = self.groups[(self.seq % u64::from(GROUPS)) as usize];
            self.socket.send_to(&buf, group, PORT).unwrap();
        }
    }
}

fn bare_receiver() -> Socket {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    s.set_reuse_address(true).unwrap();
    s.bind(&SockAddr::from(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PORT))).unwrap();
    for g in groups() {
        s.join_multicast_v4(&g.into(), &Ipv4Addr::LOCALHOST).unwrap();
    }
    s
}

/// Asks for each datagram's destination, as the socket adapter does (Linux).
#[cfg(target_os = "linux")]
fn set_pktinfo(socket: &Socket) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: `one` is a live c_int whose size is passed beside it.
    let rc =
        unsafe { libc::setsockopt(socket.as_raw_fd(), libc::IPPROTO_IP, libc::IP_PKTINFO, (&raw const one).cast(), 4) };
    assert_eq!(rc, 0);
}

/// One `recvmsg` with room for the `IP_PKTINFO` control message: the least a receiver
/// that tells groups apart on one socket must do.
#[cfg(target_os = "linux")]
fn recvmsg_pktinfo(socket: &Socket, buf: &mut [u8]) -> isize {
    use std::os::fd::AsRawFd;
    let mut control = [0u64; 8];
    // SAFETY: all-zero bytes are valid for these plain-data structures.
    let (mut from, mut msg): (libc::sockaddr_in, libc::msghdr) = unsafe { core::mem::zeroed() };
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    msg.msg_name = (&raw mut from).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_in>() as u32;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 8]>();
    // SAFETY: every pointer in `msg` refers to a live local buffer whose length is given
    // beside it.
    unsafe { libc::recvmsg(socket.as_raw_fd(), &raw mut msg, 0) }
}

fn mcast_receiver() -> MulticastSocket {
    let mut s = MulticastSocket::bind(PORT).unwrap();
    for g in groups() {
        s.join(g, Interface::Addr(Ipv4Addr::LOCALHOST)).unwrap();
    }
    s
}

fn recv(c: &mut Criterion) {
    let mut group = c.benchmark_group("recv_16_groups");
    group.throughput(criterion::Throughput::Elements(BATCH));

    group.bench_function("bare_socket2", |b| {
        let socket = bare_receiver();
        let mut sender = Sender::new();
        let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                sender.queue(BATCH);
                let start = Instant::now();
                for _ in 0..BATCH {
                    black_box(socket.recv_from(&mut buf).unwrap());
                }
                total += start.elapsed();
            }
            total
        });
    });

    #[cfg(target_os = "linux")]
    group.bench_function("bare_recvmsg_pktinfo", |b| {
        let socket = bare_receiver();
        set_pktinfo(&socket);
        let mut sender = Sender::new();
        let mut buf = [0u8; 2048];
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                sender.queue(BATCH);
                let start = Instant::now();
                for _ in 0..BATCH {
                    black_box(recvmsg_pktinfo(&socket, &mut buf));
                }
                total += start.elapsed();
            }
            total
        });
    });

    #[cfg(target_os = "linux")]
    group.bench_function("bare_socket_per_group", |b| {
        use std::os::fd::AsRawFd;
        // One socket per group bound to the group's address (Linux allows it): the
        // kernel delivers each group to its own socket, so `recv_from` suffices.
        let sockets: Vec<Socket> = groups()
            .iter()
            .map(|g| {
                let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
                s.set_reuse_address(true).unwrap();
                s.bind(&SockAddr::from(SocketAddrV4::new(g.to_ipv4(), PORT))).unwrap();
                s.join_multicast_v4(&g.to_ipv4(), &Ipv4Addr::LOCALHOST).unwrap();
                s.set_nonblocking(true).unwrap();
                s
            })
            .collect();
        let mut fds: Vec<libc::pollfd> =
            sockets.iter().map(|s| libc::pollfd { fd: s.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
        let mut sender = Sender::new();
        let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                sender.queue(BATCH);
                let start = Instant::now();
                let mut left = BATCH;
                while left > 0 {
                    // SAFETY: `fds` is a live array of pollfd of the length given.
                    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1000) };
                    for (f, s) in fds.iter().zip(&sockets) {
                        if f.revents != 0 {
                            while let Ok(r) = s.recv_from(&mut buf) {
                                black_box(r);
                                left -= 1;
                            }
                        }
                    }
                }
                total += start.elapsed();
            }
            total
        });
    });

    group.bench_function("counting_only", |b| {
        // What mcast recv does per datagram after receiving it, on datagrams built in
        // memory: the header parse, the row lookup, the sequence and delay accounting.
        let mut tally = tally::Tally::default();
        let groups = groups();
        let from = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 40_000);
        let datagrams: Vec<[u8; probe::LEN]> = (0..BATCH)
            .map(|i| {
                let mut buf = [0u8; probe::LEN];
                let p =
                    Probe { kind: Kind::Data, ttl: 1, stream: 1, seq: 1 + i / 16, sent: probe::wall_clock(), aux: 0 };
                p.write(&mut buf);
                buf
            })
            .collect();
        b.iter(|| {
            let (at, wall) = (Instant::now(), probe::wall_clock());
            for (i, d) in datagrams.iter().enumerate() {
                tally.record(groups[i % 16].to_ipv4(), from, d, at, wall);
            }
        });
    });

    group.bench_function("mcast_recv", |b| {
        let socket = mcast_receiver();
        let mut sender = Sender::new();
        let mut batch = RecvBatch::new(32, 65_536);
        let mut tally = tally::Tally::default();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                sender.queue(BATCH);
                let start = Instant::now();
                let mut left = BATCH;
                while left > 0 {
                    socket.recv_batch(&mut batch).unwrap();
                    let (at, wall) = (Instant::now(), probe::wall_clock());
                    for (d, payload) in batch.iter() {
                        let to = d.destination.unwrap_or(Ipv4Addr::UNSPECIFIED);
                        tally.record(to, d.source, payload, at, wall);
                        left -= 1;
                    }
                }
                total += start.elapsed();
            }
            black_box(tally.datagrams());
            total
        });
    });

    group.bench_function("mcast_recv_one_per_call", |b| {
        let socket = mcast_receiver();
        let mut sender = Sender::new();
        let mut buf = [0u8; 2048];
        let mut tally = tally::Tally::default();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                sender.queue(BATCH);
                let start = Instant::now();
                for _ in 0..BATCH {
                    let d = socket.recv(&mut buf).unwrap();
                    let (at, wall) = (Instant::now(), probe::wall_clock());
                    let to = d.destination.unwrap_or(Ipv4Addr::UNSPECIFIED);
                    tally.record(to, d.source, &buf[..d.len], at, wall);
                }
                total += start.elapsed();
            }
            black_box(tally.datagrams());
            total
        });
    });
    group.finish();
}

criterion_group!(benches, recv);
criterion_main!(benches);
