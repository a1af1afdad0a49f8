//! The firmwares on QEMU's mps2-an385, whose emulated LAN9118 really filters multicast by
//! its hash: what they send, what they answer, what their NIC and their software drop.
//! Each check runs against both (`checks!` at the end): the smoltcp firmware and the
//! embassy one run the same application.
//!
//! Timing assertions allow `SLACK` beyond the protocol's bounds: QEMU runs in real time
//! beside other tests.

use std::net::Ipv4Addr;
use std::time::Duration;

use mcast::filter::HashScheme;
use mcast::wire::igmp::Message;
use mcast::{GroupAddr, MacAddr};
use mcast_qemu_mps2_an385_test::{
    BOOT_GROUP, Board, COMMAND_PORT, ECHO_PORT, FIRMWARE_IP, FIRMWARE_MAC, Firmware, HOST_IP, HOST_MAC, Received,
    arp_reply_sender, arp_request, echo_request, icmp_to_host, igmp_frame, require_qemu, tcp_syn, udp_frame,
};

const SLACK: Duration = Duration::from_millis(700);
/// A group in another LAN9118 hash bin than 239.1.2.3 (bin 57).
const OTHER_BIN: &str = "239.9.9.1";
/// A group in the same bin as 239.1.2.3: MAC 01:00:5e:02:00:fd.
const SAME_BIN: &str = "239.2.0.253";
const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);

fn g(s: &str) -> GroupAddr {
    s.parse().unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The IGMP messages among `frames`, with their arrival times.
fn igmp(frames: &[Received]) -> Vec<(Duration, Message<'static>)> {
    frames
        .iter()
        .filter_map(|r| {
            let f = r.igmp()?;
            let msg = match f.igmp {
                Message::V2Report { group } => Message::V2Report { group },
                Message::Leave { group } => Message::Leave { group },
                other => panic!("the firmware sent {other:?}"),
            };
            Some((r.at, msg))
        })
        .collect()
}

/// The groups reported among `frames`, with their arrival times.
fn reports(frames: &[Received]) -> Vec<(Duration, GroupAddr)> {
    igmp(frames)
        .into_iter()
        .filter_map(|(t, m)| match m {
            Message::V2Report { group } => Some((t, group)),
            _ => None,
        })
        .collect()
}

fn general_query(max_resp: u8) -> Vec<u8> {
    igmp_frame(Message::V2Query { max_resp, group: None }, HOST_MAC, HOST_IP, None)
}

/// Boots, joins `extra` by command, and waits until the unsolicited reports are over
/// (the firmware repeats them within 1 s).
fn boot_with(firmware: Firmware, extra: &[&str]) -> Board {
    let mut board = Board::boot(firmware);
    for group in extra {
        assert_eq!(board.command(&format!("join {group}")), "ok true");
    }
    board.collect(ms(1_500));
    board
}

fn the_join_report_is_a_correct_igmpv2_frame(firmware: Firmware) {
    require_qemu!();
    let mut board = Board::boot(firmware);
    let first = board.log.iter().find(|r| r.igmp().is_some()).unwrap().clone();
    let f = first.igmp().unwrap();
    assert_eq!(f.igmp, Message::V2Report { group: g(BOOT_GROUP) });
    assert_eq!(f.ethernet.dst, MacAddr([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]));
    assert_eq!(f.ethernet.src, FIRMWARE_MAC);
    assert_eq!(f.ipv4.src_addr, FIRMWARE_IP);
    assert_eq!(f.ipv4.dst_addr, Ipv4Addr::new(239, 1, 2, 3));
    assert_eq!(f.ipv4.ttl, 1);
    assert!(f.ipv4.router_alert);
    assert_eq!(f.ipv4.tos, 0xc0);
    // Byte for byte: IHL 6 with the Router Alert option 94 04 00 00; both checksums
    // were verified by FrameRepr::parse.
    assert_eq!(first.bytes[14], 0x46);
    assert_eq!(first.bytes[34..38], [0x94, 0x04, 0x00, 0x00]);

    // The unsolicited repeat within 1 s (the firmware's interval), and nothing else.
    let later = board.collect(ms(2_000));
    let repeats = reports(&later);
    assert_eq!(repeats.len(), 1, "{repeats:?}");
    assert!(repeats[0].0 - first.at <= ms(1_000) + SLACK, "repeat after {:?}", repeats[0].0 - first.at);
    let stats = board.stats();
    assert_eq!(Board::counter(&stats, "tx_igmp"), 2);
    assert_eq!(Board::counter(&stats, "nic_in_sync"), 1);
}

fn a_general_query_gets_one_report_per_group_within_max_resp(firmware: Firmware) {
    require_qemu!();
    let mut board = boot_with(firmware, &[OTHER_BIN]);
    let sent = board.now();
    board.send(&general_query(30)); // Max Resp 3 s
    let frames = board.collect(ms(3_000) + SLACK);
    let mut got = reports(&frames);
    got.sort_by_key(|(_, group)| *group);
    let groups: Vec<GroupAddr> = got.iter().map(|(_, group)| *group).collect();
    assert_eq!(groups, [g(BOOT_GROUP), g(OTHER_BIN)], "exactly one report per group: {got:?}");
    for (at, group) in &got {
        assert!(*at - sent <= ms(3_000) + SLACK, "{group} reported after {:?}", *at - sent);
    }
    assert_eq!(igmp(&frames).len(), 2, "nothing but the two reports");
    let stats = board.stats();
    assert_eq!(Board::counter(&stats, "queries"), 1);
    assert_eq!(Board::counter(&stats, "suppressed"), 0);
}

fn another_hosts_report_during_the_delay_suppresses_ours(firmware: Firmware) {
    require_qemu!();
    let mut board = boot_with(firmware, &[OTHER_BIN]);
    board.send(&general_query(50)); // Max Resp 5 s
    // Another member of 239.1.2.3 answers first.
    let other = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x09]);
    let report = Message::V2Report { group: g(BOOT_GROUP) };
    board.send(&igmp_frame(report, other, Ipv4Addr::new(10, 0, 0, 9), None));
    let frames = board.collect(ms(5_000) + SLACK);
    let groups: Vec<GroupAddr> = reports(&frames).into_iter().map(|(_, group)| group).collect();
    assert_eq!(groups, [g(OTHER_BIN)], "ours for 239.1.2.3 was suppressed");
    let stats = board.stats();
    assert_eq!(Board::counter(&stats, "suppressed"), 1);
    assert_eq!(Board::counter(&stats, "reports_heard"), 1);
}

fn a_group_specific_query_sent_to_all_systems_is_answered(firmware: Firmware) {
    require_qemu!();
    let mut board = boot_with(firmware, &[OTHER_BIN]);
    // As Linux bridges send them: to 224.0.0.1, not to the group (smoltcp ignores these).
    let query = Message::V2Query { max_resp: 10, group: Some(g(BOOT_GROUP)) };
    let sent = board.now();
    board.send(&igmp_frame(query, HOST_MAC, HOST_IP, Some(ALL_SYSTEMS)));
    let frames = board.collect(ms(1_000) + SLACK);
    let got = reports(&frames);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, g(BOOT_GROUP));
    assert!(got[0].0 - sent <= ms(1_000) + SLACK);
}

fn leave_by_command_sends_a_leave_to_all_routers(firmware: Firmware) {
    require_qemu!();
    let mut board = boot_with(firmware, &[]);
    let from = board.log.len();
    assert_eq!(board.command(&format!("leave {BOOT_GROUP}")), "ok true");
    board.collect(ms(500));
    let sent: Vec<Received> = board.log[from..].iter().filter(|r| r.igmp().is_some()).cloned().collect();
    assert_eq!(sent.len(), 1, "one Leave and nothing else: {:?}", igmp(&sent));
    let f = sent[0].igmp().unwrap();
    assert_eq!(f.igmp, Message::Leave { group: g(BOOT_GROUP) });
    assert_eq!(f.ipv4.dst_addr, Ipv4Addr::new(224, 0, 0, 2));
    assert_eq!(f.ethernet.dst, MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, 0x02]));
    assert!(f.ipv4.router_alert && f.ipv4.ttl == 1);
    assert_eq!(board.command("groups"), "");
    let stats = board.stats();
    assert_eq!(Board::counter(&stats, "leaves_sent"), 1);
}

fn datagrams_for_the_joined_group_arrive_and_are_echoed(firmware: Firmware) {
    require_qemu!();
    let mut board = Board::boot(firmware);
    for i in 0..3 {
        let payload = format!("hello {i}");
        let group = g(BOOT_GROUP).to_ipv4();
        board.send(&udp_frame(HOST_MAC, HOST_MAC, HOST_IP, group, 40_000, ECHO_PORT, payload.as_bytes()));
        let echo = board.wait_for(ms(2_000), |r| r.udp().is_some_and(|u| u.dst_port == ECHO_PORT));
        let echo = echo.and_then(|r| r.udp()).unwrap_or_else(|| panic!("no echo of {payload}"));
        assert_eq!(echo.payload, payload.as_bytes());
        assert_eq!((echo.src_mac, echo.dst_mac), (FIRMWARE_MAC, g(BOOT_GROUP).to_mac()));
        assert_eq!((echo.src_ip, echo.dst_ip), (FIRMWARE_IP, group));
        assert_eq!(echo.src_port, ECHO_PORT);
        // RFC 1112 §6.1: multicast leaves with TTL 1 unless the application asks for more.
        assert_eq!(echo.ttl, 1, "the echo's TTL");
    }
    assert_eq!(Board::counter(&board.stats(), "echoed"), 3);
}

/// Sends five datagrams to `group` between two readings of the counters; returns the
/// growth of `rx_nic` and `rx_filtered`, and whether anything was echoed.
fn five_datagrams_to(board: &mut Board, group: &str) -> (u32, u32, bool) {
    board.stats(); // resolves ARP for the replies, so that no ARP frame is counted below
    let before = board.stats();
    for i in 0..5u8 {
        board.send(&udp_frame(HOST_MAC, HOST_MAC, HOST_IP, g(group).to_ipv4(), 40_000, ECHO_PORT, &[i]));
    }
    let echoed = board.collect(ms(500)).iter().any(|r| r.udp().is_some_and(|u| u.dst_port == ECHO_PORT));
    let after = board.stats();
    let grew = |name| Board::counter(&after, name) - Board::counter(&before, name);
    (grew("rx_nic"), grew("rx_filtered"), echoed)
}

fn datagrams_for_a_group_in_another_bin_never_reach_the_firmware(firmware: Firmware) {
    require_qemu!();
    assert_ne!(HashScheme::Lan9118.bin(g(OTHER_BIN).to_mac()), HashScheme::Lan9118.bin(g(BOOT_GROUP).to_mac()));
    let mut board = Board::boot(firmware);
    let (rx_nic, rx_filtered, echoed) = five_datagrams_to(&mut board, OTHER_BIN);
    // The only frame the NIC let through is the second `stats` command.
    assert_eq!((rx_nic, rx_filtered, echoed), (1, 0, false));
}

fn datagrams_for_a_group_in_the_same_bin_reach_the_nic_and_are_dropped_in_software(firmware: Firmware) {
    require_qemu!();
    assert_eq!(g(SAME_BIN).to_mac(), MacAddr([0x01, 0x00, 0x5e, 0x02, 0x00, 0xfd]));
    assert_eq!(HashScheme::Lan9118.bin(g(SAME_BIN).to_mac()), 57);
    assert_eq!(HashScheme::Lan9118.bin(g(BOOT_GROUP).to_mac()), 57);
    let mut board = Board::boot(firmware);
    let (rx_nic, rx_filtered, echoed) = five_datagrams_to(&mut board, SAME_BIN);
    assert_eq!((rx_nic, rx_filtered, echoed), (6, 5, false));
}

/// Another address on the firmware's subnet.
const NOT_FIRMWARE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);

/// Sends `frame` and returns what the firmware sent within 500 ms.
fn answers(board: &mut Board, frame: &[u8]) -> Vec<Received> {
    board.send(frame);
    board.collect(ms(500))
}

fn only_the_firmwares_own_address_is_answered(firmware: Firmware) {
    require_qemu!();
    let mut board = boot_with(firmware, &[]);
    board.stats(); // resolves ARP for the replies
    let before = board.stats();

    // Its own address: ARP, an echo request, a TCP SYN (no TCP: Protocol Unreachable).
    let got = answers(&mut board, &arp_request(HOST_IP, FIRMWARE_IP));
    assert_eq!(got.iter().filter_map(|r| arp_reply_sender(&r.bytes)).collect::<Vec<_>>(), [FIRMWARE_IP]);
    let got = answers(&mut board, &echo_request(FIRMWARE_MAC, FIRMWARE_IP, b"ping"));
    assert_eq!(got.iter().filter_map(|r| icmp_to_host(&r.bytes)).collect::<Vec<_>>(), [(0, 0)], "echo reply");
    let got = answers(&mut board, &tcp_syn(FIRMWARE_MAC, FIRMWARE_IP));
    assert_eq!(got.iter().filter_map(|r| icmp_to_host(&r.bytes)).collect::<Vec<_>>(), [(3, 2)], "unreachable");

    // Another address, at the firmware's MAC where there is one: nothing at all. In the
    // smoltcp firmware smoltcp runs with any_ip, which without the glue would answer each
    // (the command socket, bound to a port only, would take the command); under
    // embassy-net smoltcp checks the address itself.
    let stats_to_other = udp_frame(HOST_MAC, FIRMWARE_MAC, HOST_IP, NOT_FIRMWARE, COMMAND_PORT, COMMAND_PORT, b"stats");
    for (what, frame) in [
        ("ARP", arp_request(HOST_IP, NOT_FIRMWARE)),
        ("echo", echo_request(FIRMWARE_MAC, NOT_FIRMWARE, b"ping")),
        ("TCP", tcp_syn(FIRMWARE_MAC, NOT_FIRMWARE)),
        ("UDP", stats_to_other),
    ] {
        let got = answers(&mut board, &frame);
        assert!(got.is_empty(), "{what} to {NOT_FIRMWARE} answered: {:02x?}", got[0].bytes);
    }
    let after = board.stats();
    let grew = |name| Board::counter(&after, name) - Board::counter(&before, name);
    if firmware.counts_other_address() {
        assert_eq!(grew("rx_other_address"), 4);
    }
    assert_eq!(grew("commands"), 1, "the `stats` that reads the counters, and no other");
}

fn broadcast_and_all_systems_reach_the_application_and_the_groups_alias_does_not(firmware: Firmware) {
    require_qemu!();
    let mut board = boot_with(firmware, &[]);
    board.stats();
    let before = board.stats();
    // Commands to the limited and the subnet broadcast address are answered.
    for to in [Ipv4Addr::BROADCAST, Ipv4Addr::new(10, 0, 0, 255)] {
        board.send(&udp_frame(HOST_MAC, MacAddr::BROADCAST, HOST_IP, to, COMMAND_PORT, COMMAND_PORT, b"groups"));
        let reply = board.wait_for(ms(2_000), |r| r.udp().is_some_and(|u| u.src_port == COMMAND_PORT));
        assert_eq!(reply.and_then(|r| r.udp()).map(|u| u.payload), Some(BOOT_GROUP.into()), "to {to}");
    }
    // A datagram to 224.0.0.1 is echoed to 224.0.0.1.
    board.send(&udp_frame(HOST_MAC, HOST_MAC, HOST_IP, ALL_SYSTEMS, 40_000, ECHO_PORT, b"all"));
    let echo = board.wait_for(ms(2_000), |r| r.udp().is_some_and(|u| u.dst_port == ECHO_PORT));
    let echo = echo.and_then(|r| r.udp()).expect("an echo to 224.0.0.1");
    assert_eq!((echo.dst_ip, echo.payload.as_slice()), (ALL_SYSTEMS, &b"all"[..]));

    // 239.129.2.3 has 239.1.2.3's MAC: the NIC passes it; the smoltcp glue drops it
    // (counted), the embassy glue passes it and smoltcp drops it (not counted).
    let alias = Ipv4Addr::new(239, 129, 2, 3);
    assert_eq!(GroupAddr::from_ipv4(alias).unwrap().to_mac(), g(BOOT_GROUP).to_mac());
    board.send(&udp_frame(HOST_MAC, HOST_MAC, HOST_IP, alias, 40_000, ECHO_PORT, b"alias"));
    let echoed = board.collect(ms(500)).iter().any(|r| r.udp().is_some_and(|u| u.dst_port == ECHO_PORT));
    assert!(!echoed, "the alias was echoed");
    let after = board.stats();
    let grew = |name| Board::counter(&after, name) - Board::counter(&before, name);
    assert_eq!(grew("rx_filtered"), u32::from(firmware.counts_same_mac_groups()));
    assert_eq!(grew("echoed"), 1);
    if firmware.counts_other_address() {
        assert_eq!(grew("rx_other_address"), 0);
    }
}

fn malformed_igmp_is_counted_and_ignored(firmware: Firmware) {
    require_qemu!();
    let mut board = boot_with(firmware, &[]);
    board.stats();
    let before = board.stats();

    let query = general_query(10);
    let mut bad_igmp_checksum = query.clone();
    *bad_igmp_checksum.last_mut().unwrap() ^= 0xff;
    let mut bad_ip_checksum = query.clone();
    bad_ip_checksum[24] ^= 0xff;
    let truncated = query[..query.len() - 3].to_vec();
    // A query for the group, to the group's address, in a frame to 224.0.0.1's MAC.
    let specific = Message::V2Query { max_resp: 10, group: Some(g(BOOT_GROUP)) };
    let mut mac_mismatch = igmp_frame(specific, HOST_MAC, HOST_IP, None);
    mac_mismatch[..6].copy_from_slice(&GroupAddr::ALL_SYSTEMS.to_mac().0);
    // An unknown IGMP type (0x99) with a correct checksum.
    let mut unknown_type = query.clone();
    unknown_type[38] = 0x99;
    unknown_type[40..42].fill(0);
    let sum = mcast::wire::checksum::compute(&unknown_type[38..]);
    unknown_type[40..42].copy_from_slice(&sum.to_be_bytes());
    for frame in [&bad_igmp_checksum, &bad_ip_checksum, &truncated, &mac_mismatch, &unknown_type] {
        board.send(frame);
    }
    let frames = board.collect(ms(1_500));
    assert!(igmp(&frames).is_empty(), "nothing answered: {:?}", igmp(&frames));
    let after = board.stats();
    let grew = |name| Board::counter(&after, name) - Board::counter(&before, name);
    assert_eq!(grew("rx_malformed"), 5);
    assert_eq!(grew("rx_igmp"), 0);
    assert_eq!(grew("queries"), 0);
    assert_eq!(board.command("groups"), BOOT_GROUP);

    // Membership is intact: a good query is answered.
    board.send(&query);
    let answered = board.wait_for(ms(1_000) + SLACK, |r| r.igmp().is_some()).expect("a report");
    assert_eq!(answered.igmp().unwrap().igmp, Message::V2Report { group: g(BOOT_GROUP) });
}

/// A command sent to the limited broadcast address, which the firmware takes with or
/// without an address of its own (without one it cannot answer).
fn broadcast_command(board: &Board, text: &str) {
    let to = Ipv4Addr::BROADCAST;
    board.send(&udp_frame(HOST_MAC, MacAddr::BROADCAST, HOST_IP, to, COMMAND_PORT, COMMAND_PORT, text.as_bytes()));
}

fn a_join_before_the_address_is_set_is_announced_when_it_is(firmware: Firmware) {
    require_qemu!();
    let mut board = boot_with(firmware, &[]);
    assert_eq!(board.command("address none"), "ok");
    board.collect(ms(300));
    broadcast_command(&board, &format!("join {OTHER_BIN}"));
    // No address to send from: nothing is reported.
    let quiet = board.collect(ms(1_500));
    assert!(igmp(&quiet).is_empty(), "IGMP without an address: {:?}", igmp(&quiet));

    broadcast_command(&board, &format!("address {FIRMWARE_IP}/24"));
    let set = board.now();
    let frames = board.collect(ms(1_000) + SLACK);
    let first = frames.iter().find(|r| r.igmp().is_some_and(|f| f.igmp == Message::V2Report { group: g(OTHER_BIN) }));
    let first = first.unwrap_or_else(|| panic!("{OTHER_BIN} not reported: {:?}", igmp(&frames)));
    let f = first.igmp().unwrap();
    assert_eq!((f.ipv4.src_addr, f.ipv4.dst_addr), (FIRMWARE_IP, g(OTHER_BIN).to_ipv4()));
    assert!(first.at - set <= ms(1_000) + SLACK, "reported after {:?}", first.at - set);
    let mut groups: Vec<String> = board.command("groups").split(',').map(String::from).collect();
    groups.sort();
    assert_eq!(groups, [BOOT_GROUP, OTHER_BIN]);
}

/// Boots, joins four more groups by command, and returns the delay of each group's
/// unsolicited repeat after its first report (random, up to the firmware's 1 s), the
/// boot group's first.
fn repeat_delays(firmware: Firmware) -> Vec<Duration> {
    let groups = [BOOT_GROUP, "239.9.9.1", "239.9.9.2", "239.9.9.3", "239.9.9.4"];
    let mut board = Board::boot(firmware);
    for group in &groups[1..] {
        assert_eq!(board.command(&format!("join {group}")), "ok true");
    }
    board.collect(ms(1_000) + SLACK);
    let reported = reports(&board.log);
    groups
        .iter()
        .map(|group| {
            let times: Vec<Duration> = reported.iter().filter(|(_, r)| *r == g(group)).map(|(at, _)| *at).collect();
            assert_eq!(times.len(), 2, "{group}: a report and one repeat, got {times:?}");
            times[1] - times[0]
        })
        .collect()
}

fn two_boots_pick_different_report_delays(firmware: Firmware) {
    require_qemu!();
    let first = repeat_delays(firmware);
    let second = repeat_delays(firmware);
    // One seed gives one sequence of delays: every boot would repeat the same five, give
    // or take a few milliseconds of scheduling. From different seeds, five pairs of
    // delays uniform in (0, 1 s] all within 50 ms of each other happen once in 100 000.
    let alike = first.iter().zip(&second).filter(|(a, b)| a.abs_diff(**b) <= ms(50)).count();
    assert!(alike < first.len(), "both boots picked the same delays: {first:?} and {second:?}");
}

fn the_exit_command_stops_qemu_with_its_status(firmware: Firmware) {
    require_qemu!();
    for (code, success) in [("0", true), ("1", false)] {
        let mut board = Board::boot(firmware);
        assert_eq!(board.command(&format!("exit {code}")), "bye");
        let status = board.wait_exit(ms(5_000)).expect("QEMU exits");
        assert_eq!(status.success(), success, "exit {code}: {status}");
        assert!(board.output().contains("exit ("), "{}", board.output());
    }
}

/// One `#[test]` per firmware for each check: `smoltcp::name` and `embassy::name`.
macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        mod smoltcp {
            use mcast_qemu_mps2_an385_test::Firmware;
            $(#[test] fn $name() { super::$name(Firmware::Smoltcp) })*
        }
        mod embassy {
            use mcast_qemu_mps2_an385_test::Firmware;
            $(#[test] fn $name() { super::$name(Firmware::Embassy) })*
        }
    };
}

checks!(
    the_join_report_is_a_correct_igmpv2_frame,
    a_general_query_gets_one_report_per_group_within_max_resp,
    another_hosts_report_during_the_delay_suppresses_ours,
    a_group_specific_query_sent_to_all_systems_is_answered,
    leave_by_command_sends_a_leave_to_all_routers,
    datagrams_for_the_joined_group_arrive_and_are_echoed,
    datagrams_for_a_group_in_another_bin_never_reach_the_firmware,
    datagrams_for_a_group_in_the_same_bin_reach_the_nic_and_are_dropped_in_software,
    only_the_firmwares_own_address_is_answered,
    broadcast_and_all_systems_reach_the_application_and_the_groups_alias_does_not,
    malformed_igmp_is_counted_and_ignored,
    a_join_before_the_address_is_set_is_announced_when_it_is,
    two_boots_pick_different_report_delays,
    the_exit_command_stops_qemu_with_its_status,
);
