//! The compiled model: a validated scenario in the form the simulator and the solver use.
//!
//! Events are numbered in file order; the state of a path is a `u64` bit set: bit i = event i
//! is in effect. An event that can end also has an *ever* bit, numbered after the events in
//! the order of such events, set from its first start on; for an event that never ends, its own
//! bit says both. Outcomes are numbered in file order too.

use crate::rate::Rate;
use crate::scenario::condition::{Condition, Test};
use crate::uncertainty::Uncertain;
use chrono::{Months, NaiveDate};
use std::fmt;

/// The most state bits: events, plus one for each event that can end.
pub const MAX_EVENTS: usize = 64;

/// The members of an event set, lowest first.
pub fn bits(set: u64) -> impl Iterator<Item = usize> {
    let mut rest = set;
    std::iter::from_fn(move || {
        (rest != 0).then(|| {
            let bit = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            bit
        })
    })
}

/// The bits a hazard reads, gathered from a set into a small index: its probability at a step
/// depends on the set only through them (its condition and modifiers read nothing else), so
/// the solver and the kernel remember it by this index.
#[derive(Debug, Clone)]
pub(crate) struct Reads {
    positions: Vec<u8>,
}

impl Reads {
    pub(crate) fn of(hazard: &Hazard) -> Reads {
        Reads {
            positions: bits(hazard.reads()).map(|b| b as u8).collect(),
        }
    }

    /// How many bits the index has.
    pub(crate) fn width(&self) -> u32 {
        self.positions.len() as u32
    }

    /// Bit j of the index is the j-th bit read, in `set`.
    #[inline]
    pub(crate) fn index(&self, set: u64) -> usize {
        self.positions
            .iter()
            .enumerate()
            .fold(0, |i, (j, &b)| i | ((set >> b & 1) as usize) << j)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepUnit {
    Day,
    Week,
    Month,
}

impl StepUnit {
    pub fn parse(text: &str) -> Option<StepUnit> {
        match text {
            "day" => Some(StepUnit::Day),
            "week" => Some(StepUnit::Week),
            "month" => Some(StepUnit::Month),
            _ => None,
        }
    }

    /// The date on which step `step` begins, for steps of this unit from `start`.
    pub fn date_of(self, start: NaiveDate, step: u32) -> Option<NaiveDate> {
        let offset = u64::from(step.saturating_sub(1));
        match self {
            StepUnit::Day => start.checked_add_days(chrono::Days::new(offset)),
            StepUnit::Week => start.checked_add_days(chrono::Days::new(offset * 7)),
            StepUnit::Month => start.checked_add_months(Months::new(offset as u32)),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StepUnit::Day => "day",
            StepUnit::Week => "week",
            StepUnit::Month => "month",
        }
    }
}

impl fmt::Display for StepUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A multiplier of an event's odds p/(1-p), in force while its condition holds.
#[derive(Debug, Clone)]
pub struct Modifier {
    pub name: String,
    pub when: Condition,
    /// The factor, which may change over time.
    pub factor: Rate,
}

/// When and how likely something happens at a step. Its fields are read through methods and
/// set only through [`Hazard::new`] (or [`Model::with_parameters`]), so the compiled conditions
/// it keeps beside them always match.
#[derive(Debug, Clone)]
pub struct Hazard {
    p: Rate,
    window: (u32, u32),
    when: Option<Condition>,
    modifiers: Vec<Modifier>,
    /// `when` and the modifiers' conditions, compiled for evaluation.
    tests: (Option<Test>, Vec<Test>),
}

impl Hazard {
    pub fn new(
        p: Rate,
        window: (u32, u32),
        when: Option<Condition>,
        modifiers: Vec<Modifier>,
    ) -> Hazard {
        let tests = (
            when.as_ref().map(Test::new),
            modifiers.iter().map(|m| Test::new(&m.when)).collect(),
        );
        Hazard {
            p,
            window,
            when,
            modifiers,
            tests,
        }
    }

    /// Base probability per step, which may change over time.
    pub fn p(&self) -> &Rate {
        &self.p
    }

    /// Base probability at step `step`.
    pub fn p_at(&self, step: u32) -> f64 {
        self.p.at(step)
    }

    /// Whether it can happen at step `step`: inside its window, with a base p above 0.
    pub fn live(&self, step: u32) -> bool {
        let (first, last) = self.window;
        first <= step && step <= last && self.p.at(step) > 0.0
    }

    /// Whether nothing about it changes over time within its window: its base p and the
    /// factors of its modifiers are constants.
    pub fn is_steady(&self) -> bool {
        self.p.constant().is_some() && self.modifiers.iter().all(|m| m.factor.constant().is_some())
    }

    /// The steps in its window at which its probability may change with time (not with the
    /// state): where a schedule's piece begins, and every step of a decay.
    pub fn changes(&self) -> Vec<u32> {
        let (first, last) = self.window;
        let mut steps = self.p.changes(first, last);
        for m in &self.modifiers {
            steps.extend(m.factor.changes(first, last));
        }
        steps.sort_unstable();
        steps.dedup();
        steps
    }

    /// As [`Hazard::changes`], but only where a schedule's piece begins: the steps at which
    /// the probability may rise as well as fall.
    pub(crate) fn schedule_changes(&self) -> Vec<u32> {
        let (first, last) = self.window;
        let rates = std::iter::once(&self.p).chain(self.modifiers.iter().map(|m| &m.factor));
        let mut steps: Vec<u32> = rates
            .filter(|r| !r.is_decay())
            .flat_map(|r| r.changes(first, last))
            .collect();
        steps.sort_unstable();
        steps.dedup();
        steps
    }

    /// Whether its base p or a factor decays: then between two schedule changes its
    /// probability in a given state never rises (p and factors only fall, and the odds rise
    /// with both).
    pub(crate) fn decays(&self) -> bool {
        self.p.is_decay() || self.modifiers.iter().any(|m| m.factor.is_decay())
    }

    /// First and last step (inclusive) at which it can happen.
    pub fn window(&self) -> (u32, u32) {
        self.window
    }

    /// The condition under which it can happen at all.
    pub fn when(&self) -> Option<&Condition> {
        self.when.as_ref()
    }

    /// The odds modifiers, in file order.
    pub fn modifiers(&self) -> &[Modifier] {
        &self.modifiers
    }

    /// The events whose having happened can change this hazard's probability: those its
    /// condition and its modifiers' conditions mention.
    pub fn reads(&self) -> u64 {
        let when = self.when.as_ref().map_or(0, Condition::mentions);
        self.modifiers
            .iter()
            .fold(when, |acc, m| acc | m.when.mentions())
    }

    /// Whether the probability is the base p whatever happened (no condition, no modifier).
    pub fn is_unconditional(&self) -> bool {
        self.when.is_none() && self.modifiers.is_empty()
    }

    /// The same hazard with another base probability and modifier factors (one per modifier,
    /// in order).
    pub(crate) fn with_values(&self, p: Rate, factors: &[Rate]) -> Hazard {
        let modifiers = self
            .modifiers
            .iter()
            .zip(factors)
            .map(|(m, factor)| Modifier {
                factor: factor.clone(),
                ..m.clone()
            })
            .collect();
        Hazard::new(p, self.window, self.when.clone(), modifiers)
    }

    /// The probability that it happens at `step`, given the set `happened` of events that
    /// happened before that step (0 when it is not eligible).
    pub fn probability(&self, happened: u64, step: u32) -> f64 {
        if step < self.window.0 || step > self.window.1 {
            return 0.0;
        }
        self.probability_in_window(happened, step)
    }

    /// As [`Hazard::probability`], for a step known to lie inside the window.
    pub fn probability_in_window(&self, happened: u64, step: u32) -> f64 {
        let (when, tests) = &self.tests;
        if when.as_ref().is_some_and(|t| !t.holds(happened)) {
            return 0.0;
        }
        let factor: f64 = tests
            .iter()
            .zip(&self.modifiers)
            .filter(|(test, _)| test.holds(happened))
            .map(|(_, m)| m.factor.at(step))
            .product();
        adjust_odds(self.p.at(step), factor)
    }
}

/// Multiplies the odds p/(1-p) by `factor`; 0 stays 0 and 1 stays 1.
pub fn adjust_odds(p: f64, factor: f64) -> f64 {
    if p <= 0.0 || p >= 1.0 || factor == 1.0 {
        return p;
    }
    let odds = p / (1.0 - p) * factor;
    if odds.is_infinite() {
        1.0
    } else {
        odds / (1.0 + odds)
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub label: String,
    /// How it starts.
    pub hazard: Hazard,
    /// How it ends while in effect; `None` for an event that stays once it happened.
    pub ends: Option<Hazard>,
    /// Whether it may start again after it ended.
    pub recurs: bool,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: String,
    pub label: String,
    /// `None` for an outcome that is only ever reached by a horizon rule.
    pub hazard: Option<Hazard>,
}

/// The first rule whose condition holds names the horizon outcome.
#[derive(Debug, Clone)]
pub struct HorizonRule {
    pub when: Condition,
    pub outcome: usize,
}

/// Who may happen at a step, and with which probability: the input of one step of the chain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepHazards {
    /// (event index, probability > 0) in event order.
    pub events: Vec<(usize, f64)>,
    /// (outcome index, probability > 0) in outcome order.
    pub outcomes: Vec<(usize, f64)>,
}

/// What a model is made of: the checked contents of a scenario file.
#[derive(Debug, Clone)]
pub(crate) struct Definition {
    pub id: String,
    pub title: String,
    pub description: String,
    pub sources: Vec<String>,
    pub step: StepUnit,
    pub horizon: u32,
    pub start: Option<NaiveDate>,
    pub paths: u64,
    /// Draws of the uncertain inputs without `--samples`.
    pub samples: u64,
    pub seed: u64,
    pub events: Vec<Event>,
    pub outcomes: Vec<Outcome>,
    pub horizon_rules: Vec<HorizonRule>,
    pub horizon_default: usize,
    /// The inputs given as distributions (their medians are in the hazards), in file order.
    pub uncertain: Vec<Uncertain>,
}

/// A checked scenario, ready to simulate, solve or export. It is read through methods and
/// made only by [`Model::new`] (from a scenario file) or [`Model::with_parameters`], so the
/// state derived from it (the segments) is always in step with its hazards.
#[derive(Debug, Clone)]
pub struct Model {
    def: Definition,
    /// Steps grouped into runs over which no window opens or closes and no probability changes
    /// with time (see [`Hazard::changes`]): `segments[g]` is the inclusive range of steps of
    /// segment g, and `segment_of[t]` the segment of step t.
    segments: Vec<(u32, u32)>,
    segment_of: Vec<u16>,
    /// By event: the bit that says it has ever started (its own bit if it cannot end).
    ever_bits: Vec<u8>,
    /// By event: the state bits its probability of starting or ending reads.
    reads: Vec<u64>,
    /// The events that can end.
    ends_mask: u64,
}

impl Model {
    pub(crate) fn new(def: Definition) -> Model {
        let n = def.events.len();
        let mut next = n as u8;
        let ever_bits: Vec<u8> = (0..n as u8)
            .map(|e| match def.events[e as usize].ends {
                Some(_) => {
                    next += 1;
                    next - 1
                }
                None => e,
            })
            .collect();
        let reads = def
            .events
            .iter()
            .enumerate()
            .map(|(e, event)| {
                let ends = event.ends.as_ref().map_or(0, Hazard::reads);
                let ever = if event.recurs { 0 } else { 1 << ever_bits[e] };
                event.hazard.reads() | ends | ever
            })
            .collect();
        let ends_mask = (0..n)
            .filter(|&e| def.events[e].ends.is_some())
            .fold(0, |acc, e| acc | 1 << e);
        let mut model = Model {
            def,
            segments: Vec::new(),
            segment_of: Vec::new(),
            ever_bits,
            reads,
            ends_mask,
        };
        model.index_segments();
        model
    }

    /// The same model with other values of its parameters (see [`crate::parameters`]): for
    /// each event its start and end hazards, and each outcome's hazard.
    pub(crate) fn rebuilt(
        &self,
        events: Vec<(Hazard, Option<Hazard>)>,
        outcomes: Vec<Option<Hazard>>,
    ) -> Model {
        let mut def = self.def.clone();
        for (event, (hazard, ends)) in def.events.iter_mut().zip(events) {
            event.hazard = hazard;
            event.ends = ends;
        }
        for (outcome, hazard) in def.outcomes.iter_mut().zip(outcomes) {
            outcome.hazard = hazard;
        }
        Model::new(def)
    }

    pub fn id(&self) -> &str {
        &self.def.id
    }

    /// The parameters given as distributions, by `--set` key; the model holds their medians.
    pub fn uncertain(&self) -> &[Uncertain] {
        &self.def.uncertain
    }

    pub fn title(&self) -> &str {
        &self.def.title
    }

    pub fn description(&self) -> &str {
        &self.def.description
    }

    pub fn sources(&self) -> &[String] {
        &self.def.sources
    }

    pub fn step(&self) -> StepUnit {
        self.def.step
    }

    /// The number of steps.
    pub fn horizon(&self) -> u32 {
        self.def.horizon
    }

    pub fn start(&self) -> Option<NaiveDate> {
        self.def.start
    }

    /// The scenario's default number of paths.
    pub fn paths(&self) -> u64 {
        self.def.paths
    }

    /// The scenario's default number of draws of its uncertain inputs.
    pub fn samples(&self) -> u64 {
        self.def.samples
    }

    /// The scenario's default seed.
    pub fn seed(&self) -> u64 {
        self.def.seed
    }

    pub fn events(&self) -> &[Event] {
        &self.def.events
    }

    pub fn outcomes(&self) -> &[Outcome] {
        &self.def.outcomes
    }

    pub fn horizon_rules(&self) -> &[HorizonRule] {
        &self.def.horizon_rules
    }

    /// The outcome of a path that reaches the horizon when no rule applies.
    pub fn horizon_default(&self) -> usize {
        self.def.horizon_default
    }

    /// The runs of steps over which every hazard is constant (no window opens or closes, no
    /// schedule's piece begins, no decay moves), as inclusive ranges.
    pub fn segments(&self) -> &[(u32, u32)] {
        &self.segments
    }

    /// The segment of step `step`.
    pub(crate) fn segment_of(&self, step: u32) -> usize {
        self.segment_of[step as usize] as usize
    }

    /// Every hazard: each event's start and end, then each outcome's.
    pub fn hazards(&self) -> impl Iterator<Item = &Hazard> {
        self.def
            .events
            .iter()
            .flat_map(|e| std::iter::once(&e.hazard).chain(&e.ends))
            .chain(self.def.outcomes.iter().filter_map(|o| o.hazard.as_ref()))
    }

    fn index_segments(&mut self) {
        let (segments, segment_of) = self.segments_cut_by(Hazard::changes);
        self.segments = segments;
        self.segment_of = segment_of;
    }

    /// Runs of steps cut where a hazard's window opens or closes, at the steps an event's
    /// start or end changes by `event_changes`, and wherever an outcome's hazard changes, as
    /// inclusive ranges, and the range of each step (index 0 unused).
    pub(crate) fn segments_cut_by(
        &self,
        event_changes: impl Fn(&Hazard) -> Vec<u32>,
    ) -> (Vec<(u32, u32)>, Vec<u16>) {
        let horizon = self.def.horizon;
        let mut cuts = vec![false; horizon as usize + 2];
        cuts[1] = true;
        let events = self.def.events.iter();
        let outcomes = self.def.outcomes.iter().filter_map(|o| o.hazard.as_ref());
        let changes = events
            .flat_map(|e| std::iter::once(&e.hazard).chain(&e.ends))
            .map(|h| (h, event_changes(h)))
            .chain(outcomes.map(|h| (h, h.changes())));
        for (hazard, steps) in changes {
            let (first, last) = hazard.window;
            cuts[first as usize] = true;
            cuts[last as usize + 1] = true;
            for t in steps {
                cuts[t as usize] = true;
            }
        }
        let mut segments: Vec<(u32, u32)> = Vec::new();
        let mut segment_of = vec![0; horizon as usize + 1];
        for t in 1..=horizon {
            if cuts[t as usize] {
                segments.push((t, t));
            }
            let last = segments.len() - 1;
            segments[last].1 = t;
            segment_of[t as usize] = last as u16;
        }
        (segments, segment_of)
    }

    /// The hazards at `step` given the events that happened before it.
    pub fn step_hazards(&self, happened: u64, step: u32) -> StepHazards {
        let mut hazards = StepHazards::default();
        self.step_hazards_into(happened, step, &mut hazards);
        hazards
    }

    /// As [`Model::step_hazards`], into a buffer that is reused. Each event's probability is
    /// that of changing: of starting when it is not in effect, of ending when it is.
    pub fn step_hazards_into(&self, state: u64, step: u32, hazards: &mut StepHazards) {
        hazards.events.clear();
        hazards.outcomes.clear();
        for e in 0..self.def.events.len() {
            let p = self.change_probability(e, state, step);
            if p > 0.0 {
                hazards.events.push((e, p));
            }
        }
        for (i, outcome) in self.def.outcomes.iter().enumerate() {
            if let Some(hazard) = &outcome.hazard {
                let p = hazard.probability(state, step);
                if p > 0.0 {
                    hazards.outcomes.push((i, p));
                }
            }
        }
    }

    /// The probability that event `e` changes at `step` in `state`: that it starts if it is
    /// not in effect (0 if it ended and may not recur), that it ends if it is (0 if it cannot
    /// end).
    pub fn change_probability(&self, e: usize, state: u64, step: u32) -> f64 {
        let event = &self.def.events[e];
        if state >> e & 1 == 1 {
            event
                .ends
                .as_ref()
                .map_or(0.0, |h| h.probability(state, step))
        } else if !event.recurs && state >> self.ever_bits[e] & 1 == 1 {
            0.0
        } else {
            event.hazard.probability(state, step)
        }
    }

    /// The hazard that governs whether event `e` changes in `state`: its start or its end
    /// (`None` when it cannot change there, whatever the step).
    pub fn change_hazard(&self, e: usize, state: u64) -> Option<&Hazard> {
        let event = &self.def.events[e];
        if state >> e & 1 == 1 {
            event.ends.as_ref()
        } else if !event.recurs && state >> self.ever_bits[e] & 1 == 1 {
            None
        } else {
            Some(&event.hazard)
        }
    }

    /// The state after the events in `changed` changed in `state`: those in effect end, the
    /// others start (and are marked as having ever started).
    pub fn apply(&self, state: u64, changed: u64) -> u64 {
        let started = changed & !state;
        let mut ever = 0;
        for e in bits(started & self.ends_mask) {
            ever |= 1 << self.ever_bits[e];
        }
        (state ^ changed) | ever
    }

    /// The events that can end, as a bit set.
    pub fn ends_mask(&self) -> u64 {
        self.ends_mask
    }

    /// Whether some event can end (then "in effect" and "ever happened" differ).
    pub fn has_ends(&self) -> bool {
        self.ends_mask != 0
    }

    /// The bit of `state` that says event `e` has ever started.
    pub fn ever_bit(&self, e: usize) -> u8 {
        self.ever_bits[e]
    }

    /// The events that have ever started in `state`, as a bit set of events.
    pub fn ever(&self, state: u64) -> u64 {
        if self.ends_mask == 0 {
            return state;
        }
        self.ever_bits
            .iter()
            .enumerate()
            .filter(|&(_, &b)| state >> b & 1 == 1)
            .fold(0, |acc, (e, _)| acc | 1 << e)
    }

    /// The number of state bits: one per event, plus one per event that can end.
    pub fn state_bits(&self) -> usize {
        self.ever_bits
            .iter()
            .map(|&b| usize::from(b) + 1)
            .max()
            .unwrap_or(0)
    }

    /// The state bits whose value can change the probability that event `e` starts or ends
    /// (besides its own bit, which says which of the two).
    pub fn event_reads(&self, e: usize) -> u64 {
        self.reads[e]
    }

    /// The outcome a path gets when it reaches the horizon with `happened`.
    pub fn horizon_outcome(&self, happened: u64) -> usize {
        self.def
            .horizon_rules
            .iter()
            .find(|rule| rule.when.holds(happened))
            .map_or(self.def.horizon_default, |rule| rule.outcome)
    }

    /// The calendar date on which step `step` begins, when the scenario has a start date.
    pub fn date_of(&self, step: u32) -> Option<NaiveDate> {
        self.def.step.date_of(self.def.start?, step)
    }

    /// The last calendar day of step `step` (the day before the next step begins), when the
    /// scenario has a start date: a value "by step t" covers everything up to this day.
    pub fn end_date_of(&self, step: u32) -> Option<NaiveDate> {
        self.date_of(step + 1)?.pred_opt()
    }

    /// "week 3", or "week 3 (2025-09-09)" when the scenario has a start date.
    pub fn describe_step(&self, step: u32) -> String {
        match self.date_of(step) {
            Some(date) => format!("{} {step} ({date})", self.def.step),
            None => format!("{} {step}", self.def.step),
        }
    }

    /// How a condition names state bit `bit`: an event's id, or `ever(id)` for the ever bit
    /// of an event that can end.
    pub fn event_name(&self, bit: u8) -> String {
        match self.ever_bits.iter().position(|&b| b == bit) {
            Some(e) if e != usize::from(bit) => format!("ever({})", self.def.events[e].id),
            _ => self.def.events[bit as usize].id.clone(),
        }
    }

    pub fn render(&self, condition: &Condition) -> String {
        condition.render(&|bit| self.event_name(bit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odds_modifiers_keep_zero_and_one() {
        assert_eq!(adjust_odds(0.0, 10.0), 0.0);
        assert_eq!(adjust_odds(1.0, 0.1), 1.0);
        assert!((adjust_odds(0.5, 3.0) - 0.75).abs() < 1e-15);
        assert!((adjust_odds(0.2, 2.0) - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(adjust_odds(0.5, f64::MAX), 1.0);
        assert!(adjust_odds(0.5, f64::MIN_POSITIVE) < 1e-300);
    }
}
