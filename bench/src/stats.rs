//! Latency percentiles and medians.

use std::time::Duration;

/// All latencies of a run, in microseconds (exact percentiles, no estimation).
#[derive(Debug, Default, Clone)]
pub struct Latencies(Vec<u32>);

/// p50/p90/p99/max of a run.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latencies {
    pub fn extend(&mut self, micros: &[u32]) {
        self.0.extend_from_slice(micros);
    }

    pub fn summary(mut self) -> Summary {
        if self.0.is_empty() {
            return Summary::default();
        }
        self.0.sort_unstable();
        let at = |q: f64| {
            let i = ((self.0.len() as f64 * q).ceil() as usize).clamp(1, self.0.len()) - 1;
            Duration::from_micros(self.0[i] as u64)
        };
        Summary { count: self.0.len(), p50: at(0.50), p90: at(0.90), p99: at(0.99), max: at(1.0) }
    }
}

/// Median of the finite values (mean of the two middle ones for an even count); NaN when none.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_exact_ranks() {
        let mut l = Latencies::default();
        l.extend(&(1..=100).collect::<Vec<u32>>());
        let s = l.summary();
        assert_eq!(s.p50, Duration::from_micros(50));
        assert_eq!(s.p99, Duration::from_micros(99));
        assert_eq!(s.max, Duration::from_micros(100));
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median([3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median([4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median([]).is_nan());
    }
}
