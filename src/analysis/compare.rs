//! Comparing scenarios: every scenario runs the same paths with the same seed, so path i of each
//! draws from the same random stream (common random numbers), and the difference of each
//! probability to the first scenario gets an interval from the pairs of paths. The exact
//! difference stands beside it when every scenario solves exactly.
//!
//! The pairing is only as tight as the paths stay alike: the kernel draws a varying number of
//! random numbers per path, so once two scenarios make a path take different turns, the rest
//! of that path draws different numbers in each (see docs/analysis.md).

use super::cancelled;
use crate::exact::{self, ExactError, Limits};
use crate::model::Model;
use crate::report::{Line, Report};
use crate::simulate::paired::ItemKind;
use crate::simulate::{self, RunOptions};
use crate::stats::PairedCounts;
use rayon::prelude::*;
use std::sync::atomic::AtomicBool;

/// A scenario to compare, under the name the tables use for it.
pub struct Scenario<'a> {
    pub name: String,
    pub model: &'a Model,
}

/// One outcome or event of one scenario against the first.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub scenario: String,
    pub reference: String,
    pub kind: ItemKind,
    pub id: String,
    pub label: String,
    pub probability: f64,
    pub reference_probability: f64,
    pub difference: f64,
    /// 95% interval of the paired difference.
    pub interval: (f64, f64),
    /// Variance of the difference of independent runs over that of the paired one.
    pub variance_ratio: Option<f64>,
    /// Exact probabilities and difference, when every scenario solves exactly.
    pub exact: Option<(f64, f64, f64)>,
}

pub struct Comparison {
    pub rows: Vec<Row>,
    pub paths: u64,
    pub seed: u64,
    /// Why there is no exact column, when there is none.
    pub exact_missing: Option<String>,
    /// For each scenario after the first: the ids of the first that it lacks, and its own ids
    /// that the first lacks (compared on what they share).
    pub not_shared: Vec<(String, Vec<String>)>,
}

fn line(report: &Report, kind: ItemKind, index: usize) -> &Line {
    match kind {
        ItemKind::Outcome => &report.outcomes[index],
        ItemKind::Event => &report.events[index],
    }
}

fn ids(model: &Model) -> Vec<String> {
    let outcomes = model.outcomes().iter().map(|o| o.id.clone());
    outcomes
        .chain(model.events().iter().map(|e| e.id.clone()))
        .collect()
}

/// Runs `scenarios` over paths `[0, paths)` with `seed` and compares each with the first.
#[allow(clippy::too_many_arguments)]
pub fn run(
    scenarios: &[Scenario<'_>],
    paths: u64,
    seed: u64,
    limits: &Limits,
    pool: &rayon::ThreadPool,
    cancel: &AtomicBool,
    progress: impl FnMut(u64),
) -> anyhow::Result<Comparison> {
    let models: Vec<&Model> = scenarios.iter().map(|s| s.model).collect();
    let options = RunOptions {
        first_path: 0,
        paths,
        seed,
        keep_records: false,
    };
    let paired =
        simulate::run_paired(&models, &options, pool, cancel, progress).map_err(cancelled)?;
    let reports: Vec<Report> = models
        .iter()
        .zip(&paired.tallies)
        .map(|(m, t)| Report::from_tally(m, t, seed, 0))
        .collect();
    let solved: Result<Vec<Report>, ExactError> = pool.install(|| {
        models
            .par_iter()
            .map(|m| {
                exact::solve_cancellable(m, limits, cancel)
                    .map(|masses| Report::from_exact(m, &masses))
            })
            .collect()
    });
    let (exact_reports, exact_missing) = match solved {
        Ok(reports) => (Some(reports), None),
        Err(ExactError::Cancelled) => return Err(crate::job::Interrupted.into()),
        Err(e) => (None, Some(e.to_string())),
    };
    let reference = &scenarios[0];
    let mut rows = Vec::new();
    let mut not_shared = Vec::new();
    for (v, pairs) in paired.pairs.iter().enumerate() {
        let variant = &scenarios[v + 1];
        let shared: Vec<String> = pairs.items.iter().map(|i| i.id.clone()).collect();
        let mut missing: Vec<String> = ids(reference.model)
            .into_iter()
            .chain(ids(variant.model))
            .filter(|id| !shared.contains(id))
            .collect();
        missing.dedup();
        if !missing.is_empty() {
            not_shared.push((variant.name.clone(), missing));
        }
        for (j, item) in pairs.items.iter().enumerate() {
            let counts = PairedCounts {
                both: pairs.both[j],
                reference_only: pairs.reference_only[j],
                variant_only: pairs.variant_only[j],
                paths,
            };
            let of = |reports: &[Report], at: usize, index: usize| {
                line(&reports[at], item.kind, index)
                    .estimate
                    .probability
                    .unwrap_or(0.0)
            };
            let exact = exact_reports.as_ref().map(|r| {
                let (p, q) = (of(r, v + 1, item.variant), of(r, 0, item.reference));
                (p, q, p - q)
            });
            rows.push(Row {
                scenario: variant.name.clone(),
                reference: reference.name.clone(),
                kind: item.kind,
                id: item.id.clone(),
                label: line(&reports[v + 1], item.kind, item.variant).label.clone(),
                probability: of(&reports, v + 1, item.variant),
                reference_probability: of(&reports, 0, item.reference),
                difference: counts.difference(),
                interval: counts.interval(),
                variance_ratio: counts.variance_ratio(),
                exact,
            });
        }
    }
    Ok(Comparison {
        rows,
        paths,
        seed,
        exact_missing,
        not_shared,
    })
}
