//! `mcast send`: numbered datagrams to one or more groups, at a steady rate.

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use clap::Args;
use mcast::GroupAddr;
use mcast::socket::MulticastSocket;
use mcast::socket::probe::{self, Kind, Probe};

use crate::json::Object;
use crate::{Failure, OnOff, Out, Output, interface, interface_label, os, targets};

/// The arguments of `mcast send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Destination groups and UDP port: GROUP:PORT, or GROUP+N:PORT for N consecutive
    /// groups (239.1.2.3+16:5000 is 239.1.2.3 to 239.1.2.18)
    #[arg(required = true, value_name = "GROUP:PORT")]
    to: Vec<String>,
    /// IP time-to-live of the datagrams: 1 stays on the link
    #[arg(long, default_value_t = 1)]
    ttl: u8,
    /// Outgoing interface: a name (eth0), an IPv4 address or an index ("default" lets the
    /// route decide)
    #[arg(long, short, value_name = "IFACE", default_value = "default")]
    interface: String,
    /// Local copies: whether receivers on this host get the datagrams
    #[arg(long = "loop", value_enum, default_value_t = OnOff::On)]
    loopback: OnOff,
    /// How many datagrams to send to each group [default: 1, or unlimited with --duration]
    #[arg(long, short = 'n')]
    count: Option<u64>,
    /// Stop after this many seconds
    #[arg(long, value_name = "S")]
    duration: Option<f64>,
    /// Datagrams per second, all groups together (each round sends one to every group)
    #[arg(long, value_name = "PER_S", conflicts_with = "interval")]
    rate: Option<f64>,
    /// Milliseconds between rounds (one datagram to every group) [default: 1000]
    #[arg(long, value_name = "MS")]
    interval: Option<u64>,
    /// Datagram size in octets: the 32-octet header, the message, then zero padding
    /// [default: as long as header and message]
    #[arg(long, value_name = "OCTETS")]
    size: Option<usize>,
    /// Text carried after the header (with --raw, the whole payload)
    #[arg(long, value_name = "TEXT")]
    message: Option<String>,
    /// Send the message alone, without the header ("mcast N" when no --message): for
    /// receivers that are not `mcast recv`; nothing can count loss then
    #[arg(long)]
    raw: bool,
    /// Print only the summary, not a line per datagram
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    pub output: Output,
}

/// `mcast send GROUP:PORT …`.
pub fn run(out: &mut Out, a: SendArgs) -> Result<(), Failure> {
    let to = targets::parse_all(&a.to).map_err(Failure::usage)?;
    let iface = interface(&a.interface)?;
    let round = match (a.rate, a.interval) {
        (Some(r), _) if !(r.is_finite() && r > 0.0) => return Err(Failure::usage(format!("--rate {r}: not a rate"))),
        (Some(r), _) => Duration::try_from_secs_f64(to.len() as f64 / r)
            .map_err(|_| Failure::usage(format!("--rate {r}: not a rate")))?,
        (None, Some(ms)) => Duration::from_millis(ms),
        (None, None) => Duration::from_secs(1),
    };
    let duration = crate::seconds("--duration", a.duration)?;
    let count = a.count.or(if duration.is_some() { None } else { Some(1) });
    let message = a.message.as_deref().unwrap_or_default().as_bytes();
    let header = if a.raw { 0 } else { probe::LEN };
    let size = a.size.unwrap_or(header + message.len());
    if size < header {
        return Err(Failure::usage(format!("--size {size}: the header alone takes {header} octets")));
    }
    if size > 65_507 {
        return Err(Failure::usage(format!("--size {size}: a UDP datagram over IPv4 holds at most 65507 octets")));
    }

    let mut socket = MulticastSocket::bind(0).map_err(os)?;
    socket.set_ttl(a.ttl).map_err(os)?;
    socket.set_interface(iface).map_err(os)?;
    socket.set_loopback(a.loopback == OnOff::On).map_err(os)?;
    let stream = probe::new_stream();
    let loop_text = if a.loopback == OnOff::On { "on" } else { "off" };
    let iface_text = interface_label(&a.interface, iface);
    let groups: Vec<(GroupAddr, u16)> = to
        .iter()
        .map(|t| GroupAddr::from_ipv4(*t.ip()).map(|g| (g, t.port())).map_err(|e| Failure::usage(format!("{t}: {e}"))))
        .collect::<Result<_, _>>()?;
    // The header goes in per datagram; the message and the padding stay.
    let mut buf = vec![0u8; size];
    if !a.raw {
        let m = message.len().min(size - header);
        buf[header..header + m].copy_from_slice(&message[..m]);
    }
    let started = Instant::now();
    let (mut sent, mut octets, mut rounds) = (0u64, 0u64, 0u64);
    let (mut first, mut last) = (None, started);
    'rounds: loop {
        if count.is_some_and(|c| rounds >= c) {
            break;
        }
        for (i, target) in to.iter().enumerate() {
            // Datagram k of the run leaves at k × round / groups: an absolute schedule,
            // so a late wake-up is made up at once and the rate holds over the run.
            let due = round.mul_f64(rounds as f64 + i as f64 / to.len() as f64);
            if duration.is_some_and(|d| due >= d) {
                break 'rounds;
            }
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
            let seq = rounds + 1;
            let payload: &[u8] = if a.raw {
                buf.clear();
                match &a.message {
                    Some(m) => buf.extend_from_slice(m.as_bytes()),
                    None => buf.extend_from_slice(format!("mcast {seq}").as_bytes()),
                }
                if let Some(size) = a.size {
                    buf.resize(size, 0);
                }
                &buf
            } else {
                let p = Probe { kind: Kind::Data, ttl: a.ttl, stream, seq, sent: probe::wall_clock(), aux: 0 };
                let _ = p.write(&mut buf);
                &buf[..size]
            };
            let (group, port) = groups[i];
            let n = socket.send_to(payload, group, port).map_err(os)?;
            sent += 1;
            octets += n as u64;
            last = Instant::now();
            first.get_or_insert(last);
            if !a.quiet {
                print_sent(out, target, seq, stream, n, a.ttl, &iface_text, loop_text, a.raw);
            }
        }
        rounds += 1;
    }
    // The rate between the first datagram and the last: what the schedule held.
    let secs = first.map_or(0.0, |f| last.duration_since(f).as_secs_f64());
    let rate = if secs > 0.0 { (sent - 1) as f64 / secs } else { 0.0 };
    if out.json {
        out.line(
            &Object::new()
                .str("kind", "summary")
                .num("sent", sent)
                .num("octets", octets)
                .num("groups", to.len())
                .num("seconds", format!("{secs:.3}"))
                .num("rate", format!("{rate:.1}"))
                .opt_str("stream", (!a.raw).then(|| format!("{stream:08x}")))
                .finish(),
        );
    } else if a.quiet || sent > 1 {
        eprintln!(
            "sent {sent} datagrams ({octets} octets) to {} group(s) over {secs:.3} s: {rate:.1} datagrams/s",
            to.len()
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn print_sent(
    out: &mut Out,
    to: &SocketAddrV4,
    seq: u64,
    stream: u32,
    len: usize,
    ttl: u8,
    iface: &str,
    loop_text: &str,
    raw: bool,
) {
    if out.json {
        out.line(
            &Object::new()
                .str("kind", "datagram")
                .num("seq", seq)
                .str("to", to.to_string())
                .opt_str("stream", (!raw).then(|| format!("{stream:08x}")))
                .num("len", len)
                .num("ttl", ttl)
                .str("interface", iface)
                .num("loop", loop_text == "on")
                .finish(),
        );
    } else {
        let what = if raw { String::new() } else { format!(" (stream {stream:08x} seq {seq})") };
        out.line(&format!("sent {len} octets to {to}{what} (ttl {ttl}, interface {iface}, loop {loop_text})"));
    }
}
