//! How each Ethernet MAC family turns a destination address into one of its 64 hash bins,
//! and where that bin's bit lives in the chip's registers.
//!
//! Almost every MAC found beside a microcontroller filters multicast with a 64-bin
//! table indexed by six bits of a CRC-32 of the destination address. They differ in
//! which six bits they take, and of which form of the CRC:
//!
//! - [`crc32`]: the Ethernet frame check sequence, reflected, polynomial 0xEDB88320,
//!   initial value and final complement 0xFFFF_FFFF (what `zlib.crc32` returns);
//! - [`crc32_le`]: the same register without the final complement (Linux
//!   `ether_crc_le`);
//! - [`crc32_be`]: its bit reversal, the register of an MSB-first CRC with polynomial
//!   0x04C11DB7 fed the data LSB first (Linux `ether_crc`, QEMU `net_crc32`).
//!
//! The Cadence GEM folds the address with XOR instead. The formulas are the ones the
//! Linux drivers named on each [`HashScheme`] variant use; the test vectors below them
//! were checked against those formulas and, for the LAN9118, against QEMU's model.
//!
//! Every bin of every scheme holds exactly 2^17 of the 2^23 MACs IPv4 groups map to
//! (the bin index is an affine function of the 23 free address bits, of rank 6; a test
//! checks it), which is what [`Program::ipv4_macs_passing`](super::Program::ipv4_macs_passing)
//! counts on.

use crate::addr::MacAddr;

/// The reflected CRC-32 polynomial (IEEE 802.3), bit-reversed form of 0x04C11DB7.
const POLY_REFLECTED: u32 = 0xEDB8_8320;

/// One step of the reflected CRC for each value of a nibble, two look-ups per octet: a
/// 16-entry table for code size (docs/BENCHMARKS.md, "Code size").
const CRC_NIBBLE: [u32; 16] = crc_nibble_table();

const fn crc_nibble_table() -> [u32; 16] {
    let mut table = [0u32; 16];
    let mut i = 0;
    while i < 16 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 4 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// The reflected CRC register `crc` after `data`.
#[inline]
const fn crc_update(mut crc: u32, data: &[u8]) -> u32 {
    let mut i = 0;
    while i < data.len() {
        crc ^= data[i] as u32;
        crc = (crc >> 4) ^ CRC_NIBBLE[(crc & 0xf) as usize];
        crc = (crc >> 4) ^ CRC_NIBBLE[(crc & 0xf) as usize];
        i += 1;
    }
    crc
}

/// The register after 01:00:5e, the first half of every IPv4 multicast MAC: hashing
/// one of those takes the three octets after it only.
const IPV4_MULTICAST_PREFIX_CRC: u32 = crc_update(0xFFFF_FFFF, &[0x01, 0x00, 0x5e]);

/// `REV6[x]` is the 6-bit value `x` with its bits in reverse order.
const REV6: [u8; 64] = rev6_table();

const fn rev6_table() -> [u8; 64] {
    let mut table = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        table[i] = ((i as u32).reverse_bits() >> 26) as u8;
        i += 1;
    }
    table
}

/// The reflected CRC-32 register after `data`, starting from 0xFFFF_FFFF, without the
/// final complement: Linux's `ether_crc_le(len, data)` and QEMU's `net_crc32_le`.
#[inline]
pub const fn crc32_le(data: &[u8]) -> u32 {
    crc_update(0xFFFF_FFFF, data)
}

/// The Ethernet CRC-32 of `data` (the frame check sequence value, `zlib.crc32`):
/// the complement of [`crc32_le`].
pub const fn crc32(data: &[u8]) -> u32 {
    !crc32_le(data)
}

/// The MSB-first CRC-32 register after `data` (polynomial 0x04C11DB7, initial value
/// 0xFFFF_FFFF, data bits fed least significant first, no final complement): Linux's
/// `ether_crc(len, data)` and QEMU's `net_crc32`. It is the bit reversal of
/// [`crc32_le`].
pub const fn crc32_be(data: &[u8]) -> u32 {
    crc32_le(data).reverse_bits()
}

/// Where a hash bin's bit lives: bit `bit` of the chip's hash register number
/// `register`, counted the way the chip's documentation counts them (see
/// [`HashScheme::register_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BitLocation {
    /// Which hash register, from 0.
    pub register: u8,
    /// Which bit of that register, from 0 (the least significant).
    pub bit: u8,
}

/// A MAC family's multicast hash: how a destination address picks one of 64 bins and
/// where each bin's bit is in the chip's registers.
///
/// Chips that share a hash share a variant: pick the one that names your chip, or its
/// MAC IP block. docs/PORTING.md explains how to add one, with its test vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HashScheme {
    /// Synopsys DesignWare MAC: the STM32 F4/F7 ETH (DWMAC 3.x, MACHTLR/MACHTHR) and the
    /// STM32 H7 ETH (DWC EQOS, MACHT0R/MACHT1R). Bin = the top six bits of the
    /// bit-reversed Ethernet CRC (Linux stmmac `dwmac1000_set_filter`,
    /// `dwmac4_set_filter`).
    Dwmac,
    /// Microchip ENC28J60: bin = bits 28:23 of the MSB-first CRC; the bit is in
    /// EHT0–EHT7 (datasheet DS39662 §8.4, Microchip TCP/IP stack
    /// `SetRXHashTableEntry`).
    Enc28j60,
    /// SMSC/Microchip LAN9118, LAN9220, LAN9250: bin = the top six bits of the MSB-first
    /// CRC; HASHL holds bins 0–31, HASHH bins 32–63 (Linux `smsc911x_hash`, QEMU
    /// `lan9118_filter`).
    Lan9118,
    /// Microchip KSZ8851SNL: the LAN9118's bin, in four 16-bit MAHTR registers
    /// (Linux `ks8851_set_rx_mode`).
    Ksz8851,
    /// NXP ENET / FEC (Kinetis, i.MX RT): bin = the top six bits of the reflected CRC
    /// register; GALR holds bins 0–31, GAUR bins 32–63 (Linux `fec`, MCUX
    /// `ENET_AddMulticastGroup`). The chip has no pass-all-multicast bit.
    NxpEnet,
    /// Cadence GEM (Zynq) and Microchip GMAC (SAM E70, SAMA5): bin bit j = XOR of
    /// address bits j, j+6, … j+42, address bit n being bit n%8 of octet n/8; HRB holds
    /// bins 0–31, HRT bins 32–63 (Linux macb `hash_get_index`). No pass-all bit.
    CadenceGem,
    /// Davicom DM9000: bin = the low six bits of the reflected CRC register, in
    /// MAR0–MAR7 (Linux `dm9000_hash_table`). The chip needs bin 63 set to receive
    /// broadcast, so [`HashScheme::required_bins`] includes it.
    Dm9000,
    /// SMSC LAN91C111: the same bin as the LAN9118 (Linux smc91x swaps the bits of
    /// `ether_crc_le & 0x3f` into exactly that place), in MT0–MT7.
    Lan91c111,
    /// Aspeed FTGMAC100: bin = bits 7:2 of the reflected CRC register, complemented;
    /// MAHT0 holds bins 0–31, MAHT1 bins 32–63 (QEMU `ftgmac100`).
    Ftgmac100,
}

impl HashScheme {
    /// Every scheme, in declaration order.
    pub const ALL: [HashScheme; 9] = [
        HashScheme::Dwmac,
        HashScheme::Enc28j60,
        HashScheme::Lan9118,
        HashScheme::Ksz8851,
        HashScheme::NxpEnet,
        HashScheme::CadenceGem,
        HashScheme::Dm9000,
        HashScheme::Lan91c111,
        HashScheme::Ftgmac100,
    ];

    /// The bin (0..64) the chip looks up for destination `mac`.
    ///
    /// One CRC by nibbles, started after the 01:00:5e prefix for IPv4 multicast MACs
    /// (six look-ups; twelve for other MACs) and, where the scheme takes bits of the
    /// MSB-first form, one look-up in a 64-entry bit-reversal table instead of a 32-bit
    /// reversal: the top bits of [`crc32_be`] are the bottom bits of [`crc32_le`],
    /// reversed.
    #[inline]
    pub const fn bin(self, mac: MacAddr) -> u8 {
        let m = mac.0;
        if let HashScheme::CadenceGem = self {
            // Fold the 48 address bits, octet 0 lowest, into six: XOR of the eight 6-bit
            // chunks.
            let mut x = (m[0] as u64)
                | (m[1] as u64) << 8
                | (m[2] as u64) << 16
                | (m[3] as u64) << 24
                | (m[4] as u64) << 32
                | (m[5] as u64) << 40;
            x ^= x >> 24;
            x ^= x >> 12;
            x ^= x >> 6;
            return (x & 0x3f) as u8;
        }
        let le = match &m {
            [0x01, 0x00, 0x5e, rest @ ..] => crc_update(IPV4_MULTICAST_PREFIX_CRC, rest),
            _ => crc32_le(&m),
        };
        match self {
            // BE >> 26 = bits 31:26 of BE = bits 0..5 of LE, reversed.
            HashScheme::Lan9118 | HashScheme::Ksz8851 | HashScheme::Lan91c111 => REV6[(le & 0x3f) as usize],
            // bitrev32(CRC) >> 26 = !BE >> 26: the complement of the above.
            HashScheme::Dwmac => REV6[(le & 0x3f) as usize] ^ 0x3f,
            // (BE >> 23) & 0x3f = bits 28:23 of BE = bits 3..8 of LE, reversed.
            HashScheme::Enc28j60 => REV6[((le >> 3) & 0x3f) as usize],
            HashScheme::NxpEnet => (le >> 26) as u8,
            HashScheme::Dm9000 => (le & 0x3f) as u8,
            HashScheme::Ftgmac100 => (!(le >> 2) & 0x3f) as u8,
            HashScheme::CadenceGem => 0,
        }
    }

    /// Where bin `bin` (taken modulo 64) lives in the chip's hash registers.
    pub const fn location(self, bin: u8) -> BitLocation {
        let bin = bin & 0x3f;
        let width = self.register_width();
        BitLocation { register: bin / width, bit: bin % width }
    }

    /// How many hash registers the chip has (64 bins / [`register_width`](Self::register_width)).
    pub const fn registers(self) -> u8 {
        64 / self.register_width()
    }

    /// How many bins one hash register holds: 32, 16 (KSZ8851) or 8 (the byte-wide
    /// chips).
    pub const fn register_width(self) -> u8 {
        match self {
            HashScheme::Dwmac
            | HashScheme::Lan9118
            | HashScheme::NxpEnet
            | HashScheme::CadenceGem
            | HashScheme::Ftgmac100 => 32,
            HashScheme::Ksz8851 => 16,
            HashScheme::Enc28j60 | HashScheme::Dm9000 | HashScheme::Lan91c111 => 8,
        }
    }

    /// The name the chip's documentation gives hash register `register`, or `"?"` past
    /// the last one.
    pub const fn register_name(self, register: u8) -> &'static str {
        const DWMAC: [&str; 2] = ["MACHTLR/MACHT0R", "MACHTHR/MACHT1R"];
        const EHT: [&str; 8] = ["EHT0", "EHT1", "EHT2", "EHT3", "EHT4", "EHT5", "EHT6", "EHT7"];
        const LAN9118: [&str; 2] = ["HASHL", "HASHH"];
        const MAHTR: [&str; 4] = ["MAHTR0", "MAHTR1", "MAHTR2", "MAHTR3"];
        const ENET: [&str; 2] = ["GALR", "GAUR"];
        const GEM: [&str; 2] = ["HRB", "HRT"];
        const MAR: [&str; 8] = ["MAR0", "MAR1", "MAR2", "MAR3", "MAR4", "MAR5", "MAR6", "MAR7"];
        const MT: [&str; 8] = ["MT0", "MT1", "MT2", "MT3", "MT4", "MT5", "MT6", "MT7"];
        const MAHT: [&str; 2] = ["MAHT0", "MAHT1"];
        let names: &[&str] = match self {
            HashScheme::Dwmac => &DWMAC,
            HashScheme::Enc28j60 => &EHT,
            HashScheme::Lan9118 => &LAN9118,
            HashScheme::Ksz8851 => &MAHTR,
            HashScheme::NxpEnet => &ENET,
            HashScheme::CadenceGem => &GEM,
            HashScheme::Dm9000 => &MAR,
            HashScheme::Lan91c111 => &MT,
            HashScheme::Ftgmac100 => &MAHT,
        };
        if (register as usize) < names.len() { names[register as usize] } else { "?" }
    }

    /// The value of hash register `register` for a 64-bin bitmap (bit `b` of `bins` set
    /// when bin `b` is), built bin by bin through [`location`](Self::location). Zero
    /// past the last register.
    pub const fn register_value(self, bins: u64, register: u8) -> u32 {
        let mut value = 0u32;
        // One constant shift at a time, for code size (docs/BENCHMARKS.md, "Code size").
        let mut rest = bins;
        let mut bin = 0u8;
        while bin < 64 {
            if rest & 1 != 0 {
                let at = self.location(bin);
                if at.register == register {
                    value |= 1 << at.bit;
                }
            }
            rest >>= 1;
            bin += 1;
        }
        value
    }

    /// Bins the chip needs set whatever the groups: bin 63 on the DM9000, which is where
    /// it looks broadcast up. Zero for the others.
    pub const fn required_bins(self) -> u64 {
        match self {
            HashScheme::Dm9000 => 1 << 63,
            _ => 0,
        }
    }

    /// A short name for logs and tools.
    pub const fn name(self) -> &'static str {
        match self {
            HashScheme::Dwmac => "DWMAC (STM32 ETH)",
            HashScheme::Enc28j60 => "ENC28J60",
            HashScheme::Lan9118 => "LAN9118",
            HashScheme::Ksz8851 => "KSZ8851",
            HashScheme::NxpEnet => "NXP ENET/FEC",
            HashScheme::CadenceGem => "Cadence GEM/GMAC",
            HashScheme::Dm9000 => "DM9000",
            HashScheme::Lan91c111 => "LAN91C111",
            HashScheme::Ftgmac100 => "FTGMAC100",
        }
    }
}

impl core::fmt::Display for HashScheme {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn mac(m: [u8; 6]) -> MacAddr {
        MacAddr(m)
    }

    /// One row of the reference test-vector table: MAC, zlib CRC, LE, BE, and the bins of
    /// DWMAC, LAN9118/KSZ8851, ENC28J60, ENET/FEC, DM9000, GEM/GMAC.
    struct Row {
        mac: [u8; 6],
        crc: u32,
        le: u32,
        be: u32,
        dwmac: u8,
        lan9118: u8,
        enc28j60: u8,
        enet: u8,
        dm9000: u8,
        gem: u8,
    }

    /// The reference table "Test vectors", row by row (224.0.0.1, 224.0.0.251,
    /// 239.255.255.250, 224.0.0.2, 224.0.0.22).
    const ROWS: [Row; 5] = [
        Row {
            mac: [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01],
            crc: 0x264b_3a01,
            le: 0xd9b4_c5fe,
            be: 0x7fa3_2d9b,
            dwmac: 32,
            lan9118: 31,
            enc28j60: 63,
            enet: 54,
            dm9000: 62,
            gem: 38,
        },
        Row {
            mac: [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb],
            crc: 0x7b23_2103,
            le: 0x84dc_defc,
            be: 0x3f7b_3b21,
            dwmac: 48,
            lan9118: 15,
            enc28j60: 62,
            enet: 33,
            dm9000: 60,
            gem: 56,
        },
        Row {
            mac: [0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa],
            crc: 0xc0ad_c38a,
            le: 0x3f52_3c75,
            be: 0xae3c_4afc,
            dwmac: 20,
            lan9118: 43,
            enc28j60: 28,
            enet: 15,
            dm9000: 53,
            gem: 37,
        },
        Row {
            mac: [0x01, 0x00, 0x5e, 0x00, 0x00, 0x02],
            crc: 0xbf42_6bbb,
            le: 0x40bd_9444,
            be: 0x2229_bd02,
            dwmac: 55,
            lan9118: 8,
            enc28j60: 4,
            enet: 16,
            dm9000: 4,
            gem: 22,
        },
        Row {
            mac: [0x01, 0x00, 0x5e, 0x00, 0x00, 0x16],
            crc: 0xa598_bfc6,
            le: 0x5a67_4039,
            be: 0x9c02_e65a,
            dwmac: 24,
            lan9118: 39,
            enc28j60: 56,
            enet: 22,
            dm9000: 57,
            gem: 19,
        },
    ];

    #[test]
    fn crc_forms_match_the_reference_table() {
        for row in &ROWS {
            assert_eq!(crc32(&row.mac), row.crc, "CRC {:02x?}", row.mac);
            assert_eq!(crc32_le(&row.mac), row.le, "LE {:02x?}", row.mac);
            assert_eq!(crc32_be(&row.mac), row.be, "BE {:02x?}", row.mac);
        }
    }

    #[test]
    fn crc32_of_the_standard_check_string() {
        // The CRC-32 catalogue's check value for "123456789".
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32_le(b""), 0xffff_ffff);
    }

    #[test]
    fn bins_match_the_reference_table_for_every_column() {
        for row in &ROWS {
            let m = mac(row.mac);
            assert_eq!(HashScheme::Dwmac.bin(m), row.dwmac, "DWMAC {m}");
            assert_eq!(HashScheme::Lan9118.bin(m), row.lan9118, "LAN9118 {m}");
            assert_eq!(HashScheme::Ksz8851.bin(m), row.lan9118, "KSZ8851 {m}");
            assert_eq!(HashScheme::Enc28j60.bin(m), row.enc28j60, "ENC28J60 {m}");
            assert_eq!(HashScheme::NxpEnet.bin(m), row.enet, "ENET {m}");
            assert_eq!(HashScheme::Dm9000.bin(m), row.dm9000, "DM9000 {m}");
            assert_eq!(HashScheme::CadenceGem.bin(m), row.gem, "GEM {m}");
            // "same bit as BE >> 26" for the LAN91C111.
            assert_eq!(HashScheme::Lan91c111.bin(m), row.lan9118, "LAN91C111 {m}");
        }
    }

    #[test]
    fn qemu_lan9118_observations() {
        // 239.1.2.3 -> bin 57 (HASHH bit 25); 01:00:5e:02:00:fd shares it; 239.9.9.1 -> 7.
        let a = mac([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
        let b = mac([0x01, 0x00, 0x5e, 0x02, 0x00, 0xfd]);
        let c = mac([0x01, 0x00, 0x5e, 0x09, 0x09, 0x01]);
        assert_eq!(HashScheme::Lan9118.bin(a), 57);
        assert_eq!(HashScheme::Lan9118.location(57), BitLocation { register: 1, bit: 25 });
        assert_eq!(HashScheme::Lan9118.register_name(1), "HASHH");
        assert_eq!(HashScheme::Lan9118.bin(b), 57);
        assert_eq!(HashScheme::Lan9118.bin(c), 7);
        assert_eq!(HashScheme::Lan9118.location(7), BitLocation { register: 0, bit: 7 });
    }

    #[test]
    fn bin_functions_are_usable_in_const_context() {
        const BIN: u8 = HashScheme::Lan9118.bin(MacAddr([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]));
        const CRC: u32 = crc32(&[0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
        assert_eq!(BIN, 57);
        assert_eq!(CRC, 0x264b_3a01);
    }

    /// Where each chip's documentation (the reference table's "where the bit lives")
    /// puts bin `b`, written out per chip rather than through `register_width`.
    fn documented_location(scheme: HashScheme, b: u8) -> (u8, u8) {
        match scheme {
            // bin>>5 selects the register, bit bin&31.
            HashScheme::Dwmac | HashScheme::Lan9118 => (b >> 5, b & 31),
            // bin>31 ? GAUR : GALR; HRB 0-31 / HRT 32-63; MAHT[bin/32].
            HashScheme::NxpEnet | HashScheme::CadenceGem | HashScheme::Ftgmac100 => (u8::from(b > 31), b % 32),
            // MAHTR[bin>>4], bit bin&15.
            HashScheme::Ksz8851 => (b >> 4, b & 15),
            // EHT[bin>>3] / MAR[bin>>3], bit bin&7.
            HashScheme::Enc28j60 | HashScheme::Dm9000 | HashScheme::Lan91c111 => (b >> 3, b & 7),
        }
    }

    #[test]
    fn locations_match_each_chips_register_layout() {
        for scheme in HashScheme::ALL {
            for b in 0..64u8 {
                let at = scheme.location(b);
                assert_eq!((at.register, at.bit), documented_location(scheme, b), "{scheme} bin {b}");
                assert!(at.register < scheme.registers());
                assert_ne!(scheme.register_name(at.register), "?");
            }
            // Out-of-range bins wrap instead of panicking.
            assert_eq!(scheme.location(64), scheme.location(0));
            assert_eq!(scheme.location(255), scheme.location(63));
            assert_eq!(scheme.register_name(scheme.registers()), "?");
        }
    }

    /// Linux smc91x: `position = ether_crc_le & 0x3f`, then
    /// `multicast_table[invert3[position & 7]] |= 1 << invert3[(position >> 3) & 7]`.
    #[test]
    fn lan91c111_matches_the_smc91x_bit_swap() {
        const INVERT3: [u8; 8] = [0, 4, 2, 6, 1, 5, 3, 7];
        let mut rng = XorShift(0x91c1_1100);
        for _ in 0..if cfg!(miri) { 20 } else { 2000 } {
            let m = rng.mac();
            let position = (bitwise_crc32_le(&m.0) & 0x3f) as u8;
            let register = INVERT3[usize::from(position & 7)];
            let bit = INVERT3[usize::from((position >> 3) & 7)];
            let at = HashScheme::Lan91c111.location(HashScheme::Lan91c111.bin(m));
            assert_eq!((at.register, at.bit), (register, bit), "{m}");
        }
    }

    #[test]
    fn register_values_gather_the_bins_of_each_register() {
        // Bins 0, 7, 31, 32, 57, 63.
        let bins: u64 = 1 | 1 << 7 | 1 << 31 | 1 << 32 | 1 << 57 | 1 << 63;
        let lan = HashScheme::Lan9118;
        assert_eq!(lan.register_value(bins, 0), 0x8000_0081);
        assert_eq!(lan.register_value(bins, 1), 0x8200_0001);
        assert_eq!(lan.register_value(bins, 2), 0);
        let enc = HashScheme::Enc28j60;
        let eht: Vec<u32> = (0..8).map(|r| enc.register_value(bins, r)).collect();
        assert_eq!(eht, [0x81, 0, 0, 0x80, 0x01, 0, 0, 0x82]);
        let ksz = HashScheme::Ksz8851;
        let mahtr: Vec<u32> = (0..4).map(|r| ksz.register_value(bins, r)).collect();
        assert_eq!(mahtr, [0x0081, 0x8000, 0x0001, 0x8200]);
    }

    #[test]
    fn only_the_dm9000_requires_a_bin() {
        for scheme in HashScheme::ALL {
            let expected = if scheme == HashScheme::Dm9000 { 1u64 << 63 } else { 0 };
            assert_eq!(scheme.required_bins(), expected, "{scheme}");
        }
    }

    /// A small xorshift64 generator: reproducible pseudo-random MACs for the tests.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn mac(&mut self) -> MacAddr {
            let b = self.next().to_le_bytes();
            MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]])
        }
    }

    /// The reflected CRC register without final complement, one bit at a time, straight
    /// from the definition: independent of the table the code under test uses.
    fn bitwise_crc32_le(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &byte in data {
            for i in 0..8 {
                let bit = u32::from(byte >> i) & 1;
                let top = crc & 1;
                crc >>= 1;
                if top ^ bit != 0 {
                    crc ^= 0xedb8_8320;
                }
            }
        }
        crc
    }

    /// The MSB-first register with polynomial 0x04C11DB7 fed LSB first, as Linux's
    /// `ether_crc` and QEMU's `net_crc32` compute it: a second, unreflected definition.
    fn bitwise_crc32_be(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &byte in data {
            for i in 0..8 {
                let bit = u32::from(byte >> i) & 1;
                let carry = (crc >> 31) ^ bit;
                crc <<= 1;
                if carry != 0 {
                    crc ^= 0x04c1_1db7;
                }
            }
        }
        crc
    }

    /// Each scheme's bin written from the reference formulas over the bit-by-bit CRCs.
    fn reference_bin(scheme: HashScheme, m: &[u8; 6]) -> u8 {
        let le = bitwise_crc32_le(m);
        let be = bitwise_crc32_be(m);
        let crc = !le;
        let index = match scheme {
            HashScheme::Dwmac => crc.reverse_bits() >> 26,
            HashScheme::Enc28j60 => (be >> 23) & 0x3f,
            HashScheme::Lan9118 | HashScheme::Ksz8851 | HashScheme::Lan91c111 => be >> 26,
            HashScheme::NxpEnet => le >> 26,
            HashScheme::Dm9000 => le & 0x3f,
            HashScheme::Ftgmac100 => !(le >> 2) & 0x3f,
            HashScheme::CadenceGem => {
                let mut index = 0;
                for j in 0..6 {
                    let mut bit = 0;
                    for i in 0..8 {
                        let n = i * 6 + j;
                        bit ^= u32::from(m[n / 8] >> (n % 8)) & 1;
                    }
                    index |= bit << j;
                }
                index
            }
        };
        index as u8
    }

    #[test]
    fn bitwise_reference_agrees_with_the_table_rows() {
        // The slow reference itself against the reference table, so the differential test
        // below compares against something known good.
        for row in &ROWS {
            assert_eq!(bitwise_crc32_le(&row.mac), row.le);
            assert_eq!(bitwise_crc32_be(&row.mac), row.be);
            assert_eq!(reference_bin(HashScheme::Dwmac, &row.mac), row.dwmac);
            assert_eq!(reference_bin(HashScheme::CadenceGem, &row.mac), row.gem);
        }
    }

    #[test]
    fn table_driven_crcs_equal_the_bitwise_definition_on_random_macs() {
        let rounds = if cfg!(miri) { 10 } else { 5000 };
        let mut rng = XorShift(0x5eed_f11e_0000_0001);
        for _ in 0..rounds {
            let m = rng.mac();
            let le = bitwise_crc32_le(&m.0);
            assert_eq!(crc32_le(&m.0), le, "{m}");
            assert_eq!(crc32(&m.0), !le, "{m}");
            assert_eq!(crc32_be(&m.0), bitwise_crc32_be(&m.0), "{m}");
            // Random MACs, and the same low octets behind 01:00:5e, which `bin` hashes
            // from the register after that prefix.
            let [_, _, _, d, e, f] = m.0;
            let ipv4 = MacAddr([0x01, 0x00, 0x5e, d & 0x7f, e, f]);
            for scheme in HashScheme::ALL {
                assert_eq!(scheme.bin(m), reference_bin(scheme, &m.0), "{scheme} {m}");
                assert_eq!(scheme.bin(ipv4), reference_bin(scheme, &ipv4.0), "{scheme} {ipv4}");
            }
        }
        // Variable lengths too, for the public CRC functions.
        let mut buf = [0u8; 64];
        for len in 0..if cfg!(miri) { 8 } else { buf.len() } {
            let b = rng.next().to_le_bytes();
            buf[len] = b[0];
            assert_eq!(crc32_le(&buf[..len]), bitwise_crc32_le(&buf[..len]), "len {len}");
        }
    }

    #[test]
    fn every_bin_holds_one_64th_of_the_ipv4_multicast_macs() {
        // The bin index is affine over GF(2) in the 23 free bits of 01:00:5e:xx:xx:xx
        // (a CRC is linear in its input once the initial value is fixed; the GEM fold is
        // linear). If the 23 columns span all six index bits, every bin is hit by exactly
        // 2^23 / 64 MACs.
        let base = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x00];
        for scheme in HashScheme::ALL {
            let b0 = reference_bin(scheme, &base);
            let mut columns: Vec<u8> = (0..23)
                .map(|k| {
                    let mut m = base;
                    let v = 1u32 << k;
                    m[3] ^= (v >> 16) as u8;
                    m[4] ^= (v >> 8) as u8;
                    m[5] ^= v as u8;
                    reference_bin(scheme, &m) ^ b0
                })
                .collect();
            // Affinity check on a few random points: bin(a ^ b ^ base) = bin(a) ^ bin(b) ^ bin(base).
            let mut rng = XorShift(0xaff1_9e00 + scheme as u64);
            for _ in 0..if cfg!(miri) { 5 } else { 200 } {
                let (x, y) = (rng.next() as u32 & 0x7f_ffff, rng.next() as u32 & 0x7f_ffff);
                let at = |v: u32| {
                    let mut m = base;
                    m[3] = (v >> 16) as u8;
                    m[4] = (v >> 8) as u8;
                    m[5] = v as u8;
                    reference_bin(scheme, &m)
                };
                assert_eq!(at(x ^ y), at(x) ^ at(y) ^ b0, "{scheme} is not affine");
            }
            // Rank over GF(2).
            let mut rank = 0;
            for bit in 0..6 {
                if let Some(p) = columns.iter().position(|c| c >> bit & 1 != 0) {
                    let pivot = columns.swap_remove(p);
                    for c in columns.iter_mut() {
                        if *c >> bit & 1 != 0 {
                            *c ^= pivot;
                        }
                    }
                    rank += 1;
                }
            }
            assert_eq!(rank, 6, "{scheme}");
        }
    }
}
