//! The summary of a run with uncertain inputs: each outcome's mean probability with the
//! interval the input uncertainty spreads it over, and the input that moves it most.

use super::analysis::value;
use super::{percent, table};
use crate::analysis::Used;
use crate::report::Report;
use crate::scenario::Loaded;
use crate::simulate::paired::ItemKind;
use crate::uncertainty::Analysis;

/// "each sample solved exactly" or "each sample from 10000 Monte Carlo paths (seed 7)".
fn per_sample(used: Used) -> String {
    match used {
        Used::Exact => "each sample solved exactly".to_string(),
        Used::MonteCarlo { paths, seed } => format!(
            "each sample from {paths} Monte Carlo paths, seed {seed}, the same paths for every \
             sample; the spread includes their noise"
        ),
    }
}

pub fn render(loaded: &Loaded, analysis: &Analysis, report: &Report, used: Used) -> String {
    let model = &loaded.model;
    let mut text = format!(
        "{} ({} samples of {} uncertain inputs; {})\n",
        model.title(),
        analysis.samples,
        analysis.inputs.len(),
        per_sample(used)
    );
    if !loaded.overrides.is_empty() {
        text.push_str(&format!(
            "with --set {}\n",
            loaded.overrides.join(", --set ")
        ));
    }
    let mut rows = vec![[
        "outcome",
        "mean probability",
        "90% from the inputs",
        "median time",
        "moved most by (total Sobol index)",
    ]
    .map(String::from)
    .to_vec()];
    let outcomes = analysis
        .spread
        .iter()
        .filter(|s| s.kind == ItemKind::Outcome);
    for (spread, line) in outcomes.zip(&report.outcomes) {
        let strongest = analysis
            .sobol
            .iter()
            .filter(|a| a.outcome == spread.id && a.indices.total > 0.0)
            .max_by(|a, b| a.indices.total.total_cmp(&b.indices.total))
            .map(|a| format!("{} ({})", a.input, value(a.indices.total)))
            .unwrap_or_else(|| "-".into());
        rows.push(vec![
            spread.label.clone(),
            percent(spread.mean),
            format!("{} - {}", percent(spread.p5), percent(spread.p95)),
            line.timing()
                .quantile(0.5)
                .map(|t| model.describe_step(t))
                .unwrap_or_default(),
            strongest,
        ]);
    }
    text.push_str(&table(&rows));
    text.push_str(
        "\nThe mean is the probability averaged over the input distributions; the interval holds \
         the middle 90% of the samples' probabilities: how far the doubt about the inputs moves \
         it.\n",
    );
    text
}
