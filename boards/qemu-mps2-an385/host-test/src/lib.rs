//! The host side of the firmware test: boots a [`Firmware`] (the smoltcp one in `../`,
//! or the embassy one in `../../qemu-mps2-an385-embassy`) on QEMU's mps2-an385 with its
//! LAN9118 on a unix datagram socket, and plays the rest of the network (a router,
//! another host) with raw Ethernet frames. Both firmwares run the same application, so
//! the same checks run against each.
//!
//! Every [`Board`] runs its own QEMU, with its own socket pair in a fresh folder, under
//! `timeout` (which ends it after two minutes whatever happens to the test) and stopped
//! when the `Board` is dropped, a failing test included.

use std::collections::HashMap;
use std::env;
use std::io::Read;
use std::net::Ipv4Addr;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use mcast::wire::FrameRepr;
use mcast::wire::checksum;
use mcast::wire::igmp::Message;
use mcast::wire::ipv4;
use mcast::{GroupAddr, MacAddr};

/// The firmware's addresses (`src/main.rs`).
pub const FIRMWARE_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);
/// The firmware's IPv4 address.
pub const FIRMWARE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The test's own addresses: a router and command sender.
pub const HOST_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
/// The test's IPv4 address.
pub const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The UDP port the firmware echoes multicast on.
pub const ECHO_PORT: u16 = 5000;
/// The UDP port the firmware takes commands on.
pub const COMMAND_PORT: u16 = 7000;
/// The group the firmware joins at boot (its default `MCAST_GROUPS`).
pub const BOOT_GROUP: &str = "239.1.2.3";
/// How long QEMU may run before `timeout` kills it, whatever the test does.
const QEMU_TIME_LIMIT: &str = "120";

/// Why QEMU cannot run here, if it cannot. With `CI=true` in the environment a missing
/// QEMU is a failure, not a skip.
pub fn qemu_missing() -> Option<String> {
    let found = Command::new("qemu-system-arm").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    let why = match found {
        Ok(status) if status.success() => return None,
        Ok(status) => format!("qemu-system-arm --version failed ({status})"),
        Err(e) => format!("qemu-system-arm not found ({e}); install it with `apt-get install qemu-system-arm`"),
    };
    if env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and QEMU cannot run: {why}");
    }
    Some(why)
}

/// Skips the calling test (returns from it) when QEMU is missing, saying why.
#[macro_export]
macro_rules! require_qemu {
    () => {
        if let Some(why) = $crate::qemu_missing() {
            eprintln!("skipped: {why}");
            return;
        }
    };
}

/// A firmware the checks run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// `boards/qemu-mps2-an385`: smoltcp 0.14 with `mcast::glue::smoltcp`.
    Smoltcp,
    /// `boards/qemu-mps2-an385-embassy`: embassy-net 0.9 with `mcast::glue::embassy`.
    Embassy,
}

impl Firmware {
    /// The board crate's folder.
    pub fn folder(self) -> PathBuf {
        let boards = Path::new(env!("CARGO_MANIFEST_DIR")).parent().and_then(Path::parent).expect("the boards folder");
        boards.join(self.crate_name().strip_prefix("mcast-").expect("a board crate's name"))
    }

    /// The crate's (and its binary's) name.
    fn crate_name(self) -> &'static str {
        match self {
            Firmware::Smoltcp => "mcast-qemu-mps2-an385",
            Firmware::Embassy => "mcast-qemu-mps2-an385-embassy",
        }
    }

    /// The variable that names a prebuilt ELF in place of a build.
    pub fn env_var(self) -> &'static str {
        match self {
            Firmware::Smoltcp => "MCAST_FIRMWARE",
            Firmware::Embassy => "MCAST_FIRMWARE_EMBASSY",
        }
    }

    /// Whether the firmware counts the ARP and IPv4 frames for another address that it
    /// drops (`rx_other_address`). The smoltcp glue does, as it runs smoltcp with
    /// `any_ip` and checks the destination itself; under embassy-net smoltcp checks it
    /// and drops them uncounted.
    pub fn counts_other_address(self) -> bool {
        self == Firmware::Smoltcp
    }

    /// Whether a datagram for a group not joined whose MAC is a joined group's (the NIC
    /// passes it) is counted in `rx_filtered`. The smoltcp glue filters by group; the
    /// embassy glue by MAC, leaving the rest to the stack, which drops it uncounted.
    pub fn counts_same_mac_groups(self) -> bool {
        self == Firmware::Smoltcp
    }

    /// The firmware ELF: the variable [`env_var`](Self::env_var) names if set, else built
    /// once per test run with `cargo build --release` in the board's folder.
    pub fn elf(self) -> &'static Path {
        static ELF: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
        ELF[self as usize].get_or_init(|| {
            if let Some(path) = env::var_os(self.env_var()) {
                return PathBuf::from(path);
            }
            let board = self.folder();
            let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let target_dir = board.join("target");
            let status = Command::new(cargo)
                .current_dir(&board)
                .args(["build", "--release", "--target", "thumbv7m-none-eabi", "--target-dir"])
                .arg(&target_dir)
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("MCAST_GROUPS")
                .status()
                .expect("running cargo to build the firmware");
            assert!(status.success(), "building the {self:?} firmware failed");
            target_dir.join("thumbv7m-none-eabi/release").join(self.crate_name())
        })
    }
}

/// A frame the firmware sent, with when it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// When, from the start of the test's QEMU.
    pub at: Duration,
    /// The Ethernet frame, without FCS.
    pub bytes: Vec<u8>,
}

impl Received {
    /// The frame as IGMP, if it is an IGMP frame; panics if it is one that does not
    /// parse (the firmware must never send such a thing).
    pub fn igmp(&self) -> Option<FrameRepr<'_>> {
        if !is_ipv4_protocol(&self.bytes, ipv4::PROTOCOL_IGMP) {
            return None;
        }
        match FrameRepr::parse(&self.bytes) {
            Ok(f) => Some(f),
            Err(e) => panic!("the firmware sent a malformed IGMP frame ({e}): {:02x?}", self.bytes),
        }
    }

    /// The frame as UDP, if it is a UDP frame with good checksums.
    pub fn udp(&self) -> Option<Udp> {
        parse_udp(&self.bytes)
    }
}

/// A running firmware and the test's end of its network.
pub struct Board {
    child: Child,
    socket: UnixDatagram,
    qemu_socket: PathBuf,
    dir: PathBuf,
    start: Instant,
    output: Arc<Mutex<String>>,
    /// Everything the firmware sent, in order.
    pub log: Vec<Received>,
    exit: Option<ExitStatus>,
}

impl Board {
    /// Boots `firmware` and waits for its first frame (the LAN9118 drops frames that
    /// arrive before its receiver is on): its join report for [`BOOT_GROUP`].
    pub fn boot(firmware: Firmware) -> Board {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let elf = firmware.elf();
        let dir = env::temp_dir().join(format!(
            "mcast-qemu-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a folder for the sockets");
        let host_socket = dir.join("host.sock");
        let qemu_socket = dir.join("qemu.sock");
        let socket = UnixDatagram::bind(&host_socket).expect("binding the host socket");
        let netdev = format!(
            "dgram,id=n0,local.type=unix,local.path={},remote.type=unix,remote.path={}",
            qemu_socket.display(),
            host_socket.display()
        );
        let mut child = Command::new("timeout")
            .args(["-k", "5", QEMU_TIME_LIMIT, "qemu-system-arm", "-M", "mps2-an385", "-cpu", "cortex-m3"])
            .args(["-nographic", "-monitor", "none", "-semihosting-config", "enable=on,target=native"])
            .args(["-netdev", &netdev, "-net", "nic,netdev=n0,model=lan9118", "-kernel"])
            .arg(elf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting QEMU");
        let output = Arc::new(Mutex::new(String::new()));
        for mut pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let output = output.clone();
            thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    output.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let mut board =
            Board { child, socket, qemu_socket, dir, start: Instant::now(), output, log: Vec::new(), exit: None };
        let first = board.wait_for(Duration::from_secs(10), |r| r.igmp().is_some());
        assert!(first.is_some(), "no frame from the firmware; its output:\n{}", board.output());
        board
    }

    /// What the firmware printed (semihosting) and QEMU said, so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Time since boot.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Sends a frame to the firmware.
    pub fn send(&self, frame: &[u8]) {
        self.socket.send_to(frame, &self.qemu_socket).expect("sending to QEMU");
    }

    /// Receives for `time`, answering ARP; returns what arrived in that time.
    pub fn collect(&mut self, time: Duration) -> Vec<Received> {
        let from = self.log.len();
        let deadline = Instant::now() + time;
        while self.receive_until(deadline).is_some() {}
        self.log[from..].to_vec()
    }

    /// Receives until a frame matches `wanted` (returned) or `time` passes (`None`),
    /// answering ARP.
    pub fn wait_for(&mut self, time: Duration, mut wanted: impl FnMut(&Received) -> bool) -> Option<Received> {
        let deadline = Instant::now() + time;
        while let Some(r) = self.receive_until(deadline) {
            if wanted(&r) {
                return Some(r);
            }
        }
        None
    }

    fn receive_until(&mut self, deadline: Instant) -> Option<Received> {
        let mut buf = [0u8; 2048];
        loop {
            let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?;
            self.socket.set_read_timeout(Some(left)).expect("socket timeout");
            let Ok(n) = self.socket.recv(&mut buf) else { continue };
            let r = Received { at: self.now(), bytes: buf[..n].to_vec() };
            if let Some(reply) = arp_reply(&r.bytes) {
                self.send(&reply);
            }
            self.log.push(r.clone());
            return Some(r);
        }
    }

    /// Sends a command and returns the firmware's reply.
    pub fn command(&mut self, text: &str) -> String {
        let frame =
            udp_frame(HOST_MAC, FIRMWARE_MAC, HOST_IP, FIRMWARE_IP, COMMAND_PORT, COMMAND_PORT, text.as_bytes());
        self.send(&frame);
        let reply = self.wait_for(Duration::from_secs(5), |r| {
            r.udp().is_some_and(|u| u.src_port == COMMAND_PORT && u.dst_ip == HOST_IP)
        });
        match reply.and_then(|r| r.udp()) {
            Some(u) => String::from_utf8(u.payload).expect("a text reply"),
            None => panic!("no reply to {text:?}; firmware output:\n{}", self.output()),
        }
    }

    /// The firmware's counters (the `stats` command), by name.
    pub fn stats(&mut self) -> HashMap<String, String> {
        let reply = self.command("stats");
        reply.split_whitespace().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect()
    }

    /// One counter of [`stats`](Self::stats).
    pub fn counter(stats: &HashMap<String, String>, name: &str) -> u32 {
        stats.get(name).unwrap_or_else(|| panic!("no counter {name} in {stats:?}")).parse().expect("a number")
    }

    /// Waits up to `time` for QEMU to exit; its status (what the firmware asked for).
    pub fn wait_exit(&mut self, time: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + time;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("waiting for QEMU") {
                self.exit = Some(status);
                return Some(status);
            }
            // Keep answering ARP so that the firmware's last reply goes out.
            let _ = self.collect(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        if self.exit.is_none() {
            // SIGTERM to `timeout`, which passes it on to QEMU and exits when QEMU has.
            // SIGKILL would kill `timeout` alone and leave QEMU running without a limit.
            let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether an Ethernet frame is IPv4 carrying `protocol`.
pub fn is_ipv4_protocol(frame: &[u8], protocol: u8) -> bool {
    frame.len() > 23 && frame[12..14] == [0x08, 0x00] && frame[23] == protocol
}

/// An IGMP frame from `src`, framed as RFC 2236 says (TTL 1, Router Alert), to the
/// message's own destination unless `dst` says otherwise (the Ethernet destination
/// follows).
pub fn igmp_frame(message: Message<'_>, src_mac: MacAddr, src: Ipv4Addr, dst: Option<Ipv4Addr>) -> Vec<u8> {
    let mut f = FrameRepr::new(message, src_mac, src);
    if let Some(dst) = dst {
        f.ipv4.dst_addr = dst;
        f.ethernet.dst = GroupAddr::from_ipv4(dst).map_or(FIRMWARE_MAC, GroupAddr::to_mac);
    }
    let mut buf = vec![0u8; f.buffer_len()];
    f.emit(&mut buf).expect("emitting an IGMP frame");
    buf
}

/// A UDP datagram as the test sends or the firmware sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Udp {
    /// Ethernet source.
    pub src_mac: MacAddr,
    /// Ethernet destination.
    pub dst_mac: MacAddr,
    /// IPv4 source.
    pub src_ip: Ipv4Addr,
    /// IPv4 destination.
    pub dst_ip: Ipv4Addr,
    /// IPv4 time to live.
    pub ttl: u8,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
    /// The payload.
    pub payload: Vec<u8>,
}

fn udp_checksum(src: Ipv4Addr, dst: Ipv4Addr, udp: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(12 + udp.len());
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&(udp.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(udp);
    match checksum::compute(&pseudo) {
        0 => 0xffff,
        sum => sum,
    }
}

/// An IPv4 packet from the test's addresses to `dst_ip` in a frame to `dst_mac`,
/// carrying `protocol` and `payload` (whose checksum, if any, the caller filled).
pub fn ipv4_frame(dst_mac: MacAddr, dst_ip: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_frame_from(HOST_MAC, HOST_IP, dst_mac, dst_ip, protocol, payload)
}

/// An IPv4 packet from `src_ip` to `dst_ip` in a frame from `src_mac` to `dst_mac`.
fn ipv4_frame_from(
    src_mac: MacAddr,
    src_ip: Ipv4Addr,
    dst_mac: MacAddr,
    dst_ip: Ipv4Addr,
    protocol: u8,
    payload: &[u8],
) -> Vec<u8> {
    let ip = ipv4::Repr {
        src_addr: src_ip,
        dst_addr: dst_ip,
        protocol,
        payload_len: payload.len(),
        ttl: 64,
        tos: 0,
        ident: 0,
        dont_fragment: true,
        router_alert: false,
    };
    let mut frame = vec![0u8; 14 + ip.header_len()];
    frame[..6].copy_from_slice(&dst_mac.0);
    frame[6..12].copy_from_slice(&src_mac.0);
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    ip.emit(&mut frame[14..]).expect("emitting an IPv4 header");
    frame.extend_from_slice(payload);
    frame
}

/// An ICMP echo request (identifier 7, sequence 1) from the test to `dst_ip`, in a
/// frame to `dst_mac`.
pub fn echo_request(dst_mac: MacAddr, dst_ip: Ipv4Addr, data: &[u8]) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0, 7, 0, 1];
    icmp.extend_from_slice(data);
    let sum = checksum::compute(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    ipv4_frame(dst_mac, dst_ip, 1, &icmp)
}

/// A TCP SYN from the test (port 40000) to `dst_ip`, port 80, in a frame to `dst_mac`.
/// The firmware has no TCP: smoltcp answers one to its own address with an ICMP
/// Protocol Unreachable.
pub fn tcp_syn(dst_mac: MacAddr, dst_ip: Ipv4Addr) -> Vec<u8> {
    let mut tcp = [0u8; 20];
    tcp[..4].copy_from_slice(&[0x9c, 0x40, 0x00, 0x50]);
    tcp[12] = 0x50; // data offset: 5 words
    tcp[13] = 0x02; // SYN
    ipv4_frame(dst_mac, dst_ip, 6, &tcp)
}

/// An ARP request from the test (its MAC, `sender`) for `target`, broadcast.
pub fn arp_request(sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut frame = Vec::with_capacity(42);
    frame.extend_from_slice(&MacAddr::BROADCAST.0);
    frame.extend_from_slice(&HOST_MAC.0);
    frame.extend_from_slice(&[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    frame.extend_from_slice(&HOST_MAC.0);
    frame.extend_from_slice(&sender.octets());
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&target.octets());
    frame
}

/// The sender address of an ARP reply to the test, if `frame` is one.
pub fn arp_reply_sender(frame: &[u8]) -> Option<Ipv4Addr> {
    let reply = [0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02];
    if frame.len() < 42 || frame[12..22] != reply || frame[..6] != HOST_MAC.0 {
        return None;
    }
    Some(Ipv4Addr::new(frame[28], frame[29], frame[30], frame[31]))
}

/// The ICMP type and code of an ICMP frame to the test, if `frame` is one.
pub fn icmp_to_host(frame: &[u8]) -> Option<(u8, u8)> {
    if !is_ipv4_protocol(frame, 1) || frame[30..34] != HOST_IP.octets() {
        return None;
    }
    let header_len = usize::from(frame[14] & 0x0f) * 4;
    let icmp = frame.get(14 + header_len..14 + header_len + 2)?;
    Some((icmp[0], icmp[1]))
}

/// A UDP datagram in an Ethernet frame, every checksum filled. A multicast `dst_ip`
/// gets its mapped MAC whatever `dst_mac` says.
pub fn udp_frame(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src_ip: Ipv4Addr,
    dst_ip: Ipv4Addr,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
) -> Vec<u8> {
    let dst_mac = GroupAddr::from_ipv4(dst_ip).map_or(dst_mac, GroupAddr::to_mac);
    let mut udp = Vec::with_capacity(8 + payload.len());
    udp.extend_from_slice(&src_port.to_be_bytes());
    udp.extend_from_slice(&dst_port.to_be_bytes());
    udp.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let sum = udp_checksum(src_ip, dst_ip, &udp);
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    ipv4_frame_from(src_mac, src_ip, dst_mac, dst_ip, 17, &udp)
}

/// Reads a UDP frame, checking the IPv4 header checksum and the UDP checksum.
pub fn parse_udp(frame: &[u8]) -> Option<Udp> {
    if !is_ipv4_protocol(frame, 17) {
        return None;
    }
    let packet = ipv4::Packet::new_checked(&frame[14..]).ok()?;
    let ip = ipv4::Repr::parse(&packet).ok()?;
    let udp = packet.payload();
    if udp.len() < 8 || usize::from(u16::from_be_bytes([udp[4], udp[5]])) != udp.len() {
        return None;
    }
    let sum = u16::from_be_bytes([udp[6], udp[7]]);
    let mut zeroed = udp.to_vec();
    zeroed[6..8].fill(0);
    assert!(sum == 0 || udp_checksum(ip.src_addr, ip.dst_addr, &zeroed) == sum, "bad UDP checksum: {frame:02x?}");
    Some(Udp {
        src_mac: MacAddr(frame[6..12].try_into().ok()?),
        dst_mac: MacAddr(frame[..6].try_into().ok()?),
        src_ip: ip.src_addr,
        dst_ip: ip.dst_addr,
        ttl: ip.ttl,
        src_port: u16::from_be_bytes([udp[0], udp[1]]),
        dst_port: u16::from_be_bytes([udp[2], udp[3]]),
        payload: udp[8..].to_vec(),
    })
}

/// The answer to an ARP request for [`HOST_IP`], if `frame` is one.
pub fn arp_reply(frame: &[u8]) -> Option<Vec<u8>> {
    // Ethernet, then htype 1, ptype IPv4, hlen 6, plen 4, op 1 (request).
    let request = [0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01];
    if frame.len() < 42 || frame[12..22] != request || frame[38..42] != HOST_IP.octets() {
        return None;
    }
    let (sender_mac, sender_ip) = (&frame[22..28], &frame[28..32]);
    let mut reply = Vec::with_capacity(42);
    reply.extend_from_slice(sender_mac);
    reply.extend_from_slice(&HOST_MAC.0);
    reply.extend_from_slice(&[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02]);
    reply.extend_from_slice(&HOST_MAC.0);
    reply.extend_from_slice(&HOST_IP.octets());
    reply.extend_from_slice(sender_mac);
    reply.extend_from_slice(sender_ip);
    Some(reply)
}
