//! `mcast`: IPv4 multicast and IGMP from the command line.
//!
//! Subcommands: `map` (a group's MAC, scope, neighbours and hash bins), `encode` and
//! `decode` (IGMP frames as hex, or from a pcap file), `send` and `recv` (multicast
//! datagrams through the socket adapter, counting loss per group and sender), `ping`
//! (loss and round-trip time to every other `mcast ping` on the group, over multicast
//! and unicast), `watch` (live IGMP on a Linux link), `querier` (an IGMP querier daemon
//! for Linux links), `doctor` (what is wrong with multicast on a Linux link) and `sim`
//! (the simulated LAN). `--json` prints one JSON object per line.

mod codec;
#[cfg(target_os = "linux")]
mod doctor;
mod interrupt;
mod json;
mod net;
mod ping;
mod querier;
mod recv;
mod send;
mod sim;
mod spread;
mod tally;
mod targets;

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mcast::socket::Interface;
use mcast::{GroupAddr, MacAddr};

const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  an operating-system error (socket, interface, file, permission)
  2  invalid command line
  3  malformed input: a frame that does not decode, bad hex, an unreadable capture
  4  timed out: recv or watch got fewer than --count (or, without --count, nothing)
     before --timeout or Ctrl-C; ping heard no peer
  5  doctor found a problem on the link
  6  ping: some peer did not answer every request over both unicast and multicast";

#[derive(Debug, Parser)]
#[command(
    name = "mcast",
    version,
    about = "IPv4 multicast and IGMP: map groups, build and decode IGMP frames, send and receive multicast, watch a link, simulate a LAN",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show a group's MAC, scope, well-known name, whether routers forward it, the 31
    /// other groups sharing its MAC and its hash bin on each supported NIC family
    Map {
        /// The IPv4 multicast group, e.g. 239.1.2.3
        group: GroupAddr,
        #[command(flatten)]
        output: Output,
    },
    /// Build a complete IGMP Ethernet frame, framed as the RFCs prescribe (TTL 1,
    /// Router Alert, TOS 0xc0, destination and MAC from the message), and print it as hex
    Encode {
        #[command(subcommand)]
        message: EncodeCommand,
    },
    /// Decode Ethernet frames given as hex, or read from a pcap/pcapng file, layer by
    /// layer; a frame that does not decode is reported with the exact error (exit 3)
    Decode {
        /// Frames as hex, one per argument (":", "-", "." and spaces between digits are
        /// ignored)
        #[arg(required_unless_present = "pcap", conflicts_with = "pcap")]
        hex: Vec<String>,
        /// Read the frames of this pcap or pcapng capture (Ethernet link type)
        #[arg(long, value_name = "FILE")]
        pcap: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// Send numbered datagrams to one or more groups at a steady rate (a sender need not
    /// join the group); each carries a 32-octet header (stream, sequence number, send
    /// time) that `mcast recv` counts loss, duplicates, reordering and delay with
    Send(send::SendArgs),
    /// Join groups and count what arrives, per group, sender and stream: received, lost,
    /// duplicated, reordered, rate and delay spread (a receiver must join, on the
    /// interface the traffic arrives on)
    Recv(recv::RecvArgs),
    /// Ping every other `mcast ping` on the group over multicast and over unicast: run it
    /// on several hosts; each prints per peer the loss and round-trip time of both paths
    /// and the hop distance
    #[command(after_help = PING_HELP)]
    Ping(PingArgs),
    /// Print the IGMP frames on a link as they pass, decoded (Linux, needs CAP_NET_RAW)
    Watch {
        /// Interface name, e.g. eth0
        #[arg(long, short, value_name = "NAME")]
        interface: String,
        /// Stop after this many IGMP frames
        #[arg(long, short = 'n')]
        count: Option<u64>,
        /// Stop after this many seconds (exit 4 if fewer than --count arrived)
        #[arg(long, value_name = "S")]
        timeout: Option<f64>,
        #[command(flatten)]
        output: Output,
    },
    /// Be the IGMP querier of Linux links whose switches snoop but where no router
    /// queries: query, elect against other queriers, track groups, print the changes
    /// (Linux, needs CAP_NET_RAW). SIGUSR1 prints the group table; SIGINT or SIGTERM stops
    #[command(after_help = QUERIER_HELP)]
    Querier(QuerierArgs),
    /// Listen to a Linux link's IGMP without sending anything, read the host's settings
    /// for the interface, and report what stops multicast there: no querier, IGMPv1
    /// hosts, reports without Router Alert, malformed IGMP, the interface's flags,
    /// rp_filter, routes, force_igmp_version (Linux, needs CAP_NET_RAW; exit 5 when it
    /// finds a problem)
    #[command(after_help = DOCTOR_HELP)]
    Doctor {
        /// Interface name, e.g. eth0
        #[arg(long, short, value_name = "NAME")]
        interface: String,
        /// Seconds to listen. A querier at RFC 2236's default Query Interval queries
        /// every 125 s, so a shorter listen may miss it; a longer one waits for nothing
        #[arg(long, short, value_name = "S", default_value_t = 130.0)]
        duration: f64,
        /// The group whose route (the interface multicast to it leaves by) is read
        #[arg(long, value_name = "GROUP", default_value = "239.255.255.250")]
        group: GroupAddr,
        #[command(flatten)]
        output: Output,
    },
    /// Run the simulated LAN: a timeline of a querier and three hosts, then the
    /// measured figures (report suppression, leave latency, election, IGMPv1, loss)
    Sim {
        /// Seed of the timeline's random choices
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print the timeline only
        #[arg(long)]
        no_figures: bool,
        #[command(flatten)]
        output: Output,
    },
}

const QUERIER_HELP: &str = "\
Intervals are in seconds. The defaults are RFC 2236's: without --group-membership-interval,
--other-querier-present-interval, --startup-query-interval, --startup-query-count and
--last-member-query-count, those follow from --robustness, --query-interval and
--query-response-interval as RFC 2236 §8 derives them.

Output, one line per event: became querier, stopped being querier, group present, group
absent, IGMPv1 hosts seen (with --json, one object per line). Logs go to standard error.";

const DOCTOR_HELP: &str = "\
The doctor only listens: it sends no query, so it hears a querier only if one queries
within --duration, and hosts only when they join or answer a query. SIGINT (Ctrl-C) or
SIGTERM ends the listen sooner; the report is printed all the same.

Output: the findings first, one line each, \"problem\", \"note\" or \"ok\" and why; then the
queriers, the groups and who reported them, and this host's memberships on the
interface. With --json, one object (its schema is in docs/TROUBLESHOOTING.md).

Exit status: 0 when nothing is wrong, 5 when a problem was found, 1 on an operating-system
error (no such interface, no CAP_NET_RAW).";

const PING_HELP: &str = "\
Every interval each instance multicasts a request to GROUP:PORT and sends it by unicast to
every peer it has heard of; every instance answers each request, a multicast request to
the group and a unicast one to its sender. One line per answer while it runs, a table per
peer and path at the end. After the last request it keeps answering for max(1 s, 2 ×
interval). Without --count or --duration it runs until SIGINT or SIGTERM (on Windows,
Ctrl-C ends it without the table).

Exit status: 0 every peer answered every request on both paths, 4 no peer was heard,
6 some peer did not.";

#[derive(Debug, Args)]
struct PingArgs {
    /// Group and UDP port, e.g. 239.1.2.3:5000 (the socket binds 0.0.0.0:PORT)
    to: SocketAddrV4,
    /// Interface to join on and send from: a name, an IPv4 address, an index, or
    /// "default"
    #[arg(long, short, value_name = "IFACE", default_value = "default")]
    interface: String,
    /// Milliseconds between requests
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    interval: u64,
    /// Stop sending after this many requests
    #[arg(long, short = 'n', value_name = "N", conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Stop sending after this many seconds
    #[arg(long, value_name = "S")]
    duration: Option<f64>,
    /// IP time-to-live of requests and answers, unicast and multicast
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = clap::value_parser!(u8).range(1..))]
    ttl: u8,
    /// UDP payload octets of a request, the 32-octet probe header included
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = clap::value_parser!(u16).range(32..=65507))]
    size: u16,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, Args)]
struct QuerierArgs {
    /// Interface to be the querier of, by name (repeat for more)
    #[arg(long, short, value_name = "NAME", required = true)]
    interface: Vec<String>,
    /// Source address of the queries. Default: the interface's first IPv4 address.
    /// 0.0.0.0 makes a proxy querier (RFC 4541): it yields to any router that queries
    #[arg(long, value_name = "IP")]
    source: Option<Ipv4Addr>,
    /// Send a general query, print the group table after the Query Response Interval,
    /// and exit
    #[arg(long)]
    once: bool,
    /// IGMP version of the queries: 2, or 1 on networks with IGMPv1 routers
    #[arg(long = "igmp", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    version: u8,
    /// Robustness Variable [default: 2]
    #[arg(long, value_name = "N")]
    robustness: Option<u8>,
    /// Query Interval between general queries [default: 125]
    #[arg(long, value_name = "S")]
    query_interval: Option<f64>,
    /// Query Response Interval, the Max Resp of general queries, 0.1 to 25.5 [default: 10]
    #[arg(long, value_name = "S")]
    query_response_interval: Option<f64>,
    /// Group Membership Interval [default: robustness × query interval + query response interval]
    #[arg(long, value_name = "S")]
    group_membership_interval: Option<f64>,
    /// Other Querier Present Interval [default: robustness × query interval + query response interval / 2]
    #[arg(long, value_name = "S")]
    other_querier_present_interval: Option<f64>,
    /// Startup Query Interval [default: query interval / 4]
    #[arg(long, value_name = "S")]
    startup_query_interval: Option<f64>,
    /// Startup Query Count [default: robustness]
    #[arg(long, value_name = "N")]
    startup_query_count: Option<u8>,
    /// Last Member Query Interval, 0.1 to 25.5 [default: 1]
    #[arg(long, value_name = "S")]
    last_member_query_interval: Option<f64>,
    /// Last Member Query Count [default: robustness]
    #[arg(long, value_name = "N")]
    last_member_query_count: Option<u8>,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Args)]
pub struct Output {
    /// Print one JSON object per line instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct Source {
    /// IPv4 source address of the frame
    #[arg(long, value_name = "IP")]
    src: Ipv4Addr,
    /// Ethernet source address of the frame, e.g. 22:44:6f:0d:33:e4
    #[arg(long, value_name = "MAC")]
    src_mac: MacAddr,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, Subcommand)]
enum EncodeCommand {
    /// A membership query: general, or for one group with --group
    Query {
        /// Group-specific query for this group (default: general query)
        #[arg(long)]
        group: Option<GroupAddr>,
        /// IGMP version: 1 (Max Resp 0), 2 (8 octets) or 3 (12 octets and more)
        #[arg(long = "igmp", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=3))]
        version: u8,
        /// Max Resp in tenths of a second (v2: 1-255; v3: encoded as the exponential code)
        #[arg(long, default_value_t = 100, value_name = "TENTHS")]
        max_resp: u16,
        /// v3: the Querier's Robustness Variable (0-7)
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=7))]
        qrv: u8,
        /// v3: the Querier's Query Interval in seconds
        #[arg(long, default_value_t = 125, value_name = "SECONDS")]
        qqi: u16,
        /// v3: set the S flag (suppress router-side processing)
        #[arg(long)]
        suppress: bool,
        /// v3: a source of a group-and-source-specific query (repeat for more)
        #[arg(long = "source", value_name = "IP")]
        sources: Vec<Ipv4Addr>,
        #[command(flatten)]
        from: Source,
    },
    /// A membership report (sent to the group itself)
    Report {
        /// The group reported
        group: GroupAddr,
        /// IGMP version of the report: 1 or 2
        #[arg(long = "igmp", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
        version: u8,
        #[command(flatten)]
        from: Source,
    },
    /// An IGMPv2 Leave Group (sent to 224.0.0.2)
    Leave {
        /// The group left
        group: GroupAddr,
        #[command(flatten)]
        from: Source,
    },
    /// An IGMPv3 report (sent to 224.0.0.22) with one record per argument
    #[command(name = "v3-report")]
    V3Report {
        /// TYPE:GROUP[:SOURCE,...], TYPE one of is-include, is-exclude, to-include,
        /// to-exclude, allow, block; e.g. to-exclude:239.1.2.3 (a join) or
        /// allow:232.1.1.1:10.0.0.1,10.0.0.2
        #[arg(required = true, value_name = "RECORD", value_parser = parse_record)]
        records: Vec<Record>,
        #[command(flatten)]
        from: Source,
    },
}

type Record = (mcast::wire::igmp::RecordType, GroupAddr, Vec<Ipv4Addr>);

fn parse_record(s: &str) -> Result<Record, String> {
    codec::parse_record(s)
}

/// The interface a user named: a name, an address, an index or `default`. An unknown
/// name is an OS error (exit 1) that lists the names there are.
pub fn interface(s: &str) -> Result<Interface, Failure> {
    Interface::lookup(s).map_err(|e| match e.kind() {
        mcast::socket::ErrorKind::NoSuchInterface => no_such_interface(s),
        _ => os(e),
    })
}

/// The one line every subcommand gives for a name no interface has (exit 1), with the
/// names there are where they can be listed.
pub fn no_such_interface(name: &str) -> Failure {
    let names = interface_names();
    let known = if names.is_empty() { String::new() } else { format!(" (there are: {})", names.join(", ")) };
    Failure::error(format!("no interface is named {name:?}{known}"))
}

/// How messages name an interface: as the user wrote it, with its index for a name.
pub fn interface_label(text: &str, interface: Interface) -> String {
    match interface {
        Interface::Index(i) if text.parse::<u32>().is_err() => format!("{text} (index {i})"),
        other => other.to_string(),
    }
}

/// The system's interface names, where they can be listed (Linux: /sys/class/net).
fn interface_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// An error of the socket adapter: exit 1.
pub fn os(e: mcast::socket::Error) -> Failure {
    Failure::error(e.to_string())
}

/// Where a subcommand prints: text or JSON lines on standard output.
pub struct Out {
    /// One JSON object per line.
    pub json: bool,
    stdout: std::io::Stdout,
}

impl Out {
    /// Prints one line.
    pub fn line(&mut self, line: &str) {
        let mut lock = self.stdout.lock();
        let _ = writeln!(lock, "{line}");
        let _ = lock.flush();
    }

    /// Prints text that ends with its own newline.
    pub fn text(&mut self, text: &str) {
        let mut lock = self.stdout.lock();
        let _ = write!(lock, "{text}");
        let _ = lock.flush();
    }
}

/// Why a subcommand failed, with its exit status.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// An operating-system error: exit 1.
    pub fn error(message: String) -> Failure {
        Failure { code: 1, message }
    }

    /// A command line that makes no sense: exit 2.
    pub fn usage(message: impl ToString) -> Failure {
        Failure { code: 2, message: message.to_string() }
    }

    /// Malformed input: exit 3.
    pub fn malformed(message: String) -> Failure {
        Failure { code: 3, message }
    }

    /// Problems found (`doctor`): exit 5.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub fn problems(message: String) -> Failure {
        Failure { code: 5, message }
    }

    /// Timed out: exit 4.
    pub fn timeout(message: String) -> Failure {
        Failure { code: 4, message }
    }
}

/// An option in seconds, e.g. `--timeout`.
pub fn seconds(option: &str, s: Option<f64>) -> Result<Option<Duration>, Failure> {
    s.map(|s| Duration::try_from_secs_f64(s).map_err(|_| Failure::usage(format!("{option} {s}: not a duration"))))
        .transpose()
}

fn run(command: Command) -> Result<(), Failure> {
    let out = |o: &Output| Out { json: o.json, stdout: std::io::stdout() };
    match command {
        Command::Map { group, output } => codec::map(&mut out(&output), group),
        Command::Encode { message } => {
            let (what, from) = match message {
                EncodeCommand::Query { group, version, max_resp, qrv, qqi, suppress, sources, from } => {
                    (codec::Encode::Query { group, version, max_resp, qrv, qqi, suppress, sources }, from)
                }
                EncodeCommand::Report { group, version, from } => (codec::Encode::Report { group, version }, from),
                EncodeCommand::Leave { group, from } => (codec::Encode::Leave { group }, from),
                EncodeCommand::V3Report { records, from } => (codec::Encode::V3Report { records }, from),
            };
            codec::encode(&mut out(&from.output), &what, from.src, from.src_mac)
        }
        Command::Decode { hex, pcap, output } => codec::decode(&mut out(&output), &hex, pcap.as_deref()),
        Command::Send(a) => {
            let mut o = out(&a.output);
            send::run(&mut o, a)
        }
        Command::Recv(a) => {
            let mut o = out(&a.output);
            recv::run(&mut o, a)
        }
        Command::Ping(a) => {
            let interface = interface(&a.interface)?;
            let end = match (a.count, a.duration) {
                (Some(n), _) => ping::End::Count(n),
                (None, Some(s)) => match Duration::try_from_secs_f64(s) {
                    Ok(d) if !d.is_zero() => ping::End::Duration(d),
                    _ => return Err(Failure::usage(format!("--duration {s}: not a duration"))),
                },
                (None, None) => ping::End::Interrupted,
            };
            let options = ping::Options {
                to: a.to,
                interface,
                interface_label: interface_label(&a.interface, interface),
                interval: Duration::from_millis(a.interval),
                end,
                ttl: a.ttl,
                size: usize::from(a.size),
            };
            ping::run(&mut out(&a.output), &options)
        }
        Command::Watch { interface, count, timeout, output } => {
            net::watch(&mut out(&output), &interface, count, seconds("--timeout", timeout)?)
        }
        Command::Querier(a) => {
            let timers = querier::Timers {
                version: a.version,
                robustness: a.robustness,
                query_interval: a.query_interval,
                query_response_interval: a.query_response_interval,
                group_membership_interval: a.group_membership_interval,
                other_querier_present_interval: a.other_querier_present_interval,
                startup_query_interval: a.startup_query_interval,
                startup_query_count: a.startup_query_count,
                last_member_query_interval: a.last_member_query_interval,
                last_member_query_count: a.last_member_query_count,
            };
            let proxy = a.source.is_some_and(|s| s.is_unspecified());
            let config = querier::config(&timers, proxy)?;
            let options = querier::Options { interfaces: a.interface, source: a.source, config, once: a.once };
            querier::run(&mut out(&a.output), options)
        }
        Command::Doctor { interface, duration, group, output } => {
            let duration = Duration::try_from_secs_f64(duration)
                .map_err(|_| Failure::usage(format!("--duration {duration}: not a duration")))?;
            doctor(&mut out(&output), &interface, duration, group)
        }
        Command::Sim { seed, no_figures, output } => sim::run(&mut out(&output), seed, no_figures),
    }
}

#[cfg(target_os = "linux")]
fn doctor(out: &mut Out, interface: &str, duration: Duration, group: GroupAddr) -> Result<(), Failure> {
    doctor::run(out, interface, duration, group.to_ipv4())
}

/// `mcast doctor` where there are no AF_PACKET sockets, /proc or /sys.
#[cfg(not(target_os = "linux"))]
fn doctor(_: &mut Out, _: &str, _: Duration, _: GroupAddr) -> Result<(), Failure> {
    Err(Failure::error(
        "doctor runs on Linux only (it captures IGMP on AF_PACKET sockets and reads /proc and /sys)".into(),
    ))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("mcast: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
