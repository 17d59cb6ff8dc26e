mod cli;
mod forecast_commands;

use anyhow::Context;
use clap::Parser;
use cli::{
    AnalysisArgs, Cli, Command, CompareArgs, ExactArgs, ExportArgs, RunArgs, ScenarioArgs,
    SensitivityArgs, SimulationArgs, SweepArgs, TraceArgs,
};
use pathcast::analysis::{self, Evaluator, MethodChoice, MonteCarlo};
use pathcast::error::SettingError;
use pathcast::export::analysis as analysis_tables;
use pathcast::job::{self, Interrupted, RunSettings};
use pathcast::output::{progress_bar, summary, table, trace};
use pathcast::{check_exact, exact, scenario, OutputError, ScenarioError};
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
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
            eprintln!("error: {}", chain.join(": "));
            ExitCode::from(exit_code(&err))
        }
    }
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
        || err.is::<pathcast::forecast::InputError>()
        || matches!(err.downcast_ref(), Some(OutputError::BadFolder { .. }))
    {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILURE
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Exact(args) => run_exact(args),
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
        Command::Sensitivity(args) => run_sensitivity(args),
        Command::Sweep(args) => run_sweep(args),
        Command::Compare(args) => run_compare(args),
        Command::Ask(args) => forecast_commands::ask(args),
        Command::Calibrate(args) => forecast_commands::calibrate(args),
        Command::Score(args) => forecast_commands::score(args),
    }
}

fn load(args: &ScenarioArgs) -> anyhow::Result<scenario::Loaded> {
    let loaded = scenario::load(&args.scenario, &args.sets)?;
    for note in &loaded.notes {
        eprintln!("note: {note}");
    }
    Ok(loaded)
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Raised by Ctrl-C or SIGTERM; the run stops at the next wave and writes nothing.
fn cancel_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    // Failing to install the handler only loses graceful interruption; the run itself is fine.
    let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::SeqCst));
    flag
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let settings = RunSettings {
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
    };
    let planned = match settings.precision {
        Some(_) => settings.max_paths.unwrap_or(job::DEFAULT_MAX_PATHS),
        None => settings.paths.unwrap_or(loaded.model.paths()),
    };
    let cancel = cancel_flag();
    let bar = progress_bar::new(planned);
    let started = Instant::now();
    let result = job::run(&loaded, &settings, &cancel, |done| bar.set_position(done));
    bar.finish_and_clear();
    let finished = result?;
    let paths = finished.paths;
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
    println!(
        "\n{paths} paths in {seconds:.2} s ({:.1} million paths/s on {} threads); {}",
        paths as f64 / seconds / 1e6,
        finished.threads,
        wrote(&finished.written)
    );
    if args.check_exact {
        check_exact(&loaded, &finished.report, paths)?;
    }
    Ok(())
}

fn check_exact(
    loaded: &scenario::Loaded,
    report: &pathcast::report::Report,
    paths: u64,
) -> anyhow::Result<()> {
    let masses = exact::solve(&loaded.model, &exact::Limits::default())
        .context("cannot solve the scenario exactly for --check-exact")?;
    let exact_report = pathcast::report::Report::from_exact(&loaded.model, &masses);
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

fn run_exact(args: ExactArgs) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let settings = RunSettings {
        out: args.out,
        force: args.force,
        command: command_line(),
        ..RunSettings::default()
    };
    let limits = exact::Limits {
        max_states: args.max_states as usize,
        ..exact::Limits::default()
    };
    let started = Instant::now();
    let finished = job::exact(&loaded, &settings, &limits)?;
    print!("{}", summary::render(&loaded, &finished.report));
    println!(
        "\nsolved in {:.3} s; {}",
        started.elapsed().as_secs_f64(),
        wrote(&finished.written)
    );
    Ok(())
}

/// Where the results went, and whether they replaced an earlier run.
fn wrote(finished: &job::Written) -> String {
    let verb = if finished.replaced_earlier {
        "replaced the earlier results in"
    } else {
        "wrote"
    };
    format!("{verb} {}", finished.out.display())
}

fn run_trace(args: TraceArgs) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let seed = args.seed.unwrap_or(loaded.model.seed());
    print!("{}", trace::render(&loaded.model, seed, args.path));
    Ok(())
}

fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    use std::io::Write;
    anyhow::ensure!(args.prism, "choose the format to export: --prism");
    let loaded = load(&args.scenario)?;
    let mut notes = vec![format!("read from: {}", loaded.files.join(", "))];
    notes.extend(args.scenario.sets.iter().map(|set| format!("--set {set}")));
    let text = pathcast::export::prism::to_prism_with_notes(&loaded.model, &notes);
    let Some(path) = args.out else {
        let mut stdout = std::io::stdout().lock();
        return Ok(stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush())?);
    };
    // A temporary file in the same folder, renamed into place: the file is whole or absent.
    let io = |source| OutputError::Io {
        path: path.clone(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        // As any new file (0666 less the umask), not tempfile's private 0600.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut file = builder.suffix(".tmp").tempfile_in(dir).map_err(io)?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.as_file().sync_all())
        .map_err(io)?;
    file.persist(&path).map_err(|e| io(e.error))?;
    println!("wrote {}", path.display());
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
fn pool(threads: Option<u64>) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(job::threads(threads.map(|t| t as usize)))
        .build()
        .context("cannot start the worker threads")
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
    variants: u64,
    work: impl FnOnce(&Evaluator<'_>, Option<pathcast::report::Report>) -> anyhow::Result<T>,
) -> anyhow::Result<(T, job::AnalysisOutput<'static>, usize)> {
    let model = &loaded.model;
    let monte_carlo = MonteCarlo {
        paths: args.simulation.paths.unwrap_or(model.paths()),
        seed: args.simulation.seed.unwrap_or(model.seed()),
    };
    let choice = match args.method {
        cli::Method::Auto => MethodChoice::Auto,
        cli::Method::Exact => MethodChoice::Exact,
        cli::Method::MonteCarlo => MethodChoice::MonteCarlo,
    };
    let limits = exact::Limits {
        max_states: args.max_states as usize,
        ..exact::Limits::default()
    };
    let pool = pool(args.simulation.threads)?;
    let cancel = cancel_flag();
    let bar = progress_bar::new(monte_carlo.paths.saturating_mul(variants));
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
    let result = work(&evaluator, base);
    bar.finish_and_clear();
    let used = evaluator.used();
    let output = job::AnalysisOutput {
        analysis: "",
        engine: used.name(),
        simulated: match used {
            analysis::Used::MonteCarlo { paths, seed } => Some((seed, paths)),
            analysis::Used::Exact => None,
        },
        threads: evaluator.threads(),
    };
    Ok((result?, output, evaluator.threads()))
}

fn run_sensitivity(args: SensitivityArgs) -> anyhow::Result<()> {
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
    let (result, mut output, _) = analyse(
        &loaded,
        &args.analysis,
        2 * plan.len() as u64 + 1,
        |e, base| analysis::sensitivity::run(model, &plan, args.events, e, base),
    )?;
    print!("{}", pathcast::output::analysis::tornado(&result, &outcome));
    output.analysis = "sensitivity";
    let written = job::write_analysis(
        &[("", &loaded)],
        &analysis_settings(&args.analysis.simulation),
        &output,
        vec![(
            analysis_tables::SENSITIVITY,
            analysis_tables::sensitivity(&result),
        )],
    )?;
    println!(
        "\n{} parameters, each low and high, in {:.2} s; {}",
        result.parameters,
        started.elapsed().as_secs_f64(),
        wrote(&written)
    );
    Ok(())
}

fn run_sweep(args: SweepArgs) -> anyhow::Result<()> {
    let loaded = load(&args.scenario)?;
    let model = &loaded.model;
    let axes = analysis::sweep::plan(model, &args.vary)?;
    let points: usize = axes.iter().map(|a| a.values.len()).product();
    let started = Instant::now();
    let (result, mut output, _) = analyse(&loaded, &args.analysis, points as u64, |e, _| {
        analysis::sweep::run(model, axes, e)
    })?;
    print!("{}", pathcast::output::analysis::sweep(&result, model));
    output.analysis = "sweep";
    let written = job::write_analysis(
        &[("", &loaded)],
        &analysis_settings(&args.analysis.simulation),
        &output,
        vec![
            (
                analysis_tables::SWEEP,
                analysis_tables::sweep_outcomes(&result),
            ),
            (
                analysis_tables::SWEEP_EVENTS,
                analysis_tables::sweep_events(&result),
            ),
        ],
    )?;
    println!(
        "\n{points} points in {:.2} s; {}",
        started.elapsed().as_secs_f64(),
        wrote(&written)
    );
    Ok(())
}

fn run_compare(args: CompareArgs) -> anyhow::Result<()> {
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
    let pool = pool(args.simulation.threads)?;
    let cancel = cancel_flag();
    let bar = progress_bar::new(paths);
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
        engine: "monte-carlo",
        simulated: Some((seed, paths)),
        threads: pool.current_num_threads(),
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
        vec![(analysis_tables::COMPARE, analysis_tables::compare(&result))],
    )?;
    println!(
        "\n{} scenarios in {:.2} s; {}",
        scenarios.len(),
        started.elapsed().as_secs_f64(),
        wrote(&written)
    );
    Ok(())
}
