//! IGMP messages: versions 1 ([RFC 1112 App. I]) and 2 ([RFC 2236 §2]), and the
//! version 3 query and report ([RFC 3376 §4]) a version 2 host must understand.
//!
//! A query's version is decided by its length and Max Resp field exactly as
//! [RFC 3376 §7.1] says: 8 octets with Max Resp 0 is IGMPv1, 8 octets otherwise is
//! IGMPv2, 12 octets or more is IGMPv3, and 9 to 11 octets is an error. Max Resp is
//! linear, in tenths of a second, in an 8-octet query; the exponential code applies to
//! IGMPv3 queries only.
//!
//! [RFC 1112 App. I]: https://www.rfc-editor.org/rfc/rfc1112#appendix-I
//! [RFC 2236 §2]: https://www.rfc-editor.org/rfc/rfc2236#section-2
//! [RFC 3376 §4]: https://www.rfc-editor.org/rfc/rfc3376#section-4
//! [RFC 3376 §7.1]: https://www.rfc-editor.org/rfc/rfc3376#section-7.1

use core::fmt;
use core::net::Ipv4Addr;

use super::{Error, Result, checksum, field_u16, octet, set_field, set_field_u16, set_octet};
use crate::addr::GroupAddr;

mod v3;
pub use v3::{
    AddrIter, AddrList, GroupRecord, GroupRecords, RecordIter, RecordType, V3Query, decode_exp_code, encode_exp_code,
};
use v3::{record_len, records_of, sources_of};

#[cfg(test)]
mod tests;

/// Byte offsets of the fields.
pub mod field {
    /// A range of byte offsets.
    pub type Field = core::ops::Range<usize>;

    /// Message type.
    pub const TYPE: usize = 0;
    /// Max Resp Time (v2) or Max Resp Code (v3 query); unused (0) elsewhere.
    pub const MAX_RESP: usize = 1;
    /// Checksum over the whole message.
    pub const CHECKSUM: Field = 2..4;
    /// Group address (queries, v1/v2 reports, leave).
    pub const GROUP: Field = 4..8;
    /// v3 query: Resv (4 bits) | S (1 bit) | QRV (3 bits).
    pub const S_QRV: usize = 8;
    /// v3 query: Querier's Query Interval Code.
    pub const QQIC: usize = 9;
    /// v3 query: number of source addresses.
    pub const NUM_SOURCES: Field = 10..12;
    /// v3 query: first source address.
    pub const SOURCES: usize = 12;
    /// v3 report: number of group records.
    pub const NUM_RECORDS: Field = 6..8;
    /// v3 report: first group record.
    pub const RECORDS: usize = 8;

    /// The fields of an IGMPv3 group record, from the record's start.
    pub mod record {
        use super::Field;

        /// Record Type.
        pub const TYPE: usize = 0;
        /// Aux Data Len, in 32-bit words.
        pub const AUX_LEN: usize = 1;
        /// Number of Sources.
        pub const NUM_SOURCES: Field = 2..4;
        /// Multicast Address.
        pub const GROUP: Field = 4..8;
        /// First source address.
        pub const SOURCES: usize = 8;
    }
}

/// Length of every IGMPv1/v2 message, and of the head of every message.
pub const HEADER_LEN: usize = 8;
/// Length of an IGMPv3 query without sources.
pub const V3_QUERY_HEADER_LEN: usize = 12;
/// Length of an IGMPv3 group record without sources or auxiliary data.
pub const RECORD_HEADER_LEN: usize = 8;

/// The message types this crate knows.
pub mod msg_type {
    /// Membership Query, every version.
    pub const MEMBERSHIP_QUERY: u8 = 0x11;
    /// Version 1 Membership Report.
    pub const V1_REPORT: u8 = 0x12;
    /// Version 2 Membership Report.
    pub const V2_REPORT: u8 = 0x16;
    /// Version 2 Leave Group.
    pub const LEAVE: u8 = 0x17;
    /// Version 3 Membership Report.
    pub const V3_REPORT: u8 = 0x22;
}

/// A zero-copy view of an IGMP message.
///
/// The only way to make one is [`Packet::new_checked`], which validates every length
/// the accessors depend on, so no accessor panics. It does not verify the checksum or
/// the type: [`Message::parse`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer holding exactly one IGMP message (an IPv4 payload), after checking
    /// that it is long enough for its type:
    /// - every message has 8 octets;
    /// - a query of 9 to 11 octets is [`Error::BadQueryLength`];
    /// - an IGMPv3 query holds all the sources it counts, and an IGMPv3 report all the
    ///   records, sources and auxiliary data it counts; otherwise [`Error::Truncated`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let data = buffer.as_ref();
        match data.first_chunk::<HEADER_LEN>() {
            None => return Err(Error::Truncated),
            // Every IGMPv1/v2 message is exactly this: nothing more to check.
            Some(head) if data.len() == HEADER_LEN && head[field::TYPE] != msg_type::V3_REPORT => {}
            Some(_) => check_lengths(data)?,
        }
        Ok(Packet { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The message type.
    pub fn msg_type(&self) -> u8 {
        octet(self.buffer.as_ref(), field::TYPE)
    }

    /// The raw Max Resp field.
    pub fn max_resp_code(&self) -> u8 {
        octet(self.buffer.as_ref(), field::MAX_RESP)
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        field_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The raw group address field (octets 4–7); not meaningful in an IGMPv3 report.
    pub fn group_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(super::field::<4>(self.buffer.as_ref(), field::GROUP))
    }

    /// Whether the checksum verifies over the whole message.
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(self.buffer.as_ref())
    }

    /// Whether this is a query of IGMPv3 length (12 octets or more).
    pub fn is_v3_query(&self) -> bool {
        self.msg_type() == msg_type::MEMBERSHIP_QUERY && self.buffer.as_ref().len() >= V3_QUERY_HEADER_LEN
    }

    fn v3_query_byte(&self, at: usize) -> u8 {
        if self.is_v3_query() { octet(self.buffer.as_ref(), at) } else { 0 }
    }

    /// IGMPv3 query: the S flag (routers suppress their timer updates). False otherwise.
    pub fn s_flag(&self) -> bool {
        self.v3_query_byte(field::S_QRV) & 0x08 != 0
    }

    /// IGMPv3 query: the Querier's Robustness Variable (0–7). 0 otherwise.
    pub fn qrv(&self) -> u8 {
        self.v3_query_byte(field::S_QRV) & 0x07
    }

    /// IGMPv3 query: the Querier's Query Interval Code. 0 otherwise.
    pub fn qqic(&self) -> u8 {
        self.v3_query_byte(field::QQIC)
    }

    /// IGMPv3 query: the source addresses. Empty otherwise.
    pub fn sources(&self) -> AddrList<'_> {
        if !self.is_v3_query() {
            return AddrList::EMPTY;
        }
        sources_of(self.buffer.as_ref())
    }

    /// IGMPv3 report: the group records. Empty for other types.
    pub fn records(&self) -> GroupRecords<'_> {
        let data = self.buffer.as_ref();
        if octet(data, field::TYPE) != msg_type::V3_REPORT {
            return GroupRecords::EMPTY;
        }
        records_of(data)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the message type.
    pub fn set_msg_type(&mut self, value: u8) {
        set_octet(self.buffer.as_mut(), field::TYPE, value);
    }

    /// Sets the raw Max Resp field.
    pub fn set_max_resp_code(&mut self, value: u8) {
        set_octet(self.buffer.as_mut(), field::MAX_RESP, value);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        set_field_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Sets the group address field.
    pub fn set_group_addr(&mut self, value: Ipv4Addr) {
        set_field(self.buffer.as_mut(), field::GROUP, value.octets());
    }

    /// Computes the checksum over the whole message and stores it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::compute(self.buffer.as_ref());
        self.set_checksum(sum);
    }
}

/// The length checks of [`Packet::new_checked`] for everything but a plain 8-octet
/// message: kept out of line so that the common case stays small.
#[inline(never)]
fn check_lengths(data: &[u8]) -> Result<()> {
    let len = data.len();
    let Some(head) = data.first_chunk::<HEADER_LEN>() else { return Err(Error::Truncated) };
    match head[field::TYPE] {
        msg_type::MEMBERSHIP_QUERY if len > HEADER_LEN => {
            if len < V3_QUERY_HEADER_LEN {
                return Err(Error::BadQueryLength);
            }
            let sources = usize::from(field_u16(data, field::NUM_SOURCES));
            if field::SOURCES + 4 * sources > len {
                return Err(Error::Truncated);
            }
        }
        msg_type::V3_REPORT => {
            let records = field_u16(head, field::NUM_RECORDS);
            let mut rest = data.get(field::RECORDS..).unwrap_or(&[]);
            for _ in 0..records {
                let record_len = record_len(rest).ok_or(Error::Truncated)?;
                rest = rest.get(record_len..).ok_or(Error::Truncated)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// An IGMP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Message<'a> {
    /// IGMPv1 Host Membership Query: 8 octets, Max Resp 0. Always general.
    V1Query,
    /// IGMPv1 Host Membership Report.
    V1Report {
        /// The group reported.
        group: GroupAddr,
    },
    /// IGMPv2 Membership Query: 8 octets, Max Resp not 0.
    V2Query {
        /// Max Resp Time in tenths of a second, 1–255 (0 would make it a v1 query).
        max_resp: u8,
        /// The group, or `None` for a general query.
        group: Option<GroupAddr>,
    },
    /// IGMPv2 Membership Report.
    V2Report {
        /// The group reported.
        group: GroupAddr,
    },
    /// IGMPv2 Leave Group.
    Leave {
        /// The group left.
        group: GroupAddr,
    },
    /// IGMPv3 Membership Query: 12 octets or more.
    V3Query(V3Query<'a>),
    /// IGMPv3 Membership Report.
    V3Report {
        /// The group records.
        records: GroupRecords<'a>,
    },
}

/// IGMP version of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Version {
    /// RFC 1112.
    V1,
    /// RFC 2236.
    V2,
    /// RFC 3376.
    V3,
}

/// A query as an IGMPv2 host acts on it, whatever its version ([RFC 2236 §4],
/// [RFC 3376 §7.2.1]).
///
/// [RFC 2236 §4]: https://www.rfc-editor.org/rfc/rfc2236#section-4
/// [RFC 3376 §7.2.1]: https://www.rfc-editor.org/rfc/rfc3376#section-7.2.1
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Query {
    /// The version of the query.
    pub version: Version,
    /// The group of a group-specific query; `None` for a general query.
    pub group: Option<GroupAddr>,
    /// Max Resp in tenths of a second: 100 (10 s) for IGMPv1, the field for IGMPv2, the
    /// decoded code for IGMPv3.
    pub max_resp_tenths: u16,
}

impl Query {
    /// Max Resp in milliseconds.
    pub const fn max_resp_ms(&self) -> u32 {
        self.max_resp_tenths as u32 * 100
    }
}

impl<'a> Message<'a> {
    /// Parses and verifies a message: checksum over the whole message, known type, and
    /// multicast group addresses where the type requires one.
    // Always inlined, so that the message is built in place in the caller: an 8-octet
    // message is verified and decoded here. Longer ones are checked out of line, by a
    // function that returns only the verdict and leaves the decoding to this one; one
    // that returned the message itself would have it written to memory and copied,
    // which costs more than the parse.
    #[inline(always)]
    pub fn parse(packet: &Packet<&'a [u8]>) -> Result<Message<'a>> {
        let data: &'a [u8] = packet.buffer;
        let head = match <&[u8; HEADER_LEN]>::try_from(data) {
            // Exactly 8 octets, as every IGMPv1/v2 message is: one word to verify.
            Ok(head) if head[field::TYPE] != msg_type::V3_REPORT => {
                if !checksum::verify_u64(u64::from_le_bytes(*head)) {
                    return Err(Error::BadChecksum);
                }
                head
            }
            _ => {
                Message::check_long(packet)?;
                if let Some(message) = Message::v3_of(data) {
                    return Ok(message);
                }
                // An IGMPv1/v2 message may be longer; its first 8 octets are all there is
                // to decode ([RFC 2236 §2.5]).
                //
                // [RFC 2236 §2.5]: https://www.rfc-editor.org/rfc/rfc2236#section-2.5
                data.first_chunk().ok_or(Error::Truncated)?
            }
        };
        Message::decode_head(head)
    }

    /// What [`Message::parse`] checks of a message that is not an IGMPv1/v2 one of
    /// exactly 8 octets, beyond its first 8 octets: the checksum over all of it, and the
    /// groups of an IGMPv3 query or report.
    #[inline(never)]
    fn check_long(packet: &Packet<&'a [u8]>) -> Result<()> {
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        let data: &'a [u8] = packet.buffer;
        match packet.msg_type() {
            msg_type::MEMBERSHIP_QUERY if packet.is_v3_query() => {
                query_group(packet.group_addr().to_bits())?;
            }
            msg_type::V3_REPORT => {
                // Record groups must be multicast, like a v2 report's. The lengths were
                // checked by `Packet::new_checked`.
                let mut rest = data.get(field::RECORDS..).unwrap_or(&[]);
                for _ in 0..records_of(data).len() {
                    let (Some(len), Some(&first)) = (record_len(rest), rest.get(4)) else { break };
                    if first >> 4 != 0xe {
                        return Err(Error::GroupNotMulticast);
                    }
                    rest = rest.get(len..).unwrap_or(&[]);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The IGMPv3 query or report in `data`, which [`Message::check_long`] accepted;
    /// `None` for the other types.
    #[inline]
    fn v3_of(data: &'a [u8]) -> Option<Message<'a>> {
        match *data.first()? {
            msg_type::MEMBERSHIP_QUERY => {
                let [_, max_resp_code, _, _, a, b, c, d, s_qrv, qqic, ..] =
                    *data.first_chunk::<V3_QUERY_HEADER_LEN>()?;
                Some(Message::V3Query(V3Query {
                    max_resp_code,
                    // 0.0.0.0 (not a group) is a general query; any other address that is
                    // not multicast was rejected.
                    group: GroupAddr::from_bits(u32::from_be_bytes([a, b, c, d])).ok(),
                    suppress_router_processing: s_qrv & 0x08 != 0,
                    qrv: s_qrv & 0x07,
                    qqic,
                    sources: sources_of(data),
                }))
            }
            msg_type::V3_REPORT => Some(Message::V3Report { records: records_of(data) }),
            _ => None,
        }
    }

    /// Decodes the first 8 octets of a message whose checksum verified, of any type but
    /// the IGMPv3 ones.
    #[inline]
    fn decode_head(head: &[u8; HEADER_LEN]) -> Result<Message<'a>> {
        let [kind, code, _, _, group @ ..] = *head;
        let bits = u32::from_be_bytes(group);
        let group = || GroupAddr::from_bits(bits).map_err(|_| Error::GroupNotMulticast);
        match kind {
            msg_type::V2_REPORT => Ok(Message::V2Report { group: group()? }),
            msg_type::LEAVE => Ok(Message::Leave { group: group()? }),
            msg_type::V1_REPORT => Ok(Message::V1Report { group: group()? }),
            // RFC 1112: the group field of a v1 query is ignored on receipt.
            msg_type::MEMBERSHIP_QUERY if code == 0 => Ok(Message::V1Query),
            msg_type::MEMBERSHIP_QUERY => Ok(Message::V2Query { max_resp: code, group: query_group(bits)? }),
            other => Err(Error::UnknownType(other)),
        }
    }

    /// [`Packet::new_checked`] and [`Message::parse`] in one step.
    #[inline]
    pub fn parse_bytes(data: &'a [u8]) -> Result<Message<'a>> {
        Message::parse(&Packet::new_checked(data)?)
    }

    /// The message type octet.
    pub const fn msg_type(&self) -> u8 {
        match self {
            Message::V1Query | Message::V2Query { .. } | Message::V3Query(_) => msg_type::MEMBERSHIP_QUERY,
            Message::V1Report { .. } => msg_type::V1_REPORT,
            Message::V2Report { .. } => msg_type::V2_REPORT,
            Message::Leave { .. } => msg_type::LEAVE,
            Message::V3Report { .. } => msg_type::V3_REPORT,
        }
    }

    /// The IGMP version the message belongs to.
    pub const fn version(&self) -> Version {
        match self {
            Message::V1Query | Message::V1Report { .. } => Version::V1,
            Message::V2Query { .. } | Message::V2Report { .. } | Message::Leave { .. } => Version::V2,
            Message::V3Query(_) | Message::V3Report { .. } => Version::V3,
        }
    }

    /// The query as a version 2 host acts on it, or `None` if this is not a query.
    pub const fn query(&self) -> Option<Query> {
        match *self {
            // RFC 2236 §4: a v1 query means a 10 s maximum response time.
            Message::V1Query => Some(Query { version: Version::V1, group: None, max_resp_tenths: 100 }),
            Message::V2Query { max_resp, group } => {
                Some(Query { version: Version::V2, group, max_resp_tenths: max_resp as u16 })
            }
            Message::V3Query(ref q) => {
                Some(Query { version: Version::V3, group: q.group, max_resp_tenths: q.max_resp_tenths() })
            }
            _ => None,
        }
    }

    /// The IPv4 destination the RFCs prescribe: 224.0.0.1 for general queries, the
    /// group for group-specific queries and for v1/v2 reports, 224.0.0.2 for leaves
    /// ([RFC 2236 §9]), 224.0.0.22 for v3 reports ([RFC 3376 §4.2.14]).
    ///
    /// [RFC 2236 §9]: https://www.rfc-editor.org/rfc/rfc2236#section-9
    /// [RFC 3376 §4.2.14]: https://www.rfc-editor.org/rfc/rfc3376#section-4.2.14
    pub const fn destination(&self) -> GroupAddr {
        match *self {
            Message::V1Query => GroupAddr::ALL_SYSTEMS,
            Message::V2Query { group, .. } | Message::V3Query(V3Query { group, .. }) => match group {
                Some(group) => group,
                None => GroupAddr::ALL_SYSTEMS,
            },
            Message::V1Report { group } | Message::V2Report { group } => group,
            Message::Leave { .. } => GroupAddr::ALL_ROUTERS,
            Message::V3Report { .. } => GroupAddr::IGMPV3_ROUTERS,
        }
    }

    /// The octets [`emit`](Message::emit) writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Message::V3Query(q) => V3_QUERY_HEADER_LEN + 4 * q.sources.len(),
            Message::V3Report { records } => HEADER_LEN + records.buffer_len(),
            _ => HEADER_LEN,
        }
    }

    /// Writes the message, checksum filled, to the start of `buf`; returns its length.
    ///
    /// Fails with [`Error::BufferTooSmall`] if `buf` is shorter than
    /// [`buffer_len`](Message::buffer_len), and with [`Error::FieldRange`] for a message
    /// that would not parse back as itself: a v2 query with Max Resp 0, a QRV above 7,
    /// more than 65535 sources or records, auxiliary data not a multiple of 4 octets.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        let buf = buf.get_mut(..len).ok_or(Error::BufferTooSmall)?;
        if let Some(head) = buf.get_mut(..HEADER_LEN) {
            head.fill(0);
        }
        set_octet(buf, field::TYPE, self.msg_type());
        match self {
            Message::V1Query
            | Message::V1Report { .. }
            | Message::V2Report { .. }
            | Message::Leave { .. }
            | Message::V2Query { .. } => {
                set_field(buf, 0..HEADER_LEN, self.to_v2_octets().ok_or(Error::FieldRange)?);
                return Ok(len);
            }
            Message::V3Query(q) => {
                if q.qrv > 7 {
                    return Err(Error::FieldRange);
                }
                let sources = u16::try_from(q.sources.len()).map_err(|_| Error::FieldRange)?;
                set_octet(buf, field::MAX_RESP, q.max_resp_code);
                set_field(buf, field::GROUP, group_octets(q.group));
                set_octet(buf, field::S_QRV, (u8::from(q.suppress_router_processing) << 3) | q.qrv);
                set_octet(buf, field::QQIC, q.qqic);
                set_field_u16(buf, field::NUM_SOURCES, sources);
                q.sources.write(buf.get_mut(field::SOURCES..).unwrap_or_default());
            }
            Message::V3Report { records } => {
                let count = u16::try_from(records.len()).map_err(|_| Error::FieldRange)?;
                set_field_u16(buf, field::NUM_RECORDS, count);
                let mut at = field::RECORDS;
                for record in records.iter() {
                    at += record.emit(buf.get_mut(at..).unwrap_or_default())?;
                }
            }
        }
        let mut packet = Packet { buffer: &mut *buf };
        packet.fill_checksum();
        Ok(len)
    }
}

impl Message<'_> {
    /// The 8 octets of an IGMPv1 or IGMPv2 message, checksum filled: what
    /// [`emit`](Message::emit) writes, in a fixed-size array. These are all the kinds an
    /// IGMPv2 host or querier sends. `None` for IGMPv3 messages and for a v2 query with
    /// Max Resp 0 (which would parse back as a v1 query).
    pub fn to_v2_octets(&self) -> Option<[u8; HEADER_LEN]> {
        let (code, group) = match *self {
            Message::V1Query => (0, None),
            Message::V1Report { group } | Message::V2Report { group } | Message::Leave { group } => (0, Some(group)),
            Message::V2Query { max_resp, group } if max_resp != 0 => (max_resp, group),
            _ => return None,
        };
        let [a, b, c, d] = group_octets(group);
        let mut octets = [self.msg_type(), code, 0, 0, a, b, c, d];
        let sum = checksum::compute(&octets);
        set_field_u16(&mut octets, field::CHECKSUM, sum);
        Some(octets)
    }
}

fn group_octets(group: Option<GroupAddr>) -> [u8; 4] {
    match group {
        Some(group) => group.octets(),
        None => [0; 4],
    }
}

/// The group of a query: `None` for 0.0.0.0 (a general query), otherwise a multicast
/// group.
#[inline]
fn query_group(bits: u32) -> Result<Option<GroupAddr>> {
    match bits {
        0 => Ok(None),
        bits => GroupAddr::from_bits(bits).map(Some).map_err(|_| Error::GroupNotMulticast),
    }
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group_or_general = |f: &mut fmt::Formatter<'_>, group: Option<GroupAddr>| match group {
            Some(g) => write!(f, "group {g}"),
            None => f.write_str("general"),
        };
        match self {
            Message::V1Query => f.write_str("IGMPv1 query"),
            Message::V1Report { group } => write!(f, "IGMPv1 report {group}"),
            Message::V2Query { max_resp, group } => {
                write!(f, "IGMPv2 query ")?;
                group_or_general(f, *group)?;
                write!(f, ", max resp {}.{} s", max_resp / 10, max_resp % 10)
            }
            Message::V2Report { group } => write!(f, "IGMPv2 report {group}"),
            Message::Leave { group } => write!(f, "IGMPv2 leave {group}"),
            Message::V3Query(q) => {
                write!(f, "IGMPv3 query ")?;
                group_or_general(f, q.group)?;
                let t = q.max_resp_tenths();
                write!(f, ", max resp {}.{} s, qrv {}, qqi {} s", t / 10, t % 10, q.qrv, q.query_interval_secs())?;
                if q.suppress_router_processing {
                    f.write_str(", S")?;
                }
                if !q.sources.is_empty() {
                    write!(f, ", sources {:?}", q.sources)?;
                }
                Ok(())
            }
            Message::V3Report { records } => {
                write!(f, "IGMPv3 report, {} record(s)", records.len())?;
                for r in records.iter() {
                    write!(f, "; {:?} {}", r.record_type, r.group)?;
                    if !r.sources.is_empty() {
                        write!(f, " sources {:?}", r.sources)?;
                    }
                }
                Ok(())
            }
        }
    }
}
