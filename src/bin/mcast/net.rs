//! `mcast watch`, and the live counter line the receiving subcommands draw.

use std::io::{IsTerminal, Write as _};

use std::time::{Duration, Instant};

use crate::{Failure, Out};

/// A live counter line on standard error, drawn only when it is a terminal.
pub struct Status {
    live: bool,
    started: Instant,
    drawn: Option<Instant>,
}

impl Status {
    pub fn new() -> Status {
        Status { live: std::io::stderr().is_terminal(), started: Instant::now(), drawn: None }
    }

    /// Redraws the line (at most ten times a second unless `force`).
    pub fn draw(&mut self, text: &str, force: bool) {
        if !self.live || (!force && self.drawn.is_some_and(|t| t.elapsed() < Duration::from_millis(100))) {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K[{:.1} s] {text}", self.started.elapsed().as_secs_f64());
        let _ = err.flush();
        self.drawn = Some(Instant::now());
    }

    /// Clears the line before other output.
    pub fn clear(&self) {
        if self.live && self.drawn.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }

    pub fn finish(&self, text: &str) {
        if self.live && self.drawn.is_some() {
            eprintln!("\r\x1b[K[{:.1} s] {text}", self.started.elapsed().as_secs_f64());
        }
    }
}

/// `mcast watch --interface NAME`.
#[cfg(target_os = "linux")]
pub fn watch(out: &mut Out, interface: &str, count: Option<u64>, timeout: Option<Duration>) -> Result<(), Failure> {
    use mcast::socket::ErrorKind;
    use mcast::socket::linux::{Direction, IgmpMonitor};

    use crate::json::Object;
    use crate::os;

    if mcast::socket::interface_index(interface).is_err_and(|e| e.kind() == ErrorKind::NoSuchInterface) {
        return Err(crate::no_such_interface(interface));
    }
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
