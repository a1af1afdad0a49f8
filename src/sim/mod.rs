//! A deterministic simulated LAN: hosts and queriers on one Ethernet segment, in
//! virtual time, with seeded frame loss.
//!
//! Every message crosses the segment as a real frame: framed by [`FrameRepr::new`], emitted
//! to bytes, parsed back by [`FrameRepr::parse`] at each receiver. Hosts receive what their
//! NIC would let in (groups they joined, and 224.0.0.1); queriers receive all
//! multicast. Nothing depends on wall-clock time or global state: the same seed gives
//! the same run.
//!
//! [`scenarios`] measures the figures docs/SIMULATION.md records; `mcast sim` prints
//! them, with a timeline.

use alloc::boxed::Box;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;
use core::time::Duration;

use crate::addr::{GroupAddr, MacAddr};
use crate::membership::{
    ConfigError, Host, HostConfig, Instant, IpMeta, MembershipError, Querier, QuerierConfig, QuerierEvent, Rng,
    Transmit,
};
use crate::wire::FrameRepr;

/// Groups each simulated host can join.
pub const HOST_CAPACITY: usize = 16;
/// Groups each simulated querier can track.
pub const QUERIER_CAPACITY: usize = 256;

/// A node on the LAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[derive(Debug, Clone)]
enum Role {
    Host(Box<Host<HOST_CAPACITY>>),
    Querier(Box<Querier<QUERIER_CAPACITY>>),
}

#[derive(Debug, Clone)]
struct Node {
    ip: Ipv4Addr,
    mac: MacAddr,
    role: Role,
}

/// Something that happened on the LAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happening {
    /// A node sent a message.
    Sent(Transmit),
    /// A querier reported a change.
    Event(QuerierEvent),
    /// A host's application joined a group.
    Join(GroupAddr),
    /// A host's application left a group.
    Leave(GroupAddr),
}

/// One line of the LAN's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// When.
    pub at: Instant,
    /// Which node.
    pub node: NodeId,
    /// What.
    pub what: Happening,
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>10}  {:<4} ", self.at.to_string(), self.node.to_string())?;
        match self.what {
            Happening::Sent(t) => write!(f, "sends {} to {}", t.message, t.destination),
            Happening::Event(e) => write!(f, "{e}"),
            Happening::Join(g) => write!(f, "joins {g}"),
            Happening::Leave(g) => write!(f, "leaves {g}"),
        }
    }
}

/// One Ethernet segment with its hosts and queriers.
#[derive(Debug, Clone)]
pub struct Lan {
    now: Instant,
    nodes: Vec<Node>,
    rng: Rng,
    loss_per_mille: u32,
    log: Vec<Record>,
    deliveries: u64,
    lost: u64,
}

impl Lan {
    /// An empty LAN at time 0. `loss_per_mille` is the chance, per frame and receiver,
    /// that the frame is lost (0–1000).
    pub fn new(seed: u64, loss_per_mille: u32) -> Lan {
        Lan {
            now: Instant::ZERO,
            nodes: Vec::new(),
            rng: Rng::new(seed),
            loss_per_mille: loss_per_mille.min(1000),
            log: Vec::new(),
            deliveries: 0,
            lost: 0,
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Adds a host with address `ip` (prefix /24).
    pub fn add_host(&mut self, ip: Ipv4Addr, config: HostConfig) -> Result<NodeId, ConfigError> {
        let seed = u64::from(self.rng.next_u32()) << 32 | u64::from(self.rng.next_u32());
        let mut host = Host::new(config, seed)?;
        host.set_address(self.now, Some((ip, 24)));
        Ok(self.push(ip, Role::Host(Box::new(host))))
    }

    /// Adds a querier with address `ip` (prefix /24), starting now.
    pub fn add_querier(&mut self, ip: Ipv4Addr, config: QuerierConfig) -> Result<NodeId, ConfigError> {
        let querier = Querier::new(config, ip, 24, self.now)?;
        Ok(self.push(ip, Role::Querier(Box::new(querier))))
    }

    fn push(&mut self, ip: Ipv4Addr, role: Role) -> NodeId {
        let id = NodeId(self.nodes.len());
        let [a, b] = (id.0 as u16).to_be_bytes();
        self.nodes.push(Node { ip, mac: MacAddr([0x02, 0, 0, 0, a, b]), role });
        id
    }

    /// The host at `id`, if it is one.
    pub fn host(&self, id: NodeId) -> Option<&Host<HOST_CAPACITY>> {
        match &self.nodes.get(id.0)?.role {
            Role::Host(h) => Some(h),
            Role::Querier(_) => None,
        }
    }

    /// The querier at `id`, if it is one.
    pub fn querier(&self, id: NodeId) -> Option<&Querier<QUERIER_CAPACITY>> {
        match &self.nodes.get(id.0)?.role {
            Role::Querier(q) => Some(q),
            Role::Host(_) => None,
        }
    }

    /// The address of a node.
    pub fn address(&self, id: NodeId) -> Option<Ipv4Addr> {
        self.nodes.get(id.0).map(|n| n.ip)
    }

    /// Makes host `id` join `group` now. Fails for a node that is not a host.
    pub fn join(&mut self, id: NodeId, group: GroupAddr) -> Result<bool, MembershipError> {
        let now = self.now;
        let Some(Node { role: Role::Host(h), .. }) = self.nodes.get_mut(id.0) else {
            return Err(MembershipError::NotJoined);
        };
        let changed = h.join(now, group)?;
        self.log.push(Record { at: now, node: id, what: Happening::Join(group) });
        Ok(changed)
    }

    /// Makes host `id` leave `group` now.
    pub fn leave(&mut self, id: NodeId, group: GroupAddr) -> Result<bool, MembershipError> {
        let now = self.now;
        let Some(Node { role: Role::Host(h), .. }) = self.nodes.get_mut(id.0) else {
            return Err(MembershipError::NotJoined);
        };
        let changed = h.leave(now, group)?;
        self.log.push(Record { at: now, node: id, what: Happening::Leave(group) });
        Ok(changed)
    }

    /// Everything that happened so far, in order.
    pub fn log(&self) -> &[Record] {
        &self.log
    }

    /// Frames delivered to a receiver, and frames lost on the way to one.
    pub fn deliveries(&self) -> (u64, u64) {
        (self.deliveries, self.lost)
    }

    /// Runs the LAN for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// Runs the LAN until `until` (inclusive), acting at every instant some node asked
    /// to be polled at.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            self.settle();
            let next = self.nodes.iter().filter_map(|n| poll_at(&n.role)).min();
            match next {
                Some(at) if at <= until => {
                    // Every node has drained its work at `now`, so `at` is later.
                    self.now = at.max(self.now.add_millis(1));
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    /// Lets every node act at `now` until none has anything left to do.
    fn settle(&mut self) {
        loop {
            let mut busy = false;
            for i in 0..self.nodes.len() {
                while let Some(t) = poll_transmit(&mut self.nodes[i].role, self.now) {
                    busy = true;
                    self.log.push(Record { at: self.now, node: NodeId(i), what: Happening::Sent(t) });
                    self.deliver(i, &t);
                }
                if let Role::Querier(q) = &mut self.nodes[i].role {
                    while let Some(e) = q.poll_event(self.now) {
                        busy = true;
                        self.log.push(Record { at: self.now, node: NodeId(i), what: Happening::Event(e) });
                    }
                }
            }
            if !busy {
                return;
            }
        }
    }

    fn deliver(&mut self, from: usize, t: &Transmit) {
        let mut buf = [0u8; 128];
        let sender = &self.nodes[from];
        let Ok(len) = FrameRepr::new(t.message, sender.mac, t.source).emit(&mut buf) else { return };
        let bytes = &buf[..len];
        for i in 0..self.nodes.len() {
            if i == from {
                continue;
            }
            let wants = match &self.nodes[i].role {
                Role::Host(h) => h.is_member(t.destination),
                Role::Querier(_) => true,
            };
            if !wants {
                continue;
            }
            if self.rng.below(1000) < self.loss_per_mille {
                self.lost += 1;
                continue;
            }
            self.deliveries += 1;
            // The receiver sees only what survives a real parse.
            let Ok(frame) = FrameRepr::parse(bytes) else { continue };
            let meta = IpMeta::from(&frame.ipv4);
            match &mut self.nodes[i].role {
                Role::Host(h) => h.receive_message(self.now, &meta, &frame.igmp),
                Role::Querier(q) => q.receive_message(self.now, &meta, &frame.igmp),
            }
        }
    }
}

fn poll_at(role: &Role) -> Option<Instant> {
    match role {
        Role::Host(h) => h.poll_at(),
        Role::Querier(q) => q.poll_at(),
    }
}

fn poll_transmit(role: &mut Role, now: Instant) -> Option<Transmit> {
    match role {
        Role::Host(h) => h.poll_transmit(now),
        Role::Querier(q) => q.poll_transmit(now),
    }
}

/// The scenarios behind the figures in docs/SIMULATION.md, each a function of a seed.
pub mod scenarios {
    use super::*;
    use crate::wire::igmp::{Message, Version};

    fn host_ip(i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, (i / 250) as u8, 10 + (i % 250) as u8)
    }

    const GROUP: GroupAddr = match GroupAddr::new([239, 1, 2, 3]) {
        Ok(g) => g,
        Err(_) => GroupAddr::BASE,
    };

    fn is_report(r: &Record) -> bool {
        matches!(r.what, Happening::Sent(Transmit { message: Message::V1Report { .. } | Message::V2Report { .. }, .. }))
    }

    fn is_general_query(r: &Record) -> bool {
        matches!(r.what, Happening::Sent(t) if t.message.query().is_some_and(|q| q.group.is_none()))
    }

    /// Report suppression: reports per general query with `members` hosts in one group.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Suppression {
        /// Hosts in the group.
        pub members: usize,
        /// General queries measured.
        pub queries: usize,
        /// Reports they drew, in all.
        pub reports: usize,
        /// The most reports one query drew.
        pub max_per_query: usize,
    }

    impl Suppression {
        /// Reports per general query, on average.
        pub fn mean(&self) -> f64 {
            self.reports as f64 / self.queries.max(1) as f64
        }
    }

    /// `members` hosts join one group; after the joins settle, counts the reports each
    /// of the next `queries` general queries draws.
    pub fn suppression(seed: u64, members: usize, queries: usize) -> Suppression {
        let mut lan = Lan::new(seed, 0);
        let q = lan.add_querier(Ipv4Addr::new(10, 0, 0, 1), QuerierConfig::default()).expect("default config");
        let hosts: Vec<NodeId> =
            (0..members).map(|i| lan.add_host(host_ip(i), HostConfig::default()).expect("default config")).collect();
        for &h in &hosts {
            lan.join(h, GROUP).expect("capacity");
        }
        // Past the startup queries and the unsolicited repeats.
        lan.run_for(Duration::from_secs(200));
        let start = lan.log().len();
        let interval = lan.querier(q).map_or(Duration::from_secs(125), |q| q.config().query_interval);
        lan.run_for(interval * queries as u32);
        let mut per_query = Vec::new();
        for r in &lan.log()[start..] {
            if is_general_query(r) {
                per_query.push(0usize);
            } else if is_report(r)
                && let Some(last) = per_query.last_mut()
            {
                *last += 1;
            }
        }
        Suppression {
            members,
            queries: per_query.len(),
            reports: per_query.iter().sum(),
            max_per_query: per_query.iter().copied().max().unwrap_or(0),
        }
    }

    /// `members` hosts join one group, then leave one second apart: how long after the
    /// last leave the querier declared the group absent.
    pub fn leave_latency(seed: u64, members: usize) -> Option<Duration> {
        let mut lan = Lan::new(seed, 0);
        lan.add_querier(Ipv4Addr::new(10, 0, 0, 1), QuerierConfig::default()).ok()?;
        let hosts: Vec<NodeId> =
            (0..members).filter_map(|i| lan.add_host(host_ip(i), HostConfig::default()).ok()).collect();
        for &h in &hosts {
            lan.join(h, GROUP).ok()?;
        }
        lan.run_for(Duration::from_secs(300));
        let mut left_at = lan.now();
        for &h in &hosts {
            left_at = lan.now();
            lan.leave(h, GROUP).ok()?;
            lan.run_for(Duration::from_secs(1));
        }
        lan.run_for(Duration::from_secs(300));
        lan.log().iter().find_map(|r| match r.what {
            Happening::Event(QuerierEvent::GroupAbsent(g)) if g == GROUP => Some(r.at - left_at),
            _ => None,
        })
    }

    /// Two queriers on one LAN.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Election {
        /// Time from the lower-addressed router's start until the higher-addressed one
        /// became non-querier.
        pub converged_after: Option<Duration>,
        /// General queries the higher-addressed router sent after converging.
        pub queries_from_loser_after: usize,
        /// Whether the lower-addressed router is the querier at the end.
        pub lower_is_querier: bool,
    }

    /// 10.0.0.2 is the querier of a LAN with one member; 10.0.0.1 starts `late` later.
    /// Runs for `run` after that.
    pub fn election(seed: u64, late: Duration, run: Duration) -> Election {
        let mut lan = Lan::new(seed, 0);
        let hi = lan.add_querier(Ipv4Addr::new(10, 0, 0, 2), QuerierConfig::default()).expect("config");
        let h = lan.add_host(host_ip(0), HostConfig::default()).expect("config");
        lan.join(h, GROUP).expect("capacity");
        lan.run_for(late);
        let started = lan.now();
        let lo = lan.add_querier(Ipv4Addr::new(10, 0, 0, 1), QuerierConfig::default()).expect("config");
        lan.run_for(run);
        let converged = lan
            .log()
            .iter()
            .find(|r| r.node == hi && matches!(r.what, Happening::Event(QuerierEvent::BecameNonQuerier { .. })));
        let converged_after = converged.map(|r| r.at - started);
        let queries_from_loser_after = converged
            .map_or(0, |c| lan.log().iter().filter(|r| r.node == hi && r.at > c.at && is_general_query(r)).count());
        Election {
            converged_after,
            queries_from_loser_after,
            lower_is_querier: lan.querier(lo).is_some_and(|q| q.is_querier())
                && lan.querier(hi).is_some_and(|q| !q.is_querier()),
        }
    }

    /// What hosts sent with an IGMPv1 querier present.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct V1Compat {
        /// IGMPv1 reports.
        pub v1_reports: usize,
        /// IGMPv2 reports.
        pub v2_reports: usize,
        /// Leaves.
        pub leaves: usize,
    }

    /// An IGMPv1 querier starts with `members` hosts on the LAN; they join one second
    /// later (having heard its first query), stay for `run`, then leave.
    pub fn v1_querier(seed: u64, members: usize, run: Duration) -> V1Compat {
        let mut lan = Lan::new(seed, 0);
        let config = QuerierConfig { version: Version::V1, ..QuerierConfig::default() };
        lan.add_querier(Ipv4Addr::new(10, 0, 0, 1), config).expect("config");
        let hosts: Vec<NodeId> =
            (0..members).map(|i| lan.add_host(host_ip(i), HostConfig::default()).expect("config")).collect();
        lan.run_for(Duration::from_secs(1));
        for &h in &hosts {
            lan.join(h, GROUP).expect("capacity");
        }
        lan.run_for(run);
        for &h in &hosts {
            lan.leave(h, GROUP).expect("joined");
        }
        lan.run_for(Duration::from_secs(10));
        let mut out = V1Compat::default();
        for r in lan.log() {
            if let Happening::Sent(t) = r.what {
                match t.message {
                    Message::V1Report { .. } => out.v1_reports += 1,
                    Message::V2Report { .. } => out.v2_reports += 1,
                    Message::Leave { .. } => out.leaves += 1,
                    _ => {}
                }
            }
        }
        out
    }

    /// Membership under frame loss.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Loss {
        /// Groups joined (one per host).
        pub groups: usize,
        /// Times, sampled every second, that a joined group was absent at the querier.
        pub absent_samples: usize,
        /// Samples taken.
        pub samples: usize,
        /// Frames lost, of all deliveries attempted.
        pub lost: u64,
        /// Deliveries attempted.
        pub attempted: u64,
    }

    /// `hosts` hosts each join their own group (and a shared one) on a LAN losing
    /// `loss_per_mille` of frames, with Robustness Variable `robustness` at the querier
    /// (and as the hosts' unsolicited report count); the querier's view is sampled every
    /// second for `run` after the joins.
    pub fn loss(seed: u64, loss_per_mille: u32, robustness: u8, hosts: usize, run: Duration) -> Loss {
        let mut lan = Lan::new(seed, loss_per_mille);
        let config = QuerierConfig::new(robustness, Duration::from_secs(125), Duration::from_secs(10));
        let q = lan.add_querier(Ipv4Addr::new(10, 0, 0, 1), config).expect("config");
        let host_config = HostConfig { unsolicited_report_count: robustness, ..HostConfig::default() };
        let mut groups = Vec::new();
        for i in 0..hosts {
            let h = lan.add_host(host_ip(i), host_config).expect("config");
            let group = GroupAddr::new([239, 2, (i >> 8) as u8, i as u8]).expect("multicast");
            lan.join(h, group).expect("capacity");
            lan.join(h, GROUP).expect("capacity");
            groups.push(group);
        }
        groups.push(GROUP);
        // Let the joins reach the querier (the unsolicited reports may all be lost;
        // the next queries then find the members).
        lan.run_for(Duration::from_secs(300));
        let (mut absent_samples, mut samples) = (0, 0);
        let seconds = run.as_secs();
        for _ in 0..seconds {
            lan.run_for(Duration::from_secs(1));
            let querier = lan.querier(q).expect("querier");
            absent_samples += groups.iter().filter(|g| !querier.is_present(**g)).count();
            samples += groups.len();
        }
        let (delivered, lost) = lan.deliveries();
        Loss { groups: groups.len(), absent_samples, samples, lost, attempted: delivered + lost }
    }
}
