//! Zero-copy views and typed messages for IGMP, IPv4 and Ethernet.
//!
//! Each protocol has a `Packet` view over a byte buffer, made only by a
//! `new_checked` that validates every length the accessors rely on, so no accessor
//! can panic; and a typed representation (`Message`, `Repr`) with `parse`,
//! `buffer_len` and `emit`. [`frame`] puts the three layers together the way the
//! RFCs prescribe for IGMP.
//!
//! Parsing never panics and never allocates: bad input is an [`Error`] that names
//! what was wrong.

pub mod checksum;
pub mod ethernet;
pub mod frame;
pub mod igmp;
pub mod ipv4;

use core::fmt;
use core::ops::Range;

pub use ethernet::{EtherType, Packet as EthernetPacket, Repr as EthernetRepr, VlanTag};
pub use frame::Repr as FrameRepr;
pub use igmp::{Message as IgmpMessage, Packet as IgmpPacket};
pub use ipv4::{Packet as Ipv4Packet, Repr as Ipv4Repr};

/// What was wrong with a packet, or why a message could not be emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
// Aligned to 4 for code size (docs/BENCHMARKS.md, "Code size").
#[repr(align(4))]
pub enum Error {
    /// The buffer ends before a header, field or list it must hold.
    Truncated,
    /// The IGMP checksum over the whole message does not verify.
    BadChecksum,
    /// The IPv4 header checksum does not verify.
    BadHeaderChecksum,
    /// The IPv4 header length (IHL) is below 5 words or beyond the total length.
    BadHeaderLength,
    /// The IPv4 total length is shorter than the header or longer than the buffer holds.
    BadTotalLength,
    /// An IPv4 option is malformed: a length below 2, past the end of the header, or a
    /// Router Alert option shorter than 4 octets.
    BadOption,
    /// The IP version field is not 4.
    UnsupportedVersion,
    /// An IGMP query of 9 to 11 octets, which RFC 3376 §7.1 says to ignore.
    BadQueryLength,
    /// An IGMP message type this crate does not know.
    UnknownType(u8),
    /// A group address field that must be multicast is not (for queries: neither
    /// 0.0.0.0 nor multicast).
    GroupNotMulticast,
    /// The EtherType is not IPv4.
    NotIpv4(u16),
    /// The IPv4 protocol is not IGMP (2).
    NotIgmp(u8),
    /// The IPv4 datagram is a fragment; IGMP messages are never fragmented.
    Fragmented,
    /// The Ethernet destination is not the MAC that the multicast IPv4 destination maps
    /// to (RFC 1112 §6.4).
    MacMismatch,
    /// A field of a message to emit is out of its range (a QRV above 7, more than 65535
    /// sources or records, auxiliary data not a whole number of 32-bit words, …).
    FieldRange,
    /// The buffer given to `emit` is shorter than `buffer_len`.
    BufferTooSmall,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("truncated packet"),
            Error::BadChecksum => f.write_str("bad IGMP checksum"),
            Error::BadHeaderChecksum => f.write_str("bad IPv4 header checksum"),
            Error::BadHeaderLength => f.write_str("bad IPv4 header length"),
            Error::BadTotalLength => f.write_str("bad IPv4 total length"),
            Error::BadOption => f.write_str("malformed IPv4 option"),
            Error::UnsupportedVersion => f.write_str("IP version is not 4"),
            Error::BadQueryLength => f.write_str("IGMP query of 9 to 11 octets"),
            Error::UnknownType(t) => write!(f, "unknown IGMP type 0x{t:02x}"),
            Error::GroupNotMulticast => f.write_str("group address is not multicast"),
            Error::NotIpv4(t) => write!(f, "EtherType 0x{t:04x} is not IPv4"),
            Error::NotIgmp(p) => write!(f, "IP protocol {p} is not IGMP"),
            Error::Fragmented => f.write_str("fragmented IPv4 datagram"),
            Error::MacMismatch => f.write_str("Ethernet destination does not match the IPv4 group"),
            Error::FieldRange => f.write_str("field out of range"),
            Error::BufferTooSmall => f.write_str("buffer too small"),
        }
    }
}

impl core::error::Error for Error {}

/// The result of parsing or emitting.
pub type Result<T> = core::result::Result<T, Error>;

/// The octets of a field of a checked view, or zeros if `data` lacks them, which
/// `new_checked` made sure it does not: no panic path (docs/BENCHMARKS.md, "Code size").
#[inline]
fn field<const K: usize>(data: &[u8], range: Range<usize>) -> [u8; K] {
    data.get(range).and_then(|b| <[u8; K]>::try_from(b).ok()).unwrap_or([0; K])
}

/// A big-endian 16-bit field of a checked view (see [`field`]).
#[inline]
fn field_u16(data: &[u8], range: Range<usize>) -> u16 {
    u16::from_be_bytes(field(data, range))
}

/// An octet of a checked view (see [`field`]).
#[inline]
fn octet(data: &[u8], at: usize) -> u8 {
    data.get(at).copied().unwrap_or(0)
}

/// Writes the octets of a field of a checked view, or nothing if `data` lacks them,
/// which `new_checked` (or the length check of an `emit`) made sure it does not.
#[inline]
fn set_field<const K: usize>(data: &mut [u8], range: Range<usize>, value: [u8; K]) {
    if let Some(field) = data.get_mut(range).and_then(|b| <&mut [u8; K]>::try_from(b).ok()) {
        *field = value;
    }
}

/// Writes a big-endian 16-bit field of a checked view (see [`set_field`]).
#[inline]
fn set_field_u16(data: &mut [u8], range: Range<usize>, value: u16) {
    set_field(data, range, value.to_be_bytes());
}

/// Writes an octet of a checked view (see [`set_field`]).
#[inline]
fn set_octet(data: &mut [u8], at: usize, value: u8) {
    if let Some(octet) = data.get_mut(at) {
        *octet = value;
    }
}
