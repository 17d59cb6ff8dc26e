//! Exact integer counts of what happened on the paths of a run; memory does not grow with the
//! number of paths.

use super::kernel::PathRecord;
use crate::model::{bits, Model};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub paths: u64,
    /// Steps 0..=horizon per row (step 0 is never used; it keeps indexing plain).
    width: usize,
    events: usize,
    /// `outcome_steps[o * width + t]`: paths that ended in outcome o at step t.
    outcome_steps: Vec<u64>,
    /// `event_steps[e * width + t]`: paths on which event e happened at step t.
    event_steps: Vec<u64>,
    /// `joint[o * events + e]`: paths that ended in outcome o on which event e happened.
    joint: Vec<u64>,
}

impl Tally {
    pub fn new(model: &Model) -> Tally {
        let width = model.horizon() as usize + 1;
        let (events, outcomes) = (model.events().len(), model.outcomes().len());
        Tally {
            paths: 0,
            width,
            events,
            outcome_steps: vec![0; outcomes * width],
            event_steps: vec![0; events * width],
            joint: vec![0; outcomes * events],
        }
    }

    /// The memory a tally of `model` holds, in bytes.
    pub fn bytes(model: &Model) -> usize {
        let (events, outcomes) = (model.events().len(), model.outcomes().len());
        let counts = (events + outcomes) * (model.horizon() as usize + 1) + events * outcomes;
        std::mem::size_of::<Tally>() + counts * std::mem::size_of::<u64>()
    }

    pub fn add(&mut self, record: &PathRecord) {
        self.paths += 1;
        self.outcome_steps[record.outcome * self.width + record.step as usize] += 1;
        for e in bits(record.happened) {
            self.event_steps[e * self.width + record.event_steps[e] as usize] += 1;
            self.joint[record.outcome * self.events + e] += 1;
        }
    }

    /// Adds another tally of the same model. Integer addition, so the order of merging cannot
    /// change the result; runs still merge in path order.
    pub fn merge(&mut self, other: &Tally) {
        self.paths += other.paths;
        for (a, b) in [
            (&mut self.outcome_steps, &other.outcome_steps),
            (&mut self.event_steps, &other.event_steps),
            (&mut self.joint, &other.joint),
        ] {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
    }

    /// The number of outcomes counted.
    pub fn outcomes(&self) -> usize {
        self.outcome_steps.len() / self.width
    }

    /// Paths that ended in outcome `o`, by step (index = step).
    pub fn outcome_by_step(&self, o: usize) -> &[u64] {
        &self.outcome_steps[o * self.width..(o + 1) * self.width]
    }

    /// Paths on which event `e` happened, by step (index = step).
    pub fn event_by_step(&self, e: usize) -> &[u64] {
        &self.event_steps[e * self.width..(e + 1) * self.width]
    }

    /// Paths that ended in outcome `o` and on which event `e` happened.
    pub fn joint(&self, o: usize, e: usize) -> u64 {
        self.joint[o * self.events + e]
    }
}
