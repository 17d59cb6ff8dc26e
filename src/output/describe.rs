//! `pathcast check`: the scenario in readable form.

use super::analysis::value;
use super::{percent, table};
use crate::model::{Hazard, Model};
use crate::rate::Rate;
use crate::scenario::Loaded;
use crate::text::printable;

fn hazard_cells(model: &Model, hazard: &Hazard) -> Vec<String> {
    let window = if hazard.window() == (1, model.horizon()) {
        "always".to_string()
    } else {
        format!(
            "{}s {}-{}",
            model.step(),
            hazard.window().0,
            hazard.window().1
        )
    };
    let when = hazard
        .when()
        .as_ref()
        .map(|c| model.render(c))
        .unwrap_or_else(|| "-".into());
    let modifiers = hazard
        .modifiers()
        .iter()
        .map(|m| {
            let factor = rate(model, &m.factor, &|f| format!("x{f}"));
            // A factor that changes is a list of its own: a comma ends it.
            let end = if m.factor.constant().is_some() {
                ""
            } else {
                ","
            };
            format!("{factor}{end} if {}", model.render(&m.when))
        })
        .collect::<Vec<_>>()
        .join("; ");
    vec![rate(model, hazard.p(), &percent), window, when, modifiers]
}

/// A value that may change over time, each number written with `show`: "2.0% to week 8
/// (2025-10-14), then 1.0%" (each piece to the last step it covers, with the date that step
/// begins), or "1.2%, halving every 12 weeks".
fn rate(model: &Model, rate: &Rate, show: &dyn Fn(f64) -> String) -> String {
    match rate {
        Rate::Constant(v) => show(*v),
        Rate::Schedule(pieces) => {
            let (last, earlier) = pieces.split_last().expect("a schedule has a piece");
            let mut text: Vec<String> = earlier
                .iter()
                .map(|p| format!("{} to {}", show(p.value), model.describe_step(p.last)))
                .collect();
            text.push(format!("then {}", show(last.value)));
            text.join(", ")
        }
        Rate::Decay {
            start, half_life, ..
        } => format!(
            "{}, halving every {half_life} {}{}",
            show(*start),
            model.step(),
            if *half_life == 1.0 { "" } else { "s" }
        ),
    }
}

pub fn render(loaded: &Loaded) -> String {
    let model = &loaded.model;
    let mut text = format!("{} ({})\n", printable(model.title()), model.id());
    // A description may run over several lines; each is escaped, so that none of them can
    // move the cursor or pass for a line of pathcast's own.
    for line in model.description().trim().lines() {
        text.push_str(&format!("{}\n", printable(line)));
    }
    let start = model
        .start()
        .map(|d| format!(", starting {d}"))
        .unwrap_or_default();
    let samples = if model.uncertain().is_empty() {
        String::new()
    } else {
        format!(", {} samples of the uncertain inputs", model.samples())
    };
    text.push_str(&format!(
        "\n{} steps of one {}{start}; default {} paths{samples}, seed {}\nread from: {}\n",
        model.horizon(),
        model.step(),
        model.paths(),
        model.seed(),
        printable(&loaded.files.join(" <- "))
    ));
    let header = |first: &str| {
        [
            first,
            "label",
            "p per step",
            "window",
            "possible when",
            "odds modifiers",
        ]
        .map(String::from)
        .to_vec()
    };
    let mut events = vec![header("event")];
    for event in model.events() {
        let mut row = vec![event.id.clone(), event.label.clone()];
        row.extend(hazard_cells(model, &event.hazard));
        events.push(row);
        // An event that can end: a row for its end, under it.
        if let Some(ends) = &event.ends {
            let again = if event.recurs {
                "may start again"
            } else {
                "never starts again"
            };
            let mut row = vec![String::new(), format!("... ends while in effect ({again})")];
            row.extend(hazard_cells(model, ends));
            events.push(row);
        }
    }
    text.push_str(&format!(
        "\nEvents ({}):\n{}",
        model.events().len(),
        table(&events)
    ));
    let mut outcomes = vec![header("outcome")];
    for outcome in model.outcomes() {
        let mut row = vec![outcome.id.clone(), outcome.label.clone()];
        match &outcome.hazard {
            Some(hazard) => row.extend(hazard_cells(model, hazard)),
            None => row.push("at the horizon only".into()),
        }
        outcomes.push(row);
    }
    text.push_str(&format!(
        "\nOutcomes ({}):\n{}",
        model.outcomes().len(),
        table(&outcomes)
    ));
    text.push_str(&format!(
        "\nAt the horizon (after {} {}s):\n",
        model.horizon(),
        model.step()
    ));
    for rule in model.horizon_rules() {
        text.push_str(&format!(
            "  if {} -> {}\n",
            model.render(&rule.when),
            model.outcomes()[rule.outcome].id
        ));
    }
    let otherwise = if model.horizon_rules().is_empty() {
        "always"
    } else {
        "otherwise"
    };
    text.push_str(&format!(
        "  {otherwise} -> {}\n",
        model.outcomes()[model.horizon_default()].id
    ));
    if !model.uncertain().is_empty() {
        let mut rows = vec![["input", "distribution", "median", "90% interval"]
            .map(String::from)
            .to_vec()];
        for input in model.uncertain() {
            let (low, high) = input.distribution.interval();
            rows.push(vec![
                input.key.clone(),
                input.distribution.describe(),
                value(input.distribution.median()),
                format!("{} - {}", value(low), value(high)),
            ]);
        }
        text.push_str(&format!(
            "\nUncertain inputs ({}; plain runs use the median, `run` and `exact` sample them):\n{}",
            model.uncertain().len(),
            table(&rows)
        ));
    }
    if !model.sources().is_empty() {
        text.push_str("\nSources:\n");
        for source in model.sources() {
            text.push_str(&format!("  - {}\n", printable(source)));
        }
    }
    text
}
