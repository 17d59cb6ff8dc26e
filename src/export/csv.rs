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

/// Quantiles of the step reported for outcomes and events.
const QUANTILES: [(f64, &str); 3] = [(0.1, "p10"), (0.5, "median"), (0.9, "p90")];

/// Rust prints f64 in plain decimal notation, never with an exponent, which is what a
/// spreadsheet reads without surprises.
pub(crate) fn number(x: f64) -> String {
    format!("{x}")
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

pub(crate) fn to_bytes(rows: Vec<Vec<String>>) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(row)?;
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
        rows.push(row);
    }
    rows
}

pub fn outcomes(model: &Model, report: &Report) -> Result<Vec<u8>, csv::Error> {
    to_bytes(lines_table(model, "outcome", &report.outcomes))
}

pub fn events(model: &Model, report: &Report) -> Result<Vec<u8>, csv::Error> {
    to_bytes(lines_table(model, "event", &report.events))
}

/// One row per step: the probability that each event, then each outcome, has happened by the
/// end of it. With a start date, `date` is the day the step begins and `end_date` the last day
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
        rows.push(row);
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
        writer.write_record(header)?;
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
        self.writer.write_record(row)
    }

    pub fn finish(self) -> Result<W, csv::Error> {
        self.writer.into_inner().map_err(|e| e.into_error().into())
    }
}
