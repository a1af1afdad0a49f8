//! The embassy-net 0.9 helpers (feature `embassy-net`): joins and leaves that also
//! update the stack, and the task that follows the stack's addresses.

use core::net::Ipv4Addr;

use embassy_net::Stack;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_time::{Duration, Timer};

use super::{Error, McastHandle};
use crate::membership::joinable;

/// How often [`McastHandle::follow`] looks at the stack's configuration while it is up.
const FOLLOW_PERIOD: Duration = Duration::from_secs(1);

impl<const N: usize, M: RawMutex> McastHandle<N, M> {
    /// Joins `group` in the stack (which then accepts its datagrams) and through the
    /// handle ([`join`](Self::join)), in one call. Returns whether membership changed.
    /// Also gives the Host the stack's IPv4 address, if it has one.
    ///
    /// Errors change nothing: those of [`join`](Self::join), and [`Error::StackFull`].
    #[cfg_attr(docsrs, doc(cfg(feature = "embassy-net")))]
    pub fn join_with(&self, stack: Stack<'_>, group: Ipv4Addr) -> Result<bool, Error> {
        let group = joinable(group)?;
        self.follow_once(stack);
        let changed = self.join_for_stack(group)?;
        if stack.join_multicast_group(group.to_ipv4()).is_err() {
            let _ = self.leave_for_stack(group);
            return Err(Error::StackFull);
        }
        Ok(changed)
    }

    /// Leaves `group` once through the handle ([`leave`](Self::leave)); with the last
    /// leave made through [`join_with`](Self::join_with), the stack leaves it too.
    /// Returns whether membership ended.
    #[cfg_attr(docsrs, doc(cfg(feature = "embassy-net")))]
    pub fn leave_with(&self, stack: Stack<'_>, group: Ipv4Addr) -> Result<bool, Error> {
        let group = joinable(group)?;
        let changed = self.leave_for_stack(group)?;
        if changed {
            // Only fails for an address that is not multicast.
            let _ = stack.leave_multicast_group(group.to_ipv4());
        }
        Ok(changed)
    }

    /// Keeps the Host's IPv4 address equal to the stack's (`stack.config_v4()`). Never
    /// returns: run it in a task of its own beside the stack's runner. It looks at the
    /// configuration when it goes up or down and every second while it is up.
    #[cfg_attr(docsrs, doc(cfg(feature = "embassy-net")))]
    pub async fn follow(&self, stack: Stack<'_>) -> ! {
        loop {
            stack.wait_config_up().await;
            self.follow_once(stack);
            let down = stack.wait_config_down();
            let tick = Timer::after(FOLLOW_PERIOD);
            embassy_futures_select(down, tick).await;
            if !stack.is_config_up() {
                self.follow_once(stack);
            }
        }
    }

    /// Copies the stack's configuration into the handle once.
    fn follow_once(&self, stack: Stack<'_>) {
        let v4 = stack.config_v4().map(|c| (c.address.address(), c.address.prefix_len()));
        if v4 != self.address() {
            self.set_address(v4);
        }
    }
}

/// Waits for the first of two futures.
async fn embassy_futures_select(a: impl core::future::Future<Output = ()>, b: impl core::future::Future<Output = ()>) {
    let mut a = core::pin::pin!(a);
    let mut b = core::pin::pin!(b);
    core::future::poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() || b.as_mut().poll(cx).is_ready() {
            core::task::Poll::Ready(())
        } else {
            core::task::Poll::Pending
        }
    })
    .await
}
