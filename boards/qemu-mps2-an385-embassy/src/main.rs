//! mcast on QEMU's mps2-an385 under embassy: embassy-executor on the Cortex-M3,
//! embassy-net 0.9 over an async driver for the board's LAN9118, with IGMP and the NIC's
//! multicast hash run by `mcast::glue::embassy` and `mcast::drivers::lan9118`.
//!
//! The same application as the smoltcp firmware (`../qemu-mps2-an385`):
//!
//! - Address 10.0.0.2/24, MAC 02:00:00:00:00:02.
//! - Joins the groups of `MCAST_GROUPS` (comma-separated, read when building; default
//!   239.1.2.3) at boot.
//! - Echoes every UDP datagram it receives on port 5000 for a multicast group back to
//!   that group, port 5000, with TTL 1.
//! - Takes commands as UDP datagrams to port 7000 and answers each to its sender:
//!   `join <group>`, `leave <group>`, `groups`, `stats` (the counters as `key=value`
//!   pairs), `address <a.b.c.d/len>` or `address none` (sets or removes the stack's
//!   address, once the answer is out), `exit <status>` (0: success, else failure: QEMU
//!   exits with it).
//! - Logs through semihosting.
//!
//! Built without the `glue` feature, the same application runs on smoltcp's own IGMP
//! (`smoltcp-igmp`) or without multicast at all, for measuring what each costs.

#![no_std]
#![no_main]

#[path = "../../qemu-mps2-an385/src/lan9118.rs"]
mod lan9118;
mod nic;
mod time;

use core::fmt::{self, Write as _};
use core::mem::MaybeUninit;
use core::net::Ipv4Addr;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use embassy_executor::{Executor, SpawnError, SpawnToken, Spawner};
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{Config, ConfigV4, IpAddress, IpEndpoint, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_time::{Duration, with_timeout};
use panic_semihosting as _;

use nic::Nic;

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

    use embassy_net::Stack;

    #[cfg(feature = "glue")]
    use {
        core::time::Duration,
        mcast::drivers::{lan9118::Lan9118, mmio::Mmio},
        mcast::filter::MulticastFilter as _,
        mcast::glue::embassy::{McastDriver, McastHandle},
        mcast::membership::HostConfig,
    };

    use crate::nic::Nic;

    /// Groups the glue can hold (smoltcp's own table, in every build with multicast,
    /// holds as many: `iface-max-multicast-group-count-8`).
    #[cfg(feature = "glue")]
    const MAX_GROUPS: usize = 8;

    /// The driver embassy-net runs: the glue around the NIC, or the NIC itself.
    #[cfg(feature = "glue")]
    pub type Driver = McastDriver<'static, Nic, Lan9118<Mmio>, MAX_GROUPS>;
    #[cfg(not(feature = "glue"))]
    pub type Driver = Nic;

    /// Whether the NIC passes all multicast: with smoltcp's own IGMP, which programs no
    /// filter. With the glue the driver programs the hash, which starts empty.
    pub const PASS_ALL_MULTICAST: bool = cfg!(all(feature = "smoltcp-igmp", not(feature = "glue")));

    /// What the application keeps to join, leave and read counters: the glue's handle,
    /// or nothing.
    #[derive(Clone, Copy)]
    pub struct Membership {
        #[cfg(feature = "glue")]
        handle: &'static McastHandle<MAX_GROUPS>,
    }

    /// The driver around `nic`: the NIC itself.
    #[cfg(not(feature = "glue"))]
    pub fn driver(nic: Nic, seed: u64) -> (Driver, Membership) {
        (nic, Membership {})
    }

    /// The driver around `nic`: the glue, with the LAN9118 driver for the NIC's hash
    /// filter, and the handle it shares with the application.
    #[cfg(feature = "glue")]
    pub fn driver(nic: Nic, seed: u64) -> (Driver, Membership) {
        // SAFETY: 0x4020_0000..0x4020_0100 is the LAN9118's register block on the
        // mps2-an385, read and written only with 32-bit volatile accesses; the packet
        // I/O in `nic` uses the same block, from the same task (the stack's runner), and
        // the interrupt handler writes INT_STS only, which the filter driver never does.
        let filter = Lan9118::new(unsafe { Mmio::new(0x4020_0000, 0x100) });
        // Reports repeat within 1 s rather than RFC 2236's 10 s, so that tests on the
        // board need not wait that long.
        let mut config = HostConfig::default();
        config.unsolicited_report_interval = Duration::from_secs(1);
        let handle = match McastHandle::new(filter.capabilities(), config, seed) {
            Ok(handle) => handle,
            Err(e) => panic!("glue: {e}"),
        };
        let Some(handle) = cortex_m::singleton!(: McastHandle<MAX_GROUPS> = handle) else { panic!("glue: made twice") };
        let handle: &'static McastHandle<MAX_GROUPS> = handle;
        match McastDriver::new(nic, filter, handle) {
            Ok(driver) => (driver, Membership { handle }),
            Err(e) => panic!("glue: {e}"),
        }
    }

    impl Membership {
        /// Keeps the glue's address the stack's (the glue's `follow`); returns at once
        /// without the glue.
        pub async fn follow(self, stack: Stack<'static>) {
            #[cfg(feature = "glue")]
            self.handle.follow(stack).await;
        }

        /// Joins `group` (`join`) or leaves it; whether membership changed.
        pub fn change(self, stack: Stack<'_>, group: Ipv4Addr, join: bool) -> Result<bool, impl fmt::Display> {
            #[cfg(feature = "glue")]
            return if join { self.handle.join_with(stack, group) } else { self.handle.leave_with(stack, group) };
            #[cfg(all(feature = "smoltcp-igmp", not(feature = "glue")))]
            return {
                let was = stack.has_multicast_group(group);
                match join {
                    true => stack.join_multicast_group(group).map(|()| !was),
                    false => stack.leave_multicast_group(group).map(|()| was),
                }
            };
            #[cfg(not(any(feature = "glue", feature = "smoltcp-igmp")))]
            return Err::<bool, _>("this build has no multicast");
        }

        /// The groups joined, comma-separated.
        pub fn write_groups(self, stack: Stack<'_>, out: &mut impl Write) -> fmt::Result {
            #[cfg(feature = "glue")]
            let groups = self.handle.groups().into_iter().map(|g| g.group.to_ipv4());
            // smoltcp cannot list its groups: probe the ones this firmware is told about.
            #[cfg(all(feature = "smoltcp-igmp", not(feature = "glue")))]
            let groups = crate::GROUPS
                .split(',')
                .filter_map(|g| g.trim().parse::<Ipv4Addr>().ok())
                .filter(|g| stack.has_multicast_group(*g));
            #[cfg(not(any(feature = "glue", feature = "smoltcp-igmp")))]
            let groups = core::iter::empty::<Ipv4Addr>();
            for (i, group) in groups.enumerate() {
                write!(out, "{}{group}", if i == 0 { "" } else { "," })?;
            }
            Ok(())
        }

        /// The glue's and the Host's counters, as ` key=value` pairs (none without the
        /// glue).
        pub fn write_stats(self, out: &mut impl Write) -> fmt::Result {
            #[cfg(feature = "glue")]
            {
                let d = self.handle.stats();
                let h = self.handle.host_stats();
                write!(
                    out,
                    " rx_filtered={} rx_igmp={} rx_malformed={} tx_igmp={} stack_igmp_dropped={} nic_in_sync={} \
                     queries={} reports_heard={} suppressed={} reports_sent={} leaves_sent={} bad_ttl={} \
                     wrong_destination={}",
                    d.rx_filtered,
                    d.rx_igmp,
                    d.rx_malformed,
                    d.tx_igmp,
                    d.stack_igmp_dropped,
                    self.handle.nic_in_sync() as u8,
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
}

use membership::Membership;

/// Datagrams echoed.
static ECHOED: AtomicU32 = AtomicU32::new(0);
/// Commands run.
static COMMANDS: AtomicU32 = AtomicU32::new(0);

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

/// What a command asks for after its answer is out.
enum After {
    Continue,
    /// Set the stack's address (`None`: remove it).
    Address(Option<Ipv4Cidr>),
    Exit(bool),
}

/// An `address` command's argument: `none`, or an IPv4 address and prefix length.
fn parse_address(arg: &str) -> Option<Option<Ipv4Cidr>> {
    if arg == "none" {
        return Some(None);
    }
    let (address, len) = arg.split_once('/')?;
    let address = address.parse::<Ipv4Addr>().ok()?;
    let len = len.parse::<u8>().ok().filter(|l| *l <= 32)?;
    Some(Some(Ipv4Cidr::new(address, len)))
}

/// The application's side of the stack.
#[derive(Clone, Copy)]
struct App {
    stack: Stack<'static>,
    membership: Membership,
}

impl App {
    /// Joins `group` (`join`) or leaves it; the reply (also logged) says whether
    /// membership changed, or why it could not.
    fn change(self, group: Ipv4Addr, join: bool, reply: &mut Reply) {
        let _ = match self.membership.change(self.stack, group, join) {
            Ok(changed) => write!(reply, "ok {changed}"),
            Err(e) => write!(reply, "err {e}"),
        };
        hprintln!("{} {}: {}", if join { "join" } else { "leave" }, group, reply.as_str());
    }

    fn write_stats(self, out: &mut Reply) -> fmt::Result {
        let nic::NicStats { rx_frames, rx_errors, tx_frames } = nic::stats();
        write!(
            out,
            "rx_nic={rx_frames} rx_errors={rx_errors} tx_nic={tx_frames} echoed={} commands={}",
            ECHOED.load(Ordering::Relaxed),
            COMMANDS.load(Ordering::Relaxed)
        )?;
        self.membership.write_stats(out)?;
        out.write_str(" groups=")?;
        self.membership.write_groups(self.stack, out)
    }

    /// Runs one command; the reply goes into `reply`.
    fn command(self, text: &str, reply: &mut Reply) -> After {
        COMMANDS.fetch_add(1, Ordering::Relaxed);
        let mut words = text.split_ascii_whitespace();
        let verb = words.next().unwrap_or("");
        let arg = words.next();
        let group = arg.and_then(|a| a.parse::<Ipv4Addr>().ok());
        match (verb, group) {
            ("join", Some(g)) => self.change(g, true, reply),
            ("leave", Some(g)) => self.change(g, false, reply),
            ("stats", _) => {
                let _ = self.write_stats(reply);
                hprintln!("stats: {}", reply.as_str());
            }
            ("groups", _) => {
                let _ = self.membership.write_groups(self.stack, reply);
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
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, membership::Driver>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn follow_task(membership: Membership, stack: Stack<'static>) {
    membership.follow(stack).await;
}

/// Echoes multicast datagrams back to their group.
#[embassy_executor::task]
async fn echo_task(socket: UdpSocket<'static>) -> ! {
    let mut buf = [0u8; 1024];
    loop {
        let Ok((len, meta)) = socket.recv_from(&mut buf).await else { continue };
        let Some(IpAddress::Ipv4(group)) = meta.local_address.filter(|a| a.is_multicast()) else { continue };
        let to = IpEndpoint::new(IpAddress::Ipv4(group), ECHO_PORT);
        if socket.send_to(&buf[..len], to).await.is_ok() {
            ECHOED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Joins the boot groups once the link is up, then runs every command received.
#[embassy_executor::task]
async fn command_task(app: App, mut socket: UdpSocket<'static>) -> ! {
    // The glue announces every group when the link comes up: join after that.
    app.stack.wait_link_up().await;
    for group in GROUPS.split(',').map(str::trim).filter(|g| !g.is_empty()) {
        match group.parse::<Ipv4Addr>() {
            Ok(g) => app.change(g, true, &mut Reply::new()),
            Err(_) => hprintln!("MCAST_GROUPS: not an address: {}", group),
        }
    }
    let mut buf = [0u8; 128];
    loop {
        let Ok((len, meta)) = socket.recv_from(&mut buf).await else { continue };
        let text = core::str::from_utf8(&buf[..len]).unwrap_or("").trim();
        hprintln!("command from {}: {}", meta.endpoint, text);
        let mut reply = Reply::new();
        let after = app.command(text, &mut reply);
        let _ = socket.send_to(reply.as_bytes(), meta.endpoint).await;
        if let After::Continue = after {
            continue;
        }
        // The answer goes out first (an ARP exchange may come before it), from the
        // address the command came to.
        let _ = with_timeout(Duration::from_millis(500), socket.flush()).await;
        match after {
            After::Continue => {}
            After::Address(Some(address)) => {
                let config = StaticConfigV4 { address, gateway: None, dns_servers: Default::default() };
                app.stack.set_config_v4(ConfigV4::Static(config));
                hprintln!("address {}", address);
            }
            After::Address(None) => {
                app.stack.set_config_v4(ConfigV4::None);
                hprintln!("address none");
            }
            After::Exit(success) => {
                hprintln!("exit ({})", if success { "success" } else { "failure" });
                debug::exit(if success { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
            }
        }
    }
}

/// Spawns a task; there is one of each, so this fails only if one is spawned twice.
fn spawn<S>(spawner: Spawner, token: Result<SpawnToken<S>, SpawnError>) {
    match token {
        Ok(token) => spawner.spawn(token),
        Err(e) => panic!("spawning a task: {e:?}"),
    }
}

#[entry]
fn main() -> ! {
    // Buffers and state live in statics (cortex-m-rt hands each out once, as a
    // `&'static mut`), so that .data + .bss shows the RAM the firmware uses.
    static mut ECHO_RX_META: [PacketMetadata; 8] = [PacketMetadata::EMPTY; 8];
    static mut ECHO_RX: [u8; 4096] = [0; 4096];
    static mut ECHO_TX_META: [PacketMetadata; 8] = [PacketMetadata::EMPTY; 8];
    static mut ECHO_TX: [u8; 4096] = [0; 4096];
    static mut COMMAND_RX_META: [PacketMetadata; 4] = [PacketMetadata::EMPTY; 4];
    static mut COMMAND_RX: [u8; 512] = [0; 512];
    static mut COMMAND_TX_META: [PacketMetadata; 4] = [PacketMetadata::EMPTY; 4];
    static mut COMMAND_TX: [u8; 2048] = [0; 2048];
    static mut RESOURCES: StackResources<2> = StackResources::new();
    static mut EXECUTOR: MaybeUninit<Executor> = MaybeUninit::uninit();

    let Some(core) = cortex_m::Peripherals::take() else { panic!("core peripherals taken") };
    let (nic, id) = match Nic::init(MAC, membership::PASS_ALL_MULTICAST) {
        Ok(found) => found,
        Err(byte_test) => panic!("no LAN9118 (BYTE_TEST reads {byte_test:#010x})"),
    };
    // The LAN9118's reset restarted its counter, the clock's source.
    time::start(core.SYST);
    let [m0, m1, m2, m3, m4, m5] = MAC;
    hprintln!(
        "mcast firmware (embassy): LAN9118 {:#010x}, MAC {:02x}-{:02x}-{:02x}-{:02x}-{:02x}-{:02x}, {}/{}",
        id,
        m0,
        m1,
        m2,
        m3,
        m4,
        m5,
        ADDRESS,
        PREFIX
    );

    // The seed decides every report delay: the MAC makes it differ between boards, the
    // free-running counter between boots (the Host hashes it, so one bit of difference is
    // enough). The MAC alone would replay the same delays each boot.
    let mac48 = u64::from_le_bytes([MAC[0], MAC[1], MAC[2], MAC[3], MAC[4], MAC[5], 0, 0]);
    let seed = mac48 ^ (u64::from(lan9118::free_running()) << 32);
    let (driver, membership) = membership::driver(nic, seed);
    let config = Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(ADDRESS, PREFIX),
        gateway: None,
        dns_servers: Default::default(),
    });
    let (stack, runner) = embassy_net::new(driver, config, RESOURCES, seed);

    let mut echo =
        UdpSocket::new(stack, &mut ECHO_RX_META[..], &mut ECHO_RX[..], &mut ECHO_TX_META[..], &mut ECHO_TX[..]);
    let mut command = UdpSocket::new(
        stack,
        &mut COMMAND_RX_META[..],
        &mut COMMAND_RX[..],
        &mut COMMAND_TX_META[..],
        &mut COMMAND_TX[..],
    );
    // The echo socket sends to groups only: TTL 1, the default RFC 1112 §6.1 gives
    // multicast (one link; a router forwards nothing with TTL 1). embassy-net's sockets
    // default to 64, for unicast, as the command socket keeps.
    echo.set_hop_limit(Some(1));
    if echo.bind(ECHO_PORT).is_err() || command.bind(COMMAND_PORT).is_err() {
        panic!("cannot bind the UDP sockets");
    }

    let app = App { stack, membership };
    let executor = EXECUTOR.write(Executor::new());
    executor.run(|spawner| {
        spawn(spawner, net_task(runner));
        spawn(spawner, follow_task(membership, stack));
        spawn(spawner, echo_task(echo));
        spawn(spawner, command_task(app, command));
    })
}
