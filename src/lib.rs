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
//!   chips.
//! - `glue::smoltcp` (feature `smoltcp`): runs the host and the NIC filter under a
//!   smoltcp `Interface`, as a `phy::Device` wrapper.
//! - `socket` (feature `socket`): multicast sockets with one meaning on Linux and
//!   Windows, and on Linux an IGMP monitor and what an IGMP querier needs of a link.
//! - `sim` (feature `sim`): a deterministic simulated LAN of hosts and queriers.
//!
//! Every parser checks lengths and checksums and returns a [`wire::Error`] that names
//! what was wrong; no input makes it panic.
//!
//! `unsafe` is denied crate-wide. It is allowed in two modules only, each block with its
//! safety argument: the volatile register access of the memory-mapped drivers
//! (`drivers::mmio`, checked by miri in CI) and the system calls of `socket` that
//! `socket2` lacks (`socket::linux`, `socket::windows`).
//!
//! # Features
//!
#![doc = document_features::document_features!()]
//!
//! # Example
//!
//! Build the IGMPv2 report a host sends when it joins 239.1.2.3, then parse it back.
//!
//! ```
//! use core::net::Ipv4Addr;
//! use mcast::wire::{FrameRepr, frame, igmp::Message};
//! use mcast::{GroupAddr, MacAddr};
//!
//! let group: GroupAddr = "239.1.2.3".parse()?;
//! let report = Message::V2Report { group };
//! let src_mac: MacAddr = "22:44:6f:0d:33:e4".parse()?;
//!
//! let mut buf = [0u8; 64];
//! let len = frame::build(&report, src_mac, Ipv4Addr::new(10, 99, 0, 1), &mut buf)?;
//!
//! let parsed = FrameRepr::parse(&buf[..len])?;
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

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod addr;
#[cfg(any(feature = "enc28j60", feature = "lan9118", feature = "dwmac"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "enc28j60", feature = "lan9118", feature = "dwmac"))))]
pub mod drivers;
pub mod filter;
#[cfg(any(feature = "smoltcp", feature = "embassy"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "smoltcp", feature = "embassy"))))]
pub mod glue;
pub mod membership;
#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
pub mod sim;
#[cfg(feature = "socket")]
#[cfg_attr(docsrs, doc(cfg(feature = "socket")))]
pub mod socket;
pub mod wire;

pub use addr::{AddrError, GroupAddr, MacAddr, Scope};

/// The README's example, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
