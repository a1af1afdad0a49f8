//! IPv4 multicast membership for microcontrollers and desktops.
//!
//! `mcast` is a `no_std` crate, without allocation or `unsafe`, that gets IPv4
//! multicast right from the wire up:
//!
//! - [`addr`]: [`GroupAddr`] (an address proven to be in 224.0.0.0/4), [`MacAddr`],
//!   the group ↔ MAC mapping of RFC 1112, address scopes and well-known groups.
//! - [`wire`]: zero-copy views and typed messages for IGMPv1, IGMPv2 and the IGMPv3
//!   messages a v2 host must understand, IPv4 with the Router Alert option, Ethernet II,
//!   and whole frames built and parsed the way the RFCs prescribe.
//!
//! Every parser checks lengths and checksums and returns a [`wire::Error`] that names
//! what was wrong; no input makes it panic.
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `defmt` | `defmt::Format` on every public type |
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
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod addr;
pub mod membership;
#[cfg(feature = "sim")]
pub mod sim;
pub mod wire;

pub use addr::{AddrError, GroupAddr, MacAddr, Scope};

/// The README's example, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
