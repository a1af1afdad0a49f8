//! mcast on an STM32 Nucleo-F767ZI: embassy-stm32's Ethernet driver under embassy-net,
//! wrapped in `mcast::glue::embassy::McastDriver`, with the ETH MAC's own multicast
//! filter programmed by `mcast::drivers::dwmac`.
//!
//! - Brings up the ETH MAC and the board's LAN8742A PHY over RMII, with a MAC address
//!   made from the chip's unique ID (locally administered, so boards differ).
//! - Replaces the pass-all-multicast setting embassy-stm32 leaves in MACFFR with the
//!   groups' MACs in the MAC's perfect filters (and its hash, once those are full): a
//!   frame for a MAC of no joined group never reaches the firmware.
//! - Gets its address by DHCP, and joins 239.1.2.3 at boot, before it has one: the
//!   report goes out as soon as DHCP gives the address (`McastHandle::follow`).
//! - Echoes every datagram that arrives for a group on UDP port 5000 back to that group,
//!   port 5000, with TTL 1. Datagrams sent from port 5000 (another board's echoes) are
//!   not echoed, so that two boards on one LAN do not bounce a datagram forever.
//! - Logs through defmt over RTT (probe-rs prints them): its MAC, the link, the
//!   address, each echo, and the glue's counters whenever they change.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

use core::net::Ipv4Addr;

use defmt::{info, unwrap, warn};
use embassy_executor::Spawner;
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{IpAddress, Stack, StackResources};
use embassy_stm32::bind_interrupts;
use embassy_stm32::eth::{self, Ethernet, GenericPhy, PacketQueue, Sma};
use embassy_stm32::peripherals::{ETH, ETH_SMA, RNG};
use embassy_stm32::rng::{self, Rng};
use embassy_stm32::time::Hertz;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_time::{Duration, Timer};
use mcast::drivers::dwmac::{Dwmac, Layout};
use mcast::filter::MulticastFilter as _;
use mcast::glue::embassy::{McastDriver, McastHandle};
use mcast::membership::HostConfig;
use static_cell::StaticCell;
use {defmt_rtt as _, panic_probe as _};

use crate::eth_mac::EthMac;

/// The group joined at boot.
const GROUP: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);
/// The port echoed.
const PORT: u16 = 5000;
/// Groups (and multicast MACs) the handle holds.
const GROUPS: usize = 8;
/// The core clock `clocks()` sets up.
const SYSCLK_HZ: u32 = 216_000_000;

type Phy = GenericPhy<Sma<'static, ETH_SMA>>;
type Nic = Ethernet<'static, ETH, Phy>;
type Handle = McastHandle<GROUPS, CriticalSectionRawMutex>;
type Device = McastDriver<'static, Nic, Dwmac<EthMac>, GROUPS, CriticalSectionRawMutex>;

bind_interrupts!(struct Irqs {
    ETH => eth::InterruptHandler;
    RNG => rng::InterruptHandler<RNG>;
});

/// The ETH MAC's filter registers, for `drivers::dwmac`: the firmware's only `unsafe`.
#[allow(unsafe_code)]
mod eth_mac {
    use mcast::drivers::Registers;
    use mcast::drivers::mmio::Mmio;

    use super::{Nic, SYSCLK_HZ};

    /// The ETH block's base address on the STM32 F4/F7 (the reference manuals' memory
    /// map; embassy-stm32's PAC has the same).
    const ETH_BASE: usize = 0x4002_8000;
    /// MACCR (0x00) up to MACA3LR (0x5C): the filter registers `dwmac` uses (MACFFR
    /// 0x04, MACHTHR 0x08, MACHTLR 0x0C, MACA1HR..MACA3LR 0x48..0x5C) and no DMA
    /// register.
    const FILTER_REGISTERS_LEN: usize = 0x60;
    /// Cycles of the core clock in 2 µs: more than four cycles of the slowest MAC clock
    /// (2.5 MHz, RMII at 10 Mbit/s).
    const WRITE_SETTLE_CYCLES: u32 = SYSCLK_HZ / 1_000_000 * 2;

    /// The registers of the ETH MAC's multicast filter.
    ///
    /// A write to a MAC register reaches the MAC's own clock domain some cycles of
    /// TX_CLK/RX_CLK later; ST's HAL waits at least four of them after writing MACFFR
    /// before writing it again. `dwmac` may write MACFFR or a hash register twice in
    /// one update (widened first, final last), so each write here waits that long.
    pub struct EthMac(Mmio);

    impl EthMac {
        /// The registers of the MAC `_nic` drives: embassy-stm32 has turned the ETH
        /// clock on (`Ethernet::new`), so they answer.
        pub fn new(_nic: &Nic) -> EthMac {
            // SAFETY: 0x4002_8000..0x4002_8060 are the ETH MAC's 32-bit registers on the
            // STM32F767 (reference manual RM0410, Ethernet register map), read and
            // written with word accesses once the ETH clock is on, which
            // `Ethernet::new` did. Nothing holds a Rust reference to them: embassy-stm32
            // reaches them through its PAC's raw pointers. Of the registers `dwmac`
            // writes, embassy-stm32 writes MACFFR only in `Ethernet::new`, before this
            // exists, and the hash and address filters 1 to 3 never; the ones it keeps
            // using (MACMIIAR/MACMIIDR, for the PHY) `dwmac` never touches. `dwmac` runs
            // in the stack's runner task, as the PHY polling does: never both at once.
            EthMac(unsafe { Mmio::new(ETH_BASE, FILTER_REGISTERS_LEN) })
        }
    }

    impl Registers for EthMac {
        fn read(&mut self, offset: u32) -> u32 {
            self.0.read(offset)
        }

        fn write(&mut self, offset: u32, value: u32) {
            self.0.write(offset, value);
            cortex_m::asm::delay(WRITE_SETTLE_CYCLES);
        }
    }
}

/// The Nucleo's clocks: the ST-LINK's 8 MHz on HSE (bypass), the PLL at 432 MHz, the
/// core at 216 MHz, 48 MHz for the RNG.
fn clocks() -> embassy_stm32::Config {
    use embassy_stm32::rcc::*;
    let mut config = embassy_stm32::Config::default();
    config.rcc.hse = Some(Hse { freq: Hertz(8_000_000), mode: HseMode::Bypass });
    config.rcc.pll_src = PllSource::HSE;
    config.rcc.pll = Some(Pll {
        prediv: PllPreDiv::DIV4,
        mul: PllMul::MUL216,
        divp: Some(PllPDiv::DIV2),
        divq: Some(PllQDiv::DIV9),
        divr: None,
    });
    config.rcc.ahb_pre = AHBPrescaler::DIV1;
    config.rcc.apb1_pre = APBPrescaler::DIV4;
    config.rcc.apb2_pre = APBPrescaler::DIV2;
    config.rcc.sys = Sysclk::PLL1_P;
    config
}

/// A locally administered unicast MAC from the chip's 96-bit unique ID, the same on
/// every boot of one board and different between boards.
fn mac_address() -> [u8; 6] {
    let uid = embassy_stm32::uid::uid();
    let mut mac = [0x02, 0, 0, 0, 0, 0];
    for (i, byte) in uid.iter().enumerate() {
        mac[1 + i % 5] ^= byte;
    }
    mac
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, Device>) -> ! {
    runner.run().await
}

/// Tells the IGMP host the address DHCP gives the stack.
#[embassy_executor::task]
async fn follow_task(handle: &'static Handle, stack: Stack<'static>) -> ! {
    handle.follow(stack).await
}

/// Logs the glue's counters when they change.
#[embassy_executor::task]
async fn stats_task(handle: &'static Handle) -> ! {
    let mut last = None;
    loop {
        let now = (handle.stats(), handle.nic_in_sync());
        if last != Some(now) {
            info!("glue: {} nic_in_sync={}", now.0, now.1);
            last = Some(now);
        }
        Timer::after(Duration::from_secs(1)).await;
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) -> ! {
    let p = embassy_stm32::init(clocks());
    info!("mcast on the Nucleo-F767ZI");

    // One seed for the stack (TCP/DHCP identifiers, ports), one for the IGMP host's
    // report delays: from the hardware RNG, so every board and every boot differ.
    let mut rng = Rng::new(p.RNG, Irqs);
    let stack_seed = rng.next_u64();
    let mcast_seed = rng.next_u64();

    let mac = mac_address();
    let [a, b, c, d, e, f] = mac;
    info!("MAC {=u8:02x}:{=u8:02x}:{=u8:02x}:{=u8:02x}:{=u8:02x}:{=u8:02x}", a, b, c, d, e, f);

    // The pins of the Nucleo-144 boards' RMII (user manual UM1974): REF_CLK PA1, CRS_DV
    // PA7, RXD0 PC4, RXD1 PC5, TXD0 PG13, TXD1 PB13, TX_EN PG11; MDIO PA2, MDC PC1.
    static PACKETS: StaticCell<PacketQueue<4, 4>> = StaticCell::new();
    let nic = Ethernet::new(
        PACKETS.init(PacketQueue::new()),
        p.ETH,
        Irqs,
        p.PA1,
        p.PA7,
        p.PC4,
        p.PC5,
        p.PG13,
        p.PB13,
        p.PG11,
        mac,
        p.ETH_SMA,
        p.PA2,
        p.PC1,
    );

    // The MAC's filter, programmed on the stack's first poll: from then on only the
    // station address, broadcast and the MACs of 224.0.0.1, IPv6's all-nodes and the
    // joined groups pass it.
    let filter = Dwmac::new(EthMac::new(&nic), Layout::Stm32F4);
    static HANDLE: StaticCell<Handle> = StaticCell::new();
    let handle: &'static Handle =
        HANDLE.init(unwrap!(McastHandle::new(filter.capabilities(), HostConfig::default(), mcast_seed)));
    let driver = unwrap!(McastDriver::new(nic, filter, handle));

    static RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();
    let config = embassy_net::Config::dhcpv4(Default::default());
    let (stack, runner) = embassy_net::new(driver, config, RESOURCES.init(StackResources::new()), stack_seed);
    spawner.spawn(unwrap!(net_task(runner)));
    spawner.spawn(unwrap!(follow_task(handle, stack)));
    spawner.spawn(unwrap!(stats_task(handle)));

    // Joined before there is an address: the Host reports the group when DHCP gives one.
    match handle.join_with(stack, GROUP) {
        Ok(_) => info!("joined {}", GROUP),
        Err(e) => warn!("join {}: {}", GROUP, e),
    }

    stack.wait_link_up().await;
    info!("link up");
    stack.wait_config_up().await;
    if let Some(v4) = stack.config_v4() {
        info!("DHCP: address {}", v4.address);
    }

    let mut rx_meta = [PacketMetadata::EMPTY; 4];
    let mut rx_buffer = [0; 2048];
    let mut tx_meta = [PacketMetadata::EMPTY; 4];
    let mut tx_buffer = [0; 2048];
    let mut socket = UdpSocket::new(stack, &mut rx_meta, &mut rx_buffer, &mut tx_meta, &mut tx_buffer);
    // RFC 1112 §6.1's TTL for multicast; embassy-net would send with 64.
    socket.set_hop_limit(Some(1));
    unwrap!(socket.bind(PORT));
    info!("echoing {}:{}", GROUP, PORT);

    let mut datagram = [0; 1472];
    loop {
        let (len, meta) = match socket.recv_from(&mut datagram).await {
            Ok(received) => received,
            Err(e) => {
                warn!("receive: {}", e);
                continue;
            }
        };
        let Some(IpAddress::Ipv4(to)) = meta.local_address else { continue };
        if !to.is_multicast() || meta.endpoint.port == PORT {
            continue;
        }
        match socket.send_to(&datagram[..len], (to, PORT)).await {
            Ok(()) => info!("echoed {} octets from {} to {}:{}", len, meta.endpoint, to, PORT),
            Err(e) => warn!("echo to {}: {}", to, e),
        }
    }
}
