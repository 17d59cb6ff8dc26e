//! The commands: each one's orchestration, from its arguments to the files it writes and what
//! it prints. `main.rs` parses the command line and dispatches here.

pub(crate) mod analyses;
pub(crate) mod files;
pub(crate) mod forecast;

pub(crate) use analyses::{run_compare, run_sensitivity, run_sweep};
pub(crate) use files::{list, run_export, run_init, run_merge, run_trace};

use crate::cli::{
    self, AnalysisArgs, CompareArgs, ExactArgs, ExportArgs, MergeArgs, RunArgs, ScenarioArgs,
    SensitivityArgs, ShardArgs, SimulationArgs, SweepArgs, TraceArgs, UncertainArgs,
};
use crate::Disagreement;
use anyhow::Context;
use pathcast::analysis::{self, Evaluator, MethodChoice, MonteCarlo};
use pathcast::error::SettingError;
use pathcast::export::{analysis as analysis_tables, html, units_file};
use pathcast::job::{self, RunSettings};
use pathcast::output::{progress_bar, summary, table, trace};
use pathcast::shard::{ShardOfRun, Unit};
use pathcast::text::{message, printable};
use pathcast::{check_exact, exact, scenario, uncertainty};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub(crate) fn load(args: &ScenarioArgs) -> anyhow::Result<scenario::Loaded> {
    let loaded = scenario::load(&args.scenario, &args.sets)?;
    print_notes(&loaded.notes);
    Ok(loaded)
}

pub(crate) fn print_notes(notes: &[String]) {
    for note in notes {
        eprintln!("note: {}", message(note));
    }
}

/// The command line as typed, for the manifest: each argument as a shell word, so that an
/// argument with spaces, control characters or bytes that are not UTF-8 (a file name may
/// hold any) is recorded exactly and can be pasted back into a shell.
pub(crate) fn command_line() -> String {
    std::env::args_os()
        .map(|arg| pathcast::text::shell_word(&arg))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Raised by Ctrl-C or SIGTERM; the run stops at the next wave and writes nothing.
pub(crate) fn cancel_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    // Failing to install the handler only loses graceful interruption; the run itself is fine.
    let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::SeqCst));
    flag
}

pub(crate) fn run(args: RunArgs, mode: progress_bar::Mode) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    if !loaded.model.uncertain().is_empty() {
        let refused = [
            ("--precision", args.precision.is_some()),
            ("--paths-csv", args.paths_csv),
            ("--first-path", args.first_path != 0),
            ("--check-exact", args.check_exact),
        ];
        if let Some((flag, _)) = refused.iter().find(|(_, given)| *given) {
            return Err(SettingError(format!(
                "{flag} does not apply to a scenario with uncertain inputs (each sample is its \
                 own run; see docs/uncertainty.md)"
            ))
            .into());
        }
        let settings = RunSettings {
            paths: args.paths,
            seed: args.seed,
            threads: args.threads.map(|t| t as usize),
            out: args.out,
            force: args.force,
            command: command_line(),
            ..RunSettings::default()
        };
        let method = method_choice(args.per_sample);
        let sharding = cli::ShardArgs {
            shard: args.shard,
            shards: args.shards,
        };
        return run_uncertain(
            &loaded,
            settings,
            &args.uncertain,
            &sharding,
            method,
            false,
            exact::Limits::default(),
            mode,
        );
    }
    certain_only(&args.uncertain, args.per_sample != cli::Method::Auto)?;
    let mut settings = RunSettings {
        paths: args.paths,
        seed: args.seed,
        first_path: args.first_path,
        threads: args.threads.map(|t| t as usize),
        out: args.out,
        paths_csv: args.paths_csv,
        force: args.force,
        command: command_line(),
        precision: args.precision,
        max_paths: args.max_paths,
        shard: None,
    };
    if let Some(spec) = args.shard {
        pathcast::shard::plan(spec, args.shards, &loaded, &mut settings)?;
    }
    // One row above the header row's worth: what Excel and LibreOffice Calc open at most.
    const SPREADSHEET_ROWS: u64 = 1_048_575;
    if settings.paths_csv && settings.paths.unwrap_or(loaded.model.paths()) > SPREADSHEET_ROWS {
        eprintln!(
            "warning: paths.csv will have more rows than a spreadsheet opens ({SPREADSHEET_ROWS} \
             and a header): Excel and LibreOffice cut it without a warning. Read it with pandas \
             or R, or run slices of at most {SPREADSHEET_ROWS} paths with --first-path."
        );
    }
    let planned = match settings.precision {
        Some(_) => settings.max_paths.unwrap_or(job::DEFAULT_MAX_PATHS),
        None => settings.paths.unwrap_or(loaded.model.paths()),
    };
    let cancel = cancel_flag();
    // Solved first: a scenario too large to solve is refused before the Monte Carlo run, not
    // after it, and nothing is written.
    let masses = if args.check_exact {
        let limits = exact::Limits::default();
        let solved = job::solve_threaded(&loaded.model, &limits, settings.threads, &cancel)
            .context("cannot solve the scenario exactly for --check-exact")?;
        Some(solved)
    } else {
        None
    };
    let bar = progress_bar::new(planned, mode);
    let started = Instant::now();
    let result = job::run(&loaded, &settings, &cancel, |done| bar.set_position(done));
    bar.finish_and_clear();
    let finished = result?;
    let paths = finished.paths;
    print_notes(&finished.notes);
    let seconds = started.elapsed().as_secs_f64();
    print!("{}", summary::render(&loaded, &finished.report));
    if let Some(stop) = finished.precision {
        if stop.reached {
            println!(
                "\nPrecision reached: every outcome's 95% interval is within +/-{} after {paths} \
                 paths.",
                stop.target
            );
        } else {
            println!(
                "\nPrecision NOT reached: stopped at --max-paths {paths} with an interval of \
                 +/-{:.6} (asked for +/-{}).",
                stop.widest, stop.target
            );
        }
    }
    let threads = match finished.threads {
        1 => "1 thread".to_string(),
        n => format!("{n} threads"),
    };
    println!(
        "\n{paths} {} in {seconds:.2} s ({} on {threads}); {}",
        if paths == 1 { "path" } else { "paths" },
        rate(paths as f64 / seconds),
        wrote(&finished.written)
    );
    if let Some(masses) = masses {
        check_exact(&loaded, &finished.report, &masses, paths)?;
    }
    Ok(())
}

pub(crate) fn check_exact(
    loaded: &scenario::Loaded,
    report: &pathcast::report::Report,
    masses: &pathcast::report::ExactMasses,
    paths: u64,
) -> anyhow::Result<()> {
    let exact_report = pathcast::report::Report::from_exact(&loaded.model, masses);
    let (comparisons, limit) = check_exact::compare(report, &exact_report, paths);
    let mut rows = vec![[
        "",
        "id",
        "monte carlo",
        "exact",
        "std error",
        "difference",
        "verdict",
    ]
    .map(String::from)
    .to_vec()];
    for c in &comparisons {
        rows.push(vec![
            c.kind.to_string(),
            c.id.clone(),
            format!("{:.6}", c.estimate),
            format!("{:.6}", c.exact),
            format!("{:.6}", c.standard_error),
            format!("{:.2} se", c.sigmas),
            (if c.agrees { "ok" } else { "DISAGREE" }).to_string(),
        ]);
    }
    println!(
        "\nMonte Carlo against exact (threshold {limit:.2} standard errors for {} comparisons):",
        comparisons.len()
    );
    print!("{}", table(&rows));
    if comparisons.iter().all(|c| c.agrees) {
        println!("OK: every estimate agrees with the exact value.");
        Ok(())
    } else {
        Err(Disagreement(limit).into())
    }
}

pub(crate) fn run_exact(args: ExactArgs, mode: progress_bar::Mode) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let settings = RunSettings {
        out: args.out,
        force: args.force,
        command: command_line(),
        seed: args.seed,
        threads: args.threads.map(|t| t as usize),
        ..RunSettings::default()
    };
    let limits = exact::Limits {
        max_states: args.max_states as usize,
        ..exact::Limits::default()
    };
    if !loaded.model.uncertain().is_empty() {
        let method = MethodChoice::Exact;
        return run_uncertain(
            &loaded,
            settings,
            &args.uncertain,
            &args.sharding,
            method,
            true,
            limits,
            mode,
        );
    }
    certain_only(&args.uncertain, args.seed.is_some())?;
    if args.sharding.shard.is_some() {
        return Err(SettingError(
            "--shard: pathcast exact of a scenario without uncertain inputs is one solve, with \
             nothing to share out among shards (docs/sharding.md)"
                .into(),
        )
        .into());
    }
    let started = Instant::now();
    let finished = job::exact(&loaded, &settings, &limits, &cancel_flag())?;
    print!("{}", summary::render(&loaded, &finished.report));
    println!(
        "\nsolved in {:.3} s; {}",
        started.elapsed().as_secs_f64(),
        wrote(&finished.written)
    );
    Ok(())
}

/// Refuses the options of uncertain inputs on a scenario that has none.
pub(crate) fn certain_only(args: &UncertainArgs, other_flag: bool) -> anyhow::Result<()> {
    if args.samples.is_some() || other_flag {
        return Err(SettingError(
            "--samples, --per-sample and (for exact) --seed apply to scenarios with uncertain \
             inputs, and this one has none (see docs/uncertainty.md)"
                .into(),
        )
        .into());
    }
    Ok(())
}

pub(crate) fn method_choice(method: cli::Method) -> MethodChoice {
    match method {
        cli::Method::Auto => MethodChoice::Auto,
        cli::Method::Exact => MethodChoice::Exact,
        cli::Method::MonteCarlo => MethodChoice::MonteCarlo,
    }
}

/// The shard of a job of `total` units that `--shard` names, if any.
pub(crate) fn shard_of(
    args: &ShardArgs,
    unit: Unit,
    total: u64,
) -> anyhow::Result<Option<ShardOfRun>> {
    let Some(spec) = args.shard else {
        return Ok(None);
    };
    let shard = pathcast::shard::resolve(spec, args.shards)?;
    Ok(Some(ShardOfRun::new(shard, unit, total)?))
}

/// `run` or `exact` of a scenario with uncertain inputs: samples of them, each solved or run.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_uncertain(
    loaded: &scenario::Loaded,
    mut settings: RunSettings,
    args: &UncertainArgs,
    sharding: &ShardArgs,
    method: MethodChoice,
    exact_command: bool,
    limits: exact::Limits,
    mode: progress_bar::Mode,
) -> anyhow::Result<()> {
    let plan = job::UncertainSettings {
        samples: args.samples.unwrap_or(loaded.model.samples()),
        method,
        limits,
        exact_command,
    };
    settings.shard = shard_of(sharding, Unit::Samples, plan.samples)?;
    let samples = settings
        .shard
        .as_ref()
        .map_or(plan.samples, |s| s.end - s.first);
    let cancel = cancel_flag();
    // Paths simulated if each sample runs by Monte Carlo; an exact run shows none.
    let evaluations = samples * (loaded.model.uncertain().len() as u64 + 2);
    let paths = uncertainty::paths_per_sample(&loaded.model, settings.paths);
    let bar = progress_bar::new(evaluations.saturating_mul(paths), mode);
    let progress = |more: u64| bar.inc(more);
    let started = Instant::now();
    let finished = job::uncertain(loaded, &settings, &plan, &cancel, &progress);
    bar.finish_and_clear();
    let finished = finished?;
    if let Some((analysis, report)) = &finished.analysis {
        print!(
            "{}",
            pathcast::output::uncertainty::render(loaded, analysis, report, finished.used)
        );
    }
    if let Some(shard) = &settings.shard {
        println!("{}", shard_line(shard));
    }
    println!(
        "\n{} samples ({} evaluations) in {:.2} s on {} threads; {}",
        samples,
        evaluations,
        started.elapsed().as_secs_f64(),
        finished.threads,
        wrote(&finished.written)
    );
    Ok(())
}

/// What a shard of units holds, for its summary.
pub(crate) fn shard_line(shard: &ShardOfRun) -> String {
    format!(
        "Shard {} of {}: {} [{}, {}) of {}, for pathcast merge.",
        shard.index,
        shard.count,
        shard.unit.name(),
        shard.first,
        shard.end,
        shard.total
    )
}

/// Paths per second, to two or three significant figures: "5.2 million paths/s",
/// "380 thousand paths/s", "450 paths/s".
pub(crate) fn rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.1} million paths/s", per_second / 1e6)
    } else if per_second >= 1e3 {
        format!("{:.0} thousand paths/s", per_second / 1e3)
    } else {
        format!("{per_second:.0} paths/s")
    }
}

/// Where the results went, and whether they replaced an earlier run.
pub(crate) fn wrote(finished: &job::Written) -> String {
    let verb = if finished.replaced_earlier {
        "replaced the earlier results in"
    } else {
        "wrote"
    };
    format!("{verb} {}", printable(&finished.out.display().to_string()))
}
