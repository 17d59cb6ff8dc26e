//! `pathcast init`: a commented starter scenario that extends another, listing every value it
//! could change, commented out, with the value it has now.

use crate::model::Model;
use crate::parameters;
use std::fmt::Write;

/// An id made of the letters, digits, `_` and `-` of `stem` (a file name without `.toml`).
pub fn id_from(stem: &str) -> String {
    let id: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if id.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        id
    } else {
        format!("s_{id}")
    }
}

/// The text of a scenario `id` that extends `extends` (the model `base` was loaded from it).
pub fn text(id: &str, extends: &str, base: &Model) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# A variant of '{extends}' ({}).\n\
         # It changes only what it sets; everything else comes from '{extends}'.\n\
         # `pathcast check` describes it, `pathcast run` and `pathcast exact` run it;\n\
         # docs/scenario-format.md defines every key.\n",
        base.title().replace('\n', " ")
    );
    let _ = writeln!(out, "extends = {}\n", toml_string(extends));
    let _ = writeln!(out, "[scenario]\nid = {}", toml_string(id));
    let _ = writeln!(
        out,
        "title = {}\n",
        toml_string(&format!("Variant of: {}", base.title()))
    );
    let _ = writeln!(
        out,
        "# Uncomment and change any of these; the values are those of '{extends}'.\n\
         # p is a probability per step; a modifier's factor multiplies the odds p/(1-p)."
    );
    let labels = base
        .events()
        .iter()
        .map(|e| (format!("events.{}", e.id), &e.label))
        .chain(
            base.outcomes()
                .iter()
                .map(|o| (format!("outcomes.{}", o.id), &o.label)),
        );
    let all = parameters::list(base);
    for (prefix, label) in labels {
        let mine: Vec<_> = all
            .iter()
            .filter(|p| p.key.starts_with(&format!("{prefix}.")))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n# {}", label.replace('\n', " "));
        // Each number under its table: `[events.x]` for `p`, `[events.x.ends]` for the end's,
        // `[events.x.modifiers.m]` for a factor, with a dotted key for a number of a schedule
        // or decay (`p.1 = ...`, which changes that number alone). Consecutive keys share one
        // header: TOML refuses a table header written twice.
        let mut current = String::new();
        for parameter in mine {
            let (table, key) = split_key(&parameter.key[prefix.len() + 1..]);
            let table = format!("{prefix}{table}");
            if table != current {
                let _ = writeln!(out, "# [{table}]");
                current = table;
            }
            let _ = writeln!(out, "# {key} = {}", parameter.value);
        }
    }
    out
}

/// A parameter key after its `events.<id>.` or `outcomes.<id>.`, split into the rest of its
/// table (`""`, `".ends"`, `".modifiers.m"`, `".ends.modifiers.m"`) and the key in it (`p`,
/// `factor`, `p.1`, `p.half_life`). Ids and modifier names hold no dots, so the parts are
/// found by position, whatever they are named.
fn split_key(rest: &str) -> (String, String) {
    let parts: Vec<&str> = rest.split('.').collect();
    let mut at = usize::from(parts[0] == "ends");
    if parts.get(at) == Some(&"modifiers") {
        at += 2;
    }
    let table: String = parts[..at].iter().map(|p| format!(".{p}")).collect();
    (table, parts[at..].join("."))
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid() {
        assert_eq!(id_from("my variant"), "my_variant");
        assert_eq!(id_from("2025"), "s_2025");
        assert_eq!(id_from("baseline-b"), "baseline-b");
    }

    #[test]
    fn keys_split_into_their_table_and_key() {
        let split = |rest: &str| split_key(rest);
        assert_eq!(split("p"), ("".into(), "p".into()));
        assert_eq!(split("p.1"), ("".into(), "p.1".into()));
        assert_eq!(
            split("ends.p.half_life"),
            (".ends".into(), "p.half_life".into())
        );
        assert_eq!(
            split("modifiers.p.factor.0"),
            (".modifiers.p".into(), "factor.0".into())
        );
        assert_eq!(
            split("ends.modifiers.ends.factor"),
            (".ends.modifiers.ends".into(), "factor".into())
        );
    }

    /// The starter runs as it is, gives the same model as what it extends, and every commented
    /// value, uncommented, is a valid override: for a preset, and for a scenario with an end,
    /// schedules and decays.
    #[test]
    fn the_starter_is_a_valid_scenario_equal_to_its_base() {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::write(dir.path().join("rates.toml"), RATES).unwrap();
        let rates = dir.path().join("rates.toml");
        starter_round_trip(dir.path(), "baseline", "baseline");
        starter_round_trip(dir.path(), rates.to_str().unwrap(), "rates.toml");
    }

    /// A scenario with every kind of number a starter lists.
    const RATES: &str = r#"
[scenario]
id = "rates"
horizon = 12
start = 2025-01-06
[events.talks]
label = "Talks"
p = { start = 0.3, half_life = 3 }
[events.talks.ends]
p = [{ until = 2025-02-01, p = 0.1 }, { p = 0.2 }]
[events.talks.ends.modifiers.ends]
when = "talks"
factor = 2.0
[events.deal]
label = "Deal"
p = 0.1
[events.deal.modifiers.p]
when = "talks"
factor = [{ until = 4, factor = 3.0 }, { factor = 1.5 }]
[outcomes.done]
label = "Done"
p = [{ until = 6, p = 0.0 }, { p = 0.05 }]
[outcomes.open]
label = "Open"
[horizon]
default = "open"
"#;

    /// The starter of the scenario at `path`, written beside it as extending `extends`.
    fn starter_round_trip(dir: &std::path::Path, path: &str, extends: &str) {
        let base = crate::scenario::load(path, &[]).unwrap().model;
        let text = text("mine", extends, &base);
        let path = dir.join("mine.toml");
        std::fs::write(&path, &text).unwrap();
        let loaded = crate::scenario::load(path.to_str().unwrap(), &[]).unwrap();
        assert_eq!(loaded.model.id(), "mine");
        assert_eq!(parameters::list(&loaded.model), parameters::list(&base));
        let uncommented: String = text
            .lines()
            .map(|l| {
                l.strip_prefix("# [")
                    .map_or(l.to_string(), |r| format!("[{r}"))
            })
            .map(|l| {
                let value = ["# p =", "# p.", "# factor =", "# factor."]
                    .iter()
                    .any(|start| l.starts_with(start));
                if value {
                    l[2..].to_string()
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&path, uncommented).unwrap();
        let again = crate::scenario::load(path.to_str().unwrap(), &[]).unwrap();
        assert_eq!(parameters::list(&again.model), parameters::list(&base));
    }
}
