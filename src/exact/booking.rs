//! What ends and what happens at a step, booked from the hazards of every running set.
//!
//! New events and the outcome of a step are independent given the set, so both are booked from
//! the set's hazards directly, before the step's events are applied. The sets are booked in
//! blocks of `BLOCK`, in parallel. Each block sums its sets in order from 0 (the first block's
//! joint masses, which accumulate over the steps, from their totals so far), and the blocks'
//! sums are then added in order: the figures do not depend on the thread count, and a step
//! with at most `BLOCK` sets sums exactly as one loop over them does.

use super::memo::StepMemos;
use super::Entry;
use crate::model::{bits, Model};
use crate::report::ExactMasses;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// Sets booked by one task.
const BLOCK: usize = 4096;

/// A block's sums at one step, and the sets that run on from it.
struct Sums {
    /// By event: the mass with which it happens for the first time.
    events: Vec<f64>,
    /// By event that can end (rows of [`ExactMasses::starts`]): the mass with which it starts,
    /// and with which it ends.
    starts: Vec<f64>,
    ends: Vec<f64>,
    /// By outcome: the mass that ends in it.
    outcomes: Vec<f64>,
    joint: Vec<Vec<f64>>,
    joint_not: Vec<Vec<f64>>,
    /// The sets that run on, with the mass that does, in order.
    staying: Vec<Entry>,
}

impl Sums {
    /// Sums that start from 0, but for the first block's joint masses: from their totals so far.
    fn new(masses: &ExactMasses, first: bool) -> Sums {
        let zero = |rows: &[Vec<f64>]| vec![0.0; rows.len()];
        let joint = |rows: &[Vec<f64>]| {
            if first {
                rows.to_vec()
            } else {
                rows.iter().map(|r| vec![0.0; r.len()]).collect()
            }
        };
        Sums {
            events: zero(&masses.event_steps),
            starts: zero(&masses.starts),
            ends: zero(&masses.ends),
            outcomes: zero(&masses.outcome_steps),
            joint: joint(&masses.joint),
            joint_not: joint(&masses.joint_not),
            staying: Vec::new(),
        }
    }

    /// Adds these sums (the first block's replace the totals they started from).
    fn add_into(self, masses: &mut ExactMasses, t: usize, first: bool, entries: &mut Vec<Entry>) {
        let column = |rows: &mut [Vec<f64>], sums: &[f64]| {
            for (row, &sum) in rows.iter_mut().zip(sums) {
                row[t] += sum;
            }
        };
        column(&mut masses.event_steps, &self.events);
        column(&mut masses.starts, &self.starts);
        column(&mut masses.ends, &self.ends);
        column(&mut masses.outcome_steps, &self.outcomes);
        if first {
            masses.joint = self.joint;
            masses.joint_not = self.joint_not;
        } else {
            let add = |rows: &mut [Vec<f64>], sums: &[Vec<f64>]| {
                for (row, sums) in rows.iter_mut().zip(sums) {
                    for (total, &sum) in row.iter_mut().zip(sums) {
                        *total += sum;
                    }
                }
            };
            add(&mut masses.joint, &self.joint);
            add(&mut masses.joint_not, &self.joint_not);
        }
        entries.extend_from_slice(&self.staying);
    }
}

/// Books step `t` of the sets in `running` (sorted, with their masses) into `masses`, and
/// returns into `entries` the sets that run on, in order, with the mass that does and the old
/// values of the `carried` bits; `None` when `cancel` was raised.
#[allow(clippy::too_many_arguments)]
pub(super) fn book_step(
    model: &Model,
    memos: &mut StepMemos<'_>,
    running: &[(u64, f64)],
    t: u32,
    carried: u64,
    masses: &mut ExactMasses,
    entries: &mut Vec<Entry>,
    cancel: &AtomicBool,
) -> Option<()> {
    let rows: Vec<Option<usize>> = (0..model.events().len())
        .map(|e| masses.ending_row(e))
        .collect();
    let block = |memos: &mut StepMemos<'_>, first: bool, sets: &[(u64, f64)]| {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        let mut sums = Sums::new(masses, first);
        book_block(model, memos, sets, carried, &rows, &mut sums);
        Some(sums)
    };
    entries.clear();
    let blocks: Vec<Option<Sums>> = if running.len() <= BLOCK {
        vec![block(memos, true, running)]
    } else {
        running
            .par_chunks(BLOCK)
            .enumerate()
            .map_init(
                || memos.clone(),
                |memos, (k, sets)| block(memos, k == 0, sets),
            )
            .collect()
    };
    for (k, sums) in blocks.into_iter().enumerate() {
        sums?.add_into(masses, t as usize, k == 0, entries);
    }
    Some(())
}

/// Books one block of sets into `sums`.
fn book_block(
    model: &Model,
    memos: &mut StepMemos<'_>,
    sets: &[(u64, f64)],
    carried: u64,
    rows: &[Option<usize>],
    sums: &mut Sums,
) {
    let mut outcomes = Vec::new();
    // P(event e is in the set after the step), for the joint masses of outcomes.
    let mut after = vec![0.0; model.events().len()];
    for &(state, mass) in sets {
        let ever = model.ever(state);
        for e in bits(ever) {
            after[e] = 1.0;
        }
        // Every event but the free ones (solved apart), each adding mass * p, which is 0 where
        // it cannot change (x + 0 = x), times 1 or 0 (exact): arithmetic rather than branches
        // keeps the processor from guessing, at every event, whether it is in effect.
        let first = !state & !ever;
        for (e, memo) in memos.events() {
            let p = memo.change_probability(state);
            let moved = mass * p;
            let (first, starts) = ((first >> e & 1) as f64, (!state >> e & 1) as f64);
            sums.events[e] += moved * first;
            // 0 before, for an event that has not started.
            after[e] += p * first;
            if let Some(j) = rows[e] {
                sums.starts[j] += moved * starts;
                sums.ends[j] += moved * (1.0 - starts);
            }
        }
        memos.outcomes_into(state, &mut outcomes);
        let hazards = &outcomes;
        let survive: f64 = hazards.iter().map(|&(_, h)| 1.0 - h).product();
        let total_hazard: f64 = hazards.iter().map(|&(_, h)| h).sum();
        for &(o, h) in hazards {
            let ended = mass * (1.0 - survive) * h / total_hazard;
            sums.outcomes[o] += ended;
            // Summed apart rather than found as `outcome - joint`, which cancels for an
            // almost certain event and is not exactly 0 for a certain one.
            for ((joint, joint_not), &p) in sums.joint[o]
                .iter_mut()
                .zip(sums.joint_not[o].iter_mut())
                .zip(&after)
            {
                *joint += ended * p;
                *joint_not += ended * (1.0 - p);
            }
        }
        after.fill(0.0);
        let staying = mass * survive;
        if staying > 0.0 {
            sums.staying.push(Entry {
                cur: state,
                old: state & carried,
                mass: staying,
            });
        }
    }
}
