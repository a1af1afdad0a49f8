//! Time as the state machines see it: milliseconds passed in by the caller.

use core::fmt;
use core::ops::{Add, Sub};
use core::time::Duration;

/// A point in time, in milliseconds since an epoch of the caller's choosing (boot, say).
///
/// The state machines never read a clock: every call that depends on time takes the
/// current `Instant`. Time may jump forwards or backwards; nothing breaks, timers just
/// fire early or late accordingly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant(u64);

impl Instant {
    /// The epoch.
    pub const ZERO: Instant = Instant(0);

    /// An instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(millis)
    }

    /// An instant `secs` seconds after the epoch (saturating).
    pub const fn from_secs(secs: u64) -> Instant {
        Instant(secs.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn total_millis(self) -> u64 {
        self.0
    }

    /// `self + millis`, saturating at the end of time.
    pub const fn add_millis(self, millis: u64) -> Instant {
        Instant(self.0.saturating_add(millis))
    }

    /// Milliseconds from `earlier` to `self`, or 0 if `earlier` is later.
    pub const fn millis_since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl Instant {
    /// Now, as milliseconds since `epoch` on the standard library's monotonic clock:
    /// the `now` a program on an operating system passes to the state machines. Keep one
    /// `epoch` (taken once at start) for the life of a `Host` or `Querier`.
    pub fn since(epoch: std::time::Instant) -> Instant {
        Instant(duration_millis(epoch.elapsed()))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturating addition at millisecond resolution.
    fn add(self, rhs: Duration) -> Instant {
        self.add_millis(duration_millis(rhs))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// The time from `rhs` to `self`, or zero if `rhs` is later.
    fn sub(self, rhs: Instant) -> Duration {
        Duration::from_millis(self.millis_since(rhs))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

/// A duration in whole milliseconds, saturating at `u64::MAX`.
pub(crate) const fn duration_millis(d: Duration) -> u64 {
    // as_millis() is u128; the seconds part alone decides saturation.
    let secs = d.as_secs();
    let ms = secs.saturating_mul(1000);
    ms.saturating_add(d.subsec_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_millis(1500);
        assert_eq!(t + Duration::from_millis(500), Instant::from_secs(2));
        assert_eq!(Instant::from_millis(u64::MAX) + Duration::from_secs(1), Instant::from_millis(u64::MAX));
        assert_eq!(t - Instant::from_secs(1), Duration::from_millis(500));
        assert_eq!(Instant::from_secs(1) - t, Duration::ZERO);
        assert_eq!(Instant::from_secs(u64::MAX), Instant::from_millis(u64::MAX));
        assert_eq!(t.to_string(), "1.500s");
        assert_eq!(duration_millis(Duration::MAX), u64::MAX);
    }

    #[cfg(feature = "std")]
    #[test]
    fn since_counts_milliseconds_from_the_epoch() {
        let epoch = std::time::Instant::now() - Duration::from_millis(1500);
        let now = Instant::since(epoch);
        assert!(now >= Instant::from_millis(1500), "{now}");
        assert!(now < Instant::from_secs(60), "{now}");
        assert!(Instant::since(std::time::Instant::now()) < Instant::from_secs(60));
    }
}
