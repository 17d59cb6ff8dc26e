//! What the analyses print: the parameters, a tornado, a sweep table, a comparison.

use super::{percent, table};
use crate::analysis::compare::Comparison;
use crate::analysis::sensitivity::Sensitivity;
use crate::analysis::sweep::Sweep;
use crate::model::Model;
use crate::parameters;
use crate::simulate::paired::ItemKind;
use crate::text::printable;

/// Rows shown in a printed tornado; the CSV has them all.
const TORNADO_ROWS: usize = 20;
/// Width of the longest tornado bar, in characters.
const BAR_WIDTH: f64 = 24.0;

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

/// A signed percentage-point difference, e.g. "+3.2 pp".
fn points(difference: f64) -> String {
    format!("{:+.2} pp", difference * 100.0)
}

/// A parameter value to four significant digits, for reading (the CSV keeps every digit).
pub(crate) fn value(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (3 - x.abs().log10().floor() as i32).clamp(0, 15) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Every parameter of a model, by the key `--set`, `--vary` and `--only` take.
pub fn params(model: &Model) -> String {
    let mut rows = vec![row(&["parameter", "kind", "value", "valid range"])];
    for p in parameters::list(model) {
        rows.push(vec![
            p.key.clone(),
            p.kind.to_string(),
            format!("{}", p.value),
            p.kind.range().to_string(),
        ]);
    }
    format!(
        "{}\n{} parameters; p = 0 and p = 1 are not moved by the default sensitivity ranges.\n",
        table(&rows),
        rows.len() - 1
    )
}

/// The tornado of one outcome (or event): parameters by the size of the swing, with bars.
pub fn tornado(result: &Sensitivity, id: &str) -> String {
    let rows: Vec<_> = result
        .rows
        .iter()
        .filter(|r| r.id == id && r.kind == ItemKind::Outcome)
        .collect();
    let Some(first) = rows.first() else {
        return String::new();
    };
    let base = first.base.probability.unwrap_or(0.0);
    let widest = rows.iter().map(|r| r.swing.abs()).fold(0.0, f64::max);
    let mut text = format!(
        "Sensitivity of \"{}\" ({}; base {}): each parameter set low and high, the rest at \
         their base values.\n",
        printable(&first.label),
        result.used.describe(),
        percent(base)
    );
    let mut table_rows = vec![row(&[
        "parameter",
        "low",
        "high",
        "P(low)",
        "P(high)",
        "swing",
        "",
    ])];
    for r in rows.iter().take(TORNADO_ROWS) {
        let length = if widest > 0.0 {
            (r.swing.abs() / widest * BAR_WIDTH).round() as usize
        } else {
            0
        };
        let bar = if r.swing < 0.0 { "-" } else { "+" }.repeat(length);
        table_rows.push(vec![
            r.varied.parameter.key.clone(),
            value(r.varied.low),
            value(r.varied.high),
            r.low.probability.map(percent).unwrap_or_default(),
            r.high.probability.map(percent).unwrap_or_default(),
            points(r.swing),
            bar,
        ]);
    }
    text.push_str(&table(&table_rows));
    if rows.len() > TORNADO_ROWS {
        text.push_str(&format!(
            "... and {} more parameters in sensitivity.csv\n",
            rows.len() - TORNADO_ROWS
        ));
    }
    text
}

/// One row per grid point, one column per outcome.
pub fn sweep(result: &Sweep, model: &Model) -> String {
    let mut header: Vec<String> = result
        .axes
        .iter()
        .map(|a| a.parameter.key.clone())
        .collect();
    header.extend(model.outcomes().iter().map(|o| o.id.clone()));
    let mut rows = vec![header];
    for point in &result.points {
        let mut cells: Vec<String> = point.values.iter().map(|&v| value(v)).collect();
        cells.extend(
            point
                .report
                .outcomes
                .iter()
                .map(|l| l.estimate.probability.map(percent).unwrap_or_default()),
        );
        rows.push(cells);
    }
    format!(
        "Sweep of {} ({}):\n{}",
        printable(model.title()),
        result.used.describe(),
        table(&rows)
    )
}

/// Each scenario against the reference, outcome by outcome and event by event.
pub fn compare(result: &Comparison) -> String {
    let mut text = format!(
        "{} paths per scenario, seed {}, the same paths in each (differences are paired).\n",
        result.paths, result.seed
    );
    let mut rows = vec![row(&[
        "scenario",
        "",
        "id",
        "probability",
        "reference",
        "difference",
        "95% interval",
        "exact difference",
    ])];
    for r in &result.rows {
        rows.push(vec![
            r.scenario.clone(),
            r.kind.name().to_string(),
            r.id.clone(),
            percent(r.probability),
            percent(r.reference_probability),
            points(r.difference),
            format!("{} to {}", points(r.interval.0), points(r.interval.1)),
            r.exact.map(|e| points(e.2)).unwrap_or_default(),
        ]);
    }
    text.push_str(&table(&rows));
    if let Some(why) = &result.exact_missing {
        text.push_str(&format!("No exact column: {why}\n"));
    }
    for (scenario, ids) in &result.not_shared {
        text.push_str(&format!(
            "Compared on what they share: '{}' and the reference differ in {}\n",
            printable(scenario),
            ids.join(", ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_keep_four_significant_digits() {
        assert_eq!(super::value(0.0030090270812437314), "0.003009");
        assert_eq!(super::value(1.5), "1.5");
        assert_eq!(super::value(1234.5678), "1235");
        assert_eq!(super::value(0.02), "0.02");
        assert_eq!(super::value(0.0), "0");
    }
}
