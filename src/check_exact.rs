//! Monte Carlo against exact: the difference of every outcome and event probability, in
//! standard errors, with a threshold adjusted for the number of comparisons.

use crate::report::{Line, Report};

/// The per-comparison threshold before adjustment, in standard errors.
pub const BASE_SIGMAS: f64 = 5.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// "outcome", "event", or for an event that can end "starts" (its expected number) or
    /// "in effect" (at the horizon).
    pub kind: &'static str,
    pub id: String,
    pub estimate: f64,
    pub exact: f64,
    /// The standard error of the estimate, computed from the exact probability.
    pub standard_error: f64,
    /// How far the estimate is from the exact value, in standard errors: |estimate - exact| /
    /// standard error where the normal approximation holds, else the normal deviate with the
    /// same two-sided tail probability as the exact (Poisson) tail of the count.
    pub sigmas: f64,
    pub agrees: bool,
}

/// The two-sided tail probability of a standard normal beyond `z`.
fn two_sided_tail(z: f64) -> f64 {
    libm::erfc(z / std::f64::consts::SQRT_2)
}

/// The normal deviate whose two-sided tail probability is `tail`.
fn deviate(tail: f64) -> f64 {
    let (mut low, mut high) = (0.0, 40.0);
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if two_sided_tail(mid) > tail {
            low = mid;
        } else {
            high = mid;
        }
    }
    high
}

/// Fewer expected paths than this on either side, and a count is judged by its Poisson tail:
/// the normal approximation would call one hit of a one-in-a-million event a 10-sigma miss.
const NORMAL_ENOUGH: f64 = 30.0;

/// Two-sided tail probability of seeing `k` or something as extreme under Poisson(`lambda`).
fn poisson_two_sided(k: u64, lambda: f64) -> f64 {
    let mut term = (-lambda).exp();
    let mut at_most_k = 0.0;
    let mut below_k = 0.0;
    for i in 0..=k {
        below_k = at_most_k;
        at_most_k += term;
        term *= lambda / (i + 1) as f64;
        if term == 0.0 && i as f64 > lambda {
            break;
        }
    }
    let upper = (1.0 - below_k).max(0.0);
    (2.0 * at_most_k.min(upper)).min(1.0)
}

/// Distance in standard errors between `k` of `n` paths and the exact probability `p`.
fn sigmas(k: u64, n: u64, p: f64) -> f64 {
    let estimate = k as f64 / n as f64;
    if estimate == p {
        return 0.0;
    }
    let expected = n as f64 * p;
    let expected_misses = n as f64 * (1.0 - p);
    if expected >= NORMAL_ENOUGH && expected_misses >= NORMAL_ENOUGH {
        (estimate - p).abs() / crate::stats::standard_error(p, n)
    } else if expected < NORMAL_ENOUGH {
        deviate(poisson_two_sided(k, expected))
    } else {
        deviate(poisson_two_sided(n - k, expected_misses))
    }
}

/// The threshold in standard errors for `m` comparisons: the family of `m` tests has the same
/// false-alarm rate as one test at `BASE_SIGMAS` (Bonferroni).
pub fn threshold(m: usize) -> f64 {
    deviate(two_sided_tail(BASE_SIGMAS) / m.max(1) as f64)
}

fn compare_lines(kind: &'static str, mc: &[Line], exact: &[Line], paths: u64) -> Vec<Comparison> {
    mc.iter()
        .zip(exact)
        .map(|(m, x)| {
            let p = x.estimate.probability.unwrap_or(0.0);
            let k = m.estimate.count.unwrap_or(0);
            Comparison {
                kind,
                id: m.id.clone(),
                estimate: k as f64 / paths as f64,
                exact: p,
                standard_error: crate::stats::standard_error(p, paths),
                sigmas: sigmas(k, paths, p),
                agrees: true,
            }
        })
        .collect()
}

/// For each event that can end: its expected number of starts (standard error from the paths'
/// own spread) and the probability that it is in effect at the horizon.
fn compare_activity(mc: &[Line], exact: &[Line], paths: u64) -> Vec<Comparison> {
    let mut comparisons = Vec::new();
    for (m, x) in mc.iter().zip(exact) {
        let (Some(ma), Some(xa)) = (&m.activity, &x.activity) else {
            continue;
        };
        let standard_error = ma.starts_interval.map_or(0.0, |(low, high)| {
            (high - low) / (2.0 * 1.959_963_984_540_054)
        });
        let difference = (ma.expected_starts - xa.expected_starts).abs();
        comparisons.push(Comparison {
            kind: "starts",
            id: m.id.clone(),
            estimate: ma.expected_starts,
            exact: xa.expected_starts,
            standard_error,
            sigmas: if difference == 0.0 {
                0.0
            } else {
                difference / standard_error
            },
            agrees: true,
        });
        let last = |v: &[f64]| v.last().copied().unwrap_or(0.0);
        let (estimate, p) = (last(&ma.in_effect), last(&xa.in_effect));
        // A proportion of the paths: a count, judged as the other counts are.
        let k = (estimate * paths as f64).round() as u64;
        comparisons.push(Comparison {
            kind: "in effect",
            id: m.id.clone(),
            estimate,
            exact: p,
            standard_error: crate::stats::standard_error(p, paths),
            sigmas: sigmas(k, paths, p),
            agrees: true,
        });
    }
    comparisons
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
    comparisons.extend(compare_activity(&monte_carlo.events, &exact.events, paths));
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

    #[test]
    fn rare_counts_are_judged_by_their_poisson_tail() {
        // One hit of a one-in-ten-million event in 100,000 paths is unremarkable...
        assert!(sigmas(1, 100_000, 1e-7) < 3.0);
        // ...five hits are not (Poisson tail about 2e-14)...
        assert!(sigmas(5, 100_000, 1e-7) > 7.0);
        // ...and none at all is just what is expected.
        assert!(sigmas(0, 100_000, 1e-7) < 0.1);
        // A probability of exactly 0 or 1 must be matched exactly.
        assert!(sigmas(1, 100_000, 0.0) > 30.0);
        assert!(sigmas(99_999, 100_000, 1.0) > 30.0);
        // Large counts use the normal approximation: 3 standard errors.
        let (n, p) = (1_000_000u64, 0.3);
        let k = (n as f64 * p + 3.0 * (n as f64 * p * (1.0 - p)).sqrt()).round() as u64;
        assert!((sigmas(k, n, p) - 3.0).abs() < 0.01);
    }
}
