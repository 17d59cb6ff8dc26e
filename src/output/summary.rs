//! The short table a run ends with.

use super::{percent, table};
use crate::report::{Method, Report};
use crate::scenario::Loaded;
use crate::text::printable;

pub fn render(loaded: &Loaded, report: &Report) -> String {
    let model = &loaded.model;
    let method = match &report.method {
        Method::MonteCarlo { paths, seed, .. } => format!("{paths} paths, seed {seed}"),
        Method::Exact => "exact".to_string(),
    };
    let mut text = format!("{} ({method})\n", printable(model.title()));
    if !loaded.overrides.is_empty() {
        text.push_str(&format!(
            "with --set {}\n",
            printable(&loaded.overrides.join(", --set "))
        ));
    }
    let mut rows = vec![vec![
        "outcome".to_string(),
        "probability".into(),
        "95% interval".into(),
        "median time".into(),
    ]];
    for line in &report.outcomes {
        let estimate = &line.estimate;
        let interval = estimate
            .interval
            .map(|(low, high)| format!("{} - {}", percent(low), percent(high)))
            .unwrap_or_else(|| "exact".into());
        let median = line
            .timing()
            .quantile(0.5)
            .map(|t| model.describe_step(t))
            .unwrap_or_default();
        rows.push(vec![
            line.label.clone(),
            estimate.probability.map(percent).unwrap_or_default(),
            interval,
            median,
        ]);
    }
    text.push_str(&table(&rows));
    text
}
