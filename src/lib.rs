//! IPv4 multicast membership for microcontrollers and desktops.
//!
//! `mcast` is a `no_std` crate without allocation that gets IPv4 multicast right from
//! the wire up to the NIC filter:
//!
//! - [`addr`]: [`GroupAddr`] (an address proven to be in 224.0.0.0/4), [`MacAddr`],
//!   the group ↔ MAC mapping of RFC 1112, address scopes and well-known groups.
//! - [`wire`]: zero-copy views and typed messages for IGMPv1, IGMPv2 and the IGMPv3
//!   messages a v2 host must understand, IPv4 with the Router Alert option, Ethernet II,
//!   and whole frames built and parsed the way the RFCs prescribe.
//! - [`membership`]: sans-IO state machines driven by the caller's clock: the RFC 2236
//!   [`Host`](membership::Host) (with IGMPv1 compatibility) and
//!   [`Querier`](membership::Querier).
//! - [`filter`]: the hash schemes of common Ethernet MACs, a reference-counted
//!   [`FilterSet`](filter::FilterSet) that derives what the NIC should accept, and the
//!   [`MulticastFilter`](filter::MulticastFilter) driver trait.
//! - `drivers` (features `enc28j60`, `lan9118`, `dwmac`): `MulticastFilter` for real
//!   chips. `unsafe` is denied crate-wide; `drivers::mmio`, the volatile register access
//!   of the memory-mapped ones, and the system calls of `hosted` (feature `std`) are the
//!   only places it is allowed.
//! - `glue::smoltcp` (feature `smoltcp`): runs the host and the NIC filter under a
//!   smoltcp `Interface`, as a `phy::Device` wrapper.
//!
//! Every parser checks lengths and checksums and returns a [`wire::Error`] that names
//! what was wrong; no input makes it panic.
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `defmt` | `defmt::Format` on every public type |
//! | `sim` | `sim`: a deterministic simulated LAN of hosts and queriers (needs `alloc`) |
//! | `enc28j60` | `drivers::enc28j60`: the ENC28J60 multicast filter over `embedded-hal` 1.0 SPI |
//! | `lan9118` | `drivers::lan9118`: the LAN9118/LAN9220 multicast filter, and `drivers::mmio` (volatile register access) |
//! | `dwmac` | `drivers::dwmac`: the STM32 F4/F7/H7 Ethernet MAC multicast filter, and `drivers::mmio` |
//! | `drivers` | all three drivers |
//! | `smoltcp` | `glue::smoltcp`: a smoltcp 0.14 `phy::Device` wrapper that runs the IGMP host and the NIC filter under an `Interface`, in place of smoltcp's own IGMP |
//! | `std` | `hosted`: multicast sockets for Linux and Windows on `socket2` (joins, TTL, interface, loopback, receive with the destination group), and on Linux an IGMP monitor |
//! | `cli` | the `mcast` command-line tool (`std` and `sim`, with `clap` and `pcap-file`) |
//!
//! # Example
//!
//! Build the IGMPv2 report a host sends when it joins 239.1.2.3, then parse it back.
//!
//! ```
//! use core::net::Ipv4Addr;
//! use mcast::wire::{frame, igmp::Message};
//! use mcast::{GroupAddr, MacAddr};
//!
//! let group: GroupAddr = "239.1.2.3".parse()?;
//! let report = Message::V2Report { group };
//! let src_mac: MacAddr = "22:44:6f:0d:33:e4".parse()?;
//!
//! let mut buf = [0u8; 64];
//! let len = frame::build(&report, src_mac, Ipv4Addr::new(10, 99, 0, 1), &mut buf)?;
//!
//! let parsed = frame::Frame::parse(&buf[..len])?;
//! assert_eq!(parsed.ethernet.dst, group.to_mac()); // 01:00:5e:01:02:03
//! assert_eq!(parsed.ipv4.dst_addr, group.to_ipv4()); // a report goes to its group
//! assert_eq!(parsed.ipv4.ttl, 1);
//! assert!(parsed.ipv4.router_alert);
//! assert_eq!(parsed.igmp, report);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "std")]
extern crate std;

pub mod addr;
#[cfg(any(feature = "enc28j60", feature = "lan9118", feature = "dwmac"))]
pub mod drivers;
pub mod filter;
#[cfg(feature = "smoltcp")]
pub mod glue;
#[cfg(feature = "std")]
pub mod hosted;
pub mod membership;
#[cfg(feature = "sim")]
pub mod sim;
pub mod wire;

pub use addr::{AddrError, GroupAddr, MacAddr, Scope};

/// The README's example, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
