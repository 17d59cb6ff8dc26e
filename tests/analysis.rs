//! The analyses as a user runs them: every number they write checked against a direct exact
//! solve with `--set` (or a plain `pathcast run`), paired intervals checked for coverage,
//! precision stops checked for thread independence, and bad flags refused before any work.

use crate::common;

use common::{number, pathcast, rows, SMALL_SCENARIO};
use pathcast::exact::{self, Limits};
use pathcast::parameters;
use pathcast::report::Report;
use pathcast::scenario;
use pathcast::simulate::{self, RunOptions};
use pathcast::stats::PairedCounts;
use std::fs;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use tempfile::TempDir;

/// The CSV files keep 12 significant digits (an error up to 5e-13 on a probability), and the
/// parameter values read back from them are rounded the same way, which moves a probability by
/// its derivative (a few units at most here) times the rounding: agreement to 1e-10 leaves a
/// margin of about 20.
const EXACT_TOLERANCE: f64 = 1e-10;

fn small_dir() -> TempDir {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("small.toml"), SMALL_SCENARIO).unwrap();
    dir
}

/// What `pathcast exact small.toml --set ...` computes.
fn exact_report(dir: &Path, sets: &[String]) -> Report {
    let loaded = scenario::load_from("small.toml", sets, dir).unwrap();
    let masses = exact::solve(&loaded.model, &Limits::default()).unwrap();
    Report::from_exact(&loaded.model, &masses)
}

fn probability(report: &Report, kind: &str, id: &str) -> f64 {
    let lines = if kind == "event" {
        &report.events
    } else {
        &report.outcomes
    };
    let line = lines.iter().find(|l| l.id == id).unwrap();
    line.estimate.probability.unwrap()
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= EXACT_TOLERANCE, "{what}: {a} against {b}");
}

#[test]
fn sensitivity_matches_direct_exact_solves_at_every_low_and_high_value() {
    let dir = small_dir();
    pathcast(dir.path())
        .args([
            "sensitivity",
            "small.toml",
            "--events",
            "--range",
            "events.talks.p=0.1..0.6",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("Sensitivity of \"Deal\""));
    let table = rows(&dir.path().join("output/small-sensitivity/sensitivity.csv"));
    let model = scenario::load_from("small.toml", &[], dir.path())
        .unwrap()
        .model;
    let varied = parameters::list(&model).len();
    // Every parameter (none is pinned at 0 or 1), for 2 outcomes and 2 events.
    assert_eq!(table.len(), varied * 4);
    let base = exact_report(dir.path(), &[]);
    for row in &table {
        let (key, kind, id) = (&row["parameter"], &row["item_kind"], &row["outcome"]);
        let low = exact_report(dir.path(), &[format!("{key}={}", row["low_value"])]);
        let high = exact_report(dir.path(), &[format!("{key}={}", row["high_value"])]);
        let what = format!("{key} on {id}");
        close(
            number(row, "probability_base"),
            probability(&base, kind, id),
            &what,
        );
        close(
            number(row, "probability_low"),
            probability(&low, kind, id),
            &what,
        );
        close(
            number(row, "probability_high"),
            probability(&high, kind, id),
            &what,
        );
        close(
            number(row, "swing"),
            probability(&high, kind, id) - probability(&low, kind, id),
            &what,
        );
    }
    // The explicit range is used; a default p range halves and doubles the odds.
    let talks = table
        .iter()
        .find(|r| r["parameter"] == "events.talks.p")
        .unwrap();
    assert_eq!(
        (number(talks, "low_value"), number(talks, "high_value")),
        (0.1, 0.6)
    );
    let sanctions = table
        .iter()
        .find(|r| r["parameter"] == "events.sanctions.p")
        .unwrap();
    let odds = |p: f64| p / (1.0 - p);
    close(
        odds(number(sanctions, "low_value")),
        odds(0.1) / 2.0,
        "low odds",
    );
    close(
        odds(number(sanctions, "high_value")),
        odds(0.1) * 2.0,
        "high odds",
    );
    // Within each outcome, rows are ranked by the size of the swing.
    for id in ["deal", "none"] {
        let swings: Vec<f64> = table
            .iter()
            .filter(|r| r["outcome"] == id)
            .map(|r| number(r, "swing").abs())
            .collect();
        assert!(swings.windows(2).all(|w| w[0] >= w[1]), "{id}: {swings:?}");
    }
}

#[test]
fn monte_carlo_sensitivity_uses_common_random_numbers_and_agrees_with_exact() {
    let dir = small_dir();
    pathcast(dir.path())
        .args([
            "sensitivity",
            "small.toml",
            "--method",
            "monte-carlo",
            "--paths",
            "20000",
            "--only",
            "events.talks.p,outcomes.deal.p",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("Monte Carlo"));
    let table = rows(&dir.path().join("output/small-sensitivity/sensitivity.csv"));
    assert_eq!(table.len(), 4);
    // 4 rows x 3 estimates plus 4 swings: a 5-sigma family threshold, Bonferroni-adjusted.
    let limit = pathcast::check_exact::threshold(16);
    for row in &table {
        let key = &row["parameter"];
        let id = &row["outcome"];
        for (column, sets) in [
            (
                "probability_low",
                vec![format!("{key}={}", row["low_value"])],
            ),
            (
                "probability_high",
                vec![format!("{key}={}", row["high_value"])],
            ),
        ] {
            let p = probability(&exact_report(dir.path(), &sets), "outcome", id);
            let se = (p * (1.0 - p) / 20000.0).sqrt();
            let estimate = number(row, column);
            assert!((estimate - p).abs() <= limit * se, "{column} {key} {id}");
        }
        // The swing's paired interval holds the estimate.
        let swing = number(row, "swing");
        assert!(number(row, "swing_ci_low") <= swing && swing <= number(row, "swing_ci_high"));
    }
}

#[test]
fn sweep_points_match_direct_exact_solves() {
    let dir = small_dir();
    pathcast(dir.path())
        .args([
            "sweep",
            "small.toml",
            "--vary",
            "events.talks.p=0.1..0.5:3",
            "--vary",
            "outcomes.deal.p=log:0.05..0.2:3",
        ])
        .assert()
        .success();
    let out = dir.path().join("output/small-sweep");
    let outcomes = rows(&out.join("sweep.csv"));
    let events = rows(&out.join("sweep_events.csv"));
    // 3 x 3 points, 2 outcomes and 2 events each.
    assert_eq!((outcomes.len(), events.len()), (18, 18));
    let talks: Vec<f64> = outcomes
        .iter()
        .map(|r| number(r, "events.talks.p"))
        .collect();
    assert!(talks.contains(&0.3), "{talks:?}");
    let deal: Vec<f64> = outcomes
        .iter()
        .map(|r| number(r, "outcomes.deal.p"))
        .collect();
    assert!(deal.iter().any(|&d| (d - 0.1).abs() < 1e-12), "{deal:?}");
    for (table, kind, column) in [
        (&outcomes, "outcome", "outcome"),
        (&events, "event", "event"),
    ] {
        for row in table.iter() {
            let sets = vec![
                format!("events.talks.p={}", row["events.talks.p"]),
                format!("outcomes.deal.p={}", row["outcomes.deal.p"]),
            ];
            let expected = probability(&exact_report(dir.path(), &sets), kind, &row[column]);
            close(number(row, "probability"), expected, &format!("{sets:?}"));
            assert!(row["count"].is_empty() && row["ci_low"].is_empty());
        }
    }
}

#[test]
fn compare_matches_plain_runs_and_exact_differences() {
    let dir = small_dir();
    fs::write(
        dir.path().join("pressure.toml"),
        "extends = \"small.toml\"\n[scenario]\nid = \"pressure\"\n[events.talks]\np = 0.45\n",
    )
    .unwrap();
    pathcast(dir.path())
        .args([
            "compare",
            "small.toml",
            "pressure.toml",
            "--variant",
            "outcomes.deal.p=0.3",
            "--paths",
            "30000",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("paired"));
    let table = rows(&dir.path().join("output/small-compare/compare.csv"));
    // Two scenarios against the reference, 2 outcomes and 2 events each.
    assert_eq!(table.len(), 8);
    // Each scenario's estimate is exactly what `pathcast run` of it with that seed gives.
    for (spec, sets, name) in [
        ("pressure.toml", vec![], "pressure"),
        (
            "small.toml",
            vec!["--set", "outcomes.deal.p=0.3"],
            "small+outcomes.deal.p=0.3",
        ),
        ("small.toml", vec![], "reference"),
    ] {
        let out = format!("runs/{name}");
        let mut args = vec!["run", spec, "--paths", "30000", "--out", &out];
        args.extend(sets);
        pathcast(dir.path()).args(&args).assert().success();
        let run: Vec<_> = rows(&dir.path().join(&out).join("outcomes.csv"))
            .into_iter()
            .chain(rows(&dir.path().join(&out).join("events.csv")))
            .collect();
        for row in table
            .iter()
            .filter(|r| r["scenario"] == name || name == "reference")
        {
            let column = if name == "reference" {
                "reference_probability"
            } else {
                "probability"
            };
            let id = &row["id"];
            let same = run
                .iter()
                .find(|r| r.get("outcome").or(r.get("event")) == Some(id))
                .unwrap();
            assert_eq!(row[column], same["probability"], "{name} {id}");
        }
    }
    // The exact difference is the difference of direct exact solves.
    let reference = exact_report(dir.path(), &[]);
    let variant = exact_report(dir.path(), &["outcomes.deal.p=0.3".to_string()]);
    for row in table
        .iter()
        .filter(|r| r["scenario"] == "small+outcomes.deal.p=0.3")
    {
        let (kind, id) = (&row["kind"], &row["id"]);
        close(
            number(row, "exact_difference"),
            probability(&variant, kind, id) - probability(&reference, kind, id),
            id,
        );
        let d = number(row, "difference");
        assert!(number(row, "ci_low") <= d && d <= number(row, "ci_high"));
    }
}

/// Paired intervals cover the known difference about 95% of the time: many replicate paired
/// runs of two models whose exact difference is known.
#[test]
fn paired_intervals_cover_the_exact_difference() {
    let dir = small_dir();
    let reference = scenario::load_from("small.toml", &[], dir.path())
        .unwrap()
        .model;
    let variant = scenario::load_from("small.toml", &["events.talks.p=0.4".into()], dir.path())
        .unwrap()
        .model;
    let exact_of =
        |m: &pathcast::Model| Report::from_exact(m, &exact::solve(m, &Limits::default()).unwrap());
    let (r, v) = (exact_of(&reference), exact_of(&variant));
    let truth =
        v.outcomes[0].estimate.probability.unwrap() - r.outcomes[0].estimate.probability.unwrap();
    assert!(truth.abs() > 0.01, "a real difference: {truth}");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    const REPLICATES: u64 = 400;
    const PATHS: u64 = 2000;
    let mut covered = 0;
    let mut widths = (0.0, 0.0);
    for seed in 0..REPLICATES {
        let options = RunOptions {
            first_path: 0,
            paths: PATHS,
            seed,
            keep_records: false,
        };
        let paired = simulate::run_paired(
            &[&reference, &variant],
            &options,
            &pool,
            &AtomicBool::new(false),
            |_| {},
        )
        .unwrap();
        let pairs = &paired.pairs[0];
        let counts = PairedCounts {
            both: pairs.both[0],
            reference_only: pairs.reference_only[0],
            variant_only: pairs.variant_only[0],
            paths: PATHS,
        };
        let (low, high) = counts.interval();
        covered += u64::from(low <= truth && truth <= high);
        widths.0 += high - low;
        // The width of the interval that ignores the pairing, for comparison.
        let (p1, p2) = (
            (counts.both + counts.variant_only) as f64 / PATHS as f64,
            (counts.both + counts.reference_only) as f64 / PATHS as f64,
        );
        widths.1 += 2.0 * 1.96 * ((p1 * (1.0 - p1) + p2 * (1.0 - p2)) / PATHS as f64).sqrt();
    }
    let coverage = covered as f64 / REPLICATES as f64;
    let se = (0.95 * 0.05 / REPLICATES as f64).sqrt();
    assert!((coverage - 0.95).abs() <= 5.0 * se, "coverage {coverage}");
    // Common random numbers make the paired interval narrower than independent runs'.
    assert!(widths.0 < widths.1, "{widths:?}");
}

#[test]
fn a_run_to_a_precision_stops_at_the_same_checkpoint_for_any_thread_count() {
    let dir = small_dir();
    for threads in ["1", "2"] {
        pathcast(dir.path())
            .args([
                "run",
                "small.toml",
                "--precision",
                "0.002",
                "--threads",
                threads,
                "--out",
                &format!("t{threads}"),
            ])
            .assert()
            .success()
            .stdout(predicates::str::contains("Precision reached"));
    }
    for table in [
        "outcomes.csv",
        "events.csv",
        "timeline.csv",
        "conditional.csv",
    ] {
        let one = fs::read(dir.path().join("t1").join(table)).unwrap();
        let two = fs::read(dir.path().join("t2").join(table)).unwrap();
        assert_eq!(one, two, "{table}");
    }
    let outcomes = rows(&dir.path().join("t1/outcomes.csv"));
    let paths = number(&outcomes[0], "count") + number(&outcomes[1], "count");
    // A checkpoint: 100000 doubled some number of times.
    let doublings = (paths / 100_000.0).log2();
    assert_eq!(doublings, doublings.round(), "{paths}");
    for row in &outcomes {
        assert!((number(row, "ci_high") - number(row, "ci_low")) / 2.0 <= 0.002);
    }
    // The checkpoint before it had not reached the precision: the run did not stop late.
    assert!(doublings >= 1.0);
    let manifest = fs::read_to_string(dir.path().join("t1/manifest.toml")).unwrap();
    assert!(manifest.contains("precision = 0.002"), "{manifest}");
    // --max-paths stops a run that cannot reach the precision, and says so.
    pathcast(dir.path())
        .args([
            "run",
            "small.toml",
            "--precision",
            "0.0001",
            "--max-paths",
            "150000",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("Precision NOT reached"))
        .stdout(predicates::str::contains("150000 paths"));
}

#[test]
fn a_variant_run_does_not_replace_the_scenario_results() {
    let dir = small_dir();
    pathcast(dir.path())
        .args(["run", "small.toml", "--paths", "1000"])
        .assert()
        .success();
    let clean = fs::read(dir.path().join("output/small/outcomes.csv")).unwrap();
    pathcast(dir.path())
        .args([
            "run",
            "small.toml",
            "--paths",
            "1000",
            "--set",
            "events.talks.p=0.5",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("with --set events.talks.p=0.5"));
    let variant = dir.path().join("output/small+events.talks.p=0.5");
    assert!(variant.join("outcomes.csv").is_file());
    let manifest = fs::read_to_string(variant.join("manifest.toml")).unwrap();
    assert!(
        manifest.contains("overrides = [\"events.talks.p=0.5\"]"),
        "{manifest}"
    );
    assert_eq!(
        fs::read(dir.path().join("output/small/outcomes.csv")).unwrap(),
        clean
    );
    // Overrides that make no plain folder name get a short hash instead.
    pathcast(dir.path())
        .args([
            "exact",
            "small.toml",
            "--set",
            "events.talks.when=not sanctions",
        ])
        .assert()
        .success();
    let names: Vec<String> = fs::read_dir(dir.path().join("output"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("small+") && n.ends_with("-exact") && n.len() == 6 + 12 + 6),
        "{names:?}"
    );
}

/// Changing a factor through the parameter seam changes the simulation, the exact solution and
/// the PRISM export alike.
#[test]
fn a_parameter_changed_through_the_seam_reaches_simulation_solver_and_export() {
    let dir = small_dir();
    let key = "events.sanctions.modifiers.stalled.factor";
    let base = scenario::load_from("small.toml", &[], dir.path())
        .unwrap()
        .model;
    let parameter = parameters::find(&base, key).unwrap();
    let changed = base.with_parameters(&[(&parameter, 9.0)]).unwrap();
    let via_set = scenario::load_from("small.toml", &[format!("{key}=9.0")], dir.path())
        .unwrap()
        .model;
    let solve = |m: &pathcast::Model| exact::solve(m, &Limits::default()).unwrap();
    assert_ne!(solve(&changed), solve(&base));
    assert_eq!(solve(&changed), solve(&via_set));
    let tally = |m: &pathcast::Model| simulate::tally_serial(m, 5, 0, 5000);
    assert_ne!(tally(&changed), tally(&base));
    assert_eq!(tally(&changed), tally(&via_set));
    let prism = |m: &pathcast::Model| pathcast::export::prism::to_prism_with_notes(m, &[]);
    assert_ne!(prism(&changed), prism(&base));
    assert_eq!(prism(&changed), prism(&via_set));
}

#[test]
fn bad_analysis_flags_are_refused_before_any_work() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["sensitivity", "small.toml", "--only", "events.talk.p"],
            "--only events.talk.p",
        ),
        (
            &[
                "sensitivity",
                "small.toml",
                "--range",
                "events.talks.p=0.1..1.5",
            ],
            "--range",
        ),
        (
            &["sensitivity", "small.toml", "--range", "events.talks.p=0.1"],
            "LOW..HIGH",
        ),
        (
            &["sensitivity", "small.toml", "--outcome", "peace"],
            "--outcome peace",
        ),
        (
            &["sweep", "small.toml", "--vary", "events.talks.p="],
            "--vary",
        ),
        (
            &["sweep", "small.toml", "--vary", "events.talks.p=0.1..0.2:0"],
            "count",
        ),
        (
            &["sweep", "small.toml", "--vary", "events.talks.p=-0.1,0.2"],
            "[0, 1]",
        ),
        (
            &["sweep", "small.toml", "--vary", "nope.p=0.1"],
            "not a parameter",
        ),
        (
            &[
                "sweep",
                "small.toml",
                "--vary",
                "events.talks.p=0.1",
                "--vary",
                "events.talks.p=0.2",
            ],
            "twice",
        ),
        (
            &[
                "sweep",
                "small.toml",
                "--vary",
                "events.talks.p=0.1",
                "--vary",
                "outcomes.deal.p=0.1",
                "--vary",
                "events.sanctions.p=0.1",
            ],
            "one or two",
        ),
        (&["compare", "small.toml"], "two scenarios"),
        (
            &["compare", "small.toml", "--variant", "events.nope.p=0.1"],
            "nope",
        ),
        (&["run", "small.toml", "--precision", "0"], "--precision"),
        (
            &["run", "small.toml", "--precision", "0.01", "--paths", "10"],
            "--paths",
        ),
    ];
    for (args, expected) in cases {
        let dir = small_dir();
        let output = pathcast(dir.path()).args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!dir.path().join("output").exists(), "{args:?} wrote output");
    }
}

/// The small scenario with a decaying talks p, a scheduled sanctions p (by date) and a
/// scheduled factor.
fn rates_dir() -> TempDir {
    let text = SMALL_SCENARIO
        .replacen("p = 0.3", "p = { start = 0.3, half_life = 4 }", 1)
        .replacen(
            "p = 0.1\nwindow",
            "p = [{ until = 2025-01-27, p = 0.1 }, { p = 0.25 }]\nwindow",
            1,
        )
        .replacen(
            "factor = 2.0",
            "factor = [{ until = 5, factor = 2.0 }, { factor = 0.5 }]",
            1,
        );
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("small.toml"), text).unwrap();
    dir
}

/// Every number of a schedule or decay is a parameter: listed under its key, and changed
/// through the seam (as the analyses do), by `--set` and by a dotted key in a file that extends
/// the scenario, it gives the same model to the solver, the kernel and the export.
#[test]
fn every_number_of_a_schedule_or_decay_is_a_parameter() {
    let dir = rates_dir();
    let base = scenario::load_from("small.toml", &[], dir.path())
        .unwrap()
        .model;
    let keys: Vec<String> = parameters::list(&base).into_iter().map(|p| p.key).collect();
    assert_eq!(
        keys,
        [
            "events.talks.p.start",
            "events.talks.p.half_life",
            "events.sanctions.p.0",
            "events.sanctions.p.1",
            "events.sanctions.modifiers.stalled.factor.0",
            "events.sanctions.modifiers.stalled.factor.1",
            "outcomes.deal.p",
        ]
    );
    let solve = |m: &pathcast::Model| exact::solve(m, &Limits::default()).unwrap();
    let tally = |m: &pathcast::Model| simulate::tally_serial(m, 5, 0, 5000);
    let prism = |m: &pathcast::Model| pathcast::export::prism::to_prism_with_notes(m, &[]);
    for key in &keys {
        let parameter = parameters::find(&base, key).unwrap();
        let value = parameter.value * 0.75;
        let changed = base.with_parameters(&[(&parameter, value)]).unwrap();
        let via_set = scenario::load_from("small.toml", &[format!("{key}={value:?}")], dir.path())
            .unwrap()
            .model;
        // The key in the file: the table, and from `p` or `factor` on (no id here is either).
        let parts: Vec<&str> = key.split('.').collect();
        let at = parts
            .iter()
            .rposition(|&part| part == "p" || part == "factor")
            .unwrap();
        let (table, dotted) = (parts[..at].join("."), parts[at..].join("."));
        fs::write(
            dir.path().join("child.toml"),
            format!("extends = \"small.toml\"\n[scenario]\nid = \"small\"\n[{table}]\n{dotted} = {value:?}\n"),
        )
        .unwrap();
        let via_file = scenario::load_from("child.toml", &[], dir.path())
            .unwrap()
            .model;
        assert_eq!(
            parameters::list(&changed),
            parameters::list(&via_set),
            "{key}"
        );
        assert_eq!(
            parameters::list(&changed),
            parameters::list(&via_file),
            "{key}"
        );
        assert_ne!(solve(&changed), solve(&base), "{key}");
        for other in [&via_set, &via_file] {
            assert_eq!(solve(&changed), solve(other), "{key}");
            assert_eq!(tally(&changed), tally(other), "{key}");
            assert_eq!(prism(&changed), prism(other), "{key}");
        }
    }
    // A plain number replaces the whole schedule or decay.
    let constant = scenario::load_from("small.toml", &["events.talks.p=0.3".into()], dir.path())
        .unwrap()
        .model;
    assert_eq!(
        parameters::find(&constant, "events.talks.p").unwrap().value,
        0.3
    );
    assert!(parameters::find(&constant, "events.talks.p.start").is_err());
    let talks = &exact::solve(&constant, &Limits::default())
        .unwrap()
        .event_steps[0];
    for (t, &got) in talks.iter().enumerate().skip(1) {
        let want = 0.7f64.powi(t as i32 - 1) * 0.3;
        assert!((got - want).abs() < 1e-15, "step {t}: {got} vs {want}");
    }
}

/// A sweep of a half-life and a sensitivity over a scenario with rates match direct solves.
#[test]
fn analyses_of_rates_match_direct_exact_solves() {
    let dir = rates_dir();
    pathcast(dir.path())
        .args([
            "sweep",
            "small.toml",
            "--vary",
            "events.talks.p.half_life=1,4,16",
        ])
        .assert()
        .success();
    let sweep = rows(&dir.path().join("output/small-sweep/sweep.csv"));
    assert_eq!(sweep.len(), 3 * 2);
    for row in &sweep {
        let set = format!(
            "events.talks.p.half_life={}",
            row["events.talks.p.half_life"]
        );
        let expected = probability(
            &exact_report(dir.path(), std::slice::from_ref(&set)),
            "outcome",
            &row["outcome"],
        );
        close(number(row, "probability"), expected, &set);
    }
    pathcast(dir.path())
        .args(["sensitivity", "small.toml"])
        .assert()
        .success();
    let table = rows(&dir.path().join("output/small-sensitivity/sensitivity.csv"));
    let half_life = table
        .iter()
        .find(|r| r["parameter"] == "events.talks.p.half_life")
        .unwrap();
    // A half-life is halved and doubled by default.
    assert_eq!(
        (
            number(half_life, "low_value"),
            number(half_life, "high_value")
        ),
        (2.0, 8.0)
    );
    for row in &table {
        let key = &row["parameter"];
        let low = exact_report(dir.path(), &[format!("{key}={}", row["low_value"])]);
        let high = exact_report(dir.path(), &[format!("{key}={}", row["high_value"])]);
        let id = &row["outcome"];
        close(
            number(row, "probability_low"),
            probability(&low, "outcome", id),
            key,
        );
        close(
            number(row, "probability_high"),
            probability(&high, "outcome", id),
            key,
        );
    }
}
