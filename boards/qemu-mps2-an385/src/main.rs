//! mcast on QEMU's mps2-an385: smoltcp 0.14 over the board's LAN9118, with IGMP and the
//! NIC's multicast hash run by `mcast::glue::smoltcp` and `mcast::drivers::lan9118`.
//!
//! - Address 10.0.0.2/24, MAC 02:00:00:00:00:02.
//! - Joins the groups of `MCAST_GROUPS` (comma-separated, read when building; default
//!   239.1.2.3) at boot.
//! - Echoes every UDP datagram it receives on port 5000 for a multicast group back to
//!   that group, port 5000, with TTL 1.
//! - Takes commands as UDP datagrams to port 7000 and answers each to its sender:
//!   `join <group>`, `leave <group>`, `groups`, `stats` (the counters as `key=value`
//!   pairs), `address <a.b.c.d/len>` or `address none` (sets or removes the interface's
//!   address, once the answer is out), `exit <status>` (0: success, else failure: QEMU
//!   exits with it).
//! - Logs through semihosting.
//!
//! Built without the `glue` feature, the same application runs on smoltcp's own IGMP
//! (`smoltcp-igmp`) or without multicast at all, for measuring what each costs.

#![no_std]
#![no_main]

mod lan9118;
mod nic;

use core::fmt::{self, Write as _};
use core::mem::MaybeUninit;
use core::net::Ipv4Addr;

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;
use smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp::socket::udp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, IpEndpoint};

use nic::{Clock, Nic, NicStats};

const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PREFIX: u8 = 24;
const ECHO_PORT: u16 = 5000;
const COMMAND_PORT: u16 = 7000;
/// The groups joined at boot.
const GROUPS: &str = match option_env!("MCAST_GROUPS") {
    Some(groups) => groups,
    None => "239.1.2.3",
};

/// Membership as each build does it: by mcast (`glue`), by smoltcp's own IGMP
/// (`smoltcp-igmp`, without `glue`), or not at all (neither: no group can be joined).
/// Everything else in the firmware is the same in all three.
// Each build leaves some of the functions' arguments unused.
#[allow(unused_variables)]
mod membership {
    use core::fmt::{self, Write};
    use core::net::Ipv4Addr;

    use smoltcp::iface::{Interface, SocketSet};
    use smoltcp::time::Instant;

    #[cfg(feature = "glue")]
    use {
        core::time::Duration,
        mcast::drivers::{lan9118::Lan9118, mmio::Mmio},
        mcast::glue::smoltcp::McastDevice,
        mcast::membership::HostConfig,
    };

    use crate::nic::Nic;

    /// Groups the glue can hold: the Host's table is the only one (smoltcp's own, in the
    /// `smoltcp-igmp` build, holds as many: `iface-max-multicast-group-count-8`).
    #[cfg(feature = "glue")]
    const MAX_GROUPS: usize = 8;

    /// The device smoltcp polls: the glue around the NIC, or the NIC itself.
    #[cfg(feature = "glue")]
    pub type Device = McastDevice<Nic, Lan9118<Mmio>, MAX_GROUPS>;
    #[cfg(not(feature = "glue"))]
    pub type Device = Nic;

    /// Whether the NIC passes all multicast: with smoltcp's own IGMP, which programs no
    /// filter. With the glue the driver programs the hash, which starts empty.
    pub const PASS_ALL_MULTICAST: bool = cfg!(all(feature = "smoltcp-igmp", not(feature = "glue")));

    /// The device around `nic`: the NIC itself.
    #[cfg(not(feature = "glue"))]
    pub fn device(nic: Nic, _: [u8; 6]) -> Device {
        nic
    }

    /// The device around `nic`, whose MAC is `mac`: the glue, with the LAN9118 driver
    /// for the NIC's hash filter.
    #[cfg(feature = "glue")]
    pub fn device(nic: Nic, mac: [u8; 6]) -> Device {
        // SAFETY: 0x4020_0000..0x4020_0100 is the LAN9118's register block on the
        // mps2-an385, read and written only with 32-bit volatile accesses; the packet
        // I/O in `nic` uses the same block, in the same single thread.
        let regs = unsafe { Mmio::new(0x4020_0000, 0x100) };
        // Reports repeat within 1 s rather than RFC 2236's 10 s, so that tests on the
        // board need not wait that long.
        let mut config = HostConfig::default();
        config.unsolicited_report_interval = Duration::from_secs(1);
        // The seed decides every report delay: the MAC makes it differ between boards,
        // the free-running counter between boots (the Host hashes it, so one bit of
        // difference is enough). The MAC alone would replay the same delays each boot.
        let mac48 = u64::from_le_bytes([mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0, 0]);
        let seed = mac48 ^ (u64::from(crate::nic::free_running()) << 32);
        match McastDevice::new(nic, Lan9118::new(regs), mcast::MacAddr(mac), config, seed) {
            Ok(device) => device,
            Err(e) => panic!("glue: {e}"),
        }
    }

    /// The NIC under the device.
    pub fn nic(device: &Device) -> &Nic {
        #[cfg(feature = "glue")]
        let device = device.device();
        device
    }

    /// Polls the interface (through the glue, if there is one).
    pub fn poll(device: &mut Device, iface: &mut Interface, sockets: &mut SocketSet<'_>, now: Instant) {
        #[cfg(feature = "glue")]
        device.poll(now, iface, sockets);
        #[cfg(not(feature = "glue"))]
        iface.poll(now, device, sockets);
    }

    /// Joins `group` (`join`) or leaves it; whether membership changed.
    pub fn change(
        device: &mut Device,
        iface: &mut Interface,
        now: Instant,
        group: Ipv4Addr,
        join: bool,
    ) -> Result<bool, impl fmt::Display> {
        #[cfg(feature = "glue")]
        return if join { device.join(now, group) } else { device.leave(now, group) };
        #[cfg(all(feature = "smoltcp-igmp", not(feature = "glue")))]
        return {
            let was = iface.has_multicast_group(group);
            match join {
                true => iface.join_multicast_group(group).map(|()| !was),
                false => iface.leave_multicast_group(group).map(|()| was),
            }
        };
        #[cfg(not(any(feature = "glue", feature = "smoltcp-igmp")))]
        return Err::<bool, _>("this build has no multicast");
    }

    /// The groups joined, comma-separated.
    pub fn write_groups(device: &Device, iface: &Interface, out: &mut impl Write) -> fmt::Result {
        #[cfg(feature = "glue")]
        let groups = device.groups().map(|g| g.group);
        // smoltcp cannot list its groups: probe the ones this firmware is told about.
        #[cfg(all(feature = "smoltcp-igmp", not(feature = "glue")))]
        let groups = crate::GROUPS
            .split(',')
            .filter_map(|g| g.trim().parse::<Ipv4Addr>().ok())
            .filter(|g| iface.has_multicast_group(*g));
        #[cfg(not(any(feature = "glue", feature = "smoltcp-igmp")))]
        let groups = core::iter::empty::<Ipv4Addr>();
        for (i, group) in groups.enumerate() {
            write!(out, "{}{group}", if i == 0 { "" } else { "," })?;
        }
        Ok(())
    }

    /// The glue's and the Host's counters, as ` key=value` pairs (none without the glue).
    pub fn write_stats(device: &Device, out: &mut impl Write) -> fmt::Result {
        #[cfg(feature = "glue")]
        {
            let d = device.stats();
            let h = device.host().stats();
            write!(
                out,
                " rx_filtered={} rx_other_address={} rx_igmp={} rx_malformed={} tx_igmp={} nic_in_sync={} \
                 queries={} reports_heard={} suppressed={} reports_sent={} leaves_sent={} bad_ttl={} wrong_destination={}",
                d.rx_filtered,
                d.rx_other_address,
                d.rx_igmp,
                d.rx_malformed,
                d.tx_igmp,
                device.nic_in_sync() as u8,
                h.queries,
                h.reports_heard,
                h.suppressed,
                h.reports_sent,
                h.leaves_sent,
                h.bad_ttl,
                h.wrong_destination,
            )?;
        }
        Ok(())
    }
}

/// Counters of the application itself.
#[derive(Default)]
struct AppStats {
    echoed: u32,
    commands: u32,
}

/// A reply being written: at most 512 octets, the rest cut off.
struct Reply {
    buf: [u8; 512],
    len: usize,
}

impl Reply {
    fn new() -> Reply {
        Reply { buf: [0; 512], len: 0 }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("?")
    }
}

impl fmt::Write for Reply {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// What a command asks the main loop to do after answering.
enum After {
    Continue,
    /// Set the interface's address (`None`: remove it).
    Address(Option<IpCidr>),
    Exit(bool),
}

struct App<'a> {
    device: membership::Device,
    iface: Interface,
    sockets: SocketSet<'a>,
    echo: smoltcp::iface::SocketHandle,
    command: smoltcp::iface::SocketHandle,
    stats: AppStats,
}

impl App<'_> {
    fn poll(&mut self, now: Instant) {
        membership::poll(&mut self.device, &mut self.iface, &mut self.sockets, now);
    }

    /// Joins `group` (`join`) or leaves it; the reply (also logged) says whether
    /// membership changed, or why it could not.
    fn change(&mut self, now: Instant, group: Ipv4Addr, join: bool, reply: &mut Reply) {
        let _ = match membership::change(&mut self.device, &mut self.iface, now, group, join) {
            Ok(changed) => write!(reply, "ok {changed}"),
            Err(e) => write!(reply, "err {e}"),
        };
        hprintln!("{} {}: {}", if join { "join" } else { "leave" }, group, reply.as_str());
    }

    fn write_stats(&self, out: &mut Reply) -> fmt::Result {
        let NicStats { rx_frames, rx_errors, tx_frames } = membership::nic(&self.device).stats();
        write!(
            out,
            "rx_nic={rx_frames} rx_errors={rx_errors} tx_nic={tx_frames} echoed={} commands={}",
            self.stats.echoed, self.stats.commands
        )?;
        membership::write_stats(&self.device, out)?;
        out.write_str(" groups=")?;
        membership::write_groups(&self.device, &self.iface, out)
    }

    /// Runs one command; the reply goes into `reply`.
    fn command(&mut self, now: Instant, text: &str, reply: &mut Reply) -> After {
        self.stats.commands = self.stats.commands.wrapping_add(1);
        let mut words = text.split_ascii_whitespace();
        let verb = words.next().unwrap_or("");
        let arg = words.next();
        let group = arg.and_then(|a| a.parse::<Ipv4Addr>().ok());
        match (verb, group) {
            ("join", Some(g)) => self.change(now, g, true, reply),
            ("leave", Some(g)) => self.change(now, g, false, reply),
            ("stats", _) => {
                let _ = self.write_stats(reply);
                hprintln!("stats: {}", reply.as_str());
            }
            ("groups", _) => {
                let _ = membership::write_groups(&self.device, &self.iface, reply);
            }
            ("address", _) => match arg.map(parse_address) {
                Some(Some(address)) => {
                    let _ = reply.write_str("ok");
                    return After::Address(address);
                }
                _ => {
                    let _ = reply.write_str("err usage: address <a.b.c.d/len>|none");
                }
            },
            ("exit", _) => {
                let success = arg == Some("0");
                let _ = reply.write_str("bye");
                return After::Exit(success);
            }
            _ => {
                let _ = write!(reply, "err unknown command: {text}");
            }
        }
        After::Continue
    }

    /// Echoes multicast datagrams back to their group.
    fn echo(&mut self) {
        let mut buf = [0u8; 1024];
        loop {
            let socket = self.sockets.get_mut::<udp::Socket>(self.echo);
            let (len, group) = match socket.recv_slice(&mut buf) {
                Ok((len, meta)) => (len, meta.local_address),
                Err(_) => return,
            };
            let Some(IpAddress::Ipv4(group)) = group.filter(|a| a.is_multicast()) else { continue };
            let to = IpEndpoint::new(IpAddress::Ipv4(group), ECHO_PORT);
            if socket.send_slice(&buf[..len], to).is_ok() {
                self.stats.echoed = self.stats.echoed.wrapping_add(1);
            }
        }
    }

    /// Runs every command received; returns what the last one that asks for more than
    /// its answer asks for.
    fn commands(&mut self, now: Instant) -> After {
        let mut buf = [0u8; 128];
        let mut after = After::Continue;
        loop {
            let socket = self.sockets.get_mut::<udp::Socket>(self.command);
            let (len, from) = match socket.recv_slice(&mut buf) {
                Ok((len, meta)) => (len, meta.endpoint),
                Err(_) => return after,
            };
            let text = core::str::from_utf8(&buf[..len]).unwrap_or("").trim();
            hprintln!("command from {}: {}", from, text);
            let mut reply = Reply::new();
            match self.command(now, text, &mut reply) {
                After::Continue => {}
                other => after = other,
            }
            let socket = self.sockets.get_mut::<udp::Socket>(self.command);
            let _ = socket.send_slice(reply.as_bytes(), from);
        }
    }

    /// Polls until the command socket's answers are out (an ARP exchange may come
    /// first), for at most 500 ms.
    fn flush_answers(&mut self, clock: &mut Clock) {
        let deadline = clock.now() + smoltcp::time::Duration::from_millis(500);
        loop {
            let now = clock.now();
            self.poll(now);
            if self.sockets.get::<udp::Socket>(self.command).send_queue() == 0 || now > deadline {
                return;
            }
        }
    }
}

/// An `address` command's argument: `none`, or an IPv4 address and prefix length.
fn parse_address(arg: &str) -> Option<Option<IpCidr>> {
    if arg == "none" {
        return Some(None);
    }
    let (address, len) = arg.split_once('/')?;
    let address = address.parse::<Ipv4Addr>().ok()?;
    let len = len.parse::<u8>().ok().filter(|l| *l <= 32)?;
    Some(Some(IpCidr::new(IpAddress::Ipv4(address), len)))
}

#[exception]
fn SysTick() {
    // Only wakes the main loop from `wfi`.
}

#[entry]
fn main() -> ! {
    // Buffers and state live in statics (cortex-m-rt hands each out once, as a
    // `&'static mut`), so that .data + .bss shows the RAM the firmware uses.
    static mut ECHO_RX_META: [udp::PacketMetadata; 8] = [udp::PacketMetadata::EMPTY; 8];
    static mut ECHO_RX: [u8; 4096] = [0; 4096];
    static mut ECHO_TX_META: [udp::PacketMetadata; 8] = [udp::PacketMetadata::EMPTY; 8];
    static mut ECHO_TX: [u8; 4096] = [0; 4096];
    static mut COMMAND_RX_META: [udp::PacketMetadata; 4] = [udp::PacketMetadata::EMPTY; 4];
    static mut COMMAND_RX: [u8; 512] = [0; 512];
    static mut COMMAND_TX_META: [udp::PacketMetadata; 4] = [udp::PacketMetadata::EMPTY; 4];
    static mut COMMAND_TX: [u8; 2048] = [0; 2048];
    static mut STORAGE: [SocketStorage<'static>; 2] = [SocketStorage::EMPTY; 2];
    static mut APP: MaybeUninit<App<'static>> = MaybeUninit::uninit();

    let mut core = cortex_m::Peripherals::take().unwrap();
    // A tick every millisecond (25 MHz core clock) wakes the main loop.
    core.SYST.set_clock_source(SystClkSource::Core);
    core.SYST.set_reload(25_000 - 1);
    core.SYST.clear_current();
    core.SYST.enable_interrupt();
    core.SYST.enable_counter();

    let (nic, id) = match Nic::init(MAC, membership::PASS_ALL_MULTICAST) {
        Ok(found) => found,
        Err(byte_test) => panic!("no LAN9118 (BYTE_TEST reads {byte_test:#010x})"),
    };
    let mut clock = Clock::new();
    hprintln!("mcast firmware: LAN9118 {:#010x}, MAC {}, {}/{}", id, EthernetAddress(MAC), ADDRESS, PREFIX);

    let mut device = membership::device(nic, MAC);
    let mut iface = Interface::new(Config::new(EthernetAddress(MAC).into()), &mut device, clock.now());
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(ADDRESS), PREFIX));
    });

    let mut echo = udp::Socket::new(
        udp::PacketBuffer::new(&mut ECHO_RX_META[..], &mut ECHO_RX[..]),
        udp::PacketBuffer::new(&mut ECHO_TX_META[..], &mut ECHO_TX[..]),
    );
    let mut command = udp::Socket::new(
        udp::PacketBuffer::new(&mut COMMAND_RX_META[..], &mut COMMAND_RX[..]),
        udp::PacketBuffer::new(&mut COMMAND_TX_META[..], &mut COMMAND_TX[..]),
    );
    // The echo socket sends to groups only: TTL 1, the default RFC 1112 §6.1 gives
    // multicast (one link; a router forwards nothing with TTL 1). smoltcp's sockets
    // default to 64, for unicast, as the command socket keeps.
    echo.set_hop_limit(Some(1));
    if echo.bind(ECHO_PORT).is_err() || command.bind(COMMAND_PORT).is_err() {
        panic!("cannot bind the UDP sockets");
    }
    let mut sockets = SocketSet::new(&mut STORAGE[..]);
    let echo = sockets.add(echo);
    let command = sockets.add(command);

    let app = APP.write(App { device, iface, sockets, echo, command, stats: AppStats::default() });
    let now = clock.now();
    for group in GROUPS.split(',').map(str::trim).filter(|g| !g.is_empty()) {
        let mut reply = Reply::new();
        match group.parse::<Ipv4Addr>() {
            Ok(g) => app.change(now, g, true, &mut reply),
            Err(_) => hprintln!("MCAST_GROUPS: not an address: {}", group),
        }
    }

    loop {
        let now = clock.now();
        app.poll(now);
        app.echo();
        match app.commands(now) {
            After::Continue => {}
            After::Address(address) => {
                // The answer leaves from the address the command came to.
                app.flush_answers(&mut clock);
                app.iface.update_ip_addrs(|addrs| {
                    addrs.clear();
                    if let Some(address) = address {
                        let _ = addrs.push(address);
                    }
                });
                match address {
                    Some(address) => hprintln!("address {}", address),
                    None => hprintln!("address none"),
                }
            }
            After::Exit(success) => {
                // Let the reply go out, then stop QEMU with the status asked for.
                app.flush_answers(&mut clock);
                hprintln!("exit ({})", if success { "success" } else { "failure" });
                debug::exit(if success { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
            }
        }
        app.poll(now);
        cortex_m::asm::wfi();
    }
}
