//! `mcast send`, `mcast recv` and `mcast watch`: the socket adapter from the command line.

use std::io::{IsTerminal, Write as _};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use mcast::GroupAddr;
use mcast::socket::{ErrorKind, Interface, MulticastSocket};

use crate::json::Object;
use crate::{Failure, Out};

/// A live counter line on standard error, drawn only when it is a terminal.
struct Status {
    live: bool,
    started: Instant,
    drawn: Option<Instant>,
}

impl Status {
    fn new() -> Status {
        Status { live: std::io::stderr().is_terminal(), started: Instant::now(), drawn: None }
    }

    /// Redraws the line (at most ten times a second unless `force`).
    fn draw(&mut self, text: &str, force: bool) {
        if !self.live || (!force && self.drawn.is_some_and(|t| t.elapsed() < Duration::from_millis(100))) {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K[{:.1} s] {text}", self.started.elapsed().as_secs_f64());
        let _ = err.flush();
        self.drawn = Some(Instant::now());
    }

    /// Clears the line before other output.
    fn clear(&self) {
        if self.live && self.drawn.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }

    fn finish(&self, text: &str) {
        if self.live && self.drawn.is_some() {
            eprintln!("\r\x1b[K[{:.1} s] {text}", self.started.elapsed().as_secs_f64());
        }
    }
}

fn os(e: mcast::socket::Error) -> Failure {
    Failure::error(e.to_string())
}

/// `mcast send GROUP:PORT …`.
#[allow(clippy::too_many_arguments)]
pub fn send(
    out: &mut Out,
    to: SocketAddrV4,
    ttl: u8,
    interface: Interface,
    loopback: bool,
    count: u64,
    interval: Duration,
    message: Option<&str>,
) -> Result<(), Failure> {
    let group = GroupAddr::from_ipv4(*to.ip()).map_err(|e| Failure::usage(format!("{}: {e}", to.ip())))?;
    let mut socket = MulticastSocket::bind(0).map_err(os)?;
    socket.set_ttl(ttl).map_err(os)?;
    socket.set_interface(interface).map_err(os)?;
    socket.set_loopback(loopback).map_err(os)?;
    for seq in 1..=count {
        if seq > 1 {
            std::thread::sleep(interval);
        }
        let payload = message.map_or_else(|| format!("mcast {seq}"), str::to_owned);
        let sent = socket.send_to(payload.as_bytes(), group, to.port()).map_err(os)?;
        if out.json {
            out.line(
                &Object::new()
                    .num("seq", seq)
                    .str("to", to.to_string())
                    .num("from_port", socket.local_port())
                    .num("len", sent)
                    .num("ttl", ttl)
                    .str("interface", interface.to_string())
                    .num("loop", loopback)
                    .finish(),
            );
        } else {
            out.line(&format!(
                "sent {sent} octets to {to} (ttl {ttl}, interface {interface}, loop {})",
                if loopback { "on" } else { "off" }
            ));
        }
    }
    Ok(())
}

/// `mcast recv GROUP:PORT …`.
pub fn recv(
    out: &mut Out,
    on: SocketAddrV4,
    interface: Interface,
    source: Option<Ipv4Addr>,
    loopback: bool,
    count: Option<u64>,
    timeout: Option<Duration>,
) -> Result<(), Failure> {
    let group = GroupAddr::from_ipv4(*on.ip()).map_err(|e| Failure::usage(format!("{}: {e}", on.ip())))?;
    let mut socket = MulticastSocket::bind(on.port()).map_err(os)?;
    socket.set_loopback(loopback).map_err(os)?;
    match source {
        Some(source) => socket.join_source(group, source, interface).map_err(os)?,
        None => socket.join(group, interface).map_err(os)?,
    };
    let from = source.map(|s| format!(" from {s}")).unwrap_or_default();
    eprintln!("listening on {on}{from} (interface {interface}, loop {})", if loopback { "on" } else { "off" });
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut status = Status::new();
    let (mut received, mut octets) = (0u64, 0u64);
    let mut buf = vec![0u8; 65536];
    while count.is_none_or(|c| received < c) {
        let slice = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left.min(Duration::from_secs(1)),
                _ => break,
            },
            None => Duration::from_secs(1),
        };
        socket.set_read_timeout(Some(slice)).map_err(os)?;
        let d = match socket.recv(&mut buf) {
            Ok(d) => d,
            Err(e) if e.kind() == ErrorKind::TimedOut => {
                status.draw(&format!("{received} datagrams, {octets} octets on {on}"), true);
                continue;
            }
            Err(e) => return Err(os(e)),
        };
        received += 1;
        octets += d.len as u64;
        let text = String::from_utf8_lossy(&buf[..d.len]);
        status.clear();
        let to = d.destination.map_or_else(|| "?".to_string(), |a| a.to_string());
        if out.json {
            out.line(
                &Object::new()
                    .num("seq", received)
                    .str("from", d.source.to_string())
                    .str("to", &to)
                    .opt_str("interface", d.interface_index.map(|i| i.to_string()))
                    .num("len", d.len)
                    .str("text", &text)
                    .finish(),
            );
        } else {
            let via = d.interface_index.map(|i| format!(" via interface {i}")).unwrap_or_default();
            out.line(&format!("from {} to {to}{via}: {} octets: {}", d.source, d.len, text.escape_debug()));
        }
        status.draw(&format!("{received} datagrams, {octets} octets on {on}"), true);
    }
    status.finish(&format!("{received} datagrams, {octets} octets on {on}"));
    let wanted = count.unwrap_or(1);
    if received < wanted {
        return Err(Failure::timeout(format!(
            "timed out after {:.1} s with {received} of {wanted} datagram(s) on {on}",
            timeout.unwrap_or_default().as_secs_f64()
        )));
    }
    Ok(())
}

/// `mcast watch --interface NAME`.
#[cfg(target_os = "linux")]
pub fn watch(out: &mut Out, interface: &str, count: Option<u64>, timeout: Option<Duration>) -> Result<(), Failure> {
    use mcast::socket::linux::{Direction, IgmpMonitor};

    let monitor = IgmpMonitor::open(interface).map_err(os)?;
    eprintln!("watching IGMP on {interface} (index {})", monitor.index());
    let deadline = timeout.map(|t| Instant::now() + t);
    let started = Instant::now();
    let mut status = Status::new();
    let (mut frames, mut malformed) = (0u64, 0u64);
    let mut buf = vec![0u8; 65536];
    while count.is_none_or(|c| frames < c) {
        let slice = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left.min(Duration::from_secs(1)),
                _ => break,
            },
            None => Duration::from_secs(1),
        };
        monitor.set_timeout(Some(slice)).map_err(os)?;
        let captured = match monitor.next_frame(&mut buf) {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::TimedOut => {
                status.draw(&format!("{frames} IGMP frames ({malformed} malformed) on {interface}"), true);
                continue;
            }
            Err(e) => return Err(os(e)),
        };
        frames += 1;
        let at = started.elapsed().as_secs_f64();
        let dir = if captured.direction == Direction::Out { "out" } else { "in" };
        status.clear();
        match &captured.frame {
            Ok(f) => {
                if out.json {
                    let obj = Object::new()
                        .num("time", format!("{at:.6}"))
                        .str("direction", dir)
                        .num("len", captured.bytes.len());
                    out.line(&crate::codec::frame_json(obj, f, captured.bytes).finish());
                } else {
                    let notes = crate::codec::link_notes(f);
                    let notes = if notes.is_empty() { String::new() } else { format!("  [{}]", notes.join(", ")) };
                    out.line(&format!(
                        "{at:>10.3}  {dir:<3}  {} > {}  {}{notes}",
                        f.ipv4.src_addr, f.ipv4.dst_addr, f.igmp
                    ));
                }
            }
            Err(e) => {
                malformed += 1;
                if out.json {
                    out.line(
                        &Object::new()
                            .num("time", format!("{at:.6}"))
                            .str("direction", dir)
                            .num("len", captured.bytes.len())
                            .str("error", e.to_string())
                            .finish(),
                    );
                } else {
                    out.line(&format!("{at:>10.3}  {dir:<3}  malformed ({} octets): {e}", captured.bytes.len()));
                }
            }
        }
        status.draw(&format!("{frames} IGMP frames ({malformed} malformed) on {interface}"), true);
    }
    status.finish(&format!("{frames} IGMP frames ({malformed} malformed) on {interface}"));
    let wanted = count.unwrap_or(1);
    if frames < wanted {
        return Err(Failure::timeout(format!(
            "timed out after {:.1} s with {frames} of {wanted} IGMP frame(s) on {interface}",
            timeout.unwrap_or_default().as_secs_f64()
        )));
    }
    Ok(())
}

/// `mcast watch` where there is no AF_PACKET.
#[cfg(not(target_os = "linux"))]
pub fn watch(_: &mut Out, _: &str, _: Option<u64>, _: Option<Duration>) -> Result<(), Failure> {
    Err(Failure::error("watch captures with Linux AF_PACKET sockets and is not available on this system".into()))
}
