//! The command line.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// A number of paths as people write it: `1000000`, `1_000_000` or `1e6` (a whole number,
/// from 1 to 2^63 - 1).
pub fn path_count(text: &str) -> Result<u64, String> {
    let plain = text.trim().replace('_', "");
    let value = if plain.chars().all(|c| c.is_ascii_digit()) && !plain.is_empty() {
        plain.parse::<u64>().ok()
    } else {
        plain
            .parse::<f64>()
            .ok()
            .filter(|x| x.fract() == 0.0 && *x >= 1.0 && *x < 9.223_372_036_854_776e18)
            .map(|x| x as u64)
    };
    value
        .filter(|&n| (1..=i64::MAX as u64).contains(&n))
        .ok_or_else(|| {
            format!("'{text}' is not a whole number of paths from 1 to 2^63 - 1 (e.g. 1000000, 1_000_000 or 1e6)")
        })
}

#[derive(Debug, Parser)]
#[command(
    name = "pathcast",
    version = env!("PATHCAST_LONG_VERSION"),
    about = "Seeded, parallel Monte Carlo simulation of negotiation scenarios",
    after_help = "Exit codes: 0 success, 1 runtime failure (e.g. a write error), 2 bad input \
                  (scenario file, questions file or flags), 3 Monte Carlo and exact disagree \
                  (--check-exact), 4 targets not met (check --strict-targets), 130 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// No progress on stderr (by default a bar on a terminal, else a line every few seconds)
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate a scenario and write its results as CSV
    Run(RunArgs),
    /// Compute the exact probabilities of a scenario and write them as CSV
    Exact(ExactArgs),
    /// Validate a scenario, describe it, and check its calibration targets
    Check(CheckArgs),
    /// Tell the story of one path, step by step
    Trace(TraceArgs),
    /// List the preset scenarios
    List,
    /// Write the scenario for another tool: a model checker (PRISM) or a simulator (JSON)
    Export(ExportArgs),
    /// List the parameters of a scenario: every p and factor, by its --set key
    Params(ScenarioArgs),
    /// Which parameters move the outcomes most: each set low and high (a tornado)
    Sensitivity(SensitivityArgs),
    /// The outcomes over a range of values of one or two parameters
    Sweep(SweepArgs),
    /// Differences between scenarios or variants, run over the same paths (paired)
    Compare(CompareArgs),
    /// Add up the shard folders of one job (--shard) into the output of the whole job
    Merge(MergeArgs),
    /// Print a preset's scenario file, with its comments
    Show(ShowArgs),
    /// Write a commented starter scenario that extends a preset
    Init(InitArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell)
    Completions(CompletionsArgs),
    /// Print the manual page (roff), e.g. `pathcast man > pathcast.1`
    Man,
    /// The probability of a question ("meeting" --by 2025-12-31), or of a file of questions
    Ask(AskArgs),
    /// Fit parameters so that the scenario meets its [[targets]]; writes a scenario file
    Calibrate(CalibrateArgs),
    /// Score the scenario against resolved questions: Brier, log score, calibration
    Score(ScoreArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Exit with code 4 when a [[targets]] entry is not met
    #[arg(long)]
    pub strict_targets: bool,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// A condition over events and outcomes, e.g. "ceasefire or peace"
    #[arg(required_unless_present = "questions", conflicts_with = "questions")]
    pub question: Option<String>,
    /// Whether it holds at some point up to this step or date (the steps that begin on or
    /// before it)
    #[arg(long, value_name = "STEP|DATE", conflicts_with_all = ["at", "questions"])]
    pub by: Option<String>,
    /// Whether it holds at the end of this step (or of the step that holds this date)
    #[arg(long, value_name = "STEP|DATE", conflicts_with = "questions")]
    pub at: Option<String>,
    /// A CSV file of questions (id,question,by); writes answers.csv
    #[arg(long, value_name = "FILE")]
    pub questions: Option<PathBuf>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The parameters to fit, by their --set keys (see `pathcast params`)
    #[arg(long, value_name = "KEY,...", value_delimiter = ',', required = true)]
    pub fit: Vec<String>,
    /// Output folder [default: output/<scenario id>-calibrate]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write into an --out folder that holds other files or other results
    #[arg(long)]
    pub force: bool,
    /// Most reachable event sets the exact solver may hold at once
    #[arg(long, default_value_t = 1 << 22, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=1 << 32))]
    pub max_states: u64,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// A CSV file of resolved questions: id,question,by,resolved[,resolved_on]
    #[arg(long, value_name = "FILE", required = true)]
    pub resolutions: PathBuf,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// A scenario file, or the name of a preset (see `pathcast list`)
    pub scenario: String,
    /// Override a value of the scenario, e.g. --set events.meeting.p=0.05 (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Number of paths, e.g. 1000000, 1_000_000 or 1e6 [default: the scenario's `paths`]
    #[arg(long, allow_negative_numbers = true, value_parser = path_count)]
    pub paths: Option<u64>,
    /// Random seed [default: the scenario's `seed`]
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Index of the first path, to run a slice [a, a + paths) of a longer run
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    pub first_path: u64,
    /// Worker threads [default: one per core]; the numbers do not depend on it
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: Option<u64>,
    /// Output folder [default: output/<scenario id>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also write paths.csv, one row per path
    #[arg(long)]
    pub paths_csv: bool,
    /// Write into an --out folder that holds other files or another scenario's results
    #[arg(long)]
    pub force: bool,
    /// Also solve the scenario exactly and compare every probability with the estimate
    #[arg(long)]
    pub check_exact: bool,
    /// Run until every outcome's 95% interval is at most this wide on each side, checked at
    /// 100000 paths and each doubling after it (so the result does not depend on threads)
    #[arg(long, value_name = "HALF_WIDTH", conflicts_with = "paths")]
    pub precision: Option<f64>,
    /// With --precision: stop at this many paths even if the precision is not reached
    /// [default: 1000000000]
    #[arg(long, requires = "precision", value_parser = path_count)]
    pub max_paths: Option<u64>,
    /// Run shard I of K of the --paths: paths [floor(I*N/K), floor((I+1)*N/K)), with the
    /// counts `pathcast merge` adds up (with uncertain inputs: of the --samples); `auto` reads
    /// a Slurm array task or a Kubernetes JOB_COMPLETION_INDEX (docs/sharding.md) [default
    /// folder: output/<id>-shard-I-of-K]
    #[arg(long, value_name = "I/K|auto", conflicts_with_all = ["first_path", "precision"])]
    pub shard: Option<pathcast::shard::ShardSpec>,
    /// With --shard auto: the number of shards K, of which the Slurm task id or the
    /// JOB_COMPLETION_INDEX is the shard index (needed for JOB_COMPLETION_INDEX)
    #[arg(long, value_name = "K", requires = "shard", value_parser = clap::value_parser!(u64).range(1..))]
    pub shards: Option<u64>,
    #[command(flatten)]
    pub uncertain: UncertainArgs,
    /// With uncertain inputs: how each sample is computed (auto: exactly when the scenario
    /// solves exactly, else from --paths paths per sample [default: 10000])
    #[arg(long, value_enum, default_value_t = Method::Auto)]
    pub per_sample: Method,
}

/// Splitting a job into shards: the options of the commands whose units are samples, grid
/// points or parameters.
#[derive(Debug, Args)]
pub struct ShardArgs {
    /// Run shard I of K of the job's units (the samples of uncertain inputs, the points of a
    /// sweep, the parameters of a sensitivity analysis), for `pathcast merge`; `auto` reads a
    /// Slurm array task or a Kubernetes JOB_COMPLETION_INDEX (docs/sharding.md)
    /// [default folder: the command's, with -shard-I-of-K]
    #[arg(long, value_name = "I/K|auto")]
    pub shard: Option<pathcast::shard::ShardSpec>,
    /// With --shard auto: the number of shards K, of which the Slurm task id or the
    /// JOB_COMPLETION_INDEX is the shard index (needed for JOB_COMPLETION_INDEX)
    #[arg(long, value_name = "K", requires = "shard", value_parser = clap::value_parser!(u64).range(1..))]
    pub shards: Option<u64>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard folders written with --shard (by run, exact, sweep or sensitivity), in any
    /// order
    #[arg(required = true, value_name = "SHARD_FOLDER")]
    pub folders: Vec<PathBuf>,
    /// Output folder [default: output/<scenario id>, as one run of all the paths]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write into an --out folder that holds other files or another scenario's results
    #[arg(long)]
    pub force: bool,
}

/// The options of a scenario with uncertain inputs.
#[derive(Debug, Args)]
pub struct UncertainArgs {
    /// With uncertain inputs: draws of the inputs [default: the scenario's samples, else 1000]
    #[arg(long, value_name = "K", allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(2..=pathcast::uncertainty::MAX_SAMPLES as u64))]
    pub samples: Option<u64>,
}

/// How an analysis computes: the options shared by sensitivity and sweep.
#[derive(Debug, Args)]
pub struct AnalysisArgs {
    /// exact, monte-carlo, or auto: exact when the scenario solves exactly
    #[arg(long, value_enum, default_value_t = Method::Auto)]
    pub method: Method,
    #[command(flatten)]
    pub simulation: SimulationArgs,
    /// Most reachable event sets the exact solver may hold at once
    #[arg(long, default_value_t = 1 << 22, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=1 << 32))]
    pub max_states: u64,
}

/// Monte Carlo settings and the output folder of an analysis.
#[derive(Debug, Args)]
pub struct SimulationArgs {
    /// Monte Carlo paths per variant, e.g. 1e6 [default: the scenario's `paths`]
    #[arg(long, allow_negative_numbers = true, value_parser = path_count)]
    pub paths: Option<u64>,
    /// Random seed, the same for every variant [default: the scenario's `seed`]
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Worker threads [default: one per core]; the numbers do not depend on it
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: Option<u64>,
    /// Output folder [default: output/<scenario id>-<analysis>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write into an --out folder that holds other files or other results
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    Auto,
    Exact,
    MonteCarlo,
}

#[derive(Debug, Args)]
pub struct SensitivityArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Vary only these parameters (keys as `pathcast params` lists them)
    #[arg(long, value_name = "KEY,...", value_delimiter = ',')]
    pub only: Vec<String>,
    /// The low and high value of one parameter, e.g. --range events.meeting.p=0.005..0.02
    /// [default: odds halved and doubled for a p, halved and doubled for a factor] (repeatable)
    #[arg(long, value_name = "KEY=LOW..HIGH")]
    pub range: Vec<String>,
    /// Also report how each event's probability moves
    #[arg(long)]
    pub events: bool,
    /// The outcome whose tornado is printed [default: the first]
    #[arg(long, value_name = "ID")]
    pub outcome: Option<String>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    #[command(flatten)]
    pub sharding: ShardArgs,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// A parameter and its values: a list 0.005,0.01,0.02, a range 0.005..0.03:6 (6 values), or
    /// log:0.005..0.03:6; twice for a grid
    #[arg(long, value_name = "KEY=VALUES", required = true)]
    pub vary: Vec<String>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    #[command(flatten)]
    pub sharding: ShardArgs,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Scenario files or presets; the first is the reference
    #[arg(required = true)]
    pub scenarios: Vec<String>,
    /// A variant of the first scenario: one or more KEY=VALUE overrides separated by ';'
    /// (repeatable)
    #[arg(long, value_name = "KEY=VALUE[;KEY=VALUE...]")]
    pub variant: Vec<String>,
    #[command(flatten)]
    pub simulation: SimulationArgs,
    /// Most reachable event sets the exact solver may hold at once (for the exact column)
    #[arg(long, default_value_t = 1 << 22, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=1 << 32))]
    pub max_states: u64,
    /// Refused, with the reason: compare is not sharded (docs/sharding.md)
    #[arg(long, value_name = "I/K|auto")]
    pub shard: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExactArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Output folder [default: output/<scenario id>-exact]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write into an --out folder that holds other files or another scenario's results
    #[arg(long)]
    pub force: bool,
    /// Most reachable event sets the solver may hold at once
    #[arg(long, default_value_t = 1 << 22, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=1 << 32))]
    pub max_states: u64,
    #[command(flatten)]
    pub uncertain: UncertainArgs,
    /// With uncertain inputs: the seed of their draws [default: the scenario's `seed`]
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Worker threads [default: one per core]; the numbers do not depend on it
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: Option<u64>,
    #[command(flatten)]
    pub sharding: ShardArgs,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The path to tell (its index in any run with the same seed): `trace baseline 42`
    #[arg(value_name = "PATH", allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64), required_unless_present = "path", conflicts_with = "path")]
    pub index: Option<u64>,
    /// The same as the PATH argument
    #[arg(long = "path", value_name = "PATH", allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    pub path: Option<u64>,
    /// Random seed [default: the scenario's `seed`]
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Write a PRISM-language DTMC (for PRISM or Storm; see docs/prism-export.md); the default
    #[arg(long, conflicts_with = "json")]
    pub prism: bool,
    /// Write the compiled model as JSON: p, windows, conditions as masks, modifiers, horizon
    /// rules (for other simulators, e.g. benches/numpy_baseline.py; see docs/json-export.md)
    #[arg(long)]
    pub json: bool,
    /// Write to this file (atomically) instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The preset (see `pathcast list`)
    pub preset: String,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The scenario file to write, e.g. my_variant.toml
    pub file: PathBuf,
    /// The preset or scenario file it extends
    #[arg(long, default_value = "baseline")]
    pub from: String,
    /// Replace the file if it exists
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    pub shell: clap_complete::Shell,
}
