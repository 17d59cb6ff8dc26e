//! The CSV tables of the analyses, in long form (one row per variant and item), with the same
//! number format as the run tables.

use super::csv::{estimate_cells, number, optional, to_bytes};
use crate::analysis::compare::Comparison;
use crate::analysis::sensitivity::Sensitivity;
use crate::analysis::sweep::Sweep;
use crate::report::Line;
use crate::scenario::Loaded;

pub const SENSITIVITY: &str = "sensitivity.csv";
pub const SWEEP: &str = "sweep.csv";
pub const SWEEP_EVENTS: &str = "sweep_events.csv";
pub const COMPARE: &str = "compare.csv";

/// A file of an output folder: its name and its bytes (or why a table could not be written).
pub type File = (&'static str, Result<Vec<u8>, csv::Error>);

/// The files of a sensitivity analysis's output folder (beside the scenario and manifest).
pub fn sensitivity_files(loaded: &Loaded, result: &Sensitivity) -> Vec<File> {
    vec![
        (SENSITIVITY, sensitivity(result)),
        (
            super::html::FILE,
            Ok(super::html::sensitivity(loaded, result)),
        ),
    ]
}

/// The files of a sweep's output folder (beside the scenario and manifest).
pub fn sweep_files(loaded: &Loaded, result: &Sweep) -> Vec<File> {
    vec![
        (SWEEP, sweep_outcomes(result)),
        (SWEEP_EVENTS, sweep_events(result)),
        (super::html::FILE, Ok(super::html::sweep(loaded, result))),
    ]
}

pub(super) fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn interval_cells(interval: Option<(f64, f64)>) -> [String; 2] {
    [
        optional(interval.map(|i| i.0)),
        optional(interval.map(|i| i.1)),
    ]
}

/// One row per parameter and outcome (then event), ranked by the size of the swing within
/// each outcome.
pub fn sensitivity(result: &Sensitivity) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![header(&[
        "parameter",
        "kind",
        "base_value",
        "low_value",
        "high_value",
        "item_kind",
        "outcome",
        "label",
        "probability_base",
        "probability_low",
        "probability_high",
        "swing",
        "swing_ci_low",
        "swing_ci_high",
        "low_ci_low",
        "low_ci_high",
        "high_ci_low",
        "high_ci_high",
    ])];
    for row in &result.rows {
        let varied = &row.varied;
        let mut cells = vec![
            varied.parameter.key.clone(),
            varied.parameter.kind.to_string(),
            number(varied.parameter.value),
            number(varied.low),
            number(varied.high),
            row.kind.name().to_string(),
            row.id.clone(),
            row.label.clone(),
            optional(row.base.probability),
            optional(row.low.probability),
            optional(row.high.probability),
            number(row.swing),
        ];
        cells.extend(interval_cells(row.swing_interval));
        cells.extend(interval_cells(row.low.interval));
        cells.extend(interval_cells(row.high.interval));
        rows.push(cells);
    }
    to_bytes(rows)
}

/// One row per grid point and outcome (or event): the varied values, then the estimate.
fn sweep_table(
    result: &Sweep,
    item: &str,
    lines: impl Fn(&crate::report::Report) -> &[Line],
) -> Result<Vec<u8>, csv::Error> {
    let mut names: Vec<&str> = result
        .axes
        .iter()
        .map(|a| a.parameter.key.as_str())
        .collect();
    names.extend([item, "label", "count", "probability", "ci_low", "ci_high"]);
    let mut rows = vec![header(&names)];
    for point in &result.points {
        for line in lines(&point.report) {
            let mut cells: Vec<String> = point.values.iter().map(|&v| number(v)).collect();
            cells.push(line.id.clone());
            cells.push(line.label.clone());
            cells.extend(estimate_cells(&line.estimate));
            rows.push(cells);
        }
    }
    to_bytes(rows)
}

pub fn sweep_outcomes(result: &Sweep) -> Result<Vec<u8>, csv::Error> {
    sweep_table(result, "outcome", |r| &r.outcomes)
}

pub fn sweep_events(result: &Sweep) -> Result<Vec<u8>, csv::Error> {
    sweep_table(result, "event", |r| &r.events)
}

/// One row per scenario after the first and shared outcome or event.
pub fn compare(result: &Comparison) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![header(&[
        "scenario",
        "reference",
        "kind",
        "id",
        "label",
        "probability",
        "reference_probability",
        "difference",
        "ci_low",
        "ci_high",
        "variance_ratio",
        "exact_probability",
        "exact_reference_probability",
        "exact_difference",
    ])];
    for row in &result.rows {
        let mut cells = vec![
            row.scenario.clone(),
            row.reference.clone(),
            row.kind.name().to_string(),
            row.id.clone(),
            row.label.clone(),
            number(row.probability),
            number(row.reference_probability),
            number(row.difference),
        ];
        cells.extend(interval_cells(Some(row.interval)));
        cells.push(optional(row.variance_ratio));
        cells.push(optional(row.exact.map(|e| e.0)));
        cells.push(optional(row.exact.map(|e| e.1)));
        cells.push(optional(row.exact.map(|e| e.2)));
        rows.push(cells);
    }
    to_bytes(rows)
}
