//! Sends a datagram to a group through smoltcp with `mcast::glue::smoltcp`, and prints
//! what went out on the wire: the Host's IGMP report and the datagram, each with its TTL.
//!
//! Run with `cargo run --example glue_smoltcp --features smoltcp`.
//!
//! Two settings every multicast sender on smoltcp needs, both shown below:
//!
//! - the **hop limit** of each socket that sends to a group: smoltcp's UDP socket sends
//!   with TTL 64 unless told otherwise, while RFC 1112 §6.1 makes 1 the default for
//!   multicast (the datagram stays on its link);
//! - the **seed** of the Host's report delays: one per device and per boot.

use std::time::{SystemTime, UNIX_EPOCH};

use mcast::MacAddr;
use mcast::glue::smoltcp::{McastDevice, NoFilter};
use mcast::membership::HostConfig;
use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::udp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpCidr, IpEndpoint, Ipv4Address};

/// An Ethernet device that keeps every frame sent and receives none: a wire to look at.
#[derive(Default)]
struct Wire {
    sent: Vec<Vec<u8>>,
}

/// Nothing is ever received; smoltcp's `Device` still names a receive token type.
struct NoRx;

impl phy::RxToken for NoRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&[])
    }
}

struct Tx<'a>(&'a mut Vec<Vec<u8>>);

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        self.0.push(frame);
        result
    }
}

impl Device for Wire {
    type RxToken<'a> = NoRx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: Instant) -> Option<(NoRx, Tx<'_>)> {
        None
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.sent))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mac = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
    let group = Ipv4Address::new(239, 1, 2, 3);

    // The seed picks every report delay. The MAC makes devices differ, the clock boots;
    // firmware would use a hardware RNG, or a free-running counter read when a frame
    // arrives. The Host hashes the seed, so XOR is enough to mix them.
    let clock = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64;
    let mac48 = u64::from_le_bytes([mac.0[0], mac.0[1], mac.0[2], mac.0[3], mac.0[4], mac.0[5], 0, 0]);
    let seed = mac48 ^ clock;

    let mut device: McastDevice<Wire, NoFilter, 4> =
        McastDevice::new(Wire::default(), NoFilter, mac, HostConfig::default(), seed)?;
    let mut iface = Interface::new(Config::new(EthernetAddress(mac.0).into()), &mut device, Instant::ZERO);
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(Ipv4Address::new(10, 0, 0, 2).into(), 24));
    });
    device.join(Instant::ZERO, group)?;

    let buffer = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 1024]);
    let mut socket = udp::Socket::new(buffer(), buffer());
    // Multicast leaves with TTL 1 unless it is meant to cross routers: smoltcp would
    // send 64. The hop limit covers everything the socket sends, so a socket that also
    // answers unicast peers should be a separate one.
    socket.set_hop_limit(Some(1));
    socket.bind(5000)?;
    let mut sockets = SocketSet::new(vec![]);
    let handle = sockets.add(socket);
    sockets.get_mut::<udp::Socket>(handle).send_slice(b"hello, group", IpEndpoint::new(group.into(), 5000))?;

    // Where the application would call `iface.poll`.
    let _ = device.poll(Instant::ZERO, &mut iface, &mut sockets);

    for frame in &device.device().sent {
        // Ethernet II (14 octets), then the IPv4 header: TTL at octet 8, protocol at 9,
        // destination at 16..20.
        let ip = &frame[14..];
        let kind = match ip[9] {
            2 => "IGMP",
            17 => "UDP ",
            _ => "other",
        };
        let dst = Ipv4Address::new(ip[16], ip[17], ip[18], ip[19]);
        println!("{kind} to {dst}, TTL {}", ip[8]);
    }
    Ok(())
}
