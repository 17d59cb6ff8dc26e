//! The preset scenarios, compiled into the binary so that `pathcast run baseline` works from
//! any folder.

/// (name, file text), in the order `pathcast list` shows them.
pub const PRESETS: &[(&str, &str)] = &[
    ("baseline", include_str!("../../scenarios/baseline.toml")),
    (
        "baseline_uncertain",
        include_str!("../../scenarios/baseline_uncertain.toml"),
    ),
    ("sanctions", include_str!("../../scenarios/sanctions.toml")),
    (
        "guarantees_first",
        include_str!("../../scenarios/guarantees_first.toml"),
    ),
    ("drag_out", include_str!("../../scenarios/drag_out.toml")),
    (
        "us_disengages",
        include_str!("../../scenarios/us_disengages.toml"),
    ),
    (
        "escalation",
        include_str!("../../scenarios/escalation.toml"),
    ),
];

/// The text of the preset called `name` (with or without `.toml`).
pub fn get(name: &str) -> Option<&'static str> {
    let name = name.strip_suffix(".toml").unwrap_or(name);
    PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|(name, _)| *name).collect()
}

/// "no such preset" with the closest name when the name looks misspelt, and the list.
pub fn unknown(name: &str) -> String {
    let closest = names()
        .into_iter()
        .map(|n| (strsim::damerau_levenshtein(n, name), n))
        .min()
        .filter(|&(distance, n)| distance <= 2.max(n.len() / 3));
    let guess = closest
        .map(|(_, n)| format!("; did you mean '{n}'?"))
        .unwrap_or_default();
    format!(
        "no such scenario file or preset{guess} (presets: {})",
        names().join(", ")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_file_in_scenarios_is_a_preset() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
        let mut files: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".toml"))
            .collect();
        files.sort();
        let mut presets: Vec<String> = super::names().iter().map(|n| format!("{n}.toml")).collect();
        presets.sort();
        assert_eq!(files, presets);
    }
}
