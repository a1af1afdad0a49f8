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
    if let Some((word, tail)) = rest.split_first_chunk() {
        acc += u64::from(u32::from_be_bytes(*word));
        rest = tail;
    }
    if let Some((half, tail)) = rest.split_first_chunk() {
        acc += u64::from(u16::from_be_bytes(*half));
        rest = tail;
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

/// Whether 8 octets, read as one `u64` in either byte order, verify: [`verify`] of
/// them, without a loop or a fold.
///
/// The one's complement sum of the four 16-bit words is `0xffff` exactly when their
/// plain sum is a multiple of `0xffff` and not 0. Since `0x1_0000 ≡ 1 (mod 0xffff)`, the
/// word as a whole leaves the same remainder as that sum, in either byte order (a byte
/// swap multiplies it by `0x100`, which has an inverse). Whether it divides is one
/// multiplication by the inverse of `0xffff` (T. Granlund and P. Montgomery, *Division
/// by Invariant Integers using Multiplication*, 1994); a 32-bit target first adds the
/// two halves with the end-around carry, which keeps the remainder and keeps 0 apart.
#[inline]
pub(crate) const fn verify_u64(word: u64) -> bool {
    if cfg!(target_pointer_width = "64") { divides_64(word) } else { divides_32(fold_halves(word)) }
}

/// Whether `x` is a multiple of `0xffff` other than 0: `x·0xffff⁻¹` runs over
/// `0..=u64::MAX / 0xffff` exactly for the multiples, and `x = 0` gives 0.
const fn divides_64(x: u64) -> bool {
    const INVERSE: u64 = 0xfffe_fffe_fffe_ffff; // 0xffff · INVERSE ≡ 1 (mod 2⁶⁴)
    x.wrapping_mul(INVERSE).wrapping_sub(1) < u64::MAX / 0xffff
}

/// [`divides_64`] on 32 bits.
const fn divides_32(x: u32) -> bool {
    const INVERSE: u32 = 0xfffe_ffff; // 0xffff · INVERSE ≡ 1 (mod 2³²)
    x.wrapping_mul(INVERSE).wrapping_sub(1) < u32::MAX / 0xffff
}

/// The two halves of `word` added with the end-around carry: 0 only for 0, and the
/// same remainder modulo `0xffff` (which divides `2³² − 1`).
const fn fold_halves(word: u64) -> u32 {
    let (sum, carry) = (word as u32).overflowing_add((word >> 32) as u32);
    sum.wrapping_add(carry as u32)
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
    #[cfg_attr(miri, ignore = "statistical or exhaustive; runs natively in `cargo test`")]
    fn verify_u64_agrees_with_verify_in_both_byte_orders_and_widths() {
        let check = |octets: [u8; 8]| {
            let want = reference(&octets) == 0xffff;
            assert_eq!(verify(&octets), want, "{octets:02x?}");
            for word in [u64::from_be_bytes(octets), u64::from_le_bytes(octets)] {
                assert_eq!(verify_u64(word), want, "{octets:02x?}");
                assert_eq!(divides_64(word), want, "{octets:02x?}");
                assert_eq!(divides_32(fold_halves(word)), want, "{octets:02x?}");
            }
        };
        // The Linux report above; all zeros (sums to 0, not 0xffff); sums that are every
        // multiple of 0xffff the four words can reach; carries at every step.
        check([0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03]);
        for octets in [[0; 8], [0xff; 8], [0, 0, 0, 0, 0, 0, 0xff, 0xff], [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]] {
            check(octets);
        }
        check([0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        check([0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x7f, 0xff]);
        check([0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x01]);
        let mut x: u64 = 0x0123_4567_89ab_cdef;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(x.to_le_bytes());
            // Make the last word the checksum of the other three, so that half the
            // cases verify, and nudge it off by one for near misses.
            let mut octets = x.to_be_bytes();
            octets[6..].fill(0);
            let sum = !reference(&octets);
            octets[6..].copy_from_slice(&sum.to_be_bytes());
            check(octets);
            octets[7] = octets[7].wrapping_add(1);
            check(octets);
        }
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
