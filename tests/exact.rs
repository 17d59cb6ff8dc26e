//! The exact solver on large scenarios: reachable states only, and a clear stop when the
//! reachable state space would not fit.

use predicates::prelude::*;
use std::fs;
use tempfile::TempDir;

use crate::common;
use common::pathcast;

/// `events` events over 52 weeks; event i can happen only after event i-1 when `chained`.
fn scenario(events: usize, chained: bool) -> String {
    let mut text = String::from("[scenario]\nid = \"big\"\nhorizon = 52\n");
    for i in 0..events {
        text += &format!("[events.e{i}]\nlabel = \"E{i}\"\np = 0.1\n");
        if chained && i > 0 {
            text += &format!("when = \"e{}\"\n", i - 1);
        }
    }
    text += "[outcomes.end]\nlabel = \"End\"\np = 0.01\n[outcomes.open]\nlabel = \"Open\"\n";
    text + "[horizon]\ndefault = \"open\"\n"
}

#[test]
fn twenty_chained_events_solve_over_reachable_sets_only() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("big.toml"), scenario(20, true)).unwrap();
    pathcast(dir.path())
        .args(["exact", "big.toml"])
        .assert()
        .success();
    let outcomes = fs::read_to_string(dir.path().join("output/big-exact/outcomes.csv")).unwrap();
    // P(end) = 1 - 0.99^52 whatever the events do.
    let end: f64 = outcomes
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(3)
        .unwrap()
        .parse()
        .unwrap();
    assert!((end - (1.0 - 0.99f64.powi(52))).abs() < 1e-12, "{end}");
}

#[test]
fn an_unreachable_state_space_is_refused_with_its_size() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("big.toml"), scenario(40, false)).unwrap();
    pathcast(dir.path())
        .args(["exact", "big.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the exact solver stopped at step 1",
        ));
    assert!(!dir.path().join("output").exists());
    // Fewer events but a tight state limit: the message names the sets and the memory.
    fs::write(dir.path().join("big.toml"), scenario(14, false)).unwrap();
    pathcast(dir.path())
        .args(["exact", "big.toml", "--max-states", "1000"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("more than 1000 reachable event sets")
                .and(predicate::str::contains("MiB")),
        );
}
