//! Multicast sockets: one API for IPv4 multicast on Linux and Windows, on [`socket2`]
//! (feature `socket`).
//!
//! [`MulticastSocket`] is the setsockopt model of IP multicast (`IP_ADD_MEMBERSHIP`,
//! `IP_DROP_MEMBERSHIP`, `IP_MULTICAST_TTL`, `IP_MULTICAST_IF`, `IP_MULTICAST_LOOP`) with
//! the differences between Linux and Winsock 2 taken care of:
//!
//! | difference | what the adapter does |
//! |---|---|
//! | `IP_MULTICAST_LOOP` applies to the sending socket on Linux, to the receiving one on Windows | the option is set on every socket the adapter makes, and a socket with loopback off also drops, when it receives, datagrams sent from an address of this host: "local copies on/off" |
//! | an interface index is `ip_mreqn.imr_ifindex` on Linux, the address `0.0.0.idx` on Windows | [`Interface::Index`] is translated per OS; the outgoing interface is remembered, not read back (Windows returns an index in host order) |
//! | binding to the group address fails on Windows | a socket always binds `0.0.0.0:port` |
//! | `IP_MULTICAST_ALL` (Linux) delivers groups joined by *any* socket of the host | turned off; the destination of every datagram is also checked in software against this socket's joins |
//! | a second join is `EADDRINUSE` / `WSAEADDRNOTAVAIL`, a leave when not joined `EADDRNOTAVAIL` / `WSAEINVAL` | joins are reference-counted in the adapter: joining twice counts, leaving what is not joined does nothing |
//! | the membership limit (`igmp_max_memberships`, 20 by default on Linux) is `ENOBUFS` / `WSAENOBUFS` | one [`ErrorKind::TooManyMemberships`]; earlier joins stay in force |
//! | Winsock 1 headers (`winsock.h`) number the options 2 to 6, Winsock 2 (`ws2ipdef.h`) 9 to 19 | the Winsock 2 numbers, through `ws2_32` (windows-sys's constants, pinned by a test) |
//!
//! Receiving gives the sender, the destination group and the TTL of each datagram
//! ([`Datagram`]), from `IP_PKTINFO` and `IP_RECVTTL` (`recvmsg` on Linux, `WSARecvMsg`
//! on Windows). [`MulticastSocket::recv_batch`] takes every datagram already queued, up
//! to a [`RecvBatch`], in one `recvmmsg` call on Linux.
//!
//! A sender need not join a group; a receiver must, on the interface the traffic
//! arrives on. Give the interface explicitly where it matters: in a network namespace
//! with only `lo`, a join on the default interface fails with
//! [`ErrorKind::NoSuchInterface`] because no route leads to the group.
//!
//! ```no_run
//! use core::net::Ipv4Addr;
//! use mcast::socket::{Interface, MulticastSocket};
//!
//! let group = "239.1.2.3".parse()?;
//! let lo = Interface::Addr(Ipv4Addr::LOCALHOST);
//!
//! let mut receiver = MulticastSocket::bind(5000)?;
//! receiver.join(group, lo)?;
//!
//! let mut sender = MulticastSocket::bind(0)?;
//! sender.set_interface(lo)?;
//! sender.send_to(b"hello", group, 5000)?;
//!
//! let mut buf = [0u8; 1500];
//! let datagram = receiver.recv(&mut buf)?;
//! assert_eq!(&buf[..datagram.len], b"hello");
//! assert_eq!(datagram.group(), Some(group));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! On Linux, [`linux::IgmpMonitor`] captures the IGMP frames on a link (AF_PACKET) and
//! decodes them with [`crate::wire`]; [`linux::IgmpSocket`], [`linux::LinkState`] and
//! [`linux::LinkWatcher`] give a querier a link to send and receive IGMP on, its
//! address and state, and word of their changes.

use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::str::FromStr;
use core::time::Duration;
use std::io;
use std::string::{String, ToString};
use std::sync::Mutex;
use std::vec::Vec;

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};

use crate::addr::GroupAddr;

#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(target_os = "linux")]
use linux as sys;

mod batch;
pub mod probe;
pub mod sequence;
pub use batch::RecvBatch;
#[cfg(windows)]
pub mod windows;
#[cfg(windows)]
use windows as sys;

/// Which interface a join, a leave or outgoing multicast uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Interface {
    /// The system's choice (`INADDR_ANY`): the interface of the route to the group.
    #[default]
    Default,
    /// The interface that has this IPv4 address.
    Addr(Ipv4Addr),
    /// The interface with this index (`if_nametoindex`; `ip link` on Linux, `netsh
    /// interface ipv4 show interfaces` on Windows). Windows takes indexes below 2^24.
    Index(u32),
}

impl Interface {
    /// What a user names an interface by: `default`, an IPv4 address, an index, or
    /// an interface name (`eth0`; on Windows the adapter's alias, e.g. `Ethernet 2`),
    /// which is looked up now and becomes [`Interface::Index`].
    ///
    /// A name the system does not know is [`ErrorKind::NoSuchInterface`].
    pub fn lookup(s: &str) -> Result<Interface> {
        match s.parse() {
            Ok(interface) => Ok(interface),
            Err(_) => interface_index(s).map(Interface::Index),
        }
    }

    fn to_socket2(self) -> InterfaceIndexOrAddress {
        match self {
            Interface::Default => InterfaceIndexOrAddress::Address(Ipv4Addr::UNSPECIFIED),
            Interface::Addr(a) => InterfaceIndexOrAddress::Address(a),
            Interface::Index(i) => InterfaceIndexOrAddress::Index(i),
        }
    }
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Interface::Default => f.write_str("default"),
            Interface::Addr(a) => write!(f, "{a}"),
            Interface::Index(i) => write!(f, "index {i}"),
        }
    }
}

impl FromStr for Interface {
    type Err = ErrorKind;

    /// `default` (or `0.0.0.0`), a dotted-quad address, or a decimal interface index.
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        if s == "default" {
            return Ok(Interface::Default);
        }
        if let Ok(addr) = s.parse::<Ipv4Addr>() {
            return Ok(if addr.is_unspecified() { Interface::Default } else { Interface::Addr(addr) });
        }
        match s.parse::<u32>() {
            Ok(0) => Ok(Interface::Default),
            Ok(index) => Ok(Interface::Index(index)),
            Err(_) => Err(ErrorKind::InvalidInput),
        }
    }
}

/// What went wrong, whatever the OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The per-socket membership limit was reached (`ENOBUFS`, `WSAENOBUFS`); the
    /// memberships joined before stay in force.
    TooManyMemberships,
    /// The interface does not exist, has no such address, or has no route to the group
    /// (`ENODEV`, `EADDRNOTAVAIL`, `WSAEADDRNOTAVAIL`, …).
    NoSuchInterface,
    /// The address is not one a host may join or send to: 224.0.0.0, or a source
    /// that is not unicast.
    NotMulticast,
    /// The OS already has this membership through another [`Interface`] value that
    /// names the same interface (`EADDRINUSE` on a join).
    AlreadyJoined,
    /// The port is taken by a socket that does not allow sharing it.
    AddrInUse,
    /// The operation needs a privilege the process lacks (`CAP_NET_RAW` for
    /// capturing).
    PermissionDenied,
    /// The read timeout passed with nothing received.
    TimedOut,
    /// No route to the destination (`ENETUNREACH`, `WSAENETUNREACH`; Windows answers
    /// this to a send on loopback before any socket has joined the group).
    NetworkUnreachable,
    /// An argument was malformed (an interface that is neither an address nor an index).
    InvalidInput,
    /// Any other failure; see the source.
    Other,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::TooManyMemberships => "too many memberships on this socket (the OS's per-socket limit)",
            ErrorKind::NoSuchInterface => "no such interface, or no route to the group through it",
            ErrorKind::NotMulticast => "not a joinable multicast group or not a unicast source",
            ErrorKind::AlreadyJoined => "already joined through another name of the same interface",
            ErrorKind::AddrInUse => "address in use",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::TimedOut => "timed out",
            ErrorKind::NetworkUnreachable => "network unreachable",
            ErrorKind::InvalidInput => "invalid argument",
            ErrorKind::Other => "operating system error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl core::error::Error for ErrorKind {}

/// An error of the socket adapter: what it was doing, the portable [`ErrorKind`], and
/// the OS error as the [`source`](core::error::Error::source) when there is one.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    context: String,
    hint: Option<&'static str>,
    source: Option<io::Error>,
}

impl Error {
    fn new(kind: ErrorKind, context: impl Into<String>) -> Error {
        Error { kind, context: context.into(), hint: None, source: None }
    }

    /// Wraps an OS error, classifying it.
    fn os(context: impl Into<String>, source: io::Error) -> Error {
        let kind = classify(&source);
        Error { kind, context: context.into(), hint: None, source: Some(source) }
    }

    #[cfg(target_os = "linux")]
    fn with_hint(mut self, hint: &'static str) -> Error {
        self.hint = Some(hint);
        self
    }

    /// The portable kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What the adapter was doing, e.g. `join 239.1.2.3 on 127.0.0.1`.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The OS error number (`errno`, or a `WSAE…` code), if the OS reported one.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.as_ref().and_then(io::Error::raw_os_error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.kind)?;
        if let Some(source) = &self.source {
            write!(f, " ({source})")?;
        }
        if let Some(hint) = self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as &(dyn core::error::Error + 'static))
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match e.kind {
            ErrorKind::PermissionDenied => io::ErrorKind::PermissionDenied,
            ErrorKind::TimedOut => io::ErrorKind::TimedOut,
            ErrorKind::AddrInUse => io::ErrorKind::AddrInUse,
            ErrorKind::InvalidInput | ErrorKind::NotMulticast => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

fn classify(e: &io::Error) -> ErrorKind {
    if let Some(kind) = sys::classify(e) {
        return kind;
    }
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ErrorKind::TimedOut,
        io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
        io::ErrorKind::AddrInUse => ErrorKind::AddrInUse,
        io::ErrorKind::AddrNotAvailable => ErrorKind::NoSuchInterface,
        io::ErrorKind::NetworkUnreachable => ErrorKind::NetworkUnreachable,
        io::ErrorKind::InvalidInput => ErrorKind::InvalidInput,
        _ => ErrorKind::Other,
    }
}

/// The result of the socket adapter's operations.
pub type Result<T> = core::result::Result<T, Error>;

/// One membership of a [`MulticastSocket`]: a group (with a source for a
/// source-specific join) on an interface, joined `count` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Membership {
    /// The group.
    pub group: GroupAddr,
    /// The only source accepted, for a source-specific join.
    pub source: Option<Ipv4Addr>,
    /// The interface, as given to the join.
    pub interface: Interface,
    /// How many joins this membership has had without a leave (at least 1).
    pub count: u32,
}

/// What [`MulticastSocket::recv`] received: the payload's length, who sent it, and
/// where it was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Datagram {
    /// Payload octets written to the buffer. A longer datagram is cut to the buffer
    /// on both OSes.
    pub len: usize,
    /// The sender's address and port.
    pub source: SocketAddrV4,
    /// The IPv4 destination: the group for multicast, this host's address for
    /// unicast. `None` if the OS did not say.
    pub destination: Option<Ipv4Addr>,
    /// The index of the interface it arrived on, if the OS said.
    pub interface_index: Option<u32>,
    /// The IP time-to-live it arrived with (`IP_RECVTTL`), if the OS said: Linux
    /// always does; Windows does from Windows 10 version 1703 on.
    pub ttl: Option<u8>,
}

impl Datagram {
    /// The destination group, if the datagram was sent to one.
    pub fn group(&self) -> Option<GroupAddr> {
        self.destination.and_then(|d| GroupAddr::from_ipv4(d).ok())
    }
}

/// What a platform's receive returns, before the software checks.
#[derive(Debug, Clone, Copy)]
struct Received {
    len: usize,
    source: SocketAddrV4,
    destination: Option<Ipv4Addr>,
    interface_index: Option<u32>,
    ttl: Option<u8>,
}

impl Received {
    fn datagram(&self) -> Datagram {
        Datagram {
            len: self.len,
            source: self.source,
            destination: self.destination,
            interface_index: self.interface_index,
            ttl: self.ttl,
        }
    }
}

/// A UDP socket for IPv4 multicast, bound to `0.0.0.0:port`.
///
/// Joins and leaves are reference-counted per (group, source, interface): the first
/// join asks the OS, later ones count; the last leave asks the OS to leave. Received
/// datagrams addressed to a group this socket has not joined (or, for a
/// source-specific join, from another source) are dropped, whatever other sockets of
/// the host joined.
#[derive(Debug)]
pub struct MulticastSocket {
    socket: Socket,
    sys: sys::State,
    port: u16,
    memberships: Vec<Membership>,
    interface: Interface,
    loopback: bool,
    /// Sources already checked for being addresses of this host, for receivers with
    /// loopback off.
    local_sources: Mutex<Vec<(Ipv4Addr, bool)>>,
}

/// How many sources a receiver with loopback off remembers as local or not.
const LOCAL_SOURCE_CACHE: usize = 64;

impl MulticastSocket {
    /// A socket bound to `0.0.0.0:port` (0 picks a free port), shareable with other
    /// sockets bound to the same port (`SO_REUSEADDR`), with `IP_PKTINFO` and `IP_RECVTTL` on, loopback
    /// on, TTL 1 and, on Linux, `IP_MULTICAST_ALL` off.
    pub fn bind(port: u16) -> Result<MulticastSocket> {
        let context = || std::format!("bind 0.0.0.0:{port}");
        let socket =
            Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(|e| Error::os(context(), e))?;
        socket.set_reuse_address(true).map_err(|e| Error::os(context(), e))?;
        let addr = SockAddr::from(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port));
        socket.bind(&addr).map_err(|e| Error::os(context(), e))?;
        let port = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket_ipv4())
            .map(|a| a.port())
            .ok_or_else(|| Error::new(ErrorKind::Other, context()))?;
        let sys = sys::configure(&socket).map_err(|e| Error::os(context(), e))?;
        socket.set_multicast_loop_v4(true).map_err(|e| Error::os(context(), e))?;
        socket.set_multicast_ttl_v4(1).map_err(|e| Error::os(context(), e))?;
        Ok(MulticastSocket {
            socket,
            sys,
            port,
            memberships: Vec::new(),
            interface: Interface::Default,
            loopback: true,
            local_sources: Mutex::new(Vec::new()),
        })
    }

    /// The local port.
    pub fn local_port(&self) -> u16 {
        self.port
    }

    /// The underlying socket, for options this type does not cover.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Joins `group` on `interface` (any source). Returns whether the OS was asked
    /// (`false`: the membership existed and its count went up).
    pub fn join(&mut self, group: GroupAddr, interface: Interface) -> Result<bool> {
        self.join_inner(group, None, interface)
    }

    /// Leaves `group` on `interface`. Returns whether the OS was asked (`false`: other
    /// joins of the membership remain, or it did not exist).
    pub fn leave(&mut self, group: GroupAddr, interface: Interface) -> Result<bool> {
        self.leave_inner(group, None, interface)
    }

    /// Joins `group` for datagrams from `source` only (source-specific multicast,
    /// `IP_ADD_SOURCE_MEMBERSHIP`). Returns whether the OS was asked.
    pub fn join_source(&mut self, group: GroupAddr, source: Ipv4Addr, interface: Interface) -> Result<bool> {
        self.join_inner(group, Some(source), interface)
    }

    /// Leaves a source-specific membership. Returns whether the OS was asked.
    pub fn leave_source(&mut self, group: GroupAddr, source: Ipv4Addr, interface: Interface) -> Result<bool> {
        self.leave_inner(group, Some(source), interface)
    }

    fn find(&self, group: GroupAddr, source: Option<Ipv4Addr>, interface: Interface) -> Option<usize> {
        self.memberships.iter().position(|m| m.group == group && m.source == source && m.interface == interface)
    }

    fn join_inner(&mut self, group: GroupAddr, source: Option<Ipv4Addr>, interface: Interface) -> Result<bool> {
        let context = || describe_membership("join", group, source, interface);
        check_membership(group, source).map_err(|kind| Error::new(kind, context()))?;
        if let Some(i) = self.find(group, source, interface) {
            let m = &mut self.memberships[i];
            m.count = m.count.checked_add(1).ok_or_else(|| Error::new(ErrorKind::TooManyMemberships, context()))?;
            return Ok(false);
        }
        self.memberships.try_reserve(1).map_err(|_| Error::new(ErrorKind::TooManyMemberships, context()))?;
        let result = match source {
            None => self.socket.join_multicast_v4_n(&group.to_ipv4(), &interface.to_socket2()),
            Some(source) => sys::join_source(&self.socket, group.to_ipv4(), source, interface),
        };
        result.map_err(|e| {
            let err = Error::os(context(), e);
            match err.kind {
                ErrorKind::AddrInUse => Error { kind: ErrorKind::AlreadyJoined, ..err },
                #[cfg(target_os = "linux")]
                ErrorKind::TooManyMemberships => err.with_hint(
                    "Linux allows net.ipv4.igmp_max_memberships joins per socket (20 by default): raise it with sysctl",
                ),
                _ => err,
            }
        })?;
        self.memberships.push(Membership { group, source, interface, count: 1 });
        Ok(true)
    }

    fn leave_inner(&mut self, group: GroupAddr, source: Option<Ipv4Addr>, interface: Interface) -> Result<bool> {
        let Some(i) = self.find(group, source, interface) else { return Ok(false) };
        if self.memberships[i].count > 1 {
            self.memberships[i].count -= 1;
            return Ok(false);
        }
        let result = match source {
            None => self.socket.leave_multicast_v4_n(&group.to_ipv4(), &interface.to_socket2()),
            Some(source) => sys::leave_source(&self.socket, group.to_ipv4(), source, interface),
        };
        result.map_err(|e| Error::os(describe_membership("leave", group, source, interface), e))?;
        self.memberships.remove(i);
        Ok(true)
    }

    /// The memberships, in the order they were first joined.
    pub fn memberships(&self) -> &[Membership] {
        &self.memberships
    }

    /// Whether this socket accepts datagrams sent to `group` (from `source`): it joined
    /// the group for any source, or for this one.
    pub fn accepts(&self, group: GroupAddr, source: Ipv4Addr) -> bool {
        self.memberships.iter().any(|m| m.group == group && m.source.is_none_or(|s| s == source))
    }

    /// Sets the TTL of outgoing multicast (1, the default, stays on the link).
    pub fn set_ttl(&mut self, ttl: u8) -> Result<()> {
        self.socket.set_multicast_ttl_v4(u32::from(ttl)).map_err(|e| Error::os(std::format!("set TTL {ttl}"), e))
    }

    /// The TTL of outgoing multicast, as the OS reports it.
    pub fn ttl(&self) -> Result<u8> {
        let ttl = self.socket.multicast_ttl_v4().map_err(|e| Error::os("read TTL", e))?;
        u8::try_from(ttl).map_err(|_| Error::new(ErrorKind::Other, "read TTL"))
    }

    /// Sets the interface outgoing multicast leaves by.
    pub fn set_interface(&mut self, interface: Interface) -> Result<()> {
        sys::set_multicast_if(&self.socket, interface)
            .map_err(|e| Error::os(std::format!("set outgoing interface {interface}"), e))?;
        self.interface = interface;
        Ok(())
    }

    /// The outgoing interface last set (not read back: Windows reads an index back in
    /// host order, Linux an address).
    pub fn interface(&self) -> Interface {
        self.interface
    }

    /// Local copies on or off (on by default).
    ///
    /// On: datagrams this socket sends reach sockets of this host that joined the
    /// group, and this socket receives what they send. Off: neither. Linux applies
    /// `IP_MULTICAST_LOOP` to the sender and Windows to the receiver; the adapter sets
    /// it on every socket, so whichever socket the OS consults has it, and a receiver
    /// with loopback off also drops datagrams whose source is an address of this host
    /// (the copies Linux would still deliver to it). One case stays OS-specific: on
    /// Windows, a socket with loopback off cannot stop a receiver of the same host that
    /// has it on.
    pub fn set_loopback(&mut self, on: bool) -> Result<()> {
        self.socket
            .set_multicast_loop_v4(on)
            .map_err(|e| Error::os(std::format!("set loopback {}", if on { "on" } else { "off" }), e))?;
        self.loopback = on;
        Ok(())
    }

    /// Whether local copies are on, as the OS reports the option.
    pub fn loopback(&self) -> Result<bool> {
        self.socket.multicast_loop_v4().map_err(|e| Error::os("read loopback", e))
    }

    /// Sends `payload` to `group:port` out of the outgoing interface. A sender need not
    /// join the group.
    pub fn send_to(&self, payload: &[u8], group: GroupAddr, port: u16) -> Result<usize> {
        let to = SocketAddrV4::new(group.to_ipv4(), port);
        if !group.is_joinable() {
            return Err(Error::new(ErrorKind::NotMulticast, std::format!("send to {to}")));
        }
        self.socket.send_to(payload, &SockAddr::from(to)).map_err(|e| Error::os(std::format!("send to {to}"), e))
    }

    /// How long [`recv`](Self::recv) waits; `None` (the default) waits for ever.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        self.socket.set_read_timeout(timeout).map_err(|e| Error::os("set read timeout", e))
    }

    /// Receives one datagram into `buf`, with its sender and destination.
    ///
    /// Datagrams this socket should not see are dropped and the wait goes on (each
    /// drop starts the read timeout again): those sent to a group it has not joined,
    /// from a source its source-specific join excludes, or, with loopback off, from an
    /// address of this host. Unicast datagrams to the port are returned as they are.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Datagram> {
        loop {
            let r = sys::recv(&self.socket, &self.sys, buf)
                .map_err(|e| Error::os(std::format!("receive on port {}", self.port), e))?;
            if let Some(group) = r.destination.and_then(|d| GroupAddr::from_ipv4(d).ok())
                && !self.accepts(group, *r.source.ip())
            {
                continue;
            }
            if !self.loopback && self.is_local(*r.source.ip()) {
                continue;
            }
            return Ok(r.datagram());
        }
    }

    /// Whether `addr` is an address of this host: only such an address can be bound.
    fn is_local(&self, addr: Ipv4Addr) -> bool {
        let mut cache = self.local_sources.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(&(_, local)) = cache.iter().find(|(a, _)| *a == addr) {
            return local;
        }
        let local = addr.is_loopback()
            || Socket::new(Domain::IPV4, Type::DGRAM, None)
                .and_then(|probe| probe.bind(&SockAddr::from(SocketAddrV4::new(addr, 0))))
                .is_ok();
        if cache.len() == LOCAL_SOURCE_CACHE {
            cache.remove(0);
        }
        cache.push((addr, local));
        local
    }
}

fn check_membership(group: GroupAddr, source: Option<Ipv4Addr>) -> core::result::Result<(), ErrorKind> {
    if !group.is_joinable() {
        return Err(ErrorKind::NotMulticast);
    }
    if let Some(s) = source
        && (s.is_unspecified() || s.is_multicast() || s.is_broadcast())
    {
        return Err(ErrorKind::NotMulticast);
    }
    Ok(())
}

fn describe_membership(what: &str, group: GroupAddr, source: Option<Ipv4Addr>, interface: Interface) -> String {
    let mut s = std::format!("{what} {group}");
    if let Some(source) = source {
        s.push_str(" from ");
        s.push_str(&source.to_string());
    }
    s.push_str(" on ");
    s.push_str(&interface.to_string());
    s
}

/// The index of the interface named `name` (`eth0`, `lo`; on Windows the adapter's
/// alias or LUID name), from `if_nametoindex`.
pub fn interface_index(name: &str) -> Result<u32> {
    match sys::interface_index(name) {
        Some(index) => Ok(index),
        None => Err(Error::new(ErrorKind::NoSuchInterface, std::format!("interface {name:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_parses_addresses_indexes_and_default() {
        assert_eq!("default".parse(), Ok(Interface::Default));
        assert_eq!("0.0.0.0".parse(), Ok(Interface::Default));
        assert_eq!("0".parse(), Ok(Interface::Default));
        assert_eq!("127.0.0.1".parse(), Ok(Interface::Addr(Ipv4Addr::LOCALHOST)));
        assert_eq!("7".parse(), Ok(Interface::Index(7)));
        assert_eq!("eth0".parse::<Interface>(), Err(ErrorKind::InvalidInput));
        assert_eq!(Interface::Index(3).to_string(), "index 3");
    }

    #[test]
    fn interfaces_are_looked_up_by_name_and_unknown_names_say_so() {
        assert_eq!(Interface::lookup("10.0.0.1").unwrap(), Interface::Addr(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(Interface::lookup("default").unwrap(), Interface::Default);
        let e = Interface::lookup("no-such-if0").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NoSuchInterface);
        assert!(e.to_string().starts_with("interface \"no-such-if0\": no such interface"), "{e}");
        #[cfg(target_os = "linux")]
        assert_eq!(Interface::lookup("lo").unwrap(), Interface::Index(1));
    }

    #[test]
    fn memberships_are_checked_before_the_os_is_asked() {
        let group: GroupAddr = "239.1.2.3".parse().unwrap();
        assert_eq!(check_membership(GroupAddr::BASE, None), Err(ErrorKind::NotMulticast));
        assert_eq!(check_membership(group, Some(Ipv4Addr::UNSPECIFIED)), Err(ErrorKind::NotMulticast));
        assert_eq!(check_membership(group, Some(Ipv4Addr::new(224, 0, 0, 1))), Err(ErrorKind::NotMulticast));
        assert_eq!(check_membership(group, Some(Ipv4Addr::new(10, 0, 0, 1))), Ok(()));
        assert_eq!(
            describe_membership("join", group, Some(Ipv4Addr::new(10, 0, 0, 1)), Interface::Index(2)),
            "join 239.1.2.3 from 10.0.0.1 on index 2"
        );
    }

    #[test]
    fn errors_keep_the_os_error_as_source() {
        use core::error::Error as _;
        let e = Error::os("join 239.1.2.3 on default", io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert!(e.source().is_some());
        assert!(e.to_string().starts_with("join 239.1.2.3 on default: permission denied ("), "{e}");
    }
}
