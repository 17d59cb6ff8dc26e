//! Hostile scenario files and command-line values, run through the `pathcast` binary.
//!
//! Whatever the input, pathcast must refuse it with exit code 2 (bad input) and a message that
//! names the file (or the `--set` argument, or the flag), the line where there is one, and the
//! dotted key; never panic or hang, and write nothing: no `output/` folder, no `--out` folder,
//! no change to any file. Every test below is one hostile input; `Sandbox::refuse` checks the
//! common part (exit code, no panic, the folder unchanged) and `Refusal` the message.

use assert_cmd::Command;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

use crate::common;

/// The scenario file the tests break, one thing at a time.
const FILE: &str = "hostile.toml";

/// A small valid scenario (the line numbers of its keys are found with `line_of`).
const BASE: &str = common::SMALL_SCENARIO;

/// A hang is a failure, not a stalled test suite. Generous: this is no timing assertion.
const HANG: Duration = Duration::from_secs(120);

/// The longest stderr a refusal may print: a message is capped at 2,000 characters (some of
/// them up to 4 bytes), plus a note or two.
const MESSAGE_BYTES: usize = 10_000;

/// Files larger than this are not read back for the before/after comparison.
const SNAPSHOT_BYTES: u64 = 1 << 20;

/// `BASE` with the first occurrence of `from` replaced by `to`.
fn base_with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE has no {from:?}");
    BASE.replacen(from, to, 1)
}

/// `BASE` without the line `line`.
fn base_without(line: &str) -> String {
    base_with(&format!("{line}\n"), "")
}

/// The 1-based number of the first line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line holds {needle:?}"))
        + 1
}

#[derive(Debug, PartialEq, Eq)]
enum Entry {
    Folder,
    File(Vec<u8>),
    LargeFile(u64),
    Link(PathBuf),
    /// A FIFO, socket or device: never read (it could block or never end).
    Special,
}

/// Every path below `dir` with what it holds.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut entries = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let relative = path.strip_prefix(dir).unwrap().to_path_buf();
            let value = if meta.is_dir() {
                pending.push(path.clone());
                Entry::Folder
            } else if meta.is_symlink() {
                Entry::Link(fs::read_link(&path).unwrap())
            } else if !meta.is_file() {
                Entry::Special
            } else if meta.len() > SNAPSHOT_BYTES {
                Entry::LargeFile(meta.len())
            } else {
                Entry::File(fs::read(&path).unwrap())
            };
            entries.insert(relative, value);
        }
    }
    entries
}

/// A temporary folder that pathcast runs in.
struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            dir: TempDir::new().unwrap(),
        }
    }

    /// A sandbox holding `hostile.toml` with `text`.
    fn with_file(text: impl AsRef<[u8]>) -> Sandbox {
        let sandbox = Sandbox::new();
        sandbox.write(FILE, text);
        sandbox
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&path, text).unwrap();
        path
    }

    /// Runs pathcast with `args` and checks that it refused as bad input: exit code 2, an
    /// error message and no panic on stderr, and the folder exactly as it was.
    fn refuse(&self, args: &[&str]) -> Refusal {
        let before = snapshot(self.path());
        let output = Command::cargo_bin("pathcast")
            .unwrap()
            .current_dir(self.path())
            .args(args)
            .timeout(HANG)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let context = format!(
            "pathcast {}\n--- exit: {:?}\n--- stderr:\n{stderr}\n--- stdout:\n{stdout}",
            args.join(" "),
            output.status
        );
        assert_eq!(
            output.status.code(),
            Some(2),
            "expected exit code 2 (bad input)\n{context}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "panic\n{context}"
        );
        assert!(stderr.starts_with("error: "), "no error message\n{context}");
        // What reaches the terminal is escaped and of a sane length, whatever the input.
        assert!(
            !stderr.chars().any(|c| c.is_control() && c != '\n'),
            "a raw control character reached the terminal\n{}",
            context.escape_debug()
        );
        assert!(
            stderr.len() <= MESSAGE_BYTES,
            "a message of {} bytes\n{}",
            stderr.len(),
            context.chars().take(4000).collect::<String>()
        );
        assert!(
            !self.path().join("output").exists(),
            "an output folder was written\n{context}"
        );
        assert!(
            before == snapshot(self.path()),
            "the folder changed: something was written\n{context}"
        );
        Refusal {
            stderr,
            context,
            file: fs::read(self.path().join(FILE))
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default(),
        }
    }

    /// `pathcast run hostile.toml --paths 100` and `pathcast check hostile.toml` both refuse,
    /// with the same message.
    fn refuse_file(&self) -> Refusal {
        let run = self.refuse(&["run", FILE, "--paths", "100"]);
        let check = self.refuse(&["check", FILE]);
        assert_eq!(
            run.stderr, check.stderr,
            "run and check disagree\n{}\n{}",
            run.context, check.context
        );
        run
    }
}

/// A hostile scenario file, refused by `run` and `check`.
fn refuse_file(text: impl AsRef<[u8]>) -> Refusal {
    Sandbox::with_file(text).refuse_file()
}

/// The valid scenario run with the hostile command-line `args` (after `run hostile.toml`).
fn refuse_run_args(args: &[&str]) -> Refusal {
    let sandbox = Sandbox::with_file(BASE);
    let mut all = vec!["run", FILE];
    all.extend_from_slice(args);
    sandbox.refuse(&all)
}

/// What pathcast said when it refused an input.
struct Refusal {
    stderr: String,
    context: String,
    /// The text of `hostile.toml`, to find line numbers in.
    file: String,
}

impl Refusal {
    fn says(&self, part: &str) -> &Self {
        assert!(
            self.stderr.contains(part),
            "the message does not say {part:?}\n{}",
            self.context
        );
        self
    }

    /// The message names `file` (with no line: the problem has none, e.g. a missing key).
    fn names(&self, file: &str) -> &Self {
        self.says(&format!("{file}:"))
    }

    /// The message places the problem at `file:line`.
    fn at(&self, file: &str, line: usize) -> &Self {
        self.says(&format!("{file}:{line}:"))
    }

    /// The message places the problem in `hostile.toml` at the first line holding `needle`.
    fn at_line_of(&self, needle: &str) -> &Self {
        let line = line_of(&self.file, needle);
        self.at(FILE, line)
    }

    /// The message names the dotted key.
    fn key(&self, key: &str) -> &Self {
        self.says(key)
    }
}

// ---------------------------------------------------------------------------------------------
// Wrong types, for every kind of key.

#[test]
fn string_for_an_integer() {
    refuse_file(base_with("horizon = 10", "horizon = \"10\""))
        .at_line_of("horizon = \"10\"")
        .key("scenario.horizon")
        .says("invalid type: string");
}

#[test]
fn number_for_a_string() {
    refuse_file(base_with("title = \"Small\"", "title = 5"))
        .at_line_of("title = 5")
        .key("scenario.title")
        .says("invalid type: integer");
}

#[test]
fn table_for_a_list() {
    let text = format!("{BASE}[scenario.sources]\nfirst = \"a\"\n");
    refuse_file(&text)
        .at_line_of("[scenario.sources]")
        .key("scenario.sources")
        .says("expected a sequence");
}

#[test]
fn inline_table_for_a_list() {
    refuse_file(base_with("seed = 3", "seed = 3\nsources = { a = 1 }"))
        .at_line_of("sources = ")
        .key("scenario.sources")
        .says("expected a sequence");
}

#[test]
fn strings_for_a_window() {
    refuse_file(base_with("window = [2, 8]", "window = [\"2\", \"8\"]"))
        .at_line_of("window = ")
        .key("events.sanctions.window")
        .says("invalid type: string");
}

#[test]
fn floats_for_a_window() {
    refuse_file(base_with("window = [2, 8]", "window = [2.0, 8.0]"))
        .at_line_of("window = ")
        .key("events.sanctions.window")
        .says("invalid type: floating point");
}

#[test]
fn date_as_a_string() {
    refuse_file(base_with("start = 2025-01-06", "start = \"2025-01-06\""))
        .at_line_of("start = ")
        .key("scenario.start")
        .says("expected a TOML datetime");
}

#[test]
fn bool_for_a_probability() {
    refuse_file(base_with("p = 0.3", "p = true"))
        .at_line_of("p = true")
        .key("events.talks.p")
        .says("invalid type: boolean");
}

#[test]
fn string_for_a_factor() {
    refuse_file(base_with("factor = 2.0", "factor = \"2\""))
        .at_line_of("factor = ")
        .key("events.sanctions.modifiers.stalled.factor")
        .says("invalid type: string");
}

#[test]
fn number_for_a_condition() {
    refuse_file(base_with("when = \"talks\"", "when = 1"))
        .at_line_of("when = 1")
        .key("outcomes.deal.when")
        .says("invalid type: integer");
}

#[test]
fn list_for_a_label() {
    refuse_file(base_with("label = \"Talks open\"", "label = [\"x\"]"))
        .at_line_of("label = [")
        .key("events.talks.label")
        .says("invalid type: sequence");
}

#[test]
fn number_for_the_step() {
    refuse_file(base_with("seed = 3", "seed = 3\nstep = 7"))
        .at_line_of("step = 7")
        .key("scenario.step")
        .says("invalid type: integer");
}

#[test]
fn float_for_paths() {
    refuse_file(base_with("seed = 3", "seed = 3\npaths = 1.5"))
        .at_line_of("paths = 1.5")
        .key("scenario.paths")
        .says("invalid type: floating point");
}

#[test]
fn string_for_the_seed() {
    refuse_file(base_with("seed = 3", "seed = \"3\""))
        .at_line_of("seed = ")
        .key("scenario.seed")
        .says("invalid type: string");
}

#[test]
fn number_for_the_horizon_default() {
    refuse_file(base_with("default = \"none\"", "default = 1"))
        .at_line_of("default = 1")
        .key("horizon.default")
        .says("invalid type: integer");
}

#[test]
fn table_for_the_horizon_rules() {
    let text = base_with(
        "default = \"none\"",
        "default = \"none\"\nrules = { when = \"talks\", outcome = \"deal\" }",
    );
    refuse_file(text)
        .at_line_of("rules = ")
        .key("horizon.rules")
        .says("expected a sequence");
}

#[test]
fn strings_for_the_horizon_rules() {
    refuse_file(base_with(
        "default = \"none\"",
        "default = \"none\"\nrules = [\"talks\"]",
    ))
    .at_line_of("rules = ")
    .key("horizon.rules")
    .says("invalid type: string");
}

#[test]
fn list_for_the_modifiers() {
    refuse_file(base_with(
        "[events.talks]\n",
        "[events.talks]\nmodifiers = [1]\n",
    ))
    .at_line_of("modifiers = [1]")
    .key("events.talks.modifiers")
    .says("invalid type: sequence");
}

#[test]
fn string_for_an_event() {
    refuse_file(format!("[events]\nx = \"a\"\n{BASE}"))
        .at(FILE, 2)
        .key("events.x")
        .says("invalid type: string");
}

#[test]
fn number_for_extends() {
    refuse_file(format!("extends = 5\n{BASE}"))
        .at(FILE, 1)
        .key("extends")
        .says("invalid type: integer");
}

#[test]
fn list_for_extends() {
    refuse_file(format!("extends = [\"other.toml\"]\n{BASE}"))
        .at(FILE, 1)
        .key("extends")
        .says("invalid type: sequence");
}

// ---------------------------------------------------------------------------------------------
// Missing required keys: there is no line to cite, but the file and the key are named.

#[test]
fn missing_scenario_id() {
    refuse_file(base_without("id = \"small\""))
        .names(FILE)
        .key("scenario.id")
        .says("missing");
}

#[test]
fn missing_scenario_horizon() {
    refuse_file(base_without("horizon = 10"))
        .names(FILE)
        .key("scenario.horizon")
        .says("missing");
}

#[test]
fn missing_event_label() {
    refuse_file(base_without("label = \"Talks open\""))
        .names(FILE)
        .key("events.talks.label")
        .says("missing");
}

#[test]
fn missing_event_p() {
    refuse_file(base_without("p = 0.3"))
        .names(FILE)
        .key("events.talks.p")
        .says("missing");
}

#[test]
fn missing_modifier_when() {
    refuse_file(base_without("when = \"not talks\""))
        .names(FILE)
        .key("events.sanctions.modifiers.stalled.when")
        .says("missing");
}

#[test]
fn missing_modifier_factor() {
    refuse_file(base_without("factor = 2.0"))
        .names(FILE)
        .key("events.sanctions.modifiers.stalled.factor")
        .says("missing");
}

#[test]
fn missing_horizon_default() {
    refuse_file(base_without("default = \"none\""))
        .names(FILE)
        .key("horizon.default")
        .says("missing");
}

#[test]
fn no_outcomes_at_all() {
    let events = BASE.split("[outcomes.deal]").next().unwrap();
    refuse_file(format!("{events}[horizon]\ndefault = \"none\"\n"))
        .names(FILE)
        .key("outcomes")
        .says("at least one outcome");
}

#[test]
fn horizon_rule_without_outcome() {
    refuse_file(base_with(
        "default = \"none\"",
        "default = \"none\"\nrules = [{ when = \"talks\" }]",
    ))
    .at_line_of("rules = ")
    .key("horizon.rules")
    .says("missing field `outcome`");
}

// ---------------------------------------------------------------------------------------------
// Unknown keys at every level.

#[test]
fn unknown_top_level_key() {
    refuse_file(format!("colour = \"red\"\n{BASE}"))
        .at(FILE, 1)
        .key("colour")
        .says("unknown field `colour`");
}

#[test]
fn unknown_scenario_key() {
    refuse_file(base_with("seed = 3", "seed = 3\ncolour = \"red\""))
        .at_line_of("colour")
        .key("scenario.colour")
        .says("unknown field `colour`");
}

#[test]
fn unknown_event_key() {
    refuse_file(base_with("p = 0.3", "p = 0.3\nprobability = 0.3"))
        .at_line_of("probability = ")
        .key("events.talks.probability")
        .says("unknown field `probability`");
}

#[test]
fn unknown_outcome_key() {
    refuse_file(base_with(
        "label = \"Deal\"",
        "label = \"Deal\"\nending = true",
    ))
    .at_line_of("ending = ")
    .key("outcomes.deal.ending")
    .says("unknown field `ending`");
}

#[test]
fn unknown_modifier_key() {
    refuse_file(base_with("factor = 2.0", "factor = 2.0\nweight = 1"))
        .at_line_of("weight = ")
        .key("events.sanctions.modifiers.stalled.weight")
        .says("unknown field `weight`");
}

#[test]
fn unknown_horizon_key() {
    refuse_file(base_with(
        "default = \"none\"",
        "default = \"none\"\nlast = \"deal\"",
    ))
    .at_line_of("last = ")
    .key("horizon.last")
    .says("unknown field `last`");
}

#[test]
fn unknown_horizon_rule_key() {
    refuse_file(base_with(
        "default = \"none\"",
        "default = \"none\"\nrules = [{ when = \"talks\", outcome = \"deal\", note = \"x\" }]",
    ))
    .at_line_of("rules = ")
    .key("horizon.rules")
    .says("unknown field `note`");
}

// ---------------------------------------------------------------------------------------------
// Huge, tiny and non-finite numbers.

#[test]
fn horizon_of_ten_to_the_eighteen() {
    refuse_file(base_with("horizon = 10", "horizon = 1000000000000000000"))
        .at_line_of("horizon = ")
        .key("scenario.horizon")
        .says("must be between 1 and 10000 steps");
}

#[test]
fn horizon_zero() {
    refuse_file(base_with("horizon = 10", "horizon = 0"))
        .at_line_of("horizon = ")
        .key("scenario.horizon")
        .says("horizon 0 must be between 1 and 10000 steps");
}

#[test]
fn horizon_negative() {
    refuse_file(base_with("horizon = 10", "horizon = -5"))
        .at_line_of("horizon = ")
        .key("scenario.horizon")
        .says("must be between 1 and 10000 steps");
}

#[test]
fn horizon_beyond_i64() {
    refuse_file(base_with("horizon = 10", "horizon = 99999999999999999999"))
        .at_line_of("horizon = ")
        .key("scenario.horizon")
        .says("99999999999999999999");
}

#[test]
fn probability_of_ten_to_the_308() {
    refuse_file(base_with("p = 0.3", "p = 1e308"))
        .at_line_of("p = 1e308")
        .key("events.talks.p")
        .says("outside [0, 1]");
}

#[test]
fn negative_probability() {
    refuse_file(base_with("p = 0.3", "p = -0.1"))
        .at_line_of("p = -0.1")
        .key("events.talks.p")
        .says("probability -0.1 is outside [0, 1]");
}

#[test]
fn factor_of_ten_to_the_400_reads_as_infinity() {
    refuse_file(base_with("factor = 2.0", "factor = 1e400"))
        .at_line_of("factor = ")
        .key("events.sanctions.modifiers.stalled.factor")
        .says("overflow");
}

#[test]
fn paths_zero_in_the_file() {
    refuse_file(base_with("seed = 3", "seed = 3\npaths = 0"))
        .at_line_of("paths = 0")
        .key("scenario.paths")
        .says("at least 1");
}

#[test]
fn one_draw_in_the_file() {
    refuse_file(base_with("seed = 3", "seed = 3\nsamples = 1"))
        .at_line_of("samples = 1")
        .key("scenario.samples")
        .says("2 to 100000000");
}

#[test]
fn paths_negative_in_the_file() {
    refuse_file(base_with("seed = 3", "seed = 3\npaths = -5"))
        .at_line_of("paths = -5")
        .key("scenario.paths")
        .says("at least 1");
}

#[test]
fn seed_negative_in_the_file() {
    refuse_file(base_with("seed = 3", "seed = -1"))
        .at_line_of("seed = -1")
        .key("scenario.seed")
        .says(">= 0");
}

#[test]
fn probability_nan() {
    refuse_file(base_with("p = 0.3", "p = nan"))
        .at_line_of("p = nan")
        .key("events.talks.p")
        .says("probability NaN is outside [0, 1]");
}

#[test]
fn probability_negative_nan() {
    refuse_file(base_with("p = 0.2", "p = -nan"))
        .at_line_of("p = -nan")
        .key("outcomes.deal.p")
        .says("NaN is outside [0, 1]");
}

#[test]
fn probability_infinite() {
    refuse_file(base_with("p = 0.3", "p = inf"))
        .at_line_of("p = inf")
        .key("events.talks.p")
        .says("probability inf is outside [0, 1]");
}

#[test]
fn probability_minus_infinity() {
    refuse_file(base_with("p = 0.1", "p = -inf"))
        .at_line_of("p = -inf")
        .key("events.sanctions.p")
        .says("-inf is outside [0, 1]");
}

#[test]
fn factor_nan() {
    refuse_file(base_with("factor = 2.0", "factor = nan"))
        .at_line_of("factor = ")
        .key("events.sanctions.modifiers.stalled.factor")
        .says("factor NaN must be a finite number > 0");
}

#[test]
fn factor_infinite() {
    refuse_file(base_with("factor = 2.0", "factor = inf"))
        .at_line_of("factor = ")
        .key("events.sanctions.modifiers.stalled.factor")
        .says("factor inf must be a finite number > 0");
}

#[test]
fn factor_zero() {
    refuse_file(base_with("factor = 2.0", "factor = 0.0"))
        .at_line_of("factor = ")
        .key("events.sanctions.modifiers.stalled.factor")
        .says("must be a finite number > 0");
}

#[test]
fn factor_negative() {
    refuse_file(base_with("factor = 2.0", "factor = -1e-300"))
        .at_line_of("factor = ")
        .key("events.sanctions.modifiers.stalled.factor")
        .says("must be a finite number > 0");
}

// ---------------------------------------------------------------------------------------------
// Empty names.

#[test]
fn empty_scenario_id() {
    refuse_file(base_with("id = \"small\"", "id = \"\""))
        .at_line_of("id = ")
        .key("scenario.id")
        .says("letters, digits");
}

#[test]
fn scenario_id_that_climbs_out_of_the_output_folder() {
    refuse_file(base_with("id = \"small\"", "id = \"../escape\""))
        .at_line_of("id = ")
        .key("scenario.id")
        .says("letters, digits");
}

#[test]
fn empty_label() {
    refuse_file(base_with("label = \"Talks open\"", "label = \"\""))
        .at_line_of("label = \"\"")
        .key("events.talks.label")
        .says("must not be empty");
}

#[test]
fn whitespace_label() {
    refuse_file(base_with("label = \"Deal\"", "label = \" \\t \""))
        .at_line_of("label = \" ")
        .key("outcomes.deal.label")
        .says("must not be empty");
}

#[test]
fn empty_title() {
    refuse_file(base_with("title = \"Small\"", "title = \"\""))
        .at_line_of("title = ")
        .key("scenario.title")
        .says("must not be empty");
}

#[test]
fn empty_event_key() {
    refuse_file(format!("{BASE}[events.\"\"]\nlabel = \"x\"\np = 0.1\n"))
        .at_line_of("[events.\"\"]")
        .key("events.\"\"")
        .says("cannot be an id");
}

#[test]
fn empty_outcome_key() {
    refuse_file(format!("{BASE}[outcomes.\"\"]\nlabel = \"x\"\n"))
        .at_line_of("[outcomes.\"\"]")
        .key("outcomes.\"\"")
        .says("cannot be an id");
}

// ---------------------------------------------------------------------------------------------
// Files that are not scenario text.

#[test]
fn bytes_that_are_not_utf8() {
    let mut bytes = BASE.as_bytes().to_vec();
    let at = BASE.find("Talks open").unwrap();
    bytes.splice(at..at, [0xff, 0xfe, 0x80]);
    let line = line_of(BASE, "Talks open");
    refuse_file(bytes).at(FILE, line).says("not UTF-8");
}

#[test]
fn utf16_file() {
    let mut bytes = vec![0xff, 0xfe];
    for unit in BASE.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    refuse_file(bytes).at(FILE, 1).says("not UTF-8");
}

#[test]
fn file_of_100_mb_is_refused_as_too_large() {
    let sandbox = Sandbox::new();
    let path = sandbox.path().join(FILE);
    let mut file = std::io::BufWriter::new(fs::File::create(&path).unwrap());
    file.write_all(BASE.as_bytes()).unwrap();
    let comments = "# a comment line that pads the file to a hundred megabytes\n".repeat(16_384);
    while file.get_ref().metadata().unwrap().len() < 100 << 20 {
        file.write_all(comments.as_bytes()).unwrap();
    }
    file.flush().unwrap();
    drop(file);
    sandbox
        .refuse_file()
        .names(FILE)
        .says("larger than 1024 KiB");
}

#[test]
fn file_just_over_the_size_limit() {
    let mut text = BASE.to_string();
    text.push_str(&"#".repeat((1 << 20) - BASE.len()));
    text.push('\n');
    refuse_file(text).names(FILE).says("larger than 1024 KiB");
}

#[test]
fn empty_file() {
    refuse_file("")
        .names(FILE)
        .key("scenario.id")
        .says("missing");
}

#[test]
fn binary_file() {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    refuse_file(bytes).names(FILE).says("not UTF-8");
}

#[test]
fn file_of_nul_bytes() {
    refuse_file(vec![0u8; 1000]).at(FILE, 1);
}

#[test]
fn toml_syntax_error() {
    refuse_file(base_with("p = 0.3", "p = = 0.3"))
        .at_line_of("p = = 0.3")
        .key("events.talks.p")
        .says("expected");
}

#[test]
fn scenario_that_is_a_folder() {
    let sandbox = Sandbox::new();
    fs::create_dir(sandbox.path().join(FILE)).unwrap();
    sandbox
        .refuse(&["run", FILE, "--paths", "100"])
        .names(FILE)
        .says("no such scenario file");
}

#[test]
fn scenario_that_does_not_exist() {
    Sandbox::new()
        .refuse(&["run", "missing.toml", "--paths", "100"])
        .names("missing.toml")
        .says("no such scenario file");
}

// ---------------------------------------------------------------------------------------------
// extends.

#[test]
fn chain_of_40_extends() {
    let sandbox = Sandbox::new();
    sandbox.write(FILE, "extends = \"f1.toml\"\n[scenario]\nid = \"top\"\n");
    for i in 1..40 {
        sandbox.write(
            &format!("f{i}.toml"),
            format!("extends = \"f{}.toml\"\n", i + 1),
        );
    }
    sandbox.write("f40.toml", BASE);
    sandbox
        .refuse_file()
        .says(".toml:1: extends: ")
        .says("deeper than 16");
}

#[test]
fn extends_itself() {
    refuse_file(format!("extends = \"{FILE}\"\n{BASE}"))
        .at(FILE, 1)
        .key("extends")
        .says("extends cycle");
}

#[test]
fn extends_itself_by_another_spelling() {
    refuse_file(format!("extends = \"./{FILE}\"\n{BASE}"))
        .at(FILE, 1)
        .key("extends")
        .says("extends cycle");
}

#[test]
fn two_files_that_extend_each_other() {
    let sandbox = Sandbox::with_file(format!("extends = \"other.toml\"\n{BASE}"));
    sandbox.write("other.toml", format!("extends = \"{FILE}\"\n"));
    sandbox
        .refuse_file()
        .at("other.toml", 1)
        .key("extends")
        .says("extends cycle");
}

#[test]
fn extends_a_missing_file() {
    refuse_file(format!("extends = \"missing.toml\"\n{BASE}"))
        .at(FILE, 1)
        .key("extends")
        .says("cannot find 'missing.toml'");
}

#[test]
fn extends_an_empty_name() {
    refuse_file(format!("extends = \"\"\n{BASE}"))
        .at(FILE, 1)
        .key("extends")
        .says("cannot find");
}

#[test]
fn extends_a_folder() {
    let sandbox = Sandbox::with_file(format!("extends = \"sub\"\n{BASE}"));
    fs::create_dir(sandbox.path().join("sub")).unwrap();
    sandbox
        .refuse_file()
        .at(FILE, 1)
        .key("extends")
        .says("cannot find 'sub'");
}

#[test]
fn extends_a_parent_with_an_error() {
    let sandbox = Sandbox::with_file("extends = \"parent.toml\"\n[scenario]\nid = \"child\"\n");
    let parent = base_with("p = 0.3", "p = 7");
    sandbox.write("parent.toml", &parent);
    sandbox
        .refuse_file()
        .at("parent.toml", line_of(&parent, "p = 7"))
        .key("events.talks.p")
        .says("outside [0, 1]");
}

#[test]
fn extends_a_parent_that_is_not_utf8() {
    let sandbox = Sandbox::with_file("extends = \"parent.toml\"\n[scenario]\nid = \"child\"\n");
    sandbox.write("parent.toml", b"[scenario]\nid = \"\xff\"\n");
    sandbox
        .refuse_file()
        .at(FILE, 1)
        .key("extends")
        .says("parent.toml:2")
        .says("not UTF-8");
}

// ---------------------------------------------------------------------------------------------
// Conditions.

/// `BASE` with the condition of `outcomes.deal` replaced by the TOML value `value`.
fn deal_when(value: &str) -> String {
    base_with("when = \"talks\"", &format!("when = {value}"))
}

fn refuse_deal_when(condition: &str) -> Refusal {
    refuse_file(deal_when(&format!("\"{condition}\"")))
}

#[test]
fn unbalanced_open_parenthesis() {
    refuse_deal_when("(talks or sanctions")
        .at_line_of("when = \"(")
        .key("outcomes.deal.when")
        .says("expected ')'");
}

#[test]
fn unbalanced_close_parenthesis() {
    refuse_deal_when("talks or sanctions)")
        .at_line_of("sanctions)")
        .key("outcomes.deal.when")
        .says("found ')'");
}

#[test]
fn condition_of_10000_terms() {
    let condition = vec!["talks"; 10_000].join(" and ");
    refuse_deal_when(&condition)
        .at_line_of("when = \"talks and")
        .key("outcomes.deal.when")
        .says("longer than 1000 terms");
}

#[test]
fn condition_of_10000_nested_parentheses() {
    let condition = format!("{}talks{}", "(".repeat(10_000), ")".repeat(10_000));
    refuse_deal_when(&condition)
        .at_line_of("when = \"((")
        .key("outcomes.deal.when")
        .says("longer than 1000 terms");
}

#[test]
fn condition_nested_100_deep() {
    let condition = format!("{}talks{}", "(".repeat(100), ")".repeat(100));
    refuse_deal_when(&condition)
        .at_line_of("when = \"((")
        .key("outcomes.deal.when")
        .says("nested deeper than 64");
}

#[test]
fn condition_of_10000_nots() {
    let condition = format!("{}talks", "not ".repeat(10_000));
    refuse_deal_when(&condition)
        .at_line_of("when = \"not not")
        .key("outcomes.deal.when")
        .says("longer than 1000 terms");
}

#[test]
fn condition_of_100_nots() {
    let condition = format!("{}talks", "not ".repeat(100));
    refuse_deal_when(&condition)
        .at_line_of("when = \"not not")
        .key("outcomes.deal.when")
        .says("nested deeper than 64");
}

#[test]
fn empty_condition() {
    refuse_deal_when("")
        .at_line_of("when = \"\"")
        .key("outcomes.deal.when")
        .says("empty condition");
}

#[test]
fn whitespace_condition() {
    refuse_deal_when("  \\t  ")
        .at_line_of("when = \"  ")
        .key("outcomes.deal.when")
        .says("empty condition");
}

#[test]
fn condition_of_an_operator_alone() {
    refuse_deal_when("and")
        .at_line_of("when = \"and\"")
        .key("outcomes.deal.when")
        .says("found 'and'");
}

#[test]
fn condition_with_a_stray_character() {
    refuse_deal_when("talks & sanctions")
        .at_line_of("when = \"talks &")
        .key("outcomes.deal.when")
        .says("unexpected character '&'");
}

#[test]
fn condition_with_a_trailing_operator() {
    refuse_deal_when("talks and")
        .at_line_of("when = \"talks and\"")
        .key("outcomes.deal.when")
        .says("found the end");
}

#[test]
fn bad_modifier_condition() {
    refuse_file(base_with("when = \"not talks\"", "when = \"not\""))
        .at_line_of("when = \"not\"")
        .key("events.sanctions.modifiers.stalled.when")
        .says("found the end");
}

#[test]
fn outcome_id_in_a_condition() {
    refuse_deal_when("talks and none")
        .at_line_of("when = \"talks and none\"")
        .key("outcomes.deal.when")
        .says("'none' is an outcome");
}

#[test]
fn unknown_event_in_a_condition() {
    refuse_deal_when("talk")
        .at_line_of("when = \"talk\"")
        .key("outcomes.deal.when")
        .says("unknown event id 'talk'");
}

/// An event whose id is reserved or malformed: the id is written on a line, so the message
/// names that line.
fn refuse_event_id(header_id: &str, key: &str, gist: &str) {
    let text = format!("{BASE}[events.{header_id}]\nlabel = \"x\"\np = 0.1\n");
    refuse_file(&text)
        .at_line_of(&format!("[events.{header_id}]"))
        .key(key)
        .says(gist);
}

#[test]
fn event_named_and() {
    refuse_event_id("and", "events.and", "belongs to the condition language");
}

#[test]
fn event_named_not() {
    refuse_event_id("not", "events.not", "belongs to the condition language");
}

#[test]
fn event_named_true() {
    refuse_event_id("true", "events.true", "belongs to the condition language");
}

#[test]
fn event_id_with_a_dash() {
    refuse_event_id("\"a-b\"", "events.a-b", "cannot be an id");
}

#[test]
fn event_id_starting_with_a_digit() {
    refuse_event_id("\"1st\"", "events.1st", "cannot be an id");
}

#[test]
fn outcome_named_or() {
    let text = format!("{BASE}[outcomes.or]\nlabel = \"x\"\n");
    refuse_file(&text)
        .at_line_of("[outcomes.or]")
        .key("outcomes.or")
        .says("belongs to the condition language");
}

#[test]
fn horizon_rule_with_an_unknown_event() {
    refuse_file(base_with(
        "default = \"none\"",
        "default = \"none\"\nrules = [{ when = \"nope\", outcome = \"deal\" }]",
    ))
    .at_line_of("rules = ")
    .key("horizon.rules[0].when")
    .says("unknown event id 'nope'");
}

#[test]
fn horizon_rule_with_an_unknown_outcome() {
    refuse_file(base_with(
        "default = \"none\"",
        "default = \"none\"\nrules = [{ when = \"talks\", outcome = \"nope\" }]",
    ))
    .at_line_of("rules = ")
    .key("horizon.rules[0].outcome")
    .says("unknown outcome 'nope'");
}

#[test]
fn second_horizon_rule_on_its_own_line() {
    refuse_file(base_with(
        "default = \"none\"",
        "default = \"none\"\nrules = [\n  { when = \"talks\", outcome = \"deal\" },\n  { when = \"(\", outcome = \"deal\" },\n]",
    ))
    .at_line_of("{ when = \"(\"")
    .key("horizon.rules[1].when")
    .says("found the end");
}

#[test]
fn horizon_default_unknown_outcome() {
    refuse_file(base_with("default = \"none\"", "default = \"nope\""))
        .at_line_of("default = ")
        .key("horizon.default")
        .says("unknown outcome 'nope'");
}

#[test]
fn horizon_default_names_an_event() {
    refuse_file(base_with("default = \"none\"", "default = \"talks\""))
        .at_line_of("default = ")
        .key("horizon.default")
        .says("unknown outcome 'talks'");
}

// ---------------------------------------------------------------------------------------------
// Windows.

fn refuse_window(window: &str) -> Refusal {
    refuse_file(base_with("window = [2, 8]", &format!("window = {window}")))
}

#[test]
fn window_starting_at_zero() {
    refuse_window("[0, 8]")
        .at_line_of("window = ")
        .key("events.sanctions.window")
        .says("1 <= first <= last <= horizon (10)");
}

#[test]
fn window_beyond_the_horizon() {
    refuse_window("[2, 11]")
        .at_line_of("window = ")
        .key("events.sanctions.window")
        .says("1 <= first <= last <= horizon (10)");
}

#[test]
fn window_beyond_i32() {
    refuse_window("[2, 99999999999999]")
        .at_line_of("window = ")
        .key("events.sanctions.window")
        .says("1 <= first <= last <= horizon (10)");
}

#[test]
fn window_reversed() {
    refuse_window("[8, 2]")
        .at_line_of("window = ")
        .key("events.sanctions.window")
        .says("window [8, 2] must satisfy");
}

#[test]
fn window_of_three_numbers() {
    refuse_window("[2, 5, 8]")
        .at_line_of("window = ")
        .key("events.sanctions.window")
        .says("expected [first step, last step]");
}

#[test]
fn window_of_one_number() {
    refuse_window("[2]")
        .at_line_of("window = ")
        .key("events.sanctions.window")
        .says("expected [first step, last step]");
}

#[test]
fn empty_window() {
    refuse_window("[]")
        .at_line_of("window = ")
        .key("events.sanctions.window")
        .says("expected [first step, last step]");
}

// ---------------------------------------------------------------------------------------------
// Ids, duplicates and limits.

#[test]
fn id_used_for_an_event_and_an_outcome() {
    let text = format!("{BASE}[outcomes.talks]\nlabel = \"x\"\n");
    refuse_file(&text)
        .at_line_of("[outcomes.talks]")
        .key("talks")
        .says("both an event and an outcome");
}

#[test]
fn duplicate_table() {
    refuse_file(format!("{BASE}[events.talks]\nlabel = \"again\"\n"))
        .at(FILE, line_of(BASE, "default = ") + 1)
        .key("events.talks")
        .says("duplicate key");
}

#[test]
fn duplicate_key() {
    refuse_file(base_with("p = 0.3", "p = 0.3\np = 0.4"))
        .at_line_of("p = 0.4")
        .key("events.talks.p")
        .says("duplicate key");
}

#[test]
fn sixty_five_events() {
    let mut text = BASE.to_string();
    for i in 0..63 {
        text.push_str(&format!("[events.e{i}]\nlabel = \"Event {i}\"\np = 0.1\n"));
    }
    // The 65th event is the one too many.
    refuse_file(&text)
        .at_line_of("[events.e62]")
        .key("events")
        .says("at most 64");
}

#[test]
fn sixty_five_outcomes() {
    let mut text = BASE.to_string();
    for i in 0..63 {
        text.push_str(&format!("[outcomes.o{i}]\nlabel = \"Outcome {i}\"\n"));
    }
    refuse_file(&text)
        .at_line_of("[outcomes.o62]")
        .key("outcomes")
        .says("at most 64");
}

// ---------------------------------------------------------------------------------------------
// Time.

#[test]
fn step_of_a_year() {
    refuse_file(base_with("seed = 3", "seed = 3\nstep = \"year\""))
        .at_line_of("step = ")
        .key("scenario.step")
        .says("'year' is not day, week or month");
}

#[test]
fn start_date_with_a_time() {
    refuse_file(base_with(
        "start = 2025-01-06",
        "start = 2025-08-26T10:00:00",
    ))
    .at_line_of("start = ")
    .key("scenario.start")
    .says("not a plain date");
}

#[test]
fn start_time_without_a_date() {
    refuse_file(base_with("start = 2025-01-06", "start = 10:00:00"))
        .at_line_of("start = ")
        .key("scenario.start")
        .says("not a plain date");
}

#[test]
fn start_date_that_does_not_exist() {
    refuse_file(base_with("start = 2025-01-06", "start = 2025-02-30"))
        .at_line_of("start = ")
        .key("scenario.start")
        .says("invalid date");
}

// ---------------------------------------------------------------------------------------------
// Outcomes without p.

#[test]
fn outcome_without_p_with_a_window() {
    refuse_file(base_with(
        "label = \"No deal\"",
        "label = \"No deal\"\nwindow = [1, 2]",
    ))
    .at_line_of("window = [1, 2]")
    .key("outcomes.none.window")
    .says("has no p");
}

#[test]
fn outcome_without_p_with_a_condition() {
    refuse_file(base_with(
        "label = \"No deal\"",
        "label = \"No deal\"\nwhen = \"talks\"",
    ))
    .at(FILE, line_of(BASE, "label = \"No deal\"") + 1)
    .key("outcomes.none.when")
    .says("has no p");
}

#[test]
fn outcome_without_p_with_a_modifier() {
    refuse_file(format!(
        "{BASE}[outcomes.none.modifiers.m]\nwhen = \"talks\"\nfactor = 2.0\n"
    ))
    .names(FILE)
    .key("outcomes.none")
    .says("has no p");
}

// ---------------------------------------------------------------------------------------------
// Command-line values. Those clap refuses exit with 2 as well.

#[test]
fn paths_zero() {
    refuse_run_args(&["--paths", "0"])
        .says("--paths")
        .says("not a whole number of paths from 1 to 2^63 - 1");
}

#[test]
fn paths_negative() {
    refuse_run_args(&["--paths", "-1"])
        .says("--paths")
        .says("-1");
}

#[test]
fn paths_beyond_u64() {
    refuse_run_args(&["--paths", "99999999999999999999999"])
        .says("--paths")
        .says("not a whole number of paths from 1 to 2^63 - 1");
}

#[test]
fn paths_of_two_to_the_63() {
    refuse_run_args(&["--paths", "9223372036854775808"])
        .says("--paths")
        .says("'9223372036854775808' is not a whole number of paths from 1 to 2^63 - 1");
}

#[test]
fn first_path_at_the_end_of_the_counters() {
    refuse_run_args(&["--first-path", "9223372036854775807", "--paths", "2"])
        .says("--paths 2 from --first-path 9223372036854775807")
        .says("2^63");
}

#[test]
fn first_path_beyond_the_counters() {
    refuse_run_args(&["--first-path", "9223372036854775808", "--paths", "1"])
        .says("--first-path")
        .says("not in 0..=9223372036854775807");
}

#[test]
fn threads_zero() {
    refuse_run_args(&["--paths", "100", "--threads", "0"])
        .says("--threads")
        .says("0 is not in 1..=1024");
}

#[test]
fn threads_negative() {
    refuse_run_args(&["--paths", "100", "--threads", "-3"])
        .says("--threads")
        .says("-3");
}

#[test]
fn threads_not_a_number() {
    refuse_run_args(&["--paths", "100", "--threads", "abc"])
        .says("--threads")
        .says("'abc'");
}

#[test]
fn threads_beyond_the_limit() {
    refuse_run_args(&["--paths", "100", "--threads", "100000"])
        .says("--threads")
        .says("not in 1..=1024");
}

#[test]
fn seed_negative() {
    refuse_run_args(&["--paths", "100", "--seed", "-1"])
        .says("--seed")
        .says("-1");
}

#[test]
fn seed_beyond_u64() {
    refuse_run_args(&["--paths", "100", "--seed", "18446744073709551616"])
        .says("--seed")
        .says("too large");
}

#[test]
fn unknown_flag() {
    refuse_run_args(&["--pathz", "100"]).says("'--pathz'");
}

fn refuse_set(set: &str) -> Refusal {
    let refusal = refuse_run_args(&["--paths", "100", "--set", set]);
    refusal.says(&format!("--set '{set}'"));
    refusal
}

#[test]
fn set_without_equals() {
    refuse_set("events.talks.p").says("expected key=value");
}

#[test]
fn set_nothing() {
    refuse_set("").says("expected key=value");
}

#[test]
fn set_with_an_empty_key() {
    refuse_set("=0.5").says("'' is not a key");
}

#[test]
fn set_with_an_empty_key_part() {
    refuse_set("events..p=0.5").says("'events..p' is not a key");
}

#[test]
fn set_on_an_event_that_does_not_exist() {
    refuse_set("events.nope.p=0.5")
        .key("nope")
        .says("has no event 'nope'");
}

#[test]
fn set_on_an_outcome_that_does_not_exist() {
    refuse_set("outcomes.nope.p=0.5")
        .key("nope")
        .says("has no outcome 'nope'");
}

#[test]
fn set_on_a_modifier_that_does_not_exist() {
    refuse_set("events.talks.modifiers.nope.factor=2")
        .key("nope")
        .says("has no modifier 'nope'");
}

#[test]
fn set_adding_an_event_as_an_inline_table() {
    refuse_set("events={nope={label=\"x\",p=0.1}}").says("has no event 'nope'");
}

#[test]
fn set_with_the_wrong_type() {
    refuse_set("events.talks.p=abc")
        .key("events.talks.p")
        .says("invalid type: string \"abc\"");
}

#[test]
fn set_out_of_range() {
    refuse_set("events.talks.p=2")
        .key("events.talks.p")
        .says("probability 2 is outside [0, 1]");
}

#[test]
fn set_nan() {
    refuse_set("events.talks.p=nan")
        .key("events.talks.p")
        .says("NaN is outside [0, 1]");
}

#[test]
fn set_horizon_zero() {
    refuse_set("scenario.horizon=0")
        .key("scenario.horizon")
        .says("horizon 0 must be between 1 and 10000 steps");
}

#[test]
fn set_extends() {
    refuse_set("extends=other.toml").says("extends cannot be set");
}

#[test]
fn set_unknown_key() {
    refuse_set("scenario.colour=red")
        .key("scenario.colour")
        .says("unknown field `colour`");
}

#[test]
fn set_window_of_one_number() {
    refuse_set("events.sanctions.window=[3]")
        .key("events.sanctions.window")
        .says("expected [first step, last step]");
}

#[test]
fn set_bad_condition() {
    refuse_set("outcomes.deal.when=talks and")
        .key("outcomes.deal.when")
        .says("found the end");
}

/// A value with a line break holds more TOML after it: it must not slip past the checks
/// that a single key=value gets (here, that extends cannot be set).
#[test]
fn set_cannot_smuggle_extends_on_a_second_line() {
    let sandbox = Sandbox::with_file(BASE);
    sandbox.write("other.toml", BASE);
    sandbox.refuse(&[
        "run",
        FILE,
        "--paths",
        "100",
        "--set",
        "scenario.title=\"x\"\nextends=\"other.toml\"",
    ]);
}

#[test]
fn check_refuses_a_bad_set_too() {
    Sandbox::with_file(BASE)
        .refuse(&["check", FILE, "--set", "events.talks.p=2"])
        .says("--set 'events.talks.p=2'")
        .key("events.talks.p")
        .says("outside [0, 1]");
}

#[test]
fn out_at_an_existing_file() {
    let sandbox = Sandbox::with_file(BASE);
    sandbox.write("afile", "keep me\n");
    // `refuse` checks that the folder, and so `afile`, is unchanged.
    sandbox
        .refuse(&["run", FILE, "--paths", "100", "--out", "afile"])
        .says("--out")
        .says("afile")
        .says("not a folder");
    assert_eq!(
        fs::read_to_string(sandbox.path().join("afile")).unwrap(),
        "keep me\n"
    );
}

#[test]
fn out_below_a_file() {
    let sandbox = Sandbox::with_file(BASE);
    sandbox.write("afile", "keep me\n");
    sandbox
        .refuse(&["run", FILE, "--paths", "100", "--out", "afile/sub"])
        .says("--out")
        .says("afile");
    assert_eq!(
        fs::read_to_string(sandbox.path().join("afile")).unwrap(),
        "keep me\n"
    );
}

#[test]
fn exact_out_at_an_existing_file() {
    let sandbox = Sandbox::with_file(BASE);
    sandbox.write("afile", "keep me\n");
    sandbox
        .refuse(&["exact", FILE, "--out", "afile"])
        .says("--out")
        .says("not a folder");
}

#[test]
fn exact_out_below_a_file() {
    let sandbox = Sandbox::with_file(BASE);
    sandbox.write("afile", "keep me\n");
    sandbox
        .refuse(&["exact", FILE, "--out", "afile/sub"])
        .says("--out")
        .says("afile");
}

// ---------------------------------------------------------------------------------------------
// Not bad input, but still never a panic or a crash.

/// `pathcast check x | head -1`: the reader is gone before pathcast prints. That is no
/// reason to panic.
#[cfg(unix)]
#[test]
fn closed_stdout_is_not_a_panic() {
    use std::process::Stdio;
    let sandbox = Sandbox::with_file(BASE);
    // A pipe whose reader has exited: `true` never reads its stdin.
    let mut reader = std::process::Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = reader.stdin.take().unwrap();
    reader.wait().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pathcast"))
        .args(["check", FILE])
        .current_dir(sandbox.path())
        .stdout(Stdio::from(pipe))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked") && output.status.code() != Some(101),
        "{:?}\n{stderr}",
        output.status
    );
}

/// Twenty-eight events that can all happen at step 1: the exact solver must give up at once
/// (the scenario needs 2^28 event sets, beyond its limit of 2^22), not allocate gigabytes
/// first. Run under a 2 GiB address-space limit so that a regression fails instead of
/// exhausting the machine.
#[cfg(target_os = "linux")]
#[test]
fn exact_gives_up_on_too_many_events_without_exhausting_memory() {
    let sandbox = Sandbox::with_file(common::independent_events("wide", 2, 28, 0.5));
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" exact hostile.toml")
        .arg(env!("CARGO_BIN_EXE_pathcast"))
        .current_dir(sandbox.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{:?}\n{stderr}",
        output.status
    );
    assert!(stderr.contains("exact solver"), "{stderr}");
    assert!(!sandbox.path().join("output").exists());
}

// ---------------------------------------------------------------------------------------------
// Lengths and characters: labels, titles and ids have limits, and nothing raw reaches the
// terminal (every refusal above also checks that stderr holds no control character).

#[test]
fn a_label_of_70000_characters() {
    let label = "x".repeat(70_000);
    refuse_file(base_with(
        "label = \"Talks open\"",
        &format!("label = \"{label}\""),
    ))
    .at_line_of("label = \"xxx")
    .key("events.talks.label")
    .says("70000 characters")
    .says("at most 300");
}

#[test]
fn a_label_of_301_characters() {
    let label = "é".repeat(301);
    refuse_file(base_with(
        "label = \"Deal\"",
        &format!("label = \"{label}\""),
    ))
    .at_line_of("label = \"éé")
    .key("outcomes.deal.label")
    .says("at most 300");
}

#[test]
fn a_title_of_70000_characters() {
    let title = "t".repeat(70_000);
    refuse_file(base_with(
        "title = \"Small\"",
        &format!("title = \"{title}\""),
    ))
    .at_line_of("title = ")
    .key("scenario.title")
    .says("at most 300");
}

#[test]
fn an_event_id_of_70000_characters() {
    let id = "e".repeat(70_000);
    refuse_file(format!("{BASE}[events.{id}]\nlabel = \"Long\"\np = 0.1\n"))
        .at_line_of("[events.eee")
        .key("events.eee")
        .says("70000 characters long; at most 64");
}

#[test]
fn an_outcome_id_of_65_characters() {
    let id = format!("o{}", "x".repeat(64));
    refuse_file(format!("{BASE}[outcomes.{id}]\nlabel = \"Long\"\n"))
        .at_line_of("[outcomes.oxx")
        .key(&format!("outcomes.{id}"))
        .says("at most 64");
}

#[test]
fn a_scenario_id_of_70000_characters() {
    let id = "s".repeat(70_000);
    refuse_file(base_with("id = \"small\"", &format!("id = \"{id}\"")))
        .at_line_of("id = \"sss")
        .key("scenario.id")
        .says("at most 64");
}

#[test]
fn a_modifier_name_of_70000_characters() {
    let name = "m".repeat(70_000);
    refuse_file(base_with(
        "[events.sanctions.modifiers.stalled]",
        &format!("[events.sanctions.modifiers.{name}]"),
    ))
    .key("events.sanctions.modifiers.mmm")
    .says("at most 64");
}

#[test]
fn a_modifier_name_that_is_not_a_plain_word() {
    // It would make a `--set` key of several words (or of a dot) and a column nobody can name.
    for name in ["\"bad name!\"", "\"a.b\"", "\"9lives\"", "and"] {
        refuse_file(base_with(
            "[events.sanctions.modifiers.stalled]",
            &format!("[events.sanctions.modifiers.{name}]"),
        ))
        .key("events.sanctions.modifiers.")
        .says("cannot name a modifier");
    }
}

#[test]
fn a_title_with_a_newline() {
    refuse_file(base_with(
        "title = \"Small\"",
        "title = \"Small\\nOK: forged line\"",
    ))
    .at_line_of("title = ")
    .key("scenario.title")
    .says("one line");
}

#[test]
fn a_label_with_a_carriage_return() {
    refuse_file(base_with("label = \"Deal\"", "label = \"Deal\\rforged\""))
        .at_line_of("label = \"Deal")
        .key("outcomes.deal.label")
        .says("one line");
}

#[test]
fn a_dotted_key_of_300000_parts_gives_a_short_message() {
    let key = "a.".repeat(300_000);
    refuse_file(format!("{BASE}{key}b\u{1b} = 1\n"))
        .at_line_of("a.a.a")
        .says("more characters)");
}

#[test]
fn a_file_of_carriage_returns_gives_a_short_message() {
    refuse_file(format!(
        "{}\r= 1\r",
        "[scenario]\rid = \"x\"\r".repeat(30_000)
    ))
    .names(FILE)
    .says("more characters)");
}

#[test]
fn an_escape_sequence_in_a_condition_is_escaped() {
    refuse_file(base_with(
        "when = \"talks\"",
        "when = \"talks \\u001b]0;title\\u0007\"",
    ))
    .at_line_of("when = \"talks ")
    .key("outcomes.deal.when")
    .says("unexpected character '\\u{1b}'");
}

#[test]
fn an_escape_sequence_in_a_key_is_escaped() {
    refuse_file(base_with("seed = 3", "seed = 3\n\u{1b}[2Jseed2 = 1")).says("\\u{1b}[2J");
}

#[test]
fn an_escape_sequence_in_a_set_is_escaped() {
    refuse_run_args(&["--set", "scenario.step=we\u{1b}[2Jek"])
        .says("--set 'scenario.step=we\\u{1b}[2Jek'")
        .says("is not day, week or month");
}

#[test]
fn a_scenario_argument_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let sandbox = Sandbox::with_file(BASE);
    let output = Command::cargo_bin("pathcast")
        .unwrap()
        .current_dir(sandbox.path())
        .arg("check")
        .arg(std::ffi::OsStr::from_bytes(b"bad\xff.toml"))
        .timeout(HANG)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// extends reaches only scenario files, and never shows the content of anything else.

/// A file with a secret in it, extended under several names: refused, the secret not shown.
#[test]
fn extends_a_file_that_is_not_a_scenario_shows_none_of_it() {
    for (name, extends) in [
        ("secrets.toml", "secrets.toml"),
        ("secrets", "secrets"),
        ("sub/credentials", "sub/credentials"),
        ("sub/keys.toml", "./sub/../sub/keys.toml"),
    ] {
        let sandbox = Sandbox::with_file(format!("extends = \"{extends}\"\n{BASE}"));
        sandbox.write(name, "password = \"hunter2\"\naws_secret = \"AKIA\"\n");
        let refusal = sandbox.refuse_file();
        refusal.at(FILE, 1).key("extends");
        assert!(
            !refusal.stderr.contains("hunter2")
                && !refusal.stderr.contains("password")
                && !refusal.stderr.contains("AKIA"),
            "{}",
            refusal.context
        );
    }
}

#[test]
fn extends_a_file_that_is_not_toml_at_all() {
    let sandbox = Sandbox::with_file(format!("extends = \"shadow.toml\"\n{BASE}"));
    sandbox.write("shadow.toml", "root:$6$salt$hash:19000:0:99999:7:::\n");
    let refusal = sandbox.refuse_file();
    refusal.at(FILE, 1).says("does not look like a scenario");
    assert!(!refusal.stderr.contains("$6$salt"), "{}", refusal.context);
}

#[test]
fn extends_an_absolute_path() {
    let sandbox = Sandbox::with_file("");
    sandbox.write("parent.toml", BASE);
    let absolute = sandbox.path().join("parent.toml");
    sandbox.write(
        FILE,
        format!("extends = \"{}\"\n", absolute.to_str().unwrap()),
    );
    sandbox
        .refuse_file()
        .at(FILE, 1)
        .key("extends")
        .says("absolute path");
}

#[test]
fn extends_proc_self_environ_by_a_relative_path() {
    let refusal = refuse_file(format!(
        "extends = \"../../../../../../../../proc/self/environ\"\n{BASE}"
    ));
    refusal.at(FILE, 1).key("extends").says("not a .toml file");
    assert!(!refusal.stderr.contains("PATH="), "{}", refusal.context);
}

// ---------------------------------------------------------------------------------------------
// Outputs never replace their inputs, and output folders are read with care.

#[test]
fn export_onto_the_scenario_it_reads() {
    let sandbox = Sandbox::with_file(BASE);
    sandbox
        .refuse(&["export", FILE, "--prism", "--out", FILE])
        .says("--out hostile.toml")
        .says("the scenario is read from");
}

#[test]
fn export_onto_a_file_the_scenario_extends() {
    let sandbox = Sandbox::with_file("extends = \"parent.toml\"\n[scenario]\nid = \"child\"\n");
    sandbox.write("parent.toml", BASE);
    sandbox.write("sub/keep.txt", "");
    for out in ["parent.toml", "./parent.toml", "sub/../parent.toml"] {
        sandbox
            .refuse(&["export", FILE, "--prism", "--out", out])
            .says("the scenario is read from");
    }
}

#[test]
fn export_through_a_link_to_the_scenario() {
    let sandbox = Sandbox::with_file(BASE);
    std::os::unix::fs::symlink(FILE, sandbox.path().join("link.pm")).unwrap();
    sandbox
        .refuse(&["export", FILE, "--prism", "--out", "link.pm"])
        .says("the scenario is read from");
}

#[test]
fn export_onto_a_folder() {
    let sandbox = Sandbox::with_file(BASE);
    sandbox.write("folder/keep.txt", "keep");
    sandbox
        .refuse(&["export", FILE, "--prism", "--out", "folder"])
        .says("--out folder")
        .says("is a folder");
}

#[test]
fn out_through_a_link_to_nothing() {
    let sandbox = Sandbox::with_file(BASE);
    std::os::unix::fs::symlink("nowhere", sandbox.path().join("results")).unwrap();
    sandbox
        .refuse(&["run", FILE, "--paths", "100", "--out", "results"])
        .says("--out results")
        .says("symbolic link");
    sandbox
        .refuse(&["export", FILE, "--prism", "--out", "results"])
        .says("symbolic link");
}

/// An output folder whose manifest is a FIFO: reading it would block forever (and signals
/// would not help), so it is not read, and the folder is not pathcast's.
#[test]
fn out_folder_whose_manifest_is_a_fifo() {
    let sandbox = Sandbox::with_file(BASE);
    fs::create_dir(sandbox.path().join("results")).unwrap();
    let fifo = std::ffi::CString::new(
        sandbox
            .path()
            .join("results/manifest.toml")
            .to_str()
            .unwrap(),
    )
    .unwrap();
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    for method in ["run", "exact"] {
        sandbox
            .refuse(&[method, FILE, "--out", "results"])
            .says("not a pathcast output folder");
    }
}

/// A manifest that is a link to /dev/zero, or a huge file: not read whole.
#[test]
fn out_folder_whose_manifest_is_endless_or_huge() {
    let sandbox = Sandbox::with_file(BASE);
    fs::create_dir(sandbox.path().join("zero")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", sandbox.path().join("zero/manifest.toml")).unwrap();
    let huge = format!("files = [\"manifest.toml\"]\n#{}\n", "x".repeat(3 << 20));
    sandbox.write("huge/manifest.toml", huge);
    for out in ["zero", "huge"] {
        sandbox
            .refuse(&["run", FILE, "--paths", "100", "--out", out])
            .says("not a pathcast output folder");
    }
}

// ---------------------------------------------------------------------------------------------
// Edges of the numbers.

#[test]
fn trace_path_of_two_to_the_63() {
    let sandbox = Sandbox::with_file(BASE);
    for path in ["9223372036854775808", "18446744073709551615", "-1"] {
        sandbox
            .refuse(&["trace", FILE, "--path", path])
            .says("--path");
    }
}

#[test]
fn dates_past_the_year_9999() {
    refuse_file(base_with("start = 2025-01-06", "start = 9999-12-01"))
        .at_line_of("start = ")
        .key("scenario.start")
        .says("after 9999-12-31");
    let monthly = base_with("horizon = 10", "horizon = 10000\nstep = \"month\"");
    refuse_file(monthly.replace("start = 2025-01-06", "start = 9500-01-01"))
        .at_line_of("start = ")
        .key("scenario.start");
}

/// `--force` into a folder where a folder has the name of one of pathcast's files: refused
/// before any file is moved in (found by the output_folders fuzz property).
#[test]
fn force_into_a_folder_with_a_folder_named_like_a_result() {
    let sandbox = Sandbox::with_file(BASE);
    sandbox.write("results/manifest.toml/inside", "mine");
    sandbox.write("results/notes.txt", "mine");
    sandbox
        .refuse(&["run", FILE, "--paths", "100", "--out", "results", "--force"])
        .says("--out results")
        .says("holds a folder named 'manifest.toml'");
}

// ---------------------------------------------------------------------------------------------
// Events that end.

#[test]
fn an_end_on_an_outcome() {
    let text = base_with(
        "[outcomes.none]",
        "[outcomes.deal.ends]\np = 0.1\n\n[outcomes.none]",
    );
    let line = line_of(&text, "[outcomes.deal.ends]") + 1;
    refuse_file(text)
        .at(FILE, line)
        .key("outcomes.deal.ends.p")
        .says("an outcome ends the path");
}

#[test]
fn recurs_on_an_outcome() {
    refuse_file(base_with(
        "when = \"talks\"\n",
        "when = \"talks\"\nrecurs = false\n",
    ))
    .at_line_of("recurs = false")
    .key("outcomes.deal.recurs");
}

#[test]
fn recurs_on_an_event_that_cannot_end() {
    refuse_file(base_with("p = 0.3\n", "p = 0.3\nrecurs = false\n"))
        .at_line_of("recurs = false")
        .key("events.talks.recurs")
        .says("only an event that can end");
}

#[test]
fn an_end_without_p() {
    refuse_file(base_with(
        "[events.sanctions]",
        "[events.talks.ends]\nwhen = \"sanctions\"\n\n[events.sanctions]",
    ))
    .names(FILE)
    .key("events.talks.ends.p")
    .says("missing");
}

#[test]
fn an_end_with_a_label() {
    refuse_file(base_with(
        "[events.sanctions]",
        "[events.talks.ends]\nlabel = \"Talks end\"\np = 0.2\n\n[events.sanctions]",
    ))
    .at_line_of("label = \"Talks end\"")
    .key("events.talks.ends.label");
}

#[test]
fn an_end_probability_out_of_range() {
    refuse_file(base_with(
        "[events.sanctions]",
        "[events.talks.ends]\np = 1.5\n\n[events.sanctions]",
    ))
    .at_line_of("p = 1.5")
    .key("events.talks.ends.p")
    .says("outside [0, 1]");
}

#[test]
fn an_end_window_past_the_horizon() {
    refuse_file(base_with(
        "[events.sanctions]",
        "[events.talks.ends]\np = 0.2\nwindow = [3, 11]\n\n[events.sanctions]",
    ))
    .at_line_of("window = [3, 11]")
    .key("events.talks.ends.window");
}

#[test]
fn ever_of_an_outcome_or_an_unknown_event() {
    refuse_file(base_with(
        "when = \"not talks\"",
        "when = \"not ever(deal)\"",
    ))
    .at_line_of("ever(deal)")
    .key("events.sanctions.modifiers.stalled.when")
    .says("'deal' is an outcome");
    refuse_file(base_with("when = \"not talks\"", "when = \"ever(talk)\""))
        .at_line_of("ever(talk)")
        .says("unknown event id 'talk'");
    refuse_file(base_with("when = \"not talks\"", "when = \"ever(talks\""))
        .at_line_of("ever(talks")
        .says("expected ')'");
}

#[test]
fn too_many_events_counting_their_ever_bits() {
    // 40 events, the first 30 of which can end: event 35 (e34) needs bit 65.
    let mut text = String::from("[scenario]\nid = \"wide\"\nhorizon = 3\n");
    for i in 0..40 {
        text += &format!("[events.e{i}]\nlabel = \"E{i}\"\np = 0.1\n");
        if i < 30 {
            text += &format!("[events.e{i}.ends]\np = 0.1\n");
        }
    }
    text += "[outcomes.end]\nlabel = \"End\"\n[horizon]\ndefault = \"end\"\n";
    refuse_file(text)
        .key("events.e34")
        .says("counting one more for each event that can end");
}

// ---------------------------------------------------------------------------------------------
// Probabilities that change over time. BASE runs 10 weeks from Monday 2025-01-06. Each error
// names the number by its `--set` key (`events.talks.p.1`, `...p.1.until`, `...p.half_life`).

fn refuse_p(value: &str) -> Refusal {
    refuse_file(base_with("p = 0.3\n", &format!("p = {value}\n")))
}

#[test]
fn a_schedule_out_of_order() {
    refuse_p("[{ until = 5, p = 0.1 }, { until = 3, p = 0.2 }, { p = 0.3 }]")
        .at_line_of("until = 5")
        .key("events.talks.p.1.until")
        .says("until 3 must come after the previous piece's until (step 5)");
    refuse_p("[{ until = 5, p = 0.1 }, { until = 2025-02-04, p = 0.2 }, { p = 0.3 }]")
        .key("events.talks.p.1.until")
        .says("until 2025-02-04 (step 5, the last that begins by then) must come after");
}

#[test]
fn a_schedule_outside_the_horizon() {
    refuse_p("[{ until = 10, p = 0.1 }, { p = 0.3 }]")
        .at_line_of("until = 10")
        .key("events.talks.p.0.until")
        .says("until 10 is the horizon: the last piece")
        .says("would cover no step");
    refuse_p("[{ until = 11, p = 0.1 }, { p = 0.3 }]")
        .key("events.talks.p.0.until")
        .says("until 11 is past the horizon (10)");
    // Step 10 begins on 2025-03-10.
    refuse_p("[{ until = 2025-03-10, p = 0.1 }, { p = 0.3 }]")
        .key("events.talks.p.0.until")
        .says("until 2025-03-10 falls in the last step (10) or after it");
    refuse_p("[{ until = 2026-01-01, p = 0.1 }, { p = 0.3 }]")
        .key("events.talks.p.0.until")
        .says("until 2026-01-01 falls in the last step (10) or after it");
    refuse_p("[{ until = 0, p = 0.1 }, { p = 0.3 }]")
        .key("events.talks.p.0.until")
        .says("until 0 is before step 1");
    refuse_p("[{ until = -2, p = 0.1 }, { p = 0.3 }]")
        .key("events.talks.p.0.until")
        .says("until -2 is before step 1");
}

#[test]
fn a_schedule_date_before_the_start() {
    refuse_p("[{ until = 2024-12-31, p = 0.1 }, { p = 0.3 }]")
        .at_line_of("until = 2024-12-31")
        .key("events.talks.p.0.until")
        .says("until 2024-12-31 is before the start of the scenario (2025-01-06)");
}

#[test]
fn a_schedule_date_without_a_start() {
    refuse_file(
        base_with(
            "p = 0.3\n",
            "p = [{ until = 2025-02-01, p = 0.1 }, { p = 0.3 }]\n",
        )
        .replace("start = 2025-01-06\n", ""),
    )
    .at_line_of("until = 2025-02-01")
    .key("events.talks.p.0.until")
    .says("no start date");
}

#[test]
fn a_schedule_until_that_is_no_step_or_date() {
    refuse_p("[{ until = 2.5, p = 0.1 }, { p = 0.3 }]")
        .at_line_of("until = 2.5")
        .key("events.talks.p")
        .says("until takes a step number or a date such as 2025-10-31, not 2.5");
    refuse_p("[{ until = \"3\", p = 0.1 }, { p = 0.3 }]").says("until takes a step number");
    refuse_p("[{ until = 2025-02-01T10:00:00, p = 0.1 }, { p = 0.3 }]")
        .key("events.talks.p.0.until")
        .says("is not a plain date");
}

#[test]
fn a_schedule_whose_last_piece_has_an_until_or_a_middle_piece_none() {
    refuse_p("[{ until = 3, p = 0.1 }, { until = 6, p = 0.3 }]")
        .key("events.talks.p.1.until")
        .says("the last piece runs to the horizon: leave out its until");
    refuse_p("[{ p = 0.1 }, { p = 0.3 }]")
        .key("events.talks.p.0")
        .says("only the last piece may leave out until");
    refuse_p("[]")
        .at_line_of("p = []")
        .key("events.talks.p")
        .says("a schedule needs at least one piece");
}

#[test]
fn a_schedule_piece_out_of_range_or_of_the_wrong_kind() {
    refuse_p("[{ until = 3, p = 1.5 }, { p = 0.3 }]")
        .key("events.talks.p.0")
        .says("probability 1.5 is outside [0, 1]");
    refuse_p("[{ until = 3, p = 0.1 }, { p = nan }]")
        .key("events.talks.p.1")
        .says("probability NaN is outside [0, 1]");
    refuse_p("[{ until = 3, factor = 0.5 }, { p = 0.3 }]")
        .key("events.talks.p.0")
        .says("gives its value as p = ..., not factor = ...");
    refuse_p("[{ until = 3, p = 0.1, factor = 0.2 }, { p = 0.3 }]").says("not both");
    refuse_p("[{ until = 3 }, { p = 0.3 }]").says("needs its value");
    refuse_p("[{ until = 3, p = { low = 0.1, high = 0.2 } }, { p = 0.3 }]")
        .key("events.talks.p")
        .says("p takes a plain number, not { low = 0.1, high = 0.2 }")
        .says("cannot be uncertain");
    refuse_p("[{ until = 3, p = 0.1, by = 2 }, { p = 0.3 }]").says("unknown key `by`");
    refuse_p("[0.1, 0.3]").says("expected a piece of a schedule");
    for factor in ["0.0", "-1.0", "inf"] {
        refuse_file(base_with(
            "factor = 2.0",
            &format!("factor = [{{ until = 4, factor = {factor} }}, {{ factor = 2.0 }}]"),
        ))
        .key("events.sanctions.modifiers.stalled.factor.0")
        .says("must be a finite number > 0");
    }
}

#[test]
fn a_schedule_of_an_end_names_the_end() {
    refuse_file(base_with(
        "p = 0.3\n",
        "p = 0.3\n[events.talks.ends]\np = [{ until = 4, p = 0.1 }, { p = 1.2 }]\n",
    ))
    .at_line_of("until = 4")
    .key("events.talks.ends.p.1")
    .says("probability 1.2 is outside [0, 1]");
}

/// A schedule written over several lines: the error is on the line of the piece.
#[test]
fn a_schedule_over_several_lines_is_refused_at_the_piece() {
    let schedule = "[\n  { until = 3, p = 0.1 },\n  { until = 2, p = 0.2 },\n  { p = 0.3 },\n]";
    refuse_p(schedule)
        .at_line_of("until = 2,")
        .key("events.talks.p.1.until")
        .says("must come after");
    let bad_key = schedule.replace("{ until = 2, p = 0.2 }", "{ until = 5, p = 0.2, x = 1 }");
    refuse_p(&bad_key)
        .at_line_of("x = 1")
        .key("events.talks.p")
        .says("unknown key `x` in a piece of a schedule");
    let bad_value = schedule.replace("{ until = 2, p = 0.2 }", "{ until = 5, p = 1.2 }");
    refuse_p(&bad_value)
        .at_line_of("p = 1.2")
        .key("events.talks.p.1")
        .says("probability 1.2 is outside");
}

#[test]
fn a_decay_with_a_bad_half_life_or_start() {
    refuse_p("{ start = 0.2, half_life = 0 }")
        .at_line_of("half_life = 0")
        .key("events.talks.p.half_life")
        .says("half-life 0 must be a finite number of steps > 0");
    refuse_p("{ start = 0.2, half_life = -3 }").says("half-life -3");
    refuse_p("{ start = 0.2, half_life = nan }").says("half-life NaN");
    refuse_p("{ start = 0.2, half_life = inf }").says("half-life inf");
    refuse_p("{ start = 1.2, half_life = 3 }")
        .key("events.talks.p.start")
        .says("probability 1.2 is outside [0, 1]");
    refuse_file(base_with(
        "factor = 2.0",
        "factor = { start = 0.0, half_life = 4 }",
    ))
    .key("events.sanctions.modifiers.stalled.factor.start")
    .says("factor 0 must be a finite number > 0");
}

#[test]
fn a_decay_of_the_wrong_shape() {
    refuse_p("{ start = 0.2 }")
        .key("events.talks.p.start")
        .says("a decay needs both start and half_life");
    refuse_p("{ start = 0.2, half_life = 4, low = 0.1 }").says("either uncertain or a decay");
    refuse_p("{ start = 0.2, half_life = 4, rate = 1 }").says("unknown key `rate`");
    refuse_p("{ start = { low = 0.1, high = 0.3 }, half_life = 4 }")
        .key("events.talks.p")
        .says("start takes a plain number")
        .says("cannot be uncertain");
}

#[test]
fn a_patch_of_a_value_that_is_not_a_schedule() {
    Sandbox::with_file(BASE)
        .refuse(&["run", FILE, "--set", "events.talks.p.1=0.2"])
        .says("--set 'events.talks.p.1=0.2'")
        .key("events.talks.p.1")
        .says("not a schedule with such a piece");
    Sandbox::with_file(BASE)
        .refuse(&["run", FILE, "--set", "events.talks.p.half_life=2"])
        .key("events.talks.p.half_life")
        .says("that value is not a decay");
}

/// A number of a schedule changed by `--set` or by a file that extends another is refused
/// where it was written, not where the parent wrote the schedule.
#[test]
fn a_bad_patch_is_refused_where_it_was_written() {
    let parent = base_with("p = 0.3\n", "p = [{ until = 4, p = 0.1 }, { p = 0.3 }]\n");
    let sandbox = Sandbox::with_file(&parent);
    sandbox
        .refuse(&["run", FILE, "--set", "events.talks.p.1=1.5"])
        .says("--set 'events.talks.p.1=1.5'")
        .key("events.talks.p.1")
        .says("probability 1.5 is outside [0, 1]");
    sandbox
        .refuse(&["run", FILE, "--set", "events.talks.p.2=0.5"])
        .key("events.talks.p.2")
        .says("not a schedule with such a piece");
    let sandbox = Sandbox::new();
    sandbox.write("parent.toml", &parent);
    sandbox.write(
        FILE,
        "extends = \"parent.toml\"\n[scenario]\nid = \"child\"\n[events.talks]\np.1 = 1.5\n",
    );
    sandbox
        .refuse_file()
        .at_line_of("p.1 = 1.5")
        .key("events.talks.p.1")
        .says("probability 1.5 is outside [0, 1]");
}
