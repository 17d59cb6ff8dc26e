//! Scoring a scenario against what happened: per question the Brier and log score, overall
//! means, skill against a constant 50% and against the file's base rate, and a calibration
//! table.
//!
//! Brier score: (p - y)^2, where y is 1 if the question resolved yes and 0 if no: 0 is perfect,
//! 0.25 is what a constant 50% earns. Log score: ln(p) if yes, ln(1 - p) if no: 0 is perfect,
//! ln(0.5) = -0.693 is a constant 50%, and a certainty that turned out wrong is -inf. Brier
//! skill against a reference: 1 - Brier / Brier(reference); above 0 beats the reference.

use super::input::{QuestionRowError, Table};
use super::{InputError, Question};
use crate::export::csv::{number, optional, to_bytes};
use crate::model::Model;
use crate::output::table;
use chrono::NaiveDate;
use std::path::Path;

/// A resolved question from the file.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub id: String,
    pub question: Question,
    pub resolved: bool,
    pub resolved_on: Option<NaiveDate>,
}

/// A row the scenario cannot answer because it names ids the scenario does not have.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub id: String,
    pub question: String,
    pub reason: String,
}

/// Reads a resolutions file: `id,question,by,resolved[,resolved_on]` (`at` may replace `by`).
pub fn read(path: &Path, model: &Model) -> Result<(Vec<Resolution>, Vec<Skipped>), InputError> {
    let file = Table::read(path, &["id", "question", "by", "resolved"])?;
    let mut resolutions: Vec<Resolution> = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for row in &file.rows {
        let id = file.cell(row, "id");
        if id.is_empty() {
            return Err(file.error(row, "id", "empty; every question needs an id"));
        }
        if !seen.insert(id.to_string()) {
            return Err(file.error(row, "id", format!("'{id}' is used twice")));
        }
        let resolved = match file.cell(row, "resolved").to_ascii_lowercase().as_str() {
            "yes" | "1" => true,
            "no" | "0" => false,
            other => {
                return Err(file.error(row, "resolved", format!("'{other}' is not yes or no")))
            }
        };
        let on = file.cell(row, "resolved_on");
        let resolved_on = if on.is_empty() {
            None
        } else {
            Some(NaiveDate::parse_from_str(on, "%Y-%m-%d").map_err(|_| {
                file.error(
                    row,
                    "resolved_on",
                    format!("'{on}' is not a date such as 2025-12-31"),
                )
            })?)
        };
        match file.question(row, model) {
            Ok(question) => resolutions.push(Resolution {
                id: id.to_string(),
                question,
                resolved,
                resolved_on,
            }),
            Err(QuestionRowError::UnknownId(e)) => skipped.push(Skipped {
                id: id.to_string(),
                question: file.cell(row, "question").to_string(),
                reason: e.message,
            }),
            Err(e) => return Err(e.into_error()),
        }
    }
    Ok((resolutions, skipped))
}

/// One question scored.
#[derive(Debug, Clone)]
pub struct Scored {
    pub resolution: Resolution,
    pub probability: f64,
    pub brier: f64,
    pub log_score: f64,
}

pub fn score_one(resolution: Resolution, probability: f64) -> Scored {
    let y = if resolution.resolved { 1.0 } else { 0.0 };
    let assigned = if resolution.resolved {
        probability
    } else {
        1.0 - probability
    };
    Scored {
        resolution,
        probability,
        brier: (probability - y) * (probability - y),
        log_score: assigned.ln(),
    }
}

/// The overall scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Totals {
    pub questions: usize,
    pub resolved_yes: usize,
    pub base_rate: f64,
    pub brier: f64,
    pub log_score: f64,
    /// 1 - Brier / 0.25.
    pub skill_vs_half: f64,
    /// 1 - Brier / (b (1 - b)), where b is the base rate; `None` when every question resolved
    /// the same way (the base rate then scores perfectly and skill is undefined).
    pub skill_vs_base_rate: Option<f64>,
}

pub fn totals(scored: &[Scored]) -> Totals {
    let n = scored.len();
    let yes = scored.iter().filter(|s| s.resolution.resolved).count();
    let base_rate = yes as f64 / n as f64;
    let brier = scored.iter().map(|s| s.brier).sum::<f64>() / n as f64;
    let log_score = scored.iter().map(|s| s.log_score).sum::<f64>() / n as f64;
    let base_brier = base_rate * (1.0 - base_rate);
    Totals {
        questions: n,
        resolved_yes: yes,
        base_rate,
        brier,
        log_score,
        skill_vs_half: 1.0 - brier / 0.25,
        skill_vs_base_rate: (base_brier > 0.0).then(|| 1.0 - brier / base_brier),
    }
}

/// Bins of forecast probability for the calibration table: [0, 0.1), ..., [0.9, 1].
pub const BINS: usize = 10;

/// One bin of the calibration table.
#[derive(Debug, Clone, PartialEq)]
pub struct Bin {
    pub low: f64,
    pub high: f64,
    pub count: usize,
    pub mean_probability: Option<f64>,
    pub observed: Option<f64>,
}

pub fn calibration(scored: &[Scored]) -> Vec<Bin> {
    (0..BINS)
        .map(|b| {
            let (low, high) = (b as f64 / BINS as f64, (b + 1) as f64 / BINS as f64);
            let members: Vec<&Scored> = scored
                .iter()
                .filter(|s| ((s.probability * BINS as f64) as usize).min(BINS - 1) == b)
                .collect();
            let count = members.len();
            let mean = |f: &dyn Fn(&Scored) -> f64| {
                (count > 0).then(|| members.iter().map(|s| f(s)).sum::<f64>() / count as f64)
            };
            Bin {
                low,
                high,
                count,
                mean_probability: mean(&|s| s.probability),
                observed: mean(&|s| if s.resolution.resolved { 1.0 } else { 0.0 }),
            }
        })
        .collect()
}

pub const SCORES: &str = "scores.csv";
pub const TOTALS: &str = "score_totals.csv";
pub const CALIBRATION: &str = "calibration.csv";
pub const SKIPPED: &str = "skipped.csv";

pub fn scores_table(model: &Model, scored: &[Scored]) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![super::header(
        &["id"],
        &[
            "resolved",
            "resolved_on",
            "probability",
            "brier",
            "log_score",
        ],
    )];
    for s in scored {
        let r = &s.resolution;
        let mut row = vec![r.id.clone()];
        row.extend(super::question_cells(model, &r.question));
        row.extend([
            (if r.resolved { "1" } else { "0" }).to_string(),
            r.resolved_on.map(|d| d.to_string()).unwrap_or_default(),
            number(s.probability),
            number(s.brier),
            number(s.log_score),
        ]);
        rows.push(row);
    }
    to_bytes(rows)
}

fn totals_rows(t: &Totals) -> Vec<(&'static str, String)> {
    vec![
        ("questions", t.questions.to_string()),
        ("resolved_yes", t.resolved_yes.to_string()),
        ("base_rate", number(t.base_rate)),
        ("brier", number(t.brier)),
        ("log_score", number(t.log_score)),
        ("brier_of_constant_50", number(0.25)),
        ("brier_skill_vs_50", number(t.skill_vs_half)),
        (
            "brier_of_base_rate",
            number(t.base_rate * (1.0 - t.base_rate)),
        ),
        ("brier_skill_vs_base_rate", optional(t.skill_vs_base_rate)),
    ]
}

pub fn totals_table(t: &Totals) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![vec!["measure".to_string(), "value".to_string()]];
    rows.extend(
        totals_rows(t)
            .into_iter()
            .map(|(k, v)| vec![k.to_string(), v]),
    );
    to_bytes(rows)
}

pub fn calibration_table(bins: &[Bin]) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![[
        "bin_low",
        "bin_high",
        "count",
        "mean_probability",
        "observed_frequency",
    ]
    .map(String::from)
    .to_vec()];
    for b in bins {
        rows.push(vec![
            number(b.low),
            number(b.high),
            b.count.to_string(),
            optional(b.mean_probability),
            optional(b.observed),
        ]);
    }
    to_bytes(rows)
}

pub fn skipped_table(skipped: &[Skipped]) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![["id", "question", "reason"].map(String::from).to_vec()];
    rows.extend(
        skipped
            .iter()
            .map(|s| vec![s.id.clone(), s.question.clone(), s.reason.clone()]),
    );
    to_bytes(rows)
}

/// Everything for a person: per question, the totals, the calibration table, what was skipped.
pub fn render(scored: &[Scored], t: &Totals, bins: &[Bin], skipped: &[Skipped]) -> String {
    let mut rows = vec![[
        "id",
        "question",
        "deadline",
        "probability",
        "resolved",
        "brier",
        "log score",
    ]
    .map(String::from)
    .to_vec()];
    for s in scored {
        let q = &s.resolution.question;
        rows.push(vec![
            s.resolution.id.clone(),
            q.text.clone(),
            format!("{} {}", q.mode.name(), q.deadline),
            format!("{:.4}", s.probability),
            (if s.resolution.resolved { "yes" } else { "no" }).to_string(),
            format!("{:.4}", s.brier),
            format!("{:.4}", s.log_score),
        ]);
    }
    let mut text = table(&rows);
    text.push_str("\nTotals:\n");
    let totals: Vec<Vec<String>> = totals_rows(t)
        .into_iter()
        .map(|(k, v)| vec![k.to_string(), v])
        .collect();
    text.push_str(&table(&totals));
    text.push_str("\nCalibration (forecasts binned by probability):\n");
    let mut bin_rows = vec![["bin", "count", "mean forecast", "observed"]
        .map(String::from)
        .to_vec()];
    for b in bins {
        let show = |x: Option<f64>| x.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into());
        bin_rows.push(vec![
            format!("{:.1}-{:.1}", b.low, b.high),
            b.count.to_string(),
            show(b.mean_probability),
            show(b.observed),
        ]);
    }
    text.push_str(&table(&bin_rows));
    if !skipped.is_empty() {
        text.push_str(&format!(
            "\nNot scored ({} questions name ids this scenario does not have):\n",
            skipped.len()
        ));
        for s in skipped {
            text.push_str(&format!("  {}: {} ({})\n", s.id, s.question, s.reason));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::{Deadline, Mode};

    fn resolution(resolved: bool) -> Resolution {
        let model = crate::scenario::load_preset("baseline", &[]).unwrap().model;
        Resolution {
            id: "q".into(),
            question: Question::new(&model, "meeting", Mode::By, Deadline::Step(5)).unwrap(),
            resolved,
            resolved_on: None,
        }
    }

    #[test]
    fn scores_follow_their_definitions() {
        let yes = score_one(resolution(true), 0.8);
        assert!((yes.brier - 0.04).abs() < 1e-15);
        assert!((yes.log_score - 0.8f64.ln()).abs() < 1e-15);
        let no = score_one(resolution(false), 0.8);
        assert!((no.brier - 0.64).abs() < 1e-15);
        assert!((no.log_score - 0.2f64.ln()).abs() < 1e-12);
        assert_eq!(
            score_one(resolution(true), 0.0).log_score,
            f64::NEG_INFINITY
        );
        // Two questions, one yes: base rate 1/2, so the base rate's Brier is 0.25 too.
        let t = totals(&[yes, no]);
        assert!((t.brier - 0.34).abs() < 1e-15);
        assert!((t.skill_vs_half - (1.0 - 0.34 / 0.25)).abs() < 1e-15);
        assert_eq!(t.skill_vs_base_rate, Some(t.skill_vs_half));
        let all_yes = totals(&[score_one(resolution(true), 0.5)]);
        assert_eq!(all_yes.skill_vs_base_rate, None);
    }

    #[test]
    fn calibration_bins_hold_every_forecast_once() {
        let scored: Vec<Scored> = [0.0, 0.05, 0.1, 0.55, 0.99, 1.0]
            .iter()
            .enumerate()
            .map(|(i, &p)| score_one(resolution(i % 2 == 0), p))
            .collect();
        let bins = calibration(&scored);
        assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), scored.len());
        assert_eq!(bins[0].count, 2);
        assert_eq!(bins[1].count, 1);
        assert_eq!(bins[9].count, 2);
        assert_eq!(bins[0].observed, Some(0.5));
        assert_eq!(bins[3].count, 0);
        assert_eq!(bins[3].mean_probability, None);
    }
}
