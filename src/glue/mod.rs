//! Glue between `mcast` and network stacks.
//!
//! - [`smoltcp`] (feature `smoltcp`): a `phy::Device` wrapper that runs the RFC 2236
//!   [`Host`](crate::membership::Host) and the NIC filter under a smoltcp 0.14
//!   `Interface`, in place of smoltcp's own IGMP.
//! - [`embassy`] (feature `embassy`): an embassy-net-driver 0.2 `Driver` wrapper that does
//!   the same under an embassy-net stack, with a handle other tasks join and leave through.
//!
//! Both classify received frames the same way and answer to the same NIC filter trait;
//! [`NoFilter`] stands for a NIC without a multicast filter in either.

mod shared;

pub use shared::NoFilter;

#[cfg(feature = "smoltcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smoltcp")))]
pub mod smoltcp;

#[cfg(feature = "embassy")]
#[cfg_attr(docsrs, doc(cfg(feature = "embassy")))]
pub mod embassy;
