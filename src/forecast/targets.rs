//! Calibration targets: `[[targets]]` in a scenario file, checked into questions with the range
//! the answer should fall in, and the check of a model against them.

use super::answer::exact_answers;
use super::question::{Deadline, Mode, Question, QuestionError};
use crate::error::ScenarioError;
use crate::exact::{ExactError, Limits};
use crate::export::csv::{number, to_bytes};
use crate::model::Model;
use crate::output::{percent, table};
use crate::scenario::document::{Loc, TargetDoc};
use crate::scenario::source::Sources;

/// A checked target: the model should answer `question` with a value in [low, high].
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub question: Question,
    pub low: f64,
    pub high: f64,
    /// The value as written: `[0.1, 0.24]` or `0.14 +/- 0.02`.
    pub written: String,
    pub source: String,
}

impl Target {
    pub fn is_met(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }

    /// "meeting by 2025-12-31 (step 19)".
    pub fn describe(&self) -> String {
        format!(
            "{} {} {} (step {})",
            self.question.text,
            self.question.mode.name(),
            self.question.deadline,
            self.question.step
        )
    }
}

fn error<T>(
    sources: &Sources,
    loc: &Loc<T>,
    key: &str,
    message: impl Into<String>,
) -> ScenarioError {
    sources.error(loc.source, &loc.span, key, message)
}

fn probability(value: &toml::Value) -> Option<f64> {
    match value {
        toml::Value::Float(x) => Some(*x),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

/// Checks the targets of a scenario against its model; errors name the file, line and key.
pub fn compile(
    docs: &[TargetDoc],
    sources: &Sources,
    model: &Model,
) -> Result<Vec<Target>, ScenarioError> {
    docs.iter()
        .enumerate()
        .map(|(i, doc)| compile_one(i, doc, sources, model))
        .collect()
}

fn compile_one(
    i: usize,
    doc: &TargetDoc,
    sources: &Sources,
    model: &Model,
) -> Result<Target, ScenarioError> {
    let key = |name: &str| format!("targets[{i}].{name}");
    let (mode, deadline_loc, deadline_key) = match (&doc.by, &doc.at) {
        (Some(by), None) => (Mode::By, by, key("by")),
        (None, Some(at)) => (Mode::At, at, key("at")),
        (Some(_), Some(at)) => {
            return Err(error(
                sources,
                at,
                &key("at"),
                "give either by or at, not both",
            ))
        }
        (None, None) => {
            return Err(error(
                sources,
                &doc.question,
                &key("by"),
                "missing; give the deadline, e.g. by = 2025-12-31 or by = 52",
            ))
        }
    };
    let deadline = Deadline::from_toml(&deadline_loc.value)
        .map_err(|m| error(sources, deadline_loc, &deadline_key, m))?;
    let question =
        Question::new(model, &doc.question.value, mode, deadline).map_err(|e| match e {
            QuestionError::Deadline(m) => error(sources, deadline_loc, &deadline_key, m),
            QuestionError::Condition(c) | QuestionError::UnknownId(c) => error(
                sources,
                &doc.question,
                &key("question"),
                format!("{c} in {}", crate::scenario::echo(&doc.question.value)),
            ),
        })?;
    let value_key = key("value");
    let outside = |x: f64| {
        error(
            sources,
            &doc.value,
            &value_key,
            format!("{x} is outside [0, 1]: a target is a probability"),
        )
    };
    let (low, high, written) = match (&doc.value.value, &doc.tolerance) {
        (toml::Value::Array(items), None) => {
            let bounds: Option<Vec<f64>> = items.iter().map(probability).collect();
            let Some([low, high]) = bounds
                .as_deref()
                .map(<[f64; 2]>::try_from)
                .and_then(Result::ok)
            else {
                return Err(error(
                    sources,
                    &doc.value,
                    &value_key,
                    "expected [low, high], two numbers, or one number with a tolerance",
                ));
            };
            if let Some(x) = [low, high].into_iter().find(|x| !(0.0..=1.0).contains(x)) {
                return Err(outside(x));
            }
            if low > high {
                return Err(error(
                    sources,
                    &doc.value,
                    &value_key,
                    format!("[{low}, {high}]: the low end is above the high end"),
                ));
            }
            (low, high, format!("[{low}, {high}]"))
        }
        (toml::Value::Array(_), Some(tolerance)) => {
            return Err(error(
                sources,
                tolerance,
                &key("tolerance"),
                "a range [low, high] needs no tolerance; give one or the other",
            ))
        }
        (value, tolerance) => {
            let Some(x) = probability(value) else {
                return Err(error(
                    sources,
                    &doc.value,
                    &value_key,
                    format!("expected [low, high] or a number, found {value}"),
                ));
            };
            if !(0.0..=1.0).contains(&x) {
                return Err(outside(x));
            }
            let Some(tolerance) = tolerance else {
                return Err(error(
                    sources,
                    &doc.value,
                    &key("tolerance"),
                    "missing; a single value needs a tolerance, e.g. tolerance = 0.02 (or give \
                     value = [low, high])",
                ));
            };
            let t = tolerance.value;
            if !(t >= 0.0 && t.is_finite()) {
                return Err(error(
                    sources,
                    tolerance,
                    &key("tolerance"),
                    format!("tolerance {t} must be a finite number >= 0"),
                ));
            }
            ((x - t).max(0.0), (x + t).min(1.0), format!("{x} +/- {t}"))
        }
    };
    Ok(Target {
        question,
        low,
        high,
        written,
        source: doc
            .source
            .as_ref()
            .map(|s| s.value.clone())
            .unwrap_or_default(),
    })
}

/// A target with the model's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked<'a> {
    pub target: &'a Target,
    pub value: f64,
    pub met: bool,
}

/// Computes every target exactly.
pub fn check<'a>(
    model: &Model,
    targets: &'a [Target],
    limits: &Limits,
) -> Result<Vec<Checked<'a>>, ExactError> {
    let questions: Vec<Question> = targets.iter().map(|t| t.question.clone()).collect();
    let answers = exact_answers(model, &questions, limits)?;
    Ok(targets
        .iter()
        .zip(answers)
        .map(|(target, answer)| Checked {
            target,
            value: answer.probability,
            met: target.is_met(answer.probability),
        })
        .collect())
}

/// The check as a table for a person.
pub fn render(model: &Model, checked: &[Checked<'_>]) -> String {
    let mut rows = vec![[
        "question", "deadline", "through", "model", "target", "verdict", "source",
    ]
    .map(String::from)
    .to_vec()];
    for c in checked {
        let q = &c.target.question;
        rows.push(vec![
            q.text.clone(),
            format!("{} {}", q.mode.name(), q.deadline),
            through(model, q.step),
            percent(c.value),
            c.target.written.clone(),
            (if c.met { "met" } else { "UNMET" }).to_string(),
            c.target.source.clone(),
        ]);
    }
    table(&rows)
}

/// "step 19 (to 2026-01-05)": the last step counted, and the day it ends.
pub fn through(model: &Model, step: u32) -> String {
    match model.end_date_of(step) {
        Some(end) => format!("step {step} (to {end})"),
        None => format!("step {step}"),
    }
}

/// The rows of a target table, before and after a change (the same values for a plain check).
pub fn table_bytes(
    model: &Model,
    before: &[Checked<'_>],
    after: &[Checked<'_>],
) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![super::header(
        &[],
        &[
            "target_low",
            "target_high",
            "source",
            "before",
            "met_before",
            "after",
            "met_after",
        ],
    )];
    let yes_no = |met: bool| (if met { "yes" } else { "no" }).to_string();
    for (b, a) in before.iter().zip(after) {
        let mut row = super::question_cells(model, &b.target.question);
        row.extend([
            number(b.target.low),
            number(b.target.high),
            b.target.source.clone(),
            number(b.value),
            yes_no(b.met),
            number(a.value),
            yes_no(a.met),
        ]);
        rows.push(row);
    }
    to_bytes(rows)
}
