//! Fuzzing the scenario loader and validator with proptest.
//!
//! Three properties, each over inputs a user (or a corrupted disk) could hand pathcast:
//!
//! - `arbitrary_bytes`: any bytes as a scenario file load to `Ok` or `Err`, never a panic;
//! - `mutated_scenarios`: TOML built from a grammar of plausible scenario keys and values
//!   (mutations of a valid scenario: real and junk keys, values of every type, conditions
//!   from `a b c and or not ( ) true false` and junk, windows, huge and non-finite numbers,
//!   ends, recurs and ever(), schedules and decays valid and not)
//!   loads to an error that names the file, or to a model that simulates and solves without
//!   a panic and whose resolved scenario loads on its own to the same model;
//! - `arbitrary_sets`: any `--set` strings on a valid scenario never panic;
//! - `arbitrary_labels`: any text as labels and title loads or is refused, and what pathcast
//!   then prints holds no control character and what it writes as CSV no formula;
//! - `output_folders`: any mix of files, links, FIFOs and manifests in an output folder is
//!   either refused, leaving the folder as it was, or written without losing a file that is
//!   not pathcast's, and without leaving a staging folder behind;
//! - `arbitrary_arguments`: the binary with random arguments (bytes that are not UTF-8 too)
//!   exits with 0, 1 or 2, never panics, prints no control character, and never changes the
//!   scenario it reads (a property of processes: it runs 1/32 of the cases).
//!
//! `PATHCAST_FUZZ_CASES` sets the number of cases per property (default 1024, about a second in
//! the test profile; CI sets more for a longer, still bounded run) and `PATHCAST_FUZZ_SEED`
//! the seed (default fixed, so that runs are deterministic). The seed is printed, and shown
//! with any failure together with the smallest failing input proptest found.

use pathcast::exact::{self, Limits};
use pathcast::export::csv;
use pathcast::export::{Manifest, OutputSet};
use pathcast::output::{describe, summary, trace};
use pathcast::report::Report;
use pathcast::scenario::{load_from, Loaded};
use pathcast::simulate::tally_serial;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use tempfile::TempDir;

use crate::common;

const DEFAULT_CASES: u32 = 1024;
/// "pathcast" in ASCII.
const DEFAULT_SEED: u64 = 0x7061_7468_6361_7374;

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

/// A runner with the configured number of cases and a fixed seed; each property draws from
/// its own stream, so that adding a property does not change the inputs of the others.
fn runner(property: &str) -> TestRunner {
    let cases = env_number("PATHCAST_FUZZ_CASES", DEFAULT_CASES);
    let seed = env_number("PATHCAST_FUZZ_SEED", DEFAULT_SEED);
    eprintln!(
        "fuzz {property}: {cases} cases, seed {seed} \
         (PATHCAST_FUZZ_CASES, PATHCAST_FUZZ_SEED to change)"
    );
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    for (i, byte) in property.bytes().take(24).enumerate() {
        key[8 + i] = byte;
    }
    let config = Config {
        cases,
        // Nothing written beside the tests; a failure is reproduced from the seed.
        failure_persistence: None,
        // Shrinking a failure stays bounded in time too.
        max_shrink_iters: 10_000,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key))
}

/// Runs `property` over `strategy`, failing with the seed and the smallest failing input.
fn fuzz<S: Strategy>(
    property: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let mut runner = runner(property);
    if let Err(failure) = runner.run(&strategy, test) {
        panic!(
            "fuzz {property} failed (seed {}): {failure}",
            env_number("PATHCAST_FUZZ_SEED", DEFAULT_SEED)
        );
    }
}

/// How many inputs loaded, and how many were refused: printed, to see that a property
/// reaches both sides.
#[derive(Default)]
struct Counts {
    loaded: AtomicUsize,
    refused: AtomicUsize,
}

impl Counts {
    fn count(&self, loaded: bool) {
        let counter = if loaded { &self.loaded } else { &self.refused };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn print(&self, property: &str) {
        eprintln!(
            "fuzz {property}: {} loaded, {} refused",
            self.loaded.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed)
        );
    }
}

/// A folder with the scenario file the cases write, named by its absolute path.
struct Workspace {
    dir: TempDir,
    file: PathBuf,
}

impl Workspace {
    /// With `parent.toml`, the valid scenario, for `extends = "parent.toml"`.
    fn new() -> Workspace {
        let dir = TempDir::new().unwrap();
        fs::write(dir.path().join("parent.toml"), BASE).unwrap();
        let file = dir.path().join("fuzz.toml");
        Workspace { dir, file }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn spec(&self) -> &str {
        self.file.to_str().unwrap()
    }

    fn load(&self, bytes: &[u8], sets: &[String]) -> Result<Loaded, pathcast::ScenarioError> {
        fs::write(&self.file, bytes).unwrap();
        load_from(self.spec(), sets, self.dir())
    }

    /// An error names where it is: this file or the parent it extends, a `--set`, or a
    /// built-in preset it extends.
    fn check_error(&self, error: &pathcast::ScenarioError) -> Result<(), TestCaseError> {
        let message = error.to_string();
        let parent = self.dir().join("parent.toml");
        prop_assert!(
            !error.message.trim().is_empty(),
            "empty message: {message:?}"
        );
        prop_assert!(
            message.starts_with(self.spec())
                || message.starts_with(parent.to_str().unwrap())
                || message.starts_with("--set")
                || message.starts_with("preset "),
            "the message does not start with the file name or --set: {message:?}"
        );
        Ok(())
    }
}

/// A scenario that loaded is described (`check`), traced, simulated for a few paths, solved
/// with small limits (the solver may refuse), and its tables and summaries are built: all
/// without a panic.
fn exercise(loaded: &Loaded) -> Result<(), TestCaseError> {
    let model = &loaded.model;
    let _ = describe::render(loaded);
    let _ = trace::render(model, 1, 0);
    let tally = tally_serial(model, 1, 0, 20);
    prop_assert_eq!(tally.paths, 20);
    let report = Report::from_tally(model, &tally, 1, 0);
    tables(loaded, &report)?;
    let limits = Limits {
        max_states: 4096,
        max_transitions: 1 << 16,
        ..Limits::default()
    };
    if let Ok(masses) = exact::solve(model, &limits) {
        tables(loaded, &Report::from_exact(model, &masses))?;
    }
    Ok(())
}

fn tables(loaded: &Loaded, report: &Report) -> Result<(), TestCaseError> {
    let model = &loaded.model;
    let _ = summary::render(loaded, report);
    for table in [csv::outcomes, csv::events, csv::timeline, csv::conditional] {
        prop_assert!(table(model, report).is_ok());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (a) Arbitrary bytes.

const BASE: &str = common::SMALL_SCENARIO;

/// Random bytes, or the valid scenario with a few bytes changed (which gets past the TOML
/// parser far more often).
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        edits.prop_map(|edits| {
            let mut bytes = BASE.as_bytes().to_vec();
            for (at, byte, how) in edits {
                let i = at.index(bytes.len());
                match how {
                    0 => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            bytes
        }),
    ]
}

#[test]
fn arbitrary_bytes() {
    let workspace = Workspace::new();
    let counts = Counts::default();
    fuzz("arbitrary_bytes", bytes(), |bytes| {
        let result = workspace.load(&bytes, &[]);
        counts.count(result.is_ok());
        match result {
            Ok(loaded) => exercise(&loaded)?,
            Err(error) => workspace.check_error(&error)?,
        }
        Ok(())
    });
    counts.print("arbitrary_bytes");
}

// ---------------------------------------------------------------------------------------------
// (b) Mutations of a valid scenario, from a grammar of plausible keys and values.

#[derive(Debug, Clone)]
struct Table {
    /// `None` for the top level, which is always the first table.
    header: Option<String>,
    entries: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
struct Doc {
    tables: Vec<Table>,
}

impl Doc {
    fn base() -> Doc {
        let table = |header: Option<&str>, entries: &[(&str, &str)]| Table {
            header: header.map(str::to_string),
            entries: entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        Doc {
            tables: vec![
                table(None, &[]),
                table(
                    Some("[scenario]"),
                    &[
                        ("id", "\"small\""),
                        ("title", "\"Small\""),
                        ("horizon", "10"),
                        ("start", "2025-01-06"),
                        ("seed", "3"),
                    ],
                ),
                table(
                    Some("[events.talks]"),
                    &[("label", "\"Talks open\""), ("p", "0.3")],
                ),
                table(Some("[events.talks.ends]"), &[("p", "0.2")]),
                table(
                    Some("[events.sanctions]"),
                    &[
                        ("label", "\"Sanctions\""),
                        ("p", "0.1"),
                        ("window", "[2, 8]"),
                    ],
                ),
                table(
                    Some("[events.sanctions.modifiers.stalled]"),
                    &[("when", "\"not talks\""), ("factor", "2.0")],
                ),
                table(
                    Some("[outcomes.deal]"),
                    &[("label", "\"Deal\""), ("p", "0.2"), ("when", "\"talks\"")],
                ),
                table(Some("[outcomes.none]"), &[("label", "\"No deal\"")]),
                table(Some("[horizon]"), &[("default", "\"none\"")]),
            ],
        }
    }

    fn render(&self) -> String {
        let mut text = String::new();
        for table in &self.tables {
            if let Some(header) = &table.header {
                text.push_str(header);
                text.push('\n');
            }
            for (key, value) in &table.entries {
                let _ = writeln!(text, "{key} = {value}");
            }
            text.push('\n');
        }
        text
    }
}

/// A value: literal TOML, or one picked from the plausible values of the key it lands on.
#[derive(Debug, Clone)]
enum Value {
    Literal(String),
    Plausible(prop::sample::Index),
}

impl Value {
    fn text(&self, key: &str) -> String {
        match self {
            Value::Literal(text) => text.clone(),
            Value::Plausible(pick) => {
                let last = key.rsplit('.').next().unwrap_or(key);
                let choices = plausible(last);
                choices[pick.index(choices.len())].to_string()
            }
        }
    }
}

/// Values that suit a key, valid or just beyond the limits.
fn plausible(key: &str) -> &'static [&'static str] {
    match key {
        "p" => &[
            "0.0",
            "1.0",
            "0.5",
            "0.01",
            "1",
            "0",
            "1e-300",
            "0.9999999",
            "5e-324",
            "[{ until = 3, p = 0.2 }, { p = 0.05 }]",
            "[{ until = 2025-01-20, p = 1.0 }, { until = 9, p = 0.0 }, { p = 0.5 }]",
            "[{ until = 2024-12-31, p = 0.1 }, { p = 0.2 }]",
            "[{ until = 10, p = 0.1 }, { p = 0.2 }]",
            "[{ until = 5, p = 0.1 }, { until = 5, p = 0.2 }, { p = 0.3 }]",
            "[{ p = 0.1 }, { until = 3, p = 0.2 }]",
            "[{ until = 0, p = 0.1 }, { p = 0.2 }]",
            "[{ until = 3, p = { low = 0.1, high = 0.2 } }, { p = 0.2 }]",
            "[{ until = 3, factor = 2.0 }, { p = 0.2 }]",
            "[{ p = 0.3 }]",
            "[]",
            "{ start = 0.3, half_life = 2 }",
            "{ start = 1.0, half_life = 1e-300 }",
            "{ start = 0.5, half_life = 5e-324 }",
            "{ start = 0.5, half_life = 1e308 }",
            "{ start = 0.5, half_life = 0 }",
            "{ start = 0.5, half_life = inf }",
            "{ start = 1.5, half_life = 2 }",
            "{ start = 0.5 }",
            "{ half_life = 2 }",
        ],
        "factor" => &[
            "2.0",
            "0.5",
            "1e300",
            "1e-300",
            "1",
            "100",
            "5e-324",
            "[{ until = 4, factor = 1e300 }, { factor = 5e-324 }]",
            "[{ until = 2025-02-01, factor = 3.0 }, { factor = 0.5 }]",
            "[{ until = 4, factor = 0.0 }, { factor = 2.0 }]",
            "{ start = 4.0, half_life = 1.5 }",
            "{ start = 1e300, half_life = 0.5 }",
            "{ start = -1.0, half_life = 2 }",
        ],
        "window" => &[
            "[1, 1]",
            "[1, 10]",
            "[2, 3]",
            "[10, 10]",
            "[1, 100000]",
            "[3, 2]",
        ],
        "when" => &[
            "\"talks\"",
            "\"not talks\"",
            "\"talks and sanctions\"",
            "\"true\"",
            "\"false\"",
            "\"(talks or sanctions) and not talks\"",
            "\"not not not sanctions\"",
            "\"ever(talks) and not talks\"",
            "\"ever(sanctions)\"",
            "\"ever(talks\"",
            "\"ever(deal)\"",
        ],
        "recurs" => &["true", "false", "1"],
        "ends" => &[
            "{ p = 0.2 }",
            "{ p = 0.5, when = \"sanctions\", window = [2, 5] }",
            "{ p = 1.0, modifiers = { m = { when = \"ever(talks)\", factor = 3.0 } } }",
            "{}",
            "{ label = \"x\", p = 0.1 }",
        ],
        "horizon" => &["1", "2", "3", "10", "64", "100000"],
        "label" | "title" | "description" => &[
            "\"x\"",
            "\"Ünïcödé ✓\"",
            "\"line\\nbreak\"",
            "'''\nmulti\nline'''",
        ],
        "step" => &["\"day\"", "\"week\"", "\"month\""],
        "start" => &["2025-08-26", "9999-12-31", "0001-01-01", "2024-02-29"],
        "default" | "outcome" => &["\"deal\"", "\"none\""],
        "paths" => &["1", "100", "9223372036854775807"],
        "seed" => &["0", "9223372036854775807"],
        "rules" => &[
            "[]",
            "[{ when = \"talks\", outcome = \"deal\" }]",
            "[{ when = \"true\", outcome = \"none\" }, { when = \"sanctions\", outcome = \"deal\" }]",
        ],
        "id" => &["\"a\"", "\"x-y_1\""],
        "sources" => &["[]", "[\"a\", \"b\"]"],
        "extends" => &["\"baseline\"", "\"sanctions.toml\"", "\"parent.toml\""],
        "modifiers" => &["{}", "{ m = { when = \"talks\", factor = 3.0 } }"],
        _ => &["\"x\"", "1", "0.5", "true"],
    }
}

const KEYS: &[&str] = &[
    "id",
    "title",
    "description",
    "sources",
    "step",
    "horizon",
    "start",
    "paths",
    "seed",
    "label",
    "p",
    "window",
    "when",
    "modifiers",
    "factor",
    "ends",
    "recurs",
    "rules",
    "default",
    "outcome",
    "extends",
    "scenario",
    "events",
    "outcomes",
    // Junk, and dotted keys that reach into other tables.
    "probability",
    "x",
    "\"\"",
    "\"a b\"",
    "colour",
    "p.q",
    "p.0",
    "p.start",
    "p.half_life",
    "factor.1",
    "events.talks.p",
    "modifiers.m.factor",
    "modifiers.m.when",
    "scenario.horizon",
    "é",
];

const IDS: &[&str] = &[
    "talks",
    "sanctions",
    "deal",
    "none",
    "e1",
    "x",
    "and",
    "not",
    "true",
    "\"a-b\"",
    "\"\"",
    "\"1st\"",
    "\"with space\"",
];

const TOKENS: &[&str] = &[
    "a",
    "b",
    "c",
    "and",
    "or",
    "not",
    "(",
    ")",
    "true",
    "false",
    "talks",
    "sanctions",
    "deal",
    "none",
    "&",
    "|",
    "-",
    "!",
    "é",
    "1x",
    "_",
    "\t",
    "\"",
    "\\",
];

const INTS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "8",
    "10",
    "52",
    "-1",
    "100000",
    "100001",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "0x10",
    "1_000",
];

const FLOATS: &[&str] = &[
    "0.0", "0.5", "1.0", "-0.0", "1e308", "1e400", "-1e400", "nan", "-nan", "+nan", "inf", "-inf",
    "+inf", "5e-324", "1e-300", "1.5", "2.0", "-0.5",
];

const OTHER: &[&str] = &[
    "true",
    "false",
    "2025-08-26",
    "2025-08-26T10:00:00",
    "10:00:00",
    "1979-05-27T07:32:00Z",
    "0000-01-01",
    "[]",
    "[\"x\"]",
    "[1.5, 2]",
    "[1, 2, 3]",
    "[[1, 2]]",
    "{}",
    "{ when = \"talks\", factor = 2.0 }",
    "{ label = \"x\", p = 0.5 }",
    "\"\"",
    "\" \"",
    "\"day\"",
    "\"year\"",
    "\"baseline\"",
    "\"nope.toml\"",
    "\"fuzz.toml\"",
    "\"parent.toml\"",
    // Not TOML at all.
    "=",
    "[",
    "\"unterminated",
    "'lit'",
    "\"\"\"x\"\"\"",
];

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn float_text(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{x:?}")
    }
}

/// A condition from the tokens, with or without spaces, sometimes very long or deep.
fn condition() -> impl Strategy<Value = String> {
    let tokens = prop::collection::vec(select(TOKENS), 0..12);
    prop_oneof![
        4 => tokens.clone().prop_map(|t| t.join(" ")),
        1 => tokens.prop_map(|t| t.concat()),
        1 => (select(vec!["(", "not ", "talks and ", "(not "]), 0..1200usize).prop_map(
            |(unit, n)| format!("{}talks{}", unit.repeat(n), ")".repeat(n * unit.matches('(').count()))
        ),
    ]
}

fn id() -> impl Strategy<Value = &'static str> {
    select(IDS)
}

fn rules() -> impl Strategy<Value = String> {
    prop::collection::vec((condition(), id()), 0..3).prop_map(|rules| {
        let rules: Vec<String> = rules
            .iter()
            .map(|(when, outcome)| {
                format!(
                    "{{ when = {}, outcome = {} }}",
                    toml_string(when),
                    toml_string(outcome.trim_matches('"'))
                )
            })
            .collect();
        format!("[{}]", rules.join(", "))
    })
}

fn literal() -> impl Strategy<Value = String> {
    let int = prop_oneof![
        select(INTS).prop_map(str::to_string),
        any::<i64>().prop_map(|n| n.to_string())
    ];
    prop_oneof![
        int.clone(),
        select(FLOATS).prop_map(str::to_string),
        any::<f64>().prop_map(float_text),
        condition().prop_map(|c| toml_string(&c)),
        id().prop_map(|id| toml_string(id.trim_matches('"'))),
        (int.clone(), int.clone()).prop_map(|(a, b)| format!("[{a}, {b}]")),
        (int.clone(), int.clone(), int).prop_map(|(a, b, c)| format!("[{a}, {b}, {c}]")),
        rules(),
        select(OTHER).prop_map(str::to_string),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => any::<prop::sample::Index>().prop_map(Value::Plausible),
        4 => literal().prop_map(Value::Literal),
    ]
}

fn header() -> impl Strategy<Value = String> {
    let kind = select(vec!["events", "outcomes"]);
    prop_oneof![
        select(vec![
            "[scenario]",
            "[horizon]",
            "[[horizon.rules]]",
            "[events]",
            "[outcomes]",
            "[junk]",
            "[scenario.sources]",
            "[events.talks.modifiers]",
        ])
        .prop_map(str::to_string),
        (kind.clone(), id()).prop_map(|(k, id)| format!("[{k}.{id}]")),
        (kind, id(), select(vec!["m", "stalled", "\"\"", "\"a b\""]))
            .prop_map(|(k, id, m)| format!("[{k}.{id}.modifiers.{m}]")),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    SetValue(prop::sample::Index, prop::sample::Index, Value),
    AddEntry(prop::sample::Index, &'static str, Value),
    RemoveEntry(prop::sample::Index, prop::sample::Index),
    AddTable(String, Vec<(&'static str, Value)>),
    RemoveTable(prop::sample::Index),
    DuplicateTable(prop::sample::Index),
    /// `count` simple events or outcomes, to reach and pass the limit of 64.
    Many(&'static str, usize, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let index = any::<prop::sample::Index>;
    prop_oneof![
        4 => (index(), index(), value()).prop_map(|(t, e, v)| Mutation::SetValue(t, e, v)),
        3 => (index(), select(KEYS), value()).prop_map(|(t, k, v)| Mutation::AddEntry(t, k, v)),
        2 => (index(), index()).prop_map(|(t, e)| Mutation::RemoveEntry(t, e)),
        2 => (header(), prop::collection::vec((select(KEYS), value()), 0..5))
            .prop_map(|(h, entries)| Mutation::AddTable(h, entries)),
        1 => index().prop_map(Mutation::RemoveTable),
        1 => index().prop_map(Mutation::DuplicateTable),
        1 => (select(vec!["events", "outcomes"]), 0..70usize, value())
            .prop_map(|(kind, count, p)| Mutation::Many(kind, count, p)),
    ]
}

impl Doc {
    fn apply(&mut self, mutation: &Mutation) {
        let tables = self.tables.len();
        match mutation {
            Mutation::SetValue(t, e, value) => {
                let table = &mut self.tables[t.index(tables)];
                if !table.entries.is_empty() {
                    let e = e.index(table.entries.len());
                    let entry = &mut table.entries[e];
                    entry.1 = value.text(&entry.0);
                }
            }
            Mutation::AddEntry(t, key, value) => {
                self.tables[t.index(tables)]
                    .entries
                    .push((key.to_string(), value.text(key)));
            }
            Mutation::RemoveEntry(t, e) => {
                let table = &mut self.tables[t.index(tables)];
                if !table.entries.is_empty() {
                    let e = e.index(table.entries.len());
                    table.entries.remove(e);
                }
            }
            Mutation::AddTable(header, entries) => self.tables.push(Table {
                header: Some(header.clone()),
                entries: entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.text(k)))
                    .collect(),
            }),
            // The top level (table 0) stays first.
            Mutation::RemoveTable(t) => {
                let t = t.index(tables);
                if t > 0 {
                    self.tables.remove(t);
                }
            }
            Mutation::DuplicateTable(t) => {
                let t = t.index(tables);
                if t > 0 {
                    self.tables.push(self.tables[t].clone());
                }
            }
            Mutation::Many(kind, count, p) => {
                for i in 0..*count {
                    let mut entries = vec![("label".to_string(), format!("\"G {i}\""))];
                    if *kind == "events" || i % 2 == 0 {
                        entries.push(("p".to_string(), p.text("p")));
                    }
                    self.tables.push(Table {
                        header: Some(format!("[{kind}.g{i}]")),
                        entries,
                    });
                }
            }
        }
    }
}

#[test]
fn mutated_scenarios() {
    let workspace = Workspace::new();
    let resolved_file = workspace.dir().join("resolved.toml");
    let strategy = prop::collection::vec(mutation(), 0..6).prop_map(|mutations| {
        let mut doc = Doc::base();
        for mutation in &mutations {
            doc.apply(mutation);
        }
        doc.render()
    });
    let counts = Counts::default();
    fuzz("mutated_scenarios", strategy, |text| {
        let result = workspace.load(text.as_bytes(), &[]);
        counts.count(result.is_ok());
        match result {
            Ok(loaded) => {
                exercise(&loaded)?;
                // The resolved scenario (written as scenario.toml beside every run's
                // results) runs on its own, as the same model.
                fs::write(&resolved_file, &loaded.resolved).unwrap();
                let again = load_from(resolved_file.to_str().unwrap(), &[], workspace.dir());
                let again = again.map_err(|e| {
                    TestCaseError::fail(format!(
                        "the resolved scenario does not load: {e}\n{}",
                        loaded.resolved
                    ))
                })?;
                prop_assert_eq!(
                    format!("{:?}", again.model),
                    format!("{:?}", loaded.model),
                    "the resolved scenario is another model:\n{}",
                    loaded.resolved
                );
            }
            Err(error) => workspace.check_error(&error)?,
        }
        Ok(())
    });
    counts.print("mutated_scenarios");
}

// ---------------------------------------------------------------------------------------------
// (c) Arbitrary --set strings on the valid scenario.

const SET_KEYS: &[&str] = &[
    "events.talks.p",
    "events.talks.p.0",
    "events.talks.p.1",
    "events.talks.p.start",
    "events.talks.p.half_life",
    "events.talks.label",
    "events.sanctions.window",
    "events.sanctions.when",
    "events.sanctions.modifiers.stalled.factor",
    "events.sanctions.modifiers.stalled.factor.1",
    "events.sanctions.modifiers.stalled.when",
    "events.sanctions.modifiers",
    "outcomes.deal.p",
    "outcomes.deal.when",
    "outcomes.none.p",
    "outcomes.none.window",
    "scenario.horizon",
    "scenario.id",
    "scenario.step",
    "scenario.start",
    "scenario.paths",
    "scenario.samples",
    "scenario.seed",
    "scenario.sources",
    "horizon.default",
    "horizon.rules",
    "horizon",
    "events",
    "outcomes",
    "extends",
    "events.nope.p",
    "events.talks.modifiers.nope.factor",
    "x",
    "",
];

fn set() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        4 => (select(SET_KEYS), value()).prop_map(|(k, v)| format!("{k}={}", v.text(k))),
        2 => (select(SET_KEYS), any::<String>()).prop_map(|(k, v)| format!("{k}={v}")),
        1 => (select(SET_KEYS), condition()).prop_map(|(k, c)| format!("{k}={c}")),
    ]
}

#[test]
fn arbitrary_sets() {
    let workspace = Workspace::new();
    let counts = Counts::default();
    fuzz(
        "arbitrary_sets",
        prop::collection::vec(set(), 1..=3),
        |sets| {
            let result = workspace.load(BASE.as_bytes(), &sets);
            counts.count(result.is_ok());
            match result {
                Ok(loaded) => exercise(&loaded)?,
                Err(error) => workspace.check_error(&error)?,
            }
            Ok(())
        },
    );
    counts.print("arbitrary_sets");
}

// ---------------------------------------------------------------------------------------------
// (d) Arbitrary labels and titles.

/// Text that tries to reach a terminal or a spreadsheet: control characters, escape
/// sequences, bidirectional overrides, formulas, and long runs.
fn hostile_text() -> impl Strategy<Value = String> {
    let parts = select(vec![
        "\u{1b}[2J",
        "\u{1b}]0;t\u{7}",
        "\r",
        "\n",
        "\t",
        "\u{0}",
        "\u{7f}",
        "\u{9b}",
        "\u{202e}",
        "\u{2066}",
        "=",
        "+",
        "-",
        "@",
        "=HYPERLINK(\"x\")",
        "é",
        "x",
        " ",
    ]);
    prop_oneof![
        2 => any::<String>(),
        3 => prop::collection::vec(parts, 1..8).prop_map(|p| p.concat()),
        1 => (select(vec!["x", "é", "\u{1b}"]), 250..400usize).prop_map(|(c, n)| c.repeat(n)),
    ]
}

/// Whether printing `text` could do anything but show characters and end lines.
fn reaches_the_terminal(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

#[test]
fn arbitrary_labels() {
    let workspace = Workspace::new();
    let counts = Counts::default();
    let strategy = (hostile_text(), hostile_text(), hostile_text());
    fuzz("arbitrary_labels", strategy, |(title, talks, deal)| {
        let text = BASE
            .replace(
                "title = \"Small\"",
                &format!("title = {}", toml_string(&title)),
            )
            .replace(
                "label = \"Talks open\"",
                &format!("label = {}", toml_string(&talks)),
            )
            .replace(
                "label = \"Deal\"",
                &format!("label = {}", toml_string(&deal)),
            );
        let result = workspace.load(text.as_bytes(), &[]);
        counts.count(result.is_ok());
        let loaded = match result {
            Ok(loaded) => loaded,
            Err(error) => {
                workspace.check_error(&error)?;
                let printed = pathcast::text::message(&error.to_string());
                prop_assert!(!reaches_the_terminal(&printed), "{printed:?}");
                return Ok(());
            }
        };
        exercise(&loaded)?;
        let model = &loaded.model;
        let report = Report::from_tally(model, &tally_serial(model, 1, 0, 50), 1, 0);
        for printed in [
            describe::render(&loaded),
            summary::render(&loaded, &report),
            trace::render(model, 1, 3),
        ] {
            prop_assert!(!reaches_the_terminal(&printed), "{printed:?}");
        }
        for table in [csv::outcomes, csv::conditional] {
            let bytes = table(model, &report).unwrap();
            let mut reader = ::csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(&bytes[..]);
            for record in reader.records() {
                for cell in record.unwrap().iter() {
                    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
                    prop_assert!(!formula || cell.parse::<f64>().is_ok(), "{cell:?}");
                }
            }
        }
        Ok(())
    });
    counts.print("arbitrary_labels");
}

// ---------------------------------------------------------------------------------------------
// (e) Output folders holding anything.

/// One thing in the output folder before the run.
#[derive(Debug, Clone)]
enum Thing {
    /// A manifest of an earlier run of scenario `small` (or another) that lists `files`.
    Manifest {
        ours: bool,
        files: Vec<String>,
    },
    File(String),
    Folder(String),
    Fifo(String),
    Link(String, &'static str),
}

fn thing() -> impl Strategy<Value = Thing> {
    let name = prop_oneof![
        select(vec![
            "manifest.toml",
            "outcomes.csv",
            "notes.txt",
            "draft.tmp",
            ".out.pathcast-1-x",
            ".out.pathcast-1073741824-x",
            "scenario.toml",
        ])
        .prop_map(str::to_string),
        "[a-z.]{1,8}".prop_map(|n| n),
    ];
    let target = select(vec!["/dev/zero", "nowhere", ".", "/", "manifest.toml"]);
    prop_oneof![
        2 => (any::<bool>(), prop::collection::vec(name.clone(), 0..4))
            .prop_map(|(ours, files)| Thing::Manifest { ours, files }),
        2 => name.clone().prop_map(Thing::File),
        1 => name.clone().prop_map(Thing::Folder),
        1 => name.clone().prop_map(Thing::Fifo),
        1 => (name, target).prop_map(|(n, t)| Thing::Link(n, t)),
    ]
}

fn manifest(scenario: &str, files: Vec<String>) -> Manifest {
    Manifest {
        pathcast_version: "0.1.0".into(),
        method: "monte-carlo".into(),
        command: String::new(),
        scenario: scenario.into(),
        files,
        ..Manifest::default()
    }
}

/// Makes `thing` in `dir` unless its name is taken (writing to a FIFO made before would
/// block); says whether it made it.
fn make(dir: &Path, thing: &Thing) -> bool {
    let path = |name: &str| dir.join(name);
    let name = match thing {
        Thing::Manifest { .. } => "manifest.toml",
        Thing::File(n) | Thing::Folder(n) | Thing::Fifo(n) | Thing::Link(n, _) => n,
    };
    if fs::symlink_metadata(path(name)).is_ok() {
        return false;
    }
    let _ = match thing {
        Thing::Manifest { ours, files } => {
            let scenario = if *ours { "small" } else { "other" };
            fs::write(
                path("manifest.toml"),
                manifest(scenario, files.clone()).to_toml(),
            )
        }
        Thing::File(name) => fs::write(path(name), "the user's"),
        Thing::Folder(name) => fs::create_dir(path(name)),
        Thing::Fifo(name) => {
            let c = std::ffi::CString::new(path(name).to_str().unwrap()).unwrap();
            // SAFETY: a valid path.
            unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
            Ok(())
        }
        Thing::Link(name, target) => std::os::unix::fs::symlink(target, path(name)),
    };
    true
}

/// Every name in `dir` (not following links), sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn output_folders() {
    let cases = env_number("PATHCAST_FUZZ_CASES", DEFAULT_CASES) / 8;
    let counts = Counts::default();
    let strategy = (
        prop::collection::vec(thing(), 0..5),
        any::<bool>(),
        any::<bool>(),
    );
    let mut runner = runner("output_folders");
    let config = Config {
        cases: cases.max(16),
        ..runner.config().clone()
    };
    runner = TestRunner::new_with_rng(config, runner.new_rng());
    let result = runner.run(&strategy, |(things, force, linked)| {
        let root = TempDir::new().unwrap();
        let out = root.path().join("out");
        fs::create_dir(&out).unwrap();
        let made: Vec<&Thing> = things.iter().filter(|t| make(&out, t)).collect();
        // Sometimes --out is a link to the folder.
        let given = if linked {
            let link = root.path().join("link");
            std::os::unix::fs::symlink("out", &link).unwrap();
            link
        } else {
            out.clone()
        };
        let before = names(&out);
        let earlier = pathcast::export::manifest::FILE_NAME;
        let listed: Vec<String> = made
            .iter()
            .find_map(|t| match t {
                Thing::Manifest { files, .. } => Some(files.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let result =
            OutputSet::new(&given, "small", "monte-carlo", force, &[]).and_then(|mut set| {
                set.write("outcomes.csv", b"a,b\n")?;
                let mut files = set.names();
                files.push(earlier.to_string());
                set.commit(&manifest("small", files))
            });
        counts.count(result.is_ok());
        let after = names(&out);
        match result {
            Err(_) => prop_assert_eq!(&before, &after, "a refused run changed the folder"),
            Ok(committed) => {
                prop_assert!(after.contains(&"manifest.toml".to_string()));
                if committed.replaced_earlier && !force {
                    // Only a folder of pathcast's own files is replaced whole.
                    for name in &before {
                        prop_assert!(listed.contains(name) || name == earlier, "{name} lost");
                    }
                } else if force {
                    for name in before.iter().filter(|n| !listed.contains(n)) {
                        let ours = ["outcomes.csv", "manifest.toml"].contains(&name.as_str());
                        prop_assert!(ours || after.contains(name), "{name} lost");
                    }
                }
            }
        }
        let staging: Vec<String> = names(root.path())
            .into_iter()
            .filter(|n| n.contains(".pathcast-"))
            .collect();
        prop_assert!(staging.is_empty(), "staging left: {staging:?}");
        Ok(())
    });
    if let Err(failure) = result {
        panic!("fuzz output_folders failed: {failure}");
    }
    counts.print("output_folders");
}

// ---------------------------------------------------------------------------------------------
// (f) Arbitrary command-line arguments, through the binary.

fn argument() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => select(vec![
            "--paths", "--seed", "--first-path", "--threads", "--out", "--set", "--path",
            "--force", "--prism", "--max-states", "--paths-csv", "--check-exact", "10", "0",
            "-1", "9223372036854775808", "18446744073709551616", "1e3", "out", "s.toml",
            "events.talks.p=0.5", "scenario.title=x", "--", "-", "",
        ])
        .prop_map(|a| a.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..12)
            .prop_map(|b| b.into_iter().filter(|&b| b != 0).collect()),
        1 => any::<String>().prop_map(|s| s.replace('\0', "").into_bytes()),
    ]
}

#[test]
fn arbitrary_arguments() {
    use std::os::unix::ffi::OsStrExt;
    let cases = (env_number("PATHCAST_FUZZ_CASES", DEFAULT_CASES) / 32).max(8);
    let workspace = Workspace::new();
    fs::write(workspace.dir().join("s.toml"), BASE).unwrap();
    let mut runner = runner("arbitrary_arguments");
    let config = Config {
        cases,
        ..runner.config().clone()
    };
    runner = TestRunner::new_with_rng(config, runner.new_rng());
    let commands = select(vec!["check", "trace", "run", "exact", "export", "list"]);
    let strategy = (commands, prop::collection::vec(argument(), 0..6));
    let result = runner.run(&strategy, |(command, args)| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pathcast"));
        cmd.current_dir(workspace.dir()).arg(command).arg("s.toml");
        for arg in &args {
            cmd.arg(std::ffi::OsStr::from_bytes(arg));
        }
        if command == "run" {
            // Random arguments may not ask for hours of work.
            cmd.args(["--paths", "100"]);
        }
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        prop_assert!(
            matches!(output.status.code(), Some(0..=2)),
            "{command} {args:?}: {:?}\n{stderr}",
            output.status
        );
        prop_assert!(!stderr.contains("panicked"), "{stderr}");
        prop_assert!(!reaches_the_terminal(&stderr), "{stderr:?}");
        prop_assert_eq!(
            fs::read_to_string(workspace.dir().join("s.toml")).unwrap(),
            BASE
        );
        Ok(())
    });
    if let Err(failure) = result {
        panic!("fuzz arbitrary_arguments failed: {failure}");
    }
}
