//! Questions: a condition over events and outcomes, and a deadline.
//!
//! The state of a path at the end of step t is (the events in effect and those that ever
//! started, after steps 1..=t; the outcome if it happened at a step <= t). An outcome ends the
//! path, so after its step the state stays as it was, outcome included, to the horizon; a path that
//! reaches the horizon gets its horizon outcome at the end of step H. A question's condition is
//! evaluated on that state. With `by` it asks whether the condition holds at the end of some
//! step 1..=d; with `at`, whether it holds at the end of step d. A condition with `not` can hold
//! and stop holding (`sanctions and not collapse`), so "by" is not "at" for it.

use crate::model::Model;
use crate::scenario::condition::{self, Condition, ConditionError, Test};
use chrono::NaiveDate;
use std::cell::Cell;
use std::fmt;

/// In a question's condition, outcome o is written as the bit `OUTCOME_BIT + o`: event bits are
/// below 64, and a model has at most 64 outcomes, so both fit the condition's `u8`.
const OUTCOME_BIT: u8 = crate::model::MAX_EVENTS as u8;

/// Whether the question asks about the whole time up to the deadline or the moment itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The condition holds at the end of some step up to the deadline.
    By,
    /// The condition holds at the end of the deadline's step.
    At,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::By => "by",
            Mode::At => "at",
        }
    }
}

/// A deadline as written: a step number or a calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    Step(u32),
    Date(NaiveDate),
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Deadline::Step(t) => write!(f, "{t}"),
            Deadline::Date(d) => write!(f, "{d}"),
        }
    }
}

impl Deadline {
    /// `52` (a step) or `2025-12-31` (a date).
    pub fn parse(text: &str) -> Result<Deadline, String> {
        let text = text.trim();
        if let Ok(step) = text.parse::<i64>() {
            return Deadline::step(step);
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Deadline::Date)
            .map_err(|_| format!("'{text}' is neither a step number nor a date such as 2025-12-31"))
    }

    fn step(step: i64) -> Result<Deadline, String> {
        u32::try_from(step)
            .ok()
            .filter(|&t| t >= 1)
            .map(Deadline::Step)
            .ok_or_else(|| format!("step {step} is not a step number (1, 2, ...)"))
    }

    /// A deadline written in a scenario file: an integer or a plain date.
    pub fn from_toml(value: &toml::Value) -> Result<Deadline, String> {
        match value {
            toml::Value::Integer(step) => Deadline::step(*step),
            toml::Value::Datetime(dt) => match (&dt.date, &dt.time) {
                (Some(d), None) => {
                    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                        .map(Deadline::Date)
                        .ok_or_else(|| format!("'{dt}' is not a date"))
                }
                _ => Err(format!("'{dt}' is not a plain date such as 2025-12-31")),
            },
            other => Err(format!(
                "expected a step number or a date such as 2025-12-31, found {other}"
            )),
        }
    }

    /// The last step the deadline counts. A date means through the end of that day: the steps
    /// that begin on or before it, so the last one may run a few days past it (its end date
    /// says how far). Refuses a deadline outside the horizon.
    pub fn last_step(&self, model: &Model) -> Result<u32, String> {
        let horizon = model.horizon();
        match *self {
            Deadline::Step(t) if t <= horizon => Ok(t),
            Deadline::Step(t) => Err(format!(
                "step {t} is outside the horizon (steps 1 to {horizon})"
            )),
            Deadline::Date(date) => {
                let (Some(first), Some(last)) = (model.date_of(1), model.end_date_of(horizon))
                else {
                    return Err(format!(
                        "the scenario has no start date, so {date} names no step; give a step \
                         number"
                    ));
                };
                if date < first || date > last {
                    return Err(format!(
                        "{date} is outside the horizon ({first} to {last}, steps 1 to {horizon})"
                    ));
                }
                Ok((1..=horizon)
                    .take_while(|&t| model.date_of(t).is_some_and(|d| d <= date))
                    .last()
                    .unwrap_or(1))
            }
        }
    }
}

/// A checked question: what is asked, and the last step it counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// The condition as written.
    pub text: String,
    pub condition: Condition,
    pub mode: Mode,
    pub deadline: Deadline,
    /// The last step counted.
    pub step: u32,
    /// The condition with its outcome terms fixed, one per possible outcome (none, then each
    /// outcome): a condition over events only, compiled to bit masks, because the exact solver
    /// evaluates it for every state it reaches.
    tests: Vec<Test>,
    /// The events the condition names, as a bit set.
    events: u64,
}

impl Question {
    /// Parses and checks a question against `model`. The error says which part is wrong: the
    /// condition (with the column in it) or the deadline.
    pub fn new(
        model: &Model,
        text: &str,
        mode: Mode,
        deadline: Deadline,
    ) -> Result<Question, QuestionError> {
        let condition = parse_condition(model, text)?;
        let step = deadline.last_step(model).map_err(QuestionError::Deadline)?;
        let tests = std::iter::once(None)
            .chain((0..model.outcomes().len()).map(Some))
            .map(|outcome| Test::new(&fix_outcome(&condition, outcome)))
            .collect();
        // Outcome terms become constants, so the events named are the same for every outcome.
        let events = fix_outcome(&condition, None).mentions();
        Ok(Question {
            text: text.trim().to_string(),
            condition,
            mode,
            deadline,
            step,
            tests,
            events,
        })
    }

    /// The events the condition names, as a bit set: whether it holds depends on no others.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Does the condition hold on the state (events that happened, outcome if the path ended)?
    pub fn holds(&self, happened: u64, outcome: Option<usize>) -> bool {
        self.tests[outcome.map_or(0, |o| o + 1)].holds(happened)
    }
}

/// Why a question cannot be asked of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuestionError {
    Condition(ConditionError),
    /// The condition names an id the scenario does not have (a resolutions file may be scored
    /// against scenarios with different events; such questions are skipped there).
    UnknownId(ConditionError),
    Deadline(String),
}

impl fmt::Display for QuestionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuestionError::Condition(e) | QuestionError::UnknownId(e) => e.fmt(f),
            QuestionError::Deadline(m) => f.write_str(m),
        }
    }
}

/// Parses a condition over the events and outcomes of `model`.
fn parse_condition(model: &Model, text: &str) -> Result<Condition, QuestionError> {
    let unknown = Cell::new(false);
    let resolve = |id: &str, ever: bool| -> Result<u8, String> {
        if let Some(e) = model.events().iter().position(|e| e.id == id) {
            return Ok(if ever { model.ever_bit(e) } else { e as u8 });
        }
        if let Some(o) = model.outcomes().iter().position(|o| o.id == id) {
            if ever {
                return Err(format!(
                    "'{id}' is an outcome; ever(...) takes an event (an outcome ends the path, so                      it has happened once it has)"
                ));
            }
            return Ok(OUTCOME_BIT + o as u8);
        }
        unknown.set(true);
        let ids: Vec<&str> = model
            .events()
            .iter()
            .map(|e| e.id.as_str())
            .chain(model.outcomes().iter().map(|o| o.id.as_str()))
            .collect();
        Err(format!(
            "unknown id '{id}' (events and outcomes: {})",
            ids.join(", ")
        ))
    };
    condition::parse(text, &resolve).map_err(|e| {
        if unknown.get() {
            QuestionError::UnknownId(e)
        } else {
            QuestionError::Condition(e)
        }
    })
}

/// The condition with each outcome term replaced by whether `outcome` is that outcome.
fn fix_outcome(condition: &Condition, outcome: Option<usize>) -> Condition {
    match condition {
        Condition::Happened(bit) if *bit >= OUTCOME_BIT => {
            Condition::Const(outcome == Some(usize::from(bit - OUTCOME_BIT)))
        }
        Condition::Const(_) | Condition::Happened(_) => condition.clone(),
        Condition::Not(inner) => Condition::Not(Box::new(fix_outcome(inner, outcome))),
        Condition::And(terms) => {
            Condition::And(terms.iter().map(|c| fix_outcome(c, outcome)).collect())
        }
        Condition::Or(terms) => {
            Condition::Or(terms.iter().map(|c| fix_outcome(c, outcome)).collect())
        }
    }
}

/// Evaluates a question's condition on (events that happened, outcome if the path ended).
pub fn holds(condition: &Condition, happened: u64, outcome: Option<usize>) -> bool {
    match condition {
        Condition::Const(value) => *value,
        Condition::Happened(bit) if *bit < OUTCOME_BIT => happened >> bit & 1 == 1,
        Condition::Happened(bit) => outcome == Some(usize::from(bit - OUTCOME_BIT)),
        Condition::Not(inner) => !holds(inner, happened, outcome),
        Condition::And(terms) => terms.iter().all(|c| holds(c, happened, outcome)),
        Condition::Or(terms) => terms.iter().any(|c| holds(c, happened, outcome)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        crate::scenario::load_preset("baseline", &[]).unwrap().model
    }

    #[test]
    fn dates_count_the_steps_that_begin_on_or_before_them() {
        let model = model();
        // Step 1 begins on 2025-08-26 (a Tuesday); step 18 on 2025-12-23, step 19 on 12-30.
        let step = |text: &str| Deadline::parse(text).unwrap().last_step(&model);
        assert_eq!(step("2025-08-26"), Ok(1));
        assert_eq!(step("2025-09-01"), Ok(1));
        assert_eq!(step("2025-09-02"), Ok(2));
        assert_eq!(step("2025-12-29"), Ok(18));
        assert_eq!(step("2025-12-31"), Ok(19));
        assert_eq!(model.end_date_of(19).unwrap().to_string(), "2026-01-05");
        assert_eq!(step("52"), Ok(52));
        assert_eq!(step("2026-08-24"), Ok(52));
        assert!(step("2026-08-25")
            .unwrap_err()
            .contains("outside the horizon"));
        assert!(step("2025-08-25")
            .unwrap_err()
            .contains("outside the horizon"));
        assert!(step("53").unwrap_err().contains("outside the horizon"));
        assert!(Deadline::parse("0").is_err());
        assert!(Deadline::parse("2025-13-01").is_err());
    }

    #[test]
    fn conditions_name_events_and_outcomes() {
        let model = model();
        let q = Question::new(&model, "peace or meeting", Mode::By, Deadline::Step(3)).unwrap();
        let peace = model
            .outcomes()
            .iter()
            .position(|o| o.id == "peace")
            .unwrap();
        assert!(q.holds(0, Some(peace)));
        assert!(!q.holds(0, Some(peace + 1)));
        assert!(q.holds(1, None)); // meeting is event 0
        assert!(!q.holds(0, None));
        // The compiled tests agree with the condition itself on every outcome.
        let mixed = Question::new(
            &model,
            "(sanctions and not collapse) or (meeting and ceasefire) or not peace",
            Mode::At,
            Deadline::Step(3),
        )
        .unwrap();
        for set in [0u64, 1, 0b1000, 0b1001, u64::MAX >> 50] {
            for outcome in std::iter::once(None).chain((0..model.outcomes().len()).map(Some)) {
                assert_eq!(
                    mixed.holds(set, outcome),
                    holds(&mixed.condition, set, outcome),
                    "{set:b} {outcome:?}"
                );
            }
        }
        let err =
            Question::new(&model, "meeting and metting", Mode::By, Deadline::Step(3)).unwrap_err();
        assert!(
            matches!(&err, QuestionError::UnknownId(e) if e.column == 13),
            "{err:?}"
        );
        let err = Question::new(&model, "meeting and", Mode::By, Deadline::Step(3)).unwrap_err();
        assert!(matches!(err, QuestionError::Condition(_)));
    }
}
