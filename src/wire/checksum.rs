//! The Internet checksum ([RFC 1071]): the 16-bit one's complement of the one's
//! complement sum of the data taken as big-endian 16-bit words.
//!
//! The sum is accumulated 32 bits at a time in a 64-bit register and folded once at the
//! end: a one's complement sum of 32-bit words folds to the same 16-bit value as one of
//! 16-bit words ([RFC 1071 §2 (B)]), and a 64-bit accumulator cannot overflow below
//! 16 GiB of data.
//!
//! [RFC 1071]: https://www.rfc-editor.org/rfc/rfc1071
//! [RFC 1071 §2 (B)]: https://www.rfc-editor.org/rfc/rfc1071#section-2

/// Adds `data` to a running 64-bit sum, eight bytes per step. An odd final byte is
/// the high byte of a zero-padded word.
#[inline]
fn accumulate(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        acc += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        acc += u64::from(u32::from_be_bytes([c[4], c[5], c[6], c[7]]));
    }
    let mut rest = chunks.remainder();
    if rest.len() >= 4 {
        acc += u64::from(u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]));
        rest = &rest[4..];
    }
    if rest.len() >= 2 {
        acc += u64::from(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
    }
    if let [last] = rest {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds a 64-bit sum to 16 bits with end-around carry.
#[inline]
const fn fold(mut acc: u64) -> u16 {
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    let mut s = (acc & 0xffff) + (acc >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// The one's complement sum of `data`, not complemented.
///
/// A received message whose checksum field is correct sums to `0xffff`.
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    fold(accumulate(0, data))
}

/// Combines partial sums (from [`sum`] over pieces of even length) into one.
#[inline]
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().fold(0u64, |acc, s| acc + u64::from(*s)))
}

/// The checksum to put in a message: the complement of [`sum`] over the message with
/// its checksum field zeroed.
#[inline]
pub fn compute(data: &[u8]) -> u16 {
    !sum(data)
}

/// Whether `data`, checksum field included, verifies.
#[inline]
pub fn verify(data: &[u8]) -> bool {
    sum(data) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte by byte, straight from RFC 1071 §4.1, as an independent reference.
    fn reference(data: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        let mut i = 0;
        while i + 1 < data.len() {
            sum += (u32::from(data[i]) << 8) | u32::from(data[i + 1]);
            i += 2;
        }
        if i < data.len() {
            sum += u32::from(data[i]) << 8;
        }
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    #[test]
    fn rfc_1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(&data), 0xddf2);
        assert_eq!(compute(&data), !0xddf2);
    }

    #[test]
    fn igmp_report_from_linux_verifies() {
        // IGMPv2 report for 239.1.2.3 captured from a Linux kernel, checksum f8fa.
        let msg = [0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03];
        assert!(verify(&msg));
        let mut zeroed = msg;
        zeroed[2] = 0;
        zeroed[3] = 0;
        assert_eq!(compute(&zeroed), 0xf8fa);
    }

    #[test]
    #[cfg_attr(miri, ignore = "statistical or exhaustive; runs natively in `cargo test`")]
    fn matches_the_byte_wise_reference_at_every_length_and_alignment() {
        let mut data = [0u8; 300];
        let mut x: u32 = 0x1234_5678;
        for b in data.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        for start in 0..8 {
            for end in start..data.len() {
                assert_eq!(sum(&data[start..end]), reference(&data[start..end]), "{start}..{end}");
            }
        }
        let ones = [0xffu8; 1001];
        assert_eq!(sum(&ones), reference(&ones));
    }

    #[test]
    fn empty_and_zero() {
        assert_eq!(sum(&[]), 0);
        assert_eq!(compute(&[0; 8]), 0xffff);
        assert!(!verify(&[0; 8]));
    }

    #[test]
    fn combine_equals_sum_of_the_whole() {
        let data: [u8; 14] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xff, 0xfe, 0xfd, 0xfc];
        assert_eq!(combine(&[sum(&data[..6]), sum(&data[6..])]), sum(&data));
        assert_eq!(combine(&[0xffff, 0xffff]), 0xffff);
    }
}
