//! The tables of a run with uncertain inputs: `uncertainty.csv` (the spread of each
//! probability across the samples), `sobol.csv` (Sobol indices) and `samples.csv` (one row
//! per sample, streamed as the samples are computed).

use super::analysis::header;
use super::csv::{number, to_bytes};
use crate::model::Model;
use crate::uncertainty::{Analysis, SampleResult};
use std::io::Write;

pub const UNCERTAINTY: &str = "uncertainty.csv";
pub const SOBOL: &str = "sobol.csv";
pub const SAMPLES: &str = "samples.csv";

/// One row per outcome, then per event.
pub fn uncertainty(analysis: &Analysis) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![header(&[
        "kind", "id", "label", "mean", "p5", "p50", "p95", "sd",
    ])];
    for s in &analysis.spread {
        let mut row = vec![s.kind.name().to_string(), s.id.clone(), s.label.clone()];
        row.extend([s.mean, s.p5, s.p50, s.p95, s.sd].map(number));
        rows.push(row);
    }
    to_bytes(rows)
}

/// One row per uncertain input and outcome.
pub fn sobol(analysis: &Analysis) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![header(&[
        "input",
        "outcome",
        "first_order",
        "first_order_ci_low",
        "first_order_ci_high",
        "total",
        "total_ci_low",
        "total_ci_high",
    ])];
    for a in &analysis.sobol {
        let i = &a.indices;
        let mut row = vec![a.input.clone(), a.outcome.clone()];
        row.extend(
            [
                i.first,
                i.first_interval.0,
                i.first_interval.1,
                i.total,
                i.total_interval.0,
                i.total_interval.1,
            ]
            .map(number),
        );
        rows.push(row);
    }
    to_bytes(rows)
}

/// Streams one row per sample: its index, its input values, its outcome probabilities.
pub struct SamplesWriter<W: Write> {
    writer: csv::Writer<W>,
}

impl<W: Write> SamplesWriter<W> {
    pub fn new(model: &Model, sink: W) -> Result<Self, csv::Error> {
        let mut writer = csv::Writer::from_writer(sink);
        let mut header = vec!["sample"];
        header.extend(model.uncertain().iter().map(|u| u.key.as_str()));
        header.extend(model.outcomes().iter().map(|o| o.id.as_str()));
        writer.write_record(header)?;
        Ok(SamplesWriter { writer })
    }

    pub fn write(&mut self, sample: &SampleResult) -> Result<(), csv::Error> {
        let mut row = vec![sample.index.to_string()];
        row.extend(
            sample
                .values
                .iter()
                .chain(&sample.outcomes())
                .map(|&x| number(x)),
        );
        self.writer.write_record(row)
    }

    pub fn finish(self) -> Result<W, csv::Error> {
        self.writer.into_inner().map_err(|e| e.into_error().into())
    }
}
