//! The CSV tables: one table per file, a header row, plain decimals and ISO dates, so that
//! they open cleanly in a spreadsheet, pandas or R.

use crate::model::Model;
use crate::report::{Estimate, Line, Report};
use crate::simulate::PathRecord;
use std::io::Write;

pub const OUTCOMES: &str = "outcomes.csv";
pub const EVENTS: &str = "events.csv";
pub const TIMELINE: &str = "timeline.csv";
pub const CONDITIONAL: &str = "conditional.csv";
pub const PATHS: &str = "paths.csv";
pub const LABELS: &str = "labels.csv";

/// Quantiles of the step reported for outcomes and events.
const QUANTILES: [(f64, &str); 3] = [(0.1, "p10"), (0.5, "median"), (0.9, "p90")];

/// Significant digits kept of a number: what floating-point sums of positive terms can
/// honestly claim (their relative error is about 1e-15), and as many as a spreadsheet keeps.
const SIGNIFICANT: i32 = 12;
/// Fewest decimals of a number that is not a whole count.
const MIN_DECIMALS: usize = 6;
/// Most decimals: a probability below 1e-40 is written 0.
const MAX_DECIMALS: usize = 40;

/// A number for a CSV cell: plain decimal notation (never an exponent), 12 significant digits,
/// and at least 6 decimals.
///
/// - Never exactly three decimals: a spreadsheet importing with German or French settings reads
///   `0.351` as the whole number 351 (the dot groups thousands there); six or more decimals
///   cannot be a thousands group, so such an import gives text, never a wrong number.
/// - 12 significant digits: exact probabilities carry rounding noise in their 16th digit
///   (`0.009000000000000001`), which is not information; a small probability keeps its digits
///   (`0.0000000000001` for 1e-13). Monte Carlo estimates are counts over paths, exact at this
///   precision.
pub(crate) fn number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 { "0".into() } else { format!("{x}") };
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals =
        ((SIGNIFICANT - 1 - magnitude).max(0) as usize).clamp(MIN_DECIMALS, MAX_DECIMALS);
    let text = format!("{x:.decimals$}");
    let (whole, digits) = text.split_once('.').unwrap_or((&text, ""));
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() && whole.trim_start_matches('-') == "0" {
        return "0".to_string();
    }
    format!("{whole}.{digits:0<MIN_DECIMALS$}")
}

pub(crate) fn optional(x: Option<f64>) -> String {
    x.map(number).unwrap_or_default()
}

pub(crate) fn estimate_cells(e: &Estimate) -> [String; 4] {
    [
        e.count.map(|c| c.to_string()).unwrap_or_default(),
        optional(e.probability),
        optional(e.interval.map(|i| i.0)),
        optional(e.interval.map(|i| i.1)),
    ]
}

/// A cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab
/// or a carriage return) gets a leading `'`, as OWASP advises against CSV injection: a label
/// such as `=HYPERLINK(...)` then opens as text. Numbers are left alone (pathcast writes no
/// negative ones, and a number is no formula).
fn neutralised(cell: &str) -> std::borrow::Cow<'_, str> {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula && cell.parse::<f64>().is_err() {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Writes one row: every table goes through here, so every cell is [`neutralised`].
fn write_row<W: Write, S: AsRef<str>>(
    writer: &mut csv::Writer<W>,
    row: impl IntoIterator<Item = S>,
) -> Result<(), csv::Error> {
    writer.write_record(
        row.into_iter()
            .map(|cell| neutralised(cell.as_ref()).into_owned()),
    )
}

pub(crate) fn to_bytes(rows: Vec<Vec<String>>) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        write_row(&mut writer, row)?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}

fn date_cell(model: &Model, step: Option<u32>) -> String {
    step.and_then(|t| model.date_of(t))
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// The header and rows of the outcomes or events table.
fn lines_table(model: &Model, first_column: &str, lines: &[Line]) -> Vec<Vec<String>> {
    let mut header: Vec<String> = [
        first_column,
        "label",
        "count",
        "probability",
        "ci_low",
        "ci_high",
        "mean_step",
    ]
    .map(String::from)
    .to_vec();
    header.extend(QUANTILES.iter().map(|(_, name)| format!("{name}_step")));
    if model.start().is_some() {
        header.extend(QUANTILES.iter().map(|(_, name)| format!("{name}_date")));
    }
    // Only a scenario with an event that can end has starts that differ from happening.
    let starts = lines.iter().any(|l| l.activity.is_some());
    if starts {
        header.extend(["expected_starts", "starts_ci_low", "starts_ci_high"].map(String::from));
    }
    let mut rows = vec![header];
    for line in lines {
        let timing = line.timing();
        let quantiles: Vec<Option<u32>> =
            QUANTILES.iter().map(|(q, _)| timing.quantile(*q)).collect();
        let mut row = vec![line.id.clone(), line.label.clone()];
        row.extend(estimate_cells(&line.estimate));
        row.push(optional(timing.mean()));
        row.extend(
            quantiles
                .iter()
                .map(|q| q.map(|t| t.to_string()).unwrap_or_default()),
        );
        if model.start().is_some() {
            row.extend(quantiles.iter().map(|&q| date_cell(model, q)));
        }
        if starts {
            row.extend(starts_cells(line));
        }
        rows.push(row);
    }
    rows
}

/// The expected number of starts and its interval: for an event that cannot end, its
/// probability (it starts at most once).
fn starts_cells(line: &Line) -> [String; 3] {
    let (mean, interval) = match &line.activity {
        Some(a) => (Some(a.expected_starts), a.starts_interval),
        None => (line.estimate.probability, line.estimate.interval),
    };
    [
        optional(mean),
        optional(interval.map(|i| i.0)),
        optional(interval.map(|i| i.1)),
    ]
}

pub fn outcomes(model: &Model, report: &Report) -> Result<Vec<u8>, csv::Error> {
    to_bytes(lines_table(model, "outcome", &report.outcomes))
}

pub fn events(model: &Model, report: &Report) -> Result<Vec<u8>, csv::Error> {
    to_bytes(lines_table(model, "event", &report.events))
}

/// One row per step: the probability that each event, then each outcome, has happened by the
/// end of it; then, for each event that can end, the probability that it is in effect at the
/// end of the step (column `<id>.in_effect`). With a start date, `date` is the day the step begins and `end_date` the last day
/// it covers, so the row to read for "by a date D" is the last one whose `date` is on or before
/// D (its value runs to its `end_date`).
pub fn timeline(model: &Model, report: &Report) -> Result<Vec<u8>, csv::Error> {
    let mut header = vec!["step".to_string()];
    if model.start().is_some() {
        header.push("date".into());
        header.push("end_date".into());
    }
    let lines: Vec<&Line> = report.events.iter().chain(&report.outcomes).collect();
    header.extend(lines.iter().map(|l| l.id.clone()));
    let spells: Vec<(&str, &[f64])> = report
        .events
        .iter()
        .filter_map(|l| Some((l.id.as_str(), l.activity.as_ref()?.in_effect.as_slice())))
        .collect();
    header.extend(spells.iter().map(|(id, _)| format!("{id}.in_effect")));
    let mut rows = vec![header];
    for t in 1..=model.horizon() {
        let mut row = vec![t.to_string()];
        if model.start().is_some() {
            row.push(date_cell(model, Some(t)));
            row.push(
                model
                    .end_date_of(t)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            );
        }
        row.extend(
            lines
                .iter()
                .map(|l| number(l.by_step_cumulative[t as usize])),
        );
        row.extend(spells.iter().map(|(_, v)| number(v[t as usize])));
        rows.push(row);
    }
    to_bytes(rows)
}

/// One row per event and outcome: its id, whether it is an event or an outcome, and its label,
/// so that a chart of `timeline.csv` (whose columns are ids) can show labels.
pub fn labels(model: &Model, _: &Report) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![vec!["id".to_string(), "kind".into(), "label".into()]];
    for event in model.events() {
        rows.push(vec![event.id.clone(), "event".into(), event.label.clone()]);
    }
    for outcome in model.outcomes() {
        rows.push(vec![
            outcome.id.clone(),
            "outcome".into(),
            outcome.label.clone(),
        ]);
    }
    to_bytes(rows)
}

/// Long format: one row per (event, happened or not, outcome).
pub fn conditional(model: &Model, report: &Report) -> Result<Vec<u8>, csv::Error> {
    let header = [
        "event",
        "event_label",
        "event_happened",
        "paths_given",
        "probability_given",
        "outcome",
        "outcome_label",
        "count",
        "probability",
        "ci_low",
        "ci_high",
    ];
    let mut rows = vec![header.map(String::from).to_vec()];
    for c in &report.conditional {
        let event = &model.events()[c.event];
        for (o, estimate) in c.outcomes.iter().enumerate() {
            let outcome = &model.outcomes()[o];
            let mut row = vec![
                event.id.clone(),
                event.label.clone(),
                (if c.happened { "yes" } else { "no" }).to_string(),
                c.given.count.map(|n| n.to_string()).unwrap_or_default(),
                optional(c.given.probability),
                outcome.id.clone(),
                outcome.label.clone(),
            ];
            row.extend(estimate_cells(estimate));
            rows.push(row);
        }
    }
    to_bytes(rows)
}

/// Streams one row per path, in path order.
pub struct PathsWriter<W: Write> {
    writer: csv::Writer<W>,
    dated: bool,
}

impl<W: Write> PathsWriter<W> {
    pub fn new(model: &Model, sink: W) -> Result<Self, csv::Error> {
        let mut writer = csv::Writer::from_writer(sink);
        let dated = model.start().is_some();
        let mut header = vec!["path", "outcome", "step"];
        if dated {
            header.push("date");
        }
        header.extend(model.events().iter().map(|e| e.id.as_str()));
        write_row(&mut writer, header)?;
        Ok(PathsWriter { writer, dated })
    }

    pub fn write(&mut self, model: &Model, record: &PathRecord) -> Result<(), csv::Error> {
        let mut row = vec![
            record.path.to_string(),
            model.outcomes()[record.outcome].id.clone(),
            record.step.to_string(),
        ];
        if self.dated {
            row.push(date_cell(model, Some(record.step)));
        }
        row.extend(record.event_steps.iter().map(|&t| {
            if t == 0 {
                String::new()
            } else {
                t.to_string()
            }
        }));
        write_row(&mut self.writer, row)
    }

    pub fn finish(self) -> Result<W, csv::Error> {
        self.writer.into_inner().map_err(|e| e.into_error().into())
    }
}

#[cfg(test)]
mod number_tests {
    use super::number;

    #[test]
    fn numbers_keep_twelve_significant_digits_and_six_decimals() {
        assert_eq!(number(0.351), "0.351000");
        assert_eq!(number(0.009000000000000001), "0.009000");
        assert_eq!(number(1e-13), "0.0000000000001");
        assert_eq!(number(1.2345678901234e-13), "0.000000000000123456789012");
        assert_eq!(number(1e-45), "0");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(26.0), "26.000000");
        assert_eq!(number(0.37806213059268595), "0.378062130593");
        assert_eq!(number(0.99999999999999), "1.000000");
        assert_eq!(number(-0.0265), "-0.026500");
        assert_eq!(number(1e-9), "0.000000001");
    }

    /// The German-locale trap: no number pathcast writes can be read as a thousands group, and
    /// every one reads back within the last decimal.
    #[test]
    fn no_number_has_exactly_three_decimals_or_an_exponent() {
        let mut x: f64 = 0.7;
        for i in 0..100_000u32 {
            // A spread of magnitudes and digits, from 1e-13 to 1e6.
            x = (x * 9.31 + f64::from(i) * 1e-3).fract();
            let value = x * 10f64.powi((i % 20) as i32 - 13);
            let text = number(value);
            assert!(!text.contains(['e', 'E']), "{text}");
            if let Some((_, decimals)) = text.split_once('.') {
                assert!(
                    decimals.len() >= 6 && decimals.len() != 3,
                    "{value} -> {text}"
                );
            } else {
                assert_eq!(text, "0", "{value}");
            }
            let back: f64 = text.parse().unwrap();
            assert!(
                (back - value).abs() <= 5e-12 * value.abs(),
                "{value} -> {text}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        for (cell, written) in [
            ("=1+1", "'=1+1"),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Deal = peace", "Deal = peace"),
            ("0.25", "0.25"),
            ("-0", "-0"),
            ("", ""),
        ] {
            assert_eq!(neutralised(cell), written);
        }
    }
}
