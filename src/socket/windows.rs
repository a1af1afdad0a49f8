//! Windows (Winsock 2, `ws2_32`): `IP_PKTINFO` and `IP_RECVTTL` receive through `WSARecvMsg`, and the
//! interface-index conventions of `ws2ipdef.h`.
//!
//! Option numbers are the Winsock 2 ones of `ws2ipdef.h` (windows-sys's constants, the
//! same socket2 uses), never Winsock 1's (`winsock.h`: `IP_MULTICAST_IF` 2 to
//! `IP_DROP_MEMBERSHIP` 6), which against `ws2_32` fail or set another option. Each `unsafe` block is one Winsock call on a socket the caller
//! owns, with plain-data arguments whose sizes are passed beside them.

use core::mem::size_of;
use core::net::{Ipv4Addr, SocketAddrV4};
use std::ffi::CString;
use std::io;
use std::os::windows::io::AsRawSocket;
use std::vec::Vec;

use socket2::Socket;
use windows_sys::Win32::Networking::WinSock as ws;

use super::{ErrorKind, Interface, Received};

/// Per-socket state: the `WSARecvMsg` extension function, looked up once.
pub(super) struct State {
    recvmsg: ws::LPFN_WSARECVMSG,
}

impl core::fmt::Debug for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("State").field("recvmsg", &self.recvmsg.is_some()).finish()
    }
}

fn raw(socket: &Socket) -> ws::SOCKET {
    socket.as_raw_socket() as ws::SOCKET
}

/// Turns `IP_PKTINFO` and, where Windows has it, `IP_RECVTTL` on, and looks up
/// `WSARecvMsg`.
pub(super) fn configure(socket: &Socket) -> io::Result<State> {
    setsockopt(socket, ws::IPPROTO_IP, ws::IP_PKTINFO, &1u32)?;
    // Windows 10 version 1703 and later; before, the option is refused and datagrams
    // come without their TTL.
    let _ = setsockopt(socket, ws::IPPROTO_IP, ws::IP_RECVTTL, &1u32);
    let guid = ws::WSAID_WSARECVMSG;
    let mut recvmsg: ws::LPFN_WSARECVMSG = None;
    let mut bytes = 0u32;
    // SAFETY: `guid` is read and `recvmsg` written, each with its size passed; the call
    // is synchronous (no OVERLAPPED).
    #[allow(unsafe_code)]
    let rc = unsafe {
        ws::WSAIoctl(
            raw(socket),
            ws::SIO_GET_EXTENSION_FUNCTION_POINTER,
            (&raw const guid).cast(),
            size_of::<windows_sys::core::GUID>() as u32,
            (&raw mut recvmsg).cast(),
            size_of::<ws::LPFN_WSARECVMSG>() as u32,
            &raw mut bytes,
            core::ptr::null_mut(),
            None,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(State { recvmsg })
}

pub(super) fn classify(e: &io::Error) -> Option<ErrorKind> {
    match e.raw_os_error()? {
        ws::WSAENOBUFS => Some(ErrorKind::TooManyMemberships),
        ws::WSAEADDRNOTAVAIL => Some(ErrorKind::NoSuchInterface),
        _ => None,
    }
}

/// The index of the interface with this alias (the name Windows shows, such as
/// `Ethernet 2`) or, failing that, this NDIS name (`ethernet_32768`).
pub(super) fn interface_index(name: &str) -> Option<u32> {
    alias_index(name).or_else(|| ndis_name_index(name))
}

fn alias_index(alias: &str) -> Option<u32> {
    use windows_sys::Win32::NetworkManagement::IpHelper::{ConvertInterfaceAliasToLuid, ConvertInterfaceLuidToIndex};
    use windows_sys::Win32::NetworkManagement::Ndis::NET_LUID_LH;
    if alias.contains('\0') {
        return None;
    }
    let wide: Vec<u16> = alias.encode_utf16().chain(core::iter::once(0)).collect();
    let mut luid = NET_LUID_LH { Value: 0 };
    let mut index = 0u32;
    // SAFETY: `wide` is a NUL-terminated UTF-16 string that outlives both calls, which
    // only read it; `luid` and `index` are live locals the calls write.
    #[allow(unsafe_code)]
    let found = unsafe {
        ConvertInterfaceAliasToLuid(wide.as_ptr(), &raw mut luid) == 0
            && ConvertInterfaceLuidToIndex(&raw const luid, &raw mut index) == 0
    };
    (found && index != 0).then_some(index)
}

fn ndis_name_index(name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    // SAFETY: `name` is a NUL-terminated string that outlives the call, which only reads it.
    #[allow(unsafe_code)]
    let index = unsafe { windows_sys::Win32::NetworkManagement::IpHelper::if_nametoindex(name.as_ptr().cast()) };
    (index != 0).then_some(index)
}

/// An interface as Winsock's `imr_interface` takes it: an address, or an index `idx`
/// written as the address `0.0.0.idx` (below 2^24).
fn interface_addr(interface: Interface) -> io::Result<Ipv4Addr> {
    match interface {
        Interface::Default => Ok(Ipv4Addr::UNSPECIFIED),
        Interface::Addr(a) => Ok(a),
        Interface::Index(i) if i < 1 << 24 => Ok(Ipv4Addr::from(i)),
        Interface::Index(_) => Err(io::Error::from_raw_os_error(ws::WSAEINVAL)),
    }
}

/// `IP_MULTICAST_IF` with an address or `0.0.0.idx`.
pub(super) fn set_multicast_if(socket: &Socket, interface: Interface) -> io::Result<()> {
    socket.set_multicast_if_v4(&interface_addr(interface)?)
}

pub(super) fn join_source(socket: &Socket, group: Ipv4Addr, source: Ipv4Addr, interface: Interface) -> io::Result<()> {
    socket.join_ssm_v4(&source, &group, &interface_addr(interface)?)
}

pub(super) fn leave_source(socket: &Socket, group: Ipv4Addr, source: Ipv4Addr, interface: Interface) -> io::Result<()> {
    socket.leave_ssm_v4(&source, &group, &interface_addr(interface)?)
}

fn setsockopt<T>(socket: &Socket, level: i32, name: i32, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` whose size is passed; Winsock only reads it.
    #[allow(unsafe_code)]
    let rc = unsafe { ws::setsockopt(raw(socket), level, name, (value as *const T).cast(), size_of::<T>() as i32) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// `WSARecvMsg` with room for the `IP_PKTINFO` and TTL control messages; plain
/// `recvfrom` without a destination if the provider has no `WSARecvMsg`.
pub(super) fn recv(socket: &Socket, state: &State, buf: &mut [u8]) -> io::Result<Received> {
    let Some(recvmsg) = state.recvmsg else {
        let (len, from) = socket.recv_from(as_uninit(buf))?;
        let source = from.as_socket_ipv4().ok_or_else(|| io::Error::from_raw_os_error(ws::WSAEAFNOSUPPORT))?;
        return Ok(Received { len, source, destination: None, interface_index: None, ttl: None });
    };
    let mut control = [0u64; 16];
    let mut from = ws::SOCKADDR_IN::default();
    let mut data = ws::WSABUF { len: u32::try_from(buf.len()).unwrap_or(u32::MAX), buf: buf.as_mut_ptr() };
    let mut msg = ws::WSAMSG {
        name: (&raw mut from).cast(),
        namelen: size_of::<ws::SOCKADDR_IN>() as i32,
        lpBuffers: &raw mut data,
        dwBufferCount: 1,
        Control: ws::WSABUF { len: size_of::<[u64; 16]>() as u32, buf: control.as_mut_ptr().cast() },
        dwFlags: 0,
    };
    let mut received = 0u32;
    // SAFETY: every pointer in `msg` refers to a live local buffer (`from`, `data` over
    // `buf`, `control`) whose length is given beside it; the call is synchronous.
    #[allow(unsafe_code)]
    let rc = unsafe { recvmsg(raw(socket), &raw mut msg, &raw mut received, core::ptr::null_mut(), None) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        // A datagram longer than the buffer: Windows reports it, Linux cuts it; cut it.
        if err.raw_os_error() != Some(ws::WSAEMSGSIZE) {
            return Err(err);
        }
        received = data.len;
    }
    // SAFETY: S_un is a union of views of the same four octets.
    #[allow(unsafe_code)]
    let from_addr = unsafe { from.sin_addr.S_un.S_addr };
    let source = SocketAddrV4::new(Ipv4Addr::from(u32::from_be(from_addr)), u16::from_be(from.sin_port));
    let info = control_messages(&control, msg.Control.len as usize);
    Ok(Received {
        len: (received as usize).min(buf.len()),
        source,
        destination: info.destination,
        interface_index: info.interface_index,
        ttl: info.ttl,
    })
}

/// What the control messages of a datagram said.
#[derive(Debug, Default, PartialEq, Eq)]
struct ControlInfo {
    destination: Option<Ipv4Addr>,
    interface_index: Option<u32>,
    ttl: Option<u8>,
}

/// The `IN_PKTINFO` and the TTL (an `INT`, of type `IP_TTL`; `IP_RECVTTL` is accepted
/// too) among the control messages in the first `len` octets of `control`, read in
/// safe code: `WSACMSGHDR` is `{ usize len, i32 level, i32 type }`, data and each next
/// header aligned to `usize`.
fn control_messages(control: &[u64; 16], len: usize) -> ControlInfo {
    let mut info = ControlInfo::default();
    let bytes: std::vec::Vec<u8> = control.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let bytes = &bytes[..len.min(bytes.len())];
    let word = size_of::<usize>();
    let header = size_of::<ws::CMSGHDR>();
    let mut at = 0;
    while at + header <= bytes.len() {
        let read_usize = |o: usize| usize::from_ne_bytes(bytes[o..o + word].try_into().unwrap_or([0; 8]));
        let read_i32 = |o: usize| i32::from_ne_bytes(bytes[o..o + 4].try_into().unwrap_or([0; 4]));
        let cmsg_len = read_usize(at);
        let (level, kind) = (read_i32(at + word), read_i32(at + word + 4));
        let data = at + header.next_multiple_of(word);
        if cmsg_len < header || at + cmsg_len > bytes.len() {
            break;
        }
        if level == ws::IPPROTO_IP && kind == ws::IP_PKTINFO && data + 8 <= bytes.len() {
            // IN_PKTINFO { IN_ADDR ipi_addr; ULONG ipi_ifindex; }
            info.destination = Some(Ipv4Addr::new(bytes[data], bytes[data + 1], bytes[data + 2], bytes[data + 3]));
            info.interface_index = Some(u32::from_ne_bytes(bytes[data + 4..data + 8].try_into().unwrap_or([0; 4])));
        } else if level == ws::IPPROTO_IP && (kind == ws::IP_TTL || kind == ws::IP_RECVTTL) && data + 4 <= bytes.len() {
            info.ttl = u8::try_from(read_i32(data)).ok();
        }
        at += cmsg_len.next_multiple_of(word);
    }
    info
}

fn as_uninit(buf: &mut [u8]) -> &mut [core::mem::MaybeUninit<u8>] {
    // SAFETY: initialised bytes are valid MaybeUninit<u8>, and socket2 only writes
    // initialised bytes through the slice.
    #[allow(unsafe_code)]
    unsafe {
        &mut *(buf as *mut [u8] as *mut [core::mem::MaybeUninit<u8>])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use socket2::{Domain, Protocol, Type};

    #[test]
    fn winsock2_option_numbers_are_pinned() {
        // Reference data: the Winsock 2 values of ws2ipdef.h, not Winsock 1's 2..=6.
        let pinned = [
            (ws::IP_MULTICAST_IF, 9),
            (ws::IP_MULTICAST_TTL, 10),
            (ws::IP_MULTICAST_LOOP, 11),
            (ws::IP_ADD_MEMBERSHIP, 12),
            (ws::IP_DROP_MEMBERSHIP, 13),
            (ws::IP_ADD_SOURCE_MEMBERSHIP, 15),
            (ws::IP_DROP_SOURCE_MEMBERSHIP, 16),
            (ws::IP_BLOCK_SOURCE, 17),
            (ws::IP_UNBLOCK_SOURCE, 18),
            (ws::IP_PKTINFO, 19),
        ];
        for (windows_sys, number) in pinned {
            assert_eq!(windows_sys, number);
        }
    }

    #[test]
    fn ws2_32_reads_back_what_the_winsock2_numbers_set() {
        // Set through socket2, read through the Winsock 2 numbers, and the other way round:
        // the numbers name the same options in ws2_32.
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        socket.set_multicast_ttl_v4(7).unwrap();
        let mut ttl = 0u32;
        let mut len = size_of::<u32>() as i32;
        // SAFETY: `ttl` and `len` are live and writable; `len` holds ttl's size.
        #[allow(unsafe_code)]
        let rc = unsafe {
            ws::getsockopt(raw(&socket), ws::IPPROTO_IP, ws::IP_MULTICAST_TTL, (&raw mut ttl).cast(), &raw mut len)
        };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        assert_eq!(ttl, 7);
        setsockopt(&socket, ws::IPPROTO_IP, ws::IP_MULTICAST_LOOP, &0u32).unwrap();
        assert!(!socket.multicast_loop_v4().unwrap());
    }

    #[test]
    fn winsock_errors_map_to_the_portable_kinds() {
        let kind = |code| super::super::classify(&io::Error::from_raw_os_error(code));
        assert_eq!(kind(ws::WSAENOBUFS), ErrorKind::TooManyMemberships);
        assert_eq!(kind(ws::WSAEADDRNOTAVAIL), ErrorKind::NoSuchInterface);
        assert_eq!(kind(ws::WSAETIMEDOUT), ErrorKind::TimedOut);
        assert_eq!(kind(ws::WSAEACCES), ErrorKind::PermissionDenied);
        assert_eq!(kind(ws::WSAENETUNREACH), ErrorKind::NetworkUnreachable);
        assert_eq!(kind(ws::WSAEINVAL), ErrorKind::InvalidInput);
    }

    #[test]
    fn indexes_become_0_0_0_idx() {
        assert_eq!(interface_addr(Interface::Index(5)).unwrap(), Ipv4Addr::new(0, 0, 0, 5));
        assert_eq!(interface_addr(Interface::Default).unwrap(), Ipv4Addr::UNSPECIFIED);
        assert!(interface_addr(Interface::Index(1 << 24)).is_err());
    }

    #[test]
    fn pktinfo_and_ttl_are_found_among_control_messages() {
        let mut bytes = std::vec::Vec::new();
        bytes.extend_from_slice(&24usize.to_ne_bytes());
        bytes.extend_from_slice(&ws::IPPROTO_IP.to_ne_bytes());
        bytes.extend_from_slice(&ws::IP_PKTINFO.to_ne_bytes());
        bytes.extend_from_slice(&[239, 1, 2, 3]);
        bytes.extend_from_slice(&4u32.to_ne_bytes());
        // WSA_CMSG_LEN(sizeof(INT)) = 20, padded to 24.
        bytes.extend_from_slice(&20usize.to_ne_bytes());
        bytes.extend_from_slice(&ws::IPPROTO_IP.to_ne_bytes());
        bytes.extend_from_slice(&ws::IP_TTL.to_ne_bytes());
        bytes.extend_from_slice(&63i32.to_ne_bytes());
        bytes.resize(128, 0);
        let mut control = [0u64; 16];
        for (w, chunk) in control.iter_mut().zip(bytes.chunks(8)) {
            *w = u64::from_ne_bytes(chunk.try_into().unwrap());
        }
        let pktinfo =
            ControlInfo { destination: Some(Ipv4Addr::new(239, 1, 2, 3)), interface_index: Some(4), ttl: None };
        assert_eq!(control_messages(&control, 44), ControlInfo { ttl: Some(63), ..pktinfo });
        assert_eq!(control_messages(&control, 24), pktinfo);
        assert_eq!(control_messages(&control, 16), ControlInfo::default());
    }
}
