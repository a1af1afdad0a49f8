//! `mcast recv`: join groups and count what arrives, per group, sender and stream.

use std::io::{IsTerminal as _, Write as _};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use clap::Args;
use mcast::GroupAddr;
use mcast::socket::probe::{self, Kind, Probe};
use mcast::socket::{ErrorKind, MulticastSocket, RecvBatch};

use crate::json::Object;
use crate::net::Status;
use crate::tally::{Key, Row, Tally};
use crate::{Failure, OnOff, Out, Output, interface, interface_label, os, targets};

/// The arguments of `mcast recv`.
#[derive(Debug, Args)]
pub struct RecvArgs {
    /// Groups and UDP port to receive on: GROUP:PORT, or GROUP+N:PORT for N consecutive
    /// groups; all on one port (the socket binds 0.0.0.0:PORT)
    #[arg(required = true, value_name = "GROUP:PORT")]
    on: Vec<String>,
    /// Interface to join on: a name (eth0), an IPv4 address or an index ("default" lets
    /// the route decide)
    #[arg(long, short, value_name = "IFACE", default_value = "default")]
    interface: String,
    /// Join for this source only (source-specific multicast), in every group
    #[arg(long, value_name = "IP")]
    source: Option<Ipv4Addr>,
    /// Local copies: whether datagrams sent from this host are received
    #[arg(long = "loop", value_enum, default_value_t = OnOff::On)]
    loopback: OnOff,
    /// Stop after this many datagrams, all groups together
    #[arg(long, short = 'n')]
    count: Option<u64>,
    /// Stop after this many seconds (exit 4 if fewer than --count arrived)
    #[arg(long, value_name = "S")]
    timeout: Option<f64>,
    /// Print only the summary (and, on a terminal, the live table), not a line per
    /// datagram
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    pub output: Output,
}

/// How the targets read in messages: every group when few, else the range.
fn label(on: &[SocketAddrV4]) -> String {
    match on {
        [one] => one.to_string(),
        [first, .., last] if on.len() > 4 => {
            format!("{} groups {}..{}:{}", on.len(), first.ip(), last.ip(), first.port())
        }
        _ => on.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "),
    }
}

/// `mcast recv GROUP:PORT …`.
pub fn run(out: &mut Out, a: RecvArgs) -> Result<(), Failure> {
    let on = targets::parse_all(&a.on).map_err(Failure::usage)?;
    let port = on[0].port();
    if let Some(other) = on.iter().find(|t| t.port() != port) {
        return Err(Failure::usage(format!(
            "{}:{} and {other}: every group must be on the same UDP port (one socket)",
            on[0].ip(),
            port
        )));
    }
    let timeout = crate::seconds("--timeout", a.timeout)?;
    let iface = interface(&a.interface)?;
    let loopback = a.loopback == OnOff::On;
    let mut socket = MulticastSocket::bind(port).map_err(os)?;
    socket.set_loopback(loopback).map_err(os)?;
    for t in &on {
        let group = GroupAddr::from_ipv4(*t.ip()).map_err(|e| Failure::usage(format!("{t}: {e}")))?;
        match a.source {
            Some(source) => socket.join_source(group, source, iface).map_err(os)?,
            None => socket.join(group, iface).map_err(os)?,
        };
    }
    let what = label(&on);
    let from = a.source.map(|s| format!(" from {s}")).unwrap_or_default();
    eprintln!(
        "listening on {what}{from} (interface {}, loop {})",
        interface_label(&a.interface, iface),
        if loopback { "on" } else { "off" }
    );

    crate::interrupt::catch();
    let live = !out.json && std::io::stdout().is_terminal();
    let mut table = LiveTable::default();
    let mut status = Status::new();
    let started = Instant::now();
    let deadline = timeout.map(|t| started + t);
    let mut tally = Tally::default();
    let mut octets = 0u64;
    // Up to 32 datagrams a system call (Linux), each up to the largest UDP payload.
    let mut batch = RecvBatch::new(32, 65_536);
    // The read timeout wakes the loop to redraw and to check the deadline. It is set
    // again only when the deadline is nearer than a whole slice: a system call per
    // datagram would cost a good part of the receive rate.
    const SLICE: Duration = Duration::from_millis(250);
    let mut read_timeout = None;
    let mut interrupted = false;
    while a.count.is_none_or(|c| tally.datagrams() < c) {
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
        let slice = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left.min(SLICE),
                _ => break,
            },
            None => SLICE,
        };
        if read_timeout != Some(slice) && (slice < SLICE || read_timeout.is_none()) {
            socket.set_read_timeout(Some(slice)).map_err(os)?;
            read_timeout = Some(slice);
        }
        match socket.recv_batch(&mut batch) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::TimedOut => {
                if live {
                    table.draw(out, &tally, true);
                } else {
                    status.draw(&format!("{} datagrams, {octets} octets on {what}", tally.datagrams()), true);
                }
                continue;
            }
            // A signal interrupts a receive with a timeout even with SA_RESTART.
            Err(_) if crate::interrupt::requested() => {
                interrupted = true;
                break;
            }
            Err(e) => return Err(os(e)),
        }
        // One clock reading per batch: its datagrams were queued by the time it came.
        let (at, wall) = (Instant::now(), probe::wall_clock());
        for (d, payload) in batch.iter() {
            if a.count.is_some_and(|c| tally.datagrams() >= c) {
                break;
            }
            let to = d.destination.unwrap_or(Ipv4Addr::UNSPECIFIED);
            tally.record(to, d.source, payload, at, wall);
            octets += d.len as u64;
            if !live && !a.quiet {
                status.clear();
                print_datagram(out, tally.datagrams(), d, payload, wall);
            }
        }
        if live {
            table.draw(out, &tally, false);
        } else {
            status.draw(&format!("{} datagrams, {octets} octets on {what}", tally.datagrams()), false);
        }
    }
    if live {
        table.clear(out);
    }
    status.finish(&format!("{} datagrams, {octets} octets on {what}", tally.datagrams()));
    print_summary(out, &tally);
    let wanted = a.count.unwrap_or(1);
    if tally.datagrams() < wanted && !(interrupted && tally.datagrams() > 0) {
        let (how, after) = match interrupted {
            true => ("stopped", started.elapsed()),
            false => ("timed out", timeout.unwrap_or_default()),
        };
        return Err(Failure::timeout(format!(
            "{how} after {:.1} s with {} of {wanted} datagram(s) on {what}",
            after.as_secs_f64(),
            tally.datagrams()
        )));
    }
    Ok(())
}

fn print_datagram(out: &mut Out, n: u64, d: &mcast::socket::Datagram, payload: &[u8], wall: Duration) {
    let probe = Probe::parse(payload).filter(|p| p.kind == Kind::Data);
    let text = String::from_utf8_lossy(if probe.is_some() { &payload[probe::LEN..] } else { payload });
    let text = text.trim_end_matches('\0');
    let to = d.destination.map_or_else(|| "?".to_string(), |a| a.to_string());
    let delay_ms = |p: &Probe| (wall.as_nanos() as f64 - p.sent.as_nanos() as f64) / 1e6;
    if out.json {
        let probe = probe.map(|p| {
            Object::new()
                .str("stream", format!("{:08x}", p.stream))
                .num("seq", p.seq)
                .num("ttl", p.ttl)
                .num("delay_ms", format!("{:.3}", delay_ms(&p)))
                .finish()
        });
        out.line(
            &Object::new()
                .str("kind", "datagram")
                .num("n", n)
                .str("from", d.source.to_string())
                .str("to", &to)
                .opt_str("interface", d.interface_index.map(|i| i.to_string()))
                .num("len", d.len)
                .raw("probe", probe.as_deref().unwrap_or("null"))
                .str("text", text)
                .finish(),
        );
    } else {
        let via = d.interface_index.map(|i| format!(" via interface {i}")).unwrap_or_default();
        let what = match probe {
            Some(p) => format!("stream {:08x} seq {} delay {:.3} ms", p.stream, p.seq, delay_ms(&p)),
            None => text.escape_debug().to_string(),
        };
        out.line(&format!("from {} to {to}{via}: {} octets: {what}", d.source, d.len));
    }
}

/// The table's heading.
const HEADING: &str = "group            sender                 stream      received      lost   dup  reord  late    rate/s  delay ms min/avg/max/sd";

/// One table row.
fn row_text(key: &Key, row: &Row) -> String {
    let c = row.counts();
    let rate = row.rate().map_or_else(|| "-".to_string(), |r| format!("{r:.1}"));
    let (stream, lost, dup, reord, late, delay) = match key.stream {
        Some(s) => {
            let share = 100.0 * c.lost as f64 / row.sequence.expected().max(1) as f64;
            let delay = row
                .delay
                .get()
                .map_or_else(|| "-".to_string(), |(min, avg, max, sd)| format!("{min:.3}/{avg:.3}/{max:.3}/{sd:.3}"));
            (
                format!("{s:08x}"),
                format!("{} ({share:.1}%)", c.lost),
                c.duplicated.to_string(),
                c.reordered.to_string(),
                c.late.to_string(),
                delay,
            )
        }
        None => ("-".into(), "-".into(), "-".into(), "-".into(), "-".into(), "-".into()),
    };
    format!(
        "{:<16} {:<22} {stream:<8} {:>11} {lost:>13} {dup:>5} {reord:>6} {late:>5} {rate:>9}  {delay}",
        key.group.to_string(),
        key.sender.to_string(),
        row.datagrams
    )
}

fn print_summary(out: &mut Out, tally: &Tally) {
    let rows = tally.rows();
    if rows.is_empty() {
        return;
    }
    if out.json {
        for (key, row) in rows {
            out.line(&summary_json(key, row));
        }
        return;
    }
    let mut text = format!("{HEADING}\n");
    for (key, row) in rows {
        text.push_str(&row_text(key, row));
        text.push('\n');
    }
    out.text(&text);
}

/// One row of the final summary as JSON.
pub fn summary_json(key: &Key, row: &Row) -> String {
    let c = row.counts();
    let o = Object::new()
        .str("kind", "summary")
        .str("group", key.group.to_string())
        .str("sender", key.sender.to_string())
        .opt_str("stream", key.stream.map(|s| format!("{s:08x}")))
        .num("received", row.datagrams)
        .num("octets", row.octets)
        .raw("rate", &row.rate().map_or_else(|| "null".into(), |r| format!("{r:.1}")));
    if key.stream.is_none() {
        return o.finish();
    }
    let delay = row.delay.get().map_or_else(
        || "null".to_string(),
        |(min, avg, max, sd)| {
            Object::new()
                .num("min", format!("{min:.3}"))
                .num("avg", format!("{avg:.3}"))
                .num("max", format!("{max:.3}"))
                .num("stddev", format!("{sd:.3}"))
                .finish()
        },
    );
    o.num("expected", row.sequence.expected())
        .num("lost", c.lost)
        .num("duplicated", c.duplicated)
        .num("reordered", c.reordered)
        .num("late", c.late)
        .raw("delay_ms", &delay)
        .finish()
}

/// The most rows the live table shows.
const LIVE_ROWS: usize = 20;

/// The table on a terminal, redrawn in place at most ten times a second.
#[derive(Default)]
struct LiveTable {
    lines: usize,
    drawn: Option<Instant>,
}

impl LiveTable {
    fn draw(&mut self, out: &mut Out, tally: &Tally, force: bool) {
        if !force && self.drawn.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) {
            return;
        }
        let rows = tally.rows();
        let mut text = String::new();
        self.erase(&mut text);
        text.push_str(HEADING);
        text.push('\n');
        for (key, row) in rows.iter().take(LIVE_ROWS) {
            text.push_str(&row_text(key, row));
            text.push('\n');
        }
        self.lines = rows.len().min(LIVE_ROWS) + 1;
        if rows.len() > LIVE_ROWS {
            // More lines than a screen holds could not be redrawn in place.
            text.push_str(&format!("… and {} more rows, all in the summary at the end\n", rows.len() - LIVE_ROWS));
            self.lines += 1;
        }
        out.text(&text);
        self.drawn = Some(Instant::now());
    }

    fn erase(&self, text: &mut String) {
        if self.lines > 0 {
            // Up to the table's first line, then clear to the end of the screen.
            text.push_str(&format!("\x1b[{}A\r\x1b[J", self.lines));
        }
    }

    fn clear(&mut self, out: &mut Out) {
        let mut text = String::new();
        self.erase(&mut text);
        self.lines = 0;
        out.text(&text);
        let _ = std::io::stdout().flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_as_the_heading_says() {
        let mut t = Tally::default();
        let now = Instant::now();
        let sender: SocketAddrV4 = "10.99.0.1:40000".parse().unwrap();
        let g = Ipv4Addr::new(239, 1, 2, 3);
        for (i, seq) in [1u64, 2, 4, 3, 3].into_iter().enumerate() {
            let mut buf = [0u8; 32];
            let p = Probe { kind: Kind::Data, ttl: 1, stream: 0xab, seq, sent: Duration::from_secs(100), aux: 0 };
            p.write(&mut buf).unwrap();
            let at = now + Duration::from_millis(250 * i as u64);
            t.record(g, sender, &buf, at, Duration::from_secs(100) + Duration::from_micros(500 + 100 * i as u64));
        }
        t.record(g, sender, b"x", now, Duration::ZERO);
        let rows = t.rows();
        assert_eq!(
            row_text(rows[0].0, rows[0].1),
            "239.1.2.3        10.99.0.1:40000        -                  1             -     -      -     -         -  -"
        );
        assert_eq!(
            row_text(rows[1].0, rows[1].1),
            "239.1.2.3        10.99.0.1:40000        000000ab           5      0 (0.0%)     1      1     0       4.0  0.500/0.700/0.900/0.141"
        );
        assert_eq!(
            summary_json(rows[1].0, rows[1].1),
            r#"{"kind":"summary","group":"239.1.2.3","sender":"10.99.0.1:40000","stream":"000000ab","received":5,"octets":160,"rate":4.0,"expected":4,"lost":0,"duplicated":1,"reordered":1,"late":0,"delay_ms":{"min":0.500,"avg":0.700,"max":0.900,"stddev":0.141}}"#
        );
        assert_eq!(
            summary_json(rows[0].0, rows[0].1),
            r#"{"kind":"summary","group":"239.1.2.3","sender":"10.99.0.1:40000","stream":null,"received":1,"octets":1,"rate":null}"#
        );
        assert_eq!(
            HEADING.find("received").map(|i| i + "received".len()),
            Some(row_text(rows[1].0, rows[1].1).find("5 ").unwrap() + 1)
        );
    }

    #[test]
    fn targets_read_as_a_list_or_a_range() {
        let t = targets::parse("239.1.2.3+5:5000").unwrap();
        assert_eq!(label(&t[..1]), "239.1.2.3:5000");
        assert_eq!(label(&t[..2]), "239.1.2.3:5000, 239.1.2.4:5000");
        assert_eq!(label(&t), "5 groups 239.1.2.3..239.1.2.7:5000");
    }
}
