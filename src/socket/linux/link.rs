//! An IGMP router's view of one Linux link: a packet socket that receives every IGMP
//! frame on the link and sends whole frames, the link's state (index, MAC, IPv4
//! address, up or down), and a netlink socket that says when that state changed.
//!
//! Why a packet socket rather than a raw IGMP socket (`SOCK_RAW`, `IPPROTO_IGMP`): a
//! host that does not route multicast drops, in IP input, IGMP sent to a group it has
//! not joined, so a raw socket would miss the reports a querier lives on. Only
//! `MRT_INIT` lifts that, and there is one multicast routing socket per network
//! namespace, which `smcroute`, `pimd` or `mrouted` may hold. A packet socket bound to
//! the link, in all-multicast mode, with a kernel (classic BPF) filter that passes
//! IPv4 protocol 2 only, sees every IGMP frame and nothing else, wakes the program for
//! nothing else, and sends frames built byte for byte by [`crate::wire::frame`]
//! (Router Alert, TTL 1, TOS 0xc0, any source address including 0.0.0.0).

use core::mem::{MaybeUninit, size_of};
use core::net::Ipv4Addr;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::string::String;

use socket2::{Domain, Protocol, Socket, Type};

use super::{Captured, Direction, bind_all_multicast, recv_from_packet, setsockopt};
use crate::addr::MacAddr;
use crate::socket::{Error, ErrorKind, Result};
use crate::wire::{FrameRepr, ethernet, ipv4};

/// The hint added to a permission error when a packet socket cannot be opened.
const CAP_NET_RAW_HINT: &str = "needs CAP_NET_RAW: run as root or `setcap cap_net_raw+ep` the program";

/// Classic BPF: accept an Ethernet frame carrying IPv4 protocol 2 (IGMP), drop the rest.
fn igmp_filter() -> [libc::sock_filter; 6] {
    let op = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter { code: code as u16, jt, jf, k };
    let ethertype = ethernet::field::ETHERTYPE.start as u32;
    let protocol = (ethernet::HEADER_LEN + ipv4::field::PROTOCOL) as u32;
    [
        op(libc::BPF_LD | libc::BPF_H | libc::BPF_ABS, 0, 0, ethertype),
        op(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, 0, 3, u32::from(ethernet::EtherType::IPV4.0)),
        op(libc::BPF_LD | libc::BPF_B | libc::BPF_ABS, 0, 0, protocol),
        op(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, 0, 1, u32::from(ipv4::PROTOCOL_IGMP)),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, 0xffff),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, 0),
    ]
}

/// Sends and receives the IGMP frames of one link, for a querier.
///
/// An AF_PACKET socket bound to the interface (for IPv4 frames), with a kernel filter
/// that passes IGMP only and the interface in all-multicast mode for as long as the
/// socket lives; non-blocking, for a program that waits on several descriptors with
/// `poll`. Opening it needs `CAP_NET_RAW`.
///
/// Frames it sends do not come back to it, nor reach the IP stack of this host: the
/// host's own kernel does not answer them.
#[derive(Debug)]
pub struct IgmpSocket {
    socket: Socket,
    interface: String,
    index: u32,
}

impl IgmpSocket {
    /// Opens the socket on the interface named `interface` (`eth0`, `br0`).
    ///
    /// Fails with [`ErrorKind::PermissionDenied`] without `CAP_NET_RAW`, and with
    /// [`ErrorKind::NoSuchInterface`] if there is no such interface.
    pub fn open(interface: &str) -> Result<IgmpSocket> {
        let context = || std::format!("open an IGMP socket on {interface}");
        let index =
            super::super::interface_index(interface).map_err(|_| Error::new(ErrorKind::NoSuchInterface, context()))?;
        let ifindex = libc::c_int::try_from(index).map_err(|_| Error::new(ErrorKind::NoSuchInterface, context()))?;
        // Protocol 0: nothing is queued before the filter is in place and the socket bound.
        let socket = Socket::new(Domain::PACKET, Type::RAW.nonblocking().cloexec(), Some(Protocol::from(0)))
            .map_err(|e| permission(Error::os(context(), e)))?;
        let filter = igmp_filter();
        let program = libc::sock_fprog { len: filter.len() as u16, filter: filter.as_ptr().cast_mut() };
        setsockopt(socket.as_raw_fd(), libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &program)
            .map_err(|e| Error::os(context(), e))?;
        bind_all_multicast(&socket, ifindex, libc::ETH_P_IP as u16).map_err(|e| Error::os(context(), e))?;
        Ok(IgmpSocket { socket, interface: interface.into(), index })
    }

    /// The interface's name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface's index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The next IGMP frame received or sent on the link by this host (not by this
    /// socket), decoded; `Ok(None)` when none is waiting. The frame is cut to `buf`
    /// (1518 octets hold any).
    pub fn recv<'b>(&self, buf: &'b mut [u8]) -> Result<Option<Captured<'b>>> {
        match recv_from_packet(self.socket.as_raw_fd(), buf) {
            Ok((len, pkttype)) => {
                let direction = if pkttype == libc::PACKET_OUTGOING { Direction::Out } else { Direction::In };
                let bytes = &buf[..len];
                Ok(Some(Captured { bytes, direction, frame: FrameRepr::parse(bytes) }))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            // The interface went down: the kernel says so once; nothing is lost.
            Err(e) if e.raw_os_error() == Some(libc::ENETDOWN) => Ok(None),
            Err(e) => Err(Error::os(std::format!("receive on {}", self.interface), e)),
        }
    }

    /// Sends a whole Ethernet frame (without FCS) on the link.
    pub fn send(&self, frame: &[u8]) -> Result<()> {
        // SAFETY: `frame` is a live buffer whose length is passed with it; send only reads it.
        #[allow(unsafe_code)]
        let n = unsafe { libc::send(self.socket.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if n < 0 {
            return Err(Error::os(std::format!("send on {}", self.interface), io::Error::last_os_error()));
        }
        Ok(())
    }
}

impl AsFd for IgmpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for IgmpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

fn permission(err: Error) -> Error {
    if err.kind() == ErrorKind::PermissionDenied { err.with_hint(CAP_NET_RAW_HINT) } else { err }
}

/// A link's state as the kernel has it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct LinkState {
    /// The interface's index.
    pub index: u32,
    /// Its hardware address (all zero if it has none, as `lo`).
    pub mac: MacAddr,
    /// Its first IPv4 address and prefix length, if it has one.
    pub address: Option<(Ipv4Addr, u8)>,
    /// Administratively up (`IFF_UP`) with carrier (`IFF_RUNNING`).
    pub up: bool,
}

impl LinkState {
    /// Reads the state of the interface named `interface` (`getifaddrs`).
    ///
    /// Fails with [`ErrorKind::NoSuchInterface`] if there is no such interface.
    pub fn read(interface: &str) -> Result<LinkState> {
        let context = || std::format!("read the state of {interface}");
        let index =
            super::super::interface_index(interface).map_err(|_| Error::new(ErrorKind::NoSuchInterface, context()))?;
        let mut list = core::ptr::null_mut();
        // SAFETY: getifaddrs writes a list head to `list`, which is freed below.
        #[allow(unsafe_code)]
        if unsafe { libc::getifaddrs(&raw mut list) } != 0 {
            return Err(Error::os(context(), io::Error::last_os_error()));
        }
        let mut state = LinkState { index, mac: MacAddr([0; 6]), address: None, up: false };
        let mut cursor = list;
        while !cursor.is_null() {
            // SAFETY: `cursor` is a node of the list getifaddrs made, alive until
            // freeifaddrs; its name is a NUL-terminated string and its address, when not
            // null, a sockaddr of the family it names, of at least that family's size.
            #[allow(unsafe_code)]
            unsafe {
                let ifa = &*cursor;
                cursor = ifa.ifa_next;
                if ifa.ifa_name.is_null() || CStr::from_ptr(ifa.ifa_name).to_bytes() != interface.as_bytes() {
                    continue;
                }
                let flags = ifa.ifa_flags as libc::c_int;
                state.up = flags & libc::IFF_UP != 0 && flags & libc::IFF_RUNNING != 0;
                if ifa.ifa_addr.is_null() {
                    continue;
                }
                match libc::c_int::from((*ifa.ifa_addr).sa_family) {
                    libc::AF_PACKET => {
                        let ll: libc::sockaddr_ll = core::ptr::read_unaligned(ifa.ifa_addr.cast());
                        if ll.sll_halen == 6 {
                            state.mac.0.copy_from_slice(&ll.sll_addr[..6]);
                        }
                    }
                    libc::AF_INET if state.address.is_none() => {
                        let sin: libc::sockaddr_in = core::ptr::read_unaligned(ifa.ifa_addr.cast());
                        let address = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                        let prefix = if ifa.ifa_netmask.is_null() {
                            32
                        } else {
                            let mask: libc::sockaddr_in = core::ptr::read_unaligned(ifa.ifa_netmask.cast());
                            u32::from_be(mask.sin_addr.s_addr).count_ones() as u8
                        };
                        state.address = Some((address, prefix));
                    }
                    _ => {}
                }
            }
        }
        // SAFETY: `list` came from getifaddrs and is freed once; nothing points into it now.
        #[allow(unsafe_code)]
        unsafe {
            libc::freeifaddrs(list);
        }
        Ok(state)
    }
}

/// Tells when any link's state or IPv4 address changed: a netlink socket subscribed to
/// link and IPv4 address notifications. Non-blocking; wait for it to be readable, then
/// [`changed`](LinkWatcher::changed) and read the states again with
/// [`LinkState::read`].
#[derive(Debug)]
pub struct LinkWatcher {
    socket: OwnedFd,
}

impl LinkWatcher {
    /// Opens the netlink socket.
    pub fn open() -> Result<LinkWatcher> {
        let context = "open a netlink socket for link changes";
        // SAFETY: socket takes plain integers and returns a new descriptor or -1.
        #[allow(unsafe_code)]
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(Error::os(context, io::Error::last_os_error()));
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        #[allow(unsafe_code)]
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_nl is plain old data for which all-zero bytes are valid.
        #[allow(unsafe_code)]
        let mut addr: libc::sockaddr_nl = unsafe { core::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = (libc::RTMGRP_LINK | libc::RTMGRP_IPV4_IFADDR) as u32;
        // SAFETY: `addr` is a live sockaddr_nl and its size is passed with it; bind only reads it.
        #[allow(unsafe_code)]
        let rc = unsafe {
            libc::bind(
                socket.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(Error::os(context, io::Error::last_os_error()));
        }
        Ok(LinkWatcher { socket })
    }

    /// Reads every waiting notification; whether there was any. A notification lost
    /// to a full socket buffer counts as a change.
    pub fn changed(&self) -> Result<bool> {
        let mut buf = MaybeUninit::<[u8; 8192]>::uninit();
        let mut any = false;
        loop {
            // SAFETY: `buf` is a live writable buffer whose size is passed with it.
            #[allow(unsafe_code)]
            let n = unsafe { libc::recv(self.socket.as_raw_fd(), buf.as_mut_ptr().cast(), 8192, 0) };
            if n >= 0 {
                any = true;
                continue;
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => return Ok(any),
                Some(libc::ENOBUFS) => any = true,
                Some(libc::EINTR) => {}
                _ => return Err(Error::os("read link changes", e)),
            }
        }
    }
}

impl AsFd for LinkWatcher {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for LinkWatcher {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the filter the way the kernel would, for the two fields it reads.
    fn accepts(frame: &[u8]) -> bool {
        let filter = igmp_filter();
        let mut pc = 0;
        let mut acc = 0u32;
        loop {
            let i = filter[pc];
            let class = u32::from(i.code) & 0x07;
            match class {
                c if c == libc::BPF_LD => {
                    let at = i.k as usize;
                    acc = if u32::from(i.code) & 0x18 == libc::BPF_H {
                        u32::from(u16::from_be_bytes([frame[at], frame[at + 1]]))
                    } else {
                        u32::from(frame[at])
                    };
                    pc += 1;
                }
                c if c == libc::BPF_JMP => pc += 1 + usize::from(if acc == i.k { i.jt } else { i.jf }),
                _ => return i.k != 0,
            }
        }
    }

    #[test]
    fn the_kernel_filter_passes_igmp_only() {
        let mut frame = [0u8; 64];
        frame[12..14].copy_from_slice(&[0x08, 0x00]);
        frame[23] = 2;
        assert!(accepts(&frame));
        frame[23] = 17;
        assert!(!accepts(&frame), "UDP");
        frame[23] = 2;
        frame[12..14].copy_from_slice(&[0x86, 0xdd]);
        assert!(!accepts(&frame), "IPv6");
    }

    #[test]
    fn loopback_state_is_read() {
        let lo = LinkState::read("lo").unwrap();
        assert_eq!(lo.index, 1);
        assert_eq!(lo.mac, MacAddr([0; 6]));
        assert_eq!(LinkState::read("no-such-if0").unwrap_err().kind(), ErrorKind::NoSuchInterface);
    }
}
