//! The exact solver: forward dynamic programming over (step, set of events that happened).
//!
//! The scenario semantics define a Markov chain whose state before step t is the set S of
//! events that happened. The solver carries the probability of every reachable S that is still
//! running (no outcome yet) from step to step, and books the mass that ends at each outcome,
//! the mass with which each event happens at each step, and the joint mass of (outcome, event)
//! for the event having happened and, separately, for it not having happened.
//!
//! An event that nothing reads (no condition, modifier or horizon rule names it) and that reads
//! nothing itself (no condition or modifier on its start or end) is *free*: it evolves on its
//! own, independently of everything else, and nothing else depends on it. Such events are left
//! out of the states and solved apart, each as a chain of its own weighted by the probability
//! that the path is still running (see [`free_events`]); a scenario of independent events then
//! has one state per step, not 2^events.

mod booking;
mod dense;
mod memo;

use crate::model::{bits, Hazard, Model};
use crate::report::ExactMasses;
use dense::DenseSets;
use memo::StepMemos;
use std::sync::atomic::{AtomicBool, Ordering};

/// Bounds that keep the solver from running out of memory or time on a large scenario.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most distinct event sets held at once (running states, and the intermediate sets of a
    /// step while its events are applied one at a time).
    pub max_states: usize,
    /// Most (held set, eligible event) applications over the whole horizon: the solver's work.
    pub max_transitions: u64,
    /// How the sets of a step are held while its events are applied.
    pub layout: Layout,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_states: 1 << 22,
            // About a minute on one core of a 2025 laptop.
            max_transitions: 1 << 33,
            layout: Layout::Auto,
        }
    }
}

/// How the solver holds the sets of a step while it applies the step's events. Every layout
/// gives the same numbers to the last bit (see `dense`); they differ in speed, and in the work
/// counted against `max_transitions` (a step on the table counts the sets held at its start,
/// on the lists the sets as they grow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// A dense table at the steps at which the sets held would fill at least 1 / `DENSE_SHARE`
    /// of it, sorted lists at the others.
    #[default]
    Auto,
    /// Sorted lists of the sets held, at every step.
    Lists,
    /// A dense table of every set the step could hold, at every step, when one fits within
    /// `max_states` entries (8 bytes each, against 72 for a held set in the lists).
    Dense,
}

/// A step uses the dense table when the sets held at its start fill at least 1 / `DENSE_SHARE`
/// of it: a pass over the table costs about a nanosecond an entry, a set in the lists several.
const DENSE_SHARE: usize = 8;

/// Bytes a held state costs: an entry (set, carried bits, mass) of 24 bytes in each of the
/// three buffers a step works with.
const BYTES_PER_STATE: usize = 72;

fn mib(states: usize) -> f64 {
    (states as f64) * BYTES_PER_STATE as f64 / f64::from(1 << 20)
}

#[derive(Debug, thiserror::Error)]
pub enum ExactError {
    #[error(
        "the exact solver stopped at step {step}: the scenario has more than {states} \
         reachable event sets, which would need more than {mib:.2} MiB of memory (raise \
         --max-states if there is memory for more, or let fewer events happen independently)"
    )]
    TooManyStates { step: u32, states: usize, mib: f64 },
    #[error(
        "the exact solver stopped before starting: at step {step} the scenario has at least \
         2^{log2} reachable event sets ({log2} events that can happen independently by then), \
         more than {states}, which would need {mib:.0} MiB of memory (raise --max-states if \
         there is memory for more, or let fewer events happen independently)"
    )]
    TooManyStatesAhead {
        step: u32,
        log2: u32,
        states: usize,
        mib: f64,
    },
    #[error(
        "the exact solver would need about {estimate:.3e} (event set, event) applications, more \
         than its limit of {limit} (estimated at step {step} from the {states} event sets held \
         there)"
    )]
    TooMuchWork {
        step: u32,
        states: usize,
        estimate: f64,
        limit: u64,
    },
    /// The caller's cancel flag was raised (Ctrl-C or SIGTERM).
    #[error("the exact solver was interrupted")]
    Cancelled,
}

/// Every subset of the eligible events with its probability, as (new events, probability),
/// into `list` (`scratch` is a second buffer): for the question answering of
/// [`crate::forecast`], which lists the changes of the few events a question names.
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

/// How an event changes a set at a step: the three kinds keep the order of the sets they move
/// (an end clears its bit, a first start sets it and its ever bit, a start again the bit
/// alone), so each kind's moved sets form a sorted run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    End,
    FirstStart,
    StartAgain,
}

impl Change {
    /// Of the three runs of moved sets (first starts, ends, starts again), this change's.
    pub(crate) fn run<'a, T>(
        self,
        first: &'a mut T,
        end: &'a mut T,
        again: &'a mut T,
    ) -> &'a mut T {
        match self {
            Change::FirstStart => first,
            Change::End => end,
            Change::StartAgain => again,
        }
    }
}

/// One event at one step of a pass that applies a step's events one at a time.
pub(crate) struct EventStep<'m> {
    model: &'m Model,
    event: usize,
    step: u32,
    start: Option<&'m Hazard>,
    end: Option<&'m Hazard>,
}

impl<'m> EventStep<'m> {
    /// Event `event` at step `step`, or `None` when neither its start nor its end is live.
    pub(crate) fn new(model: &'m Model, event: usize, step: u32) -> Option<EventStep<'m>> {
        let e = &model.events()[event];
        let start = e.hazard.live(step).then_some(&e.hazard);
        let end = e.ends.as_ref().filter(|h| h.live(step));
        (start.is_some() || end.is_some()).then_some(EventStep {
            model,
            event,
            step,
            start,
            end,
        })
    }

    /// Whether the event can end at all (then its moved sets form three runs, not one).
    pub(crate) fn can_end(&self) -> bool {
        self.model.events()[self.event].ends.is_some()
    }

    /// How the event can change the set `cur`, and the hazard that says how likely that is;
    /// `None` when it cannot.
    pub(crate) fn kind(&self, cur: u64) -> Option<(Change, &'m Hazard)> {
        // Its own bit and ever bit are still the old ones: this event is applied now.
        let in_effect = cur >> self.event & 1 == 1;
        let hazard = if in_effect { self.end } else { self.start }?;
        let ended = cur >> self.model.ever_bit(self.event) & 1 == 1;
        let change = match (in_effect, ended) {
            (true, _) => Change::End,
            (false, true) if !self.model.events()[self.event].recurs => return None,
            (false, true) => Change::StartAgain,
            (false, false) => Change::FirstStart,
        };
        Some((change, hazard))
    }

    /// How the event changes the set `cur` (whose bits in `carried` had the values in `old`
    /// when the step began), with its probability; `None` when it cannot.
    pub(crate) fn change(&self, cur: u64, old: u64, carried: u64) -> Option<(Change, f64)> {
        let (change, hazard) = self.kind(cur)?;
        let p = if hazard.is_unconditional() {
            hazard.p_at(self.step)
        } else {
            // The old set, on every bit this event reads.
            hazard.probability_in_window((cur & !carried) | old, self.step)
        };
        (p > 0.0).then_some((change, p))
    }
}

/// Refuses a pass that holds more than `limits.max_states` sets at step `t`.
pub(crate) fn check_states(held: usize, t: u32, limits: &Limits) -> Result<(), ExactError> {
    if held > limits.max_states {
        return Err(too_many_states(t, limits));
    }
    Ok(())
}

fn too_many_states(step: u32, limits: &Limits) -> ExactError {
    ExactError::TooManyStates {
        step,
        states: limits.max_states,
        mib: mib(limits.max_states),
    }
}

/// One event set held within a step: the set `cur` (the old set with the events applied so
/// far), the old values of the `carried` bits that events applied later still read, and its
/// probability.
#[derive(Debug, Clone, Copy)]
struct Entry {
    cur: u64,
    old: u64,
    mass: f64,
}

impl Entry {
    fn key(&self) -> (u64, u64) {
        (self.cur, self.old)
    }
}

/// The order in which a step applies its events, and the bits it must carry.
///
/// Given the set before the step, the step's events happen independently, so they can be
/// applied one at a time in any order, as long as each event's probability is computed from
/// the set *before* the step. An event that reads another (in its condition or a modifier's)
/// is therefore applied before it: then the bits it reads are still the old ones. Where
/// conditions read each other in a cycle, that is impossible, and the old value of a bit that
/// a later event reads is carried beside the set (`carried`) until the step ends.
pub(crate) fn application_order(model: &Model) -> (Vec<usize>, u64) {
    let n = model.events().len();
    // An ever bit changes with its event's start: reading it is reading the event.
    let event_of_bit = |b: usize| {
        (0..n)
            .find(|&e| usize::from(model.ever_bit(e)) == b)
            .unwrap_or(b)
    };
    let reads: Vec<u64> = (0..n)
        .map(|i| {
            let read = bits(model.event_reads(i)).fold(0u64, |acc, b| acc | 1 << event_of_bit(b));
            read & !(1 << i)
        })
        .collect();
    let mut placed = 0u64;
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        // An event is ready when every unplaced event that reads it has been placed.
        let ready = (0..n).find(|&i| {
            placed >> i & 1 == 0
                && (0..n).all(|j| j == i || placed >> j & 1 == 1 || reads[j] >> i & 1 == 0)
        });
        // A cycle: place an unplaced event now, and carry its bit. Each carried bit can double
        // the sets held within a step, so place the one that sits on the most cycles, by the
        // measure (unplaced events that read it) x (unplaced events it reads): an event that
        // many others read and that reads many, such as a ceasefire, breaks most cycles. A
        // scenario without ends keeps the first format's choice, the first unplaced event, so
        // that its exact tables stay the same to the last digit (tests/golden/v1-baseline).
        let i = ready.unwrap_or_else(|| {
            let unplaced = |j: usize| placed >> j & 1 == 0;
            if !model.has_ends() {
                return (0..n).find(|&i| unplaced(i)).unwrap_or(0);
            }
            (0..n)
                .filter(|&i| unplaced(i))
                .max_by_key(|&i| {
                    let readers = (0..n)
                        .filter(|&j| j != i && unplaced(j) && reads[j] >> i & 1 == 1)
                        .count();
                    let reading = (reads[i] & !placed).count_ones() as usize;
                    (readers * reading, std::cmp::Reverse(i))
                })
                .unwrap_or(0)
        });
        placed |= 1 << i;
        order.push(i);
    }
    // The state bits carried: an event's own bit and its ever bit.
    let mut carried = 0u64;
    for (at, &i) in order.iter().enumerate() {
        if order[at + 1..].iter().any(|&j| reads[j] >> i & 1 == 1) {
            carried |= 1 << i | 1 << model.ever_bit(i);
        }
    }
    (order, carried)
}

/// The free events of `model` (see the module's notes), as a bit set.
pub(crate) fn free_events(model: &Model) -> u64 {
    let n = model.events().len();
    let mut read = model
        .outcomes()
        .iter()
        .filter_map(|o| o.hazard.as_ref())
        .fold(0u64, |acc, h| acc | h.reads());
    for rule in model.horizon_rules() {
        read |= rule.when.mentions();
    }
    for e in 0..n {
        let own = 1u64 << e | 1u64 << model.ever_bit(e);
        read |= model.event_reads(e) & !own;
    }
    (0..n)
        .filter(|&e| {
            let event = &model.events()[e];
            let reads_nothing =
                event.hazard.reads() == 0 && event.ends.as_ref().is_none_or(|h| h.reads() == 0);
            let unread = read >> e & 1 == 0 && read >> model.ever_bit(e) & 1 == 0;
            reads_nothing && unread
        })
        .fold(0, |acc, e| acc | 1 << e)
}

/// Books the masses of the free events: each is a chain of its own (never started, in effect,
/// ended), independent of the rest of the path, so what it does at step t is what its chain
/// does, times `running[t]`, the probability that the path runs into step t; and a path that
/// ends at step t has it ever started with its chain's probability at the end of step t.
fn solve_free_events(model: &Model, free: u64, running: &[f64], masses: &mut ExactMasses) {
    let horizon = model.horizon() as usize;
    for e in bits(free) {
        let event = &model.events()[e];
        // P(never started), P(ever started), P(in effect), P(ended and off), before the step.
        let (mut never, mut ever, mut on, mut ended) = (1.0, 0.0, 0.0, 0.0);
        let mut ever_by = vec![0.0; horizon + 1];
        let mut never_by = vec![1.0; horizon + 1];
        for t in 1..=horizon {
            // Reads nothing: the probabilities do not depend on the state.
            let p = event.hazard.probability(0, t as u32);
            let q = event
                .ends
                .as_ref()
                .map_or(0.0, |h| h.probability(1 << e, t as u32));
            let first = never * p;
            let again = if event.recurs { ended * p } else { 0.0 };
            let stop = on * q;
            masses.event_steps[e][t] = running[t] * first;
            if let Some(j) = masses.ending_row(e) {
                masses.starts[j][t] = running[t] * (first + again);
                masses.ends[j][t] = running[t] * stop;
            }
            ever += first;
            never *= 1.0 - p;
            on += first + again - stop;
            ended += stop - again;
            (ever_by[t], never_by[t]) = (ever, never);
        }
        for o in 0..model.outcomes().len() {
            let steps = &masses.outcome_steps[o];
            masses.joint[o][e] = steps.iter().zip(&ever_by).map(|(m, p)| m * p).sum();
            masses.joint_not[o][e] = steps.iter().zip(&never_by).map(|(m, p)| m * p).sum();
        }
    }
}

/// Checks before starting that the reachable sets fit: the events that can happen by step t
/// with no condition and no modifier (0 < p < 1) happen independently of everything, so every
/// subset of them is reachable after step t (when no outcome is certain to end every path).
/// Returns the estimated work: a lower bound, from those sets alone.
fn check_ahead(
    model: &Model,
    limits: &Limits,
    active: &[usize],
    solved_apart: u64,
) -> Result<f64, ExactError> {
    let outcome_may_be_certain = model
        .outcomes()
        .iter()
        .filter_map(|o| o.hazard.as_ref())
        .any(|h| h.p().ever_one());
    if outcome_may_be_certain {
        return Ok(0.0);
    }
    let mut work = 0.0;
    let mut free = 0u32;
    for t in 1..=model.horizon() {
        // Sets held at the start of step t, times the events applied to each.
        work += 2f64.powi(free as i32) * active[t as usize] as f64;
        free = model
            .events()
            .iter()
            .enumerate()
            .filter(|&(i, e)| {
                let h = &e.hazard;
                solved_apart >> i & 1 == 0
                    && h.is_unconditional()
                    && h.p().always_uncertain()
                    && h.window().0 <= t
            })
            .count() as u32;
        if free >= 63 || 1usize << free > limits.max_states {
            return Err(ExactError::TooManyStatesAhead {
                step: t,
                log2: free,
                states: limits.max_states,
                mib: 2f64.powi(free as i32) * BYTES_PER_STATE as f64 / f64::from(1 << 20),
            });
        }
    }
    Ok(work)
}

/// The set of the first `n` events (`n` is at most 64).
fn all_events(n: usize) -> u64 {
    match n {
        0 => 0,
        n => u64::MAX >> (64 - n),
    }
}

/// The buffers of a step's events applied to sorted lists of sets: `entries` stays sorted by
/// (cur, old), because the sets an event leaves alone keep their order, and adding one bit to
/// sets that lack it keeps theirs, so one merge of the two sorted lists adds up the sets that
/// meet.
#[derive(Default)]
struct Lists {
    /// The sets an event starts in for the first time (for an event that cannot end: every
    /// set it moves), those it ends in, and those it starts in again.
    moved: Vec<Entry>,
    moved_end: Vec<Entry>,
    moved_again: Vec<Entry>,
    merged: Vec<Entry>,
}

impl Lists {
    /// Applies one event of the step to `entries`: each set that it changes with probability p
    /// keeps (1 - p) of its mass and moves p of it to the set it changes into.
    fn apply(
        &mut self,
        entries: &mut Vec<Entry>,
        step: &EventStep<'_>,
        memo: &mut memo::EventMemo<'_>,
        carried: u64,
    ) {
        let bit = 1u64 << step.event;
        self.moved.clear();
        self.moved_end.clear();
        self.moved_again.clear();
        let mut certain = false;
        for entry in entries.iter_mut() {
            let Some((change, _)) = step.kind(entry.cur) else {
                continue;
            };
            // The hazard reads the set as it was when the step began.
            let p = memo.change_probability((entry.cur & !carried) | entry.old);
            if p <= 0.0 {
                continue;
            }
            certain |= p >= 1.0;
            let to = change.run(&mut self.moved, &mut self.moved_end, &mut self.moved_again);
            to.push(Entry {
                cur: step.model.apply(entry.cur, bit),
                mass: entry.mass * p,
                ..*entry
            });
            entry.mass *= 1.0 - p;
        }
        if certain {
            // Sets that moved whole leave an empty entry behind.
            entries.retain(|e| e.mass != 0.0);
        }
        if step.can_end() {
            // Each kind of change keeps the order of the sets it moves (an end clears the bit,
            // a first start sets it and the ever bit, a start again the bit alone), but
            // together they may be out of order: merge the three sorted runs.
            merge(&self.moved, &self.moved_end, &mut self.merged);
            merge(&self.merged, &self.moved_again, &mut self.moved);
        }
        merge(entries, &self.moved, &mut self.merged);
        std::mem::swap(entries, &mut self.merged);
    }
}

/// Ends a step held in lists: the carried bits are no longer needed, and sets that differ only
/// in them are one set again (they are next to each other in the order).
fn collapse(entries: &[Entry], running: &mut Vec<(u64, f64)>) {
    running.clear();
    for entry in entries {
        match running.last_mut() {
            Some((state, mass)) if *state == entry.cur => *mass += entry.mass,
            _ => running.push((entry.cur, entry.mass)),
        }
    }
    running.retain(|&(_, m)| m > 0.0);
}

/// Merges two lists sorted by key into `out`, adding the masses of equal keys.
fn merge(a: &[Entry], b: &[Entry], out: &mut Vec<Entry>) {
    out.clear();
    out.reserve(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        match x.key().cmp(&y.key()) {
            std::cmp::Ordering::Less => {
                out.push(x);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(y);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(Entry {
                    mass: x.mass + y.mass,
                    ..x
                });
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

/// Solves the scenario exactly.
pub fn solve(model: &Model, limits: &Limits) -> Result<ExactMasses, ExactError> {
    solve_cancellable(model, limits, &AtomicBool::new(false))
}

/// As [`solve`], stopping with [`ExactError::Cancelled`] soon after `cancel` is raised: a
/// large scenario can take a while before it reaches a limit.
///
/// Each step books what ends and what happens at it from every running set's hazards, then
/// applies the step's eligible events to the surviving mass one at a time (see
/// [`application_order`]): a step costs about (sets x eligible events), not
/// (sets x 2^eligible events).
pub fn solve_cancellable(
    model: &Model,
    limits: &Limits,
    cancel: &AtomicBool,
) -> Result<ExactMasses, ExactError> {
    let width = model.horizon() as usize + 1;
    let horizon = model.horizon();
    let n_events = model.events().len();
    let mut masses = ExactMasses::zero(model);
    let free = free_events(model);
    // The events that may be applied at step t: not free, a start or an end inside its window
    // with p > 0.
    let applied_at = |t: u32| {
        model.events().iter().enumerate().filter(move |&(i, e)| {
            free >> i & 1 == 0 && (e.hazard.live(t) || e.ends.as_ref().is_some_and(|h| h.live(t)))
        })
    };
    let active: Vec<usize> = (0..=horizon)
        .map(|t| if t == 0 { 0 } else { applied_at(t).count() })
        .collect();
    // Work still ahead from step t on, per held set.
    let mut ahead = vec![0u64; width + 1];
    for t in (1..=horizon as usize).rev() {
        ahead[t] = ahead[t + 1] + active[t] as u64;
    }
    let estimate = check_ahead(model, limits, &active, free)?;
    if estimate > limits.max_transitions as f64 {
        return Err(ExactError::TooMuchWork {
            step: 1,
            states: 1,
            estimate,
            limit: limits.max_transitions,
        });
    }
    let (order, carried) = application_order(model);
    let mut memos = StepMemos::new(model, free);
    let used = bits(!free & all_events(n_events))
        .fold(0u64, |set, e| set | 1 << e | 1 << model.ever_bit(e));
    let mut dense = match limits.layout {
        Layout::Lists => None,
        Layout::Auto | Layout::Dense => DenseSets::new(used, carried, limits.max_states),
    };
    let mut running: Vec<(u64, f64)> = vec![(0, 1.0)];
    let mut entries = Vec::new();
    let mut lists = Lists::default();
    let mut work = 0u64;
    // The probability that the path runs into step t, for the free events.
    let mut running_by_step = vec![0.0; width];
    for t in 1..=horizon {
        memos.at_step(t);
        running_by_step[t as usize] = running.iter().map(|&(_, m)| m).sum();
        booking::book_step(
            model,
            &mut memos,
            &running,
            t,
            carried,
            &mut masses,
            &mut entries,
            cancel,
        )
        .ok_or(ExactError::Cancelled)?;
        // The work ahead if the sets held now stayed as many: refuse rather than run for an
        // hour.
        let projected = work as f64 + entries.len() as f64 * ahead[t as usize] as f64;
        if projected > limits.max_transitions as f64 {
            return Err(ExactError::TooMuchWork {
                step: t,
                states: entries.len(),
                estimate: projected,
                limit: limits.max_transitions,
            });
        }
        let mut table = dense.as_mut().filter(|table| match limits.layout {
            Layout::Lists => false,
            Layout::Dense => true,
            Layout::Auto => entries.len() * DENSE_SHARE >= table.size(),
        });
        if let Some(table) = &mut table {
            table.load(entries.iter().map(|e| (e.cur, e.old, e.mass)));
        }
        for &k in &order {
            // A free event has no hazards here: it is solved apart.
            let (Some(step), Some(memo)) = (EventStep::new(model, k, t), memos.event(k)) else {
                continue;
            };
            if cancel.load(Ordering::Relaxed) {
                return Err(ExactError::Cancelled);
            }
            work += entries.len() as u64;
            match &mut table {
                Some(table) => table.apply(&step, memo),
                None => {
                    lists.apply(&mut entries, &step, memo, carried);
                    check_states(entries.len(), t, limits)?;
                }
            }
        }
        match table {
            Some(table) => table.collapse_into(&mut running),
            None => collapse(&entries, &mut running),
        }
    }
    for &(state, mass) in &running {
        let o = model.horizon_outcome(state);
        masses.outcome_steps[o][model.horizon() as usize] += mass;
        let ever = model.ever(state);
        for e in bits(ever) {
            masses.joint[o][e] += mass;
        }
        for e in bits(all_events(n_events) & !ever) {
            masses.joint_not[o][e] += mass;
        }
    }
    solve_free_events(model, free, &running_by_step, &mut masses);
    Ok(masses)
}
