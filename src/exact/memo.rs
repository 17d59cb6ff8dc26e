//! A step's probabilities, remembered by the values of the bits each hazard reads.
//!
//! A hazard's probability at a step depends on the set only through the bits its condition and
//! modifiers read, so a hazard that reads r bits takes at most 2^r values in a step, however
//! many sets the solver holds. Computing one (conditions, modifiers, odds) costs many times a
//! lookup, and a large scenario holds up to millions of sets that share a few values. Each value
//! is computed by the hazard itself, from a set with the same read bits, so it is the very
//! number a direct computation gives.

use crate::model::{Hazard, Model, Reads};

/// A hazard that reads more bits than this is computed afresh for every set: its table would
/// cost more to clear at each step than it saves.
const MEMO_BITS: u32 = 12;

/// One hazard's probability at one step, by the read bits of the set.
#[derive(Clone)]
pub(crate) struct Memo<'m> {
    hazard: &'m Hazard,
    reads: Reads,
    step: u32,
    /// By index, the probability, or NaN until it is first asked for; empty when the hazard
    /// reads more than `MEMO_BITS` bits.
    values: Vec<f64>,
}

impl<'m> Memo<'m> {
    fn new(hazard: &'m Hazard) -> Memo<'m> {
        let reads = Reads::of(hazard);
        let size = if reads.width() <= MEMO_BITS {
            1 << reads.width()
        } else {
            0
        };
        Memo {
            hazard,
            reads,
            step: 0,
            values: vec![f64::NAN; size],
        }
    }

    fn at_step(&mut self, step: u32) {
        self.step = step;
        self.values.fill(f64::NAN);
    }

    /// The probability whatever the set, for a hazard that reads nothing.
    fn constant(&mut self) -> Option<f64> {
        (self.reads.width() == 0).then(|| self.probability(0))
    }

    /// The probability at this step in the set `state`.
    #[inline]
    fn probability(&mut self, state: u64) -> f64 {
        if self.values.is_empty() {
            return self.hazard.probability(state, self.step);
        }
        let index = self.reads.index(state);
        let value = self.values[index];
        if !value.is_nan() {
            return value;
        }
        let value = self.hazard.probability(state, self.step);
        self.values[index] = value;
        value
    }
}

/// One event's hazards at one step: how likely it is to change in a set, as
/// [`Model::change_probability`] has it.
#[derive(Clone)]
pub(crate) struct EventMemo<'m> {
    own: u8,
    ever: u8,
    recurs: bool,
    start: Memo<'m>,
    end: Option<Memo<'m>>,
    /// Its probabilities of starting and of ending at this step, when neither reads the set.
    fixed: Option<(f64, f64)>,
}

impl EventMemo<'_> {
    /// The probability that the event changes in `state`: starts if it is not in effect (0 if it
    /// ended and may not recur), ends if it is.
    #[inline(always)]
    pub(crate) fn change_probability(&mut self, state: u64) -> f64 {
        let in_effect = state >> self.own & 1 == 1;
        let Some((start, end)) = self.fixed else {
            return self.read_probability(state, in_effect);
        };
        // Arithmetic rather than branches: whether an event is in effect is a coin toss across
        // the sets of a large scenario. Multiplying by 1 or 0 is exact.
        let stopped = (!state >> self.own) & (state >> self.ever) & u64::from(!self.recurs) & 1;
        let p = if in_effect { end } else { start };
        p * (1 - stopped) as f64
    }

    /// [`EventMemo::change_probability`] of an event whose hazards read the set.
    #[inline(never)]
    fn read_probability(&mut self, state: u64, in_effect: bool) -> f64 {
        if in_effect {
            self.end.as_mut().map_or(0.0, |m| m.probability(state))
        } else if !self.recurs && state >> self.ever & 1 == 1 {
            0.0
        } else {
            self.start.probability(state)
        }
    }

    /// Whether it may start again after it ended.
    pub(crate) fn recurs(&self) -> bool {
        self.recurs
    }

    /// Its probabilities of starting and of ending, when neither reads the set.
    pub(crate) fn constant(&self) -> Option<(f64, f64)> {
        self.fixed
    }

    fn at_step(&mut self, step: u32) {
        self.start.at_step(step);
        if let Some(end) = &mut self.end {
            end.at_step(step);
        }
        self.fixed = self.start.constant().and_then(|start| {
            let end = match &mut self.end {
                Some(m) => m.constant()?,
                None => 0.0,
            };
            Some((start, end))
        });
    }
}

/// Every hazard of a model at one step, but for the free events (see [`super::free_events`]).
#[derive(Clone)]
pub(crate) struct StepMemos<'m> {
    events: Vec<Option<EventMemo<'m>>>,
    outcomes: Vec<Option<Memo<'m>>>,
}

impl<'m> StepMemos<'m> {
    pub(crate) fn new(model: &'m Model, free: u64) -> StepMemos<'m> {
        let events = model
            .events()
            .iter()
            .enumerate()
            .map(|(e, event)| {
                (free >> e & 1 == 0).then(|| EventMemo {
                    own: e as u8,
                    ever: model.ever_bit(e),
                    recurs: event.recurs,
                    start: Memo::new(&event.hazard),
                    end: event.ends.as_ref().map(Memo::new),
                    fixed: None,
                })
            })
            .collect();
        let outcomes = model
            .outcomes()
            .iter()
            .map(|o| o.hazard.as_ref().map(Memo::new))
            .collect();
        StepMemos { events, outcomes }
    }

    /// Forgets the values of the last step.
    pub(crate) fn at_step(&mut self, step: u32) {
        for event in self.events.iter_mut().flatten() {
            event.at_step(step);
        }
        for outcome in self.outcomes.iter_mut().flatten() {
            outcome.at_step(step);
        }
    }

    /// Event `e`'s hazards (`None` for a free event).
    pub(crate) fn event(&mut self, e: usize) -> Option<&mut EventMemo<'m>> {
        self.events[e].as_mut()
    }

    /// The events that are not free, with their hazards.
    pub(crate) fn events(&mut self) -> impl Iterator<Item = (usize, &mut EventMemo<'m>)> {
        self.events
            .iter_mut()
            .enumerate()
            .filter_map(|(e, memo)| Some((e, memo.as_mut()?)))
    }

    /// The eligible outcomes in `state` with their hazards (h > 0), in outcome order, as
    /// [`crate::model::Model::step_hazards_into`] gives them.
    pub(crate) fn outcomes_into(&mut self, state: u64, hazards: &mut Vec<(usize, f64)>) {
        hazards.clear();
        for (o, outcome) in self.outcomes.iter_mut().enumerate() {
            if let Some(outcome) = outcome {
                let p = outcome.probability(state);
                if p > 0.0 {
                    hazards.push((o, p));
                }
            }
        }
    }
}
