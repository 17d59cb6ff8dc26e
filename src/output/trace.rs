//! `pathcast trace`: the story of one path, step by step.

use super::percent;
use crate::model::Model;
use crate::simulate::{Kernel, PathRecord};
use crate::text::printable;

/// Simulates path `path` of `seed` (the same path as in any run with that seed) and tells it.
pub fn render(model: &Model, seed: u64, path: u64) -> String {
    let mut kernel = Kernel::new(model, seed);
    let mut record = PathRecord::new(model);
    kernel.run_path(path, &mut record);
    let mut text = format!(
        "Path {path} of '{}' with seed {seed}: {} steps of one {}{}\n\n",
        model.id(),
        model.horizon(),
        model.step(),
        model
            .start()
            .map(|d| format!(" from {d}"))
            .unwrap_or_default()
    );
    let mut happened = 0u64;
    let mut quiet_since = 1;
    let changes = record.all_changes(model);
    for t in 1..=record.step {
        let new: Vec<usize> = changes
            .iter()
            .filter(|&&(at, _)| at == t)
            .map(|&(_, e)| usize::from(e))
            .collect();
        let outcome_now = t == record.step && !record.by_horizon;
        if new.is_empty() && !outcome_now {
            continue;
        }
        if quiet_since < t {
            text.push_str(&quiet(model, happened, quiet_since, t - 1));
        }
        let hazards = model.step_hazards(happened, t);
        let chance = |e: usize| {
            hazards
                .events
                .iter()
                .find(|&&(i, _)| i == e)
                .map_or(0.0, |&(_, p)| p)
        };
        let mut changed = 0u64;
        for &e in &new {
            // Only an event that can end says whether it starts or ends.
            let how = match (model.events()[e].ends.is_some(), happened >> e & 1 == 1) {
                (false, _) => "",
                (true, false) => "starts: ",
                (true, true) => "ends: ",
            };
            text.push_str(&format!(
                "{}: {how}{} [{}] (chance at this step {})\n",
                model.describe_step(t),
                printable(&model.events()[e].label),
                model.events()[e].id,
                percent(chance(e))
            ));
            changed |= 1 << e;
        }
        happened = model.apply(happened, changed);
        if outcome_now {
            let o = record.outcome;
            let h = hazards
                .outcomes
                .iter()
                .find(|&&(i, _)| i == o)
                .map_or(0.0, |&(_, h)| h);
            text.push_str(&format!(
                "{}: OUTCOME {} [{}] (chance at this step {})\n",
                model.describe_step(t),
                printable(&model.outcomes()[o].label),
                model.outcomes()[o].id,
                percent(h)
            ));
            return text;
        }
        quiet_since = t + 1;
    }
    if quiet_since <= model.horizon() {
        text.push_str(&quiet(model, happened, quiet_since, model.horizon()));
    }
    let o = record.outcome;
    text.push_str(&format!(
        "Horizon reached after {}: OUTCOME {} [{}]\n",
        model.describe_step(model.horizon()),
        printable(&model.outcomes()[o].label),
        model.outcomes()[o].id
    ));
    text
}

/// "Nothing happened" from step `from` to `to`, one line per run of steps with the same chances.
fn quiet(model: &Model, happened: u64, from: u32, to: u32) -> String {
    let mut text = String::new();
    let mut start = from;
    while start <= to {
        let segment = model.segment_of(start);
        let end = model.segments()[segment].1.min(to);
        let hazards = model.step_hazards(happened, start);
        let none: f64 = hazards
            .events
            .iter()
            .chain(&hazards.outcomes)
            .map(|&(_, p)| 1.0 - p)
            .product();
        let span = if start == end {
            model.describe_step(start)
        } else {
            format!(
                "{} to {}",
                model.describe_step(start),
                model.describe_step(end)
            )
        };
        text.push_str(&format!(
            "{span}: nothing happened (chance that something would, each step: {})\n",
            percent(1.0 - none)
        ));
        start = end + 1;
    }
    text
}
