//! The compiled model as JSON, for programs outside pathcast that simulate or check the same
//! chain (benches/numpy_baseline.py reads it). See docs/json-export.md.
//!
//! It holds what one step of a path needs (docs/scenario-format.md) and nothing else: each
//! event's and outcome's base p, window, condition and odds modifiers, the horizon rules, and
//! the scenario's horizon, seed and default paths. Conditions come as their tree and, when it
//! has at most 64 terms, as a disjunction of (have, lack) event-index lists: the condition
//! holds on a set S when, for some term, every `have` event is in S and no `lack` event is.
//! Numbers are written with the shortest digits that read back as the same f64.
//!
//! `format_version` changes whenever the meaning of a step gains a construct, so that a reader
//! written for an earlier version refuses a model it would simulate wrongly instead of
//! guessing. A scenario of the first format (events that happen once and stay, constant
//! probabilities) is written as version 1, exactly as before; one with events that end or
//! probabilities that change over time as version 2, which adds those (and only those). The inputs of a scenario with uncertain values are listed under `uncertain`; the
//! p and factors hold their medians, as for `check` and `export --prism`.

use crate::model::{bits, Hazard, Model};
use crate::rate::Rate;
use crate::scenario::condition::{Condition, Test};
use serde::Serialize;

/// Bumped whenever a step's semantics gain something a reader must implement.
pub const FORMAT_VERSION: u32 = 2;

#[derive(Serialize)]
struct Document<'m> {
    format: &'static str,
    format_version: u32,
    id: &'m str,
    step: &'static str,
    horizon: u32,
    seed: u64,
    paths: u64,
    events: Vec<Item<'m>>,
    outcomes: Vec<Item<'m>>,
    horizon_rules: Vec<Rule>,
    horizon_default: usize,
    /// The `--set` keys of the inputs given as distributions (their medians are above).
    uncertain: Vec<&'m str>,
    /// Version 2: the bits of a state (each event's, then an "ever" bit per event that ends).
    #[serde(skip_serializing_if = "Option::is_none")]
    state_bits: Option<usize>,
}

#[derive(Serialize)]
struct Item<'m> {
    id: &'m str,
    /// `null` for an outcome reached only through the horizon rules.
    p: Option<RateOut>,
    window: Option<[u32; 2]>,
    when: Option<Cond>,
    modifiers: Vec<ModifierOut<'m>>,
    /// Version 2, events only: how it ends while in effect (`null`: it stays).
    #[serde(skip_serializing_if = "Option::is_none")]
    ends: Option<Option<Box<Item<'m>>>>,
    /// Version 2, events only: whether it may start again after it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    recurs: Option<bool>,
    /// Version 2, events only: the state bit that says it has ever started (its own bit for
    /// an event that cannot end).
    #[serde(skip_serializing_if = "Option::is_none")]
    ever_bit: Option<u8>,
}

#[derive(Serialize)]
struct ModifierOut<'m> {
    name: &'m str,
    when: Cond,
    factor: RateOut,
}

/// A probability or factor: a number, or (version 2) a schedule or a decay.
#[derive(Serialize)]
#[serde(untagged)]
enum RateOut {
    Constant(f64),
    Schedule { schedule: Vec<PieceOut> },
    Decay { decay: DecayOut },
}

#[derive(Serialize)]
struct PieceOut {
    /// The last step the value covers; `null` for the last piece, which runs to the horizon.
    last: Option<u32>,
    value: f64,
}

#[derive(Serialize)]
struct DecayOut {
    start: f64,
    half_life: f64,
    /// The step from which it halves every `half_life` steps (`start` before it).
    from: u32,
}

impl RateOut {
    fn of(rate: &Rate) -> RateOut {
        match rate {
            Rate::Constant(v) => RateOut::Constant(*v),
            Rate::Schedule(pieces) => RateOut::Schedule {
                schedule: pieces
                    .iter()
                    .map(|p| PieceOut {
                        last: (p.last != u32::MAX).then_some(p.last),
                        value: p.value,
                    })
                    .collect(),
            },
            Rate::Decay {
                start,
                half_life,
                from,
            } => RateOut::Decay {
                decay: DecayOut {
                    start: *start,
                    half_life: *half_life,
                    from: *from,
                },
            },
        }
    }
}

#[derive(Serialize)]
struct Rule {
    when: Cond,
    outcome: usize,
}

#[derive(Serialize)]
struct Cond {
    text: String,
    /// `null` when the disjunctive normal form would have more than 64 terms.
    dnf: Option<Vec<Term>>,
    tree: Tree,
}

#[derive(Serialize)]
struct Term {
    have: Vec<usize>,
    lack: Vec<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum Tree {
    Const(bool),
    Event(u8),
    Not(Box<Tree>),
    And(Vec<Tree>),
    Or(Vec<Tree>),
}

fn tree(c: &Condition) -> Tree {
    match c {
        Condition::Const(value) => Tree::Const(*value),
        Condition::Happened(bit) => Tree::Event(*bit),
        Condition::Not(inner) => Tree::Not(Box::new(tree(inner))),
        Condition::And(terms) => Tree::And(terms.iter().map(tree).collect()),
        Condition::Or(terms) => Tree::Or(terms.iter().map(tree).collect()),
    }
}

fn cond(model: &Model, c: &Condition) -> Cond {
    let dnf = match Test::new(c) {
        Test::Masks(terms) => Some(
            terms
                .into_iter()
                .map(|(have, lack)| Term {
                    have: bits(have).collect(),
                    lack: bits(lack).collect(),
                })
                .collect(),
        ),
        Test::Tree(_) => None,
    };
    Cond {
        text: model.render(c),
        dnf,
        tree: tree(c),
    }
}

fn item<'m>(model: &'m Model, id: &'m str, hazard: Option<&'m Hazard>) -> Item<'m> {
    Item {
        id,
        p: hazard.map(|h| RateOut::of(h.p())),
        window: hazard.map(|h| {
            let (first, last) = h.window();
            [first, last]
        }),
        when: hazard.and_then(Hazard::when).map(|c| cond(model, c)),
        modifiers: hazard.map_or_else(Vec::new, |h| {
            h.modifiers()
                .iter()
                .map(|m| ModifierOut {
                    name: &m.name,
                    when: cond(model, &m.when),
                    factor: RateOut::of(&m.factor),
                })
                .collect()
        }),
        ends: None,
        recurs: None,
        ever_bit: None,
    }
}

/// Whether `model` needs version 2: events that end, or rates that change over time.
fn needs_version_2(model: &Model) -> bool {
    model.has_ends() || model.hazards().any(|h| !h.is_steady())
}

/// An event, with version 2's keys when `v2`.
fn event<'m>(model: &'m Model, e: usize, v2: bool) -> Item<'m> {
    let event = &model.events()[e];
    let mut out = item(model, &event.id, Some(&event.hazard));
    if v2 {
        let ends = event
            .ends
            .as_ref()
            .map(|h| Box::new(item(model, &event.id, Some(h))));
        out.ends = Some(ends);
        out.recurs = Some(event.recurs);
        out.ever_bit = Some(model.ever_bit(e));
    }
    out
}

/// The model as a JSON document (pretty-printed, ending with a line break): version 1 for a
/// scenario of the first format, byte for byte as before, version 2 otherwise.
pub fn to_json(model: &Model) -> String {
    let v2 = needs_version_2(model);
    let document = Document {
        format: "pathcast-model",
        format_version: if v2 { FORMAT_VERSION } else { 1 },
        id: model.id(),
        step: model.step().name(),
        horizon: model.horizon(),
        seed: model.seed(),
        paths: model.paths(),
        events: (0..model.events().len())
            .map(|e| event(model, e, v2))
            .collect(),
        outcomes: model
            .outcomes()
            .iter()
            .map(|o| item(model, &o.id, o.hazard.as_ref()))
            .collect(),
        horizon_rules: model
            .horizon_rules()
            .iter()
            .map(|r| Rule {
                when: cond(model, &r.when),
                outcome: r.outcome,
            })
            .collect(),
        horizon_default: model.horizon_default(),
        uncertain: model.uncertain().iter().map(|u| u.key.as_str()).collect(),
        state_bits: v2.then(|| model.state_bits()),
    };
    let mut text = serde_json::to_string_pretty(&document).expect("a model serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{load_preset, presets};
    use serde_json::Value;

    /// Evaluates an exported condition on a set, from its DNF (when present) and its tree.
    fn holds(c: &Value, set: u64) -> (Option<bool>, bool) {
        fn tree(t: &Value, set: u64) -> bool {
            let (key, value) = t.as_object().unwrap().iter().next().unwrap();
            match key.as_str() {
                "const" => value.as_bool().unwrap(),
                "event" => set >> value.as_u64().unwrap() & 1 == 1,
                "not" => !tree(value, set),
                "and" => value.as_array().unwrap().iter().all(|v| tree(v, set)),
                "or" => value.as_array().unwrap().iter().any(|v| tree(v, set)),
                other => panic!("unknown node {other}"),
            }
        }
        let mask = |list: &Value| {
            list.as_array()
                .unwrap()
                .iter()
                .fold(0u64, |m, i| m | 1 << i.as_u64().unwrap())
        };
        let dnf = c["dnf"].as_array().map(|terms| {
            terms.iter().any(|t| {
                let (have, lack) = (mask(&t["have"]), mask(&t["lack"]));
                set & have == have && set & lack == 0
            })
        });
        (dnf, tree(&c["tree"], set))
    }

    /// The first-format baseline (tests/golden, version 1) and every preset (version 2: they
    /// have events that end and rates that change).
    fn describable() -> Vec<(String, Model)> {
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/v1-baseline/baseline.toml"
        );
        let v1 = crate::scenario::load_from(fixture, &[], std::path::Path::new("/nonexistent"));
        let mut models = vec![("v1 baseline".to_string(), v1.unwrap().model)];
        for name in presets::names() {
            models.push((name.to_string(), load_preset(name, &[]).unwrap().model));
        }
        models
    }

    /// A rate's value at `step`, from its export.
    fn rate_at(rate: &Value, step: u32) -> f64 {
        if let Some(v) = rate.as_f64() {
            return v;
        }
        if let Some(pieces) = rate["schedule"].as_array() {
            let piece = pieces
                .iter()
                .find(|p| {
                    p["last"]
                        .as_u64()
                        .is_none_or(|last| u64::from(step) <= last)
                })
                .unwrap();
            return piece["value"].as_f64().unwrap();
        }
        let d = &rate["decay"];
        let from = d["from"].as_u64().unwrap() as u32;
        let halvings = f64::from(step.saturating_sub(from)) / d["half_life"].as_f64().unwrap();
        d["start"].as_f64().unwrap() * (-halvings).exp2()
    }

    /// The exported rates, windows, conditions, ends and ever bits give the step hazards and
    /// horizon outcomes of every scenario, on random states.
    #[test]
    fn export_reproduces_every_describable_step() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            state ^ state >> 29
        };
        let mut versions = Vec::new();
        for (name, model) in describable() {
            let doc: Value = serde_json::from_str(&to_json(&model)).unwrap();
            versions.push(doc["format_version"].as_u64().unwrap());
            assert_eq!(doc["horizon"], model.horizon());
            let n = model.events().len();
            let bits_used = doc["state_bits"].as_u64().map_or(n, |b| b as usize);
            assert_eq!(bits_used, model.state_bits(), "{name}");
            let probability = |item: &Value, set: u64, step: u32| -> f64 {
                if item["p"].is_null() {
                    return 0.0;
                }
                let p = rate_at(&item["p"], step);
                let w = &item["window"];
                if step < w[0].as_u64().unwrap() as u32 || step > w[1].as_u64().unwrap() as u32 {
                    return 0.0;
                }
                if !item["when"].is_null() {
                    let (dnf, tree) = holds(&item["when"], set);
                    assert_eq!(dnf.unwrap_or(tree), tree);
                    if !tree {
                        return 0.0;
                    }
                }
                let mut factor = 1.0;
                for m in item["modifiers"].as_array().unwrap() {
                    let (dnf, tree) = holds(&m["when"], set);
                    assert_eq!(dnf.unwrap_or(tree), tree);
                    if tree {
                        factor *= rate_at(&m["factor"], step);
                    }
                }
                crate::model::adjust_odds(p, factor)
            };
            for _ in 0..2000 {
                // A state: any events in effect, and an ever bit for each of them.
                let mask = |k: usize| u64::MAX.checked_shr(64 - k as u32).unwrap_or(0);
                let mut set = next() & mask(n) | next() & mask(bits_used);
                for (i, e) in doc["events"].as_array().unwrap().iter().enumerate() {
                    if let Some(b) = e["ever_bit"].as_u64() {
                        set |= (set >> i & 1) << b;
                    }
                }
                let step = 1 + (next() % u64::from(model.horizon())) as u32;
                let hazards = model.step_hazards(set, step);
                for (i, e) in doc["events"].as_array().unwrap().iter().enumerate() {
                    let expected = hazards
                        .events
                        .iter()
                        .find(|h| h.0 == i)
                        .map_or(0.0, |h| h.1);
                    // In effect: it may end (version 2's `ends`); else it may start, unless it
                    // ever started and does not recur (or, in version 1, simply happened).
                    let in_effect = set >> i & 1 == 1;
                    let ever = e["ever_bit"].as_u64().is_some_and(|b| set >> b & 1 == 1);
                    let got = if in_effect {
                        match e.get("ends") {
                            Some(ends) if !ends.is_null() => probability(ends, set, step),
                            _ => 0.0,
                        }
                    } else if ever && e["recurs"] == false {
                        0.0
                    } else {
                        probability(e, set, step)
                    };
                    assert_eq!(got, expected, "{name}: event {i} on {set:#x} at {step}");
                }
                for (i, o) in doc["outcomes"].as_array().unwrap().iter().enumerate() {
                    let expected = hazards
                        .outcomes
                        .iter()
                        .find(|h| h.0 == i)
                        .map_or(0.0, |h| h.1);
                    assert_eq!(probability(o, set, step), expected, "{name}: outcome {i}");
                }
                let rule = doc["horizon_rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| holds(&r["when"], set).1)
                    .map_or(doc["horizon_default"].as_u64().unwrap(), |r| {
                        r["outcome"].as_u64().unwrap()
                    });
                assert_eq!(rule as usize, model.horizon_outcome(set), "{name}");
            }
        }
        assert!(
            versions.contains(&1) && versions.contains(&2),
            "{versions:?}"
        );
    }

    #[test]
    fn uncertain_inputs_are_listed_and_big_conditions_keep_their_tree() {
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/v1-baseline/baseline.toml"
        );
        let sets = ["events.meeting.p={ low = 0.004, high = 0.02 }".to_string()];
        let model =
            crate::scenario::load_from(fixture, &sets, std::path::Path::new("/nonexistent"))
                .unwrap()
                .model;
        let doc: Value = serde_json::from_str(&to_json(&model)).unwrap();
        assert_eq!(doc["uncertain"][0], "events.meeting.p");

        // (a1 or b1) and ... and (a7 or b7) has 2^7 = 128 DNF terms: past the limit.
        let mut text = String::from("[scenario]\nid = \"wide\"\nhorizon = 3\n");
        let mut clauses = Vec::new();
        for i in 0..7 {
            text += &format!("[events.a{i}]\nlabel = \"a\"\np = 0.5\n");
            text += &format!("[events.b{i}]\nlabel = \"b\"\np = 0.5\n");
            clauses.push(format!("(a{i} or b{i})"));
        }
        text += &format!(
            "[outcomes.x]\nlabel = \"x\"\np = 0.5\nwhen = \"{}\"\n",
            clauses.join(" and ")
        );
        text += "[outcomes.y]\nlabel = \"y\"\n[horizon]\ndefault = \"y\"\n";
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wide.toml");
        std::fs::write(&file, text).unwrap();
        let model = crate::scenario::load_from(file.to_str().unwrap(), &[], dir.path())
            .unwrap()
            .model;
        let doc: Value = serde_json::from_str(&to_json(&model)).unwrap();
        let when = &doc["outcomes"][0]["when"];
        assert!(when["dnf"].is_null());
        for set in [0u64, 0x3fff, 0x1555, 0x2aaa, 0x0fff] {
            let expected = model.outcomes()[0]
                .hazard
                .as_ref()
                .unwrap()
                .probability(set, 1)
                > 0.0;
            assert_eq!(holds(when, set).1, expected);
        }
    }
}
