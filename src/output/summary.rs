//! The short table a run ends with.

use super::{percent, table};
use crate::model::Model;
use crate::report::{Method, Report};
use crate::text::printable;

pub fn render(model: &Model, report: &Report) -> String {
    let method = match &report.method {
        Method::MonteCarlo { paths, seed, .. } => format!("{paths} paths, seed {seed}"),
        Method::Exact => "exact".to_string(),
    };
    let mut text = format!("{} ({method})\n", printable(&model.title));
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
