//! What the host says about the interface: its flags and link state (`/sys/class/net`),
//! the rp_filter and force_igmp_version sysctls, its memberships (`/proc/net/igmp`), and
//! the kernel's routes (an `RTM_GETROUTE` request on a netlink socket).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Where the kernel routes a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Out of this interface (index, name).
    Via(u32, String),
    /// No route: the kernel's error.
    None(String),
}

/// What the host says about the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    /// The interface's name.
    pub name: String,
    /// Its index.
    pub index: u32,
    /// `IFF_UP`.
    pub up: bool,
    /// `/sys/class/net/IF/operstate`.
    pub operstate: String,
    /// `IFF_MULTICAST`.
    pub multicast: bool,
    /// Its first IPv4 address and prefix.
    pub address: Option<(Ipv4Addr, u8)>,
    /// `net.ipv4.conf.IF.rp_filter` and `net.ipv4.conf.all.rp_filter`.
    pub rp_filter: (u8, u8),
    /// `net.ipv4.conf.IF.force_igmp_version` and `net.ipv4.conf.all.force_igmp_version`.
    pub force_igmp_version: (u8, u8),
    /// The group whose route was read, and the route.
    pub route: (Ipv4Addr, Route),
    /// The route back to each unicast source heard on the link but this host's own.
    pub reverse: Vec<(Ipv4Addr, Route)>,
    /// The host's IGMP mode on the interface (`/proc/net/igmp`: V1, V2 or V3).
    pub igmp_mode: Option<String>,
    /// The host's memberships on the interface and their users.
    pub memberships: Vec<(Ipv4Addr, u32)>,
}

impl Local {
    /// `rp_filter` as the kernel applies it: the larger of the interface's and `all`.
    pub(super) fn rp_filter(&self) -> u8 {
        self.rp_filter.0.max(self.rp_filter.1)
    }

    /// `force_igmp_version` as the kernel applies it: 1 if either says 1, else 2 if
    /// either says 2, else none.
    pub(super) fn force_igmp_version(&self) -> u8 {
        let (i, a) = self.force_igmp_version;
        if i == 1 || a == 1 {
            1
        } else if i == 2 || a == 2 {
            2
        } else {
            0
        }
    }
}

/// Reads a small decimal file such as a sysctl; 0 when it is missing.
fn read_number(path: &str) -> u8 {
    std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

/// The name of interface `index`, from `/sys/class/net/*/ifindex`.
fn interface_name(index: u32) -> String {
    let found = std::fs::read_dir("/sys/class/net").ok().and_then(|dir| {
        dir.flatten().find_map(|entry| {
            let i = std::fs::read_to_string(entry.path().join("ifindex")).ok()?;
            (i.trim().parse::<u32>().ok()? == index).then(|| entry.file_name().to_string_lossy().into_owned())
        })
    });
    found.unwrap_or_else(|| format!("index {index}"))
}

/// Asks the kernel where it would send a packet to `dst` (an `RTM_GETROUTE` request on
/// a netlink socket, what `ip route get` does): the outgoing interface's index and the
/// route's type (`RTN_LOCAL` for an address of this host).
fn route_index(dst: Ipv4Addr) -> std::io::Result<(u32, u8)> {
    use std::io::{Error, ErrorKind, Read as _};

    use socket2::{Domain, Protocol, Socket, Type};

    let socket = Socket::new(Domain::from(libc::AF_NETLINK), Type::RAW, Some(Protocol::from(libc::NETLINK_ROUTE)))?;
    socket.set_read_timeout(Some(Duration::from_secs(2)))?;
    // nlmsghdr (16) + rtmsg (12) + one rtattr RTA_DST (8).
    let mut request = Vec::with_capacity(36);
    request.extend_from_slice(&36u32.to_ne_bytes());
    request.extend_from_slice(&libc::RTM_GETROUTE.to_ne_bytes());
    request.extend_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
    request.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    request.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel assigns it
    request.extend_from_slice(&[libc::AF_INET as u8, 32, 0, 0, 0, 0, 0, 0]);
    request.extend_from_slice(&0u32.to_ne_bytes()); // rtm_flags
    request.extend_from_slice(&8u16.to_ne_bytes());
    request.extend_from_slice(&libc::RTA_DST.to_ne_bytes());
    request.extend_from_slice(&dst.octets());
    socket.send(&request)?;
    let mut buf = vec![0u8; 8192];
    let n = (&socket).read(&mut buf)?;
    let reply = &buf[..n];
    let u16_at = |at: usize| reply.get(at..at + 2).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let u32_at = |at: usize| reply.get(at..at + 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    let bad = || Error::new(ErrorKind::InvalidData, "unexpected netlink reply");
    match u16_at(4).ok_or_else(bad)? {
        t if t == libc::NLMSG_ERROR as u16 => {
            let code = u32_at(16).ok_or_else(bad)? as i32;
            Err(Error::from_raw_os_error(-code))
        }
        t if t == libc::RTM_NEWROUTE => {
            // rtmsg after the 16-octet header: family, dst_len, src_len, tos, table,
            // protocol, scope, type.
            let kind = *reply.get(16 + 7).ok_or_else(bad)?;
            let end = (u32_at(0).ok_or_else(bad)? as usize).min(reply.len());
            let mut at = 16 + 12;
            while at + 4 <= end {
                let len = usize::from(u16_at(at).ok_or_else(bad)?);
                if len < 4 {
                    break;
                }
                if u16_at(at + 2) == Some(libc::RTA_OIF) {
                    return u32_at(at + 4).map(|index| (index, kind)).ok_or_else(bad);
                }
                at += (len + 3) & !3;
            }
            Err(Error::new(ErrorKind::NotFound, "the route names no interface"))
        }
        _ => Err(bad()),
    }
}

/// The route to `dst` as a finding needs it.
fn route(dst: Ipv4Addr) -> Route {
    match route_index(dst) {
        Ok((index, _)) => Route::Via(index, interface_name(index)),
        Err(e) => Route::None(e.to_string()),
    }
}

/// The host's IGMP mode on interface `index` and its memberships there, from the text
/// of `/proc/net/igmp`.
fn parse_proc_igmp(text: &str, index: u32) -> (Option<String>, Vec<(Ipv4Addr, u32)>) {
    let mut mode = None;
    let mut groups = Vec::new();
    let mut inside = false;
    for line in text.lines().skip(1) {
        if !line.starts_with('\t') {
            // "Idx\tDevice    : Count Querier": a new interface.
            let mut words = line.split_whitespace();
            inside = words.next().and_then(|i| i.parse::<u32>().ok()) == Some(index);
            if inside {
                mode = line.split_whitespace().last().map(str::to_owned);
            }
            continue;
        }
        if !inside {
            continue;
        }
        let mut words = line.split_whitespace();
        // The group as the kernel holds it (network order), printed as a native integer.
        let group = words.next().and_then(|g| u32::from_str_radix(g, 16).ok()).map(|g| Ipv4Addr::from(g.to_ne_bytes()));
        let users = words.next().and_then(|u| u.parse().ok()).unwrap_or(0);
        if let Some(g) = group {
            groups.push((g, users));
        }
    }
    (mode, groups)
}

impl Local {
    /// Reads the interface named `name` (index `index`); `sources` are the unicast
    /// addresses heard on the link, whose routes back rp_filter checks.
    pub fn read(name: &str, index: u32, group: Ipv4Addr, sources: &BTreeSet<Ipv4Addr>) -> Local {
        let sys = |file: &str| std::fs::read_to_string(format!("/sys/class/net/{name}/{file}")).unwrap_or_default();
        let flags = u32::from_str_radix(sys("flags").trim().trim_start_matches("0x"), 16).unwrap_or(0);
        let state = mcast::socket::linux::LinkState::read(name).ok();
        let address = state.and_then(|s| s.address);
        let conf = |scope: &str, key: &str| read_number(&format!("/proc/sys/net/ipv4/conf/{scope}/{key}"));
        let (igmp_mode, memberships) =
            parse_proc_igmp(&std::fs::read_to_string("/proc/net/igmp").unwrap_or_default(), index);
        Local {
            name: name.into(),
            index,
            up: flags & libc::IFF_UP as u32 != 0,
            operstate: sys("operstate").trim().to_string(),
            multicast: flags & libc::IFF_MULTICAST as u32 != 0,
            address,
            rp_filter: (conf(name, "rp_filter"), conf("all", "rp_filter")),
            force_igmp_version: (conf(name, "force_igmp_version"), conf("all", "force_igmp_version")),
            route: (group, route(group)),
            reverse: sources
                .iter()
                .filter_map(|s| match route_index(*s) {
                    // This host's own address: its frames are not filtered on the way in.
                    Ok((_, kind)) if kind == libc::RTN_LOCAL => None,
                    Ok((index, _)) => Some((*s, Route::Via(index, interface_name(index)))),
                    Err(e) => Some((*s, Route::None(e.to_string()))),
                })
                .collect(),
            igmp_mode,
            memberships,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::fixtures::ip;

    #[test]
    fn the_kernel_answers_route_requests_with_the_interface_and_type() {
        // Every Linux network namespace has lo (index 1) and 127.0.0.0/8 on it.
        assert_eq!(route_index(ip("127.0.0.1")).unwrap(), (1, libc::RTN_LOCAL));
        assert_eq!(route(ip("127.0.0.2")), Route::Via(1, "lo".into()));
    }

    #[test]
    fn proc_net_igmp_gives_the_mode_and_groups_of_one_interface() {
        let text = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n\
                    1\tlo        :     1      V3\n\
                    \t\t\t\t010000E0     1 0:00000000\t\t0\n\
                    4\teth0      :     2      V2\n\
                    \t\t\t\t030201EF     2 0:00000000\t\t1\n\
                    \t\t\t\t010000E0     1 0:00000000\t\t0\n";
        let (mode, groups) = parse_proc_igmp(text, 4);
        assert_eq!(mode.as_deref(), Some("V2"));
        // The file prints each group's network-order octets as a native integer.
        let expected = if cfg!(target_endian = "little") {
            vec![(ip("239.1.2.3"), 2), (ip("224.0.0.1"), 1)]
        } else {
            vec![(ip("3.2.1.239"), 2), (ip("1.0.0.224"), 1)]
        };
        assert_eq!(groups, expected);
        assert_eq!(parse_proc_igmp(text, 9), (None, Vec::new()));
    }
}
