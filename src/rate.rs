//! Probabilities and factors that change over time: a constant, a *schedule* (a value per run
//! of steps) or a *decay* (halving every `half_life` steps). See docs/scenario-format.md.
//!
//! A rate is a function of the step alone, never of the path, so the chain stays Markov over
//! (step, state): the exact solver and the kernel only need the value at each step, and the
//! steps at which it changes (segment boundaries).

/// One run of a schedule: `value` up to and including step `last`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    /// The last step it covers; the last piece covers up to the horizon.
    pub last: u32,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rate {
    Constant(f64),
    /// Pieces in order of their last steps, the last one running to the horizon.
    Schedule(Vec<Piece>),
    /// `start · 2^(−(t − from) / half_life)` at step t ≥ `from`, the first step of the window
    /// of the hazard it belongs to (and `start` before it).
    Decay {
        start: f64,
        half_life: f64,
        from: u32,
    },
}

impl Rate {
    /// The value at step `step`.
    pub fn at(&self, step: u32) -> f64 {
        match self {
            Rate::Constant(v) => *v,
            // The first piece whose last step is not before `step`; there is one, as the last
            // piece's last step is u32::MAX.
            Rate::Schedule(pieces) => pieces[pieces.partition_point(|p| p.last < step)].value,
            Rate::Decay {
                start,
                half_life,
                from,
            } => start * (-f64::from(step.saturating_sub(*from)) / half_life).exp2(),
        }
    }

    /// The value, when it does not change over time.
    pub fn constant(&self) -> Option<f64> {
        match self {
            Rate::Constant(v) => Some(*v),
            _ => None,
        }
    }

    /// Whether it is above 0 at some step.
    pub fn ever_positive(&self) -> bool {
        self.values().into_iter().any(|v| v > 0.0)
    }

    /// Whether it is at least 1 at some step.
    pub fn ever_one(&self) -> bool {
        self.values().into_iter().any(|v| v >= 1.0)
    }

    /// Whether it lies strictly between 0 and 1 at every step.
    pub fn always_uncertain(&self) -> bool {
        self.values().into_iter().all(|v| v > 0.0 && v < 1.0)
    }

    /// The values that stand for all it takes: every value of a constant or schedule, and the
    /// start of a decay, from which it falls towards 0 (it is 0 throughout when its start is).
    fn values(&self) -> Vec<f64> {
        match self {
            Rate::Constant(v) => vec![*v],
            Rate::Schedule(pieces) => pieces.iter().map(|p| p.value).collect(),
            Rate::Decay { start, .. } => vec![*start],
        }
    }

    /// Whether it decays: it falls at every step of its clock and never rises.
    pub fn is_decay(&self) -> bool {
        matches!(self, Rate::Decay { start, .. } if *start != 0.0)
    }

    /// The steps in `first..=last` at which the value may differ from the step before: where
    /// a new piece begins, or every step of a decay.
    pub fn changes(&self, first: u32, last: u32) -> Vec<u32> {
        match self {
            Rate::Constant(_) => Vec::new(),
            Rate::Schedule(pieces) => pieces
                .iter()
                .map(|p| p.last.saturating_add(1))
                .filter(|&t| t > first && t <= last)
                .collect(),
            Rate::Decay { start, .. } if *start == 0.0 => Vec::new(),
            Rate::Decay { .. } => (first + 1..=last).collect(),
        }
    }

    /// The same rate with its numbers replaced by `numbers`, in the order of [`Rate::numbers`].
    pub fn with_numbers(&self, numbers: &[f64]) -> Rate {
        match self {
            Rate::Constant(_) => Rate::Constant(numbers[0]),
            Rate::Schedule(pieces) => Rate::Schedule(
                pieces
                    .iter()
                    .zip(numbers)
                    .map(|(p, &value)| Piece { value, ..*p })
                    .collect(),
            ),
            Rate::Decay { from, .. } => Rate::Decay {
                start: numbers[0],
                half_life: numbers[1],
                from: *from,
            },
        }
    }

    /// Its numbers, each with the suffix of its `--set` key (`""` for a constant, `.0`, `.1`
    /// ... for the pieces of a schedule, `.start` and `.half_life` for a decay) and whether it
    /// is a half-life (a number of steps) rather than a value.
    pub fn numbers(&self) -> Vec<(String, f64, bool)> {
        match self {
            Rate::Constant(v) => vec![(String::new(), *v, false)],
            Rate::Schedule(pieces) => pieces
                .iter()
                .enumerate()
                .map(|(i, p)| (format!(".{i}"), p.value, false))
                .collect(),
            Rate::Decay {
                start, half_life, ..
            } => vec![
                (".start".into(), *start, false),
                (".half_life".into(), *half_life, true),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_takes_the_first_piece_that_covers_the_step() {
        let rate = Rate::Schedule(vec![
            Piece {
                last: 3,
                value: 0.5,
            },
            Piece {
                last: u32::MAX,
                value: 0.1,
            },
        ]);
        assert_eq!(
            (rate.at(1), rate.at(3), rate.at(4), rate.at(99)),
            (0.5, 0.5, 0.1, 0.1)
        );
        assert_eq!(rate.changes(1, 10), vec![4]);
        assert_eq!(rate.changes(5, 10), Vec::<u32>::new());
    }

    #[test]
    fn a_decay_halves_every_half_life_from_its_first_step() {
        let rate = Rate::Decay {
            start: 0.4,
            half_life: 2.0,
            from: 3,
        };
        assert_eq!(rate.at(3), 0.4);
        assert_eq!(rate.at(5), 0.2);
        assert_eq!(rate.at(9), 0.05);
        assert!((rate.at(4) - 0.4 / 2f64.sqrt()).abs() < 1e-16);
        assert_eq!(rate.changes(3, 6), vec![4, 5, 6]);
    }
}
