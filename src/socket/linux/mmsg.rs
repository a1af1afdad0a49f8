//! `recvmmsg`: several datagrams, with their `IP_PKTINFO` and `IP_TTL`, in one system
//! call; and the reading of those control messages, which `recv` shares.

use core::mem::{MaybeUninit, size_of};
use core::net::{Ipv4Addr, SocketAddrV4};
use std::io;
use std::os::fd::AsRawFd;
use std::vec::Vec;

use socket2::Socket;

use crate::socket::Received;

/// The most datagrams one call takes.
pub(in crate::socket) const MAX: usize = 64;

/// Control-message room per datagram: two cmsghdrs, an in_pktinfo and an int (56
/// octets, 8-aligned), with room to spare.
pub(in crate::socket) type Control = [u64; 16];

/// Waits (up to the socket's read timeout) for one datagram, then takes every datagram
/// already queued, up to `bufs.len() / size` and [`MAX`]: datagram *i* goes to
/// `bufs[i * size..][..size]`, its description to `out` (cleared first).
pub(in crate::socket) fn recv_batch(
    socket: &Socket,
    bufs: &mut [u8],
    size: usize,
    out: &mut Vec<Received>,
) -> io::Result<()> {
    out.clear();
    let n = (bufs.len() / size.max(1)).min(MAX);
    if n == 0 {
        return Ok(());
    }
    let mut names = [MaybeUninit::<libc::sockaddr_in>::zeroed(); MAX];
    let mut controls: [Control; MAX] = [[0; 16]; MAX];
    // SAFETY: iovec and mmsghdr are plain old data for which all-zero bytes are valid.
    #[allow(unsafe_code)]
    let (mut iovs, mut hdrs): ([libc::iovec; MAX], [libc::mmsghdr; MAX]) = unsafe { core::mem::zeroed() };
    for (i, chunk) in bufs.chunks_exact_mut(size).take(n).enumerate() {
        iovs[i] = libc::iovec { iov_base: chunk.as_mut_ptr().cast(), iov_len: size };
        let h = &mut hdrs[i].msg_hdr;
        h.msg_name = names[i].as_mut_ptr().cast();
        h.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        h.msg_iov = &raw mut iovs[i];
        h.msg_iovlen = 1;
        h.msg_control = controls[i].as_mut_ptr().cast();
        h.msg_controllen = size_of::<Control>() as _;
    }
    // SAFETY: the first `n` headers point at live, distinct local buffers (`names`,
    // `iovs` over disjoint chunks of `bufs`, `controls`) whose lengths are given
    // beside them; nothing else uses them during the call.
    #[allow(unsafe_code)]
    let got = unsafe {
        libc::recvmmsg(socket.as_raw_fd(), hdrs.as_mut_ptr(), n as _, libc::MSG_WAITFORONE, core::ptr::null_mut())
    };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    for (i, hdr) in hdrs.iter().take(got as usize).enumerate() {
        // SAFETY: the kernel wrote a sockaddr_in for this AF_INET socket; the zeroed
        // initialisation makes it valid even if it wrote fewer bytes.
        #[allow(unsafe_code)]
        let from = unsafe { names[i].assume_init() };
        let source = SocketAddrV4::new(Ipv4Addr::from(u32::from_be(from.sin_addr.s_addr)), u16::from_be(from.sin_port));
        let (destination, interface_index, ttl) = control(&hdr.msg_hdr);
        out.push(Received { len: (hdr.msg_len as usize).min(size), source, destination, interface_index, ttl });
    }
    Ok(())
}

/// The destination and the interface index (`IP_PKTINFO`) and the TTL (`IP_TTL`) from a
/// received message's control messages.
pub(in crate::socket) fn control(msg: &libc::msghdr) -> (Option<Ipv4Addr>, Option<u32>, Option<u8>) {
    let (mut destination, mut interface_index, mut ttl) = (None, None, None);
    // SAFETY: the CMSG macros walk `msg.msg_control`, which the kernel filled and whose
    // length it set in `msg_controllen`; each header returned lies inside it.
    #[allow(unsafe_code)]
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::IPPROTO_IP && (*cmsg).cmsg_type == libc::IP_PKTINFO {
                let info: libc::in_pktinfo = core::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                destination = Some(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)));
                interface_index = u32::try_from(info.ipi_ifindex).ok();
            } else if (*cmsg).cmsg_level == libc::IPPROTO_IP && (*cmsg).cmsg_type == libc::IP_TTL {
                let value: libc::c_int = core::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                ttl = u8::try_from(value).ok();
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    (destination, interface_index, ttl)
}
