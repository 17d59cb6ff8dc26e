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
//! guessing. The inputs of a scenario with uncertain values are listed under `uncertain`; the
//! p and factors hold their medians, as for `check` and `export --prism`.

use crate::model::{bits, Hazard, Model};
use crate::scenario::condition::{Condition, Test};
use serde::Serialize;

/// Bumped whenever a step's semantics gain something a reader must implement.
pub const FORMAT_VERSION: u32 = 1;

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
}

#[derive(Serialize)]
struct Item<'m> {
    id: &'m str,
    /// `null` for an outcome reached only through the horizon rules.
    p: Option<f64>,
    window: Option<[u32; 2]>,
    when: Option<Cond>,
    modifiers: Vec<ModifierOut<'m>>,
}

#[derive(Serialize)]
struct ModifierOut<'m> {
    name: &'m str,
    when: Cond,
    factor: f64,
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
        // Constants (see `to_json`): their value at any step.
        p: hazard.map(|h| h.p_at(1)),
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
                    factor: m.factor.at(1),
                })
                .collect()
        }),
    }
}

/// What version 1 of the format cannot describe in `model`, if anything.
pub fn unsupported(model: &Model) -> Option<&'static str> {
    if model.has_ends() {
        Some("events that end (version 1 describes events that happen once and stay)")
    } else if model.hazards().any(|h| !h.is_steady()) {
        Some("probabilities or factors that change over time (version 1 describes constants)")
    } else {
        None
    }
}

/// The model as a JSON document (pretty-printed, ending with a line break), or what the
/// format cannot describe in it: a reader must never simulate a model it was not told about.
pub fn to_json(model: &Model) -> Result<String, String> {
    if let Some(what) = unsupported(model) {
        return Err(format!(
            "export --json: scenario '{}' has {what}; `export --prism` describes every scenario",
            model.id()
        ));
    }
    let document = Document {
        format: "pathcast-model",
        format_version: FORMAT_VERSION,
        id: model.id(),
        step: model.step().name(),
        horizon: model.horizon(),
        seed: model.seed(),
        paths: model.paths(),
        events: model
            .events()
            .iter()
            .map(|e| item(model, &e.id, Some(&e.hazard)))
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
    };
    let mut text = serde_json::to_string_pretty(&document).expect("a model serialises");
    text.push('\n');
    Ok(text)
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

    /// The first-format baseline (tests/golden) and the presets version 1 can describe.
    fn describable() -> Vec<(String, Model)> {
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/v1-baseline/baseline.toml"
        );
        let v1 = crate::scenario::load_from(fixture, &[], std::path::Path::new("/nonexistent"));
        let mut models = vec![("v1 baseline".to_string(), v1.unwrap().model)];
        for name in presets::names() {
            let model = load_preset(name, &[]).unwrap().model;
            match unsupported(&model) {
                None => models.push((name.to_string(), model)),
                Some(_) => assert!(to_json(&model).unwrap_err().contains("export --prism")),
            }
        }
        models
    }

    /// The exported p, windows and conditions give the step hazards and horizon outcomes of
    /// every scenario version 1 describes, on random event sets.
    #[test]
    fn export_reproduces_every_describable_step() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            state ^ state >> 29
        };
        for (name, model) in describable() {
            let doc: Value = serde_json::from_str(&to_json(&model).unwrap()).unwrap();
            assert_eq!(doc["format_version"], FORMAT_VERSION);
            assert_eq!(doc["horizon"], model.horizon());
            let n = model.events().len();
            let probability = |item: &Value, set: u64, step: u32| -> f64 {
                let Some(p) = item["p"].as_f64() else {
                    return 0.0;
                };
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
                        factor *= m["factor"].as_f64().unwrap();
                    }
                }
                crate::model::adjust_odds(p, factor)
            };
            for _ in 0..2000 {
                let set = next() & ((1u64 << n) - 1);
                let step = 1 + (next() % u64::from(model.horizon())) as u32;
                let hazards = model.step_hazards(set, step);
                for (i, e) in doc["events"].as_array().unwrap().iter().enumerate() {
                    let expected = hazards
                        .events
                        .iter()
                        .find(|h| h.0 == i)
                        .map_or(0.0, |h| h.1);
                    let got = if set >> i & 1 == 1 {
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
        let doc: Value = serde_json::from_str(&to_json(&model).unwrap()).unwrap();
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
        let doc: Value = serde_json::from_str(&to_json(&model).unwrap()).unwrap();
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
