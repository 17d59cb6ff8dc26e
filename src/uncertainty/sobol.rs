//! Variance-based (Sobol) sensitivity indices from a Saltelli design, with Jansen's
//! estimators and bootstrap intervals, accumulated one sample at a time.
//!
//! Sample i gives three kinds of model values per outcome: f(A_i) and f(B_i), at two
//! independent draws of all inputs, and f(AB_i^j) for each input j, at A_i with input j taken
//! from B_i. With V the variance of f over the A and B draws (Saltelli et al. 2010, table 2):
//!
//! - first order:  S_j  = 1 - mean[(f(B) - f(AB^j))^2] / (2V)   (Jansen 1999)
//! - total:        ST_j = mean[(f(A) - f(AB^j))^2] / (2V)       (Jansen 1999)
//!
//! Every estimate is a ratio of sample means, so it is computed from running sums and memory
//! does not grow with the number of samples. The bootstrap is the Poisson bootstrap: replicate
//! r counts sample i `w_ri ~ Poisson(1)` times (the limit of a multinomial resample, and
//! streamable), with `w_ri` drawn from a stream of its own keyed by the seed and i, so the
//! intervals are deterministic and independent of threads.

use super::stream;
use rand::RngCore;

/// Bootstrap replicates behind each interval.
pub const REPLICATES: usize = 500;
/// The intervals are central 95% percentile intervals of the replicates.
const LEVEL: f64 = 0.95;
/// An outcome whose standard deviation across the design is below this fraction of its mean
/// does not depend on the inputs: its differences are the solver's rounding (about 1e-15
/// relative), and a ratio of rounding errors is no index. Its indices are 0.
pub const UNMOVED: f64 = 1e-9;

/// Sums 0..5 per (replicate, outcome): weight, f(A), f(A)^2, f(B), f(B)^2; then the first
/// order sums of each input, then the total sums.
const FIXED: usize = 5;

/// The indices of one input on one outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Indices {
    pub first: f64,
    pub first_interval: (f64, f64),
    pub total: f64,
    pub total_interval: (f64, f64),
}

/// Running sums of the Saltelli design for every outcome, for the estimate itself (replicate
/// 0, every sample counted once) and for each bootstrap replicate.
pub struct Sobol {
    inputs: usize,
    outcomes: usize,
    seed: u64,
    /// Values are shifted by the first sample's f(A) before squaring, so that the variance is
    /// not a small difference of large sums.
    shift: Option<Vec<f64>>,
    sums: Vec<f64>,
}

/// A Poisson(1) count from a uniform number, by inversion of its distribution function.
fn poisson_1(u: f64) -> f64 {
    let mut k = 0.0;
    let mut term = (-1.0f64).exp();
    let mut cdf = term;
    // P(K > 20) is below 1e-19, under the resolution of u.
    while u > cdf && k < 20.0 {
        k += 1.0;
        term /= k;
        cdf += term;
    }
    k
}

impl Sobol {
    pub fn new(inputs: usize, outcomes: usize, seed: u64) -> Sobol {
        let width = FIXED + 2 * inputs;
        Sobol {
            inputs,
            outcomes,
            seed,
            shift: None,
            sums: vec![0.0; (REPLICATES + 1) * outcomes * width],
        }
    }

    fn width(&self) -> usize {
        FIXED + 2 * self.inputs
    }

    /// Adds sample `index`: per outcome, f(A), f(B), and f(AB^j) for each input j
    /// (`ab[j][o]`). Samples must be added in index order for bit-identical sums.
    pub fn add(&mut self, index: u64, a: &[f64], b: &[f64], ab: &[Vec<f64>]) {
        let shift = self.shift.get_or_insert_with(|| a.to_vec()).clone();
        let mut rng = stream::rng(stream::BOOTSTRAP, self.seed, index);
        let width = self.width();
        for r in 0..=REPLICATES {
            let w = if r == 0 {
                1.0
            } else {
                poisson_1(super::uniform(rng.next_u64()))
            };
            if w == 0.0 {
                continue;
            }
            for o in 0..self.outcomes {
                let base = (r * self.outcomes + o) * width;
                let sums = &mut self.sums[base..base + width];
                let (fa, fb) = (a[o] - shift[o], b[o] - shift[o]);
                sums[0] += w;
                sums[1] += w * fa;
                sums[2] += w * fa * fa;
                sums[3] += w * fb;
                sums[4] += w * fb * fb;
                for (j, values) in ab.iter().enumerate() {
                    let fab = values[o] - shift[o];
                    sums[FIXED + j] += w * (fb - fab) * (fb - fab);
                    sums[FIXED + self.inputs + j] += w * (fa - fab) * (fa - fab);
                }
            }
        }
    }

    /// The first-order and total indices of input j on outcome o from replicate r's sums, or
    /// `None` when that replicate has no variance to share out.
    fn estimate(&self, r: usize, o: usize, j: usize) -> Option<(f64, f64)> {
        let width = self.width();
        let base = (r * self.outcomes + o) * width;
        let s = &self.sums[base..base + width];
        let n = s[0];
        let mean = (s[1] + s[3]) / (2.0 * n);
        let variance = (s[2] + s[4]) / (2.0 * n) - mean * mean;
        if !(n > 0.0 && variance > 0.0) {
            return None;
        }
        let first = 1.0 - s[FIXED + j] / (2.0 * n) / variance;
        let total = s[FIXED + self.inputs + j] / (2.0 * n) / variance;
        Some((first, total))
    }

    /// Whether outcome o moves with the inputs at all (see [`UNMOVED`]).
    fn moves(&self, o: usize) -> bool {
        let width = self.width();
        let s = &self.sums[o * width..(o + 1) * width];
        let n = s[0];
        let mean = (s[1] + s[3]) / (2.0 * n);
        let variance = (s[2] + s[4]) / (2.0 * n) - mean * mean;
        let level = (mean + self.shift.as_ref().map_or(0.0, |s| s[o])).abs();
        n > 0.0 && variance > 0.0 && variance.sqrt() > UNMOVED * level
    }

    /// The indices of input j on outcome o, with bootstrap intervals.
    pub fn indices(&self, o: usize, j: usize) -> Indices {
        let estimate = if self.moves(o) {
            self.estimate(0, o, j)
        } else {
            None
        };
        let Some((first, total)) = estimate else {
            return Indices {
                first: 0.0,
                first_interval: (0.0, 0.0),
                total: 0.0,
                total_interval: (0.0, 0.0),
            };
        };
        let (mut firsts, mut totals) = (Vec::new(), Vec::new());
        for r in 1..=REPLICATES {
            if let Some((f, t)) = self.estimate(r, o, j) {
                firsts.push(f);
                totals.push(t);
            }
        }
        let interval = |values: &mut Vec<f64>| {
            values.sort_by(f64::total_cmp);
            let tail = (1.0 - LEVEL) / 2.0;
            (
                super::quantile(values, tail),
                super::quantile(values, 1.0 - tail),
            )
        };
        Indices {
            first,
            first_interval: interval(&mut firsts),
            total,
            total_interval: interval(&mut totals),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_counts_have_mean_and_variance_1() {
        let n = 200_000;
        let draws: Vec<f64> = (0..n)
            .map(|i| poisson_1((i as f64 + 0.5) / n as f64))
            .collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let variance = draws.iter().map(|k| (k - mean) * (k - mean)).sum::<f64>() / n as f64;
        // A stratified grid of u: exact up to the grid's resolution.
        assert!((mean - 1.0).abs() < 1e-4, "{mean}");
        assert!((variance - 1.0).abs() < 1e-3, "{variance}");
    }
}
