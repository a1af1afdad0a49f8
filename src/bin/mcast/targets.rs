//! Groups and ports on the command line: `GROUP:PORT`, or a range `GROUP+N:PORT` of N
//! consecutive groups from GROUP.

use std::net::{Ipv4Addr, SocketAddrV4};

use mcast::GroupAddr;

/// The most groups one range may name.
pub const MAX_RANGE: u32 = 4096;

/// Parses one `GROUP:PORT` or `GROUP+N:PORT`; every address must be an IPv4 multicast
/// group.
pub fn parse(s: &str) -> Result<Vec<SocketAddrV4>, String> {
    let (groups, port) = s.rsplit_once(':').ok_or_else(|| format!("{s}: expected GROUP:PORT or GROUP+N:PORT"))?;
    let port: u16 = port.parse().map_err(|_| format!("{s}: {port:?} is not a UDP port"))?;
    let (first, count) = match groups.split_once('+') {
        Some((first, n)) => {
            let n: u32 = n.parse().map_err(|_| format!("{s}: {n:?} is not a number of groups"))?;
            if n == 0 || n > MAX_RANGE {
                return Err(format!("{s}: a range holds 1 to {MAX_RANGE} groups"));
            }
            (first, n)
        }
        None => (groups, 1),
    };
    let first: Ipv4Addr = first.parse().map_err(|_| format!("{s}: {first:?} is not an IPv4 address"))?;
    (0..count)
        .map(|i| {
            let addr = u32::from(first).checked_add(i).map(Ipv4Addr::from);
            match addr.map(GroupAddr::from_ipv4) {
                Some(Ok(g)) => Ok(SocketAddrV4::new(g.into(), port)),
                Some(Err(e)) => Err(format!("{s}: {}: {e}", addr.unwrap_or(first))),
                None => Err(format!("{s}: the range runs past 255.255.255.255")),
            }
        })
        .collect()
}

/// Parses every argument, keeping their order and dropping repeats.
pub fn parse_all(args: &[String]) -> Result<Vec<SocketAddrV4>, String> {
    let mut out: Vec<SocketAddrV4> = Vec::new();
    for a in args {
        for t in parse(a)? {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<SocketAddrV4> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn single_groups_and_ranges() {
        assert_eq!(parse("239.1.2.3:5000"), Ok(v(&["239.1.2.3:5000"])));
        assert_eq!(parse("239.1.2.254+3:5000"), Ok(v(&["239.1.2.254:5000", "239.1.2.255:5000", "239.1.3.0:5000"])));
        assert_eq!(
            parse_all(&["239.1.1.1+2:7".into(), "239.1.1.2:7".into(), "224.0.1.1:8".into()]),
            Ok(v(&["239.1.1.1:7", "239.1.1.2:7", "224.0.1.1:8"]))
        );
    }

    #[test]
    fn bad_targets_say_what_is_wrong() {
        assert_eq!(parse("239.1.2.3"), Err("239.1.2.3: expected GROUP:PORT or GROUP+N:PORT".into()));
        assert_eq!(parse("239.1.2.3:x"), Err("239.1.2.3:x: \"x\" is not a UDP port".into()));
        assert_eq!(parse("239.1.2.3+0:1"), Err("239.1.2.3+0:1: a range holds 1 to 4096 groups".into()));
        assert_eq!(parse("239.1.2.3+z:1"), Err("239.1.2.3+z:1: \"z\" is not a number of groups".into()));
        assert_eq!(
            parse("10.0.0.1:1"),
            Err("10.0.0.1:1: 10.0.0.1: not an IPv4 multicast address (224.0.0.0/4)".into())
        );
        assert_eq!(
            parse("239.255.255.255+2:1"),
            Err("239.255.255.255+2:1: 240.0.0.0: not an IPv4 multicast address (224.0.0.0/4)".into())
        );
        assert_eq!(parse("group:1"), Err("group:1: \"group\" is not an IPv4 address".into()));
    }
}
