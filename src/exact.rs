//! The exact solver: forward dynamic programming over (step, set of events that happened).
//!
//! The scenario semantics define a Markov chain whose state before step t is the set S of
//! events that happened. The solver carries the probability of every reachable S that is still
//! running (no outcome yet) from step to step, and books the mass that ends at each outcome,
//! the mass with which each event happens at each step, and the joint mass of (outcome, event).

use crate::model::{bits, Model, StepHazards};
use crate::report::ExactMasses;
use rustc_hash::FxHashMap;

/// Bounds that keep the solver from running out of memory or time on a large scenario.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most distinct running event sets held at once.
    pub max_states: usize,
    /// Most (state, subset of events) transitions over the whole horizon.
    pub max_transitions: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_states: 1 << 22,
            max_transitions: 1 << 28,
        }
    }
}

/// Bytes a held state costs, roughly (key, mass and hash-table overhead).
const BYTES_PER_STATE: usize = 48;

#[derive(Debug, thiserror::Error)]
pub enum ExactError {
    #[error(
        "the exact solver stopped at step {step}: the scenario has more than {states} \
         reachable event sets, which would need more than {mib:.2} MiB of memory (raise \
         --max-states if there is memory for more, or let fewer events happen independently)"
    )]
    TooManyStates { step: u32, states: usize, mib: f64 },
    #[error(
        "the exact solver would need more than {limit} transitions (at step {step}, a state has \
         {eligible} events that can happen at once, 2^{eligible} combinations)"
    )]
    TooMuchWork {
        step: u32,
        eligible: usize,
        limit: u64,
    },
}

fn too_many_states(step: u32, limits: &Limits) -> ExactError {
    ExactError::TooManyStates {
        step,
        states: limits.max_states,
        mib: (limits.max_states * BYTES_PER_STATE) as f64 / f64::from(1 << 20),
    }
}

/// Every subset of the eligible events with its probability, as (new events, probability),
/// into `list` (`scratch` is a second buffer).
pub(crate) fn subsets_into(
    events: &[(usize, f64)],
    list: &mut Vec<(u64, f64)>,
    scratch: &mut Vec<(u64, f64)>,
) {
    list.clear();
    list.push((0u64, 1.0));
    for &(e, p) in events {
        scratch.clear();
        for &(set, w) in list.iter() {
            scratch.push((set, w * (1.0 - p)));
            scratch.push((set | 1 << e, w * p));
        }
        std::mem::swap(list, scratch);
    }
}

/// Scenarios with at most this many events keep the next step's states in a dense array
/// indexed by the event set (8 bytes per possible set), faster than hashing; larger ones in
/// a hash map.
const DENSE_EVENTS: usize = 20;

/// The running states of the next step, by event set.
enum Next {
    Dense { mass: Vec<f64>, touched: Vec<u64> },
    Sparse(FxHashMap<u64, f64>),
}

impl Next {
    fn new(events: usize) -> Next {
        if events <= DENSE_EVENTS {
            Next::Dense {
                mass: vec![0.0; 1 << events],
                touched: Vec::new(),
            }
        } else {
            Next::Sparse(FxHashMap::default())
        }
    }

    fn add(&mut self, state: u64, mass: f64) {
        match self {
            Next::Dense { mass: all, touched } => {
                let slot = &mut all[state as usize];
                if *slot == 0.0 && mass != 0.0 {
                    touched.push(state);
                }
                *slot += mass;
            }
            Next::Sparse(map) => *map.entry(state).or_insert(0.0) += mass,
        }
    }

    fn len(&self) -> usize {
        match self {
            Next::Dense { touched, .. } => touched.len(),
            Next::Sparse(map) => map.len(),
        }
    }

    /// The states with mass, in increasing order of event set (a fixed order makes every sum,
    /// and so every digit, reproducible), leaving this empty for the next step.
    fn drain_into(&mut self, running: &mut Vec<(u64, f64)>) {
        running.clear();
        match self {
            Next::Dense { mass, touched } => {
                touched.sort_unstable();
                for &state in touched.iter() {
                    let m = std::mem::take(&mut mass[state as usize]);
                    if m > 0.0 {
                        running.push((state, m));
                    }
                }
                touched.clear();
            }
            Next::Sparse(map) => {
                running.extend(map.drain().filter(|&(_, m)| m > 0.0));
                running.sort_unstable_by_key(|&(state, _)| state);
            }
        }
    }
}

/// Adds the transitions of one state at step `t` to `transitions`, refusing before the work
/// when the state has too many successors or the whole solve too many transitions.
pub(crate) fn count_work(
    hazards: &StepHazards,
    t: u32,
    transitions: &mut u64,
    limits: &Limits,
) -> Result<(), ExactError> {
    // One state with n eligible events has 2^n successors: refuse before listing them.
    let eligible = hazards.events.len();
    if eligible >= usize::BITS as usize - 1 || 1usize << eligible > limits.max_states {
        return Err(too_many_states(t, limits));
    }
    *transitions = transitions.saturating_add(1 << eligible.min(63));
    if *transitions > limits.max_transitions {
        return Err(ExactError::TooMuchWork {
            step: t,
            eligible,
            limit: limits.max_transitions,
        });
    }
    Ok(())
}

/// Refuses to hold more running states than the limits allow.
pub(crate) fn check_states(held: usize, t: u32, limits: &Limits) -> Result<(), ExactError> {
    if held > limits.max_states {
        return Err(too_many_states(t, limits));
    }
    Ok(())
}

/// Solves the scenario exactly.
pub fn solve(model: &Model, limits: &Limits) -> Result<ExactMasses, ExactError> {
    let width = model.horizon() as usize + 1;
    let (n_events, n_outcomes) = (model.events().len(), model.outcomes().len());
    let mut masses = ExactMasses {
        outcome_steps: vec![vec![0.0; width]; n_outcomes],
        event_steps: vec![vec![0.0; width]; n_events],
        joint: vec![vec![0.0; n_events]; n_outcomes],
    };
    let mut running: Vec<(u64, f64)> = vec![(0, 1.0)];
    let mut next = Next::new(n_events);
    let mut hazards = StepHazards::default();
    let (mut list, mut scratch) = (Vec::new(), Vec::new());
    // P(event e is in the set after the step), for the joint masses of outcomes.
    let mut after = vec![0.0; n_events];
    let mut transitions = 0u64;
    for t in 1..=model.horizon() {
        for &(state, mass) in &running {
            model.step_hazards_into(state, t, &mut hazards);
            count_work(&hazards, t, &mut transitions, limits)?;
            // New events and the outcome of a step are independent given the state, so what
            // ends here and what happens here are booked from the state's hazards directly.
            for e in bits(state) {
                after[e] = 1.0;
            }
            for &(e, p) in &hazards.events {
                masses.event_steps[e][t as usize] += mass * p;
                after[e] = p;
            }
            let survive: f64 = hazards.outcomes.iter().map(|&(_, h)| 1.0 - h).product();
            let total_hazard: f64 = hazards.outcomes.iter().map(|&(_, h)| h).sum();
            for &(o, h) in &hazards.outcomes {
                let ended = mass * (1.0 - survive) * h / total_hazard;
                masses.outcome_steps[o][t as usize] += ended;
                for (joint, &p) in masses.joint[o].iter_mut().zip(&after) {
                    *joint += ended * p;
                }
            }
            after.fill(0.0);
            let staying = mass * survive;
            if staying > 0.0 {
                subsets_into(&hazards.events, &mut list, &mut scratch);
                for &(new, w) in &list {
                    next.add(state | new, staying * w);
                }
            }
            check_states(next.len(), t, limits)?;
        }
        next.drain_into(&mut running);
    }
    for &(state, mass) in &running {
        let o = model.horizon_outcome(state);
        masses.outcome_steps[o][model.horizon() as usize] += mass;
        for e in bits(state) {
            masses.joint[o][e] += mass;
        }
    }
    Ok(masses)
}
