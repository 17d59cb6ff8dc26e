//! The number of steps a waiting time covers, `floor(ln(1 - u) / ln P(none))`, without the cost
//! of `libm::log1p` for most draws, and always with its result.
//!
//! The kernel's paths are defined by that quotient computed with `libm::log1p` (see the
//! kernel's notes), which costs about a fifth of a path. A table-driven logarithm gives the
//! quotient to within a bound far smaller than the gap to the nearest whole step for all but a
//! few draws in a million; only then does the rounding matter, and only then is the quotient
//! computed as the definition does. Both ends of the bound giving the same step proves that the
//! definition gives it too, so every path is drawn as before.

use super::ONE;
use std::sync::LazyLock;

/// A bound on |`ln_fraction(n)` - ln(n / 2^53)| (its error is below 2e-14, see `ln_fraction`),
/// which also covers `libm::log1p`'s own error of under one unit in the last place.
const LN_ERROR: f64 = 1e-12;

/// Bits of a mantissa that pick a row of `TABLE`.
const ROW_BITS: u32 = 8;

/// For j in 0..256: 1 / c_j and ln(c_j), with c_j = 1 + j / 256.
static TABLE: LazyLock<[(f64, f64); 1 << ROW_BITS]> = LazyLock::new(|| {
    std::array::from_fn(|j| {
        let c = 1.0 + j as f64 / f64::from(1 << ROW_BITS);
        (1.0 / c, libm::log(c))
    })
});

/// ln(n / 2^53) for 1 <= n <= 2^53, to within 2e-14: n = 2^e f with f in [1, 2) (exact: n has
/// at most 53 bits), f = c_j (1 + r) with c_j from the table and |r| < 2^-8, and ln(1 + r) by
/// its series to the fifth power (the rest is under 2^-48 / 6), summed in two short chains
/// rather than one long one. Rounding adds a few units in the last place of terms at most 37
/// in size.
fn ln_fraction(n: u64) -> f64 {
    let bits = (n as f64).to_bits();
    let exponent = (bits >> 52) as i64 - 1023;
    let mantissa = bits & ((1 << 52) - 1);
    let f = f64::from_bits(mantissa | 1023 << 52);
    let (inverse, ln_c) = TABLE[(mantissa >> (52 - ROW_BITS)) as usize];
    let r = f * inverse - 1.0;
    let r2 = r * r;
    let series = r * ((1.0 - 0.5 * r) + r2 * ((1.0 / 3.0 - 0.25 * r) + r2 * 0.2));
    (exponent - 53) as f64 * std::f64::consts::LN_2 + ln_c + series
}

/// The steps covered by a quotient `steps`, cut at `remaining`.
fn cut(steps: f64, remaining: u32) -> u32 {
    if steps < f64::from(remaining) {
        (steps as u32).max(1)
    } else {
        remaining
    }
}

/// `max(1, floor(ln(1 - u / 2^53) / ln_none))`, or `remaining` if that is not less, for a draw
/// `u` in [0, 2^53) and `ln_none` = ln P(nothing happens at a step): as the definition computes
/// it, with `libm::log1p`.
pub(super) fn steps(u: u64, ln_none: f64, remaining: u32) -> u32 {
    quick_steps(u, ln_none, remaining).unwrap_or_else(|| defined_steps(u, ln_none, remaining))
}

/// The definition.
fn defined_steps(u: u64, ln_none: f64, remaining: u32) -> u32 {
    cut(libm::log1p(-(u as f64 / ONE as f64)) / ln_none, remaining)
}

/// The steps, when the table's logarithm leaves no doubt about them.
fn quick_steps(u: u64, ln_none: f64, remaining: u32) -> Option<u32> {
    if !(ln_none < 0.0 && ln_none.is_finite()) {
        return None;
    }
    // One division, beside the logarithm rather than after it.
    let per_ln = 1.0 / ln_none;
    let steps = ln_fraction(ONE - u) * per_ln;
    // The definition's quotient differs from this one by the two logarithms' errors divided by
    // -ln_none, and by roundings: of its division and of this reciprocal and product (each
    // half a unit in the last place).
    let doubt = -LN_ERROR * per_ln + 1e-15 * steps;
    let (low, high) = (cut(steps - doubt, remaining), cut(steps + doubt, remaining));
    (low == high).then_some(low)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn the_table_logarithm_is_within_its_bound() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x1f);
        let worst = (0..1_000_000)
            .map(|i| match i % 4 {
                // Near 1, near 2^53 (u near 0), and anywhere.
                0 => rng.random_range(1..1 << 12),
                1 => ONE - rng.random_range(0..1 << 20),
                _ => rng.random_range(1..=ONE),
            })
            .map(|n| (ln_fraction(n) - libm::log(n as f64 / ONE as f64)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 2e-14, "{worst}");
    }

    /// The quick steps are the defined ones: on random draws for chances from 1e-12 to 0.999,
    /// and on every draw next to the boundaries between one step count and the next.
    #[test]
    fn quick_steps_are_the_defined_steps() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x57e9);
        let (mut quick, mut random) = (0u64, 0u64);
        for _ in 0..2000 {
            let p = 10f64.powf(rng.random_range(-12.0..-0.0004));
            let ln_none = libm::log1p(-p);
            let remaining = [1, 2, 5, 52, 1000, 10_000][rng.random_range(0..6)];
            let check = |u: u64| {
                let want = defined_steps(u, ln_none, remaining);
                let got = quick_steps(u, ln_none, remaining);
                assert!(
                    got.is_none_or(|got| got == want),
                    "u {u}, p {p}, remaining {remaining}: {got:?}, not {want}"
                );
                got.is_some()
            };
            for _ in 0..500 {
                quick += u64::from(check(rng.random_range(0..ONE)));
                random += 1;
            }
            // The smallest draw that covers k steps, found by bisection on the definition.
            for k in 2..=8.min(remaining) {
                let (mut low, mut high) = (0u64, ONE - 1);
                if defined_steps(high, ln_none, remaining) < k {
                    continue;
                }
                while low < high {
                    let mid = low + (high - low) / 2;
                    if defined_steps(mid, ln_none, remaining) >= k {
                        high = mid;
                    } else {
                        low = mid + 1;
                    }
                }
                for u in low.saturating_sub(50)..(low + 50).min(ONE) {
                    check(u);
                }
            }
        }
        // Nearly every draw is decided by the table (a lower share would only cost time).
        assert!(quick * 1000 > random * 999, "{quick} of {random}");
    }
}
