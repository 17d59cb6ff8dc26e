//! One-at-a-time sensitivity (a tornado): each parameter set to a low and a high value while
//! every other stays at its base, and how far each outcome's probability moves.
//!
//! Default range: for a probability, its odds p/(1-p) halved and doubled (so it stays inside
//! (0, 1), and 0 and 1 stay fixed, as odds modifiers keep them); for a factor, the factor halved
//! and doubled. `--range KEY=LOW..HIGH` sets one parameter's range.

use super::{check_variant_count, Evaluator, Used};
use crate::error::SettingError;
use crate::model::{adjust_odds, Model};
use crate::parameters::{self, Kind, Parameter};
use crate::report::{Estimate, Line, Report};
use crate::simulate::paired::ItemKind;
use crate::stats::PairedCounts;

/// What to vary.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Only these parameter keys (all, when empty).
    pub only: Vec<String>,
    /// `KEY=LOW..HIGH` ranges that replace the default.
    pub ranges: Vec<String>,
    /// Report events as well as outcomes.
    pub events: bool,
}

/// A parameter and the two values it is set to.
#[derive(Debug, Clone, PartialEq)]
pub struct Varied {
    pub parameter: Parameter,
    pub low: f64,
    pub high: f64,
}

/// The default low and high values of a parameter (see the module documentation).
pub fn default_range(parameter: &Parameter) -> (f64, f64) {
    let v = parameter.value;
    match parameter.kind {
        Kind::Probability => (adjust_odds(v, 0.5), adjust_odds(v, 2.0)),
        Kind::Factor | Kind::HalfLife => (v / 2.0, v * 2.0),
    }
}

/// Parses `KEY=LOW..HIGH`.
fn parse_range(model: &Model, text: &str) -> Result<Varied, SettingError> {
    let flag = |message: String| SettingError(format!("--range {text}: {message}"));
    let (key, values) = text
        .split_once('=')
        .ok_or_else(|| flag("expected KEY=LOW..HIGH, e.g. events.meeting.p=0.005..0.02".into()))?;
    let parameter = parameters::find(model, key.trim()).map_err(|e| flag(e.0))?;
    let (low, high) = values
        .split_once("..")
        .and_then(|(l, h)| Some((l.trim().parse::<f64>().ok()?, h.trim().parse::<f64>().ok()?)))
        .ok_or_else(|| flag("expected LOW..HIGH with two numbers, e.g. 0.005..0.02".into()))?;
    for value in [low, high] {
        parameters::check_value(&parameter, value).map_err(|e| flag(e.0))?;
    }
    Ok(Varied {
        parameter,
        low,
        high,
    })
}

/// The parameters to vary, with their ranges: checked before any work.
pub fn plan(model: &Model, settings: &Settings) -> Result<Vec<Varied>, SettingError> {
    let ranges = settings
        .ranges
        .iter()
        .map(|r| parse_range(model, r))
        .collect::<Result<Vec<_>, _>>()?;
    let chosen: Vec<Parameter> = if settings.only.is_empty() {
        parameters::list(model)
            .into_iter()
            .filter(|p| !p.is_pinned() || ranges.iter().any(|r| r.parameter.key == p.key))
            .collect()
    } else {
        settings
            .only
            .iter()
            .map(|key| {
                parameters::find(model, key.trim())
                    .map_err(|e| SettingError(format!("--only {key}: {}", e.0)))
            })
            .collect::<Result<_, _>>()?
    };
    let mut plan: Vec<Varied> = Vec::new();
    for parameter in chosen {
        if plan.iter().any(|v| v.parameter.key == parameter.key) {
            continue;
        }
        let varied = match ranges.iter().find(|r| r.parameter.key == parameter.key) {
            Some(range) => range.clone(),
            None => {
                let (low, high) = default_range(&parameter);
                Varied {
                    parameter,
                    low,
                    high,
                }
            }
        };
        plan.push(varied);
    }
    for range in &ranges {
        if !plan.iter().any(|v| v.parameter.key == range.parameter.key) {
            plan.push(range.clone());
        }
    }
    if plan.is_empty() {
        return Err(SettingError(
            "no parameter to vary: every probability of the scenario is 0 or 1 and it has no \
             modifiers (give one with --range)"
                .into(),
        ));
    }
    check_variant_count(2 * plan.len(), "the sensitivity analysis")?;
    Ok(plan)
}

/// How one outcome or event moves with one parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub varied: Varied,
    pub kind: ItemKind,
    pub id: String,
    pub label: String,
    pub base: Estimate,
    pub low: Estimate,
    pub high: Estimate,
    /// P(at the high value) - P(at the low value).
    pub swing: f64,
    /// The 95% interval of the swing (Monte Carlo, from the paired paths).
    pub swing_interval: Option<(f64, f64)>,
}

pub struct Sensitivity {
    /// Outcome by outcome (then event by event), parameters ranked by the size of the swing.
    pub rows: Vec<Row>,
    pub used: Used,
    pub parameters: usize,
}

fn lines(report: &Report, kind: ItemKind) -> &[Line] {
    match kind {
        ItemKind::Outcome => &report.outcomes,
        ItemKind::Event => &report.events,
    }
}

/// Sets each parameter of `plan` to its low and high value and evaluates the model.
/// `base_report` is the base model's report when the evaluator already has it.
pub fn run(
    model: &Model,
    plan: &[Varied],
    events: bool,
    evaluator: &Evaluator<'_>,
    base_report: Option<Report>,
) -> anyhow::Result<Sensitivity> {
    let base = match base_report {
        Some(report) => report,
        None => evaluator.reports(std::slice::from_ref(model))?.remove(0),
    };
    let mut variants = Vec::with_capacity(2 * plan.len());
    for varied in plan {
        for value in [varied.low, varied.high] {
            variants.push(model.with_parameters(&[(&varied.parameter, value)])?);
        }
    }
    // Each pair (low, high) with the pairs of high against low, for the swing's interval.
    let mut results: Vec<(Report, Report, Option<crate::simulate::PairCounts>)> = Vec::new();
    match evaluator.used() {
        Used::Exact => {
            let mut reports = evaluator.reports(&variants)?.into_iter();
            while let (Some(low), Some(high)) = (reports.next(), reports.next()) {
                results.push((low, high, None));
            }
        }
        Used::MonteCarlo { seed, .. } => {
            for pair in variants.chunks(2) {
                let mut paired = evaluator.paired(&[&pair[0], &pair[1]])?;
                let report = |i: usize| Report::from_tally(&pair[i], &paired.tallies[i], seed, 0);
                let (low, high) = (report(0), report(1));
                results.push((low, high, paired.pairs.pop()));
            }
        }
    }
    let kinds: &[ItemKind] = if events {
        &[ItemKind::Outcome, ItemKind::Event]
    } else {
        &[ItemKind::Outcome]
    };
    let mut rows = Vec::new();
    for &kind in kinds {
        for (i, line) in lines(&base, kind).iter().enumerate() {
            let mut block: Vec<Row> = plan
                .iter()
                .zip(&results)
                .map(|(varied, (low, high, pairs))| {
                    let low = lines(low, kind)[i].estimate;
                    let high = lines(high, kind)[i].estimate;
                    let swing = high.probability.unwrap_or(0.0) - low.probability.unwrap_or(0.0);
                    let swing_interval = pairs.as_ref().and_then(|pairs| {
                        let j = pairs
                            .items
                            .iter()
                            .position(|item| item.kind == kind && item.reference == i)?;
                        Some(
                            PairedCounts {
                                both: pairs.both[j],
                                reference_only: pairs.reference_only[j],
                                variant_only: pairs.variant_only[j],
                                paths: low.out_of.unwrap_or(0),
                            }
                            .interval(),
                        )
                    });
                    Row {
                        varied: varied.clone(),
                        kind,
                        id: line.id.clone(),
                        label: line.label.clone(),
                        base: line.estimate,
                        low,
                        high,
                        swing,
                        swing_interval,
                    }
                })
                .collect();
            // Stable: equal swings keep the parameters' file order.
            block.sort_by(|a, b| b.swing.abs().total_cmp(&a.swing.abs()));
            rows.extend(block);
        }
    }
    Ok(Sensitivity {
        rows,
        used: evaluator.used(),
        parameters: plan.len(),
    })
}
