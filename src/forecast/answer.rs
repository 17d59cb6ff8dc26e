//! Answering questions, exactly or by Monte Carlo, from the same state: (events that happened,
//! outcome if the path ended) at the end of each step.
//!
//! Both engines produce, for every question, two curves over the steps: P(the condition has
//! held at the end of some step <= t) and P(it holds at the end of step t). A question reads
//! the curve of its mode at its last step.
//!
//! Exact: the forward dynamic programme of [`crate::exact`] over running event sets, carrying
//! per set a vector of masses: the total, and for each question the part of it on which the
//! question has not held yet. The transitions do not depend on the questions, so one pass
//! answers all of them; when a question first holds, its part of the mass is booked as "yes"
//! and removed from its component (it cannot become "no" again).
//!
//! Monte Carlo: each path's record (the step of every event, the outcome and its step) is cut
//! into the runs of steps over which its state is constant, and each question is evaluated
//! once per run.

use super::question::{Mode, Question};
use crate::exact::{self, EventStep, ExactError, Limits};
use crate::model::{Model, StepHazards};
use crate::simulate::{self, PathRecord, RunError, RunOptions};
use crate::stats::wilson;
use std::sync::atomic::AtomicBool;

/// The answer to one question.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    pub probability: f64,
    /// 95% Wilson interval, for a Monte Carlo answer.
    pub interval: Option<(f64, f64)>,
}

/// Per question, the "by" and "at" curves (index = step, 0 unused).
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    pub by: Vec<Vec<f64>>,
    pub at: Vec<Vec<f64>>,
}

impl Curves {
    fn new(questions: usize, width: usize) -> Curves {
        Curves {
            by: vec![vec![0.0; width]; questions],
            at: vec![vec![0.0; width]; questions],
        }
    }

    /// The answer of question `q`, read from its curve at its last step.
    pub fn answer(&self, q: usize, question: &Question) -> f64 {
        let curve = match question.mode {
            Mode::By => &self.by[q],
            Mode::At => &self.at[q],
        };
        curve[question.step as usize]
    }
}

/// The sets held within a step of the exact pass, each with its vector of masses: the key
/// (the set with the events applied so far, the old values of the carried bits), as in
/// [`crate::exact`], and `width` masses per key in `masses`.
#[derive(Default)]
struct Held {
    keys: Vec<(u64, u64)>,
    masses: Vec<f64>,
}

impl Held {
    fn clear(&mut self) {
        self.keys.clear();
        self.masses.clear();
    }

    fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Merges two lists of held sets sorted by key into `out`, adding the rows of equal keys.
fn merge_held(a: &Held, b: &Held, width: usize, out: &mut Held) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    let row = |k: usize| k * width..(k + 1) * width;
    while i < a.len() || j < b.len() {
        let take_a = j == b.len() || (i < a.len() && a.keys[i] <= b.keys[j]);
        let take_b = i == a.len() || (j < b.len() && b.keys[j] <= a.keys[i]);
        if take_a && take_b {
            out.keys.push(a.keys[i]);
            let (x, y) = (&a.masses[row(i)], &b.masses[row(j)]);
            out.masses.extend(x.iter().zip(y).map(|(x, y)| x + y));
            i += 1;
            j += 1;
        } else if take_a {
            out.keys.push(a.keys[i]);
            out.masses.extend_from_slice(&a.masses[row(i)]);
            i += 1;
        } else {
            out.keys.push(b.keys[j]);
            out.masses.extend_from_slice(&b.masses[row(j)]);
            j += 1;
        }
    }
}

/// The exact curves of `questions`. `at_ended[q][t]` collects the mass that ends at step t in a
/// state where q holds: it holds there for every later step too.
///
/// The surviving mass of a step is moved to the next step's sets as the exact solver moves it:
/// the step's events are applied one at a time (see [`crate::exact`]), each to every held set
/// with its whole vector of masses, so a step costs about (sets x eligible events x questions),
/// not (sets x 2^eligible events).
pub fn exact_curves(
    model: &Model,
    questions: &[Question],
    limits: &Limits,
) -> Result<Curves, ExactError> {
    let horizon = model.horizon();
    let width = horizon as usize + 1;
    let n = questions.len();
    let stride = n + 1;
    let mut curves = Curves::new(n, width);
    let mut by_step = vec![vec![0.0; width]; n];
    let mut at_ended = vec![vec![0.0; width]; n];
    let mut states: Vec<u64> = vec![0];
    let mut masses: Vec<f64> = vec![1.0; stride];
    let (order, carried) = exact::application_order(model);
    let (mut held, mut moved, mut merged) = (Held::default(), Held::default(), Held::default());
    let (mut moved_end, mut moved_again) = (Held::default(), Held::default());
    let mut hazards = StepHazards::default();
    let (mut list, mut scratch) = (Vec::new(), Vec::new());
    let mut named: Vec<(usize, f64)> = Vec::new();
    let mut work = 0u64;
    for t in 1..=horizon {
        let ts = t as usize;
        held.clear();
        for (i, &state) in states.iter().enumerate() {
            let mass = &masses[i * stride..(i + 1) * stride];
            model.step_hazards_into(state, t, &mut hazards);
            let survive: f64 = hazards.outcomes.iter().map(|&(_, h)| 1.0 - h).product();
            let total_hazard: f64 = hazards.outcomes.iter().map(|&(_, h)| h).sum();
            if survive > 0.0 {
                held.keys.push((state, state & carried));
                held.masses.extend(mass.iter().map(|m| m * survive));
            }
            // What ends at this step ends with this step's changes (independent of the outcome
            // given the state), in the state they lead to. Whether a question holds there
            // depends only on the changes of the events it names (or whose ever(...) it names),
            // so only their subsets are listed.
            if !hazards.outcomes.is_empty() {
                for (q, question) in questions.iter().enumerate() {
                    let names = question.events();
                    let named_by =
                        |e: usize| names >> e & 1 == 1 || names >> model.ever_bit(e) & 1 == 1;
                    named.clear();
                    named.extend(hazards.events.iter().filter(|&&(e, _)| named_by(e)));
                    exact::subsets_into(&named, &mut list, &mut scratch);
                    let mut holds = 0.0;
                    for &(o, h) in &hazards.outcomes {
                        let ends = (1.0 - survive) * h / total_hazard;
                        for &(changed, w) in &list {
                            if question.holds(model.apply(state, changed), Some(o)) {
                                holds += ends * w;
                            }
                        }
                    }
                    by_step[q][ts] += holds * mass[q + 1];
                    at_ended[q][ts] += holds * mass[0];
                }
            }
        }
        // Apply the step's events one at a time, each probability from the set before the
        // step (its own bits, and the carried old values of the bits it reads).
        for &k in &order {
            let Some(step) = EventStep::new(model, k, t) else {
                continue;
            };
            work += held.len() as u64;
            if work > limits.max_transitions {
                return Err(ExactError::TooMuchWork {
                    step: t,
                    states: held.len(),
                    estimate: work as f64,
                    limit: limits.max_transitions,
                });
            }
            let bit = 1u64 << k;
            moved.clear();
            moved_end.clear();
            moved_again.clear();
            let mut certain = false;
            for i in 0..held.len() {
                let (cur, old) = held.keys[i];
                let Some((change, p)) = step.change(cur, old, carried) else {
                    continue;
                };
                certain |= p >= 1.0;
                let to = change.run(&mut moved, &mut moved_end, &mut moved_again);
                to.keys.push((model.apply(cur, bit), old));
                let row = &mut held.masses[i * stride..(i + 1) * stride];
                to.masses.extend(row.iter().map(|m| m * p));
                row.iter_mut().for_each(|m| *m *= 1.0 - p);
            }
            if certain {
                // Sets that moved whole leave an empty row behind.
                merged.clear();
                for i in 0..held.len() {
                    let row = &held.masses[i * stride..(i + 1) * stride];
                    if row[0] != 0.0 {
                        merged.keys.push(held.keys[i]);
                        merged.masses.extend_from_slice(row);
                    }
                }
                std::mem::swap(&mut held, &mut merged);
            }
            if step.can_end() {
                // Each kind of change keeps the order of the sets it moves (an end clears the
                // bit, a first start sets it and the ever bit, a start again the bit alone), but
                // together they may be out of order: merge the three sorted runs.
                merge_held(&moved, &moved_end, stride, &mut merged);
                merge_held(&merged, &moved_again, stride, &mut moved);
            }
            merge_held(&held, &moved, stride, &mut merged);
            std::mem::swap(&mut held, &mut merged);
            exact::check_states(held.len(), t, limits)?;
        }
        // The step is over: sets that differ only in carried bits are one state again (they
        // are next to each other in the order).
        let (mut new_states, mut new_masses) = (Vec::new(), Vec::new());
        for (i, &(cur, _)) in held.keys.iter().enumerate() {
            let row = &held.masses[i * stride..(i + 1) * stride];
            if new_states.last() == Some(&cur) {
                let at = new_masses.len() - stride;
                for (t, m) in new_masses[at..].iter_mut().zip(row) {
                    *t += m;
                }
            } else {
                new_states.push(cur);
                new_masses.extend_from_slice(row);
            }
        }
        for (i, &state) in new_states.iter().enumerate() {
            let mass = &mut new_masses[i * stride..(i + 1) * stride];
            // At the end of the last step, a running path gets its horizon outcome.
            let outcome = (t == horizon).then(|| model.horizon_outcome(state));
            for (q, question) in questions.iter().enumerate() {
                if question.holds(state, outcome) {
                    by_step[q][ts] += mass[q + 1];
                    mass[q + 1] = 0.0;
                    if outcome.is_some() {
                        at_ended[q][ts] += mass[0];
                    } else {
                        curves.at[q][ts] += mass[0];
                    }
                }
            }
        }
        states = new_states;
        masses = new_masses;
    }
    for q in 0..n {
        let (mut by, mut ended) = (0.0, 0.0);
        for t in 1..width {
            by += by_step[q][t];
            ended += at_ended[q][t];
            curves.by[q][t] = by;
            curves.at[q][t] += ended;
        }
    }
    Ok(curves)
}

/// Integer counts of the Monte Carlo curves: per question, paths on which it first held at
/// step t, and the changes at step t of the number of paths on which it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub paths: u64,
    first_held: Vec<Vec<u64>>,
    /// Paths whose "holds" run starts at t, and ends before t (so `starts - ends` summed up to
    /// t counts the paths on which it holds at t).
    starts: Vec<Vec<u64>>,
    ends: Vec<Vec<u64>>,
}

impl Counts {
    pub fn new(questions: usize, horizon: u32) -> Counts {
        let width = horizon as usize + 2;
        Counts {
            paths: 0,
            first_held: vec![vec![0; width]; questions],
            starts: vec![vec![0; width]; questions],
            ends: vec![vec![0; width]; questions],
        }
    }

    /// Counts one path: its state is constant over the runs of steps between the steps at
    /// which something happened, and stays as it ended up to the horizon.
    pub fn add(&mut self, model: &Model, questions: &[Question], record: &PathRecord) {
        self.paths += 1;
        let horizon = model.horizon();
        let changes = record.all_changes(model);
        let mut boundaries: Vec<u32> = changes.iter().map(|&(t, _)| t).collect();
        boundaries.push(record.step);
        boundaries.sort_unstable();
        boundaries.dedup();
        // Runs [from, to] of constant state: before the first change, then from each change.
        let mut runs = Vec::with_capacity(boundaries.len() + 1);
        if boundaries[0] > 1 {
            runs.push((1, boundaries[0] - 1));
        }
        for (i, &from) in boundaries.iter().enumerate() {
            let to = boundaries.get(i + 1).map_or(horizon, |&next| next - 1);
            runs.push((from, to));
        }
        let (mut state, mut applied) = (0u64, 0);
        let states: Vec<(u32, u32, u64, Option<usize>)> = runs
            .iter()
            .map(|&(from, to)| {
                // A run begins at a step with changes, or before any: apply that step's.
                let mut changed = 0u64;
                while applied < changes.len() && changes[applied].0 <= from {
                    changed |= 1 << changes[applied].1;
                    applied += 1;
                }
                state = model.apply(state, changed);
                let outcome = (from >= record.step).then_some(record.outcome);
                (from, to, state, outcome)
            })
            .collect();
        for (q, question) in questions.iter().enumerate() {
            let mut first = None;
            for &(from, to, happened, outcome) in &states {
                if question.holds(happened, outcome) {
                    first.get_or_insert(from);
                    self.starts[q][from as usize] += 1;
                    self.ends[q][to as usize + 1] += 1;
                }
            }
            if let Some(t) = first {
                self.first_held[q][t as usize] += 1;
            }
        }
    }

    /// Adds another count of the same questions (integer sums: the order cannot matter).
    pub fn merge(&mut self, other: &Counts) {
        self.paths += other.paths;
        for (a, b) in [
            (&mut self.first_held, &other.first_held),
            (&mut self.starts, &other.starts),
            (&mut self.ends, &other.ends),
        ] {
            for (x, y) in a.iter_mut().zip(b) {
                x.iter_mut().zip(y).for_each(|(u, v)| *u += v);
            }
        }
    }

    /// Paths on which question `q` (with its mode and last step) is answered yes.
    pub fn yes(&self, q: usize, question: &Question) -> u64 {
        let t = question.step as usize;
        match question.mode {
            Mode::By => self.first_held[q][1..=t].iter().sum(),
            Mode::At => {
                let started: u64 = self.starts[q][1..=t].iter().sum();
                let ended: u64 = self.ends[q][1..=t].iter().sum();
                started - ended
            }
        }
    }

    /// The estimate and 95% interval of question `q`.
    pub fn answer(&self, q: usize, question: &Question) -> Answer {
        let yes = self.yes(q, question);
        Answer {
            probability: yes as f64 / self.paths as f64,
            interval: Some(wilson(yes, self.paths)),
        }
    }
}

/// Simulates `paths` paths from `seed` and counts the answers of `questions`. The counts are
/// integers taken in path order, so they do not depend on the thread count.
pub fn monte_carlo_counts(
    model: &Model,
    questions: &[Question],
    options: &RunOptions,
    pool: &rayon::ThreadPool,
    cancel: &AtomicBool,
    mut progress: impl FnMut(u64),
) -> Result<Counts, RunError<std::convert::Infallible>> {
    let mut counts = Counts::new(questions.len(), model.horizon());
    let options = RunOptions {
        keep_records: true,
        ..options.clone()
    };
    simulate::run(model, &options, pool, cancel, |wave| {
        for record in wave.records {
            counts.add(model, questions, record);
        }
        progress(wave.paths_done);
        Ok(())
    })?;
    Ok(counts)
}

/// The exact answers of `questions`.
pub fn exact_answers(
    model: &Model,
    questions: &[Question],
    limits: &Limits,
) -> Result<Vec<Answer>, ExactError> {
    let curves = exact_curves(model, questions, limits)?;
    Ok(questions
        .iter()
        .enumerate()
        .map(|(q, question)| Answer {
            probability: curves.answer(q, question),
            interval: None,
        })
        .collect())
}
