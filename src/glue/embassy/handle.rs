//! [`McastHandle`]: the state the driver and the application share, and the
//! application's side of it.

use core::cell::RefCell;
use core::net::{Ipv4Addr, Ipv6Addr};

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, RawMutex};
use embassy_sync::waitqueue::WakerRegistration;
use heapless::Vec;

use super::sniff::{self, StackIgmp};
use super::{Error, Stats};
use crate::addr::{GroupAddr, MacAddr};
use crate::filter::{Capabilities, DriverErrorKind, FilterSet, OverflowPolicy, Program};
use crate::glue::shared::{Rx, classify};
use crate::membership::{GroupInfo, Host, HostConfig, HostStats, Instant, bump, joinable};

/// How many IPv6 multicast MACs the handle keeps in the NIC filter besides the all-nodes
/// MAC: solicited-node MACs of the stack's addresses and the MACs of its MLD groups.
pub const IPV6_MACS: usize = 8;

/// The all-nodes MAC (ff02::1): always in the NIC filter, or IPv6 router and neighbour
/// advertisements never arrive.
pub const IPV6_ALL_NODES_MAC: MacAddr = MacAddr([0x33, 0x33, 0x00, 0x00, 0x00, 0x01]);

/// The state behind the handle: everything the driver and the application share.
pub(super) struct Inner<const N: usize> {
    pub(super) host: Host<N>,
    pub(super) set: FilterSet<N>,
    pub(super) stats: Stats,
    /// Groups whose membership the stack holds: learned from its own reports, or made by
    /// [`McastHandle::join_with`]. Each holds one of the group's joins in the Host.
    stack_groups: Vec<GroupAddr, N>,
    /// IPv6 multicast MACs put in the FilterSet beside the all-nodes MAC.
    ipv6_macs: Vec<MacAddr, IPV6_MACS>,
    /// The address was given through the handle: the stack's traffic does not change it.
    address_given: bool,
    /// The real driver's MAC, which the driver tells when it is made: IGMP at another
    /// unicast MAC is not ours.
    pub(super) station: MacAddr,
    /// Bumped on every change of the FilterSet's program.
    pub(super) generation: u32,
    /// The generation the NIC runs.
    pub(super) applied: Option<u32>,
    pub(super) nic_error: Option<DriverErrorKind>,
    /// The driver's task: woken when the application changes something it must act on.
    pub(super) waker: WakerRegistration,
}

/// Now, in the state machines' time.
pub(super) fn now() -> Instant {
    Instant::from_millis(embassy_time::Instant::now().as_millis())
}

impl<const N: usize> Inner<N> {
    pub(super) fn nic_in_sync(&self) -> bool {
        self.applied == Some(self.generation)
    }

    /// The program changed: the driver pushes it to the NIC.
    fn program_changed(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.waker.wake();
    }

    pub(super) fn program(&self) -> (u32, Program) {
        (self.generation, self.set.program())
    }

    /// One join more of `group` in the Host, and its MAC in the FilterSet on the first.
    fn join(&mut self, now: Instant, group: GroupAddr) -> Result<bool, Error> {
        if self.host.is_member(group) {
            return self.host.join(now, group).map_err(Error::from);
        }
        let mac_added = self.set.add_group(group)?;
        match self.host.join(now, group) {
            Ok(changed) => {
                if mac_added {
                    self.program_changed();
                }
                self.waker.wake();
                Ok(changed)
            }
            Err(e) => {
                // The group was new to the set: this removes what was added.
                let _ = self.set.remove_group(group);
                Err(e.into())
            }
        }
    }

    /// One join less; the MAC leaves the FilterSet with the last.
    fn leave(&mut self, now: Instant, group: GroupAddr) -> Result<bool, Error> {
        let changed = self.host.leave(now, group)?;
        if changed {
            // Added on the first join: removing cannot fail.
            if self.set.remove_group(group)? {
                self.program_changed();
            }
            self.waker.wake();
        }
        Ok(changed)
    }

    #[cfg(feature = "embassy-net")]
    fn joins(&self, group: GroupAddr) -> u16 {
        self.host.groups().find(|g| g.group == group).map_or(0, |g| g.joins)
    }

    /// Gives the stack's membership of `group` one join, once. Returns whether the
    /// stack's membership is new.
    fn stack_join(&mut self, now: Instant, group: GroupAddr) -> Result<bool, Error> {
        if self.stack_groups.contains(&group) {
            return Ok(false);
        }
        self.join(now, group)?;
        if self.stack_groups.push(group).is_err() {
            // As many groups as the Host holds: full only if the Host was.
            let _ = self.leave(now, group);
            return Err(crate::membership::MembershipError::TableFull.into());
        }
        Ok(true)
    }

    /// Takes the stack's join of `group` back, if it has one. Returns whether it had.
    fn stack_leave(&mut self, now: Instant, group: GroupAddr) -> Result<bool, Error> {
        let Some(i) = self.stack_groups.iter().position(|g| *g == group) else { return Ok(false) };
        self.leave(now, group)?;
        self.stack_groups.swap_remove(i);
        Ok(true)
    }

    fn add_ipv6_mac(&mut self, mac: MacAddr) -> Result<bool, Error> {
        if self.ipv6_macs.contains(&mac) || mac == IPV6_ALL_NODES_MAC {
            return Ok(false);
        }
        if self.ipv6_macs.is_full() {
            return Err(crate::filter::FilterError::Full.into());
        }
        let added = self.set.add(mac)?;
        // Checked not full above.
        let _ = self.ipv6_macs.push(mac);
        if added {
            self.program_changed();
        }
        Ok(true)
    }

    fn remove_ipv6_mac(&mut self, mac: MacAddr) -> Result<bool, Error> {
        let Some(i) = self.ipv6_macs.iter().position(|m| *m == mac) else { return Ok(false) };
        self.ipv6_macs.swap_remove(i);
        if self.set.remove(mac)? {
            self.program_changed();
        }
        Ok(true)
    }

    fn set_address(&mut self, now: Instant, address: Option<(Ipv4Addr, u8)>) {
        if address != self.host.address() {
            self.host.set_address(now, address);
            self.waker.wake();
        }
    }

    /// A received frame: what becomes of it.
    pub(super) fn receive(&mut self, now: Instant, frame: &[u8]) -> bool {
        let stats = &mut self.stats;
        let counter = match classify(&mut self.host, &self.set, self.station, now, frame) {
            Rx::Pass => return true,
            Rx::Igmp => &mut stats.rx_igmp,
            Rx::Malformed => &mut stats.rx_malformed,
            Rx::Filtered => &mut stats.rx_filtered,
            Rx::NotOurs => &mut stats.rx_not_ours,
            Rx::Tagged => &mut stats.rx_tagged,
        };
        bump(counter);
        false
    }

    /// An IGMP frame the stack tried to send (and that never leaves): learns the join or
    /// the leave it says, and the stack's address from its source.
    pub(super) fn stack_igmp(&mut self, now: Instant, frame: &[u8]) {
        bump(&mut self.stats.stack_igmp_dropped);
        let Some(igmp) = sniff::stack_igmp(frame) else { return };
        let (StackIgmp::Report { group, source } | StackIgmp::Leave { group, source }) = igmp;
        if !self.address_given && !source.is_unspecified() && self.host.address().map(|a| a.0) != Some(source) {
            // The stack only sends from the address it has; the prefix is not in the frame.
            self.set_address(now, Some((source, 32)));
        }
        let learned = match igmp {
            StackIgmp::Report { .. } => self.stack_join(now, group).map(|new| new.then_some(true)),
            StackIgmp::Leave { .. } => self.stack_leave(now, group).map(|had| had.then_some(false)),
        };
        match learned {
            Ok(Some(true)) => bump(&mut self.stats.stack_joins_learned),
            Ok(Some(false)) => bump(&mut self.stats.stack_leaves_learned),
            Ok(None) => {}
            Err(_) => bump(&mut self.stats.stack_igmp_refused),
        }
    }

    /// A non-IGMP frame the stack sends: learns the stack's IPv4 address (if not given)
    /// and the IPv6 MACs it needs.
    pub(super) fn stack_frame(&mut self, now: Instant, seen: sniff::Seen) {
        match seen {
            sniff::Seen::Ipv4Source(source) => {
                if !self.address_given && self.host.address().map(|a| a.0) != Some(source) {
                    self.set_address(now, Some((source, 32)));
                }
            }
            sniff::Seen::Ipv6Macs(macs) => {
                for mac in macs.into_iter().flatten() {
                    match self.add_ipv6_mac(mac) {
                        Ok(true) => bump(&mut self.stats.ipv6_macs_learned),
                        Ok(false) => {}
                        Err(_) => bump(&mut self.stats.ipv6_macs_refused),
                    }
                }
            }
        }
    }

    /// Whether `source` is an IPv6 source already known (its solicited-node MAC kept).
    pub(super) fn knows_ipv6_mac(&self, mac: MacAddr) -> bool {
        mac == IPV6_ALL_NODES_MAC || self.ipv6_macs.contains(&mac)
    }
}

/// What the driver and the application share: the [`Host`], the [`FilterSet`], the
/// counters, behind a blocking mutex of kind `M` ([`CriticalSectionRawMutex`] unless
/// the driver and every task that uses the handle run in one executor, where
/// `NoopRawMutex` does). Holds up to `N` groups and `N` multicast MACs.
///
/// Make it where both ends can borrow it for as long as the stack runs (a `static`,
/// with `static_cell`), hand it to [`McastDriver::new`](super::McastDriver::new), and
/// keep the reference: every method takes `&self`, from any task.
pub struct McastHandle<const N: usize, M: RawMutex = CriticalSectionRawMutex> {
    pub(super) inner: Mutex<M, RefCell<Inner<N>>>,
}

impl<const N: usize, M: RawMutex> McastHandle<N, M> {
    /// A handle for a NIC whose filter has capabilities `caps` (the driver's
    /// [`capabilities`](crate::filter::MulticastFilter::capabilities); use
    /// [`NoFilter`](crate::glue::NoFilter)'s for a NIC without one), placing MACs by the
    /// best policy it supports ([`OverflowPolicy::best_for`]). `config` and `seed` are
    /// the Host's: give each device its own seed (see the [module docs](super#the-seed)).
    ///
    /// The all-nodes MAC of IPv6 is in the FilterSet from the start.
    pub fn new(caps: Capabilities, config: HostConfig, seed: u64) -> Result<Self, Error> {
        Self::with_policy(caps, OverflowPolicy::best_for(&caps), config, seed)
    }

    /// [`new`](Self::new) with the FilterSet's overflow policy chosen: what to do once
    /// the NIC's exact slots are taken.
    pub fn with_policy(
        caps: Capabilities,
        policy: OverflowPolicy,
        config: HostConfig,
        seed: u64,
    ) -> Result<Self, Error> {
        let mut set = FilterSet::new(caps, policy)?;
        set.add(IPV6_ALL_NODES_MAC)?;
        let host = Host::new(config, seed).map_err(Error::Config)?;
        let inner = Inner {
            host,
            set,
            stats: Stats::default(),
            stack_groups: Vec::new(),
            ipv6_macs: Vec::new(),
            address_given: false,
            station: MacAddr([0; 6]),
            generation: 0,
            applied: None,
            nic_error: None,
            waker: WakerRegistration::new(),
        };
        Ok(McastHandle { inner: Mutex::new(RefCell::new(inner)) })
    }

    /// Runs `f` on the shared state, under the mutex. Nothing inside calls back out, so
    /// the `RefCell` is never borrowed twice.
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut Inner<N>) -> R) -> R {
        self.inner.lock(|cell| f(&mut cell.borrow_mut()))
    }

    /// Joins `group` once more, for a socket, say. Returns whether membership changed
    /// (the first join): the group's MAC then goes into the FilterSet and the NIC, and
    /// the Host reports the group as soon as the driver runs (and the interface has an
    /// address).
    ///
    /// The stack must accept the group's datagrams too: call
    /// `stack.join_multicast_group` as well, or use
    /// [`join_with`](Self::join_with) (feature `embassy-net`), which does both.
    ///
    /// Errors change nothing: [`Error::Membership`] (not a joinable group, Host table
    /// full, joined 65535 times), [`Error::Filter`] (FilterSet full or no slot).
    pub fn join(&self, group: impl Into<Ipv4Addr>) -> Result<bool, Error> {
        let group = joinable(group.into())?;
        self.with(|s| s.join(now(), group))
    }

    /// Leaves `group` once. Returns whether membership ended (the last leave): the
    /// group's MAC then leaves the FilterSet and the NIC, and the Host sends a Leave if
    /// it was the last to report the group.
    ///
    /// Leaving a group not joined is
    /// [`Error::Membership`]`(`[`NotJoined`](crate::membership::MembershipError::NotJoined)`)`.
    pub fn leave(&self, group: impl Into<Ipv4Addr>) -> Result<bool, Error> {
        let group = joinable(group.into())?;
        self.with(|s| s.leave(now(), group))
    }

    /// [`join`](Self::join), plus the stack's own membership, which the handle then
    /// holds as one join of the group: what `join_with` does under the stack.
    #[cfg(feature = "embassy-net")]
    pub(super) fn join_for_stack(&self, group: GroupAddr) -> Result<bool, Error> {
        self.with(|s| {
            let now = now();
            let changed = s.join(now, group)?;
            if let Err(e) = s.stack_join(now, group) {
                let _ = s.leave(now, group);
                return Err(e);
            }
            Ok(changed)
        })
    }

    /// [`leave`](Self::leave); when only the stack's membership is left after it, that
    /// goes too. Returns whether membership ended.
    #[cfg(feature = "embassy-net")]
    pub(super) fn leave_for_stack(&self, group: GroupAddr) -> Result<bool, Error> {
        self.with(|s| {
            let now = now();
            let changed = s.leave(now, group)?;
            if !changed && s.joins(group) == 1 && s.stack_groups.contains(&group) {
                return s.stack_leave(now, group);
            }
            Ok(changed)
        })
    }

    /// Whether `group`'s datagrams pass the software filter (224.0.0.1's always do).
    pub fn is_member(&self, group: GroupAddr) -> bool {
        self.with(|s| s.host.is_member(group))
    }

    /// The joined groups, with their join counts and report states (224.0.0.1, always a
    /// member, is not listed). A group the stack joined counts one join for it.
    pub fn groups(&self) -> Vec<GroupInfo, N> {
        self.with(|s| s.host.groups().collect())
    }

    /// Sets or clears the interface's IPv4 address and prefix length, as the stack
    /// has it. A new address announces every group again. Once given, the address is no
    /// longer learned from the stack's traffic; `None` clears it and learning resumes.
    pub fn set_address(&self, address: Option<(Ipv4Addr, u8)>) {
        self.with(|s| {
            s.address_given = address.is_some();
            s.set_address(now(), address);
        })
    }

    /// The IPv4 address and prefix length the Host sends from, if it has one.
    pub fn address(&self) -> Option<(Ipv4Addr, u8)> {
        self.with(|s| s.host.address())
    }

    /// The link came (back) up: every group is announced again. The driver calls this
    /// itself when the real driver's link state goes up.
    pub fn link_up(&self) {
        self.with(|s| {
            s.host.link_up(now());
            s.waker.wake();
        })
    }

    /// Keeps the solicited-node MAC of the IPv6 address `addr` (33:33:ff and its last
    /// three octets) in the NIC filter. Returns whether it was new. The stack's own
    /// addresses are learned from its traffic; this is for addresses it has not used
    /// yet. Fails with [`Error::Filter`] once [`IPV6_MACS`] MACs are kept.
    pub fn add_ipv6_address(&self, addr: Ipv6Addr) -> Result<bool, Error> {
        self.with(|s| s.add_ipv6_mac(sniff::solicited_node_mac(addr)))
    }

    /// Keeps the MAC of the IPv6 group `group` (33:33 and its last four octets) in the
    /// NIC filter. Returns whether it was new.
    pub fn add_ipv6_group(&self, group: Ipv6Addr) -> Result<bool, Error> {
        self.with(|s| s.add_ipv6_mac(sniff::ipv6_group_mac(group)))
    }

    /// Takes an IPv6 MAC (added or learned) out of the NIC filter. Returns whether it was
    /// there. The all-nodes MAC always stays.
    pub fn remove_ipv6_mac(&self, mac: MacAddr) -> Result<bool, Error> {
        self.with(|s| s.remove_ipv6_mac(mac))
    }

    /// Adds a multicast MAC to the NIC's program, beside the groups' (a vendor
    /// protocol's). Returns whether the program changed. Only IPv4 multicast MACs are
    /// filtered in software.
    pub fn add_mac(&self, mac: MacAddr) -> Result<bool, Error> {
        self.with(|s| {
            let added = s.set.add(mac)?;
            if added {
                s.program_changed();
            }
            Ok(added)
        })
    }

    /// Removes a MAC added with [`add_mac`](Self::add_mac). Returns whether the program
    /// changed.
    pub fn remove_mac(&self, mac: MacAddr) -> Result<bool, Error> {
        self.with(|s| {
            let removed = s.set.remove(mac)?;
            if removed {
                s.program_changed();
            }
            Ok(removed)
        })
    }

    /// Passes every multicast frame to the stack, or stops doing so; the NIC is told
    /// too. Membership is unchanged.
    pub fn set_all_multicast(&self, on: bool) -> Result<(), Error> {
        self.with(|s| {
            s.set.set_all_multicast(on)?;
            s.program_changed();
            Ok(())
        })
    }

    /// The glue's counters.
    pub fn stats(&self) -> Stats {
        self.with(|s| s.stats)
    }

    /// The Host's counters.
    pub fn host_stats(&self) -> HostStats {
        self.with(|s| *s.host.stats())
    }

    /// Whether the NIC runs the FilterSet's current program.
    pub fn nic_in_sync(&self) -> bool {
        self.with(|s| s.nic_in_sync())
    }

    /// What the NIC filter's last error was, while the program it refused is pending.
    pub fn nic_error(&self) -> Option<DriverErrorKind> {
        self.with(|s| s.nic_error)
    }

    /// Runs `f` with the Host (its groups, timers, configuration), under the mutex.
    pub fn with_host<R>(&self, f: impl FnOnce(&Host<N>) -> R) -> R {
        self.with(|s| f(&s.host))
    }

    /// Runs `f` with the FilterSet (the MACs the NIC is told to accept), under the mutex.
    pub fn with_filter_set<R>(&self, f: impl FnOnce(&FilterSet<N>) -> R) -> R {
        self.with(|s| f(&s.set))
    }
}

impl<const N: usize, M: RawMutex> core::fmt::Debug for McastHandle<N, M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.with(|s| {
            f.debug_struct("McastHandle")
                .field("host", &s.host)
                .field("set", &s.set)
                .field("stats", &s.stats)
                .field("nic_in_sync", &s.nic_in_sync())
                .finish()
        })
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize, M: RawMutex> defmt::Format for McastHandle<N, M> {
    fn format(&self, f: defmt::Formatter<'_>) {
        self.with(|s| {
            defmt::write!(
                f,
                "McastHandle {{ groups: {}, stats: {}, nic_in_sync: {} }}",
                s.host.len(),
                s.stats,
                s.nic_in_sync()
            )
        })
    }
}
