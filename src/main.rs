mod cli;
mod forecast_commands;

use anyhow::Context;
use clap::Parser;
use cli::{
    AnalysisArgs, Cli, Command, CompareArgs, ExactArgs, ExportArgs, MergeArgs, RunArgs,
    ScenarioArgs, SensitivityArgs, ShardArgs, SimulationArgs, SweepArgs, TraceArgs, UncertainArgs,
};
use pathcast::analysis::{self, Evaluator, MethodChoice, MonteCarlo};
use pathcast::error::{SettingError, ShardError};
use pathcast::export::{analysis as analysis_tables, html, units_file};
use pathcast::job::{self, Interrupted, RunSettings};
use pathcast::output::{progress_bar, summary, table, trace};
use pathcast::shard::{ShardOfRun, Unit};
use pathcast::text::{message, printable};
use pathcast::{check_exact, exact, scenario, uncertainty, OutputError, ScenarioError};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

const EXIT_FAILURE: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;
const EXIT_DISAGREE: u8 = 3;
const EXIT_TARGETS_UNMET: u8 = 4;
const EXIT_INTERRUPTED: u8 = 130;

/// Monte Carlo and exact disagree beyond the threshold.
#[derive(Debug, thiserror::Error)]
#[error(
    "Monte Carlo and exact results disagree beyond {0:.2} standard errors (see the table above)"
)]
struct Disagreement(f64);

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes away
    // (`pathcast check x | head`) instead of failing to print.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version: pathcast's own text, on stdout.
        Err(err) if !err.use_stderr() => err.exit(),
        Err(err) => {
            if let Some(text) = never_guess_force(&err) {
                for line in text.lines() {
                    eprintln!("{}", message(line));
                }
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            // Clap quotes the offending argument as typed: escaped, like every message.
            for line in err.render().to_string().trim_end().lines() {
                eprintln!("{}", message(line));
            }
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
            // Messages quote files and arguments: escaped and capped, like all they print.
            eprintln!("error: {}", message(&chain.join(": ")));
            ExitCode::from(exit_code(&err))
        }
    }
}

/// `--force` writes into folders that hold other files: clap must not suggest it (and put it in
/// a usage line to copy) for a mistyped flag such as `--forc` or `--format`.
fn never_guess_force(err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let suggests_force = match err.get(ContextKind::SuggestedArg) {
        Some(ContextValue::String(s)) => s.contains("--force"),
        Some(ContextValue::Strings(list)) => list.iter().any(|s| s.contains("--force")),
        _ => false,
    };
    if !suggests_force {
        return None;
    }
    let typed = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => "the argument".to_string(),
    };
    Some(format!(
        "error: unexpected argument '{typed}' found\n\n  (pathcast never guesses --force, which \
         writes into a folder that holds other files; type it in full if that is what you \
         mean)\n\nFor more information, try '--help'."
    ))
}

fn exit_code(err: &anyhow::Error) -> u8 {
    if err.is::<Interrupted>() {
        EXIT_INTERRUPTED
    } else if err.is::<Disagreement>() {
        EXIT_DISAGREE
    } else if err.is::<pathcast::forecast::TargetsUnmet>() {
        EXIT_TARGETS_UNMET
    } else if err.is::<ScenarioError>()
        || err.is::<SettingError>()
        || err.is::<ShardError>()
        || err.is::<pathcast::forecast::InputError>()
        || matches!(err.downcast_ref(), Some(OutputError::BadOut { .. }))
    {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILURE
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let mode = if cli.quiet {
        progress_bar::Mode::Quiet
    } else {
        progress_bar::Mode::Auto
    };
    match cli.command {
        Command::Run(args) => run(args, mode),
        Command::Exact(args) => run_exact(args, mode),
        Command::Check(args) => forecast_commands::check(args),
        Command::Trace(args) => run_trace(args),
        Command::List => {
            list();
            Ok(())
        }
        Command::Export(args) => run_export(args),
        Command::Params(args) => {
            let loaded = load(&args)?;
            print!("{}", pathcast::output::analysis::params(&loaded.model));
            Ok(())
        }
        Command::Sensitivity(args) => run_sensitivity(args, mode),
        Command::Sweep(args) => run_sweep(args, mode),
        Command::Compare(args) => run_compare(args, mode),
        Command::Merge(args) => run_merge(args),
        Command::Show(args) => {
            let text = scenario::presets::get(&args.preset)
                .ok_or_else(|| SettingError(scenario::presets::unknown(&args.preset)))?;
            print!("{text}");
            Ok(())
        }
        Command::Init(args) => run_init(args),
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut command, "pathcast", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
            Ok(())
        }
        Command::Ask(args) => forecast_commands::ask(args, mode),
        Command::Calibrate(args) => forecast_commands::calibrate(args),
        Command::Score(args) => forecast_commands::score(args, mode),
    }
}

fn load(args: &ScenarioArgs) -> anyhow::Result<scenario::Loaded> {
    let loaded = scenario::load(&args.scenario, &args.sets)?;
    print_notes(&loaded.notes);
    Ok(loaded)
}

fn print_notes(notes: &[String]) {
    for note in notes {
        eprintln!("note: {}", message(note));
    }
}

/// The command line as typed, for the manifest: each argument as a shell word, so that an
/// argument with spaces, control characters or bytes that are not UTF-8 (a file name may
/// hold any) is recorded exactly and can be pasted back into a shell.
fn command_line() -> String {
    std::env::args_os()
        .map(|arg| pathcast::text::shell_word(&arg))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Raised by Ctrl-C or SIGTERM; the run stops at the next wave and writes nothing.
fn cancel_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    // Failing to install the handler only loses graceful interruption; the run itself is fine.
    let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::SeqCst));
    flag
}

fn run(args: RunArgs, mode: progress_bar::Mode) -> anyhow::Result<()> {
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
        let solved = job::solve(&loaded.model, &exact::Limits::default(), &cancel)
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

fn check_exact(
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

fn run_exact(args: ExactArgs, mode: progress_bar::Mode) -> anyhow::Result<()> {
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
fn certain_only(args: &UncertainArgs, other_flag: bool) -> anyhow::Result<()> {
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

fn method_choice(method: cli::Method) -> MethodChoice {
    match method {
        cli::Method::Auto => MethodChoice::Auto,
        cli::Method::Exact => MethodChoice::Exact,
        cli::Method::MonteCarlo => MethodChoice::MonteCarlo,
    }
}

/// The shard of a job of `total` units that `--shard` names, if any.
fn shard_of(args: &ShardArgs, unit: Unit, total: u64) -> anyhow::Result<Option<ShardOfRun>> {
    let Some(spec) = args.shard else {
        return Ok(None);
    };
    let shard = pathcast::shard::resolve(spec, args.shards)?;
    Ok(Some(ShardOfRun::new(shard, unit, total)?))
}

/// `run` or `exact` of a scenario with uncertain inputs: samples of them, each solved or run.
#[allow(clippy::too_many_arguments)]
fn run_uncertain(
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
fn shard_line(shard: &ShardOfRun) -> String {
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
fn rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.1} million paths/s", per_second / 1e6)
    } else if per_second >= 1e3 {
        format!("{:.0} thousand paths/s", per_second / 1e3)
    } else {
        format!("{per_second:.0} paths/s")
    }
}

/// Where the results went, and whether they replaced an earlier run.
fn wrote(finished: &job::Written) -> String {
    let verb = if finished.replaced_earlier {
        "replaced the earlier results in"
    } else {
        "wrote"
    };
    format!("{verb} {}", printable(&finished.out.display().to_string()))
}

fn run_merge(args: MergeArgs) -> anyhow::Result<()> {
    let merged = pathcast::merge::merge(&pathcast::merge::MergeSettings {
        folders: args.folders,
        out: args.out,
        force: args.force,
        command: command_line(),
    })?;
    for (repeat, of) in &merged.duplicates {
        eprintln!(
            "note: {} repeats {} (the same paths and counts); counted once",
            repeat.display(),
            of.display()
        );
    }
    print!("{}", merged.summary);
    println!(
        "\nmerged {} shards; {}",
        merged.shards,
        wrote(&merged.written)
    );
    Ok(())
}

fn run_trace(args: TraceArgs) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let seed = args.seed.unwrap_or(loaded.model.seed());
    let path = args.index.or(args.path).unwrap_or_default();
    print!("{}", trace::render(&loaded.model, seed, path));
    Ok(())
}

fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    use std::io::Write;
    // `--prism` is the default; `--json` is the other format.
    let _ = args.prism;
    let loaded = load(&args.scenario)?;
    let text = if args.json {
        pathcast::export::json::to_json(&loaded.model)
    } else {
        let mut notes = vec![format!("read from: {}", loaded.files.join(", "))];
        notes.extend(args.scenario.sets.iter().map(|set| format!("--set {set}")));
        pathcast::export::prism::to_prism_with_notes(&loaded.model, &notes)
    };
    let Some(path) = args.out else {
        let mut stdout = std::io::stdout().lock();
        return Ok(stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush())?);
    };
    pathcast::export::write_file(&path, text.as_bytes(), &job::protected(&loaded))?;
    println!("wrote {}", printable(&path.display().to_string()));
    Ok(())
}

fn list() {
    let mut rows = vec![vec!["preset".to_string(), "title".to_string()]];
    for name in scenario::presets::names() {
        let title = scenario::load_preset(name, &[])
            .map(|l| l.model.title().to_string())
            .unwrap_or_else(|e| format!("(invalid: {e})"));
        rows.push(vec![name.to_string(), title]);
    }
    print!("{}", table(&rows));
    println!("\nRun one with `pathcast run <preset>`; a preset name uses ./scenarios/<preset>.toml when that file exists.");
}

/// The thread pool of a command.
/// The thread pool of an analysis whose threads each simulate `models` side by side.
fn pool(threads: Option<u64>, models: &[&pathcast::Model]) -> anyhow::Result<rayon::ThreadPool> {
    let per_thread = models
        .iter()
        .map(|m| pathcast::simulate::bytes_per_thread(m, false))
        .sum();
    let (pool, note) = job::worker_pool(threads.map(|t| t as usize), per_thread)?;
    print_notes(note.as_slice());
    Ok(pool)
}

fn analysis_settings(simulation: &SimulationArgs) -> RunSettings {
    RunSettings {
        paths: simulation.paths,
        seed: simulation.seed,
        threads: simulation.threads.map(|t| t as usize),
        out: simulation.out.clone(),
        force: simulation.force,
        command: command_line(),
        ..RunSettings::default()
    }
}

/// Runs `work` with an evaluator of `loaded` and a progress bar of the paths it simulates.
fn analyse<T>(
    loaded: &scenario::Loaded,
    args: &AnalysisArgs,
    analysis_name: &'static str,
    variants: u64,
    mode: progress_bar::Mode,
    work: impl FnOnce(&Evaluator<'_>, Option<analysis::Evaluated>) -> anyhow::Result<T>,
) -> anyhow::Result<(T, job::AnalysisOutput<'static>)> {
    let model = &loaded.model;
    let monte_carlo = MonteCarlo {
        paths: args.simulation.paths.unwrap_or(model.paths()),
        seed: args.simulation.seed.unwrap_or(model.seed()),
    };
    let choice = method_choice(args.method);
    let limits = exact::Limits {
        max_states: args.max_states as usize,
        ..exact::Limits::default()
    };
    // A sensitivity simulates a low and a high variant side by side on each thread.
    let pool = pool(args.simulation.threads, &[model, model])?;
    let cancel = cancel_flag();
    let bar = progress_bar::new(monte_carlo.paths.saturating_mul(variants), mode);
    let progress = |more: u64| bar.inc(more);
    let (evaluator, base) = Evaluator::new(
        model,
        choice,
        limits,
        monte_carlo,
        &pool,
        &cancel,
        &progress,
    )?;
    if evaluator.used() == analysis::Used::Exact {
        // Nothing is simulated: no progress of paths.
        bar.hide();
    }
    let result = work(&evaluator, base);
    bar.finish_and_clear();
    let used = evaluator.used();
    let output = job::AnalysisOutput {
        analysis: analysis_name,
        used,
        threads: evaluator.threads(),
        merged_shards: Vec::new(),
    };
    Ok((result?, output))
}

fn run_sensitivity(args: SensitivityArgs, mode: progress_bar::Mode) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let model = &loaded.model;
    let wanted = analysis::sensitivity::Settings {
        only: args.only.clone(),
        ranges: args.range.clone(),
        events: args.events,
    };
    let plan = analysis::sensitivity::plan(model, &wanted)?;
    let outcome = match &args.outcome {
        Some(id) => model
            .outcomes()
            .iter()
            .find(|o| &o.id == id)
            .map(|o| o.id.clone())
            .ok_or_else(|| {
                SettingError(format!(
                    "--outcome {id}: the scenario has no such outcome (outcomes: {})",
                    model
                        .outcomes()
                        .iter()
                        .map(|o| o.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
        None => model.outcomes()[0].id.clone(),
    };
    let started = Instant::now();
    let settings = analysis_settings(&args.analysis.simulation);
    if let Some(shard) = shard_of(&args.sharding, Unit::Parameters, plan.len() as u64)? {
        let mine = &plan[shard.first as usize..shard.end as usize];
        let ((base, swung), output) = analyse(
            &loaded,
            &args.analysis,
            "sensitivity",
            2 * mine.len() as u64 + 1,
            mode,
            |e, base| {
                let base = analysis::sensitivity::base(model, e, base)?;
                Ok((base, analysis::sensitivity::evaluate(model, mine, e)?))
            },
        )?;
        let units = mine
            .iter()
            .zip(&swung)
            .map(|(varied, s)| units_file::write_swung(model, varied, s))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let definition = units_file::sensitivity_definition(model, &plan, args.events, &base);
        let written =
            job::write_analysis_shard(&loaded, &settings, &output, &shard, definition, &units)?;
        return finish_shard(&shard, started, &written);
    }
    let (result, output) = analyse(
        &loaded,
        &args.analysis,
        "sensitivity",
        2 * plan.len() as u64 + 1,
        mode,
        |e, base| analysis::sensitivity::run(model, &plan, args.events, e, base),
    )?;
    print!("{}", pathcast::output::analysis::tornado(&result, &outcome));
    let written = job::write_analysis(
        &[("", &loaded)],
        &settings,
        &output,
        analysis_tables::sensitivity_files(&loaded, &result),
    )?;
    println!(
        "\n{} parameters, each low and high, in {:.2} s; {}",
        result.parameters,
        started.elapsed().as_secs_f64(),
        wrote(&written)
    );
    Ok(())
}

/// The last line of a shard of an analysis.
fn finish_shard(
    shard: &ShardOfRun,
    started: Instant,
    written: &job::Written,
) -> anyhow::Result<()> {
    println!(
        "{}\n\nin {:.2} s; {}",
        shard_line(shard),
        started.elapsed().as_secs_f64(),
        wrote(written)
    );
    Ok(())
}

fn run_sweep(args: SweepArgs, mode: progress_bar::Mode) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let model = &loaded.model;
    let axes = analysis::sweep::plan(model, &args.vary)?;
    let points = analysis::sweep::points(&axes);
    let started = Instant::now();
    let settings = analysis_settings(&args.analysis.simulation);
    if let Some(shard) = shard_of(&args.sharding, Unit::Points, points as u64)? {
        let range = shard.first as usize..shard.end as usize;
        let (evaluated, output) = analyse(
            &loaded,
            &args.analysis,
            "sweep",
            range.len() as u64,
            mode,
            |e, _| analysis::sweep::evaluate(model, &axes, range.clone(), e),
        )?;
        let units = range
            .zip(&evaluated)
            .map(|(i, e)| {
                let point = analysis::sweep::point_model(model, &axes, i)?;
                let mut lines = String::new();
                units_file::write_evaluated(&mut lines, &point, e);
                Ok(lines)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let definition = units_file::sweep_definition(&axes);
        let written =
            job::write_analysis_shard(&loaded, &settings, &output, &shard, definition, &units)?;
        return finish_shard(&shard, started, &written);
    }
    let (result, output) = analyse(
        &loaded,
        &args.analysis,
        "sweep",
        points as u64,
        mode,
        |e, _| analysis::sweep::run(model, axes, e),
    )?;
    print!("{}", pathcast::output::analysis::sweep(&result, model));
    let written = job::write_analysis(
        &[("", &loaded)],
        &settings,
        &output,
        analysis_tables::sweep_files(&loaded, &result),
    )?;
    println!(
        "\n{points} points in {:.2} s; {}",
        started.elapsed().as_secs_f64(),
        wrote(&written)
    );
    Ok(())
}

fn run_compare(args: CompareArgs, mode: progress_bar::Mode) -> anyhow::Result<()> {
    if args.shard.is_some() {
        return Err(SettingError(
            "--shard: compare is not sharded. Its shards would have to carry the pairs of \
             paths of every scenario against the first and every scenario's file, which the \
             shard files do not hold; shard a `pathcast run` of each scenario with the same \
             --paths and --seed instead (each merges to its exact tables), or compare with \
             fewer --paths: pairing narrows the intervals (docs/sharding.md)"
                .into(),
        )
        .into());
    }
    let mut scenarios: Vec<scenario::Loaded> = Vec::new();
    for spec in &args.scenarios {
        scenarios.push(load(&ScenarioArgs {
            scenario: spec.clone(),
            sets: Vec::new(),
        })?);
    }
    for variant in &args.variant {
        let sets: Vec<String> = variant.split(';').map(|s| s.trim().to_string()).collect();
        scenarios.push(load(&ScenarioArgs {
            scenario: args.scenarios[0].clone(),
            sets,
        })?);
    }
    if scenarios.len() < 2 {
        return Err(SettingError(
            "compare needs two scenarios or more: give another scenario, or a --variant of the \
             first"
                .into(),
        )
        .into());
    }
    let mut names: Vec<String> = scenarios.iter().map(job::variant_name).collect();
    for i in 0..names.len() {
        if names[..i].contains(&names[i]) {
            names[i] = format!("{}#{}", names[i], i + 1);
        }
    }
    let reference = &scenarios[0].model;
    let paths = args.simulation.paths.unwrap_or(reference.paths());
    let seed = args.simulation.seed.unwrap_or(reference.seed());
    let limits = exact::Limits {
        max_states: args.max_states as usize,
        ..exact::Limits::default()
    };
    let models: Vec<&pathcast::Model> = scenarios.iter().map(|l| &l.model).collect();
    let pool = pool(args.simulation.threads, &models)?;
    let cancel = cancel_flag();
    let bar = progress_bar::new(paths, mode);
    let list: Vec<analysis::compare::Scenario<'_>> = scenarios
        .iter()
        .zip(&names)
        .map(|(l, name)| analysis::compare::Scenario {
            name: name.clone(),
            model: &l.model,
        })
        .collect();
    let started = Instant::now();
    let result = analysis::compare::run(&list, paths, seed, &limits, &pool, &cancel, |done| {
        bar.set_position(done)
    });
    bar.finish_and_clear();
    let result = result?;
    print!("{}", pathcast::output::analysis::compare(&result));
    let output = job::AnalysisOutput {
        analysis: "compare",
        used: analysis::Used::MonteCarlo { paths, seed },
        threads: pool.current_num_threads(),
        merged_shards: Vec::new(),
    };
    let named: Vec<(&str, &scenario::Loaded)> = names
        .iter()
        .map(String::as_str)
        .zip(scenarios.iter())
        .collect();
    let written = job::write_analysis(
        &named,
        &analysis_settings(&args.simulation),
        &output,
        vec![
            (analysis_tables::COMPARE, analysis_tables::compare(&result)),
            (html::FILE, Ok(html::compare(&scenarios[0], &result))),
        ],
    )?;
    println!(
        "\n{} scenarios in {:.2} s; {}",
        scenarios.len(),
        started.elapsed().as_secs_f64(),
        wrote(&written)
    );
    Ok(())
}

fn run_init(args: cli::InitArgs) -> anyhow::Result<()> {
    let base = load(&ScenarioArgs {
        scenario: args.from.clone(),
        sets: Vec::new(),
    })?;
    let stem = args
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    // `extends` names a preset, or a file beside the new one.
    let from = std::path::Path::new(&args.from);
    let extends = if scenario::presets::get(&args.from).is_some() && !from.exists() {
        args.from.clone()
    } else {
        let beside = |p: &std::path::Path| {
            std::fs::canonicalize(
                p.parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(".".as_ref()),
            )
            .ok()
        };
        if beside(from) != beside(&args.file) {
            return Err(SettingError(format!(
                "--from {}: a scenario extends a preset or a file in its own folder; write {} \
                 beside it",
                args.from,
                args.file.display()
            ))
            .into());
        }
        from.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if args.file.exists() && !args.overwrite {
        return Err(SettingError(format!(
            "{}: the file exists; nothing was written (add --overwrite to replace it)",
            args.file.display()
        ))
        .into());
    }
    let text = scenario::starter::text(&scenario::starter::id_from(&stem), &extends, &base.model);
    pathcast::export::write_file(&args.file, text.as_bytes(), &job::protected(&base))?;
    println!(
        "wrote {}: it extends '{extends}'; edit it, then `pathcast run {}`",
        printable(&args.file.display().to_string()),
        printable(&args.file.display().to_string())
    );
    Ok(())
}
