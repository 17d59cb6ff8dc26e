//! Monte Carlo against exact: the difference of every outcome and event probability, in
//! standard errors, with a threshold adjusted for the number of comparisons.

use crate::report::{Line, Report};

/// The per-comparison threshold before adjustment, in standard errors.
pub const BASE_SIGMAS: f64 = 5.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// "outcome" or "event".
    pub kind: &'static str,
    pub id: String,
    pub estimate: f64,
    pub exact: f64,
    /// The standard error of the estimate, computed from the exact probability.
    pub standard_error: f64,
    /// |estimate - exact| / standard error (0 when both are equal).
    pub sigmas: f64,
    pub agrees: bool,
}

/// The two-sided tail probability of a standard normal beyond `z`.
fn two_sided_tail(z: f64) -> f64 {
    libm::erfc(z / std::f64::consts::SQRT_2)
}

/// The threshold in standard errors for `m` comparisons: the family of `m` tests has the same
/// false-alarm rate as one test at `BASE_SIGMAS` (Bonferroni).
pub fn threshold(m: usize) -> f64 {
    let target = two_sided_tail(BASE_SIGMAS) / m.max(1) as f64;
    let (mut low, mut high) = (0.0, 40.0);
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if two_sided_tail(mid) > target {
            low = mid;
        } else {
            high = mid;
        }
    }
    high
}

fn compare_lines(kind: &'static str, mc: &[Line], exact: &[Line], paths: u64) -> Vec<Comparison> {
    mc.iter()
        .zip(exact)
        .map(|(m, x)| {
            let estimate = m.estimate.probability.unwrap_or(0.0);
            let p = x.estimate.probability.unwrap_or(0.0);
            let standard_error = crate::stats::standard_error(p, paths);
            let difference = (estimate - p).abs();
            let sigmas = if difference == 0.0 {
                0.0
            } else {
                difference / standard_error
            };
            Comparison {
                kind,
                id: m.id.clone(),
                estimate,
                exact: p,
                standard_error,
                sigmas,
                agrees: true,
            }
        })
        .collect()
}

/// Compares a Monte Carlo report of `paths` paths with the exact report of the same scenario.
pub fn compare(monte_carlo: &Report, exact: &Report, paths: u64) -> (Vec<Comparison>, f64) {
    let mut comparisons = compare_lines("outcome", &monte_carlo.outcomes, &exact.outcomes, paths);
    comparisons.extend(compare_lines(
        "event",
        &monte_carlo.events,
        &exact.events,
        paths,
    ));
    let limit = threshold(comparisons.len());
    for c in &mut comparisons {
        c.agrees = c.sigmas <= limit;
    }
    (comparisons, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_five_sigma_for_one_comparison_and_grows_slowly() {
        assert!((threshold(1) - 5.0).abs() < 1e-9);
        let t20 = threshold(20);
        assert!(t20 > 5.0 && t20 < 6.0, "{t20}");
        assert!(threshold(200) > t20);
    }
}
