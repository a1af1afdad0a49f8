//! The IPv4 header ([RFC 791]) as IGMP uses it, with the Router Alert option
//! ([RFC 2113]).
//!
//! [RFC 791]: https://www.rfc-editor.org/rfc/rfc791
//! [RFC 2113]: https://www.rfc-editor.org/rfc/rfc2113

use core::net::Ipv4Addr;

use super::{Error, Result, checksum, field_u16, octet, set_field, set_field_u16, set_octet};

/// Byte offsets of the fields.
pub mod field {
    /// A range of byte offsets.
    pub type Field = core::ops::Range<usize>;

    /// Version (4 bits) | IHL (4 bits).
    pub const VER_IHL: usize = 0;
    /// Type of service (DSCP | ECN).
    pub const TOS: usize = 1;
    /// Total length.
    pub const LENGTH: Field = 2..4;
    /// Identification.
    pub const IDENT: Field = 4..6;
    /// Flags (3 bits) | fragment offset (13 bits).
    pub const FLAGS_FRAG: Field = 6..8;
    /// Time to live.
    pub const TTL: usize = 8;
    /// Protocol.
    pub const PROTOCOL: usize = 9;
    /// Header checksum.
    pub const CHECKSUM: Field = 10..12;
    /// Source address.
    pub const SRC: Field = 12..16;
    /// Destination address.
    pub const DST: Field = 16..20;
    /// First option.
    pub const OPTIONS: usize = 20;
}

/// Length of a header without options.
pub const MIN_HEADER_LEN: usize = 20;
/// The IP protocol number of IGMP.
pub const PROTOCOL_IGMP: u8 = 2;
/// The Router Alert option as IGMP sends it: type 148, length 4, value 0 ("routers
/// shall examine this packet").
pub const ROUTER_ALERT: [u8; 4] = [0x94, 0x04, 0x00, 0x00];

const OPT_END: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_ROUTER_ALERT: u8 = 0x94;
pub(crate) const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

/// A zero-copy view of an IPv4 packet.
///
/// Made only by [`Packet::new_checked`], which validates the version, the header and
/// total lengths, and every option, so no accessor panics. The header checksum is
/// checked by [`Repr::parse`] (or [`Packet::verify_checksum`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer that starts with an IPv4 header. Octets after the total length
    /// (Ethernet padding) are allowed and ignored.
    ///
    /// Errors: [`Error::Truncated`] if the buffer ends before the header or the total
    /// length; [`Error::UnsupportedVersion`] unless the version is 4;
    /// [`Error::BadHeaderLength`] if IHL is below 5 or the header is longer than the
    /// total length; [`Error::BadTotalLength`] if the total length is below 20;
    /// [`Error::BadOption`] if an option is malformed (a length below 2 or past the
    /// header, a Router Alert shorter than 4 octets).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Packet { buffer };
        packet.check()?;
        Ok(packet)
    }

    fn check(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        if octet(data, field::VER_IHL) >> 4 != 4 {
            return Err(Error::UnsupportedVersion);
        }
        let header_len = self.header_len();
        if header_len < MIN_HEADER_LEN {
            return Err(Error::BadHeaderLength);
        }
        let total_len = usize::from(self.total_len());
        if total_len < MIN_HEADER_LEN {
            return Err(Error::BadTotalLength);
        }
        if header_len > total_len {
            return Err(Error::BadHeaderLength);
        }
        if total_len > data.len() {
            return Err(Error::Truncated);
        }
        // Walk the options once here so the iterator and `router_alert` need not fail.
        let mut options = data.get(field::OPTIONS..header_len).unwrap_or_default();
        while let Some((&kind, rest)) = options.split_first() {
            match kind {
                OPT_END => break,
                OPT_NOP => options = rest,
                _ => {
                    let len = usize::from(*rest.first().ok_or(Error::BadOption)?);
                    // Router Alert: a 2-octet value, and Linux takes any longer option
                    // (`ip_options_compile`); shorter ones make it drop the datagram.
                    if len < 2 || (kind == OPT_ROUTER_ALERT && len < ROUTER_ALERT.len()) {
                        return Err(Error::BadOption);
                    }
                    options = options.get(len..).ok_or(Error::BadOption)?;
                }
            }
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version field (always 4 once checked).
    pub fn version(&self) -> u8 {
        octet(self.buffer.as_ref(), field::VER_IHL) >> 4
    }

    /// The header length in octets (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(octet(self.buffer.as_ref(), field::VER_IHL) & 0x0f) * 4
    }

    /// The type-of-service octet (DSCP and ECN).
    pub fn tos(&self) -> u8 {
        octet(self.buffer.as_ref(), field::TOS)
    }

    /// The total length field.
    pub fn total_len(&self) -> u16 {
        field_u16(self.buffer.as_ref(), field::LENGTH)
    }

    /// The identification field.
    pub fn ident(&self) -> u16 {
        field_u16(self.buffer.as_ref(), field::IDENT)
    }

    fn flags_frag(&self) -> u16 {
        field_u16(self.buffer.as_ref(), field::FLAGS_FRAG)
    }

    /// The Don't Fragment flag.
    pub fn dont_fragment(&self) -> bool {
        self.flags_frag() & FLAG_DF != 0
    }

    /// The More Fragments flag.
    pub fn more_fragments(&self) -> bool {
        self.flags_frag() & FLAG_MF != 0
    }

    /// The fragment offset, in units of 8 octets.
    pub fn frag_offset(&self) -> u16 {
        self.flags_frag() & FRAG_OFFSET_MASK
    }

    /// The time to live.
    pub fn ttl(&self) -> u8 {
        octet(self.buffer.as_ref(), field::TTL)
    }

    /// The protocol of the payload.
    pub fn protocol(&self) -> u8 {
        octet(self.buffer.as_ref(), field::PROTOCOL)
    }

    /// The header checksum field.
    pub fn checksum(&self) -> u16 {
        field_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(super::field::<4>(self.buffer.as_ref(), field::SRC))
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(super::field::<4>(self.buffer.as_ref(), field::DST))
    }

    /// Whether the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        self.buffer.as_ref().get(..self.header_len()).is_some_and(checksum::verify)
    }

    /// The options, up to the End of Options List option; No-Operation options are
    /// skipped.
    pub fn options(&self) -> Options<'_> {
        Options { rest: self.buffer.as_ref().get(field::OPTIONS..self.header_len()).unwrap_or(&[]) }
    }

    /// The value of the Router Alert option (its first two data octets), if the header
    /// carries one: 0 if any Router Alert option says 0, else the first one's value.
    ///
    /// Only 0 is the alert ("routers shall examine this packet", [RFC 2113]); Linux
    /// ignores options with other values, which RFC 2113 reserves. [`Repr::parse`]
    /// reads it the same way.
    ///
    /// [RFC 2113]: https://www.rfc-editor.org/rfc/rfc2113
    pub fn router_alert(&self) -> Option<u16> {
        let mut first = None;
        for option in self.options().filter(|o| o.kind == OPT_ROUTER_ALERT) {
            let value = option.data.first_chunk().map(|value| u16::from_be_bytes(*value));
            if value == Some(0) {
                return value;
            }
            first = first.or(value);
        }
        first
    }

    /// The payload: from the end of the header to the total length.
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(self.header_len()..usize::from(self.total_len())).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Computes the header checksum and stores it.
    pub fn fill_checksum(&mut self) {
        let header_len = self.header_len();
        let data = self.buffer.as_mut();
        set_field_u16(data, field::CHECKSUM, 0);
        let sum = checksum::compute(data.get(..header_len).unwrap_or_default());
        set_field_u16(data, field::CHECKSUM, sum);
    }

    /// Sets the time to live. The checksum must be filled again afterwards.
    pub fn set_ttl(&mut self, value: u8) {
        set_octet(self.buffer.as_mut(), field::TTL, value);
    }

    /// The payload, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        self.buffer.as_mut().get_mut(range).unwrap_or_default()
    }
}

/// One IPv4 option: its type octet and the octets after its length octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ipv4Option<'a> {
    /// The option type (148 is Router Alert).
    pub kind: u8,
    /// The option's data.
    pub data: &'a [u8],
}

/// Iterator over the options of a checked [`Packet`].
#[derive(Debug, Clone)]
pub struct Options<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Options<'a> {
    type Item = Ipv4Option<'a>;

    fn next(&mut self) -> Option<Ipv4Option<'a>> {
        loop {
            let (&kind, rest) = self.rest.split_first()?;
            match kind {
                OPT_END => {
                    self.rest = &[];
                    return None;
                }
                OPT_NOP => self.rest = rest,
                _ => {
                    // Validated by `Packet::new_checked`; end rather than panic otherwise.
                    let len = usize::from(*rest.first()?);
                    let Some(option) = self.rest.get(2..len.max(2)) else {
                        self.rest = &[];
                        return None;
                    };
                    self.rest = self.rest.get(len.max(2)..).unwrap_or(&[]);
                    return Some(Ipv4Option { kind, data: option });
                }
            }
        }
    }
}

/// The IPv4 header fields IGMP cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Repr {
    /// Source address (0.0.0.0 is legal for queries from snooping switches).
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Payload protocol (2 for IGMP).
    pub protocol: u8,
    /// Length of the payload in octets.
    pub payload_len: usize,
    /// Time to live (1 for IGMP).
    pub ttl: u8,
    /// Type of service (Linux sends IGMP with 0xc0, Internetwork Control).
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_fragment: bool,
    /// Whether the header carries the Router Alert, as Linux reads it: an option of
    /// type 148 and length 4 or more whose value is 0. IGMP messages must carry it
    /// ([RFC 2236 §2]); emitting writes the option with length 4 and value 0. A Router
    /// Alert option with another value is not the alert (`false` here);
    /// [`Packet::router_alert`] gives its value.
    ///
    /// [RFC 2236 §2]: https://www.rfc-editor.org/rfc/rfc2236#section-2
    pub router_alert: bool,
}

impl Repr {
    /// Reads the header of a checked packet, verifying its checksum. Fragments are
    /// rejected ([`Error::Fragmented`]): no IGMP message is ever fragmented, and a
    /// fragment's payload is not a whole message.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        if !packet.verify_checksum() {
            return Err(Error::BadHeaderChecksum);
        }
        if packet.more_fragments() || packet.frag_offset() != 0 {
            return Err(Error::Fragmented);
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            dont_fragment: packet.dont_fragment(),
            router_alert: packet.router_alert() == Some(0),
        })
    }

    /// The header length [`emit`](Repr::emit) writes: 24 octets with Router Alert, 20
    /// without.
    pub const fn header_len(&self) -> usize {
        if self.router_alert { MIN_HEADER_LEN + ROUTER_ALERT.len() } else { MIN_HEADER_LEN }
    }

    /// The header and payload length.
    pub const fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }

    /// Writes the header, checksum filled, to the start of `buf`; returns the header
    /// length. The payload is the caller's to write after it.
    ///
    /// Fails with [`Error::BufferTooSmall`] if `buf` cannot hold the header, and with
    /// [`Error::FieldRange`] if the total length exceeds 65535.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let header_len = self.header_len();
        let total_len = u16::try_from(self.buffer_len()).map_err(|_| Error::FieldRange)?;
        let header = buf.get_mut(..header_len).ok_or(Error::BufferTooSmall)?;
        set_octet(header, field::VER_IHL, 0x40 | (header_len / 4) as u8);
        set_octet(header, field::TOS, self.tos);
        set_field_u16(header, field::LENGTH, total_len);
        set_field_u16(header, field::IDENT, self.ident);
        set_field_u16(header, field::FLAGS_FRAG, if self.dont_fragment { FLAG_DF } else { 0 });
        set_octet(header, field::TTL, self.ttl);
        set_octet(header, field::PROTOCOL, self.protocol);
        set_field_u16(header, field::CHECKSUM, 0);
        set_field(header, field::SRC, self.src_addr.octets());
        set_field(header, field::DST, self.dst_addr.octets());
        if self.router_alert {
            set_field(header, field::OPTIONS..header_len, ROUTER_ALERT);
        }
        let sum = checksum::compute(header);
        set_field_u16(header, field::CHECKSUM, sum);
        Ok(header_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The IPv4 header of a Linux IGMPv2 report (10.99.0.1 → 239.1.2.3), then its IGMP.
    const REPORT: [u8; 32] = [
        0x46, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0xe8, 0xaf, 0x0a, 0x63, 0x00, 0x01, 0xef, 0x01,
        0x02, 0x03, 0x94, 0x04, 0x00, 0x00, 0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03,
    ];

    fn repr() -> Repr {
        Repr {
            src_addr: Ipv4Addr::new(10, 99, 0, 1),
            dst_addr: Ipv4Addr::new(239, 1, 2, 3),
            protocol: PROTOCOL_IGMP,
            payload_len: 8,
            ttl: 1,
            tos: 0xc0,
            ident: 0,
            dont_fragment: true,
            router_alert: true,
        }
    }

    /// Sets the header checksum of a hand-made header.
    fn fix(mut data: Vec<u8>) -> Vec<u8> {
        let header_len = usize::from(data[0] & 0x0f) * 4;
        data[10] = 0;
        data[11] = 0;
        let sum = checksum::compute(&data[..header_len.min(data.len())]);
        data[10..12].copy_from_slice(&sum.to_be_bytes());
        data
    }

    #[test]
    fn parses_a_linux_igmp_header() {
        let p = Packet::new_checked(&REPORT[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.total_len(), 32);
        assert_eq!(p.router_alert(), Some(0));
        assert_eq!(p.options().collect::<Vec<_>>(), [Ipv4Option { kind: 0x94, data: &[0, 0] }]);
        assert_eq!(p.payload(), &REPORT[24..]);
        assert_eq!(p.checksum(), 0xe8af);
        assert!(!p.more_fragments());
        assert_eq!(Repr::parse(&p), Ok(repr()));
    }

    #[test]
    fn emits_the_linux_header_byte_for_byte() {
        let mut buf = [0u8; 24];
        assert_eq!(repr().emit(&mut buf), Ok(24));
        assert_eq!(buf, REPORT[..24]);
        assert_eq!(repr().emit(&mut buf[..23]), Err(Error::BufferTooSmall));
    }

    #[test]
    fn without_router_alert() {
        let r = Repr { router_alert: false, ..repr() };
        let mut buf = [0u8; 28];
        assert_eq!(r.emit(&mut buf), Ok(20));
        buf[20..].copy_from_slice(&REPORT[24..]);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.router_alert(), None);
        assert_eq!(Repr::parse(&p), Ok(r));
    }

    #[test]
    fn padding_after_the_total_length_is_ignored() {
        let mut padded = REPORT.to_vec();
        padded.extend_from_slice(&[0; 14]);
        let p = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(p.payload().len(), 8);
        assert_eq!(Repr::parse(&p).unwrap().payload_len, 8);
    }

    #[test]
    fn truncation_at_every_length() {
        for len in 0..REPORT.len() {
            assert_eq!(Packet::new_checked(&REPORT[..len]).err(), Some(Error::Truncated), "{len}");
        }
    }

    #[test]
    fn bad_checksum() {
        let mut bad = REPORT;
        bad[11] ^= 1;
        let p = Packet::new_checked(&bad[..]).unwrap();
        assert_eq!(Repr::parse(&p), Err(Error::BadHeaderChecksum));
    }

    #[test]
    fn version_and_lengths() {
        let mut v6 = REPORT;
        v6[0] = 0x66;
        assert_eq!(Packet::new_checked(&v6[..]).err(), Some(Error::UnsupportedVersion));
        for ihl in 0..5u8 {
            let mut short = REPORT;
            short[0] = 0x40 | ihl;
            assert_eq!(Packet::new_checked(&short[..]).err(), Some(Error::BadHeaderLength), "IHL {ihl}");
        }
        let mut long_header = REPORT;
        long_header[0] = 0x49; // 36 octets of header in a 32-octet datagram
        assert_eq!(Packet::new_checked(&long_header[..]).err(), Some(Error::BadHeaderLength));
        let mut tiny_total = REPORT;
        tiny_total[3] = 19;
        assert_eq!(Packet::new_checked(&tiny_total[..]).err(), Some(Error::BadTotalLength));
        let mut beyond = REPORT;
        beyond[3] = 33;
        assert_eq!(Packet::new_checked(&beyond[..]).err(), Some(Error::Truncated));
    }

    #[test]
    fn options_overrunning_the_header_are_rejected() {
        // IHL 6 but an option claiming 8 octets.
        let mut data = REPORT.to_vec();
        data[21] = 8;
        assert_eq!(Packet::new_checked(&data[..]).err(), Some(Error::BadOption));
        // An option type with no room for its length octet.
        let d = fix(vec![0x46, 0, 0, 28, 0, 0, 0, 0, 1, 2, 0, 0, 10, 0, 0, 1, 224, 0, 0, 1, 1, 1, 1, 0x44, 0, 0, 0, 0]);
        assert_eq!(Packet::new_checked(&d[..]).err(), Some(Error::BadOption));
        // Length below 2.
        let mut data = REPORT.to_vec();
        data[20] = 0x07;
        data[21] = 1;
        assert_eq!(Packet::new_checked(&data[..]).err(), Some(Error::BadOption));
        // Router Alert shorter than 4 octets.
        let d = fix(vec![0x47, 0, 0, 28, 0, 0, 0, 0, 1, 2, 0, 0, 10, 0, 0, 1, 224, 0, 0, 1, 0x94, 3, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Packet::new_checked(&d[..]).err(), Some(Error::BadOption));
        // Router Alert longer than the header holds.
        let d =
            fix(vec![0x47, 0, 0, 28, 0, 0, 0, 0, 1, 2, 0, 0, 10, 0, 0, 1, 224, 0, 0, 1, 0x94, 10, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Packet::new_checked(&d[..]).err(), Some(Error::BadOption));
    }

    #[test]
    fn unknown_options_are_skipped_and_router_alert_found() {
        // NOP, an unknown option of 3 octets, Router Alert, End, padding.
        let d = fix(vec![
            0x48, 0, 0, 32, 0, 0, 0, 0, 1, 2, 0, 0, 10, 0, 0, 1, 224, 0, 0, 1, //
            1, 0x44, 3, 0xaa, 0x94, 4, 0, 0, 0, 0, 0, 0,
        ]);
        let p = Packet::new_checked(&d[..]).unwrap();
        let opts: Vec<_> = p.options().collect();
        assert_eq!(opts, [Ipv4Option { kind: 0x44, data: &[0xaa] }, Ipv4Option { kind: 0x94, data: &[0, 0] }]);
        assert_eq!(p.router_alert(), Some(0));
        assert!(Repr::parse(&p).unwrap().router_alert);
        // End of Options List hides whatever follows it.
        let d = fix(vec![0x47, 0, 0, 28, 0, 0, 0, 0, 1, 2, 0, 0, 10, 0, 0, 1, 224, 0, 0, 1, 0, 0x94, 4, 0, 0, 0, 0, 0]);
        let p = Packet::new_checked(&d[..]).unwrap();
        assert_eq!(p.router_alert(), None);
    }

    /// A header of `20 + options.len()` octets (a multiple of 4) carrying `options`,
    /// then the report's IGMP message; checksum filled.
    fn with_options(options: &[u8]) -> Vec<u8> {
        let header_len = 20 + options.len();
        let mut d = REPORT[..20].to_vec();
        d[0] = 0x40 | (header_len / 4) as u8;
        d[3] = (header_len + 8) as u8;
        d.extend_from_slice(options);
        d.extend_from_slice(&REPORT[24..]);
        fix(d)
    }

    #[test]
    fn router_alert_is_read_as_linux_reads_it() {
        // Linux (ip_options_compile): a Router Alert of length 4 or more is well formed;
        // only the value 0 in its first two data octets is the alert. Returns what the
        // view, the Repr and the membership layer make of `options`.
        let read = |options: &[u8]| {
            let d = with_options(options);
            let p = Packet::new_checked(&d[..]).unwrap_or_else(|e| panic!("{options:02x?}: {e}"));
            let repr = Repr::parse(&p).unwrap();
            let meta = crate::membership::IpMeta::from(&repr);
            assert_eq!(meta.router_alert, repr.router_alert);
            (p.router_alert(), repr.router_alert)
        };
        assert_eq!(read(&[0x94, 4, 0, 0]), (Some(0), true));
        assert_eq!(read(&[0x94, 8, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd]), (Some(0), true), "longer than 4, value 0");
        assert_eq!(read(&[0x94, 4, 0, 1, 0, 0, 0, 0]), (Some(1), false), "value 1 is not the alert");
        assert_eq!(read(&[0x94, 4, 0x80, 0, 0, 0, 0, 0]), (Some(0x8000), false));
        assert_eq!(read(&[0x94, 8, 0, 5, 0, 0, 0, 0]), (Some(5), false), "longer than 4, value 5");
        // A Router Alert saying 0 anywhere in the options is the alert, as in Linux.
        assert_eq!(read(&[0x94, 4, 0, 7, 0x94, 4, 0, 0]), (Some(0), true));
        assert_eq!(read(&[0x94, 4, 0, 0, 0x94, 4, 0, 7]), (Some(0), true));
        assert_eq!(read(&[0x94, 4, 0, 7, 0x94, 4, 0, 9]), (Some(7), false), "the first value");
        assert_eq!(read(&[1, 1, 1, 0]), (None, false), "no Router Alert");
    }

    #[test]
    fn router_alert_shorter_than_4_is_malformed() {
        // Linux answers these with a Parameter Problem and drops the datagram.
        for options in [[0x94, 2, 1, 0], [0x94, 3, 0, 1]] {
            let d = with_options(&options);
            assert_eq!(Packet::new_checked(&d[..]).err(), Some(Error::BadOption), "{options:02x?}");
        }
    }

    #[test]
    fn fragments_are_rejected() {
        for flags in [[0x20, 0x00], [0x00, 0x01], [0x40, 0x10]] {
            let mut d = REPORT.to_vec();
            d[6..8].copy_from_slice(&flags);
            let d = fix(d);
            let p = Packet::new_checked(&d[..]).unwrap();
            assert_eq!(Repr::parse(&p), Err(Error::Fragmented), "{flags:?}");
        }
    }

    #[test]
    fn total_length_overflow_is_a_field_range_error() {
        let r = Repr { payload_len: 65_512, ..repr() };
        assert_eq!(r.emit(&mut [0u8; 24]), Err(Error::FieldRange));
    }
}
