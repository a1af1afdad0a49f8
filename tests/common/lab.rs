//! Network namespaces for the tests that run the `mcast` tool against the Linux kernel:
//! made by each test, named after it and the process id, deleted when it ends (also
//! when it fails). Included with `#[path = "common/lab.rs"] mod lab;` by the test
//! crates that need the `mcast` binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

pub const MCAST: &str = env!("CARGO_BIN_EXE_mcast");

/// Whether the lab can be built here; if not, says why (and fails under CI).
pub fn lab_available() -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false);
    let ip = Command::new("ip").arg("-V").output().is_ok_and(|o| o.status.success());
    let why = match (root, ip) {
        (true, true) => return true,
        (false, _) => "not running as root (network namespaces need CAP_SYS_ADMIN)",
        (true, false) => "`ip` (iproute2) is not installed",
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true: the namespace tests must run, but {why}");
    }
    println!("skipped: {why}");
    false
}

/// Network namespaces that are deleted (with every link in them) when dropped.
pub struct Lab {
    prefix: String,
    namespaces: Vec<String>,
}

impl Lab {
    pub fn new(test: &str) -> Lab {
        Lab { prefix: format!("mc{}{test}", std::process::id()), namespaces: Vec::new() }
    }

    /// Creates namespace `name` (with `lo` up) and returns its full name.
    pub fn namespace(&mut self, name: &str) -> String {
        let full = format!("{}{name}", self.prefix);
        ip(&["netns", "add", &full]);
        self.namespaces.push(full.clone());
        ip(&["-n", &full, "link", "set", "lo", "up"]);
        full
    }

    /// A namespace `name` on a port of the bridge `br0` in namespace `sw`: `v{name}`
    /// with `addr`/24 (the port is `p{name}`), its kernel at IGMPv3 (the default) or
    /// forced to IGMP version `force`, repeating unsolicited IGMPv2 reports after 0.5 s
    /// rather than 10 s.
    pub fn attach(&mut self, sw: &str, name: &str, addr: &str, force: Option<u8>) -> String {
        let ns = self.namespace(name);
        let (port, dev) = (format!("p{name}"), format!("v{name}"));
        ip(&["link", "add", &port, "netns", sw, "type", "veth", "peer", "name", &dev, "netns", &ns]);
        ip(&["-n", sw, "link", "set", &port, "master", "br0"]);
        ip(&["-n", sw, "link", "set", &port, "up"]);
        ip(&["-n", &ns, "addr", "add", &format!("{addr}/24"), "dev", &dev]);
        let mut sysctls = vec![format!("net.ipv4.conf.{dev}.igmpv2_unsolicited_report_interval=500")];
        if let Some(v) = force {
            sysctls.push(format!("net.ipv4.conf.all.force_igmp_version={v}"));
            sysctls.push(format!("net.ipv4.conf.{dev}.force_igmp_version={v}"));
        }
        for s in &sysctls {
            exec(&ns, "sysctl", &["-qw", s]);
        }
        ip(&["-n", &ns, "link", "set", &dev, "up"]);
        ns
    }

    /// `mcast ARGS` inside namespace `ns`, waited for.
    pub fn mcast(&self, ns: &str, args: &[&str]) -> Output {
        Command::new("ip").args(["netns", "exec", ns, MCAST]).args(args).output().expect("run mcast")
    }

    /// `mcast ARGS` inside `ns`, running; returns once its first line on standard
    /// error (`listening on …`, `watching …`) says it is ready.
    pub fn spawn(&self, ns: &str, args: &[&str]) -> Running {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, MCAST])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mcast");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut ready = String::new();
        err.read_line(&mut ready).unwrap();
        Running { child, err, ready }
    }

    /// `mcast ARGS` inside `ns`, running, its standard output and standard error read
    /// line by line as they come (see [`Streaming`]); returns once its first line on
    /// standard error says it is ready.
    pub fn stream(&self, ns: &str, args: &[&str]) -> Streaming {
        let Running { mut child, err, ready } = self.spawn(ns, args);
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Streaming { child, ready, out: lines(stdout), err: lines(err), seen: Vec::new() }
    }
}

/// The lines of `input`, timestamped as they arrive, read by a thread.
fn lines(input: impl BufRead + Send + 'static) -> Receiver<(Instant, String)> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in input.lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    rx
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

pub struct Running {
    pub child: Child,
    pub err: BufReader<std::process::ChildStderr>,
    pub ready: String,
}

impl Running {
    /// Waits for the program: exit code, standard output, the rest of standard error.
    pub fn finish(mut self) -> (Option<i32>, String, String) {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut self.err, &mut rest);
        let out = self.child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap(), rest)
    }

    /// Sends `signal` (`TERM`, `USR1`) to the program.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }
}

/// A running program whose standard output and standard error lines arrive,
/// timestamped, on channels.
pub struct Streaming {
    pub child: Child,
    /// Its first line on standard error.
    pub ready: String,
    out: Receiver<(Instant, String)>,
    err: Receiver<(Instant, String)>,
    /// Every standard output line looked at so far, with when it arrived.
    pub seen: Vec<(Instant, String)>,
}

/// The first line from `rx` that contains `needle`, waiting up to `timeout`; the lines
/// before it go to `seen`.
fn wait_line(
    rx: &Receiver<(Instant, String)>,
    seen: &mut Vec<(Instant, String)>,
    needle: &str,
    timeout: Duration,
) -> Option<(Instant, String)> {
    let deadline = Instant::now() + timeout;
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((at, line)) => {
                seen.push((at, line.clone()));
                if line.contains(needle) {
                    return Some((at, line));
                }
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
        }
    }
}

impl Streaming {
    /// The first standard output line not yet looked at that contains `needle`,
    /// waiting up to `timeout`.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> Option<(Instant, String)> {
        wait_line(&self.out, &mut self.seen, needle, timeout)
    }

    /// The same for standard error (its lines are not kept).
    pub fn wait_err(&mut self, needle: &str, timeout: Duration) -> Option<(Instant, String)> {
        wait_line(&self.err, &mut Vec::new(), needle, timeout)
    }

    /// The standard output lines that arrive within `d`.
    pub fn collect_for(&mut self, d: Duration) -> Vec<String> {
        let deadline = Instant::now() + d;
        let mut out = Vec::new();
        while let Ok((at, line)) = self.out.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            self.seen.push((at, line.clone()));
            out.push(line);
        }
        out
    }

    /// Sends `signal` (`TERM`, `USR1`) to the program.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Stops the program with SIGTERM and waits for it: its exit code and the rest of
    /// its standard error.
    pub fn stop(mut self) -> (Option<i32>, String) {
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        let rest: Vec<String> = self.err.iter().map(|(_, l)| l).collect();
        (status.code(), rest.join("\n"))
    }
}

/// A program still running when its test ends (a failed assertion) is killed, so that
/// no daemon outlives its namespace.
impl Drop for Streaming {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// Runs `command ARGS` inside `ns` and returns its standard output; it must succeed.
pub fn exec(ns: &str, command: &str, args: &[&str]) -> String {
    let out = Command::new("ip").args(["netns", "exec", ns, command]).args(args).output().expect("run command");
    assert!(out.status.success(), "{command} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}
