//! Linux: the socket options socket2 does not cover, `IP_PKTINFO` receive, an IGMP
//! monitor on AF_PACKET, and what an IGMP querier needs of a link ([`IgmpSocket`],
//! [`LinkState`], [`LinkWatcher`]).
//!
//! Each `unsafe` block here is one system call on a file descriptor the caller owns,
//! with plain-data arguments whose sizes are passed beside them.

use core::mem::{MaybeUninit, size_of};
use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::string::String;
use std::time::Instant;

use socket2::{Domain, Protocol, Socket, Type};

use super::{Error, ErrorKind, Interface, Received, Result};
use crate::wire::{self, FrameRepr};

mod link;
pub(super) mod mmsg;
pub use link::{IgmpSocket, LinkState, LinkWatcher};

/// Per-socket state the Linux receive path needs: none.
#[derive(Debug)]
pub(super) struct State;

/// Turns `IP_MULTICAST_ALL` off (a socket bound to `INADDR_ANY:port` would otherwise
/// receive every group any socket of the host joined), and `IP_PKTINFO` and
/// `IP_RECVTTL` on.
pub(super) fn configure(socket: &Socket) -> io::Result<State> {
    socket.set_multicast_all_v4(false)?;
    setsockopt(socket.as_raw_fd(), libc::IPPROTO_IP, libc::IP_PKTINFO, &1 as &libc::c_int)?;
    setsockopt(socket.as_raw_fd(), libc::IPPROTO_IP, libc::IP_RECVTTL, &1 as &libc::c_int)?;
    Ok(State)
}

pub(super) fn classify(e: &io::Error) -> Option<ErrorKind> {
    match e.raw_os_error()? {
        libc::ENOBUFS => Some(ErrorKind::TooManyMemberships),
        libc::ENODEV | libc::ENXIO => Some(ErrorKind::NoSuchInterface),
        _ => None,
    }
}

pub(super) fn interface_index(name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    // SAFETY: `name` is a NUL-terminated string that outlives the call, which only reads it.
    #[allow(unsafe_code)]
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

fn in_addr(a: Ipv4Addr) -> libc::in_addr {
    libc::in_addr { s_addr: u32::from(a).to_be() }
}

/// `IP_MULTICAST_IF` with an `ip_mreqn`, which takes an index as well as an address
/// (socket2 sets only an address).
pub(super) fn set_multicast_if(socket: &Socket, interface: Interface) -> io::Result<()> {
    let (address, index) = match interface {
        Interface::Default => (Ipv4Addr::UNSPECIFIED, 0),
        Interface::Addr(a) => (a, 0),
        Interface::Index(i) => (Ipv4Addr::UNSPECIFIED, i),
    };
    let index = libc::c_int::try_from(index).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))?;
    let mreqn = libc::ip_mreqn {
        imr_multiaddr: in_addr(Ipv4Addr::UNSPECIFIED),
        imr_address: in_addr(address),
        imr_ifindex: index,
    };
    setsockopt(socket.as_raw_fd(), libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreqn)
}

/// Linux's `struct group_source_req` (`linux/in.h`), for source-specific joins on an
/// interface given by index; libc does not define it.
#[repr(C)]
struct GroupSourceReq {
    gsr_interface: u32,
    gsr_group: libc::sockaddr_storage,
    gsr_source: libc::sockaddr_storage,
}

fn sockaddr_storage(addr: Ipv4Addr) -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain old data for which all-zero bytes are valid.
    #[allow(unsafe_code)]
    let mut storage: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: in_addr(addr),
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_storage is larger than and aligned at least as strictly as
    // sockaddr_in, so the write stays inside `storage`.
    #[allow(unsafe_code)]
    unsafe {
        core::ptr::write((&raw mut storage).cast::<libc::sockaddr_in>(), sin);
    }
    storage
}

fn source_membership(
    socket: &Socket,
    join: bool,
    group: Ipv4Addr,
    source: Ipv4Addr,
    interface: Interface,
) -> io::Result<()> {
    let address = match interface {
        Interface::Default => Ipv4Addr::UNSPECIFIED,
        Interface::Addr(a) => a,
        Interface::Index(index) => {
            let req = GroupSourceReq {
                gsr_interface: index,
                gsr_group: sockaddr_storage(group),
                gsr_source: sockaddr_storage(source),
            };
            let option = if join { libc::MCAST_JOIN_SOURCE_GROUP } else { libc::MCAST_LEAVE_SOURCE_GROUP };
            return setsockopt(socket.as_raw_fd(), libc::IPPROTO_IP, option, &req);
        }
    };
    if join { socket.join_ssm_v4(&source, &group, &address) } else { socket.leave_ssm_v4(&source, &group, &address) }
}

pub(super) fn join_source(socket: &Socket, group: Ipv4Addr, source: Ipv4Addr, interface: Interface) -> io::Result<()> {
    source_membership(socket, true, group, source, interface)
}

pub(super) fn leave_source(socket: &Socket, group: Ipv4Addr, source: Ipv4Addr, interface: Interface) -> io::Result<()> {
    source_membership(socket, false, group, source, interface)
}

/// Binds a packet socket to interface `ifindex` for EtherType `protocol` and puts the
/// interface in all-multicast mode for as long as the socket lives, so that IGMP for
/// groups this host did not join arrives too.
fn bind_all_multicast(socket: &Socket, ifindex: libc::c_int, protocol: u16) -> io::Result<()> {
    let sll = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as libc::c_ushort,
        sll_protocol: protocol.to_be(),
        sll_ifindex: ifindex,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    };
    // SAFETY: `sll` is a live sockaddr_ll and its size is passed with it; bind only reads it.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&raw const sll).cast::<libc::sockaddr>(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let mreq = libc::packet_mreq {
        mr_ifindex: ifindex,
        mr_type: libc::PACKET_MR_ALLMULTI as libc::c_ushort,
        mr_alen: 0,
        mr_address: [0; 8],
    };
    setsockopt(socket.as_raw_fd(), libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq)
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `value` points to a live `T` of `len` bytes that the kernel only reads.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::setsockopt(fd, level, name, (value as *const T).cast(), len) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// `recvmsg` with room for the `IP_PKTINFO` and `IP_TTL` control messages.
pub(super) fn recv(socket: &Socket, _state: &State, buf: &mut [u8]) -> io::Result<Received> {
    // Room for two cmsghdrs, an in_pktinfo and an int, 8-aligned (56 octets), with
    // room to spare.
    let mut control: mmsg::Control = [0; 16];
    let mut from = MaybeUninit::<libc::sockaddr_in>::zeroed();
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: msghdr is plain old data for which all-zero bytes are valid.
    #[allow(unsafe_code)]
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_name = from.as_mut_ptr().cast();
    msg.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<mmsg::Control>() as _;
    // SAFETY: every pointer in `msg` refers to a live local buffer (`from`, `iov` over
    // `buf`, `control`) whose length is given beside it, and nothing else uses them
    // during the call.
    #[allow(unsafe_code)]
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &raw mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel wrote a sockaddr_in for this AF_INET socket; the zeroed
    // initialisation makes it valid even if it wrote fewer bytes.
    #[allow(unsafe_code)]
    let from = unsafe { from.assume_init() };
    let source = SocketAddrV4::new(Ipv4Addr::from(u32::from_be(from.sin_addr.s_addr)), u16::from_be(from.sin_port));
    let (destination, interface_index, ttl) = mmsg::control(&msg);
    Ok(Received { len: (n as usize).min(buf.len()), source, destination, interface_index, ttl })
}

/// Which way a captured frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Received on the interface.
    In,
    /// Sent by this host.
    Out,
}

/// One IGMP frame the monitor captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured<'a> {
    /// The whole Ethernet frame (without FCS).
    pub bytes: &'a [u8],
    /// Received or sent.
    pub direction: Direction,
    /// The frame decoded by [`FrameRepr::parse`], or why it did not decode.
    pub frame: core::result::Result<FrameRepr<'a>, wire::Error>,
}

/// Captures the IGMP frames on one interface (an AF_PACKET socket) and decodes them.
///
/// It sees what the host sends and receives on the link, and (with the interface put
/// in all-multicast mode for as long as the monitor lives) reports for groups the host
/// has not joined. Opening it needs `CAP_NET_RAW`.
#[derive(Debug)]
pub struct IgmpMonitor {
    socket: Socket,
    interface: String,
    index: u32,
}

impl IgmpMonitor {
    /// Opens a monitor on the interface named `interface` (`eth0`, `va`).
    ///
    /// Fails with [`ErrorKind::PermissionDenied`] without `CAP_NET_RAW`, and with
    /// [`ErrorKind::NoSuchInterface`] if there is no such interface.
    pub fn open(interface: &str) -> Result<IgmpMonitor> {
        let context = || std::format!("open an IGMP monitor on {interface}");
        let index = super::interface_index(interface).map_err(|_| Error::new(ErrorKind::NoSuchInterface, context()))?;
        let protocol = Protocol::from(i32::from((libc::ETH_P_ALL as u16).to_be()));
        let socket = Socket::new(Domain::PACKET, Type::RAW, Some(protocol)).map_err(|e| {
            let err = Error::os(context(), e);
            if err.kind() == ErrorKind::PermissionDenied {
                err.with_hint("capturing needs CAP_NET_RAW: run as root or `setcap cap_net_raw+ep` the program")
            } else {
                err
            }
        })?;
        let ifindex = libc::c_int::try_from(index).map_err(|_| Error::new(ErrorKind::NoSuchInterface, context()))?;
        bind_all_multicast(&socket, ifindex, libc::ETH_P_ALL as u16).map_err(|e| Error::os(context(), e))?;
        Ok(IgmpMonitor { socket, interface: interface.into(), index })
    }

    /// The interface's name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface's index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// How long one [`next_frame`](Self::next_frame) call waits in all; `None` waits
    /// for ever.
    pub fn set_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        self.socket.set_read_timeout(timeout).map_err(|e| Error::os("set capture timeout", e))
    }

    /// Waits for the next IGMP frame (an IPv4 frame of protocol 2, behind up to two
    /// VLAN tags; other frames are skipped) and decodes it.
    ///
    /// The kernel takes the outer 802.1Q or 802.1ad tag off a received frame before a
    /// packet socket sees it (by the NIC's VLAN offload or in software), so a frame
    /// shows only the tags below that one. While the interface is down it waits for it
    /// to come up. The frame is cut to `buf` (1518 octets hold any).
    ///
    /// One call waits no longer than the [timeout](Self::set_timeout) in all, however
    /// many other frames it skips meanwhile, then fails with [`ErrorKind::TimedOut`]. A
    /// signal ends a wait that has a timeout with an error (as it ends a receive with
    /// one, `SA_RESTART` or not); a wait without one goes on.
    pub fn next_frame<'b>(&self, buf: &'b mut [u8]) -> Result<Captured<'b>> {
        let context = || std::format!("capture on {}", self.interface);
        let fd = self.socket.as_raw_fd();
        let timeout = self.socket.read_timeout().map_err(|e| Error::os(context(), e))?;
        let deadline = deadline(timeout);
        loop {
            let (len, pkttype) = match recv_from_packet(fd, buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let left = match deadline {
                        None => None,
                        Some(d) => match d.checked_duration_since(Instant::now()).filter(|l| !l.is_zero()) {
                            Some(left) => Some(left),
                            // EAGAIN: timed out, as a receive with a timeout says it.
                            None => return Err(Error::os(context(), e)),
                        },
                    };
                    match wait_readable(fd, left) {
                        Ok(()) => continue,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted && deadline.is_none() => continue,
                        Err(e) => return Err(Error::os(context(), e)),
                    }
                }
                // The interface was down at bind or went down since: the kernel reports
                // it once and resumes the capture when the interface comes up.
                Err(e) if e.raw_os_error() == Some(libc::ENETDOWN) => continue,
                Err(e) => return Err(Error::os(context(), e)),
            };
            let bytes = &buf[..len];
            if !crate::wire::frame::is_igmp(bytes) {
                continue;
            }
            let direction = if pkttype == libc::PACKET_OUTGOING { Direction::Out } else { Direction::In };
            let bytes = &buf[..len];
            return Ok(Captured { bytes, direction, frame: FrameRepr::parse(bytes) });
        }
    }
}

/// When a wait of `timeout` from now ends; `None` for ever, and for a timeout beyond
/// the clock's range rather than a panic.
fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

/// Waits until `fd` has a frame or an error to read, or `timeout` (rounded up to a
/// millisecond) has passed; `None` waits for ever.
fn wait_readable(fd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
    let ms =
        timeout.map_or(-1, |t| libc::c_int::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(libc::c_int::MAX));
    let mut pollfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: `pollfd` is one live, writable pollfd, and the count passed is 1.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::poll(&raw mut pollfd, 1, ms) };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// `recvfrom` on a packet socket, without waiting: the frame's length and its packet
/// type.
fn recv_from_packet(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, u8)> {
    let mut from = MaybeUninit::<libc::sockaddr_ll>::zeroed();
    let mut from_len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `buf` and `from` are live, writable, and their lengths are passed beside
    // them.
    #[allow(unsafe_code)]
    let n = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
            from.as_mut_ptr().cast(),
            &raw mut from_len,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: zero-initialised, and the kernel wrote at most `from_len` bytes of a
    // sockaddr_ll into it.
    #[allow(unsafe_code)]
    let from = unsafe { from.assume_init() };
    Ok(((n as usize).min(buf.len()), from.sll_pkttype))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_source_req_has_the_kernel_layout() {
        // linux/in.h: __u32, then two 8-aligned __kernel_sockaddr_storage of 128 octets.
        assert_eq!(size_of::<GroupSourceReq>(), 8 + 128 + 128);
        assert_eq!(core::mem::offset_of!(GroupSourceReq, gsr_group), 8);
        assert_eq!(core::mem::offset_of!(GroupSourceReq, gsr_source), 136);
    }

    #[test]
    fn linux_option_numbers() {
        assert_eq!(libc::IP_MULTICAST_IF, 32);
        assert_eq!(libc::IP_MULTICAST_ALL, 49);
        assert_eq!(libc::MCAST_JOIN_SOURCE_GROUP, 46);
    }

    #[test]
    fn linux_errors_map_to_the_portable_kinds() {
        let kind = |code| super::super::classify(&io::Error::from_raw_os_error(code));
        assert_eq!(kind(libc::ENOBUFS), ErrorKind::TooManyMemberships);
        assert_eq!(kind(libc::ENODEV), ErrorKind::NoSuchInterface);
        assert_eq!(kind(libc::EADDRNOTAVAIL), ErrorKind::NoSuchInterface);
        assert_eq!(kind(libc::EAGAIN), ErrorKind::TimedOut);
        assert_eq!(kind(libc::EPERM), ErrorKind::PermissionDenied);
        assert_eq!(kind(libc::EADDRINUSE), ErrorKind::AddrInUse);
        assert_eq!(kind(libc::ENETUNREACH), ErrorKind::NetworkUnreachable);
        assert_eq!(kind(libc::EINVAL), ErrorKind::InvalidInput);
    }

    #[test]
    fn a_timeout_too_long_for_the_clock_waits_for_ever() {
        assert_eq!(deadline(Some(Duration::MAX)), None);
        assert_eq!(deadline(None), None);
        assert!(deadline(Some(Duration::from_secs(1))).is_some());
    }

    #[test]
    fn frames_that_are_not_igmp_do_not_hold_next_frame_past_its_timeout() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::Instant;

        let monitor = match IgmpMonitor::open("lo") {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::PermissionDenied && std::env::var("CI").as_deref() != Ok("true") => {
                std::println!("skipped: {e}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        // UDP on lo every 5 ms for 3 s: frames the monitor skips, far more often than
        // its timeout.
        let stop = Arc::new(AtomicBool::new(false));
        let flood = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(3) {
                    let _ = socket.send_to(b"not igmp", "127.0.0.1:9");
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        monitor.set_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut buf = [0u8; 1518];
        let started = Instant::now();
        let result = monitor.next_frame(&mut buf).map(|c| c.bytes.len());
        let waited = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        flood.join().unwrap();
        // An IGMP frame on lo ends the wait sooner; nothing else does.
        if let Err(e) = &result {
            assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
            assert!(waited >= Duration::from_millis(200), "{waited:?}");
        }
        assert!(waited < Duration::from_millis(700), "{waited:?} for a timeout of 200 ms");
    }

    #[test]
    fn unknown_interfaces_have_no_index() {
        assert_eq!(interface_index("lo"), Some(1));
        assert_eq!(interface_index("no-such-if0"), None);
        assert_eq!(interface_index("bad\0name"), None);
    }
}
