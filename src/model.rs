//! The compiled model: a validated scenario in the form the simulator and the solver use.
//!
//! Events are numbered in file order; the set of events that happened is a `u64` bit set
//! (bit i = event i). Outcomes are numbered in file order too.

use crate::scenario::condition::{Condition, Test};
use chrono::{Months, NaiveDate};
use std::fmt;

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
    pub factor: f64,
}

/// When and how likely something happens at a step.
#[derive(Debug, Clone)]
pub struct Hazard {
    /// Base probability per step.
    pub p: f64,
    /// First and last step (inclusive) at which it can happen.
    pub window: (u32, u32),
    pub when: Option<Condition>,
    pub modifiers: Vec<Modifier>,
    /// `when` and the modifiers' conditions, compiled for evaluation.
    tests: (Option<Test>, Vec<(Test, f64)>),
}

impl Hazard {
    pub fn new(
        p: f64,
        window: (u32, u32),
        when: Option<Condition>,
        modifiers: Vec<Modifier>,
    ) -> Hazard {
        let tests = (
            when.as_ref().map(Test::new),
            modifiers
                .iter()
                .map(|m| (Test::new(&m.when), m.factor))
                .collect(),
        );
        Hazard {
            p,
            window,
            when,
            modifiers,
            tests,
        }
    }

    /// The probability that it happens at `step`, given the set `happened` of events that
    /// happened before that step (0 when it is not eligible).
    pub fn probability(&self, happened: u64, step: u32) -> f64 {
        if step < self.window.0 || step > self.window.1 {
            return 0.0;
        }
        self.probability_in_window(happened)
    }

    /// As [`Hazard::probability`], for a step known to lie inside the window.
    pub fn probability_in_window(&self, happened: u64) -> f64 {
        let (when, modifiers) = &self.tests;
        if when.as_ref().is_some_and(|t| !t.holds(happened)) {
            return 0.0;
        }
        let factor: f64 = modifiers
            .iter()
            .filter(|(test, _)| test.holds(happened))
            .map(|&(_, factor)| factor)
            .product();
        adjust_odds(self.p, factor)
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
    pub hazard: Hazard,
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

#[derive(Debug, Clone)]
pub struct Model {
    pub id: String,
    pub title: String,
    pub description: String,
    pub sources: Vec<String>,
    pub step: StepUnit,
    pub horizon: u32,
    pub start: Option<NaiveDate>,
    pub paths: u64,
    pub seed: u64,
    pub events: Vec<Event>,
    pub outcomes: Vec<Outcome>,
    pub horizon_rules: Vec<HorizonRule>,
    pub horizon_default: usize,
    /// Steps grouped into runs over which no window opens or closes: `segments[g]` is the
    /// inclusive range of steps of segment g, and `segment_of[t]` the segment of step t.
    pub segments: Vec<(u32, u32)>,
    pub segment_of: Vec<u16>,
}

impl Model {
    /// Fills in the segment tables; called once the events and outcomes are known.
    pub fn index_segments(&mut self) {
        let mut cuts = vec![false; self.horizon as usize + 2];
        cuts[1] = true;
        let windows = self
            .events
            .iter()
            .map(|e| &e.hazard)
            .chain(self.outcomes.iter().filter_map(|o| o.hazard.as_ref()))
            .map(|h| h.window);
        for (first, last) in windows {
            cuts[first as usize] = true;
            cuts[last as usize + 1] = true;
        }
        self.segments.clear();
        self.segment_of = vec![0; self.horizon as usize + 1];
        for t in 1..=self.horizon {
            if cuts[t as usize] {
                self.segments.push((t, t));
            }
            let last = self.segments.len() - 1;
            self.segments[last].1 = t;
            self.segment_of[t as usize] = last as u16;
        }
    }

    /// The hazards at `step` given the events that happened before it.
    pub fn step_hazards(&self, happened: u64, step: u32) -> StepHazards {
        let mut hazards = StepHazards::default();
        self.step_hazards_into(happened, step, &mut hazards);
        hazards
    }

    /// As [`Model::step_hazards`], into a buffer that is reused (the kernel's hot path).
    pub fn step_hazards_into(&self, happened: u64, step: u32, hazards: &mut StepHazards) {
        hazards.events.clear();
        hazards.outcomes.clear();
        for (i, event) in self.events.iter().enumerate() {
            if happened >> i & 1 == 0 {
                let p = event.hazard.probability(happened, step);
                if p > 0.0 {
                    hazards.events.push((i, p));
                }
            }
        }
        for (i, outcome) in self.outcomes.iter().enumerate() {
            if let Some(hazard) = &outcome.hazard {
                let p = hazard.probability(happened, step);
                if p > 0.0 {
                    hazards.outcomes.push((i, p));
                }
            }
        }
    }

    /// The outcome a path gets when it reaches the horizon with `happened`.
    pub fn horizon_outcome(&self, happened: u64) -> usize {
        self.horizon_rules
            .iter()
            .find(|rule| rule.when.holds(happened))
            .map_or(self.horizon_default, |rule| rule.outcome)
    }

    /// The calendar date on which step `step` begins, when the scenario has a start date.
    pub fn date_of(&self, step: u32) -> Option<NaiveDate> {
        let start = self.start?;
        let offset = u64::from(step.saturating_sub(1));
        match self.step {
            StepUnit::Day => start.checked_add_days(chrono::Days::new(offset)),
            StepUnit::Week => start.checked_add_days(chrono::Days::new(offset * 7)),
            StepUnit::Month => start.checked_add_months(Months::new(offset as u32)),
        }
    }

    /// "week 3", or "week 3 (2025-09-09)" when the scenario has a start date.
    pub fn describe_step(&self, step: u32) -> String {
        match self.date_of(step) {
            Some(date) => format!("{} {step} ({date})", self.step),
            None => format!("{} {step}", self.step),
        }
    }

    pub fn event_name(&self, bit: u8) -> String {
        self.events[bit as usize].id.clone()
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
