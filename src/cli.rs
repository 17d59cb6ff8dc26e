//! The command line.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "pathcast",
    version,
    about = "Seeded, parallel Monte Carlo simulation of negotiation scenarios",
    after_help = "Exit codes: 0 success, 1 runtime failure (e.g. a write error), 2 bad input \
                  (scenario file or flags), 3 Monte Carlo and exact disagree (--check-exact), \
                  130 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate a scenario and write its results as CSV
    Run(RunArgs),
    /// Compute the exact probabilities of a scenario and write them as CSV
    Exact(ExactArgs),
    /// Validate a scenario and describe it
    Check(ScenarioArgs),
    /// Tell the story of one path, step by step
    Trace(TraceArgs),
    /// List the preset scenarios
    List,
    /// Write the scenario in a model checker's language (PRISM)
    Export(ExportArgs),
    /// Add up the shard folders of one run (run --shard) into the output of the whole run
    Merge(MergeArgs),
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
    /// Number of paths [default: the scenario's `paths`]
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=i64::MAX as u64))]
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
    /// Run shard I of K of the --paths: paths [floor(I*N/K), floor((I+1)*N/K)), with the
    /// counts `pathcast merge` adds up; `auto` reads a Slurm array task or a Kubernetes
    /// JOB_COMPLETION_INDEX (docs/sharding.md) [default folder: output/<id>-shard-I-of-K]
    #[arg(long, value_name = "I/K|auto", conflicts_with = "first_path")]
    pub shard: Option<pathcast::shard::ShardSpec>,
    /// With --shard auto: the number of shards K, of which the Slurm task id or the
    /// JOB_COMPLETION_INDEX is the shard index (needed for JOB_COMPLETION_INDEX)
    #[arg(long, value_name = "K", requires = "shard", value_parser = clap::value_parser!(u64).range(1..))]
    pub shards: Option<u64>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard folders written by `pathcast run --shard`, in any order
    #[arg(required = true, value_name = "SHARD_FOLDER")]
    pub folders: Vec<PathBuf>,
    /// Output folder [default: output/<scenario id>, as one run of all the paths]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write into an --out folder that holds other files or another scenario's results
    #[arg(long)]
    pub force: bool,
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
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The path to tell (its index in any run with the same seed)
    #[arg(long)]
    pub path: u64,
    /// Random seed [default: the scenario's `seed`]
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Write a PRISM-language DTMC (for PRISM or Storm; see docs/prism-export.md)
    #[arg(long, required = true)]
    pub prism: bool,
    /// Write to this file (atomically) instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}
