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
    /// The events that can end, in event order; the tables below have a row for each.
    ending: Vec<usize>,
    /// `starts[j * width + t]`: starts of ending event j at step t (first or later).
    starts: Vec<u64>,
    /// `ends[j * width + t]`: ends of ending event j at step t.
    ends: Vec<u64>,
    /// `starts_squared[j]`: the sum over paths of the square of ending event j's number of
    /// starts, for the interval of its mean.
    starts_squared: Vec<u128>,
    /// Starts of each ending event on the path being added (scratch).
    path_starts: Vec<u64>,
}

impl Tally {
    pub fn new(model: &Model) -> Tally {
        let width = model.horizon() as usize + 1;
        let (events, outcomes) = (model.events().len(), model.outcomes().len());
        let ending: Vec<usize> = bits(model.ends_mask()).collect();
        let n = ending.len();
        Tally {
            paths: 0,
            width,
            events,
            outcome_steps: vec![0; outcomes * width],
            event_steps: vec![0; events * width],
            joint: vec![0; outcomes * events],
            ending,
            starts: vec![0; n * width],
            ends: vec![0; n * width],
            starts_squared: vec![0; n],
            path_starts: vec![0; n],
        }
    }

    /// The memory a tally of `model` holds, in bytes.
    pub fn bytes(model: &Model) -> usize {
        let (events, outcomes) = (model.events().len(), model.outcomes().len());
        let ending = model.ends_mask().count_ones() as usize;
        let rows = events + outcomes + 2 * ending;
        let counts = rows * (model.horizon() as usize + 1) + events * outcomes + 4 * ending;
        std::mem::size_of::<Tally>() + counts * std::mem::size_of::<u64>()
    }

    pub fn add(&mut self, record: &PathRecord) {
        self.paths += 1;
        self.outcome_steps[record.outcome * self.width + record.step as usize] += 1;
        for e in bits(record.ever) {
            self.event_steps[e * self.width + record.event_steps[e] as usize] += 1;
            self.joint[record.outcome * self.events + e] += 1;
        }
        if !self.ending.is_empty() {
            self.add_changes(record);
        }
    }

    /// Counts the starts and ends of the events that can end: each event's changes alternate,
    /// beginning with a start.
    fn add_changes(&mut self, record: &PathRecord) {
        let mut on = 0u64;
        for &(t, e) in &record.changes {
            let j = self.ending.partition_point(|&x| x < usize::from(e));
            let cell = j * self.width + t as usize;
            if on >> e & 1 == 0 {
                self.starts[cell] += 1;
                self.path_starts[j] += 1;
            } else {
                self.ends[cell] += 1;
            }
            on ^= 1 << e;
        }
        for (square, n) in self.starts_squared.iter_mut().zip(&mut self.path_starts) {
            *square += u128::from(*n * *n);
            // Left at 0, so that equal tallies compare equal.
            *n = 0;
        }
    }

    /// The events that can end, in event order: the rows of [`Tally::starts_by_step`] and
    /// [`Tally::ends_by_step`].
    pub fn ending(&self) -> &[usize] {
        &self.ending
    }

    /// Starts of the `j`-th event that can end, by step (index = step).
    pub fn starts_by_step(&self, j: usize) -> &[u64] {
        &self.starts[j * self.width..(j + 1) * self.width]
    }

    /// Ends of the `j`-th event that can end, by step (index = step).
    pub fn ends_by_step(&self, j: usize) -> &[u64] {
        &self.ends[j * self.width..(j + 1) * self.width]
    }

    /// The sum over paths of the squared number of starts of the `j`-th event that can end.
    pub fn starts_squared(&self, j: usize) -> u128 {
        self.starts_squared[j]
    }

    /// Adds another tally of the same model. Integer addition, so the order of merging cannot
    /// change the result; runs still merge in path order.
    pub fn merge(&mut self, other: &Tally) {
        self.paths += other.paths;
        for (a, b) in [
            (&mut self.outcome_steps, &other.outcome_steps),
            (&mut self.event_steps, &other.event_steps),
            (&mut self.joint, &other.joint),
            (&mut self.starts, &other.starts),
            (&mut self.ends, &other.ends),
        ] {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        for (a, b) in self.starts_squared.iter_mut().zip(&other.starts_squared) {
            *a += b;
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

    /// The joint counts of outcome `o`, one per event.
    pub fn joint_row(&self, o: usize) -> &[u64] {
        &self.joint[o * self.events..(o + 1) * self.events]
    }

    /// A tally of `model` from counts read back from a file, in the layout of the accessors:
    /// one row per outcome and per event, indexed by step, and one joint row per outcome.
    /// Refuses counts that no run could produce, so that the tables derived from a tally
    /// (which subtract counts) never see an impossible one. `spells` holds, for each event
    /// that can end, its starts and ends by step and the sum of its squared starts.
    pub fn from_counts(
        model: &Model,
        paths: u64,
        outcome_rows: &[Vec<u64>],
        event_rows: &[Vec<u64>],
        joint_rows: &[Vec<u64>],
        spells: &[(Vec<u64>, Vec<u64>, u128)],
    ) -> Result<Tally, String> {
        let mut tally = Tally::new(model);
        tally.paths = paths;
        let shape = [
            (
                "outcome",
                outcome_rows,
                tally.width,
                &mut tally.outcome_steps,
            ),
            ("event", event_rows, tally.width, &mut tally.event_steps),
            ("joint", joint_rows, tally.events, &mut tally.joint),
        ];
        for (kind, rows, width, flat) in shape {
            if rows.len() * width != flat.len() || rows.iter().any(|r| r.len() != width) {
                return Err(format!(
                    "{kind} rows do not have the scenario's shape ({width} counts each)"
                ));
            }
            flat.copy_from_slice(&rows.concat());
        }
        if spells.len() != tally.ending.len()
            || spells
                .iter()
                .any(|(s, e, _)| s.len() != tally.width || e.len() != tally.width)
        {
            return Err("the starts and ends rows do not have the scenario's shape".into());
        }
        for (j, (starts, ends, squared)) in spells.iter().enumerate() {
            let cells = j * tally.width..(j + 1) * tally.width;
            tally.starts[cells.clone()].copy_from_slice(starts);
            tally.ends[cells].copy_from_slice(ends);
            tally.starts_squared[j] = *squared;
        }
        tally.check()?;
        Ok(tally)
    }

    /// What holds for every tally of real paths: each path ends in one outcome at a step from
    /// 1, each event happens at most once per path, and a path with an event ends in an
    /// outcome with it.
    fn check(&self) -> Result<(), String> {
        let sum = |row: &[u64]| row.iter().try_fold(0u64, |a, &b| a.checked_add(b));
        let outcomes = self.outcome_steps.len() / self.width;
        let mut ended = Some(0u64);
        for o in 0..outcomes {
            let row = self.outcome_by_step(o);
            let total = sum(row).filter(|&t| t <= self.paths);
            let joint_ok = total.is_some_and(|t| self.joint_row(o).iter().all(|&j| j <= t));
            if row[0] != 0 || !joint_ok {
                return Err(format!("the counts of outcome {} are inconsistent", o + 1));
            }
            ended = ended.zip(total).and_then(|(a, b)| a.checked_add(b));
        }
        if ended != Some(self.paths) {
            return Err(format!(
                "the outcome counts add up to {} paths, not {}",
                ended.map_or("more than 2^64".to_string(), |n| n.to_string()),
                self.paths
            ));
        }
        for e in 0..self.events {
            let row = self.event_by_step(e);
            let with_event: Option<u64> = (0..outcomes)
                .map(|o| self.joint(o, e))
                .try_fold(0u64, |a, b| a.checked_add(b));
            if row[0] != 0 || sum(row).filter(|&t| t <= self.paths) != with_event {
                return Err(format!("the counts of event {} are inconsistent", e + 1));
            }
        }
        for (j, &e) in self.ending.iter().enumerate() {
            // Up to each step, a path's ends never outnumber its starts, and its first start
            // is one of its starts.
            let (mut started, mut ended, mut first) = (Some(0u64), Some(0u64), Some(0u64));
            let mut consistent = true;
            for t in 0..self.width {
                started = started.and_then(|s| s.checked_add(self.starts_by_step(j)[t]));
                ended = ended.and_then(|s| s.checked_add(self.ends_by_step(j)[t]));
                first = first.and_then(|s| s.checked_add(self.event_by_step(e)[t]));
                consistent &= matches!((started, ended, first), (Some(s), Some(n), Some(f)) if n <= s && f <= s && s - n <= self.paths);
            }
            let squares_ok = started.is_some_and(|s| self.starts_squared[j] >= u128::from(s));
            if !consistent
                || !squares_ok
                || self.starts_by_step(j)[0] != 0
                || self.ends_by_step(j)[0] != 0
            {
                return Err(format!("the counts of event {} are inconsistent", e + 1));
            }
        }
        Ok(())
    }
}
