//! What the integration tests share.

use assert_cmd::Command;
use std::collections::HashMap;
use std::path::Path;

/// `pathcast`, run in `dir` as a user would from that folder.
#[allow(dead_code)] // not every test file uses every helper
pub fn pathcast(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("pathcast").unwrap();
    cmd.current_dir(dir);
    cmd
}

/// A small valid scenario: two events (one with a window and a modifier), an outcome gated on
/// an event, and a horizon outcome. Tests break or extend it one thing at a time.
#[allow(dead_code)] // not every test file uses every helper
pub const SMALL_SCENARIO: &str = r#"[scenario]
id = "small"
title = "Small"
horizon = 10
start = 2025-01-06
seed = 3

[events.talks]
label = "Talks open"
p = 0.3

[events.sanctions]
label = "Sanctions"
p = 0.1
window = [2, 8]
[events.sanctions.modifiers.stalled]
when = "not talks"
factor = 2.0

[outcomes.deal]
label = "Deal"
p = 0.2
when = "talks"

[outcomes.none]
label = "No deal"

[horizon]
default = "none"
"#;

/// A scenario `id` of `events` independent events of probability `p` per step, possible at
/// every step of `horizon`, and one horizon outcome whose rule reads them all: the shape that
/// makes the exact solver's work grow as 2^events.
#[allow(dead_code)] // not every test file uses every helper
pub fn independent_events(id: &str, horizon: u32, events: usize, p: f64) -> String {
    let mut text = format!("[scenario]\nid = \"{id}\"\nhorizon = {horizon}\n");
    for i in 0..events {
        text.push_str(&format!(
            "[events.e{i}]\nlabel = \"Event {i}\"\np = {p:?}\n"
        ));
    }
    // A horizon rule that names every event (and the outcome the default names anyway): no
    // number changes, but the events are read, so the exact solver cannot solve them apart
    // from the states (see `exact::free_events`).
    let all: Vec<String> = (0..events).map(|i| format!("e{i}")).collect();
    text.push_str(&format!(
        "[outcomes.end]\nlabel = \"End\"\n[horizon]\ndefault = \"end\"\nrules = [{{ when = \"{}\", \
         outcome = \"end\" }}]\n",
        all.join(" or ")
    ));
    text
}

/// The rows of a CSV file as maps from column name to cell.
#[allow(dead_code)] // not every test file uses every helper
pub fn rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

/// The number in `column` of a row of [`rows`].
#[allow(dead_code)] // not every test file uses every helper
pub fn number(row: &HashMap<String, String>, column: &str) -> f64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column} = {:?} in {row:?}", row[column]))
}
