//! What a run found, in one shape for the Monte Carlo estimate and for the exact solution, so
//! that both are written and compared the same way.

use crate::model::Model;
use crate::simulate::Tally;
use crate::stats::{wilson, StepMass};

#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    MonteCarlo {
        paths: u64,
        seed: u64,
        first_path: u64,
    },
    Exact,
}

/// A probability, with the count and interval behind it for a Monte Carlo estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Paths counted, for a Monte Carlo estimate.
    pub count: Option<u64>,
    /// Paths it is a proportion of (Monte Carlo only).
    pub out_of: Option<u64>,
    /// `None` when it is undefined (a conditional probability given an empty condition).
    pub probability: Option<f64>,
    /// 95% Wilson interval, for a Monte Carlo estimate.
    pub interval: Option<(f64, f64)>,
}

impl Estimate {
    pub fn counted(k: u64, n: u64) -> Estimate {
        Estimate {
            count: Some(k),
            out_of: Some(n),
            probability: (n > 0).then(|| k as f64 / n as f64),
            interval: (n > 0).then(|| wilson(k, n)),
        }
    }

    pub fn exact(p: Option<f64>) -> Estimate {
        Estimate {
            count: None,
            out_of: None,
            probability: p,
            interval: None,
        }
    }
}

/// One outcome or event: how likely, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub id: String,
    pub label: String,
    pub estimate: Estimate,
    /// Probability that it happens at each step (index = step, 0 unused).
    pub by_step: Vec<f64>,
    /// Probability that it has happened by each step (index = step). For a Monte Carlo
    /// estimate it is computed from integer counts, so it carries no rounding noise.
    pub by_step_cumulative: Vec<f64>,
    /// For an event that can end: how often it starts and when it is in effect.
    pub activity: Option<Activity>,
}

/// The starts and spells of an event that can end.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// Expected number of starts per path (first and later).
    pub expected_starts: f64,
    /// 95% interval of `expected_starts`, for a Monte Carlo estimate (normal approximation).
    pub starts_interval: Option<(f64, f64)>,
    /// Probability that it is in effect at the end of each step (index = step; a path that
    /// ended keeps the state it ended in).
    pub in_effect: Vec<f64>,
}

impl Activity {
    fn counted(starts: &[u64], ends: &[u64], squares: u128, paths: u64) -> Activity {
        let n = paths as f64;
        let total: u64 = starts.iter().sum();
        let mean = total as f64 / n;
        let interval = (paths > 1).then(|| {
            let variance = ((squares as f64 / n - mean * mean) * n / (n - 1.0)).max(0.0);
            let half = 1.959_963_984_540_054 * (variance / n).sqrt();
            (mean - half, mean + half)
        });
        let mut on = 0i128;
        let in_effect = starts
            .iter()
            .zip(ends)
            .map(|(&s, &e)| {
                on += i128::from(s) - i128::from(e);
                on as f64 / n
            })
            .collect();
        Activity {
            expected_starts: mean,
            starts_interval: interval,
            in_effect,
        }
    }

    fn exact(starts: &[f64], ends: &[f64]) -> Activity {
        let mut on = 0.0;
        let in_effect = starts
            .iter()
            .zip(ends)
            .map(|(s, e)| {
                on += s - e;
                f64::max(on, 0.0)
            })
            .collect();
        Activity {
            expected_starts: starts.iter().sum(),
            starts_interval: None,
            in_effect,
        }
    }
}

impl Line {
    pub fn timing(&self) -> StepMass<'_> {
        StepMass(&self.by_step)
    }
}

/// Probabilities of each outcome among paths on which an event did (or did not) happen.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditional {
    pub event: usize,
    pub happened: bool,
    /// Probability of the condition itself.
    pub given: Estimate,
    /// One per outcome, in outcome order.
    pub outcomes: Vec<Estimate>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub method: Method,
    pub outcomes: Vec<Line>,
    pub events: Vec<Line>,
    pub conditional: Vec<Conditional>,
}

/// Probability masses of an exact solution, in the layout of a [`Tally`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExactMasses {
    /// `outcome_steps[o][t]`: probability of ending in outcome o at step t.
    pub outcome_steps: Vec<Vec<f64>>,
    /// `event_steps[e][t]`: probability that event e happens at step t.
    pub event_steps: Vec<Vec<f64>>,
    /// `joint[o][e]`: probability of ending in outcome o with event e having happened.
    pub joint: Vec<Vec<f64>>,
    /// `joint_not[o][e]`: probability of ending in outcome o without event e. Summed by the
    /// solver, not found as `outcome - joint`: that difference of nearly equal numbers loses
    /// every digit when e is almost certain, and is not exactly 0 when e is certain.
    pub joint_not: Vec<Vec<f64>>,
    /// For each event that can end (in event order), `starts[j][t]`: probability that it
    /// starts at step t, for the first time or again.
    pub starts: Vec<Vec<f64>>,
    /// `ends[j][t]`: probability that the j-th event that can end ends at step t.
    pub ends: Vec<Vec<f64>>,
    /// The events that can end: the rows of `starts` and `ends`.
    pub ending: Vec<usize>,
}

impl ExactMasses {
    /// All masses 0, in the shape of `model`.
    pub fn zero(model: &Model) -> ExactMasses {
        let width = model.horizon() as usize + 1;
        let (events, outcomes) = (model.events().len(), model.outcomes().len());
        let ending: Vec<usize> = crate::model::bits(model.ends_mask()).collect();
        ExactMasses {
            outcome_steps: vec![vec![0.0; width]; outcomes],
            event_steps: vec![vec![0.0; width]; events],
            joint: vec![vec![0.0; events]; outcomes],
            joint_not: vec![vec![0.0; events]; outcomes],
            starts: vec![vec![0.0; width]; ending.len()],
            ends: vec![vec![0.0; width]; ending.len()],
            ending,
        }
    }

    /// The row of event `e` in `starts` and `ends`, if it can end.
    pub fn ending_row(&self, e: usize) -> Option<usize> {
        self.ending.binary_search(&e).ok()
    }

    /// Every table of masses, row by row: what a sum or a scaling of masses goes over, so
    /// that none is forgotten.
    fn rows_mut(&mut self) -> impl Iterator<Item = &mut Vec<f64>> {
        self.outcome_steps
            .iter_mut()
            .chain(self.event_steps.iter_mut())
            .chain(self.joint.iter_mut())
            .chain(self.joint_not.iter_mut())
            .chain(self.starts.iter_mut())
            .chain(self.ends.iter_mut())
    }

    fn rows(&self) -> impl Iterator<Item = &Vec<f64>> {
        self.outcome_steps
            .iter()
            .chain(&self.event_steps)
            .chain(&self.joint)
            .chain(&self.joint_not)
            .chain(&self.starts)
            .chain(&self.ends)
    }

    /// Adds the masses of `other` (a solution of a model of the same shape).
    pub fn add(&mut self, other: &ExactMasses) {
        for (to, from) in self.rows_mut().zip(other.rows()) {
            to.iter_mut().zip(from).for_each(|(x, y)| *x += y);
        }
    }

    /// Multiplies every mass by `factor`.
    pub fn scale(&mut self, factor: f64) {
        for row in self.rows_mut() {
            row.iter_mut().for_each(|x| *x *= factor);
        }
    }
}

fn counted_line(id: &str, label: &str, counts: &[u64], paths: u64) -> Line {
    let per_path = |c: u64| c as f64 / paths as f64;
    let mut running = 0u64;
    let cumulative = counts
        .iter()
        .map(|&c| {
            running += c;
            per_path(running)
        })
        .collect();
    Line {
        id: id.to_string(),
        label: label.to_string(),
        estimate: Estimate::counted(running, paths),
        by_step: counts.iter().map(|&c| per_path(c)).collect(),
        by_step_cumulative: cumulative,
        activity: None,
    }
}

fn exact_line(id: &str, label: &str, masses: &[f64]) -> Line {
    let mut running = 0.0;
    let cumulative = masses
        .iter()
        .map(|&m| {
            running += m;
            running
        })
        .collect();
    Line {
        id: id.to_string(),
        label: label.to_string(),
        estimate: Estimate::exact(Some(running)),
        by_step: masses.to_vec(),
        by_step_cumulative: cumulative,
        activity: None,
    }
}

impl Report {
    pub fn from_tally(model: &Model, tally: &Tally, seed: u64, first_path: u64) -> Report {
        let n = tally.paths;
        let outcome_counts: Vec<u64> = (0..model.outcomes().len())
            .map(|o| tally.outcome_by_step(o).iter().sum())
            .collect();
        let event_counts: Vec<u64> = (0..model.events().len())
            .map(|e| tally.event_by_step(e).iter().sum())
            .collect();
        let outcomes = model
            .outcomes()
            .iter()
            .enumerate()
            .map(|(o, x)| counted_line(&x.id, &x.label, tally.outcome_by_step(o), n))
            .collect();
        let mut events: Vec<Line> = model
            .events()
            .iter()
            .enumerate()
            .map(|(e, x)| counted_line(&x.id, &x.label, tally.event_by_step(e), n))
            .collect();
        for (j, &e) in tally.ending().iter().enumerate() {
            events[e].activity = Some(Activity::counted(
                tally.starts_by_step(j),
                tally.ends_by_step(j),
                tally.starts_squared(j),
                n,
            ));
        }
        let mut conditional = Vec::new();
        for (e, &with) in event_counts.iter().enumerate() {
            for happened in [true, false] {
                let given = if happened { with } else { n - with };
                let outcomes = (0..model.outcomes().len())
                    .map(|o| {
                        let joint = tally.joint(o, e);
                        let k = if happened {
                            joint
                        } else {
                            outcome_counts[o] - joint
                        };
                        Estimate::counted(k, given)
                    })
                    .collect();
                conditional.push(Conditional {
                    event: e,
                    happened,
                    given: Estimate::counted(given, n),
                    outcomes,
                });
            }
        }
        Report {
            method: Method::MonteCarlo {
                paths: n,
                seed,
                first_path,
            },
            outcomes,
            events,
            conditional,
        }
    }

    pub fn from_exact(model: &Model, masses: &ExactMasses) -> Report {
        let sum = |v: &[f64]| v.iter().sum::<f64>();
        let outcomes = model
            .outcomes()
            .iter()
            .zip(&masses.outcome_steps)
            .map(|(x, steps)| exact_line(&x.id, &x.label, steps))
            .collect();
        let mut events: Vec<Line> = model
            .events()
            .iter()
            .zip(&masses.event_steps)
            .map(|(x, steps)| exact_line(&x.id, &x.label, steps))
            .collect();
        for (j, &e) in masses.ending.iter().enumerate() {
            events[e].activity = Some(Activity::exact(&masses.starts[j], &masses.ends[j]));
        }
        let mut conditional = Vec::new();
        for e in 0..model.events().len() {
            for happened in [true, false] {
                let joint = if happened {
                    &masses.joint
                } else {
                    &masses.joint_not
                };
                // Every path ends in one outcome, so "e did not happen" is the sum of its
                // joint masses: no `1 - P(e)`, which would cancel when P(e) is near 1.
                let given = if happened {
                    sum(&masses.event_steps[e])
                } else {
                    joint.iter().map(|by_event| by_event[e]).sum()
                };
                let outcomes = joint
                    .iter()
                    .map(|by_event| {
                        let mass = by_event[e];
                        Estimate::exact((given > 0.0).then(|| (mass / given).clamp(0.0, 1.0)))
                    })
                    .collect();
                conditional.push(Conditional {
                    event: e,
                    happened,
                    given: Estimate::exact(Some(given)),
                    outcomes,
                });
            }
        }
        Report {
            method: Method::Exact,
            outcomes,
            events,
            conditional,
        }
    }
}
