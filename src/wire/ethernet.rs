//! Ethernet II framing (DIX): destination, source, EtherType, payload. No FCS: NICs
//! add and strip it.
//!
//! The views here see one header: a tagged frame's EtherType is its first tag's TPID
//! (0x8100, say). [`VlanTag`] is one 802.1Q / 802.1ad tag; `frame::Repr::parse` reads
//! through up to two of them.

use core::fmt;

use super::{Error, Result, field_u16, set_field, set_field_u16};
use crate::addr::MacAddr;

/// Byte offsets of the fields.
pub mod field {
    /// A range of byte offsets.
    pub type Field = core::ops::Range<usize>;

    /// Destination MAC.
    pub const DST: Field = 0..6;
    /// Source MAC.
    pub const SRC: Field = 6..12;
    /// EtherType.
    pub const ETHERTYPE: Field = 12..14;
    /// First payload octet.
    pub const PAYLOAD: usize = 14;
}

/// Length of the header.
pub const HEADER_LEN: usize = 14;

/// The EtherType field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EtherType(pub u16);

impl EtherType {
    /// IPv4.
    pub const IPV4: EtherType = EtherType(0x0800);
    /// ARP.
    pub const ARP: EtherType = EtherType(0x0806);
    /// An IEEE 802.1Q VLAN tag (a customer tag, C-tag).
    pub const VLAN: EtherType = EtherType(0x8100);
    /// An IEEE 802.1ad service tag (S-tag), the outer tag of QinQ.
    pub const SERVICE_VLAN: EtherType = EtherType(0x88a8);
    /// The TPID that switches used for the outer QinQ tag before 802.1ad.
    pub const QINQ_9100: EtherType = EtherType(0x9100);
    /// IPv6.
    pub const IPV6: EtherType = EtherType(0x86dd);

    /// Whether this is a VLAN tag's TPID: 0x8100, 0x88a8 or 0x9100.
    pub const fn is_vlan_tag(self) -> bool {
        matches!(self, EtherType::VLAN | EtherType::SERVICE_VLAN | EtherType::QINQ_9100)
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EtherType::IPV4 => f.write_str("IPv4"),
            EtherType::ARP => f.write_str("ARP"),
            EtherType::VLAN => f.write_str("802.1Q"),
            EtherType::SERVICE_VLAN => f.write_str("802.1ad"),
            EtherType::IPV6 => f.write_str("IPv6"),
            EtherType(other) => write!(f, "0x{other:04x}"),
        }
    }
}

/// One VLAN tag: the TPID that announced it and the Tag Control Information after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VlanTag {
    /// The Tag Protocol Identifier: [`EtherType::VLAN`], [`EtherType::SERVICE_VLAN`] or
    /// [`EtherType::QINQ_9100`] (what a parser recognises as a tag).
    pub tpid: EtherType,
    /// The Tag Control Information: priority (3 bits), drop eligible (1 bit), VLAN id
    /// (12 bits).
    pub tci: u16,
}

impl VlanTag {
    /// Length of a tag on the wire: TPID and TCI.
    pub const LEN: usize = 4;

    /// The VLAN id (0 in a priority tag, which names no VLAN).
    pub const fn id(self) -> u16 {
        self.tci & 0x0fff
    }

    /// The priority code point (802.1p), 0 to 7.
    pub const fn priority(self) -> u8 {
        (self.tci >> 13) as u8
    }

    /// The drop eligible indicator.
    pub const fn drop_eligible(self) -> bool {
        self.tci & 0x1000 != 0
    }
}

/// A zero-copy view of an Ethernet II frame; made only by [`Packet::new_checked`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer of at least [`HEADER_LEN`] octets, or fails with
    /// [`Error::Truncated`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The destination MAC.
    pub fn dst(&self) -> MacAddr {
        MacAddr(super::field(self.buffer.as_ref(), field::DST))
    }

    /// The source MAC.
    pub fn src(&self) -> MacAddr {
        MacAddr(super::field(self.buffer.as_ref(), field::SRC))
    }

    /// The EtherType.
    pub fn ethertype(&self) -> EtherType {
        EtherType(field_u16(self.buffer.as_ref(), field::ETHERTYPE))
    }

    /// Everything after the header (including any padding).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(field::PAYLOAD..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the destination MAC.
    pub fn set_dst(&mut self, mac: MacAddr) {
        set_field(self.buffer.as_mut(), field::DST, mac.0);
    }

    /// Sets the source MAC.
    pub fn set_src(&mut self, mac: MacAddr) {
        set_field(self.buffer.as_mut(), field::SRC, mac.0);
    }

    /// Sets the EtherType.
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        set_field_u16(self.buffer.as_mut(), field::ETHERTYPE, ethertype.0);
    }

    /// Everything after the header, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut().get_mut(field::PAYLOAD..).unwrap_or_default()
    }
}

/// The Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Repr {
    /// Destination MAC.
    pub dst: MacAddr,
    /// Source MAC.
    pub src: MacAddr,
    /// EtherType.
    pub ethertype: EtherType,
}

impl Repr {
    /// Reads the header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &Packet<T>) -> Repr {
        Repr { dst: frame.dst(), src: frame.src(), ethertype: frame.ethertype() }
    }

    /// The header length, [`HEADER_LEN`].
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header to the start of `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let header = buf.get_mut(..HEADER_LEN).ok_or(Error::BufferTooSmall)?;
        let mut frame = Packet { buffer: header };
        frame.set_dst(self.dst);
        frame.set_src(self.src);
        frame.set_ethertype(self.ethertype);
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: [u8; 14] = [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03, 0x22, 0x44, 0x6f, 0x0d, 0x33, 0xe4, 0x08, 0x00];

    #[test]
    fn parse_and_emit() {
        let f = Packet::new_checked(&HEADER[..]).unwrap();
        let repr = Repr::parse(&f);
        assert_eq!(repr.dst.to_string(), "01:00:5e:01:02:03");
        assert_eq!(repr.src.to_string(), "22:44:6f:0d:33:e4");
        assert_eq!(repr.ethertype, EtherType::IPV4);
        assert!(f.payload().is_empty());
        let mut out = [0u8; 14];
        assert_eq!(repr.emit(&mut out), Ok(14));
        assert_eq!(out, HEADER);
        assert_eq!(repr.emit(&mut out[..13]), Err(Error::BufferTooSmall));
    }

    #[test]
    fn truncation_at_every_length() {
        for len in 0..HEADER_LEN {
            assert_eq!(Packet::new_checked(&HEADER[..len]).err(), Some(Error::Truncated));
        }
    }

    #[test]
    fn ethertype_display() {
        assert_eq!(EtherType::IPV4.to_string(), "IPv4");
        assert_eq!(EtherType(0x88a8).to_string(), "802.1ad");
        assert_eq!(EtherType(0x88f7).to_string(), "0x88f7");
    }

    #[test]
    fn vlan_tpids_and_tci_fields() {
        for tpid in [0x8100, 0x88a8, 0x9100] {
            assert!(EtherType(tpid).is_vlan_tag(), "{tpid:04x}");
        }
        for other in [0x0800, 0x0806, 0x86dd, 0x8101, 0x88a9] {
            assert!(!EtherType(other).is_vlan_tag(), "{other:04x}");
        }
        // Priority 5, drop eligible, VLAN 0x123.
        let tag = VlanTag { tpid: EtherType::VLAN, tci: 0xb123 };
        assert_eq!((tag.priority(), tag.drop_eligible(), tag.id()), (5, true, 0x123));
        let tag = VlanTag { tpid: EtherType::VLAN, tci: 0x0fff };
        assert_eq!((tag.priority(), tag.drop_eligible(), tag.id()), (0, false, 4095));
    }
}
