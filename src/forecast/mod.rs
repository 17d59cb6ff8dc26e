//! Forecasting: dated questions about a scenario ([`question`], answered by [`answer`]),
//! calibration targets in scenario files ([`targets`]), fitting parameters to them
//! ([`calibrate`]), and scoring a scenario against what happened ([`score`]).
//! `docs/forecasting.md` describes each as a user meets it.

pub mod answer;
pub mod calibrate;
pub mod input;
pub mod question;
pub mod score;
pub mod targets;

pub use answer::Answer;
pub use question::{Deadline, Mode, Question};
pub use targets::Target;

use crate::analysis::{MethodChoice, MonteCarlo, Used};
use crate::exact::{ExactError, Limits};
use crate::export::csv::{number, optional, to_bytes};
use crate::job::Interrupted;
use crate::model::Model;
use crate::simulate::{RunError, RunOptions};
use std::sync::atomic::AtomicBool;

/// A forecaster's file or flag that cannot be used: names the file, line and column (or the
/// flag). Exit code 2, like a bad scenario.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct InputError {
    pub place: String,
    pub message: String,
}

impl InputError {
    pub fn new(place: &str, message: impl Into<String>) -> InputError {
        InputError {
            place: place.to_string(),
            message: message.into(),
        }
    }
}

/// `check --strict-targets` found targets the scenario does not meet (exit code 4).
#[derive(Debug, thiserror::Error)]
#[error("{unmet} of {total} targets are not met (see the table above)")]
pub struct TargetsUnmet {
    pub unmet: usize,
    pub total: usize,
}

/// How questions are answered: exactly, by Monte Carlo, or exactly when the scenario solves.
pub struct Engine<'a> {
    pub choice: MethodChoice,
    pub limits: Limits,
    pub monte_carlo: MonteCarlo,
    pub pool: &'a rayon::ThreadPool,
    pub cancel: &'a AtomicBool,
}

impl Engine<'_> {
    /// The answers of `questions`, and the method that gave them. `progress` is told the
    /// paths simulated so far, when simulating.
    pub fn answer(
        &self,
        model: &Model,
        questions: &[Question],
        progress: impl FnMut(u64),
    ) -> anyhow::Result<(Vec<Answer>, Used)> {
        if self.choice != MethodChoice::MonteCarlo {
            match answer::exact_answers(model, questions, &self.limits) {
                Ok(answers) => return Ok((answers, Used::Exact)),
                Err(e) if self.choice == MethodChoice::Auto => {
                    eprintln!("note: {e}; using Monte Carlo instead");
                }
                Err(e) => return Err(e.into()),
            }
        }
        let MonteCarlo { paths, seed } = self.monte_carlo;
        let options = RunOptions {
            first_path: 0,
            paths,
            seed,
            keep_records: true,
        };
        let counts = answer::monte_carlo_counts(
            model,
            questions,
            &options,
            self.pool,
            self.cancel,
            progress,
        )
        .map_err(|e| match e {
            RunError::Cancelled => anyhow::Error::from(Interrupted),
            RunError::Caller(never) => match never {},
        })?;
        let answers = questions
            .iter()
            .enumerate()
            .map(|(q, question)| counts.answer(q, question))
            .collect();
        Ok((answers, Used::MonteCarlo { paths, seed }))
    }
}

/// Whether an error is the exact solver's refusal of a large scenario.
pub fn is_too_large(error: &anyhow::Error) -> bool {
    error.is::<ExactError>()
}

/// A question answered, with its id in a questions file.
#[derive(Debug, Clone)]
pub struct Answered {
    pub id: String,
    pub question: Question,
    pub answer: Answer,
}

/// The columns that say what a question asks, in the order of every forecasting table:
/// `question`, `by`, `at`, `step` (the last step counted), `end_date` (the day it ends).
pub(crate) const QUESTION_COLUMNS: [&str; 5] = ["question", "by", "at", "step", "end_date"];

/// The cells of [`QUESTION_COLUMNS`] for `q`.
pub(crate) fn question_cells(model: &Model, q: &Question) -> Vec<String> {
    let (by, at) = match q.mode {
        Mode::By => (q.deadline.to_string(), String::new()),
        Mode::At => (String::new(), q.deadline.to_string()),
    };
    vec![
        q.text.clone(),
        by,
        at,
        q.step.to_string(),
        model
            .end_date_of(q.step)
            .map(|d| d.to_string())
            .unwrap_or_default(),
    ]
}

/// A header row: `first`, the question columns, then `rest`.
pub(crate) fn header(first: &[&str], rest: &[&str]) -> Vec<String> {
    first
        .iter()
        .chain(&QUESTION_COLUMNS)
        .chain(rest)
        .map(|s| s.to_string())
        .collect()
}

/// `answers.csv`: one row per question.
pub fn answers_table(model: &Model, answered: &[Answered]) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![header(&["id"], &["probability", "ci_low", "ci_high"])];
    for a in answered {
        let mut row = vec![a.id.clone()];
        row.extend(question_cells(model, &a.question));
        row.extend([
            number(a.answer.probability),
            optional(a.answer.interval.map(|i| i.0)),
            optional(a.answer.interval.map(|i| i.1)),
        ]);
        rows.push(row);
    }
    to_bytes(rows)
}

/// The answers as a table for a person.
pub fn render_answers(model: &Model, answered: &[Answered]) -> String {
    let interval = answered.iter().any(|a| a.answer.interval.is_some());
    let mut header = vec!["id", "question", "deadline", "through", "probability"];
    if interval {
        header.push("95% interval");
    }
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for a in answered {
        let q = &a.question;
        let mut row = vec![
            a.id.clone(),
            q.text.clone(),
            format!("{} {}", q.mode.name(), q.deadline),
            targets::through(model, q.step),
            crate::output::percent(a.answer.probability),
        ];
        if let Some((low, high)) = a.answer.interval {
            row.push(format!(
                "{} to {}",
                crate::output::percent(low),
                crate::output::percent(high)
            ));
        }
        rows.push(row);
    }
    crate::output::table(&rows)
}
