//! Repeating a timed loop and summarising the samples.
//!
//! Every figure is the median of `repeats` samples (robust to the odd descheduled sample on a
//! shared machine); the minimum and maximum are kept beside it so a reader sees the spread. When
//! two configurations are compared (checkpointing off and on), their samples are interleaved so
//! that a slow spell of the machine hits both alike.

use serde::{Deserialize, Serialize};

/// The summary of repeated samples of one quantity.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// The median sample.
    pub median: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
    /// How many samples.
    pub samples: usize,
}

impl Spread {
    /// The summary of `values` (at least one).
    pub fn of(values: &[f64]) -> Spread {
        assert!(!values.is_empty(), "a spread needs at least one sample");
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
        Spread { median, min: sorted[0], max: sorted[n - 1], samples: n }
    }

    /// A single exact value (a count, a deterministic virtual time).
    pub fn exact(value: f64) -> Spread {
        Spread { median: value, min: value, max: value, samples: 1 }
    }

    /// The same spread of a rate from a spread of times per operation (ns/op -> ops/s); the
    /// minimum time becomes the maximum rate.
    pub fn to_rate(self) -> Spread {
        Spread {
            median: per_second(self.median),
            min: per_second(self.max),
            max: per_second(self.min),
            samples: self.samples,
        }
    }
}

/// Operations per second from nanoseconds per operation.
pub fn per_second(ns_per_op: f64) -> f64 {
    if ns_per_op > 0.0 { 1e9 / ns_per_op } else { f64::INFINITY }
}

/// Runs `sample` `repeats` times (each returns one sample) and summarises.
pub fn repeat(repeats: usize, mut sample: impl FnMut() -> f64) -> Spread {
    let values: Vec<f64> = (0..repeats.max(1)).map(|_| sample()).collect();
    Spread::of(&values)
}

/// Samples two configurations alternately (`a`, `b`, `a`, `b`...), `repeats` each.
pub fn try_repeat_pair<E>(
    repeats: usize,
    mut a: impl FnMut() -> Result<f64, E>,
    mut b: impl FnMut() -> Result<f64, E>,
) -> Result<(Spread, Spread), E> {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for i in 0..repeats.max(1) {
        // Alternate which goes first too, so neither always runs on a warmer machine.
        if i % 2 == 0 {
            xs.push(a()?);
            ys.push(b()?);
        } else {
            ys.push(b()?);
            xs.push(a()?);
        }
    }
    Ok((Spread::of(&xs), Spread::of(&ys)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(Spread::of(&[3.0, 1.0, 2.0]).median, 2.0);
        assert_eq!(Spread::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
        let s = Spread::of(&[5.0, 1.0, 9.0]);
        assert_eq!((s.min, s.max, s.samples), (1.0, 9.0, 3));
    }

    #[test]
    fn a_rate_swaps_the_extremes() {
        let rate = Spread::of(&[1000.0, 2000.0, 4000.0]).to_rate();
        assert_eq!(rate.median, 500_000.0);
        assert_eq!(rate.min, 250_000.0);
        assert_eq!(rate.max, 1_000_000.0);
    }
}
