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
