//! The scenario as a PRISM-language DTMC, for probabilistic model checkers (PRISM, Storm).
//!
//! Layout (see docs/prism-export.md):
//!
//! - `step_counter`: `t` runs from 1 to H+1; t = H+1 means that the horizon has passed.
//! - one module `event_<id>` per event, with a boolean `e_<id>` (the event is in effect; for an
//!   event that cannot end, it has happened), and for an event that can end a boolean
//!   `ever_<id>` (it has ever started);
//! - `outcome`: `o` is 0 while the path runs, else the 1-based number of its outcome.
//!
//! Every module moves on the one action `[step]`, so that one transition of the chain is one
//! step of a path: everything happens at once, decided on the state before the step. Each
//! module has a command for every state (the guards of its commands are complementary), and
//! the states with o > 0 loop on themselves. After step H the outcome module picks the
//! horizon outcome by the ordered rules in one more transition.
//!
//! Labels: `"<event id>"` holds once the event has happened (started, for one that can end), `"<outcome id>"` once the path
//! ended in that outcome, so `P=? [F "ceasefire"]` is the probability of the outcome.

use crate::model::{Hazard, Model};
use crate::rate::Rate;
use crate::scenario::condition::Condition;
use std::fmt::Write;

/// Names PRISM gives a meaning of its own as labels.
const RESERVED_LABELS: [&str; 2] = ["init", "deadlock"];

/// A probability or factor as a PRISM literal: plain decimal notation (Rust never prints an
/// f64 with an exponent under `{}`), with the shortest digits that read back as the same f64,
/// and always with a decimal point so that PRISM reads a double, never an int.
fn number(x: f64) -> String {
    let text = format!("{x}");
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

/// Text fit for a `//` comment: one line, printable.
fn comment(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The variable of state bit `bit`: an event in effect, or the ever bit of one that can end.
fn event_var(model: &Model, bit: u8) -> String {
    let n = model.events().len();
    match (0..n).find(|&e| model.ever_bit(e) == bit) {
        Some(e) if e != usize::from(bit) => format!("ever_{}", model.events()[e].id),
        _ => format!("e_{}", model.events()[bit as usize].id),
    }
}

/// The variable that holds once event `e` has ever happened.
fn ever_var(model: &Model, e: usize) -> String {
    event_var(model, model.ever_bit(e))
}

/// A condition as a PRISM boolean expression over the event variables.
fn condition(model: &Model, c: &Condition) -> String {
    match c {
        Condition::Const(value) => value.to_string(),
        Condition::Happened(bit) => event_var(model, *bit),
        Condition::Not(inner) => format!("!{}", operand(model, inner)),
        Condition::And(terms) => join(model, terms, " & "),
        Condition::Or(terms) => join(model, terms, " | "),
    }
}

fn operand(model: &Model, c: &Condition) -> String {
    match c {
        Condition::And(_) | Condition::Or(_) => format!("({})", condition(model, c)),
        _ => condition(model, c),
    }
}

fn join(model: &Model, terms: &[Condition], separator: &str) -> String {
    terms
        .iter()
        .map(|t| operand(model, t))
        .collect::<Vec<_>>()
        .join(separator)
}

/// The conjunction of `terms`, "true" when there are none.
fn all_of(terms: Vec<String>) -> String {
    if terms.is_empty() {
        "true".into()
    } else {
        terms.join(" & ")
    }
}

/// The conditions, besides the path running, under which a hazard can fire: its window (left
/// out when it spans the whole horizon) and its `when`.
fn eligibility(model: &Model, hazard: &Hazard) -> Vec<String> {
    let mut terms = Vec::new();
    let (first, last) = hazard.window();
    if first > 1 {
        terms.push(format!("t >= {first}"));
    }
    if last < model.horizon() {
        terms.push(format!("t <= {last}"));
    }
    if let Some(when) = hazard.when() {
        terms.push(format!("({})", condition(model, when)));
    }
    terms
}

/// The formulas of a hazard's adjusted probability, named `p_<id>` (and the product of its
/// modifier factors `f_<id>`): the odds p/(1-p) multiplied by F, that is p' = p*F/(1-p+p*F),
/// written as 1/(1 + (1-p)/(p*F)) so that, as in [`crate::model::adjust_odds`], a product too
/// large for a double gives 1 rather than inf/inf.
///
/// A base probability that changes over time has a formula of its own, `pb_<id>`, an
/// expression of `t` (see [`rate`]) that the adjusted probability uses several times.
///
/// The end of an event that can end has its formulas named `q_<id>`, `g_<id>` and `qb_<id>`
/// instead.
fn probability_formulas(out: &mut String, model: &Model, name: Names<'_>, hazard: &Hazard) {
    let Names {
        probability: p_name,
        factor: f_name,
        id,
    } = name;
    let p = match hazard.p().constant() {
        Some(v) => number(v),
        None => {
            let base = format!("{p_name}b_{id}");
            writeln!(out, "formula {base} = {};", rate(hazard.p())).unwrap();
            base
        }
    };
    let pinned = |v: f64| v <= 0.0 || v >= 1.0;
    if hazard.modifiers().is_empty() || hazard.p().constant().is_some_and(pinned) {
        writeln!(out, "formula {p_name}_{id} = {p};").unwrap();
        return;
    }
    let factors: Vec<String> = hazard
        .modifiers()
        .iter()
        .map(|m| format!("({} ? {} : 1)", operand(model, &m.when), rate(&m.factor)))
        .collect();
    for m in hazard.modifiers() {
        writeln!(
            out,
            "// modifier {}: odds x {} when {}",
            comment(&m.name),
            rate(&m.factor),
            comment(&model.render(&m.when))
        )
        .unwrap();
    }
    writeln!(out, "formula {f_name}_{id} = ({});", factors.join(" * ")).unwrap();
    let adjusted = format!("(1 / (1 + (1 - {p}) / ({p} * {f_name}_{id})))");
    if hazard.p().constant().is_some() {
        writeln!(out, "formula {p_name}_{id} = {adjusted};").unwrap();
    } else {
        // A p that changes over time may be 0 or 1 at some steps, which odds cannot move.
        writeln!(
            out,
            "formula {p_name}_{id} = ({p} <= 0 | {p} >= 1 ? {p} : {adjusted});"
        )
        .unwrap();
    }
}

/// A rate as a PRISM expression of the step `t`: a schedule as nested conditionals, a decay
/// with `pow`.
fn rate(rate: &Rate) -> String {
    match rate {
        Rate::Constant(v) => number(*v),
        Rate::Schedule(pieces) => {
            let (last, earlier) = pieces.split_last().expect("a schedule has a piece");
            earlier
                .iter()
                .rev()
                .fold(number(last.value), |rest, piece| {
                    format!("(t <= {} ? {} : {rest})", piece.last, number(piece.value))
                })
        }
        Rate::Decay {
            start,
            half_life,
            from,
        } => format!(
            "({} * pow(2.0, ({from} - t) / {}))",
            number(*start),
            number(*half_life)
        ),
    }
}

/// The formula names of one hazard: `<probability>_<id>` and `<factor>_<id>`.
#[derive(Clone, Copy)]
struct Names<'a> {
    probability: &'static str,
    factor: &'static str,
    id: &'a str,
}

impl<'a> Names<'a> {
    fn start(id: &'a str) -> Names<'a> {
        Names {
            probability: "p",
            factor: "f",
            id,
        }
    }
}

/// The label names: the ids themselves, except that an id PRISM reserves gets a prefix (and
/// underscores until it is unique).
fn label_names(model: &Model) -> Vec<String> {
    let ids: Vec<&str> = model
        .events()
        .iter()
        .map(|e| e.id.as_str())
        .chain(model.outcomes().iter().map(|o| o.id.as_str()))
        .collect();
    let mut names: Vec<String> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let mut name = id.to_string();
        if RESERVED_LABELS.contains(id) {
            name = format!(
                "{}_{id}",
                if i < model.events().len() {
                    "event"
                } else {
                    "outcome"
                }
            );
            while ids.contains(&name.as_str()) || names.contains(&name) {
                name.push('_');
            }
        }
        names.push(name);
    }
    names
}

/// The scenario as a PRISM DTMC (see the module documentation).
pub fn to_prism(model: &Model) -> String {
    to_prism_with_notes(model, &[])
}

/// As [`to_prism`], with extra lines for the header comment (e.g. the files the scenario was
/// read from and the `--set` overrides).
pub fn to_prism_with_notes(model: &Model, notes: &[String]) -> String {
    let mut out = String::new();
    let h = model.horizon();
    let labels = label_names(model);
    let w = &mut out;

    writeln!(
        w,
        "// PRISM model (DTMC) exported by pathcast {}",
        env!("CARGO_PKG_VERSION")
    )
    .unwrap();
    writeln!(
        w,
        "// scenario {}: {}",
        comment(model.id()),
        comment(model.title())
    )
    .unwrap();
    for note in notes {
        writeln!(w, "// {}", comment(note)).unwrap();
    }
    writeln!(
        w,
        "//\n// One transition is one {} of a path; t is the step about to happen (t = {} once \
         the horizon has passed).",
        model.step(),
        h + 1
    )
    .unwrap();
    writeln!(w, "// o is 0 while the path runs, else its outcome:").unwrap();
    for (i, o) in model.outcomes().iter().enumerate() {
        writeln!(w, "//   o = {}: {} ({})", i + 1, o.id, comment(&o.label)).unwrap();
    }
    writeln!(
        w,
        "// Labels: each event id holds once the event has happened, each outcome id once the \
         path ended in it."
    )
    .unwrap();
    for (i, name) in labels.iter().enumerate() {
        let id = if i < model.events().len() {
            &model.events()[i].id
        } else {
            &model.outcomes()[i - model.events().len()].id
        };
        if name != id {
            writeln!(
                w,
                "// (the label of '{id}' is \"{name}\": PRISM reserves \"{id}\")"
            )
            .unwrap();
        }
    }
    writeln!(
        w,
        "// Check with e.g.: storm --prism model.pm --prop 'P=? [F \"{}\"]'",
        labels[model.events().len()]
    )
    .unwrap();

    writeln!(
        w,
        "\ndtmc\n\nconst int H = {h}; // the horizon, in {}s",
        model.step()
    )
    .unwrap();
    writeln!(
        w,
        "\n// The path has not ended and the horizon has not passed."
    )
    .unwrap();
    writeln!(w, "formula running = (o = 0 & t <= H);").unwrap();

    writeln!(
        w,
        "\nmodule step_counter\n  t : [1..H+1] init 1;\n  [step] running -> (t' = t + 1);\n  \
         [step] !running -> true;\nendmodule"
    )
    .unwrap();

    for event in model.events() {
        let id = &event.id;
        writeln!(w, "\n// event {id}: {}", comment(&event.label)).unwrap();
        if !event.hazard.p().ever_positive() {
            writeln!(
                w,
                "// (p = 0: it never happens)\nmodule event_{id}\n  e_{id} : bool init \
                 false;\n  [step] true -> true;\nendmodule"
            )
            .unwrap();
            continue;
        }
        probability_formulas(w, model, Names::start(id), &event.hazard);
        let mut go = vec!["running".to_string(), format!("!e_{id}")];
        if !event.recurs && event.ends.is_some() {
            go.push(format!("!ever_{id}"));
        }
        go.extend(eligibility(model, &event.hazard));
        writeln!(w, "formula go_{id} = ({});", all_of(go)).unwrap();
        let Some(ends) = event.ends.as_ref().filter(|h| h.p().ever_positive()) else {
            let (ever, marks) = match event.ends {
                Some(_) => (
                    format!("\n  ever_{id} : bool init false;"),
                    format!(" & (ever_{id}' = true)"),
                ),
                None => (String::new(), String::new()),
            };
            writeln!(
                w,
                "module event_{id}\n  e_{id} : bool init false;{ever}\n  [step] go_{id} -> p_{id} : \
                 (e_{id}' = true){marks} + 1 - p_{id} : true;\n  [step] !go_{id} -> true;\nendmodule"
            )
            .unwrap();
            continue;
        };
        let names = Names {
            probability: "q",
            factor: "g",
            id,
        };
        writeln!(
            w,
            "// it ends with probability q_{id} per step while in effect"
        )
        .unwrap();
        probability_formulas(w, model, names, ends);
        let mut stop = vec!["running".to_string(), format!("e_{id}")];
        stop.extend(eligibility(model, ends));
        writeln!(w, "formula stop_{id} = ({});", all_of(stop)).unwrap();
        writeln!(
            w,
            "module event_{id}\n  e_{id} : bool init false;\n  ever_{id} : bool init false;\n  \
             [step] go_{id} -> p_{id} : (e_{id}' = true) & (ever_{id}' = true) + 1 - p_{id} : \
             true;\n  [step] stop_{id} -> q_{id} : (e_{id}' = false) + 1 - q_{id} : true;\n  \
             [step] !go_{id} & !stop_{id} -> true;\nendmodule"
        )
        .unwrap();
    }

    writeln!(
        w,
        "\n// Outcome hazards: h_<id> is its probability at this step."
    )
    .unwrap();
    let mut hazards = Vec::new();
    for (i, outcome) in model.outcomes().iter().enumerate() {
        let Some(hazard) = &outcome.hazard else {
            continue;
        };
        if !hazard.p().ever_positive() {
            continue;
        }
        let id = &outcome.id;
        writeln!(w, "// outcome {id}: {}", comment(&outcome.label)).unwrap();
        probability_formulas(w, model, Names::start(id), hazard);
        let mut eligible = vec!["running".to_string()];
        eligible.extend(eligibility(model, hazard));
        writeln!(w, "formula h_{id} = ({} ? p_{id} : 0);", all_of(eligible)).unwrap();
        hazards.push((i + 1, id));
    }
    if !hazards.is_empty() {
        let sum: Vec<String> = hazards.iter().map(|(_, id)| format!("h_{id}")).collect();
        let none: Vec<String> = hazards
            .iter()
            .map(|(_, id)| format!("(1 - h_{id})"))
            .collect();
        writeln!(w, "formula hz_sum = ({});", sum.join(" + ")).unwrap();
        writeln!(w, "formula hz_none = ({});", none.join(" * ")).unwrap();
    }
    let mut horizon = (model.horizon_default() + 1).to_string();
    for rule in model.horizon_rules().iter().rev() {
        horizon = format!(
            "({} ? {} : {horizon})",
            operand(model, &rule.when),
            rule.outcome + 1
        );
    }
    writeln!(
        w,
        "\nmodule outcome\n  o : [0..{}] init 0;",
        model.outcomes().len()
    )
    .unwrap();
    if hazards.is_empty() {
        writeln!(w, "  [step] running -> true;").unwrap();
    } else {
        // With probability 1 - prod(1 - h) one outcome happens, o with probability h_o / sum(h).
        let mut branches: Vec<String> = hazards
            .iter()
            .map(|(o, id)| format!("(1 - hz_none) * h_{id} / hz_sum : (o' = {o})"))
            .collect();
        branches.push("hz_none : true".into());
        writeln!(
            w,
            "  [step] running & hz_sum > 0 ->\n      {};",
            branches.join("\n    + ")
        )
        .unwrap();
    }
    // The complement of the other two commands: the path has ended (its states are absorbing),
    // or no outcome can happen at this step.
    let idle = if hazards.is_empty() {
        "o > 0"
    } else {
        "o > 0 | (running & hz_sum = 0)"
    };
    writeln!(
        w,
        "  // After step H, the first horizon rule that holds names the outcome.\n  [step] o = 0 \
         & t > H -> (o' = {horizon});\n  [step] {idle} -> true;\nendmodule"
    )
    .unwrap();

    writeln!(w).unwrap();
    for (e, name) in labels.iter().take(model.events().len()).enumerate() {
        writeln!(w, "label \"{name}\" = {};", ever_var(model, e)).unwrap();
    }
    for (i, name) in labels[model.events().len()..].iter().enumerate() {
        writeln!(w, "label \"{name}\" = (o = {});", i + 1).unwrap();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{load_from, presets};
    use std::path::Path;

    const TINY: &str = r#"
[scenario]
id = "tiny"
title = "Tiny\ttwo lines"
horizon = 3

[events.init]
label = "An event whose id PRISM reserves as a label"
p = 0.5

[events.talks]
label = "Talks"
p = 0.25
window = [2, 3]
when = "init"
[events.talks.modifiers.push]
when = "not (init and talks) or init"
factor = 2.0

[events.never]
label = "Never"
p = 0.0

[outcomes.deal]
label = "Deal"
p = 0.1
when = "talks"

[outcomes.nothing]
label = "Nothing"

[horizon]
rules = [{ when = "talks", outcome = "deal" }]
default = "nothing"
"#;

    fn tiny() -> Model {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
        load_from("tiny.toml", &[], dir.path()).unwrap().model
    }

    /// Checks what every export must satisfy, whatever the scenario.
    fn check_shape(model: &Model, text: &str) {
        assert!(text.contains("\ndtmc\n"));
        assert_eq!(
            text.matches("\nmodule ").count(),
            model.events().len() + 2,
            "a step counter, one module per event and the outcome module"
        );
        assert_eq!(
            text.matches("\nendmodule").count(),
            model.events().len() + 2
        );
        for event in model.events() {
            assert!(text.contains(&format!("\nmodule event_{}\n", event.id)));
            assert!(text.contains(&format!("  e_{} : bool init false;\n", event.id)));
        }
        let labels = text.lines().filter(|l| l.starts_with("label \"")).count();
        assert_eq!(labels, model.events().len() + model.outcomes().len());
        for (i, outcome) in model.outcomes().iter().enumerate() {
            assert!(text.contains(&format!("label \"{}\" = (o = {});", outcome.id, i + 1)));
        }
        for (n, line) in text.lines().enumerate() {
            if line.starts_with("//") {
                continue;
            }
            let open = line.matches('(').count();
            let close = line.matches(')').count();
            assert_eq!(
                open,
                close,
                "unbalanced parentheses on line {}: {line}",
                n + 1
            );
            assert!(!line.contains("NaN") && !line.contains("inf"), "{line}");
        }
        // Each [step] command sits in a module and ends with a semicolon.
        for line in text.lines().filter(|l| l.contains("[step]")) {
            assert!(line.starts_with("  [step] "), "{line}");
        }
    }

    #[test]
    fn tiny_model_has_its_modules_formulas_and_labels() {
        let model = tiny();
        let text = to_prism(&model);
        check_shape(&model, &text);
        assert!(text.starts_with(&format!(
            "// PRISM model (DTMC) exported by pathcast {}\n// scenario tiny: Tiny two lines\n",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(text.contains("const int H = 3;"));
        assert!(text.contains("module step_counter\n  t : [1..H+1] init 1;\n"));
        assert!(text.contains("formula running = (o = 0 & t <= H);"));
        // The window [2, 3] ends at the horizon, so only its start is a condition.
        assert!(text.contains("formula go_talks = (running & !e_talks & t >= 2 & (e_init));"));
        assert!(text.contains(
            "formula f_talks = (((!(e_init & e_talks) | e_init) ? 2.0 : 1));\n\
             formula p_talks = (1 / (1 + (1 - 0.25) / (0.25 * f_talks)));"
        ));
        assert!(text.contains(
            "[step] go_talks -> p_talks : (e_talks' = true) + 1 - p_talks : true;\n  \
             [step] !go_talks -> true;"
        ));
        // An event that cannot happen keeps its variable and only idles.
        assert!(text.contains(
            "module event_never\n  e_never : bool init false;\n  [step] true -> true;\nendmodule"
        ));
        assert!(text.contains("formula h_deal = (running & (e_talks) ? p_deal : 0);"));
        assert!(text.contains("formula hz_sum = (h_deal);"));
        assert!(text.contains("o : [0..2] init 0;"));
        assert!(text.contains("(1 - hz_none) * h_deal / hz_sum : (o' = 1)\n    + hz_none : true;"));
        assert!(text.contains("[step] o = 0 & t > H -> (o' = (e_talks ? 1 : 2));"));
        assert!(text.contains("[step] o > 0 | (running & hz_sum = 0) -> true;"));
        // "init" is PRISM's label of the initial states: the event's label gets a prefix.
        assert!(text.contains("label \"event_init\" = e_init;"));
        assert!(!text.contains("label \"init\""));
        assert!(text.contains("label \"talks\" = e_talks;"));
        assert!(text.contains("label \"nothing\" = (o = 2);"));
    }

    /// A schedule becomes nested conditionals on `t`, a decay a power of 2 from the first step
    /// of its window; a base p that changes has a formula of its own, which odds leave alone
    /// where it is 0 or 1.
    #[test]
    fn rates_are_expressions_of_the_step() {
        let text = TINY
            .replace(
                "p = 0.25\nwindow = [2, 3]",
                "p = [{ until = 2, p = 0.0 }, { p = 0.25 }]\nwindow = [2, 3]",
            )
            .replace("factor = 2.0", "factor = { start = 2.0, half_life = 1.5 }")
            .replace(
                "p = 0.1\nwhen = \"talks\"",
                "p = { start = 0.1, half_life = 2 }\nwhen = \"talks\"",
            );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tiny.toml"), text).unwrap();
        let model = load_from("tiny.toml", &[], dir.path()).unwrap().model;
        let text = to_prism(&model);
        check_shape(&model, &text);
        assert!(text.contains(
            "formula pb_talks = (t <= 2 ? 0.0 : 0.25);\n\
             // modifier push: odds x (2.0 * pow(2.0, (2 - t) / 1.5)) when not (init and talks) or init\n\
             formula f_talks = (((!(e_init & e_talks) | e_init) ? (2.0 * pow(2.0, (2 - t) / 1.5)) : 1));\n\
             formula p_talks = (pb_talks <= 0 | pb_talks >= 1 ? pb_talks : (1 / (1 + (1 - pb_talks) / (pb_talks * f_talks))));"
        ), "{text}");
        // No modifier: the decay is the probability itself, from the outcome's first step.
        assert!(
            text.contains(
                "formula pb_deal = (0.1 * pow(2.0, (1 - t) / 2.0));\nformula p_deal = pb_deal;"
            ),
            "{text}"
        );
    }

    #[test]
    fn notes_go_into_the_header() {
        let text = to_prism_with_notes(&tiny(), &["--set events.talks.p=0.5".into()]);
        assert!(text.lines().nth(2) == Some("// --set events.talks.p=0.5"));
    }

    #[test]
    fn numbers_are_plain_decimals_that_read_back_exactly() {
        assert_eq!(number(1.0), "1.0");
        assert_eq!(number(0.0), "0.0");
        assert_eq!(number(0.007), "0.007");
        assert_eq!(number(1e-7), "0.0000001");
        assert_eq!(number(1e20), "100000000000000000000.0");
        for x in [
            0.1,
            1.0 / 3.0,
            0.15,
            2.5e-5,
            1e-300,
            f64::MIN_POSITIVE,
            5e-324,
            123456.789,
            f64::MAX,
        ] {
            let text = number(x);
            assert!(
                text.chars().all(|c| c.is_ascii_digit() || c == '.'),
                "{text}"
            );
            assert!(text.contains('.'));
            assert_eq!(text.parse::<f64>().unwrap(), x);
        }
    }

    #[test]
    fn conditions_keep_their_grouping() {
        let model = tiny();
        let (a, b) = (Condition::Happened(0), Condition::Happened(1));
        let not_and = Condition::Not(Box::new(Condition::And(vec![a.clone(), b.clone()])));
        assert_eq!(condition(&model, &not_and), "!(e_init & e_talks)");
        let and_or = Condition::And(vec![
            Condition::Or(vec![a.clone(), b.clone()]),
            Condition::Not(Box::new(a)),
        ]);
        assert_eq!(condition(&model, &and_or), "(e_init | e_talks) & !e_init");
        assert_eq!(condition(&model, &Condition::Const(false)), "false");
    }

    #[test]
    fn every_preset_exports() {
        for name in presets::names() {
            let loaded = load_from(name, &[], Path::new("/nonexistent")).unwrap();
            let text = to_prism(&loaded.model);
            check_shape(&loaded.model, &text);
            assert!(text.contains(&format!("// scenario {}: ", loaded.model.id())));
        }
    }
}
