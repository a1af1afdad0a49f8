//! `mcast querier`: the crate's RFC 2236 `Querier` on real Linux links, a daemon for
//! networks whose switches snoop but where no router queries.
//!
//! One `Querier` per interface, fed every IGMP frame of the link by an
//! [`IgmpSocket`](mcast::socket::linux::IgmpSocket) and sending its queries through it.
//! The program sleeps in `poll` until a socket, a signal or a link change wakes it, or
//! until the earliest `poll_at` of its queriers: nothing wakes it in between.

use std::net::Ipv4Addr;
use std::time::Duration;

use mcast::membership::{ConfigError, ConfigField, QuerierConfig};
use mcast::wire::igmp::Version;

use crate::Failure;

/// The timers and counts of the command line, each `None` where not given.
#[derive(Debug, Default, Clone)]
pub struct Timers {
    /// IGMP version of the queries (1 or 2).
    pub version: u8,
    /// Robustness Variable.
    pub robustness: Option<u8>,
    /// Query Interval, seconds.
    pub query_interval: Option<f64>,
    /// Query Response Interval, seconds.
    pub query_response_interval: Option<f64>,
    /// Group Membership Interval, seconds.
    pub group_membership_interval: Option<f64>,
    /// Other Querier Present Interval, seconds.
    pub other_querier_present_interval: Option<f64>,
    /// Startup Query Interval, seconds.
    pub startup_query_interval: Option<f64>,
    /// Startup Query Count.
    pub startup_query_count: Option<u8>,
    /// Last Member Query Interval, seconds.
    pub last_member_query_interval: Option<f64>,
    /// Last Member Query Count.
    pub last_member_query_count: Option<u8>,
}

/// The command-line option that sets `field`.
fn option(field: ConfigField) -> String {
    format!("--{}", field.name().replace('_', "-"))
}

fn seconds(field: ConfigField, s: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(s).map_err(|_| Failure::usage(format!("{} {s}: not a duration", option(field))))
}

/// The querier configuration the options describe: RFC 2236 §8 defaults, intervals
/// derived from the Robustness Variable, Query Interval and Query Response Interval
/// unless given, and every value checked as `Querier::new` checks it (exit 2 naming the
/// option otherwise).
pub fn config(t: &Timers, proxy: bool) -> Result<QuerierConfig, Failure> {
    use ConfigField as F;
    let defaults = QuerierConfig::default();
    let robustness = t.robustness.unwrap_or(defaults.robustness);
    let qi = t.query_interval.map(|s| seconds(F::QueryInterval, s)).transpose()?.unwrap_or(defaults.query_interval);
    let qri = t
        .query_response_interval
        .map(|s| seconds(F::QueryResponseInterval, s))
        .transpose()?
        .unwrap_or(defaults.query_response_interval);
    let mut c = QuerierConfig::new(robustness, qi, qri);
    c.version = match t.version {
        1 => Version::V1,
        _ => Version::V2,
    };
    c.proxy = proxy;
    let set = |v: Option<f64>, field, slot: &mut Duration| -> Result<(), Failure> {
        if let Some(s) = v {
            *slot = seconds(field, s)?;
        }
        Ok(())
    };
    set(t.group_membership_interval, F::GroupMembershipInterval, &mut c.group_membership_interval)?;
    set(t.other_querier_present_interval, F::OtherQuerierPresentInterval, &mut c.other_querier_present_interval)?;
    set(t.startup_query_interval, F::StartupQueryInterval, &mut c.startup_query_interval)?;
    set(t.last_member_query_interval, F::LastMemberQueryInterval, &mut c.last_member_query_interval)?;
    if let Some(n) = t.startup_query_count {
        c.startup_query_count = n;
    }
    if let Some(n) = t.last_member_query_count {
        c.last_member_query_count = n;
    }
    mcast::membership::Querier::<1>::new(c, Ipv4Addr::UNSPECIFIED, 0, mcast::membership::Instant::ZERO)
        .map_err(|e| Failure::usage(explain(e)))?;
    Ok(c)
}

/// A configuration error as one line naming the option.
fn explain(e: ConfigError) -> String {
    match e {
        ConfigError::Zero(f @ (ConfigField::QueryResponseInterval | ConfigField::LastMemberQueryInterval)) => {
            format!("{}: at least 0.1 s (it is sent as a Max Resp)", option(f))
        }
        ConfigError::Zero(f) => format!("{}: must not be zero", option(f)),
        ConfigError::IntervalTooLong(
            f @ (ConfigField::QueryResponseInterval | ConfigField::LastMemberQueryInterval),
        ) => {
            format!("{}: at most 25.5 s (it is sent as a Max Resp)", option(f))
        }
        ConfigError::IntervalTooLong(f) => format!("{}: at most one day", option(f)),
        ConfigError::ResponseIntervalTooLong => {
            "--query-response-interval must be shorter than --query-interval (RFC 2236 §8.3)".into()
        }
        e => format!("invalid querier configuration: {e}"),
    }
}

/// What `mcast querier` was asked to do.
#[derive(Debug)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub struct Options {
    /// Interface names.
    pub interfaces: Vec<String>,
    /// Source address of the queries, if not the interface's.
    pub source: Option<Ipv4Addr>,
    /// The checked configuration.
    pub config: QuerierConfig,
    /// Query once, print the group table after the Query Response Interval, exit.
    pub once: bool,
}

#[cfg(target_os = "linux")]
pub use linux::run;

/// `mcast querier` where there are no AF_PACKET sockets.
#[cfg(not(target_os = "linux"))]
pub fn run(_: &mut crate::Out, _: Options) -> Result<(), Failure> {
    Err(Failure::error("querier runs on Linux only (it sends and receives IGMP on AF_PACKET sockets)".into()))
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::BTreeSet;
    use std::io;
    use std::net::Ipv4Addr;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::time::Instant as StdInstant;

    use mcast::GroupAddr;
    use mcast::membership::{Instant, IpMeta, Querier, QuerierConfig, QuerierEvent};
    use mcast::socket::ErrorKind;
    use mcast::socket::linux::{IgmpSocket, LinkState, LinkWatcher};
    use mcast::wire::frame;
    use mcast::wire::igmp::Message;

    use super::Options;
    use crate::json::Object;
    use crate::{Failure, Out};

    /// Groups tracked per interface.
    const MAX_GROUPS: usize = 16384;

    /// One interface and its querier.
    struct Link {
        name: String,
        socket: IgmpSocket,
        state: LinkState,
        querier: Box<Querier<MAX_GROUPS>>,
        /// Up, with an address to query from.
        active: bool,
        /// The querier another router is, while we are not.
        other: Option<Ipv4Addr>,
        /// Groups whose IGMPv1 hosts were announced.
        v1: BTreeSet<GroupAddr>,
        /// Frames that did not decode.
        malformed: u64,
        /// Whether the last send failed (logged once until one succeeds).
        send_failing: bool,
    }

    impl Link {
        /// The address and prefix the querier runs with, if it can run.
        fn address(&self, source: Option<Ipv4Addr>) -> Option<(Ipv4Addr, u8)> {
            let (addr, prefix) = match (source, self.state.address) {
                (Some(s), Some((_, p))) if !s.is_unspecified() => (s, p),
                (Some(s), None) if !s.is_unspecified() => (s, 32),
                (_, Some(a)) => a,
                // A proxy querier needs no address of its own.
                (Some(_), None) => (Ipv4Addr::UNSPECIFIED, 0),
                (None, None) => return None,
            };
            Some((addr, prefix))
        }
    }

    /// A querier on the heap. It is built on a thread with a stack large enough for the
    /// moves an unoptimised build makes of it (about 1.4 MB each).
    fn boxed(config: QuerierConfig, now: Instant) -> Result<Box<Querier<MAX_GROUPS>>, Failure> {
        let build = move || Querier::new(config, Ipv4Addr::UNSPECIFIED, 32, now).map(Box::new);
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(build)
            .map_err(|e| Failure::error(format!("start a thread: {e}")))?
            .join()
            .map_err(|_| Failure::error("the querier could not be built".into()))?
            .map_err(|e| Failure::usage(super::explain(e)))
    }

    struct Daemon<'o> {
        out: &'o mut Out,
        epoch: StdInstant,
        links: Vec<Link>,
        source: Option<Ipv4Addr>,
        quiet: bool,
    }

    /// `mcast querier -i IFACE …`.
    pub fn run(out: &mut Out, options: Options) -> Result<(), Failure> {
        let epoch = StdInstant::now();
        let now = Instant::since(epoch);
        let signals = sys::Signals::block().map_err(|e| Failure::error(format!("block signals: {e}")))?;
        let watcher = LinkWatcher::open().map_err(|e| Failure::error(e.to_string()))?;
        let mut links = Vec::new();
        for name in &options.interfaces {
            let state = LinkState::read(name).map_err(|e| match e.kind() {
                ErrorKind::NoSuchInterface => crate::no_such_interface(name),
                _ => Failure::error(e.to_string()),
            })?;
            let socket = IgmpSocket::open(name).map_err(|e| Failure::error(e.to_string()))?;
            let querier = boxed(options.config, now)?;
            let mut link = Link {
                name: name.clone(),
                socket,
                state,
                querier,
                active: false,
                other: None,
                v1: BTreeSet::new(),
                malformed: 0,
                send_failing: false,
            };
            if let Some((addr, prefix)) = link.address(options.source) {
                link.querier.restart(now, addr, prefix);
            }
            link.active = link.state.up && link.address(options.source).is_some();
            links.push(link);
        }
        let described: Vec<String> = links
            .iter()
            .map(|l| {
                let addr = match l.address(options.source) {
                    Some((a, p)) => format!("{a}/{p}"),
                    None => "no IPv4 address yet".into(),
                };
                let source = if options.config.proxy { ", queries from 0.0.0.0" } else { "" };
                let down = if l.state.up { "" } else { ", link down" };
                format!("{} (index {}, {addr}{source}{down})", l.name, l.state.index)
            })
            .collect();
        let c = &options.config;
        eprintln!(
            "querier on {}: query interval {} s, response {} s, robustness {}",
            described.join(", "),
            c.query_interval.as_secs_f64(),
            c.query_response_interval.as_secs_f64(),
            c.robustness
        );
        let mut daemon = Daemon { out, epoch, links, source: options.source, quiet: options.once };
        let stop_at = options.once.then(|| now + c.query_response_interval + core::time::Duration::from_millis(200));
        let result = daemon.run(&signals, &watcher, stop_at);
        if options.once {
            daemon.table();
        }
        for l in &daemon.links {
            let s = l.querier.stats();
            eprintln!(
                "{}: {} general and {} group-specific queries sent, {} reports, {} leaves, {} queries heard, {} malformed frames",
                l.name,
                s.general_queries_sent,
                s.group_queries_sent,
                s.reports,
                s.leaves,
                s.queries_heard,
                l.malformed + u64::from(s.malformed) + u64::from(s.bad_checksum)
            );
        }
        result
    }

    impl Daemon<'_> {
        fn now(&self) -> Instant {
            Instant::since(self.epoch)
        }

        fn run(
            &mut self,
            signals: &sys::Signals,
            watcher: &LinkWatcher,
            stop_at: Option<Instant>,
        ) -> Result<(), Failure> {
            let mut buf = vec![0u8; 2048];
            loop {
                let now = self.now();
                for i in 0..self.links.len() {
                    self.drive(i, now);
                }
                if stop_at.is_some_and(|t| t <= now) {
                    return Ok(());
                }
                let deadline = self.links.iter().filter_map(|l| l.querier.poll_at()).chain(stop_at).min();
                let timeout = deadline.map(|at| at.millis_since(self.now()));
                let mut fds: Vec<RawFd> = vec![signals.as_raw_fd(), watcher.as_raw_fd()];
                fds.extend(self.links.iter().map(|l| l.socket.as_raw_fd()));
                let ready = sys::poll(&fds, timeout).map_err(|e| Failure::error(format!("poll: {e}")))?;
                if ready[0] {
                    match signals.read().map_err(|e| Failure::error(format!("read signal: {e}")))? {
                        Some(libc::SIGUSR1) => self.table(),
                        Some(sig) => {
                            let name = if sig == libc::SIGINT { "SIGINT" } else { "SIGTERM" };
                            eprintln!("{name}: stopping");
                            return Ok(());
                        }
                        None => {}
                    }
                }
                if ready[1] && watcher.changed().map_err(|e| Failure::error(e.to_string()))? {
                    self.links_changed();
                }
                for i in 0..self.links.len() {
                    if ready[2 + i] {
                        self.receive(i, &mut buf)?;
                    }
                }
            }
        }

        /// Reads every waiting frame of link `i` into its querier.
        fn receive(&mut self, i: usize, buf: &mut [u8]) -> Result<(), Failure> {
            loop {
                let now = self.now();
                let link = &mut self.links[i];
                let Some(captured) = link.socket.recv(buf).map_err(|e| Failure::error(e.to_string()))? else {
                    return Ok(());
                };
                let Ok(f) = captured.frame else {
                    link.malformed += 1;
                    continue;
                };
                link.querier.receive_message(now, &IpMeta::from(&f.ipv4), &f.igmp);
                if let Message::V1Report { group } = f.igmp
                    && link.querier.is_present(group)
                    && link.v1.insert(group)
                {
                    let name = link.name.clone();
                    self.event(
                        &name,
                        "v1-hosts",
                        |o| o.str("group", group.to_string()),
                        &format!("IGMPv1 hosts in group {group}"),
                    );
                }
                self.drive(i, now);
            }
        }

        /// Sends what link `i`'s querier wants sent and prints its events.
        fn drive(&mut self, i: usize, now: Instant) {
            while let Some(t) = self.links[i].querier.poll_transmit(now) {
                let link = &mut self.links[i];
                if !link.active {
                    continue;
                }
                let Some(bytes) = frame::build_v2(&t.message, link.state.mac, t.source) else { continue };
                match link.socket.send(&bytes) {
                    Ok(()) => link.send_failing = false,
                    Err(e) if !link.send_failing => {
                        link.send_failing = true;
                        eprintln!("{}: {e}", link.name);
                    }
                    Err(_) => {}
                }
            }
            while let Some(e) = self.links[i].querier.poll_event(now) {
                let link = &mut self.links[i];
                let name = link.name.clone();
                match e {
                    QuerierEvent::BecameQuerier => {
                        link.other = None;
                        let addr = link.querier.address();
                        self.event(
                            &name,
                            "querier",
                            |o| o.str("address", addr.to_string()),
                            &format!("became querier ({addr})"),
                        );
                    }
                    QuerierEvent::BecameNonQuerier { querier } => {
                        link.other = Some(querier);
                        self.event(
                            &name,
                            "non-querier",
                            |o| o.str("querier", querier.to_string()),
                            &format!("stopped being querier ({querier} is querier)"),
                        );
                    }
                    QuerierEvent::GroupPresent(g) => {
                        self.event(
                            &name,
                            "group-present",
                            |o| o.str("group", g.to_string()),
                            &format!("group {g} present"),
                        );
                    }
                    QuerierEvent::GroupAbsent(g) => {
                        link.v1.remove(&g);
                        self.event(
                            &name,
                            "group-absent",
                            |o| o.str("group", g.to_string()),
                            &format!("group {g} absent"),
                        );
                    }
                }
            }
        }

        /// Prints one event line.
        fn event(&mut self, interface: &str, kind: &str, fields: impl FnOnce(Object) -> Object, text: &str) {
            if self.quiet {
                return;
            }
            let at = self.epoch.elapsed().as_secs_f64();
            if self.out.json {
                let o = Object::new().num("time", format!("{at:.3}")).str("interface", interface).str("event", kind);
                self.out.line(&fields(o).finish());
            } else {
                self.out.line(&format!("{at:>10.3}  {interface}: {text}"));
            }
        }

        /// Reads every link's state again after a netlink notification; a new address or
        /// a link back up restarts its querier.
        fn links_changed(&mut self) {
            let now = self.now();
            for link in &mut self.links {
                let Ok(state) = LinkState::read(&link.name) else {
                    if link.active {
                        eprintln!("{}: interface gone", link.name);
                        link.active = false;
                    }
                    continue;
                };
                let before = (link.state, link.address(self.source));
                link.state = state;
                let address = link.address(self.source);
                let active = state.up && address.is_some();
                if state.up != before.0.up {
                    eprintln!("{}: link {}", link.name, if state.up { "up" } else { "down" });
                }
                if address != before.1 {
                    match address {
                        Some((a, p)) => eprintln!("{}: address {a}/{p}", link.name),
                        None => eprintln!("{}: no IPv4 address; not querying until it has one", link.name),
                    }
                }
                if active && (!link.active || address != before.1) {
                    let (a, p) = address.unwrap_or((Ipv4Addr::UNSPECIFIED, 32));
                    link.querier.restart(now, a, p);
                }
                link.active = active;
            }
        }

        /// Prints the group table of every link.
        fn table(&mut self) {
            let now = self.now();
            for link in &self.links {
                let q = &link.querier;
                let groups: Vec<_> = q.groups().collect();
                let left = |at: Instant| at.millis_since(now) as f64 / 1000.0;
                if self.out.json {
                    let items = groups.iter().map(|g| {
                        Object::new()
                            .str("group", g.group.to_string())
                            .num("expires_in", format!("{:.3}", left(g.expires)))
                            .num("v1_hosts", g.v1_hosts)
                            .num("checking", g.checking)
                            .finish()
                    });
                    let line = Object::new()
                        .str("interface", &link.name)
                        .num("active", link.active)
                        .num("querier", q.is_querier())
                        .str("address", q.address().to_string())
                        .opt_str("other_querier", link.other.map(|a| a.to_string()))
                        .raw("groups", &crate::json::array(items))
                        .finish();
                    self.out.line(&line);
                } else {
                    let role = match (link.active, q.is_querier(), link.other) {
                        (false, _, _) => "inactive".to_string(),
                        (true, true, _) => format!("querier ({})", q.address()),
                        (true, false, Some(o)) => format!("non-querier ({o} is querier)"),
                        (true, false, None) => "non-querier".to_string(),
                    };
                    let mut text = format!("{}: {role}, {} group(s)\n", link.name, groups.len());
                    for g in &groups {
                        let mut flags = String::new();
                        if g.v1_hosts {
                            flags.push_str("  v1 hosts");
                        }
                        if g.checking {
                            flags.push_str("  checking");
                        }
                        text.push_str(&format!(
                            "  {:<15}  expires in {:>6.1} s{flags}\n",
                            g.group.to_string(),
                            left(g.expires)
                        ));
                    }
                    self.out.text(&text);
                }
            }
        }
    }

    /// The system calls of the daemon's loop: signals as a descriptor, and `poll`.
    mod sys {
        use super::*;

        /// SIGINT, SIGTERM and SIGUSR1, blocked and read from a signalfd.
        pub struct Signals(OwnedFd);

        impl Signals {
            /// Blocks the three signals for the (single-threaded) process and opens the
            /// descriptor they arrive on.
            pub fn block() -> io::Result<Signals> {
                // SAFETY: sigset_t is plain old data; sigemptyset initialises it and
                // sigaddset, pthread_sigmask and signalfd only read or write it through
                // the pointers given, during the calls.
                #[allow(unsafe_code)]
                unsafe {
                    let mut set: libc::sigset_t = core::mem::zeroed();
                    libc::sigemptyset(&raw mut set);
                    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGUSR1] {
                        libc::sigaddset(&raw mut set, sig);
                    }
                    if libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, core::ptr::null_mut()) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    let fd = libc::signalfd(-1, &raw const set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
                    if fd < 0 {
                        return Err(io::Error::last_os_error());
                    }
                    Ok(Signals(OwnedFd::from_raw_fd(fd)))
                }
            }

            /// The next pending signal, if any.
            pub fn read(&self) -> io::Result<Option<i32>> {
                // SAFETY: signalfd_siginfo is plain old data for which all-zero bytes are valid.
                #[allow(unsafe_code)]
                let mut info: libc::signalfd_siginfo = unsafe { core::mem::zeroed() };
                let size = core::mem::size_of::<libc::signalfd_siginfo>();
                // SAFETY: `info` is live and writable, of `size` bytes.
                #[allow(unsafe_code)]
                let n = unsafe { libc::read(self.0.as_raw_fd(), (&raw mut info).cast(), size) };
                if n < 0 {
                    let e = io::Error::last_os_error();
                    return if e.kind() == io::ErrorKind::WouldBlock { Ok(None) } else { Err(e) };
                }
                Ok((n as usize == size).then_some(info.ssi_signo as i32))
            }
        }

        impl AsRawFd for Signals {
            fn as_raw_fd(&self) -> RawFd {
                self.0.as_raw_fd()
            }
        }

        /// Waits until one of `fds` is readable or `timeout_ms` passed (`None`: no
        /// limit); which are readable. Interrupted waits count as a timeout.
        pub fn poll(fds: &[RawFd], timeout_ms: Option<u64>) -> io::Result<Vec<bool>> {
            let mut pollfds: Vec<libc::pollfd> =
                fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
            let timeout = timeout_ms.map_or(-1, |t| libc::c_int::try_from(t).unwrap_or(libc::c_int::MAX));
            // SAFETY: `pollfds` is a live array of `len` pollfd the kernel may write to.
            #[allow(unsafe_code)]
            let n = unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, timeout) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    return Ok(vec![false; fds.len()]);
                }
                return Err(e);
            }
            Ok(pollfds.iter().map(|p| p.revents != 0).collect())
        }
    }
}
