//! Uncertain inputs as a user runs them: Sobol indices against closed forms, each sample's
//! probabilities against a direct exact solve at its values, the averages against the samples,
//! thread independence, and bad distributions refused before anything is written.
//!
//! Statistical checks allow 5 standard errors, taken from the bootstrap interval (a 95%
//! interval is 2 x 1.96 standard errors wide) or from the sample's own spread.

use crate::common;

use common::{number, pathcast, rows};
use pathcast::exact::{self, Limits};
use pathcast::report::Report;
use pathcast::scenario;
use std::collections::HashMap;
use std::fs;
use std::path::Path;
use tempfile::TempDir;

/// Exact values are sums of the same terms in a different order: they agree to rounding.
const EXACT_TOLERANCE: f64 = 1e-12;
const SIGMAS: f64 = 5.0;

/// `early` can happen only at step 1, before anything else can change: it does not depend on
/// `talks`. `deal` needs talks (at step 1) and is possible at step 2 only, on the paths that
/// did not end early, so its probability is (1 - 0.25) x talks.p x deal.p exactly.
fn scenario(talks_p: &str, deal_p: &str) -> String {
    format!(
        r#"[scenario]
id = "doubt"
horizon = 2
seed = 11

[events.talks]
label = "Talks open"
p = {talks_p}
window = [1, 1]

[outcomes.early]
label = "Early end"
p = 0.25
window = [1, 1]

[outcomes.deal]
label = "Deal"
p = {deal_p}
when = "talks"
window = [2, 2]

[outcomes.none]
label = "No deal"

[horizon]
default = "none"
"#
    )
}

fn dir_with(text: &str) -> TempDir {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("doubt.toml"), text).unwrap();
    dir
}

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let output = pathcast(dir).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?}: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

fn sobol_row<'a>(
    table: &'a [HashMap<String, String>],
    input: &str,
    outcome: &str,
) -> &'a HashMap<String, String> {
    table
        .iter()
        .find(|r| r["input"] == input && r["outcome"] == outcome)
        .unwrap_or_else(|| panic!("no sobol row {input} x {outcome}"))
}

/// Checks an index against its true value within 5 bootstrap standard errors, and that the
/// interval is narrow enough for the check to mean something.
fn index_agrees(row: &HashMap<String, String>, name: &str, truth: f64) {
    let estimate = number(row, name);
    let (low, high) = (
        number(row, &format!("{name}_ci_low")),
        number(row, &format!("{name}_ci_high")),
    );
    let se = (high - low) / (2.0 * 1.96);
    assert!(
        high - low < 0.2,
        "{name} of {row:?}: interval too wide to test"
    );
    assert!(
        (estimate - truth).abs() <= SIGMAS * se,
        "{name} of {}: {estimate} (interval {low}..{high}) against {truth}",
        row["input"]
    );
}

#[test]
fn one_input_explains_all_it_touches_and_nothing_else() {
    let dir = dir_with(&scenario("{ uniform = [0.1, 0.9] }", "0.5"));
    run_ok(
        dir.path(),
        &["exact", "doubt.toml", "--samples", "2000", "--out", "out"],
    );
    let out = dir.path().join("out");
    let sobol = rows(&out.join("sobol.csv"));
    assert_eq!(sobol.len(), 3, "one input x three outcomes");
    // `early` does not depend on talks: its indices are exactly 0, with no interval.
    let early = sobol_row(&sobol, "events.talks.p", "early");
    for column in [
        "first_order",
        "first_order_ci_low",
        "first_order_ci_high",
        "total",
        "total_ci_low",
        "total_ci_high",
    ] {
        assert_eq!(number(early, column), 0.0, "{column} of early");
    }
    for row in rows(&out.join("samples.csv")) {
        assert!((number(&row, "early") - 0.25).abs() <= EXACT_TOLERANCE);
    }
    // The only input explains all the variance of what it touches: first order exactly 1
    // (f(AB) is f(B) when there is one input), total 1 within its interval.
    for outcome in ["deal", "none"] {
        let row = sobol_row(&sobol, "events.talks.p", outcome);
        assert!(
            (number(row, "first_order") - 1.0).abs() <= EXACT_TOLERANCE,
            "{row:?}"
        );
        index_agrees(row, "total", 1.0);
    }
}

#[test]
fn indices_of_a_product_of_two_inputs_match_the_closed_form() {
    // P(deal) = c X1 X2 with c = 0.75, X1 ~ U(0.2, 0.6) and X2 ~ U(0.1, 0.9), independent.
    // For a product of independent inputs: V1 = mu2^2 s1^2, V2 = mu1^2 s2^2, V12 = s1^2 s2^2,
    // and S_i = V_i / V, ST_i = (V_i + V12) / V with V = V1 + V2 + V12 (c cancels). `none` is
    // 1 - 0.25 - deal, a constant minus the same product: the same indices.
    let c = 0.75;
    let (a1, b1, a2, b2): (f64, f64, f64, f64) = (0.2, 0.6, 0.1, 0.9);
    let dir = dir_with(&scenario(
        &format!("{{ uniform = [{a1}, {b1}] }}"),
        &format!("{{ uniform = [{a2}, {b2}] }}"),
    ));
    let samples = 4000;
    run_ok(
        dir.path(),
        &[
            "exact",
            "doubt.toml",
            "--samples",
            &samples.to_string(),
            "--out",
            "out",
        ],
    );
    let out = dir.path().join("out");
    let (mu1, mu2) = ((a1 + b1) / 2.0, (a2 + b2) / 2.0);
    let (s1, s2) = ((b1 - a1).powi(2) / 12.0, (b2 - a2).powi(2) / 12.0);
    let (v1, v2, v12) = (mu2 * mu2 * s1, mu1 * mu1 * s2, s1 * s2);
    let v = v1 + v2 + v12;
    let sobol = rows(&out.join("sobol.csv"));
    for outcome in ["deal", "none"] {
        let talks = sobol_row(&sobol, "events.talks.p", outcome);
        let deal = sobol_row(&sobol, "outcomes.deal.p", outcome);
        index_agrees(talks, "first_order", v1 / v);
        index_agrees(talks, "total", (v1 + v12) / v);
        index_agrees(deal, "first_order", v2 / v);
        index_agrees(deal, "total", (v2 + v12) / v);
    }
    // The mean over samples is E[c X1 X2] = c mu1 mu2, within 5 standard errors of the mean.
    let spread = rows(&out.join("uncertainty.csv"));
    let deal = spread.iter().find(|r| r["id"] == "deal").unwrap();
    let se = number(deal, "sd") / (samples as f64).sqrt();
    assert!(
        (number(deal, "mean") - c * mu1 * mu2).abs() <= SIGMAS * se,
        "{deal:?}"
    );
    // The sd across samples is c sqrt(V), within 5 of its standard errors (for a sd, about
    // sqrt(kurtosis - 1) sd / (2 sqrt(K)); the kurtosis of a product of uniforms is below 3).
    let sd = c * v.sqrt();
    let sd_se = 2f64.sqrt() * sd / (2.0 * (samples as f64).sqrt());
    assert!(
        (number(deal, "sd") - sd).abs() <= SIGMAS * sd_se,
        "{deal:?} against {sd}"
    );
}

/// What `pathcast exact doubt.toml --set ...` computes.
fn exact_report(dir: &Path, sets: &[String]) -> Report {
    let loaded = scenario::load_from("doubt.toml", sets, dir).unwrap();
    let masses = exact::solve(&loaded.model, &Limits::default()).unwrap();
    Report::from_exact(&loaded.model, &masses)
}

#[test]
fn each_sample_is_a_plain_run_at_its_values_and_the_tables_average_them() {
    let dir = dir_with(&scenario("{ low = 0.2, high = 0.7 }", "{ beta = [4, 3] }"));
    let stdout = run_ok(
        dir.path(),
        &["run", "doubt.toml", "--samples", "50", "--out", "out"],
    );
    assert!(stdout.contains("each sample solved exactly"), "{stdout}");
    let out = dir.path().join("out");
    let samples = rows(&out.join("samples.csv"));
    assert_eq!(samples.len(), 50);
    let keys = ["events.talks.p", "outcomes.deal.p"];
    let outcomes = ["early", "deal", "none"];
    for (i, row) in samples.iter().enumerate() {
        assert_eq!(number(row, "sample"), i as f64);
        if i % 16 != 3 {
            continue;
        }
        // A plain exact solve with --set at this sample's values gives its probabilities.
        let sets: Vec<String> = keys.iter().map(|k| format!("{k}={}", row[*k])).collect();
        let report = exact_report(dir.path(), &sets);
        for line in &report.outcomes {
            let p = line.estimate.probability.unwrap();
            assert!(
                (number(row, &line.id) - p).abs() <= EXACT_TOLERANCE,
                "sample {i}, {}: {} against {p}",
                line.id,
                row[&line.id]
            );
        }
    }
    // The spread table and the usual outcome table hold the average over samples.csv.
    let spread = rows(&out.join("uncertainty.csv"));
    let table = rows(&out.join("outcomes.csv"));
    for id in outcomes {
        let column: Vec<f64> = samples.iter().map(|r| number(r, id)).collect();
        let mean = column.iter().sum::<f64>() / column.len() as f64;
        let s = spread.iter().find(|r| r["id"] == id).unwrap();
        let t = table.iter().find(|r| r["outcome"] == id).unwrap();
        assert!((number(s, "mean") - mean).abs() <= EXACT_TOLERANCE, "{id}");
        assert!(
            (number(t, "probability") - mean).abs() <= EXACT_TOLERANCE,
            "{id}"
        );
        assert!(number(s, "p5") <= number(s, "p50") && number(s, "p50") <= number(s, "p95"));
    }
    // Events are in the spread table too: P(talks) is the input itself.
    let talks = spread.iter().find(|r| r["id"] == "talks").unwrap();
    let inputs: Vec<f64> = samples
        .iter()
        .map(|r| number(r, "events.talks.p"))
        .collect();
    let mean = inputs.iter().sum::<f64>() / inputs.len() as f64;
    assert!((number(talks, "mean") - mean).abs() <= EXACT_TOLERANCE);
    // The conditional table of the averaged masses adds up: for each event, P(outcome | it
    // happened) P(it happened) + P(outcome | not) P(not) = P(outcome).
    let conditional = rows(&out.join("conditional.csv"));
    for t in &table {
        let id = &t["outcome"];
        let total: f64 = conditional
            .iter()
            .filter(|r| &r["outcome"] == id && r["event"] == "talks")
            .map(|r| number(r, "probability_given") * number(r, "probability"))
            .sum();
        assert!(
            (total - number(t, "probability")).abs() <= EXACT_TOLERANCE,
            "{id} given talks: {total}"
        );
    }
}

#[test]
fn the_scenario_sets_the_draws_and_samples_overrides_it() {
    let text =
        scenario("{ low = 0.2, high = 0.7 }", "0.5").replace("seed = 11", "seed = 11\nsamples = 7");
    let dir = dir_with(&text);
    run_ok(dir.path(), &["exact", "doubt.toml", "--out", "own"]);
    run_ok(
        dir.path(),
        &["exact", "doubt.toml", "--samples", "9", "--out", "flag"],
    );
    let out = dir.path();
    assert_eq!(rows(&out.join("own/samples.csv")).len(), 7);
    assert_eq!(rows(&out.join("flag/samples.csv")).len(), 9);
    let manifest = fs::read_to_string(out.join("own/manifest.toml")).unwrap();
    assert!(manifest.contains("samples = 7"), "{manifest}");
}

#[test]
fn monte_carlo_samples_agree_with_exact_samples_of_the_same_draws() {
    let dir = dir_with(&scenario("{ uniform = [0.1, 0.9] }", "0.5"));
    let paths = 4000u64;
    let stdout = run_ok(
        dir.path(),
        &[
            "run",
            "doubt.toml",
            "--samples",
            "20",
            "--per-sample",
            "monte-carlo",
            "--paths",
            &paths.to_string(),
            "--out",
            "mc",
        ],
    );
    assert!(stdout.contains("Monte Carlo paths"), "{stdout}");
    run_ok(
        dir.path(),
        &["exact", "doubt.toml", "--samples", "20", "--out", "exact"],
    );
    let mc = rows(&dir.path().join("mc/samples.csv"));
    let exact = rows(&dir.path().join("exact/samples.csv"));
    assert_eq!(mc.len(), exact.len());
    for (m, e) in mc.iter().zip(&exact) {
        // The same seed draws the same inputs, whichever way each sample is computed.
        assert_eq!(m["events.talks.p"], e["events.talks.p"]);
        for id in ["early", "deal", "none"] {
            let p = number(e, id);
            let se = (p * (1.0 - p) / paths as f64).sqrt();
            let estimate = number(m, id);
            // A fraction of the paths, within 5 standard errors of the exact value.
            let count = estimate * paths as f64;
            assert!((count - count.round()).abs() < 1e-6, "{id}: {estimate}");
            assert!(
                (estimate - p).abs() <= SIGMAS * se.max(0.5 / paths as f64),
                "{id}: {estimate} against {p}"
            );
        }
    }
    let manifest = fs::read_to_string(dir.path().join("mc/manifest.toml")).unwrap();
    assert!(manifest.contains("engine = \"monte-carlo\""), "{manifest}");
    assert!(manifest.contains("samples = 20"), "{manifest}");
}

#[test]
fn results_do_not_depend_on_threads_and_the_resolved_scenario_reruns_them() {
    let dir = dir_with(&scenario(
        "{ low = 0.2, high = 0.7 }",
        "{ uniform = [0.3, 0.6] }",
    ));
    for (per_sample, name) in [("exact", "e"), ("monte-carlo", "m")] {
        for threads in ["1", "2"] {
            run_ok(
                dir.path(),
                &[
                    "run",
                    "doubt.toml",
                    "--samples",
                    "70",
                    "--paths",
                    "500",
                    "--per-sample",
                    per_sample,
                    "--threads",
                    threads,
                    "--out",
                    &format!("{name}{threads}"),
                ],
            );
        }
        for file in [
            "samples.csv",
            "uncertainty.csv",
            "sobol.csv",
            "outcomes.csv",
            "events.csv",
            "timeline.csv",
            "conditional.csv",
        ] {
            let one = fs::read(dir.path().join(format!("{name}1/{file}"))).unwrap();
            let two = fs::read(dir.path().join(format!("{name}2/{file}"))).unwrap();
            assert!(
                one == two,
                "{per_sample}: {file} differs between 1 and 2 threads"
            );
        }
    }
    // The scenario.toml of the folder keeps the distributions and draws the same samples.
    run_ok(
        dir.path(),
        &[
            "run",
            "e1/scenario.toml",
            "--samples",
            "70",
            "--per-sample",
            "exact",
            "--out",
            "again",
        ],
    );
    assert_eq!(
        fs::read(dir.path().join("again/samples.csv")).unwrap(),
        fs::read(dir.path().join("e1/samples.csv")).unwrap()
    );
}

#[test]
fn check_lists_each_uncertain_input_with_its_interval() {
    let dir = dir_with(&scenario("{ low = 0.004, high = 0.02 }", "0.5"));
    let stdout = run_ok(dir.path(), &["check", "doubt.toml"]);
    assert!(stdout.contains("Uncertain inputs (1"), "{stdout}");
    assert!(
        stdout.contains("1000 samples of the uncertain inputs"),
        "{stdout}"
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("events.talks.p"))
        .unwrap();
    assert!(line.contains("0.004 - 0.02"), "{line}");
    assert!(line.contains("logit-normal"), "{line}");
}

#[test]
fn scenarios_without_uncertain_inputs_run_as_before() {
    let dir = dir_with(&scenario("0.4", "0.5"));
    let stdout = run_ok(dir.path(), &["exact", "doubt.toml", "--out", "out"]);
    assert!(!stdout.contains("samples"), "{stdout}");
    let mut files: Vec<String> = fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "conditional.csv",
            "events.csv",
            "labels.csv",
            "manifest.toml",
            "outcomes.csv",
            "report.html",
            "results.xlsx",
            "scenario.toml",
            "timeline.csv",
        ]
    );
    let manifest = fs::read_to_string(dir.path().join("out/manifest.toml")).unwrap();
    assert!(!manifest.contains("samples"), "{manifest}");
    // The options of uncertain inputs are refused rather than ignored.
    for args in [
        &["exact", "doubt.toml", "--samples", "10"][..],
        &["run", "doubt.toml", "--per-sample", "exact"],
        &["exact", "doubt.toml", "--seed", "3"],
    ] {
        let output = pathcast(dir.path()).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn bad_distributions_are_refused_with_file_line_and_key_and_nothing_is_written() {
    let cases = [
        ("{ low = 0.3, high = 0.1 }", "low must be below high"),
        ("{ low = 0.0, high = 0.1 }", "strictly inside (0, 1)"),
        ("{ low = 0.1 }", "needs both"),
        ("{ beta = [2, -1] }", "above 0"),
        ("{ beta = [2, 3, 4] }", "two numbers"),
        ("{ uniform = [0.5, 1.5] }", "inside [0, 1]"),
        (
            "{ lognormal = [0.1, 0.5] }",
            "cannot describe a probability",
        ),
        ("{ normal = [0.1, 0.5] }", "unknown key `normal`"),
        ("{ low = 0.1, high = 0.2, beta = [1, 2] }", "one of"),
        ("\"often\"", "uncertain value"),
    ];
    for (value, message) in cases {
        let dir = dir_with(&scenario(value, "0.5"));
        for args in [
            &["run", "doubt.toml", "--out", "out"][..],
            &["exact", "doubt.toml", "--out", "out"],
            &["check", "doubt.toml"],
        ] {
            let output = pathcast(dir.path()).args(args).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{value}: {stderr}");
            // Line 8 of the file holds talks' p.
            assert!(
                stderr.contains("doubt.toml:8") && stderr.contains("events.talks.p"),
                "{value}: {stderr}"
            );
            assert!(stderr.contains(message), "{value}: {stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert!(!dir.path().join("out").exists(), "{value}: wrote output");
        }
    }
    // A factor: beta is for probabilities, and a factor stays above 0.
    let dir =
        dir_with(&common::SMALL_SCENARIO.replace("factor = 2.0", "factor = { beta = [1, 2] }"));
    let output = pathcast(dir.path())
        .args(["run", "doubt.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("doubt.toml:18: events.sanctions.modifiers.stalled.factor"),
        "{stderr}"
    );
    // Through --set, and flags that do not apply to sampled runs.
    let dir = dir_with(&scenario("{ low = 0.2, high = 0.7 }", "0.5"));
    for args in [
        &[
            "run",
            "doubt.toml",
            "--set",
            "outcomes.deal.p={ uniform = [0.2, 0.1] }",
        ][..],
        &["run", "doubt.toml", "--precision", "0.01"],
        &["run", "doubt.toml", "--paths-csv"],
        &["run", "doubt.toml", "--samples", "1"],
    ] {
        let output = pathcast(dir.path()).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!dir.path().join("output").exists(), "{args:?} wrote output");
    }
}
