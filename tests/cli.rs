//! The `mcast` tool, run as a program: exact outputs and exit codes of every subcommand
//! that needs no privilege. `send` and `recv` run on `lo` only.

mod common;

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const MCAST: &str = env!("CARGO_BIN_EXE_mcast");
const SRC: [&str; 4] = ["--src", "10.99.0.1", "--src-mac", "22:44:6f:0d:33:e4"];

fn mcast(args: &[&str]) -> Output {
    Command::new(MCAST).args(args).output().expect("run mcast")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn temp_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mcast-cli-{}-{name}", std::process::id()))
}

#[test]
fn map_prints_mac_scope_neighbours_and_hash_bins() {
    let o = mcast(&["map", "239.1.2.3"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "\
group       239.1.2.3
mac         01:00:5e:01:02:03
scope       administratively scoped
name        -
routed      yes, up to the boundary of its administrative scope
same MAC    31 other groups:
            224.1.2.3       224.129.2.3     225.1.2.3       225.129.2.3
            226.1.2.3       226.129.2.3     227.1.2.3       227.129.2.3
            228.1.2.3       228.129.2.3     229.1.2.3       229.129.2.3
            230.1.2.3       230.129.2.3     231.1.2.3       231.129.2.3
            232.1.2.3       232.129.2.3     233.1.2.3       233.129.2.3
            234.1.2.3       234.129.2.3     235.1.2.3       235.129.2.3
            236.1.2.3       236.129.2.3     237.1.2.3       237.129.2.3
            238.1.2.3       238.129.2.3     239.129.2.3
hash bins   (64-bin multicast hash of each NIC family)
            DWMAC (STM32 ETH)  bin  6  MACHTLR/MACHT0R bit 6
            ENC28J60           bin 12  EHT1 bit 4
            LAN9118            bin 57  HASHH bit 25
            KSZ8851            bin 57  MAHTR3 bit 9
            NXP ENET/FEC       bin  1  GALR bit 1
            Cadence GEM/GMAC   bin 15  HRB bit 15
            DM9000             bin 39  MAR4 bit 7
            LAN91C111          bin 57  MT7 bit 1
            FTGMAC100          bin 38  MAHT1 bit 6
"
    );
}

#[test]
fn map_json_is_one_object_with_every_field() {
    let o = mcast(&["map", "224.0.0.251", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1);
    assert!(out.starts_with(
        r#"{"group":"224.0.0.251","mac":"01:00:5e:00:00:fb","scope":"local network control","well_known":"mDNS","routed":false,"joinable":true,"same_mac":["224.128.0.251","225.0.0.251","#
    ));
    let same_mac = out.split("\"same_mac\":[").nth(1).and_then(|rest| rest.split(']').next()).unwrap();
    assert_eq!(same_mac.split(',').count(), 31);
    assert!(same_mac.split(',').all(|g| g.ends_with(".0.251\"") && g != "\"224.0.0.251\""), "{same_mac}");
    assert!(out.ends_with("{\"nic\":\"FTGMAC100\",\"bin\":0,\"register\":\"MAHT0\",\"bit\":0}]}\n"), "{out}");
}

#[test]
fn map_refuses_a_unicast_address_as_usage_error() {
    let o = mcast(&["map", "10.0.0.1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not an IPv4 multicast address (224.0.0.0/4)"), "{}", stderr(&o));
}

#[test]
fn encode_matches_the_frames_linux_sends() {
    let report = mcast(&[&["encode", "report", "239.1.2.3"][..], &SRC].concat());
    assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
    assert_eq!(stdout(&report), hex(&common::golden_frame("IGMPv2 report")) + "\n");
    let leave = mcast(&[&["encode", "leave", "239.1.2.3"][..], &SRC].concat());
    assert_eq!(stdout(&leave), hex(&common::golden_frame("IGMPv2 leave")) + "\n");
    let v3 = mcast(&[&["encode", "v3-report", "to-exclude:239.1.2.3"][..], &SRC].concat());
    assert_eq!(stdout(&v3), hex(&common::golden_frame("IGMPv3 report")) + "\n");
}

#[test]
fn encode_then_decode_every_message_kind() {
    let cases: [(&[&str], &str); 6] = [
        (&["query"], "IGMPv2 query general, max resp 10.0 s"),
        (&["query", "--igmp", "1"], "IGMPv1 query"),
        (&["query", "--group", "239.1.2.3", "--max-resp", "10"], "IGMPv2 query group 239.1.2.3, max resp 1.0 s"),
        (
            &["query", "--igmp", "3", "--group", "232.1.1.1", "--source", "10.0.0.7", "--suppress", "--qrv", "3"],
            "IGMPv3 query group 232.1.1.1, max resp 10.0 s, qrv 3, qqi 125 s, S, sources [10.0.0.7]",
        ),
        (&["report", "239.1.2.3", "--igmp", "1"], "IGMPv1 report 239.1.2.3"),
        (
            &["v3-report", "allow:232.1.1.1:10.0.0.1,10.0.0.2", "block:232.1.1.2:10.0.0.3"],
            "IGMPv3 report, 2 record(s); AllowNewSources 232.1.1.1 sources [10.0.0.1, 10.0.0.2]; \
             BlockOldSources 232.1.1.2 sources [10.0.0.3]",
        ),
    ];
    for (args, summary) in cases {
        let e = mcast(&[&["encode"][..], args, &SRC].concat());
        assert_eq!(e.status.code(), Some(0), "{args:?}: {}", stderr(&e));
        let frame = stdout(&e).trim().to_owned();
        let d = mcast(&["decode", &frame]);
        assert_eq!(d.status.code(), Some(0), "{args:?}");
        let text = stdout(&d);
        assert!(text.ends_with(&format!("  igmp      {summary}\n")), "{args:?}: {text}");
        assert!(text.contains("ttl 1, tos 0xc0, id 0, DF, router alert, protocol 2"), "{text}");
    }
}

#[test]
fn encode_json_and_usage_errors() {
    let o = mcast(&[&["encode", "leave", "239.1.2.3", "--json"][..], &SRC].concat());
    assert_eq!(
        stdout(&o),
        format!(
            "{{\"frame\":\"{}\",\"len\":46,\"igmp\":\"IGMPv2 leave 239.1.2.3\"}}\n",
            hex(&common::golden_frame("IGMPv2 leave"))
        )
    );
    let o = mcast(&[&["encode", "query", "--igmp", "1", "--group", "239.1.2.3"][..], &SRC].concat());
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "mcast: an IGMPv1 query is always general: no --group or --source\n");
    let o = mcast(&[&["encode", "v3-report", "join:239.1.2.3"][..], &SRC].concat());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown record type \"join\""), "{}", stderr(&o));
    let o = mcast(&["encode", "report", "239.1.2.3", "--src", "10.99.0.1"]);
    assert_eq!(o.status.code(), Some(2), "--src-mac is required");
    assert!(stderr(&o).contains("--src-mac <MAC>"), "{}", stderr(&o));
}

#[test]
fn decode_prints_every_layer() {
    let frame = hex(&common::golden_frame("IGMPv2 report"));
    let o = mcast(&["decode", &frame]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "\
frame 1 (46 octets)
  ethernet  22:44:6f:0d:33:e4 > 01:00:5e:01:02:03, type 0x0800
  ipv4      10.99.0.1 > 239.1.2.3, ttl 1, tos 0xc0, id 0, DF, router alert, protocol 2, payload 8 octets
  igmp      IGMPv2 report 239.1.2.3
"
    );
    let o = mcast(&["decode", "--json", &frame]);
    assert_eq!(
        stdout(&o),
        r#"{"frame":1,"len":46,"ethernet":{"dst":"01:00:5e:01:02:03","src":"22:44:6f:0d:33:e4","ethertype":2048,"vlan":[],"mac_mismatch":false},"ipv4":{"src":"10.99.0.1","dst":"239.1.2.3","ttl":1,"tos":192,"ident":0,"dont_fragment":true,"router_alert":true,"router_alert_value":0,"protocol":2,"payload_len":8},"igmp":{"type":"v2-report","summary":"IGMPv2 report 239.1.2.3","group":"239.1.2.3"}}
"#
    );
}

#[test]
fn decode_shows_vlan_tags_a_mac_mismatch_and_an_odd_router_alert() {
    let query = common::golden_frame("IGMPv2 general query");
    // The query at a station's own MAC (a Wi-Fi access point converts multicast to
    // unicast), and at the broadcast MAC.
    let mut unicast = query.clone();
    unicast[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
    let mut broadcast = query.clone();
    broadcast[..6].fill(0xff);
    // The query under an 802.1ad tag (VLAN 100) and an 802.1Q tag (priority 5, VLAN 10).
    let mut tagged = query.clone();
    tagged.splice(12..12, [0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0xa0, 0x0a]);
    // The kernel's report with Router Alert value 1 (header checksum fixed).
    let mut odd_alert = common::golden_frame("IGMPv2 report");
    odd_alert[24..26].copy_from_slice(&[0xe8, 0xae]);
    odd_alert[37] = 1;
    let o = mcast(&["decode", &hex(&unicast), &hex(&broadcast), &hex(&tagged), &hex(&odd_alert)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "\
frame 1 (46 octets)
  ethernet  86:90:1d:bc:8f:73 > 02:00:00:00:00:02, type 0x0800, not the group's MAC 01:00:5e:00:00:01 (unicast)
  ipv4      0.0.0.0 > 224.0.0.1, ttl 1, tos 0xc0, id 0, DF, router alert, protocol 2, payload 8 octets
  igmp      IGMPv2 query general, max resp 2.0 s
frame 2 (46 octets)
  ethernet  86:90:1d:bc:8f:73 > ff:ff:ff:ff:ff:ff, type 0x0800, not the group's MAC 01:00:5e:00:00:01 (broadcast)
  ipv4      0.0.0.0 > 224.0.0.1, ttl 1, tos 0xc0, id 0, DF, router alert, protocol 2, payload 8 octets
  igmp      IGMPv2 query general, max resp 2.0 s
frame 3 (54 octets)
  ethernet  86:90:1d:bc:8f:73 > 01:00:5e:00:00:01, 802.1ad vlan 100, 802.1Q vlan 10 priority 5, type 0x0800
  ipv4      0.0.0.0 > 224.0.0.1, ttl 1, tos 0xc0, id 0, DF, router alert, protocol 2, payload 8 octets
  igmp      IGMPv2 query general, max resp 2.0 s
frame 4 (46 octets)
  ethernet  22:44:6f:0d:33:e4 > 01:00:5e:01:02:03, type 0x0800
  ipv4      10.99.0.1 > 239.1.2.3, ttl 1, tos 0xc0, id 0, DF, router alert value 1 (not the alert), protocol 2, payload 8 octets
  igmp      IGMPv2 report 239.1.2.3
"
    );
    let o = mcast(&["decode", "--json", &hex(&unicast), &hex(&tagged), &hex(&odd_alert)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].contains(
            r#""ethernet":{"dst":"02:00:00:00:00:02","src":"86:90:1d:bc:8f:73","ethertype":2048,"vlan":[],"mac_mismatch":true}"#
        ),
        "{out}"
    );
    assert!(
        lines[1].contains(
            r#""ethernet":{"dst":"01:00:5e:00:00:01","src":"86:90:1d:bc:8f:73","ethertype":2048,"vlan":[{"tpid":34984,"id":100,"priority":0,"drop_eligible":false},{"tpid":33024,"id":10,"priority":5,"drop_eligible":false}],"mac_mismatch":false}"#
        ),
        "{out}"
    );
    assert!(lines[2].contains(r#""router_alert":false,"router_alert_value":1,"#), "{out}");
    assert!(lines[0].contains(r#""router_alert":true,"router_alert_value":0,"#), "{out}");
}

#[test]
fn decode_reports_malformed_frames_with_the_exact_error_and_exit_3() {
    let good = common::golden_frame("IGMPv2 report");
    let mut bad_checksum = good.clone();
    bad_checksum[good.len() - 1] ^= 1; // last group octet: the IGMP checksum fails
    let mut wrong_mac = good.clone();
    wrong_mac[5] ^= 1;
    let o = mcast(&["decode", &hex(&good), &hex(&bad_checksum), &hex(&wrong_mac), "01005e"]);
    assert_eq!(o.status.code(), Some(3));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "frame 1 (46 octets)");
    assert_eq!(lines[4], "frame 2 (46 octets): error: bad IGMP checksum");
    assert_eq!(lines[5], "frame 3 (46 octets): error: Ethernet destination does not match the IPv4 group");
    assert_eq!(lines[6], "frame 4 (3 octets): error: truncated packet");
    assert_eq!(stderr(&o), "mcast: 3 of 4 frame(s) did not decode\n");

    let o = mcast(&["decode", "--json", &hex(&bad_checksum)]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stdout(&o), "{\"frame\":1,\"len\":46,\"error\":\"bad IGMP checksum\"}\n");

    let o = mcast(&["decode", "01005"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stderr(&o), "mcast: frame 1: odd number of hex digits (5)\n");
    assert_eq!(stdout(&o), "");
    let o = mcast(&["decode", "01:00:zz"]);
    assert_eq!(stderr(&o), "mcast: frame 1: 'z' is not a hex digit\n");
    // Separators between octets are accepted.
    let colons: Vec<String> = good.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(mcast(&["decode", &colons.join(":")]).status.code(), Some(0));
}

#[test]
fn decode_reads_pcap_files() {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    let path = temp_file("frames.pcap");
    let frames = common::golden_frames();
    {
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = PcapWriter::new(file).unwrap();
        for (i, (_, bytes)) in frames.iter().enumerate() {
            let t = Duration::new(1_700_000_000 + i as u64, 250_000_000);
            writer.write_packet(&PcapPacket::new(t, bytes.len() as u32, bytes)).unwrap();
        }
        let mut broken = frames[0].1.clone();
        broken[14] = 0x55; // IP version 5
        writer.write_packet(&PcapPacket::new(Duration::from_secs(1_700_000_010), 46, &broken)).unwrap();
        drop(writer);
    }
    let o = mcast(&["decode", "--pcap", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("frame 1 (46 octets) at 1700000000.250000 s\n"), "{out}");
    assert!(out.contains("  igmp      IGMPv2 query general, max resp 2.0 s\n"), "{out}");
    assert!(out.contains("  igmp      IGMPv3 report, 1 record(s); ChangeToExclude 239.1.2.3\n"), "{out}");
    assert!(out.ends_with("frame 7 (46 octets) at 1700000010.000000 s: error: IP version is not 4\n"), "{out}");
    assert_eq!(stderr(&o), "mcast: 1 of 7 frame(s) did not decode\n");

    let o = mcast(&["decode", "--pcap", path.to_str().unwrap(), "--json"]);
    assert_eq!(stdout(&o).lines().count(), 7);
    assert!(stdout(&o).starts_with("{\"frame\":1,\"len\":46,\"time\":1700000000.250000,\"ethernet\""));

    std::fs::write(&path, b"not a capture").unwrap();
    let o = mcast(&["decode", "--pcap", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).starts_with(&format!("mcast: {}: ", path.display())), "{}", stderr(&o));
    std::fs::remove_file(&path).unwrap();

    let o = mcast(&["decode", "--pcap", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "a missing file is an OS error");
}

/// Starts `mcast recv ARGS`, returning once it has joined (its first line on standard
/// error says so), with that line.
fn spawn_recv(args: &[&str]) -> (std::process::Child, String) {
    let mut recv =
        Command::new(MCAST).arg("recv").args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut err = std::io::BufReader::new(recv.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    // Keep draining standard error so that the receiver never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    (recv, first)
}

/// The stream id in `text` after `key` (8 hex digits), the part that differs per run.
fn stream_of(text: &str, key: &str) -> String {
    let at = text.find(key).unwrap_or_else(|| panic!("no {key:?} in {text}")) + key.len();
    let id = &text[at..at + 8];
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id} in {text}");
    id.to_string()
}

#[test]
fn send_and_recv_count_every_group_on_loopback() {
    let port = "47123";
    let (recv, first) = spawn_recv(&[
        &format!("239.77.1.1+2:{port}"),
        "--interface",
        "127.0.0.1",
        "--count",
        "4",
        "--timeout",
        "10",
        "--json",
    ]);
    assert_eq!(first, format!("listening on 239.77.1.1:{port}, 239.77.1.2:{port} (interface 127.0.0.1, loop on)\n"));
    let send = mcast(&["send", &format!("239.77.1.1+2:{port}"), "-i", "127.0.0.1", "-n", "2", "--interval", "50"]);
    assert_eq!(send.status.code(), Some(0), "{}", stderr(&send));
    let sent = stdout(&send);
    let stream = stream_of(&sent, "(stream ");
    let line = |g: u8, seq: u8| {
        format!(
            "sent 32 octets to 239.77.1.{g}:{port} (stream {stream} seq {seq}) (ttl 1, interface 127.0.0.1, loop on)\n"
        )
    };
    assert_eq!(sent, [line(1, 1), line(2, 1), line(1, 2), line(2, 2)].concat());
    assert!(stderr(&send).starts_with("sent 4 datagrams (128 octets) to 2 group(s) over 0.0"), "{}", stderr(&send));

    let out = recv.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    for (i, line) in lines[..4].iter().enumerate() {
        assert!(line.starts_with(&format!("{{\"kind\":\"datagram\",\"n\":{},\"from\":\"127.0.0.1:", i + 1)), "{line}");
        let interface = if cfg!(target_os = "linux") { "\"1\"" } else { "null" };
        let group = 1 + i % 2;
        let seq = 1 + i / 2;
        assert!(
            line.contains(&format!(
                "\"to\":\"239.77.1.{group}\",\"interface\":{interface},\"len\":32,\"probe\":{{\"stream\":\"{stream}\",\"seq\":{seq},\"ttl\":1,\"delay_ms\":"
            )),
            "{line}"
        );
        assert!(line.ends_with("},\"text\":\"\"}"), "{line}");
    }
    for (line, group) in lines[4..].iter().zip([1, 2]) {
        assert!(
            line.starts_with(&format!("{{\"kind\":\"summary\",\"group\":\"239.77.1.{group}\",\"sender\":\"127.0.0.1:")),
            "{line}"
        );
        assert!(line.contains(&format!("\"stream\":\"{stream}\",\"received\":2,\"octets\":64,\"rate\":")), "{line}");
        assert!(
            line.contains(
                ",\"expected\":2,\"lost\":0,\"duplicated\":0,\"reordered\":0,\"late\":0,\"delay_ms\":{\"min\":"
            ),
            "{line}"
        );
    }
}

#[test]
fn recv_counts_gaps_duplicates_and_reordering_per_sender() {
    use mcast::socket::probe::{Kind, Probe};
    let port = 47128;
    let (recv, _) =
        spawn_recv(&[&format!("239.77.1.6:{port}"), "-i", "127.0.0.1", "-n", "11", "--timeout", "10", "-q"]);
    let sockets = [0, 1].map(|_| {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_multicast_loop_v4(true).unwrap();
        s
    });
    // Sender 0 skips 6, repeats 5 and sends 3 after 4; sender 1 sends 1 to 3 in order.
    let plan: [(usize, u64); 11] =
        [(0, 1), (0, 2), (0, 4), (1, 1), (0, 3), (0, 5), (1, 2), (0, 5), (0, 7), (1, 3), (0, 8)];
    for (sender, seq) in plan {
        let mut buf = [0u8; 40];
        let sent = mcast::socket::probe::wall_clock();
        Probe { kind: Kind::Data, ttl: 1, stream: 0x5eed_0000 + sender as u32, seq, sent, aux: 0 }
            .write(&mut buf)
            .unwrap();
        sockets[sender].send_to(&buf, ("239.77.1.6", port)).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = recv.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "--quiet: the summary only: {text}");
    let local = |i: usize| sockets[i].local_addr().unwrap().to_string();
    // Rows sort by sender: the socket with the lower port first.
    let port_of = |i: usize| sockets[i].local_addr().unwrap().port();
    let (first, second) = if port_of(0) < port_of(1) { (1, 2) } else { (2, 1) };
    let row0 = lines[first];
    let row1 = lines[second];
    assert!(row0.starts_with(&format!("239.77.1.6       {:<22} 5eed0000 ", local(0))), "{row0}");
    // 8 received of 1..=8, 6 lost (1 of 8: 12.5%), 5 twice, 3 late.
    assert!(row0.contains(" 5eed0000           8     1 (12.5%)     1      1     0 "), "{row0}");
    assert!(row1.contains(" 5eed0001           3      0 (0.0%)     0      0     0 "), "{row1}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_recv_with_its_summary() {
    let port = "47129";
    let (recv, _) = spawn_recv(&[&format!("239.77.1.7:{port}"), "-i", "127.0.0.1", "-q"]);
    let send = mcast(&["send", &format!("239.77.1.7:{port}"), "-i", "127.0.0.1", "-n", "3", "--rate", "100", "-q"]);
    assert_eq!(send.status.code(), Some(0));
    std::thread::sleep(Duration::from_millis(100));
    let kill = Command::new("kill").args(["-INT", &recv.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = recv.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "SIGINT after datagrams arrived is a normal end");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().nth(1).unwrap().contains("           3      0 (0.0%)     0      0     0 "), "{text}");

    let (recv, _) = spawn_recv(&["239.77.1.8:47130", "-i", "127.0.0.1"]);
    std::thread::sleep(Duration::from_millis(100));
    assert!(Command::new("kill").args(["-INT", &recv.id().to_string()]).status().unwrap().success());
    let out = recv.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "stopped before anything arrived");
    assert!(String::from_utf8(out.stdout).unwrap().is_empty());
}

#[test]
fn send_json_is_a_line_per_datagram_and_a_summary() {
    let o = mcast(&["send", "239.77.1.9+2:47131", "-i", "127.0.0.1", "--ttl", "3", "--size", "40", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let stream = stream_of(&out, "\"stream\":\"");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for (line, g) in lines.iter().zip([9, 10]) {
        assert_eq!(
            *line,
            format!(
                r#"{{"kind":"datagram","seq":1,"to":"239.77.1.{g}:47131","stream":"{stream}","len":40,"ttl":3,"interface":"127.0.0.1","loop":true}}"#
            )
        );
    }
    assert!(lines[2].starts_with(r#"{"kind":"summary","sent":2,"octets":80,"groups":2,"seconds":"#), "{}", lines[2]);
    assert!(lines[2].ends_with(&format!(r#","stream":"{stream}"}}"#)), "{}", lines[2]);
    assert_eq!(stderr(&o), "", "with --json the summary is the last line");
}

#[test]
fn raw_datagrams_are_printed_as_text_and_counted_without_a_sequence() {
    let port = "47126";
    let (recv, _) = spawn_recv(&[&format!("239.77.1.4:{port}"), "-i", "127.0.0.1", "-n", "2", "--timeout", "10"]);
    let send = mcast(&[
        "send",
        &format!("239.77.1.4:{port}"),
        "-i",
        "127.0.0.1",
        "-n",
        "2",
        "--interval",
        "20",
        "--raw",
        "--message",
        "hello",
        "--quiet",
    ]);
    assert_eq!(send.status.code(), Some(0), "{}", stderr(&send));
    assert_eq!(stdout(&send), "", "--quiet prints only the summary, on standard error");
    let out = recv.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    for line in &lines[..2] {
        assert!(line.starts_with("from 127.0.0.1:") && line.contains(" to 239.77.1.4"), "{line}");
        assert!(line.ends_with(": 5 octets: hello"), "{line}");
    }
    assert_eq!(
        lines[2],
        "group            sender                 stream      received      lost   dup  reord  late    rate/s  delay ms min/avg/max/sd"
    );
    assert!(lines[3].starts_with("239.77.1.4       127.0.0.1:"), "{}", lines[3]);
    assert!(lines[3].contains(" -                  2             -     -      -     -  "), "{}", lines[3]);
}

#[test]
fn interfaces_are_taken_by_name_and_an_unknown_name_is_one_line() {
    let o = mcast(&["send", "239.77.1.5:47127", "-i", "no-such-if0"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.starts_with("mcast: no interface is named \"no-such-if0\""), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let o = mcast(&["recv", "239.77.1.5:47127", "-i", "no-such-if0", "--timeout", "0.1"]);
    assert_eq!((o.status.code(), stderr(&o)), (Some(1), err.clone()));
    #[cfg(target_os = "linux")]
    for args in
        [&["watch", "-i", "no-such-if0"][..], &["querier", "-i", "no-such-if0"], &["doctor", "-i", "no-such-if0"]]
    {
        let o = mcast(args);
        assert_eq!((o.status.code(), stderr(&o)), (Some(1), err.clone()), "{args:?}");
    }
    #[cfg(target_os = "linux")]
    {
        let o = mcast(&["recv", "239.77.1.5:47127", "-i", "lo", "--timeout", "0.2"]);
        assert_eq!(o.status.code(), Some(4));
        assert!(
            stderr(&o).starts_with("listening on 239.77.1.5:47127 (interface lo (index 1), loop on)\n"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn bad_targets_and_options_are_usage_errors() {
    for (args, message) in [
        (&["send", "239.1.2.3+0:5000"][..], "239.1.2.3+0:5000: a range holds 1 to 4096 groups"),
        (
            &["recv", "239.1.2.3:5000", "239.1.2.4:5001"][..],
            "239.1.2.3:5000 and 239.1.2.4:5001: every group must be on the same UDP port (one socket)",
        ),
        (&["send", "239.1.2.3:5000", "--rate", "0"][..], "--rate 0: not a rate"),
        (&["send", "239.1.2.3:5000", "--size", "31"][..], "--size 31: the header alone takes 32 octets"),
        (&["send", "239.1.2.3:5000", "--duration=-1"][..], "--duration -1: not a duration"),
    ] {
        let o = mcast(args);
        assert_eq!((o.status.code(), stderr(&o)), (Some(2), format!("mcast: {message}\n")), "{args:?}");
    }
}

#[test]
fn recv_times_out_with_exit_4() {
    let o = mcast(&["recv", "239.77.1.2:47124", "-i", "127.0.0.1", "--timeout", "0.3"]);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(
        stderr(&o),
        "listening on 239.77.1.2:47124 (interface 127.0.0.1, loop on)\n\
         mcast: timed out after 0.3 s with 0 of 1 datagram(s) on 239.77.1.2:47124\n"
    );
    assert_eq!(stdout(&o), "");
}

#[test]
fn send_reports_os_errors_with_exit_1() {
    // 203.0.113.77 (TEST-NET-3) is no address of this host.
    let o = mcast(&["send", "239.77.1.3:47125", "--interface", "203.0.113.77"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("mcast: set outgoing interface 203.0.113.77: "), "{}", stderr(&o));
    let o = mcast(&["send", "10.0.0.1:47125"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "mcast: 10.0.0.1:47125: 10.0.0.1: not an IPv4 multicast address (224.0.0.0/4)\n");
}

#[test]
fn sim_prints_the_timeline_and_the_figures() {
    let o = mcast(&["sim"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.starts_with(
        "Timeline: a querier, three hosts in 239.1.2.3, one leaves after 200 s (seed 1)\n\n    \
         0.000s  #1   joins 239.1.2.3\n"
    ));
    assert!(out.contains("  200.000s  #1   sends IGMPv2 leave 239.1.2.3 to 224.0.0.2\n"), "{out}");
    assert!(out.contains("#0   sends IGMPv2 query group 239.1.2.3, max resp 1.0 s to 239.1.2.3\n"), "{out}");
    assert!(out.ends_with(
        "\
suppression    50 members, 200 general queries: 1.000 reports per query on average, at most 1
leave          group absent 2s after the last Leave at worst (LMQI x LMQC = 2 s)
election       a lower-addressed querier starting 60 s late wins after 0ns at worst (Query Interval 125 s); only it queries afterwards in every run: true
IGMPv1        100 v1 reports, 0 v2 reports, 0 leaves from hosts under a v1 querier
10% loss, RV 2  9.3% of frames lost; joined groups absent in 11001 of 396000 one-second samples over 10 h
10% loss, RV 3  9.3% of frames lost; joined groups absent in 1728 of 396000 one-second samples over 10 h
10% loss, RV 4  9.4% of frames lost; joined groups absent in 229 of 396000 one-second samples over 10 h
10% loss, RV 5  9.4% of frames lost; joined groups absent in 0 of 396000 one-second samples over 10 h
"
    ));
    let j = mcast(&["sim", "--json", "--seed", "2", "--no-figures"]);
    let text = stdout(&j);
    assert!(text.lines().all(|l| l.starts_with("{\"kind\":\"timeline\",\"at_ms\":")));
    assert_eq!(text.lines().next(), Some(r#"{"kind":"timeline","at_ms":0,"node":1,"what":"joins 239.1.2.3"}"#));
}

#[test]
fn help_explains_every_option_and_the_exit_codes() {
    let o = mcast(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = stdout(&o);
    for sub in ["map", "encode", "decode", "send", "recv", "watch", "sim"] {
        assert!(help.contains(&format!("\n  {sub} ")), "{sub} in {help}");
    }
    assert!(help.contains("4  timed out"), "{help}");
    let o = mcast(&["recv", "--help"]);
    let help = stdout(&o);
    for option in ["--interface", "--source", "--loop", "--count", "--timeout", "--quiet", "--json"] {
        assert!(help.contains(option), "{option} in {help}");
    }
    let o = mcast(&["send", "--help"]);
    for option in [
        "--ttl",
        "--interface",
        "--loop",
        "--count",
        "--duration",
        "--rate",
        "--interval",
        "--size",
        "--message",
        "--raw",
        "--quiet",
        "--json",
    ] {
        assert!(stdout(&o).contains(option), "{option}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn watch_without_cap_net_raw_fails_with_a_clear_error() {
    use std::os::unix::fs::PermissionsExt as _;
    // A copy anyone may run, since the build directory may be private to root.
    let copy = temp_file("unprivileged-mcast");
    std::fs::copy(MCAST, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    let mut command = if root {
        // Root drops to nobody without capabilities; anyone else lacks CAP_NET_RAW already.
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]);
        c.arg(&copy);
        c
    } else {
        Command::new(&copy)
    };
    let o = command.args(["watch", "-i", "lo", "--timeout", "1"]).output().unwrap();
    std::fs::remove_file(&copy).unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "mcast: open an IGMP monitor on lo: permission denied (Operation not permitted (os error 1)); \
         capturing needs CAP_NET_RAW: run as root or `setcap cap_net_raw+ep` the program\n"
    );
}

#[test]
fn querier_help_lists_every_rfc_2236_timer() {
    let o = mcast(&["querier", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    #[rustfmt::skip]
    let options = ["--interface", "--source", "--once", "--igmp", "--robustness", "--query-interval",
        "--query-response-interval", "--group-membership-interval", "--other-querier-present-interval",
        "--startup-query-interval", "--startup-query-count", "--last-member-query-interval",
        "--last-member-query-count", "--json"];
    for option in options {
        assert!(stdout(&o).contains(option), "{option}: {}", stdout(&o));
    }
}

#[cfg(not(target_os = "linux"))]
#[test]
fn querier_says_it_runs_on_linux_only() {
    let o = mcast(&["querier", "-i", "eth0"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "mcast: querier runs on Linux only (it sends and receives IGMP on AF_PACKET sockets)\n");
}
