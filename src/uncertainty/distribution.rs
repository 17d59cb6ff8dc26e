//! The distributions an uncertain `p` or `factor` may be given, as quantile functions: a
//! sample is drawn by feeding a uniform number to [`Distribution::quantile`], so that one
//! uniform per input and sample is all the randomness there is.

use crate::parameters::Kind;
use statrs::distribution::{ContinuousCDF, Normal};
use std::fmt;

/// The 95th percentile of the standard normal: a 90% interval is mean +/- this many sigma.
const Z95: f64 = 1.644_853_626_951_472_2;

/// A sample's uniform numbers are (k + 1/2) / 2^52 for a 52-bit draw k: strictly inside (0, 1)
/// and exactly representable (with 53 bits, 1 - 2^-54 would round to 1, where a normal
/// quantile is infinite). Every value a distribution can draw lies between its quantiles at
/// the smallest and largest of them, which is how validation checks that no draw can leave
/// the valid range.
pub const U_MIN: f64 = 0.5 / (1u64 << 52) as f64;
pub const U_MAX: f64 = 1.0 - U_MIN;

/// The uniform number of a 64-bit random word (see [`U_MIN`]).
pub fn uniform(word: u64) -> f64 {
    ((word >> 12) as f64 + 0.5) * U_MIN * 2.0
}

/// An uncertain value as written in a scenario file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// `{ low = a, high = b }`: a 90% interval.
    Interval { low: f64, high: f64 },
    /// `{ beta = [a, b] }`.
    Beta { a: f64, b: f64 },
    /// `{ lognormal = [median, sigma] }`.
    LogNormal { median: f64, sigma: f64 },
    /// `{ uniform = [a, b] }`.
    Uniform { a: f64, b: f64 },
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Shape::Interval { low, high } => write!(f, "{{ low = {low}, high = {high} }}"),
            Shape::Beta { a, b } => write!(f, "{{ beta = [{a}, {b}] }}"),
            Shape::LogNormal { median, sigma } => {
                write!(f, "{{ lognormal = [{median}, {sigma}] }}")
            }
            Shape::Uniform { a, b } => write!(f, "{{ uniform = [{a}, {b}] }}"),
        }
    }
}

/// A checked distribution of one input.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// logistic(N(mu, sigma)): a probability whose log-odds are normal.
    LogitNormal {
        mu: f64,
        sigma: f64,
    },
    /// exp(N(mu, sigma)): a factor whose logarithm is normal.
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    Beta {
        a: f64,
        b: f64,
    },
    Uniform {
        a: f64,
        b: f64,
    },
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The standard normal quantile.
fn probit(u: f64) -> f64 {
    // The standard normal is a valid distribution; `new` fails only for a bad sd.
    Normal::new(0.0, 1.0).map_or(f64::NAN, |n| n.inverse_cdf(u))
}

fn finite(values: &[f64]) -> bool {
    values.iter().all(|v| v.is_finite())
}

impl Distribution {
    /// The distribution `shape` describes for a parameter of `kind`, or why it cannot be one.
    ///
    /// A 90% interval is a logit-normal for a probability and a log-normal for a factor: both
    /// keep every draw inside the valid range (a normal would not), both are symmetric on the
    /// scale the model works in (a modifier multiplies the odds, so odds and factors combine
    /// multiplicatively), and both have the interval's ends as their 5th and 95th percentiles
    /// and the geometric middle of the ends (on that scale) as their median.
    pub fn new(kind: Kind, shape: Shape) -> Result<Distribution, String> {
        let probability = kind == Kind::Probability;
        let distribution = match shape {
            Shape::Interval { low, high } => {
                if !(finite(&[low, high]) && low < high) {
                    return Err(format!("{shape}: low must be below high"));
                }
                if probability && !(low > 0.0 && high < 1.0) {
                    return Err(format!(
                        "{shape}: the interval of a probability must lie strictly inside (0, 1) \
                         (a logit-normal cannot reach 0 or 1)"
                    ));
                }
                if !probability && low <= 0.0 {
                    return Err(format!("{shape}: a factor must stay above 0"));
                }
                let scale = if probability { logit } else { f64::ln };
                let (l, h) = (scale(low), scale(high));
                let mu = (l + h) / 2.0;
                let sigma = (h - l) / (2.0 * Z95);
                if probability {
                    Distribution::LogitNormal { mu, sigma }
                } else {
                    Distribution::LogNormal { mu, sigma }
                }
            }
            Shape::Beta { a, b } => {
                if !probability {
                    return Err(format!(
                        "{shape}: a beta distribution describes a probability; give a factor as \
                         {{ low, high }}, lognormal or uniform"
                    ));
                }
                if !(finite(&[a, b]) && a > 0.0 && b > 0.0) {
                    return Err(format!("{shape}: both shape parameters must be above 0"));
                }
                Distribution::Beta { a, b }
            }
            Shape::LogNormal { median, sigma } => {
                if probability {
                    return Err(format!(
                        "{shape}: a log-normal can exceed 1, so it cannot describe a \
                         probability; use {{ low, high }} (logit-normal), beta or uniform"
                    ));
                }
                if !(finite(&[median, sigma]) && median > 0.0 && sigma > 0.0) {
                    return Err(format!(
                        "{shape}: the median must be above 0 and sigma above 0"
                    ));
                }
                Distribution::LogNormal {
                    mu: median.ln(),
                    sigma,
                }
            }
            Shape::Uniform { a, b } => {
                if !(finite(&[a, b]) && a < b) {
                    return Err(format!("{shape}: the first bound must be below the second"));
                }
                if probability && !(a >= 0.0 && b <= 1.0) {
                    return Err(format!(
                        "{shape}: a probability distribution must stay inside [0, 1]"
                    ));
                }
                if !probability && a <= 0.0 {
                    return Err(format!("{shape}: a factor must stay above 0"));
                }
                Distribution::Uniform { a, b }
            }
        };
        // Every value it can draw must be valid (a huge sigma could overflow a factor).
        for u in [U_MIN, U_MAX] {
            let x = distribution.quantile(u);
            if !kind.accepts(x) {
                return Err(format!(
                    "{shape}: it can draw {x}, and a {kind} must lie in {}",
                    kind.range()
                ));
            }
        }
        Ok(distribution)
    }

    /// The value at cumulative probability `u` in (0, 1).
    pub fn quantile(&self, u: f64) -> f64 {
        match *self {
            Distribution::LogitNormal { mu, sigma } => logistic(mu + sigma * probit(u)),
            Distribution::LogNormal { mu, sigma } => (mu + sigma * probit(u)).exp(),
            Distribution::Beta { a, b } => {
                statrs::distribution::Beta::new(a, b).map_or(f64::NAN, |beta| beta.inverse_cdf(u))
            }
            Distribution::Uniform { a, b } => a + u * (b - a),
        }
    }

    /// The median: the value a scenario's plain runs use for this input.
    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    /// The 5th and 95th percentiles.
    pub fn interval(&self) -> (f64, f64) {
        (self.quantile(0.05), self.quantile(0.95))
    }

    /// "logit-normal (mu -4.0, sigma 0.5)", for `pathcast check`.
    pub fn describe(&self) -> String {
        match *self {
            Distribution::LogitNormal { mu, sigma } => {
                format!("logit-normal (log-odds mean {mu:.3}, sd {sigma:.3})")
            }
            Distribution::LogNormal { mu, sigma } => {
                format!("log-normal (log mean {mu:.3}, sd {sigma:.3})")
            }
            Distribution::Beta { a, b } => format!("beta ({a}, {b})"),
            Distribution::Uniform { a, b } => format!("uniform ({a}, {b})"),
        }
    }
}

/// An uncertain input of a scenario: the parameter (by its `--set` key) and its distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct Uncertain {
    pub key: String,
    pub distribution: Distribution,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_has_its_ends_as_5th_and_95th_percentiles() {
        for (kind, low, high) in [(Kind::Probability, 0.004, 0.02), (Kind::Factor, 1.5, 6.0)] {
            let d = Distribution::new(kind, Shape::Interval { low, high }).unwrap();
            let (p5, p95) = d.interval();
            assert!(
                (p5 - low).abs() < 1e-12 * high,
                "{kind}: {p5} against {low}"
            );
            assert!(
                (p95 - high).abs() < 1e-12 * high,
                "{kind}: {p95} against {high}"
            );
        }
        // The median of a factor's interval is the geometric middle of its ends.
        let d = Distribution::new(
            Kind::Factor,
            Shape::Interval {
                low: 1.0,
                high: 4.0,
            },
        )
        .unwrap();
        assert!((d.median() - 2.0).abs() < 1e-12);
    }

    #[test]
    fn uniforms_stay_strictly_inside_0_1() {
        assert_eq!(uniform(0), U_MIN);
        assert_eq!(uniform(u64::MAX), U_MAX);
        const { assert!(U_MAX < 1.0 && U_MIN > 0.0) };
    }

    #[test]
    fn beta_and_uniform_quantiles_match_closed_forms() {
        // Beta(1, b) has the CDF 1 - (1 - x)^b, so its quantile is 1 - (1 - u)^(1/b).
        let d = Distribution::new(Kind::Probability, Shape::Beta { a: 1.0, b: 3.0 }).unwrap();
        for u in [0.05f64, 0.5, 0.95] {
            let closed = 1.0 - (1.0 - u).powf(1.0 / 3.0);
            assert!((d.quantile(u) - closed).abs() < 1e-9, "u = {u}");
        }
        let d = Distribution::new(Kind::Probability, Shape::Uniform { a: 0.2, b: 0.6 }).unwrap();
        assert!((d.median() - 0.4).abs() < 1e-15);
    }

    #[test]
    fn shapes_that_leave_the_valid_range_are_refused() {
        let refused = [
            (
                Kind::Probability,
                Shape::Interval {
                    low: 0.0,
                    high: 0.1,
                },
            ),
            (
                Kind::Probability,
                Shape::Interval {
                    low: 0.2,
                    high: 0.1,
                },
            ),
            (Kind::Probability, Shape::Uniform { a: 0.5, b: 1.5 }),
            (
                Kind::Probability,
                Shape::LogNormal {
                    median: 0.1,
                    sigma: 0.1,
                },
            ),
            (Kind::Probability, Shape::Beta { a: 0.0, b: 2.0 }),
            (Kind::Factor, Shape::Beta { a: 2.0, b: 2.0 }),
            (Kind::Factor, Shape::Uniform { a: 0.0, b: 2.0 }),
            (
                Kind::Factor,
                Shape::LogNormal {
                    median: 1.0,
                    sigma: 200.0,
                },
            ),
            (
                Kind::Factor,
                Shape::Interval {
                    low: f64::NAN,
                    high: 2.0,
                },
            ),
        ];
        for (kind, shape) in refused {
            assert!(
                Distribution::new(kind, shape).is_err(),
                "{kind} {shape} was accepted"
            );
        }
    }
}
