//! One path of the chain, drawn with as few random numbers as the semantics allow.
//!
//! Between two changes of the event set, and inside one segment (a run of steps in which no
//! window opens or closes, no schedule's piece begins and no outcome's hazard decays), every
//! hazard is constant, or is an event's decaying one, drawn by thinning (see `Segments`). So instead of one Bernoulli draw per
//! event per step, the kernel draws the waiting time to the next step at which anything
//! happens (geometric, by inversion), then what happened at that step given that something
//! did. Memorylessness makes this exactly the step-by-step chain of the scenario format: see
//! `docs/scenario-format.md` and the checks against the exact solver.
//!
//! What happens at a step is drawn as a chain over the uncertain items (the eligible events
//! with 0 < p < 1 in event order, then the block of eligible outcomes): the first item to
//! happen, then the next one after it, and so on. With `none[k]` the probability that none of
//! items 0..=k happens, the next item after item i is the smallest j > i with
//! `none[j] < (1 - u) * none[i]`: one uniform per item that happens, plus one that ends the
//! chain. Items with p = 1 happen at the next step for sure and are not drawn.
//!
//! Random stream: path `i` of seed `s` draws from its own SplitMix64 stream ([`PathRng`]): the
//! Weyl sequence `x + GAMMA, x + 2 GAMMA, ...` put through the SplitMix64 finaliser, from a
//! start `x` that hashes (s, i). Each draw is the top 53 bits of one `u64`. Per jump: unless
//! something is certain, one draw for the waiting time and, if it lands inside the segment,
//! one for the first item; then one per further draw of the chain (none after the outcome
//! block, which is last); one for each event drawn whose probability decays, after its
//! segment's first step, to keep it or not; and one to choose the outcome when the block
//! happens and more than one outcome is eligible.
//!
//! The waiting time is geometric, drawn by inversion: 0 when `u < fixed(P(something happens
//! at a step))`, else `max(1, floor(ln(1 - u) / ln P(nothing happens at a step)))`. The first
//! branch costs a comparison and takes most draws in a state where much happens; the second a
//! logarithm and a division (the logarithm from a table, with `libm::log1p` only for the draws
//! whose quotient lies within the table's error of a whole step: see `wait`). Both are
//! computed from the same numbers for a cached table and a state drawn directly, so they give
//! the same step. (Thresholds for each waiting time, kept per table, cost a transcendental
//! function each to build and more memory than the table's other fields together; reading
//! them missed the cache more often than the logarithm cost.)
//!
//! Per-state tables: a state (event set, segment) met for the 16th time gets a full table,
//! kept in a cache (thresholds ready, no arithmetic per draw); a state met fewer times
//! (most states of a scenario with many events: each path wanders off on its own) is drawn
//! from directly, with probabilities updated from the previous state's for only the events
//! whose window, condition or modifiers changed (each looked up by the bits its hazard reads:
//! see `Remembered`). Both give the same draws, so which states are cached (which depends on
//! the other paths a thread ran) changes nothing.
//!
//! That is [`Method::Jumps`]. A model with many events is drawn by [`Method::Clocks`]
//! instead: its paths seldom meet a state twice, so tables are not reused, and each jump's
//! pass over every eligible event (to find the chance that anything happens) is what costs.
//! The clocks keep, for each event, the step at which it next changes (geometric, drawn as
//! the waiting time above from the step after its probability last changed), and one for the
//! outcome block; a jump draws again only the clocks whose probability it changed. Both
//! methods give the chain of the scenario format; which one a model gets depends on the model
//! alone ([`Method::for_model`]), so a path still depends on (seed, path index) alone.

mod wait;

use crate::model::{bits, Hazard, Model, Reads, MAX_EVENTS};
use rand::RngCore;

/// Thresholds are 53-bit fixed point: a draw `u` in [0, 2^53) passes `threshold` when
/// `u < threshold`, so 0 never passes and `ONE` always does.
const ONE: u64 = 1 << 53;
/// The most full tables a kernel keeps, to keep memory flat.
const MAX_CACHED_TABLES: usize = 1 << 14;
/// Slots of the cache of states (see `TableCache`).
const SLOT_BITS: u32 = 15;
const SLOTS: usize = 1 << SLOT_BITS;
/// The visit at which a state gets a full table. A cached table saves the direct draw's
/// arithmetic but its reads miss the processor's caches when many tables are kept, so only a
/// state met often pays for one: on issue 15's suite, 16 was faster than 4 (up to 1.2 times on
/// scenarios whose paths seldom meet) and about as fast as 64 on the presets.
const TABLE_AT_VISIT: u8 = 16;

fn fixed(p: f64) -> u64 {
    // Rounds to nearest; cheaper than f64::round, which is a library call.
    (p.clamp(0.0, 1.0) * ONE as f64 + 0.5) as u64
}

const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 finaliser (Stafford's variant 13): a bijection of `u64` that mixes well.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The random stream of one path: SplitMix64 from a start that hashes (seed, path). Setting
/// one up is two multiplications per mix, against a 256-byte ChaCha8 block refill before.
#[derive(Debug, Clone)]
pub struct PathRng {
    state: u64,
}

impl PathRng {
    /// The key of a seed, shared by all its paths.
    fn key(seed: u64) -> u64 {
        mix(seed ^ 0x6a09_e667_f3bc_c909)
    }

    fn from_key(key: u64, path: u64) -> PathRng {
        PathRng {
            state: mix(key.wrapping_add(mix(path.wrapping_add(0x3c6e_f372_fe94_f82b)))),
        }
    }
}

impl RngCore for PathRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// The random stream of one path.
pub fn path_rng(seed: u64, path: u64) -> PathRng {
    PathRng::from_key(PathRng::key(seed), path)
}

#[inline]
fn draw(rng: &mut PathRng) -> u64 {
    rng.next_u64() >> 11
}

/// A uniform number in (0, 1]: one minus a draw.
fn draw_complement(rng: &mut PathRng) -> f64 {
    (ONE - draw(rng)) as f64 / ONE as f64
}

/// The waiting time of draw `u` for a chance per step whose threshold is `any_threshold` and
/// whose complement has logarithm `ln_none`: steps until it comes true (0 = at the current
/// step), or `None` if not within `remaining` steps (see the module's notes).
fn wait_for(u: u64, any_threshold: u64, ln_none: f64, remaining: u32) -> Option<u32> {
    if u < any_threshold {
        return Some(0);
    }
    // P(wait >= k) = P(none)^k for k >= 1; rounding may put the quotient just under 1 for a u
    // just past the threshold, which the first branch has already decided against.
    let k = wait::steps(u, ln_none, remaining);
    (k < remaining).then_some(k)
}

/// The first index whose cumulative threshold exceeds `u`.
fn pick(cumulative: &[u64], u: u64) -> usize {
    cumulative
        .partition_point(|&c| c <= u)
        .min(cumulative.len() - 1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Event(u8),
    Outcomes,
}

/// Everything the kernel needs for one (event set, segment): kept in the cache for a state
/// visited again, built afresh (without the threshold tables) for a state met once.
#[derive(Debug, Default)]
struct StateTable {
    /// Events with p = 1: they happen at the next step.
    certain: u64,
    /// Whether an eligible outcome has h = 1, so the outcome block happens at the next step.
    certain_outcome: bool,
    /// Items that may or may not happen at a step, in draw order.
    items: Vec<Item>,
    /// `reached[k]`: probability that at least one of items 0..=k happens at a step.
    reached: Vec<f64>,
    /// `none[k]`: probability that none of items 0..=k happens at a step.
    none: Vec<f64>,
    /// ln P(no item happens at a step).
    ln_none: f64,
    /// Threshold of "some item happens at a step".
    any_threshold: u64,
    /// Eligible outcomes and their hazards, and the sum of those.
    outcomes: Vec<usize>,
    outcome_hazards: Vec<f64>,
    total_hazard: f64,
    /// Whether the thresholds below are filled (a cached table).
    full: bool,
    /// Cumulative thresholds of "item k is the first to happen, given that one did".
    first: Vec<u64>,
    /// Cumulative thresholds of being the outcome that happens.
    outcome_choice: Vec<u64>,
}

/// P(at least one happens) for independent chances, accumulated as a + q (1 - a): there is no
/// cancellation, so rare hazards keep their relative precision.
fn at_least_one(before: f64, q: f64) -> f64 {
    before + q * (1.0 - before)
}

impl StateTable {
    /// Makes this the table of a state with the hazards `events` (p by event, 0 when not
    /// eligible) and `outcomes` (h by outcome), without thresholds; `full` then adds them for
    /// a segment of `steps` steps.
    fn fill(&mut self, events: &[f64], eligible: u64, outcomes: &[f64]) {
        self.certain = 0;
        self.full = false;
        self.items.clear();
        self.reached.clear();
        self.none.clear();
        let mut any = 0.0;
        for e in bits(eligible) {
            let p = events[e];
            if p >= 1.0 {
                self.certain |= 1 << e;
            } else if p > 0.0 {
                self.items.push(Item::Event(e as u8));
                any = at_least_one(any, p);
                self.reached.push(any);
            }
        }
        self.outcomes.clear();
        self.outcome_hazards.clear();
        self.certain_outcome = false;
        let mut some_outcome = 0.0;
        for (o, &h) in outcomes.iter().enumerate() {
            if h > 0.0 {
                self.outcomes.push(o);
                self.outcome_hazards.push(h);
                self.certain_outcome |= h >= 1.0;
                some_outcome = at_least_one(some_outcome, h);
            }
        }
        self.total_hazard = self.outcome_hazards.iter().sum();
        if !self.outcomes.is_empty() && !self.certain_outcome {
            self.items.push(Item::Outcomes);
            any = at_least_one(any, some_outcome);
            self.reached.push(any);
        }
        self.none.extend(self.reached.iter().map(|&a| 1.0 - a));
        self.ln_none = libm::log1p(-any);
        self.any_threshold = fixed(any);
    }

    /// Adds the thresholds.
    fn complete(&mut self) {
        let scale = self.first_scale();
        self.first.clear();
        self.first
            .extend(self.reached.iter().map(|&a| fixed(a * scale)));
        if let Some(last) = self.first.last_mut() {
            *last = ONE;
        }
        let mut cumulative = 0.0;
        self.outcome_choice.clear();
        for &h in &self.outcome_hazards {
            cumulative += h;
            self.outcome_choice
                .push(fixed(cumulative / self.total_hazard));
        }
        if let Some(last) = self.outcome_choice.last_mut() {
            *last = ONE;
        }
        self.full = true;
    }

    fn is_certain(&self) -> bool {
        self.certain != 0 || self.certain_outcome
    }

    /// Steps from the current one until something happens (0 = at the current step), or
    /// `None` if nothing happens within the `remaining` steps of the segment.
    fn wait(&self, rng: &mut PathRng, remaining: u32) -> Option<u32> {
        wait_for(draw(rng), self.any_threshold, self.ln_none, remaining)
    }

    /// `reached[k]` times this is the probability that the first item to happen is among
    /// items 0..=k, given that one does.
    fn first_scale(&self) -> f64 {
        1.0 / self.reached.last().copied().unwrap_or(1.0)
    }

    /// The first item to happen at a step at which one does: the first k with
    /// `u < fixed(reached[k] / P(any))` (the last item if none).
    fn first_item(&self, u: u64) -> usize {
        if self.full {
            return pick(&self.first, u);
        }
        let scale = self.first_scale();
        self.reached
            .partition_point(|&a| fixed(a * scale) <= u)
            .min(self.reached.len() - 1)
    }

    /// The outcome that happens when the block does.
    fn choose_outcome(&self, rng: &mut PathRng) -> usize {
        if self.outcomes.len() == 1 {
            return self.outcomes[0];
        }
        let u = draw(rng);
        let choice = if self.full {
            pick(&self.outcome_choice, u)
        } else {
            let mut cumulative = 0.0;
            let last = self.outcomes.len() - 1;
            (0..last)
                .find(|&k| {
                    cumulative += self.outcome_hazards[k];
                    u < fixed(cumulative / self.total_hazard)
                })
                .unwrap_or(last)
        };
        self.outcomes[choice]
    }
}

/// How one path went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRecord {
    pub path: u64,
    pub outcome: usize,
    /// The step of the outcome (the horizon for a horizon outcome).
    pub step: u32,
    /// The state at the end: the events in effect, and the ever bits (see [`crate::model`]).
    pub happened: u64,
    /// The events that ever started.
    pub ever: u64,
    /// Whether the path reached the horizon (its outcome then comes from the horizon rules).
    pub by_horizon: bool,
    /// The step at which each event first started, 0 if it never did.
    pub event_steps: Vec<u32>,
    /// Each start and end of an event that can end, as (step, event), in order.
    pub changes: Vec<(u32, u8)>,
}

impl PathRecord {
    /// The memory a record of `model` holds, in bytes (with the allocator's bookkeeping): at
    /// most one change per event that can end per step.
    pub fn bytes(model: &Model) -> usize {
        let changes = (model.ends_mask().count_ones() as usize * model.horizon() as usize)
            .next_power_of_two();
        std::mem::size_of::<PathRecord>()
            + model.events().len() * std::mem::size_of::<u32>()
            + changes * std::mem::size_of::<(u32, u8)>()
            + 32
    }

    /// Every change of the path, as (step, event), in order: the start of each event that
    /// cannot end, and the starts and ends of those that can.
    pub fn all_changes(&self, model: &Model) -> Vec<(u32, u8)> {
        let ending = model.ends_mask();
        let mut changes: Vec<(u32, u8)> = self
            .event_steps
            .iter()
            .enumerate()
            .filter(|&(e, &t)| t > 0 && ending >> e & 1 == 0)
            .map(|(e, &t)| (t, e as u8))
            .chain(self.changes.iter().copied())
            .collect();
        changes.sort_unstable();
        changes
    }

    fn finish(&mut self, model: &Model, outcome: usize, step: u32, state: u64, by_horizon: bool) {
        self.outcome = outcome;
        self.step = step;
        self.happened = state;
        self.ever = model.ever(state);
        self.by_horizon = by_horizon;
    }

    pub fn new(model: &Model) -> PathRecord {
        PathRecord {
            path: 0,
            outcome: 0,
            step: 0,
            happened: 0,
            ever: 0,
            by_horizon: false,
            event_steps: vec![0; model.events().len()],
            changes: Vec::new(),
        }
    }
}

/// The probabilities of every event and outcome in one state, kept from jump to jump and
/// updated for only what a jump changed.
struct Hazards {
    /// By event, the probability that it changes (starts, or ends if in effect), and h by
    /// outcome (0 when not eligible), valid for `state` in `segment` once `valid`.
    events: Vec<f64>,
    /// By event, ln(1 - p) of its p in `events`, for its clock.
    ln_none: Vec<f64>,
    outcomes: Vec<f64>,
    /// The events with p > 0.
    eligible: u64,
    remembered: Remembered,
    state: u64,
    segment: usize,
    valid: bool,
    /// By segment: the events whose start window holds it, those whose end window holds it,
    /// and the outcomes whose window holds it (as bit sets).
    starts_in: Vec<u64>,
    ends_in: Vec<u64>,
    outcomes_in: Vec<u64>,
    /// By state bit: the events and outcomes whose probability reads it.
    event_readers: Vec<u64>,
    outcome_readers: Vec<u64>,
    /// The events and outcomes whose probability changes with time (a schedule or a decay):
    /// recomputed at every change of segment.
    varying_events: u64,
    varying_outcomes: u64,
}

/// The kernel's segments: the model's runs of steps over which every hazard is constant,
/// except that an event's decaying probability does not cut them. Within such a run a decay
/// only falls, so the kernel draws the event at its probability at the run's first step, the
/// largest, and keeps each start (or end) it draws at a later step t with probability
/// p(t) / p(first) (thinning): the event then happens at t with probability p(t) exactly,
/// independently of the others, while a decaying meeting chance no longer makes every path
/// walk the horizon step by step. An outcome's decay still cuts at every step.
#[derive(Debug)]
struct Segments {
    /// Inclusive ranges of steps.
    ranges: Vec<(u32, u32)>,
    /// The range of each step (index 0 unused).
    of: Vec<u16>,
    /// The events whose start or end decays: drawn by thinning.
    thinned: u64,
}

impl Segments {
    fn new(model: &Model) -> Segments {
        let (ranges, of) = model.segments_cut_by(Hazard::schedule_changes);
        let thinned = model
            .events()
            .iter()
            .enumerate()
            .fold(0u64, |set, (e, event)| {
                let decays =
                    event.hazard.decays() || event.ends.as_ref().is_some_and(Hazard::decays);
                if decays {
                    set | 1 << e
                } else {
                    set
                }
            });
        Segments {
            ranges,
            of,
            thinned,
        }
    }

    fn of(&self, step: u32) -> usize {
        self.of[step as usize] as usize
    }

    /// Of the events in `drawn`, those that change at step `at` of segment `segment` from
    /// `state`, drawing for each thinned one after the segment's first step whether it is kept.
    #[inline]
    fn thin(
        &self,
        model: &Model,
        rng: &mut PathRng,
        drawn: u64,
        state: u64,
        at: u32,
        segment: usize,
    ) -> u64 {
        let first = self.ranges[segment].0;
        if at == first || drawn & self.thinned == 0 {
            return drawn;
        }
        let mut kept = drawn;
        for e in bits(drawn & self.thinned) {
            let Some(hazard) = model.change_hazard(e, state).filter(|h| h.decays()) else {
                continue;
            };
            let ratio = hazard.probability_in_window(state, at)
                / hazard.probability_in_window(state, first);
            // Odds arithmetic may round a falling p up by an ulp or so: such a ratio keeps all.
            debug_assert!(ratio <= 1.0 + 1e-12, "a decay rose: {ratio}");
            if ratio < 1.0 && draw(rng) >= fixed(ratio) {
                kept &= !(1 << e);
            }
        }
        kept
    }
}

impl Hazards {
    fn new(model: &Model, segments: &Segments) -> Hazards {
        // The set of items whose hazard can happen in a segment (its window holds it, p > 0).
        let in_segment = |hazards: &mut dyn Iterator<Item = Option<&Hazard>>,
                          (first, _): (u32, u32)| {
            hazards.enumerate().fold(0u64, |set, (i, h)| match h {
                Some(h) if h.live(first) => set | 1 << i,
                _ => set,
            })
        };
        let (mut starts_in, mut ends_in, mut outcomes_in) = (Vec::new(), Vec::new(), Vec::new());
        for &segment in &segments.ranges {
            let events = model.events();
            starts_in.push(in_segment(
                &mut events.iter().map(|e| Some(&e.hazard)),
                segment,
            ));
            ends_in.push(in_segment(
                &mut events.iter().map(|e| e.ends.as_ref()),
                segment,
            ));
            let outcomes = model.outcomes();
            outcomes_in.push(in_segment(
                &mut outcomes.iter().map(|o| o.hazard.as_ref()),
                segment,
            ));
        }
        let n = model.events().len();
        let mut event_readers = vec![0u64; MAX_EVENTS];
        let mut outcome_readers = vec![0u64; MAX_EVENTS];
        for e in 0..n {
            for b in bits(model.event_reads(e)) {
                event_readers[b] |= 1 << e;
            }
        }
        for (o, outcome) in model.outcomes().iter().enumerate() {
            if let Some(h) = &outcome.hazard {
                for b in bits(h.reads()) {
                    outcome_readers[b] |= 1 << o;
                }
            }
        }
        let varying = |hazards: &mut dyn Iterator<Item = bool>| {
            hazards
                .enumerate()
                .fold(0u64, |set, (i, v)| if v { set | 1 << i } else { set })
        };
        let unsteady = |h: Option<&Hazard>| h.is_some_and(|h| !h.is_steady());
        let varying_events = varying(
            &mut model
                .events()
                .iter()
                .map(|e| unsteady(Some(&e.hazard)) || unsteady(e.ends.as_ref())),
        );
        let varying_outcomes =
            varying(&mut model.outcomes().iter().map(|o| unsteady(o.hazard.as_ref())));
        Hazards {
            events: vec![0.0; n],
            ln_none: vec![0.0; n],
            remembered: Remembered::new(model, segments.ranges.len()),
            outcomes: vec![0.0; model.outcomes().len()],
            eligible: 0,
            state: 0,
            segment: 0,
            valid: false,
            starts_in,
            ends_in,
            outcomes_in,
            event_readers,
            outcome_readers,
            varying_events,
            varying_outcomes,
        }
    }

    /// Makes these the hazards of `state` in `segment`, and returns the events and outcomes
    /// whose hazards may have changed (all of them on the first call). The probabilities are
    /// computed as `Model::step_hazards` computes them, so they are the same numbers whichever
    /// way they were reached.
    fn update(
        &mut self,
        model: &Model,
        segments: &Segments,
        state: u64,
        segment: usize,
    ) -> (u64, u64) {
        let all = |n: usize| if n == 0 { 0 } else { u64::MAX >> (64 - n) };
        let (all_events, all_outcomes) = (all(self.events.len()), all(self.outcomes.len()));
        let (stale_events, stale_outcomes) = if self.valid {
            // An event whose own bit changed now starts or ends instead.
            let changed = state ^ self.state;
            let (mut events, mut outcomes) = (changed, 0u64);
            for b in bits(changed) {
                events |= self.event_readers[b];
                outcomes |= self.outcome_readers[b];
            }
            let (old, new) = (self.segment, segment);
            let mut moved = (self.starts_in[old] ^ self.starts_in[new])
                | (self.ends_in[old] ^ self.ends_in[new]);
            let mut moved_outcomes = self.outcomes_in[old] ^ self.outcomes_in[new];
            if old != new {
                moved |= self.varying_events;
                moved_outcomes |= self.varying_outcomes;
            }
            (events | moved, outcomes | moved_outcomes)
        } else {
            (all_events, all_outcomes)
        };
        let (stale_events, stale_outcomes) =
            (stale_events & all_events, stale_outcomes & all_outcomes);
        let (starts_in, ends_in) = (self.starts_in[segment], self.ends_in[segment]);
        // Every hazard is constant over a segment: its first step stands for all.
        let step = segments.ranges[segment].0;
        for e in bits(stale_events) {
            let in_effect = state >> e & 1 == 1;
            let window = if in_effect { ends_in } else { starts_in };
            let (p, ln_none) = match model.change_hazard(e, state) {
                Some(h) if window >> e & 1 == 1 => {
                    let which = 2 * e + usize::from(in_effect);
                    self.remembered.get(h, which, state, segment, step)
                }
                _ => (0.0, 0.0),
            };
            self.events[e] = p;
            self.ln_none[e] = ln_none;
            if p > 0.0 {
                self.eligible |= 1 << e;
            } else {
                self.eligible &= !(1 << e);
            }
        }
        let outcomes_in = self.outcomes_in[segment];
        for o in bits(stale_outcomes) {
            self.outcomes[o] = match &model.outcomes()[o].hazard {
                Some(h) if outcomes_in >> o & 1 == 1 => h.probability_in_window(state, step),
                _ => 0.0,
            };
        }
        self.state = state;
        self.segment = segment;
        self.valid = true;
        (stale_events, stale_outcomes)
    }
}

/// Each event's probability of changing in a segment, with ln(1 - p) for its clock, remembered
/// by the values of the bits its hazard reads (its probability depends on the set through
/// them alone, so the remembered number is the one the hazard computes). A path's jumps
/// recompute the hazards of the events they touch (conditions, modifiers, odds) and redraw
/// their clocks, over and over for the same few values.
struct Remembered {
    /// By event and hazard (`2 e` its start, `2 e + 1` its end): the bits the hazard reads
    /// and where its values begin (by segment, then index), or `None` when there is no room
    /// for them: then they are computed each time.
    hazards: Vec<Option<(Reads, usize)>>,
    /// (p, ln(1 - p)); p is NaN until computed.
    values: Vec<(f64, f64)>,
}

/// The most values a kernel remembers (16 bytes each).
const REMEMBERED: usize = 1 << 16;

impl Remembered {
    fn new(model: &Model, segments: usize) -> Remembered {
        let mut size = 0;
        let hazards = model
            .events()
            .iter()
            .flat_map(|e| [Some(&e.hazard), e.ends.as_ref()])
            .map(|hazard| {
                let reads = Reads::of(hazard?);
                // Wider hazards would not fit anyway (and the shift could lose bits).
                let values =
                    (reads.width() <= REMEMBERED.ilog2()).then(|| segments << reads.width())?;
                (size + values <= REMEMBERED).then(|| {
                    size += values;
                    (reads, size - values)
                })
            })
            .collect();
        Remembered {
            hazards,
            values: vec![(f64::NAN, 0.0); size],
        }
    }

    /// The probability of `hazard` (`which` of [`Remembered::hazards`]) in `state` at `step`
    /// of segment `segment`, and ln(1 - p).
    #[inline]
    fn get(
        &mut self,
        hazard: &Hazard,
        which: usize,
        state: u64,
        segment: usize,
        step: u32,
    ) -> (f64, f64) {
        let compute = || {
            let p = hazard.probability_in_window(state, step);
            (p, libm::log1p(-p))
        };
        let Some((reads, first)) = &self.hazards[which] else {
            return compute();
        };
        let at = first + (segment << reads.width()) + reads.index(state);
        if self.values[at].0.is_nan() {
            self.values[at] = compute();
        }
        self.values[at]
    }
}

/// What the cache knows of the state that last used one of its slots.
#[derive(Debug, Clone, Copy)]
struct Slot {
    happened: u64,
    segment: u16,
    visits: u8,
    /// Its full table, or `NO_TABLE`.
    table: u32,
}

const NO_TABLE: u32 = u32::MAX;
/// A segment number no model has (they have at most one per step, and a horizon is at most
/// `MAX_HORIZON` = 10,000 steps).
const NO_SEGMENT: u16 = u16::MAX;

/// The states met so far: a direct-mapped cache of `SLOTS` slots (one multiplication and one
/// load per jump, no probing: a state that lands on another's slot takes it) and up to
/// `MAX_CACHED_TABLES` full tables, reused in turn when all are taken.
struct TableCache {
    slots: Vec<Slot>,
    tables: Vec<StateTable>,
    /// The slot each table was built for.
    owners: Vec<u32>,
    /// The table to reuse next when all are taken.
    next: usize,
    /// The table of a state met only a few times.
    scratch: StateTable,
}

impl TableCache {
    fn new() -> TableCache {
        TableCache {
            slots: vec![
                Slot {
                    happened: 0,
                    segment: NO_SEGMENT,
                    visits: 0,
                    table: NO_TABLE,
                };
                SLOTS
            ],
            tables: Vec::new(),
            owners: Vec::new(),
            next: 0,
            scratch: StateTable::default(),
        }
    }

    fn slot_of(happened: u64, segment: u16) -> usize {
        let h = (happened ^ u64::from(segment).rotate_right(16)).wrapping_mul(GAMMA);
        (h >> (64 - SLOT_BITS)) as usize
    }

    fn get(
        &mut self,
        model: &Model,
        segments: &Segments,
        hazards: &mut Hazards,
        happened: u64,
        segment: usize,
    ) -> &StateTable {
        let segment16 = segment as u16;
        let i = Self::slot_of(happened, segment16);
        let slot = self.slots[i];
        let visits = if slot.happened == happened && slot.segment == segment16 {
            if slot.table != NO_TABLE {
                return &self.tables[slot.table as usize];
            }
            slot.visits.saturating_add(1)
        } else {
            1
        };
        hazards.update(model, segments, happened, segment);
        if visits < TABLE_AT_VISIT {
            self.slots[i] = Slot {
                happened,
                segment: segment16,
                visits,
                table: NO_TABLE,
            };
            self.scratch
                .fill(&hazards.events, hazards.eligible, &hazards.outcomes);
            return &self.scratch;
        }
        // Visited often: this state pays for a table.
        let t = if self.tables.len() < MAX_CACHED_TABLES {
            self.tables.push(StateTable::default());
            self.owners.push(i as u32);
            self.tables.len() - 1
        } else {
            let t = self.next;
            self.next = (self.next + 1) % MAX_CACHED_TABLES;
            let owner = &mut self.slots[self.owners[t] as usize];
            if owner.table == t as u32 {
                owner.table = NO_TABLE;
            }
            self.owners[t] = i as u32;
            t
        };
        let table = &mut self.tables[t];
        table.fill(&hazards.events, hazards.eligible, &hazards.outcomes);
        table.complete();
        self.slots[i] = Slot {
            happened,
            segment: segment16,
            visits,
            table: t as u32,
        };
        &self.tables[t]
    }
}

/// How a kernel draws a path. Both give the chain of the scenario format, so a scenario's
/// distribution is the same either way; each path's numbers depend on the method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Jump from change to change, drawing the waiting time and what happens from the state's
    /// table: cheap when states recur, so that tables are cached (a few events).
    Jumps,
    /// Keep for each event the step at which it next changes, and for the outcome block the
    /// step at which it happens, each drawn when its probability changes: a jump costs a
    /// draw per event whose probability it changes, not a pass over every eligible event
    /// (many events, most of them independent of most others).
    Clocks,
}

/// A model with this many events or more is drawn by [`Method::Clocks`]. On issue 15's suite
/// the clocks are faster from 16 events on, whatever the conditions, and slower on the
/// presets' 12 to 14 events, whose paths meet the same states over and over.
const CLOCKS_FROM_EVENTS: usize = 16;

impl Method {
    /// The method [`Kernel::new`] takes for `model`. It depends on the model alone, so a run's
    /// numbers depend on its scenario and seed alone.
    pub fn for_model(model: &Model) -> Method {
        if model.events().len() >= CLOCKS_FROM_EVENTS {
            Method::Clocks
        } else {
            Method::Jumps
        }
    }
}

/// A step no clock reaches.
const NEVER: u32 = u32::MAX;

/// [`Method::Clocks`]: the next step at which each event changes, and at which the outcome
/// block happens (`NEVER` past the horizon), with the probability each was drawn with. A
/// clock is drawn again from the step after its probability changed or it came round; the
/// others stay as they are, because a chance per step that has not changed has no memory (a
/// condition or a modifier whose reads changed but whose value did not leaves p as it was).
/// An event drawn by thinning keeps its clock through its segment, at the segment's first
/// probability, and is drawn again when a change it drew is not kept.
struct Clocks {
    events: Vec<u32>,
    p: Vec<f64>,
    outcomes: u32,
    block: f64,
}

impl Clocks {
    /// Draws from step `from` the clocks of the events in `stale` whose probability changed,
    /// of those in `due` whatever their probability, and of the outcome block if `outcomes`
    /// and its probability changed (or `from` is a path's first step).
    #[allow(clippy::too_many_arguments)]
    fn draw(
        &mut self,
        rng: &mut PathRng,
        hazards: &Hazards,
        stale: u64,
        due: u64,
        outcomes: bool,
        from: u32,
        horizon: u32,
    ) {
        for e in bits(stale | due) {
            let p = hazards.events[e];
            if due >> e & 1 == 1 || p != self.p[e] {
                self.p[e] = p;
                self.events[e] = clock(rng, p, hazards.ln_none[e], from, horizon);
            }
        }
        if outcomes {
            let block = hazards
                .outcomes
                .iter()
                .fold(0.0, |a, &h| at_least_one(a, h));
            if block != self.block || from == 1 {
                self.block = block;
                self.outcomes = clock(rng, block, libm::log1p(-block), from, horizon);
            }
        }
    }

    fn next(&self) -> u32 {
        self.events.iter().fold(self.outcomes, |a, &c| a.min(c))
    }

    /// The events whose clock is at `step`.
    fn at(&self, step: u32) -> u64 {
        self.events
            .iter()
            .enumerate()
            .fold(0, |set, (e, &c)| set | u64::from(c == step) << e)
    }
}

/// The first step from `from` on at which a chance of `p` per step (`ln_none` = ln(1 - p))
/// comes true, or `NEVER` if none up to `horizon` does.
fn clock(rng: &mut PathRng, p: f64, ln_none: f64, from: u32, horizon: u32) -> u32 {
    if p <= 0.0 {
        return NEVER;
    }
    if p >= 1.0 {
        return from;
    }
    wait_for(draw(rng), fixed(p), ln_none, horizon - from + 1).map_or(NEVER, |k| from + k)
}

/// The outcome that happens when the block does, given the hazard of each outcome (0 when it
/// is not eligible): the first with `u < fixed(cumulative h / total h)`, without a draw when
/// only one is eligible.
fn choose_outcome(rng: &mut PathRng, hazards: &[f64]) -> usize {
    let eligible = hazards.iter().filter(|&&h| h > 0.0).count();
    let last = hazards.iter().rposition(|&h| h > 0.0).unwrap_or(0);
    if eligible <= 1 {
        return last;
    }
    let total: f64 = hazards.iter().sum();
    let u = draw(rng);
    let mut cumulative = 0.0;
    (0..last)
        .find(|&o| {
            cumulative += hazards[o];
            hazards[o] > 0.0 && u < fixed(cumulative / total)
        })
        .unwrap_or(last)
}

/// What a kernel keeps from path to path for its method.
enum Store {
    Jumps(Box<TableCache>),
    Clocks(Clocks),
}

/// Simulates paths of one model; keeps a cache of state tables (by jumps), so reuse it across
/// paths.
pub struct Kernel<'m> {
    model: &'m Model,
    /// The seed's key: each path's stream starts from it and the path number.
    key: u64,
    segments: Segments,
    hazards: Hazards,
    store: Store,
}

impl<'m> Kernel<'m> {
    /// The most memory a kernel of `model` can hold, in bytes, whichever its method: a full
    /// cache of state tables, each with buffers of the largest sizes `StateTable::fill` can
    /// give them (vectors grown by pushing have a power of two as capacity), plus the index
    /// and the remembered probabilities.
    pub fn max_bytes(model: &Model) -> usize {
        use std::mem::size_of;
        let pushed = |n: usize| n.next_power_of_two().max(4);
        let items = model.events().len() + 1;
        let outcomes = model.outcomes().len();
        let buffers = pushed(items) * (size_of::<Item>() + 3 * size_of::<f64>())
            + pushed(outcomes) * (size_of::<usize>() + 2 * size_of::<u64>());
        // Seven allocations of 16 bytes of bookkeeping each, and the table's owner.
        let table = size_of::<StateTable>() + buffers + 7 * 16 + size_of::<u32>();
        MAX_CACHED_TABLES * table + SLOTS * size_of::<Slot>() + REMEMBERED * size_of::<(f64, f64)>()
    }

    /// A kernel for `model` and `seed`, by the method [`Method::for_model`] picks.
    pub fn new(model: &'m Model, seed: u64) -> Kernel<'m> {
        Kernel::with_method(model, seed, Method::for_model(model))
    }

    /// A kernel for `model` and `seed` that draws by `method` (for benchmarks and tests: a
    /// run takes [`Kernel::new`]'s).
    pub fn with_method(model: &'m Model, seed: u64, method: Method) -> Kernel<'m> {
        let segments = Segments::new(model);
        let store = match method {
            Method::Jumps => Store::Jumps(Box::new(TableCache::new())),
            Method::Clocks => Store::Clocks(Clocks {
                events: vec![NEVER; model.events().len()],
                p: vec![0.0; model.events().len()],
                outcomes: NEVER,
                block: 0.0,
            }),
        };
        Kernel {
            model,
            key: PathRng::key(seed),
            hazards: Hazards::new(model, &segments),
            segments,
            store,
        }
    }

    /// An empty record for paths of this kernel's model.
    pub fn new_record(&self) -> PathRecord {
        PathRecord::new(self.model)
    }

    /// Simulates path number `path` into `record`.
    pub fn run_path(&mut self, path: u64, record: &mut PathRecord) {
        let rng = &mut PathRng::from_key(self.key, path);
        record.path = path;
        record.event_steps.fill(0);
        record.changes.clear();
        let model = self.model;
        let (ended, happened) = match &mut self.store {
            Store::Jumps(cache) => {
                jumps(model, &self.segments, &mut self.hazards, cache, rng, record)
            }
            Store::Clocks(clocks) => run_clocks(
                model,
                &self.segments,
                &mut self.hazards,
                clocks,
                rng,
                record,
            ),
        };
        match ended {
            Some((outcome, step)) => record.finish(model, outcome, step, happened, false),
            None => {
                let outcome = model.horizon_outcome(happened);
                record.finish(model, outcome, model.horizon(), happened, true);
            }
        }
    }
}

/// Books the changes `new` at step `at` from state `happened` in `record`, and returns the
/// state after them.
#[inline]
fn book(record: &mut PathRecord, model: &Model, happened: u64, new: u64, at: u32) -> u64 {
    for e in bits(new & !happened) {
        if record.event_steps[e] == 0 {
            record.event_steps[e] = at;
        }
    }
    for e in bits(new & model.ends_mask()) {
        record.changes.push((at, e as u8));
    }
    model.apply(happened, new)
}

/// How a path ended: its outcome and the step of it, or `None` at the horizon; and the state
/// then.
type Ending = (Option<(usize, u32)>, u64);

/// One path by [`Method::Jumps`].
fn jumps(
    model: &Model,
    segments: &Segments,
    hazards: &mut Hazards,
    cache: &mut TableCache,
    rng: &mut PathRng,
    record: &mut PathRecord,
) -> Ending {
    let mut happened = 0u64;
    let mut t = 1;
    while t <= model.horizon() {
        let segment = segments.of(t);
        let segment_end = segments.ranges[segment].1;
        let table = cache.get(model, segments, hazards, happened, segment);
        let at = if table.is_certain() {
            t
        } else if table.items.is_empty() {
            t = segment_end + 1;
            continue;
        } else if let Some(waited) = table.wait(rng, segment_end - t + 1) {
            t + waited
        } else {
            t = segment_end + 1;
            continue;
        };
        let mut new = table.certain;
        let mut outcome_block = table.certain_outcome;
        let mut happen = |item: Item| match item {
            Item::Event(bit) => new |= 1 << bit,
            Item::Outcomes => outcome_block = true,
        };
        let mut level = 1.0;
        let mut next = 0;
        if !table.is_certain() {
            let i = table.first_item(draw(rng));
            happen(table.items[i]);
            level = table.none[i];
            next = i + 1;
        }
        while next < table.items.len() {
            let v = draw_complement(rng) * level;
            let j = next + table.none[next..].partition_point(|&n| n >= v);
            if j == table.items.len() {
                break;
            }
            happen(table.items[j]);
            level = table.none[j];
            next = j + 1;
        }
        let new = segments.thin(model, rng, new, happened, at, segment);
        happened = book(record, model, happened, new, at);
        if outcome_block {
            return (Some((table.choose_outcome(rng), at)), happened);
        }
        t = at + 1;
    }
    (None, happened)
}

/// One path by [`Method::Clocks`].
fn run_clocks(
    model: &Model,
    segments: &Segments,
    hazards: &mut Hazards,
    clocks: &mut Clocks,
    rng: &mut PathRng,
    record: &mut PathRecord,
) -> Ending {
    let horizon = model.horizon();
    let all_events = (u64::MAX)
        .checked_shr(64 - model.events().len() as u32)
        .unwrap_or(0);
    let mut happened = 0u64;
    let mut segment = segments.of(1);
    hazards.update(model, segments, happened, segment);
    clocks.draw(rng, hazards, 0, all_events, true, 1, horizon);
    loop {
        let at = clocks.next();
        let segment_end = segments.ranges[segment].1;
        let (stale, due, stale_outcomes, from) = if at > segment_end {
            // Nothing happens in this segment: the next one may change probabilities.
            if segment_end >= horizon {
                return (None, happened);
            }
            segment = segments.of(segment_end + 1);
            let (events, outcomes) = hazards.update(model, segments, happened, segment);
            (events, 0, outcomes, segment_end + 1)
        } else {
            let fired = clocks.at(at);
            let new = segments.thin(model, rng, fired, happened, at, segment);
            let outcome_block = clocks.outcomes == at;
            if outcome_block {
                // The outcome is chosen by the hazards of the state before this step's changes.
                let outcome = choose_outcome(rng, &hazards.outcomes);
                happened = book(record, model, happened, new, at);
                return (Some((outcome, at)), happened);
            }
            happened = book(record, model, happened, new, at);
            if at >= horizon {
                return (None, happened);
            }
            segment = segments.of(at + 1);
            let (events, outcomes) = hazards.update(model, segments, happened, segment);
            // A clock that came round is drawn again, whether or not its change was kept.
            (events, fired, outcomes, at + 1)
        };
        clocks.draw(rng, hazards, stale, due, stale_outcomes != 0, from, horizon);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The waiting time's distribution, exactly: the draws giving a wait of at least k steps
    /// are the top of the range, and their share is P(nothing happens)^k to within rounding.
    #[test]
    fn waits_are_geometric() {
        for (p, remaining) in [(0.1, 200), (0.9, 40), (1e-6, 10_000), (0.5, 1)] {
            let mut table = StateTable::default();
            table.fill(&[p], 1, &[]);
            let wait =
                |u| wait_for(u, table.any_threshold, table.ln_none, remaining).unwrap_or(remaining);
            // The smallest draw that waits at least k steps (waits never fall as u grows).
            let least = |k: u32| {
                let (mut low, mut high) = (0u64, ONE);
                while low < high {
                    let mid = low + (high - low) / 2;
                    if wait(mid) >= k {
                        high = mid;
                    } else {
                        low = mid + 1;
                    }
                }
                low
            };
            let ks = [1, 2, 3, 7, remaining / 2, remaining];
            for k in ks.into_iter().filter(|&k| k >= 1 && k <= remaining) {
                let share = (ONE - least(k)) as f64 / ONE as f64;
                let want = (1.0 - p).powi(k as i32);
                assert!(
                    (share - want).abs() <= 1e-12 * want.max(1e-300) + 4.0 / ONE as f64,
                    "p {p}, k {k}: P(wait >= k) is {share}, not {want}"
                );
            }
            for u in (0..ONE).step_by((ONE / 100_003) as usize) {
                assert!(wait(u) <= wait(u + 1), "p {p}: the wait falls at {u}");
            }
        }
    }
}
