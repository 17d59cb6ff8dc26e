//! Small statistics: intervals for proportions and summaries of a distribution over steps.

/// The 0.975 quantile of the standard normal distribution.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The 95% Wilson score interval for `k` successes in `n` trials.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// Counts of one yes/no item over the same paths in two runs: a reference and a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairedCounts {
    pub both: u64,
    pub reference_only: u64,
    pub variant_only: u64,
    pub paths: u64,
}

impl PairedCounts {
    /// The estimated difference P(variant) - P(reference).
    pub fn difference(&self) -> f64 {
        (self.variant_only as f64 - self.reference_only as f64) / self.paths as f64
    }

    /// The 95% interval of the difference P(variant) - P(reference), from the pairs: Newcombe's
    /// (1998) method 10, which combines the Wilson intervals of the two proportions with the
    /// correlation of the pairs. Unlike the Wald interval it stays sensible when the
    /// discordant counts are small or zero, and it is never wider than ignoring the pairing
    /// when the runs are positively correlated, as common random numbers make them.
    pub fn interval(&self) -> (f64, f64) {
        let n = self.paths;
        if n == 0 {
            return (-1.0, 1.0);
        }
        let (a, b, c) = (
            self.both as f64,
            self.variant_only as f64,
            self.reference_only as f64,
        );
        let d = n as f64 - a - b - c;
        let variant_yes = self.both + self.variant_only;
        let reference_yes = self.both + self.reference_only;
        let (p1, p2) = (
            variant_yes as f64 / n as f64,
            reference_yes as f64 / n as f64,
        );
        let (l1, u1) = wilson(variant_yes, n);
        let (l2, u2) = wilson(reference_yes, n);
        let margins = (a + b) * (c + d) * (a + c) * (b + d);
        let phi = if margins > 0.0 {
            (a * d - b * c) / margins.sqrt()
        } else {
            0.0
        };
        let theta = p1 - p2;
        let below = (p1 - l1).powi(2) - 2.0 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2).powi(2);
        let above = (u1 - p1).powi(2) - 2.0 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2).powi(2);
        (
            (theta - below.max(0.0).sqrt()).max(-1.0),
            (theta + above.max(0.0).sqrt()).min(1.0),
        )
    }

    /// How many times smaller the variance of the paired difference is than that of the
    /// difference of two independent runs of the same size (`None` when both are zero).
    pub fn variance_ratio(&self) -> Option<f64> {
        let n = self.paths as f64;
        let p1 = (self.both + self.variant_only) as f64 / n;
        let p2 = (self.both + self.reference_only) as f64 / n;
        let independent = p1 * (1.0 - p1) + p2 * (1.0 - p2);
        let discordant = (self.variant_only + self.reference_only) as f64 / n;
        let paired = discordant - (p1 - p2).powi(2);
        (paired > 0.0).then(|| independent / paired)
    }
}

/// The standard error of a proportion `p` estimated from `n` paths.
pub fn standard_error(p: f64, n: u64) -> f64 {
    (p * (1.0 - p) / n as f64).sqrt()
}

/// A distribution over steps, as non-negative masses indexed by step (index 0 unused).
pub struct StepMass<'a>(pub &'a [f64]);

impl StepMass<'_> {
    pub fn total(&self) -> f64 {
        self.0.iter().sum()
    }

    /// The mean step, or `None` when the mass is zero.
    pub fn mean(&self) -> Option<f64> {
        let total = self.total();
        (total > 0.0).then(|| {
            self.0
                .iter()
                .enumerate()
                .map(|(t, m)| t as f64 * m)
                .sum::<f64>()
                / total
        })
    }

    /// The smallest step by which at least a fraction `q` of the mass has arrived.
    pub fn quantile(&self, q: f64) -> Option<u32> {
        let total = self.total();
        if total <= 0.0 {
            return None;
        }
        let mut cumulative = 0.0;
        for (t, m) in self.0.iter().enumerate() {
            cumulative += m;
            // Relative slack, so that exact probabilities that sum to q in theory count.
            if *m > 0.0 && cumulative >= q * total * (1.0 - 1e-12) {
                return Some(t as u32);
            }
        }
        self.0.iter().rposition(|m| *m > 0.0).map(|t| t as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_a_textbook_value() {
        // 10 of 100: Wilson 95% interval is (0.0552, 0.1744) to four places.
        let (low, high) = wilson(10, 100);
        assert!((low - 0.05522).abs() < 5e-5, "{low}");
        assert!((high - 0.17437).abs() < 5e-5, "{high}");
        let (low, high) = wilson(0, 50);
        assert!(low.abs() < 1e-15, "{low}");
        assert!((high - 0.07135).abs() < 5e-5, "{high}");
    }

    #[test]
    fn paired_interval_without_correlation_is_the_square_and_add_wilson_interval() {
        // 20 x 20 table with phi = 0: a = 25, b = 25, c = 25, d = 25 gives p1 = p2 = 0.5.
        let counts = PairedCounts {
            both: 25,
            variant_only: 25,
            reference_only: 25,
            paths: 100,
        };
        let (l, u) = wilson(50, 100);
        let half = ((0.5 - l).powi(2) + (u - 0.5).powi(2)).sqrt();
        let (low, high) = counts.interval();
        assert!((low + half).abs() < 1e-12 && (high - half).abs() < 1e-12);
        assert_eq!(counts.difference(), 0.0);
    }

    #[test]
    fn paired_interval_shrinks_with_correlation_and_holds_the_estimate() {
        // Same margins (p1 = 0.55, p2 = 0.45), few discordant pairs: strongly correlated.
        let paired = PairedCounts {
            both: 440,
            variant_only: 110,
            reference_only: 10,
            paths: 1000,
        };
        let (low, high) = paired.interval();
        assert!(low < 0.1 && 0.1 < high, "({low}, {high})");
        let independent = (wilson(550, 1000), wilson(450, 1000));
        let unpaired_width =
            2.0 * ((0.55 - independent.0 .0).powi(2) + (independent.1 .1 - 0.45).powi(2)).sqrt();
        assert!(high - low < unpaired_width);
        assert!(paired.variance_ratio().unwrap() > 1.0);
        // No discordant pair at all: the interval is small but not a point.
        let same = PairedCounts {
            both: 300,
            variant_only: 0,
            reference_only: 0,
            paths: 1000,
        };
        let (low, high) = same.interval();
        assert!(
            low < 0.0 && high > 0.0 && high - low < 0.01,
            "({low}, {high})"
        );
    }

    #[test]
    fn quantiles_of_a_step_distribution() {
        let mass = [0.0, 1.0, 1.0, 2.0, 0.0, 4.0];
        let d = StepMass(&mass);
        assert_eq!(d.quantile(0.1), Some(1));
        assert_eq!(d.quantile(0.25), Some(2));
        assert_eq!(d.quantile(0.5), Some(3));
        assert_eq!(d.quantile(0.9), Some(5));
        assert!((d.mean().unwrap() - (1.0 + 2.0 + 6.0 + 20.0) / 8.0).abs() < 1e-12);
        assert_eq!(StepMass(&[0.0, 0.0]).quantile(0.5), None);
    }
}
