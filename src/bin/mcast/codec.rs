//! `mcast map`, `mcast encode` and `mcast decode`: the pure core, from the command line.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;

use mcast::filter::HashScheme;
use mcast::wire::igmp::{AddrList, GroupRecord, GroupRecords, Message, RecordType, V3Query, encode_exp_code};
use mcast::wire::{FrameRepr, frame};
use mcast::wire::{VlanTag, ethernet, ipv4};
use mcast::{GroupAddr, MacAddr, Scope};

use crate::json::{self, Object};
use crate::{Failure, Out};

/// `mcast map GROUP`.
pub fn map(out: &mut Out, group: GroupAddr) -> Result<(), Failure> {
    let mac = group.to_mac();
    let others: Vec<GroupAddr> = mac.groups().map_err(Failure::usage)?.filter(|g| *g != group).collect();
    let routed = group.is_routable();
    if out.json {
        let hash = HashScheme::ALL.iter().map(|scheme| {
            let bin = scheme.bin(mac);
            let at = scheme.location(bin);
            Object::new()
                .str("nic", scheme.name())
                .num("bin", bin)
                .str("register", scheme.register_name(at.register))
                .num("bit", at.bit)
                .finish()
        });
        let line = Object::new()
            .str("group", group.to_string())
            .str("mac", mac.to_string())
            .str("scope", group.scope().name())
            .opt_str("well_known", group.well_known_name())
            .num("routed", routed)
            .num("joinable", group.is_joinable())
            .strs("same_mac", others.iter().map(ToString::to_string))
            .raw("hash", &json::array(hash))
            .finish();
        out.line(&line);
        return Ok(());
    }
    let mut text = String::new();
    let _ = writeln!(text, "group       {group}");
    let _ = writeln!(text, "mac         {mac}");
    let _ = writeln!(text, "scope       {}", group.scope());
    let _ = writeln!(text, "name        {}", group.well_known_name().unwrap_or("-"));
    let routing = match (routed, group.scope()) {
        (false, _) => "no: routers never forward 224.0.0.0/24, whatever the TTL",
        (true, Scope::AdminLocal | Scope::AdminOrganizationLocal | Scope::AdminScoped) => {
            "yes, up to the boundary of its administrative scope"
        }
        (true, _) => "yes, as far as its TTL allows",
    };
    let _ = writeln!(text, "routed      {routing}");
    let _ = writeln!(text, "same MAC    {} other groups:", others.len());
    for row in others.chunks(4) {
        let cells: Vec<String> = row.iter().map(|g| format!("{:<16}", g.to_string())).collect();
        let _ = writeln!(text, "            {}", cells.concat().trim_end());
    }
    let _ = writeln!(text, "hash bins   (64-bin multicast hash of each NIC family)");
    for scheme in HashScheme::ALL {
        let bin = scheme.bin(mac);
        let at = scheme.location(bin);
        let _ = writeln!(
            text,
            "            {:<18} bin {:>2}  {} bit {}",
            scheme.name(),
            bin,
            scheme.register_name(at.register),
            at.bit
        );
    }
    out.text(&text);
    Ok(())
}

/// What `mcast encode` frames.
#[derive(Debug, Clone)]
pub enum Encode {
    /// A membership query.
    Query {
        /// Group-specific query, or general.
        group: Option<GroupAddr>,
        /// IGMP version 1, 2 or 3.
        version: u8,
        /// Max Resp in tenths of a second.
        max_resp: u16,
        /// v3: Querier's Robustness Variable.
        qrv: u8,
        /// v3: Querier's Query Interval in seconds.
        qqi: u16,
        /// v3: the S flag.
        suppress: bool,
        /// v3: sources.
        sources: Vec<Ipv4Addr>,
    },
    /// A v1 or v2 membership report.
    Report {
        /// The group.
        group: GroupAddr,
        /// 1 or 2.
        version: u8,
    },
    /// A v2 leave.
    Leave {
        /// The group.
        group: GroupAddr,
    },
    /// A v3 report.
    V3Report {
        /// Its records: type, group, sources.
        records: Vec<(RecordType, GroupAddr, Vec<Ipv4Addr>)>,
    },
}

/// Parses a v3 record `TYPE:GROUP[:SOURCE,SOURCE…]`.
pub fn parse_record(s: &str) -> Result<(RecordType, GroupAddr, Vec<Ipv4Addr>), String> {
    let mut parts = s.splitn(3, ':');
    let kind = parts.next().unwrap_or_default();
    let record_type = match kind {
        "is-in" | "is-include" => RecordType::ModeIsInclude,
        "is-ex" | "is-exclude" => RecordType::ModeIsExclude,
        "to-in" | "to-include" => RecordType::ChangeToInclude,
        "to-ex" | "to-exclude" => RecordType::ChangeToExclude,
        "allow" => RecordType::AllowNewSources,
        "block" => RecordType::BlockOldSources,
        _ => {
            return Err(format!(
                "unknown record type {kind:?} (is-include, is-exclude, to-include, to-exclude, allow, block)"
            ));
        }
    };
    let group = parts.next().ok_or("missing group after the record type")?;
    let group: GroupAddr = group.parse().map_err(|e| format!("group {group:?}: {e}"))?;
    let sources = match parts.next() {
        None | Some("") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|a| a.parse::<Ipv4Addr>().map_err(|_| format!("source {a:?} is not an IPv4 address")))
            .collect::<Result<_, _>>()?,
    };
    Ok((record_type, group, sources))
}

/// `mcast encode …`.
pub fn encode(out: &mut Out, what: &Encode, src: Ipv4Addr, src_mac: MacAddr) -> Result<(), Failure> {
    // `AddrList` borrows its addresses as octets.
    let octets = |addrs: &[Ipv4Addr]| addrs.iter().map(|a| a.octets()).collect::<Vec<_>>();
    let query_sources: Vec<[u8; 4]>;
    let record_sources: Vec<Vec<[u8; 4]>>;
    let records: Vec<GroupRecord<'_>>;
    let message = match what {
        Encode::Query { group, version, max_resp, qrv, qqi, suppress, sources } => match version {
            1 => {
                if group.is_some() || !sources.is_empty() {
                    return Err(Failure::usage("an IGMPv1 query is always general: no --group or --source"));
                }
                Message::V1Query
            }
            2 => {
                if !sources.is_empty() {
                    return Err(Failure::usage("an IGMPv2 query has no sources; use --igmp 3"));
                }
                let max_resp = u8::try_from(*max_resp)
                    .ok()
                    .filter(|m| *m > 0)
                    .ok_or_else(|| Failure::usage("an IGMPv2 query's --max-resp is 1 to 255 tenths of a second"))?;
                Message::V2Query { max_resp, group: *group }
            }
            _ => {
                query_sources = octets(sources);
                Message::V3Query(V3Query {
                    max_resp_code: encode_exp_code(*max_resp),
                    group: *group,
                    suppress_router_processing: *suppress,
                    qrv: *qrv,
                    qqic: encode_exp_code(*qqi),
                    sources: AddrList::new(&query_sources),
                })
            }
        },
        Encode::Report { group, version: 1 } => Message::V1Report { group: *group },
        Encode::Report { group, .. } => Message::V2Report { group: *group },
        Encode::Leave { group } => Message::Leave { group: *group },
        Encode::V3Report { records: list } => {
            record_sources = list.iter().map(|(_, _, sources)| octets(sources)).collect();
            records = list
                .iter()
                .zip(&record_sources)
                .map(|((record_type, group, _), sources)| GroupRecord {
                    record_type: *record_type,
                    group: *group,
                    sources: AddrList::new(sources),
                    aux_data: &[],
                })
                .collect();
            Message::V3Report { records: GroupRecords::new(&records) }
        }
    };
    let mut buf = vec![0u8; FrameRepr::new(message, src_mac, src).buffer_len()];
    let len =
        frame::build(&message, src_mac, src, &mut buf).map_err(|e| Failure::usage(format!("cannot encode: {e}")))?;
    let hex = to_hex(&buf[..len]);
    if out.json {
        out.line(&Object::new().str("frame", &hex).num("len", len).str("igmp", message.to_string()).finish());
    } else {
        out.line(&hex);
    }
    Ok(())
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads one frame's hex: digits, with `:`, `-`, `.` or white space between them allowed.
pub fn from_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| !matches!(b, b':' | b'-' | b'.' | b' ' | b'\t' | b'\n')).collect();
    if let Some(bad) = digits.iter().find(|b| !b.is_ascii_hexdigit()) {
        return Err(format!("{:?} is not a hex digit", char::from(*bad)));
    }
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    Ok(digits
        .chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16).unwrap_or(0);
            let lo = (pair[1] as char).to_digit(16).unwrap_or(0);
            (hi * 16 + lo) as u8
        })
        .collect())
}

/// The value of the Router Alert option of `bytes`, the frame `f` was parsed from (the
/// parsed header says only whether it is the alert, value 0).
fn router_alert_value(f: &FrameRepr<'_>, bytes: &[u8]) -> Option<u16> {
    let tags = f.vlan.iter().flatten().count();
    let ip = bytes.get(ethernet::HEADER_LEN + tags * VlanTag::LEN..)?;
    ipv4::Packet::new_checked(ip).ok()?.router_alert()
}

/// Each VLAN tag of `f`, outermost first: "802.1Q vlan 10", with " priority 5" and
/// " drop eligible" where they are set.
fn vlan_notes(f: &FrameRepr<'_>) -> Vec<String> {
    let note = |tag: &VlanTag| {
        let mut note = format!("{} vlan {}", tag.tpid, tag.id());
        if tag.priority() != 0 {
            let _ = write!(note, " priority {}", tag.priority());
        }
        if tag.drop_eligible() {
            note.push_str(" drop eligible");
        }
        note
    };
    f.vlan.iter().flatten().map(note).collect()
}

/// "not the group's MAC 01:00:5e:00:00:01 (unicast)" for a query accepted at a unicast
/// or the broadcast MAC.
fn mismatch_note(f: &FrameRepr<'_>) -> Option<String> {
    if !f.mac_mismatch {
        return None;
    }
    let kind = if f.ethernet.dst.is_broadcast() { "broadcast" } else { "unicast" };
    let group = GroupAddr::from_ipv4(f.ipv4.dst_addr).ok()?.to_mac();
    Some(format!("not the group's MAC {group} ({kind})"))
}

/// What the link layer says beyond the addresses: the VLAN tags and a destination that
/// is not the group's MAC. (For `watch`, which is Linux-only.)
#[cfg(target_os = "linux")]
pub fn link_notes(f: &FrameRepr<'_>) -> Vec<String> {
    let mut notes = vlan_notes(f);
    notes.extend(mismatch_note(f));
    notes
}

/// The layers of a decoded frame (parsed from `bytes`) as JSON fields.
pub fn frame_json(obj: Object, f: &FrameRepr<'_>, bytes: &[u8]) -> Object {
    let vlan = f.vlan.iter().flatten().map(|tag| {
        Object::new()
            .num("tpid", tag.tpid.0)
            .num("id", tag.id())
            .num("priority", tag.priority())
            .num("drop_eligible", tag.drop_eligible())
            .finish()
    });
    let ethernet = Object::new()
        .str("dst", f.ethernet.dst.to_string())
        .str("src", f.ethernet.src.to_string())
        .num("ethertype", f.ethernet.ethertype.0)
        .raw("vlan", &json::array(vlan))
        .num("mac_mismatch", f.mac_mismatch)
        .finish();
    let ip = &f.ipv4;
    let alert_value = router_alert_value(f, bytes).map_or_else(|| "null".to_string(), |v| v.to_string());
    let ipv4 = Object::new()
        .str("src", ip.src_addr.to_string())
        .str("dst", ip.dst_addr.to_string())
        .num("ttl", ip.ttl)
        .num("tos", ip.tos)
        .num("ident", ip.ident)
        .num("dont_fragment", ip.dont_fragment)
        .num("router_alert", ip.router_alert)
        .raw("router_alert_value", &alert_value)
        .num("protocol", ip.protocol)
        .num("payload_len", ip.payload_len)
        .finish();
    let mut igmp = Object::new().str("type", igmp_type(&f.igmp)).str("summary", f.igmp.to_string());
    if let Some(q) = f.igmp.query() {
        igmp = igmp.opt_str("group", q.group.map(|g| g.to_string())).num("max_resp_tenths", q.max_resp_tenths);
    }
    match f.igmp {
        Message::V1Report { group } | Message::V2Report { group } | Message::Leave { group } => {
            igmp = igmp.str("group", group.to_string());
        }
        Message::V3Query(q) => {
            igmp = igmp
                .num("s", q.suppress_router_processing)
                .num("qrv", q.qrv)
                .num("qqi", q.query_interval_secs())
                .strs("sources", q.sources.iter().map(|a| a.to_string()));
        }
        Message::V3Report { records } => {
            let records = records.iter().map(|r| {
                Object::new()
                    .str("type", format!("{:?}", r.record_type))
                    .str("group", r.group.to_string())
                    .strs("sources", r.sources.iter().map(|a| a.to_string()))
                    .finish()
            });
            igmp = igmp.raw("records", &json::array(records));
        }
        _ => {}
    }
    obj.raw("ethernet", &ethernet).raw("ipv4", &ipv4).raw("igmp", &igmp.finish())
}

fn igmp_type(m: &Message<'_>) -> &'static str {
    match m {
        Message::V1Query => "v1-query",
        Message::V1Report { .. } => "v1-report",
        Message::V2Query { .. } => "v2-query",
        Message::V2Report { .. } => "v2-report",
        Message::Leave { .. } => "leave",
        Message::V3Query(_) => "v3-query",
        Message::V3Report { .. } => "v3-report",
    }
}

/// The layers of a decoded frame (parsed from `bytes`) as indented text lines.
pub fn frame_text(f: &FrameRepr<'_>, bytes: &[u8]) -> String {
    let ip = &f.ipv4;
    let mut flags = String::new();
    if ip.dont_fragment {
        flags.push_str(", DF");
    }
    match router_alert_value(f, bytes) {
        Some(0) => flags.push_str(", router alert"),
        Some(value) => {
            let _ = write!(flags, ", router alert value {value} (not the alert)");
        }
        None => {}
    }
    // Tags come before the EtherType on the wire.
    let tags: String = vlan_notes(f).iter().map(|note| format!(", {note}")).collect();
    let after = mismatch_note(f).map(|note| format!(", {note}")).unwrap_or_default();
    format!(
        "  ethernet  {} > {}{tags}, type 0x{:04x}{after}\n  ipv4      {} > {}, ttl {}, tos 0x{:02x}, id {}{flags}, protocol {}, payload {} octets\n  igmp      {}\n",
        f.ethernet.src,
        f.ethernet.dst,
        f.ethernet.ethertype.0,
        ip.src_addr,
        ip.dst_addr,
        ip.ttl,
        ip.tos,
        ip.ident,
        ip.protocol,
        ip.payload_len,
        f.igmp
    )
}

/// One frame to decode: its number, capture time if any, and bytes.
struct Input {
    number: usize,
    time: Option<f64>,
    bytes: Vec<u8>,
}

/// `mcast decode HEX…` or `mcast decode --pcap FILE`. Every frame is reported; the
/// status is malformed if any frame was.
pub fn decode(out: &mut Out, hex: &[String], pcap: Option<&Path>) -> Result<(), Failure> {
    let inputs = match pcap {
        Some(path) => read_capture(path)?,
        None => hex
            .iter()
            .enumerate()
            .map(|(i, h)| {
                from_hex(h)
                    .map(|bytes| Input { number: i + 1, time: None, bytes })
                    .map_err(|e| Failure::malformed(format!("frame {}: {e}", i + 1)))
            })
            .collect::<Result<_, _>>()?,
    };
    let mut bad = 0;
    for input in &inputs {
        let parsed = FrameRepr::parse(&input.bytes);
        if parsed.is_err() {
            bad += 1;
        }
        if out.json {
            let mut obj = Object::new().num("frame", input.number).num("len", input.bytes.len());
            if let Some(t) = input.time {
                obj = obj.num("time", format!("{t:.6}"));
            }
            let obj = match &parsed {
                Ok(f) => frame_json(obj, f, &input.bytes),
                Err(e) => obj.str("error", e.to_string()),
            };
            out.line(&obj.finish());
        } else {
            let time = input.time.map(|t| format!(" at {t:.6} s")).unwrap_or_default();
            match &parsed {
                Ok(f) => out.text(&format!(
                    "frame {} ({} octets){time}\n{}",
                    input.number,
                    input.bytes.len(),
                    frame_text(f, &input.bytes)
                )),
                Err(e) => out.line(&format!("frame {} ({} octets){time}: error: {e}", input.number, input.bytes.len())),
            }
        }
    }
    if bad > 0 {
        return Err(Failure::malformed(format!("{bad} of {} frame(s) did not decode", inputs.len())));
    }
    Ok(())
}

/// The frames of a pcap or pcapng file, with their times in seconds.
fn read_capture(path: &Path) -> Result<Vec<Input>, Failure> {
    let data = std::fs::read(path).map_err(|e| Failure::error(format!("{}: {e}", path.display())))?;
    let bad = |e: pcap_file::PcapError| Failure::malformed(format!("{}: {e}", path.display()));
    let mut inputs = Vec::new();
    if data.get(..4) == Some(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        let mut reader = pcap_file::pcapng::PcapNgReader::new(&data[..]).map_err(bad)?;
        while let Some(block) = reader.next_block() {
            let block = block.map_err(bad)?;
            let (time, bytes) = match block {
                pcap_file::pcapng::Block::EnhancedPacket(p) => (Some(p.timestamp.as_secs_f64()), p.data.into_owned()),
                pcap_file::pcapng::Block::SimplePacket(p) => (None, p.data.into_owned()),
                _ => continue,
            };
            inputs.push(Input { number: inputs.len() + 1, time, bytes });
        }
    } else {
        let mut reader = pcap_file::pcap::PcapReader::new(&data[..]).map_err(bad)?;
        let datalink = reader.header().datalink;
        if datalink != pcap_file::DataLink::ETHERNET {
            return Err(Failure::malformed(format!(
                "{}: link type {datalink:?}; only Ethernet captures hold IGMP frames this tool decodes",
                path.display()
            )));
        }
        while let Some(packet) = reader.next_packet() {
            let packet = packet.map_err(bad)?;
            inputs.push(Input {
                number: inputs.len() + 1,
                time: Some(packet.timestamp.as_secs_f64()),
                bytes: packet.data.into_owned(),
            });
        }
    }
    Ok(inputs)
}
