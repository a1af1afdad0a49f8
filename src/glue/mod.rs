//! Glue between `mcast` and network stacks.
//!
//! - [`smoltcp`] (feature `smoltcp`): a `phy::Device` wrapper that runs the RFC 2236
//!   [`Host`](crate::membership::Host) and the NIC filter under a smoltcp 0.14
//!   `Interface`, in place of smoltcp's own IGMP.

#[cfg(feature = "smoltcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smoltcp")))]
pub mod smoltcp;
