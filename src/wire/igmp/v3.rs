//! The parts of IGMPv3 messages ([RFC 3376 §4]) that IGMPv1 and IGMPv2 lack: source
//! lists, group records, the query's fields and the exponential codes of Max Resp and
//! QQIC. Re-exported from [`igmp`](super); parsing never copies and emitting never
//! allocates.
//!
//! [RFC 3376 §4]: https://www.rfc-editor.org/rfc/rfc3376#section-4

use core::fmt;
use core::net::Ipv4Addr;

use super::{RECORD_HEADER_LEN, field};
use crate::addr::GroupAddr;
use crate::wire::{Error, Result, field as field_octets, field_u16, octet, set_field, set_field_u16, set_octet};

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

/// The length of the group record at the start of `data`, if its fixed part is there.
pub(super) fn record_len(data: &[u8]) -> Option<usize> {
    let head = data.get(..RECORD_HEADER_LEN)?;
    let aux_words = usize::from(octet(head, field::record::AUX_LEN));
    let sources = usize::from(field_u16(head, field::record::NUM_SOURCES));
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
    pub(super) fn write(&self, buf: &mut [u8]) {
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

    pub(super) fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let aux_words = self.aux_data.len() / 4;
        if !self.aux_data.len().is_multiple_of(4) || aux_words > usize::from(u8::MAX) {
            return Err(Error::FieldRange);
        }
        let sources = u16::try_from(self.sources.len()).map_err(|_| Error::FieldRange)?;
        let len = self.buffer_len();
        let buf = buf.get_mut(..len).ok_or(Error::BufferTooSmall)?;
        set_octet(buf, field::record::TYPE, self.record_type.into());
        set_octet(buf, field::record::AUX_LEN, aux_words as u8);
        set_field_u16(buf, field::record::NUM_SOURCES, sources);
        set_field(buf, field::record::GROUP, self.group.octets());
        let (sources, aux) = buf
            .get_mut(field::record::SOURCES..)
            .unwrap_or_default()
            .split_at_mut_checked(4 * self.sources.len())
            .unwrap_or_default();
        self.sources.write(sources);
        if let Some(aux) = aux.get_mut(..self.aux_data.len()) {
            aux.copy_from_slice(self.aux_data);
        }
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

    pub(super) fn buffer_len(&self) -> usize {
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
                        *data = data.get(len..).unwrap_or_default();
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
    let sources = usize::from(field_u16(record, field::record::NUM_SOURCES));
    let (sources, aux_data) = record.get(field::record::SOURCES..)?.split_at_checked(4 * sources)?;
    let group = GroupAddr::new(field_octets(record, field::record::GROUP)).ok()?;
    let record_type = RecordType::from(octet(record, field::record::TYPE));
    Some((GroupRecord { record_type, group, sources: AddrList(sources.as_chunks().0), aux_data }, len))
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

/// The sources of a v3 query whose lengths have been checked.
#[inline]
pub(super) fn sources_of(data: &[u8]) -> AddrList<'_> {
    let count = usize::from(field_u16(data, field::NUM_SOURCES));
    let sources = data.get(field::SOURCES..).unwrap_or_default().as_chunks().0;
    AddrList(sources.get(..count).unwrap_or_default())
}

/// The records of a v3 report whose lengths have been checked.
#[inline]
pub(super) fn records_of(data: &[u8]) -> GroupRecords<'_> {
    let count = field_u16(data, field::NUM_RECORDS);
    GroupRecords(RecordsRepr::Wire { data: data.get(field::RECORDS..).unwrap_or_default(), count })
}
