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

use byteorder::{ByteOrder, NetworkEndian};

use super::{Error, Result, checksum};
use crate::addr::GroupAddr;

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

/// Decodes an IGMPv3 Max Resp Code or QQIC ([RFC 3376 §4.1.1, §4.1.7]): values below
/// 128 are themselves, others are the float `1|exp(3)|mant(4)` = `(mant | 0x10) << (exp + 3)`.
///
/// Only for IGMPv3 queries; an 8-octet query's Max Resp is linear.
///
/// [RFC 3376 §4.1.1, §4.1.7]: https://www.rfc-editor.org/rfc/rfc3376#section-4.1.1
pub const fn decode_exp_code(code: u8) -> u16 {
    if code < 128 {
        code as u16
    } else {
        let exp = (code >> 4) & 0x07;
        let mant = code & 0x0f;
        ((mant as u16) | 0x10) << (exp + 3)
    }
}

/// Encodes a value as an IGMPv3 code, rounding down to the nearest representable value
/// (a shorter response time or query interval is the safe side), and saturating at
/// 31744, the largest.
pub const fn encode_exp_code(value: u16) -> u8 {
    if value < 128 {
        return value as u8;
    }
    if value >= 31744 {
        return 0xff;
    }
    let high_bit = 15 - value.leading_zeros() as u16; // 7..=14
    let exp = high_bit - 7;
    let mant = (value >> (exp + 3)) & 0x0f;
    0x80 | ((exp as u8) << 4) | mant as u8
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
        super::octet(self.buffer.as_ref(), field::TYPE)
    }

    /// The raw Max Resp field.
    pub fn max_resp_code(&self) -> u8 {
        super::octet(self.buffer.as_ref(), field::MAX_RESP)
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        super::field_u16(self.buffer.as_ref(), field::CHECKSUM)
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
        if self.is_v3_query() { super::octet(self.buffer.as_ref(), at) } else { 0 }
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
        if data[field::TYPE] != msg_type::V3_REPORT {
            return GroupRecords::EMPTY;
        }
        records_of(data)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the message type.
    pub fn set_msg_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::TYPE] = value;
    }

    /// Sets the raw Max Resp field.
    pub fn set_max_resp_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::MAX_RESP] = value;
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        NetworkEndian::write_u16(&mut self.buffer.as_mut()[field::CHECKSUM], value);
    }

    /// Sets the group address field.
    pub fn set_group_addr(&mut self, value: Ipv4Addr) {
        self.buffer.as_mut()[field::GROUP].copy_from_slice(&value.octets());
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
            let sources = usize::from(super::field_u16(data, field::NUM_SOURCES));
            if field::SOURCES + 4 * sources > len {
                return Err(Error::Truncated);
            }
        }
        msg_type::V3_REPORT => {
            let records = super::field_u16(head, field::NUM_RECORDS);
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

/// The length of the group record at the start of `data`, if its fixed part is there.
fn record_len(data: &[u8]) -> Option<usize> {
    let head = data.get(..RECORD_HEADER_LEN)?;
    let aux_words = usize::from(head[1]);
    let sources = usize::from(NetworkEndian::read_u16(&head[2..4]));
    Some(RECORD_HEADER_LEN + 4 * sources + 4 * aux_words)
}

/// A list of IPv4 addresses, 4 octets each as on the wire: read from a message without
/// copying, or a slice the caller supplies to emit one. Lists compare equal when they
/// hold the same addresses.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AddrList<'a>(&'a [[u8; 4]]);

impl<'a> AddrList<'a> {
    /// The empty list.
    pub const EMPTY: AddrList<'static> = AddrList(&[]);

    /// A list of the given addresses, most significant octet first.
    pub const fn new(addrs: &'a [[u8; 4]]) -> AddrList<'a> {
        AddrList(addrs)
    }

    /// A list read from wire bytes (4 per address), or `None` if the length is not a
    /// multiple of 4.
    pub const fn from_bytes(bytes: &'a [u8]) -> Option<AddrList<'a>> {
        match bytes.as_chunks::<4>() {
            (addrs, []) => Some(AddrList(addrs)),
            _ => None,
        }
    }

    /// The addresses, 4 octets each.
    pub const fn as_slice(&self) -> &'a [[u8; 4]] {
        self.0
    }

    /// The addresses as wire bytes, 4 per address.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0.as_flattened()
    }

    /// How many addresses.
    pub const fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the list is empty.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The address at `index`, if any.
    pub fn get(&self, index: usize) -> Option<Ipv4Addr> {
        self.0.get(index).map(|&octets| Ipv4Addr::from(octets))
    }

    /// The addresses, in order.
    pub fn iter(&self) -> AddrIter<'a> {
        AddrIter(self.0.iter())
    }

    /// Writes the addresses, 4 octets each, to the start of `buf` (which must hold them).
    fn write(&self, buf: &mut [u8]) {
        let bytes = self.as_bytes();
        if let Some(out) = buf.get_mut(..bytes.len()) {
            out.copy_from_slice(bytes);
        }
    }
}

impl fmt::Debug for AddrList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for AddrList<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "[");
        for (i, addr) in self.iter().enumerate() {
            if i > 0 {
                defmt::write!(f, ", ");
            }
            defmt::write!(f, "{}", addr);
        }
        defmt::write!(f, "]");
    }
}

impl<'a> IntoIterator for AddrList<'a> {
    type Item = Ipv4Addr;
    type IntoIter = AddrIter<'a>;
    fn into_iter(self) -> AddrIter<'a> {
        self.iter()
    }
}

/// Iterator over an [`AddrList`].
#[derive(Debug, Clone)]
pub struct AddrIter<'a>(core::slice::Iter<'a, [u8; 4]>);

impl Iterator for AddrIter<'_> {
    type Item = Ipv4Addr;
    fn next(&mut self) -> Option<Ipv4Addr> {
        self.0.next().map(|&octets| Ipv4Addr::from(octets))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for AddrIter<'_> {
    fn next_back(&mut self) -> Option<Ipv4Addr> {
        self.0.next_back().map(|&octets| Ipv4Addr::from(octets))
    }
}

impl ExactSizeIterator for AddrIter<'_> {}
impl core::iter::FusedIterator for AddrIter<'_> {}

/// The type of an IGMPv3 group record ([RFC 3376 §4.2.12]).
///
/// Unknown values are kept, not rejected: the RFC says to ignore such records, and
/// that is the receiver's decision.
///
/// [RFC 3376 §4.2.12]: https://www.rfc-editor.org/rfc/rfc3376#section-4.2.12
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RecordType {
    /// 1: current state, INCLUDE mode.
    ModeIsInclude,
    /// 2: current state, EXCLUDE mode.
    ModeIsExclude,
    /// 3: filter mode changed to INCLUDE (a leave when there are no sources).
    ChangeToInclude,
    /// 4: filter mode changed to EXCLUDE (a join when there are no sources).
    ChangeToExclude,
    /// 5: sources allowed.
    AllowNewSources,
    /// 6: sources blocked.
    BlockOldSources,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for RecordType {
    fn from(value: u8) -> Self {
        match value {
            1 => RecordType::ModeIsInclude,
            2 => RecordType::ModeIsExclude,
            3 => RecordType::ChangeToInclude,
            4 => RecordType::ChangeToExclude,
            5 => RecordType::AllowNewSources,
            6 => RecordType::BlockOldSources,
            other => RecordType::Unknown(other),
        }
    }
}

impl From<RecordType> for u8 {
    fn from(value: RecordType) -> u8 {
        match value {
            RecordType::ModeIsInclude => 1,
            RecordType::ModeIsExclude => 2,
            RecordType::ChangeToInclude => 3,
            RecordType::ChangeToExclude => 4,
            RecordType::AllowNewSources => 5,
            RecordType::BlockOldSources => 6,
            RecordType::Unknown(other) => other,
        }
    }
}

/// One group record of an IGMPv3 report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GroupRecord<'a> {
    /// What the record says about the group.
    pub record_type: RecordType,
    /// The group.
    pub group: GroupAddr,
    /// The sources the record lists.
    pub sources: AddrList<'a>,
    /// Auxiliary data; its length must be a multiple of 4 octets (at most 1020).
    pub aux_data: &'a [u8],
}

impl GroupRecord<'_> {
    /// The octets this record takes in a report.
    pub fn buffer_len(&self) -> usize {
        RECORD_HEADER_LEN + 4 * self.sources.len() + self.aux_data.len()
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let aux_words = self.aux_data.len() / 4;
        if !self.aux_data.len().is_multiple_of(4) || aux_words > usize::from(u8::MAX) {
            return Err(Error::FieldRange);
        }
        let sources = u16::try_from(self.sources.len()).map_err(|_| Error::FieldRange)?;
        let len = self.buffer_len();
        let buf = buf.get_mut(..len).ok_or(Error::BufferTooSmall)?;
        buf[0] = self.record_type.into();
        buf[1] = aux_words as u8;
        NetworkEndian::write_u16(&mut buf[2..4], sources);
        buf[4..8].copy_from_slice(&self.group.octets());
        let aux_at = RECORD_HEADER_LEN + 4 * self.sources.len();
        self.sources.write(&mut buf[RECORD_HEADER_LEN..aux_at]);
        buf[aux_at..].copy_from_slice(self.aux_data);
        Ok(len)
    }
}

/// The group records of an IGMPv3 report: read from a message without copying, or a
/// slice the caller supplies to emit one. Equal when they hold the same records.
#[derive(Clone, Copy)]
pub struct GroupRecords<'a>(RecordsRepr<'a>);

#[derive(Clone, Copy)]
enum RecordsRepr<'a> {
    Wire { data: &'a [u8], count: u16 },
    Slice(&'a [GroupRecord<'a>]),
}

impl<'a> GroupRecords<'a> {
    /// No records.
    pub const EMPTY: GroupRecords<'static> = GroupRecords(RecordsRepr::Slice(&[]));

    /// The given records.
    pub const fn new(records: &'a [GroupRecord<'a>]) -> GroupRecords<'a> {
        GroupRecords(RecordsRepr::Slice(records))
    }

    /// How many records.
    pub const fn len(&self) -> usize {
        match self.0 {
            RecordsRepr::Wire { count, .. } => count as usize,
            RecordsRepr::Slice(s) => s.len(),
        }
    }

    /// Whether there are none.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records, in order.
    pub fn iter(&self) -> RecordIter<'a> {
        match self.0 {
            RecordsRepr::Wire { data, count } => RecordIter(RecordIterRepr::Wire { data, left: count }),
            RecordsRepr::Slice(s) => RecordIter(RecordIterRepr::Slice(s.iter())),
        }
    }

    fn buffer_len(&self) -> usize {
        match self.0 {
            RecordsRepr::Wire { data, count } => {
                // The records' extent; trailing octets after the last are not ours.
                let mut rest = data;
                for _ in 0..count {
                    let Some(len) = record_len(rest) else { break };
                    rest = rest.get(len..).unwrap_or(&[]);
                }
                data.len() - rest.len()
            }
            RecordsRepr::Slice(s) => s.iter().map(GroupRecord::buffer_len).sum(),
        }
    }
}

impl Default for GroupRecords<'_> {
    fn default() -> Self {
        GroupRecords::EMPTY
    }
}

impl PartialEq for GroupRecords<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for GroupRecords<'_> {}

impl fmt::Debug for GroupRecords<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for GroupRecords<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "[");
        for (i, record) in self.iter().enumerate() {
            if i > 0 {
                defmt::write!(f, ", ");
            }
            defmt::write!(f, "{}", record);
        }
        defmt::write!(f, "]");
    }
}

impl<'a> IntoIterator for GroupRecords<'a> {
    type Item = GroupRecord<'a>;
    type IntoIter = RecordIter<'a>;
    fn into_iter(self) -> RecordIter<'a> {
        self.iter()
    }
}

/// Iterator over [`GroupRecords`].
#[derive(Debug, Clone)]
pub struct RecordIter<'a>(RecordIterRepr<'a>);

#[derive(Debug, Clone)]
enum RecordIterRepr<'a> {
    Wire { data: &'a [u8], left: u16 },
    Slice(core::slice::Iter<'a, GroupRecord<'a>>),
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = GroupRecord<'a>;

    fn next(&mut self) -> Option<GroupRecord<'a>> {
        match &mut self.0 {
            RecordIterRepr::Slice(iter) => iter.next().copied(),
            RecordIterRepr::Wire { data, left } => {
                if *left == 0 {
                    return None;
                }
                // Lengths were validated by `Packet::new_checked`; still, end rather than
                // panic if this iterator is ever handed unchecked data.
                let record = parse_record(data);
                match record {
                    Some((record, len)) => {
                        *data = &data[len..];
                        *left -= 1;
                        Some(record)
                    }
                    None => {
                        *left = 0;
                        None
                    }
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            RecordIterRepr::Slice(iter) => iter.size_hint(),
            RecordIterRepr::Wire { left, .. } => (0, Some(usize::from(*left))),
        }
    }
}

/// Parses the record at the start of `data`: the record and its length, or `None` if it
/// is truncated or its group is not multicast.
fn parse_record(data: &[u8]) -> Option<(GroupRecord<'_>, usize)> {
    let len = record_len(data)?;
    let record = data.get(..len)?;
    let sources = usize::from(NetworkEndian::read_u16(&record[2..4]));
    let aux_at = RECORD_HEADER_LEN + 4 * sources;
    let group = GroupAddr::new([record[4], record[5], record[6], record[7]]).ok()?;
    Some((
        GroupRecord {
            record_type: RecordType::from(record[0]),
            group,
            sources: AddrList(record[RECORD_HEADER_LEN..aux_at].as_chunks().0),
            aux_data: &record[aux_at..],
        },
        len,
    ))
}

/// An IGMPv3 Membership Query ([RFC 3376 §4.1]).
///
/// [RFC 3376 §4.1]: https://www.rfc-editor.org/rfc/rfc3376#section-4.1
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct V3Query<'a> {
    /// Max Resp Code; see [`decode_exp_code`].
    pub max_resp_code: u8,
    /// The group, or `None` for a general query.
    pub group: Option<GroupAddr>,
    /// S flag: routers suppress their timer updates.
    pub suppress_router_processing: bool,
    /// Querier's Robustness Variable, 0–7.
    pub qrv: u8,
    /// Querier's Query Interval Code; see [`decode_exp_code`].
    pub qqic: u8,
    /// The sources of a group-and-source-specific query.
    pub sources: AddrList<'a>,
}

impl V3Query<'_> {
    /// Max Resp in tenths of a second.
    pub const fn max_resp_tenths(&self) -> u16 {
        decode_exp_code(self.max_resp_code)
    }

    /// The querier's Query Interval in seconds.
    pub const fn query_interval_secs(&self) -> u16 {
        decode_exp_code(self.qqic)
    }
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
        buf[..HEADER_LEN].fill(0);
        buf[field::TYPE] = self.msg_type();
        match self {
            Message::V1Query
            | Message::V1Report { .. }
            | Message::V2Report { .. }
            | Message::Leave { .. }
            | Message::V2Query { .. } => {
                buf.copy_from_slice(&self.to_v2_octets().ok_or(Error::FieldRange)?);
                return Ok(len);
            }
            Message::V3Query(q) => {
                if q.qrv > 7 {
                    return Err(Error::FieldRange);
                }
                let sources = u16::try_from(q.sources.len()).map_err(|_| Error::FieldRange)?;
                buf[field::MAX_RESP] = q.max_resp_code;
                buf[field::GROUP].copy_from_slice(&group_octets(q.group));
                buf[field::S_QRV] = (u8::from(q.suppress_router_processing) << 3) | q.qrv;
                buf[field::QQIC] = q.qqic;
                NetworkEndian::write_u16(&mut buf[field::NUM_SOURCES], sources);
                q.sources.write(&mut buf[field::SOURCES..]);
            }
            Message::V3Report { records } => {
                let count = u16::try_from(records.len()).map_err(|_| Error::FieldRange)?;
                NetworkEndian::write_u16(&mut buf[field::NUM_RECORDS], count);
                let mut at = field::RECORDS;
                for record in records.iter() {
                    at += record.emit(&mut buf[at..])?;
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
        octets[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
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

/// The sources of a v3 query whose lengths have been checked.
#[inline]
fn sources_of(data: &[u8]) -> AddrList<'_> {
    let Some((head, rest)) = data.split_first_chunk::<{ field::SOURCES }>() else { return AddrList::EMPTY };
    let [.., n_hi, n_lo] = *head;
    AddrList(rest.as_chunks().0.get(..usize::from(u16::from_be_bytes([n_hi, n_lo]))).unwrap_or(&[]))
}

/// The records of a v3 report whose lengths have been checked.
#[inline]
fn records_of(data: &[u8]) -> GroupRecords<'_> {
    let Some((head, rest)) = data.split_first_chunk::<{ field::RECORDS }>() else { return GroupRecords::EMPTY };
    let [.., n_hi, n_lo] = *head;
    GroupRecords(RecordsRepr::Wire { data: rest, count: u16::from_be_bytes([n_hi, n_lo]) })
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

#[cfg(test)]
mod tests {
    use super::*;

    const V2_REPORT: [u8; 8] = [0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03];
    const LEAVE: [u8; 8] = [0x17, 0x00, 0xf7, 0xfa, 0xef, 0x01, 0x02, 0x03];
    const GENERAL_QUERY: [u8; 8] = [0x11, 0x14, 0xee, 0xeb, 0x00, 0x00, 0x00, 0x00];
    const V3_REPORT: [u8; 16] =
        [0x22, 0x00, 0xe8, 0xf9, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0xef, 0x01, 0x02, 0x03];

    fn g(s: &str) -> GroupAddr {
        s.parse().unwrap()
    }

    fn with_checksum(mut data: Vec<u8>) -> Vec<u8> {
        data[2] = 0;
        data[3] = 0;
        let c = checksum::compute(&data);
        data[2..4].copy_from_slice(&c.to_be_bytes());
        data
    }

    #[test]
    fn parses_linux_v2_report_and_leave() {
        assert_eq!(Message::parse_bytes(&V2_REPORT), Ok(Message::V2Report { group: g("239.1.2.3") }));
        assert_eq!(Message::parse_bytes(&LEAVE), Ok(Message::Leave { group: g("239.1.2.3") }));
    }

    #[test]
    fn packet_accessors() {
        let p = Packet::new_checked(&GENERAL_QUERY[..]).unwrap();
        assert_eq!(p.msg_type(), 0x11);
        assert_eq!(p.max_resp_code(), 20);
        assert_eq!(p.checksum(), 0xeeeb);
        assert_eq!(p.group_addr(), Ipv4Addr::UNSPECIFIED);
        assert!(p.verify_checksum());
        assert!(!p.is_v3_query());
        assert!(!p.s_flag());
        assert_eq!(p.qrv(), 0);
        assert_eq!(p.qqic(), 0);
        assert!(p.sources().is_empty());
        assert!(p.records().is_empty());
        assert_eq!(p.as_bytes(), &GENERAL_QUERY);
        assert_eq!(p.into_inner(), &GENERAL_QUERY[..]);
    }

    #[test]
    fn packet_setters_and_fill_checksum() {
        let mut buf = [0u8; 8];
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_msg_type(0x16);
        p.set_max_resp_code(0);
        p.set_group_addr(Ipv4Addr::new(239, 1, 2, 3));
        p.fill_checksum();
        assert_eq!(p.checksum(), 0xf8fa);
        assert_eq!(buf, V2_REPORT);
    }

    #[test]
    fn max_resp_of_an_8_octet_query_is_linear() {
        // smoltcp decodes this with the v3 float rule; 200 here means 20.0 s.
        let q = with_checksum(vec![0x11, 200, 0, 0, 0, 0, 0, 0]);
        let msg = Message::parse_bytes(&q).unwrap();
        assert_eq!(msg, Message::V2Query { max_resp: 200, group: None });
        assert_eq!(msg.query().unwrap().max_resp_tenths, 200);
        assert_eq!(msg.query().unwrap().max_resp_ms(), 20_000);
    }

    #[test]
    fn max_resp_of_a_v3_query_is_exponential() {
        // 0x8f: exp 0, mant 15 → (15|16)<<3 = 248 tenths.
        let q = with_checksum(vec![0x11, 0x8f, 0, 0, 0, 0, 0, 0, 0x02, 0x7d, 0, 0]);
        let msg = Message::parse_bytes(&q).unwrap();
        let query = msg.query().unwrap();
        assert_eq!(query.version, Version::V3);
        assert_eq!(query.max_resp_tenths, 248);
        let Message::V3Query(v3) = msg else { panic!("{msg:?}") };
        assert_eq!(v3.qrv, 2);
        assert_eq!(v3.qqic, 125);
        assert_eq!(v3.query_interval_secs(), 125);
        assert!(!v3.suppress_router_processing);
    }

    #[test]
    fn query_version_follows_rfc_3376_7_1() {
        let v1 = with_checksum(vec![0x11, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Message::parse_bytes(&v1), Ok(Message::V1Query));
        assert_eq!(Message::V1Query.query().unwrap().max_resp_tenths, 100);
        // A v1 query's group field is ignored on receipt.
        let v1_junk = with_checksum(vec![0x11, 0, 0, 0, 10, 0, 0, 1]);
        assert_eq!(Message::parse_bytes(&v1_junk), Ok(Message::V1Query));
        let v2 = with_checksum(vec![0x11, 100, 0, 0, 239, 1, 2, 3]);
        assert_eq!(Message::parse_bytes(&v2), Ok(Message::V2Query { max_resp: 100, group: Some(g("239.1.2.3")) }));
        for len in 9..=11 {
            let mut q = vec![0x11, 100, 0, 0, 0, 0, 0, 0];
            q.resize(len, 0);
            let q = with_checksum(q);
            assert_eq!(Message::parse_bytes(&q), Err(Error::BadQueryLength), "{len} octets");
        }
        let v3 = with_checksum(vec![0x11, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(Message::parse_bytes(&v3), Ok(Message::V3Query(_))));
        // A v3 query with Max Resp 0 is still v3, not v1: the length decides.
        let v3_zero = with_checksum(vec![0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(Message::parse_bytes(&v3_zero), Ok(Message::V3Query(_))));
    }

    #[test]
    fn v2_messages_may_be_longer_and_the_checksum_covers_it_all() {
        // RFC 2236 §2.5: use the first 8 octets, but the checksum covers everything.
        let long = with_checksum(vec![0x16, 0, 0, 0, 239, 1, 2, 3, 0xaa, 0xbb, 0xcc]);
        assert_eq!(Message::parse_bytes(&long), Ok(Message::V2Report { group: g("239.1.2.3") }));
        let mut bad = long.clone();
        bad[10] ^= 0x01;
        assert_eq!(Message::parse_bytes(&bad), Err(Error::BadChecksum));
    }

    #[test]
    fn bad_checksum_is_rejected() {
        let mut bad = V2_REPORT;
        bad[3] ^= 0x01;
        assert_eq!(Message::parse_bytes(&bad), Err(Error::BadChecksum));
        let mut bad = V2_REPORT;
        bad[7] ^= 0x80;
        assert_eq!(Message::parse_bytes(&bad), Err(Error::BadChecksum));
    }

    #[test]
    fn truncation_at_every_length() {
        for len in 0..8 {
            assert_eq!(Message::parse_bytes(&V2_REPORT[..len]), Err(Error::Truncated), "{len}");
        }
        for len in 8..V3_REPORT.len() {
            assert_eq!(Message::parse_bytes(&V3_REPORT[..len]), Err(Error::Truncated), "{len}");
        }
    }

    #[test]
    fn v3_query_source_count_beyond_the_data_is_truncated() {
        let q = with_checksum(vec![0x11, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 10, 0, 0, 1]);
        assert_eq!(Packet::new_checked(&q[..]).err(), Some(Error::Truncated));
        assert_eq!(Message::parse_bytes(&q), Err(Error::Truncated));
        let q = with_checksum(vec![0x11, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
        assert_eq!(Message::parse_bytes(&q), Err(Error::Truncated));
    }

    #[test]
    fn v3_query_with_sources() {
        let q = with_checksum(vec![0x11, 100, 0, 0, 232, 1, 1, 1, 0x0a, 60, 0, 2, 10, 0, 0, 1, 10, 0, 0, 2]);
        let Ok(Message::V3Query(v3)) = Message::parse_bytes(&q) else { panic!() };
        assert_eq!(v3.group, Some(g("232.1.1.1")));
        assert!(v3.suppress_router_processing);
        assert_eq!(v3.qrv, 2);
        assert_eq!(v3.qqic, 60);
        let want = [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)];
        assert_eq!(v3.sources, AddrList::new(&[[10, 0, 0, 1], [10, 0, 0, 2]]));
        assert_eq!(v3.sources.as_bytes(), &q[12..]);
        assert_eq!(v3.sources.get(1), Some(want[1]));
        assert_eq!(v3.sources.get(2), None);
        let p = Packet::new_checked(&q[..]).unwrap();
        assert!(p.is_v3_query());
        assert!(p.s_flag());
        assert_eq!(p.sources().iter().collect::<Vec<_>>(), want);
    }

    #[test]
    fn reports_for_non_multicast_groups_are_rejected() {
        for t in [0x12, 0x16, 0x17] {
            let m = with_checksum(vec![t, 0, 0, 0, 10, 1, 2, 3]);
            assert_eq!(Message::parse_bytes(&m), Err(Error::GroupNotMulticast), "type {t:#x}");
        }
        let q = with_checksum(vec![0x11, 100, 0, 0, 10, 1, 2, 3]);
        assert_eq!(Message::parse_bytes(&q), Err(Error::GroupNotMulticast));
        let mut r = V3_REPORT.to_vec();
        r[12] = 10;
        let r = with_checksum(r);
        assert_eq!(Message::parse_bytes(&r), Err(Error::GroupNotMulticast));
    }

    #[test]
    fn unknown_types_are_named() {
        let m = with_checksum(vec![0x13, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Message::parse_bytes(&m), Err(Error::UnknownType(0x13)));
    }

    #[test]
    fn v3_report_from_linux() {
        let msg = Message::parse_bytes(&V3_REPORT).unwrap();
        let Message::V3Report { records } = msg else { panic!("{msg:?}") };
        assert_eq!(records.len(), 1);
        let r = records.iter().next().unwrap();
        assert_eq!(r.record_type, RecordType::ChangeToExclude);
        assert_eq!(r.group, g("239.1.2.3"));
        assert!(r.sources.is_empty());
        assert!(r.aux_data.is_empty());
        let mut out = [0u8; 16];
        assert_eq!(msg.emit(&mut out), Ok(16));
        assert_eq!(out, V3_REPORT);
    }

    #[test]
    fn v3_report_with_sources_aux_data_and_unknown_record_type() {
        let s1 = [[10, 0, 0, 1], [10, 0, 0, 2]];
        let aux = [1, 2, 3, 4, 5, 6, 7, 8];
        let records = [
            GroupRecord {
                record_type: RecordType::AllowNewSources,
                group: g("232.1.1.1"),
                sources: AddrList::new(&s1),
                aux_data: &aux,
            },
            GroupRecord {
                record_type: RecordType::Unknown(9),
                group: g("239.0.0.1"),
                sources: AddrList::EMPTY,
                aux_data: &[],
            },
        ];
        let msg = Message::V3Report { records: GroupRecords::new(&records) };
        assert_eq!(msg.buffer_len(), 8 + (8 + 8 + 8) + 8);
        let mut buf = [0u8; 64];
        let len = msg.emit(&mut buf).unwrap();
        assert_eq!(len, 40);
        let parsed = Message::parse_bytes(&buf[..len]).unwrap();
        assert_eq!(parsed, msg);
        let Message::V3Report { records: got } = parsed else { panic!() };
        let got: Vec<_> = got.iter().collect();
        assert_eq!(got[0].aux_data, &aux);
        assert_eq!(got[1].record_type, RecordType::Unknown(9));
        assert_eq!(u8::from(got[1].record_type), 9);
    }

    #[test]
    fn emit_rejects_what_would_not_parse_back() {
        let mut buf = [0u8; 64];
        assert_eq!(Message::V2Query { max_resp: 0, group: None }.emit(&mut buf), Err(Error::FieldRange));
        let q = V3Query {
            max_resp_code: 1,
            group: None,
            suppress_router_processing: false,
            qrv: 8,
            qqic: 0,
            sources: AddrList::EMPTY,
        };
        assert_eq!(Message::V3Query(q).emit(&mut buf), Err(Error::FieldRange));
        let bad_aux = [GroupRecord {
            record_type: RecordType::ModeIsInclude,
            group: g("239.0.0.1"),
            sources: AddrList::EMPTY,
            aux_data: &[1, 2, 3],
        }];
        assert_eq!(Message::V3Report { records: GroupRecords::new(&bad_aux) }.emit(&mut buf), Err(Error::FieldRange));
        assert_eq!(Message::V2Report { group: g("239.0.0.1") }.emit(&mut buf[..7]), Err(Error::BufferTooSmall));
    }

    #[test]
    fn destinations_follow_the_rfcs() {
        let group = g("239.1.2.3");
        assert_eq!(Message::V1Query.destination(), GroupAddr::ALL_SYSTEMS);
        assert_eq!(Message::V2Query { max_resp: 100, group: None }.destination(), GroupAddr::ALL_SYSTEMS);
        assert_eq!(Message::V2Query { max_resp: 10, group: Some(group) }.destination(), group);
        assert_eq!(Message::V1Report { group }.destination(), group);
        assert_eq!(Message::V2Report { group }.destination(), group);
        assert_eq!(Message::Leave { group }.destination(), GroupAddr::ALL_ROUTERS);
        assert_eq!(Message::V3Report { records: GroupRecords::EMPTY }.destination(), GroupAddr::IGMPV3_ROUTERS);
    }

    #[test]
    #[cfg_attr(miri, ignore = "statistical or exhaustive; runs natively in `cargo test`")]
    fn exp_code_decoding_and_encoding() {
        assert_eq!(decode_exp_code(0), 0);
        assert_eq!(decode_exp_code(127), 127);
        assert_eq!(decode_exp_code(0x80), 128);
        assert_eq!(decode_exp_code(0xff), 31744);
        // Independent check of the RFC 3376 §4.1.1 formula for every code.
        for code in 128..=255u8 {
            let exp = u32::from((code >> 4) & 7);
            let mant = u32::from(code & 0xf);
            assert_eq!(u32::from(decode_exp_code(code)), (mant | 0x10) << (exp + 3));
            assert_eq!(encode_exp_code(decode_exp_code(code)), code, "{code:#x}");
        }
        for value in 0..=u16::MAX {
            let code = encode_exp_code(value);
            assert!(decode_exp_code(code) <= value, "{value}");
            if value < 31744 {
                // Rounded down to the nearest code: the next code up is above the value.
                assert!(code == 0xff || decode_exp_code(code + 1) > value, "{value}");
            }
        }
    }

    #[test]
    fn display() {
        let q = Message::V2Query { max_resp: 100, group: None };
        assert_eq!(q.to_string(), "IGMPv2 query general, max resp 10.0 s");
        assert_eq!(Message::Leave { group: g("239.1.2.3") }.to_string(), "IGMPv2 leave 239.1.2.3");
    }

    #[test]
    fn sizes() {
        use core::mem::size_of;
        // A group is never 0, so an absent one takes no room of its own.
        assert_eq!(size_of::<Option<GroupAddr>>(), 4);
        assert_eq!(size_of::<AddrList<'_>>(), 2 * size_of::<usize>());
        // The largest variants are the IGMPv3 query (the sources and 8 octets) and the
        // report (the records and which kind they are), as large as each other on 64-bit
        // targets, where the tag needs a word of its own; on 32-bit ones it fits in the
        // query's flag. A `Result` uses the tag's spare values.
        let message = if cfg!(target_pointer_width = "64") { 32 } else { 16 };
        assert_eq!(size_of::<Message<'_>>(), message);
        assert_eq!(size_of::<Result<Message<'_>>>(), message);
    }

    #[test]
    fn addr_list_from_bytes_and_back() {
        let bytes = [10, 0, 0, 1, 10, 0, 0, 2];
        let list = AddrList::from_bytes(&bytes).unwrap();
        assert_eq!(list, AddrList::new(&[[10, 0, 0, 1], [10, 0, 0, 2]]));
        assert_eq!(list.as_slice(), &[[10, 0, 0, 1], [10, 0, 0, 2]]);
        assert_eq!(list.as_bytes(), &bytes);
        assert_eq!(list.iter().next_back(), Some(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(list.iter().len(), 2);
        for len in [1, 2, 3, 5, 7] {
            assert_eq!(AddrList::from_bytes(&bytes[..len]), None, "{len} octets");
        }
        assert_eq!(AddrList::from_bytes(&[]), Some(AddrList::EMPTY));
        assert_eq!(format!("{list:?}"), "[10.0.0.1, 10.0.0.2]");
    }

    /// What `Message::parse_bytes` must return for a message of `data.len()` octets that
    /// holds no IGMPv3 sources or records, written from RFC 2236 §2 and RFC 3376 §4 and
    /// §7.1 without the parser's shortcuts.
    fn reference(data: &[u8]) -> Result<Message<'_>> {
        let len = data.len();
        if len < 8 {
            return Err(Error::Truncated);
        }
        let (kind, code) = (data[0], data[1]);
        let count = u16::from_be_bytes([data[6], data[7]]);
        if kind == msg_type::MEMBERSHIP_QUERY && (9..12).contains(&len) {
            return Err(Error::BadQueryLength);
        }
        if kind == msg_type::V3_REPORT && count != 0 {
            return Err(Error::Truncated); // no room for a record here
        }
        let mut sum = 0u32;
        for word in data.chunks(2) {
            sum += u32::from(word[0]) << 8 | u32::from(*word.get(1).unwrap_or(&0));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        if sum != 0xffff {
            return Err(Error::BadChecksum);
        }
        let addr = Ipv4Addr::new(data[4], data[5], data[6], data[7]);
        let group = GroupAddr::from_ipv4(addr).map_err(|_| Error::GroupNotMulticast);
        let query_group = if addr.is_unspecified() { Ok(None) } else { group.map(Some) };
        match kind {
            msg_type::MEMBERSHIP_QUERY if len >= 12 => Ok(Message::V3Query(V3Query {
                max_resp_code: code,
                group: query_group?,
                suppress_router_processing: data[8] & 0x08 != 0,
                qrv: data[8] & 0x07,
                qqic: data[9],
                sources: AddrList::EMPTY,
            })),
            msg_type::MEMBERSHIP_QUERY if code == 0 => Ok(Message::V1Query),
            msg_type::MEMBERSHIP_QUERY => Ok(Message::V2Query { max_resp: code, group: query_group? }),
            msg_type::V1_REPORT => Ok(Message::V1Report { group: group? }),
            msg_type::V2_REPORT => Ok(Message::V2Report { group: group? }),
            msg_type::LEAVE => Ok(Message::Leave { group: group? }),
            msg_type::V3_REPORT => Ok(Message::V3Report { records: GroupRecords::EMPTY }),
            other => Err(Error::UnknownType(other)),
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "statistical or exhaustive; runs natively in `cargo test`")]
    fn every_type_code_group_and_length_parses_as_the_reference() {
        let groups = [
            [0, 0, 0, 0],
            [224, 0, 0, 0],
            [224, 0, 0, 1],
            [239, 1, 2, 3],
            [239, 255, 255, 255],
            [223, 255, 255, 255],
            [240, 0, 0, 0],
            [10, 1, 2, 3],
            [0, 0, 0, 1],
            [255, 255, 255, 255],
        ];
        let mut cases = 0;
        for kind in 0..=255u8 {
            for code in [0, 1, 100, 0x80, 255] {
                for group in groups {
                    for len in 8..=13 {
                        let mut data = vec![0; len];
                        data[0] = kind;
                        data[1] = code;
                        data[4..8].copy_from_slice(&group);
                        for (i, b) in data.iter_mut().enumerate().skip(8) {
                            *b = (i as u8).wrapping_mul(37) ^ code;
                        }
                        data.iter_mut().skip(10).take(2).for_each(|b| *b = 0); // no sources
                        let good = with_checksum(data);
                        let mut bad = good.clone();
                        bad[2] ^= 0x40;
                        for data in [&good, &bad] {
                            assert_eq!(Message::parse_bytes(data), reference(data), "{data:02x?}");
                            cases += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(cases, 256 * 5 * 10 * 6 * 2);
    }
}
