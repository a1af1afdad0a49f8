//! `mcast doctor -i IFACE`: listens to the IGMP of a Linux link for a while, sending
//! nothing, reads what the host's kernel says about the interface, and reports what is
//! wrong.
//!
//! [`link`] gathers what the link said ([`Heard`]: queriers, reporters, malformed
//! frames), [`host`] reads what the host says ([`Local`]: flags, sysctls, routes,
//! memberships), and [`report`] turns both into findings ([`diagnose`]) printed as text
//! or as one JSON object. Only [`run`] and [`Local::read`] touch the system.

mod host;
mod link;
mod report;

#[cfg(test)]
mod fixtures;

use std::net::Ipv4Addr;
use std::time::Duration;

use host::Local;
use link::Heard;
use report::{diagnose, secs};

/// `mcast doctor --interface NAME`: listens for `duration` (or until SIGINT or SIGTERM),
/// then prints the report. Exit status 5 when it found a problem.
pub fn run(out: &mut crate::Out, interface: &str, duration: Duration, group: Ipv4Addr) -> Result<(), crate::Failure> {
    use std::time::Instant;

    use mcast::socket::ErrorKind;
    use mcast::socket::linux::IgmpMonitor;

    use crate::Failure;

    let index = std::fs::read_to_string(format!("/sys/class/net/{interface}/ifindex"))
        .ok()
        .and_then(|i| i.trim().parse::<u32>().ok())
        .filter(|_| !interface.is_empty() && !interface.contains('/'))
        .ok_or_else(|| crate::no_such_interface(interface))?;
    let monitor = IgmpMonitor::open(interface).map_err(|e| Failure::error(e.to_string()))?;
    crate::interrupt::catch();
    eprintln!(
        "listening to IGMP on {interface} (index {index}) for {} s, sending nothing (Ctrl-C reports sooner)",
        secs(duration.as_secs_f64())
    );
    let started = Instant::now();
    let deadline = started + duration;
    let mut heard = Heard::default();
    let mut buf = vec![0u8; 65536];
    while let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
        if crate::interrupt::requested() {
            break;
        }
        // Short waits: a signal that arrives between the check above and the wait does
        // not interrupt the wait, and is seen when it ends.
        monitor.set_timeout(Some(left.min(Duration::from_millis(250)))).map_err(|e| Failure::error(e.to_string()))?;
        match monitor.next_frame(&mut buf) {
            Ok(c) => heard.frame(started.elapsed(), c.bytes),
            Err(e) if e.kind() == ErrorKind::TimedOut => {}
            // A signal interrupts a capture with a timeout (SA_RESTART does not restart it).
            Err(_) if crate::interrupt::requested() => break,
            Err(e) => return Err(Failure::error(e.to_string())),
        }
    }
    let listened = started.elapsed();
    let sources = heard.sources();
    let local = Local::read(interface, index, group, &sources);
    let report = diagnose(heard, local, listened);
    if out.json {
        out.line(&report.json());
    } else {
        out.text(&report.text());
    }
    match report.problems() {
        0 => Ok(()),
        n => Err(Failure::problems(format!("{n} problem(s) found on {interface}"))),
    }
}
