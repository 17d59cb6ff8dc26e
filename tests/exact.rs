//! The exact solver on large scenarios: reachable states only, events applied one at a time
//! (20 independent events are within reach), a clear stop when the reachable state space
//! would not fit, and agreement with a brute-force solver that lists every successor set.

use pathcast::exact::{self, ExactError, Layout, Limits};
use pathcast::model::{bits, Model};
use pathcast::report::ExactMasses;
use pathcast::scenario;
use predicates::prelude::*;
use std::collections::BTreeMap;
use std::fs;
use std::time::Instant;
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

/// `text` with its events read by a horizon rule that names the default outcome: the numbers
/// stay the same, but no event is free (solved apart from the states; see `exact`), so every
/// event set is a state.
fn coupled(text: String, events: usize) -> String {
    let any: Vec<String> = (0..events).map(|i| format!("e{i}")).collect();
    text + &format!(
        "rules = [{{ when = \"{}\", outcome = \"open\" }}]\n",
        any.join(" or ")
    )
}

#[test]
fn an_unreachable_state_space_is_refused_with_its_size() {
    let dir = TempDir::new().unwrap();
    fs::write(
        dir.path().join("big.toml"),
        coupled(scenario(40, false), 40),
    )
    .unwrap();
    pathcast(dir.path())
        .args(["exact", "big.toml"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("the exact solver stopped before starting")
                .and(predicate::str::contains("at step 1"))
                .and(predicate::str::contains(
                    "at least 2^40 reachable event sets",
                )),
        );
    assert!(!dir.path().join("output").exists());
    // Fewer events, each with a modifier (so the estimate cannot count them as independent),
    // and a tight state limit: the run stops at step 1, and the message names the sets and
    // the memory.
    let text = scenario(14, false);
    let with_modifiers = (0..14).fold(text, |text, i| {
        text + &format!(
            "[events.e{i}.modifiers.m]\nwhen = \"e{}\"\nfactor = 2.0\n",
            (i + 1) % 14
        )
    });
    fs::write(dir.path().join("big.toml"), with_modifiers).unwrap();
    pathcast(dir.path())
        .args(["exact", "big.toml", "--max-states", "1000"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("stopped at step 1")
                .and(predicate::str::contains(
                    "more than 1000 reachable event sets",
                ))
                .and(predicate::str::contains("MiB")),
        );
}

fn load(text: &str) -> Model {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("scenario.toml");
    fs::write(&path, text).unwrap();
    match scenario::load_from(path.to_str().unwrap(), &[], dir.path()) {
        Ok(loaded) => loaded.model,
        Err(e) => panic!("scenario does not load: {e}\n{text}"),
    }
}

/// `events` independent events with p = 0.1 over `horizon` steps, an outcome `end` with
/// p = 0.01 and `open` at the horizon; with `read`, a horizon rule names them all (see
/// `coupled`), so that they are states rather than free events.
fn independent(events: usize, horizon: u32, read: bool) -> Model {
    let text = scenario(events, false).replace("horizon = 52", &format!("horizon = {horizon}"));
    load(&if read { coupled(text, events) } else { text })
}

#[test]
fn twenty_independent_events_match_the_closed_form() {
    // Free, they are solved apart from the states, each on its own; read by a horizon rule,
    // every one of the 2^20 sets is reachable after step 1: a million states, which the first
    // solver (2^20 successors of every state) could not take.
    for read in [false, true] {
        twenty_independent_events(read);
    }
}

fn twenty_independent_events(read: bool) {
    let horizon = 13;
    let model = independent(20, horizon, read);
    let started = Instant::now();
    let masses = exact::solve(&model, &Limits::default()).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    // A million masses are summed into each figure: allow for the rounding of the sums.
    let close = |got: f64, want: f64| (got - want).abs() <= 1e-10 * want;
    let (alive, fresh) = (0.99f64, 0.9f64);
    let mut joint_end = 0.0;
    for t in 1..=horizon as i32 {
        let end = alive.powi(t - 1) * 0.01;
        let got = masses.outcome_steps[0][t as usize];
        assert!(close(got, end), "step {t}: {got} against {end}");
        // Event e happens at step t: the path is running and e has not happened yet.
        let happens = alive.powi(t - 1) * fresh.powi(t - 1) * 0.1;
        for e in 0..20 {
            assert!(close(masses.event_steps[e][t as usize], happens));
        }
        // Ending at t with e among the events (those of step t included).
        joint_end += end * (1.0 - fresh.powi(t));
    }
    let open = alive.powi(horizon as i32);
    assert!(close(masses.outcome_steps[1][horizon as usize], open));
    for e in 0..20 {
        assert!(close(masses.joint[0][e], joint_end));
        let with = open * (1.0 - fresh.powi(horizon as i32));
        assert!(close(masses.joint[1][e], with));
        assert!(close(masses.joint_not[1][e], open - with));
    }
    eprintln!("20 independent events over {horizon} steps (read: {read}): {seconds:.2} s");
}

/// With a million sets, the solver books them in parallel blocks and applies events to a dense
/// table in parallel tasks: its numbers are the same for any thread count, and the same as
/// those of the sorted lists, one set at a time.
#[test]
fn a_million_sets_give_the_same_numbers_for_any_thread_count_and_layout() {
    let model = independent(20, 4, true);
    let solve = |threads: usize, layout: Layout| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let limits = Limits {
            layout,
            ..Limits::default()
        };
        pool.install(|| exact::solve(&model, &limits).unwrap())
    };
    let one = solve(1, Layout::Dense);
    assert_eq!(one, solve(2, Layout::Dense));
    assert_eq!(one, solve(3, Layout::Auto));
    assert_eq!(one, solve(2, Layout::Lists));
}

#[test]
fn the_estimate_refuses_up_front() {
    // 23 events in one step: 2^23 sets, refused before any work with the estimate.
    let model = independent(23, 1, true);
    let started = Instant::now();
    match exact::solve(&model, &Limits::default()) {
        Err(ExactError::TooManyStatesAhead {
            step: 1, log2: 23, ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed().as_secs_f64() < 0.5);
    // Within the states but not the work: refused up front too.
    let limits = Limits {
        max_transitions: 1000,
        ..Limits::default()
    };
    match exact::solve(&independent(12, 52, true), &limits) {
        Err(ExactError::TooMuchWork { step: 1, .. }) => {}
        other => panic!("{other:?}"),
    }
}

/// The solver before events were applied one at a time: every subset of a state's events that
/// can change (start, or end when in effect), each with its probability. Slow, but plainly the
/// definition.
pub(crate) fn brute_force(model: &Model) -> ExactMasses {
    let n = model.events().len();
    let mut masses = ExactMasses::zero(model);
    let mut running = BTreeMap::from([(0u64, 1.0f64)]);
    for t in 1..=model.horizon() {
        let mut next = BTreeMap::new();
        for (&state, &mass) in &running {
            let hazards = model.step_hazards(state, t);
            let mut after = vec![0.0; n];
            let ever = model.ever(state);
            for e in bits(ever) {
                after[e] = 1.0;
            }
            for &(e, p) in &hazards.events {
                let starts = state >> e & 1 == 0;
                if starts && ever >> e & 1 == 0 {
                    masses.event_steps[e][t as usize] += mass * p;
                    after[e] = p;
                }
                if let Some(j) = masses.ending_row(e) {
                    let row = if starts {
                        &mut masses.starts
                    } else {
                        &mut masses.ends
                    };
                    row[j][t as usize] += mass * p;
                }
            }
            let survive: f64 = hazards.outcomes.iter().map(|&(_, h)| 1.0 - h).product();
            let total: f64 = hazards.outcomes.iter().map(|&(_, h)| h).sum();
            for &(o, h) in &hazards.outcomes {
                let ended = mass * (1.0 - survive) * h / total;
                masses.outcome_steps[o][t as usize] += ended;
                for (e, &p) in after.iter().enumerate() {
                    masses.joint[o][e] += ended * p;
                    masses.joint_not[o][e] += ended * (1.0 - p);
                }
            }
            let mut subsets = vec![(0u64, mass * survive)];
            for &(e, p) in &hazards.events {
                subsets = subsets
                    .iter()
                    .flat_map(|&(s, w)| [(s, w * (1.0 - p)), (s | 1 << e, w * p)])
                    .collect();
            }
            for (changed, w) in subsets {
                *next.entry(model.apply(state, changed)).or_insert(0.0) += w;
            }
        }
        running = next;
    }
    for (&state, &mass) in &running {
        let o = model.horizon_outcome(state);
        masses.outcome_steps[o][model.horizon() as usize] += mass;
        let ever = model.ever(state);
        for e in 0..n {
            if ever >> e & 1 == 1 {
                masses.joint[o][e] += mass;
            } else {
                masses.joint_not[o][e] += mass;
            }
        }
    }
    masses
}

fn assert_close(label: &str, a: &ExactMasses, b: &ExactMasses) {
    let pairs = [
        ("outcome_steps", &a.outcome_steps, &b.outcome_steps),
        ("event_steps", &a.event_steps, &b.event_steps),
        ("joint", &a.joint, &b.joint),
        ("joint_not", &a.joint_not, &b.joint_not),
        ("starts", &a.starts, &b.starts),
        ("ends", &a.ends, &b.ends),
    ];
    for (what, x, y) in pairs {
        for (i, (rx, ry)) in x.iter().zip(y).enumerate() {
            for (j, (vx, vy)) in rx.iter().zip(ry).enumerate() {
                assert!(
                    (vx - vy).abs() <= 1e-13 + 1e-12 * vy.abs(),
                    "{label}: {what}[{i}][{j}]: {vx} against {vy}"
                );
            }
        }
    }
}

#[test]
fn events_applied_one_at_a_time_match_every_successor_set() {
    // Conditions and modifiers that read each other in both directions, in a cycle (a and b,
    // so their old bits are carried), a certain event, windows and competing outcomes.
    let text = r#"
[scenario]
id = "cycles"
horizon = 9
[events.a]
label = "A"
p = 0.3
when = "not b"
[events.b]
label = "B"
p = 0.25
when = "not a or c"
[events.c]
label = "C"
p = 0.2
window = [2, 6]
[events.c.modifiers.m]
when = "a and not d"
factor = 3.0
[events.d]
label = "D"
p = 1.0
window = [4, 4]
when = "b or c"
[events.e]
label = "E"
p = 0.15
[events.e.modifiers.x]
when = "d"
factor = 0.2
[events.e.modifiers.y]
when = "a or f"
factor = 4.0
[events.f]
label = "F"
p = 0.1
when = "not e"
[outcomes.deal]
label = "Deal"
p = 0.1
when = "a and c"
[outcomes.deal.modifiers.z]
when = "e"
factor = 2.0
[outcomes.break]
label = "Break"
p = 0.05
window = [3, 8]
when = "b or f"
[outcomes.open]
label = "Open"
[horizon]
rules = [{ when = "e", outcome = "deal" }]
default = "open"
"#;
    let model = load(text);
    assert_close(
        "cycles",
        &exact::solve(&model, &Limits::default()).unwrap(),
        &brute_force(&model),
    );
    // The same with events that end: a and c end and recur (a's end reads c and ever(b), c's
    // end reads a), b ends once and may not start again, and conditions read ever(...).
    let ending = text
        .replace(
            "[events.b]",
            "[events.a.ends]\np = 0.4\nwhen = \"c or ever(b)\"\n[events.b]",
        )
        .replace(
            "[events.c]",
            "[events.b.ends]\np = 0.5\n[events.c]",
        )
        .replace("when = \"not b\"\n", "when = \"not b\"\nrecurs = true\n")
        .replace("label = \"B\"\n", "label = \"B\"\nrecurs = false\n")
        .replace(
            "[events.d]",
            "[events.c.ends]\np = 0.3\nwindow = [3, 8]\n[events.c.ends.modifiers.k]\nwhen = \"a\"\nfactor = 2.5\n[events.d]",
        )
        .replace("when = \"not e\"", "when = \"not e and not ever(c)\"")
        // Two events nothing reads and that read nothing (solved apart from the states): one
        // recurring with windows, one that happens at most once.
        .replace(
            "[outcomes.deal]",
            "[events.g]\nlabel = \"G\"\np = 0.2\nwindow = [2, 7]\n[events.g.ends]\np = 0.35\n\
             window = [3, 9]\n[events.h]\nlabel = \"H\"\np = 0.25\nrecurs = false\n\
             [events.h.ends]\np = 0.5\n[outcomes.deal]",
        );
    let model = load(&ending);
    assert_eq!(model.ends_mask(), 0b1100_0111, "{ending}");
    assert_close(
        "cycles that end",
        &exact::solve(&model, &Limits::default()).unwrap(),
        &brute_force(&model),
    );
    // The presets are out of the brute force's reach: it lists every subset of the events
    // that can change in a state, up to 2^14 of them per state on the revised presets. Each
    // preset is checked against Monte Carlo instead (statistics.rs), and its targets and single
    // questions against the exact report (forecasting.rs).
}
