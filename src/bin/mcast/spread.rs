//! A running minimum, maximum, mean and standard deviation: `recv`'s delay and `ping`'s
//! round-trip times.

/// Samples summed up as they come (Welford's method): no sample is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spread {
    n: u64,
    min: f64,
    max: f64,
    mean: f64,
    m2: f64,
}

impl Spread {
    /// Adds one sample.
    pub fn add(&mut self, x: f64) {
        self.n += 1;
        if self.n == 1 {
            (self.min, self.max) = (x, x);
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// How many samples.
    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.n
    }

    /// (min, mean, max, standard deviation of the samples), if there is one.
    pub fn get(&self) -> Option<(f64, f64, f64, f64)> {
        (self.n > 0).then(|| (self.min, self.mean, self.max, (self.m2 / self.n as f64).sqrt()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spread_of_known_samples() {
        let mut s = Spread::default();
        assert_eq!((s.count(), s.get()), (0, None));
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            s.add(x);
        }
        assert_eq!((s.count(), s.get()), (8, Some((2.0, 5.0, 9.0, 2.0))));
    }
}
