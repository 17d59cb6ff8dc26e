//! The `pathcast` binary, run as a user would.

use predicates::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

use crate::common;
use common::pathcast;

const TABLES: [&str; 4] = [
    "outcomes.csv",
    "events.csv",
    "timeline.csv",
    "conditional.csv",
];

fn read(path: PathBuf) -> String {
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A small valid scenario; `extra` is appended so a test can add or break one thing.
fn scenario(extra: &str) -> String {
    format!("{}{extra}", common::SMALL_SCENARIO)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn run_baseline_writes_every_table_and_a_summary() {
    let dir = TempDir::new().unwrap();
    pathcast(dir.path())
        .args(["run", "baseline", "--paths", "20000"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Peace agreement signed")
                .and(predicate::str::contains("95% interval")),
        );
    let out = dir.path().join("output/baseline");
    for table in TABLES.iter().chain(&["manifest.toml", "scenario.toml"]) {
        assert!(out.join(table).is_file(), "{table} missing");
    }
    assert!(!out.join("paths.csv").exists());
    let outcomes = read(out.join("outcomes.csv"));
    assert!(outcomes.starts_with("outcome,label,count,probability,ci_low,ci_high,mean_step,"));
    assert!(outcomes.contains("2025-") || outcomes.contains("2026-"));
    let manifest = read(out.join("manifest.toml"));
    assert!(manifest.contains("seed = 20250826") && manifest.contains("paths = 20000"));
    // No temporary files are left behind.
    let leftovers: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn output_is_byte_identical_for_one_and_two_threads() {
    let dir = TempDir::new().unwrap();
    for threads in ["1", "2"] {
        pathcast(dir.path())
            .args([
                "run",
                "baseline",
                "--paths",
                "100000",
                "--paths-csv",
                "--threads",
                threads,
            ])
            .args(["--out", &format!("t{threads}")])
            .assert()
            .success();
    }
    for table in TABLES.iter().chain(&["paths.csv", "scenario.toml"]) {
        let one = fs::read(dir.path().join("t1").join(table)).unwrap();
        let two = fs::read(dir.path().join("t2").join(table)).unwrap();
        assert!(one == two, "{table} differs between 1 and 2 threads");
    }
}

#[test]
fn a_slice_of_paths_is_the_same_paths_as_in_a_longer_run() {
    let dir = TempDir::new().unwrap();
    pathcast(dir.path())
        .args([
            "run",
            "baseline",
            "--paths",
            "30000",
            "--paths-csv",
            "--out",
            "long",
        ])
        .assert()
        .success();
    pathcast(dir.path())
        .args([
            "run",
            "baseline",
            "--first-path",
            "12345",
            "--paths",
            "9000",
        ])
        .args(["--paths-csv", "--out", "slice"])
        .assert()
        .success();
    let long = read(dir.path().join("long/paths.csv"));
    let slice = read(dir.path().join("slice/paths.csv"));
    let long_rows: Vec<&str> = long.lines().collect();
    let slice_rows: Vec<&str> = slice.lines().collect();
    assert_eq!(long_rows[0], slice_rows[0], "headers");
    assert_eq!(slice_rows.len(), 9001);
    assert_eq!(&long_rows[12346..12346 + 9000], &slice_rows[1..]);
}

#[test]
fn trace_tells_the_same_path_as_a_run() {
    let dir = TempDir::new().unwrap();
    pathcast(dir.path())
        .args([
            "run",
            "baseline",
            "--paths",
            "50",
            "--paths-csv",
            "--out",
            "run",
        ])
        .assert()
        .success();
    let paths = read(dir.path().join("run/paths.csv"));
    for row in paths.lines().skip(1).take(20) {
        let cells: Vec<&str> = row.split(',').collect();
        let (path, outcome) = (cells[0], cells[1]);
        let story = pathcast(dir.path())
            .args(["trace", "baseline", "--path", path])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let story = String::from_utf8(story).unwrap();
        let last = story.lines().last().unwrap();
        assert!(
            last.contains("OUTCOME") && last.contains(&format!("[{outcome}]")),
            "path {path}: {last}"
        );
    }
}

#[test]
fn every_preset_checks_and_runs() {
    let dir = TempDir::new().unwrap();
    let list = pathcast(dir.path())
        .arg("list")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let list = String::from_utf8(list).unwrap();
    let names: Vec<&str> = list
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert!(names.len() >= 5, "{names:?}");
    for name in names {
        let check = pathcast(dir.path())
            .args(["check", name])
            .assert()
            .success();
        let mut run = vec!["run", name, "--paths", "5000"];
        // A preset with uncertain inputs solves each sample exactly: a few samples suffice.
        if String::from_utf8_lossy(&check.get_output().stdout).contains("Uncertain inputs") {
            run.extend(["--samples", "4"]);
        }
        pathcast(dir.path()).args(&run).assert().success();
        assert!(dir
            .path()
            .join("output")
            .join(name)
            .join("outcomes.csv")
            .is_file());
    }
}

#[test]
fn exact_writes_the_same_tables_with_empty_interval_columns() {
    let dir = TempDir::new().unwrap();
    pathcast(dir.path())
        .args(["exact", "baseline"])
        .assert()
        .success();
    let exact = dir.path().join("output/baseline-exact");
    pathcast(dir.path())
        .args(["run", "baseline", "--paths", "1000"])
        .assert()
        .success();
    let run = dir.path().join("output/baseline");
    for table in TABLES {
        let header = |dir: &Path| read(dir.join(table)).lines().next().unwrap().to_string();
        assert_eq!(header(&exact), header(&run), "{table}");
    }
    let outcomes = read(exact.join("outcomes.csv"));
    let row: Vec<&str> = outcomes.lines().nth(1).unwrap().split(',').collect();
    // outcome,label,count,probability,ci_low,ci_high
    assert_eq!((row[2], row[4], row[5]), ("", "", ""));
    assert!(row[3].parse::<f64>().unwrap() > 0.0);
}

#[test]
fn check_exact_passes_on_the_baseline() {
    let dir = TempDir::new().unwrap();
    pathcast(dir.path())
        .args(["run", "baseline", "--paths", "200000", "--check-exact"])
        .assert()
        .success()
        .stdout(predicate::str::contains("OK: every estimate agrees"));
}

#[test]
fn check_describes_the_scenario() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "small.toml", &scenario(""));
    pathcast(dir.path())
        .args(["check", "small.toml"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("x2 if not talks")
                .and(predicate::str::contains("weeks 2-8"))
                .and(predicate::str::contains("at the horizon only")),
        );
}

/// Schedules and decays in `pathcast check`: each piece to its last step (with the date that
/// step begins), a decay with its half-life.
#[test]
fn check_describes_schedules_and_decays() {
    let dir = TempDir::new().unwrap();
    let text = scenario("")
        .replacen("p = 0.3", "p = { start = 0.3, half_life = 1 }", 1)
        .replacen(
            "p = 0.1\nwindow",
            "p = [{ until = 2025-01-29, p = 0.1 }, { p = 0.25 }]\nwindow",
            1,
        )
        .replacen(
            "factor = 2.0",
            "factor = { start = 2.0, half_life = 2.5 }",
            1,
        );
    write(dir.path(), "small.toml", &text);
    pathcast(dir.path())
        .args(["check", "small.toml"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("30.0%, halving every 1 week ")
                .and(predicate::str::contains(
                    "10.0% to week 4 (2025-01-27), then 25.0%",
                ))
                .and(predicate::str::contains(
                    "x2, halving every 2.5 weeks, if not talks",
                )),
        );
}

#[test]
fn a_preset_runs_from_any_folder_and_a_local_copy_wins() {
    let dir = TempDir::new().unwrap();
    pathcast(dir.path())
        .args(["check", "baseline"])
        .assert()
        .success();
    let local = dir.path().join("scenarios");
    fs::create_dir(&local).unwrap();
    let builtin = pathcast::scenario::presets::get("baseline").unwrap();
    fs::write(
        local.join("baseline.toml"),
        builtin.replace("p = 0.035\n", "p = 0.05\n"),
    )
    .unwrap();
    pathcast(dir.path())
        .args(["check", "baseline"])
        .assert()
        .success()
        .stdout(predicate::str::contains("5.0%"))
        .stderr(predicate::str::contains("using scenarios/baseline.toml"));
}

#[test]
fn extends_and_set_override_single_values() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "small.toml", &scenario(""));
    write(
        dir.path(),
        "variant.toml",
        "extends = \"small.toml\"\n[scenario]\nid = \"variant\"\n[events.talks]\np = 0.9\n",
    );
    pathcast(dir.path())
        .args([
            "run",
            "variant.toml",
            "--paths",
            "1000",
            "--set",
            "outcomes.deal.p=0.5",
        ])
        .assert()
        .success();
    let resolved = read(
        dir.path()
            .join("output/variant+outcomes.deal.p=0.5/scenario.toml"),
    );
    assert!(
        resolved.contains("p = 0.9") && resolved.contains("p = 0.5"),
        "{resolved}"
    );
    assert!(resolved.contains("label = \"Sanctions\""));
    assert!(!resolved.lines().any(|l| l.starts_with("extends")));
    // The resolved scenario runs on its own.
    pathcast(dir.path())
        .args(["check", "output/variant+outcomes.deal.p=0.5/scenario.toml"])
        .assert()
        .success();
}

/// Runs `pathcast run` on a broken scenario and checks the exit code, that the message names
/// what it should, and that nothing was written.
fn assert_refused(files: &[(&str, &str)], args: &[&str], expected: &[&str]) {
    let dir = TempDir::new().unwrap();
    for (name, text) in files {
        write(dir.path(), name, text);
    }
    let assert = pathcast(dir.path())
        .args(["run"])
        .args(args)
        .args(["--paths", "100"])
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    for part in expected {
        assert!(stderr.contains(part), "expected {part:?} in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !dir.path().join("output").exists(),
        "output written for bad input"
    );
}

#[test]
fn unknown_key_is_refused_with_file_key_and_line() {
    let text = scenario("").replace("p = 0.3", "p = 0.3\nprobability = 0.3");
    assert_refused(
        &[("bad.toml", &text)],
        &["bad.toml"],
        &[
            "bad.toml:11",
            "events.talks.probability",
            "unknown field `probability`",
        ],
    );
}

#[test]
fn unknown_event_in_condition_is_refused() {
    let text = scenario("").replace("when = \"talks\"", "when = \"talks and sanction\"");
    assert_refused(
        &[("bad.toml", &text)],
        &["bad.toml"],
        &[
            "bad.toml:23",
            "outcomes.deal.when",
            "unknown event id 'sanction'",
        ],
    );
}

#[test]
fn probability_outside_zero_one_is_refused() {
    for bad in ["1.5", "-0.1", "nan", "inf"] {
        let text = scenario("").replace("p = 0.3", &format!("p = {bad}"));
        assert_refused(
            &[("bad.toml", &text)],
            &["bad.toml"],
            &["bad.toml:10", "events.talks.p", "outside [0, 1]"],
        );
    }
}

#[test]
fn factor_not_positive_is_refused() {
    for bad in ["0", "-2", "0.0", "inf"] {
        let text = scenario("").replace("factor = 2.0", &format!("factor = {bad}"));
        assert_refused(
            &[("bad.toml", &text)],
            &["bad.toml"],
            &[
                "bad.toml:18",
                "events.sanctions.modifiers.stalled.factor",
                "> 0",
            ],
        );
    }
}

#[test]
fn window_outside_the_horizon_is_refused() {
    for bad in ["[0, 5]", "[2, 11]", "[5, 3]", "[1]"] {
        let text = scenario("").replace("window = [2, 8]", &format!("window = {bad}"));
        assert_refused(
            &[("bad.toml", &text)],
            &["bad.toml"],
            &["bad.toml:15", "events.sanctions.window"],
        );
    }
}

#[test]
fn cycle_in_extends_is_refused() {
    assert_refused(
        &[
            ("a.toml", "extends = \"b.toml\"\n"),
            ("b.toml", "# b\nextends = \"a.toml\"\n"),
        ],
        &["a.toml"],
        &["b.toml:2", "extends", "cycle", "a.toml -> ", "b.toml -> "],
    );
    assert_refused(
        &[("self.toml", "extends = \"self.toml\"\n")],
        &["self.toml"],
        &["self.toml:1", "extends", "cycle"],
    );
}

#[test]
fn missing_parent_is_refused() {
    assert_refused(
        &[("a.toml", "\nextends = \"nowhere.toml\"\n")],
        &["a.toml"],
        &["a.toml:2", "extends", "cannot find 'nowhere.toml'"],
    );
}

#[test]
fn duplicate_ids_are_refused() {
    let twice = scenario("").replace("[events.sanctions]", "[events.talks]\n[events.sanctions]");
    assert_refused(
        &[("bad.toml", &twice)],
        &["bad.toml"],
        &["bad.toml:", "duplicate key"],
    );
    let both = scenario("[outcomes.talks]\nlabel = \"Talks outcome\"\n");
    assert_refused(
        &[("bad.toml", &both)],
        &["bad.toml"],
        &["bad.toml", "'talks' is both an event and an outcome"],
    );
}

#[test]
fn reserved_word_as_id_is_refused() {
    let text = scenario("[events.and]\nlabel = \"And\"\np = 0.1\n");
    assert_refused(
        &[("bad.toml", &text)],
        &["bad.toml"],
        &["events.and", "condition language"],
    );
}

#[test]
fn wrong_type_and_syntax_errors_name_the_line() {
    let text = scenario("").replace("p = 0.3", "p = \"high\"");
    assert_refused(
        &[("bad.toml", &text)],
        &["bad.toml"],
        &["bad.toml:10", "events.talks.p", "invalid type"],
    );
    let text = scenario("").replace("p = 0.3", "p = ");
    assert_refused(&[("bad.toml", &text)], &["bad.toml"], &["bad.toml:10"]);
}

#[test]
fn bad_set_is_refused() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "small.toml", &scenario(""));
    let cases: [(&str, &str); 4] = [
        ("events.nope.p=0.1", "no event 'nope'"),
        ("events.talks.p=abc", "invalid type"),
        ("events.talks.p=2", "outside [0, 1]"),
        ("events.talks.modifiers.zzz.factor=2", "no modifier 'zzz'"),
    ];
    for (set, message) in cases {
        assert_refused(
            &[("small.toml", &scenario(""))],
            &["small.toml", "--set", set],
            &[&format!("--set '{set}'"), message],
        );
    }
}

#[test]
fn bad_flags_are_refused() {
    let dir = TempDir::new().unwrap();
    for args in [
        &["run", "baseline", "--paths", "0"][..],
        &["run", "baseline", "--paths", "-1"],
        &["run", "baseline", "--threads", "0"],
        &["run", "no_such_preset"],
        &["run", "missing.toml"],
    ] {
        pathcast(dir.path()).args(args).assert().code(2);
    }
    assert!(!dir.path().join("output").exists());
}

#[test]
fn out_pointing_at_a_file_is_refused() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "taken", "precious");
    pathcast(dir.path())
        .args(["run", "baseline", "--paths", "100", "--out", "taken"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("taken"));
    assert_eq!(read(dir.path().join("taken")), "precious");
}

#[test]
fn rerun_replaces_the_earlier_set_of_files() {
    let dir = TempDir::new().unwrap();
    pathcast(dir.path())
        .args(["run", "baseline", "--paths", "100", "--paths-csv"])
        .assert()
        .success();
    let out = dir.path().join("output/baseline");
    assert!(out.join("paths.csv").exists());
    pathcast(dir.path())
        .args(["run", "baseline", "--paths", "200"])
        .assert()
        .success();
    assert!(!out.join("paths.csv").exists(), "stale paths.csv kept");
    assert!(read(out.join("manifest.toml")).contains("paths = 200"));
}

#[test]
fn path_counts_are_read_as_people_write_them() {
    let dir = TempDir::new().unwrap();
    for (paths, expected) in [("1e3", "1000"), ("1_500", "1500"), ("2000", "2000")] {
        pathcast(dir.path())
            .args(["run", "baseline", "--paths", paths, "--out", "o", "-q"])
            .assert()
            .success()
            .stderr("");
        assert!(
            read(dir.path().join("o/manifest.toml")).contains(&format!("paths = {expected}")),
            "{paths}"
        );
    }
    for bad in ["2.5", "1.5e0", "0", "-3", "1e30", "many"] {
        pathcast(dir.path())
            .args(["run", "baseline", "--paths", bad])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("whole number of paths"));
    }
}

#[test]
fn trace_takes_the_path_as_an_argument_and_export_defaults_to_prism() {
    let dir = TempDir::new().unwrap();
    let by_flag = pathcast(dir.path())
        .args(["trace", "baseline", "--path", "7"])
        .output()
        .unwrap();
    let by_argument = pathcast(dir.path())
        .args(["trace", "baseline", "7"])
        .output()
        .unwrap();
    assert!(by_flag.status.success());
    assert_eq!(by_flag.stdout, by_argument.stdout);
    let prism = pathcast(dir.path())
        .args(["export", "baseline"])
        .output()
        .unwrap();
    let explicit = pathcast(dir.path())
        .args(["export", "baseline", "--prism"])
        .output()
        .unwrap();
    assert!(prism.status.success());
    assert_eq!(prism.stdout, explicit.stdout);
    assert!(String::from_utf8_lossy(&prism.stdout).contains("dtmc"));
}

#[test]
fn export_json_writes_the_compiled_model_with_set_applied() {
    let dir = TempDir::new().unwrap();
    // A scenario of the first format is written as version 1: the frozen first-format baseline.
    let v1 = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/v1-baseline/baseline.toml"
    );
    let out = pathcast(dir.path())
        .args(["export", v1, "--json", "--set", "events.meeting.p=0.02"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["format"], "pathcast-model");
    assert_eq!(doc["id"], "baseline");
    let meeting = &doc["events"].as_array().unwrap()[0];
    assert_eq!(meeting["id"], "meeting");
    assert_eq!(meeting["p"], 0.02);
    pathcast(dir.path())
        .args(["export", v1, "--json", "--set", "events.meeting.p=0.02"])
        .args(["--out", "model.json"])
        .assert()
        .success();
    let file = std::fs::read(dir.path().join("model.json")).unwrap();
    assert!(file == out.stdout, "the file differs from standard output");
    pathcast(dir.path())
        .args(["export", v1, "--json", "--prism"])
        .assert()
        .code(2);
    assert_eq!(doc["format_version"], 1);
    // The revised baseline has events that end and a decay: version 2, which says so.
    let revised = pathcast(dir.path())
        .args(["export", "baseline", "--json"])
        .output()
        .unwrap();
    assert!(revised.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&revised.stdout).unwrap();
    assert_eq!(doc["format_version"], 2);
    let events = doc["events"].as_array().unwrap();
    let ceasefire = events.iter().find(|e| e["id"] == "ceasefire").unwrap();
    assert!(ceasefire["ends"]["p"].is_number(), "{ceasefire}");
    let meeting = events.iter().find(|e| e["id"] == "meeting").unwrap();
    assert_eq!(meeting["p"]["decay"]["half_life"], 12.0, "{meeting}");
}

#[test]
fn show_prints_a_preset_and_init_starts_a_variant_of_it() {
    let dir = TempDir::new().unwrap();
    let shown = pathcast(dir.path())
        .args(["show", "sanctions"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&shown.stdout),
        pathcast::scenario::presets::get("sanctions").unwrap()
    );
    pathcast(dir.path())
        .args(["init", "my variant.toml", "--from", "sanctions"])
        .assert()
        .success();
    let text = read(dir.path().join("my variant.toml"));
    assert!(text.contains("extends = \"sanctions\"") && text.contains("id = \"my_variant\""));
    assert!(text.contains("# [events.sanctions]\n# p = "), "{text}");
    // A decay and a schedule: one number each, as a dotted key; an end under `ends`.
    assert!(text.contains("# [events.meeting]\n# p.start = "), "{text}");
    assert!(text.contains("# [events.summit.ends]\n# p = "), "{text}");
    pathcast(dir.path())
        .args(["check", "my variant.toml"])
        .assert()
        .success();
    // An existing file is not replaced without --overwrite.
    pathcast(dir.path())
        .args(["init", "my variant.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--overwrite"));
    assert_eq!(read(dir.path().join("my variant.toml")), text);
}

#[test]
fn a_misspelt_preset_gets_a_suggestion_and_force_is_never_guessed() {
    let dir = TempDir::new().unwrap();
    pathcast(dir.path())
        .args(["run", "sanctons"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean 'sanctions'?"));
    for typo in ["--forc", "--fo", "--forces"] {
        pathcast(dir.path())
            .args(["run", "baseline", typo])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("'{typo}'")))
            .stderr(predicate::str::contains("Usage: pathcast run --force").not())
            .stderr(predicate::str::contains("similar argument exists: '--force'").not());
    }
    assert!(!dir.path().join("output").exists());
}

#[test]
fn completions_man_page_and_version() {
    let dir = TempDir::new().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = pathcast(dir.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("sensitivity")
        );
    }
    let man = pathcast(dir.path()).arg("man").output().unwrap();
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH pathcast 1"));
    pathcast(dir.path())
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "pathcast {}",
            env!("CARGO_PKG_VERSION")
        )));
}

#[test]
fn tables_fit_the_terminal_width() {
    let dir = TempDir::new().unwrap();
    let out = pathcast(dir.path())
        .env("COLUMNS", "100")
        .args(["check", "baseline"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The description wraps by itself; the tables are cut to 100 columns with an ellipsis.
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    assert!(text.contains('\u{2026}'));
    // Without a terminal or COLUMNS, every character.
    let piped = pathcast(dir.path())
        .env_remove("COLUMNS")
        .args(["check", "baseline"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&piped.stdout).contains("Putin and Zelenskiy meet in person"));
}
