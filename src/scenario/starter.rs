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
        // Each value under its table, each table once: `p`, or one number of a schedule or
        // decay as a dotted key (`p.1`, `p.start`), under the event, its end (`ends`) or a
        // modifier.
        let mut table = String::new();
        for parameter in mine {
            let parts: Vec<&str> = parameter.key[prefix.len() + 1..].split('.').collect();
            let at = parts
                .iter()
                .rposition(|&part| part == "p" || part == "factor")
                .unwrap_or(0);
            let here = std::iter::once(prefix.as_str())
                .chain(parts[..at].iter().copied())
                .collect::<Vec<_>>()
                .join(".");
            if here != table {
                let _ = writeln!(out, "# [{here}]");
                table = here;
            }
            let _ = writeln!(out, "# {} = {}", parts[at..].join("."), parameter.value);
        }
    }
    out
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

    /// The starter runs as it is, gives the same model as what it extends, and every commented
    /// value, uncommented, is a valid override.
    #[test]
    fn the_starter_is_a_valid_scenario_equal_to_its_base() {
        let base = crate::scenario::load_preset("baseline", &[]).unwrap().model;
        let text = text("mine", "baseline", &base);
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("mine.toml");
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
                let value = ["# p = ", "# p.", "# factor = ", "# factor."]
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
